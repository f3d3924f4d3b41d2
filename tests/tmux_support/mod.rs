//! Driving real `tchat` processes in tmux: one private tmux server per test
//! (its own socket), screens read with `capture-pane` and polled against a
//! deadline, never waited for a fixed time.

// Each test binary uses a different part of this.
#![allow(dead_code)]

use std::process::Command;
use std::time::{Duration, Instant};

/// How long a screen may take to show what a test waits for.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// A tmux server of the test's own; killed when dropped.
pub struct Tmux {
    pub socket: String,
}

impl Tmux {
    pub fn new(name: &str) -> Tmux {
        Tmux {
            socket: format!("{name}-{}", std::process::id()),
        }
    }

    pub fn cmd(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("run tmux")
    }

    /// A detached 80×24 session `name` running `shell` under `sh -c`.
    pub fn start(&self, name: &str, shell: &str) {
        let out = self.cmd(&[
            "new-session",
            "-d",
            "-s",
            name,
            "-x",
            "80",
            "-y",
            "24",
            "sh",
            "-c",
            shell,
        ]);
        assert!(out.status.success(), "tmux new-session: {out:?}");
    }

    pub fn capture(&self, target: &str) -> String {
        String::from_utf8_lossy(&self.cmd(&["capture-pane", "-p", "-t", target]).stdout)
            .into_owned()
    }

    /// Polls the pane until `want` is on screen, for at most [`DEADLINE`].
    pub fn wait_for(&self, target: &str, want: &str) -> String {
        self.wait_until(target, Instant::now() + DEADLINE, |screen| {
            screen.contains(want)
        })
    }

    /// Polls the pane until `done` holds for its screen, until `deadline`.
    pub fn wait_until(
        &self,
        target: &str,
        deadline: Instant,
        done: impl Fn(&str) -> bool,
    ) -> String {
        loop {
            let screen = self.capture(target);
            if done(&screen) {
                return screen;
            }
            if Instant::now() > deadline {
                panic!("{target}: the screen did not get there in time; it is:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A tmux format value of the pane, e.g. `alternate_on`.
    pub fn pane_flag(&self, target: &str, name: &str) -> String {
        let format = format!("#{{{name}}}");
        let out = self.cmd(&["display-message", "-p", "-t", target, &format]);
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// Types `text` literally.
    pub fn type_text(&self, target: &str, text: &str) {
        self.cmd(&["send-keys", "-t", target, "-l", text]);
    }

    /// Sends tmux key names (`Enter`, `M-2`, `C-c`, …).
    pub fn keys(&self, target: &str, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", target];
        args.extend_from_slice(keys);
        self.cmd(&args);
    }

    /// Types `text` and presses Enter.
    pub fn line(&self, target: &str, text: &str) {
        self.type_text(target, text);
        self.keys(target, &["Enter"]);
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd(&["kill-server"]);
    }
}

/// Whether tmux can run here; tests that need it say they were skipped.
pub fn have_tmux() -> bool {
    Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A `tchat-server` child process, killed when dropped.
pub struct ServerChild(pub std::process::Child);

impl Drop for ServerChild {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `tchat-server` on an ephemeral port with its database (and its
/// files) in `dir`; returns it and the address it prints.
pub fn start_server(dir: &std::path::Path) -> (ServerChild, String) {
    use std::io::BufRead;
    let mut child = Command::new(env!("CARGO_BIN_EXE_tchat-server"))
        .args(["--listen", "127.0.0.1:0", "--bcrypt-cost", "4", "--db"])
        .arg(dir.join("e2e.db"))
        .env("HOME", dir.join("server-home"))
        .env("XDG_DATA_HOME", dir.join("server-home/data"))
        .env("XDG_CONFIG_HOME", dir.join("server-home/config"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start tchat-server");
    let stdout = child.stdout.take().expect("server stdout");
    let server = ServerChild(child);
    let mut first = String::new();
    std::io::BufReader::new(stdout)
        .read_line(&mut first)
        .expect("server prints its address");
    let addr = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .to_owned();
    (server, addr)
}

/// Registers `user` with a real client in a `cols`×`rows` tmux session of
/// that name, its home (and XDG directories) at `dir/home-USER`, with the
/// config file `dir/config.toml` when there is one. The shell stays after
/// the client exits, to show how it ended.
pub fn start_client(tmux: &Tmux, dir: &std::path::Path, addr: &str, user: &str, size: (u16, u16)) {
    let client = env!("CARGO_BIN_EXE_tchat");
    let home = dir.join(format!("home-{user}"));
    let config = dir.join("config.toml");
    let config = if config.exists() {
        format!(" --config '{}'", config.display())
    } else {
        String::new()
    };
    let shell = format!(
        "HOME='{h}' XDG_CONFIG_HOME='{h}/config' XDG_DATA_HOME='{h}/data' XDG_STATE_HOME='{h}/state' \
         TCHAT_PASSWORD='correct horse' '{client}' --server {addr} --user {user} --register{config}; \
         echo \"tchat exited: $?\"; sleep 600",
        h = home.display(),
    );
    let (cols, rows) = (size.0.to_string(), size.1.to_string());
    let out = tmux.cmd(&[
        "new-session",
        "-d",
        "-s",
        user,
        "-x",
        &cols,
        "-y",
        &rows,
        "sh",
        "-c",
        &shell,
    ]);
    assert!(out.status.success(), "tmux new-session: {out:?}");
}

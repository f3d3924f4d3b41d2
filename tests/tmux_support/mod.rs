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

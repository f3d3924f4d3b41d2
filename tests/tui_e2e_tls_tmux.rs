//! End to end over TLS: `tchat-server tls gen`, the server serving that
//! certificate, and the real `tchat` in tmux with its own config directory.
//! The first connect asks about the fingerprint `tls gen` printed; `y`
//! connects and writes `known_servers`; the next run connects without
//! asking; a run with `--trust-fingerprint` of another certificate is
//! refused. Screens are polled against a deadline.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

mod tmux_support;
use tmux_support::{have_tmux, Tmux};

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `tchat-server tls gen` and returns the fingerprint it prints.
fn tls_gen(dir: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_tchat-server"))
        .args(["tls", "gen", "--host", "localhost", "--dir"])
        .arg(dir)
        .output()
        .expect("tls gen");
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.lines()
        .find_map(|l| l.strip_prefix("fingerprint:"))
        .map(|f| f.trim().to_owned())
        .unwrap_or_else(|| panic!("no fingerprint in {text}"))
}

#[test]
fn first_connect_asks_then_remembers() {
    if !have_tmux() {
        println!("skipped: tmux is not installed");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let certs = dir.path().join("tls");
    let fingerprint = tls_gen(&certs);
    let mut child = Command::new(env!("CARGO_BIN_EXE_tchat-server"))
        .args(["--listen", "127.0.0.1:0", "--bcrypt-cost", "4", "--db"])
        .arg(dir.path().join("e2e.db"))
        .arg("--tls-cert")
        .arg(certs.join("cert.pem"))
        .arg("--tls-key")
        .arg(certs.join("key.pem"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start tchat-server");
    let stdout = child.stdout.take().expect("server stdout");
    let _server = Server(child);
    let mut first = String::new();
    BufReader::new(stdout)
        .read_line(&mut first)
        .expect("server prints its address");
    let port = first
        .trim()
        .rsplit(':')
        .next()
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .to_owned();

    let tmux = Tmux {
        socket: format!("tchat-e2e-tls-{}", std::process::id()),
    };
    let client = env!("CARGO_BIN_EXE_tchat");
    let home = dir.path().join("home");
    let known = home.join("tchat").join("known_servers");
    let run = |extra: &str| {
        format!(
            "XDG_CONFIG_HOME='{}' TCHAT_PASSWORD='correct horse' '{client}' --server localhost:{port} --tls --user alice {extra}; echo \"tchat exited: $?\"; sleep 600",
            home.display()
        )
    };

    // First run: the question, with the fingerprint tls gen printed.
    tmux.start("first", &run("--register"));
    let screen = tmux.wait_for("first", "Unknown server certificate");
    let first_half = &fingerprint[..7 + 47];
    assert!(screen.contains(first_half), "{screen}");
    assert!(!known.exists(), "nothing is written before the yes");
    tmux.cmd(&["send-keys", "-t", "first", "y"]);
    tmux.wait_for("first", "● connected · tls");
    let text = std::fs::read_to_string(&known).expect("known_servers written");
    assert!(
        text.contains(&format!("localhost:{port} {fingerprint}")),
        "{text}"
    );
    tmux.cmd(&["send-keys", "-t", "first", "C-c"]);
    tmux.wait_for("first", "tchat exited: 0");

    // Second run: remembered, no question.
    tmux.start("second", &run(""));
    let screen = tmux.wait_for("second", "● connected · tls");
    assert!(!screen.contains("Unknown server"), "{screen}");

    // A pin for another certificate is refused, with both fingerprints.
    let wrong = format!("SHA256:{}", ["AA"; 32].join(":"));
    tmux.start(
        "pinned",
        &format!(
            "XDG_CONFIG_HOME='{}' TCHAT_PASSWORD='correct horse' '{client}' --server tls://localhost:{port} --user alice --trust-fingerprint {wrong}; sleep 600",
            dir.path().join("other-home").display()
        ),
    );
    let screen = tmux.wait_for("pinned", "does not match --trust-fingerprint");
    assert!(screen.contains(first_half), "{screen}");
}

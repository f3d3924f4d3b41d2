//! End to end: a real `tchat-server` and two real `tchat` clients in tmux.
//!
//! Alice and Bob register, talk in `# public`, Alice asks Bob for a private
//! chat, Bob accepts it from the inbox with `a`, they write both ways, the
//! chat is ended, and a second request is rejected with `r`. Screens are
//! read with `tmux capture-pane` and polled against a deadline; nothing
//! waits a fixed time.

use std::io::{BufRead, BufReader};
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

#[test]
fn two_clients_talk_in_public_and_privately() {
    if !have_tmux() {
        println!("skipped: tmux is not installed");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("e2e.db");
    let mut child = Command::new(env!("CARGO_BIN_EXE_tchat-server"))
        .args(["--listen", "127.0.0.1:0", "--bcrypt-cost", "4", "--db"])
        .arg(&db)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start tchat-server");
    let stdout = child.stdout.take().expect("server stdout");
    let server = Server(child);
    let mut first = String::new();
    BufReader::new(stdout)
        .read_line(&mut first)
        .expect("server prints its address");
    let addr = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .to_owned();

    let tmux = Tmux {
        socket: format!("tchat-e2e-{}", std::process::id()),
    };
    let client = env!("CARGO_BIN_EXE_tchat");
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "bell = false\n").expect("write config");
    for user in ["alice", "bob"] {
        // The shell stays after the client exits, to show how it ended.
        let shell = format!(
            "TCHAT_PASSWORD='correct horse' '{client}' --server {addr} --user {user} --register --config '{}'; echo \"tchat exited: $?\"; sleep 600",
            config.display()
        );
        let out = tmux.cmd(&[
            "new-session",
            "-d",
            "-s",
            user,
            "-x",
            "100",
            "-y",
            "30",
            "sh",
            "-c",
            &shell,
        ]);
        assert!(out.status.success(), "tmux new-session: {out:?}");
    }
    tmux.wait_for("alice", "● connected");
    tmux.wait_for("bob", "● connected");

    // Public room.
    tmux.line("alice", "hello from alice 👋");
    tmux.wait_for("bob", "alice: hello from alice 👋");
    tmux.line("bob", "hi alice, bob here");
    tmux.wait_for("alice", "bob: hi alice, bob here");

    // A bracketed paste of several lines stays in the input as one draft
    // until Enter.
    tmux.cmd(&["set-buffer", "-b", "p", "pasted one\npasted two"]);
    tmux.cmd(&["paste-buffer", "-p", "-b", "p", "-t", "bob"]);
    let draft = tmux.wait_for("bob", "#public> pasted one");
    assert!(draft.contains("pasted two"), "{draft}");
    tmux.keys("bob", &["Enter"]);
    tmux.wait_for("alice", "bob: pasted one");
    tmux.wait_for("alice", "    │ pasted two");

    // A private-chat request, accepted from Bob's inbox with `a`.
    tmux.line("alice", "/chat bob");
    tmux.wait_for("bob", "Inbox [1]");
    tmux.keys("bob", &["M-2"]);
    tmux.wait_for("bob", "Requests for you");
    tmux.type_text("bob", "a");
    tmux.wait_for("bob", "@alice>");
    // Alice's new tab is the second; go there whether or not it took the focus.
    tmux.wait_for("alice", "@bob");
    tmux.keys("alice", &["M-2"]);
    tmux.wait_for("alice", "@bob>");

    // Messages both ways in the private chat.
    tmux.line("bob", "a secret for alice");
    tmux.wait_for("alice", "bob: a secret for alice");
    tmux.line("alice", "and one for bob");
    tmux.wait_for("bob", "alice: and one for bob");

    // End it; a second request is rejected with `r`.
    tmux.line("alice", "/end");
    tmux.wait_for("bob", "alice ended the private chat");
    tmux.line("bob", "/chat alice");
    tmux.wait_for("alice", "Inbox [1]");
    tmux.keys("alice", &["M-2"]);
    let inbox = tmux.wait_for("alice", "Requests for you");
    assert!(inbox.contains("bob"), "{inbox}");
    tmux.type_text("alice", "r");
    tmux.wait_for("bob", "alice declined your chat request");
    tmux.wait_for("alice", "Your inbox is empty");

    // Quit with Ctrl-C: the client exits 0 and gives the terminal back.
    assert_eq!(tmux.pane_flag("bob", "alternate_on"), "1");
    tmux.keys("bob", &["C-c"]);
    tmux.wait_for("bob", "tchat exited: 0");
    assert_eq!(tmux.pane_flag("bob", "alternate_on"), "0");
    assert_eq!(tmux.pane_flag("bob", "mouse_any_flag"), "0");

    // SIGTERM: the same.
    let shell_pid = tmux.pane_flag("alice", "pane_pid");
    let children = Command::new("ps")
        .args(["-o", "pid=", "--ppid", &shell_pid])
        .output()
        .expect("ps");
    let client_pid = String::from_utf8_lossy(&children.stdout)
        .split_whitespace()
        .next()
        .expect("the client runs under the pane's shell")
        .to_owned();
    let killed = Command::new("kill")
        .args(["-TERM", &client_pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    tmux.wait_for("alice", "tchat exited: 0");
    assert_eq!(tmux.pane_flag("alice", "alternate_on"), "0");
    drop(tmux);
    drop(server);
}

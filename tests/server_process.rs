//! The real `tchat-server` binary: its `listening on` line, durability of
//! acknowledged messages across `kill -9` (§5), graceful SIGTERM (§8), and
//! the account administration commands that feed `banned` and `role` (§4).

mod common;

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use common::*;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdout, Command};

const BIN: &str = env!("CARGO_BIN_EXE_tchat-server");

/// A running `tchat-server` process.
struct Process {
    child: Child,
    addr: SocketAddr,
    // Kept open so the server never writes into a closed pipe.
    _stdout: BufReader<ChildStdout>,
}

impl Process {
    async fn start(db: &Path) -> Process {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(db.with_extension("log"))
            .expect("log file");
        let mut child = Command::new(BIN)
            .env("RUST_LOG", "trace")
            .args(["--listen", "127.0.0.1:0", "--bcrypt-cost", "4", "--db"])
            .arg(db)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .kill_on_drop(true)
            .spawn()
            .expect("start tchat-server");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        tokio::time::timeout(RECV_TIMEOUT, stdout.read_line(&mut line))
            .await
            .expect("the server announces itself in time")
            .expect("read stdout");
        let addr = line
            .strip_suffix('\n')
            .and_then(|l| l.strip_prefix("listening on "))
            .unwrap_or_else(|| panic!("first stdout line is `listening on ADDR`: {line:?}"))
            .parse()
            .unwrap_or_else(|e| panic!("an address in {line:?}: {e}"));
        Process {
            child,
            addr,
            _stdout: stdout,
        }
    }

    async fn client(&self) -> TestClient {
        TestClient::connect(self.addr).await
    }

    fn signal(&self, signal: i32) {
        let pid = self.child.id().expect("still running") as libc::pid_t;
        // SAFETY: sending a signal to our own child process.
        let rc = unsafe { libc::kill(pid, signal) };
        assert_eq!(rc, 0, "signal delivered");
    }

    async fn wait(mut self) -> std::process::ExitStatus {
        tokio::time::timeout(std::time::Duration::from_secs(10), self.child.wait())
            .await
            .expect("the server exits in time")
            .expect("wait for the server")
    }

    /// SIGTERM and a clean exit.
    async fn stop(self) {
        self.signal(libc::SIGTERM);
        let status = self.wait().await;
        assert!(status.success(), "exit status 0 after SIGTERM: {status:?}");
    }
}

/// Runs `tchat-server --db DB user ARGS…` with `stdin` and returns stdout.
fn admin(db: &Path, args: &[&str], stdin: &str) -> String {
    let mut child = std::process::Command::new(BIN)
        .args(["--bcrypt-cost", "4", "--db"])
        .arg(db)
        .arg("user")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run tchat-server user …");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("admin command finishes");
    assert!(
        out.status.success(),
        "user {args:?} succeeds: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

fn temp_db() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tchat.db");
    (dir, db)
}

fn login(user: &str, password: &str) -> Value {
    json!({"type": "login", "user": user, "password": password})
}

#[tokio::test]
async fn acknowledged_messages_survive_kill_9() {
    let (_dir, db) = temp_db();
    let server = Process::start(&db).await;
    let mut alice = server.client().await;
    alice.register("alice").await;

    // 30 sends at once (within the burst); every `ok` is a promise.
    let mut batch = Vec::new();
    for i in 0..30 {
        batch.extend(
            format!(
                "{{\"type\":\"send\",\"id\":{i},\"chat\":\"#public\",\"text\":\"durable {i}\"}}\n"
            )
            .into_bytes(),
        );
    }
    alice.send_raw(&batch).await;
    let mut acked = Vec::new();
    for i in 0..30u64 {
        let ok = alice.reply_to(i).await;
        assert_eq!(ok["type"], "ok", "{ok}");
        acked.push((ok["msg_id"].as_u64().unwrap(), format!("durable {i}")));
    }
    let mut server = server;
    server.child.kill().await.expect("SIGKILL");

    let server = Process::start(&db).await;
    let mut alice = server.client().await;
    let w = alice.login("alice", PASSWORD).await;
    assert_eq!(w["last_msg_id"], acked.last().unwrap().0);
    let h = alice
        .request(json!({"type": "history", "chat": "#public", "after": 0, "limit": 200}))
        .await;
    let stored: Vec<(u64, String)> = h["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["msg_id"].as_u64().unwrap(),
                m["text"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        stored, acked,
        "every acknowledged message is there, in order"
    );
    server.stop().await;
}

#[tokio::test]
async fn sigterm_tells_sessions_and_exits_zero() {
    let (_dir, db) = temp_db();
    let server = Process::start(&db).await;
    let mut alice = server.client().await;
    alice.register("alice").await;
    let mut bob = server.client().await;
    bob.register("bob").await;
    let id = alice.say_id("#public", "last words").await;

    server.signal(libc::SIGTERM);
    for c in [&mut alice, &mut bob] {
        let frames = c.expect_closed().await;
        let shutdown: Vec<&Value> = frames.iter().filter(|f| f["type"] == "shutdown").collect();
        assert_eq!(shutdown.len(), 1, "{frames:?}");
        assert!(shutdown[0]["reason"]
            .as_str()
            .is_some_and(|r| !r.is_empty()));
        assert_eq!(
            frames.last().unwrap()["type"],
            "shutdown",
            "nothing after it"
        );
    }
    let status = server.wait().await;
    assert!(status.success(), "exit status 0: {status:?}");

    let server = Process::start(&db).await;
    let mut c = server.client().await;
    assert_eq!(c.login("bob", PASSWORD).await["last_msg_id"], id);
    server.stop().await;
}

#[tokio::test]
async fn sigint_is_a_graceful_shutdown_too() {
    let (_dir, db) = temp_db();
    let server = Process::start(&db).await;
    let mut alice = server.client().await;
    alice.register("alice").await;
    server.signal(libc::SIGINT);
    let frames = alice.expect_closed().await;
    assert!(frames.iter().any(|f| f["type"] == "shutdown"), "{frames:?}");
    assert!(server.wait().await.success());
}

#[tokio::test]
async fn banned_accounts_cannot_log_in_until_unbanned() {
    let (_dir, db) = temp_db();
    let out = admin(&db, &["add", "carol"], "correct horse\ncorrect horse\n");
    assert!(out.contains("carol"), "{out}");
    admin(&db, &["ban", "carol"], "");

    let server = Process::start(&db).await;
    let mut c = server.client().await;
    let e = c.error(login("carol", PASSWORD), "banned").await;
    assert_eq!(e["until"], Value::Null, "permanent: {e}");
    assert!(e.as_object().unwrap().contains_key("until"), "{e}");
    // Any casing, and the right password does not help.
    c.error(login("CAROL", PASSWORD), "banned").await;
    c.assert_open().await;
    server.stop().await;

    admin(&db, &["ban", "carol", "--minutes", "5"], "");
    let server = Process::start(&db).await;
    let mut c = server.client().await;
    let e = c.error(login("carol", PASSWORD), "banned").await;
    let until = e["until"].as_i64().expect("until is a ts");
    let expected = now_ms() + 5 * 60_000;
    assert!(
        (until - expected).abs() < 60_000,
        "about five minutes from now: {e}"
    );
    server.stop().await;

    admin(&db, &["unban", "carol"], "");
    let server = Process::start(&db).await;
    let mut c = server.client().await;
    assert_eq!(c.login("carol", PASSWORD).await["user"], "carol");
    server.stop().await;
}

#[tokio::test]
async fn admin_commands_manage_accounts_and_roles() {
    let (_dir, db) = temp_db();
    admin(
        &db,
        &["add", "Root1", "--admin"],
        "admin password\nadmin password\n",
    );
    admin(&db, &["add", "dave"], "dave password\ndave password\n");
    admin(&db, &["role", "dave", "admin"], "");
    admin(&db, &["role", "root1", "user"], "");
    admin(
        &db,
        &["passwd", "dave"],
        "new dave password\nnew dave password\n",
    );
    let list = admin(&db, &["list"], "");
    assert!(list.contains("Root1") && list.contains("dave"), "{list}");

    let server = Process::start(&db).await;
    let mut c = server.client().await;
    c.error(login("dave", "dave password"), "bad_credentials")
        .await;
    assert_eq!(c.login("dave", "new dave password").await["role"], "admin");
    let mut r = server.client().await;
    let w = r.login("root1", "admin password").await;
    assert_eq!(w["user"], "Root1");
    assert_eq!(w["role"], "user");
    server.stop().await;
}

#[tokio::test]
async fn passwords_never_reach_the_log_or_the_database_in_clear() {
    let (dir, db) = temp_db();
    let secret = "Zebra-Quartz-7731";
    let wrong = "Wrong-Walrus-4412";
    let server = Process::start(&db).await;
    let mut c = server.client().await;
    c.register_with("alice", secret).await;
    let mut d = server.client().await;
    d.error(login("alice", wrong), "bad_credentials").await;
    d.error(login("nobody", wrong), "bad_credentials").await;
    d.login("alice", secret).await;
    server.stop().await;
    admin(&db, &["passwd", "alice"], "Other-Otter-5150\n");

    // The database, its WAL and the trace-level log.
    // (Every file below the database's directory, the stored files included.)
    let mut files = Vec::new();
    let mut dirs = vec![dir.path().to_path_buf()];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                files.push(path);
            }
        }
    }
    for path in files {
        let bytes = std::fs::read(&path).unwrap();
        for p in [secret, wrong, "Other-Otter-5150"] {
            assert!(
                !bytes.windows(p.len()).any(|w| w == p.as_bytes()),
                "{} contains a password in clear",
                path.display()
            );
        }
    }
    let log = std::fs::metadata(db.with_extension("log")).unwrap();
    assert!(log.len() > 0, "the server logged at trace level");
}

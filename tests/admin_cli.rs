//! §13 the account command line, `tchat-server user …` and `tchat-server
//! audit`, run as the real binary: against a server running on the same
//! database (changes take effect at once: sessions closed, `role` events,
//! all with `"by":null`; audit entries with a null actor) and against a
//! database with no server running.
//!
//! Written from the contract and the issue before the server implemented
//! them: where they leave a choice, the comment at the assertion says
//! which reading is tested.

mod admin_support;
mod common;
mod server_support;

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use admin_support::*;
use common::*;
use serde_json::{json, Value};
use tchat::server::store::DbLocation;

/// Runs `tchat-server --db DB --bcrypt-cost 4 ARGS` with `stdin` fed to it
/// and a home and data directories of its own, so that it can write
/// nothing outside the database's directory and the temporary one.
fn cli(db: &DbLocation, args: &[&str], stdin: Option<&str>) -> Output {
    let home = tempfile::tempdir().expect("temp home");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tchat-server"));
    cmd.arg("--db")
        .arg(db.to_string())
        .args(["--bcrypt-cost", "4"])
        .args(args)
        .env("HOME", home.path())
        .env("XDG_DATA_HOME", home.path().join("data"))
        .env("XDG_CONFIG_HOME", home.path().join("config"))
        .env("XDG_STATE_HOME", home.path().join("state"))
        .env("XDG_RUNTIME_DIR", home.path().join("run"))
        .env_remove("TCHAT_DB")
        .env_remove("TCHAT_LISTEN")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("tchat-server runs");
    {
        use std::io::Write;
        let mut input = child.stdin.take().unwrap();
        if let Some(text) = stdin {
            input.write_all(text.as_bytes()).unwrap();
        }
    }
    child.wait_with_output().expect("tchat-server finishes")
}

/// Like [`cli`], failing the test unless the command succeeds; returns
/// its standard output.
fn cli_ok(db: &DbLocation, args: &[&str], stdin: Option<&str>) -> String {
    let out = cli(db, args, stdin);
    assert!(
        out.status.success(),
        "tchat-server {args:?} fails: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

fn login_req(user: &str, password: &str) -> Value {
    json!({"type": "login", "user": user, "password": password})
}

/// Lockouts live in the running server's memory, which the command line
/// reaches through the admin socket; a server on PostgreSQL has none.
fn lockouts_reachable() -> bool {
    if backend_is_sqlite() {
        return true;
    }
    eprintln!("skipped: with PostgreSQL the command line cannot reach a server's lockouts");
    false
}

/// Five wrong passwords for `user`, after which even the right one is
/// `locked_out`.
async fn lock_out(server: &TestServer, user: &str) -> TestClient {
    let mut c = server.client().await;
    for _ in 0..5 {
        c.error(login_req(user, "wrong password"), "bad_credentials")
            .await;
    }
    c.error(login_req(user, PASSWORD), "locked_out").await;
    c
}

/// Logs in with the right password, allowing the server the second the
/// contract gives it to notice a change made by the command line; at most
/// a dozen attempts, so that the address's own limit (20) is never hit.
async fn login_soon(c: &mut TestClient, user: &str) -> Value {
    let mut last = Value::Null;
    for _ in 0..12 {
        last = c.request(login_req(user, PASSWORD)).await;
        if last["type"] == "welcome" {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("{user} still cannot log in: {last}");
}

// ----- against a running server ---------------------------------------------

#[tokio::test]
async fn a_permanent_ban_from_the_command_line_closes_every_session_with_by_null() {
    let server = TestServer::start().await;
    let mut b1 = server.user("bob").await;
    let mut b2 = server.session("bob").await;
    let mut carol = server.user("carol").await;
    b1.settle().await;
    cli_ok(&server.db(), &["user", "ban", "bob"], None);
    for s in [&mut b1, &mut b2] {
        let fatal = last_fatal(&s.expect_closed().await);
        // Reading: no reason is given on the command line, so none is sent.
        assert_eq!(
            without_message(&fatal),
            json!({"type": "error", "code": "banned", "fatal": true, "until": null, "by": null})
        );
    }
    let p = carol.expect_event("presence").await;
    assert_eq!((&p["user"], &p["online"]), (&json!("bob"), &json!(false)));
    let mut c = server.client().await;
    let r = c.error(login_req("bob", PASSWORD), "banned").await;
    assert!(r.get("until").is_some_and(Value::is_null), "{r}");
    c.error(login_req("bob", "wrong password"), "bad_credentials")
        .await;
}

#[tokio::test]
async fn a_timed_ban_from_the_command_line_carries_its_until() {
    let server = TestServer::start().await;
    let mut bob = server.user("bob").await;
    cli_ok(
        &server.db(),
        &["user", "ban", "BOB", "--minutes", "30"],
        None,
    );
    let fatal = last_fatal(&bob.expect_closed().await);
    assert_until_in_minutes(&fatal["until"], 30);
    assert_eq!(
        without_message(&fatal),
        json!({"type": "error", "code": "banned", "fatal": true, "until": fatal["until"], "by": null})
    );
    let mut c = server.client().await;
    let r = c.error(login_req("bob", PASSWORD), "banned").await;
    assert_eq!(r["until"], fatal["until"]);
}

#[tokio::test]
async fn an_unban_from_the_command_line_lets_the_user_in() {
    let server = TestServer::start().await;
    server.account("bob").await;
    cli_ok(&server.db(), &["user", "ban", "bob"], None);
    let mut c = server.client().await;
    c.error(login_req("bob", PASSWORD), "banned").await;
    cli_ok(&server.db(), &["user", "unban", "bob"], None);
    login_soon(&mut c, "bob").await;
}

#[tokio::test]
async fn a_role_change_from_the_command_line_tells_every_session_with_by_null() {
    let server = TestServer::start().await;
    let mut b1 = server.user("bob").await;
    let mut b2 = server.session("bob").await;
    let mut carol = server.user("carol").await;
    b1.settle().await;
    b2.settle().await;

    cli_ok(&server.db(), &["user", "role", "bob", "admin"], None);
    let promoted = json!({"type": "role", "role": "admin", "by": null});
    assert_eq!(b1.expect_event("role").await, promoted);
    assert_eq!(b2.expect_event("role").await, promoted);
    carol.expect_silence().await;
    // The live session is an admin now.
    audit_page(&mut b1, json!({"type": "audit", "limit": 1})).await;

    // The command line may demote an admin, which no admin may.
    cli_ok(&server.db(), &["user", "role", "bob", "user"], None);
    let demoted = json!({"type": "role", "role": "user", "by": null});
    assert_eq!(b1.expect_event("role").await, demoted);
    assert_eq!(b2.expect_event("role").await, demoted);
    b2.error(json!({"type": "audit"}), "forbidden").await;
    b1.error(kick_user("carol", "x"), "forbidden").await;
    carol.assert_open().await;
    assert_eq!(server.welcome_of("bob").await["role"], "user");
}

#[tokio::test]
async fn a_password_change_from_the_command_line_ends_the_sessions_and_the_new_password_works() {
    let server = TestServer::start().await;
    let mut a1 = server.user("alice").await;
    let mut a2 = server.session("alice").await;
    let mut bob = server.user("bob").await;
    cli_ok(
        &server.db(),
        &["user", "passwd", "alice"],
        Some("a brand new password\n"),
    );
    for s in [&mut a1, &mut a2] {
        last_fatal(&s.expect_closed().await);
    }
    bob.assert_open().await;
    let mut c = server.client().await;
    c.error(login_req("alice", PASSWORD), "bad_credentials")
        .await;
    c.login("alice", "a brand new password").await;
}

#[tokio::test]
async fn unlock_from_the_command_line_clears_a_lockout() {
    if !lockouts_reachable() {
        return;
    }
    let server = TestServer::start().await;
    server.account("bob").await;
    let mut c = lock_out(&server, "bob").await;
    cli_ok(&server.db(), &["user", "unlock", "bob"], None);
    login_soon(&mut c, "bob").await;
}

#[tokio::test]
async fn unban_from_the_command_line_clears_a_lockout_too() {
    if !lockouts_reachable() {
        return;
    }
    let server = TestServer::start().await;
    server.account("bob").await;
    let mut c = lock_out(&server, "bob").await;
    cli_ok(&server.db(), &["user", "unban", "bob"], None);
    login_soon(&mut c, "bob").await;
}

#[tokio::test]
async fn command_line_actions_are_audited_with_a_null_actor() {
    let server = TestServer::start().await;
    server.account("bob").await;
    server.account("boss").await;
    let db = server.db();
    cli_ok(&db, &["user", "role", "boss", "admin"], None);
    cli_ok(&db, &["user", "ban", "bob", "--minutes", "5"], None);
    cli_ok(&db, &["user", "unban", "bob"], None);
    let mut boss = server.session("boss").await;
    let entries = audit_entries(&mut boss, 200).await;
    for action in ["set_role", "ban", "unban"] {
        let target = if action == "set_role" { "boss" } else { "bob" };
        let e = entry_for(&entries, action, target);
        assert!(
            e.get("actor").is_some_and(Value::is_null),
            "the command line's actor is null: {e}"
        );
        assert_recent_ts(&e["ts"]);
    }
}

#[tokio::test]
async fn the_audit_command_prints_the_log_newest_first_and_honours_limit() {
    let server = TestServer::start().await;
    server.account("bob").await;
    // A login too (registering is recorded as `register`, not `login`).
    server.welcome_of("bob").await;
    let db = server.db();
    cli_ok(&db, &["user", "ban", "bob"], None);
    let all = cli_ok(&db, &["audit"], None);
    for word in ["register", "login", "logout", "ban", "bob"] {
        assert!(all.contains(word), "the log mentions {word}: {all}");
    }
    // Reading: `--limit 1` prints the newest entry only: the ban.
    let one = cli_ok(&db, &["audit", "--limit", "1"], None);
    assert!(one.contains("ban") && one.contains("bob"), "{one}");
    assert!(!one.contains("register"), "only the newest entry: {one}");
    assert!(!one.contains("logout"), "only the newest entry: {one}");
}

#[tokio::test]
async fn the_command_line_names_an_unknown_user_and_changes_nothing() {
    let server = TestServer::start().await;
    let db = server.db();
    for args in [
        &["user", "ban", "nobody"][..],
        &["user", "unban", "nobody"],
        &["user", "unlock", "nobody"],
        &["user", "role", "nobody", "admin"],
    ] {
        let out = cli(&db, args, None);
        assert!(!out.status.success(), "{args:?}: {out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("nobody"), "{args:?} names the user: {err}");
    }
}

#[tokio::test]
async fn a_ban_of_zero_minutes_from_the_command_line_is_refused() {
    // Reading: the command line follows the frame's rule, minutes is a
    // positive integer.
    let server = TestServer::start().await;
    server.account("bob").await;
    let out = cli(
        &server.db(),
        &["user", "ban", "bob", "--minutes", "0"],
        None,
    );
    assert!(!out.status.success(), "{out:?}");
    server.session("bob").await;
}

// ----- with no server running -----------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_works_on_a_database_with_no_server_running() {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_db(&dir);
    let config = || {
        let mut c = server_support::config(&dir.path().join("unused.db"));
        c.db = db.clone();
        c.files_dir = Some(dir.path().join("files"));
        c
    };
    for name in ["bob", "carol", "dave", "erin"] {
        cli_ok(&db, &["user", "add", name], Some("correct horse\n"));
    }
    cli_ok(&db, &["user", "ban", "bob", "--minutes", "10"], None);
    cli_ok(&db, &["user", "ban", "erin"], None);
    cli_ok(&db, &["user", "role", "carol", "admin"], None);
    cli_ok(&db, &["user", "passwd", "dave"], Some("another password\n"));
    cli_ok(&db, &["user", "unlock", "dave"], None);
    let log = cli_ok(&db, &["audit"], None);
    assert!(log.contains("ban") && log.contains("bob"), "{log}");

    let (addr, shutdown, task) = server_support::start_joinable(config()).await;
    let mut c = TestClient::connect(addr).await;
    let r = c.error(login_req("bob", PASSWORD), "banned").await;
    assert_until_in_minutes(&r["until"], 10);
    let r = c.error(login_req("erin", PASSWORD), "banned").await;
    assert!(r.get("until").is_some_and(Value::is_null), "{r}");
    c.error(login_req("dave", PASSWORD), "bad_credentials")
        .await;
    c.login("dave", "another password").await;
    let mut carol = TestClient::connect(addr).await;
    assert_eq!(carol.login("carol", PASSWORD).await["role"], "admin");
    let entries = audit_entries(&mut carol, 200).await;
    let e = entry_for(&entries, "ban", "bob");
    assert!(e.get("actor").is_some_and(Value::is_null), "{e}");
    drop((c, carol));
    shutdown.shutdown("test");
    task.await.unwrap().unwrap();

    cli_ok(&db, &["user", "unban", "bob"], None);
    cli_ok(&db, &["user", "role", "carol", "user"], None);
    let (addr, shutdown, task) = server_support::start_joinable(config()).await;
    let mut c = TestClient::connect(addr).await;
    c.login("bob", PASSWORD).await;
    let mut carol = TestClient::connect(addr).await;
    assert_eq!(carol.login("carol", PASSWORD).await["role"], "user");
    drop((c, carol));
    shutdown.shutdown("test");
    task.await.unwrap().unwrap();
}

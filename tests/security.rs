//! The claims of SECURITY.md that no other test covers: how passwords are
//! stored and never logged, what a logged-in user cannot see or do, and the
//! abuse limits as a client meets them.

mod server_support;

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};
use server_support::{config, start, start_joinable, Client, PASSWORD};
use tchat::protocol::{Role, MAX_CLIENT_FRAME_BYTES, RATE_PER_SEC};
use tchat::server::admin::Admin;
use tchat::server::ServerConfig;
use tokio::io::AsyncReadExt;

fn all_bytes(db: &Path) -> Vec<u8> {
    let mut bytes = std::fs::read(db).unwrap();
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    if let Ok(more) = std::fs::read(&wal) {
        bytes.extend(more);
    }
    bytes
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[test]
fn the_defaults_are_the_documented_limits() {
    let c = ServerConfig::new(
        "127.0.0.1:0".parse().unwrap(),
        std::path::PathBuf::from("x.db"),
    );
    assert_eq!(c.max_connections_per_ip, 32);
    assert_eq!(c.max_sessions_per_account, 8);
    assert_eq!(c.max_registrations_per_ip_hour, 10);
    assert_eq!(c.max_msg_rate, 20);
    assert_eq!(RATE_PER_SEC, 20);
    assert_eq!(c.outgoing_limit_bytes, 8 << 20);
    assert_eq!(c.bcrypt_cost, 12);
    assert_eq!(c.idle_timeout, Duration::from_secs(90));
    assert_eq!(c.login_timeout, Duration::from_secs(30));
    assert_eq!(MAX_CLIENT_FRAME_BYTES, 65_536);
    assert!(!c.limit_loopback);
    assert!(c.tls.is_none(), "plain TCP unless TLS files are given");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passwords_are_stored_only_as_bcrypt_hashes_of_the_configured_cost() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let mut cfg = config(&db);
    cfg.bcrypt_cost = 5;
    let (addr, shutdown, task) = start_joinable(cfg).await;
    let (_alice, _) = Client::login(addr, "alice", true).await;
    shutdown.shutdown("test");
    task.await.unwrap().unwrap();

    let conn = rusqlite::Connection::open(&db).unwrap();
    let hash: String = conn
        .query_row(
            "SELECT password_hash FROM accounts WHERE name_key = 'alice'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(hash.starts_with("$2b$05$"), "{hash}");
    assert!(bcrypt::verify(PASSWORD, &hash).unwrap());
    drop(conn);
    assert!(
        !contains(&all_bytes(&db), PASSWORD),
        "the password is in the database"
    );
}

#[test]
fn passwords_never_appear_in_the_logs() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let log = dir.path().join("server.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_tchat-server"))
        .args(["--listen", "127.0.0.1:0", "--bcrypt-cost", "4", "--db"])
        .arg(&db)
        .env("RUST_LOG", "trace")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut first,
    )
    .unwrap();
    let addr: std::net::SocketAddr = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .parse()
        .unwrap();
    let wrong = "not the password at all";
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let (_alice, _) = Client::login(addr, "alice", true).await;
        let mut c = Client::connect(addr).await;
        let r = c
            .request(json!({"type": "login", "user": "alice", "password": wrong}))
            .await;
        assert_eq!(r["code"], "bad_credentials");
        let r = c
            .request(json!({"type": "login", "user": "nobody", "password": wrong}))
            .await;
        assert_eq!(r["code"], "bad_credentials");
        let (_again, _) = Client::login(addr, "alice", false).await;
    });
    // SIGTERM: a clean exit flushes the log.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    assert!(child.wait().unwrap().success());
    let mut text = String::new();
    std::fs::File::open(&log)
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    assert!(text.contains("alice"), "logging was on: {text}");
    assert!(!text.contains(PASSWORD), "a password was logged");
    assert!(!text.contains(wrong), "a wrong password was logged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_user_and_a_wrong_password_get_the_same_answer() {
    let dir = tempfile::tempdir().unwrap();
    let (addr, _s) = start(config(&dir.path().join("t.db"))).await;
    let (_alice, _) = Client::login(addr, "alice", true).await;
    let mut c = Client::connect(addr).await;
    let mut wrong = c
        .request(json!({"type": "login", "user": "alice", "password": "wrong password"}))
        .await;
    let mut unknown = c
        .request(json!({"type": "login", "user": "nobody", "password": "wrong password"}))
        .await;
    wrong["id"] = Value::Null;
    unknown["id"] = Value::Null;
    assert_eq!(wrong["code"], "bad_credentials");
    assert_eq!(wrong, unknown);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_wrong_passwords_lock_the_account_even_against_the_right_one() {
    let dir = tempfile::tempdir().unwrap();
    let (addr, _s) = start(config(&dir.path().join("t.db"))).await;
    let (_alice, _) = Client::login(addr, "alice", true).await;
    let mut c = Client::connect(addr).await;
    for _ in 0..5 {
        let r = c
            .request(json!({"type": "login", "user": "alice", "password": "wrong password"}))
            .await;
        assert_eq!(r["code"], "bad_credentials", "{r}");
    }
    let r = c
        .request(json!({"type": "login", "user": "ALICE", "password": PASSWORD}))
        .await;
    assert_eq!(r["code"], "locked_out", "{r}");
    assert!(r["retry_after_ms"].as_u64().unwrap() > 4 * 60 * 1000, "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_cannot_read_or_write_a_private_chat_of_others() {
    let dir = tempfile::tempdir().unwrap();
    let (addr, _s) = start(config(&dir.path().join("t.db"))).await;
    let (mut alice, _) = Client::login(addr, "alice", true).await;
    let (mut bob, _) = Client::login(addr, "bob", true).await;
    let (mut carol, _) = Client::login(addr, "carol", true).await;
    // Before bob accepts, nothing flows.
    let r = alice
        .request(json!({"type": "send", "chat": "@bob", "text": "too early"}))
        .await;
    assert_eq!(r["code"], "not_open", "{r}");
    alice
        .request(json!({"type": "request_chat", "user": "bob"}))
        .await;
    bob.request(json!({"type": "accept", "user": "alice"}))
        .await;
    let r = alice
        .request(json!({"type": "send", "chat": "@bob", "text": "between us"}))
        .await;
    assert_eq!(r["type"], "ok", "{r}");
    bob.event(|f| f["type"] == "message" && f["text"] == "between us")
        .await;

    // Carol can neither read it nor write into it.
    for chat in ["@alice", "@bob"] {
        let r = carol
            .request(json!({"type": "history", "chat": chat}))
            .await;
        assert_eq!(r["code"], "not_open", "{r}");
        let r = carol
            .request(json!({"type": "send", "chat": chat, "text": "let me in"}))
            .await;
        assert_eq!(r["code"], "not_open", "{r}");
    }
    // A round trip later, she has seen nothing of it.
    carol.request(json!({"type": "ping"})).await;
    assert!(
        !carol
            .events
            .iter()
            .any(|f| f.to_string().contains("between us")),
        "{:?}",
        carol.events
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_role_grants_administration_but_not_private_chats() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    Admin::open(&db)
        .unwrap()
        .add_user("boss", PASSWORD, Role::Admin, 4)
        .unwrap();
    let (addr, _s) = start(config(&db)).await;
    let (mut boss, welcome) = Client::login(addr, "boss", false).await;
    assert_eq!(welcome["role"], "admin");
    let (mut bob, _) = Client::login(addr, "bob", true).await;
    for kind in ["kick", "ban", "unban", "mute", "unmute"] {
        // An admin's request is acted on (here: there is no such user)…
        let r = boss.request(json!({"type": kind, "user": "someone"})).await;
        assert_eq!(r["code"], "no_such_user", "{r}");
        // …anyone else's is forbidden.
        let r = bob.request(json!({"type": kind, "user": "boss"})).await;
        assert_eq!(r["code"], "forbidden", "{r}");
    }
    // Nor does it open private chats without consent.
    let r = boss
        .request(json!({"type": "history", "chat": "@bob"}))
        .await;
    assert_eq!(r["code"], "not_open", "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_are_stored_unencrypted_in_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let (addr, shutdown, task) = start_joinable(config(&db)).await;
    let (mut alice, _) = Client::login(addr, "alice", true).await;
    let secret = "plainly readable 8f3a1c";
    alice
        .request(json!({"type": "send", "chat": "#public", "text": secret}))
        .await;
    shutdown.shutdown("test");
    task.await.unwrap().unwrap();
    assert!(contains(&all_bytes(&db), secret));
}

// ----- abuse limits ----------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_33rd_connection_from_one_address_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(&dir.path().join("t.db"));
    cfg.limit_loopback = true;
    let (addr, _s) = start(cfg).await;
    let mut open = Vec::new();
    for _ in 0..32 {
        open.push(Client::connect(addr).await);
    }
    let mut extra = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut text = String::new();
    tokio::time::timeout(Duration::from_secs(10), extra.read_to_string(&mut text))
        .await
        .unwrap()
        .unwrap();
    let frame: Value = serde_json::from_str(text.trim()).unwrap();
    assert_eq!(frame["code"], "rate_limited", "{frame}");
    assert_eq!(frame["fatal"], true, "{frame}");
    // One closes; a new one is let in.
    drop(open.pop());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let mut c = tokio::net::TcpStream::connect(addr).await.unwrap();
        let mut buf = vec![0u8; 512];
        let n = c.read(&mut buf).await.unwrap();
        if String::from_utf8_lossy(&buf[..n]).contains("\"hello\"") {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no slot was freed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ninth_session_of_one_account_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (addr, _s) = start(config(&dir.path().join("t.db"))).await;
    let mut sessions = vec![Client::login(addr, "alice", true).await.0];
    for _ in 1..8 {
        sessions.push(Client::login(addr, "alice", false).await.0);
    }
    let mut ninth = Client::connect(addr).await;
    let r = ninth
        .request(json!({"type": "login", "user": "alice", "password": PASSWORD}))
        .await;
    assert_eq!(r["code"], "rate_limited", "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_eleventh_registration_from_one_address_in_an_hour_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(&dir.path().join("t.db"));
    cfg.limit_loopback = true;
    let (addr, _s) = start(cfg).await;
    for i in 0..10 {
        Client::login(addr, &format!("user{i}"), true).await;
    }
    let mut c = Client::connect(addr).await;
    let r = c
        .request(json!({"type": "register", "user": "user10", "password": PASSWORD}))
        .await;
    assert_eq!(r["code"], "rate_limited", "{r}");
    assert!(r["retry_after_ms"].as_u64().unwrap() > 0, "{r}");
}

/// Sends `n` pings in one write; returns the replies in order, and whether
/// the server closed the connection.
async fn burst_of_pings(c: &mut Client, n: u64) -> (Vec<Value>, bool) {
    let mut lines = Vec::new();
    for id in 1..=n {
        lines.extend(format!("{{\"type\":\"ping\",\"id\":{id}}}\n").into_bytes());
    }
    c.send_raw(&lines).await.unwrap();
    let mut replies = Vec::new();
    while (replies.len() as u64) < n {
        match c.recv().await {
            Some(f) => replies.push(f),
            None => return (replies, true),
        }
    }
    (replies, false)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_over_forty_frames_is_rate_limited_and_not_acted_on() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(&dir.path().join("t.db"));
    cfg.max_msg_rate = 20;
    let (addr, _s) = start(cfg).await;
    let (mut c, _) = Client::login(addr, "alice", true).await;
    let (replies, closed) = burst_of_pings(&mut c, 60).await;
    assert!(!closed);
    let pongs = replies.iter().filter(|f| f["type"] == "pong").count();
    let limited: Vec<&Value> = replies
        .iter()
        .filter(|f| f["code"] == "rate_limited")
        .collect();
    // The burst is 40 (less the login's token, which refills in 50 ms),
    // and a few more refill while the 60 are read (20/s): on a loaded
    // machine that may take a few hundred milliseconds.
    assert!((39..=52).contains(&pongs), "{pongs} pongs");
    assert_eq!(pongs + limited.len(), 60);
    assert!(limited[0]["retry_after_ms"].as_u64().unwrap() > 0);
    assert!(limited.iter().all(|f| f["fatal"].is_null()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_flooding_at_many_times_the_limit_is_closed() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(&dir.path().join("t.db"));
    cfg.max_msg_rate = 20;
    let (addr, _s) = start(cfg).await;
    let (mut c, _) = Client::login(addr, "alice", true).await;
    let (replies, closed) = burst_of_pings(&mut c, 2000).await;
    assert!(closed, "the flooding session stayed open");
    let last = replies.last().unwrap();
    assert_eq!(last["code"], "rate_limited", "{last}");
    assert_eq!(last["fatal"], true, "{last}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frame_over_64_kib_is_refused_and_closes_the_connection() {
    let dir = tempfile::tempdir().unwrap();
    let (addr, _s) = start(config(&dir.path().join("t.db"))).await;
    // Exactly the limit, newline included: accepted.
    let mut c = Client::connect(addr).await;
    let head = r#"{"type":"ping","id":1,"pad":""#;
    let tail = "\"}\n";
    let pad = MAX_CLIENT_FRAME_BYTES - head.len() - tail.len();
    let line = format!("{head}{}{tail}", "x".repeat(pad));
    assert_eq!(line.len(), MAX_CLIENT_FRAME_BYTES);
    c.send_raw(line.as_bytes()).await.unwrap();
    assert_eq!(c.reply_to(1).await["type"], "pong");
    // One byte more: refused, and the connection is closed.
    let line = format!("{head}{}{tail}", "x".repeat(pad + 1));
    c.send_raw(line.as_bytes()).await.unwrap();
    let r = c.recv().await.unwrap();
    assert_eq!(r["code"], "frame_too_large", "{r}");
    assert_eq!(r["fatal"], true, "{r}");
    assert!(c.recv().await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_that_stops_reading_is_disconnected_without_slowing_others() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(&dir.path().join("t.db"));
    cfg.outgoing_limit_bytes = 256 * 1024;
    let (addr, _s) = start(cfg).await;
    let (mut writer, _) = Client::login(addr, "writer", true).await;
    let (stalled, _) = Client::login(addr, "stalled", true).await;
    writer
        .event(|f| f["type"] == "presence" && f["user"] == "stalled")
        .await;
    // `stalled` never reads again; the writer keeps sending, 20 at a time
    // (well within its own queue: it reads its echoes after each batch).
    let text = "y".repeat(4000);
    let mut id = 1_000u64;
    let gone = loop {
        assert!(id < 20_000, "the stalled reader was never disconnected");
        for _ in 0..20 {
            id += 1;
            writer
                .send(&json!({"type": "send", "id": id, "chat": "#public", "text": text}))
                .await;
        }
        let r = writer.reply_to(id).await;
        assert_eq!(r["type"], "ok", "{r}");
        if let Some(i) = writer
            .events
            .iter()
            .position(|f| f["type"] == "presence" && f["user"] == "stalled")
        {
            break writer.events.remove(i);
        }
        writer.events.clear();
    };
    assert_eq!(gone["online"], false, "{gone}");
    drop(stalled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loopback_is_exempt_from_the_per_address_limits_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let (addr, _s) = start(config(&dir.path().join("t.db"))).await;
    let mut open = Vec::new();
    for i in 0..40 {
        // Each gets its hello (Client::connect checks it).
        open.push(Client::connect(addr).await);
        if i < 12 {
            Client::login(addr, &format!("user{i}"), true).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn before_login_only_register_login_ping_and_logout_are_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let (addr, _s) = start(config(&dir.path().join("t.db"))).await;
    let mut c = Client::connect(addr).await;
    for frame in [
        json!({"type": "send", "chat": "#public", "text": "hi"}),
        json!({"type": "who"}),
        json!({"type": "history", "chat": "#public"}),
        json!({"type": "request_chat", "user": "bob"}),
    ] {
        let r = c.request(frame).await;
        assert_eq!(r["code"], "not_authenticated", "{r}");
    }
    assert_eq!(c.request(json!({"type": "ping"})).await["type"], "pong");
    assert_eq!(c.request(json!({"type": "logout"})).await["type"], "ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_never_logs_in_is_closed_after_the_login_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(&dir.path().join("t.db"));
    cfg.login_timeout = Duration::from_millis(300);
    let (addr, _s) = start(cfg).await;
    let started = tokio::time::Instant::now();
    let mut c = Client::connect(addr).await;
    // Pings do not count as logging in.
    assert_eq!(c.request(json!({"type": "ping"})).await["type"], "pong");
    let last = c.recv().await.expect("a last word");
    assert_eq!(last["code"], "idle_timeout", "{last}");
    assert_eq!(last["fatal"], true, "{last}");
    assert!(c.recv().await.is_none());
    assert!(started.elapsed() >= Duration::from_millis(300));
}

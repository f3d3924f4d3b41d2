//! The holes an outside review found in the first round of hardening, each
//! proven closed through real sockets: limits that parallel requests could
//! race past, frames that could grow past 1 MiB, memory one client could
//! pin, and sessions that outlived a ban or a password change.

mod common;
mod server_support;

use std::time::{Duration, Instant};

use common::{assert_error, TestClient, TestServer, PASSWORD};
use futures::future::join_all;
use serde_json::{json, Value};
use tchat::protocol::Role;
use tchat::server::admin::Admin;
use tchat::server::{Server, ServerConfig};

/// Connects `n` clients and has each send `frame` (with id 1) before any
/// reply is read, so every request is in flight at once; returns the
/// replies in connection order.
async fn all_at_once(server: &TestServer, n: usize, frame: impl Fn(usize) -> Value) -> Vec<Value> {
    let mut clients = join_all((0..n).map(|_| server.client())).await;
    for (i, c) in clients.iter_mut().enumerate() {
        let mut f = frame(i);
        f["id"] = json!(1);
        c.send_json(f).await;
    }
    join_all(clients.iter_mut().map(|c| c.reply_to(1))).await
}

fn codes(replies: &[Value]) -> Vec<String> {
    replies
        .iter()
        .map(|r| match r["type"].as_str() {
            Some("error") => r["code"].as_str().unwrap_or("?").to_owned(),
            Some(other) => other.to_owned(),
            None => "?".into(),
        })
        .collect()
}

fn count(codes: &[String], code: &str) -> usize {
    codes.iter().filter(|c| *c == code).count()
}

#[tokio::test]
async fn thirty_parallel_wrong_logins_get_only_five_password_checks() {
    let server = TestServer::start().await;
    server.account("bob").await;
    let replies = all_at_once(
        &server,
        30,
        |_| json!({"type": "login", "user": "bob", "password": "wrong password"}),
    )
    .await;
    let codes = codes(&replies);
    assert_eq!(count(&codes, "bad_credentials"), 5, "{codes:?}");
    assert_eq!(count(&codes, "locked_out"), 25, "{codes:?}");
    // The right password is refused too: the account is locked.
    let mut c = server.client().await;
    c.error(
        json!({"type": "login", "user": "bob", "password": PASSWORD}),
        "locked_out",
    )
    .await;
}

#[tokio::test]
async fn the_right_password_behind_wrong_ones_in_flight_is_locked_out() {
    // bob's hash is at cost 10: each check takes long enough that the
    // right password, sent once 29 guesses are on their way, arrives while
    // their checks still run.
    let (dir, addr) = server_with_an_account_at_cost("bob", 10).await;
    let mut guessers = join_all((0..29).map(|_| TestClient::connect(addr))).await;
    for c in &mut guessers {
        c.send_json(json!({"type": "login", "id": 1, "user": "bob", "password": "wrong password"}))
            .await;
    }
    let mut owner = TestClient::connect(addr).await;
    let right = owner
        .request(json!({"type": "login", "user": "bob", "password": PASSWORD}))
        .await;
    assert_eq!(right["code"], "locked_out", "{right}");
    // Five cost-10 checks share the server's hashing threads: on a machine
    // busy with other work they take seconds, more than replies usually may.
    let replies = join_all(
        guessers
            .iter_mut()
            .map(|c| c.reply_to_within(1, Duration::from_secs(60))),
    )
    .await;
    let codes = codes(&replies);
    assert_eq!(count(&codes, "bad_credentials"), 5, "{codes:?}");
    assert_eq!(count(&codes, "locked_out"), 24, "{codes:?}");
    drop(dir);
}

#[tokio::test]
async fn parallel_guesses_across_accounts_are_capped_per_address() {
    let server = TestServer::start().await;
    // Forty names, one guess each, from one address: twenty checks at most.
    let replies = all_at_once(
        &server,
        40,
        |i| json!({"type": "login", "user": format!("user{i}"), "password": "wrong password"}),
    )
    .await;
    let codes = codes(&replies);
    assert_eq!(count(&codes, "bad_credentials"), 20, "{codes:?}");
    assert_eq!(count(&codes, "locked_out"), 20, "{codes:?}");
}

#[tokio::test]
async fn thirty_parallel_registrations_make_only_ten_accounts() {
    let server = TestServer::start_with(|c| c.limit_loopback = true).await;
    let replies = all_at_once(
        &server,
        30,
        |i| json!({"type": "register", "user": format!("new{i}"), "password": PASSWORD}),
    )
    .await;
    let codes = codes(&replies);
    assert_eq!(count(&codes, "welcome"), 10, "{codes:?}");
    assert_eq!(count(&codes, "rate_limited"), 20, "{codes:?}");
    for r in replies.iter().filter(|r| r["code"] == "rate_limited") {
        assert!(r["retry_after_ms"].as_u64().unwrap() > 0, "{r}");
    }
}

#[tokio::test]
async fn probing_taken_names_costs_registration_attempts() {
    let server = TestServer::start_with(|c| {
        c.limit_loopback = true;
        c.max_registrations_per_ip_hour = 3;
    })
    .await;
    server.account("alice").await;
    let mut c = server.client().await;
    let probe = json!({"type": "register", "user": "alice", "password": PASSWORD});
    c.error(probe.clone(), "name_taken").await;
    c.error(probe, "name_taken").await;
    // Three attempts used: even a free name must wait now.
    c.error(
        json!({"type": "register", "user": "carol", "password": PASSWORD}),
        "rate_limited",
    )
    .await;
}

/// A server (hashing at cost 4) on a database that already holds `name`,
/// hashed at `cost`.
async fn server_with_an_account_at_cost(
    name: &str,
    cost: u32,
) -> (tempfile::TempDir, std::net::SocketAddr) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tchat.db");
    Admin::open(&db)
        .unwrap()
        .add_user(name, PASSWORD, Role::User, cost)
        .unwrap();
    let addr = serve_in_the_background(db).await;
    (dir, addr)
}

async fn serve_in_the_background(db: std::path::PathBuf) -> std::net::SocketAddr {
    let mut config = ServerConfig::new("127.0.0.1:0".parse().unwrap(), db);
    config.bcrypt_cost = 4;
    config.max_msg_rate = 0;
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async move {
            let server = Server::bind(config).await.unwrap();
            let _ = ready_tx.send(server.local_addr());
            let _ = server.run().await;
        });
    });
    ready_rx.await.unwrap()
}

/// A server on a database that already holds `slow`, hashed at cost 9,
/// and `fast`, at cost 4, while the server itself hashes at cost 4.
async fn server_with_a_costly_hash() -> (tempfile::TempDir, std::net::SocketAddr) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tchat.db");
    let admin = Admin::open(&db).unwrap();
    admin.add_user("slow", PASSWORD, Role::User, 9).unwrap();
    admin.add_user("fast", PASSWORD, Role::User, 4).unwrap();
    drop(admin);
    let addr = serve_in_the_background(db).await;
    (dir, addr)
}

async fn failed_login_time(addr: std::net::SocketAddr, user: &str) -> Duration {
    let mut c = TestClient::connect(addr).await;
    let started = Instant::now();
    c.error(
        json!({"type": "login", "user": user, "password": "wrong password"}),
        "bad_credentials",
    )
    .await;
    started.elapsed()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::test]
async fn a_failed_login_takes_as_long_whatever_cost_the_account_was_hashed_at() {
    let (_dir, addr) = server_with_a_costly_hash().await;
    let mut slow = Vec::new();
    let mut unknown = Vec::new();
    let mut fast = Vec::new();
    // Different names each time so that the lockout never answers instead.
    for i in 0..3 {
        slow.push(failed_login_time(addr, "slow").await);
        unknown.push(failed_login_time(addr, &format!("nobody{i}")).await);
        fast.push(failed_login_time(addr, "fast").await);
    }
    let (slow, unknown, fast) = (median(slow), median(unknown), median(fast));
    // Cost 9 is 32 times the work of cost 4; without the extra check the
    // unknown and cost-4 names would answer about 32 times faster. With it
    // every failure does a cost-9 check, so the times match under any load.
    assert!(
        unknown * 2 >= slow && fast * 2 >= slow,
        "slow {slow:?}, unknown {unknown:?}, fast {fast:?}"
    );
}

#[tokio::test]
async fn a_successful_login_rehashes_the_password_at_the_servers_cost() {
    let (dir, addr) = server_with_a_costly_hash().await;
    let mut c = TestClient::connect(addr).await;
    c.login("slow", PASSWORD).await;
    let db = dir.path().join("tchat.db");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let conn = rusqlite::Connection::open(&db).unwrap();
        let hash: String = conn
            .query_row(
                "SELECT password_hash FROM accounts WHERE name_key = 'slow'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        if hash.starts_with("$2b$04$") {
            break;
        }
        assert!(Instant::now() < deadline, "still {hash}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The password still works, and the rehash (a new hash of the same
    // password) did not end the session that caused it.
    let mut again = TestClient::connect(addr).await;
    again.login("slow", PASSWORD).await;
    c.assert_open().await;
}

/// Fills `#public` with `n` messages of 4 096 quote characters, each of
/// which doubles when escaped: a page of 200 of them is over 1 MiB.
async fn fill_public_with_heavy_messages(c: &mut TestClient, n: usize) {
    let text = "\"".repeat(4096);
    let mut ids = Vec::new();
    for _ in 0..n {
        ids.push(
            c.send_with_id(json!({"type": "send", "chat": "#public", "text": text}))
                .await,
        );
    }
    for id in ids {
        assert_eq!(c.reply_to(id).await["type"], "ok");
    }
    c.settle().await;
}

#[tokio::test]
async fn a_client_that_reads_gets_every_large_page_it_asked_for() {
    let server = TestServer::start().await;
    let mut writer = server.user("writer").await;
    fill_public_with_heavy_messages(&mut writer, 200).await;
    let mut reader = server.user("reader").await;
    // Nine pages of about 1 MiB each, asked for at once: over the 8 MiB
    // queue, yet the client reads them all and stays connected.
    let ids = {
        let mut ids = Vec::new();
        for _ in 0..9 {
            ids.push(
                reader
                    .send_with_id(json!({"type": "history", "chat": "#public", "limit": 200}))
                    .await,
            );
        }
        ids
    };
    for id in ids {
        let page = reader.reply_to(id).await;
        assert_eq!(page["type"], "history", "{}", page["type"]);
        assert!(page["messages"].as_array().unwrap().len() > 100);
        assert_eq!(page["more"], true);
    }
    reader.assert_open().await;
}

#[tokio::test]
async fn history_for_many_chats_at_once_is_rate_limited_but_never_a_flood() {
    let server = TestServer::start_with(|c| c.max_msg_rate = 20).await;
    let mut c = server.user("alice").await;
    // A client catching up on 210 chats at once (here one chat 210 times).
    let mut ids = Vec::new();
    for _ in 0..210 {
        ids.push(
            c.send_with_id(json!({"type": "history", "chat": "#public", "limit": 1}))
                .await,
        );
    }
    let mut pages = 0;
    let mut limited = 0;
    for id in ids {
        let reply = c.reply_to(id).await;
        match reply["type"].as_str() {
            Some("history") => pages += 1,
            _ => {
                assert_eq!(reply["code"], "rate_limited", "{reply}");
                assert!(reply.get("fatal").is_none(), "{reply}");
                limited += 1;
            }
        }
    }
    assert!(pages >= 30, "{pages} pages");
    assert_eq!(pages + limited, 210);
    // Still connected: a ping is answered once the rate allows.
    loop {
        let reply = c.request(json!({"type": "ping"})).await;
        if reply["type"] == "pong" {
            break;
        }
        assert_eq!(reply["code"], "rate_limited", "{reply}");
        let wait = reply["retry_after_ms"].as_u64().unwrap_or(50);
        tokio::time::sleep(Duration::from_millis(wait)).await;
    }
}

/// The most memory the process has held (VmHWM), in MiB.
fn peak_rss_mib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .expect("VmHWM in /proc status");
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap();
    kib / 1024
}

#[tokio::test]
async fn sessions_asking_many_large_pages_at_once_cannot_balloon_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_support::ServerProcess::start(&dir.path().join("tchat.db"), "127.0.0.1:0");
    let mut writer = TestClient::connect(server.addr).await;
    writer.register("writer").await;
    fill_public_with_heavy_messages(&mut writer, 200).await;
    let before = peak_rss_mib(server.pid());
    // Ten sessions each ask for ten pages of about 1 MiB, and read nothing
    // until every request is written.
    const SESSIONS: usize = 10;
    const PAGES: usize = 10;
    let mut clients = Vec::new();
    for i in 0..SESSIONS {
        let mut c = TestClient::connect(server.addr).await;
        c.register(&format!("reader{i}")).await;
        clients.push(c);
    }
    let page =
        serde_json::to_vec(&json!({"type": "history", "id": 7, "chat": "#public", "limit": 200}))
            .unwrap();
    let mut burst = Vec::new();
    for _ in 0..PAGES {
        burst.extend_from_slice(&page);
        burst.push(b'\n');
    }
    for c in &mut clients {
        c.send_raw(&burst).await;
    }
    // Every page still arrives, to every session.
    join_all(clients.iter_mut().map(|c| async move {
        for _ in 0..PAGES {
            let reply = c.reply_to(7).await;
            assert_eq!(reply["type"], "history", "{}", reply["type"]);
        }
    }))
    .await;
    let peak = peak_rss_mib(server.pid());
    // Asked for at once, the pages add up to about 100 MiB; the server
    // holds about two per session at a time.
    assert!(
        peak < before + 50,
        "peak RSS {peak} MiB (before the attack {before} MiB)"
    );
    eprintln!("peak RSS {peak} MiB, before the attack {before} MiB");
}

/// Runs `sql` on the PostgreSQL database of a running server, on a thread
/// of its own (the client must not run on the test's async thread).
fn on_postgres(server: &TestServer, sql: &'static str, params: (String, i64)) {
    let tchat::server::store::DbLocation::Postgres(url) = server.db() else {
        unreachable!("only called with PostgreSQL")
    };
    std::thread::spawn(move || {
        let mut c = url.config().connect(postgres::NoTls).unwrap();
        c.execute(sql, &[&params.0, &params.1]).unwrap();
    })
    .join()
    .unwrap();
}

/// Adds `n` accounts straight to the database of a running server (as an
/// older server without the request limits could have left it), each with
/// a pending chat request to `victim`.
fn legacy_requests_to(server: &TestServer, victim: &str, n: usize) {
    if !common::backend_is_sqlite() {
        return on_postgres(
            server,
            "WITH new AS (
                 INSERT INTO accounts (name, name_key, name_skeleton, password_hash, created_ms)
                 SELECT 'spammer' || g, 'spammer' || g, 'spammer' || g, 'x', 0
                 FROM generate_series(0, $2::BIGINT - 1) g RETURNING id, name)
             INSERT INTO chat_requests (from_id, to_id, ts)
             SELECT new.id, (SELECT id FROM accounts WHERE name_key = $1),
                    substr(new.name, 8)::BIGINT + 1 FROM new",
            (victim.to_owned(), n as i64),
        );
    }
    let mut conn = rusqlite::Connection::open(server.db_path()).unwrap();
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    let tx = conn.transaction().unwrap();
    let victim_id: i64 = tx
        .query_row(
            "SELECT id FROM accounts WHERE name_key = ?1",
            [victim],
            |r| r.get(0),
        )
        .unwrap();
    for i in 0..n {
        let name = format!("spammer{i}");
        tx.execute(
            "INSERT INTO accounts (name, name_key, password_hash, created_ms) VALUES (?1, ?1, 'x', 0)",
            [&name],
        )
        .unwrap();
        let from = tx.last_insert_rowid();
        tx.execute(
            "INSERT INTO chat_requests (from_id, to_id, ts) VALUES (?1, ?2, ?3)",
            [from, victim_id, i as i64 + 1],
        )
        .unwrap();
    }
    tx.commit().unwrap();
}

#[tokio::test]
async fn an_inbox_holds_at_most_two_hundred_requests_and_the_next_requester_is_told_why() {
    let server = TestServer::start().await;
    server.account("victim").await;
    legacy_requests_to(&server, "victim", 199);
    let mut last = server.user("requester199").await;
    last.ok(json!({"type": "request_chat", "user": "victim"}))
        .await;
    let mut one_too_many = server.user("requester200").await;
    let refused = one_too_many
        .error(
            json!({"type": "request_chat", "user": "victim"}),
            "rate_limited",
        )
        .await;
    let message = refused["message"].as_str().unwrap();
    assert!(message.contains("200"), "{message}");
    assert!(refused.get("fatal").is_none());
    // The victim still logs in and sees every request.
    let welcome = server.welcome_of("victim").await;
    assert_eq!(welcome["requests_in"].as_array().unwrap().len(), 200);
    assert!(
        welcome.get("more_requests_in").is_none(),
        "{}",
        welcome["more_requests_in"]
    );
}

#[tokio::test]
async fn one_user_may_have_at_most_two_hundred_requests_waiting() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let names: Vec<String> = (0..201).map(|i| format!("target{i}")).collect();
    if !common::backend_is_sqlite() {
        on_postgres(
            &server,
            "INSERT INTO accounts (name, name_key, name_skeleton, password_hash, created_ms)
             SELECT $1 || g, $1 || g, $1 || g, 'x', 0 FROM generate_series(0, $2::BIGINT - 1) g",
            ("target".to_owned(), names.len() as i64),
        );
    } else {
        // Accounts straight in the database: 201 registrations would take
        // most of this test's time.
        let conn = rusqlite::Connection::open(server.db_path()).unwrap();
        conn.busy_timeout(Duration::from_secs(5)).unwrap();
        for name in &names {
            conn.execute(
                "INSERT INTO accounts (name, name_key, password_hash, created_ms) VALUES (?1, ?1, 'x', 0)",
                [name],
            )
            .unwrap();
        }
    }
    for name in &names[..200] {
        alice
            .ok(json!({"type": "request_chat", "user": name}))
            .await;
    }
    let refused = alice
        .error(
            json!({"type": "request_chat", "user": names[200]}),
            "rate_limited",
        )
        .await;
    assert!(refused["message"].as_str().unwrap().contains("cancel"));
    // Cancelling one makes room again.
    alice
        .ok(json!({"type": "cancel_request", "user": names[0]}))
        .await;
    alice
        .ok(json!({"type": "request_chat", "user": names[200]}))
        .await;
}

#[tokio::test]
async fn a_victim_of_seventeen_thousand_requests_still_logs_in() {
    let server = TestServer::start().await;
    server.account("victim").await;
    // What a server without the limit let pile up: enough for a 1.2 MiB
    // welcome before the lists were bounded.
    legacy_requests_to(&server, "victim", 17_000);
    let welcome = server.welcome_of("victim").await;
    let listed = welcome["requests_in"].as_array().unwrap();
    assert_eq!(listed.len(), 200);
    assert_eq!(welcome["more_requests_in"], 16_800);
    // The newest ones, oldest first.
    assert_eq!(listed[199]["from"], "spammer16999");
    assert_eq!(listed[0]["from"], "spammer16800");
    // (The harness fails any frame over 1 MiB.)
}

fn fatal_error(frames: &[Value]) -> &Value {
    frames
        .iter()
        .find(|f| f["type"] == "error" && f["fatal"] == true)
        .unwrap_or_else(|| panic!("no fatal error among {frames:?}"))
}

#[tokio::test]
async fn a_ban_from_the_command_line_ends_every_live_session_at_once() {
    let server = TestServer::start().await;
    let mut erin = server.user("erin").await;
    let mut erin_again = server.session("erin").await;
    let mut bob = server.user("bob").await;
    let until = server.admin(|a| a.ban("erin", Some(60)).unwrap());
    for session in [&mut erin, &mut erin_again] {
        let frames = session.expect_closed().await;
        let fatal = fatal_error(&frames);
        assert_eq!(fatal["code"], "banned", "{fatal}");
        assert_eq!(fatal["until"], json!(until), "{fatal}");
    }
    let presence = bob.expect_event("presence").await;
    assert_eq!(
        (presence["user"].as_str(), presence["online"].as_bool()),
        (Some("erin"), Some(false))
    );
    let mut c = server.client().await;
    c.error(
        json!({"type": "login", "user": "erin", "password": PASSWORD}),
        "banned",
    )
    .await;
}

#[tokio::test]
async fn a_password_change_from_the_command_line_ends_the_accounts_sessions() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let mut alice_again = server.session("alice").await;
    let mut bob = server.user("bob").await;
    server.admin(|a| a.set_password("alice", "a new password", 4).unwrap());
    for session in [&mut alice, &mut alice_again] {
        let frames = session.expect_closed().await;
        let fatal = fatal_error(&frames);
        assert_eq!(fatal["code"], "not_authenticated", "{fatal}");
        assert!(fatal["message"].as_str().unwrap().contains("password"));
    }
    // Other users are not touched.
    bob.assert_open().await;
    let mut c = server.client().await;
    c.error(
        json!({"type": "login", "user": "alice", "password": PASSWORD}),
        "bad_credentials",
    )
    .await;
    c.login("alice", "a new password").await;
}

#[tokio::test]
async fn setting_the_status_one_already_has_tells_nobody() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    alice.settle().await;
    for _ in 0..3 {
        alice
            .ok(json!({"type": "set_status", "status": "available"}))
            .await;
    }
    bob.expect_silence().await;
    alice
        .ok(json!({"type": "set_status", "status": "busy"}))
        .await;
    assert_eq!(bob.expect_event("presence").await["status"], "busy");
    alice
        .ok(json!({"type": "set_status", "status": "busy"}))
        .await;
    bob.expect_silence().await;
}

#[tokio::test]
async fn reading_a_chat_with_a_name_tells_nothing_about_whether_the_account_exists() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    server.account("bob").await;
    for chat in ["@bob", "@ghost"] {
        let history = alice
            .error(json!({"type": "history", "chat": chat}), "not_open")
            .await;
        let mark = alice
            .error(
                json!({"type": "mark_read", "chat": chat, "msg_id": 1}),
                "not_open",
            )
            .await;
        // The same wording but for the name itself.
        let strip = |v: &Value| v["message"].as_str().unwrap().replace(&chat[1..], "NAME");
        assert_eq!(strip(&history), "you never had a chat with NAME");
        assert_eq!(strip(&mark), "you never had a chat with NAME");
    }
}

#[tokio::test]
async fn a_name_that_looks_like_an_existing_one_is_refused() {
    let server = TestServer::start().await;
    server.account("alice").await;
    server.account("bob").await;
    server.account("martin").await;
    let mut c = server.client().await;
    for look_alike in ["aIice", "a1ice", "b0b", "rnartin", "ALlCE"] {
        let refused = c
            .error(
                json!({"type": "register", "user": look_alike, "password": PASSWORD}),
                "name_taken",
            )
            .await;
        let message = refused["message"].as_str().unwrap();
        assert!(message.contains("looks too much like"), "{message}");
    }
    // Names that merely share letters are fine.
    c.register("alicia").await;
}

#[tokio::test]
async fn hostile_numbers_are_answered_without_breaking_the_server() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    alice.say("#public", "hello").await;
    let max = u64::MAX;
    for frame in [
        json!({"type": "history", "chat": "#public", "before": 0}),
        json!({"type": "history", "chat": "#public", "before": max}),
        json!({"type": "history", "chat": "#public", "after": max}),
        json!({"type": "history", "chat": "#public", "after": 0, "limit": u32::MAX}),
        json!({"type": "mark_read", "chat": "#public", "msg_id": max}),
        json!({"type": "mark_read", "chat": "#public", "msg_id": 0}),
    ] {
        let reply = alice.request(frame.clone()).await;
        assert_ne!(reply["type"], "error", "{frame} -> {reply}");
    }
    for frame in [
        json!({"type": "history", "chat": "#public", "limit": -1}),
        json!({"type": "history", "chat": "#public", "before": -5}),
        json!({"type": "history", "chat": "#public", "limit": 1u64 << 40}),
        json!({"type": "mark_read", "chat": "#public", "msg_id": -1}),
        json!({"type": "mark_read", "chat": "#public", "msg_id": 1.5}),
    ] {
        alice.error(frame, "bad_request").await;
    }
    alice.send_json(json!({"type": "ping", "id": max})).await;
    assert_eq!(alice.reply_to(max).await["type"], "pong");
    // The marker never moved past the newest message.
    let welcome = server.welcome_of("alice").await;
    assert_eq!(welcome["public_unread"], 0);
    alice.say("#public", "still here").await;
}

/// SECURITY.md backs each claim with the name of a test: every such name
/// must be a test that exists, so that a renamed or deleted test cannot
/// leave a claim unbacked.
#[test]
fn every_test_security_md_names_exists() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("SECURITY.md")).unwrap();
    // Error codes and field names are quoted too; those are the protocol's.
    let protocol = std::fs::read_to_string(root.join("docs/protocol.md")).unwrap();
    let mut sources = String::new();
    let mut dirs = vec![root.join("src"), root.join("tests")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                sources.push_str(&std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    let named: Vec<&str> = doc
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|s| {
            s.matches('_').count() >= 2
                && s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                && !protocol.contains(&format!("`{s}`"))
        })
        .collect();
    assert!(named.len() > 50, "only {} test names found", named.len());
    let missing: Vec<&&str> = named
        .iter()
        .filter(|name| !sources.contains(&format!("fn {name}(")))
        .collect();
    assert!(
        missing.is_empty(),
        "SECURITY.md names tests that do not exist: {missing:?}"
    );
}

#[tokio::test]
async fn at_most_two_hundred_group_invitations_wait_for_one_user() {
    let server = TestServer::start().await;
    server.account("victim").await;
    // One may own 50 groups: five owners make the 201 groups.
    let mut owners = Vec::new();
    for o in 0..5 {
        owners.push(server.user(&format!("owner{o}")).await);
    }
    for i in 0..201 {
        let chat = format!("#g{i}");
        let owner = &mut owners[i / 50];
        owner
            .ok(json!({"type": "create_group", "chat": chat, "kind": "invite"}))
            .await;
        let reply = owner
            .request(json!({"type": "invite", "chat": chat, "user": "victim"}))
            .await;
        if i < 200 {
            assert_eq!(reply["type"], "ok", "{reply}");
        } else {
            assert_error(&reply, "rate_limited", &json!({}));
            assert!(reply["message"].as_str().unwrap().contains("200"));
        }
    }
    let welcome = server.welcome_of("victim").await;
    assert_eq!(welcome["invites"].as_array().unwrap().len(), 200);
}

//! §3 names and §4 connecting and authentication.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{json, Value};
use tchat::protocol::{LOCKOUT_ACCOUNT_FAILURES, LOCKOUT_IP_FAILURES, RESERVED_NAMES};

fn register(user: &str, password: &str) -> Value {
    json!({"type": "register", "user": user, "password": password})
}

fn login(user: &str, password: &str) -> Value {
    json!({"type": "login", "user": user, "password": password})
}

#[tokio::test]
async fn register_welcome_has_every_field() {
    let server = TestServer::start().await;
    let mut c = server.client().await;
    c.send_json(json!({"type": "register", "id": 1, "user": "alice", "password": PASSWORD}))
        .await;
    let w = c.recv().await;
    assert_eq!(
        keys(&w),
        key_list(&[
            "type",
            "id",
            "user",
            "role",
            "last_msg_id",
            "online",
            "chats",
            "public_unread",
            "requests_in",
            "requests_out",
            // §15
            "groups",
            "invites",
            "public_last_read"
        ]),
        "{w}"
    );
    assert_eq!(w["type"], "welcome");
    assert_eq!(w["id"], 1);
    assert_eq!(w["user"], "alice");
    assert_eq!(w["role"], "user");
    assert_eq!(w["last_msg_id"], 0, "empty server");
    assert_eq!(
        w["online"],
        json!([{"user": "alice", "status": "available"}])
    );
    assert_eq!(w["chats"], json!([]));
    assert_eq!(w["public_unread"], 0);
    assert_eq!(w["requests_in"], json!([]));
    assert_eq!(w["requests_out"], json!([]));
    assert_eq!(w["groups"], json!([]));
    assert_eq!(w["invites"], json!([]));
    assert_eq!(w["public_last_read"], 0);
    // The new session gets no presence for its own login.
    c.expect_silence().await;
    c.assert_open().await;
}

#[tokio::test]
async fn login_welcome_lists_everyone_online_and_the_newest_msg_id() {
    let server = TestServer::start().await;
    let mut bob = server.user("Bob").await;
    bob.ok(json!({"type": "set_status", "status": "away"}))
        .await;
    bob.say_id("#public", "one").await;
    let last = bob.say_id("#public", "two").await;
    let mut c = server.client().await;
    c.register("alice").await;
    c.logout().await;

    let mut c = server.client().await;
    let w = c.login("alice", PASSWORD).await;
    assert_eq!(w["user"], "alice");
    assert_eq!(w["role"], "user");
    assert_eq!(w["last_msg_id"], last);
    assert_eq!(
        online_set(&w["online"]),
        pairs(&[("Bob", "away"), ("alice", "available")])
    );
    assert_eq!(
        w["public_unread"], 0,
        "alice registered after both messages"
    );
    assert_eq!(w["chats"], json!([]));
    assert_eq!(w["requests_in"], json!([]));
    assert_eq!(w["requests_out"], json!([]));
    c.expect_silence().await;
}

#[tokio::test]
async fn login_without_id_logs_in_silently() {
    let server = TestServer::start().await;
    let mut bob = server.user("bob").await;
    server.user("alice").await.logout().await;
    let p = bob.expect_event("presence").await;
    assert_eq!(p["online"], true);
    let p = bob.expect_event("presence").await;
    assert_eq!(p["online"], false);

    let mut c = server.client().await;
    c.send_json(login("alice", PASSWORD)).await;
    let p = bob.expect_event("presence").await;
    assert_eq!(
        p,
        json!({"type": "presence", "user": "alice", "online": true, "status": "available"})
    );
    c.expect_silence().await;
    let who = c.request(json!({"type": "who"})).await;
    assert_eq!(who["type"], "who", "logged in: {who}");
}

#[tokio::test]
async fn names_are_unique_case_insensitively_and_keep_their_spelling() {
    let server = TestServer::start().await;
    let mut alice = server.user("Alice").await;
    let mut c = server.client().await;
    c.error(register("alice", PASSWORD), "name_taken").await;
    c.error(register("ALICE", "another password"), "name_taken")
        .await;
    c.assert_open().await;

    let w = c.login("aLiCe", PASSWORD).await;
    assert_eq!(w["user"], "Alice");
    assert_eq!(online_set(&w["online"]), pairs(&[("Alice", "available")]));

    let mut bob = server.user("bob").await;
    let p = alice.expect_event("presence").await;
    assert_eq!(p["user"], "bob");
    bob.ok(json!({"type": "request_chat", "user": "ALICE"}))
        .await;
    let r = alice.expect_event("chat_request").await;
    assert_eq!(r["from"], "bob");
    let sent = c.expect_event("chat_request").await;
    assert_eq!(sent["from"], "bob");
}

#[tokio::test]
async fn reserved_names_cannot_be_registered() {
    let server = TestServer::start().await;
    let mut c = server.client().await;
    for name in RESERVED_NAMES {
        c.error(register(name, PASSWORD), "invalid_name").await;
        let upper = name.to_uppercase();
        c.error(register(&upper, PASSWORD), "invalid_name").await;
    }
    c.error(register("Admin", PASSWORD), "invalid_name").await;
    c.assert_open().await;
    // A reserved word inside a longer name is fine.
    c.register("administrator").await;
}

#[tokio::test]
async fn invalid_names_are_rejected() {
    let server = TestServer::start().await;
    let mut c = server.client().await;
    let too_long = format!("a{}", "b".repeat(32));
    for name in [
        "",
        "1alice",
        "_alice",
        "-alice",
        "al ice",
        "alice!",
        "al.ice",
        "älice",
        "alicé",
        " alice",
        "alice\n",
        "@alice",
        "#alice",
        too_long.as_str(),
    ] {
        c.error(register(name, PASSWORD), "invalid_name").await;
    }
    c.assert_open().await;
}

#[tokio::test]
async fn valid_name_edge_cases_register() {
    let server = TestServer::start().await;
    let longest = format!("Z{}", "9".repeat(31));
    for name in ["a", "A_b-9", "x-", longest.as_str()] {
        let mut c = server.client().await;
        let w = c.register(name).await;
        assert_eq!(w["user"], name);
    }
}

#[tokio::test]
async fn password_length_is_counted_in_bytes_between_8_and_72() {
    let server = TestServer::start().await;
    let mut c = server.client().await;
    c.error(register("alice", "1234567"), "invalid_password")
        .await;
    c.error(register("alice", ""), "invalid_password").await;
    c.error(register("alice", &"p".repeat(73)), "invalid_password")
        .await;
    // 36 two-byte characters are 72 bytes; one more byte is too many.
    c.error(
        register("alice", &format!("{}a", "é".repeat(36))),
        "invalid_password",
    )
    .await;
    c.assert_open().await;

    // Four two-byte characters are 8 bytes.
    server.client().await.register_with("eight", "éééé").await;
    server
        .client()
        .await
        .register_with("exact8", "12345678")
        .await;
    let max = "p".repeat(72);
    server.client().await.register_with("exact72", &max).await;
    server
        .client()
        .await
        .register_with("multi72", &"é".repeat(36))
        .await;

    // Never truncated: the 72-byte password plus one more byte is not it.
    let mut c = server.client().await;
    let longer = format!("{max}q");
    let e = c.request(login("exact72", &longer)).await;
    assert_eq!(e["type"], "error", "{e}");
    assert!(
        e["code"] == "invalid_password" || e["code"] == "bad_credentials",
        "{e}"
    );
    let w = c.login("exact72", &max).await;
    assert_eq!(w["user"], "exact72");
}

#[tokio::test]
async fn bad_credentials_looks_the_same_for_unknown_user_and_wrong_password() {
    let server = TestServer::start().await;
    server.account("alice").await;
    let mut c = server.client().await;
    let wrong = c
        .error(login("alice", "wrong password"), "bad_credentials")
        .await;
    let unknown = c
        .error(login("nobody", "wrong password"), "bad_credentials")
        .await;
    for e in [&wrong, &unknown] {
        assert_eq!(keys(e), keys(&wrong), "same fields: {e}");
        assert_eq!(e["message"], wrong["message"], "same message: {e}");
    }
    c.assert_open().await;
    c.login("alice", PASSWORD).await;
}

/// A name that breaks the name rules cannot belong to any account, so
/// saying so reveals nothing: `login` answers `invalid_name` with the rule
/// (as `register` does), and the connection stays open.
#[tokio::test]
async fn login_with_a_malformed_name_is_invalid_name() {
    let server = TestServer::start().await;
    let mut c = server.client().await;
    for name in ["not a name!", "", "9lives"] {
        let e = c.error(login(name, "wrong password"), "invalid_name").await;
        assert!(
            e["message"].as_str().is_some_and(|m| !m.is_empty()),
            "the rule is explained: {e}"
        );
    }
    c.assert_open().await;
    c.error(login("nobody", "wrong password"), "bad_credentials")
        .await;
}

#[tokio::test]
async fn five_failed_logins_lock_the_account_even_for_the_right_password() {
    let server = TestServer::start().await;
    server.account("alice").await;
    server.account("bob").await;
    let mut c = server.client().await;
    for _ in 0..LOCKOUT_ACCOUNT_FAILURES {
        c.error(login("alice", "wrong password"), "bad_credentials")
            .await;
    }
    let e = c.error(login("alice", PASSWORD), "locked_out").await;
    let retry = e["retry_after_ms"].as_u64().expect("retry_after_ms");
    assert!(
        (240_000..=300_000).contains(&retry),
        "about 5 minutes: {retry}"
    );
    // Other casing is the same account.
    c.error(login("ALICE", PASSWORD), "locked_out").await;
    c.assert_open().await;
    // Another account from the same address is unaffected.
    let w = c.login("bob", PASSWORD).await;
    assert_eq!(w["user"], "bob");
}

#[tokio::test]
async fn failed_logins_for_an_unknown_name_lock_it_too() {
    let server = TestServer::start().await;
    let mut c = server.client().await;
    for _ in 0..LOCKOUT_ACCOUNT_FAILURES {
        c.error(login("ghost", "wrong password"), "bad_credentials")
            .await;
    }
    let e = c
        .error(login("ghost", "wrong password"), "locked_out")
        .await;
    assert!(e["retry_after_ms"].as_u64().is_some(), "{e}");
}

#[tokio::test]
async fn twenty_failed_logins_from_one_address_lock_the_address() {
    let server = TestServer::start().await;
    server.account("alice").await;
    let mut c = server.client().await;
    for i in 0..LOCKOUT_IP_FAILURES {
        c.error(
            login(&format!("ghost{i}"), "wrong password"),
            "bad_credentials",
        )
        .await;
    }
    let e = c.error(login("alice", PASSWORD), "locked_out").await;
    let retry = e["retry_after_ms"].as_u64().expect("retry_after_ms");
    assert!(
        (240_000..=300_000).contains(&retry),
        "about 5 minutes: {retry}"
    );
    let mut other = server.client().await;
    other.error(login("alice", PASSWORD), "locked_out").await;
}

#[tokio::test]
async fn successful_login_resets_the_account_failure_count() {
    let server = TestServer::start().await;
    server.account("alice").await;
    let mut c = server.client().await;
    for _ in 0..LOCKOUT_ACCOUNT_FAILURES - 1 {
        c.error(login("alice", "wrong password"), "bad_credentials")
            .await;
    }
    c.login("alice", PASSWORD).await;
    c.logout().await;
    let mut c = server.client().await;
    for _ in 0..LOCKOUT_ACCOUNT_FAILURES - 1 {
        c.error(login("alice", "wrong password"), "bad_credentials")
            .await;
    }
    c.login("alice", PASSWORD).await;
}

#[tokio::test]
async fn second_login_or_register_is_already_authenticated() {
    let server = TestServer::start().await;
    server.account("bob").await;
    let mut c = server.user("alice").await;
    c.error(login("alice", PASSWORD), "already_authenticated")
        .await;
    c.error(login("bob", PASSWORD), "already_authenticated")
        .await;
    c.error(register("carol", PASSWORD), "already_authenticated")
        .await;
    c.assert_open().await;
    // Still alice.
    let id = c.say_id("#public", "still alice").await;
    let h = c
        .request(json!({"type": "history", "chat": "#public", "limit": 1}))
        .await;
    assert_eq!(h["messages"][0]["msg_id"], id);
    assert_eq!(h["messages"][0]["from"], "alice");
    // carol was not created.
    let mut d = server.client().await;
    d.error(login("carol", PASSWORD), "bad_credentials").await;
}

#[tokio::test]
async fn only_register_login_ping_logout_before_login() {
    let server = TestServer::start().await;
    let mut c = server.client().await;
    for frame in [
        json!({"type": "send", "chat": "#public", "text": "hi"}),
        json!({"type": "who"}),
        json!({"type": "set_status", "status": "busy"}),
        json!({"type": "request_chat", "user": "bob"}),
        json!({"type": "accept", "user": "bob"}),
        json!({"type": "reject", "user": "bob"}),
        json!({"type": "cancel_request", "user": "bob"}),
        json!({"type": "end_chat", "user": "bob"}),
        json!({"type": "history", "chat": "#public"}),
        json!({"type": "mark_read", "chat": "#public", "msg_id": 1}),
    ] {
        c.error(frame, "not_authenticated").await;
    }
    c.send_json(json!({"type": "who"})).await;
    let e = c.recv().await;
    assert_error(&e, "not_authenticated", &json!({}));
    assert!(e.get("id").is_none());
    c.assert_open().await;
    c.register("alice").await;
    c.assert_open().await;
}

#[tokio::test]
async fn logout_before_login_closes() {
    let server = TestServer::start().await;
    let mut c = server.client().await;
    c.ok(json!({"type": "logout"})).await;
    assert_eq!(c.expect_closed().await, Vec::<Value>::new());
}

#[tokio::test]
async fn logout_replies_ok_closes_and_tells_others() {
    let server = TestServer::start().await;
    let mut bob = server.user("bob").await;
    let mut alice = server.user("alice").await;
    bob.expect_event("presence").await;
    let ok = alice.request(json!({"type": "logout"})).await;
    assert_eq!(keys(&ok), key_list(&["type", "id"]), "{ok}");
    assert_eq!(ok["type"], "ok");
    assert_eq!(alice.expect_closed().await, Vec::<Value>::new());
    let p = bob.expect_event("presence").await;
    assert_eq!(p["user"], "alice");
    assert_eq!(p["online"], false);
    let who = bob.request(json!({"type": "who"})).await;
    assert_eq!(online_set(&who["online"]), pairs(&[("bob", "available")]));
}

#[tokio::test]
async fn login_timeout_closes_silent_connections() {
    let server = TestServer::start_with(|c| c.login_timeout = Duration::from_secs(1)).await;
    let mut idle = server.client().await;
    let mut pinging = server.client().await;
    pinging.assert_open().await;
    let mut member = server.user("alice").await;
    for c in [&mut idle, &mut pinging] {
        let frames = c.expect_closed().await;
        assert_eq!(frames.len(), 1, "one fatal error: {frames:?}");
        // §15: the dedicated code for no login in time.
        assert_error(&frames[0], "idle_timeout", &json!({}));
        assert_eq!(frames[0]["fatal"], true);
    }
    // A logged-in session is not subject to the login timeout.
    member.expect_silence_for(Duration::from_millis(1200)).await;
    member.assert_open().await;
}

#[tokio::test]
async fn client_stalled_inside_a_login_frame_does_not_block_others() {
    let server = TestServer::start().await;
    server.account("alice").await;
    let mut stalled = server.client().await;
    stalled
        .send_raw(br#"{"type":"login","id":1,"user":"alice","pass"#)
        .await;
    let mut c = server.client().await;
    let w = c.login("alice", PASSWORD).await;
    assert_eq!(w["user"], "alice");
    server.account("bob").await;
    stalled.send_raw(b"word\":\"correct horse\"}\n").await;
    let w = stalled.recv().await;
    assert_eq!(w["type"], "welcome", "{w}");
    assert_eq!(w["id"], 1);
}

#[tokio::test]
async fn multiple_sessions_of_one_account_are_allowed() {
    let server = TestServer::start().await;
    let mut a1 = server.user("alice").await;
    let mut a2 = server.session("alice").await;
    assert_eq!(
        online_set(&a2.welcome["online"]),
        pairs(&[("alice", "available")])
    );
    a1.expect_silence().await;
    let id = a2.say_id("#public", "from two").await;
    assert_eq!(a1.expect_message("#public").await["msg_id"], id);
    assert_eq!(a2.expect_message("#public").await["msg_id"], id);
}

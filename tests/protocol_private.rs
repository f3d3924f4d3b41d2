//! §6 private chats: request, accept, reject, cancel, end, messages, and
//! their persistence.

mod common;

use common::*;
use serde_json::{json, Value};

fn req(kind: &str, user: &str) -> Value {
    json!({"type": kind, "user": user})
}

/// Alice and Bob logged in with an open private chat between them.
async fn open_chat(server: &TestServer, a: &str, b: &str) -> (TestClient, TestClient) {
    let mut a_cl = server.user(a).await;
    let mut b_cl = server.user(b).await;
    a_cl.ok(req("request_chat", b)).await;
    b_cl.expect_event("chat_request").await;
    b_cl.ok(req("accept", a)).await;
    a_cl.expect_event("chat_opened").await;
    b_cl.expect_event("chat_opened").await;
    a_cl.settle().await;
    b_cl.settle().await;
    (a_cl, b_cl)
}

#[tokio::test]
async fn request_chat_notifies_target_and_requesters_other_sessions() {
    let server = TestServer::start().await;
    let mut a1 = server.user("Alice").await;
    let mut a2 = server.session("alice").await;
    let mut b1 = server.user("Bob").await;
    let mut b2 = server.session("bob").await;
    let mut carol = server.user("carol").await;
    for c in [&mut a1, &mut a2, &mut b1, &mut b2, &mut carol] {
        c.settle().await;
    }

    let ok = a1.request(req("request_chat", "bob")).await;
    assert_eq!(ok, json!({"type": "ok", "id": ok["id"]}));
    let r1 = b1.expect_event("chat_request").await;
    let ts = r1["ts"].clone();
    assert_recent_ts(&ts);
    assert_eq!(
        r1,
        json!({"type": "chat_request", "from": "Alice", "ts": ts})
    );
    assert_eq!(b2.expect_event("chat_request").await, r1);
    assert_eq!(
        a2.expect_event("chat_request_sent").await,
        json!({"type": "chat_request_sent", "to": "Bob", "ts": ts})
    );
    a1.expect_silence().await;
    carol.expect_silence().await;
    b1.expect_silence().await;
}

#[tokio::test]
async fn accept_opens_the_chat_for_both_with_per_receiver_keys() {
    let server = TestServer::start().await;
    let mut a1 = server.user("Alice").await;
    let mut a2 = server.session("alice").await;
    let mut b1 = server.user("Bob").await;
    let mut b2 = server.session("bob").await;
    a1.ok(req("request_chat", "Bob")).await;
    b1.expect_event("chat_request").await;
    b2.expect_event("chat_request").await;
    a2.expect_event("chat_request_sent").await;
    for c in [&mut a1, &mut a2, &mut b1, &mut b2] {
        c.settle().await;
    }

    let ok = b1.request(req("accept", "ALICE")).await;
    assert_eq!(ok, json!({"type": "ok", "id": ok["id"]}));
    let opened_a = a1.expect_event("chat_opened").await;
    let ts = opened_a["ts"].clone();
    assert_recent_ts(&ts);
    assert_eq!(
        opened_a,
        json!({"type": "chat_opened", "chat": "@Bob", "user": "Bob", "ts": ts})
    );
    assert_eq!(a2.expect_event("chat_opened").await, opened_a);
    let opened_b = json!({"type": "chat_opened", "chat": "@Alice", "user": "Alice", "ts": ts});
    assert_eq!(b1.expect_event("chat_opened").await, opened_b);
    assert_eq!(b2.expect_event("chat_opened").await, opened_b);
    for c in [&mut a1, &mut a2, &mut b1, &mut b2] {
        c.expect_silence().await;
    }
}

#[tokio::test]
async fn private_messages_use_per_receiver_keys_and_reach_only_the_pair() {
    let server = TestServer::start().await;
    let (mut alice, mut bob) = open_chat(&server, "Alice", "Bob").await;
    let mut b2 = server.session("bob").await;
    let mut carol = server.user("carol").await;
    alice.settle().await;
    bob.settle().await;

    let ok = alice.say("@bob", "psst").await;
    let from_alice = |chat: &str| json!({"type": "message", "chat": chat, "msg_id": ok["msg_id"], "ts": ok["ts"], "from": "Alice", "text": "psst"});
    assert_eq!(alice.expect_event("message").await, from_alice("@Bob"));
    assert_eq!(bob.expect_event("message").await, from_alice("@Alice"));
    assert_eq!(b2.expect_event("message").await, from_alice("@Alice"));

    let ok = bob.say("@Alice", "hello back").await;
    assert_eq!(alice.expect_message("@Bob").await["msg_id"], ok["msg_id"]);
    assert_eq!(bob.expect_message("@Alice").await["from"], "Bob");
    assert_eq!(b2.expect_message("@Alice").await["text"], "hello back");
    carol.expect_silence().await;
}

#[tokio::test]
async fn reject_tells_the_requester_and_the_rejecters_other_sessions() {
    let server = TestServer::start().await;
    let mut a1 = server.user("Alice").await;
    let mut a2 = server.session("alice").await;
    let mut b1 = server.user("Bob").await;
    let mut b2 = server.session("bob").await;
    a1.ok(req("request_chat", "bob")).await;
    b1.expect_event("chat_request").await;
    for c in [&mut a1, &mut a2, &mut b1, &mut b2] {
        c.settle().await;
    }

    let ok = b1.request(req("reject", "alice")).await;
    assert_eq!(ok, json!({"type": "ok", "id": ok["id"]}));
    let rejected = json!({"type": "chat_rejected", "user": "Bob"});
    assert_eq!(a1.expect_event("chat_rejected").await, rejected);
    assert_eq!(a2.expect_event("chat_rejected").await, rejected);
    assert_eq!(
        b2.expect_event("chat_request_removed").await,
        json!({"type": "chat_request_removed", "user": "Alice"})
    );
    b1.expect_silence().await;

    b1.error(req("accept", "alice"), "no_request").await;
    b1.error(req("reject", "alice"), "no_request").await;
    a1.error(req("cancel_request", "bob"), "no_request").await;
    a1.error(
        json!({"type": "send", "chat": "@Bob", "text": "hi"}),
        "not_open",
    )
    .await;
    // After a rejection one may ask again.
    a1.ok(req("request_chat", "bob")).await;
    assert_eq!(b1.expect_event("chat_request").await["from"], "Alice");
}

#[tokio::test]
async fn cancel_request_withdraws_it_everywhere() {
    let server = TestServer::start().await;
    let mut a1 = server.user("Alice").await;
    let mut a2 = server.session("alice").await;
    let mut bob = server.user("Bob").await;
    let mut b2 = server.session("bob").await;
    a1.ok(req("request_chat", "bob")).await;
    bob.expect_event("chat_request").await;
    b2.expect_event("chat_request").await;
    a2.expect_event("chat_request_sent").await;
    for c in [&mut a1, &mut a2, &mut bob, &mut b2] {
        c.settle().await;
    }

    let ok = a1.request(req("cancel_request", "BOB")).await;
    assert_eq!(ok, json!({"type": "ok", "id": ok["id"]}));
    let removed = json!({"type": "chat_request_removed", "user": "Alice"});
    assert_eq!(bob.expect_event("chat_request_removed").await, removed);
    assert_eq!(b2.expect_event("chat_request_removed").await, removed);
    assert_eq!(
        a2.expect_event("chat_request_removed").await,
        json!({"type": "chat_request_removed", "user": "Bob"})
    );
    a1.expect_silence().await;

    bob.error(req("accept", "alice"), "no_request").await;
    a1.error(req("cancel_request", "bob"), "no_request").await;
    let w = server.welcome_of("bob").await;
    assert_eq!(w["requests_in"], json!([]));
}

#[tokio::test]
async fn end_chat_closes_it_for_both_keeps_history_and_allows_a_new_request() {
    let server = TestServer::start().await;
    let (mut alice, mut bob) = open_chat(&server, "Alice", "Bob").await;
    let mut b2 = server.session("bob").await;
    alice.settle().await;
    let id = bob.say_id("@alice", "before the end").await;
    alice.expect_message("@Bob").await;
    bob.settle().await;
    b2.settle().await;

    let ok = alice.request(req("end_chat", "bob")).await;
    assert_eq!(ok, json!({"type": "ok", "id": ok["id"]}));
    assert_eq!(
        alice.expect_event("chat_ended").await,
        json!({"type": "chat_ended", "chat": "@Bob", "user": "Bob", "by": "Alice"})
    );
    let ended_b = json!({"type": "chat_ended", "chat": "@Alice", "user": "Alice", "by": "Alice"});
    assert_eq!(bob.expect_event("chat_ended").await, ended_b);
    assert_eq!(b2.expect_event("chat_ended").await, ended_b);

    alice
        .error(
            json!({"type": "send", "chat": "@Bob", "text": "x"}),
            "not_open",
        )
        .await;
    bob.error(
        json!({"type": "send", "chat": "@Alice", "text": "x"}),
        "not_open",
    )
    .await;
    alice.error(req("end_chat", "bob"), "not_open").await;
    bob.error(req("end_chat", "alice"), "not_open").await;

    let h = bob
        .request(json!({"type": "history", "chat": "@Alice"}))
        .await;
    assert_eq!(
        h["type"], "history",
        "ended chat history stays readable: {h}"
    );
    assert_eq!(h["messages"][0]["msg_id"], id);

    let w = server.welcome_of("alice").await;
    assert_eq!(w["chats"], json!([]), "welcome lists open chats only");

    bob.ok(req("request_chat", "alice")).await;
    assert_eq!(alice.expect_event("chat_request").await["from"], "Bob");
    alice.ok(req("accept", "bob")).await;
    bob.expect_event("chat_opened").await;
    let id2 = alice.say_id("@Bob", "again").await;
    assert!(id2 > id);
}

#[tokio::test]
async fn mutual_requests_open_the_chat_at_once() {
    let server = TestServer::start().await;
    let mut alice = server.user("Alice").await;
    let mut bob = server.user("Bob").await;
    bob.ok(req("request_chat", "alice")).await;
    alice.expect_event("chat_request").await;
    alice.settle().await;
    bob.settle().await;

    alice.ok(req("request_chat", "bob")).await;
    let a = alice.expect_event("chat_opened").await;
    assert_eq!(a["chat"], "@Bob");
    assert_eq!(a["user"], "Bob");
    let b = bob.expect_event("chat_opened").await;
    assert_eq!(b["chat"], "@Alice");
    assert_eq!(b["user"], "Alice");
    alice.say("@Bob", "open").await;
    assert_eq!(bob.expect_message("@Alice").await["text"], "open");
    let w = server.welcome_of("bob").await;
    assert_eq!(w["requests_in"], json!([]));
    assert_eq!(w["requests_out"], json!([]));
    assert_eq!(w["chats"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn requests_to_offline_users_wait_in_their_inbox() {
    let server = TestServer::start().await;
    let carol = server.user("Carol").await;
    carol.logout().await;
    let mut alice = server.user("Alice").await;
    alice.settle().await;
    alice.ok(req("request_chat", "carol")).await;
    alice.expect_silence().await;

    let mut a2 = server.session("alice").await;
    let out = &a2.welcome["requests_out"];
    assert_eq!(out.as_array().unwrap().len(), 1, "{out}");
    assert_eq!(out[0]["to"], "Carol");
    let ts = out[0]["ts"].clone();
    assert_recent_ts(&ts);
    assert_eq!(keys(&out[0]), key_list(&["to", "ts"]));

    let mut carol = server.session("carol").await;
    assert_eq!(
        carol.welcome["requests_in"],
        json!([{"from": "Alice", "ts": ts}])
    );
    assert_eq!(carol.welcome["requests_out"], json!([]));
    carol.ok(req("accept", "alice")).await;
    assert_eq!(a2.expect_event("chat_opened").await["chat"], "@Carol");
    carol.expect_event("chat_opened").await;
}

#[tokio::test]
async fn messages_to_an_offline_partner_arrive_as_unread() {
    let server = TestServer::start().await;
    let (mut alice, bob) = open_chat(&server, "Alice", "Bob").await;
    bob.logout().await;
    alice.settle().await;
    let first = alice.say_id("@Bob", "one").await;
    let second = alice.say_id("@Bob", "two").await;

    let bob = server.session("bob").await;
    let chats = bob.welcome["chats"].as_array().unwrap().clone();
    assert_eq!(chats.len(), 1, "{chats:?}");
    let c = &chats[0];
    assert_eq!(
        keys(c),
        key_list(&["chat", "user", "online", "unread", "last_read"])
    );
    assert_eq!(c["chat"], "@Alice");
    assert_eq!(c["user"], "Alice");
    assert_eq!(c["online"], true);
    assert_eq!(c["unread"], 2);
    assert!(c["last_read"].as_u64().unwrap() < first, "{c}");

    let mut bob = bob;
    let h = bob
        .request(json!({"type": "history", "chat": "@alice"}))
        .await;
    let ids: Vec<u64> = h["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["msg_id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, [first, second]);

    alice.logout().await;
    let w = server.welcome_of("bob").await;
    assert_eq!(w["chats"][0]["online"], false, "partner offline: {w}");
}

#[tokio::test]
async fn private_chat_errors() {
    let server = TestServer::start().await;
    let mut alice = server.user("Alice").await;
    let mut bob = server.user("Bob").await;
    server.account("Carol").await;
    alice.settle().await;

    alice.ok(req("request_chat", "bob")).await;
    alice
        .error(req("request_chat", "BOB"), "already_requested")
        .await;
    alice
        .error(
            json!({"type": "send", "chat": "@Bob", "text": "hi"}),
            "not_open",
        )
        .await;
    alice.error(req("end_chat", "bob"), "not_open").await;
    alice.error(req("accept", "bob"), "no_request").await;
    alice.error(req("reject", "bob"), "no_request").await;
    alice.error(req("accept", "carol"), "no_request").await;
    alice
        .error(req("cancel_request", "carol"), "no_request")
        .await;
    bob.ok(req("accept", "alice")).await;
    alice
        .error(req("request_chat", "bob"), "already_open")
        .await;
    bob.error(req("request_chat", "alice"), "already_open")
        .await;
    bob.error(req("accept", "alice"), "no_request").await;
    alice.error(req("accept", "bob"), "no_request").await;
    alice.error(req("reject", "bob"), "no_request").await;
    alice
        .error(req("cancel_request", "bob"), "no_request")
        .await;

    for kind in [
        "request_chat",
        "accept",
        "reject",
        "cancel_request",
        "end_chat",
    ] {
        alice.error(req(kind, "alice"), "self_target").await;
        alice.error(req(kind, "ALICE"), "self_target").await;
        alice.error(req(kind, "ghost"), "no_such_user").await;
        alice.error(req(kind, "not a name"), "no_such_user").await;
    }
    alice
        .error(
            json!({"type": "send", "chat": "@Alice", "text": "me"}),
            "self_target",
        )
        .await;
    alice
        .error(
            json!({"type": "send", "chat": "@ghost", "text": "x"}),
            "no_such_user",
        )
        .await;
    alice.assert_open().await;
    bob.assert_open().await;
}

#[tokio::test]
async fn chats_requests_and_messages_survive_a_restart() {
    let server = TestServer::start().await;
    let (mut alice, _bob) = open_chat(&server, "Alice", "Bob").await;
    server.account("Carol").await;
    let mut dave = server.user("Dave").await;
    let m1 = alice.say_id("@Bob", "kept").await;
    let m2 = alice.say_id("#public", "kept too").await;
    alice.ok(req("request_chat", "carol")).await;
    dave.ok(req("request_chat", "alice")).await;
    drop(alice);
    drop(dave);

    let server = server.restart().await;
    let mut alice = server.client().await;
    let w = alice.login("alice", PASSWORD).await;
    assert_eq!(w["last_msg_id"], m2);
    let chats = w["chats"].as_array().unwrap();
    assert_eq!(chats.len(), 1, "{w}");
    assert_eq!(chats[0]["chat"], "@Bob");
    assert_eq!(chats[0]["online"], false);
    let out: Vec<&Value> = w["requests_out"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["to"])
        .collect();
    assert_eq!(out, [&json!("Carol")]);
    let inbox: Vec<&Value> = w["requests_in"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["from"])
        .collect();
    assert_eq!(inbox, [&json!("Dave")]);

    let h = alice
        .request(json!({"type": "history", "chat": "@Bob"}))
        .await;
    assert_eq!(h["messages"][0]["msg_id"], m1);
    assert_eq!(h["messages"][0]["text"], "kept");
    let h = alice
        .request(json!({"type": "history", "chat": "#public"}))
        .await;
    assert_eq!(h["messages"][0]["msg_id"], m2);

    let mut bob = server.session("bob").await;
    bob.settle().await;
    let m3 = bob.say_id("@Alice", "after restart").await;
    assert!(m3 > m2, "msg_id keeps increasing across restarts");
    assert_eq!(alice.expect_message("@Bob").await["msg_id"], m3);
}

#[tokio::test]
async fn shutdown_tells_every_session_and_run_returns() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let mut a2 = server.session("alice").await;
    let mut anon = server.client().await;
    server.trigger_shutdown("maintenance");
    for c in [&mut alice, &mut a2] {
        let frames = c.expect_closed().await;
        let shutdown: Vec<&Value> = frames.iter().filter(|f| f["type"] == "shutdown").collect();
        assert_eq!(shutdown.len(), 1, "{frames:?}");
        assert!(shutdown[0]["reason"].is_string(), "{frames:?}");
        assert!(shutdown[0].get("id").is_none());
    }
    anon.expect_closed().await;
    server.join().await;
}

//! §7 history and read markers.

mod common;

use common::*;
use serde_json::{json, Value};
use tchat::protocol::{HISTORY_DEFAULT_LIMIT, HISTORY_MAX_LIMIT};

/// Sends `n` public messages pipelined and returns their msg_ids in order.
async fn flood_public(c: &mut TestClient, n: usize, prefix: &str) -> Vec<u64> {
    let mut batch = Vec::new();
    let mut ids = Vec::new();
    for i in 0..n {
        let id = 100_000 + i as u64;
        ids.push(id);
        let frame =
            json!({"type": "send", "id": id, "chat": "#public", "text": format!("{prefix}{i}")});
        batch.extend(serde_json::to_vec(&frame).unwrap());
        batch.push(b'\n');
    }
    c.send_raw(&batch).await;
    let mut msg_ids = Vec::new();
    for id in ids {
        let ok = c.reply_to(id).await;
        assert_eq!(ok["type"], "ok", "{ok}");
        msg_ids.push(ok["msg_id"].as_u64().unwrap());
    }
    c.settle().await;
    msg_ids
}

fn ids_of(history: &Value) -> Vec<u64> {
    history["messages"]
        .as_array()
        .unwrap_or_else(|| panic!("history has messages: {history}"))
        .iter()
        .map(|m| m["msg_id"].as_u64().unwrap())
        .collect()
}

async fn history(c: &mut TestClient, params: Value) -> Value {
    let mut frame = params;
    frame["type"] = json!("history");
    let h = c.request(frame.clone()).await;
    assert_eq!(h["type"], "history", "reply to {frame}: {h}");
    assert_eq!(h["chat"], frame["chat"], "{h}");
    h
}

#[tokio::test]
async fn history_pages_backwards_and_forwards_oldest_first() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let ids = flood_public(&mut alice, 10, "m").await;

    let h = history(&mut alice, json!({"chat": "#public", "limit": 3})).await;
    assert_eq!(
        keys(&h),
        key_list(&["type", "id", "chat", "messages", "more"])
    );
    assert_eq!(ids_of(&h), ids[7..10]);
    assert_eq!(h["more"], true);
    assert_eq!(
        h["messages"][2],
        json!({"type": "message", "chat": "#public", "msg_id": ids[9], "ts": h["messages"][2]["ts"], "from": "alice", "text": "m9"})
    );
    assert_recent_ts(&h["messages"][2]["ts"]);

    let h = history(
        &mut alice,
        json!({"chat": "#public", "before": ids[5], "limit": 3}),
    )
    .await;
    assert_eq!(ids_of(&h), ids[2..5]);
    assert_eq!(h["more"], true);
    let h = history(
        &mut alice,
        json!({"chat": "#public", "before": ids[3], "limit": 3}),
    )
    .await;
    assert_eq!(ids_of(&h), ids[0..3]);
    assert_eq!(h["more"], false, "nothing older than the first message");
    let h = history(&mut alice, json!({"chat": "#public", "before": ids[0]})).await;
    assert_eq!(ids_of(&h), Vec::<u64>::new());
    assert_eq!(h["more"], false);

    let h = history(
        &mut alice,
        json!({"chat": "#public", "after": ids[2], "limit": 3}),
    )
    .await;
    assert_eq!(ids_of(&h), ids[3..6]);
    assert_eq!(h["more"], true);
    let h = history(
        &mut alice,
        json!({"chat": "#public", "after": ids[6], "limit": 3}),
    )
    .await;
    assert_eq!(ids_of(&h), ids[7..10]);
    assert_eq!(h["more"], false, "nothing newer than the last message");
    let h = history(&mut alice, json!({"chat": "#public", "after": ids[9]})).await;
    assert_eq!(ids_of(&h), Vec::<u64>::new());
    assert_eq!(h["more"], false);
    let h = history(
        &mut alice,
        json!({"chat": "#public", "after": 0, "limit": 4}),
    )
    .await;
    assert_eq!(ids_of(&h), ids[0..4], "after 0 starts at the oldest");
    assert_eq!(h["more"], true);

    let h = history(&mut alice, json!({"chat": "#public"})).await;
    assert_eq!(ids_of(&h), ids);
    assert_eq!(h["more"], false);
    let texts: Vec<&str> = h["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, (0..10).map(|i| format!("m{i}")).collect::<Vec<_>>());
}

#[tokio::test]
async fn history_limit_defaults_to_50_and_is_capped_at_200() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let ids = flood_public(&mut alice, 210, "x").await;

    let h = history(&mut alice, json!({"chat": "#public"})).await;
    assert_eq!(ids_of(&h), ids[210 - HISTORY_DEFAULT_LIMIT as usize..]);
    assert_eq!(h["more"], true);

    let h = history(&mut alice, json!({"chat": "#public", "limit": 1000})).await;
    assert_eq!(ids_of(&h), ids[210 - HISTORY_MAX_LIMIT as usize..]);
    assert_eq!(h["more"], true);
    let h = history(
        &mut alice,
        json!({"chat": "#public", "limit": 200, "after": 0}),
    )
    .await;
    assert_eq!(ids_of(&h), ids[..200]);
    assert_eq!(h["more"], true);
    let h = history(
        &mut alice,
        json!({"chat": "#public", "limit": 1, "before": ids[1]}),
    )
    .await;
    assert_eq!(ids_of(&h), ids[..1]);
    assert_eq!(h["more"], false);
}

#[tokio::test]
async fn history_rejects_bad_parameters_and_unknown_chats() {
    let server = TestServer::start().await;
    let mut alice = server.user("Alice").await;
    server.account("Bob").await;
    alice.settle().await;
    let h = |p: Value| {
        let mut f = p;
        f["type"] = json!("history");
        f
    };
    alice
        .error(h(json!({"chat": "#public", "limit": 0})), "bad_request")
        .await;
    alice
        .error(
            h(json!({"chat": "#public", "before": 5, "after": 1})),
            "bad_request",
        )
        .await;
    alice.error(h(json!({"chat": "@Bob"})), "not_open").await;
    alice.error(h(json!({"chat": "@ghost"})), "not_open").await;
    alice
        .error(h(json!({"chat": "@alice"})), "self_target")
        .await;
    alice
        .error(h(json!({"chat": "#rust"})), "no_such_chat")
        .await;
    alice
        .error(h(json!({"chat": "nonsense"})), "no_such_chat")
        .await;
    alice.assert_open().await;
}

#[tokio::test]
async fn private_history_uses_the_readers_key() {
    let server = TestServer::start().await;
    let mut alice = server.user("Alice").await;
    let mut bob = server.user("Bob").await;
    alice
        .ok(json!({"type": "request_chat", "user": "bob"}))
        .await;
    bob.ok(json!({"type": "accept", "user": "alice"})).await;
    let a = alice.say_id("@Bob", "from alice").await;
    let b = bob.say_id("@Alice", "from bob").await;
    alice.say_id("#public", "not private").await;

    let h = history(&mut bob, json!({"chat": "@Alice"})).await;
    assert_eq!(ids_of(&h), [a, b]);
    for m in h["messages"].as_array().unwrap() {
        assert_eq!(m["chat"], "@Alice", "{m}");
        assert_eq!(m["type"], "message");
    }
    assert_eq!(h["messages"][0]["from"], "Alice");
    assert_eq!(h["messages"][1]["from"], "Bob");
    assert_eq!(h["more"], false);
    let h = history(&mut alice, json!({"chat": "@Bob"})).await;
    assert_eq!(ids_of(&h), [a, b]);
    assert!(h["messages"]
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m["chat"] == "@Bob"));
    let h = history(&mut alice, json!({"chat": "@Bob", "after": a})).await;
    assert_eq!(ids_of(&h), [b]);
    assert_eq!(h["more"], false);
}

#[tokio::test]
async fn mark_read_moves_forward_and_tells_other_sessions() {
    let server = TestServer::start().await;
    let mut writer = server.user("writer").await;
    let mut a1 = server.user("Alice").await;
    let mut a2 = server.session("alice").await;
    let ids = flood_public(&mut writer, 6, "w").await;
    for _ in 0..6 {
        a1.expect_message("#public").await;
        a2.expect_message("#public").await;
    }
    a1.settle().await;
    a2.settle().await;

    // Without id: no reply, but the other session hears it.
    a1.send_json(json!({"type": "mark_read", "chat": "#public", "msg_id": ids[3]}))
        .await;
    assert_eq!(
        a2.expect_event("read").await,
        json!({"type": "read", "chat": "#public", "msg_id": ids[3]})
    );
    a1.expect_silence().await;

    // With id: ok.
    let ok = a2
        .request(json!({"type": "mark_read", "chat": "#public", "msg_id": ids[4]}))
        .await;
    assert_eq!(ok, json!({"type": "ok", "id": ok["id"]}));
    assert_eq!(
        a1.expect_event("read").await,
        json!({"type": "read", "chat": "#public", "msg_id": ids[4]})
    );

    // Never back.
    let back = a1
        .request(json!({"type": "mark_read", "chat": "#public", "msg_id": ids[1]}))
        .await;
    assert_eq!(back["type"], "ok", "{back}");
    a2.settle().await;

    let w = server.welcome_of("alice").await;
    assert_eq!(
        w["public_unread"], 1,
        "only the message after the marker: {w}"
    );
}

#[tokio::test]
async fn mark_read_in_a_private_chat_uses_per_session_keys() {
    let server = TestServer::start().await;
    let mut alice = server.user("Alice").await;
    let mut b1 = server.user("Bob").await;
    let mut b2 = server.session("bob").await;
    alice
        .ok(json!({"type": "request_chat", "user": "bob"}))
        .await;
    b1.ok(json!({"type": "accept", "user": "alice"})).await;
    let id = alice.say_id("@Bob", "read me").await;
    b1.expect_message("@Alice").await;
    b2.settle().await;
    alice.settle().await;

    b1.ok(json!({"type": "mark_read", "chat": "@alice", "msg_id": id}))
        .await;
    assert_eq!(
        b2.expect_event("read").await,
        json!({"type": "read", "chat": "@Alice", "msg_id": id})
    );
    alice.expect_silence().await;
    let w = server.welcome_of("bob").await;
    assert_eq!(w["chats"][0]["last_read"], id);
    assert_eq!(w["chats"][0]["unread"], 0);
}

#[tokio::test]
async fn mark_read_errors() {
    let server = TestServer::start().await;
    let mut alice = server.user("Alice").await;
    server.account("Bob").await;
    alice.settle().await;
    let m = |chat: &str| json!({"type": "mark_read", "chat": chat, "msg_id": 1});
    alice.error(m("@Bob"), "not_open").await;
    alice.error(m("@ghost"), "not_open").await;
    alice.error(m("@alice"), "self_target").await;
    alice.error(m("#rust"), "no_such_chat").await;
    alice.error(m("bob"), "no_such_chat").await;
    alice.assert_open().await;
}

#[tokio::test]
async fn welcome_unread_counts_follow_the_markers() {
    let server = TestServer::start().await;
    let mut alice = server.user("Alice").await;
    let before = flood_public(&mut alice, 3, "early").await;

    // A new account starts reading public at the newest message.
    let mut bob = server.user("Bob").await;
    assert_eq!(bob.welcome["last_msg_id"], before[2]);
    assert_eq!(bob.welcome["public_unread"], 0);
    bob.ok(json!({"type": "request_chat", "user": "alice"}))
        .await;
    alice.ok(json!({"type": "accept", "user": "bob"})).await;
    bob.logout().await;

    // Empty private chat with no marker: nothing unread.
    let w = server.welcome_of("bob").await;
    assert_eq!(w["chats"][0]["unread"], 0);
    assert_eq!(w["chats"][0]["chat"], "@Alice");

    let public = flood_public(&mut alice, 2, "late").await;
    let p1 = alice.say_id("@Bob", "p1").await;
    alice.say_id("@Bob", "p2").await;
    alice.say_id("@Bob", "p3").await;
    let mut bob = server.session("bob").await;
    assert_eq!(bob.welcome["public_unread"], 2);
    assert_eq!(bob.welcome["chats"][0]["unread"], 3);

    // One's own messages never count as unread.
    bob.say_id("#public", "mine").await;
    bob.say_id("@Alice", "mine too").await;
    bob.ok(json!({"type": "mark_read", "chat": "@Alice", "msg_id": p1}))
        .await;
    bob.ok(json!({"type": "mark_read", "chat": "#public", "msg_id": public[0]}))
        .await;
    let w = server.welcome_of("bob").await;
    assert_eq!(w["public_unread"], 1, "{w}");
    assert_eq!(w["chats"][0]["unread"], 2, "{w}");
    assert_eq!(w["chats"][0]["last_read"], p1);

    // Alice has read nothing since her own messages: Bob's count for her.
    let w = server.welcome_of("alice").await;
    assert_eq!(w["chats"][0]["chat"], "@Bob");
    assert_eq!(w["chats"][0]["unread"], 1, "bob's one private message: {w}");
    assert_eq!(w["public_unread"], 1, "bob's one public message: {w}");
}

#[tokio::test]
async fn a_full_history_page_of_escaped_text_stays_within_the_server_frame_limit() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    // Quotes double in size when encoded as JSON: 200 of these messages
    // would be a 1.6 MiB frame.
    let text = "\"".repeat(tchat::protocol::MAX_TEXT_BYTES);
    let mut batch = Vec::new();
    for i in 0..200u64 {
        let frame = json!({"type": "send", "id": 100_000 + i, "chat": "#public", "text": text});
        batch.extend(serde_json::to_vec(&frame).unwrap());
        batch.push(b'\n');
    }
    alice.send_raw(&batch).await;
    let mut ids = Vec::new();
    for i in 0..200u64 {
        let ok = alice.reply_to(100_000 + i).await;
        assert_eq!(ok["type"], "ok", "{ok}");
        ids.push(ok["msg_id"].as_u64().unwrap());
    }
    alice.settle().await;

    // The harness fails on any server frame over 1 MiB.
    let h = history(&mut alice, json!({"chat": "#public", "limit": 200})).await;
    let got = ids_of(&h);
    assert!(!got.is_empty(), "some messages: {}", got.len());
    assert_eq!(got, ids[200 - got.len()..], "the newest ones, oldest first");
    assert_eq!(h["more"], got.len() < 200);
    assert!(h["messages"]
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m["text"] == text));
    let h = history(
        &mut alice,
        json!({"chat": "#public", "after": 0, "limit": 200}),
    )
    .await;
    let got = ids_of(&h);
    assert_eq!(got, ids[..got.len()], "the oldest ones, oldest first");
    assert_eq!(h["more"], got.len() < 200);
}

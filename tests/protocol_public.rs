//! §3 text rules and chat keys, §5 public room and presence.

mod common;

use common::*;
use serde_json::json;
use tchat::protocol::MAX_TEXT_BYTES;

#[tokio::test]
async fn public_send_is_acked_then_delivered_to_every_session() {
    let server = TestServer::start().await;
    let mut a1 = server.user("Alice").await;
    let mut a2 = server.session("alice").await;
    let mut bob = server.user("bob").await;
    a1.expect_event("presence").await;
    a2.expect_event("presence").await;

    let ok = a1
        .request(json!({"type": "send", "chat": "#public", "text": "hi all"}))
        .await;
    assert_eq!(keys(&ok), key_list(&["type", "id", "msg_id", "ts"]), "{ok}");
    assert_eq!(ok["type"], "ok");
    assert_recent_ts(&ok["ts"]);
    let expected = json!({
        "type": "message",
        "chat": "#public",
        "msg_id": ok["msg_id"],
        "ts": ok["ts"],
        "from": "Alice",
        "text": "hi all",
    });
    assert_eq!(a1.expect_event("message").await, expected);
    assert_eq!(a2.expect_event("message").await, expected);
    assert_eq!(bob.expect_event("message").await, expected);
    for c in [&mut a1, &mut a2, &mut bob] {
        c.expect_silence().await;
    }
}

#[tokio::test]
async fn msg_ids_strictly_increase_and_everyone_sees_one_order() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    let mut carol = server.user("carol").await;
    alice.settle().await;
    bob.settle().await;
    // Both write a burst without waiting, so their frames interleave.
    let mut batch_a = Vec::new();
    let mut batch_b = Vec::new();
    for i in 0..15 {
        batch_a.extend(
            format!("{{\"type\":\"send\",\"id\":{i},\"chat\":\"#public\",\"text\":\"a{i}\"}}\n")
                .into_bytes(),
        );
        batch_b.extend(
            format!("{{\"type\":\"send\",\"id\":{i},\"chat\":\"#public\",\"text\":\"b{i}\"}}\n")
                .into_bytes(),
        );
    }
    tokio::join!(alice.send_raw(&batch_a), bob.send_raw(&batch_b));

    let mut acked_a = Vec::new();
    for i in 0..15u64 {
        let ok = alice.reply_to(i).await;
        assert_eq!(ok["type"], "ok", "{ok}");
        acked_a.push(ok["msg_id"].as_u64().unwrap());
    }
    for i in 0..15u64 {
        assert_eq!(bob.reply_to(i).await["type"], "ok");
    }
    assert!(
        acked_a.windows(2).all(|w| w[0] < w[1]),
        "one sender's ids increase: {acked_a:?}"
    );

    let mut orders = Vec::new();
    for c in [&mut alice, &mut bob, &mut carol] {
        let mut seen = Vec::new();
        for _ in 0..30 {
            let m = c.expect_event("message").await;
            seen.push((
                m["msg_id"].as_u64().unwrap(),
                m["text"].as_str().unwrap().to_string(),
            ));
        }
        assert!(
            seen.windows(2).all(|w| w[0].0 < w[1].0),
            "delivered in msg_id order: {seen:?}"
        );
        let own: Vec<&str> = seen
            .iter()
            .filter(|s| s.1.starts_with('a'))
            .map(|s| s.1.as_str())
            .collect();
        let expected: Vec<String> = (0..15).map(|i| format!("a{i}")).collect();
        assert_eq!(own, expected, "a sender's messages keep their order");
        orders.push(seen);
    }
    assert_eq!(orders[0], orders[1]);
    assert_eq!(orders[1], orders[2]);
}

#[tokio::test]
async fn accepted_text_is_delivered_exactly() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    alice.settle().await;
    let max_ascii = "x".repeat(MAX_TEXT_BYTES);
    // 1 + 4095 bytes: three-byte characters filling up to the limit.
    let max_multibyte = format!("a{}", "€".repeat((MAX_TEXT_BYTES - 1) / 3));
    assert_eq!(max_multibyte.len(), MAX_TEXT_BYTES);
    let texts = [
        "tab\there",
        "line one\nline two\n",
        "  padded  ",
        "\n\tindented",
        "héllo 👋🏽 世界 👨‍👩‍👧",
        "right-to-left mark \u{200F} is not an override",
        "quotes \" and backslash \\ and {\"json\": 1}",
        "\u{00A0}nbsp\u{00A0}",
        max_ascii.as_str(),
        max_multibyte.as_str(),
    ];
    for text in texts {
        let id = alice.say_id("#public", text).await;
        let m = bob.expect_message("#public").await;
        assert_eq!(m["msg_id"], id);
        assert_eq!(m["text"], text, "delivered byte for byte");
        assert_eq!(alice.expect_message("#public").await["text"], text);
    }
    let h = bob
        .request(json!({"type": "history", "chat": "#public", "limit": texts.len()}))
        .await;
    let stored: Vec<&str> = h["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(stored, texts, "stored exactly");
}

#[tokio::test]
async fn invalid_text_is_rejected_and_not_delivered() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    alice.settle().await;
    let too_long = "x".repeat(MAX_TEXT_BYTES + 1);
    let too_long_multibyte = format!("ab{}", "€".repeat((MAX_TEXT_BYTES - 1) / 3));
    assert_eq!(too_long_multibyte.len(), MAX_TEXT_BYTES + 1);
    let bad = [
        "",
        " ",
        "   \n\t  ",
        too_long.as_str(),
        too_long_multibyte.as_str(),
        "nul \u{0} inside",
        "bell \u{7}",
        "carriage\rreturn",
        "escape \u{1b}[31mred",
        "delete \u{7f}",
        "c1 \u{85} next line",
        "c1 \u{9b} csi",
        "lre \u{202A}",
        "rle \u{202B}",
        "pdf \u{202C}",
        "lro \u{202D}",
        "rlo \u{202E} evil",
        "lri \u{2066}",
        "rli \u{2067}",
        "fsi \u{2068}",
        "pdi \u{2069}",
    ];
    for text in bad {
        alice
            .error(
                json!({"type": "send", "chat": "#public", "text": text}),
                "invalid_text",
            )
            .await;
    }
    alice.assert_open().await;
    alice.expect_silence().await;
    bob.expect_silence().await;
    let h = bob
        .request(json!({"type": "history", "chat": "#public"}))
        .await;
    assert_eq!(h["messages"], json!([]), "nothing stored");
}

#[tokio::test]
async fn presence_announces_first_login_and_last_logout_only() {
    let server = TestServer::start().await;
    let mut bob = server.user("bob").await;
    let mut a1 = server.user("alice").await;
    assert_eq!(
        bob.expect_event("presence").await,
        json!({"type": "presence", "user": "alice", "online": true, "status": "available"})
    );
    a1.expect_silence().await;

    let mut a2 = server.session("alice").await;
    bob.expect_silence().await;
    a1.expect_silence().await;
    a2.expect_silence().await;

    let id = bob.say_id("#public", "to both sessions").await;
    bob.expect_message("#public").await;
    assert_eq!(a1.expect_message("#public").await["msg_id"], id);
    assert_eq!(a2.expect_message("#public").await["msg_id"], id);

    a1.logout().await;
    bob.expect_silence().await;
    let who = bob.request(json!({"type": "who"})).await;
    assert_eq!(
        online_set(&who["online"]),
        pairs(&[("alice", "available"), ("bob", "available")]),
        "alice is online while one session is"
    );

    drop(a2);
    let p = bob.expect_event("presence").await;
    assert_eq!(p["user"], "alice");
    assert_eq!(p["online"], false);
    assert!(
        p.get("status").is_none_or(|s| s.is_string()),
        "status, if present, is a string: {p}"
    );
    let who = bob.request(json!({"type": "who"})).await;
    assert_eq!(online_set(&who["online"]), pairs(&[("bob", "available")]));
}

#[tokio::test]
async fn set_status_replies_ok_and_tells_every_session() {
    let server = TestServer::start().await;
    let mut a1 = server.user("alice").await;
    let mut a2 = server.session("alice").await;
    let mut bob = server.user("bob").await;
    a1.settle().await;
    a2.settle().await;

    let ok = a1
        .request(json!({"type": "set_status", "status": "busy"}))
        .await;
    assert_eq!(keys(&ok), key_list(&["type", "id"]), "{ok}");
    assert_eq!(ok["type"], "ok");
    let busy = json!({"type": "presence", "user": "alice", "online": true, "status": "busy"});
    assert_eq!(
        a1.recv().await,
        busy,
        "the changer's own session hears it after the ok"
    );
    assert_eq!(a2.expect_event("presence").await, busy);
    assert_eq!(bob.expect_event("presence").await, busy);

    for status in ["away", "available"] {
        bob.ok(json!({"type": "set_status", "status": status}))
            .await;
        let p = json!({"type": "presence", "user": "bob", "online": true, "status": status});
        assert_eq!(a1.expect_event("presence").await, p);
        assert_eq!(bob.expect_event("presence").await, p);
    }

    let who = bob.request(json!({"type": "who"})).await;
    assert_eq!(keys(&who), key_list(&["type", "id", "online"]), "{who}");
    assert_eq!(who["type"], "who");
    assert_eq!(
        online_set(&who["online"]),
        pairs(&[("alice", "busy"), ("bob", "available")])
    );
}

#[tokio::test]
async fn invalid_status_is_bad_request() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    for status in ["sleeping", "Busy", ""] {
        alice
            .error(
                json!({"type": "set_status", "status": status}),
                "bad_request",
            )
            .await;
    }
    alice.expect_silence().await;
    let who = alice.request(json!({"type": "who"})).await;
    assert_eq!(online_set(&who["online"]), pairs(&[("alice", "available")]));
}

#[tokio::test]
async fn status_is_kept_across_sessions() {
    let server = TestServer::start().await;
    let mut bob = server.user("bob").await;
    let mut alice = server.user("alice").await;
    alice
        .ok(json!({"type": "set_status", "status": "away"}))
        .await;
    alice.logout().await;
    bob.settle().await;
    let alice = server.session("alice").await;
    assert_eq!(
        online_set(&alice.welcome["online"]),
        pairs(&[("alice", "away"), ("bob", "available")])
    );
    assert_eq!(
        bob.expect_event("presence").await,
        json!({"type": "presence", "user": "alice", "online": true, "status": "away"})
    );
}

#[tokio::test]
async fn status_is_kept_across_a_server_restart() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    alice
        .ok(json!({"type": "set_status", "status": "busy"}))
        .await;
    alice.logout().await;
    let server = server.restart().await;
    let alice = server.session("alice").await;
    assert_eq!(
        online_set(&alice.welcome["online"]),
        pairs(&[("alice", "busy")])
    );
}

#[tokio::test]
async fn sending_to_chats_that_do_not_exist() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    server.account("bob").await;
    alice.settle().await;
    for chat in [
        "#general",
        "#group-x",
        "#",
        "public",
        "",
        "bob",
        "@",
        "@@bob",
        "@bob smith",
        "# public",
    ] {
        alice
            .error(
                json!({"type": "send", "chat": chat, "text": "x"}),
                "no_such_chat",
            )
            .await;
    }
    alice
        .error(
            json!({"type": "send", "chat": "@ghost", "text": "x"}),
            "no_such_user",
        )
        .await;
    alice
        .error(
            json!({"type": "send", "chat": "@ALICE", "text": "x"}),
            "self_target",
        )
        .await;
    alice.assert_open().await;
    alice.expect_silence().await;
}

/// `welcome` and `who` list who is online by name, letter case aside,
/// whatever order they came in, and forget who left.
#[tokio::test]
async fn online_users_are_listed_by_name_as_they_come_and_go() {
    let server = TestServer::start().await;
    let names = ["mallory", "Bob", "zoe", "alice", "Carol"];
    let mut sessions = Vec::new();
    for name in names {
        sessions.push(server.user(name).await);
    }
    let listed = |v: &serde_json::Value| -> Vec<String> {
        v["online"]
            .as_array()
            .expect("an online list")
            .iter()
            .map(|u| u["user"].as_str().unwrap().to_owned())
            .collect()
    };
    let mut dave = server.client().await;
    let w = dave.register("dave").await;
    assert_eq!(
        listed(&w),
        ["alice", "Bob", "Carol", "dave", "mallory", "zoe"],
        "{w}"
    );
    assert!(w.get("more_online").is_none(), "nobody left out: {w}");

    let mut carol = sessions.remove(4);
    carol.ok(json!({"type": "logout"})).await;
    let p = dave.expect_event("presence").await;
    assert_eq!(
        (p["user"].as_str(), p["online"].as_bool()),
        (Some("Carol"), Some(false))
    );
    let who = dave.request(json!({"type": "who"})).await;
    assert_eq!(
        listed(&who),
        ["alice", "Bob", "dave", "mallory", "zoe"],
        "{who}"
    );
}

/// The online list is kept between requests: every change to what it
/// shows (a status, a login, a logout) must still be in the next one.
#[tokio::test]
async fn who_and_welcome_show_each_status_change_and_arrival() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    alice.expect_event("presence").await;
    let status_of = |v: &serde_json::Value, user: &str| -> Option<String> {
        online_set(&v["online"])
            .into_iter()
            .find(|(u, _)| u == user)
            .map(|(_, status)| status)
    };
    let who = alice.request(json!({"type": "who"})).await;
    assert_eq!(
        status_of(&who, "bob").as_deref(),
        Some("available"),
        "{who}"
    );

    bob.ok(json!({"type": "set_status", "status": "busy"}))
        .await;
    alice.expect_event("presence").await;
    let who = alice.request(json!({"type": "who"})).await;
    assert_eq!(status_of(&who, "bob").as_deref(), Some("busy"), "{who}");
    let mut carol = server.client().await;
    let w = carol.register("carol").await;
    assert_eq!(alice.expect_event("presence").await["user"], "carol");
    assert_eq!(status_of(&w, "bob").as_deref(), Some("busy"), "{w}");
    assert_eq!(status_of(&w, "carol").as_deref(), Some("available"), "{w}");

    bob.ok(json!({"type": "set_status", "status": "away"}))
        .await;
    alice.expect_event("presence").await;
    let who = alice.request(json!({"type": "who"})).await;
    assert_eq!(status_of(&who, "bob").as_deref(), Some("away"), "{who}");
    assert_eq!(
        status_of(&who, "carol").as_deref(),
        Some("available"),
        "{who}"
    );

    carol.ok(json!({"type": "logout"})).await;
    let p = alice.expect_event("presence").await;
    assert_eq!(p["user"], "carol");
    let who = alice.request(json!({"type": "who"})).await;
    assert_eq!(status_of(&who, "carol"), None, "{who}");
}

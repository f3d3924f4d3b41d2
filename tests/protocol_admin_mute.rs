//! §13 administration: `mute` and `unmute`, the `muted` event, the `muted`
//! error on `send` and `set_topic` in `#public` and groups, what a muted
//! user may still do, `welcome.muted_until` (§15), and persistence.
//!
//! Written from the contract before the server implemented §13: where the
//! contract leaves a choice, the comment at the assertion says which
//! reading is tested.

mod admin_support;
mod common;
mod group_support;

use admin_support::*;
use common::*;
use group_support::*;
use serde_json::{json, Value};

/// The `muted` error a muted user's request gets, without its message.
fn muted_error(id: &Value, until: &Value) -> Value {
    json!({"type": "error", "id": id, "code": "muted", "until": until})
}

// ----- the muted event ------------------------------------------------------

#[tokio::test]
async fn mute_tells_every_session_of_the_target_with_until_by_and_reason() {
    let server = TestServer::start().await;
    let mut boss = admin(&server, "boss").await;
    let mut b1 = server.user("bob").await;
    let mut b2 = server.session("bob").await;
    let mut carol = server.user("carol").await;
    settle_all(&mut [&mut boss, &mut b1, &mut b2, &mut carol]).await;

    let ok = boss.request(mute_req("Bob", Some(10), "calm down")).await;
    assert_eq!(ok, json!({"type": "ok", "id": ok["id"]}));
    let ev = b1.expect_event("muted").await;
    assert_until_in_minutes(&ev["until"], 10);
    let expected =
        json!({"type": "muted", "until": ev["until"], "by": "boss", "reason": "calm down"});
    assert_eq!(ev, expected);
    assert_eq!(b2.expect_event("muted").await, expected);
    // The sessions stay open; nobody else hears of it.
    silence_all(&mut [&mut boss, &mut b1, &mut b2, &mut carol]).await;
    b1.assert_open().await;
}

#[tokio::test]
async fn a_mute_without_minutes_is_for_good_and_carries_until_null() {
    let server = TestServer::start().await;
    let mut boss = admin(&server, "boss").await;
    let mut bob = server.user("bob").await;
    boss.ok(mute_req("bob", None, "enough")).await;
    assert_eq!(
        bob.expect_event("muted").await,
        json!({"type": "muted", "until": null, "by": "boss", "reason": "enough"})
    );
    let r = bob.request(send_req("#public", "hello?")).await;
    assert_eq!(without_message(&r), muted_error(&r["id"], &Value::Null));
}

#[tokio::test]
async fn mute_without_a_reason_leaves_reason_out_of_the_event() {
    // Reading: `reason` is optional, as for kick_member (§12).
    let server = TestServer::start().await;
    let mut boss = admin(&server, "boss").await;
    let mut bob = server.user("bob").await;
    boss.ok(u("mute", "bob")).await;
    assert_eq!(
        bob.expect_event("muted").await,
        json!({"type": "muted", "until": null, "by": "boss"})
    );
}

#[tokio::test]
async fn the_mute_is_in_force_once_the_admin_has_its_ok() {
    // Reading: the admin's `ok` comes after the mute took effect, so the
    // target's next request is refused, and the target's `muted` event is
    // queued before the reply to that request.
    let server = TestServer::start().await;
    let mut boss = admin(&server, "boss").await;
    let mut bob = server.user("bob").await;
    boss.settle().await;
    boss.ok(mute_req("bob", Some(5), "now")).await;
    let id = bob.send_with_id(send_req("#public", "too late")).await;
    let first = bob.recv().await;
    assert_eq!(first["type"], "muted", "the event comes first: {first}");
    let reply = bob.recv().await;
    assert_eq!(reply["id"], id, "{reply}");
    assert_eq!(
        without_message(&reply),
        muted_error(&json!(id), &first["until"])
    );
}

// ----- what a muted user may not do -----------------------------------------

#[tokio::test]
async fn a_muted_user_cannot_send_in_public_or_a_group_nor_set_a_groups_topic() {
    let server = TestServer::start().await;
    let mut boss = admin(&server, "boss").await;
    let mut bob = server.user("bob").await;
    let mut carol = server.user("carol").await;
    group(
        &mut bob,
        "#rust",
        "open",
        &mut [(&mut carol, "carol")],
        &mut [&mut boss],
    )
    .await;
    boss.ok(mute_req("bob", Some(15), "cool it")).await;
    let until = bob.expect_event("muted").await["until"].clone();

    for frame in [
        send_req("#public", "public"),
        send_req("#rust", "group"),
        send_req("#RUST", "group, other casing"),
        topic_req("#rust", "a new topic"),
        topic_req("#rust", ""),
    ] {
        let r = bob.request(frame.clone()).await;
        assert_eq!(
            without_message(&r),
            muted_error(&r["id"], &until),
            "{frame}"
        );
        assert!(r["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    // Nothing reached anyone, nothing was stored, the topic is unchanged.
    silence_all(&mut [&mut boss, &mut carol]).await;
    let h = carol.request(g("history", "#rust")).await;
    assert_eq!(h["messages"], json!([]), "{h}");
    let h = carol.request(g("history", "#public")).await;
    assert_eq!(h["messages"], json!([]), "{h}");
    let list = carol.request(json!({"type": "groups"})).await;
    assert_eq!(list["groups"][0]["topic"], "", "{list}");
}

#[tokio::test]
async fn a_session_that_logs_in_while_muted_is_muted_too() {
    let server = TestServer::start().await;
    let mut boss = admin(&server, "boss").await;
    server.account("bob").await;
    boss.ok(mute_req("bob", None, "x")).await;
    let mut bob = server.session("bob").await;
    bob.error(send_req("#public", "hi"), "muted").await;
}

// ----- what a muted user may still do ---------------------------------------

#[tokio::test]
async fn a_muted_user_still_uses_private_chats_and_requests() {
    let server = TestServer::start().await;
    let mut boss = admin(&server, "boss").await;
    let mut bob = server.user("bob").await;
    let mut carol = server.user("carol").await;
    let mut dave = server.user("dave").await;
    // An open chat with carol, before the mute.
    bob.ok(json!({"type": "request_chat", "user": "carol"}))
        .await;
    carol.expect_event("chat_request").await;
    carol.ok(json!({"type": "accept", "user": "bob"})).await;
    settle_all(&mut [&mut boss, &mut bob, &mut carol, &mut dave]).await;

    boss.ok(mute_req("bob", None, "public only")).await;
    bob.expect_event("muted").await;

    let id = bob.say_id("@carol", "private is fine").await;
    assert_eq!(carol.expect_message("@bob").await["msg_id"], id);
    bob.expect_message("@carol").await;
    // Requests both ways, accepting, and a message in the new chat.
    bob.ok(json!({"type": "request_chat", "user": "dave"}))
        .await;
    dave.expect_event("chat_request").await;
    dave.ok(json!({"type": "accept", "user": "bob"})).await;
    bob.expect_event("chat_opened").await;
    bob.say("@dave", "hi dave").await;
    dave.expect_message("@bob").await;
    // Reading, marking read and the status are not speaking.
    let h = bob.request(g("history", "#public")).await;
    assert_eq!(h["type"], "history", "{h}");
    bob.ok(mark_req("@carol", id)).await;
    bob.ok(json!({"type": "set_status", "status": "away"}))
        .await;
    bob.ok(json!({"type": "end_chat", "user": "dave"})).await;
}

// ----- unmute ---------------------------------------------------------------

#[tokio::test]
async fn unmute_sends_muted_with_until_zero_and_the_user_may_speak_again() {
    let server = TestServer::start().await;
    let mut boss = admin(&server, "boss").await;
    let mut b1 = server.user("bob").await;
    let mut b2 = server.session("bob").await;
    boss.ok(mute_req("bob", None, "x")).await;
    b1.expect_event("muted").await;
    b2.expect_event("muted").await;
    settle_all(&mut [&mut boss, &mut b1, &mut b2]).await;

    let ok = boss.request(u("unmute", "BOB")).await;
    assert_eq!(ok, json!({"type": "ok", "id": ok["id"]}));
    let expected = json!({"type": "muted", "until": 0, "by": "boss"});
    assert_eq!(b1.expect_event("muted").await, expected);
    assert_eq!(b2.expect_event("muted").await, expected);
    boss.expect_silence().await;
    b2.say("#public", "free again").await;
}

#[tokio::test]
async fn unmute_of_a_user_who_is_not_muted_is_ok_and_still_sends_until_zero() {
    // "unmute always sends muted with until 0".
    let server = TestServer::start().await;
    let mut boss = admin(&server, "boss").await;
    let mut bob = server.user("bob").await;
    boss.settle().await;
    boss.ok(u("unmute", "bob")).await;
    assert_eq!(
        bob.expect_event("muted").await,
        json!({"type": "muted", "until": 0, "by": "boss"})
    );
    bob.say("#public", "never was muted").await;
}

#[tokio::test]
async fn a_second_mute_replaces_the_first() {
    // Reading: the latest mute is the one in force, and it is announced.
    let server = TestServer::start().await;
    let mut boss = admin(&server, "boss").await;
    let mut bob = server.user("bob").await;
    boss.ok(mute_req("bob", None, "first")).await;
    bob.expect_event("muted").await;
    boss.ok(mute_req("bob", Some(3), "second")).await;
    let ev = bob.expect_event("muted").await;
    assert_until_in_minutes(&ev["until"], 3);
    assert_eq!(ev["reason"], "second");
    let r = bob.request(send_req("#public", "x")).await;
    assert_eq!(without_message(&r), muted_error(&r["id"], &ev["until"]));
}

// ----- welcome.muted_until and persistence -----------------------------------

#[tokio::test]
async fn welcome_carries_muted_until_only_while_the_user_is_muted() {
    let server = TestServer::start().await;
    let mut boss = admin(&server, "boss").await;
    server.account("bob").await;
    let w = server.welcome_of("bob").await;
    assert!(w.get("muted_until").is_none(), "absent when not muted: {w}");

    boss.ok(mute_req("bob", Some(20), "x")).await;
    let w = server.welcome_of("bob").await;
    assert_until_in_minutes(&w["muted_until"], 20);

    boss.ok(mute_req("bob", None, "x")).await;
    let w = server.welcome_of("bob").await;
    assert!(
        w.get("muted_until").is_some_and(Value::is_null),
        "null for good: {w}"
    );

    boss.ok(u("unmute", "bob")).await;
    let w = server.welcome_of("bob").await;
    assert!(w.get("muted_until").is_none(), "absent after unmute: {w}");
}

#[tokio::test]
async fn muting_a_user_with_no_session_is_ok_and_holds_at_its_next_login() {
    let server = TestServer::start().await;
    let mut boss = admin(&server, "boss").await;
    server.account("bob").await;
    boss.settle().await;
    boss.ok(mute_req("bob", Some(30), "later")).await;
    boss.expect_silence().await;
    let mut bob = server.session("bob").await;
    let until = bob.welcome["muted_until"].clone();
    assert_until_in_minutes(&until, 30);
    let r = bob.request(send_req("#public", "x")).await;
    assert_eq!(without_message(&r), muted_error(&r["id"], &until));
}

#[tokio::test]
async fn mutes_survive_a_restart() {
    let server = TestServer::start().await;
    let mut boss = admin(&server, "boss").await;
    server.account("bob").await;
    server.account("carol").await;
    boss.ok(mute_req("bob", None, "for good")).await;
    boss.ok(mute_req("carol", Some(45), "a while")).await;
    let carol_until = server.welcome_of("carol").await["muted_until"].clone();
    assert_until_in_minutes(&carol_until, 45);
    drop(boss);

    let server = server.restart().await;
    let mut bob = server.session("bob").await;
    assert!(
        bob.welcome.get("muted_until").is_some_and(Value::is_null),
        "{}",
        bob.welcome
    );
    bob.error(send_req("#public", "x"), "muted").await;
    let mut carol = server.session("carol").await;
    assert_eq!(carol.welcome["muted_until"], carol_until);
    let r = carol.request(send_req("#public", "x")).await;
    assert_eq!(without_message(&r), muted_error(&r["id"], &carol_until));
}

#[tokio::test]
async fn an_unmute_survives_a_restart() {
    let server = TestServer::start().await;
    let mut boss = admin(&server, "boss").await;
    server.account("bob").await;
    boss.ok(mute_req("bob", None, "x")).await;
    boss.ok(u("unmute", "bob")).await;
    drop(boss);
    let server = server.restart().await;
    let mut bob = server.session("bob").await;
    assert!(bob.welcome.get("muted_until").is_none(), "{}", bob.welcome);
    bob.say("#public", "speaking").await;
}

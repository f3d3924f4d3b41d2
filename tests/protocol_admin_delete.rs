//! §13 "Deleting a message": `delete_message`, who may delete what, the
//! `message_deleted` event to every session that can read the chat,
//! deleted messages in `history` (§15 `deleted:true`), `no_such_message`,
//! and persistence.
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

fn deleted_event(chat: &str, msg_id: u64, by: &str) -> Value {
    json!({"type": "message_deleted", "chat": chat, "msg_id": msg_id, "by": by})
}

/// The history entry of `msg_id` in `chat` as `c` reads it.
async fn history_entry(c: &mut TestClient, chat: &str, msg_id: u64) -> Value {
    let h = c.request(g("history", chat)).await;
    assert_eq!(h["type"], "history", "{h}");
    h["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["msg_id"] == msg_id)
        .unwrap_or_else(|| panic!("{msg_id} is still in the history of {chat}: {h}"))
        .clone()
}

/// What `history` must show for a deleted message.
fn deleted_entry(chat: &str, msg_id: u64, ts: &Value, from: &str) -> Value {
    json!({"type": "message", "chat": chat, "msg_id": msg_id, "ts": ts, "from": from,
           "text": "", "deleted": true})
}

/// `alice` opens a private chat with `bob`.
async fn open_chat(alice: &mut TestClient, bob: &mut TestClient, bob_name: &str, alice_name: &str) {
    alice
        .ok(json!({"type": "request_chat", "user": bob_name}))
        .await;
    bob.expect_event("chat_request").await;
    bob.ok(json!({"type": "accept", "user": alice_name})).await;
    alice.expect_event("chat_opened").await;
    bob.expect_event("chat_opened").await;
}

// ----- #public --------------------------------------------------------------

#[tokio::test]
async fn the_author_deletes_its_own_public_message_and_every_session_hears_of_it() {
    let server = TestServer::start().await;
    let mut a1 = server.user("Alice").await;
    let mut a2 = server.session("alice").await;
    let mut bob = server.user("bob").await;
    let ok = a1.say("#public", "oops, wrong room").await;
    let id = ok["msg_id"].as_u64().unwrap();
    settle_all(&mut [&mut a1, &mut a2, &mut bob]).await;

    let reply = a1.request(delete_req("#public", id)).await;
    assert_eq!(reply, json!({"type": "ok", "id": reply["id"]}));
    let ev = deleted_event("#public", id, "Alice");
    for c in [&mut a1, &mut a2, &mut bob] {
        assert_eq!(c.expect_event("message_deleted").await, ev);
    }
    silence_all(&mut [&mut a1, &mut a2, &mut bob]).await;
    assert_eq!(
        history_entry(&mut bob, "#public", id).await,
        deleted_entry("#public", id, &ok["ts"], "Alice")
    );
}

#[tokio::test]
async fn a_deleted_message_keeps_its_place_and_its_neighbours_are_untouched() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let before = alice.say_id("#public", "one").await;
    let gone = alice.say_id("#public", "two").await;
    let after = alice.say_id("#public", "three").await;
    alice.ok(delete_req("#public", gone)).await;
    let h = alice.request(g("history", "#public")).await;
    assert_eq!(ids_of(&h), [before, gone, after]);
    let texts: Vec<&Value> = h["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| &m["text"])
        .collect();
    assert_eq!(texts, [&json!("one"), &json!(""), &json!("three")]);
    for m in [&h["messages"][0], &h["messages"][2]] {
        assert!(m.get("deleted").is_none(), "{m}");
    }
}

#[tokio::test]
async fn an_admin_may_delete_any_message_in_public() {
    let server = TestServer::start().await;
    let mut boss = admin(&server, "boss").await;
    let mut alice = server.user("alice").await;
    let id = alice.say_id("#public", "spam spam spam").await;
    settle_all(&mut [&mut boss, &mut alice]).await;
    boss.ok(delete_req("#public", id)).await;
    let ev = deleted_event("#public", id, "boss");
    assert_eq!(alice.expect_event("message_deleted").await, ev);
    assert_eq!(boss.expect_event("message_deleted").await, ev);
    assert_eq!(
        history_entry(&mut alice, "#public", id).await["deleted"],
        true
    );
}

#[tokio::test]
async fn a_user_may_not_delete_someone_elses_public_message() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    let id = alice.say_id("#public", "mine").await;
    settle_all(&mut [&mut alice, &mut bob]).await;
    bob.error(delete_req("#public", id), "forbidden").await;
    silence_all(&mut [&mut alice, &mut bob]).await;
    let m = history_entry(&mut bob, "#public", id).await;
    assert_eq!(m["text"], "mine");
    assert!(m.get("deleted").is_none(), "{m}");
}

// ----- private chats --------------------------------------------------------

#[tokio::test]
async fn in_a_private_chat_the_author_deletes_and_both_sides_hear_it_with_their_own_chat_key() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("Bob").await;
    open_chat(&mut alice, &mut bob, "bob", "alice").await;
    let ok = alice.say("@bob", "for your eyes only").await;
    let id = ok["msg_id"].as_u64().unwrap();
    settle_all(&mut [&mut alice, &mut bob]).await;

    alice.ok(delete_req("@BOB", id)).await;
    assert_eq!(
        alice.expect_event("message_deleted").await,
        deleted_event("@Bob", id, "alice")
    );
    assert_eq!(
        bob.expect_event("message_deleted").await,
        deleted_event("@alice", id, "alice")
    );
    assert_eq!(
        history_entry(&mut bob, "@alice", id).await,
        deleted_entry("@alice", id, &ok["ts"], "alice")
    );
    assert_eq!(
        history_entry(&mut alice, "@bob", id).await,
        deleted_entry("@Bob", id, &ok["ts"], "alice")
    );
}

#[tokio::test]
async fn in_a_private_chat_the_partner_may_not_delete_the_authors_message() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    open_chat(&mut alice, &mut bob, "bob", "alice").await;
    let id = alice.say_id("@bob", "mine").await;
    settle_all(&mut [&mut alice, &mut bob]).await;
    bob.error(delete_req("@alice", id), "forbidden").await;
    silence_all(&mut [&mut alice, &mut bob]).await;
    assert_eq!(history_entry(&mut bob, "@alice", id).await["text"], "mine");
}

#[tokio::test]
async fn nobody_may_delete_in_a_private_chat_they_are_not_part_of_whatever_chat_says() {
    let server = TestServer::start().await;
    let mut boss = admin(&server, "boss").await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    let mut carol = server.user("carol").await;
    open_chat(&mut alice, &mut bob, "bob", "alice").await;
    let id = alice.say_id("@bob", "between us").await;
    settle_all(&mut [&mut boss, &mut alice, &mut bob, &mut carol]).await;
    // An admin is no exception: private chats are not its to moderate.
    for c in [&mut carol, &mut boss] {
        for chat in ["@alice", "@bob", "#public"] {
            c.error(delete_req(chat, id), "forbidden").await;
        }
    }
    silence_all(&mut [&mut boss, &mut alice, &mut bob, &mut carol]).await;
    assert_eq!(
        history_entry(&mut bob, "@alice", id).await["text"],
        "between us"
    );
}

// ----- groups ---------------------------------------------------------------

#[tokio::test]
async fn in_a_group_the_author_the_mods_the_owner_and_admins_may_delete_and_every_member_hears_it()
{
    let server = TestServer::start().await;
    let mut boss = admin(&server, "boss").await;
    let mut alice = server.user("alice").await;
    let mut mo = server.user("mo").await;
    let mut bob = server.user("bob").await;
    let mut carol = server.user("carol").await;
    group(
        &mut alice,
        "#Rust",
        "open",
        &mut [(&mut mo, "mo"), (&mut bob, "bob")],
        &mut [&mut boss, &mut carol],
    )
    .await;
    alice.ok(role_req("#rust", "mo", "mod")).await;
    let mut ids = Vec::new();
    for text in ["one", "two", "three", "four", "five"] {
        ids.push(bob.say_id("#rust", text).await);
    }
    let owners = alice.say_id("#rust", "the owner's").await;
    settle_all(&mut [&mut boss, &mut alice, &mut mo, &mut bob, &mut carol]).await;

    bob.ok(delete_req("#rust", ids[0])).await;
    mo.ok(delete_req("#rust", ids[1])).await;
    alice.ok(delete_req("#RUST", ids[2])).await;
    boss.ok(delete_req("#rust", ids[3])).await;
    mo.ok(delete_req("#rust", owners)).await;
    let deleted = [
        (ids[0], "bob"),
        (ids[1], "mo"),
        (ids[2], "alice"),
        (ids[3], "boss"),
        (owners, "mo"),
    ];
    for c in [&mut alice, &mut mo, &mut bob] {
        for (id, name) in &deleted {
            assert_eq!(
                c.expect_event("message_deleted").await,
                deleted_event("#Rust", *id, name)
            );
        }
    }
    // Reading: an admin that is not a member cannot read the group, so it
    // is not told; nor is anyone outside.
    silence_all(&mut [&mut boss, &mut carol, &mut alice, &mut mo, &mut bob]).await;
    let h = bob.request(g("history", "#rust")).await;
    let flags: Vec<bool> = h["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["deleted"] == true)
        .collect();
    assert_eq!(flags, [true, true, true, true, false, true], "{h}");
}

#[tokio::test]
async fn a_plain_group_member_may_not_delete_another_members_message() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    let mut carol = server.user("carol").await;
    group(
        &mut alice,
        "#rust",
        "open",
        &mut [(&mut bob, "bob"), (&mut carol, "carol")],
        &mut [],
    )
    .await;
    let from_carol = carol.say_id("#rust", "carol's").await;
    let from_owner = alice.say_id("#rust", "owner's").await;
    settle_all(&mut [&mut alice, &mut bob, &mut carol]).await;
    bob.error(delete_req("#rust", from_carol), "forbidden")
        .await;
    bob.error(delete_req("#rust", from_owner), "forbidden")
        .await;
    silence_all(&mut [&mut alice, &mut bob, &mut carol]).await;
}

#[tokio::test]
async fn deleting_in_a_group_one_cannot_use_is_answered_like_any_request_on_it() {
    // Readings: a group that does not exist, or an invite group one cannot
    // see, is no_such_chat (§12 hidden groups); in an open group one is not
    // a member of, "nobody else may": forbidden.
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    create(&mut alice, "#open", "open").await;
    create(&mut alice, "#hidden", "invite").await;
    let in_open = alice.say_id("#open", "hello").await;
    let in_hidden = alice.say_id("#hidden", "secret").await;
    settle_all(&mut [&mut alice, &mut bob]).await;
    bob.error(delete_req("#nowhere", in_open), "no_such_chat")
        .await;
    let hidden = bob
        .error(delete_req("#hidden", in_hidden), "no_such_chat")
        .await;
    let missing = bob
        .error(delete_req("#hiddem", in_hidden), "no_such_chat")
        .await;
    assert_eq!(
        anonymized(&hidden, "#hidden"),
        anonymized(&missing, "#hiddem"),
        "a hidden group answers exactly like a missing one"
    );
    bob.error(delete_req("#open", in_open), "forbidden").await;
    silence_all(&mut [&mut alice, &mut bob]).await;
}

// ----- no_such_message and bad requests -------------------------------------

#[tokio::test]
async fn an_unknown_already_deleted_or_misplaced_message_is_no_such_message() {
    let server = TestServer::start().await;
    let mut boss = admin(&server, "boss").await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    open_chat(&mut alice, &mut bob, "bob", "alice").await;
    create(&mut alice, "#rust", "open").await;
    let public = alice.say_id("#public", "public").await;
    let private = alice.say_id("@bob", "private").await;
    let grouped = alice.say_id("#rust", "grouped").await;
    let gone = alice.say_id("#public", "gone").await;
    alice.ok(delete_req("#public", gone)).await;
    settle_all(&mut [&mut boss, &mut alice, &mut bob]).await;

    for (chat, id) in [
        // Unknown.
        ("#public", 999_999_999),
        ("#rust", 999_999_999),
        ("@bob", 999_999_999),
        // Already deleted (reading: deleting twice is not ok twice).
        ("#public", gone),
        // Not in the chat named, although the author may delete it.
        ("#rust", public),
        ("@bob", public),
        ("#public", private),
        ("#rust", private),
        ("#public", grouped),
        ("@bob", grouped),
    ] {
        alice.error(delete_req(chat, id), "no_such_message").await;
    }
    boss.error(delete_req("#public", gone), "no_such_message")
        .await;
    boss.error(delete_req("#public", 999_999_999), "no_such_message")
        .await;
    silence_all(&mut [&mut boss, &mut alice, &mut bob]).await;
    // The misplaced ones are untouched.
    assert_eq!(
        history_entry(&mut bob, "@alice", private).await["text"],
        "private"
    );
    assert_eq!(
        history_entry(&mut bob, "#public", public).await["text"],
        "public"
    );
}

#[tokio::test]
async fn delete_message_with_a_missing_or_mistyped_field_is_bad_request() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let id = alice.say_id("#public", "x").await;
    alice.expect_message("#public").await;
    for frame in [
        json!({"type": "delete_message", "chat": "#public"}),
        json!({"type": "delete_message", "msg_id": id}),
        json!({"type": "delete_message", "chat": "#public", "msg_id": id.to_string()}),
        json!({"type": "delete_message", "chat": "#public", "msg_id": -1}),
        json!({"type": "delete_message", "chat": "#public", "msg_id": 1.5}),
        json!({"type": "delete_message", "chat": 7, "msg_id": id}),
    ] {
        alice.error(frame, "bad_request").await;
    }
    alice.expect_silence().await;
    assert_eq!(history_entry(&mut alice, "#public", id).await["text"], "x");
}

// ----- persistence ----------------------------------------------------------

#[tokio::test]
async fn a_deletion_survives_a_restart() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    open_chat(&mut alice, &mut bob, "bob", "alice").await;
    let public = alice.say("#public", "public").await;
    let private = alice.say("@bob", "private").await;
    let pid = public["msg_id"].as_u64().unwrap();
    let qid = private["msg_id"].as_u64().unwrap();
    alice.ok(delete_req("#public", pid)).await;
    alice.ok(delete_req("@bob", qid)).await;
    drop((alice, bob));

    let server = server.restart().await;
    let mut bob = server.session("bob").await;
    assert_eq!(
        history_entry(&mut bob, "#public", pid).await,
        deleted_entry("#public", pid, &public["ts"], "alice")
    );
    assert_eq!(
        history_entry(&mut bob, "@alice", qid).await,
        deleted_entry("@alice", qid, &private["ts"], "alice")
    );
}

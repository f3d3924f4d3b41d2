//! §12 group chats: messages in groups (send, history, read markers),
//! presence of members, events staying within their group; and the §15
//! additions to hello and welcome.
//!
//! Written from the contract before the server implemented groups: where
//! the contract leaves a choice, the comment at the assertion says which
//! reading is tested.

mod common;
mod group_support;

use common::*;
use group_support::*;
use serde_json::{json, Value};

// ----- messages -------------------------------------------------------------

#[tokio::test]
async fn group_messages_reach_every_session_of_every_member_and_nobody_else() {
    let server = TestServer::start().await;
    let mut a1 = server.user("Alice").await;
    let mut bob = server.user("Bob").await;
    let mut carol = server.user("Carol").await;
    group(
        &mut a1,
        "#rust",
        "open",
        &mut [(&mut bob, "Bob")],
        &mut [&mut carol],
    )
    .await;
    let mut a2 = server.session("alice").await;
    settle_all(&mut [&mut a1, &mut bob, &mut carol]).await;

    let ok = bob.say("#RUST", "hi group").await;
    assert_eq!(keys(&ok), key_list(&["type", "id", "msg_id", "ts"]), "{ok}");
    assert_recent_ts(&ok["ts"]);
    let expected = json!({
        "type": "message",
        "chat": "#rust",
        "msg_id": ok["msg_id"],
        "ts": ok["ts"],
        "from": "Bob",
        "text": "hi group",
    });
    assert_eq!(a1.expect_event("message").await, expected);
    assert_eq!(a2.expect_event("message").await, expected);
    assert_eq!(bob.expect_event("message").await, expected);
    silence_all(&mut [&mut a1, &mut a2, &mut bob, &mut carol]).await;

    // Group messages take the same text rules as any other.
    bob.error(send_req("#rust", "\u{202E}x"), "invalid_text")
        .await;
    bob.error(send_req("#rust", " "), "invalid_text").await;
    silence_all(&mut [&mut a1, &mut a2, &mut carol]).await;
}

#[tokio::test]
async fn non_members_get_not_member_for_messages_of_an_open_group() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let mut carol = server.user("carol").await;
    create(&mut alice, "#rust", "open").await;
    let id = alice.say_id("#rust", "members only").await;
    settle_all(&mut [&mut alice, &mut carol]).await;

    carol
        .error(send_req("#rust", "let me in"), "not_member")
        .await;
    carol.error(g("history", "#rust"), "not_member").await;
    carol.error(mark_req("#rust", id), "not_member").await;
    carol.error(g("leave", "#rust"), "not_member").await;
    silence_all(&mut [&mut alice, &mut carol]).await;
    // Unknown groups stay unknown.
    carol.error(send_req("#nowhere", "x"), "no_such_chat").await;
    carol.error(g("history", "#nowhere"), "no_such_chat").await;
    carol.error(mark_req("#nowhere", id), "no_such_chat").await;
    carol.error(g("leave", "#nowhere"), "no_such_chat").await;
}

#[tokio::test]
async fn a_member_joining_later_reads_the_whole_history_and_starts_with_nothing_unread() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let mut b1 = server.user("bob").await;
    create(&mut alice, "#rust", "open").await;
    let m1 = alice.say_id("#rust", "one").await;
    let m2 = alice.say_id("#rust", "two").await;
    let m3 = alice.say_id("#rust", "three").await;
    settle_all(&mut [&mut alice, &mut b1]).await;

    join(&mut b1, "#rust").await;
    let h = b1.request(g("history", "#rust")).await;
    assert_eq!(
        keys(&h),
        key_list(&["type", "id", "chat", "messages", "more"])
    );
    assert_eq!(h["chat"], "#rust");
    assert_eq!(ids_of(&h), [m1, m2, m3], "oldest first: {h}");
    assert_eq!(h["more"], false);
    assert_eq!(
        h["messages"][0],
        json!({"type": "message", "chat": "#rust", "msg_id": m1, "ts": h["messages"][0]["ts"], "from": "alice", "text": "one"})
    );
    // Paging works as for #public.
    let h = b1
        .request(json!({"type": "history", "chat": "#rust", "before": m3, "limit": 1}))
        .await;
    assert_eq!(ids_of(&h), [m2]);
    assert_eq!(h["more"], true);
    let h = b1
        .request(json!({"type": "history", "chat": "#rust", "after": m1, "limit": 5}))
        .await;
    assert_eq!(ids_of(&h), [m2, m3]);
    assert_eq!(h["more"], false);

    // The read marker starts at the newest msg_id when bob joined (here
    // the group's newest message is also the server's newest).
    let w = server.welcome_of("bob").await;
    let entry = entry(&w["groups"], "#rust").expect("bob's groups list #rust");
    assert_eq!(
        *entry,
        json!({"chat": "#rust", "kind": "open", "topic": "", "role": "member", "unread": 0, "last_read": m3})
    );
}

#[tokio::test]
async fn group_read_markers_count_unread_and_tell_other_sessions() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let mut b1 = server.user("bob").await;
    group(
        &mut alice,
        "#rust",
        "open",
        &mut [(&mut b1, "bob")],
        &mut [],
    )
    .await;
    let mut b2 = server.session("bob").await;
    let base = entry(&b2.welcome["groups"], "#rust").unwrap()["last_read"]
        .as_u64()
        .expect("last_read");
    let m1 = alice.say_id("#rust", "one").await;
    let m2 = alice.say_id("#rust", "two").await;
    // Own messages are not unread.
    b1.say_id("#rust", "mine").await;
    settle_all(&mut [&mut alice, &mut b1, &mut b2]).await;
    assert!(base < m1, "{base} < {m1}");

    let w = server.welcome_of("bob").await;
    let e = entry(&w["groups"], "#rust").unwrap().clone();
    assert_eq!(
        (e["unread"].clone(), e["last_read"].clone()),
        (json!(2), json!(base))
    );

    let ok = b1.request(mark_req("#RUST", m1)).await;
    assert_eq!(ok, json!({"type": "ok", "id": ok["id"]}));
    assert_eq!(
        b2.expect_event("read").await,
        json!({"type": "read", "chat": "#rust", "msg_id": m1})
    );
    alice.expect_silence().await;
    let w = server.welcome_of("bob").await;
    let e = entry(&w["groups"], "#rust").unwrap().clone();
    assert_eq!(
        (e["unread"].clone(), e["last_read"].clone()),
        (json!(1), json!(m1))
    );

    // Never backwards.
    b1.ok(mark_req("#rust", m2)).await;
    b1.ok(mark_req("#rust", m1)).await;
    let w = server.welcome_of("bob").await;
    let e = entry(&w["groups"], "#rust").unwrap().clone();
    assert_eq!(
        (e["unread"].clone(), e["last_read"].clone()),
        (json!(0), json!(m2))
    );
}

#[tokio::test]
async fn a_user_who_left_reads_none_of_the_history() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    group(
        &mut alice,
        "#rust",
        "open",
        &mut [(&mut bob, "bob")],
        &mut [],
    )
    .await;
    let m1 = alice.say_id("#rust", "while bob was here").await;
    bob.ok(g("leave", "#rust")).await;
    alice.say_id("#rust", "after bob left").await;
    bob.settle().await;

    bob.error(g("history", "#rust"), "not_member").await;
    bob.error(
        json!({"type": "history", "chat": "#rust", "after": 0}),
        "not_member",
    )
    .await;
    bob.error(mark_req("#rust", m1), "not_member").await;
    let w = server.welcome_of("bob").await;
    assert_eq!(w["groups"], json!([]));
}

// ----- presence and isolation ------------------------------------------------

#[tokio::test]
async fn presence_of_group_members_arrives_as_ordinary_presence_events() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    group(
        &mut alice,
        "#rust",
        "open",
        &mut [(&mut bob, "bob")],
        &mut [],
    )
    .await;

    bob.ok(json!({"type": "set_status", "status": "busy"}))
        .await;
    assert_eq!(
        alice.expect_event("presence").await,
        json!({"type": "presence", "user": "bob", "online": true, "status": "busy"})
    );
    let list = alice.request(g("members", "#rust")).await;
    assert_eq!(
        by_user(&list["members"])[1],
        member("bob", "member", true, "busy")
    );

    bob.logout().await;
    let p = alice.expect_event("presence").await;
    assert_eq!(p["user"], "bob");
    assert_eq!(p["online"], false);
    // Going offline is not leaving.
    alice.expect_silence().await;
    let list = alice.request(g("members", "#rust")).await;
    let bob_entry = &by_user(&list["members"])[1];
    assert_eq!(bob_entry["role"], "member");
    assert_eq!(bob_entry["online"], false);

    let _bob = server.session("bob").await;
    let p = alice.expect_event("presence").await;
    assert_eq!(p["online"], true);
    alice.expect_silence().await;
}

#[tokio::test]
async fn events_of_one_group_stay_in_that_group() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    let mut carol = server.user("carol").await;
    let mut erin = server.user("erin").await;
    group(
        &mut alice,
        "#one",
        "open",
        &mut [(&mut bob, "bob"), (&mut carol, "carol")],
        &mut [&mut erin],
    )
    .await;
    // bob is in #one only, carol in both, erin in #two only.
    create(&mut alice, "#two", "open").await;
    join(&mut carol, "#two").await;
    join(&mut erin, "#two").await;
    settle_all(&mut [&mut alice, &mut bob, &mut carol, &mut erin]).await;

    // Messages.
    alice.say("#one", "for one").await;
    assert_eq!(bob.expect_message("#one").await["text"], "for one");
    assert_eq!(carol.expect_message("#one").await["text"], "for one");
    erin.expect_silence().await;
    erin.say("#two", "for two").await;
    assert_eq!(carol.expect_message("#two").await["text"], "for two");
    bob.expect_silence().await;
    settle_all(&mut [&mut alice, &mut carol, &mut erin]).await;

    // Topic, role and membership changes.
    alice.ok(topic_req("#one", "one's topic")).await;
    alice.ok(role_req("#one", "carol", "mod")).await;
    alice.ok(gu("kick_member", "#one", "bob")).await;
    erin.expect_silence().await;
    settle_all(&mut [&mut alice, &mut bob, &mut carol]).await;

    // carol's role in #one is not her role in #two.
    carol
        .error(topic_req("#two", "not mine to set"), "forbidden")
        .await;
    carol.ok(topic_req("#one", "mine to set")).await;
    // Being kicked from #one is not leaving #two... and leaving #two is not
    // leaving #one.
    carol.ok(g("leave", "#two")).await;
    assert_eq!(erin.expect_event("member_left").await["user"], "carol");
    carol.say("#one", "still in one").await;
    erin.expect_silence().await;
    let w = server.welcome_of("carol").await;
    let chats: Vec<Value> = by_chat(&w["groups"])
        .iter()
        .map(|e| e["chat"].clone())
        .collect();
    assert_eq!(chats, [json!("#one")]);
    let w = server.welcome_of("bob").await;
    assert_eq!(w["groups"], json!([]));
}

// ----- §15: hello and welcome -----------------------------------------------

#[tokio::test]
async fn hello_offers_groups_and_states_the_frame_and_text_limits() {
    let server = TestServer::start().await;
    let c = server.client().await;
    let hello = &c.hello;
    assert_eq!(hello["protocol"], 1);
    let features: Vec<&str> = hello["features"]
        .as_array()
        .unwrap_or_else(|| panic!("hello has a features array: {hello}"))
        .iter()
        .map(|f| f.as_str().expect("features are strings"))
        .collect();
    assert!(features.contains(&"groups"), "{hello}");
    assert_eq!(hello["limits"]["max_frame_bytes"], 65_536, "{hello}");
    assert_eq!(hello["limits"]["max_text_bytes"], 4_096, "{hello}");
}

#[tokio::test]
async fn welcome_lists_the_callers_groups_with_kind_topic_role_unread_and_last_read() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    let p = alice.say_id("#public", "before the groups").await;
    alice
        .ok(json!({"type": "create_group", "chat": "#Rust", "topic": "crabs"}))
        .await;
    alice
        .ok(json!({"type": "create_group", "chat": "#ops", "kind": "invite"}))
        .await;
    create(&mut bob, "#bobs", "open").await;
    join(&mut bob, "#rust").await;
    alice.ok(role_req("#rust", "bob", "mod")).await;
    alice.say_id("#rust", "own message").await;
    let b1 = bob.say_id("#rust", "from bob").await;
    bob.settle().await;

    let w = server.welcome_of("alice").await;
    // Reading: creating a group is joining it, so the creator's marker
    // starts at the newest msg_id at creation (here p, the only message).
    assert_eq!(
        by_chat(&w["groups"]),
        [
            json!({"chat": "#ops", "kind": "invite", "topic": "", "role": "owner", "unread": 0, "last_read": p}),
            json!({"chat": "#Rust", "kind": "open", "topic": "crabs", "role": "owner", "unread": 1, "last_read": p}),
        ]
    );
    let w = server.welcome_of("bob").await;
    let e = entry(&w["groups"], "#rust").unwrap();
    assert_eq!(e["role"], "mod");
    assert_eq!(e["unread"], 1, "alice's message after bob joined: {w}");
    assert!(e["last_read"].as_u64().unwrap() < b1);
    assert_eq!(w["groups"].as_array().unwrap().len(), 2, "{w}");
}

#[tokio::test]
async fn welcome_public_last_read_is_the_callers_read_marker_in_public() {
    // This part of §15 exists already: it checks the harness as much as the
    // server, and passes before groups do.
    let server = TestServer::start().await;
    let mut bob = server.user("bob").await;
    bob.say_id("#public", "one").await;
    let p2 = bob.say_id("#public", "two").await;
    let mut alice = server.user("alice").await;
    assert_eq!(
        alice.welcome["public_last_read"], p2,
        "a new account's marker is the last_msg_id at registration"
    );
    assert_eq!(alice.welcome["last_msg_id"], p2);
    assert!(
        alice.welcome.get("muted_until").is_none(),
        "no muted_until for a user who is not muted: {}",
        alice.welcome
    );
    let p3 = bob.say_id("#public", "three").await;
    alice.settle().await;
    let w = server.welcome_of("alice").await;
    assert_eq!(w["public_last_read"], p2);
    assert_eq!(w["public_unread"], 1);
    alice.ok(mark_req("#public", p3)).await;
    let w = server.welcome_of("alice").await;
    assert_eq!(w["public_last_read"], p3);
    assert_eq!(w["public_unread"], 0);
    assert!(w.get("muted_until").is_none(), "{w}");
}

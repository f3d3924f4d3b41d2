//! §12 group chats, the rules across frames: who may do what (members by
//! role, non-members, invitees), hidden `invite` groups, owner succession
//! and the last member leaving, server admins, the ownership and
//! membership limits, and persistence across a restart.
//!
//! Not tested: the 10 000-members-per-group limit (10 000 accounts are too
//! heavy for a test run).

mod common;
mod group_support;

use common::*;
use group_support::*;
use serde_json::{json, Value};

// ----- who may do what ------------------------------------------------------

#[tokio::test]
async fn non_members_get_forbidden_for_management_and_not_member_for_messages_and_leave() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    let mut dave = server.user("dave").await;
    server.account("erin").await;
    group(
        &mut alice,
        "#rust",
        "open",
        &mut [(&mut bob, "bob")],
        &mut [&mut dave],
    )
    .await;
    let m = alice.say_id("#rust", "members only").await;
    settle_all(&mut [&mut alice, &mut bob]).await;

    let forbidden = [
        gu("invite", "#rust", "erin"),
        gu("kick_member", "#rust", "bob"),
        topic_req("#rust", "outsider's topic"),
        role_req("#rust", "bob", "mod"),
        g("delete_group", "#rust"),
    ];
    for req in forbidden {
        dave.error(req, "forbidden").await;
    }
    let not_member = [
        g("leave", "#rust"),
        send_req("#rust", "hello?"),
        g("history", "#rust"),
        mark_req("#rust", m),
    ];
    for req in not_member {
        dave.error(req, "not_member").await;
    }
    silence_all(&mut [&mut alice, &mut bob, &mut dave]).await;
    // Nothing changed.
    let list = dave.request(g("members", "#rust")).await;
    assert_eq!(
        by_user(&list["members"]),
        [
            member("alice", "owner", true, "available"),
            member("bob", "member", true, "available"),
        ]
    );
    let list = dave.request(json!({"type": "groups"})).await;
    assert_eq!(
        list["groups"],
        json!([{"chat": "#rust", "kind": "open", "topic": "", "members": 2}])
    );
}

#[tokio::test]
async fn members_may_do_only_what_their_role_allows() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    let mut carol = server.user("carol").await;
    let mut erin = server.user("erin").await;
    group(
        &mut alice,
        "#rust",
        "open",
        &mut [
            (&mut bob, "bob"),
            (&mut carol, "carol"),
            (&mut erin, "erin"),
        ],
        &mut [],
    )
    .await;
    alice.ok(role_req("#rust", "carol", "mod")).await;
    settle_all(&mut [&mut alice, &mut bob, &mut carol, &mut erin]).await;

    // A member: messages, invitations (open group), leaving; nothing else.
    for req in [
        topic_req("#rust", "member's topic"),
        gu("kick_member", "#rust", "erin"),
        role_req("#rust", "erin", "mod"),
        g("delete_group", "#rust"),
    ] {
        bob.error(req, "forbidden").await;
    }
    // A mod: topic and kicking members, but no roles and no deleting.
    for req in [
        role_req("#rust", "erin", "mod"),
        role_req("#rust", "bob", "owner"),
        g("delete_group", "#rust"),
    ] {
        carol.error(req, "forbidden").await;
    }
    silence_all(&mut [&mut alice, &mut bob, &mut carol, &mut erin]).await;
    carol.ok(topic_req("#rust", "mod's topic")).await;
    carol.ok(gu("kick_member", "#rust", "erin")).await;
    bob.say("#rust", "members may talk").await;
    settle_all(&mut [&mut alice, &mut bob, &mut carol, &mut erin]).await;
    let list = alice.request(g("members", "#rust")).await;
    assert_eq!(list["members"].as_array().unwrap().len(), 3, "{list}");
}

#[tokio::test]
async fn an_invitee_sees_the_group_but_is_not_a_member() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    let mut carol = server.user("carol").await;
    server.account("erin").await;
    group(
        &mut alice,
        "#ops",
        "invite",
        &mut [(&mut bob, "bob")],
        &mut [&mut carol],
    )
    .await;
    let m = alice.say_id("#ops", "not for invitees").await;
    invite(&mut alice, &mut carol, "#ops", "carol").await;
    settle_all(&mut [&mut alice, &mut bob, &mut carol]).await;

    // Whoever can see the group may ask for its members.
    let list = carol.request(g("members", "#ops")).await;
    assert_eq!(list["type"], "members", "{list}");
    assert_eq!(list["members"].as_array().unwrap().len(), 2, "{list}");
    for req in [
        g("leave", "#ops"),
        send_req("#ops", "hi"),
        g("history", "#ops"),
        mark_req("#ops", m),
    ] {
        carol.error(req, "not_member").await;
    }
    for req in [
        gu("invite", "#ops", "erin"),
        gu("kick_member", "#ops", "bob"),
        topic_req("#ops", "t"),
        role_req("#ops", "bob", "mod"),
        g("delete_group", "#ops"),
    ] {
        carol.error(req, "forbidden").await;
    }
    carol.error(create_req("#OPS", "open"), "name_taken").await;
    silence_all(&mut [&mut alice, &mut bob, &mut carol]).await;

    // Declined, the group is hidden from her again.
    carol.ok(g("decline_invite", "#ops")).await;
    carol.error(g("members", "#ops"), "no_such_chat").await;
    carol.error(send_req("#ops", "hi"), "no_such_chat").await;
    carol.error(g("join", "#ops"), "forbidden").await;
}

// ----- hidden groups --------------------------------------------------------

#[tokio::test]
async fn every_request_naming_a_hidden_group_is_answered_as_for_a_missing_one() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    let mut dave = server.user("dave").await;
    group(
        &mut alice,
        "#Secret",
        "invite",
        &mut [(&mut bob, "bob")],
        &mut [&mut dave],
    )
    .await;
    let m = alice.say_id("#secret", "classified").await;
    settle_all(&mut [&mut alice, &mut bob]).await;

    // Dave asks in a casing of his own: the answer must not even reveal the
    // group's spelling.
    let hidden = "#sEcReT";
    let missing = "#nOsUcH";
    let requests: [fn(&str, u64) -> Value; 10] = [
        |c, _| g("leave", c),
        |c, _| gu("invite", c, "bob"),
        |c, _| gu("kick_member", c, "bob"),
        |c, _| topic_req(c, "mine"),
        |c, _| role_req(c, "bob", "mod"),
        |c, _| g("delete_group", c),
        |c, _| g("members", c),
        |c, _| send_req(c, "hello?"),
        |c, _| g("history", c),
        |c, m| mark_req(c, m),
    ];
    for make in requests {
        let about_hidden = dave.error(make(hidden, m), "no_such_chat").await;
        let about_missing = dave.error(make(missing, m), "no_such_chat").await;
        assert_eq!(
            anonymized(&about_hidden, hidden),
            anonymized(&about_missing, missing),
            "the same answer for {}",
            make(hidden, m)
        );
        assert!(
            !about_hidden.to_string().contains("Secret"),
            "the stored spelling does not leak: {about_hidden}"
        );
    }
    // decline_invite is no_request for both (§12: "whether or not the
    // group exists").
    let about_hidden = dave.error(g("decline_invite", hidden), "no_request").await;
    let about_missing = dave.error(g("decline_invite", missing), "no_request").await;
    assert_eq!(
        anonymized(&about_hidden, hidden),
        anonymized(&about_missing, missing)
    );
    // The two exceptions.
    dave.error(g("join", hidden), "forbidden").await;
    dave.error(g("join", missing), "no_such_chat").await;
    dave.error(create_req(hidden, "open"), "name_taken").await;
    dave.error(create_req(hidden, "invite"), "name_taken").await;
    silence_all(&mut [&mut alice, &mut bob, &mut dave]).await;
}

#[tokio::test]
async fn a_hidden_groups_name_never_reaches_outsiders() {
    let server = TestServer::start().await;
    let mut dave = server.user("dave").await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    let mut erin = server.user("erin").await;
    let mut seen: Vec<Value> = dave.settle().await;

    alice
        .ok(json!({"type": "create_group", "chat": "#Classified", "kind": "invite", "topic": "eyes only"}))
        .await;
    invite(&mut alice, &mut bob, "#classified", "bob").await;
    join(&mut bob, "#classified").await;
    alice.say("#classified", "the plan").await;
    bob.say("#classified", "agreed").await;
    alice.ok(topic_req("#classified", "new plan")).await;
    alice.ok(role_req("#classified", "bob", "mod")).await;
    alice.ok(gu("invite", "#classified", "erin")).await;
    erin.ok(g("decline_invite", "#classified")).await;
    alice.ok(gu("invite", "#classified", "erin")).await;
    alice.ok(gu("kick_member", "#classified", "bob")).await;
    seen.extend(dave.settle().await);
    let list = dave.request(json!({"type": "groups"})).await;
    seen.push(list.clone());
    assert_eq!(list["groups"], json!([]), "{list}");
    let w = server.welcome_of("dave").await;
    seen.push(w);
    alice.ok(g("delete_group", "#classified")).await;
    seen.extend(dave.settle().await);

    for frame in &seen {
        assert!(
            !frame.to_string().to_lowercase().contains("classified"),
            "an outsider saw the hidden group: {frame}"
        );
    }
}

// ----- owner succession -----------------------------------------------------

#[tokio::test]
async fn when_the_owner_leaves_the_mod_who_joined_first_becomes_owner() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    let mut carol = server.user("carol").await;
    let mut dave = server.user("dave").await;
    group(
        &mut alice,
        "#rust",
        "open",
        &mut [
            (&mut bob, "bob"),
            (&mut carol, "carol"),
            (&mut dave, "dave"),
        ],
        &mut [],
    )
    .await;
    // dave is made mod before carol, but carol joined before dave; bob
    // joined first of all but is no mod.
    alice.ok(role_req("#rust", "dave", "mod")).await;
    alice.ok(role_req("#rust", "carol", "mod")).await;
    settle_all(&mut [&mut alice, &mut bob, &mut carol, &mut dave]).await;

    alice.ok(g("leave", "#rust")).await;
    assert_eq!(
        alice.expect_event("group_left").await,
        json!({"type": "group_left", "chat": "#rust", "by": null})
    );
    let left = json!({"type": "member_left", "chat": "#rust", "user": "alice", "by": null});
    let role = json!({"type": "member_role", "chat": "#rust", "user": "carol", "role": "owner", "by": null});
    for c in [&mut bob, &mut carol, &mut dave] {
        assert_eq!(c.expect_event("member_left").await, left);
        assert_eq!(c.expect_event("member_role").await, role);
        c.expect_silence().await;
    }
    alice.expect_silence().await;
    let list = bob.request(g("members", "#rust")).await;
    assert_eq!(
        by_user(&list["members"]),
        [
            member("bob", "member", true, "available"),
            member("carol", "owner", true, "available"),
            member("dave", "mod", true, "available"),
        ]
    );
    carol.ok(g("delete_group", "#rust")).await;
}

#[tokio::test]
async fn without_mods_the_member_who_joined_first_becomes_owner() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    let mut carol = server.user("carol").await;
    let mut dave = server.user("dave").await;
    group(
        &mut alice,
        "#rust",
        "open",
        &mut [
            (&mut bob, "bob"),
            (&mut carol, "carol"),
            (&mut dave, "dave"),
        ],
        &mut [],
    )
    .await;
    // Reading: "joined first" is the current membership. bob joined first
    // but left and came back, so carol has been a member longest.
    bob.ok(g("leave", "#rust")).await;
    join(&mut bob, "#rust").await;
    settle_all(&mut [&mut alice, &mut bob, &mut carol, &mut dave]).await;

    alice.ok(g("leave", "#rust")).await;
    let role = json!({"type": "member_role", "chat": "#rust", "user": "carol", "role": "owner", "by": null});
    for c in [&mut bob, &mut carol, &mut dave] {
        c.expect_event("member_left").await;
        assert_eq!(c.expect_event("member_role").await, role);
        c.expect_silence().await;
    }
    let w = server.welcome_of("carol").await;
    assert_eq!(w["groups"][0]["role"], "owner", "{w}");
}

#[tokio::test]
async fn when_the_last_member_leaves_the_group_is_deleted_and_its_name_is_free() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    let mut carol = server.user("carol").await;
    create(&mut alice, "#Solo", "invite").await;
    alice.say("#solo", "soon gone").await;
    invite(&mut alice, &mut carol, "#solo", "carol").await;
    settle_all(&mut [&mut alice, &mut bob, &mut carol]).await;

    alice.ok(g("leave", "#solo")).await;
    assert_eq!(
        alice.expect_event("group_left").await,
        json!({"type": "group_left", "chat": "#Solo", "by": null})
    );
    // Reading: the group is deleted, so its pending invitations are dropped
    // as for delete_group.
    assert_eq!(
        carol.expect_event("group_invite_removed").await,
        json!({"type": "group_invite_removed", "chat": "#Solo"})
    );
    silence_all(&mut [&mut alice, &mut bob, &mut carol]).await;
    carol.error(g("join", "#solo"), "no_such_chat").await;
    alice.error(g("history", "#solo"), "no_such_chat").await;
    let w = server.welcome_of("carol").await;
    assert_eq!(w["invites"], json!([]));

    let ok = bob.ok(create_req("#SOLO", "open")).await;
    assert_eq!(ok["chat"], "#SOLO");
    bob.expect_event("group_joined").await;
    let h = bob.request(g("history", "#solo")).await;
    assert_eq!(h["messages"], json!([]), "the old messages are gone: {h}");
}

// ----- server admins --------------------------------------------------------

#[tokio::test]
async fn an_admin_manages_any_group_without_being_a_member() {
    let server = TestServer::start().await;
    let mut boss = admin(&server, "boss").await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    let mut carol = server.user("carol").await;
    let mut erin = server.user("erin").await;
    group(
        &mut alice,
        "#ops",
        "invite",
        &mut [(&mut bob, "bob"), (&mut carol, "carol")],
        &mut [&mut boss, &mut erin],
    )
    .await;

    // It sees the invite group.
    let list = boss.request(json!({"type": "groups"})).await;
    assert_eq!(
        list["groups"],
        json!([{"chat": "#ops", "kind": "invite", "topic": "", "members": 3}])
    );
    let list = boss.request(g("members", "#OPS")).await;
    assert_eq!(list["members"].as_array().unwrap().len(), 3, "{list}");

    boss.ok(topic_req("#ops", "set by an admin")).await;
    let ev =
        json!({"type": "group_topic", "chat": "#ops", "topic": "set by an admin", "by": "boss"});
    for c in [&mut alice, &mut bob, &mut carol] {
        assert_eq!(c.expect_event("group_topic").await, ev);
    }
    boss.ok(role_req("#ops", "bob", "mod")).await;
    let ev =
        json!({"type": "member_role", "chat": "#ops", "user": "bob", "role": "mod", "by": "boss"});
    for c in [&mut alice, &mut bob, &mut carol] {
        assert_eq!(c.expect_event("member_role").await, ev);
    }
    boss.ok(gu("invite", "#ops", "erin")).await;
    assert_eq!(
        erin.expect_event("group_invite").await["from"],
        "boss",
        "an admin may invite"
    );
    boss.ok(kick_req("#ops", "bob", "admin's call")).await;
    assert_eq!(
        bob.expect_event("group_left").await,
        json!({"type": "group_left", "chat": "#ops", "by": "boss", "reason": "admin's call"})
    );
    let ml = json!({"type": "member_left", "chat": "#ops", "user": "bob", "by": "boss", "reason": "admin's call"});
    assert_eq!(alice.expect_event("member_left").await, ml);
    assert_eq!(carol.expect_event("member_left").await, ml);
    // Not a member, it hears none of the group's events.
    boss.expect_silence().await;

    boss.error(role_req("#ops", "dave", "mod"), "no_such_user")
        .await;
    boss.error(role_req("#ops", "erin", "mod"), "not_member")
        .await;
    boss.error(gu("kick_member", "#ops", "erin"), "not_member")
        .await;
}

#[tokio::test]
async fn an_admin_may_kick_the_owner_and_the_next_in_line_becomes_owner() {
    let server = TestServer::start().await;
    let mut boss = admin(&server, "boss").await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    let mut carol = server.user("carol").await;
    group(
        &mut alice,
        "#rust",
        "open",
        &mut [(&mut bob, "bob"), (&mut carol, "carol")],
        &mut [&mut boss],
    )
    .await;
    alice.ok(role_req("#rust", "carol", "mod")).await;
    settle_all(&mut [&mut alice, &mut bob, &mut carol]).await;

    boss.ok(gu("kick_member", "#rust", "alice")).await;
    assert_eq!(
        alice.expect_event("group_left").await,
        json!({"type": "group_left", "chat": "#rust", "by": "boss"})
    );
    let left = json!({"type": "member_left", "chat": "#rust", "user": "alice", "by": "boss"});
    let role = json!({"type": "member_role", "chat": "#rust", "user": "carol", "role": "owner", "by": null});
    for c in [&mut bob, &mut carol] {
        assert_eq!(c.expect_event("member_left").await, left);
        assert_eq!(c.expect_event("member_role").await, role);
        c.expect_silence().await;
    }
    boss.expect_silence().await;
}

#[tokio::test]
async fn an_admin_may_hand_ownership_over_and_delete_any_group() {
    let server = TestServer::start().await;
    let mut boss = admin(&server, "boss").await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    group(
        &mut alice,
        "#ops",
        "invite",
        &mut [(&mut bob, "bob")],
        &mut [&mut boss],
    )
    .await;

    boss.ok(role_req("#ops", "bob", "owner")).await;
    let first = json!({"type": "member_role", "chat": "#ops", "user": "bob", "role": "owner", "by": "boss"});
    let second = json!({"type": "member_role", "chat": "#ops", "user": "alice", "role": "mod", "by": "boss"});
    for c in [&mut alice, &mut bob] {
        assert_eq!(c.expect_event("member_role").await, first);
        assert_eq!(c.expect_event("member_role").await, second);
    }

    boss.ok(g("delete_group", "#ops")).await;
    let left = json!({"type": "group_left", "chat": "#ops", "by": "boss", "reason": "deleted"});
    assert_eq!(alice.expect_event("group_left").await, left);
    assert_eq!(bob.expect_event("group_left").await, left);
    silence_all(&mut [&mut alice, &mut bob, &mut boss]).await;
    let list = boss.request(json!({"type": "groups"})).await;
    assert_eq!(list["groups"], json!([]));
}

#[tokio::test]
async fn an_admin_may_not_read_or_send_in_a_group_nor_join_an_invite_group_uninvited() {
    let server = TestServer::start().await;
    let mut boss = admin(&server, "boss").await;
    let mut alice = server.user("alice").await;
    create(&mut alice, "#ops", "invite").await;
    create(&mut alice, "#rust", "open").await;
    let m = alice.say_id("#ops", "not for admins").await;
    settle_all(&mut [&mut alice, &mut boss]).await;

    // It can see the group, so these are not_member, not no_such_chat.
    for req in [
        send_req("#ops", "hi"),
        g("history", "#ops"),
        mark_req("#ops", m),
        g("leave", "#ops"),
    ] {
        boss.error(req, "not_member").await;
    }
    boss.error(g("join", "#ops"), "forbidden").await;
    boss.error(create_req("#ops", "open"), "name_taken").await;
    alice.expect_silence().await;

    // An open group it may join like anyone, and an invitation works for it.
    join(&mut boss, "#rust").await;
    invite(&mut alice, &mut boss, "#ops", "boss").await;
    let ev = join(&mut boss, "#ops").await;
    assert_eq!(ev["role"], "member");
    let h = boss.request(g("history", "#ops")).await;
    assert_eq!(ids_of(&h), [m]);
}

// ----- limits ---------------------------------------------------------------

/// Sends every frame at once, then asserts each reply is `ok`.
async fn pipelined_ok(c: &mut TestClient, frames: Vec<Value>) {
    let mut ids = Vec::new();
    for f in frames {
        ids.push((c.send_with_id(f.clone()).await, f));
    }
    for (id, f) in ids {
        let reply = c.reply_to(id).await;
        assert_eq!(reply["type"], "ok", "reply to {f}: {reply}");
    }
    c.settle().await;
}

#[tokio::test]
async fn a_user_may_own_at_most_50_groups() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    let frames = (0..50)
        .map(|i| create_req(&format!("#g{i}"), "open"))
        .collect();
    pipelined_ok(&mut alice, frames).await;

    let reply = alice
        .error(create_req("#g50", "open"), "rate_limited")
        .await;
    assert!(reply.get("retry_after_ms").is_none(), "{reply}");
    assert!(
        reply["message"].as_str().unwrap().contains("50"),
        "the message names the limit: {reply}"
    );
    alice
        .error(create_req("#g51", "invite"), "rate_limited")
        .await;
    alice.expect_silence().await;
    let list = bob.request(json!({"type": "groups"})).await;
    assert_eq!(list["groups"].as_array().unwrap().len(), 50);

    // Owning is what counts: handing one over or deleting one makes room.
    join(&mut bob, "#g0").await;
    alice.ok(role_req("#g0", "bob", "owner")).await;
    create(&mut alice, "#g50", "open").await;
    alice
        .error(create_req("#g51", "open"), "rate_limited")
        .await;
    alice.ok(g("delete_group", "#g1")).await;
    create(&mut alice, "#g51", "open").await;
}

#[tokio::test]
async fn a_user_may_be_a_member_of_at_most_500_groups() {
    let server = TestServer::start().await;
    let mut joiner = server.user("joiner").await;
    // 50 of its own (the most it may own), 450 of nine others.
    let own = (0..50)
        .map(|i| create_req(&format!("#j{i}"), "open"))
        .collect();
    pipelined_ok(&mut joiner, own).await;
    for o in 0..10 {
        let mut owner = server.user(&format!("owner{o}")).await;
        let count = if o < 9 { 50 } else { 1 };
        let frames = (0..count)
            .map(|i| create_req(&format!("#o{o}g{i}"), "open"))
            .collect();
        pipelined_ok(&mut owner, frames).await;
        owner.logout().await;
    }
    joiner.settle().await;
    let joins = (0..9)
        .flat_map(|o| (0..50).map(move |i| g("join", &format!("#o{o}g{i}"))))
        .collect();
    pipelined_ok(&mut joiner, joins).await;
    let w = server.welcome_of("joiner").await;
    assert_eq!(w["groups"].as_array().unwrap().len(), 500);

    let reply = joiner.error(g("join", "#o9g0"), "rate_limited").await;
    assert!(reply.get("retry_after_ms").is_none(), "{reply}");
    assert!(
        reply["message"].as_str().unwrap().contains("500"),
        "the message names the limit: {reply}"
    );
    joiner.expect_silence().await;
    joiner.ok(g("leave", "#o0g0")).await;
    joiner.settle().await;
    join(&mut joiner, "#o9g0").await;
}

// ----- persistence ----------------------------------------------------------

#[tokio::test]
async fn groups_members_roles_invitations_messages_and_markers_survive_a_restart() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    let mut carol = server.user("carol").await;
    let mut dave = server.user("dave").await;
    server.account("erin").await;
    alice
        .ok(json!({"type": "create_group", "chat": "#Rust", "topic": "crabs"}))
        .await;
    alice
        .ok(json!({"type": "create_group", "chat": "#ops", "kind": "invite", "topic": "pager"}))
        .await;
    join(&mut bob, "#rust").await;
    join(&mut carol, "#rust").await;
    alice.ok(role_req("#rust", "bob", "mod")).await;
    alice.ok(gu("invite", "#ops", "dave")).await;
    let invite_ts = dave.expect_event("group_invite").await["ts"].clone();
    let m1 = alice.say_id("#rust", "kept").await;
    let m2 = bob.say_id("#rust", "kept too").await;
    carol.ok(mark_req("#rust", m1)).await;
    drop((alice, bob, carol, dave));

    let server = server.restart().await;
    let mut alice = server.session("alice").await;
    let groups = by_chat(&alice.welcome["groups"]);
    assert_eq!(groups.len(), 2, "{}", alice.welcome);
    assert_eq!(
        (
            &groups[0]["chat"],
            &groups[0]["kind"],
            &groups[0]["topic"],
            &groups[0]["role"]
        ),
        (
            &json!("#ops"),
            &json!("invite"),
            &json!("pager"),
            &json!("owner")
        )
    );
    assert_eq!(
        (
            &groups[1]["chat"],
            &groups[1]["kind"],
            &groups[1]["topic"],
            &groups[1]["role"]
        ),
        (
            &json!("#Rust"),
            &json!("open"),
            &json!("crabs"),
            &json!("owner")
        )
    );

    let w = server.welcome_of("carol").await;
    let e = entry(&w["groups"], "#rust").expect("carol is still a member");
    assert_eq!(e["role"], "member");
    assert_eq!(e["last_read"], m1, "the read marker survived: {w}");
    assert_eq!(e["unread"], 1, "{w}");
    let w = server.welcome_of("bob").await;
    assert_eq!(entry(&w["groups"], "#rust").unwrap()["role"], "mod");
    let w = server.welcome_of("dave").await;
    assert_eq!(
        w["invites"],
        json!([{"chat": "#ops", "from": "alice", "ts": invite_ts}])
    );

    let list = alice.request(g("members", "#rust")).await;
    let roles: Vec<(Value, Value)> = by_user(&list["members"])
        .iter()
        .map(|m| (m["user"].clone(), m["role"].clone()))
        .collect();
    assert_eq!(
        roles,
        [
            (json!("alice"), json!("owner")),
            (json!("bob"), json!("mod")),
            (json!("carol"), json!("member")),
        ]
    );
    let h = alice.request(g("history", "#rust")).await;
    assert_eq!(ids_of(&h), [m1, m2]);
    assert_eq!(h["messages"][1]["text"], "kept too");
    let list = alice.request(json!({"type": "groups"})).await;
    assert_eq!(
        by_chat(&list["groups"]),
        [
            json!({"chat": "#ops", "kind": "invite", "topic": "pager", "members": 1}),
            json!({"chat": "#Rust", "kind": "open", "topic": "crabs", "members": 3}),
        ]
    );

    let mut erin = server.session("erin").await;
    erin.error(create_req("#RUST", "open"), "name_taken").await;
    erin.error(create_req("#OPS", "open"), "name_taken").await;
    erin.error(g("join", "#ops"), "forbidden").await;
    let mut dave = server.session("dave").await;
    join(&mut dave, "#ops").await;
    alice.settle().await;
    let mut bob = server.session("bob").await;
    bob.settle().await;
    let m3 = alice.say_id("#rust", "after the restart").await;
    assert!(m3 > m2);
    assert_eq!(bob.expect_message("#Rust").await["msg_id"], m3);
}

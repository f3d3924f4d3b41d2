//! §12 group chats, the frames one by one: create_group, join, leave,
//! invite, decline_invite, kick_member, set_topic, set_member_role,
//! delete_group, groups, members. Messages, presence and the §15
//! additions to hello and welcome are in protocol_groups_messages.rs; who
//! may do what, hidden groups, owner succession, admins, limits and
//! persistence in protocol_groups_rules.rs.
//!
//! Written from the contract before the server implemented groups: where
//! the contract leaves a choice, the comment at the assertion says which
//! reading is tested.

mod common;
mod group_support;

use common::*;
use group_support::*;
use serde_json::{json, Value};

// ----- create_group ---------------------------------------------------------

#[tokio::test]
async fn create_group_replies_ok_with_the_groups_spelling_and_joins_every_creator_session() {
    let server = TestServer::start().await;
    let mut a1 = server.user("Alice").await;
    let mut a2 = server.session("alice").await;
    let mut bob = server.user("bob").await;
    a1.ok(json!({"type": "set_status", "status": "busy"})).await;
    settle_all(&mut [&mut a1, &mut a2, &mut bob]).await;

    let ok = a1
        .request(json!({"type": "create_group", "chat": "#Rust-Dev", "kind": "open", "topic": "All things Rust"}))
        .await;
    assert_eq!(
        ok,
        json!({"type": "ok", "id": ok["id"], "chat": "#Rust-Dev"}),
        "ok carries the group's spelling (§15)"
    );
    let expected = joined(
        "#Rust-Dev",
        "open",
        "All things Rust",
        "owner",
        &[member("Alice", "owner", true, "busy")],
    );
    assert_eq!(a1.expect_event("group_joined").await, expected);
    assert_eq!(a2.expect_event("group_joined").await, expected);
    silence_all(&mut [&mut a1, &mut a2, &mut bob]).await;
}

#[tokio::test]
async fn create_group_spells_the_group_as_the_request_did() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    for chat in ["#rust", "#MixedCase", "#a", "#Z9_-x"] {
        let ok = alice.request(create_req(chat, "open")).await;
        assert_eq!(ok["type"], "ok", "{ok}");
        assert_eq!(ok["chat"], chat, "{ok}");
        assert_eq!(alice.expect_event("group_joined").await["chat"], chat);
    }
    // 32 characters is the longest name.
    let longest = format!("#a{}", "b".repeat(31));
    let ok = alice.request(create_req(&longest, "invite")).await;
    assert_eq!(ok["chat"], longest.as_str(), "{ok}");
    alice.expect_event("group_joined").await;
}

#[tokio::test]
async fn create_group_kind_defaults_to_open_and_topic_to_empty() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    alice
        .ok(json!({"type": "create_group", "chat": "#plain"}))
        .await;
    assert_eq!(
        alice.expect_event("group_joined").await,
        joined(
            "#plain",
            "open",
            "",
            "owner",
            &[member("alice", "owner", true, "available")]
        )
    );
    alice
        .ok(json!({"type": "create_group", "chat": "#quiet", "kind": "invite"}))
        .await;
    let ev = alice.expect_event("group_joined").await;
    assert_eq!(ev["kind"], "invite", "{ev}");
    assert_eq!(ev["topic"], "", "topic is always present: {ev}");
    // An empty topic is no topic.
    alice
        .ok(json!({"type": "create_group", "chat": "#empty", "topic": ""}))
        .await;
    assert_eq!(alice.expect_event("group_joined").await["topic"], "");

    let list = alice.request(json!({"type": "groups"})).await;
    assert_eq!(
        by_chat(&list["groups"]),
        [
            json!({"chat": "#empty", "kind": "open", "topic": "", "members": 1}),
            json!({"chat": "#plain", "kind": "open", "topic": "", "members": 1}),
            json!({"chat": "#quiet", "kind": "invite", "topic": "", "members": 1}),
        ]
    );
}

#[tokio::test]
async fn create_group_with_an_unknown_kind_is_bad_request() {
    // Reading: `kind` has two values; any other is a mistyped field (§1).
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    for kind in [json!("secret"), json!("Open"), json!(""), json!(1)] {
        alice
            .error(
                json!({"type": "create_group", "chat": "#rust", "kind": kind}),
                "bad_request",
            )
            .await;
    }
    alice.expect_silence().await;
    create(&mut alice, "#rust", "open").await;
}

#[tokio::test]
async fn create_group_refuses_public_in_any_casing_and_names_that_break_the_rules() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let too_long = format!("#a{}", "b".repeat(32));
    let bad = [
        "#public",
        "#PUBLIC",
        "#Public",
        "#pUbLiC",
        "#",
        "#1abc",
        "#-abc",
        "#_abc",
        "#a b",
        "#a.b",
        "#a#b",
        "#ab!",
        "#ünïcode",
        "##rust",
        "# rust",
        "#rust ",
        too_long.as_str(),
        // Not a `#` key at all (reading: the name is what is invalid).
        "rust",
        "@rust",
        "",
    ];
    for chat in bad {
        alice.error(create_req(chat, "open"), "invalid_name").await;
    }
    alice.expect_silence().await;
    let list = alice.request(json!({"type": "groups"})).await;
    assert_eq!(list["groups"], json!([]), "nothing was created: {list}");
}

#[tokio::test]
async fn names_reserved_for_users_are_valid_group_names() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    for chat in ["#admin", "#Root", "#server", "#SYSTEM", "#tchat"] {
        let ok = alice.ok(create_req(chat, "open")).await;
        assert_eq!(ok["chat"], chat, "{ok}");
        alice.expect_event("group_joined").await;
    }
}

#[tokio::test]
async fn create_group_name_taken_is_case_insensitive() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    create(&mut alice, "#Rust", "open").await;
    settle_all(&mut [&mut alice, &mut bob]).await;
    for chat in ["#Rust", "#rust", "#RUST", "#rUsT"] {
        bob.error(create_req(chat, "open"), "name_taken").await;
        bob.error(create_req(chat, "invite"), "name_taken").await;
        alice.error(create_req(chat, "open"), "name_taken").await;
    }
    silence_all(&mut [&mut alice, &mut bob]).await;
    let list = bob.request(json!({"type": "groups"})).await;
    assert_eq!(
        list["groups"],
        json!([{"chat": "#Rust", "kind": "open", "topic": "", "members": 1}])
    );
}

#[tokio::test]
async fn a_group_may_share_its_name_with_a_user() {
    // Reading: `#bob` and `@bob` are different chats; nothing forbids it.
    let server = TestServer::start().await;
    server.account("Bob").await;
    let mut alice = server.user("alice").await;
    let ok = alice.ok(create_req("#bob", "open")).await;
    assert_eq!(ok["chat"], "#bob");
    alice.expect_event("group_joined").await;
}

#[tokio::test]
async fn create_group_topic_follows_the_text_rules_and_512_bytes() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let max_ascii = "t".repeat(512);
    // 2 + 510 bytes of three-byte characters: exactly 512 bytes.
    let max_multibyte = format!("ab{}", "€".repeat(170));
    assert_eq!(max_multibyte.len(), 512);
    let over_ascii = "t".repeat(513);
    let over_multibyte = format!("abc{}", "€".repeat(170));
    assert_eq!(over_multibyte.len(), 513);
    let good = [
        "a topic",
        "two\nlines\tand a tab",
        "héllo 👋🏽",
        max_ascii.as_str(),
        max_multibyte.as_str(),
    ];
    for (i, topic) in good.iter().enumerate() {
        let chat = format!("#good{i}");
        alice
            .ok(json!({"type": "create_group", "chat": chat, "topic": topic}))
            .await;
        assert_eq!(
            alice.expect_event("group_joined").await["topic"],
            *topic,
            "stored and delivered exactly"
        );
    }
    // The contract: "a non-empty topic follows the text rules (§3) and is at
    // most 512 bytes"; the text rules' code is invalid_text, so that is the
    // code for a topic over 512 bytes too.
    let bad = [
        " ",
        "  \n\t ",
        "\u{200B}",
        "\u{FEFF}\u{2060}",
        "\u{3164}",
        "bell \u{7}",
        "esc \u{1b}[31m",
        "del \u{7f}",
        "c1 \u{85}",
        "rlo \u{202E} evil",
        "lri \u{2066}",
        over_ascii.as_str(),
        over_multibyte.as_str(),
    ];
    for topic in bad {
        alice
            .error(
                json!({"type": "create_group", "chat": "#bad", "topic": topic}),
                "invalid_text",
            )
            .await;
    }
    alice.expect_silence().await;
    // None of the refused requests created the group.
    create(&mut alice, "#bad", "open").await;
}

// ----- join -----------------------------------------------------------------

#[tokio::test]
async fn join_an_open_group_tells_the_joiners_sessions_and_the_other_members() {
    let server = TestServer::start().await;
    let mut alice = server.user("Alice").await;
    let mut b1 = server.user("Bob").await;
    let mut b2 = server.session("bob").await;
    let mut carol = server.user("Carol").await;
    let mut dave = server.user("Dave").await;
    b1.ok(json!({"type": "set_status", "status": "away"})).await;
    alice
        .ok(json!({"type": "create_group", "chat": "#rust", "topic": "crabs"}))
        .await;
    settle_all(&mut [&mut alice, &mut b1, &mut b2, &mut carol, &mut dave]).await;

    // Any casing names the group; frames spell it as created.
    let ok = b1.request(g("join", "#RUST")).await;
    assert_eq!(ok, json!({"type": "ok", "id": ok["id"]}));
    let expected = joined(
        "#rust",
        "open",
        "crabs",
        "member",
        &by_user(&json!([
            member("Alice", "owner", true, "available"),
            member("Bob", "member", true, "away"),
        ])),
    );
    assert_eq!(
        with_sorted_members(&b1.expect_event("group_joined").await),
        expected
    );
    assert_eq!(
        with_sorted_members(&b2.expect_event("group_joined").await),
        expected
    );
    assert_eq!(
        alice.expect_event("member_joined").await,
        json!({"type": "member_joined", "chat": "#rust", "user": "Bob", "role": "member"})
    );
    silence_all(&mut [&mut alice, &mut b1, &mut b2, &mut carol, &mut dave]).await;

    carol.ok(g("join", "#rust")).await;
    let ev = carol.expect_event("group_joined").await;
    assert_eq!(
        by_user(&ev["members"]),
        [
            member("Alice", "owner", true, "available"),
            member("Bob", "member", true, "away"),
            member("Carol", "member", true, "available"),
        ]
    );
    let mj = json!({"type": "member_joined", "chat": "#rust", "user": "Carol", "role": "member"});
    assert_eq!(alice.expect_event("member_joined").await, mj);
    assert_eq!(b1.expect_event("member_joined").await, mj);
    assert_eq!(b2.expect_event("member_joined").await, mj);
    silence_all(&mut [&mut alice, &mut b1, &mut b2, &mut carol, &mut dave]).await;
}

#[tokio::test]
async fn group_joined_lists_offline_members_as_offline() {
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
    bob.logout().await;
    alice.settle().await;

    let mut carol = server.user("carol").await;
    let ev = join(&mut carol, "#rust").await;
    let members = by_user(&ev["members"]);
    assert_eq!(members.len(), 3, "{ev}");
    assert_eq!(members[1]["user"], "bob");
    assert_eq!(members[1]["role"], "member");
    assert_eq!(members[1]["online"], false, "{ev}");
    // Reading: an offline member still has a status field, one of the three.
    assert!(
        ["available", "away", "busy"].contains(&members[1]["status"].as_str().unwrap_or("")),
        "{ev}"
    );
    assert_eq!(
        keys(&members[1]),
        key_list(&["user", "role", "online", "status"])
    );
}

#[tokio::test]
async fn join_by_a_member_is_already_member_and_a_missing_group_is_no_such_chat() {
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
    alice.error(g("join", "#rust"), "already_member").await;
    alice.error(g("join", "#Rust"), "already_member").await;
    bob.error(g("join", "#RUST"), "already_member").await;
    bob.error(g("join", "#nowhere"), "no_such_chat").await;
    silence_all(&mut [&mut alice, &mut bob]).await;
}

#[tokio::test]
async fn joining_an_invite_group_needs_an_invitation_and_consumes_it() {
    let server = TestServer::start().await;
    let mut alice = server.user("Alice").await;
    let mut bob = server.user("Bob").await;
    alice
        .ok(json!({"type": "create_group", "chat": "#Ops", "kind": "invite", "topic": "pager"}))
        .await;
    settle_all(&mut [&mut alice, &mut bob]).await;

    bob.error(g("join", "#ops"), "forbidden").await;
    alice.expect_silence().await;

    invite(&mut alice, &mut bob, "#ops", "bob").await;
    let ok = bob.request(g("join", "#ops")).await;
    assert_eq!(ok, json!({"type": "ok", "id": ok["id"]}));
    assert_eq!(
        with_sorted_members(&bob.expect_event("group_joined").await),
        joined(
            "#Ops",
            "invite",
            "pager",
            "member",
            &[
                member("Alice", "owner", true, "available"),
                member("Bob", "member", true, "available"),
            ]
        )
    );
    assert_eq!(
        alice.expect_event("member_joined").await,
        json!({"type": "member_joined", "chat": "#Ops", "user": "Bob", "role": "member"})
    );
    bob.settle().await;
    let w = server.welcome_of("bob").await;
    assert_eq!(w["invites"], json!([]), "the invitation was used: {w}");

    // Used up: after leaving, joining again needs a new invitation.
    bob.ok(g("leave", "#ops")).await;
    bob.error(g("join", "#ops"), "forbidden").await;
}

// ----- leave ----------------------------------------------------------------

#[tokio::test]
async fn leave_tells_the_leavers_sessions_and_the_remaining_members() {
    let server = TestServer::start().await;
    let mut alice = server.user("Alice").await;
    let mut b1 = server.user("Bob").await;
    let mut carol = server.user("Carol").await;
    let mut dave = server.user("Dave").await;
    group(
        &mut alice,
        "#rust",
        "open",
        &mut [(&mut b1, "Bob"), (&mut carol, "Carol")],
        &mut [&mut dave],
    )
    .await;
    let mut b2 = server.session("bob").await;
    settle_all(&mut [&mut alice, &mut b1, &mut carol, &mut dave]).await;

    let ok = b1.request(g("leave", "#Rust")).await;
    assert_eq!(ok, json!({"type": "ok", "id": ok["id"]}));
    let left = json!({"type": "group_left", "chat": "#rust", "by": null});
    assert_eq!(b1.expect_event("group_left").await, left);
    assert_eq!(b2.expect_event("group_left").await, left);
    let ml = json!({"type": "member_left", "chat": "#rust", "user": "Bob", "by": null});
    assert_eq!(alice.expect_event("member_left").await, ml);
    assert_eq!(carol.expect_event("member_left").await, ml);
    silence_all(&mut [&mut alice, &mut b1, &mut b2, &mut carol, &mut dave]).await;

    b1.error(g("leave", "#rust"), "not_member").await;
    b1.error(send_req("#rust", "still here?"), "not_member")
        .await;
    let list = alice.request(g("members", "#rust")).await;
    assert_eq!(
        by_user(&list["members"]),
        [
            member("Alice", "owner", true, "available"),
            member("Carol", "member", true, "available"),
        ]
    );
    // An open group can be joined again.
    join(&mut b1, "#rust").await;
}

// ----- invite ---------------------------------------------------------------

#[tokio::test]
async fn invite_tells_every_session_of_the_invitee_who_invited_and_when() {
    let server = TestServer::start().await;
    let mut alice = server.user("Alice").await;
    let mut bob = server.user("Bob").await;
    let mut c1 = server.user("Carol").await;
    let mut c2 = server.session("carol").await;
    group(
        &mut alice,
        "#rust",
        "open",
        &mut [(&mut bob, "Bob")],
        &mut [&mut c1, &mut c2],
    )
    .await;

    // Any member of an open group may invite.
    let ok = bob.request(gu("invite", "#RUST", "CAROL")).await;
    assert_eq!(ok, json!({"type": "ok", "id": ok["id"]}));
    let ev = c1.expect_event("group_invite").await;
    let ts = ev["ts"].clone();
    assert_recent_ts(&ts);
    assert_eq!(
        ev,
        json!({"type": "group_invite", "chat": "#rust", "from": "Bob", "ts": ts})
    );
    assert_eq!(c2.expect_event("group_invite").await, ev);
    // Reading: only the invitee is told (the table names no other event).
    silence_all(&mut [&mut alice, &mut bob, &mut c1, &mut c2]).await;

    let w = server.welcome_of("carol").await;
    assert_eq!(
        w["invites"],
        json!([{"chat": "#rust", "from": "Bob", "ts": ts}])
    );
}

#[tokio::test]
async fn in_an_invite_group_only_mods_and_the_owner_may_invite() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    let mut carol = server.user("carol").await;
    let mut dave = server.user("dave").await;
    let mut erin = server.user("erin").await;
    group(
        &mut alice,
        "#ops",
        "invite",
        &mut [(&mut bob, "bob"), (&mut carol, "carol")],
        &mut [&mut dave, &mut erin],
    )
    .await;
    alice.ok(role_req("#ops", "carol", "mod")).await;
    settle_all(&mut [&mut alice, &mut bob, &mut carol]).await;

    bob.error(gu("invite", "#ops", "dave"), "forbidden").await;
    dave.expect_silence().await;
    carol.ok(gu("invite", "#ops", "dave")).await;
    assert_eq!(dave.expect_event("group_invite").await["from"], "carol");
    alice.ok(gu("invite", "#ops", "erin")).await;
    assert_eq!(erin.expect_event("group_invite").await["from"], "alice");
}

#[tokio::test]
async fn invite_errors() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    server.account("carol").await;
    group(
        &mut alice,
        "#rust",
        "open",
        &mut [(&mut bob, "bob")],
        &mut [],
    )
    .await;

    alice
        .error(gu("invite", "#rust", "bob"), "already_member")
        .await;
    alice
        .error(gu("invite", "#rust", "BOB"), "already_member")
        .await;
    alice
        .error(gu("invite", "#rust", "alice"), "self_target")
        .await;
    alice
        .error(gu("invite", "#rust", "Alice"), "self_target")
        .await;
    alice
        .error(gu("invite", "#rust", "ghost"), "no_such_user")
        .await;
    alice
        .error(gu("invite", "#rust", "not a name"), "no_such_user")
        .await;
    alice
        .error(gu("invite", "#nowhere", "carol"), "no_such_chat")
        .await;

    alice.ok(gu("invite", "#rust", "carol")).await;
    // A second invitation, from the same member or any other.
    alice
        .error(gu("invite", "#rust", "carol"), "already_requested")
        .await;
    bob.error(gu("invite", "#rust", "Carol"), "already_requested")
        .await;
    silence_all(&mut [&mut alice, &mut bob]).await;
    let w = server.welcome_of("carol").await;
    let invites = w["invites"].as_array().unwrap();
    assert_eq!(invites.len(), 1, "one invitation: {w}");
    assert_eq!(invites[0]["from"], "alice");
}

#[tokio::test]
async fn invitations_to_offline_users_wait_in_welcome_invites() {
    let server = TestServer::start().await;
    server.account("Carol").await;
    let mut alice = server.user("Alice").await;
    let mut bob = server.user("Bob").await;
    create(&mut alice, "#ops", "invite").await;
    create(&mut bob, "#Rust", "open").await;
    alice.ok(gu("invite", "#ops", "carol")).await;
    bob.ok(gu("invite", "#rust", "carol")).await;

    let mut carol = server.session("carol").await;
    let invites = by_chat(&carol.welcome["invites"]);
    assert_eq!(invites.len(), 2, "{}", carol.welcome);
    for i in &invites {
        assert_eq!(keys(i), key_list(&["chat", "from", "ts"]));
        assert_recent_ts(&i["ts"]);
    }
    assert_eq!(invites[0]["chat"], "#ops");
    assert_eq!(invites[0]["from"], "Alice");
    assert_eq!(invites[1]["chat"], "#Rust");
    assert_eq!(invites[1]["from"], "Bob");
    assert_eq!(carol.welcome["groups"], json!([]));

    join(&mut carol, "#ops").await;
    // Reading: joining an open group one was invited to uses up that
    // invitation too (a member has nothing left to accept).
    join(&mut carol, "#rust").await;
    carol.settle().await;
    let w = server.welcome_of("carol").await;
    assert_eq!(w["invites"], json!([]), "{w}");
    let groups: Vec<Value> = by_chat(&w["groups"])
        .iter()
        .map(|e| e["chat"].clone())
        .collect();
    assert_eq!(groups, [json!("#ops"), json!("#Rust")]);
}

// ----- decline_invite -------------------------------------------------------

#[tokio::test]
async fn decline_invite_drops_it_and_tells_the_decliners_other_sessions() {
    let server = TestServer::start().await;
    let mut alice = server.user("Alice").await;
    let mut c1 = server.user("Carol").await;
    let mut c2 = server.session("carol").await;
    create(&mut alice, "#Ops", "invite").await;
    alice.ok(gu("invite", "#ops", "carol")).await;
    c1.expect_event("group_invite").await;
    c2.expect_event("group_invite").await;
    settle_all(&mut [&mut alice, &mut c1, &mut c2]).await;

    let ok = c1.request(g("decline_invite", "#OPS")).await;
    assert_eq!(ok, json!({"type": "ok", "id": ok["id"]}));
    assert_eq!(
        c2.expect_event("group_invite_removed").await,
        json!({"type": "group_invite_removed", "chat": "#Ops"})
    );
    // Reading: the inviter is not told (the table names no event for it).
    silence_all(&mut [&mut alice, &mut c1, &mut c2]).await;

    c1.error(g("decline_invite", "#ops"), "no_request").await;
    c1.error(g("join", "#ops"), "forbidden").await;
    let w = server.welcome_of("carol").await;
    assert_eq!(w["invites"], json!([]));
    // She may be invited again.
    alice.ok(gu("invite", "#ops", "carol")).await;
    assert_eq!(c1.expect_event("group_invite").await["chat"], "#Ops");
}

#[tokio::test]
async fn decline_invite_without_an_invitation_is_no_request_whether_or_not_the_group_exists() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    let mut carol = server.user("carol").await;
    group(
        &mut alice,
        "#rust",
        "open",
        &mut [(&mut bob, "bob")],
        &mut [],
    )
    .await;
    create(&mut alice, "#secret", "invite").await;
    settle_all(&mut [&mut alice, &mut carol]).await;

    for chat in ["#nowhere", "#rust", "#secret"] {
        carol.error(g("decline_invite", chat), "no_request").await;
    }
    // A member with no invitation has nothing to decline either.
    bob.error(g("decline_invite", "#rust"), "no_request").await;
    alice
        .error(g("decline_invite", "#secret"), "no_request")
        .await;
    silence_all(&mut [&mut alice, &mut bob, &mut carol]).await;
}

// ----- kick_member ----------------------------------------------------------

#[tokio::test]
async fn kick_member_tells_the_kicked_user_and_the_members_with_by_and_reason() {
    let server = TestServer::start().await;
    let mut alice = server.user("Alice").await;
    let mut b1 = server.user("Bob").await;
    let mut carol = server.user("Carol").await;
    let mut dave = server.user("Dave").await;
    group(
        &mut alice,
        "#rust",
        "open",
        &mut [(&mut b1, "Bob"), (&mut carol, "Carol")],
        &mut [&mut dave],
    )
    .await;
    let mut b2 = server.session("bob").await;
    settle_all(&mut [&mut alice, &mut b1, &mut carol, &mut dave]).await;

    let ok = alice.request(kick_req("#RUST", "bob", "spam")).await;
    assert_eq!(ok, json!({"type": "ok", "id": ok["id"]}));
    let left = json!({"type": "group_left", "chat": "#rust", "by": "Alice", "reason": "spam"});
    assert_eq!(b1.expect_event("group_left").await, left);
    assert_eq!(b2.expect_event("group_left").await, left);
    let ml = json!({"type": "member_left", "chat": "#rust", "user": "Bob", "by": "Alice", "reason": "spam"});
    assert_eq!(alice.expect_event("member_left").await, ml);
    assert_eq!(carol.expect_event("member_left").await, ml);
    silence_all(&mut [&mut alice, &mut b1, &mut b2, &mut carol, &mut dave]).await;

    b1.error(send_req("#rust", "let me back"), "not_member")
        .await;
    let list = alice.request(g("members", "#rust")).await;
    assert_eq!(list["members"].as_array().unwrap().len(), 2, "{list}");
}

#[tokio::test]
async fn kick_member_without_a_reason_leaves_reason_out() {
    // Reading: an optional field that was not given is absent, as the
    // shared frame types serialise it (not null, not "").
    let server = TestServer::start().await;
    let mut alice = server.user("Alice").await;
    let mut bob = server.user("Bob").await;
    let mut carol = server.user("Carol").await;
    group(
        &mut alice,
        "#rust",
        "open",
        &mut [(&mut bob, "Bob"), (&mut carol, "Carol")],
        &mut [],
    )
    .await;
    alice.ok(gu("kick_member", "#rust", "bob")).await;
    assert_eq!(
        bob.expect_event("group_left").await,
        json!({"type": "group_left", "chat": "#rust", "by": "Alice"})
    );
    assert_eq!(
        carol.expect_event("member_left").await,
        json!({"type": "member_left", "chat": "#rust", "user": "Bob", "by": "Alice"})
    );
}

#[tokio::test]
async fn kick_member_reason_follows_the_text_rules() {
    // Reading: the contract gives kick_member's reason no rules of its own;
    // §13 gives admin reasons "the text rules, at most 512 bytes", and a
    // reason is text shown to others, so the same rules are tested here.
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
    let long = "r".repeat(513);
    for reason in ["rlo \u{202E}", "esc \u{1b}[2J", "\u{200B}", long.as_str()] {
        alice
            .error(kick_req("#rust", "bob", reason), "invalid_text")
            .await;
    }
    silence_all(&mut [&mut alice, &mut bob]).await;
    let ok_reason = "r".repeat(512);
    alice.ok(kick_req("#rust", "bob", &ok_reason)).await;
    assert_eq!(bob.expect_event("group_left").await["reason"], ok_reason);
}

#[tokio::test]
async fn a_mod_may_kick_only_members_and_the_owner_anyone_but_itself() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    let mut carol = server.user("carol").await;
    let mut erin = server.user("erin").await;
    let mut frank = server.user("frank").await;
    server.account("dave").await;
    group(
        &mut alice,
        "#rust",
        "open",
        &mut [
            (&mut bob, "bob"),
            (&mut carol, "carol"),
            (&mut erin, "erin"),
            (&mut frank, "frank"),
        ],
        &mut [],
    )
    .await;
    alice.ok(role_req("#rust", "carol", "mod")).await;
    alice.ok(role_req("#rust", "frank", "mod")).await;
    settle_all(&mut [&mut alice, &mut bob, &mut carol, &mut erin, &mut frank]).await;

    // A mod: not another mod, not the owner, not itself.
    carol
        .error(gu("kick_member", "#rust", "frank"), "forbidden")
        .await;
    carol
        .error(gu("kick_member", "#rust", "alice"), "forbidden")
        .await;
    carol
        .error(gu("kick_member", "#rust", "carol"), "self_target")
        .await;
    // A member: nobody.
    bob.error(gu("kick_member", "#rust", "erin"), "forbidden")
        .await;
    bob.error(gu("kick_member", "#rust", "carol"), "forbidden")
        .await;
    // The owner: not itself.
    alice
        .error(gu("kick_member", "#rust", "ALICE"), "self_target")
        .await;
    // Targets that are not members.
    alice
        .error(gu("kick_member", "#rust", "dave"), "not_member")
        .await;
    carol
        .error(gu("kick_member", "#rust", "dave"), "not_member")
        .await;
    alice
        .error(gu("kick_member", "#rust", "ghost"), "no_such_user")
        .await;
    silence_all(&mut [&mut alice, &mut bob, &mut carol, &mut erin, &mut frank]).await;

    carol.ok(gu("kick_member", "#rust", "erin")).await;
    assert_eq!(erin.expect_event("group_left").await["by"], "carol");
    alice.ok(gu("kick_member", "#rust", "frank")).await;
    assert_eq!(frank.expect_event("group_left").await["by"], "alice");
    alice.ok(gu("kick_member", "#rust", "carol")).await;
    assert_eq!(carol.expect_event("group_left").await["by"], "alice");
    let list = alice.request(g("members", "#rust")).await;
    assert_eq!(
        by_user(&list["members"]),
        [
            member("alice", "owner", true, "available"),
            member("bob", "member", true, "available"),
        ]
    );
}

// ----- set_topic ------------------------------------------------------------

#[tokio::test]
async fn set_topic_tells_every_member_and_an_empty_topic_clears_it() {
    let server = TestServer::start().await;
    let mut alice = server.user("Alice").await;
    let mut bob = server.user("Bob").await;
    let mut carol = server.user("Carol").await;
    let mut dave = server.user("Dave").await;
    group(
        &mut alice,
        "#rust",
        "open",
        &mut [(&mut bob, "Bob"), (&mut carol, "Carol")],
        &mut [&mut dave],
    )
    .await;
    alice.ok(role_req("#rust", "carol", "mod")).await;
    settle_all(&mut [&mut alice, &mut bob, &mut carol, &mut dave]).await;

    let ok = carol.request(topic_req("#RUST", "Release on Friday")).await;
    assert_eq!(ok, json!({"type": "ok", "id": ok["id"]}));
    let ev = json!({"type": "group_topic", "chat": "#rust", "topic": "Release on Friday", "by": "Carol"});
    assert_eq!(alice.expect_event("group_topic").await, ev);
    assert_eq!(bob.expect_event("group_topic").await, ev);
    assert_eq!(carol.expect_event("group_topic").await, ev);
    silence_all(&mut [&mut alice, &mut bob, &mut carol, &mut dave]).await;
    let list = dave.request(json!({"type": "groups"})).await;
    assert_eq!(list["groups"][0]["topic"], "Release on Friday");
    let w = server.welcome_of("bob").await;
    assert_eq!(w["groups"][0]["topic"], "Release on Friday");

    alice.ok(topic_req("#rust", "")).await;
    let ev = json!({"type": "group_topic", "chat": "#rust", "topic": "", "by": "Alice"});
    assert_eq!(alice.expect_event("group_topic").await, ev);
    assert_eq!(bob.expect_event("group_topic").await, ev);
    assert_eq!(carol.expect_event("group_topic").await, ev);
    let list = dave.request(json!({"type": "groups"})).await;
    assert_eq!(list["groups"][0]["topic"], "");
    let ev = join(&mut dave, "#rust").await;
    assert_eq!(ev["topic"], "");

    settle_all(&mut [&mut alice, &mut bob, &mut carol, &mut dave]).await;
    bob.error(topic_req("#rust", "mine now"), "forbidden").await;
    silence_all(&mut [&mut alice, &mut bob, &mut carol, &mut dave]).await;
}

#[tokio::test]
async fn set_topic_follows_the_text_rules_and_512_bytes() {
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
    let over = format!("abc{}", "€".repeat(170));
    assert_eq!(over.len(), 513);
    for topic in [" ", "\u{200B}\u{200C}", "\u{202D}x", "a\rb", over.as_str()] {
        alice.error(topic_req("#rust", topic), "invalid_text").await;
    }
    silence_all(&mut [&mut alice, &mut bob]).await;
    let max = format!("ab{}", "€".repeat(170));
    alice.ok(topic_req("#rust", &max)).await;
    assert_eq!(bob.expect_event("group_topic").await["topic"], max);
}

// ----- set_member_role ------------------------------------------------------

#[tokio::test]
async fn set_member_role_tells_every_member_and_a_role_already_held_changes_nothing() {
    let server = TestServer::start().await;
    let mut alice = server.user("Alice").await;
    let mut bob = server.user("Bob").await;
    let mut carol = server.user("Carol").await;
    let mut dave = server.user("Dave").await;
    group(
        &mut alice,
        "#rust",
        "open",
        &mut [(&mut bob, "Bob"), (&mut carol, "Carol")],
        &mut [&mut dave],
    )
    .await;

    let ok = alice.request(role_req("#RUST", "BOB", "mod")).await;
    assert_eq!(ok, json!({"type": "ok", "id": ok["id"]}));
    let ev = json!({"type": "member_role", "chat": "#rust", "user": "Bob", "role": "mod", "by": "Alice"});
    assert_eq!(alice.expect_event("member_role").await, ev);
    assert_eq!(bob.expect_event("member_role").await, ev);
    assert_eq!(carol.expect_event("member_role").await, ev);
    silence_all(&mut [&mut alice, &mut bob, &mut carol, &mut dave]).await;

    // The same role again: ok, and nobody hears of it.
    alice.ok(role_req("#rust", "bob", "mod")).await;
    alice.ok(role_req("#rust", "carol", "member")).await;
    silence_all(&mut [&mut alice, &mut bob, &mut carol, &mut dave]).await;

    alice.ok(role_req("#rust", "bob", "member")).await;
    let ev = json!({"type": "member_role", "chat": "#rust", "user": "Bob", "role": "member", "by": "Alice"});
    assert_eq!(alice.expect_event("member_role").await, ev);
    assert_eq!(bob.expect_event("member_role").await, ev);
    assert_eq!(carol.expect_event("member_role").await, ev);

    alice.ok(role_req("#rust", "carol", "mod")).await;
    carol.settle().await;
    let list = dave.request(g("members", "#rust")).await;
    assert_eq!(
        by_user(&list["members"]),
        [
            member("Alice", "owner", true, "available"),
            member("Bob", "member", true, "available"),
            member("Carol", "mod", true, "available"),
        ]
    );
    let w = server.welcome_of("carol").await;
    assert_eq!(w["groups"][0]["role"], "mod", "{w}");
}

#[tokio::test]
async fn giving_owner_to_a_member_makes_the_old_owner_a_mod() {
    let server = TestServer::start().await;
    let mut alice = server.user("Alice").await;
    let mut bob = server.user("Bob").await;
    let mut carol = server.user("Carol").await;
    group(
        &mut alice,
        "#rust",
        "open",
        &mut [(&mut bob, "Bob"), (&mut carol, "Carol")],
        &mut [],
    )
    .await;

    alice.ok(role_req("#rust", "bob", "owner")).await;
    let first = json!({"type": "member_role", "chat": "#rust", "user": "Bob", "role": "owner", "by": "Alice"});
    let second = json!({"type": "member_role", "chat": "#rust", "user": "Alice", "role": "mod", "by": "Alice"});
    for c in [&mut alice, &mut bob, &mut carol] {
        // expect_event takes the earliest matching frame: order is checked.
        assert_eq!(c.expect_event("member_role").await, first);
        assert_eq!(c.expect_event("member_role").await, second);
        c.expect_silence().await;
    }
    let list = carol.request(g("members", "#rust")).await;
    assert_eq!(
        by_user(&list["members"]),
        [
            member("Alice", "mod", true, "available"),
            member("Bob", "owner", true, "available"),
            member("Carol", "member", true, "available"),
        ]
    );
    // The new owner rules; the old one is a mod.
    alice.error(g("delete_group", "#rust"), "forbidden").await;
    alice
        .error(role_req("#rust", "carol", "mod"), "forbidden")
        .await;
    bob.ok(role_req("#rust", "carol", "mod")).await;
}

#[tokio::test]
async fn only_the_owner_sets_roles_and_its_own_role_changes_only_by_handing_over() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    let mut carol = server.user("carol").await;
    server.account("dave").await;
    group(
        &mut alice,
        "#rust",
        "open",
        &mut [(&mut bob, "bob"), (&mut carol, "carol")],
        &mut [],
    )
    .await;
    alice.ok(role_req("#rust", "carol", "mod")).await;
    settle_all(&mut [&mut alice, &mut bob, &mut carol]).await;

    carol
        .error(role_req("#rust", "bob", "mod"), "forbidden")
        .await;
    carol
        .error(role_req("#rust", "carol", "member"), "forbidden")
        .await;
    carol
        .error(role_req("#rust", "carol", "owner"), "forbidden")
        .await;
    bob.error(role_req("#rust", "bob", "mod"), "forbidden")
        .await;
    bob.error(role_req("#rust", "carol", "member"), "forbidden")
        .await;
    // Reading: the owner demoting itself is "anything else" (forbidden), not
    // self_target, which the contract names only for kick and invite.
    alice
        .error(role_req("#rust", "alice", "mod"), "forbidden")
        .await;
    alice
        .error(role_req("#rust", "alice", "member"), "forbidden")
        .await;
    alice
        .error(role_req("#rust", "dave", "mod"), "not_member")
        .await;
    alice
        .error(role_req("#rust", "ghost", "mod"), "no_such_user")
        .await;
    alice
        .error(role_req("#rust", "bob", "admin"), "bad_request")
        .await;
    silence_all(&mut [&mut alice, &mut bob, &mut carol]).await;
}

// ----- delete_group ---------------------------------------------------------

#[tokio::test]
async fn delete_group_tells_members_and_invitees_and_frees_the_name() {
    let server = TestServer::start().await;
    let mut a1 = server.user("Alice").await;
    let mut bob = server.user("Bob").await;
    let mut carol = server.user("Carol").await;
    let mut dave = server.user("Dave").await;
    group(
        &mut a1,
        "#Ops",
        "invite",
        &mut [(&mut bob, "Bob")],
        &mut [&mut carol, &mut dave],
    )
    .await;
    let mut a2 = server.session("alice").await;
    a1.ok(role_req("#ops", "bob", "mod")).await;
    bob.say("#ops", "to be deleted").await;
    invite(&mut a1, &mut carol, "#ops", "carol").await;
    settle_all(&mut [&mut a1, &mut a2, &mut bob, &mut carol, &mut dave]).await;

    bob.error(g("delete_group", "#ops"), "forbidden").await;
    let ok = a1.request(g("delete_group", "#OPS")).await;
    assert_eq!(ok, json!({"type": "ok", "id": ok["id"]}));
    let left = json!({"type": "group_left", "chat": "#Ops", "by": "Alice", "reason": "deleted"});
    assert_eq!(a1.expect_event("group_left").await, left);
    assert_eq!(a2.expect_event("group_left").await, left);
    assert_eq!(bob.expect_event("group_left").await, left);
    assert_eq!(
        carol.expect_event("group_invite_removed").await,
        json!({"type": "group_invite_removed", "chat": "#Ops"})
    );
    // Reading: members get group_left only, no member_left for each other.
    silence_all(&mut [&mut a1, &mut a2, &mut bob, &mut carol, &mut dave]).await;

    for c in [&mut a1, &mut bob] {
        c.error(send_req("#ops", "hello?"), "no_such_chat").await;
        c.error(g("history", "#ops"), "no_such_chat").await;
    }
    carol.error(g("join", "#ops"), "no_such_chat").await;
    let w = server.welcome_of("carol").await;
    assert_eq!(w["invites"], json!([]));
    let w = server.welcome_of("bob").await;
    assert_eq!(w["groups"], json!([]));

    // The name is free, and the new group starts with no messages.
    let ok = dave.ok(create_req("#OPS", "open")).await;
    assert_eq!(ok["chat"], "#OPS");
    dave.expect_event("group_joined").await;
    let h = dave.request(g("history", "#ops")).await;
    assert_eq!(h["messages"], json!([]), "{h}");
    let list = dave.request(json!({"type": "groups"})).await;
    assert_eq!(
        list["groups"],
        json!([{"chat": "#OPS", "kind": "open", "topic": "", "members": 1}])
    );
}

// ----- groups and members ---------------------------------------------------

#[tokio::test]
async fn groups_lists_open_groups_to_everyone_and_invite_groups_to_their_members() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    let mut carol = server.user("carol").await;
    let list = carol.request(json!({"type": "groups"})).await;
    assert_eq!(
        list,
        json!({"type": "groups", "id": list["id"], "groups": []})
    );

    alice
        .ok(json!({"type": "create_group", "chat": "#rust", "topic": "r"}))
        .await;
    alice
        .ok(json!({"type": "create_group", "chat": "#ops", "kind": "invite", "topic": "o"}))
        .await;
    join(&mut bob, "#rust").await;
    alice.ok(gu("invite", "#ops", "carol")).await;

    let rust = json!({"chat": "#rust", "kind": "open", "topic": "r", "members": 2});
    let ops = json!({"chat": "#ops", "kind": "invite", "topic": "o", "members": 1});
    let list = alice.request(json!({"type": "groups"})).await;
    assert_eq!(keys(&list), key_list(&["type", "id", "groups"]), "{list}");
    assert_eq!(by_chat(&list["groups"]), [ops.clone(), rust.clone()]);
    let list = bob.request(json!({"type": "groups"})).await;
    assert_eq!(list["groups"], json!([rust]));
    // Reading: "listed only to its members and to admins" — an invitee is
    // neither, so carol's list leaves #ops out although she may see it.
    let list = carol.request(json!({"type": "groups"})).await;
    assert_eq!(list["groups"], json!([rust]));
}

#[tokio::test]
async fn members_lists_everyone_with_role_and_presence_to_whoever_can_see_the_group() {
    let server = TestServer::start().await;
    let mut alice = server.user("Alice").await;
    let mut bob = server.user("Bob").await;
    let mut carol = server.user("Carol").await;
    let mut dave = server.user("Dave").await;
    group(
        &mut alice,
        "#Rust",
        "open",
        &mut [(&mut bob, "Bob"), (&mut carol, "Carol")],
        &mut [&mut dave],
    )
    .await;
    alice.ok(role_req("#rust", "bob", "mod")).await;
    alice
        .ok(json!({"type": "set_status", "status": "busy"}))
        .await;
    carol.logout().await;

    // A non-member may ask about an open group.
    let list = dave.request(g("members", "#RUST")).await;
    assert_eq!(
        keys(&list),
        key_list(&["type", "id", "chat", "members"]),
        "{list}"
    );
    assert_eq!(list["type"], "members");
    assert_eq!(list["chat"], "#Rust");
    let members = by_user(&list["members"]);
    assert_eq!(members.len(), 3, "{list}");
    assert_eq!(members[0], member("Alice", "owner", true, "busy"));
    assert_eq!(members[1], member("Bob", "mod", true, "available"));
    assert_eq!(members[2]["user"], "Carol");
    assert_eq!(members[2]["role"], "member");
    assert_eq!(members[2]["online"], false);

    dave.error(g("members", "#nowhere"), "no_such_chat").await;
}

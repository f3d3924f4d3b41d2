//! §13 administration, the frames that act on accounts: who may send them,
//! `kick`, `ban`, `unban`, `set_role`, the checks on `minutes` and
//! `reason`, and persistence. Mutes and the `muted` rules are in
//! protocol_admin_mute.rs, `delete_message` in protocol_admin_delete.rs,
//! the audit log in protocol_admin_audit.rs, the account command line in
//! admin_cli.rs.
//!
//! Written from the contract before the server implemented §13: where the
//! contract leaves a choice, the comment at the assertion says which
//! reading is tested.

mod admin_support;
mod common;
mod group_support;

use admin_support::*;
use common::*;
use group_support::admin;
use serde_json::{json, Value};

// ----- who may --------------------------------------------------------------

#[tokio::test]
async fn hello_offers_the_admin_feature() {
    let server = TestServer::start().await;
    let c = server.client().await;
    let features = c.hello["features"]
        .as_array()
        .unwrap_or_else(|| panic!("hello lists features: {}", c.hello));
    assert!(features.contains(&json!("admin")), "{}", c.hello);
}

#[tokio::test]
async fn a_user_who_is_not_an_admin_gets_forbidden_for_every_admin_request() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    alice.settle().await;
    for frame in every_admin_request("bob") {
        alice.error(frame, "forbidden").await;
    }
    // Reading: the caller's role is checked first, so a non-admin learns
    // nothing about the target: not whether it exists, nor that it is
    // oneself.
    for frame in every_admin_request("nobody") {
        alice.error(frame, "forbidden").await;
    }
    for frame in every_admin_request("alice") {
        alice.error(frame, "forbidden").await;
    }
    // Nothing happened to bob, and nobody heard of it.
    bob.assert_open().await;
    bob.expect_silence().await;
    alice.expect_silence().await;
    bob.ok(json!({"type": "send", "chat": "#public", "text": "still here"}))
        .await;
}

#[tokio::test]
async fn admin_requests_before_login_get_not_authenticated() {
    let server = TestServer::start().await;
    server.account("bob").await;
    let mut c = server.client().await;
    for frame in every_admin_request("bob") {
        c.error(frame, "not_authenticated").await;
    }
    c.error(delete_req("#public", 1), "not_authenticated").await;
}

#[tokio::test]
async fn an_admin_request_naming_an_unknown_user_gets_no_such_user() {
    let server = TestServer::start().await;
    let mut boss = admin(&server, "boss").await;
    for frame in every_admin_request("nobody") {
        if frame["type"] == "audit" {
            continue;
        }
        boss.error(frame, "no_such_user").await;
    }
    boss.expect_silence().await;
}

#[tokio::test]
async fn an_admin_may_not_kick_ban_mute_or_demote_another_admin() {
    let server = TestServer::start().await;
    let mut boss = admin(&server, "boss").await;
    let mut chief = admin(&server, "chief").await;
    boss.settle().await;
    for frame in [
        kick_user("chief", "coup"),
        ban_req("chief", Some(60), "coup"),
        ban_req("chief", None, "coup"),
        mute_req("CHIEF", Some(10), "coup"),
        mute_req("chief", None, "coup"),
        set_role_req("chief", "user"),
    ] {
        boss.error(frame, "forbidden").await;
    }
    chief.assert_open().await;
    chief.expect_silence().await;
    chief.say("#public", "still an admin, still talking").await;
    let w = server.welcome_of("chief").await;
    assert_eq!(w["role"], "admin", "{w}");
    assert!(w.get("muted_until").is_none(), "{w}");
}

#[tokio::test]
async fn an_admin_naming_itself_gets_self_target() {
    let server = TestServer::start().await;
    let mut boss = admin(&server, "boss").await;
    // Reading: self_target for every request that acts on a user, in any
    // casing, set_role included whatever the role asked for.
    for name in ["boss", "BOSS"] {
        for frame in [
            kick_user(name, "me"),
            ban_req(name, Some(60), "me"),
            ban_req(name, None, "me"),
            mute_req(name, Some(10), "me"),
            mute_req(name, None, "me"),
            set_role_req(name, "user"),
            set_role_req(name, "admin"),
        ] {
            boss.error(frame, "self_target").await;
        }
    }
    boss.assert_open().await;
    boss.expect_silence().await;
    let w = server.welcome_of("boss").await;
    assert_eq!(w["role"], "admin", "{w}");
}

// ----- kick -----------------------------------------------------------------

#[tokio::test]
async fn kick_closes_every_session_of_the_target_with_a_kicked_error_carrying_by_and_reason() {
    let server = TestServer::start().await;
    let mut boss = admin(&server, "boss").await;
    let mut b1 = server.user("Bob").await;
    let mut b2 = server.session("bob").await;
    let mut carol = server.user("carol").await;
    settle_all3(&mut boss, &mut b1, &mut carol).await;
    b2.settle().await;

    let ok = boss.request(kick_user("bob", "cool off")).await;
    assert_eq!(ok, json!({"type": "ok", "id": ok["id"]}));
    for session in [&mut b1, &mut b2] {
        let fatal = last_fatal(&session.expect_closed().await);
        assert_eq!(
            without_message(&fatal),
            json!({"type": "error", "code": "kicked", "fatal": true, "by": "boss", "reason": "cool off"})
        );
    }
    // Everyone else sees bob go offline; nobody else is touched.
    for c in [&mut boss, &mut carol] {
        let p = c.expect_event("presence").await;
        assert_eq!(
            (&p["user"], &p["online"]),
            (&json!("Bob"), &json!(false)),
            "{p}"
        );
        c.assert_open().await;
    }
}

#[tokio::test]
async fn kick_without_a_reason_leaves_reason_out_of_the_error() {
    // Reading: `reason` is optional as in kick_member (§12), and left out
    // when not given.
    let server = TestServer::start().await;
    let mut boss = admin(&server, "boss").await;
    let mut bob = server.user("bob").await;
    boss.ok(u("kick", "bob")).await;
    let fatal = last_fatal(&bob.expect_closed().await);
    assert_eq!(
        without_message(&fatal),
        json!({"type": "error", "code": "kicked", "fatal": true, "by": "boss"})
    );
}

#[tokio::test]
async fn a_kicked_user_may_log_in_again_at_once() {
    let server = TestServer::start().await;
    let mut boss = admin(&server, "boss").await;
    let mut bob = server.user("bob").await;
    boss.ok(kick_user("bob", "out")).await;
    bob.expect_closed().await;
    let mut again = server.session("bob").await;
    again.say("#public", "back").await;
}

#[tokio::test]
async fn kicking_a_user_with_no_session_is_ok_and_changes_nothing() {
    // Reading: the request is valid (the user exists); there is simply no
    // session to close.
    let server = TestServer::start().await;
    let mut boss = admin(&server, "boss").await;
    server.account("bob").await;
    boss.settle().await;
    boss.ok(kick_user("BOB", "nothing to kick")).await;
    boss.expect_silence().await;
    server.session("bob").await.say("#public", "fine").await;
}

#[tokio::test]
async fn kick_leaves_the_kickers_other_sessions_and_other_users_alone() {
    let server = TestServer::start().await;
    let mut boss = admin(&server, "boss").await;
    let mut boss2 = server.session("boss").await;
    let mut bob = server.user("bob").await;
    boss.settle().await;
    boss2.settle().await;
    boss.ok(kick_user("bob", "bye")).await;
    bob.expect_closed().await;
    let p = boss2.expect_event("presence").await;
    assert_eq!(p["user"], "bob");
    // No echo of the kick reaches the admin's other session.
    boss2.expect_silence().await;
}

// ----- ban ------------------------------------------------------------------

#[tokio::test]
async fn a_timed_ban_closes_every_session_with_banned_until_by_and_reason() {
    let server = TestServer::start().await;
    let mut boss = admin(&server, "boss").await;
    let mut b1 = server.user("bob").await;
    let mut b2 = server.session("bob").await;
    let mut carol = server.user("carol").await;
    settle_all3(&mut boss, &mut b1, &mut carol).await;

    let ok = boss.request(ban_req("bob", Some(60), "flooding")).await;
    assert_eq!(ok, json!({"type": "ok", "id": ok["id"]}));
    let first = last_fatal(&b1.expect_closed().await);
    let until = first["until"].clone();
    assert_until_in_minutes(&until, 60);
    for fatal in [first, last_fatal(&b2.expect_closed().await)] {
        assert_eq!(
            without_message(&fatal),
            json!({"type": "error", "code": "banned", "fatal": true, "until": until,
                   "by": "boss", "reason": "flooding"})
        );
    }
    let p = carol.expect_event("presence").await;
    assert_eq!((&p["user"], &p["online"]), (&json!("bob"), &json!(false)));

    // The right password: banned, with the same until.
    let mut c = server.client().await;
    let reply = c
        .error(
            json!({"type": "login", "user": "bob", "password": PASSWORD}),
            "banned",
        )
        .await;
    assert_eq!(reply["until"], until, "{reply}");
    // A wrong one: bad_credentials as always, nothing about the ban.
    let reply = c
        .error(
            json!({"type": "login", "user": "bob", "password": "wrong password"}),
            "bad_credentials",
        )
        .await;
    assert!(reply.get("until").is_none(), "{reply}");
}

#[tokio::test]
async fn a_ban_without_minutes_is_for_good_and_carries_until_null() {
    let server = TestServer::start().await;
    let mut boss = admin(&server, "boss").await;
    let mut bob = server.user("bob").await;
    boss.ok(ban_req("bob", None, "gone")).await;
    let fatal = last_fatal(&bob.expect_closed().await);
    assert_eq!(
        without_message(&fatal),
        json!({"type": "error", "code": "banned", "fatal": true, "until": null,
               "by": "boss", "reason": "gone"})
    );
    let mut c = server.client().await;
    let reply = c
        .error(
            json!({"type": "login", "user": "BOB", "password": PASSWORD}),
            "banned",
        )
        .await;
    assert!(
        reply.get("until").is_some_and(Value::is_null),
        "until is present and null: {reply}"
    );
    c.error(
        json!({"type": "login", "user": "bob", "password": "wrong password"}),
        "bad_credentials",
    )
    .await;
}

#[tokio::test]
async fn banning_a_user_with_no_session_is_ok_and_refuses_its_next_login() {
    let server = TestServer::start().await;
    let mut boss = admin(&server, "boss").await;
    server.account("bob").await;
    boss.settle().await;
    boss.ok(ban_req("bob", Some(30), "pre-emptive")).await;
    boss.expect_silence().await;
    let mut c = server.client().await;
    let reply = c
        .error(
            json!({"type": "login", "user": "bob", "password": PASSWORD}),
            "banned",
        )
        .await;
    assert_until_in_minutes(&reply["until"], 30);
}

#[tokio::test]
async fn a_second_ban_replaces_the_first() {
    // Reading: the latest ban is the one in force, shorter or longer.
    let server = TestServer::start().await;
    let mut boss = admin(&server, "boss").await;
    server.account("bob").await;
    boss.ok(ban_req("bob", None, "first")).await;
    boss.ok(ban_req("bob", Some(5), "second")).await;
    let mut c = server.client().await;
    let reply = c
        .error(
            json!({"type": "login", "user": "bob", "password": PASSWORD}),
            "banned",
        )
        .await;
    assert_until_in_minutes(&reply["until"], 5);
}

#[tokio::test]
async fn a_ban_leaves_other_users_sessions_open() {
    let server = TestServer::start().await;
    let mut boss = admin(&server, "boss").await;
    let mut bob = server.user("bob").await;
    let mut carol = server.user("carol").await;
    settle_all3(&mut boss, &mut bob, &mut carol).await;
    boss.ok(ban_req("bob", Some(1), "short")).await;
    bob.expect_closed().await;
    carol.expect_event("presence").await;
    carol.say("#public", "unaffected").await;
    boss.say("#public", "unaffected too").await;
}

#[tokio::test]
async fn a_ban_survives_a_restart() {
    let server = TestServer::start().await;
    let mut boss = admin(&server, "boss").await;
    server.account("bob").await;
    server.account("carol").await;
    boss.ok(ban_req("bob", None, "for good")).await;
    boss.ok(ban_req("carol", Some(120), "for a while")).await;
    let mut c = server.client().await;
    let carol_until = c
        .error(
            json!({"type": "login", "user": "carol", "password": PASSWORD}),
            "banned",
        )
        .await["until"]
        .clone();
    drop((boss, c));

    let server = server.restart().await;
    let mut c = server.client().await;
    let reply = c
        .error(
            json!({"type": "login", "user": "bob", "password": PASSWORD}),
            "banned",
        )
        .await;
    assert!(reply.get("until").is_some_and(Value::is_null), "{reply}");
    let reply = c
        .error(
            json!({"type": "login", "user": "carol", "password": PASSWORD}),
            "banned",
        )
        .await;
    assert_eq!(reply["until"], carol_until, "{reply}");
}

// ----- unban ----------------------------------------------------------------

#[tokio::test]
async fn unban_lets_the_user_log_in_at_once() {
    let server = TestServer::start().await;
    let mut boss = admin(&server, "boss").await;
    let mut bob = server.user("bob").await;
    boss.settle().await;
    boss.ok(ban_req("bob", None, "oops")).await;
    bob.expect_closed().await;
    let p = boss.expect_event("presence").await;
    assert_eq!((&p["user"], &p["online"]), (&json!("bob"), &json!(false)));
    let ok = boss.request(u("unban", "Bob")).await;
    assert_eq!(ok, json!({"type": "ok", "id": ok["id"]}));
    // No event for anyone: the user has no session.
    boss.expect_silence().await;
    server.session("bob").await.say("#public", "thanks").await;
}

#[tokio::test]
async fn unban_of_a_user_who_is_not_banned_is_ok() {
    // Reading: unban makes sure the user is not banned; nothing to undo is
    // not an error.
    let server = TestServer::start().await;
    let mut boss = admin(&server, "boss").await;
    let mut bob = server.user("bob").await;
    boss.settle().await;
    boss.ok(u("unban", "bob")).await;
    bob.assert_open().await;
    bob.expect_silence().await;
    boss.expect_silence().await;
}

#[tokio::test]
async fn an_unban_survives_a_restart() {
    let server = TestServer::start().await;
    let mut boss = admin(&server, "boss").await;
    server.account("bob").await;
    boss.ok(ban_req("bob", None, "x")).await;
    boss.ok(u("unban", "bob")).await;
    drop(boss);
    let server = server.restart().await;
    server.session("bob").await;
}

// ----- set_role -------------------------------------------------------------

#[tokio::test]
async fn set_role_admin_tells_every_session_of_the_target_and_takes_effect_at_once() {
    let server = TestServer::start().await;
    let mut boss = admin(&server, "boss").await;
    let mut b1 = server.user("bob").await;
    let mut b2 = server.session("bob").await;
    let mut carol = server.user("carol").await;
    settle_all3(&mut boss, &mut b1, &mut carol).await;
    b2.settle().await;

    let ok = boss.request(set_role_req("BOB", "admin")).await;
    assert_eq!(ok, json!({"type": "ok", "id": ok["id"]}));
    for s in [&mut b1, &mut b2] {
        assert_eq!(
            s.expect_event("role").await,
            json!({"type": "role", "role": "admin", "by": "boss"})
        );
    }
    // Only bob hears of it.
    boss.expect_silence().await;
    carol.expect_silence().await;
    // Reading: the session that was told it is an admin is one now.
    audit_page(&mut b1, json!({"type": "audit", "limit": 1})).await;
    b2.ok(kick_user("carol", "new broom")).await;
    carol.expect_closed().await;
    assert_eq!(server.welcome_of("bob").await["role"], "admin");
}

#[tokio::test]
async fn a_promoted_admin_is_protected_like_any_admin() {
    let server = TestServer::start().await;
    let mut boss = admin(&server, "boss").await;
    server.account("bob").await;
    boss.ok(set_role_req("bob", "admin")).await;
    // An admin cannot demote another admin, even one it promoted.
    boss.error(set_role_req("bob", "user"), "forbidden").await;
    boss.error(kick_user("bob", "x"), "forbidden").await;
    assert_eq!(server.welcome_of("bob").await["role"], "admin");
}

#[tokio::test]
async fn set_role_to_the_role_the_user_already_has_is_ok_and_tells_nobody() {
    // Reading: as set_member_role in §12; setting an admin's role to admin
    // is not a demotion, so it is ok too.
    let server = TestServer::start().await;
    let mut boss = admin(&server, "boss").await;
    let mut chief = admin(&server, "chief").await;
    let mut bob = server.user("bob").await;
    settle_all3(&mut boss, &mut chief, &mut bob).await;
    boss.ok(set_role_req("bob", "user")).await;
    boss.ok(set_role_req("chief", "admin")).await;
    for c in [&mut boss, &mut chief, &mut bob] {
        c.expect_silence().await;
    }
    bob.error(json!({"type": "audit"}), "forbidden").await;
}

#[tokio::test]
async fn set_role_with_a_role_that_does_not_exist_is_bad_request() {
    let server = TestServer::start().await;
    let mut boss = admin(&server, "boss").await;
    let mut bob = server.user("bob").await;
    boss.settle().await;
    for role in [
        json!("owner"),
        json!("mod"),
        json!("Admin"),
        json!("ADMIN"),
        json!(""),
        json!(1),
        json!(null),
        json!(true),
    ] {
        boss.error(
            json!({"type": "set_role", "user": "bob", "role": role}),
            "bad_request",
        )
        .await;
    }
    boss.error(json!({"type": "set_role", "user": "bob"}), "bad_request")
        .await;
    bob.expect_silence().await;
    assert_eq!(server.welcome_of("bob").await["role"], "user");
}

#[tokio::test]
async fn a_role_given_by_an_admin_survives_a_restart() {
    let server = TestServer::start().await;
    let mut boss = admin(&server, "boss").await;
    server.account("bob").await;
    boss.ok(set_role_req("bob", "admin")).await;
    drop(boss);
    let server = server.restart().await;
    assert_eq!(server.welcome_of("bob").await["role"], "admin");
}

// ----- minutes, reason and user fields --------------------------------------

#[tokio::test]
async fn minutes_that_are_not_a_positive_integer_are_bad_request() {
    let server = TestServer::start().await;
    let mut boss = admin(&server, "boss").await;
    let mut bob = server.user("bob").await;
    boss.settle().await;
    for kind in ["ban", "mute"] {
        for minutes in [
            json!(0),
            json!(-1),
            json!(-60),
            json!(1.5),
            json!("10"),
            json!(true),
            json!([10]),
            json!({}),
        ] {
            boss.error(
                json!({"type": kind, "user": "bob", "minutes": minutes, "reason": "r"}),
                "bad_request",
            )
            .await;
        }
    }
    // Nothing was done to bob.
    bob.assert_open().await;
    bob.expect_silence().await;
    bob.say("#public", "not muted").await;
}

#[tokio::test]
async fn one_minute_and_a_very_long_ban_are_both_valid() {
    let server = TestServer::start().await;
    let mut boss = admin(&server, "boss").await;
    server.account("bob").await;
    server.account("carol").await;
    boss.ok(ban_req("bob", Some(1), "short")).await;
    // A century: a positive integer like any other.
    boss.ok(ban_req("carol", Some(100 * 365 * 24 * 60), "long"))
        .await;
    let mut c = server.client().await;
    let r = c
        .error(
            json!({"type": "login", "user": "bob", "password": PASSWORD}),
            "banned",
        )
        .await;
    assert_until_in_minutes(&r["until"], 1);
    let r = c
        .error(
            json!({"type": "login", "user": "carol", "password": PASSWORD}),
            "banned",
        )
        .await;
    assert_until_in_minutes(&r["until"], 100 * 365 * 24 * 60);
}

#[tokio::test]
async fn a_reason_over_512_bytes_or_breaking_the_text_rules_is_invalid_text() {
    let server = TestServer::start().await;
    let mut boss = admin(&server, "boss").await;
    let mut bob = server.user("bob").await;
    boss.settle().await;
    let too_long = "é".repeat(256) + "x"; // 513 bytes
    let bad = [
        too_long.as_str(),
        "",
        "   ",
        "\u{200b}",
        "bell\u{7}",
        "del\u{7f}",
        "bidi \u{202e}evil",
        "esc \u{1b}[2J",
    ];
    for reason in bad {
        for frame in [
            kick_user("bob", reason),
            ban_req("bob", Some(10), reason),
            ban_req("bob", None, reason),
            mute_req("bob", Some(10), reason),
            mute_req("bob", None, reason),
        ] {
            boss.error(frame, "invalid_text").await;
        }
    }
    bob.assert_open().await;
    bob.expect_silence().await;

    // Exactly 512 bytes, with a newline and a tab, is fine and delivered
    // exactly as sent.
    let longest = format!("line\n\t{}", "é".repeat(253));
    assert_eq!(longest.len(), 512);
    boss.ok(kick_user("bob", &longest)).await;
    let fatal = last_fatal(&bob.expect_closed().await);
    assert_eq!(fatal["reason"], longest.as_str());
}

#[tokio::test]
async fn a_mistyped_or_missing_field_is_bad_request() {
    let server = TestServer::start().await;
    let mut boss = admin(&server, "boss").await;
    let mut bob = server.user("bob").await;
    boss.settle().await;
    for kind in ["kick", "ban", "unban", "mute", "unmute", "set_role"] {
        boss.error(json!({"type": kind, "role": "admin"}), "bad_request")
            .await;
        boss.error(
            json!({"type": kind, "user": 7, "role": "admin"}),
            "bad_request",
        )
        .await;
        boss.error(
            json!({"type": kind, "user": null, "role": "admin"}),
            "bad_request",
        )
        .await;
    }
    for kind in ["kick", "ban", "mute"] {
        boss.error(
            json!({"type": kind, "user": "bob", "reason": 5}),
            "bad_request",
        )
        .await;
        boss.error(
            json!({"type": kind, "user": "bob", "reason": ["spam"]}),
            "bad_request",
        )
        .await;
    }
    bob.assert_open().await;
    bob.expect_silence().await;
}

/// Settles three clients.
async fn settle_all3(a: &mut TestClient, b: &mut TestClient, c: &mut TestClient) {
    a.settle().await;
    b.settle().await;
    c.settle().await;
}

//! §13 the audit log: what it records (register, login, logout, lockout,
//! kick, ban, unban, mute, unmute, set_role, delete_group,
//! delete_message), the shape of an entry, and how `audit` pages it
//! (newest first by `seq`, `before` exclusive, `limit` 1–200, `more`).
//! Entries made by the account command line (actor null) are checked in
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
use group_support::*;
use serde_json::{json, Value};

fn seqs(entries: &[Value]) -> Vec<u64> {
    entries.iter().map(|e| e["seq"].as_u64().unwrap()).collect()
}

/// Makes at least `n` audit entries quickly: kicks of an account with no
/// session, pipelined.
async fn make_entries(boss: &mut TestClient, target: &str, n: usize) {
    let mut ids = Vec::new();
    for i in 0..n {
        ids.push(
            boss.send_with_id(kick_user(target, &format!("kick {i}")))
                .await,
        );
    }
    for id in ids {
        let r = boss.reply_to(id).await;
        assert_eq!(r["type"], "ok", "{r}");
    }
}

// ----- who may --------------------------------------------------------------

#[tokio::test]
async fn audit_by_a_user_who_is_not_an_admin_is_forbidden() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    alice.error(json!({"type": "audit"}), "forbidden").await;
    alice
        .error(json!({"type": "audit", "limit": 0}), "forbidden")
        .await;
}

// ----- what is recorded ----------------------------------------------------

#[tokio::test]
async fn register_login_and_logout_are_recorded_with_the_address() {
    // Reading: for a user's own session the actor and the target are both
    // that user, spelled as registered.
    let server = TestServer::start().await;
    let mut boss = admin(&server, "boss").await;
    let mut c = server.client().await;
    c.register("Alice").await;
    c.logout().await;
    let alice = server.session("alice").await;
    alice.logout().await;

    let entries = audit_entries(&mut boss, 200).await;
    let mine: Vec<&Value> = entries.iter().filter(|e| e["target"] == "Alice").collect();
    let actions: Vec<&Value> = mine.iter().map(|e| &e["action"]).collect();
    assert_eq!(
        actions,
        [
            &json!("logout"),
            &json!("login"),
            &json!("logout"),
            &json!("register")
        ],
        "newest first: {mine:#?}"
    );
    for e in mine {
        assert_eq!(e["actor"], "Alice", "{e}");
        assert_detail_mentions(e, "127.0.0.1");
        assert_recent_ts(&e["ts"]);
    }
}

#[tokio::test]
async fn a_lockout_is_recorded_for_the_account() {
    // Reading: the actor of a lockout is null (nobody logged in did it).
    let server = TestServer::start().await;
    server.account("bob").await;
    let mut c = server.client().await;
    for _ in 0..5 {
        c.error(
            json!({"type": "login", "user": "bob", "password": "wrong password"}),
            "bad_credentials",
        )
        .await;
    }
    c.error(
        json!({"type": "login", "user": "bob", "password": PASSWORD}),
        "locked_out",
    )
    .await;
    let mut boss = admin(&server, "boss").await;
    let entries = audit_entries(&mut boss, 200).await;
    let e = entry_for(&entries, "lockout", "bob");
    assert_eq!(e["actor"], Value::Null, "{e}");
    assert_recent_ts(&e["ts"]);
}

#[tokio::test]
async fn every_admin_action_is_recorded_with_the_admin_as_actor() {
    let server = TestServer::start().await;
    let mut boss = admin(&server, "boss").await;
    server.account("Bob").await;
    boss.ok(kick_user("bob", "reason one")).await;
    boss.ok(ban_req("bob", Some(60), "reason two")).await;
    boss.ok(u("unban", "bob")).await;
    boss.ok(mute_req("bob", None, "reason three")).await;
    boss.ok(u("unmute", "bob")).await;
    boss.ok(set_role_req("bob", "admin")).await;

    let entries = audit_entries(&mut boss, 6).await;
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        actions,
        ["set_role", "unmute", "mute", "unban", "ban", "kick"],
        "newest first: {entries:#?}"
    );
    for e in &entries {
        assert_eq!(e["actor"], "boss", "{e}");
        assert_eq!(e["target"], "Bob", "the name as registered: {e}");
        assert_recent_ts(&e["ts"]);
    }
    // Reading: the detail says why (the reason) and, for set_role, what.
    assert_detail_mentions(&entries[5], "reason one");
    assert_detail_mentions(&entries[4], "reason two");
    assert_detail_mentions(&entries[2], "reason three");
    assert_detail_mentions(&entries[0], "admin");
}

#[tokio::test]
async fn refused_admin_requests_are_not_recorded() {
    // Reading: the log records actions taken, not attempts.
    let server = TestServer::start().await;
    let mut boss = admin(&server, "boss").await;
    let mut alice = server.user("alice").await;
    let before = audit_entries(&mut boss, 1).await;
    alice.error(kick_user("boss", "x"), "forbidden").await;
    boss.error(kick_user("boss", "x"), "self_target").await;
    boss.error(kick_user("nobody", "x"), "no_such_user").await;
    boss.error(ban_req("alice", None, ""), "invalid_text").await;
    assert_eq!(audit_entries(&mut boss, 1).await, before);
}

#[tokio::test]
async fn deleting_a_group_and_deleting_a_message_are_recorded() {
    // Readings: a group's owner deleting it is recorded like an admin
    // doing it, with the group's chat key as the target; a deleted
    // message's msg_id appears in the target or the detail.
    let server = TestServer::start().await;
    let mut boss = admin(&server, "boss").await;
    let mut alice = server.user("alice").await;
    create(&mut alice, "#Ops", "open").await;
    create(&mut alice, "#spare", "open").await;
    alice.ok(g("delete_group", "#ops")).await;
    boss.ok(g("delete_group", "#spare")).await;
    let id = alice.say_id("#public", "to be removed").await;
    boss.ok(delete_req("#public", id)).await;

    let entries = audit_entries(&mut boss, 200).await;
    let e = entry_for(&entries, "delete_group", "#Ops");
    assert_eq!(e["actor"], "alice", "{e}");
    let e = entry_for(&entries, "delete_group", "#spare");
    assert_eq!(e["actor"], "boss", "{e}");
    let e = entries
        .iter()
        .find(|e| e["action"] == "delete_message")
        .unwrap_or_else(|| panic!("no delete_message entry: {entries:#?}"));
    assert_eq!(e["actor"], "boss", "{e}");
    let id = id.to_string();
    assert!(
        e["target"].as_str().is_some_and(|t| t.contains(&id))
            || e["detail"].as_str().is_some_and(|d| d.contains(&id)),
        "the entry names message {id}: {e}"
    );
    assert_recent_ts(&e["ts"]);
}

// ----- paging ---------------------------------------------------------------

#[tokio::test]
async fn audit_pages_newest_first_by_a_positive_increasing_seq() {
    let server = TestServer::start().await;
    let mut boss = admin(&server, "boss").await;
    server.account("bob").await;
    make_entries(&mut boss, "bob", 12).await;
    let page = audit_page(&mut boss, json!({"type": "audit", "limit": 5})).await;
    assert_eq!(page["more"], true, "{page}");
    let first = page["entries"].as_array().unwrap().clone();
    assert_eq!(first.len(), 5);
    let s = seqs(&first);
    assert!(s.windows(2).all(|w| w[0] > w[1]), "newest first: {s:?}");
    // The newest is the last kick.
    assert_eq!(first[0]["action"], "kick");
    assert_detail_mentions(&first[0], "kick 11");

    // `before` is exclusive.
    let page = audit_page(
        &mut boss,
        json!({"type": "audit", "before": s[1], "limit": 2}),
    )
    .await;
    assert_eq!(page["entries"], json!(first[2..4]), "{page}");
    assert_eq!(page["more"], true);

    // A new entry gets a larger seq than every earlier one.
    boss.ok(kick_user("bob", "newest")).await;
    let newest = audit_entries(&mut boss, 1).await;
    assert!(newest[0]["seq"].as_u64().unwrap() > s[0], "{newest:?}");
}

#[tokio::test]
async fn paging_with_before_walks_the_whole_log_once_and_ends_with_more_false() {
    let server = TestServer::start().await;
    let mut boss = admin(&server, "boss").await;
    server.account("bob").await;
    make_entries(&mut boss, "bob", 20).await;
    let all = audit_page(&mut boss, json!({"type": "audit", "limit": 200})).await;
    assert_eq!(all["more"], false, "fewer than 200 entries: {all}");
    let all = all["entries"].as_array().unwrap().clone();
    assert!(all.len() >= 20, "{all:#?}");

    let mut walked = Vec::new();
    let mut frame = json!({"type": "audit", "limit": 7});
    loop {
        let page = audit_page(&mut boss, frame.clone()).await;
        let entries = page["entries"].as_array().unwrap();
        assert!(entries.len() <= 7);
        walked.extend(entries.iter().cloned());
        if page["more"] == false {
            break;
        }
        assert_eq!(entries.len(), 7, "a page with more is full: {page}");
        frame = json!({"type": "audit", "limit": 7, "before": entries.last().unwrap()["seq"]});
    }
    assert_eq!(walked, all);
    // Before the oldest entry there is nothing.
    let oldest = all.last().unwrap()["seq"].clone();
    let page = audit_page(&mut boss, json!({"type": "audit", "before": oldest})).await;
    assert_eq!(page["entries"], json!([]));
    assert_eq!(page["more"], false);
}

#[tokio::test]
async fn audit_limit_defaults_to_50_and_is_capped_at_200() {
    // Reading: as for history, a limit above 200 is served as 200.
    let server = TestServer::start().await;
    let mut boss = admin(&server, "boss").await;
    server.account("bob").await;
    make_entries(&mut boss, "bob", 230).await;
    let page = audit_page(&mut boss, json!({"type": "audit"})).await;
    assert_eq!(page["entries"].as_array().unwrap().len(), 50);
    assert_eq!(page["more"], true);
    for limit in [200, 201, 1000] {
        let page = audit_page(&mut boss, json!({"type": "audit", "limit": limit})).await;
        assert_eq!(page["entries"].as_array().unwrap().len(), 200, "{limit}");
        assert_eq!(page["more"], true);
    }
    let page = audit_page(&mut boss, json!({"type": "audit", "limit": 1})).await;
    assert_eq!(page["entries"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_bad_limit_or_before_is_bad_request() {
    let server = TestServer::start().await;
    let mut boss = admin(&server, "boss").await;
    for frame in [
        json!({"type": "audit", "limit": 0}),
        json!({"type": "audit", "limit": -1}),
        json!({"type": "audit", "limit": 1.5}),
        json!({"type": "audit", "limit": "10"}),
        json!({"type": "audit", "before": -1}),
        json!({"type": "audit", "before": 2.5}),
        json!({"type": "audit", "before": "9"}),
    ] {
        boss.error(frame, "bad_request").await;
    }
    boss.expect_silence().await;
}

#[tokio::test]
async fn the_audit_log_survives_a_restart_and_its_seq_keeps_increasing() {
    // Reading: a log of who did what is kept in the database like the
    // bans it records.
    let server = TestServer::start().await;
    let mut boss = admin(&server, "boss").await;
    server.account("bob").await;
    boss.ok(ban_req("bob", None, "remember me")).await;
    let before = audit_entries(&mut boss, 200).await;
    drop(boss);

    let server = server.restart().await;
    let mut boss = server.session("boss").await;
    let after = audit_entries(&mut boss, 200).await;
    // The new login is the newest entry, and everything before is kept.
    assert_eq!(after[0]["action"], "login", "{after:#?}");
    assert!(after[0]["seq"].as_u64() > before[0]["seq"].as_u64());
    assert!(
        after.ends_with(&before),
        "the old entries are unchanged: {after:#?}"
    );
    assert_detail_mentions(entry_for(&after, "ban", "bob"), "remember me");
}

#[tokio::test]
async fn a_timed_ban_is_recorded_with_its_end_as_a_readable_utc_time() {
    // Reading: the log is read by people (`tchat-server audit`, the
    // client's view), so the end of a ban is a date, not a raw `ts`.
    let server = TestServer::start().await;
    let mut boss = admin(&server, "boss").await;
    server.account("bob").await;
    boss.ok(ban_req("bob", Some(60), "spam")).await;
    let entries = audit_entries(&mut boss, 1).await;
    let detail = entries[0]["detail"].as_str().unwrap();
    assert!(
        detail.contains(" UTC") && detail.contains("spam"),
        "{detail}"
    );
    assert!(
        !detail
            .split(|c: char| !c.is_ascii_digit())
            .any(|n| n.len() >= 10),
        "no raw timestamp: {detail}"
    );
}

//! Helpers for the §13 administration conformance tests: request builders,
//! the fatal error a kicked or banned session ends with, and audit-log
//! lookups. Admins are made with `group_support::admin` (straight in the
//! database, before the account logs in).
#![allow(dead_code)]

use serde_json::{json, Value};

use crate::common::*;

pub fn kick_user(user: &str, reason: &str) -> Value {
    json!({"type": "kick", "user": user, "reason": reason})
}

/// A ban for `minutes`, or for good with `None`.
pub fn ban_req(user: &str, minutes: Option<u64>, reason: &str) -> Value {
    let mut f = json!({"type": "ban", "user": user, "reason": reason});
    if let Some(m) = minutes {
        f["minutes"] = json!(m);
    }
    f
}

/// A mute for `minutes`, or for good with `None`.
pub fn mute_req(user: &str, minutes: Option<u64>, reason: &str) -> Value {
    let mut f = json!({"type": "mute", "user": user, "reason": reason});
    if let Some(m) = minutes {
        f["minutes"] = json!(m);
    }
    f
}

/// `{"type": kind, "user": user}`: unban, unmute, and the reasonless forms.
pub fn u(kind: &str, user: &str) -> Value {
    json!({"type": kind, "user": user})
}

pub fn set_role_req(user: &str, role: &str) -> Value {
    json!({"type": "set_role", "user": user, "role": role})
}

pub fn delete_req(chat: &str, msg_id: u64) -> Value {
    json!({"type": "delete_message", "chat": chat, "msg_id": msg_id})
}

/// One of every §13 request, aimed at `user`.
pub fn every_admin_request(user: &str) -> Vec<Value> {
    vec![
        kick_user(user, "spam"),
        ban_req(user, Some(60), "spam"),
        ban_req(user, None, "spam"),
        u("unban", user),
        mute_req(user, Some(10), "spam"),
        mute_req(user, None, "spam"),
        u("unmute", user),
        set_role_req(user, "admin"),
        set_role_req(user, "user"),
        json!({"type": "audit"}),
    ]
}

/// The frames a session got before it was closed must end with one fatal
/// error; that error is returned.
pub fn last_fatal(frames: &[Value]) -> Value {
    let last = frames
        .last()
        .unwrap_or_else(|| panic!("the session was closed without a word"));
    assert_eq!(
        last["type"], "error",
        "the last frame is the error: {frames:?}"
    );
    assert_eq!(last["fatal"], true, "the error is fatal: {last}");
    assert!(last.get("id").is_none(), "an event, not a reply: {last}");
    assert!(
        last["message"].as_str().is_some_and(|m| !m.is_empty()),
        "a readable message: {last}"
    );
    last.clone()
}

/// `frame` without its `message` (which is free English text).
pub fn without_message(frame: &Value) -> Value {
    let mut f = frame.clone();
    f.as_object_mut().expect("an object").remove("message");
    f
}

/// The `until` an `n`-minute sanction given now should carry: asserts `ts`
/// is within a minute of it.
pub fn assert_until_in_minutes(until: &Value, minutes: i64) {
    let until = until
        .as_i64()
        .unwrap_or_else(|| panic!("until is an integer ts: {until}"));
    let expected = now_ms() + minutes * 60_000;
    assert!(
        (until - expected).abs() < 60_000,
        "until {until} is {minutes} minutes from now ({expected})"
    );
}

/// The `audit` reply to `frame` (which must be an `audit` request), after
/// checking its shape.
pub async fn audit_page(admin: &mut TestClient, frame: Value) -> Value {
    let reply = admin.request(frame).await;
    assert_eq!(reply["type"], "audit", "{reply}");
    assert_eq!(
        keys(&reply),
        key_list(&["type", "id", "entries", "more"]),
        "{reply}"
    );
    assert!(reply["more"].is_boolean(), "{reply}");
    for e in reply["entries"]
        .as_array()
        .unwrap_or_else(|| panic!("entries is an array: {reply}"))
    {
        assert_audit_entry_shape(e);
    }
    reply
}

/// The newest `limit` audit entries (one page).
pub async fn audit_entries(admin: &mut TestClient, limit: u64) -> Vec<Value> {
    let page = audit_page(admin, json!({"type": "audit", "limit": limit})).await;
    page["entries"].as_array().unwrap().clone()
}

/// Every field an audit entry has, with its type.
pub fn assert_audit_entry_shape(e: &Value) {
    assert_eq!(
        keys(e),
        key_list(&["seq", "ts", "actor", "action", "target", "detail"]),
        "audit entry fields: {e}"
    );
    assert!(e["seq"].as_u64().is_some_and(|s| s > 0), "seq: {e}");
    assert!(e["ts"].is_i64(), "ts: {e}");
    assert!(e["action"].is_string(), "action: {e}");
    for field in ["actor", "target", "detail"] {
        assert!(
            e[field].is_string() || e[field].is_null(),
            "{field} is a string or null: {e}"
        );
    }
}

/// The newest entry with `action` and `target` among `entries`.
pub fn find_entry<'a>(entries: &'a [Value], action: &str, target: &str) -> Option<&'a Value> {
    entries
        .iter()
        .find(|e| e["action"] == action && e["target"] == target)
}

/// Like [`find_entry`], failing the test when there is none.
pub fn entry_for<'a>(entries: &'a [Value], action: &str, target: &str) -> &'a Value {
    find_entry(entries, action, target)
        .unwrap_or_else(|| panic!("no {action} entry for {target} in {entries:#?}"))
}

/// A `detail` that is a string containing `part`.
pub fn assert_detail_mentions(e: &Value, part: &str) {
    assert!(
        e["detail"].as_str().is_some_and(|d| d.contains(part)),
        "detail mentions {part:?}: {e}"
    );
}

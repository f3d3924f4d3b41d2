//! Helpers for the §12 group-chat conformance tests: request builders, a
//! group set up in one call, and comparisons that ignore the order of
//! member lists (the contract does not fix it).
#![allow(dead_code)]

use serde_json::{json, Value};
use tchat::protocol::Role;

use crate::common::*;

/// `{"type": kind, "chat": chat}`: join, leave, decline_invite,
/// delete_group, members, history.
pub fn g(kind: &str, chat: &str) -> Value {
    json!({"type": kind, "chat": chat})
}

/// `{"type": kind, "chat": chat, "user": user}`: invite, kick_member.
pub fn gu(kind: &str, chat: &str, user: &str) -> Value {
    json!({"type": kind, "chat": chat, "user": user})
}

pub fn create_req(chat: &str, kind: &str) -> Value {
    json!({"type": "create_group", "chat": chat, "kind": kind})
}

pub fn topic_req(chat: &str, topic: &str) -> Value {
    json!({"type": "set_topic", "chat": chat, "topic": topic})
}

pub fn role_req(chat: &str, user: &str, role: &str) -> Value {
    json!({"type": "set_member_role", "chat": chat, "user": user, "role": role})
}

pub fn kick_req(chat: &str, user: &str, reason: &str) -> Value {
    json!({"type": "kick_member", "chat": chat, "user": user, "reason": reason})
}

pub fn send_req(chat: &str, text: &str) -> Value {
    json!({"type": "send", "chat": chat, "text": text})
}

pub fn mark_req(chat: &str, msg_id: u64) -> Value {
    json!({"type": "mark_read", "chat": chat, "msg_id": msg_id})
}

/// One entry of a `members` list or of `group_joined.members`.
pub fn member(user: &str, role: &str, online: bool, status: &str) -> Value {
    json!({"user": user, "role": role, "online": online, "status": status})
}

/// `list` (an array of objects with `user`) sorted by user, case-insensitively.
pub fn by_user(list: &Value) -> Vec<Value> {
    let mut v = list
        .as_array()
        .unwrap_or_else(|| panic!("an array of members: {list}"))
        .clone();
    v.sort_by_key(|m| m["user"].as_str().unwrap_or_default().to_lowercase());
    v
}

/// `list` (an array of objects with `chat`) sorted by chat, case-insensitively.
pub fn by_chat(list: &Value) -> Vec<Value> {
    let mut v = list
        .as_array()
        .unwrap_or_else(|| panic!("an array of groups: {list}"))
        .clone();
    v.sort_by_key(|m| m["chat"].as_str().unwrap_or_default().to_lowercase());
    v
}

/// A frame whose `members` array is sorted by user, so that two frames
/// compare equal whatever order the server listed the members in.
pub fn with_sorted_members(frame: &Value) -> Value {
    let mut f = frame.clone();
    if f.get("members").is_some_and(Value::is_array) {
        f["members"] = Value::Array(by_user(&frame["members"]));
    }
    f
}

/// The `group_joined` event the contract describes.
pub fn joined(chat: &str, kind: &str, topic: &str, role: &str, members: &[Value]) -> Value {
    json!({
        "type": "group_joined",
        "chat": chat,
        "kind": kind,
        "topic": topic,
        "role": role,
        "members": members,
    })
}

/// `owner` creates `chat` of `kind` and gets its `group_joined`.
pub async fn create(owner: &mut TestClient, chat: &str, kind: &str) -> Value {
    owner.ok(create_req(chat, kind)).await;
    let ev = owner.expect_event("group_joined").await;
    assert_eq!(ev["chat"], chat, "{ev}");
    ev
}

/// `c` joins `chat` and gets its `group_joined`.
pub async fn join(c: &mut TestClient, chat: &str) -> Value {
    c.ok(g("join", chat)).await;
    let ev = c.expect_event("group_joined").await;
    assert_eq!(
        ev["chat"].as_str().map(str::to_lowercase),
        Some(chat.to_lowercase()),
        "{ev}"
    );
    ev
}

/// `inviter` invites `invitee` (logged in) to `chat`; `invitee` sees the
/// `group_invite`.
pub async fn invite(inviter: &mut TestClient, invitee: &mut TestClient, chat: &str, user: &str) {
    inviter.ok(gu("invite", chat, user)).await;
    let ev = invitee.expect_event("group_invite").await;
    assert_eq!(
        ev["chat"].as_str().map(str::to_lowercase),
        Some(chat.to_lowercase()),
        "{ev}"
    );
}

/// `owner` creates `chat` of `kind` and every client in `members` joins
/// (after an invitation from `owner` when the group is `invite`), in order.
/// `names` are the members' user names, in the same order. Everyone,
/// `others` included, is settled afterwards.
pub async fn group(
    owner: &mut TestClient,
    chat: &str,
    kind: &str,
    members: &mut [(&mut TestClient, &str)],
    others: &mut [&mut TestClient],
) {
    create(owner, chat, kind).await;
    for (c, name) in members.iter_mut() {
        if kind == "invite" {
            invite(owner, c, chat, name).await;
        }
        join(c, chat).await;
    }
    owner.settle().await;
    for (c, _) in members.iter_mut() {
        c.settle().await;
    }
    for c in others.iter_mut() {
        c.settle().await;
    }
}

/// Settles every client: waits for what is queued for it and drops it.
pub async fn settle_all(clients: &mut [&mut TestClient]) {
    for c in clients.iter_mut() {
        c.settle().await;
    }
}

/// Asserts silence on every client.
pub async fn silence_all(clients: &mut [&mut TestClient]) {
    for c in clients.iter_mut() {
        c.expect_silence().await;
    }
}

/// Makes `name` a server admin straight in the database (the role is read
/// at login) and returns a logged-in session of it.
pub async fn admin(server: &TestServer, name: &str) -> TestClient {
    server.account(name).await;
    server.admin(|admin| {
        admin
            .set_role(name, Role::Admin)
            .expect("set the admin role")
    });
    let c = server.session(name).await;
    assert_eq!(c.welcome["role"], "admin", "{}", c.welcome);
    c
}

/// An error reply with its id removed and every mention of `name` (with
/// or without its `#`, in any casing) replaced by a placeholder, so that the
/// answers about two different names can be compared.
pub fn anonymized(reply: &Value, name: &str) -> Value {
    let mut r = reply.clone();
    r.as_object_mut().expect("an object").remove("id");
    if let Some(m) = reply["message"].as_str() {
        let bare = name.trim_start_matches('#').to_ascii_lowercase();
        let lower = m.to_ascii_lowercase();
        let mut out = String::new();
        let mut at = 0;
        while let Some(pos) = lower[at..].find(&bare) {
            out.push_str(&m[at..at + pos]);
            out.push_str("<name>");
            at += pos + bare.len();
        }
        out.push_str(&m[at..]);
        r["message"] = json!(out);
    }
    r
}

/// The msg_ids of a `history` reply, in order.
pub fn ids_of(history: &Value) -> Vec<u64> {
    history["messages"]
        .as_array()
        .unwrap_or_else(|| panic!("history has messages: {history}"))
        .iter()
        .map(|m| m["msg_id"].as_u64().expect("msg_id"))
        .collect()
}

/// The entry for `chat` in a list of `{chat, …}` objects (welcome.groups,
/// welcome.invites, groups.groups), compared case-insensitively.
pub fn entry<'a>(list: &'a Value, chat: &str) -> Option<&'a Value> {
    list.as_array()
        .unwrap_or_else(|| panic!("an array: {list}"))
        .iter()
        .find(|e| {
            e["chat"]
                .as_str()
                .is_some_and(|c| c.eq_ignore_ascii_case(chat))
        })
}

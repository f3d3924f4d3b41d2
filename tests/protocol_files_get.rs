//! §14 file transfer, receiving: `file_get` (`file_info`, `file_data` in
//! order, `file_end`, resuming from an offset, other frames interleaved),
//! a second `file_get` replacing the first, `file_get_cancel`, and who may
//! fetch a file: whoever can read the chat it was posted in, and nobody
//! once the message or its group is deleted (`no_such_file`).
//!
//! Written from the contract before the server implemented §14: where the
//! contract leaves a choice, the comment at the assertion says which
//! reading is tested.

mod admin_support;
mod common;
mod file_support;
mod group_support;

use admin_support::*;
use common::*;
use file_support::*;
use group_support::*;
use serde_json::{json, Value};

/// A file of a few hundred KB, so that a download takes many `file_data`
/// frames.
const BIG: usize = 300_000;

/// Asserts `c` gets `no_such_file` for `file_get` of `file_id`, and no
/// download event follows.
async fn no_such_file(c: &mut TestClient, file_id: &str) {
    let r = c.request(get_req(file_id, 0)).await;
    assert_eq!(r["type"], "error", "{r}");
    assert_eq!(r["code"], "no_such_file", "{r}");
    assert!(r["message"].as_str().is_some_and(|m| !m.is_empty()), "{r}");
    let later = c.settle().await;
    assert!(
        later.iter().all(|v| !is_download_event(v, file_id)),
        "nothing of {file_id} arrives: {later:?}"
    );
}

// ----- file_get -------------------------------------------------------------------

#[tokio::test]
async fn file_get_answers_file_info_then_the_data_in_order_then_file_end() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    let mut b2 = server.session("bob").await;
    let bytes = data(BIG, 60);
    let frame = offer_req_with(
        "#public",
        "data.tar",
        &bytes,
        "application/x-tar",
        "all of it",
    );
    let posted = post_with(&mut alice, frame, &bytes).await;
    settle_all(&mut [&mut alice, &mut bob, &mut b2]).await;

    let id = bob.send_with_id(get_req(&posted.file_id, 0)).await;
    let info = bob.reply_to(id).await;
    assert_eq!(
        info,
        file_info(
            &json!(id),
            &posted.file_id,
            "data.tar",
            &bytes,
            "application/x-tar"
        )
    );
    let got = read_download(&mut bob, &posted.file_id, 0).await;
    assert!(got == bytes, "the bytes as posted");
    assert_eq!(sha_hex(&got), sha_hex(&bytes));
    // The download is this session's alone.
    silence_all(&mut [&mut alice, &mut bob, &mut b2]).await;
    // The uploader may fetch it too, as many times as it likes.
    download(&mut alice, &posted.file_id, &bytes).await;
    download(&mut alice, &posted.file_id, &bytes).await;
}

#[tokio::test]
async fn file_get_from_an_offset_resumes_there() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let bytes = data(100_000, 61);
    let posted = post(&mut alice, "#public", "a.bin", &bytes).await;
    for offset in [1, 1000, CHUNK, CHUNK + 1, 99_999, 100_000] {
        let (info, got) = download_from(&mut alice, &posted.file_id, offset).await;
        // file_info describes the whole file, whatever the offset.
        assert_eq!(info["size"], 100_000, "{info}");
        assert_eq!(info["sha256"], sha_hex(&bytes), "{info}");
        assert!(got == bytes[offset..], "the bytes from {offset}");
    }
}

#[tokio::test]
async fn file_get_past_the_end_is_a_bad_request() {
    // Reading: an offset beyond `size` is a malformed request; `size`
    // itself is a download of nothing (see above).
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let bytes = data(1000, 62);
    let posted = post(&mut alice, "#public", "a.bin", &bytes).await;
    alice
        .error(get_req(&posted.file_id, 1001), "bad_request")
        .await;
    let later = alice.settle().await;
    assert!(
        later.iter().all(|v| !is_download_event(v, &posted.file_id)),
        "{later:?}"
    );
}

#[tokio::test]
async fn file_get_without_an_id_is_a_bad_request_and_sends_nothing() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let bytes = data(1000, 63);
    let posted = post(&mut alice, "#public", "a.bin", &bytes).await;
    alice.settle().await;
    alice.send_json(get_req(&posted.file_id, 0)).await;
    let e = alice.expect_event("error").await;
    assert_error(&e, "bad_request", &json!({}));
    assert!(e.get("id").is_none(), "{e}");
    alice.expect_silence().await;
}

#[tokio::test]
async fn file_get_with_a_missing_or_mistyped_field_is_a_bad_request() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let posted = post(&mut alice, "#public", "a.bin", &data(10, 64)).await;
    let good = get_req(&posted.file_id, 0);
    for (field, value) in [
        ("file_id", json!(1)),
        ("file_id", json!(null)),
        ("offset", json!(-1)),
        ("offset", json!("0")),
        ("offset", json!(1.5)),
    ] {
        let mut bad = good.clone();
        bad[field] = value;
        alice.error(bad, "bad_request").await;
    }
    let mut missing = good.clone();
    missing.as_object_mut().unwrap().remove("file_id");
    alice.error(missing, "bad_request").await;
    let mut missing = get_cancel_req("x");
    missing.as_object_mut().unwrap().remove("file_id");
    alice.error(missing, "bad_request").await;
}

#[tokio::test]
async fn other_events_and_replies_interleave_with_a_download() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    let bytes = data(BIG, 65);
    let posted = post(&mut alice, "#public", "a.bin", &bytes).await;
    settle_all(&mut [&mut alice, &mut bob]).await;

    let id = bob.send_with_id(get_req(&posted.file_id, 0)).await;
    let text_id = alice.say_id("#public", "meanwhile").await;
    // A request sent after file_get is answered while the data flows (the
    // download does not hold the connection).
    bob.assert_open().await;
    let m = bob.expect_message("#public").await;
    assert_eq!(m["msg_id"], text_id);
    let info = bob.reply_to(id).await;
    assert_eq!(info["type"], "file_info", "{info}");
    let got = read_download(&mut bob, &posted.file_id, 0).await;
    assert!(got == bytes);
    // Bob may chat during a download too.
    let mut bob_says = 0;
    let id = bob.send_with_id(get_req(&posted.file_id, 0)).await;
    for i in 0..3 {
        bob.say("#public", &format!("while downloading {i}")).await;
        bob_says += 1;
    }
    assert_eq!(bob.reply_to(id).await["type"], "file_info");
    assert!(read_download(&mut bob, &posted.file_id, 0).await == bytes);
    for _ in 0..bob_says {
        alice
            .expect_event_where("a message from bob", |v| {
                v["type"] == "message" && v["from"] == "bob"
            })
            .await;
    }
}

#[tokio::test]
async fn two_different_files_download_side_by_side() {
    // Reading: only a second file_get for the *same* file replaces the
    // first; downloads of different files run together.
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let one = data(BIG / 2, 66);
    let two = data(BIG / 2, 67);
    let p1 = post(&mut alice, "#public", "one.bin", &one).await;
    let p2 = post(&mut alice, "#public", "two.bin", &two).await;
    alice.settle().await;
    let id1 = alice.send_with_id(get_req(&p1.file_id, 0)).await;
    let id2 = alice.send_with_id(get_req(&p2.file_id, 0)).await;
    assert_eq!(alice.reply_to(id1).await["name"], "one.bin");
    assert_eq!(alice.reply_to(id2).await["name"], "two.bin");
    assert!(read_download(&mut alice, &p2.file_id, 0).await == two);
    assert!(read_download(&mut alice, &p1.file_id, 0).await == one);
}

#[tokio::test]
async fn a_second_file_get_for_the_same_file_replaces_the_first() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let bytes = data(BIG, 68);
    let posted = post(&mut alice, "#public", "a.bin", &bytes).await;
    alice.settle().await;
    let fid = posted.file_id.as_str();
    let resume_at = 150_000;

    let first = alice.send_with_id(get_req(fid, 0)).await;
    let second = alice.send_with_id(get_req(fid, resume_at)).await;
    let (before, reply) = frames_until_reply(&mut alice, second).await;
    assert_eq!(reply["type"], "file_info", "{reply}");
    // Before the second reply: the first reply, then (maybe) some of the
    // first download, in order from 0. It may even have finished.
    let mut at = 0;
    let mut saw_first_reply = false;
    for v in &before {
        if v["id"] == json!(first) {
            assert_eq!(v["type"], "file_info", "{v}");
            saw_first_reply = true;
        } else if v["type"] == "file_data" && v["file_id"] == fid {
            assert!(saw_first_reply, "data after its file_info: {v}");
            assert_eq!(v["offset"], at, "the first download in order");
            at += unb64(&v["data"]).len();
        }
    }
    assert!(saw_first_reply, "replies come in order: {before:?}");
    // After it: only the second download, from its offset, with one end.
    let got = read_download(&mut alice, fid, resume_at).await;
    assert!(got == bytes[resume_at..]);
    let rest = alice.settle().await;
    assert!(
        rest.iter().all(|v| !is_download_event(v, fid)),
        "nothing more of the first download: {rest:?}"
    );
}

#[tokio::test]
async fn file_get_cancel_stops_the_download() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let bytes = data(BIG, 69);
    let posted = post(&mut alice, "#public", "a.bin", &bytes).await;
    alice.settle().await;
    let fid = posted.file_id.as_str();
    let get = alice.send_with_id(get_req(fid, 0)).await;
    let cancel = alice.send_with_id(get_cancel_req(fid)).await;
    let (before, reply) = frames_until_reply(&mut alice, cancel).await;
    assert_eq!(reply, json!({"type": "ok", "id": cancel}));
    assert_eq!(before[0]["id"], get, "{before:?}");
    assert_eq!(before[0]["type"], "file_info", "{before:?}");
    let rest = alice.settle().await;
    assert!(
        rest.iter().all(|v| !is_download_event(v, fid)),
        "nothing after the ok: {rest:?}"
    );
    // The file can be fetched again afterwards.
    download(&mut alice, fid, &bytes).await;
}

#[tokio::test]
async fn file_get_cancel_of_a_file_one_may_not_read_is_no_such_file() {
    // Reading: file_get_cancel names the file as file_get does, so an
    // unknown or unreadable file_id is `no_such_file`.
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    let mut carol = server.user("carol").await;
    open_chat(&mut alice, "alice", &mut bob, "bob").await;
    let posted = post(&mut alice, "@bob", "a.bin", &data(10, 70)).await;
    carol.error(get_cancel_req("nope"), "no_such_file").await;
    carol
        .error(get_cancel_req(&posted.file_id), "no_such_file")
        .await;
}

// ----- who may fetch ---------------------------------------------------------------

#[tokio::test]
async fn a_public_file_is_for_every_logged_in_user_muted_or_not() {
    let server = TestServer::start().await;
    let mut boss = admin(&server, "boss").await;
    let mut alice = server.user("alice").await;
    let bytes = data(5000, 71);
    let posted = post(&mut alice, "#public", "a.bin", &bytes).await;
    // Someone who registers afterwards, an admin, a muted user.
    let mut late = server.user("late").await;
    download(&mut late, &posted.file_id, &bytes).await;
    download(&mut boss, &posted.file_id, &bytes).await;
    boss.ok(mute_req("late", None, "shh")).await;
    late.expect_event("muted").await;
    download(&mut late, &posted.file_id, &bytes).await;
}

#[tokio::test]
async fn a_private_file_is_for_the_two_partners_only() {
    let server = TestServer::start().await;
    let mut boss = admin(&server, "boss").await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    let mut carol = server.user("carol").await;
    open_chat(&mut alice, "alice", &mut bob, "bob").await;
    let bytes = data(5000, 72);
    let posted = post(&mut alice, "@bob", "a.bin", &bytes).await;
    download(&mut bob, &posted.file_id, &bytes).await;
    no_such_file(&mut carol, &posted.file_id).await;
    // Admins do not read private chats.
    no_such_file(&mut boss, &posted.file_id).await;
    // Carol's own chat with alice does not open alice's chat with bob.
    open_chat(&mut alice, "alice", &mut carol, "carol").await;
    no_such_file(&mut carol, &posted.file_id).await;
}

#[tokio::test]
async fn a_private_file_stays_readable_after_the_chat_ended() {
    // Reading: an ended chat's history stays readable, so its files do.
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    open_chat(&mut alice, "alice", &mut bob, "bob").await;
    let bytes = data(5000, 73);
    let posted = post(&mut alice, "@bob", "a.bin", &bytes).await;
    bob.ok(json!({"type": "end_chat", "user": "alice"})).await;
    alice.expect_event("chat_ended").await;
    download(&mut bob, &posted.file_id, &bytes).await;
    download(&mut alice, &posted.file_id, &bytes).await;
}

#[tokio::test]
async fn a_group_file_is_for_its_members_only() {
    let server = TestServer::start().await;
    let mut boss = admin(&server, "boss").await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    let mut carol = server.user("carol").await;
    let mut dave = server.user("dave").await;
    group(
        &mut alice,
        "#rust",
        "open",
        &mut [(&mut bob, "bob")],
        &mut [&mut boss, &mut carol, &mut dave],
    )
    .await;
    let bytes = data(5000, 74);
    let posted = post(&mut alice, "#rust", "a.bin", &bytes).await;
    download(&mut bob, &posted.file_id, &bytes).await;
    // Not a member; an admin who is not a member (§12: no reading).
    no_such_file(&mut carol, &posted.file_id).await;
    no_such_file(&mut boss, &posted.file_id).await;
    // A member who joins later reads the whole history, files included.
    join(&mut carol, "#rust").await;
    download(&mut carol, &posted.file_id, &bytes).await;
    // A member who left reads none of it.
    bob.ok(g("leave", "#rust")).await;
    no_such_file(&mut bob, &posted.file_id).await;
    // Nor does one who was kicked.
    alice.ok(kick_req("#rust", "carol", "bye")).await;
    carol.expect_event("group_left").await;
    no_such_file(&mut carol, &posted.file_id).await;
    no_such_file(&mut dave, &posted.file_id).await;
}

#[tokio::test]
async fn the_files_of_a_deleted_group_are_no_such_file() {
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
    let bytes = data(5000, 75);
    let posted = post(&mut bob, "#rust", "a.bin", &bytes).await;
    alice.ok(g("delete_group", "#rust")).await;
    bob.expect_event("group_left").await;
    no_such_file(&mut alice, &posted.file_id).await;
    no_such_file(&mut bob, &posted.file_id).await;
    // A new group of the same name does not inherit them.
    create(&mut alice, "#rust", "open").await;
    no_such_file(&mut alice, &posted.file_id).await;
}

#[tokio::test]
async fn a_deleted_file_message_is_no_such_file_and_has_no_file_in_history() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    bob.settle().await;
    let bytes = data(5000, 76);
    let frame = offer_req_with("#public", "oops.txt", &bytes, "text/plain", "wrong file");
    let posted = post_with(&mut alice, frame, &bytes).await;
    bob.expect_message("#public").await;
    alice.ok(delete_req("#public", posted.msg_id)).await;
    assert_eq!(
        bob.expect_event("message_deleted").await,
        json!({"type": "message_deleted", "chat": "#public", "msg_id": posted.msg_id,
               "by": "alice"})
    );
    let h = bob.request(g("history", "#public")).await;
    assert_eq!(
        h["messages"],
        json!([{"type": "message", "chat": "#public", "msg_id": posted.msg_id,
                "ts": posted.ts, "from": "alice", "text": "", "deleted": true}]),
        "no file on a deleted message: {h}"
    );
    no_such_file(&mut bob, &posted.file_id).await;
    no_such_file(&mut alice, &posted.file_id).await;
}

#[tokio::test]
async fn an_unfinished_upload_cannot_be_fetched_even_by_its_uploader() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    let bytes = data(5000, 77);
    let file_id = upload(&mut alice, offer_req("#public", "a.bin", &bytes), &bytes).await;
    no_such_file(&mut alice, &file_id).await;
    no_such_file(&mut bob, &file_id).await;
}

#[tokio::test]
async fn no_such_file_tells_a_hidden_file_from_a_missing_one_in_nothing() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    let mut carol = server.user("carol").await;
    open_chat(&mut alice, "alice", &mut bob, "bob").await;
    let posted = post(&mut alice, "@bob", "a.bin", &data(10, 78)).await;
    let hidden = carol.request(get_req(&posted.file_id, 0)).await;
    let missing = carol.request(get_req("no-such-file-id", 0)).await;
    let strip = |r: &Value| {
        let mut v = sans_message(r);
        v.as_object_mut().unwrap().remove("id");
        v
    };
    assert_eq!(strip(&hidden), strip(&missing));
    assert_eq!(hidden["code"], "no_such_file");
}

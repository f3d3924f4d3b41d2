//! §14 file transfer, sending part two: `file_chunk` (offsets, size,
//! base64, replies, pacing and the frame rate), `file_done` (size and
//! checksum, the chat checked again, the `message` with `file` to everyone
//! who reads the chat, history), `file_cancel`, and resuming an upload cut
//! off by a lost connection.
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

/// The `error` reply with `code` to the request with `id`, without its
/// message (which must be there).
fn error_of(r: &Value, code: &str) -> Value {
    assert!(r["message"].as_str().is_some_and(|m| !m.is_empty()), "{r}");
    json!({"type": "error", "id": r["id"], "code": code})
}

/// Sends `frame` and asserts the reply is `bad_request` with `offset`.
async fn expect_offset_error(c: &mut TestClient, frame: Value, held: usize) {
    let what = frame.clone();
    let r = c.request(frame).await;
    assert_eq!(r["type"], "error", "{what}: {r}");
    assert!(r["message"].as_str().is_some_and(|m| !m.is_empty()), "{r}");
    assert_eq!(sans_message(&r), offset_error(&r["id"], held), "{what}");
}

/// Waits until `watcher` hears that `user` (whose only session was just
/// cut off) went offline: the server has seen the connection end.
async fn gone_offline(watcher: &mut TestClient, user: &str) {
    watcher
        .expect_event_where("presence offline", |v| {
            v["type"] == "presence" && v["user"] == user && v["online"] == false
        })
        .await;
}

// ----- file_chunk: replies ----------------------------------------------------

#[tokio::test]
async fn a_chunk_with_an_id_is_answered_ok_and_one_without_is_not_answered() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    bob.settle().await;
    let bytes = data(3000, 30);
    let file_id = offer(&mut alice, offer_req("#public", "a.bin", &bytes)).await;
    alice.settle().await;
    let r = alice.request(chunk_req(&file_id, 0, &bytes[..1000])).await;
    assert_eq!(r, json!({"type": "ok", "id": r["id"]}));
    alice
        .send_json(chunk_req(&file_id, 1000, &bytes[1000..2000]))
        .await;
    alice
        .send_json(chunk_req(&file_id, 2000, &bytes[2000..]))
        .await;
    alice.expect_silence().await;
    let posted = done(&mut alice, &file_id).await;
    assert_eq!(
        bob.expect_message("#public").await["msg_id"],
        posted["msg_id"]
    );
    download(&mut bob, &file_id, &bytes).await;
}

// ----- file_chunk: offsets ----------------------------------------------------

#[tokio::test]
async fn a_chunk_at_the_wrong_offset_is_a_bad_request_naming_the_bytes_held() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    let bytes = data(10_000, 31);
    let file_id = offer(&mut alice, offer_req("#public", "a.bin", &bytes)).await;
    // Before anything is held, only 0 will do.
    expect_offset_error(&mut alice, chunk_req(&file_id, 1, &bytes[1..10]), 0).await;
    alice.ok(chunk_req(&file_id, 0, &bytes[..4000])).await;
    // Again, ahead, just behind, just ahead: the server holds 4 000 bytes.
    for at in [0, 3999, 4001, 8000] {
        expect_offset_error(
            &mut alice,
            chunk_req(&file_id, at, &bytes[at..at + 100]),
            4000,
        )
        .await;
    }
    // Without an id, the failure still comes, without id and with offset.
    alice.send_json(chunk_req(&file_id, 0, &bytes[..10])).await;
    let e = alice.expect_event("error").await;
    assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()), "{e}");
    assert_eq!(
        sans_message(&e),
        json!({"type": "error", "code": "bad_request", "offset": 4000})
    );
    // None of the refused chunks was kept: the rest from 4 000 completes
    // the file exactly.
    send_chunks(&mut alice, &file_id, &bytes, 4000).await;
    done(&mut alice, &file_id).await;
    bob.expect_message("#public").await;
    download(&mut bob, &file_id, &bytes).await;
}

#[tokio::test]
async fn bytes_past_size_are_a_bad_request_with_offset() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let bytes = data(10, 32);
    let file_id = offer(&mut alice, offer_req("#public", "ten.bin", &bytes)).await;
    expect_offset_error(&mut alice, chunk_req(&file_id, 0, &data(11, 32)), 0).await;
    alice.ok(chunk_req(&file_id, 0, &bytes[..6])).await;
    expect_offset_error(&mut alice, chunk_req(&file_id, 6, &data(6, 33)), 6).await;
    alice.ok(chunk_req(&file_id, 6, &bytes[6..])).await;
    // Full: even one more byte is past the size.
    expect_offset_error(&mut alice, chunk_req(&file_id, 10, b"x"), 10).await;
    done(&mut alice, &file_id).await;

    // An empty file takes no byte at all.
    let empty = offer(&mut alice, offer_req("#public", "empty", b"")).await;
    expect_offset_error(&mut alice, chunk_req(&empty, 0, b"x"), 0).await;
    done(&mut alice, &empty).await;
}

// ----- file_chunk: size and encoding ------------------------------------------

#[tokio::test]
async fn a_chunk_over_file_chunk_bytes_is_a_bad_request() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    let bytes = data(3 * CHUNK, 34);
    let file_id = offer(&mut alice, offer_req("#public", "a.bin", &bytes)).await;
    let r = alice
        .request(chunk_req(&file_id, 0, &bytes[..CHUNK + 1]))
        .await;
    assert_eq!(r["type"], "error", "{r}");
    assert_eq!(r["code"], "bad_request", "{r}");
    // Nothing of it was kept; exactly file_chunk_bytes is fine.
    alice.ok(chunk_req(&file_id, 0, &bytes[..CHUNK])).await;
    let r = alice
        .request(chunk_req(&file_id, CHUNK, &bytes[CHUNK..2 * CHUNK + 1]))
        .await;
    assert_eq!(r["code"], "bad_request", "{r}");
    send_chunks(&mut alice, &file_id, &bytes, CHUNK).await;
    done(&mut alice, &file_id).await;
    bob.expect_message("#public").await;
    download(&mut bob, &file_id, &bytes).await;
}

#[tokio::test]
async fn data_that_is_not_standard_padded_base64_is_a_bad_request() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let bytes = b"abcdef".to_vec();
    let file_id = offer(&mut alice, offer_req("#public", "a.txt", &bytes)).await;
    let chunk =
        |d: Value| json!({"type": "file_chunk", "file_id": file_id, "offset": 0, "data": d});
    for bad in [
        json!("!!!!"),
        json!("YWJj ZGVm"),
        json!("YWJjZGVm\n"),
        json!("YWJjZGU"),   // "abcde" without its padding
        json!("YWJjZGU=="), // too much padding
        json!("-_-_"),      // the URL-safe alphabet
        json!("YW=jZGVm"),  // padding in the middle
        json!(12),
        json!(null),
        json!(["YWJj"]),
    ] {
        let r = alice.request(chunk(bad.clone())).await;
        assert_eq!(error_of(&r, "bad_request"), sans_offset(&r), "{bad}: {r}");
    }
    let mut missing = chunk(json!(""));
    missing.as_object_mut().unwrap().remove("data");
    alice.error(missing, "bad_request").await;
    // Nothing was held: the good chunk at 0 is taken.
    alice.ok(chunk(json!(b64(&bytes)))).await;
    done(&mut alice, &file_id).await;
}

/// `r` without `message` and `offset` (which a bad-data reply may carry).
fn sans_offset(r: &Value) -> Value {
    let mut v = sans_message(r);
    v.as_object_mut().unwrap().remove("offset");
    v
}

#[tokio::test]
async fn a_chunk_with_a_missing_or_mistyped_field_is_a_bad_request() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let file_id = offer(&mut alice, offer_req("#public", "a.txt", b"abc")).await;
    let good = chunk_req(&file_id, 0, b"abc");
    for (field, value) in [
        ("offset", json!("0")),
        ("offset", json!(-1)),
        ("offset", json!(0.5)),
        ("file_id", json!(5)),
        ("file_id", json!(null)),
    ] {
        let mut bad = good.clone();
        bad[field] = value;
        alice.error(bad, "bad_request").await;
    }
    for field in ["offset", "file_id"] {
        let mut bad = good.clone();
        bad.as_object_mut().unwrap().remove(field);
        alice.error(bad, "bad_request").await;
    }
    alice.ok(good).await;
}

// ----- file_chunk: whose upload -----------------------------------------------

#[tokio::test]
async fn chunks_for_an_unknown_a_finished_or_someone_elses_upload_are_no_such_file() {
    // Reading: someone else's upload answers exactly as one that does not
    // exist (`no_such_file`, not `forbidden`), so file_ids do not leak.
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    let bytes = data(2000, 35);

    alice
        .error(chunk_req("no-such-file", 0, &bytes), "no_such_file")
        .await;
    let bobs = offer(&mut bob, offer_req("#public", "bob.bin", &bytes)).await;
    alice
        .error(chunk_req(&bobs, 0, &bytes), "no_such_file")
        .await;
    // Bob's upload did not move: his chunk at 0 is taken.
    bob.ok(chunk_req(&bobs, 0, &bytes)).await;
    alice
        .error(chunk_req(&bobs, 2000, b"x"), "no_such_file")
        .await;
    done(&mut bob, &bobs).await;
    // Finished: no more chunks, not even from its owner.
    bob.error(chunk_req(&bobs, 2000, b"x"), "no_such_file")
        .await;
    bob.error(chunk_req(&bobs, 0, &bytes), "no_such_file").await;
}

// ----- file_chunk: pacing and the frame rate ------------------------------------

#[tokio::test]
async fn a_hundred_chunks_sent_at_once_with_ids_are_all_ok_and_not_rate_limited() {
    // Chunks do not count against the frame rate (20/s, burst 40, closed
    // at 5×); a client that does not wait for its replies is paced by the
    // server (it stops reading), never refused or closed.
    let server = files_server_with(MIB, 100 * MIB, |c| c.max_msg_rate = 20).await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    bob.settle().await;
    let piece = 3000;
    let bytes = data(100 * piece, 36);
    let file_id = offer(&mut alice, offer_req("#public", "fast.bin", &bytes)).await;
    let mut ids = Vec::new();
    for i in 0..100 {
        let at = i * piece;
        ids.push(
            alice
                .send_with_id(chunk_req(&file_id, at, &bytes[at..at + piece]))
                .await,
        );
    }
    for (i, id) in ids.into_iter().enumerate() {
        let r = alice.reply_to(id).await;
        assert_eq!(r, json!({"type": "ok", "id": id}), "chunk {i}");
    }
    let posted = done(&mut alice, &file_id).await;
    assert_eq!(
        bob.expect_message("#public").await["msg_id"],
        posted["msg_id"]
    );
    alice.assert_open().await;
    let frames = alice.settle().await;
    assert!(
        frames.iter().all(|f| f["type"] != "error"),
        "no error at all: {frames:?}"
    );
    download(&mut bob, &file_id, &bytes).await;
}

#[tokio::test]
async fn chunks_without_ids_do_not_count_against_the_frame_rate() {
    let server = files_server_with(MIB, 100 * MIB, |c| c.max_msg_rate = 20).await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    bob.settle().await;
    let piece = 1000;
    let bytes = data(80 * piece, 37);
    let file_id = offer(&mut alice, offer_req("#public", "quiet.bin", &bytes)).await;
    alice.settle().await;
    let mut batch = Vec::new();
    for at in (0..bytes.len()).step_by(piece) {
        batch.extend(serde_json::to_vec(&chunk_req(&file_id, at, &bytes[at..at + piece])).unwrap());
        batch.push(b'\n');
    }
    alice.send_raw(&batch).await;
    // Not one rate_limited error (nor anything else) comes back.
    alice
        .expect_silence_for(std::time::Duration::from_millis(500))
        .await;
    done(&mut alice, &file_id).await;
    bob.expect_message("#public").await;
    download(&mut bob, &file_id, &bytes).await;
}

// ----- file_done: the message ---------------------------------------------------

#[tokio::test]
async fn file_done_posts_a_message_with_the_file_to_everyone_in_public() {
    let server = TestServer::start().await;
    let mut a1 = server.user("Alice").await;
    let mut a2 = server.session("alice").await;
    let mut bob = server.user("bob").await;
    settle_all(&mut [&mut a1, &mut a2, &mut bob]).await;

    let bytes = data(70_000, 38);
    let frame = offer_req_with(
        "#public",
        "report.pdf",
        &bytes,
        "application/pdf",
        "Q3 numbers",
    );
    let file_id = upload(&mut a1, frame, &bytes).await;
    let id = a1.send_with_id(done_req(&file_id)).await;
    let ok = a1.reply_to(id).await;
    assert_eq!(
        ok,
        json!({"type": "ok", "id": id, "msg_id": ok["msg_id"], "ts": ok["ts"]})
    );
    assert!(ok["msg_id"].as_u64().is_some_and(|m| m > 0), "{ok}");
    assert_recent_ts(&ok["ts"]);
    let posted = Posted {
        file_id: file_id.clone(),
        msg_id: ok["msg_id"].as_u64().unwrap(),
        ts: ok["ts"].clone(),
    };
    let expected = file_message(
        "#public",
        &posted,
        "Alice",
        "Q3 numbers",
        file_obj(&file_id, "report.pdf", &bytes, "application/pdf"),
    );
    for c in [&mut a1, &mut a2, &mut bob] {
        assert_eq!(c.expect_event("message").await, expected);
    }
    silence_all(&mut [&mut a1, &mut a2, &mut bob]).await;
    // History entries carry the file too (§15).
    let h = bob.request(g("history", "#public")).await;
    assert_eq!(h["messages"], json!([expected]), "{h}");
    // A user who registers later reads it in #public too.
    let mut carol = server.user("carol").await;
    let h = carol.request(g("history", "#public")).await;
    assert_eq!(h["messages"], json!([expected]), "{h}");
}

#[tokio::test]
async fn a_file_in_a_private_chat_reaches_both_partners_with_their_own_keys() {
    let server = TestServer::start().await;
    let mut alice = server.user("Alice").await;
    let mut bob = server.user("Bob").await;
    let mut carol = server.user("carol").await;
    open_chat(&mut alice, "alice", &mut bob, "bob").await;
    carol.settle().await;

    let bytes = data(5000, 39);
    let posted = post(&mut alice, "@bob", "photo.jpg", &bytes).await;
    let file = file_obj(
        &posted.file_id,
        "photo.jpg",
        &bytes,
        "application/octet-stream",
    );
    let for_alice = file_message("@Bob", &posted, "Alice", "photo.jpg", file.clone());
    let for_bob = file_message("@Alice", &posted, "Alice", "photo.jpg", file);
    assert_eq!(alice.expect_event("message").await, for_alice);
    assert_eq!(bob.expect_event("message").await, for_bob);
    silence_all(&mut [&mut alice, &mut bob, &mut carol]).await;
    let h = alice.request(g("history", "@bob")).await;
    assert_eq!(h["messages"], json!([for_alice]), "{h}");
    let h = bob.request(g("history", "@alice")).await;
    assert_eq!(h["messages"], json!([for_bob]), "{h}");
}

#[tokio::test]
async fn a_file_in_a_group_reaches_its_members_and_nobody_else() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    let mut carol = server.user("carol").await;
    group(
        &mut bob,
        "#Rust",
        "invite",
        &mut [(&mut carol, "carol")],
        &mut [&mut alice],
    )
    .await;
    let bytes = data(2000, 40);
    let frame = offer_req_with("#rust", "notes.txt", &bytes, "text/plain", "read this");
    let posted = post_with(&mut carol, frame, &bytes).await;
    let expected = file_message(
        "#Rust",
        &posted,
        "carol",
        "read this",
        file_obj(&posted.file_id, "notes.txt", &bytes, "text/plain"),
    );
    assert_eq!(bob.expect_event("message").await, expected);
    assert_eq!(carol.expect_event("message").await, expected);
    silence_all(&mut [&mut alice, &mut bob, &mut carol]).await;
    let h = bob.request(g("history", "#rust")).await;
    assert_eq!(h["messages"], json!([expected]), "{h}");
}

#[tokio::test]
async fn file_messages_take_their_place_in_msg_id_order_and_text_messages_have_no_file() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let before = alice.say_id("#public", "here it comes").await;
    let posted = post(&mut alice, "#public", "a.bin", &data(100, 41)).await;
    let after = alice.say_id("#public", "there it was").await;
    assert!(before < posted.msg_id && posted.msg_id < after);
    let h = alice.request(g("history", "#public")).await;
    assert_eq!(ids_of(&h), [before, posted.msg_id, after]);
    assert!(h["messages"][0].get("file").is_none(), "{h}");
    assert_eq!(h["messages"][1]["file"]["file_id"], posted.file_id.as_str());
    assert!(h["messages"][2].get("file").is_none(), "{h}");
}

#[tokio::test]
async fn an_empty_file_is_posted_with_file_done_alone() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    bob.settle().await;
    let file_id = offer(&mut alice, offer_req("#public", "empty.txt", b"")).await;
    let ok = done(&mut alice, &file_id).await;
    let m = bob.expect_message("#public").await;
    assert_eq!(m["msg_id"], ok["msg_id"]);
    assert_eq!(
        m["file"],
        file_obj(&file_id, "empty.txt", b"", "application/octet-stream")
    );
    assert_eq!(
        m["file"]["sha256"],
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    download(&mut bob, &file_id, b"").await;
}

// ----- file_done: size and checksum ---------------------------------------------

#[tokio::test]
async fn a_checksum_mismatch_discards_the_upload_and_posts_nothing() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    settle_all(&mut [&mut alice, &mut bob]).await;
    let promised = data(50_000, 42);
    let sent = data(50_000, 43);
    let file_id = offer(&mut alice, offer_req("#public", "a.bin", &promised)).await;
    send_chunks(&mut alice, &file_id, &sent, 0).await;
    let r = alice.request(done_req(&file_id)).await;
    assert_eq!(sans_message(&r), error_of(&r, "checksum_mismatch"));
    // Discarded: the file_id is gone for every purpose.
    alice
        .error(chunk_req(&file_id, 0, b"x"), "no_such_file")
        .await;
    alice
        .error(chunk_req(&file_id, 50_000, b"x"), "no_such_file")
        .await;
    alice.error(done_req(&file_id), "no_such_file").await;
    alice.error(get_req(&file_id, 0), "no_such_file").await;
    // Nothing reached anyone or the history.
    silence_all(&mut [&mut alice, &mut bob]).await;
    let h = bob.request(g("history", "#public")).await;
    assert_eq!(h["messages"], json!([]), "{h}");
    // Offering the file again starts from scratch.
    let (again, offset) = accepted(&mut alice, offer_req("#public", "a.bin", &promised)).await;
    assert_eq!(offset, 0);
    send_chunks(&mut alice, &again, &promised, 0).await;
    done(&mut alice, &again).await;
}

#[tokio::test]
async fn file_done_before_every_byte_arrived_is_a_bad_request_with_offset_and_keeps_the_upload() {
    // Reading: a short upload is not a corrupt one. `file_done` answers
    // like a chunk at the wrong offset (`bad_request` with the bytes held)
    // and the upload stays, so the client sends the rest; only a wrong
    // SHA-256 over the full size is `checksum_mismatch` and discards.
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    bob.settle().await;
    let bytes = data(40_000, 44);
    let file_id = offer(&mut alice, offer_req("#public", "a.bin", &bytes)).await;
    expect_offset_error(&mut alice, done_req(&file_id), 0).await;
    send_chunks(&mut alice, &file_id, &bytes[..30_000], 0).await;
    expect_offset_error(&mut alice, done_req(&file_id), 30_000).await;
    bob.expect_silence().await;
    send_chunks(&mut alice, &file_id, &bytes, 30_000).await;
    done(&mut alice, &file_id).await;
    bob.expect_message("#public").await;
    download(&mut bob, &file_id, &bytes).await;
}

#[tokio::test]
async fn file_done_for_an_unknown_a_finished_or_someone_elses_upload_is_no_such_file() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    let bytes = data(100, 45);
    alice.error(done_req("nope"), "no_such_file").await;
    let bobs = upload(&mut bob, offer_req("#public", "b.bin", &bytes), &bytes).await;
    alice.error(done_req(&bobs), "no_such_file").await;
    done(&mut bob, &bobs).await;
    bob.error(done_req(&bobs), "no_such_file").await;
    let mut missing = done_req("x");
    missing.as_object_mut().unwrap().remove("file_id");
    alice.error(missing, "bad_request").await;
}

// ----- file_done: the chat checked again ------------------------------------------

#[tokio::test]
async fn file_done_after_the_private_chat_ended_is_not_open_and_keeps_the_upload() {
    // Reading: only a checksum mismatch discards an upload; one refused
    // for its chat stays until cancelled (or 24 hours), and posts once the
    // chat is open again.
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    open_chat(&mut alice, "alice", &mut bob, "bob").await;
    let bytes = data(3000, 46);
    let file_id = upload(&mut alice, offer_req("@bob", "a.bin", &bytes), &bytes).await;
    bob.ok(json!({"type": "end_chat", "user": "alice"})).await;
    alice.expect_event("chat_ended").await;
    bob.settle().await;
    let r = alice.request(done_req(&file_id)).await;
    assert_eq!(sans_message(&r), error_of(&r, "not_open"));
    bob.expect_silence().await;
    // Open again: the same upload posts.
    open_chat(&mut alice, "alice", &mut bob, "bob").await;
    let ok = done(&mut alice, &file_id).await;
    assert_eq!(bob.expect_message("@alice").await["msg_id"], ok["msg_id"]);
}

#[tokio::test]
async fn file_done_after_the_sender_left_the_group_is_not_member() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    group(
        &mut bob,
        "#rust",
        "open",
        &mut [(&mut alice, "alice")],
        &mut [],
    )
    .await;
    let bytes = data(3000, 47);
    let file_id = upload(&mut alice, offer_req("#rust", "a.bin", &bytes), &bytes).await;
    alice.ok(g("leave", "#rust")).await;
    let r = alice.request(done_req(&file_id)).await;
    assert_eq!(sans_message(&r), error_of(&r, "not_member"));
    bob.settle().await;
    let h = bob.request(g("history", "#rust")).await;
    assert!(
        h["messages"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m.get("file").is_none()),
        "{h}"
    );
    // The upload is still there to cancel.
    alice.ok(cancel_req(&file_id)).await;
}

#[tokio::test]
async fn file_done_after_the_sender_was_kicked_is_not_member() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    group(
        &mut bob,
        "#rust",
        "open",
        &mut [(&mut alice, "alice")],
        &mut [],
    )
    .await;
    let bytes = data(3000, 48);
    let file_id = upload(&mut alice, offer_req("#rust", "a.bin", &bytes), &bytes).await;
    bob.ok(kick_req("#rust", "alice", "enough")).await;
    alice.expect_event("group_left").await;
    alice.error(done_req(&file_id), "not_member").await;
}

#[tokio::test]
async fn file_done_after_the_group_was_deleted_is_no_such_chat() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    group(
        &mut bob,
        "#rust",
        "open",
        &mut [(&mut alice, "alice")],
        &mut [],
    )
    .await;
    let bytes = data(3000, 49);
    let file_id = upload(&mut alice, offer_req("#rust", "a.bin", &bytes), &bytes).await;
    bob.ok(g("delete_group", "#rust")).await;
    alice.expect_event("group_left").await;
    // Reading: the group's files went with it (§12), so the upload may be
    // gone too; either way nothing is posted and the chat is named as
    // missing or the upload as unknown.
    let r = alice.request(done_req(&file_id)).await;
    assert_eq!(r["type"], "error", "{r}");
    assert!(
        r["code"] == "no_such_chat" || r["code"] == "no_such_file",
        "{r}"
    );
}

#[tokio::test]
async fn file_done_while_muted_is_muted_and_posts_once_unmuted() {
    let server = TestServer::start().await;
    let mut boss = admin(&server, "boss").await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    let bytes = data(3000, 50);
    let file_id = upload(&mut alice, offer_req("#public", "a.bin", &bytes), &bytes).await;
    boss.ok(mute_req("alice", Some(10), "wait")).await;
    let until = alice.expect_event("muted").await["until"].clone();
    settle_all(&mut [&mut boss, &mut bob]).await;
    let r = alice.request(done_req(&file_id)).await;
    assert_eq!(
        sans_message(&r),
        json!({"type": "error", "id": r["id"], "code": "muted", "until": until})
    );
    silence_all(&mut [&mut boss, &mut bob]).await;
    boss.ok(u("unmute", "alice")).await;
    alice.expect_event("muted").await;
    let ok = done(&mut alice, &file_id).await;
    assert_eq!(bob.expect_message("#public").await["msg_id"], ok["msg_id"]);
}

// ----- file_cancel ------------------------------------------------------------------

#[tokio::test]
async fn file_cancel_drops_an_unfinished_upload() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    bob.settle().await;
    let bytes = data(20_000, 51);
    let file_id = offer(&mut alice, offer_req("#public", "a.bin", &bytes)).await;
    send_chunks(&mut alice, &file_id, &bytes[..10_000], 0).await;
    let r = alice.request(cancel_req(&file_id)).await;
    assert_eq!(r, json!({"type": "ok", "id": r["id"]}));
    alice
        .error(
            chunk_req(&file_id, 10_000, &bytes[10_000..]),
            "no_such_file",
        )
        .await;
    alice.error(done_req(&file_id), "no_such_file").await;
    alice.error(cancel_req(&file_id), "no_such_file").await;
    bob.expect_silence().await;
    // An offer of the same file is a new upload from 0, not a resume.
    let (_, offset) = accepted(&mut alice, offer_req("#public", "a.bin", &bytes)).await;
    assert_eq!(offset, 0);
}

#[tokio::test]
async fn file_cancel_of_an_unknown_a_posted_or_someone_elses_upload_is_no_such_file() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    let bytes = data(3000, 52);
    alice.error(cancel_req("nope"), "no_such_file").await;
    // Someone else's: refused, and it stays.
    let bobs = upload(&mut bob, offer_req("#public", "b.bin", &bytes), &bytes).await;
    alice.error(cancel_req(&bobs), "no_such_file").await;
    let posted = done(&mut bob, &bobs).await;
    // Posted: no longer an upload to cancel; the posting stays.
    bob.error(cancel_req(&bobs), "no_such_file").await;
    alice.expect_message("#public").await;
    assert_eq!(posted["type"], "ok");
    download(&mut alice, &bobs, &bytes).await;
    let mut missing = cancel_req("x");
    missing.as_object_mut().unwrap().remove("file_id");
    alice.error(missing, "bad_request").await;
}

// ----- resuming ------------------------------------------------------------------------

#[tokio::test]
async fn an_upload_cut_off_by_a_lost_connection_resumes_where_it_stopped() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    let bytes = data(100_000, 53);
    let frame = offer_req_with("#public", "big.bin", &bytes, "application/zip", "at last");
    let file_id = offer(&mut alice, frame.clone()).await;
    send_chunks(&mut alice, &file_id, &bytes[..40_000], 0).await;
    alice.reset();
    gone_offline(&mut bob, "alice").await;

    let mut alice = server.session("alice").await;
    let (again, offset) = accepted(&mut alice, frame).await;
    assert_eq!(again, file_id, "the same upload");
    assert_eq!(offset, 40_000, "from where it stopped");
    send_chunks(&mut alice, &file_id, &bytes, 40_000).await;
    let ok = done(&mut alice, &file_id).await;
    let m = bob.expect_message("#public").await;
    assert_eq!(m["msg_id"], ok["msg_id"]);
    assert_eq!(m["text"], "at last");
    assert_eq!(
        m["file"],
        file_obj(&file_id, "big.bin", &bytes, "application/zip")
    );
    download(&mut bob, &file_id, &bytes).await;
}

#[tokio::test]
async fn a_resume_matches_on_chat_name_size_and_sha256() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    open_chat(&mut alice, "alice", &mut bob, "bob").await;
    let bytes = data(50_000, 54);
    let file_id = offer(&mut alice, offer_req("#public", "a.bin", &bytes)).await;
    send_chunks(&mut alice, &file_id, &bytes[..CHUNK], 0).await;
    alice.logout().await;

    let mut alice = server.session("alice").await;
    let other = data(50_000, 55);
    let shorter = &bytes[..49_999];
    for (what, frame) in [
        ("another chat", offer_req("@bob", "a.bin", &bytes)),
        ("another name", offer_req("#public", "b.bin", &bytes)),
        ("another size", offer_req("#public", "a.bin", shorter)),
        ("another sha256", offer_req("#public", "a.bin", &other)),
    ] {
        let (id, offset) = accepted(&mut alice, frame).await;
        assert_ne!(id, file_id, "{what} is a new upload");
        assert_eq!(offset, 0, "{what}");
    }
    // The digest is matched whatever its case.
    let mut frame = offer_req("#public", "a.bin", &bytes);
    frame["sha256"] = json!(sha_hex(&bytes).to_uppercase());
    let (id, offset) = accepted(&mut alice, frame).await;
    assert_eq!(id, file_id);
    assert_eq!(offset, CHUNK as u64);
}

#[tokio::test]
async fn nobody_else_resumes_someone_elses_upload() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    let bytes = data(50_000, 56);
    let file_id = offer(&mut alice, offer_req("#public", "a.bin", &bytes)).await;
    send_chunks(&mut alice, &file_id, &bytes[..CHUNK], 0).await;
    alice.reset();
    gone_offline(&mut bob, "alice").await;
    let (id, offset) = accepted(&mut bob, offer_req("#public", "a.bin", &bytes)).await;
    assert_ne!(id, file_id);
    assert_eq!(offset, 0);
    // Alice's upload is untouched by bob's.
    let mut alice = server.session("alice").await;
    let (id, offset) = accepted(&mut alice, offer_req("#public", "a.bin", &bytes)).await;
    assert_eq!((id, offset), (file_id, CHUNK as u64));
}

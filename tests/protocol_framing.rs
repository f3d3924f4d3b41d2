//! §1 transport and framing, §2 requests/replies/events, and the keep-alive
//! part of §8, through real sockets.

mod common;

use common::*;
use serde_json::{json, Value};
use tchat::protocol::MAX_CLIENT_FRAME_BYTES;

/// A `ping` with id 1 padded with an unknown field to exactly `len` bytes,
/// newline included.
fn padded_ping(len: usize) -> Vec<u8> {
    let head = br#"{"type":"ping","id":1,"pad":""#;
    let tail = b"\"}\n";
    let pad = len - head.len() - tail.len();
    let mut line = head.to_vec();
    line.extend(std::iter::repeat_n(b'x', pad));
    line.extend_from_slice(tail);
    assert_eq!(line.len(), len);
    line
}

#[tokio::test]
async fn hello_announces_protocol_server_and_motd() {
    let server = TestServer::start().await;
    let c = server.client().await;
    assert_eq!(c.hello["type"], "hello");
    assert_eq!(c.hello["protocol"], 1);
    let name = c.hello["server"].as_str().expect("server is a string");
    assert!(
        name.starts_with("tchat-server/"),
        "server names itself: {name}"
    );
    assert_eq!(c.hello["motd"], "hi");
    assert!(c.hello.get("id").is_none(), "hello is an event");
}

#[tokio::test]
async fn hello_without_motd_omits_it_or_sends_null() {
    let server = TestServer::start_with(|c| c.motd = None).await;
    let c = server.client().await;
    assert!(
        c.hello.get("motd").is_none_or(Value::is_null),
        "no motd configured: {}",
        c.hello
    );
}

#[tokio::test]
async fn ping_echoes_id_including_zero_and_large_ids() {
    let server = TestServer::start().await;
    let mut c = server.client().await;
    for id in [0u64, 7, 4_294_967_296, 9_007_199_254_740_991] {
        c.send_json(json!({"type": "ping", "id": id})).await;
        assert_eq!(c.recv().await, json!({"type": "pong", "id": id}));
    }
    c.expect_silence().await;
}

#[tokio::test]
async fn ping_without_id_gets_no_reply() {
    let server = TestServer::start().await;
    let mut c = server.user("alice").await;
    c.send_json(json!({"type": "ping"})).await;
    c.expect_silence().await;
    c.assert_open().await;
}

#[tokio::test]
async fn two_frames_in_one_write_get_two_replies_in_order() {
    let server = TestServer::start().await;
    let mut c = server.client().await;
    c.send_raw(b"{\"type\":\"ping\",\"id\":1}\n{\"type\":\"ping\",\"id\":2}\n")
        .await;
    assert_eq!(c.recv().await, json!({"type": "pong", "id": 1}));
    assert_eq!(c.recv().await, json!({"type": "pong", "id": 2}));
    c.expect_silence().await;
}

#[tokio::test]
async fn frame_boundaries_need_not_match_writes() {
    let server = TestServer::start().await;
    let mut c = server.client().await;
    c.send_raw(b"{\"type\":\"ping\",\"id\":1}\n{\"type\":\"pi")
        .await;
    assert_eq!(c.recv().await, json!({"type": "pong", "id": 1}));
    c.expect_silence().await;
    c.send_raw(b"ng\",\"id\":2}\n{\"type\":\"ping\",\"id\":3}\n{")
        .await;
    assert_eq!(c.recv().await, json!({"type": "pong", "id": 2}));
    assert_eq!(c.recv().await, json!({"type": "pong", "id": 3}));
    c.send_raw(b"\"type\":\"ping\",\"id\":4}\n").await;
    assert_eq!(c.recv().await, json!({"type": "pong", "id": 4}));
}

#[tokio::test]
async fn frame_split_byte_by_byte_is_reassembled() {
    let server = TestServer::start().await;
    let mut c = server.client().await;
    let line = br#"{"type":"register","id":5,"user":"alice","password":"correct horse"}
"#;
    for b in line.iter() {
        c.send_raw(std::slice::from_ref(b)).await;
        tokio::task::yield_now().await;
    }
    let welcome = c.recv().await;
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    assert_eq!(welcome["id"], 5);
    assert_eq!(welcome["user"], "alice");
}

#[tokio::test]
async fn frame_of_exactly_max_size_is_accepted() {
    let server = TestServer::start().await;
    let mut c = server.client().await;
    c.send_raw(&padded_ping(MAX_CLIENT_FRAME_BYTES)).await;
    assert_eq!(c.recv().await, json!({"type": "pong", "id": 1}));
    c.assert_open().await;
}

#[tokio::test]
async fn frame_one_byte_over_max_is_refused_and_closed() {
    let server = TestServer::start().await;
    let mut c = server.client().await;
    c.try_send_raw(&padded_ping(MAX_CLIENT_FRAME_BYTES + 1))
        .await;
    let frames = c.expect_closed().await;
    assert_eq!(
        frames.len(),
        1,
        "only the fatal error before close: {frames:?}"
    );
    assert_eq!(frames[0]["type"], "error");
    assert_eq!(frames[0]["code"], "frame_too_large");
    assert_eq!(
        frames[0]["fatal"], true,
        "a closing error is fatal: {}",
        frames[0]
    );
}

#[tokio::test]
async fn frame_too_large_is_reported_to_a_logged_in_session_before_close() {
    let server = TestServer::start().await;
    let mut bob = server.user("bob").await;
    let mut c = server.user("alice").await;
    bob.expect_event("presence").await;
    c.try_send_raw(&padded_ping(MAX_CLIENT_FRAME_BYTES + 1))
        .await;
    let frames = c.expect_closed().await;
    let errors: Vec<&Value> = frames.iter().filter(|f| f["type"] == "error").collect();
    assert_eq!(
        errors.len(),
        1,
        "the fatal error before the close: {frames:?}"
    );
    assert_eq!(errors[0]["code"], "frame_too_large");
    assert_eq!(errors[0]["fatal"], true);
    let p = bob.expect_event("presence").await;
    assert_eq!(p["user"], "alice");
    assert_eq!(p["online"], false);
}

#[tokio::test]
async fn endless_line_without_newline_is_cut_off() {
    let server = TestServer::start().await;
    let mut c = server.client().await;
    // 1 MiB with no newline: the server must give up at the frame limit
    // rather than keep reading while it waits for the end of the line.
    let blob = vec![b'x'; 1 << 20];
    let mut sent = 0;
    for chunk in blob.chunks(64 * 1024) {
        if !c.try_send_raw(chunk).await {
            break;
        }
        sent += chunk.len();
    }
    let frames = c.expect_closed().await;
    assert!(
        frames.iter().all(|f| f["code"] == "frame_too_large"),
        "only frame_too_large before the close (sent {sent} bytes): {frames:?}"
    );
    // The server is still fine for everyone else.
    let mut other = server.client().await;
    other.assert_open().await;
}

#[tokio::test]
async fn invalid_utf8_is_bad_frame_and_connection_stays_open() {
    let server = TestServer::start().await;
    let mut c = server.client().await;
    c.send_raw(b"{\"type\":\"ping\",\"x\":\"\xff\xfe\"}\n")
        .await;
    let e = c.recv().await;
    assert_error(&e, "bad_frame", &json!({}));
    c.assert_open().await;
}

#[tokio::test]
async fn non_json_and_non_object_lines_are_bad_frame() {
    let server = TestServer::start().await;
    let mut c = server.user("alice").await;
    let lines: [&[u8]; 9] = [
        b"hello there\n",
        b"{\"type\":\"ping\"\n",
        b"[1,2,3]\n",
        b"\"ping\"\n",
        b"42\n",
        b"null\n",
        b"\n",
        b"{\"id\":3}\n",
        b"{\"type\":5,\"id\":4}\n",
    ];
    for line in lines {
        c.send_raw(line).await;
        let e = c.recv().await;
        assert_error(&e, "bad_frame", &json!({}));
        assert!(
            e.get("fatal").is_none_or(|f| f == false),
            "bad_frame is not fatal: {e}"
        );
    }
    c.send_raw(b"{\"type\":null,\"id\":5}\n").await;
    assert_error(&c.recv().await, "bad_frame", &json!({}));
    c.assert_open().await;
}

#[tokio::test]
async fn unknown_type_gets_unknown_type_with_id() {
    let server = TestServer::start().await;
    let mut c = server.client().await;
    // Before login the contract allows either answer ("anything else gets
    // not_authenticated" vs "an unknown type gets unknown_type").
    let e = c.request(json!({"type": "frobnicate"})).await;
    assert!(
        e["code"] == "unknown_type" || e["code"] == "not_authenticated",
        "{e}"
    );
    c.assert_open().await;
    let mut u = server.user("alice").await;
    u.error(json!({"type": "frobnicate"}), "unknown_type").await;
    // A known type (§12) with its field missing is a bad request instead.
    u.error(
        json!({"type": "create_group", "name": "#rust"}),
        "bad_request",
    )
    .await;
    u.assert_open().await;
}

#[tokio::test]
async fn unknown_type_without_id_gets_error_without_id() {
    let server = TestServer::start().await;
    let mut c = server.client().await;
    c.send_json(json!({"type": "frobnicate"})).await;
    let e = c.recv().await;
    assert_error(&e, "unknown_type", &json!({}));
    assert!(e.get("id").is_none(), "no id to echo: {e}");
    c.assert_open().await;
}

#[tokio::test]
async fn missing_or_mistyped_fields_are_bad_request() {
    let server = TestServer::start().await;
    let mut c = server.user("alice").await;
    let bad = [
        json!({"type": "send", "chat": "#public"}),
        json!({"type": "send", "text": "hi"}),
        json!({"type": "send", "chat": "#public", "text": 5}),
        json!({"type": "send", "chat": ["#public"], "text": "hi"}),
        json!({"type": "set_status"}),
        json!({"type": "set_status", "status": 1}),
        json!({"type": "request_chat"}),
        json!({"type": "accept", "user": 3}),
        json!({"type": "history"}),
        json!({"type": "history", "chat": "#public", "limit": "ten"}),
        json!({"type": "history", "chat": "#public", "before": -1}),
        json!({"type": "mark_read", "chat": "#public"}),
        json!({"type": "mark_read", "chat": "#public", "msg_id": "1"}),
    ];
    for frame in bad {
        c.error(frame, "bad_request").await;
    }
    c.assert_open().await;
    let mut anon = server.client().await;
    anon.error(json!({"type": "login", "user": "alice"}), "bad_request")
        .await;
    anon.error(
        json!({"type": "register", "password": PASSWORD}),
        "bad_request",
    )
    .await;
    anon.assert_open().await;
}

#[tokio::test]
async fn mistyped_id_is_bad_request() {
    let server = TestServer::start().await;
    let mut c = server.user("alice").await;
    for line in [
        &b"{\"type\":\"ping\",\"id\":\"7\"}\n"[..],
        b"{\"type\":\"ping\",\"id\":-1}\n",
        b"{\"type\":\"ping\",\"id\":1.5}\n",
        b"{\"type\":\"ping\",\"id\":[1]}\n",
    ] {
        c.send_raw(line).await;
        let e = c.recv().await;
        assert_error(&e, "bad_request", &json!({}));
    }
    c.assert_open().await;
    c.expect_silence().await;
}

#[tokio::test]
async fn unknown_fields_are_ignored() {
    let server = TestServer::start().await;
    let mut bob = server.user("bob").await;
    let mut c = server.client().await;
    let welcome = c
        .request(json!({"type": "register", "user": "alice", "password": PASSWORD, "colour": "blue", "extra": {"a": [1]}}))
        .await;
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    bob.expect_event("presence").await;
    let ok = c
        .ok(json!({"type": "send", "chat": "#public", "text": "hi", "priority": 9, "nested": null}))
        .await;
    let m = bob.expect_message("#public").await;
    assert_eq!(m["msg_id"], ok["msg_id"]);
    assert_eq!(m["text"], "hi");
    let pong = c.request(json!({"type": "ping", "trace": "abc"})).await;
    assert_eq!(pong["type"], "pong");
}

#[tokio::test]
async fn request_without_id_gets_no_success_reply_but_is_acted_on() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    alice.expect_event("presence").await;
    alice
        .send_json(json!({"type": "send", "chat": "#public", "text": "no id"}))
        .await;
    let m = alice.recv().await;
    assert_eq!(m["type"], "message", "only the event, no ok: {m}");
    assert_eq!(m["text"], "no id");
    assert_eq!(bob.expect_message("#public").await["text"], "no id");
    alice.expect_silence().await;
    bob.expect_silence().await;
}

#[tokio::test]
async fn failing_request_without_id_gets_error_without_id() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    alice
        .send_json(json!({"type": "send", "chat": "#public", "text": "   "}))
        .await;
    let e = alice.recv().await;
    assert_error(&e, "invalid_text", &json!({}));
    assert!(e.get("id").is_none(), "{e}");
    alice.expect_silence().await;
}

#[tokio::test]
async fn pipelined_requests_get_exactly_one_reply_each_in_request_order() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let mut batch = Vec::new();
    let frames = [
        json!({"type": "ping", "id": 10}),
        json!({"type": "send", "id": 11, "chat": "#public", "text": "one"}),
        json!({"type": "ping", "id": 12}),
        json!({"type": "who", "id": 13}),
        json!({"type": "set_status", "id": 14, "status": "away"}),
        json!({"type": "send", "id": 15, "chat": "#nowhere", "text": "x"}),
        json!({"type": "history", "id": 16, "chat": "#public"}),
        json!({"type": "ping", "id": 17}),
    ];
    for f in &frames {
        batch.extend(serde_json::to_vec(f).unwrap());
        batch.push(b'\n');
    }
    alice.send_raw(&batch).await;
    let mut replies = Vec::new();
    let mut events = Vec::new();
    while replies.len() < frames.len() {
        let f = alice.recv().await;
        if f.get("id").is_some() {
            replies.push(f);
        } else {
            events.push(f);
        }
    }
    let ids: Vec<u64> = replies.iter().map(|r| r["id"].as_u64().unwrap()).collect();
    assert_eq!(
        ids,
        (10..=17).collect::<Vec<_>>(),
        "replies in request order"
    );
    let types: Vec<&str> = replies
        .iter()
        .map(|r| r["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        ["pong", "ok", "pong", "who", "ok", "error", "history", "pong"]
    );
    assert_eq!(replies[5]["code"], "no_such_chat");
    alice.expect_silence().await;
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"message"), "own message event: {events:?}");
}

#[tokio::test]
async fn timestamps_are_integer_milliseconds_and_msg_ids_positive() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let ok = alice.say("#public", "hi").await;
    assert_recent_ts(&ok["ts"]);
    assert!(ok["msg_id"].as_u64().is_some_and(|id| id > 0), "{ok}");
}

#[tokio::test]
async fn reset_mid_frame_does_not_disturb_other_clients() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    alice.expect_event("presence").await;

    // A logged-in user resets the connection in the middle of a frame.
    let mut carol = server.user("carol").await;
    alice.expect_event("presence").await;
    bob.expect_event("presence").await;
    carol.send_raw(br##"{"type":"send","chat":"#pub"##).await;
    carol.reset();
    let gone = alice.expect_event("presence").await;
    assert_eq!(gone["user"], "carol");
    assert_eq!(gone["online"], false);
    bob.expect_event("presence").await;

    // An anonymous client resets in the middle of a login frame.
    let mut dave = server.client().await;
    dave.send_raw(br#"{"type":"login","id":1,"user":"al"#).await;
    dave.reset();

    let id = alice.say_id("#public", "still here").await;
    let m = bob.expect_message("#public").await;
    assert_eq!(m["msg_id"], id);
    assert_eq!(m["text"], "still here");
    bob.expect_silence().await;
    let mut erin = server.user("erin").await;
    erin.assert_open().await;
}

#[tokio::test]
async fn never_panics_on_odd_input() {
    let server = TestServer::start().await;
    let mut bob = server.user("bob").await;
    let mut c = server.user("alice").await;
    bob.expect_event("presence").await;
    let deep = "[".repeat(20_000);
    let lines: Vec<Vec<u8>> = vec![
        format!("{deep}\n").into_bytes(),
        b"{\"type\":\"send\",\"id\":1.5,\"chat\":\"#public\",\"text\":\"x\"}\n".to_vec(),
        b"{\"type\":\"ping\",\"id\":-1}\n".to_vec(),
        b"{\"type\":\"ping\",\"id\":1e400}\n".to_vec(),
        b"{\"type\":\"history\",\"id\":2,\"chat\":\"#public\",\"limit\":18446744073709551616}\n"
            .to_vec(),
        b"{\"type\":\"mark_read\",\"id\":3,\"chat\":\"#public\",\"msg_id\":18446744073709551615}\n"
            .to_vec(),
        b"{\"type\":\"send\",\"id\":4,\"chat\":\"@\",\"text\":\"x\"}\n".to_vec(),
        b"{\"type\":\"send\",\"id\":5,\"chat\":\"\",\"text\":\"x\"}\n".to_vec(),
        b"{\"type\":\"request_chat\",\"id\":6,\"user\":\"\"}\n".to_vec(),
        b"{\"type\":\"request_chat\",\"id\":7,\"user\":\"\\u0000\"}\n".to_vec(),
        b"{\"type\":\"\",\"id\":8}\n".to_vec(),
        b"{\"type\":\"ping\",\"type\":\"who\",\"id\":9}\n".to_vec(),
        b"\r\n".to_vec(),
        b"{\"type\":\"ping\",\"id\":10}\r\n".to_vec(),
    ];
    for line in &lines {
        c.send_raw(line).await;
    }
    // Whatever each of those earned, the session and the server survive.
    c.assert_open().await;
    c.discard_buffered();
    let id = c.say_id("#public", "after the noise").await;
    let m = bob.expect_message("#public").await;
    assert_eq!(m["msg_id"], id);
}

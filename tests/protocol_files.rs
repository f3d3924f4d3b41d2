//! §14 file transfer, sending part one: what `hello` says about files
//! (§15), and every check `file_offer` makes before any data is sent — the
//! chat as for `send`, `max_file_bytes`, the quota, the name, size, sha256,
//! mime and caption rules — and that an offer counts against the frame
//! rate. Chunks, `file_done`, `file_cancel` and resuming are in
//! protocol_files_upload.rs; downloads in protocol_files_get.rs; storage
//! in protocol_files_storage.rs.
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

// ----- hello and the server options (§15) -----------------------------------

#[tokio::test]
async fn hello_offers_files_and_states_the_file_limits() {
    let server = TestServer::start().await;
    let c = server.client().await;
    let hello = &c.hello;
    let features: Vec<&str> = hello["features"]
        .as_array()
        .unwrap_or_else(|| panic!("hello has a features array: {hello}"))
        .iter()
        .map(|f| f.as_str().expect("features are strings"))
        .collect();
    for f in ["groups", "admin", "files"] {
        assert!(features.contains(&f), "{f} in {hello}");
    }
    // New optional fields may be added, so each limit is checked by name.
    let limits = &hello["limits"];
    assert_eq!(limits["max_frame_bytes"], 65_536, "{hello}");
    assert_eq!(limits["max_text_bytes"], 4_096, "{hello}");
    assert_eq!(limits["max_file_bytes"], 104_857_600, "{hello}");
    assert_eq!(limits["file_chunk_bytes"], 32_768, "{hello}");
}

#[tokio::test]
async fn hello_states_the_max_file_bytes_the_server_was_given() {
    // Reading: `limits.max_file_bytes` is the server's option, not the
    // contract's default, so that a client can check before it offers.
    let server = files_server(MIB, 10 * MIB).await;
    let c = server.client().await;
    assert_eq!(c.hello["limits"]["max_file_bytes"], MIB, "{}", c.hello);
    assert_eq!(c.hello["limits"]["file_chunk_bytes"], CHUNK, "{}", c.hello);
}

#[test]
fn file_options_default_to_the_contract() {
    let mut config = tchat::server::ServerConfig::new(
        "127.0.0.1:0".parse().unwrap(),
        std::path::PathBuf::from("unused.db"),
    );
    assert_eq!(
        file_options(&mut config, None),
        FileOptions {
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
            file_quota_bytes: DEFAULT_QUOTA_BYTES,
            files_dir: None,
        }
    );
}

#[tokio::test]
async fn file_requests_before_login_are_not_authenticated() {
    let server = TestServer::start().await;
    let mut c = server.client().await;
    let bytes = data(10, 1);
    for frame in [
        offer_req("#public", "a.txt", &bytes),
        chunk_req("x", 0, &bytes),
        done_req("x"),
        cancel_req("x"),
        get_req("x", 0),
        get_cancel_req("x"),
    ] {
        c.error(frame, "not_authenticated").await;
    }
    c.assert_open().await;
}

// ----- a good offer -----------------------------------------------------------

#[tokio::test]
async fn an_offer_is_accepted_with_a_file_id_at_offset_zero_and_tells_nobody() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let mut a2 = server.session("alice").await;
    let mut bob = server.user("bob").await;
    settle_all(&mut [&mut alice, &mut a2, &mut bob]).await;

    let bytes = data(1000, 1);
    let id = alice
        .send_with_id(offer_req_with(
            "#public",
            "report.pdf",
            &bytes,
            "application/pdf",
            "Q3 numbers",
        ))
        .await;
    let r = alice.reply_to(id).await;
    assert_eq!(r["type"], "file_accepted", "{r}");
    assert!(r["file_id"].as_str().is_some_and(|s| !s.is_empty()), "{r}");
    assert_eq!(
        r,
        json!({"type": "file_accepted", "id": id, "file_id": r["file_id"], "offset": 0})
    );
    // Nothing is posted until file_done: no message, no history entry.
    silence_all(&mut [&mut alice, &mut a2, &mut bob]).await;
    let h = bob.request(g("history", "#public")).await;
    assert_eq!(h["messages"], json!([]), "{h}");
}

#[tokio::test]
async fn every_offer_gets_its_own_file_id() {
    // A file_id names one posting, not the content: the same bytes offered
    // twice on one connection are two uploads.
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    let bytes = data(100, 2);
    let one = offer(&mut alice, offer_req("#public", "a.bin", &bytes)).await;
    let two = offer(&mut alice, offer_req("#public", "b.bin", &bytes)).await;
    let three = offer(&mut bob, offer_req("#public", "a.bin", &bytes)).await;
    assert_ne!(one, two);
    assert_ne!(one, three);
    assert_ne!(two, three);
}

// ----- the chat, checked as for send ----------------------------------------

#[tokio::test]
async fn offers_into_private_chats_need_an_open_chat_as_send_does() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    let bytes = data(10, 3);
    // Never opened, only requested, and after it ended.
    alice
        .error(offer_req("@bob", "a.txt", &bytes), "not_open")
        .await;
    alice
        .ok(json!({"type": "request_chat", "user": "bob"}))
        .await;
    alice
        .error(offer_req("@bob", "a.txt", &bytes), "not_open")
        .await;
    bob.expect_event("chat_request").await;
    bob.ok(json!({"type": "accept", "user": "alice"})).await;
    offer(&mut alice, offer_req("@bob", "a.txt", &bytes)).await;
    offer(&mut bob, offer_req("@ALICE", "a.txt", &bytes)).await;
    bob.ok(json!({"type": "end_chat", "user": "alice"})).await;
    alice
        .error(offer_req("@bob", "a.txt", &bytes), "not_open")
        .await;
    // As for send: no such account, and oneself.
    alice
        .error(offer_req("@ghost", "a.txt", &bytes), "no_such_user")
        .await;
    alice
        .error(offer_req("@alice", "a.txt", &bytes), "self_target")
        .await;
}

#[tokio::test]
async fn offers_into_groups_need_membership_and_an_existing_visible_group() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    let mut carol = server.user("carol").await;
    group(
        &mut bob,
        "#rust",
        "open",
        &mut [(&mut carol, "carol")],
        &mut [&mut alice],
    )
    .await;
    create(&mut bob, "#secret", "invite").await;
    let bytes = data(10, 4);

    alice
        .error(offer_req("#rust", "a.txt", &bytes), "not_member")
        .await;
    alice
        .error(offer_req("#nowhere", "a.txt", &bytes), "no_such_chat")
        .await;
    // A hidden group answers exactly as one that does not exist.
    alice
        .error(offer_req("#secret", "a.txt", &bytes), "no_such_chat")
        .await;
    // Members may, in any casing; so may anyone in #public.
    offer(&mut carol, offer_req("#RUST", "a.txt", &bytes)).await;
    offer(&mut bob, offer_req("#secret", "a.txt", &bytes)).await;
    offer(&mut alice, offer_req("#public", "a.txt", &bytes)).await;
    // A user who left is no longer a member.
    carol.ok(g("leave", "#rust")).await;
    carol
        .error(offer_req("#rust", "a.txt", &bytes), "not_member")
        .await;
}

#[tokio::test]
async fn an_offer_without_a_chat_or_with_a_malformed_key_is_refused() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let bytes = data(10, 5);
    let mut no_chat = offer_req("#public", "a.txt", &bytes);
    no_chat.as_object_mut().unwrap().remove("chat");
    alice.error(no_chat, "bad_request").await;
    let mut number = offer_req("#public", "a.txt", &bytes);
    number["chat"] = json!(7);
    alice.error(number, "bad_request").await;
    alice.assert_open().await;
}

#[tokio::test]
async fn a_muted_user_cannot_offer_in_public_or_a_group_but_may_in_private() {
    let server = TestServer::start().await;
    let mut boss = admin(&server, "boss").await;
    let mut bob = server.user("bob").await;
    let mut carol = server.user("carol").await;
    group(
        &mut bob,
        "#rust",
        "open",
        &mut [(&mut carol, "carol")],
        &mut [&mut boss],
    )
    .await;
    open_chat(&mut bob, "bob", &mut carol, "carol").await;
    boss.ok(mute_req("bob", Some(15), "quiet")).await;
    let until = bob.expect_event("muted").await["until"].clone();
    assert!(until.is_i64(), "{until}");

    let bytes = data(10, 6);
    for chat in ["#public", "#rust", "#Rust"] {
        let r = bob.request(offer_req(chat, "a.txt", &bytes)).await;
        assert_eq!(
            sans_message(&r),
            json!({"type": "error", "id": r["id"], "code": "muted", "until": until}),
            "{chat}"
        );
        assert!(r["message"].as_str().is_some_and(|m| !m.is_empty()), "{r}");
    }
    // §13: "files in private chats still work".
    let bytes = data(3000, 6);
    let posted = post(&mut bob, "@carol", "still.txt", &bytes).await;
    assert_eq!(carol.expect_message("@bob").await["msg_id"], posted.msg_id);
    // Unmuted, the user may offer everywhere again.
    boss.ok(u("unmute", "bob")).await;
    bob.expect_event("muted").await;
    offer(&mut bob, offer_req("#public", "a.txt", &bytes)).await;
    offer(&mut bob, offer_req("#rust", "a.txt", &bytes)).await;
}

// ----- size: max_file_bytes ---------------------------------------------------

#[tokio::test]
async fn a_size_above_max_file_bytes_is_file_too_large_before_any_data() {
    let server = files_server(MIB, 100 * MIB).await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    bob.settle().await;
    let sha = sha_hex(b"whatever");
    let offer_of = |size: u64| {
        json!({"type": "file_offer", "chat": "#public", "name": "big.iso",
               "size": size, "sha256": sha})
    };
    for size in [MIB + 1, 2 * MIB, u64::from(u32::MAX) + 1, 1 << 53] {
        alice.error(offer_of(size), "file_too_large").await;
    }
    // Exactly max_file_bytes is allowed.
    offer(&mut alice, offer_of(MIB)).await;
    bob.expect_silence().await;
}

#[tokio::test]
async fn size_may_be_zero_but_must_be_a_non_negative_integer() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    offer(&mut alice, offer_req("#public", "empty.txt", b"")).await;
    let base = offer_req("#public", "a.txt", b"abc");
    for size in [json!(-1), json!(1.5), json!("3"), json!(null), json!([3])] {
        let mut bad = base.clone();
        bad["size"] = size;
        alice.error(bad, "bad_request").await;
    }
    let mut missing = base.clone();
    missing.as_object_mut().unwrap().remove("size");
    alice.error(missing, "bad_request").await;
    alice.assert_open().await;
}

// ----- the quota --------------------------------------------------------------

#[tokio::test]
async fn an_offer_that_would_take_the_users_postings_over_the_quota_is_refused() {
    // Reading: the check is "stored postings + size > quota"; an offer that
    // brings the total exactly to the quota is accepted.
    let server = files_server(MIB, 100_000).await;
    let mut alice = server.user("alice").await;
    let first = data(60_000, 7);
    post(&mut alice, "#public", "first.bin", &first).await;

    let sha = sha_hex(b"not checked yet");
    let offer_of = |size: u64| {
        json!({"type": "file_offer", "chat": "#public", "name": "next.bin",
               "size": size, "sha256": sha})
    };
    alice.error(offer_of(40_001), "quota_exceeded").await;
    alice.error(offer_of(100_000), "quota_exceeded").await;
    offer(&mut alice, offer_of(40_000)).await;
    // A file that is itself over the quota (but under max_file_bytes).
    let mut bob = server.user("bob").await;
    bob.error(offer_of(100_001), "quota_exceeded").await;
    offer(&mut bob, offer_of(100_000)).await;
}

#[tokio::test]
async fn the_quota_counts_postings_not_stored_copies_and_is_per_user() {
    let server = files_server(MIB, 100_000).await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    let bytes = data(60_000, 8);
    post(&mut alice, "#public", "one.bin", &bytes).await;
    // The same content again is stored once but is a second posting of
    // 60 000 bytes: 120 000 > 100 000.
    alice
        .error(offer_req("#public", "two.bin", &bytes), "quota_exceeded")
        .await;
    // Another user's quota is untouched by alice's postings, even of the
    // same content.
    post(&mut bob, "#public", "one.bin", &bytes).await;
}

#[tokio::test]
async fn the_quota_counts_postings_in_every_kind_of_chat() {
    let server = files_server(MIB, 100_000).await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    open_chat(&mut alice, "alice", &mut bob, "bob").await;
    create(&mut alice, "#team", "open").await;
    post(&mut alice, "@bob", "a.bin", &data(40_000, 9)).await;
    post(&mut alice, "#team", "b.bin", &data(40_000, 10)).await;
    let third = data(40_000, 11);
    for chat in ["#public", "#team", "@bob"] {
        alice
            .error(offer_req(chat, "c.bin", &third), "quota_exceeded")
            .await;
    }
    offer(&mut alice, offer_req("#public", "c.bin", &data(20_000, 12))).await;
}

#[tokio::test]
async fn a_deleted_posting_no_longer_counts_against_the_quota() {
    // Reading: a message deleted with delete_message no longer refers to
    // its file, so the posting is not "stored" any more and frees quota.
    let server = files_server(MIB, 100_000).await;
    let mut alice = server.user("alice").await;
    let posted = post(&mut alice, "#public", "a.bin", &data(80_000, 13)).await;
    let next = data(80_000, 14);
    alice
        .error(offer_req("#public", "b.bin", &next), "quota_exceeded")
        .await;
    alice.ok(delete_req("#public", posted.msg_id)).await;
    post(&mut alice, "#public", "b.bin", &next).await;
}

#[tokio::test]
async fn the_quota_survives_a_restart() {
    let server = files_server(MIB, 100_000).await;
    let mut alice = server.user("alice").await;
    post(&mut alice, "#public", "a.bin", &data(80_000, 15)).await;
    alice.logout().await;
    let server = server.restart().await;
    let mut alice = server.session("alice").await;
    alice
        .error(
            offer_req("#public", "b.bin", &data(30_000, 16)),
            "quota_exceeded",
        )
        .await;
}

// ----- name -------------------------------------------------------------------

/// Offers `name` and returns the reply.
async fn offer_named(c: &mut TestClient, name: Value) -> Value {
    let mut frame = offer_req("#public", "x", b"abc");
    frame["name"] = name;
    c.request(frame).await
}

#[tokio::test]
async fn names_breaking_the_name_rules_are_bad_requests() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let bad: Vec<(String, &str)> = vec![
        (String::new(), "empty"),
        (" ".into(), "only a space"),
        ("    ".into(), "only spaces"),
        ("a".repeat(256), "256 bytes"),
        ("é".repeat(128), "256 bytes in 128 characters"),
        ("€".repeat(86), "258 bytes in 86 characters"),
        ("a/b.txt".into(), "slash"),
        ("/etc/passwd".into(), "absolute path"),
        ("../up.txt".into(), "a parent in a path"),
        ("a\\b.txt".into(), "backslash"),
        ("..\\up.txt".into(), "a windows path"),
        ("a\nb.txt".into(), "newline"),
        ("a\tb.txt".into(), "tab"),
        ("a\rb.txt".into(), "carriage return"),
        ("nul\u{0}.txt".into(), "NUL"),
        ("bell\u{7}.txt".into(), "C0"),
        ("del\u{7f}.txt".into(), "DEL"),
        ("c1\u{85}.txt".into(), "C1 next line"),
        ("c1\u{9b}.txt".into(), "C1 CSI"),
        ("evil\u{202e}txt.exe".into(), "right-to-left override"),
        ("x\u{202a}.txt".into(), "left-to-right embedding"),
        ("x\u{2066}.txt".into(), "left-to-right isolate"),
        ("x\u{2069}.txt".into(), "pop directional isolate"),
        (".".into(), "dot"),
        ("..".into(), "dot dot"),
    ];
    for (name, why) in bad {
        let r = offer_named(&mut alice, json!(name)).await;
        assert_error(&r, "bad_request", &json!({"id": r["id"]}));
        assert!(
            r.get("offset").is_none(),
            "{why}: no offset on a bad offer: {r}"
        );
    }
    for name in [json!(null), json!(7), json!(["a"])] {
        let r = offer_named(&mut alice, name.clone()).await;
        assert_error(&r, "bad_request", &json!({"id": r["id"]}));
    }
    let mut missing = offer_req("#public", "x", b"abc");
    missing.as_object_mut().unwrap().remove("name");
    alice.error(missing, "bad_request").await;
    alice.assert_open().await;
}

#[tokio::test]
async fn names_within_the_rules_are_accepted_and_kept_as_sent() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    bob.settle().await;
    let good = [
        "a".to_string(),
        "a".repeat(255),
        "€".repeat(85), // 255 bytes
        "report (final) v2.pdf".into(),
        " leading and trailing spaces ".into(),
        ".hidden".into(),
        "...".into(),
        "..a".into(),
        "Grüße 🎉 名前.txt".into(),
        "no-extension".into(),
        "a:b*c?d\"e<f>g|h.txt".into(),
    ];
    let bytes = data(5, 17);
    for name in good {
        let posted = post(&mut alice, "#public", &name, &bytes).await;
        let m = bob.expect_message("#public").await;
        assert_eq!(m["msg_id"], posted.msg_id, "{m}");
        assert_eq!(m["file"]["name"], name.as_str(), "the name as sent: {m}");
        // Without a caption the message text is the name.
        assert_eq!(m["text"], name.as_str(), "{m}");
    }
}

// ----- sha256 -------------------------------------------------------------------

#[tokio::test]
async fn sha256_must_be_64_hex_digits() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let good = sha_hex(b"abc");
    let bad = [
        json!(""),
        json!(good[..63]),
        json!(format!("{good}0")),
        json!(format!("{}g", &good[..63])),
        json!(format!("0x{}", &good[..62])),
        json!(format!(" {}", &good[..63])),
        json!(b64(b"a 32-byte digest in base64 .....")),
        json!(null),
        json!(12),
    ];
    for sha in bad {
        let mut frame = offer_req("#public", "a.txt", b"abc");
        frame["sha256"] = sha.clone();
        alice.error(frame, "bad_request").await;
    }
    let mut missing = offer_req("#public", "a.txt", b"abc");
    missing.as_object_mut().unwrap().remove("sha256");
    alice.error(missing, "bad_request").await;
    alice.assert_open().await;
}

#[tokio::test]
async fn sha256_in_upper_or_mixed_case_is_accepted_and_reported_lowercase() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    bob.settle().await;
    let bytes = data(5000, 18);
    let lower = sha_hex(&bytes);
    let upper = lower.to_uppercase();
    let mixed: String = lower
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if i % 2 == 0 {
                c.to_ascii_uppercase()
            } else {
                c
            }
        })
        .collect();
    for sha in [upper, mixed] {
        let mut frame = offer_req("#public", "case.bin", &bytes);
        frame["sha256"] = json!(sha);
        let posted = post_with(&mut alice, frame, &bytes).await;
        let m = bob.expect_message("#public").await;
        assert_eq!(m["msg_id"], posted.msg_id);
        assert_eq!(m["file"]["sha256"], lower, "{m}");
        let info = download(&mut bob, &posted.file_id, &bytes).await;
        assert_eq!(info["sha256"], lower, "{info}");
    }
}

// ----- mime and caption -----------------------------------------------------

#[tokio::test]
async fn mime_defaults_to_application_octet_stream_and_is_kept_when_given() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    bob.settle().await;
    let bytes = data(100, 19);
    post(&mut alice, "#public", "plain", &bytes).await;
    let m = bob.expect_message("#public").await;
    assert_eq!(m["file"]["mime"], "application/octet-stream", "{m}");

    let mut frame = offer_req("#public", "notes.md", &bytes);
    frame["mime"] = json!("text/markdown; charset=utf-8");
    post_with(&mut alice, frame, &bytes).await;
    let m = bob.expect_message("#public").await;
    assert_eq!(m["file"]["mime"], "text/markdown; charset=utf-8", "{m}");

    let mut frame = offer_req("#public", "x", &bytes);
    frame["mime"] = json!(42);
    alice.error(frame, "bad_request").await;
}

#[tokio::test]
async fn a_caption_follows_the_text_rules() {
    // Reading: the caption becomes the message's `text`, so it follows §3
    // and breaking it is `invalid_text`, as for `send`.
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let bytes = data(10, 20);
    for caption in [
        json!(""),
        json!("   "),
        json!("\u{200b}"),
        json!("bell\u{7}"),
        json!("evil\u{202e}"),
        json!("x".repeat(4097)),
    ] {
        let mut frame = offer_req("#public", "a.txt", &bytes);
        frame["text"] = caption;
        alice.error(frame, "invalid_text").await;
    }
    let mut frame = offer_req("#public", "a.txt", &bytes);
    frame["text"] = json!(3);
    alice.error(frame, "bad_request").await;
    let mut frame = offer_req("#public", "a.txt", &bytes);
    frame["text"] = json!("line one\nline\ttwo ✓");
    offer(&mut alice, frame).await;
}

// ----- the frame rate -----------------------------------------------------------

#[tokio::test]
async fn offers_count_against_the_frame_rate() {
    // Only chunks are exempt from §10's rate; an offer is an ordinary
    // request.
    let server = files_server_with(MIB, 100 * MIB, |c| c.max_msg_rate = 20).await;
    let mut alice = server.user("alice").await;
    let bytes = data(10, 21);
    let mut batch = Vec::new();
    for i in 0..60u64 {
        let mut frame = offer_req("#public", &format!("f{i}.txt"), &bytes);
        frame["id"] = json!(i);
        batch.extend(serde_json::to_vec(&frame).unwrap());
        batch.push(b'\n');
    }
    alice.send_raw(&batch).await;
    let mut accepted = 0;
    let mut limited = 0;
    for i in 0..60u64 {
        let r: Value = alice.reply_to(i).await;
        if r["type"] == "file_accepted" {
            accepted += 1;
        } else {
            assert_error(&r, "rate_limited", &json!({"id": i}));
            assert!(r["retry_after_ms"].as_u64().is_some(), "{r}");
            limited += 1;
        }
    }
    assert!(accepted >= 39, "the burst is allowed: {accepted}");
    assert!(limited > 0, "some offers are rate limited");
}

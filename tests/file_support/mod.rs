//! Helpers for the §14 file-transfer conformance tests: test data with its
//! SHA-256 and base64, request builders, an upload and a download in one
//! call each, and looks at the files directory on disk.
//!
//! The server options for files are named in exactly one place,
//! [`file_options`], so that the implementation can rename them there.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tchat::server::ServerConfig;

use crate::common::*;

/// `hello.limits.file_chunk_bytes` (§14, §15).
pub const CHUNK: usize = 32_768;
/// The default `max_file_bytes` (100 MiB).
pub const DEFAULT_MAX_FILE_BYTES: u64 = 104_857_600;
/// The default per-user quota (1 GiB).
pub const DEFAULT_QUOTA_BYTES: u64 = 1 << 30;
/// The `max_file_bytes` the limit tests configure.
pub const MIB: u64 = 1 << 20;
/// How many chunks a client may keep unanswered (§14 "paced").
pub const WINDOW: usize = 8;

// ============================================================================
// CONFIG-DEPENDENT. The only lines of the file tests that name the planned
// `ServerConfig` fields for §14:
//   max_file_bytes: u64, file_quota_bytes: u64,
//   files_dir: Option<PathBuf> (None = `<directory of the database>/files`).
// If the implementation names or types them differently, fix this function
// and nothing else.
// ============================================================================

/// The §14 server options.
#[derive(Clone, Debug, PartialEq)]
pub struct FileOptions {
    pub max_file_bytes: u64,
    pub file_quota_bytes: u64,
    pub files_dir: Option<PathBuf>,
}

/// Sets `cfg`'s file options to `set` (when given) and returns what they
/// are afterwards.
pub fn file_options(cfg: &mut ServerConfig, set: Option<&FileOptions>) -> FileOptions {
    if let Some(o) = set {
        cfg.max_file_bytes = o.max_file_bytes;
        cfg.file_quota_bytes = o.file_quota_bytes;
        cfg.files_dir = o.files_dir.clone();
    }
    FileOptions {
        max_file_bytes: cfg.max_file_bytes,
        file_quota_bytes: cfg.file_quota_bytes,
        files_dir: cfg.files_dir.clone(),
    }
}

// ============================================================================
// End of the config-dependent part.
// ============================================================================

/// A test server with `max_file_bytes` and a per-user `quota`, files in
/// the default place (`files` beside the database).
pub async fn files_server(max_file_bytes: u64, quota: u64) -> TestServer {
    files_server_with(max_file_bytes, quota, |_| {}).await
}

/// [`files_server`] with further configuration (the frame rate, …).
pub async fn files_server_with(
    max_file_bytes: u64,
    quota: u64,
    more: impl Fn(&mut ServerConfig) + Send + Sync + 'static,
) -> TestServer {
    TestServer::start_with(move |cfg| {
        let set = FileOptions {
            max_file_bytes,
            file_quota_bytes: quota,
            files_dir: None,
        };
        file_options(cfg, Some(&set));
        more(cfg);
    })
    .await
}

/// A test server whose files live in `dir`.
pub async fn files_server_in(dir: PathBuf) -> TestServer {
    TestServer::start_with(move |cfg| {
        let set = FileOptions {
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
            file_quota_bytes: DEFAULT_QUOTA_BYTES,
            files_dir: Some(dir.clone()),
        };
        file_options(cfg, Some(&set));
    })
    .await
}

/// Where a server started with `files_dir: None` keeps its files (with
/// PostgreSQL, where the harness puts them: the same place).
pub fn default_files_dir(server: &TestServer) -> PathBuf {
    server.dir().join("files")
}

// ----- test data ------------------------------------------------------------

/// `len` bytes of deterministic noise (different for each `seed`, and
/// incompressible enough that a stored copy is the bytes themselves).
pub fn data(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// The SHA-256 of `bytes`, 64 lowercase hex digits.
pub fn sha_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Standard base64 with padding.
pub fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Decodes standard base64 with padding; fails the test otherwise.
pub fn unb64(text: &Value) -> Vec<u8> {
    let s = text
        .as_str()
        .unwrap_or_else(|| panic!("data is a string: {text}"));
    STANDARD
        .decode(s)
        .unwrap_or_else(|e| panic!("data is standard padded base64 ({e}): {s:.80}"))
}

// ----- requests -------------------------------------------------------------

/// A `file_offer` of `bytes` named `name` into `chat` (no mime, no caption).
pub fn offer_req(chat: &str, name: &str, bytes: &[u8]) -> Value {
    json!({
        "type": "file_offer",
        "chat": chat,
        "name": name,
        "size": bytes.len(),
        "sha256": sha_hex(bytes),
    })
}

/// [`offer_req`] with a `mime` and a caption.
pub fn offer_req_with(chat: &str, name: &str, bytes: &[u8], mime: &str, text: &str) -> Value {
    let mut f = offer_req(chat, name, bytes);
    f["mime"] = json!(mime);
    f["text"] = json!(text);
    f
}

pub fn chunk_req(file_id: &str, offset: usize, bytes: &[u8]) -> Value {
    json!({"type": "file_chunk", "file_id": file_id, "offset": offset, "data": b64(bytes)})
}

/// `{"type": kind, "file_id": file_id}`: file_done, file_cancel,
/// file_get_cancel.
pub fn f(kind: &str, file_id: &str) -> Value {
    json!({"type": kind, "file_id": file_id})
}

pub fn done_req(file_id: &str) -> Value {
    f("file_done", file_id)
}

pub fn cancel_req(file_id: &str) -> Value {
    f("file_cancel", file_id)
}

pub fn get_req(file_id: &str, offset: usize) -> Value {
    json!({"type": "file_get", "file_id": file_id, "offset": offset})
}

pub fn get_cancel_req(file_id: &str) -> Value {
    f("file_get_cancel", file_id)
}

/// The `file` object a message carries for `bytes` posted as `name`.
pub fn file_obj(file_id: &str, name: &str, bytes: &[u8], mime: &str) -> Value {
    json!({
        "file_id": file_id,
        "name": name,
        "size": bytes.len(),
        "sha256": sha_hex(bytes),
        "mime": mime,
    })
}

/// The `file_info` reply to a `file_get` with `id`.
pub fn file_info(id: &Value, file_id: &str, name: &str, bytes: &[u8], mime: &str) -> Value {
    let mut v = file_obj(file_id, name, bytes, mime);
    v["type"] = json!("file_info");
    v["id"] = id.clone();
    v
}

/// The `bad_request` error with `offset` naming the bytes the server holds,
/// without its message.
pub fn offset_error(id: &Value, held: usize) -> Value {
    json!({"type": "error", "id": id, "code": "bad_request", "offset": held})
}

/// `frame` without its `message` (free English text).
pub fn sans_message(frame: &Value) -> Value {
    let mut v = frame.clone();
    v.as_object_mut().expect("an object").remove("message");
    v
}

// ----- uploads --------------------------------------------------------------

/// The `file_accepted` reply to `offer`: asserts its shape and returns the
/// `file_id` and the `offset`.
pub async fn accepted(c: &mut TestClient, offer: Value) -> (String, u64) {
    let what = offer.clone();
    let r = c.request(offer).await;
    assert_eq!(r["type"], "file_accepted", "reply to {what}: {r}");
    assert_eq!(
        keys(&r),
        key_list(&["type", "id", "file_id", "offset"]),
        "{r}"
    );
    let file_id = r["file_id"]
        .as_str()
        .unwrap_or_else(|| panic!("file_id is a string: {r}"))
        .to_string();
    assert!(!file_id.is_empty(), "file_id is not empty: {r}");
    let offset = r["offset"]
        .as_u64()
        .unwrap_or_else(|| panic!("offset is a non-negative integer: {r}"));
    (file_id, offset)
}

/// `offer` is accepted at offset 0; returns the `file_id`.
pub async fn offer(c: &mut TestClient, offer: Value) -> String {
    let (file_id, offset) = accepted(c, offer).await;
    assert_eq!(offset, 0, "a new upload starts at 0");
    file_id
}

/// Sends `bytes[from..]` as chunks of at most `size` bytes with ids,
/// keeping at most [`WINDOW`] unanswered, and asserts every reply is `ok`.
pub async fn send_chunks_sized(
    c: &mut TestClient,
    file_id: &str,
    bytes: &[u8],
    from: usize,
    size: usize,
) {
    let mut waiting: VecDeque<(u64, usize)> = VecDeque::new();
    let mut at = from;
    while at < bytes.len() || !waiting.is_empty() {
        if at < bytes.len() && waiting.len() < WINDOW {
            let end = (at + size).min(bytes.len());
            let id = c
                .send_with_id(chunk_req(file_id, at, &bytes[at..end]))
                .await;
            waiting.push_back((id, at));
            at = end;
        } else {
            let (id, offset) = waiting.pop_front().unwrap();
            let r = c.reply_to(id).await;
            assert_eq!(
                r,
                json!({"type": "ok", "id": id}),
                "chunk at {offset} of {file_id}"
            );
        }
    }
}

/// [`send_chunks_sized`] with full-size chunks.
pub async fn send_chunks(c: &mut TestClient, file_id: &str, bytes: &[u8], from: usize) {
    send_chunks_sized(c, file_id, bytes, from, CHUNK).await;
}

/// `c` offers `offer` (which describes `bytes`) and sends every byte, but
/// does not send `file_done`; returns the `file_id`.
pub async fn upload(c: &mut TestClient, offer_frame: Value, bytes: &[u8]) -> String {
    let file_id = offer(c, offer_frame).await;
    send_chunks(c, &file_id, bytes, 0).await;
    file_id
}

/// `file_done` for `file_id` is `ok` with `msg_id` and `ts`; returns the
/// reply.
pub async fn done(c: &mut TestClient, file_id: &str) -> Value {
    let r = c.request(done_req(file_id)).await;
    assert_eq!(r["type"], "ok", "file_done of {file_id}: {r}");
    assert_eq!(keys(&r), key_list(&["type", "id", "msg_id", "ts"]), "{r}");
    assert!(r["msg_id"].as_u64().is_some_and(|m| m > 0), "{r}");
    assert_recent_ts(&r["ts"]);
    r
}

/// A posted file: its `file_id` and the `ok` to its `file_done`.
#[derive(Clone, Debug)]
pub struct Posted {
    pub file_id: String,
    pub msg_id: u64,
    pub ts: Value,
}

/// `c` posts `bytes` with `offer_frame` (offer, chunks, done).
pub async fn post_with(c: &mut TestClient, offer_frame: Value, bytes: &[u8]) -> Posted {
    let file_id = upload(c, offer_frame, bytes).await;
    let ok = done(c, &file_id).await;
    Posted {
        file_id,
        msg_id: ok["msg_id"].as_u64().unwrap(),
        ts: ok["ts"].clone(),
    }
}

/// `c` posts `bytes` as `name` into `chat`, without mime or caption.
pub async fn post(c: &mut TestClient, chat: &str, name: &str, bytes: &[u8]) -> Posted {
    post_with(c, offer_req(chat, name, bytes), bytes).await
}

/// The `message` event (or history entry) a posted file makes, with the
/// chat key as the reader sees it.
pub fn file_message(chat: &str, posted: &Posted, from: &str, text: &str, file: Value) -> Value {
    json!({
        "type": "message",
        "chat": chat,
        "msg_id": posted.msg_id,
        "ts": posted.ts,
        "from": from,
        "text": text,
        "file": file,
    })
}

// ----- downloads ------------------------------------------------------------

/// Whether `v` is a `file_data` or `file_end` event of `file_id`.
pub fn is_download_event(v: &Value, file_id: &str) -> bool {
    v.get("id").is_none()
        && (v["type"] == "file_data" || v["type"] == "file_end")
        && v["file_id"] == file_id
}

/// Reads the `file_data` events of `file_id` from `offset` on, checking
/// that they come in order without gaps, up to its `file_end`; returns the
/// bytes. Other frames stay buffered.
pub async fn read_download(c: &mut TestClient, file_id: &str, offset: usize) -> Vec<u8> {
    let mut bytes = Vec::new();
    loop {
        let ev = c
            .expect_event_where("file_data or file_end", |v| is_download_event(v, file_id))
            .await;
        if ev["type"] == "file_end" {
            assert_eq!(ev, json!({"type": "file_end", "file_id": file_id}));
            return bytes;
        }
        assert_eq!(
            keys(&ev),
            key_list(&["type", "file_id", "offset", "data"]),
            "{ev}"
        );
        assert_eq!(
            ev["offset"],
            json!(offset + bytes.len()),
            "file_data comes in order, without gaps"
        );
        bytes.extend(unb64(&ev["data"]));
    }
}

/// `file_get` of `file_id` from `offset`: returns the `file_info` reply and
/// the bytes that followed.
pub async fn download_from(c: &mut TestClient, file_id: &str, offset: usize) -> (Value, Vec<u8>) {
    let info = c.request(get_req(file_id, offset)).await;
    assert_eq!(info["type"], "file_info", "file_get of {file_id}: {info}");
    let bytes = read_download(c, file_id, offset).await;
    (info, bytes)
}

/// The whole file `file_id`; asserts it is `expected`.
pub async fn download(c: &mut TestClient, file_id: &str, expected: &[u8]) -> Value {
    let (info, bytes) = download_from(c, file_id, 0).await;
    assert_eq!(bytes.len(), expected.len(), "downloaded size of {file_id}");
    assert!(bytes == expected, "downloaded bytes of {file_id} differ");
    assert_eq!(info["sha256"], sha_hex(&bytes), "{info}");
    info
}

/// Frames up to the reply to `id` (not included), and that reply, in the
/// order they arrived (whatever was buffered comes first).
pub async fn frames_until_reply(c: &mut TestClient, id: u64) -> (Vec<Value>, Value) {
    let mut before = Vec::new();
    loop {
        let v = c.recv().await;
        if v["id"] == json!(id) {
            return (before, v);
        }
        before.push(v);
    }
}

// ----- private chats --------------------------------------------------------

/// `a` (named `a_name`) and `b` (named `b_name`) open their private chat;
/// both are settled afterwards.
pub async fn open_chat(a: &mut TestClient, a_name: &str, b: &mut TestClient, b_name: &str) {
    a.ok(json!({"type": "request_chat", "user": b_name})).await;
    b.expect_event("chat_request").await;
    b.ok(json!({"type": "accept", "user": a_name})).await;
    a.expect_event("chat_opened").await;
    b.expect_event("chat_opened").await;
    a.settle().await;
    b.settle().await;
}

// ----- the files directory --------------------------------------------------

/// Every regular file under `dir` (none when it does not exist).
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        let meta = std::fs::symlink_metadata(&path).expect("metadata");
        if meta.is_dir() {
            out.extend(files_under(&path));
        } else if meta.is_file() {
            out.push(path);
        }
    }
    out
}

/// How many files under `dir` hold exactly `bytes`.
pub fn copies_of(dir: &Path, bytes: &[u8]) -> usize {
    files_under(dir)
        .iter()
        .filter(|p| std::fs::metadata(p).is_ok_and(|m| m.len() == bytes.len() as u64))
        .filter(|p| std::fs::read(p).is_ok_and(|b| b == bytes))
        .count()
}

/// Waits (up to [`RECV_TIMEOUT`]) until `dir` holds `n` copies of `bytes`;
/// removal may happen just after the reply that caused it.
pub async fn eventually_copies(dir: &Path, bytes: &[u8], n: usize, what: &str) {
    let deadline = tokio::time::Instant::now() + RECV_TIMEOUT;
    loop {
        let found = copies_of(dir, bytes);
        if found == n {
            return;
        }
        if tokio::time::Instant::now() > deadline {
            panic!(
                "{what}: {} holds {found} copies, expected {n}; files: {:?}",
                dir.display(),
                files_under(dir)
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

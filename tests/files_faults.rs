//! §14 file transfer under faults, through real sockets: the server killed
//! with SIGKILL in the middle of an upload and right after `file_done`'s
//! `ok` (the real binary, restarted on the same database), a download read
//! by a slow reader (the real binary, its memory read from /proc), and a
//! download resumed with `file_get`'s `offset` after the connection was cut.

mod common;
mod file_support;
mod server_support;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use common::*;
use file_support::*;
use serde_json::{json, Value};
use server_support::ServerProcess;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A client of the real server at `addr`, registered as `name`.
async fn register(addr: std::net::SocketAddr, name: &str) -> TestClient {
    let mut c = TestClient::connect(addr).await;
    c.register(name).await;
    c
}

async fn login(addr: std::net::SocketAddr, name: &str) -> TestClient {
    let mut c = TestClient::connect(addr).await;
    c.login(name, PASSWORD).await;
    c
}

/// The server's resident memory, in KiB, from /proc.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .expect("VmRSS")
}

// ----- the server killed with SIGKILL during an upload ----------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_cut_by_a_server_kill_resumes_after_restart_and_arrives_intact() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kill.db");
    let mut server = ServerProcess::start(&db, "127.0.0.1:0");
    let bytes = data(64 * CHUNK + 1234, 41);
    let bob = register(server.addr, "bob").await;
    let mut alice = register(server.addr, "alice").await;
    let offer_frame = offer_req("#public", "big.bin", &bytes);
    let file_id = offer(&mut alice, offer_frame.clone()).await;

    // Chunks go out with the full window of 8 unanswered; after 20 `ok`s the
    // server is killed with 8 chunks in flight, written or not.
    let mut waiting: VecDeque<(u64, usize)> = VecDeque::new();
    let mut sent = 0usize;
    let mut acked = 0usize;
    let mut answered = 0;
    while answered < 20 {
        while waiting.len() < WINDOW {
            let end = (sent + CHUNK).min(bytes.len());
            let id = alice
                .send_with_id(chunk_req(&file_id, sent, &bytes[sent..end]))
                .await;
            waiting.push_back((id, end));
            sent = end;
        }
        let (id, end) = waiting.pop_front().unwrap();
        let r = alice.reply_to(id).await;
        assert_eq!(r, json!({"type": "ok", "id": id}));
        acked = end;
        answered += 1;
    }
    server.kill9();
    drop(alice);
    drop(bob);

    let server = ServerProcess::start(&db, "127.0.0.1:0");
    let mut alice = login(server.addr, "alice").await;
    let (resumed_id, offset) = accepted(&mut alice, offer_frame).await;
    assert_eq!(resumed_id, file_id, "the same upload is resumed");
    let offset = offset as usize;
    // What was acknowledged was written (a killed process loses no page
    // cache); chunks in flight may have been written too, never more than
    // was sent.
    assert!(
        acked <= offset && offset <= sent,
        "resumes at {offset}: acknowledged {acked}, sent {sent}"
    );
    send_chunks(&mut alice, &file_id, &bytes, offset).await;
    done(&mut alice, &file_id).await;

    let mut bob = login(server.addr, "bob").await;
    download(&mut bob, &file_id, &bytes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_acknowledged_by_file_done_survives_a_kill_right_after() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kill.db");
    let mut server = ServerProcess::start(&db, "127.0.0.1:0");
    let bytes = data(5 * CHUNK + 17, 42);
    register(server.addr, "bob").await.logout().await;
    let mut alice = register(server.addr, "alice").await;
    let posted = post(&mut alice, "#public", "kept.bin", &bytes).await;
    // SIGKILL as soon as the `ok` is read: nothing gets a chance to flush.
    server.kill9();
    drop(alice);

    let server = ServerProcess::start(&db, "127.0.0.1:0");
    let mut bob = login(server.addr, "bob").await;
    let history = bob
        .request(json!({"type": "history", "chat": "#public", "limit": 50}))
        .await;
    assert_eq!(history["type"], "history", "{history}");
    let listed: Vec<&Value> = history["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["msg_id"] == json!(posted.msg_id))
        .collect();
    assert_eq!(listed.len(), 1, "the posted file is listed: {history}");
    assert_eq!(
        listed[0]["file"],
        file_obj(
            &posted.file_id,
            "kept.bin",
            &bytes,
            "application/octet-stream"
        )
    );
    download(&mut bob, &posted.file_id, &bytes).await;
}

// ----- a slow reader ----------------------------------------------------------

/// A raw connection that reads at most `rate` bytes per second through a
/// small receive buffer, so the kernel cannot absorb the download for it.
struct SlowReader {
    stream: tokio::net::TcpStream,
    rate: usize,
    buf: Vec<u8>,
    began: Instant,
    read_total: usize,
}

impl SlowReader {
    async fn connect(addr: std::net::SocketAddr, rate: usize) -> SlowReader {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(16 * 1024).unwrap();
        let stream = socket.connect(addr).await.expect("connect");
        SlowReader {
            stream,
            rate,
            buf: Vec::new(),
            began: Instant::now(),
            read_total: 0,
        }
    }

    async fn send(&mut self, frame: Value) {
        let mut line = serde_json::to_vec(&frame).unwrap();
        line.push(b'\n');
        self.stream.write_all(&line).await.expect("write");
    }

    /// The next frame, reading no faster than the rate; fails the test if
    /// nothing arrives for 10 s or the connection closes.
    async fn next(&mut self) -> Value {
        loop {
            if let Some(pos) = self.buf.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=pos).collect();
                return serde_json::from_slice(&line).expect("a JSON frame");
            }
            // Pace: by now at most rate × elapsed bytes may have been read.
            let due =
                self.began + Duration::from_secs_f64(self.read_total as f64 / self.rate as f64);
            tokio::time::sleep_until(due.into()).await;
            let mut piece = vec![0u8; 4096];
            let n = tokio::time::timeout(Duration::from_secs(10), self.stream.read(&mut piece))
                .await
                .expect("a frame in time")
                .expect("read");
            assert!(n > 0, "the server closed the slow reader's connection");
            self.read_total += n;
            self.buf.extend_from_slice(&piece[..n]);
        }
    }

    /// Reads frames until the reply with `id`.
    async fn reply_to(&mut self, id: u64) -> Value {
        loop {
            let v = self.next().await;
            if v["id"] == json!(id) {
                return v;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_reader_gets_the_whole_file_with_chat_in_between_and_costs_no_memory() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("slow.db");
    let server = ServerProcess::start(&db, "127.0.0.1:0");
    let bytes = data(2 << 20, 43);
    register(server.addr, "bob").await.logout().await;
    let mut alice = register(server.addr, "alice").await;
    let posted = post(&mut alice, "#public", "slow.bin", &bytes).await;

    let mut bob = SlowReader::connect(server.addr, 64 * 1024).await;
    bob.send(json!({"type": "login", "id": 1, "user": "bob", "password": PASSWORD}))
        .await;
    let welcome = bob.reply_to(1).await;
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    // The server has served an upload of the file already: what it holds
    // now is its working set; the download must not add the file to it.
    let rss_before = rss_kib(server.pid());
    bob.send(json!({"type": "file_get", "id": 2, "file_id": posted.file_id, "offset": 0}))
        .await;

    // Alice chats while Bob downloads.
    let (stop_tx, mut stop_rx) = tokio::sync::oneshot::channel::<()>();
    let chatter = tokio::spawn(async move {
        let mut n = 0;
        loop {
            tokio::select! {
                _ = &mut stop_rx => return alice,
                _ = tokio::time::sleep(Duration::from_millis(500)) => {}
            }
            alice
                .say("#public", &format!("while downloading {n}"))
                .await;
            n += 1;
        }
    });

    let pid = server.pid();
    let mut rss_peak = rss_before;
    let mut got = Vec::new();
    let mut info = None;
    // For each chat message: how many bytes of the file had arrived.
    let mut messages_at = Vec::new();
    let mut last_sample = Instant::now();
    loop {
        let v = bob.next().await;
        if last_sample.elapsed() > Duration::from_millis(250) {
            rss_peak = rss_peak.max(rss_kib(pid));
            last_sample = Instant::now();
        }
        match v["type"].as_str() {
            Some("file_info") => info = Some(v),
            Some("file_data") => {
                assert_eq!(v["offset"], json!(got.len()), "in order, no gaps");
                got.extend(unb64(&v["data"]));
            }
            Some("file_end") => break,
            Some("message") => messages_at.push(got.len()),
            _ => {}
        }
    }
    let _ = stop_tx.send(());
    chatter.await.unwrap();
    rss_peak = rss_peak.max(rss_kib(pid));

    assert_eq!(info.expect("file_info")["size"], json!(bytes.len()));
    assert!(got == bytes, "the slow download is the file");
    let between = messages_at
        .iter()
        .filter(|at| **at > 0 && **at < bytes.len())
        .count();
    assert!(
        between >= 3,
        "chat events arrive between file_data frames (bytes before each: {messages_at:?})"
    );
    // The encoded file is 2.7 MiB; the server must not have queued it.
    let growth = rss_peak.saturating_sub(rss_before);
    assert!(
        growth < 2048,
        "server RSS grew by {growth} KiB during a slow 2 MiB download (from {rss_before} KiB)"
    );
    // Still connected: a ping is answered.
    bob.send(json!({"type": "ping", "id": 3})).await;
    assert_eq!(bob.reply_to(3).await["type"], "pong");
}

// ----- a download resumed after a cut connection -----------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_cut_off_resumes_at_an_offset_with_the_same_bytes() {
    let server = files_server(DEFAULT_MAX_FILE_BYTES, DEFAULT_QUOTA_BYTES).await;
    let bytes = data(40 * CHUNK + 999, 44);
    let mut alice = server.user("alice").await;
    let posted = post(&mut alice, "#public", "resume.bin", &bytes).await;

    // Bob reads part of the download, then his connection is reset.
    let mut bob = server.user("bob").await;
    let info = bob.request(get_req(&posted.file_id, 0)).await;
    assert_eq!(info["type"], "file_info", "{info}");
    let mut first = Vec::new();
    while first.len() < 10 * CHUNK {
        let ev = bob
            .expect_event_where("file_data", |v| v["type"] == "file_data")
            .await;
        assert_eq!(ev["offset"], json!(first.len()));
        first.extend(unb64(&ev["data"]));
    }
    bob.reset();

    // A new connection fetches the rest from where the first one stopped.
    let mut bob = server.session("bob").await;
    let (info2, rest) = download_from(&mut bob, &posted.file_id, first.len()).await;
    assert_eq!(info2["sha256"], info["sha256"]);
    first.extend(rest);
    assert!(
        first == bytes,
        "resumed download is the file, byte for byte"
    );

    // From an offset that is not on a chunk boundary, too.
    let odd = 3 * CHUNK + 7;
    let (_, tail) = download_from(&mut bob, &posted.file_id, odd).await;
    assert!(tail == bytes[odd..], "the bytes from {odd} on");
}

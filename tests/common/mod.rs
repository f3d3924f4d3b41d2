//! Black-box harness for the tchat/1 protocol tests: an in-process server on
//! an ephemeral port with a throwaway database, and a line-oriented client
//! that speaks raw JSON so that every test checks the wire shapes exactly as
//! the contract writes them.
//!
//! The database is SQLite by default; `TCHAT_TEST_DB=postgres` runs every
//! `TestServer` on a fresh PostgreSQL database of the test binary's own
//! throwaway cluster (`pg_support`), with its files in the temp dir. Tests
//! that open the SQLite file themselves skip with a word when the backend is
//! not SQLite ([`sqlite_only!`]). `TCHAT_TEST_DB=cluster` runs every
//! `TestServer` as two nodes on one fresh PostgreSQL database joined by a
//! throwaway NATS, and hands out clients of the two nodes in turn, so each
//! test's users are spread across nodes.
#![allow(dead_code)]

#[path = "../pg_support/mod.rs"]
pub mod pg_support;

#[path = "../bus_support/mod.rs"]
pub mod bus_support;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tchat::server::admin::Admin;
use tchat::server::store::DbLocation;
use tchat::server::{Server, ServerConfig};
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

/// How long a test waits for a frame it expects before failing.
pub const RECV_TIMEOUT: Duration = Duration::from_secs(5);
/// How long "nothing arrives" checks listen.
pub const SILENCE: Duration = Duration::from_millis(200);
/// The password every helper-made account uses.
pub const PASSWORD: &str = "correct horse";

type Configure = Arc<dyn Fn(&mut ServerConfig) + Send + Sync>;

/// The storage the servers of this run use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
    /// Two nodes on PostgreSQL and NATS.
    Cluster,
}

/// `TCHAT_TEST_DB`: `sqlite` (the default) or `postgres`.
pub fn backend() -> Backend {
    match std::env::var("TCHAT_TEST_DB").as_deref() {
        Err(_) | Ok("") | Ok("sqlite") => Backend::Sqlite,
        Ok("postgres") | Ok("postgresql") => Backend::Postgres,
        Ok("cluster") => Backend::Cluster,
        Ok(other) => panic!("TCHAT_TEST_DB={other:?}: use sqlite, postgres or cluster"),
    }
}

pub fn backend_is_sqlite() -> bool {
    backend() == Backend::Sqlite
}

/// Ends the test early, saying why, when the servers do not run on SQLite:
/// for tests that open or look at the SQLite file itself.
#[macro_export]
macro_rules! sqlite_only {
    () => {
        if !$crate::common::backend_is_sqlite() {
            eprintln!(
                "skipped: this test works on the SQLite file itself, and TCHAT_TEST_DB is {:?}",
                std::env::var("TCHAT_TEST_DB").unwrap_or_default()
            );
            return;
        }
    };
}

/// A new database of the run's backend; SQLite's in `dir`.
pub fn fresh_db(dir: &TempDir) -> DbLocation {
    match backend() {
        Backend::Sqlite => DbLocation::Sqlite(db_path(dir)),
        Backend::Postgres | Backend::Cluster => pg_support::fresh_location(),
    }
}

/// An in-process server with its own temporary database.
pub struct TestServer {
    pub addr: SocketAddr,
    dir: TempDir,
    db: DbLocation,
    configure: Configure,
    shutdown: Box<dyn Fn(&str) + Send + Sync>,
    done: tokio::sync::oneshot::Receiver<Result<(), String>>,
    /// With `TCHAT_TEST_DB=cluster`: the other node, and the bus.
    peer: Option<Peer>,
    /// Which node the next client connects to.
    turn: std::sync::atomic::AtomicUsize,
}

/// The second node of a cluster test server.
struct Peer {
    addr: SocketAddr,
    shutdown: Box<dyn Fn(&str) + Send + Sync>,
    done: tokio::sync::oneshot::Receiver<Result<(), String>>,
    bus: bus_support::NatsServer,
}

impl TestServer {
    /// A server with fast bcrypt, a motd and no rate limit (tests that are
    /// about the rate limit switch it back on).
    pub async fn start() -> TestServer {
        TestServer::start_with(|_| {}).await
    }

    pub async fn start_with(
        configure: impl Fn(&mut ServerConfig) + Send + Sync + 'static,
    ) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = fresh_db(&dir);
        TestServer::spawn(dir, db, Arc::new(configure)).await
    }

    async fn spawn(dir: TempDir, db: DbLocation, configure: Configure) -> TestServer {
        let bus = (backend() == Backend::Cluster).then(bus_support::NatsServer::start);
        let bus_url = bus.as_ref().map(|b| b.url());
        let (addr, shutdown, done) = spawn_node(&dir, &db, &configure, bus_url.clone()).await;
        let peer = match bus {
            Some(bus) => {
                let (addr, shutdown, done) = spawn_node(&dir, &db, &configure, bus_url).await;
                Some(Peer {
                    addr,
                    shutdown,
                    done,
                    bus,
                })
            }
            None => None,
        };
        TestServer {
            addr,
            dir,
            db,
            configure,
            shutdown,
            done,
            peer,
            turn: Default::default(),
        }
    }

    /// Where the next client connects: with two nodes, each in turn.
    pub fn next_addr(&self) -> SocketAddr {
        match &self.peer {
            Some(peer) => {
                let n = self.turn.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if n.is_multiple_of(2) {
                    self.addr
                } else {
                    peer.addr
                }
            }
            None => self.addr,
        }
    }

    /// The SQLite file (with PostgreSQL, a path where nothing is).
    pub fn db_path(&self) -> PathBuf {
        db_path(&self.dir)
    }

    /// The database, whichever the backend.
    pub fn db(&self) -> DbLocation {
        self.db.clone()
    }

    /// The temporary directory of this server (its SQLite file, its files).
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Runs `f` with the account command line's `Admin` on this server's
    /// database, on a thread of its own (the PostgreSQL client must not
    /// run on the test's async thread). With SQLite, `Admin` goes through
    /// the running server's admin socket; with PostgreSQL it writes to the
    /// database, and the server notices within a second.
    pub fn admin<T: Send>(&self, f: impl FnOnce(&Admin) -> T + Send) -> T {
        let db = self.db.clone();
        std::thread::scope(|s| {
            s.spawn(move || f(&Admin::open(db).expect("open the database")))
                .join()
                .unwrap_or_else(|e| std::panic::resume_unwind(e))
        })
    }

    /// Graceful shutdown; fails the test if `run()` does not return `Ok`.
    pub async fn stop(self) -> TempDir {
        self.stop_keeping_db().await.0
    }

    async fn stop_keeping_db(self) -> (TempDir, DbLocation) {
        (self.shutdown)("test shutdown");
        if let Some(peer) = &self.peer {
            (peer.shutdown)("test shutdown");
        }
        let (dir, db) = (self.dir, self.db);
        wait_done(self.done).await;
        if let Some(peer) = self.peer {
            wait_done(peer.done).await;
        }
        (dir, db)
    }

    /// Stops this server and starts a new one on the same database.
    pub async fn restart(self) -> TestServer {
        let configure = self.configure.clone();
        let (dir, db) = self.stop_keeping_db().await;
        TestServer::spawn(dir, db, configure).await
    }

    /// Triggers a graceful shutdown without waiting for it.
    pub fn trigger_shutdown(&self, reason: &str) {
        (self.shutdown)(reason);
        if let Some(peer) = &self.peer {
            (peer.shutdown)(reason);
        }
    }

    /// Waits for `run()` to return after a shutdown was triggered.
    pub async fn join(self) {
        wait_done(self.done).await;
        if let Some(peer) = self.peer {
            wait_done(peer.done).await;
        }
    }

    /// A connected client that has read `hello` (with two nodes, of each
    /// node in turn).
    pub async fn client(&self) -> TestClient {
        TestClient::connect(self.next_addr()).await
    }

    /// A client with a freshly registered account `name`.
    pub async fn user(&self, name: &str) -> TestClient {
        let mut c = self.client().await;
        c.register(name).await;
        c
    }

    /// Registers `name` and logs it out again: an account that exists but
    /// is offline, with no stray presence events left in flight.
    pub async fn account(&self, name: &str) {
        self.user(name).await.logout().await;
    }

    /// The `welcome` a new session of `name` gets; the session is logged out
    /// again before this returns.
    pub async fn welcome_of(&self, name: &str) -> Value {
        let c = self.session(name).await;
        let welcome = c.welcome.clone();
        c.logout().await;
        welcome
    }

    /// A new session of an existing account `name`.
    pub async fn session(&self, name: &str) -> TestClient {
        let mut c = self.client().await;
        c.login(name, PASSWORD).await;
        c
    }
}

type NodeHandles = (
    SocketAddr,
    Box<dyn Fn(&str) + Send + Sync>,
    tokio::sync::oneshot::Receiver<Result<(), String>>,
);

/// One server on `db`, on a runtime and thread of its own.
async fn spawn_node(
    dir: &TempDir,
    db: &DbLocation,
    configure: &Configure,
    bus: Option<String>,
) -> NodeHandles {
    let mut config = ServerConfig::new("127.0.0.1:0".parse().unwrap(), db.clone());
    config.bcrypt_cost = 4;
    config.motd = Some("hi".into());
    config.max_msg_rate = 0;
    configure(&mut config);
    if let Some(url) = bus {
        config.bus = Some(tchat::server::cluster::bus::BusConfig { url, creds: None });
    }
    if db.is_postgres() && config.files_dir.is_none() {
        // Where SQLite's default puts them: beside the database file,
        // in the temp dir (the default with PostgreSQL is the working
        // directory).
        config.files_dir = Some(dir.path().join("files"));
    }
    // The server gets a runtime of its own, as in production: the test's
    // runtime then only drives clients, and `run()` need not be `Send`.
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("server runtime");
        let result = rt.block_on(async move {
            let server = Server::bind(config).await.expect("server binds");
            let _ = ready_tx.send((server.local_addr(), server.shutdown_handle()));
            server.run().await.map_err(|e| e.to_string())
        });
        let _ = done_tx.send(result);
    });
    let (addr, handle) = ready_rx.await.expect("server started");
    let shutdown = Box::new(move |reason: &str| handle.shutdown(reason));
    (addr, shutdown, done_rx)
}

async fn wait_done(done: tokio::sync::oneshot::Receiver<Result<(), String>>) {
    let result = tokio::time::timeout(Duration::from_secs(10), done)
        .await
        .expect("server stops within the timeout")
        .expect("server thread does not panic");
    assert_eq!(
        result,
        Ok(()),
        "run() ends with Ok after a graceful shutdown"
    );
}

fn db_path(dir: &TempDir) -> PathBuf {
    dir.path().join("tchat.db")
}

/// One TCP connection speaking tchat/1.
pub struct TestClient {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
    partial: Vec<u8>,
    buffered: VecDeque<Value>,
    next_id: u64,
    /// The `hello` frame the server greeted us with.
    pub hello: Value,
    /// The `welcome` of the last successful register/login helper call.
    pub welcome: Value,
}

impl TestClient {
    pub async fn connect(addr: SocketAddr) -> TestClient {
        let stream = TcpStream::connect(addr).await.expect("connect");
        TestClient::from_stream(stream).await
    }

    pub async fn from_stream(stream: TcpStream) -> TestClient {
        stream.set_nodelay(true).expect("nodelay");
        let (r, w) = stream.into_split();
        let mut c = TestClient {
            reader: BufReader::new(r),
            writer: w,
            partial: Vec::new(),
            buffered: VecDeque::new(),
            // Helper ids start high so they never collide with the small
            // literal ids tests write into raw frames.
            next_id: 1000,
            hello: Value::Null,
            welcome: Value::Null,
        };
        let hello = c.recv().await;
        assert_eq!(hello["type"], "hello", "first frame is hello: {hello}");
        c.hello = hello;
        c
    }

    /// Closes the connection with a TCP reset instead of a clean FIN.
    pub fn reset(self) {
        let stream = self
            .reader
            .into_inner()
            .reunite(self.writer)
            .expect("same stream");
        stream.set_zero_linger().expect("linger");
        drop(stream);
    }

    pub async fn send_raw(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).await.expect("write");
        self.writer.flush().await.expect("flush");
    }

    /// Writes without failing the test when the server has already closed.
    pub async fn try_send_raw(&mut self, bytes: &[u8]) -> bool {
        matches!(
            tokio::time::timeout(RECV_TIMEOUT, self.writer.write_all(bytes)).await,
            Ok(Ok(()))
        )
    }

    pub async fn send_json(&mut self, frame: Value) {
        let mut line = serde_json::to_vec(&frame).expect("serialize");
        line.push(b'\n');
        self.send_raw(&line).await;
    }

    /// Gives `frame` a fresh id, sends it and returns that id.
    pub async fn send_with_id(&mut self, mut frame: Value) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        frame["id"] = json!(id);
        self.send_json(frame).await;
        id
    }

    /// Reads one frame from the socket (not from the buffer). `None` on EOF
    /// or reset; fails the test on timeout or on a frame that is not JSON.
    async fn read_frame(&mut self, timeout: Duration) -> Result<Option<Value>, ()> {
        let read =
            tokio::time::timeout(timeout, self.reader.read_until(b'\n', &mut self.partial)).await;
        match read {
            Err(_) => Err(()),
            Ok(Err(_)) => Ok(None),
            Ok(Ok(_)) => {
                if self.partial.last() != Some(&b'\n') {
                    return Ok(None);
                }
                let line = std::mem::take(&mut self.partial);
                assert!(
                    line.len() <= tchat::protocol::MAX_SERVER_FRAME_BYTES,
                    "server frame of {} bytes is over the limit",
                    line.len()
                );
                let text = std::str::from_utf8(&line).expect("server frame is UTF-8");
                let value: Value = serde_json::from_str(text.trim_end_matches('\n'))
                    .unwrap_or_else(|e| panic!("server frame is not JSON ({e}): {text:?}"));
                assert!(value.is_object(), "server frame is an object: {value}");
                Ok(Some(value))
            }
        }
    }

    /// The next frame, buffered or fresh; `None` when the connection closed.
    pub async fn next_frame(&mut self) -> Option<Value> {
        if let Some(v) = self.buffered.pop_front() {
            return Some(v);
        }
        match self.read_frame(RECV_TIMEOUT).await {
            Ok(v) => v,
            Err(()) => panic!("no frame from the server within {RECV_TIMEOUT:?}"),
        }
    }

    /// The next frame if one arrives within `wait`; `None` on timeout or close.
    pub async fn try_recv(&mut self, wait: Duration) -> Option<Value> {
        if let Some(v) = self.buffered.pop_front() {
            return Some(v);
        }
        self.read_frame(wait).await.ok().flatten()
    }

    /// The next frame; fails the test if none arrives or the connection closed.
    pub async fn recv(&mut self) -> Value {
        self.next_frame()
            .await
            .expect("connection closed while a frame was expected")
    }

    /// Sends `frame` with a fresh id and returns the reply carrying that id.
    /// Frames without that id arriving meanwhile are kept for later `recv`s.
    pub async fn request(&mut self, frame: Value) -> Value {
        let id = self.send_with_id(frame).await;
        self.reply_to(id).await
    }

    /// The reply with `id`, buffering anything else that arrives first.
    pub async fn reply_to(&mut self, id: u64) -> Value {
        self.reply_to_within(id, RECV_TIMEOUT).await
    }

    /// [`Self::reply_to`], for a reply that may take longer than usual to
    /// come (one behind slow password checks).
    pub async fn reply_to_within(&mut self, id: u64, wait: Duration) -> Value {
        if let Some(pos) = self.buffered.iter().position(|v| v["id"] == json!(id)) {
            return self.buffered.remove(pos).unwrap();
        }
        loop {
            match self.read_frame(wait).await {
                Err(()) => panic!("no reply to id {id} within {wait:?}"),
                Ok(None) => panic!("connection closed before the reply to id {id}"),
                Ok(Some(v)) if v["id"] == json!(id) => return v,
                Ok(Some(v)) => self.buffered.push_back(v),
            }
        }
    }

    /// Sends a request and asserts the reply is `ok` with the same id.
    pub async fn ok(&mut self, frame: Value) -> Value {
        let what = frame.clone();
        let reply = self.request(frame).await;
        assert_eq!(reply["type"], "ok", "reply to {what} is ok: {reply}");
        reply
    }

    /// Sends a request and asserts the reply is an `error` with `code`.
    pub async fn error(&mut self, frame: Value, code: &str) -> Value {
        let what = frame.clone();
        let reply = self.request(frame).await;
        assert_error(&reply, code, &what);
        reply
    }

    /// The next event (a frame without `id`) of type `kind`; other frames that
    /// arrive first stay buffered.
    pub async fn expect_event(&mut self, kind: &str) -> Value {
        self.expect_event_where(kind, |v| v["type"] == kind).await
    }

    /// The next event (a frame without `id`) for which `wanted` holds;
    /// `what` names it in the failure message. Other frames that arrive
    /// first stay buffered, in order.
    pub async fn expect_event_where(
        &mut self,
        what: &str,
        wanted: impl Fn(&Value) -> bool,
    ) -> Value {
        let matches = |v: &Value| v.get("id").is_none() && wanted(v);
        if let Some(pos) = self.buffered.iter().position(matches) {
            return self.buffered.remove(pos).unwrap();
        }
        loop {
            match self.read_frame(RECV_TIMEOUT).await {
                Err(()) => panic!(
                    "no {what} event within {RECV_TIMEOUT:?}; got meanwhile: {:?}",
                    self.buffered
                ),
                Ok(None) => panic!(
                    "connection closed before a {what} event; got: {:?}",
                    self.buffered
                ),
                Ok(Some(v)) if matches(&v) => return v,
                Ok(Some(v)) => self.buffered.push_back(v),
            }
        }
    }

    /// Asserts nothing is buffered and nothing arrives for a short while.
    pub async fn expect_silence(&mut self) {
        self.expect_silence_for(SILENCE).await;
    }

    pub async fn expect_silence_for(&mut self, wait: Duration) {
        assert!(
            self.buffered.is_empty(),
            "unexpected frames: {:?}",
            self.buffered
        );
        match self.read_frame(wait).await {
            Err(()) => {}
            Ok(None) => panic!("connection closed while it should stay open"),
            Ok(Some(v)) => panic!("unexpected frame: {v}"),
        }
    }

    /// Waits until every event already queued for this session has arrived
    /// (a ping's pong comes after them) and drops them all.
    pub async fn settle(&mut self) -> Vec<Value> {
        self.assert_open().await;
        self.discard_buffered()
    }

    /// Logs out without an id (no `ok` is due) and waits for the close, so
    /// the server has let go of the session when this returns.
    pub async fn logout(mut self) {
        self.send_json(json!({"type": "logout"})).await;
        let frames = self.expect_closed().await;
        assert!(
            frames
                .iter()
                .all(|f| f.get("id").is_none() && f["type"] != "error"),
            "logout without id gets no reply: {frames:?}"
        );
    }

    /// Drops everything buffered so far (events a test does not look at).
    pub fn discard_buffered(&mut self) -> Vec<Value> {
        self.buffered.drain(..).collect()
    }

    /// Reads until the server closes the connection and returns the frames
    /// that came before; fails if it is still open after the timeout.
    pub async fn expect_closed(&mut self) -> Vec<Value> {
        self.expect_closed_within(RECV_TIMEOUT).await
    }

    pub async fn expect_closed_within(&mut self, wait: Duration) -> Vec<Value> {
        let mut frames: Vec<Value> = self.buffered.drain(..).collect();
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.read_frame(left).await {
                Err(()) => panic!("connection still open after {wait:?}; got: {frames:?}"),
                Ok(None) => return frames,
                Ok(Some(v)) => frames.push(v),
            }
        }
    }

    /// Proves the connection is open and usable: a ping gets its pong.
    pub async fn assert_open(&mut self) {
        let reply = self.request(json!({"type": "ping"})).await;
        assert_eq!(reply["type"], "pong", "ping answered: {reply}");
    }

    pub async fn register(&mut self, name: &str) -> Value {
        self.register_with(name, PASSWORD).await
    }

    pub async fn register_with(&mut self, name: &str, password: &str) -> Value {
        let reply = self
            .request(json!({"type": "register", "user": name, "password": password}))
            .await;
        assert_eq!(reply["type"], "welcome", "register {name}: {reply}");
        self.welcome = reply.clone();
        reply
    }

    pub async fn login(&mut self, name: &str, password: &str) -> Value {
        let reply = self
            .request(json!({"type": "login", "user": name, "password": password}))
            .await;
        assert_eq!(reply["type"], "welcome", "login {name}: {reply}");
        self.welcome = reply.clone();
        reply
    }

    /// Sends `text` to `chat` and returns the `ok` (with `msg_id` and `ts`).
    pub async fn say(&mut self, chat: &str, text: &str) -> Value {
        self.ok(json!({"type": "send", "chat": chat, "text": text}))
            .await
    }

    /// Sends `text` and returns the assigned msg_id.
    pub async fn say_id(&mut self, chat: &str, text: &str) -> u64 {
        let ok = self.say(chat, text).await;
        ok["msg_id"].as_u64().expect("msg_id is a positive integer")
    }

    /// The next `message` event, with the given chat key.
    pub async fn expect_message(&mut self, chat: &str) -> Value {
        let m = self.expect_event("message").await;
        assert_eq!(m["chat"], chat, "message chat key: {m}");
        m
    }
}

/// Asserts `reply` is an `error` frame with `code` and a readable message,
/// echoing the request's id when the request carried one.
pub fn assert_error(reply: &Value, code: &str, request: &Value) {
    assert_eq!(
        reply["type"], "error",
        "expected error {code} for {request}, got {reply}"
    );
    assert_eq!(reply["code"], code, "error code for {request}: {reply}");
    assert!(
        reply["message"].as_str().is_some_and(|m| !m.is_empty()),
        "error has a human-readable message: {reply}"
    );
    if request.get("id").is_some() {
        assert_eq!(reply["id"], request["id"], "error echoes the id: {reply}");
    }
}

/// The set of `{user, status}` entries in an `online` list, as sorted pairs.
pub fn online_set(list: &Value) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = list
        .as_array()
        .unwrap_or_else(|| panic!("online is an array: {list}"))
        .iter()
        .map(|e| {
            (
                e["user"]
                    .as_str()
                    .expect("online entry has user")
                    .to_string(),
                e["status"]
                    .as_str()
                    .expect("online entry has status")
                    .to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

pub fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = list
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    v.sort();
    v
}

/// Current time in the protocol's `ts` unit.
pub fn now_ms() -> i64 {
    tchat::protocol::now_ms()
}

/// Asserts `ts` is an integer timestamp within a minute of now.
pub fn assert_recent_ts(ts: &Value) {
    let ts = ts
        .as_i64()
        .unwrap_or_else(|| panic!("ts is an integer: {ts}"));
    let now = now_ms();
    assert!((now - ts).abs() < 60_000, "ts {ts} is close to now {now}");
}

/// The keys of a JSON object, sorted.
pub fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v
        .as_object()
        .unwrap_or_else(|| panic!("object expected: {v}"))
        .keys()
        .cloned()
        .collect();
    k.sort();
    k
}

/// Sorted list of `expected` keys, for comparing with [`keys`].
pub fn key_list(expected: &[&str]) -> Vec<String> {
    let mut k: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
    k.sort();
    k
}

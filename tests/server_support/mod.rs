//! Helpers shared by the server-level test files: a raw protocol client,
//! in-process and out-of-process servers.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};
use tchat::server::{Server, ServerConfig, ShutdownHandle};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader as AsyncBufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

/// How long any single expected frame may take.
pub const FRAME_DEADLINE: Duration = Duration::from_secs(10);

pub const PASSWORD: &str = "correct horse";

/// A test config: cheap hashes, no flood control.
pub fn config(db: &Path) -> ServerConfig {
    let mut config = ServerConfig::new("127.0.0.1:0".parse().unwrap(), db.to_path_buf());
    config.bcrypt_cost = 4;
    config.max_msg_rate = 0;
    config
}

/// Starts an in-process server; returns its address and shutdown handle.
pub async fn start(config: ServerConfig) -> (SocketAddr, ShutdownHandle) {
    let (addr, shutdown, _) = start_joinable(config).await;
    (addr, shutdown)
}

/// Like [`start`], with the task to await after a shutdown (it holds the
/// database lock until it ends).
pub async fn start_joinable(
    config: ServerConfig,
) -> (
    SocketAddr,
    ShutdownHandle,
    tokio::task::JoinHandle<Result<(), tchat::server::ServerError>>,
) {
    let server = Server::bind(config).await.expect("bind server");
    let addr = server.local_addr();
    let shutdown = server.shutdown_handle();
    let task = tokio::spawn(server.run());
    (addr, shutdown, task)
}

/// A raw protocol client: one line per frame, events kept aside while a
/// reply is awaited.
pub struct Client {
    reader: AsyncBufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
    next_id: u64,
    /// Frames received while waiting for something else.
    pub events: Vec<Value>,
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> Client {
        let stream = tokio::time::timeout(FRAME_DEADLINE, TcpStream::connect(addr))
            .await
            .expect("connect in time")
            .expect("connect");
        let (read, writer) = stream.into_split();
        let mut client = Client {
            reader: AsyncBufReader::new(read),
            writer,
            next_id: 1,
            events: Vec::new(),
        };
        let hello = client.recv().await.expect("hello");
        assert_eq!(hello["type"], "hello", "{hello}");
        client
    }

    /// Connects and registers (`register`) or logs in; returns the welcome.
    pub async fn login(addr: SocketAddr, user: &str, register: bool) -> (Client, Value) {
        let mut client = Client::connect(addr).await;
        let kind = if register { "register" } else { "login" };
        let welcome = client
            .request(json!({"type": kind, "user": user, "password": PASSWORD}))
            .await;
        assert_eq!(welcome["type"], "welcome", "{kind} {user}: {welcome}");
        (client, welcome)
    }

    pub async fn send_raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.writer.write_all(bytes).await
    }

    pub async fn send(&mut self, frame: &Value) {
        let mut line = serde_json::to_vec(frame).unwrap();
        line.push(b'\n');
        self.writer.write_all(&line).await.expect("write frame");
    }

    /// The next frame, or `None` when the server closed the connection.
    pub async fn recv(&mut self) -> Option<Value> {
        let mut line = String::new();
        let n = tokio::time::timeout(FRAME_DEADLINE, self.reader.read_line(&mut line))
            .await
            .expect("a frame in time")
            .ok()?;
        if n == 0 {
            return None;
        }
        Some(serde_json::from_str(&line).unwrap_or_else(|e| panic!("bad line {line:?}: {e}")))
    }

    /// The two halves, for tests that read and write from different tasks.
    pub fn into_parts(self) -> (AsyncBufReader<OwnedReadHalf>, OwnedWriteHalf) {
        (self.reader, self.writer)
    }

    /// Sends `frame` with a fresh id and returns the reply to it.
    pub async fn request(&mut self, mut frame: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        frame["id"] = json!(id);
        self.send(&frame).await;
        self.reply_to(id).await
    }

    /// Waits for the reply carrying `id`, keeping events aside.
    pub async fn reply_to(&mut self, id: u64) -> Value {
        loop {
            let frame = self
                .recv()
                .await
                .unwrap_or_else(|| panic!("connection closed before the reply to {id}"));
            if frame["id"] == json!(id) {
                return frame;
            }
            self.events.push(frame);
        }
    }

    /// Waits for an event matching `want` (looking at kept events first).
    pub async fn event(&mut self, want: impl Fn(&Value) -> bool) -> Value {
        if let Some(i) = self.events.iter().position(&want) {
            return self.events.remove(i);
        }
        loop {
            let frame = self.recv().await.expect("connection closed");
            if want(&frame) {
                return frame;
            }
            self.events.push(frame);
        }
    }

    /// Every message id of `chat`, oldest first, paging with `after`.
    pub async fn all_history(&mut self, chat: &str) -> Vec<Value> {
        let mut out: Vec<Value> = Vec::new();
        let mut after = 0u64;
        loop {
            let page = self
                .request(json!({"type": "history", "chat": chat, "after": after, "limit": 200}))
                .await;
            assert_eq!(page["type"], "history", "{page}");
            let messages = page["messages"].as_array().unwrap().clone();
            if let Some(last) = messages.last() {
                after = last["msg_id"].as_u64().unwrap();
            }
            out.extend(messages);
            if page["more"] != json!(true) {
                return out;
            }
        }
    }
}

/// A `tchat-server` process, killed when dropped.
pub struct ServerProcess {
    pub child: Child,
    pub addr: SocketAddr,
}

impl ServerProcess {
    /// Starts the binary on `listen` with `db` and waits for its address.
    pub fn start(db: &Path, listen: &str) -> ServerProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tchat-server"))
            .args([
                "--listen",
                listen,
                "--bcrypt-cost",
                "4",
                "--max-msg-rate",
                "0",
            ])
            .arg("--db")
            .arg(db)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start tchat-server");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("address line");
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .parse()
            .expect("an address");
        ServerProcess { child, addr }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL, and reap.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Runs the server binary to completion with `args` (it is expected to fail
/// fast); returns its exit status and stderr.
pub fn run_server_expecting_failure(db: &Path) -> (std::process::ExitStatus, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tchat-server"))
        .args(["--listen", "127.0.0.1:0", "--bcrypt-cost", "4", "--db"])
        .arg(db)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start tchat-server");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            let mut err = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
            return (status, err);
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("tchat-server on {} did not refuse to start", db.display());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

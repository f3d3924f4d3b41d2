//! The session state machine and the hub behind it: arbitrary bytes from up
//! to three clients (logged in or not) into one long-lived in-process server.
//!
//! The hub is reached only through sessions, and sessions only through a
//! socket, so the clients talk to the server over loopback. `U0`, `U1` and
//! `U2` in the input are replaced by this run's user names, so that frames
//! from the dictionary can name each other. A panic on any server thread
//! aborts (libfuzzer's hook), and so does a server that stops answering:
//! after its input every client must get exactly one reply to a final ping,
//! unless the server closed the connection (as it may, for a frame that is
//! too long or a flood).

#![no_main]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use tchat::server::{Server, ServerConfig};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

struct State {
    _server_rt: tokio::runtime::Runtime,
    clients: tokio::runtime::Runtime,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
}

static STATE: OnceLock<State> = OnceLock::new();
static RUN: AtomicU64 = AtomicU64::new(0);
const SENTINEL: u64 = 4_242_424_242;
const DEADLINE: Duration = Duration::from_secs(10);

fn state() -> &'static State {
    STATE.get_or_init(|| {
        // A Rust binary starts with SIGPIPE ignored (so a write to a closed
        // socket is an error, not death); libFuzzer's C main does not, and
        // the server's vectored writes would kill the process. Do what the
        // real `tchat-server` gets from the Rust runtime.
        // SAFETY: setting a signal disposition before any thread writes.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
        // On tmpfs when there is one: fsync per commit would dominate.
        let dir = tempfile::tempdir_in("/dev/shm")
            .or_else(|_| tempfile::tempdir())
            .unwrap();
        let server_rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let mut config =
            ServerConfig::new("127.0.0.1:0".parse().unwrap(), dir.path().join("fuzz.db"));
        config.bcrypt_cost = 4;
        let addr = server_rt.block_on(async {
            let server = Server::bind(config).await.unwrap();
            let addr = server.local_addr();
            tokio::spawn(server.run());
            addr
        });
        let clients = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        State {
            _server_rt: server_rt,
            clients,
            addr,
            _dir: dir,
        }
    })
}

fn replace_all(data: &[u8], names: &[String]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        if data[i] == b'U' && i + 1 < data.len() && (b'0'..=b'2').contains(&data[i + 1]) {
            let n = (data[i + 1] - b'0') as usize % names.len();
            out.extend_from_slice(names[n].as_bytes());
            i += 2;
        } else {
            out.push(data[i]);
            i += 1;
        }
    }
    out
}

struct Conn {
    reader: BufReader<tokio::net::tcp::OwnedReadHalf>,
    writer: tokio::net::tcp::OwnedWriteHalf,
    closed: bool,
}

impl Conn {
    async fn line(&mut self) -> Option<serde_json::Value> {
        let mut buf = Vec::new();
        let n = tokio::time::timeout(DEADLINE, self.reader.read_until(b'\n', &mut buf))
            .await
            .expect("the server stopped answering")
            .ok()?;
        if n == 0 {
            return None;
        }
        let v: serde_json::Value = serde_json::from_slice(&buf).expect("server sent a bad frame");
        assert!(v["type"].is_string(), "frame without a type: {v}");
        Some(v)
    }
}

async fn one_input(addr: SocketAddr, data: &[u8]) {
    let run = RUN.fetch_add(1, Ordering::Relaxed);
    let n = (data[0] % 3) as usize + 1;
    let names: Vec<String> = (0..n).map(|i| format!("z{run}c{i}")).collect();
    let mut conns = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let stream = TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        let (r, w) = stream.into_split();
        let mut c = Conn {
            reader: BufReader::new(r),
            writer: w,
            closed: false,
        };
        let hello = c.line().await.expect("hello");
        assert_eq!(hello["type"], "hello");
        if data[0] & (0x10 << i) != 0 {
            let reg = format!(
                "{{\"type\":\"register\",\"id\":1,\"user\":\"{name}\",\"password\":\"fuzz password\"}}\n"
            );
            c.writer.write_all(reg.as_bytes()).await.unwrap();
            loop {
                let f = c.line().await.expect("a reply to register");
                if f["id"] == 1 {
                    break;
                }
            }
        }
        conns.push(c);
    }
    let body = replace_all(&data[1..], &names);
    // Chunks: a selector byte (which client, how long), then the bytes.
    let mut rest = &body[..];
    while !rest.is_empty() {
        let sel = rest[0];
        let len = ((sel >> 2) as usize + 1).min(rest.len() - 1);
        let chunk = &rest[1..1 + len];
        rest = &rest[1 + len..];
        let c = &mut conns[(sel & 3) as usize % n];
        if !c.closed && c.writer.write_all(chunk).await.is_err() {
            c.closed = true;
        }
    }
    for c in conns.iter_mut() {
        if c.closed {
            continue;
        }
        let ping = format!("\n{{\"type\":\"ping\",\"id\":{SENTINEL}}}\n");
        if c.writer.write_all(ping.as_bytes()).await.is_err() {
            continue;
        }
        let mut answered = 0;
        while let Some(f) = c.line().await {
            if f["id"] == SENTINEL {
                answered += 1;
                break;
            }
        }
        // Closed by the server (too long, flood, logout) is fine; answered
        // twice is not (the loop stops at the first).
        assert!(answered <= 1);
    }
}

fuzz_target!(|data: &[u8]| {
    if data.is_empty() || data.len() > 4096 {
        return;
    }
    let s = state();
    s.clients.block_on(one_input(s.addr, data));
});

//! Several `tchat-server` processes on one throwaway PostgreSQL database and
//! one throwaway NATS, for the multi-node tests: real processes, so that a
//! node can be killed with SIGKILL.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdout, Command};

use crate::common::bus_support::NatsServer;
use crate::common::{TestClient, RECV_TIMEOUT};

const BIN: &str = env!("CARGO_BIN_EXE_tchat-server");

/// What every node of one test shares.
pub struct Cluster {
    pub db: String,
    pub bus: NatsServer,
    pub dir: tempfile::TempDir,
    next: usize,
}

impl Cluster {
    /// A fresh database and bus; no node yet.
    pub fn new() -> Cluster {
        Cluster {
            db: crate::common::pg_support::fresh_database().to_string(),
            bus: NatsServer::start(),
            dir: tempfile::tempdir().expect("temp dir"),
            next: 0,
        }
    }

    /// Starts one more node.
    pub async fn node(&mut self) -> Node {
        self.node_with(&[]).await
    }

    /// Starts one more node with these options besides the usual ones.
    pub async fn node_with(&mut self, options: &[&str]) -> Node {
        self.next += 1;
        let bus = self.bus.url();
        let files = self.files_dir();
        match Node::try_start_with(&self.db, Some(&bus), files, self.next, &self.dir, options).await
        {
            Ok(node) => node,
            Err(e) => panic!("{e}"),
        }
    }

    /// The files directory all nodes share (as they would on shared
    /// storage).
    pub fn files_dir(&self) -> PathBuf {
        self.dir.path().join("files")
    }
}

impl Drop for Cluster {
    /// A failed test shows what its nodes logged.
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        for n in 1..=self.next {
            let log = self.dir.path().join(format!("node{n}.log"));
            if let Ok(text) = std::fs::read_to_string(&log) {
                let tail: Vec<&str> = text.lines().rev().take(400).collect();
                eprintln!("--- node{n}.log (last lines) ---");
                for line in tail.into_iter().rev() {
                    eprintln!("{line}");
                }
            }
        }
    }
}

/// One `tchat-server` process.
pub struct Node {
    child: Child,
    pub addr: SocketAddr,
    _stdout: BufReader<ChildStdout>,
    pub log: PathBuf,
}

impl Node {
    pub async fn start(
        db: &str,
        bus: Option<&str>,
        files: PathBuf,
        n: usize,
        dir: &tempfile::TempDir,
    ) -> Node {
        match Node::try_start(db, bus, files, n, dir).await {
            Ok(node) => node,
            Err(e) => panic!("{e}"),
        }
    }

    /// Starts a node; the error is what it said before it exited.
    pub async fn try_start(
        db: &str,
        bus: Option<&str>,
        files: PathBuf,
        n: usize,
        dir: &tempfile::TempDir,
    ) -> Result<Node, String> {
        Node::try_start_with(db, bus, files, n, dir, &[]).await
    }

    /// [`Node::try_start`] with more options (later ones win).
    pub async fn try_start_with(
        db: &str,
        bus: Option<&str>,
        files: PathBuf,
        n: usize,
        dir: &tempfile::TempDir,
        options: &[&str],
    ) -> Result<Node, String> {
        let log = dir.path().join(format!("node{n}.log"));
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .expect("log file");
        let mut cmd = Command::new(BIN);
        cmd.env(
            "RUST_LOG",
            std::env::var("TCHAT_NODE_LOG").unwrap_or_else(|_| "info".into()),
        );
        // No limits in the way of the tests, but those a test sets itself.
        for (flag, value) in [
            ("--listen", "127.0.0.1:0"),
            ("--bcrypt-cost", "4"),
            ("--max-msg-rate", "0"),
            ("--max-connections-per-ip", "0"),
            ("--max-sessions-per-account", "0"),
            ("--max-registrations-per-hour", "0"),
        ] {
            if !options.contains(&flag) {
                cmd.args([flag, value]);
            }
        }
        cmd.args(["--db", db]).arg("--files-dir").arg(&files);
        if let Some(bus) = bus {
            cmd.args(["--bus", bus]);
        }
        cmd.args(options);
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log_file))
            .kill_on_drop(true)
            .spawn()
            .expect("start tchat-server");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        let read = tokio::time::timeout(Duration::from_secs(20), stdout.read_line(&mut line)).await;
        if !matches!(read, Ok(Ok(n)) if n > 0) {
            let _ = child.kill().await;
            return Err(std::fs::read_to_string(&log).unwrap_or_default());
        }
        let addr = line
            .trim_end()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("first stdout line is `listening on ADDR`: {line:?}"))
            .parse()
            .unwrap_or_else(|e| panic!("an address in {line:?}: {e}"));
        Ok(Node {
            child,
            addr,
            _stdout: stdout,
            log,
        })
    }

    pub async fn client(&self) -> TestClient {
        TestClient::connect(self.addr).await
    }

    /// A new account `name`, logged in here.
    pub async fn user(&self, name: &str) -> TestClient {
        let mut c = self.client().await;
        c.register(name).await;
        c
    }

    /// A new session of an existing account, here.
    pub async fn session(&self, name: &str) -> TestClient {
        let mut c = self.client().await;
        c.login(name, crate::common::PASSWORD).await;
        c
    }

    /// SIGKILL: no goodbye, no last commit.
    pub async fn kill(mut self) {
        let _ = self.child.kill().await;
    }

    /// What the node logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// Waits up to `RECV_TIMEOUT` for `c` to get a frame satisfying `pred`,
/// skipping others.
pub async fn wait_for(
    c: &mut TestClient,
    what: &str,
    pred: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    c.expect_event_where(what, pred).await
}

pub const NODE_SILENCE_LIMIT: Duration = Duration::from_secs(10);
pub const _RECV: Duration = RECV_TIMEOUT;

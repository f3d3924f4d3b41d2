//! A throwaway NATS server for tests: `nats-server` on a free loopback
//! port, owned by the test that started it, which may stop it and start it
//! again on the same port (the bus restarted under traffic).
//!
//! The server dies with the test binary, even on SIGKILL
//! (`PR_SET_PDEATHSIG`); since that signal fires when the *thread* that
//! forked the child exits, every server is forked by one thread that lives
//! as long as the process. No `nats-server`: the test panics saying what
//! to install, never passes silently.
#![allow(dead_code)]

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// A running (or stopped) NATS server of one test.
pub struct NatsServer {
    pub port: u16,
    pid: Option<libc::pid_t>,
    /// A user and password clients must give, if any.
    auth: Option<(String, String)>,
}

impl NatsServer {
    /// Starts a server on a free port and waits until it accepts.
    pub fn start() -> NatsServer {
        NatsServer::start_with(None)
    }

    /// A server that takes only clients giving `user` and `password`.
    pub fn start_with_password(user: &str, password: &str) -> NatsServer {
        NatsServer::start_with(Some((user.to_owned(), password.to_owned())))
    }

    fn start_with(auth: Option<(String, String)>) -> NatsServer {
        let port = free_port();
        let mut server = NatsServer {
            port,
            pid: None,
            auth,
        };
        server.resume();
        server
    }

    /// `nats://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Kills the server at once (no goodbye to its clients).
    pub fn kill(&mut self) {
        if let Some(pid) = self.pid.take() {
            // SAFETY: signalling and reaping our own child.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, std::ptr::null_mut(), 0);
            }
        }
    }

    /// Starts the server again on the same port.
    pub fn resume(&mut self) {
        let bin = find_nats().unwrap_or_else(|| {
            panic!(
                "nats-server not found in TCHAT_NATS_BIN or PATH; install it \
                 (apt-get install nats-server) to run the multi-node tests"
            )
        });
        let mut cmd = Command::new(bin);
        cmd.args(["-a", "127.0.0.1", "-p", &self.port.to_string()]);
        if let Some((user, password)) = &self.auth {
            cmd.args(["--user", user, "--pass", password]);
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        self.pid = Some(spawn_for_life(cmd));
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "nats-server did not listen on {} within 20 s",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
    }
}

fn find_nats() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("TCHAT_NATS_BIN") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/usr/bin".into()])
        .map(|d| d.join("nats-server"))
        .find(|p| p.is_file())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

type SpawnRequest = (Command, mpsc::Sender<std::io::Result<libc::pid_t>>);

/// Forks `cmd` from the long-lived spawner thread, so that it dies with
/// this process and not with the calling thread.
pub fn spawn_for_life(mut cmd: Command) -> libc::pid_t {
    static SPAWNER: OnceLock<Mutex<mpsc::Sender<SpawnRequest>>> = OnceLock::new();
    let spawner = SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<SpawnRequest>();
        std::thread::Builder::new()
            .name("test-service-spawner".into())
            .spawn(move || {
                let mut children = Vec::new();
                for (mut cmd, reply) in rx {
                    match cmd.spawn() {
                        Ok(child) => {
                            let _ = reply.send(Ok(child.id() as libc::pid_t));
                            children.push(child);
                        }
                        Err(e) => {
                            let _ = reply.send(Err(e));
                        }
                    }
                }
                // Keep the thread (and the death signal's parent) alive.
                loop {
                    std::thread::park();
                }
            })
            .expect("spawner thread");
        Mutex::new(tx)
    });
    // SAFETY: getpid has no preconditions.
    let parent = unsafe { libc::getpid() };
    // SAFETY: the closure only makes async-signal-safe system calls.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::getppid() != parent {
                libc::_exit(1);
            }
            Ok(())
        });
    }
    let (tx, rx) = mpsc::channel();
    spawner
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .send((cmd, tx))
        .expect("spawner alive");
    rx.recv()
        .expect("spawner answers")
        .unwrap_or_else(|e| panic!("cannot start a test service: {e}"))
}

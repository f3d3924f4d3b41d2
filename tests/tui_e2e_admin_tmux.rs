//! End to end, administration: a real `tchat-server`, its account command
//! line, and real `tchat` clients in tmux, each with a home of its own.
//!
//! The admin `boss` is made with `tchat-server user add boss --admin`
//! (password on stdin) before it logs in. Erin is banned for an hour and
//! her client must say so — that she is banned and until when — and must
//! not keep reconnecting: her connections go through a counting relay, so
//! a retry loop is seen as new connections, not guessed from the screen.
//!
//! The first test bans from the command line (§13: the events carry
//! `"by":null`, there is no reason). The second bans through the protocol
//! (`boss` speaking JSON lines, as an admin's client does) and checks that
//! Erin's screen also names the admin and gives the reason.

use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

mod tmux_support;
use tmux_support::{have_tmux, Tmux, DEADLINE};

const BOSS_PASSWORD: &str = "boss password 1";

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Environment for a `tchat-server` process: a home and data directories
/// inside the test's own, so that nothing is written elsewhere.
fn server_command(dir: &Path) -> Command {
    let home = dir.join("server-home");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tchat-server"));
    cmd.env("HOME", &home)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_STATE_HOME", home.join("state"))
        .env_remove("TCHAT_DB")
        .env_remove("TCHAT_LISTEN");
    cmd
}

/// Starts `tchat-server` on an ephemeral port with its database in `dir`;
/// returns it, the address it prints and the database's path.
fn start_server(dir: &Path) -> (Server, String, PathBuf) {
    let db = dir.join("e2e.db");
    let mut child = server_command(dir)
        .args(["--listen", "127.0.0.1:0", "--bcrypt-cost", "4", "--db"])
        .arg(&db)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start tchat-server");
    let stdout = child.stdout.take().expect("server stdout");
    let server = Server(child);
    let mut first = String::new();
    BufReader::new(stdout)
        .read_line(&mut first)
        .expect("server prints its address");
    let addr = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .to_owned();
    (server, addr, db)
}

/// `tchat-server --db DB --bcrypt-cost 4 ARGS` with `stdin` fed to it; the
/// test fails unless it succeeds. Returns its standard output.
fn cli(dir: &Path, db: &Path, args: &[&str], stdin: &str) -> String {
    let mut child = server_command(dir)
        .arg("--db")
        .arg(db)
        .args(["--bcrypt-cost", "4"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tchat-server runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("tchat-server finishes");
    assert!(
        out.status.success(),
        "tchat-server {args:?} fails: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// A TCP relay in front of the server that counts the connections made
/// through it: a client that keeps reconnecting shows up here.
struct Relay {
    addr: String,
    connections: Arc<AtomicUsize>,
}

impl Relay {
    fn start(server: &str) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind relay");
        let addr = listener.local_addr().expect("relay address").to_string();
        let connections = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&connections);
        let server = server.to_owned();
        // Detached: blocked in accept until the test process ends.
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                count.fetch_add(1, Ordering::SeqCst);
                let Ok(upstream) = TcpStream::connect(&server) else {
                    continue;
                };
                pipe(&client, &upstream);
                pipe(&upstream, &client);
            }
        });
        Relay { addr, connections }
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

/// Copies `from` to `to` on a thread of its own; at the end of `from`, ends
/// `to`'s sending side, so that a close on one side reaches the other.
fn pipe(from: &TcpStream, to: &TcpStream) {
    let (mut from, mut to) = (
        from.try_clone().expect("clone"),
        to.try_clone().expect("clone"),
    );
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut from, &mut to);
        let _ = to.shutdown(Shutdown::Write);
    });
}

/// Runs a real client for `user` in a 100×30 tmux session of that name,
/// with a home of its own, registering first when `register`. The shell
/// stays after the client exits, to show how it ended.
fn start_client(tmux: &Tmux, dir: &Path, addr: &str, user: &str, password: &str, register: bool) {
    let client = env!("CARGO_BIN_EXE_tchat");
    let home = dir.join(format!("home-{user}"));
    let config = dir.join("config.toml");
    let shell = format!(
        "HOME='{h}' XDG_CONFIG_HOME='{h}/config' XDG_DATA_HOME='{h}/data' XDG_STATE_HOME='{h}/state' TZ=UTC \
         TCHAT_PASSWORD='{password}' '{client}' --server {addr} --user {user} {r} --config '{c}'; \
         echo \"tchat exited: $?\"; sleep 600",
        h = home.display(),
        c = config.display(),
        r = if register { "--register" } else { "" },
    );
    let out = tmux.cmd(&[
        "new-session",
        "-d",
        "-s",
        user,
        "-x",
        "100",
        "-y",
        "30",
        "sh",
        "-c",
        &shell,
    ]);
    assert!(out.status.success(), "tmux new-session: {out:?}");
}

/// The screen's text as one line: box borders dropped and rows joined, so
/// that a sentence wrapped inside the login form's box can be searched.
fn flat(screen: &str) -> String {
    screen
        .lines()
        .map(|l| l.trim().trim_matches(|c| c == '│' || c == '┌' || c == '└'))
        .flat_map(str::split_whitespace)
        .collect::<Vec<_>>()
        .join(" ")
}

/// `HH:MM` (UTC) of a time in ms since the epoch.
fn hhmm(ms: u128) -> String {
    let minutes = ms / 60_000;
    format!("{:02}:{:02}", minutes / 60 % 24, minutes % 60)
}

/// Whether `text` gives the end of a ban of an hour that started between
/// `from_ms` and now: as the time left (`59m …`, `60m …`, `1h`) or as the
/// time of day it ends (the clients run with `TZ=UTC`).
fn shows_ban_end(text: &str, from_ms: u128) -> bool {
    ["59m", "60m", "1h", "59 min", "60 min", "1 hour"]
        .iter()
        .any(|t| text.contains(t))
        || [from_ms, now_ms()]
            .iter()
            .any(|ms| text.contains(&hhmm(ms + 3_600_000)))
}

fn now_ms() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis()
}

/// How long Erin's screen must show the ban, with no reconnect under way
/// and no new connection through the relay, to count as settled: longer
/// than the client's second reconnect wait (2 s).
const QUIET: Duration = Duration::from_millis(2500);

/// Waits until Erin's client has settled on the ban: her screen says
/// "banned" and is not reconnecting, and no connection went through the
/// relay, for [`QUIET`] in a row. Then at most two connections may have
/// been made: the first and one retry that learns of the ban; a client
/// that keeps retrying either never settles or makes more.
///
/// The quiet period is the one fixed wait here: that nothing more happens
/// cannot be awaited. It is not started at the first sight of "banned":
/// today's client shows the fatal error for a moment, then "reconnecting",
/// then the ban again after one retry.
fn wait_until_settled_on_the_ban(tmux: &Tmux, relay: &Relay) -> String {
    let deadline = Instant::now() + DEADLINE;
    let mut count = relay.connections();
    let mut quiet_since = Instant::now();
    loop {
        let screen = tmux.capture("erin");
        let now = Instant::now();
        let n = relay.connections();
        if n != count || !screen.contains("banned") || screen.contains("reconnecting") {
            count = n;
            quiet_since = now;
        } else if now.duration_since(quiet_since) >= QUIET {
            assert!(
                count <= 2,
                "{count} connections: erin's client connected again after it was told it is banned"
            );
            return screen;
        }
        if now > deadline {
            panic!(
                "erin's screen did not settle on the ban ({n} connections so far); it is:\n{screen}"
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A session of `boss` speaking the protocol itself, as an admin client
/// would; answers are read with a timeout.
struct Raw {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Raw {
    fn connect(addr: &str) -> Raw {
        let stream = TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(DEADLINE))
            .expect("read timeout");
        let writer = stream.try_clone().expect("clone");
        let mut raw = Raw {
            reader: BufReader::new(stream),
            writer,
        };
        let hello = raw.read();
        assert_eq!(hello["type"], "hello", "{hello}");
        raw
    }

    fn read(&mut self) -> Value {
        let mut line = String::new();
        self.reader.read_line(&mut line).expect("a frame");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"))
    }

    /// Sends `frame` and returns the reply with its `id`, skipping events.
    fn request(&mut self, frame: Value) -> Value {
        let id = frame["id"].clone();
        let mut line = frame.to_string();
        line.push('\n');
        self.writer.write_all(line.as_bytes()).expect("send");
        loop {
            let v = self.read();
            if v["id"] == id {
                return v;
            }
        }
    }
}

/// The server with the admin `boss` made on its command line, the relay,
/// and tmux; boss's and erin's clients logged in (erin's through the
/// relay, registering).
struct Setup {
    // Dropped in this order: the clients, the server, then its directory.
    tmux: Tmux,
    _server: Server,
    relay: Relay,
    addr: String,
    db: PathBuf,
    dir: tempfile::TempDir,
}

fn setup(name: &str) -> Setup {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("config.toml"), "bell = false\n").expect("write config");
    let (server, addr, db) = start_server(dir.path());
    // Through the running server's admin socket, before boss logs in.
    let made = cli(
        dir.path(),
        &db,
        &["user", "add", "boss", "--admin"],
        &format!("{BOSS_PASSWORD}\n"),
    );
    assert!(made.contains("created admin boss"), "{made}");
    let relay = Relay::start(&addr);
    let tmux = Tmux {
        socket: format!("tchat-e2e-{name}-{}", std::process::id()),
    };
    // Boss first, so that he sees Erin arrive.
    start_client(&tmux, dir.path(), &addr, "boss", BOSS_PASSWORD, false);
    tmux.wait_for("boss", "● connected");
    start_client(
        &tmux,
        dir.path(),
        &relay.addr,
        "erin",
        "correct horse",
        true,
    );
    tmux.wait_for("erin", "● connected");
    tmux.wait_for("boss", "erin joined");
    assert_eq!(relay.connections(), 1);
    Setup {
        tmux,
        _server: server,
        relay,
        addr,
        db,
        dir,
    }
}

#[test]
fn a_ban_from_the_command_line_shows_on_erins_client_without_a_retry_loop() {
    if !have_tmux() {
        println!("skipped: tmux is not installed");
        return;
    }
    let s = setup("admin-cli");

    // `user ban` reaches the running server through its admin socket.
    let banned_at = now_ms();
    let out = cli(
        s.dir.path(),
        &s.db,
        &["user", "ban", "erin", "--minutes", "60"],
        "",
    );
    assert!(out.starts_with("erin is banned until "), "{out}");

    // Erin's client says she is banned, and until when, and stays put.
    let screen = wait_until_settled_on_the_ban(&s.tmux, &s.relay);
    let text = flat(&screen);
    assert!(
        shows_ban_end(&text, banned_at),
        "erin's screen says she is banned but not until when ({}):\n{screen}",
        out.trim()
    );

    // The admin sees her go.
    s.tmux.wait_for("boss", "erin left");
    assert!(!s.tmux.capture("boss").contains("tchat exited"));
    drop(s);
}

#[test]
fn a_ban_by_an_admin_shows_erin_who_banned_her_and_why() {
    if !have_tmux() {
        println!("skipped: tmux is not installed");
        return;
    }
    let s = setup("admin-ban");

    // Boss bans through the protocol, as an admin client does.
    let mut boss = Raw::connect(&s.addr);
    let welcome =
        boss.request(json!({"type": "login", "id": 1, "user": "boss", "password": BOSS_PASSWORD}));
    assert_eq!(
        (&welcome["type"], &welcome["role"]),
        (&json!("welcome"), &json!("admin")),
        "{welcome}"
    );
    let reason = "posting the same link forty times";
    let banned_at = now_ms();
    let ok = boss
        .request(json!({"type": "ban", "id": 2, "user": "erin", "minutes": 60, "reason": reason}));
    assert_eq!(ok["type"], "ok", "{ok}");

    let screen = wait_until_settled_on_the_ban(&s.tmux, &s.relay);
    let text = flat(&screen);
    assert!(
        text.contains("boss") && text.contains(reason),
        "erin's screen does not say who banned her and why:\n{screen}"
    );
    assert!(shows_ban_end(&text, banned_at), "nor until when:\n{screen}");
    drop(s);
}

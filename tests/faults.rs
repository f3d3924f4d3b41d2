//! Faults: the server killed mid-traffic and restarted, clients killed,
//! half-open connections, a second server on the same database, databases
//! that are foreign, corrupt or unwritable, and a full disk.
//!
//! Every wait is on an event with a deadline; nothing sleeps a fixed time
//! except the pacing of pings and of polling a terminal screen.

mod server_support;
mod tmux_support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use server_support::{
    config, run_server_expecting_failure, start, start_joinable, Client, ServerProcess, PASSWORD,
};
use tmux_support::{have_tmux, Tmux};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};

fn ok(reply: &Value) {
    assert_eq!(reply["type"], "ok", "{reply}");
}

// ----- the server killed with SIGKILL during traffic --------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_killed_during_traffic_restarts_on_the_same_port_losing_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kill.db");
    let mut server = ServerProcess::start(&db, "127.0.0.1:0");
    let addr = server.addr;

    let (mut alice, _) = Client::login(addr, "alice", true).await;
    let (mut bob, _) = Client::login(addr, "bob", true).await;
    let (mut carol, _) = Client::login(addr, "carol", true).await;
    ok(&alice
        .request(json!({"type": "request_chat", "user": "bob"}))
        .await);
    ok(&bob
        .request(json!({"type": "accept", "user": "alice"}))
        .await);
    // A request still pending at the kill.
    ok(&carol
        .request(json!({"type": "request_chat", "user": "alice"}))
        .await);

    // Alice streams sends to #public and @bob from one task while another
    // reads the acknowledgements; the server is killed mid-stream.
    let (stream, _) = Client::login(addr, "alice", false).await;
    let (mut reader, mut writer) = stream.into_parts();
    let texts: BTreeMap<u64, (String, String)> = (0..20_000u64)
        .map(|i| {
            let chat = if i % 3 == 0 { "@bob" } else { "#public" };
            (1000 + i, (chat.to_owned(), format!("traffic {i}")))
        })
        .collect();
    let to_send = texts.clone();
    let writer_task = tokio::spawn(async move {
        for (n, (id, (chat, text))) in to_send.iter().enumerate() {
            let mut line =
                serde_json::to_vec(&json!({"type": "send", "id": id, "chat": chat, "text": text}))
                    .unwrap();
            line.push(b'\n');
            if writer.write_all(&line).await.is_err() {
                return;
            }
            if n % 16 == 15 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
    });

    let mut acked: BTreeMap<u64, u64> = BTreeMap::new(); // request id → msg_id
    let mut killed_at = None;
    let mut line = Vec::new();
    loop {
        line.clear();
        let read =
            tokio::time::timeout(Duration::from_secs(10), reader.read_until(b'\n', &mut line))
                .await
                .expect("the stream ends in time");
        match read {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let Ok(frame) = serde_json::from_slice::<Value>(&line) else {
            break; // a frame cut short by the kill
        };
        if frame["type"] == "ok" {
            acked.insert(
                frame["id"].as_u64().unwrap(),
                frame["msg_id"].as_u64().unwrap(),
            );
            if acked.len() == 300 && killed_at.is_none() {
                // An account acknowledged just before the kill, too.
                let (_dave, _) = Client::login(addr, "dave", true).await;
                server.kill9();
                killed_at = Some(acked.len());
            }
        } else if frame["type"] == "error" {
            panic!("unexpected error before the kill: {frame}");
        }
    }
    assert!(killed_at.is_some(), "the server was not killed mid-stream");
    assert!(
        acked.len() < texts.len(),
        "the whole stream was acknowledged before the kill"
    );
    writer_task.abort();

    // Same database, same port.
    let server2 = ServerProcess::start(&db, &addr.to_string());
    assert_eq!(server2.addr, addr);
    let (mut alice, welcome) = Client::login(addr, "alice", false).await;
    let chats = welcome["chats"].as_array().unwrap();
    assert!(
        chats.iter().any(|c| c["chat"] == "@bob"),
        "the open chat survived: {welcome}"
    );
    let requests = welcome["requests_in"].as_array().unwrap();
    assert!(
        requests.iter().any(|r| r["from"] == "carol"),
        "the pending request survived: {welcome}"
    );
    let (_dave, _) = Client::login(addr, "dave", false).await;

    let mut stored: BTreeMap<u64, (String, String)> = BTreeMap::new();
    for chat in ["#public", "@bob"] {
        let messages = alice.all_history(chat).await;
        let ids: Vec<u64> = messages
            .iter()
            .map(|m| m["msg_id"].as_u64().unwrap())
            .collect();
        assert!(
            ids.windows(2).all(|w| w[0] < w[1]),
            "{chat}: msg_ids increase"
        );
        for m in messages {
            stored.insert(
                m["msg_id"].as_u64().unwrap(),
                (chat.to_owned(), m["text"].as_str().unwrap().to_owned()),
            );
        }
    }
    for (id, msg_id) in &acked {
        assert_eq!(
            stored.get(msg_id),
            texts.get(id),
            "acknowledged request {id} (msg_id {msg_id}) survived the kill"
        );
    }
    // New messages continue above everything stored.
    let reply = alice
        .request(json!({"type": "send", "chat": "#public", "text": "after the restart"}))
        .await;
    ok(&reply);
    let newest = stored.keys().next_back().copied().unwrap_or(0);
    assert!(reply["msg_id"].as_u64().unwrap() > newest);
}

// ----- real clients reconnect after a server restart ---------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_clients_reconnect_after_a_server_restart_and_show_each_message_once() {
    if !have_tmux() {
        println!("skipped: tmux is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("reconnect.db");
    let mut server = ServerProcess::start(&db, "127.0.0.1:0");
    let addr = server.addr;

    let tmux = Tmux {
        socket: format!("tchat-faults-{}", std::process::id()),
    };
    let client = env!("CARGO_BIN_EXE_tchat");
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "bell = false\n").unwrap();
    for user in ["alice", "bob"] {
        let shell = format!(
            "TCHAT_PASSWORD='{PASSWORD}' '{client}' --server {addr} --user {user} --register --config '{}'; echo \"tchat exited: $?\"; sleep 600",
            config.display()
        );
        let out = tmux.cmd(&[
            "new-session",
            "-d",
            "-s",
            user,
            "-x",
            "100",
            "-y",
            "40",
            "sh",
            "-c",
            &shell,
        ]);
        assert!(out.status.success(), "tmux new-session: {out:?}");
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    for user in ["alice", "bob"] {
        tmux.wait_until(user, deadline, |s| s.contains("● connected"));
    }
    tmux.line("alice", "before the kill qx");
    tmux.wait_until("bob", deadline, |s| s.contains("before the kill qx"));

    server.kill9();
    let restarted = Instant::now();
    let _server2 = ServerProcess::start(&db, &addr.to_string());
    // Carol writes while the clients are still waiting to reconnect.
    let (mut carol, _) = Client::login(addr, "carol", true).await;
    let meanwhile: Vec<String> = (1..=5).map(|i| format!("meanwhile {i} zq")).collect();
    for text in &meanwhile {
        ok(&carol
            .request(json!({"type": "send", "chat": "#public", "text": text}))
            .await);
    }

    let within = restarted + Duration::from_secs(10);
    for user in ["alice", "bob"] {
        let screen = tmux.wait_until(user, within, |s| {
            meanwhile.iter().all(|m| s.contains(m.as_str()))
        });
        for text in meanwhile
            .iter()
            .map(String::as_str)
            .chain(["before the kill qx"])
        {
            assert_eq!(
                screen.matches(text).count(),
                1,
                "{user}: {text:?} shown exactly once; the screen is:\n{screen}"
            );
        }
    }
    println!(
        "both clients showed every message {} ms after the restart",
        restarted.elapsed().as_millis()
    );
    // The reconnected clients work both ways.
    tmux.line("bob", "after the restart qx");
    tmux.wait_until("alice", within + Duration::from_secs(10), |s| {
        s.contains("after the restart qx")
    });
}

// ----- a client killed with SIGKILL --------------------------------------

/// Not a test of its own: the client process that
/// [`a_client_killed_with_sigkill_goes_offline_within_a_second`] kills. It
/// does nothing unless that test starts it.
#[test]
fn helper_client_process() {
    let Ok(addr) = std::env::var("TCHAT_FAULTS_HELPER_ADDR") else {
        return;
    };
    let user = std::env::var("TCHAT_FAULTS_HELPER_USER").unwrap();
    let stream = std::net::TcpStream::connect(addr).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    let mut line = String::new();
    reader.read_line(&mut line).unwrap(); // hello
    writeln!(
        writer,
        "{}",
        json!({"type": "register", "id": 1, "user": user, "password": PASSWORD})
    )
    .unwrap();
    line.clear();
    reader.read_line(&mut line).unwrap();
    assert!(line.contains("\"welcome\""), "{line}");
    println!("helper ready");
    std::io::stdout().flush().unwrap();
    // Wait to be killed (bounded, in case the test that started us died).
    std::thread::sleep(Duration::from_secs(60));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_killed_with_sigkill_goes_offline_within_a_second() {
    let dir = tempfile::tempdir().unwrap();
    let (addr, _shutdown) = start(config(&dir.path().join("t.db"))).await;
    let (mut observer, _) = Client::login(addr, "watcher", true).await;

    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "helper_client_process",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("TCHAT_FAULTS_HELPER_ADDR", addr.to_string())
        .env("TCHAT_FAULTS_HELPER_USER", "victim")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        assert!(out.read_line(&mut line).unwrap() > 0, "helper ended early");
        if line.contains("helper ready") {
            break;
        }
    }
    observer
        .event(|f| f["type"] == "presence" && f["user"] == "victim" && f["online"] == true)
        .await;

    child.kill().unwrap();
    let killed = Instant::now();
    child.wait().unwrap();
    let gone = tokio::time::timeout(
        Duration::from_secs(1),
        observer.event(|f| f["type"] == "presence" && f["user"] == "victim"),
    )
    .await
    .expect("the killed client's presence changes within a second");
    assert_eq!(gone["online"], false, "{gone}");
    println!("offline after {} ms", killed.elapsed().as_millis());
    let who = observer.request(json!({"type": "who"})).await;
    assert!(
        !who["online"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["user"] == "victim"),
        "{who}"
    );
}

// ----- half-open connections ---------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_half_open_connection_is_dropped_after_the_idle_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(&dir.path().join("t.db"));
    let idle = Duration::from_millis(400);
    cfg.idle_timeout = idle;
    let (addr, _shutdown) = start(cfg).await;

    // The observer keeps pinging, so it is never idle.
    let (observer, _) = Client::login(addr, "watcher", true).await;
    let (mut obs_reader, mut obs_writer) = observer.into_parts();
    // The silent peer: logged in, then never sends and never closes (as
    // when its host vanished without a FIN).
    // (Timed from before its last frame, the register, was sent.)
    let went_silent = Instant::now();
    let (silent, _) = Client::login(addr, "silent", true).await;
    let (mut silent_reader, _silent_writer) = silent.into_parts();

    let dropped = tokio::spawn(async move {
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match silent_reader.read_until(b'\n', &mut buf).await {
                Ok(0) | Err(_) => return went_silent.elapsed(),
                Ok(_) => {}
            }
        }
    });

    let deadline = Instant::now() + idle + Duration::from_secs(5);
    let mut buf = Vec::new();
    let mut ping = 1u64;
    loop {
        assert!(Instant::now() < deadline, "the silent peer stayed online");
        // read_until keeps partial input in `buf` when the timeout cancels it.
        match tokio::time::timeout(
            Duration::from_millis(100),
            obs_reader.read_until(b'\n', &mut buf),
        )
        .await
        {
            Err(_) => {
                ping += 1;
                let line = format!("{{\"type\":\"ping\",\"id\":{ping}}}\n");
                obs_writer.write_all(line.as_bytes()).await.unwrap();
            }
            Ok(read) => {
                assert!(read.unwrap() > 0, "the observer was disconnected");
                let frame: Value = serde_json::from_slice(&buf).unwrap();
                buf.clear();
                if frame["type"] == "presence"
                    && frame["user"] == "silent"
                    && frame["online"] == false
                {
                    break;
                }
            }
        }
    }
    let after = tokio::time::timeout(Duration::from_secs(5), dropped)
        .await
        .expect("the server closed the silent connection")
        .unwrap();
    assert!(
        after >= idle,
        "dropped after {after:?}, before the idle timeout {idle:?}"
    );
}

// ----- one server per database; databases it must not touch -------------

#[test]
fn a_second_server_on_the_same_database_refuses_naming_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("one.db");
    let first = ServerProcess::start(&db, "127.0.0.1:0");
    let before = std::fs::read(&db).unwrap();
    let (status, stderr) = run_server_expecting_failure(&db);
    assert!(!status.success(), "{status:?}");
    assert!(
        stderr.contains(&format!("pid {}", first.pid())),
        "stderr names the running server's pid {}: {stderr}",
        first.pid()
    );
    assert_eq!(std::fs::read(&db).unwrap(), before);
    // The first one still serves.
    std::net::TcpStream::connect(first.addr).expect("the first server still accepts");
}

fn assert_refused_untouched(db: &Path, expect_in_stderr: &str) {
    let before = std::fs::read(db).unwrap();
    let (status, stderr) = run_server_expecting_failure(db);
    assert!(!status.success(), "{status:?}: {stderr}");
    assert!(
        stderr.contains(expect_in_stderr),
        "stderr says {expect_in_stderr:?}: {stderr}"
    );
    assert!(
        stderr.contains(&db.display().to_string()),
        "stderr names the file: {stderr}"
    );
    assert_eq!(std::fs::read(db).unwrap(), before, "the file was modified");
}

#[test]
fn a_foreign_sqlite_database_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("other.db");
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('mine');")
            .unwrap();
    }
    assert_refused_untouched(&db, "not a tchat database");
}

#[test]
fn a_corrupt_database_file_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("garbage.db");
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let garbage: Vec<u8> = (0..16 * 1024)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    std::fs::write(&db, &garbage).unwrap();
    assert_refused_untouched(&db, "not a tchat database");
}

/// A tmpfs mounted for one test, unmounted when dropped.
struct TmpMount {
    dir: PathBuf,
}

impl TmpMount {
    /// Mounts a tmpfs of `size` on `dir`; `Err` says why it cannot be done.
    fn new(dir: &Path, size: &str) -> Result<TmpMount, String> {
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "mount -t tmpfs failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(TmpMount {
            dir: dir.to_path_buf(),
        })
    }

    fn remount(&self, options: &str) {
        let out = Command::new("mount")
            .args(["-o", &format!("remount,{options}")])
            .arg(&self.dir)
            .output()
            .unwrap();
        assert!(out.status.success(), "remount {options}: {out:?}");
    }
}

impl Drop for TmpMount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}

#[test]
fn an_unwritable_database_gives_a_clear_error_and_is_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let mount_dir = dir.path().join("ro");
    std::fs::create_dir(&mount_dir).unwrap();
    // Root ignores file modes, so the file system itself is made read-only.
    let mount = match TmpMount::new(&mount_dir, "8m") {
        Ok(m) => m,
        Err(why) => {
            println!("skipped: an unwritable database cannot be simulated here ({why})");
            return;
        }
    };
    let db = mount_dir.join("tchat.db");
    let mut add = Command::new(env!("CARGO_BIN_EXE_tchat-server"))
        .args(["--bcrypt-cost", "4", "--db"])
        .arg(&db)
        .args(["user", "add", "alice"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    writeln!(add.stdin.take().unwrap(), "{PASSWORD}").unwrap();
    assert!(add.wait().unwrap().success(), "user add");
    mount.remount("ro");
    assert_refused_untouched(&db, "Read-only file system");
}

#[test]
fn a_database_where_nothing_can_be_created_gives_a_clear_error() {
    // Even root cannot create files under /proc.
    let db = Path::new("/proc/self/no-such-dir/tchat.db");
    let (status, stderr) = run_server_expecting_failure(db);
    assert!(!status.success(), "{status:?}");
    assert!(
        stderr.contains("cannot lock /proc/self/no-such-dir/tchat.db.lock"),
        "{stderr}"
    );
}

// ----- a full disk --------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_gives_internal_errors_loses_nothing_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let mount_dir = dir.path().join("small");
    std::fs::create_dir(&mount_dir).unwrap();
    let _mount = match TmpMount::new(&mount_dir, "4m") {
        Ok(m) => m,
        Err(why) => {
            println!("skipped: a full disk cannot be simulated here ({why})");
            return;
        }
    };
    let db = mount_dir.join("tchat.db");
    let (addr, shutdown, task) = start_joinable(config(&db)).await;
    let (mut alice, _) = Client::login(addr, "alice", true).await;
    let (bob, _) = Client::login(addr, "bob", true).await;
    alice
        .event(|f| f["type"] == "presence" && f["user"] == "bob" && f["online"] == true)
        .await;
    let mut acked: BTreeMap<u64, String> = BTreeMap::new();
    let send = |n: usize| format!("{n:04} {}", "x".repeat(3000));
    for n in 0..10 {
        let text = send(n);
        let reply = alice
            .request(json!({"type": "send", "chat": "#public", "text": text}))
            .await;
        ok(&reply);
        acked.insert(reply["msg_id"].as_u64().unwrap(), text);
    }

    // Fill the disk.
    let filler = mount_dir.join("filler");
    {
        let mut f = std::fs::File::create(&filler).unwrap();
        let chunk = vec![0u8; 64 * 1024];
        while f.write_all(&chunk).is_ok() {}
        let _ = f.sync_all();
    }

    // Sends now fail with `internal` (a few may still fit in space SQLite
    // already holds). They go in pipelined groups of 8, so that several
    // share one transaction, as under real load.
    let mut internal = 0;
    let mut n = 10;
    let mut id = 100_000u64;
    while internal < 16 {
        assert!(n < 2000, "a full disk never produced internal errors");
        let mut sent = Vec::new();
        for _ in 0..8 {
            let text = send(n);
            n += 1;
            id += 1;
            alice
                .send(&json!({"type": "send", "id": id, "chat": "#public", "text": text}))
                .await;
            sent.push((id, text));
        }
        for (id, text) in sent {
            let reply = alice.reply_to(id).await;
            match reply["type"].as_str() {
                Some("ok") => {
                    acked.insert(reply["msg_id"].as_u64().unwrap(), text);
                }
                Some("error") => {
                    assert_eq!(reply["code"], "internal", "{reply}");
                    internal += 1;
                }
                _ => panic!("unexpected reply {reply}"),
            }
        }
    }
    // A status change shares the fate of its batch: if it is answered
    // `internal` (it was batched with a send that could not be stored) it
    // did not happen; if `ok`, it did.
    alice
        .send_raw(
            b"{\"type\":\"send\",\"id\":1,\"chat\":\"#public\",\"text\":\"lost\"}\n\
              {\"type\":\"set_status\",\"id\":2,\"status\":\"busy\"}\n",
        )
        .await
        .unwrap();
    assert_eq!(alice.reply_to(1).await["code"], "internal");
    let status_reply = alice.reply_to(2).await;
    let who = alice.request(json!({"type": "who"})).await;
    let mine = who["online"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["user"] == "alice")
        .unwrap()["status"]
        .clone();
    match status_reply["type"].as_str() {
        Some("ok") => assert_eq!(mine, "busy"),
        _ => {
            assert_eq!(status_reply["code"], "internal", "{status_reply}");
            assert_eq!(mine, "available", "a refused status change stuck");
        }
    }
    println!("set_status on a full disk: {status_reply}");
    // Presence does not depend on the disk: bob leaving while nothing can
    // be written (not even the record of his logout) is still seen.
    drop(bob);
    tokio::time::timeout(
        Duration::from_secs(2),
        alice.event(|f| f["type"] == "presence" && f["user"] == "bob" && f["online"] == false),
    )
    .await
    .expect("bob's going offline is seen while the disk is full");
    let who = alice.request(json!({"type": "who"})).await;
    assert!(
        !who["online"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["user"] == "bob"),
        "{who}"
    );
    // The session is still usable for what needs no writing.
    let pong = alice.request(json!({"type": "ping"})).await;
    assert_eq!(pong["type"], "pong");

    // Space returns: the next send succeeds.
    std::fs::remove_file(&filler).unwrap();
    let text = send(5000);
    let reply = alice
        .request(json!({"type": "send", "chat": "#public", "text": text}))
        .await;
    ok(&reply);
    acked.insert(reply["msg_id"].as_u64().unwrap(), text);

    let check = |messages: Vec<Value>, acked: &BTreeMap<u64, String>| {
        let stored: BTreeMap<u64, String> = messages
            .into_iter()
            .map(|m| {
                (
                    m["msg_id"].as_u64().unwrap(),
                    m["text"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        assert_eq!(
            &stored, acked,
            "exactly the acknowledged messages are stored"
        );
    };
    check(alice.all_history("#public").await, &acked);

    // And they are on disk: a new server on the same file has them.
    shutdown.shutdown("test");
    task.await.unwrap().unwrap();
    let (addr, _shutdown) = start(config(&db)).await;
    let (mut alice, _) = Client::login(addr, "alice", false).await;
    check(alice.all_history("#public").await, &acked);
}

//! File transfer end to end through the real network task (§14): the real
//! `App`s of Alice and Bob against a real `tchat-server`; an upload and a
//! download compared byte for byte, an upload that resumes after the line
//! is cut (through a proxy the test can cut), and a download whose bytes do
//! not match the announced SHA-256 (a fake server), which is not kept.

use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};
use tchat::client::app::{App, ConnState, Screen, Settings};
use tchat::client::chat::EntryKind;
use tchat::client::login::LoginForm;
use tchat::client::net::{self, NetCommand, NetHandle};
use tchat::client::theme::{Theme, ThemeSet};
use tchat::client::{Command, Credentials, Event, FileCommand, FileEvent, NetEvent};
use tchat::protocol::{FileRef, Password};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::{timeout, Instant};

const DEADLINE: Duration = Duration::from_secs(60);

mod net_support;
use net_support::{start_server, Proxy};

/// Feeds network events to the app and the app's commands to the network
/// until `done` holds.
async fn pump(
    app: &mut App,
    rx: &mut UnboundedReceiver<Event>,
    net: &NetHandle,
    what: &str,
    done: impl Fn(&App) -> bool,
) {
    let deadline = Instant::now() + DEADLINE;
    while !done(app) {
        let ev = match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(ev)) => ev,
            Ok(None) => panic!("network task gone"),
            Err(_) => panic!("timed out waiting for: {what}"),
        };
        app.now_ms = tchat::protocol::now_ms();
        for cmd in app.update(ev) {
            match cmd {
                Command::Send(f) => net.send(NetCommand::Send(f)),
                Command::Connect(c) => net.send(NetCommand::Connect(c)),
                Command::Trust {
                    server,
                    fingerprint,
                } => net.send(NetCommand::Trust {
                    server,
                    fingerprint,
                }),
                Command::File(c) => net.send(NetCommand::File(c)),
                Command::Bell | Command::Quit | Command::Remember(_) => {}
            }
        }
    }
}

struct Client {
    app: App,
    rx: UnboundedReceiver<Event>,
    net: NetHandle,
}

async fn client(addr: &str, user: &str, downloads: &Path) -> Client {
    let mut app = App::new(
        LoginForm::new(addr, user, true),
        Theme::default_theme(),
        ThemeSet::builtin(),
        Settings {
            download_dir: downloads.to_path_buf(),
            ..Settings::default()
        },
    );
    app.size = (80, 24);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let net = net::spawn(tx);
    net.send(NetCommand::Connect(Credentials {
        server: addr.to_owned(),
        user: user.into(),
        password: Password("correct horse".into()),
        register: true,
    }));
    pump(&mut app, &mut rx, &net, "logged in", |a| {
        a.screen == Screen::Chat && !a.chats[0].loading
    })
    .await;
    Client { app, rx, net }
}

impl Client {
    async fn until(&mut self, what: &str, done: impl Fn(&App) -> bool) {
        pump(&mut self.app, &mut self.rx, &self.net, what, done).await;
    }

    async fn command(&mut self, line: &str) {
        for c in line.chars() {
            let cmds = self.app.update(Event::Key(crossterm::event::KeyEvent::new(
                crossterm::event::KeyCode::Char(c),
                crossterm::event::KeyModifiers::NONE,
            )));
            assert!(cmds.is_empty());
        }
        let cmds = self.app.update(Event::Key(crossterm::event::KeyEvent::new(
            crossterm::event::KeyCode::Enter,
            crossterm::event::KeyModifiers::NONE,
        )));
        for cmd in cmds {
            match cmd {
                Command::Send(f) => self.net.send(NetCommand::Send(f)),
                Command::File(c) => self.net.send(NetCommand::File(c)),
                other => panic!("{other:?}"),
            }
        }
    }
}

fn file_of(app: &App) -> Option<FileRef> {
    app.chats[0]
        .log
        .entries()
        .iter()
        .rev()
        .find_map(|e| match &e.kind {
            EntryKind::Message { file: Some(f), .. } => Some((**f).clone()),
            _ => None,
        })
}

fn pseudo_random(n: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_goes_up_and_comes_down_byte_for_byte() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_server, addr) = start_server(&dir.path().join("t.db"));
    let dl_a = dir.path().join("dl-alice");
    let dl_b = dir.path().join("dl-bob");
    let mut alice = client(&addr, "alice", &dl_a).await;
    let mut bob = client(&addr, "bob", &dl_b).await;

    let bytes = pseudo_random(300_000);
    let src = dir.path().join("report one.pdf");
    std::fs::write(&src, &bytes).unwrap();
    alice
        .command(&format!("/send \"{}\" Q3 numbers", src.display()))
        .await;
    assert_eq!(alice.app.transfers.len(), 1, "{:?}", alice.app.notice);
    alice
        .until("the upload is posted", |a| {
            a.transfers.is_empty() && file_of(a).is_some()
        })
        .await;
    let f = file_of(&alice.app).unwrap();
    assert_eq!(f.name, "report one.pdf");
    assert_eq!(f.size, 300_000);
    assert_eq!(f.mime, "application/pdf");

    bob.until("bob sees the file", |a| file_of(a).is_some())
        .await;
    bob.command("/get").await;
    bob.until("bob saved it", |a| {
        a.last_download.is_some() && a.transfers.is_empty()
    })
    .await;
    let saved = bob.app.last_download.clone().unwrap();
    assert_eq!(saved, dl_b.join("report one.pdf"));
    assert!(std::fs::read(&saved).unwrap() == bytes, "byte for byte");

    // Again: the first copy is not overwritten.
    bob.command("/get").await;
    bob.until("bob saved it again", |a| {
        a.last_download.as_deref() != Some(saved.as_path()) && a.transfers.is_empty()
    })
    .await;
    assert_eq!(
        bob.app.last_download.clone().unwrap(),
        dl_b.join("report one (1).pdf")
    );
    let left: Vec<_> = std::fs::read_dir(&dl_b).unwrap().collect();
    assert_eq!(left.len(), 2, "no temporary file is left: {left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_resumes_after_the_line_is_cut() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_server, addr) = start_server(&dir.path().join("t.db"));
    let proxy = Proxy::start(addr.clone()).await;
    let mut alice = client(&proxy.addr, "alice", &dir.path().join("dl-a")).await;

    let bytes = pseudo_random(24 << 20);
    let src = dir.path().join("big.bin");
    std::fs::write(&src, &bytes).unwrap();
    alice.command(&format!("/send {}", src.display())).await;
    alice
        .until("some bytes are up", |a| {
            a.transfers.first().is_some_and(|t| t.done >= 1 << 20)
        })
        .await;
    proxy.cut_off();
    alice
        .until("the cut is noticed", |a| {
            matches!(a.conn, ConnState::Reconnecting { .. })
        })
        .await;
    let before = alice.app.transfers[0].done;
    assert!(before < bytes.len() as u64, "cut before the end");
    proxy.reopen();
    alice
        .until("the upload goes on", |a| {
            a.conn == ConnState::Connected && a.transfers.first().is_some_and(|t| t.since.is_some())
        })
        .await;
    let (_, resumed_at) = alice.app.transfers[0].since.unwrap();
    assert!(
        resumed_at > 0,
        "resumed from the server's offset, not from 0"
    );
    alice
        .until("the upload is posted", |a| {
            a.transfers.is_empty() && file_of(a).is_some()
        })
        .await;
    assert!(
        alice.app.notice.as_ref().is_some_and(|n| !n.error),
        "{:?}",
        alice.app.notice
    );

    // What the server holds is the file.
    let dl = dir.path().join("dl-bob");
    let mut bob = client(&addr, "bob", &dl).await;
    bob.command("/get").await;
    bob.until("bob saved it", |a| {
        a.last_download.is_some() && a.transfers.is_empty()
    })
    .await;
    assert!(std::fs::read(bob.app.last_download.clone().unwrap()).unwrap() == bytes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_resumes_after_the_line_is_cut() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_server, addr) = start_server(&dir.path().join("t.db"));
    // Alice posts the file straight to the server.
    let bytes = pseudo_random(32 << 20);
    let src = dir.path().join("big.bin");
    std::fs::write(&src, &bytes).unwrap();
    let mut alice = client(&addr, "alice", &dir.path().join("dl-a")).await;
    alice.command(&format!("/send {}", src.display())).await;
    alice
        .until("the file is posted", |a| {
            a.transfers.is_empty() && file_of(a).is_some()
        })
        .await;

    // Bob fetches it through a line that is cut halfway.
    let proxy = Proxy::start(addr.clone()).await;
    let dl = dir.path().join("dl-bob");
    let mut bob = client(&proxy.addr, "bob", &dl).await;
    bob.until("bob sees the file", |a| file_of(a).is_some())
        .await;
    bob.command("/get").await;
    bob.until("some bytes are down", |a| {
        a.transfers.first().is_some_and(|t| t.done >= 1 << 20)
    })
    .await;
    proxy.cut_off();
    bob.until("the cut is noticed", |a| {
        matches!(a.conn, ConnState::Reconnecting { .. })
    })
    .await;
    let before = bob.app.transfers.first().map(|t| t.done);
    assert!(
        before.is_some_and(|b| b < bytes.len() as u64),
        "cut before the end: {before:?}"
    );
    proxy.reopen();
    bob.until("the download goes on", |a| {
        a.conn == ConnState::Connected && a.transfers.first().is_some_and(|t| t.since.is_some())
    })
    .await;
    let (_, resumed_at) = bob.app.transfers[0].since.unwrap();
    assert!(resumed_at > 0, "resumed from what was written, not from 0");
    bob.until("bob saved it", |a| {
        a.last_download.is_some() && a.transfers.is_empty()
    })
    .await;
    let saved = bob.app.last_download.clone().unwrap();
    assert!(
        std::fs::read(&saved).unwrap() == bytes,
        "the saved file is the file"
    );
    // Nothing but the file is left in the download directory.
    let names: Vec<_> = std::fs::read_dir(saved.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
}

/// A server that logs anyone in and answers `file_get` with bytes that do
/// not match the SHA-256 it announces.
async fn lying_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (r, mut w) = sock.into_split();
                let mut lines = BufReader::new(r).lines();
                let hello = json!({"type":"hello","protocol":1,"server":"liar","features":["files"],
                    "limits":{"max_frame_bytes":65536,"max_text_bytes":4096,"max_file_bytes":1000,"file_chunk_bytes":32768}});
                let _ = w.write_all(format!("{hello}\n").as_bytes()).await;
                while let Ok(Some(line)) = lines.next_line().await {
                    let v: Value = serde_json::from_str(&line).unwrap();
                    let id = v["id"].clone();
                    let out: Vec<Value> = match v["type"].as_str().unwrap_or("") {
                        "login" | "register" => vec![
                            json!({"type":"welcome","id":id,"user":"alice","role":"user",
                            "last_msg_id":0,"online":[],"chats":[],"public_unread":0,"requests_in":[],"requests_out":[]}),
                        ],
                        "ping" => vec![json!({"type":"pong","id":id})],
                        "history" => vec![
                            json!({"type":"history","id":id,"chat":v["chat"],"messages":[],"more":false}),
                        ],
                        "file_get" => vec![
                            json!({"type":"file_info","id":id,"file_id":"f1","name":"a.txt","size":5,
                                "sha256":"2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824","mime":"text/plain"}),
                            // "hellO", not "hello"
                            json!({"type":"file_data","file_id":"f1","offset":0,"data":"aGVsbE8="}),
                            json!({"type":"file_end","file_id":"f1"}),
                        ],
                        _ => vec![],
                    };
                    for f in out {
                        let _ = w.write_all(format!("{f}\n").as_bytes()).await;
                    }
                }
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_with_wrong_bytes_is_reported_and_not_kept() {
    let addr = lying_server().await;
    let dir = tempfile::tempdir().unwrap();
    let dl = dir.path().join("dl");
    let mut alice = client(&addr, "alice", &dl).await;
    let tid = 77;
    alice.net.send(NetCommand::File(FileCommand::Download {
        tid,
        file: FileRef {
            file_id: "f1".into(),
            name: "a.txt".into(),
            size: 5,
            sha256: "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824".into(),
            mime: "text/plain".into(),
        },
        dir: dl.clone(),
    }));
    let got = timeout(DEADLINE, async {
        loop {
            match alice.rx.recv().await {
                Some(Event::Net(NetEvent::File(ev))) => match ev {
                    FileEvent::Progress { .. } => {}
                    other => return other,
                },
                Some(_) => {}
                None => panic!("network task gone"),
            }
        }
    })
    .await
    .expect("an answer in time");
    assert_eq!(got, FileEvent::ChecksumMismatch { tid });
    let left: Vec<_> = std::fs::read_dir(&dl)
        .map(|d| d.collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "nothing is kept: {left:?}");
}

//! Reconnect against the real server: Alice's client (the real `App` and
//! network task, no terminal) talks through a proxy the test can cut. While
//! she is cut off, Bob writes; when the line is back her client logs in again
//! and catches up: every message once, in order, none missing.

use std::time::Duration;

use serde_json::{json, Value};
use tchat::client::app::{App, ConnState, Screen, Settings};
use tchat::client::chat::EntryKind;
use tchat::client::login::LoginForm;
use tchat::client::net::{self, NetCommand, NetHandle};
use tchat::client::theme::{Theme, ThemeSet};
use tchat::client::{Command, Credentials, Event};
use tchat::protocol::Password;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::{timeout, Instant};

const DEADLINE: Duration = Duration::from_secs(30);

mod net_support;
use net_support::{start_server, Proxy};

/// Bob: a plain protocol client.
struct Bob {
    w: tokio::net::tcp::OwnedWriteHalf,
    lines: tokio::io::Lines<BufReader<tokio::net::tcp::OwnedReadHalf>>,
    next: u64,
}

impl Bob {
    async fn register(addr: &str) -> Bob {
        let sock = TcpStream::connect(addr).await.expect("connect");
        let (r, mut w) = sock.into_split();
        let frame = json!({"type":"register","id":1,"user":"bob","password":"correct horse"});
        w.write_all(format!("{frame}\n").as_bytes())
            .await
            .expect("write");
        let mut lines = BufReader::new(r).lines();
        timeout(DEADLINE, async {
            while let Ok(Some(line)) = lines.next_line().await {
                let v: Value = serde_json::from_str(&line).expect("json");
                if v["type"] == "welcome" {
                    return;
                }
                assert_ne!(v["type"], "error", "{v}");
            }
            panic!("no welcome for bob");
        })
        .await
        .expect("bob logs in");
        Bob { w, lines, next: 2 }
    }

    /// Sends a message and waits for its `ok`: then it is committed.
    async fn say(&mut self, text: &str) {
        let id = self.next;
        self.next += 1;
        let frame = json!({"type":"send","id":id,"chat":"#public","text":text});
        self.w
            .write_all(format!("{frame}\n").as_bytes())
            .await
            .expect("bob writes");
        timeout(DEADLINE, async {
            while let Ok(Some(line)) = self.lines.next_line().await {
                let v: Value = serde_json::from_str(&line).expect("json");
                if v["id"] == id {
                    assert_eq!(v["type"], "ok", "{v}");
                    return;
                }
            }
            panic!("bob's connection closed");
        })
        .await
        .expect("ok in time");
    }
}

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

fn public_texts(app: &App) -> Vec<String> {
    app.chats[0]
        .log
        .entries()
        .iter()
        .filter_map(|e| match &e.kind {
            EntryKind::Message { text, .. } => Some(text.clone()),
            EntryKind::System(_) | EntryKind::Deleted { .. } => None,
        })
        .collect()
}

fn has(app: &App, text: &str) -> bool {
    public_texts(app).iter().any(|t| t == text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnect_catches_up_without_gap_or_duplicate() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_server, addr) = start_server(&dir.path().join("t.db"));
    let proxy = Proxy::start(addr.clone()).await;

    let mut app = App::new(
        LoginForm::new(&proxy.addr, "alice", true),
        Theme::default_theme(),
        ThemeSet::builtin(),
        Settings::default(),
    );
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let net = net::spawn(tx);
    net.send(NetCommand::Connect(Credentials {
        server: proxy.addr.clone(),
        user: "alice".into(),
        password: Password("correct horse".into()),
        register: true,
    }));
    pump(&mut app, &mut rx, &net, "alice logged in", |a| {
        a.screen == Screen::Chat && !a.chats[0].loading
    })
    .await;

    let mut bob = Bob::register(&addr).await;
    bob.say("before").await;
    pump(&mut app, &mut rx, &net, "alice sees 'before'", |a| {
        has(a, "before")
    })
    .await;

    proxy.cut_off();
    pump(&mut app, &mut rx, &net, "alice notices the cut", |a| {
        matches!(a.conn, ConnState::Reconnecting { .. })
    })
    .await;
    for i in 1..=3 {
        bob.say(&format!("gap {i}")).await;
    }
    proxy.reopen();
    pump(&mut app, &mut rx, &net, "alice catches up", |a| {
        a.conn == ConnState::Connected && has(a, "gap 3") && !a.chats[0].loading
    })
    .await;
    bob.say("after").await;
    pump(&mut app, &mut rx, &net, "alice sees 'after'", |a| {
        has(a, "after")
    })
    .await;

    assert_eq!(
        public_texts(&app),
        ["before", "gap 1", "gap 2", "gap 3", "after"],
        "every message once, in order"
    );
}

/// A port nobody listens on.
fn dead_addr() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").to_string()
}

fn start_alice(server_list: &str, register: bool) -> (App, UnboundedReceiver<Event>, NetHandle) {
    let mut app = App::new(
        LoginForm::new(server_list, "alice", register),
        Theme::default_theme(),
        ThemeSet::builtin(),
        Settings::default(),
    );
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let net = net::spawn(tx);
    app.login.set_password("correct horse");
    let cmds = app.update(Event::Key(crossterm::event::KeyEvent::from(
        crossterm::event::KeyCode::Enter,
    )));
    let creds = cmds
        .into_iter()
        .find_map(|c| match c {
            Command::Connect(c) => Some(c),
            _ => None,
        })
        .expect("the form logs in");
    assert_eq!(
        creds.server, server_list,
        "the whole list goes to the network"
    );
    net.send(NetCommand::Connect(creds));
    (app, rx, net)
}

/// Two addresses, the first down: the login goes to the second, and the
/// status bar says which.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_fails_over_to_the_next_address() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_server, addr) = start_server(&dir.path().join("t.db"));
    let list = format!("{},{addr}", dead_addr());
    let (mut app, mut rx, net) = start_alice(&list, true);
    pump(
        &mut app,
        &mut rx,
        &net,
        "alice logged in on the second",
        |a| a.screen == Screen::Chat && !a.chats[0].loading,
    )
    .await;
    assert_eq!(app.server_now.as_deref(), Some(addr.as_str()));
    let status = status_bar(&app);
    assert!(status.contains(&format!("alice@{addr}")), "{status}");
}

/// Two addresses of one service (two proxies to the same server, standing
/// for two nodes): the first dies mid-session and stays dead; the client
/// reconnects on the second and catches up on what was said meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_node_fails_over_to_the_next_and_catches_up() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_server, addr) = start_server(&dir.path().join("t.db"));
    let first = Proxy::start(addr.clone()).await;
    let second = Proxy::start(addr.clone()).await;
    let list = format!("{}, {}", first.addr, second.addr);
    let (mut app, mut rx, net) = start_alice(&list, true);
    pump(
        &mut app,
        &mut rx,
        &net,
        "alice logged in on the first",
        |a| a.screen == Screen::Chat && !a.chats[0].loading,
    )
    .await;
    assert_eq!(app.server_now.as_deref(), Some(first.addr.as_str()));

    let mut bob = Bob::register(&addr).await;
    bob.say("before").await;
    pump(&mut app, &mut rx, &net, "alice sees 'before'", |a| {
        has(a, "before")
    })
    .await;

    first.cut_off();
    for i in 1..=3 {
        bob.say(&format!("gap {i}")).await;
    }
    pump(
        &mut app,
        &mut rx,
        &net,
        "alice is back, on the second",
        |a| {
            a.conn == ConnState::Connected
                && a.server_now.as_deref() == Some(second.addr.as_str())
                && has(a, "gap 3")
                && !a.chats[0].loading
        },
    )
    .await;
    let status = status_bar(&app);
    assert!(
        status.contains(&format!("alice@{}", second.addr)),
        "{status}"
    );
    bob.say("after").await;
    pump(&mut app, &mut rx, &net, "alice sees 'after'", |a| {
        has(a, "after")
    })
    .await;
    assert_eq!(
        public_texts(&app),
        ["before", "gap 1", "gap 2", "gap 3", "after"],
        "every message once, in order"
    );
}

/// The status bar's text.
fn status_bar(app: &App) -> String {
    let mut term =
        ratatui::Terminal::new(ratatui::backend::TestBackend::new(80, 24)).expect("terminal");
    term.draw(|f| tchat::client::ui::render(app, f))
        .expect("draw");
    let buf = term.backend().buffer();
    (0..buf.area.width)
        .map(|x| buf[(x, buf.area.height - 1)].symbol().to_owned())
        .collect()
}

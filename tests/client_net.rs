//! The network task against a scripted server on a real socket: login,
//! refused login, unreachable server, a dead connection found by unanswered
//! pings, and the reconnect that logs in again (never registers twice).

use std::time::Duration;

use serde_json::{json, Value};
use tchat::client::net::{self, NetCommand, Timing};
use tchat::client::{Credentials, Event, NetEvent};
use tchat::protocol::{ErrorCode, Password, ServerFrame};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(10);

/// How the scripted server treats one connection.
#[derive(Clone, Copy)]
enum Script {
    /// Welcome any login; answer pings only if `pongs`.
    Welcome { pongs: bool },
    /// Refuse the login with `bad_credentials`.
    Refuse,
    /// Welcome the login, then end the session with a fatal `code`
    /// (`kicked` or `banned`) from an admin, and close.
    Removed { code: &'static str },
    /// Refuse the login with `banned` until a time.
    RefuseBanned,
    /// Answer the login with a `welcome` whose name has a control character.
    BadWelcome,
    /// Welcome the login; answer `who` with a frame that breaks the contract.
    BadWho,
}

/// Serves one scripted connection per entry of `scripts`, reporting every
/// request `type` it reads.
async fn fake_server(scripts: Vec<Script>) -> (String, UnboundedReceiver<Value>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let (seen_tx, seen_rx) = unbounded_channel();
    tokio::spawn(async move {
        for script in scripts {
            let Ok((sock, _)) = listener.accept().await else {
                return;
            };
            let seen: UnboundedSender<Value> = seen_tx.clone();
            tokio::spawn(async move {
                let (r, mut w) = sock.into_split();
                let hello = json!({"type":"hello","protocol":1,"server":"fake"});
                let _ = w.write_all(format!("{hello}\n").as_bytes()).await;
                let mut lines = BufReader::new(r).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    let Ok(v) = serde_json::from_str::<Value>(&line) else {
                        continue;
                    };
                    let _ = seen.send(v.clone());
                    let id = v["id"].clone();
                    let reply = match (v["type"].as_str(), script) {
                        (Some("login" | "register"), Script::Welcome { .. }) => json!({
                            "type":"welcome","id":id,"user":v["user"],"role":"user","last_msg_id":0,
                            "online":[],"chats":[],"public_unread":0,"requests_in":[],"requests_out":[]
                        }),
                        (Some("login" | "register"), Script::Refuse) => json!({
                            "type":"error","id":id,"code":"bad_credentials","message":"bad credentials"
                        }),
                        (Some("login" | "register"), Script::Removed { code }) => {
                            let welcome = json!({
                                "type":"welcome","id":id,"user":v["user"],"role":"user","last_msg_id":0,
                                "online":[],"chats":[],"public_unread":0,"requests_in":[],"requests_out":[]
                            });
                            let fatal = json!({"type":"error","code":code,"fatal":true,
                                "message":"bye","by":"Root","reason":"spam","until":null});
                            let _ = w
                                .write_all(format!("{welcome}\n{fatal}\n").as_bytes())
                                .await;
                            return;
                        }
                        (Some("login" | "register"), Script::RefuseBanned) => json!({
                            "type":"error","id":id,"code":"banned","message":"banned",
                            "until":1_900_000_000_000i64
                        }),
                        (Some("login" | "register"), Script::BadWelcome) => json!({
                            "type":"welcome","id":id,"user":"a\u{1}b","role":"user","last_msg_id":0,
                            "online":[],"chats":[],"public_unread":0,"requests_in":[],"requests_out":[]
                        }),
                        (Some("login" | "register"), Script::BadWho) => json!({
                            "type":"welcome","id":id,"user":v["user"],"role":"user","last_msg_id":0,
                            "online":[],"chats":[],"public_unread":0,"requests_in":[],"requests_out":[]
                        }),
                        (Some("who"), Script::BadWho) => json!({
                            "type":"who","id":id,"online":[{"user":"x y","status":"available"}]
                        }),
                        (Some("ping"), Script::Welcome { pongs: true } | Script::BadWho) => {
                            json!({"type":"pong","id":id})
                        }
                        _ => continue,
                    };
                    if w.write_all(format!("{reply}\n").as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (addr, seen_rx)
}

fn creds(addr: &str, register: bool) -> Credentials {
    Credentials {
        server: addr.to_owned(),
        user: "alice".into(),
        password: Password("correct horse".into()),
        register,
    }
}

/// The next network event that matches `pick`, skipping the others.
async fn next_matching<T>(
    rx: &mut UnboundedReceiver<Event>,
    mut pick: impl FnMut(&NetEvent) -> Option<T>,
) -> T {
    timeout(WAIT, async {
        loop {
            match rx.recv().await {
                Some(Event::Net(ev)) => {
                    if let Some(t) = pick(&ev) {
                        return t;
                    }
                }
                Some(_) => {}
                None => panic!("the network task stopped"),
            }
        }
    })
    .await
    .expect("event in time")
}

async fn next_type(seen: &mut UnboundedReceiver<Value>, want: &str) -> Value {
    timeout(WAIT, async {
        loop {
            let v = seen.recv().await.expect("server alive");
            if v["type"] == want {
                return v;
            }
        }
    })
    .await
    .expect("request in time")
}

fn quick() -> Timing {
    Timing {
        ping_interval: Duration::from_millis(200),
        step_timeout: Duration::from_secs(5),
        ..Timing::default()
    }
}

#[tokio::test]
async fn dead_connection_is_found_by_ping_and_the_reconnect_logs_in_again() {
    let (addr, mut seen) = fake_server(vec![
        Script::Welcome { pongs: false },
        Script::Welcome { pongs: true },
    ])
    .await;
    let (tx, mut rx) = unbounded_channel();
    let handle = net::spawn_with(tx, quick());
    handle.send(NetCommand::Connect(creds(&addr, true)));

    let first = next_type(&mut seen, "register").await;
    assert_eq!(first["user"], "alice");
    next_matching(&mut rx, |ev| match ev {
        NetEvent::Frame(ServerFrame::Welcome(w)) => Some(w.user.to_string()),
        _ => None,
    })
    .await;
    let reason = next_matching(&mut rx, |ev| match ev {
        NetEvent::Lost { reason, retry_in } => {
            assert_eq!(*retry_in, Duration::from_secs(1));
            Some(reason.clone())
        }
        _ => None,
    })
    .await;
    assert!(reason.contains("ping"), "{reason}");

    // The reconnect logs in; it must not register the account again.
    let again = next_type(&mut seen, "login").await;
    assert_eq!(again["user"], "alice");
    assert_eq!(again["password"], "correct horse");
    next_matching(&mut rx, |ev| match ev {
        NetEvent::Frame(ServerFrame::Welcome(_)) => Some(()),
        _ => None,
    })
    .await;
    // This server answers: the round trip is reported, and pongs to the
    // task's own pings are not passed on as frames.
    next_matching(&mut rx, |ev| match ev {
        NetEvent::Rtt(_) => Some(()),
        NetEvent::Frame(ServerFrame::Pong { .. }) => panic!("own pong leaked"),
        _ => None,
    })
    .await;
}

#[tokio::test]
async fn a_refused_login_is_reported_and_not_retried() {
    let (addr, mut seen) = fake_server(vec![Script::Refuse, Script::Welcome { pongs: true }]).await;
    let (tx, mut rx) = unbounded_channel();
    let handle = net::spawn_with(tx, quick());
    handle.send(NetCommand::Connect(creds(&addr, false)));
    next_type(&mut seen, "login").await;
    let code = next_matching(&mut rx, |ev| match ev {
        NetEvent::LoginFailed(e) => Some(e.code),
        NetEvent::Lost { .. } => panic!("a refused login is not a lost connection"),
        _ => None,
    })
    .await;
    assert_eq!(code, ErrorCode::BadCredentials);
    // Nothing happens until the user tries again.
    assert!(timeout(Duration::from_millis(300), seen.recv())
        .await
        .is_err());
    handle.send(NetCommand::Connect(creds(&addr, false)));
    next_type(&mut seen, "login").await;
}

#[tokio::test]
async fn an_unreachable_server_is_reported_to_the_login_form() {
    // Bind and drop to get a port nobody listens on.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let (tx, mut rx) = unbounded_channel();
    let handle = net::spawn_with(tx, quick());
    handle.send(NetCommand::Connect(creds(
        &format!("127.0.0.1:{port}"),
        false,
    )));
    let reason = next_matching(&mut rx, |ev| match ev {
        NetEvent::ConnectFailed(r) => Some(r.clone()),
        _ => None,
    })
    .await;
    assert!(reason.contains("cannot connect"), "{reason}");
}

#[tokio::test]
async fn a_welcome_that_breaks_the_contract_is_said_at_once() {
    let (addr, mut seen) = fake_server(vec![Script::BadWelcome]).await;
    let (tx, mut rx) = unbounded_channel();
    // The login's own time limit is 15 s: the answer must not wait for it.
    let handle = net::spawn_with(tx, Timing::default());
    handle.send(NetCommand::Connect(creds(&addr, false)));
    next_type(&mut seen, "login").await;
    let reason = timeout(
        Duration::from_secs(3),
        next_matching(&mut rx, |ev| match ev {
            NetEvent::ConnectFailed(r) => Some(r.clone()),
            NetEvent::Frame(ServerFrame::Welcome(_)) => panic!("a broken welcome was accepted"),
            _ => None,
        }),
    )
    .await
    .expect("said at once, not after the login's time limit");
    assert_eq!(
        reason,
        r#"the server sent an invalid welcome: user "a\u{1}b" has control characters"#
    );
}

#[tokio::test]
async fn a_reply_that_breaks_the_contract_is_said_and_answered_as_failed() {
    let (addr, _seen) = fake_server(vec![Script::BadWho]).await;
    let (tx, mut rx) = unbounded_channel();
    let handle = net::spawn_with(tx, Timing::default());
    handle.send(NetCommand::Connect(creds(&addr, false)));
    next_matching(&mut rx, |ev| match ev {
        NetEvent::Frame(ServerFrame::Welcome(_)) => Some(()),
        _ => None,
    })
    .await;
    handle.send(NetCommand::Send(tchat::protocol::ClientFrame {
        id: Some(7),
        request: tchat::protocol::Request::Who,
    }));
    let warning = next_matching(&mut rx, |ev| match ev {
        NetEvent::Warning(w) => Some(w.clone()),
        _ => None,
    })
    .await;
    assert!(
        warning.starts_with(r#"the server sent an invalid who: online[0].user "x y""#),
        "{warning}"
    );
    let e = next_matching(&mut rx, |ev| match ev {
        NetEvent::Frame(ServerFrame::Error(e)) => Some(e.clone()),
        _ => None,
    })
    .await;
    assert_eq!(e.id, Some(7), "the request does not wait forever");
}

/// A list of addresses is one pass: each is tried once, and the failure
/// names every one; the first that answers is the one logged in at.
#[tokio::test]
async fn a_list_of_addresses_is_tried_in_turn() {
    let dead = || {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").to_string()
    };
    let (a, b) = (dead(), dead());
    let (tx, mut rx) = unbounded_channel();
    let handle = net::spawn_with(tx, quick());
    handle.send(NetCommand::Connect(creds(&format!("{a},{b}"), false)));
    let reason = next_matching(&mut rx, |ev| match ev {
        NetEvent::ConnectFailed(r) => Some(r.clone()),
        _ => None,
    })
    .await;
    assert!(reason.contains(&a) && reason.contains(&b), "{reason}");

    let (live, mut seen) = fake_server(vec![Script::Welcome { pongs: true }]).await;
    handle.send(NetCommand::Connect(creds(&format!("{a}, {live}"), false)));
    next_type(&mut seen, "login").await;
    let at = next_matching(&mut rx, |ev| match ev {
        NetEvent::Connected { server } => Some(server.clone()),
        NetEvent::ConnectFailed(r) => panic!("{r}"),
        _ => None,
    })
    .await;
    assert_eq!(at, live);
}

#[tokio::test]
async fn frames_from_the_app_reach_the_server() {
    let (addr, mut seen) = fake_server(vec![Script::Welcome { pongs: true }]).await;
    let (tx, mut rx) = unbounded_channel();
    let handle = net::spawn_with(tx, Timing::default());
    handle.send(NetCommand::Connect(creds(&addr, false)));
    next_matching(&mut rx, |ev| match ev {
        NetEvent::Frame(ServerFrame::Welcome(_)) => Some(()),
        _ => None,
    })
    .await;
    handle.send(NetCommand::Send(tchat::protocol::ClientFrame {
        id: Some(5),
        request: tchat::protocol::Request::Send {
            chat: "#public".into(),
            text: "hi".into(),
        },
    }));
    let v = next_type(&mut seen, "send").await;
    assert_eq!(v["id"], 5);
    assert_eq!(v["text"], "hi");
}

/// A real server in this process (plain TCP, fast bcrypt), with the
/// contract's rate limit (20 frames/s, bursts of 40).
async fn real_server(dir: &std::path::Path) -> (String, tchat::server::ShutdownHandle) {
    let mut config =
        tchat::server::ServerConfig::new("127.0.0.1:0".parse().expect("addr"), dir.join("t.db"));
    config.bcrypt_cost = 4;
    let server = tchat::server::Server::bind(config).await.expect("bind");
    let addr = server.local_addr().to_string();
    let shutdown = server.shutdown_handle();
    tokio::spawn(async move {
        let _ = server.run().await;
    });
    (addr, shutdown)
}

#[tokio::test]
async fn a_burst_of_frames_is_paced_under_the_servers_rate_and_none_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (addr, shutdown) = real_server(dir.path()).await;
    let (tx, mut rx) = unbounded_channel();
    let handle = net::spawn_with(tx, quick());
    handle.send(NetCommand::Connect(creds(&addr, true)));
    next_matching(&mut rx, |ev| match ev {
        NetEvent::Frame(ServerFrame::Welcome(_)) => Some(()),
        _ => None,
    })
    .await;
    // What a login with 100 open chats asks at once: one history page each.
    const N: u64 = 100;
    for id in 1..=N {
        handle.send(NetCommand::Send(tchat::protocol::ClientFrame {
            id: Some(id),
            request: tchat::protocol::Request::History {
                chat: "#public".into(),
                before: None,
                after: None,
                limit: Some(1),
            },
        }));
    }
    let mut answered = Vec::new();
    timeout(Duration::from_secs(30), async {
        while answered.len() < N as usize {
            match rx.recv().await {
                Some(Event::Net(NetEvent::Frame(ServerFrame::History(p)))) => answered.push(p.id),
                Some(Event::Net(NetEvent::Frame(ServerFrame::Error(e)))) => {
                    panic!("the server refused a frame: {e:?}")
                }
                Some(Event::Net(NetEvent::Lost { reason, .. })) => {
                    panic!("the connection was lost: {reason}")
                }
                Some(_) => {}
                None => panic!("the network task stopped"),
            }
        }
    })
    .await
    .expect("every request answered");
    assert_eq!(answered, (1..=N).collect::<Vec<_>>(), "sent in order");
    shutdown.shutdown("test");
}

/// A server that answers the first `send` with `rate_limited` and
/// `retry_after_ms`, and `ok` to everything after; it reports every frame.
async fn limiting_server(retry_after_ms: u64) -> (String, UnboundedReceiver<Value>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let (seen_tx, seen_rx) = unbounded_channel();
    tokio::spawn(async move {
        let Ok((sock, _)) = listener.accept().await else {
            return;
        };
        let (r, mut w) = sock.into_split();
        let mut lines = BufReader::new(r).lines();
        let mut refused = false;
        while let Ok(Some(line)) = lines.next_line().await {
            let Ok(v) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            let _ = seen_tx.send(v.clone());
            let id = v["id"].clone();
            let reply = match v["type"].as_str() {
                Some("login") => json!({
                    "type":"welcome","id":id,"user":"alice","role":"user","last_msg_id":0,
                    "online":[],"chats":[],"public_unread":0,"requests_in":[],"requests_out":[]
                }),
                Some("ping") => json!({"type":"pong","id":id}),
                Some("send") if !refused => {
                    refused = true;
                    json!({"type":"error","id":id,"code":"rate_limited",
                        "message":"slow down","retry_after_ms":retry_after_ms})
                }
                _ => json!({"type":"ok","id":id,"msg_id":1,"ts":1}),
            };
            if w.write_all(format!("{reply}\n").as_bytes()).await.is_err() {
                return;
            }
        }
    });
    (addr, seen_rx)
}

fn send_frame(id: u64, text: &str) -> NetCommand {
    NetCommand::Send(tchat::protocol::ClientFrame {
        id: Some(id),
        request: tchat::protocol::Request::Send {
            chat: "#public".into(),
            text: text.into(),
        },
    })
}

#[tokio::test]
async fn a_rate_limited_frame_is_sent_again_after_the_delay_and_the_app_sees_only_the_ok() {
    let (addr, mut seen) = limiting_server(50).await;
    let (tx, mut rx) = unbounded_channel();
    let handle = net::spawn_with(tx, quick());
    handle.send(NetCommand::Connect(creds(&addr, false)));
    next_matching(&mut rx, |ev| match ev {
        NetEvent::Frame(ServerFrame::Welcome(_)) => Some(()),
        _ => None,
    })
    .await;
    handle.send(send_frame(7, "hello"));
    assert_eq!(next_type(&mut seen, "send").await["id"], 7);
    let again = next_type(&mut seen, "send").await;
    assert_eq!(again["id"], 7, "the same frame, again");
    assert_eq!(again["text"], "hello");
    let id = next_matching(&mut rx, |ev| match ev {
        NetEvent::Frame(ServerFrame::Ok(ok)) => Some(ok.id),
        NetEvent::Frame(ServerFrame::Error(e)) => panic!("the app saw the refusal: {e:?}"),
        _ => None,
    })
    .await;
    assert_eq!(id, 7);
}

#[tokio::test]
async fn a_hostile_retry_after_is_not_waited_for_and_panics_nothing() {
    let (addr, mut seen) = limiting_server(u64::MAX).await;
    let (tx, mut rx) = unbounded_channel();
    let handle = net::spawn_with(tx, quick());
    handle.send(NetCommand::Connect(creds(&addr, false)));
    next_matching(&mut rx, |ev| match ev {
        NetEvent::Frame(ServerFrame::Welcome(_)) => Some(()),
        _ => None,
    })
    .await;
    handle.send(send_frame(7, "hello"));
    // Waiting u64::MAX ms is no plan: the app is told, and the task goes on.
    let code = next_matching(&mut rx, |ev| match ev {
        NetEvent::Frame(ServerFrame::Error(e)) if e.id == Some(7) => Some(e.code),
        NetEvent::Lost { reason, .. } => panic!("lost: {reason}"),
        _ => None,
    })
    .await;
    assert_eq!(code, ErrorCode::RateLimited);
    handle.send(send_frame(8, "still here"));
    loop {
        let v = next_type(&mut seen, "send").await;
        if v["id"] == 8 {
            break;
        }
    }
    let id = next_matching(&mut rx, |ev| match ev {
        NetEvent::Frame(ServerFrame::Ok(ok)) => Some(ok.id),
        NetEvent::Lost { reason, .. } => panic!("lost: {reason}"),
        _ => None,
    })
    .await;
    assert_eq!(id, 8);
}

/// Welcomes every login and closes the connection `hold` later.
async fn dropping_server(hold: Duration) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (r, mut w) = sock.into_split();
                let mut lines = BufReader::new(r).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    let Ok(v) = serde_json::from_str::<Value>(&line) else {
                        continue;
                    };
                    if matches!(v["type"].as_str(), Some("login" | "register")) {
                        let welcome = json!({
                            "type":"welcome","id":v["id"],"user":v["user"],"role":"user","last_msg_id":0,
                            "online":[],"chats":[],"public_unread":0,"requests_in":[],"requests_out":[]
                        });
                        let _ = w.write_all(format!("{welcome}\n").as_bytes()).await;
                        tokio::time::sleep(hold).await;
                        return;
                    }
                }
            });
        }
    });
    addr
}

async fn next_retry_in(rx: &mut UnboundedReceiver<Event>) -> Duration {
    next_matching(rx, |ev| match ev {
        NetEvent::Lost { retry_in, .. } => Some(*retry_in),
        _ => None,
    })
    .await
}

#[tokio::test]
async fn a_login_dropped_at_once_does_not_reset_the_backoff() {
    let addr = dropping_server(Duration::ZERO).await;
    let (tx, mut rx) = unbounded_channel();
    let handle = net::spawn_with(tx, quick());
    handle.send(NetCommand::Connect(creds(&addr, false)));
    assert_eq!(next_retry_in(&mut rx).await, Duration::from_secs(1));
    // The reconnect logs in and is dropped at once again: wait longer.
    assert_eq!(next_retry_in(&mut rx).await, Duration::from_secs(2));
}

#[tokio::test]
async fn a_session_that_stayed_up_starts_the_backoff_again() {
    // Sessions last 600 ms; 200 ms counts as stable here.
    let addr = dropping_server(Duration::from_millis(600)).await;
    let (tx, mut rx) = unbounded_channel();
    let timing = Timing {
        stable_after: Duration::from_millis(200),
        ..Timing::default()
    };
    let handle = net::spawn_with(tx, timing);
    handle.send(NetCommand::Connect(creds(&addr, false)));
    assert_eq!(next_retry_in(&mut rx).await, Duration::from_secs(1));
    assert_eq!(next_retry_in(&mut rx).await, Duration::from_secs(1));
}

/// A kick or a ban ends the session: the app gets the fatal error with who
/// and why, and the task does not reconnect by itself (a kick would be
/// undone at once, a ban would be run into); the user's next login works.
#[tokio::test]
async fn a_kick_or_a_ban_is_reported_and_never_reconnected_by_itself() {
    for code in ["kicked", "banned"] {
        let (addr, mut seen) = fake_server(vec![
            Script::Removed { code },
            Script::Welcome { pongs: true },
        ])
        .await;
        let (tx, mut rx) = unbounded_channel();
        let handle = net::spawn_with(tx, quick());
        handle.send(NetCommand::Connect(creds(&addr, false)));
        next_type(&mut seen, "login").await;
        let e = next_matching(&mut rx, |ev| match ev {
            NetEvent::Frame(ServerFrame::Error(e)) => Some(e.clone()),
            NetEvent::Lost { .. } => panic!("{code}: not a lost connection"),
            _ => None,
        })
        .await;
        assert_eq!(e.code.as_str(), code);
        assert_eq!(e.reason.as_deref(), Some("spam"));
        // The backoff would have tried again after 1 s: nothing happens.
        let quiet = timeout(Duration::from_millis(1_500), async {
            loop {
                match rx.recv().await {
                    Some(Event::Net(
                        ev @ (NetEvent::Lost { .. }
                        | NetEvent::Connecting { .. }
                        | NetEvent::RetryIn(_)),
                    )) => return ev,
                    Some(_) => {}
                    None => panic!("the network task stopped"),
                }
            }
        })
        .await;
        assert!(quiet.is_err(), "{code}: {quiet:?}");
        assert!(timeout(Duration::from_millis(100), seen.recv())
            .await
            .is_err());
        handle.send(NetCommand::Connect(creds(&addr, false)));
        next_type(&mut seen, "login").await;
    }
}

/// Banned while away: the reconnect's refusal is reported like a refused
/// first login (with `until`), and the task stops there.
#[tokio::test]
async fn a_reconnect_refused_as_banned_stops_and_says_until_when() {
    let (addr, mut seen) = fake_server(vec![
        Script::Welcome { pongs: false },
        Script::RefuseBanned,
        Script::Welcome { pongs: true },
    ])
    .await;
    let (tx, mut rx) = unbounded_channel();
    let handle = net::spawn_with(tx, quick());
    handle.send(NetCommand::Connect(creds(&addr, false)));
    next_type(&mut seen, "login").await;
    // The dead connection is found, the reconnect logs in and is refused.
    next_type(&mut seen, "login").await;
    let e = next_matching(&mut rx, |ev| match ev {
        NetEvent::LoginFailed(e) => Some(e.clone()),
        NetEvent::Offline(why) => panic!("not a generic failure: {why}"),
        _ => None,
    })
    .await;
    assert_eq!(e.code, ErrorCode::Banned);
    assert_eq!(e.until, Some(Some(1_900_000_000_000)));
    assert!(timeout(Duration::from_millis(1_500), seen.recv())
        .await
        .is_err());
    handle.send(NetCommand::Connect(creds(&addr, false)));
    next_type(&mut seen, "login").await;
}

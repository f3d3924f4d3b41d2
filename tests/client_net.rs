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
                        (Some("ping"), Script::Welcome { pongs: true }) => {
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

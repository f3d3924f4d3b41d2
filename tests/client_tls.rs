//! The client's TLS against the real server serving a self-signed
//! certificate: an unknown certificate stops the network task with its
//! fingerprint and no login; once trusted (and recorded) it logs in; a
//! different certificate on the same host:port is refused as CHANGED, on a
//! first login and on a reconnect, which then does not retry; `--ca` and
//! `--trust-fingerprint` connect without a question; an unwritable
//! `known_servers` still lets the user's yes count for the session.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tchat::client::known_servers::KnownServers;
use tchat::client::net::{self, NetCommand, NetHandle, Timing};
use tchat::client::trust::{Pin, TlsInfo, TrustSettings, Untrusted, Verified};
use tchat::client::{Credentials, Event, NetEvent};
use tchat::protocol::{Password, ServerFrame};
use tchat::server::{Server, ServerConfig, ShutdownHandle, TlsFiles};
use tchat::tls::GeneratedCert;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};
use tokio::task::JoinHandle;
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(15);

struct Running {
    addr: SocketAddr,
    shutdown: ShutdownHandle,
    task: JoinHandle<()>,
}

impl Running {
    async fn stop(self) {
        self.shutdown.shutdown("test");
        let _ = timeout(WAIT, self.task).await;
    }
}

/// A TLS server on `listen` with a new self-signed certificate for
/// "localhost" made in `dir/<tag>`.
async fn tls_server(dir: &Path, listen: &str, tag: &str) -> (Running, GeneratedCert) {
    let made = tchat::tls::generate_self_signed("localhost", &dir.join(tag)).expect("cert");
    let mut config = ServerConfig::new(listen.parse().expect("addr"), dir.join("t.db"));
    config.bcrypt_cost = 4;
    config.tls = Some(TlsFiles {
        cert: made.cert.clone(),
        key: made.key.clone(),
    });
    let server = Server::bind(config).await.expect("bind");
    let addr = server.local_addr();
    let shutdown = server.shutdown_handle();
    let task = tokio::spawn(async move {
        let _ = server.run().await;
    });
    (
        Running {
            addr,
            shutdown,
            task,
        },
        made,
    )
}

fn known_path(dir: &Path) -> PathBuf {
    dir.join("config").join("tchat").join("known_servers")
}

fn settings(dir: &Path) -> TrustSettings {
    TrustSettings {
        system_roots: true,
        ca: Vec::new(),
        known_servers: Some(known_path(dir)),
        pin: None,
    }
}

fn quick() -> Timing {
    Timing {
        ping_interval: Duration::from_millis(300),
        step_timeout: Duration::from_secs(5),
        ..Timing::default()
    }
}

fn creds(addr: SocketAddr, register: bool) -> Credentials {
    Credentials {
        server: format!("tls://localhost:{}", addr.port()),
        user: "alice".into(),
        password: Password("correct horse".into()),
        register,
    }
}

/// How a connection attempt ended, as the app would see it.
#[derive(Debug)]
enum Outcome {
    Welcome(Option<TlsInfo>),
    Untrusted(Untrusted),
    Failed(String),
}

/// Waits for the attempt's end: a welcome (with the transport reported
/// before it), a refused certificate, or a failure.
async fn outcome(rx: &mut UnboundedReceiver<Event>) -> Outcome {
    let mut transport = None;
    timeout(WAIT, async {
        loop {
            match rx.recv().await {
                Some(Event::Net(NetEvent::Transport(t))) => transport = t,
                Some(Event::Net(NetEvent::Frame(ServerFrame::Welcome(_)))) => {
                    return Outcome::Welcome(transport.take())
                }
                Some(Event::Net(NetEvent::Untrusted(u))) => return Outcome::Untrusted(u),
                Some(Event::Net(NetEvent::ConnectFailed(r))) => return Outcome::Failed(r),
                Some(Event::Net(NetEvent::LoginFailed(e))) => {
                    return Outcome::Failed(format!("{e:?}"))
                }
                Some(_) => {}
                None => panic!("the network task stopped"),
            }
        }
    })
    .await
    .expect("an outcome in time")
}

/// Asserts that for `quiet` the task neither connects again nor logs in.
async fn stays_quiet(rx: &mut UnboundedReceiver<Event>, quiet: Duration) {
    let _ = timeout(quiet, async {
        while let Some(ev) = rx.recv().await {
            match ev {
                Event::Net(NetEvent::Connecting { .. })
                | Event::Net(NetEvent::Frame(ServerFrame::Welcome(_)))
                | Event::Net(NetEvent::Transport(_)) => {
                    panic!("the task went on by itself: {ev:?}")
                }
                _ => {}
            }
        }
    })
    .await;
}

fn start(settings: TrustSettings) -> (NetHandle, UnboundedReceiver<Event>) {
    let (tx, rx) = unbounded_channel();
    (net::spawn_trusting(tx, quick(), settings), rx)
}

#[tokio::test]
async fn an_unknown_certificate_is_asked_about_and_logs_in_once_trusted() {
    let dir = tempfile::tempdir().unwrap();
    let (server, made) = tls_server(dir.path(), "127.0.0.1:0", "a").await;
    let (net, mut rx) = start(settings(dir.path()));
    net.send(NetCommand::Connect(creds(server.addr, true)));

    let key = format!("localhost:{}", server.addr.port());
    let (server_name, fingerprint) = match outcome(&mut rx).await {
        Outcome::Untrusted(Untrusted::Unknown {
            server,
            fingerprint,
            names,
            ..
        }) => {
            assert_eq!(names, ["localhost"]);
            (server, fingerprint)
        }
        other => panic!("expected an unknown certificate, got {other:?}"),
    };
    assert_eq!(server_name, key);
    assert_eq!(fingerprint, made.fingerprint);
    // No login, no retry, nothing written without the user's yes.
    stays_quiet(&mut rx, Duration::from_millis(1500)).await;
    assert!(!known_path(dir.path()).exists());

    net.send(NetCommand::Trust {
        server: server_name,
        fingerprint: fingerprint.clone(),
    });
    match outcome(&mut rx).await {
        Outcome::Welcome(Some(info)) => {
            assert_eq!(info.fingerprint, made.fingerprint);
            assert_eq!(info.verified, Verified::Known);
        }
        other => panic!("expected a TLS login, got {other:?}"),
    }
    let (known, problems) = KnownServers::load(&known_path(dir.path())).unwrap();
    assert!(problems.is_empty());
    assert_eq!(known.get(&key).map(|e| &e.fingerprint), Some(&fingerprint));

    // A new client (a new run) finds it in the file and asks nothing.
    let (net2, mut rx2) = start(settings(dir.path()));
    net2.send(NetCommand::Connect(creds(server.addr, false)));
    match outcome(&mut rx2).await {
        Outcome::Welcome(Some(info)) => assert_eq!(info.verified, Verified::Known),
        other => panic!("expected a login, got {other:?}"),
    }
    server.stop().await;
}

#[tokio::test]
async fn a_changed_certificate_is_refused_and_the_reconnect_stops() {
    let dir = tempfile::tempdir().unwrap();
    let (first, old) = tls_server(dir.path(), "127.0.0.1:0", "old").await;
    let addr = first.addr;
    let key = format!("localhost:{}", addr.port());
    let (net, mut rx) = start(settings(dir.path()));
    net.send(NetCommand::Connect(creds(addr, true)));
    let Outcome::Untrusted(Untrusted::Unknown { fingerprint, .. }) = outcome(&mut rx).await else {
        panic!("expected the question first");
    };
    net.send(NetCommand::Trust {
        server: key.clone(),
        fingerprint,
    });
    assert!(matches!(outcome(&mut rx).await, Outcome::Welcome(Some(_))));
    let before = std::fs::read_to_string(known_path(dir.path())).unwrap();

    // The server comes back on the same host:port with another certificate.
    first.stop().await;
    let (second, new) = tls_server(dir.path(), &addr.to_string(), "new").await;
    assert_ne!(old.fingerprint, new.fingerprint);

    // The running client's reconnect meets it: refused as CHANGED.
    match outcome(&mut rx).await {
        Outcome::Untrusted(Untrusted::Changed {
            server,
            old: was,
            new: now,
            file,
            line,
        }) => {
            assert_eq!(server, key);
            assert_eq!(was, old.fingerprint);
            assert_eq!(now, new.fingerprint);
            assert_eq!(file.as_deref(), Some(known_path(dir.path()).as_path()));
            assert!(line > 0);
        }
        other => panic!("expected CHANGED, got {other:?}"),
    }
    // And it does not try again by itself (backoff would retry in 1-2 s).
    stays_quiet(&mut rx, Duration::from_millis(3500)).await;

    // A fresh client's first login is refused the same way.
    let (net2, mut rx2) = start(settings(dir.path()));
    net2.send(NetCommand::Connect(creds(addr, false)));
    assert!(matches!(
        outcome(&mut rx2).await,
        Outcome::Untrusted(Untrusted::Changed { .. })
    ));
    // The file was not touched.
    assert_eq!(
        std::fs::read_to_string(known_path(dir.path())).unwrap(),
        before
    );
    second.stop().await;
}

#[tokio::test]
async fn a_ca_file_is_trusted_without_a_question() {
    let dir = tempfile::tempdir().unwrap();
    let (server, made) = tls_server(dir.path(), "127.0.0.1:0", "a").await;
    let mut trust = settings(dir.path());
    trust.ca = tchat::tls::load_certificates(&made.cert).unwrap();
    let (net, mut rx) = start(trust);
    net.send(NetCommand::Connect(creds(server.addr, true)));
    match outcome(&mut rx).await {
        Outcome::Welcome(Some(info)) => {
            assert_eq!(info.verified, Verified::Authority);
            assert_eq!(info.fingerprint, made.fingerprint);
        }
        other => panic!("expected a login, got {other:?}"),
    }
    assert!(!known_path(dir.path()).exists(), "nothing to remember");
    server.stop().await;
}

#[tokio::test]
async fn a_ca_does_not_vouch_for_another_name() {
    let dir = tempfile::tempdir().unwrap();
    let (server, made) = tls_server(dir.path(), "127.0.0.1:0", "a").await;
    let mut trust = settings(dir.path());
    trust.ca = tchat::tls::load_certificates(&made.cert).unwrap();
    let (net, mut rx) = start(trust);
    // The certificate is for "localhost", not for the IP address.
    let mut c = creds(server.addr, true);
    c.server = format!("tls://127.0.0.1:{}", server.addr.port());
    net.send(NetCommand::Connect(c));
    match outcome(&mut rx).await {
        Outcome::Failed(reason) => assert!(reason.contains("TLS"), "{reason}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    server.stop().await;
}

#[tokio::test]
async fn a_pinned_fingerprint_is_accepted_and_recorded_and_a_wrong_one_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (server, made) = tls_server(dir.path(), "127.0.0.1:0", "a").await;
    let key = format!("localhost:{}", server.addr.port());

    let mut wrong = settings(dir.path());
    wrong.pin = Some(Pin {
        server: key.clone(),
        fingerprint: format!("SHA256:{}", ["00"; 32].join(":")),
    });
    let (net, mut rx) = start(wrong);
    net.send(NetCommand::Connect(creds(server.addr, true)));
    match outcome(&mut rx).await {
        Outcome::Untrusted(Untrusted::PinMismatch { got, .. }) => {
            assert_eq!(got, made.fingerprint)
        }
        other => panic!("expected a pin mismatch, got {other:?}"),
    }
    assert!(!known_path(dir.path()).exists());

    let mut pinned = settings(dir.path());
    pinned.pin = Some(Pin {
        server: key.clone(),
        fingerprint: made.fingerprint.clone(),
    });
    let (net, mut rx) = start(pinned);
    net.send(NetCommand::Connect(creds(server.addr, true)));
    match outcome(&mut rx).await {
        Outcome::Welcome(Some(info)) => assert_eq!(info.verified, Verified::Pinned),
        other => panic!("expected a login, got {other:?}"),
    }
    let (known, _) = KnownServers::load(&known_path(dir.path())).unwrap();
    assert_eq!(
        known.get(&key).map(|e| e.fingerprint.clone()),
        Some(made.fingerprint.clone())
    );
    server.stop().await;
}

#[tokio::test]
async fn a_known_servers_file_that_cannot_be_written_trusts_for_the_session_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let (server, made) = tls_server(dir.path(), "127.0.0.1:0", "a").await;
    // A file where the directory should be: nothing can be created below it.
    let blocker = dir.path().join("blocker");
    std::fs::write(&blocker, "").unwrap();
    let mut trust = settings(dir.path());
    trust.known_servers = Some(blocker.join("known_servers"));
    let (net, mut rx) = start(trust);
    net.send(NetCommand::Connect(creds(server.addr, true)));
    let Outcome::Untrusted(Untrusted::Unknown { server: key, .. }) = outcome(&mut rx).await else {
        panic!("expected the question");
    };
    net.send(NetCommand::Trust {
        server: key,
        fingerprint: made.fingerprint.clone(),
    });
    let warning = timeout(WAIT, async {
        loop {
            match rx.recv().await {
                Some(Event::Net(NetEvent::Warning(w))) => return w,
                Some(_) => {}
                None => panic!("the network task stopped"),
            }
        }
    })
    .await
    .expect("a warning");
    assert!(warning.contains("this session only"), "{warning}");
    assert!(matches!(outcome(&mut rx).await, Outcome::Welcome(Some(_))));
    server.stop().await;
}

#[tokio::test]
async fn a_remembered_certificate_wins_over_a_ca_that_vouches_for_another() {
    let dir = tempfile::tempdir().unwrap();
    let (server, made) = tls_server(dir.path(), "127.0.0.1:0", "a").await;
    let key = format!("localhost:{}", server.addr.port());
    // The user trusted another certificate for this host:port earlier.
    let remembered = format!("SHA256:{}", ["AB"; 32].join(":"));
    KnownServers::append(&known_path(dir.path()), &key, &remembered).unwrap();
    let before = std::fs::read_to_string(known_path(dir.path())).unwrap();
    // The presented certificate chains to a trusted authority.
    let mut trust = settings(dir.path());
    trust.ca = tchat::tls::load_certificates(&made.cert).unwrap();
    let (net, mut rx) = start(trust);
    net.send(NetCommand::Connect(creds(server.addr, true)));
    match outcome(&mut rx).await {
        Outcome::Untrusted(Untrusted::Changed {
            server: s,
            old,
            new,
            ..
        }) => {
            assert_eq!(s, key);
            assert_eq!(old, remembered);
            assert_eq!(new, made.fingerprint);
        }
        other => panic!("expected CHANGED, got {other:?}"),
    }
    assert_eq!(
        std::fs::read_to_string(known_path(dir.path())).unwrap(),
        before
    );
    // The same certificate remembered: the CA and the file agree.
    let dir2 = tempfile::tempdir().unwrap();
    KnownServers::append(&known_path(dir2.path()), &key, &made.fingerprint).unwrap();
    let mut trust = settings(dir2.path());
    trust.ca = tchat::tls::load_certificates(&made.cert).unwrap();
    let (net, mut rx) = start(trust);
    net.send(NetCommand::Connect(creds(server.addr, true)));
    assert!(matches!(outcome(&mut rx).await, Outcome::Welcome(Some(_))));
    server.stop().await;
}

fn fingerprint_of(n: usize) -> String {
    let hex: Vec<String> = (0..32).map(|i| format!("{:02X}", (n + i) % 256)).collect();
    format!("SHA256:{}", hex.join(":"))
}

#[test]
fn clients_trusting_at_once_never_lose_or_corrupt_an_entry() {
    let dir = tempfile::tempdir().unwrap();
    let path = known_path(dir.path());
    const THREADS: usize = 8;
    const EACH: usize = 40;
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(THREADS));
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let path = path.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                let mut lines = Vec::new();
                for i in 0..EACH {
                    let server = format!("host{t}-{i}.example:7700");
                    let fp = fingerprint_of(t * EACH + i);
                    let line = KnownServers::append(&path, &server, &fp).expect("append");
                    lines.push((server, fp, line));
                }
                lines
            })
        })
        .collect();
    let written: Vec<(String, String, usize)> = workers
        .into_iter()
        .flat_map(|w| w.join().expect("thread"))
        .collect();
    let (known, problems) = KnownServers::load(&path).unwrap();
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(known.entries().len(), THREADS * EACH, "no entry lost");
    for (server, fp, line) in &written {
        let e = known.get(server).expect("entry kept");
        assert_eq!(&e.fingerprint, fp);
        assert_eq!(e.line, *line, "the line number reported for {server}");
    }
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        text.matches("# tchat known servers").count(),
        1,
        "one header"
    );

    // Two clients trusting different certificates for one new server at
    // once: exactly one is written, the other is refused.
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(THREADS));
    let results: Vec<bool> = (0..THREADS)
        .map(|t| {
            let path = path.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                KnownServers::append(&path, "contested.example:7700", &fingerprint_of(1000 + t))
                    .is_ok()
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| h.join().expect("thread"))
        .collect();
    assert_eq!(results.iter().filter(|ok| **ok).count(), 1, "{results:?}");
    let (_, problems) = KnownServers::load(&path).unwrap();
    assert!(problems.is_empty(), "{problems:?}");
}

//! Property tests against a running server: arbitrary byte streams and
//! arbitrary frame sequences from several clients.
//!
//! One in-process server per test function serves every case (fresh user
//! names per case), so the cases stay cheap. After each case: no server
//! thread panicked, every `id` sent got exactly one reply, and the
//! invariants hold: private messages only in accepted chats, a user is
//! online exactly while a session of theirs exists, and `msg_id` strictly
//! increases within each chat.

mod server_support;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use proptest::prelude::*;
use serde_json::{json, Value};
use server_support::{config, Client};

/// Panics on the server's own threads (its runtime's workers and the hub).
static SERVER_PANICS: AtomicUsize = AtomicUsize::new(0);
static NEXT_CASE: AtomicU64 = AtomicU64::new(1);

struct Harness {
    _rt: tokio::runtime::Runtime,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
}

fn install_panic_counter() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let name = std::thread::current().name().unwrap_or("").to_owned();
            if name.starts_with("srv-rt") || name == "tchat-hub" {
                SERVER_PANICS.fetch_add(1, Ordering::SeqCst);
            }
            previous(info);
        }));
    });
}

/// Starts a server on its own runtime (threads named `srv-rt`); the test
/// thread drives clients with `block_on` on a separate runtime.
fn harness() -> (Harness, tokio::runtime::Runtime) {
    install_panic_counter();
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("srv-rt")
        .enable_all()
        .build()
        .unwrap();
    let cfg = config(&dir.path().join("props.db"));
    let addr = rt.block_on(async { server_support::start(cfg).await.0 });
    let clients = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    (
        Harness {
            _rt: rt,
            addr,
            _dir: dir,
        },
        clients,
    )
}

fn fresh_case() -> u64 {
    NEXT_CASE.fetch_add(1, Ordering::SeqCst)
}

/// After a case: the server still answers a new client, and none of its
/// threads panicked.
async fn server_is_healthy(addr: SocketAddr, case: u64) {
    let (mut c, _) = Client::login(addr, &format!("h{case}"), true).await;
    let pong = c.request(json!({"type": "ping"})).await;
    assert_eq!(pong["type"], "pong");
    assert_eq!(
        SERVER_PANICS.load(Ordering::SeqCst),
        0,
        "a server thread panicked"
    );
}

// ----- arbitrary byte streams ----------------------------------------------

/// One piece of a client's stream.
#[derive(Debug, Clone)]
enum Piece {
    /// Any bytes (newlines included), so lines are cut anywhere.
    Bytes(Vec<u8>),
    /// A well-formed frame with an id, which must be answered once.
    Frame(Value),
}

fn frame_value() -> impl Strategy<Value = Value> {
    let chat = prop::sample::select(vec!["#public", "#nope", "@x", "@", "bad"]);
    prop_oneof![
        Just(json!({"type": "ping"})),
        Just(json!({"type": "who"})),
        Just(json!({"type": "set_status", "status": "busy"})),
        (chat.clone(), ".{0,20}").prop_map(|(c, t)| json!({"type": "send", "chat": c, "text": t})),
        chat.prop_map(|c| json!({"type": "history", "chat": c, "limit": 3})),
        Just(json!({"type": "frobnicate"})),
        Just(json!({"type": "send"})),
        Just(json!({"type": "login", "user": "nobody_here", "password": "wrong password"})),
    ]
}

fn piece() -> impl Strategy<Value = Piece> {
    prop_oneof![
        3 => prop::collection::vec(any::<u8>(), 0..200).prop_map(Piece::Bytes),
        2 => frame_value().prop_map(Piece::Frame),
    ]
}

/// Sends `pieces` as one stream; a `Frame` starts on a fresh line so it is
/// read whole. Returns the ids it must see answered.
async fn send_pieces(client: &mut Client, pieces: &[Piece], next_id: &mut u64) -> Vec<u64> {
    let mut ids = Vec::new();
    let mut stream = Vec::new();
    for p in pieces {
        match p {
            Piece::Bytes(b) => stream.extend_from_slice(b),
            Piece::Frame(v) => {
                let mut v = v.clone();
                v["id"] = json!(*next_id);
                ids.push(*next_id);
                *next_id += 1;
                stream.push(b'\n');
                stream.extend(serde_json::to_vec(&v).unwrap());
                stream.push(b'\n');
            }
        }
    }
    stream.push(b'\n');
    // Write in a few uneven chunks.
    for chunk in stream.chunks(97) {
        client.send_raw(chunk).await.unwrap();
    }
    ids
}

/// Reads until the reply to `sentinel`, counting replies per id; every
/// frame must be a JSON object with a `type`.
async fn drain_to(client: &mut Client, sentinel: u64) -> HashMap<u64, usize> {
    let mut counts = HashMap::new();
    for frame in std::mem::take(&mut client.events) {
        if let Some(id) = frame["id"].as_u64() {
            *counts.entry(id).or_insert(0) += 1;
        }
    }
    loop {
        let frame = client
            .recv()
            .await
            .unwrap_or_else(|| panic!("closed before the reply to {sentinel}"));
        assert!(frame["type"].is_string(), "{frame}");
        if let Some(id) = frame["id"].as_u64() {
            *counts.entry(id).or_insert(0) += 1;
            if id == sentinel {
                return counts;
            }
        } else {
            client.events.push(frame);
        }
    }
}

fn bytes_harness() -> &'static (Harness, std::sync::Mutex<tokio::runtime::Runtime>) {
    static H: OnceLock<(Harness, std::sync::Mutex<tokio::runtime::Runtime>)> = OnceLock::new();
    H.get_or_init(|| {
        let (h, c) = harness();
        (h, std::sync::Mutex::new(c))
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_byte_streams_from_several_clients_never_break_the_server(
        streams in prop::collection::vec((any::<bool>(), prop::collection::vec(piece(), 0..8)), 1..4),
    ) {
        let (h, clients) = bytes_harness();
        let rt = clients.lock().unwrap_or_else(|e| e.into_inner());
        let addr = h.addr;
        rt.block_on(async move {
            let case = fresh_case();
            let mut conns = Vec::new();
            for (i, (logged_in, pieces)) in streams.iter().enumerate() {
                let client = if *logged_in {
                    Client::login(addr, &format!("b{case}x{i}"), true).await.0
                } else {
                    Client::connect(addr).await
                };
                conns.push((client, pieces));
            }
            let mut next_id = 1_000_000u64;
            let mut expected = Vec::new();
            for (client, pieces) in conns.iter_mut() {
                expected.push(send_pieces(client, pieces, &mut next_id).await);
            }
            for ((client, _), ids) in conns.iter_mut().zip(expected) {
                let sentinel = next_id;
                next_id += 1;
                client.send(&json!({"type": "ping", "id": sentinel})).await;
                let counts = drain_to(client, sentinel).await;
                for id in ids {
                    assert_eq!(counts.get(&id), Some(&1), "id {id} answered once: {counts:?}");
                }
                for (id, n) in &counts {
                    // Garbage may carry ids of its own, but never twice.
                    assert_eq!(*n, 1, "id {id} answered {n} times");
                }
            }
            server_is_healthy(addr, case).await;
        });
    }
}

// ----- arbitrary frame sequences -------------------------------------------

const CLIENTS: usize = 4;

#[derive(Debug, Clone)]
enum Op {
    SendPublic(String),
    SendPrivate(usize),
    RequestChat(usize),
    /// Both ask each other: the chat opens whichever request lands first.
    Mutual(usize),
    Accept(usize),
    Reject(usize),
    Cancel(usize),
    End(usize),
    History(usize),
    MarkRead(u64),
    Status(&'static str),
    Who,
    Garbage(Vec<u8>),
    /// Drop the connection (after collecting its replies).
    Drop,
    /// Log out politely.
    Logout,
    /// Open another session for the same user.
    Reconnect,
}

fn op() -> impl Strategy<Value = Op> {
    let other = 0..CLIENTS;
    prop_oneof![
        3 => "[a-z ]{1,12}".prop_map(Op::SendPublic),
        6 => other.clone().prop_map(Op::SendPrivate),
        3 => other.clone().prop_map(Op::Mutual),
        3 => other.clone().prop_map(Op::RequestChat),
        3 => other.clone().prop_map(Op::Accept),
        1 => other.clone().prop_map(Op::Reject),
        1 => other.clone().prop_map(Op::Cancel),
        1 => other.clone().prop_map(Op::End),
        1 => other.prop_map(Op::History),
        1 => (0u64..1_000_000).prop_map(Op::MarkRead),
        1 => prop::sample::select(vec!["available", "away", "busy"]).prop_map(Op::Status),
        1 => Just(Op::Who),
        1 => prop::collection::vec(any::<u8>(), 0..40).prop_map(Op::Garbage),
        1 => Just(Op::Drop),
        1 => Just(Op::Logout),
        1 => Just(Op::Reconnect),
    ]
}

/// Events one session saw, checked as they arrive.
#[derive(Default)]
struct Seen {
    /// Private chats this session knows as open, by partner.
    open: BTreeSet<String>,
    /// Newest msg_id per chat key.
    last_id: BTreeMap<String, u64>,
}

impl Seen {
    fn observe(&mut self, me: &str, frame: &Value) {
        match frame["type"].as_str() {
            Some("welcome") => {
                for c in frame["chats"].as_array().unwrap() {
                    self.open.insert(c["user"].as_str().unwrap().to_owned());
                }
            }
            Some("chat_opened") => {
                self.open.insert(frame["user"].as_str().unwrap().to_owned());
            }
            Some("chat_ended") => {
                self.open.remove(frame["user"].as_str().unwrap());
            }
            Some("message") => {
                let chat = frame["chat"].as_str().unwrap().to_owned();
                if let Some(partner) = chat.strip_prefix('@') {
                    assert!(
                        self.open.contains(partner),
                        "{me}: a private message in a chat that is not open: {frame}"
                    );
                    // Only the two members write in it, each under their name.
                    let from = frame["from"].as_str().unwrap();
                    assert!(from == partner || from == me, "{me}: {frame}");
                }
                let id = frame["msg_id"].as_u64().unwrap();
                let last = self.last_id.insert(chat.clone(), id);
                assert!(
                    last.is_none_or(|l| l < id),
                    "{me}: msg_id {id} after {last:?} in {chat}"
                );
            }
            _ => {}
        }
    }
}

struct Session {
    client: Client,
    user: usize,
    /// Ids sent and not yet accounted for.
    outstanding: Vec<u64>,
    seen: Seen,
}

fn frames_harness() -> &'static (Harness, std::sync::Mutex<tokio::runtime::Runtime>) {
    static H: OnceLock<(Harness, std::sync::Mutex<tokio::runtime::Runtime>)> = OnceLock::new();
    H.get_or_init(|| {
        let (h, c) = harness();
        (h, std::sync::Mutex::new(c))
    })
}

/// Collects every reply of `s` up to a fresh sentinel and checks that each
/// outstanding id was answered once, and that private `ok`s only came for
/// open chats.
async fn settle(s: &mut Session, names: &[String], next_id: &mut u64) {
    let sentinel = *next_id;
    *next_id += 1;
    s.client
        .send(&json!({"type": "ping", "id": sentinel}))
        .await;
    let me = names[s.user].clone();
    let mut counts: HashMap<u64, usize> = HashMap::new();
    loop {
        let frame = s
            .client
            .recv()
            .await
            .unwrap_or_else(|| panic!("{me}: closed before the reply to {sentinel}"));
        s.seen.observe(&me, &frame);
        if let Some(id) = frame["id"].as_u64() {
            *counts.entry(id).or_insert(0) += 1;
            if id == sentinel {
                break;
            }
        }
    }
    for id in s.outstanding.drain(..) {
        assert_eq!(counts.get(&id), Some(&1), "{me}: id {id} answered once");
    }
    for (id, n) in counts {
        assert_eq!(n, 1, "{me}: id {id} answered {n} times");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_frame_sequences_keep_the_invariants(
        ops in prop::collection::vec((0..CLIENTS, op()), 1..40),
    ) {
        let (h, clients) = frames_harness();
        let rt = clients.lock().unwrap_or_else(|e| e.into_inner());
        let addr = h.addr;
        rt.block_on(async move {
            let case = fresh_case();
            let names: Vec<String> = (0..CLIENTS).map(|i| format!("f{case}u{i}")).collect();
            let mut sessions: Vec<Option<Session>> = Vec::new();
            for (i, name) in names.iter().enumerate() {
                let (client, welcome) = Client::login(addr, name, true).await;
                let mut seen = Seen::default();
                seen.observe(name, &welcome);
                sessions.push(Some(Session { client, user: i, outstanding: Vec::new(), seen }));
            }
            let mut next_id = 1u64;
            for (who, op) in ops {
                if sessions[who].is_none() {
                    let (client, welcome) = Client::login(addr, &names[who], false).await;
                    let mut seen = Seen::default();
                    seen.observe(&names[who], &welcome);
                    sessions[who] = Some(Session { client, user: who, outstanding: Vec::new(), seen });
                }
                if let Op::Mutual(j) = op {
                    if j != who {
                        if let Some(peer) = sessions[j].as_mut() {
                            let id = next_id;
                            next_id += 1;
                            peer.client
                                .send(&json!({"type": "request_chat", "id": id, "user": names[who]}))
                                .await;
                            peer.outstanding.push(id);
                        }
                    }
                }
                let s = sessions[who].as_mut().unwrap();
                let frame = match op {
                    Op::SendPublic(text) => json!({"type": "send", "chat": "#public", "text": text}),
                    Op::SendPrivate(j) => json!({"type": "send", "chat": format!("@{}", names[j]), "text": "psst"}),
                    Op::RequestChat(j) | Op::Mutual(j) => json!({"type": "request_chat", "user": names[j]}),
                    Op::Accept(j) => json!({"type": "accept", "user": names[j]}),
                    Op::Reject(j) => json!({"type": "reject", "user": names[j]}),
                    Op::Cancel(j) => json!({"type": "cancel_request", "user": names[j]}),
                    Op::End(j) => json!({"type": "end_chat", "user": names[j]}),
                    Op::History(j) => json!({"type": "history", "chat": format!("@{}", names[j]), "limit": 5}),
                    Op::MarkRead(m) => json!({"type": "mark_read", "chat": "#public", "msg_id": m}),
                    Op::Status(st) => json!({"type": "set_status", "status": st}),
                    Op::Who => json!({"type": "who"}),
                    Op::Garbage(mut bytes) => {
                        bytes.retain(|b| *b != b'\n');
                        bytes.push(b'\n');
                        s.client.send_raw(&bytes).await.unwrap();
                        continue;
                    }
                    Op::Drop => {
                        let mut s = sessions[who].take().unwrap();
                        settle(&mut s, &names, &mut next_id).await;
                        continue;
                    }
                    Op::Logout => {
                        let mut s = sessions[who].take().unwrap();
                        settle(&mut s, &names, &mut next_id).await;
                        let bye = s.client.request(json!({"type": "logout"})).await;
                        assert_eq!(bye["type"], "ok", "{bye}");
                        // The server closes the connection after the ok.
                        while s.client.recv().await.is_some() {}
                        continue;
                    }
                    Op::Reconnect => {
                        // A second session of the same user, for a while.
                        let (mut extra, welcome) = Client::login(addr, &names[who], false).await;
                        assert!(
                            welcome["online"].as_array().unwrap().iter().any(|u| u["user"] == names[who]),
                            "{welcome}"
                        );
                        extra.request(json!({"type": "ping"})).await;
                        continue;
                    }
                };
                let id = next_id;
                next_id += 1;
                let mut frame = frame;
                frame["id"] = json!(id);
                s.client.send(&frame).await;
                s.outstanding.push(id);
            }
            for s in sessions.iter_mut().flatten() {
                settle(s, &names, &mut next_id).await;
            }

            // Online iff a session exists: ask from a fresh observer once the
            // dropped connections have been noticed.
            let connected: BTreeSet<&str> = sessions
                .iter()
                .flatten()
                .map(|s| names[s.user].as_str())
                .collect();
            let (mut observer, _) = Client::login(addr, &format!("o{case}"), true).await;
            let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
            loop {
                let who = observer.request(json!({"type": "who"})).await;
                let online: BTreeSet<String> = who["online"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter_map(|u| u["user"].as_str())
                    .filter(|u| names.iter().any(|n| n == u))
                    .map(str::to_owned)
                    .collect();
                let want: BTreeSet<String> = connected.iter().map(|s| s.to_string()).collect();
                if online == want {
                    break;
                }
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "online {online:?}, but sessions exist for {want:?}"
                );
                // Wait for the presence change that must come.
                let _ = tokio::time::timeout(
                    Duration::from_millis(200),
                    observer.event(|f| f["type"] == "presence"),
                )
                .await;
            }
            server_is_healthy(addr, case).await;
        });
    }
}

//! Several nodes on PostgreSQL and NATS: every guarantee of the contract
//! holds for the cluster as a whole, and the faults of one part (a node
//! killed, the bus restarted) lose nothing.

mod cluster_support;
mod common;
mod file_support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use cluster_support::*;
use common::*;
use serde_json::json;

/// Reads `c`'s `#public` messages until every id in `expected` has come,
/// checking that they come in strictly increasing msg_id order.
async fn public_messages_until(c: &mut TestClient, expected: &BTreeSet<u64>, who: &str) {
    let mut seen = BTreeSet::new();
    let mut last = 0;
    let deadline = Instant::now() + Duration::from_secs(20);
    while !expected.is_subset(&seen) {
        let left = deadline.saturating_duration_since(Instant::now());
        let Some(m) = c.try_recv(left).await else {
            panic!(
                "{who} is missing {:?} (got {seen:?})",
                expected.difference(&seen).collect::<Vec<_>>()
            );
        };
        if m["type"] != "message" || m["chat"] != "#public" {
            continue;
        }
        let id = m["msg_id"].as_u64().expect("msg_id");
        assert!(id > last, "{who} got {id} after {last}: out of order");
        last = id;
        seen.insert(id);
    }
}

/// The msg_ids of `#public`'s newest 200 messages, as `c` reads them.
async fn public_history(c: &mut TestClient) -> Vec<u64> {
    let page = c
        .request(json!({"type": "history", "chat": "#public", "limit": 200}))
        .await;
    page["messages"]
        .as_array()
        .unwrap_or_else(|| panic!("a history page: {page}"))
        .iter()
        .map(|m| m["msg_id"].as_u64().expect("msg_id"))
        .collect()
}

#[tokio::test]
async fn every_receiver_on_every_node_gets_every_message_in_order() {
    let mut cluster = Cluster::new();
    let nodes = [
        cluster.node().await,
        cluster.node().await,
        cluster.node().await,
    ];
    let mut receivers = Vec::new();
    let mut senders = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        receivers.push(node.user(&format!("reader{i}")).await);
        senders.push(node.user(&format!("writer{i}")).await);
    }
    let tasks: Vec<_> = senders
        .into_iter()
        .enumerate()
        .map(|(i, mut s)| {
            tokio::spawn(async move {
                let mut acked = Vec::new();
                for n in 0..40 {
                    acked.push(s.say_id("#public", &format!("{i}:{n}")).await);
                }
                acked
            })
        })
        .collect();
    let mut expected = BTreeSet::new();
    for t in tasks {
        let acked = t.await.expect("sender");
        assert!(acked.windows(2).all(|w| w[0] < w[1]), "acks increase");
        expected.extend(acked);
    }
    assert_eq!(expected.len(), 120);
    for (i, r) in receivers.iter_mut().enumerate() {
        public_messages_until(r, &expected, &format!("reader{i}")).await;
    }
    // History from any node has them all, in the same order.
    let mut late = nodes[2].session("reader0").await;
    let ids = public_history(&mut late).await;
    assert_eq!(ids, expected.iter().copied().collect::<Vec<_>>());
}

#[tokio::test]
async fn presence_is_per_user_across_nodes() {
    let mut cluster = Cluster::new();
    let (a, b) = (cluster.node().await, cluster.node().await);
    let mut alice1 = a.user("alice").await;
    let mut bob = b.user("bob").await;
    let online: Vec<&str> = bob.welcome["online"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["user"].as_str().unwrap())
        .collect();
    assert!(online.contains(&"alice"), "bob's welcome: {}", bob.welcome);
    alice1
        .expect_event_where("bob online", |v| {
            v["type"] == "presence" && v["user"] == "bob" && v["online"] == true
        })
        .await;
    // A second session of alice on the other node: alice stays online
    // while either is there.
    let alice2 = b.session("alice").await;
    alice1.logout().await;
    bob.expect_silence_for(Duration::from_millis(500)).await;
    let who = bob.request(json!({"type": "who"})).await;
    assert!(
        who["online"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["user"] == "alice"),
        "{who}"
    );
    alice2.logout().await;
    bob.expect_event_where("alice offline", |v| {
        v["type"] == "presence" && v["user"] == "alice" && v["online"] == false
    })
    .await;
}

#[tokio::test]
async fn sessions_of_one_account_on_different_nodes_all_get_every_event() {
    let mut cluster = Cluster::new();
    let (a, b) = (cluster.node().await, cluster.node().await);
    let mut carol_a = a.user("carol").await;
    let mut carol_b = b.session("carol").await;
    let mut dave = b.user("dave").await;
    carol_a.settle().await;
    carol_b.settle().await;
    // A private chat asked for on node b reaches carol on both nodes.
    dave.ok(json!({"type": "request_chat", "user": "carol"}))
        .await;
    for c in [&mut carol_a, &mut carol_b] {
        c.expect_event("chat_request").await;
    }
    carol_a.ok(json!({"type": "accept", "user": "dave"})).await;
    dave.expect_event("chat_opened").await;
    carol_b.expect_event("chat_opened").await;
    let id = dave.say_id("@carol", "to both of you").await;
    for c in [&mut carol_a, &mut carol_b] {
        let m = c
            .expect_event_where("dave's message", |v| v["type"] == "message")
            .await;
        assert_eq!(m["msg_id"], id, "{m}");
        assert_eq!(m["chat"], "@dave", "{m}");
    }
}

#[tokio::test]
async fn a_guesser_gains_nothing_by_switching_nodes() {
    let mut cluster = Cluster::new();
    let (a, b) = (cluster.node().await, cluster.node().await);
    a.user("erin").await.logout().await;
    for _ in 0..5 {
        let mut c = a.client().await;
        c.error(
            json!({"type": "login", "user": "erin", "password": "wrong guess"}),
            "bad_credentials",
        )
        .await;
    }
    let mut c = b.client().await;
    let e = c
        .error(
            json!({"type": "login", "user": "erin", "password": PASSWORD}),
            "locked_out",
        )
        .await;
    assert!(e["retry_after_ms"].as_u64().unwrap_or(0) > 0, "{e}");
}

#[tokio::test]
async fn the_session_limit_of_an_account_counts_every_node() {
    let mut cluster = Cluster::new();
    let limit = ["--max-sessions-per-account", "3"];
    let (a, b) = (
        cluster.node_with(&limit).await,
        cluster.node_with(&limit).await,
    );
    let _one = a.user("frank").await;
    let _two = b.session("frank").await;
    let mut three = b.session("frank").await;
    let mut c = a.client().await;
    let e = c
        .error(
            json!({"type": "login", "user": "frank", "password": PASSWORD}),
            "rate_limited",
        )
        .await;
    assert!(e["message"].as_str().unwrap_or("").contains('3'), "{e}");
    // One session fewer anywhere makes room anywhere.
    three.request(json!({"type": "logout"})).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut c = a.client().await;
        let reply = c
            .request(json!({"type": "login", "user": "frank", "password": PASSWORD}))
            .await;
        if reply["type"] == "welcome" {
            break;
        }
        assert!(Instant::now() < deadline, "still refused: {reply}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn groups_made_on_one_node_work_on_another() {
    let mut cluster = Cluster::new();
    let (a, b) = (cluster.node().await, cluster.node().await);
    let mut owner = a.user("owner").await;
    let mut guest = b.user("guest").await;
    owner
        .ok(json!({"type": "create_group", "chat": "#ops"}))
        .await;
    guest.ok(json!({"type": "join", "chat": "#ops"})).await;
    owner
        .expect_event_where("guest joined", |v| {
            v["type"] == "member_joined" && v["user"] == "guest"
        })
        .await;
    let id = guest.say_id("#ops", "hello ops").await;
    let m = owner
        .expect_event_where("message in #ops", |v| {
            v["type"] == "message" && v["chat"] == "#ops"
        })
        .await;
    assert_eq!(m["msg_id"], id);
    // The owner's kick, on node a, takes effect for the guest on node b.
    owner
        .ok(json!({"type": "kick_member", "chat": "#ops", "user": "guest"}))
        .await;
    guest
        .expect_event_where("removed from #ops", |v| {
            v["type"] == "group_left" && v["chat"] == "#ops"
        })
        .await;
    guest
        .error(
            json!({"type": "send", "chat": "#ops", "text": "still here?"}),
            "not_member",
        )
        .await;
}

#[tokio::test]
async fn a_killed_node_s_users_go_offline_and_nothing_acknowledged_is_lost() {
    let mut cluster = Cluster::new();
    let (a, b) = (cluster.node().await, cluster.node().await);
    let mut watcher = b.user("watcher").await;
    let mut talker = a.user("talker").await;
    watcher
        .expect_event_where("talker online", |v| {
            v["type"] == "presence" && v["user"] == "talker" && v["online"] == true
        })
        .await;
    let mut acked = Vec::new();
    for n in 0..30 {
        acked.push(
            talker
                .say_id("#public", &format!("before the crash {n}"))
                .await,
        );
    }
    a.kill().await;
    let killed = Instant::now();
    watcher
        .expect_event_where("talker offline", |v| {
            v["type"] == "presence" && v["user"] == "talker" && v["online"] == false
        })
        .await
        .to_string();
    // expect_event_where waits RECV_TIMEOUT (5 s) at most; allow for
    // one more round of it.
    assert!(
        killed.elapsed() < NODE_SILENCE_LIMIT,
        "{:?}",
        killed.elapsed()
    );
    // The talker fails over to node b: everything acknowledged is there.
    let mut back = b.session("talker").await;
    let ids: BTreeSet<u64> = public_history(&mut back).await.into_iter().collect();
    for id in acked {
        assert!(ids.contains(&id), "acknowledged {id} lost: {ids:?}");
    }
    back.say("#public", "back on node b").await;
}

#[tokio::test]
async fn a_restarted_bus_loses_nothing() {
    let mut cluster = Cluster::new();
    let (a, b) = (cluster.node().await, cluster.node().await);
    let mut reader = b.user("reader").await;
    let mut writer = a.user("writer").await;
    reader.settle().await;
    let mut expected = BTreeSet::new();
    for n in 0..10 {
        expected.insert(writer.say_id("#public", &format!("bus up {n}")).await);
    }
    cluster.bus.kill();
    for n in 0..10 {
        expected.insert(writer.say_id("#public", &format!("bus down {n}")).await);
    }
    // Without the bus the other node still hears of every round within
    // its tick.
    public_messages_until(&mut reader, &expected, "reader").await;
    cluster.bus.resume();
    let mut after = BTreeSet::new();
    for n in 0..10 {
        after.insert(writer.say_id("#public", &format!("bus back {n}")).await);
    }
    public_messages_until(&mut reader, &after, "reader").await;
}

#[tokio::test]
async fn a_bus_that_wants_a_password_is_joined_and_the_password_never_shown() {
    let db = common::pg_support::fresh_database().to_string();
    let bus = common::bus_support::NatsServer::start_with_password("tchat", "s3cret-bus");
    let dir = tempfile::tempdir().unwrap();
    let with_password = format!("nats://tchat:s3cret-bus@127.0.0.1:{}", bus.port);
    let a = Node::start(&db, Some(&with_password), dir.path().join("files"), 1, &dir).await;
    let b = Node::start(&db, Some(&with_password), dir.path().join("files"), 2, &dir).await;
    let mut reader = b.user("reader").await;
    let mut writer = a.user("writer").await;
    reader.settle().await;
    let id = writer.say_id("#public", "over a guarded bus").await;
    let m = reader
        .expect_event_where("the message", |v| v["type"] == "message")
        .await;
    assert_eq!(m["msg_id"], id);
    for node in [&a, &b] {
        let log = node.log_text();
        assert!(log.contains("joined the bus"), "{log}");
        assert!(
            !log.contains("s3cret-bus"),
            "the bus password in a log: {log}"
        );
    }
    // A wrong password: the node refuses to start, saying so without it.
    let wrong = format!("nats://tchat:wrong-pw@127.0.0.1:{}", bus.port);
    let refused = Node::try_start(&db, Some(&wrong), dir.path().join("files"), 3, &dir).await;
    let log = match refused {
        Ok(_) => panic!("a node joined with a wrong bus password"),
        Err(log) => log,
    };
    assert!(log.contains("cannot connect to the bus"), "{log}");
    assert!(!log.contains("wrong-pw"), "{log}");
}

#[tokio::test]
async fn a_file_sent_through_one_node_resumes_and_downloads_through_another() {
    use file_support::*;
    let mut cluster = Cluster::new();
    let (a, b) = (cluster.node().await, cluster.node().await);
    let mut alice = a.user("alice").await;
    let mut bob = b.user("bob").await;
    bob.settle().await;
    let bytes = data(300_000, 7);
    let frame = offer_req_with("#public", "log.txt", &bytes, "text/plain", "the log");
    let file_id = offer(&mut alice, frame.clone()).await;
    send_chunks(&mut alice, &file_id, &bytes[..100_000], 0).await;
    alice.reset();
    // Alice fails over to node b and resumes where node a left off.
    let mut alice = b.session("alice").await;
    let (again, offset) = accepted(&mut alice, frame).await;
    assert_eq!((again.as_str(), offset), (file_id.as_str(), 100_000));
    send_chunks(&mut alice, &file_id, &bytes, 100_000).await;
    let ok = done(&mut alice, &file_id).await;
    let m = bob.expect_message("#public").await;
    assert_eq!(m["msg_id"], ok["msg_id"]);
    // Read back through either node, byte for byte.
    download(&mut bob, &file_id, &bytes).await;
    let mut carol = a.user("carol").await;
    download(&mut carol, &file_id, &bytes).await;
}

#[tokio::test]
async fn a_second_node_without_a_bus_is_refused() {
    let mut cluster = Cluster::new();
    let _a = cluster.node().await;
    let files = cluster.files_dir();
    let refused = Node::try_start(&cluster.db, None, files, 99, &cluster.dir).await;
    let log = match refused {
        Ok(_) => panic!("a node without --bus started beside a cluster node"),
        Err(log) => log,
    };
    assert!(log.contains("--bus"), "the refusal says what to do: {log}");
}

#[tokio::test]
async fn a_restarted_database_answers_internal_meanwhile_and_loses_nothing() {
    let pg = tokio::task::spawn_blocking(common::pg_support::OwnPostgres::start)
        .await
        .expect("start PostgreSQL");
    let bus = common::bus_support::NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    let db = pg.url().to_string();
    let a = Node::start(&db, Some(&bus.url()), dir.path().join("files"), 1, &dir).await;
    let b = Node::start(&db, Some(&bus.url()), dir.path().join("files"), 2, &dir).await;
    let mut writer = a.user("writer").await;
    let mut reader = b.user("reader").await;
    reader.settle().await;
    let mut acked = BTreeSet::new();
    for n in 0..10 {
        acked.insert(writer.say_id("#public", &format!("before {n}")).await);
    }

    let mut pg = tokio::task::spawn_blocking(move || {
        let mut pg = pg;
        pg.stop();
        pg
    })
    .await
    .unwrap();
    // While it is down, a send is answered at once, with `internal`.
    let asked = Instant::now();
    writer
        .error(
            json!({"type": "send", "chat": "#public", "text": "while it is down"}),
            "internal",
        )
        .await;
    assert!(
        asked.elapsed() < Duration::from_secs(3),
        "{:?}",
        asked.elapsed()
    );

    pg = tokio::task::spawn_blocking(move || {
        pg.resume();
        pg
    })
    .await
    .unwrap();
    // Service resumes by itself, without restarting a node.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let reply = writer
            .request(json!({"type": "send", "chat": "#public", "text": "back?"}))
            .await;
        if reply["type"] == "ok" {
            acked.insert(reply["msg_id"].as_u64().unwrap());
            break;
        }
        assert_eq!(reply["code"], "internal", "{reply}");
        assert!(
            Instant::now() < deadline,
            "no service 20 s after the restart"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for n in 0..10 {
        acked.insert(writer.say_id("#public", &format!("after {n}")).await);
    }
    // Every acknowledged message reaches the reader on the other node, in
    // order, and is in the history.
    public_messages_until(&mut reader, &acked, "reader").await;
    let ids: BTreeSet<u64> = public_history(&mut reader).await.into_iter().collect();
    assert!(
        acked.is_subset(&ids),
        "history {ids:?} lacks some of {acked:?}"
    );
    drop(pg);
}

//! §10 limits and abuse, and the idle timeout of §8.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{json, Value};
use tokio::net::TcpSocket;

fn batch(frames: impl IntoIterator<Item = Value>) -> Vec<u8> {
    let mut out = Vec::new();
    for f in frames {
        out.extend(serde_json::to_vec(&f).unwrap());
        out.push(b'\n');
    }
    out
}

#[tokio::test]
async fn frames_over_the_rate_are_refused_and_not_acted_on() {
    let server = TestServer::start_with(|c| c.max_msg_rate = 20).await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;

    // 60 sends at once: the burst of 40 (plus whatever refills meanwhile)
    // goes through, the rest is refused.
    let frames = (0..60)
        .map(|i| json!({"type": "send", "id": i, "chat": "#public", "text": format!("n{i}")}));
    alice.send_raw(&batch(frames)).await;
    let mut accepted = Vec::new();
    let mut limited = 0;
    let mut retry_after = 0;
    for i in 0..60u64 {
        let r = alice.reply_to(i).await;
        match r["type"].as_str() {
            Some("ok") => accepted.push(r["msg_id"].as_u64().unwrap()),
            Some("error") => {
                assert_error(&r, "rate_limited", &json!({"id": i}));
                let ms = r["retry_after_ms"].as_u64().expect("retry_after_ms");
                assert!(ms > 0 && ms <= 60_000, "{r}");
                retry_after = retry_after.max(ms);
                limited += 1;
            }
            _ => panic!("unexpected reply {r}"),
        }
    }
    // The burst is 40 frames, one of which was the register.
    assert!(
        accepted.len() >= 39,
        "the burst is allowed: {}",
        accepted.len()
    );
    assert!(limited > 0, "some frames are rate limited");

    // Exactly the accepted messages were delivered.
    let mut delivered = Vec::new();
    for _ in 0..accepted.len() {
        delivered.push(
            bob.expect_message("#public").await["msg_id"]
                .as_u64()
                .unwrap(),
        );
    }
    assert_eq!(delivered, accepted);
    bob.expect_silence().await;
    let h = bob
        .request(json!({"type": "history", "chat": "#public", "limit": 200}))
        .await;
    assert_eq!(h["messages"].as_array().unwrap().len(), accepted.len());

    // The connection survives; after the advertised wait it works again.
    tokio::time::sleep(Duration::from_millis(retry_after)).await;
    alice.assert_open().await;
}

#[tokio::test]
async fn rate_limited_pings_get_an_error_instead_of_a_pong() {
    let server = TestServer::start_with(|c| c.max_msg_rate = 20).await;
    let mut alice = server.user("alice").await;
    alice
        .send_raw(&batch((0..60).map(|i| json!({"type": "ping", "id": i}))))
        .await;
    let mut pongs = 0;
    let mut limited = 0;
    for i in 0..60u64 {
        let r = alice.reply_to(i).await;
        if r["type"] == "pong" {
            pongs += 1;
        } else {
            assert_error(&r, "rate_limited", &json!({"id": i}));
            assert!(r["retry_after_ms"].as_u64().is_some(), "{r}");
            assert!(r.get("fatal").is_none_or(|f| f == false), "not fatal: {r}");
            limited += 1;
        }
    }
    assert!(
        pongs >= 39 && limited > 0,
        "pongs {pongs}, limited {limited}"
    );
    alice.expect_silence().await;
}

#[tokio::test]
async fn a_flooding_session_is_closed_with_a_fatal_error() {
    let server = TestServer::start_with(|c| c.max_msg_rate = 20).await;
    let mut bob = server.user("bob").await;
    let mut flooder = server.user("alice").await;
    bob.expect_event("presence").await;

    // Far more than 5 × 20 frames per second until the server hangs up.
    // Pings without id earn no pong, only rate_limited errors once over the
    // limit; the pump stops as soon as the fatal error shows up.
    let line = b"{\"type\":\"ping\"}\n".repeat(50);
    let mut fatal = None;
    'pump: for _ in 0..200 {
        if !flooder.try_send_raw(&line).await {
            break;
        }
        while let Some(f) = flooder.try_recv(std::time::Duration::from_millis(5)).await {
            if f["fatal"] == true {
                fatal = Some(f);
                break 'pump;
            }
            assert_error(&f, "rate_limited", &json!({}));
        }
    }
    let rest = flooder.expect_closed().await;
    let fatal = fatal
        .or_else(|| rest.iter().find(|f| f["fatal"] == true).cloned())
        .unwrap_or_else(|| panic!("told why before the close: {rest:?}"));
    assert_eq!(fatal["type"], "error");
    assert_eq!(fatal["code"], "rate_limited", "{fatal}");
    let p = bob.expect_event("presence").await;
    assert_eq!(p["user"], "alice");
    assert_eq!(p["online"], false);
    bob.assert_open().await;
}

#[tokio::test]
async fn a_client_that_stops_reading_is_closed_without_slowing_others() {
    let server = TestServer::start_with(|c| {
        c.max_msg_rate = 0;
        c.outgoing_limit_bytes = 256 * 1024;
    })
    .await;
    // The staller's receive buffer is tiny so its queue fills quickly.
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket.connect(server.addr).await.unwrap();
    let mut staller = TestClient::from_stream(stream).await;
    staller.register("staller").await;
    let mut observer = server.user("observer").await;
    let mut flooder = server.user("flooder").await;
    assert_eq!(observer.expect_event("presence").await["user"], "flooder");

    let text = "x".repeat(4000);
    let mut sent = 0u64;
    let mut staller_gone = false;
    while !staller_gone {
        assert!(sent < 20_000, "the stalled client was never disconnected");
        let frames = (0..10)
            .map(|i| json!({"type": "send", "id": sent + i, "chat": "#public", "text": text}));
        flooder.send_raw(&batch(frames)).await;
        for i in 0..10 {
            assert_eq!(flooder.reply_to(sent + i).await["type"], "ok");
        }
        flooder.discard_buffered();
        // Every message reaches the observer while the staller is stuck.
        for _ in 0..10 {
            let f = observer.recv().await;
            match f["type"].as_str() {
                Some("message") => {}
                Some("presence") if f["user"] == "staller" && f["online"] == false => {
                    staller_gone = true;
                    observer.expect_message("#public").await;
                }
                _ => panic!("unexpected frame {f}"),
            }
        }
        sent += 10;
    }
    // Deliveries go on after the staller was dropped.
    let id = flooder.say_id("#public", "after").await;
    assert_eq!(observer.expect_message("#public").await["msg_id"], id);

    // The staller's socket, read at last, holds whole frames only and ends
    // with the reason it was dropped.
    let frames = staller.expect_closed_within(Duration::from_secs(10)).await;
    let last = frames.last().expect("frames before the close");
    assert_eq!(last["type"], "error", "told why: {last}");
    assert_eq!(last["fatal"], true, "{last}");
}

#[tokio::test]
async fn idle_connections_are_closed_and_pings_keep_them_alive() {
    let server = TestServer::start_with(|c| c.idle_timeout = Duration::from_millis(600)).await;
    let mut idle = server.user("idle").await;
    let mut busy = server.user("busy").await;
    let closed = tokio::spawn(async move { idle.expect_closed().await });
    // The busy client pings every 200 ms; the idle one says nothing.
    let mut pings = 0;
    while !closed.is_finished() {
        assert!(pings < 25, "the idle connection was never closed");
        busy.assert_open().await;
        pings += 1;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        pings >= 3,
        "closed after the idle time, not at once: {pings}"
    );
    let frames = closed.await.unwrap();
    let errors: Vec<&Value> = frames.iter().filter(|f| f["type"] == "error").collect();
    assert_eq!(
        errors.len(),
        1,
        "one fatal error, then the close: {frames:?}"
    );
    // §15: the dedicated code for a silent connection.
    assert_error(errors[0], "idle_timeout", &json!({}));
    assert_eq!(errors[0]["fatal"], true);
    let p = busy.expect_event("presence").await;
    assert_eq!(p["user"], "idle");
    assert_eq!(p["online"], false);
    busy.assert_open().await;
}

/// The timeouts and rates the other tests shorten must default to the
/// contract's numbers.
#[test]
fn server_defaults_match_the_contract() {
    let config = tchat::server::ServerConfig::new(
        "127.0.0.1:0".parse().unwrap(),
        std::path::PathBuf::from("unused.db"),
    );
    assert_eq!(config.login_timeout, Duration::from_secs(30));
    assert_eq!(config.idle_timeout, Duration::from_secs(90));
    assert_eq!(config.max_msg_rate, 20);
}

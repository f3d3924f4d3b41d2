//! The real main loop (`tchat::client::run`) on a `TestBackend`: events go in
//! through the channel, commands come out through `Effects`, the screen is
//! drawn after each burst, and Ctrl-C ends the loop.

mod client_support;

use client_support::*;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use tchat::client::{Credentials, Effects, Event, NetEvent};
use tchat::protocol::{decode_server_frame, ClientFrame};

#[derive(Default)]
struct Recorder {
    connects: Vec<Credentials>,
    trusted: Vec<(String, String)>,
    frames: Vec<ClientFrame>,
    bells: usize,
}

impl Effects for Recorder {
    fn connect(&mut self, creds: Credentials) {
        self.connects.push(creds);
    }
    fn send(&mut self, frame: ClientFrame) {
        self.frames.push(frame);
    }
    fn trust(&mut self, server: String, fingerprint: String) {
        self.trusted.push((server, fingerprint));
    }
    fn bell(&mut self) {
        self.bells += 1;
    }
}

fn key(c: KeyCode, m: KeyModifiers) -> Event {
    Event::Key(KeyEvent::new(c, m))
}

fn server(json: &str) -> Event {
    Event::Net(NetEvent::Frame(
        decode_server_frame(json.as_bytes())
            .expect("frame")
            .expect("known"),
    ))
}

#[tokio::test]
async fn the_loop_logs_in_draws_messages_and_quits_on_ctrl_c() {
    let mut app = new_app();
    let mut term = Terminal::new(TestBackend::new(80, 24)).expect("terminal");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    for c in "alice".chars() {
        tx.send(key(KeyCode::Char(c), KeyModifiers::NONE)).unwrap();
    }
    tx.send(key(KeyCode::Tab, KeyModifiers::NONE)).unwrap();
    for c in "correct horse".chars() {
        tx.send(key(KeyCode::Char(c), KeyModifiers::NONE)).unwrap();
    }
    tx.send(key(KeyCode::Enter, KeyModifiers::NONE)).unwrap();
    tx.send(server(
        &serde_json::json!({"type":"welcome","id":1,"user":"alice","role":"user","last_msg_id":0,
            "online":[],"chats":[],"public_unread":0,"requests_in":[],"requests_out":[]})
        .to_string(),
    ))
    .unwrap();
    tx.send(server(&msg_json(
        "#public",
        1,
        T0,
        "Bob",
        "drawn by the loop",
    )))
    .unwrap();
    tx.send(server(&msg_json("@Bob", 2, T0, "Bob", "private")))
        .unwrap();
    tx.send(key(KeyCode::Char('c'), KeyModifiers::CONTROL))
        .unwrap();
    // Anything after the quit is not handled.
    tx.send(key(KeyCode::Char('x'), KeyModifiers::NONE))
        .unwrap();

    let mut fx = Recorder::default();
    tchat::client::run(&mut term, &mut app, &mut rx, &mut fx, Vec::new())
        .await
        .expect("loop ends cleanly");
    assert!(app.should_quit());
    assert_eq!(fx.connects.len(), 1);
    assert_eq!(fx.connects[0].user, "alice");
    assert!(fx
        .frames
        .iter()
        .any(|f| matches!(f.request, tchat::protocol::Request::History { .. })));
    assert_eq!(fx.bells, 1, "the private message rang the bell");
    // The last frame drawn shows the message.
    term.draw(|f| tchat::client::ui::render(&app, f)).unwrap();
    let screen: String = term
        .backend()
        .buffer()
        .content()
        .iter()
        .map(|c| c.symbol())
        .collect();
    assert!(screen.contains("drawn by the loop"));
    assert!(screen.contains("@Bob (1)"));
}

#[tokio::test]
async fn the_loop_ends_when_every_event_source_is_gone() {
    let mut app = new_app();
    let mut term = Terminal::new(TestBackend::new(80, 24)).expect("terminal");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Event>();
    drop(tx);
    let mut fx = Recorder::default();
    tchat::client::run(&mut term, &mut app, &mut rx, &mut fx, Vec::new())
        .await
        .expect("clean end");
    let login: String = term
        .backend()
        .buffer()
        .content()
        .iter()
        .map(|c| c.symbol())
        .collect();
    assert!(login.contains("tchat — log in"), "the login form was drawn");
}

#[tokio::test]
async fn a_flood_of_server_frames_is_taken_in_slices_and_sigterm_still_ends_the_loop() {
    let mut app = logged_in("alice", serde_json::json!({}));
    let mut term = Terminal::new(TestBackend::new(80, 24)).expect("terminal");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    const FLOOD: usize = 20_000;
    for n in 0..FLOOD {
        let online = n % 2 == 0;
        tx.send(server(
            &serde_json::json!({"type":"presence","user":format!("u{}", n / 2),
                "online":online,"status":"available"})
            .to_string(),
        ))
        .unwrap();
    }
    tx.send(Event::Terminate).unwrap();
    tx.send(server(&msg_json("#public", 1, T0, "Bob", "after the quit")))
        .unwrap();
    let mut fx = Recorder::default();
    tchat::client::run(&mut term, &mut app, &mut rx, &mut fx, Vec::new())
        .await
        .expect("loop ends cleanly");
    assert!(app.should_quit(), "SIGTERM behind the flood was handled");
    assert_eq!(
        app.online.len(),
        1,
        "every presence was handled: only alice is left"
    );
    assert!(app.chats[0].log.len() <= tchat::client::chat::MAX_ENTRIES);
    assert!(
        !app.chats[0]
            .log
            .entries()
            .iter()
            .any(|e| e.text() == "after the quit"),
        "nothing after the quit"
    );
    // At most one draw per slice of events, however fast they come.
    let drawn = term
        .draw(|f| tchat::client::ui::render(&app, f))
        .unwrap()
        .count;
    assert!(
        drawn <= FLOOD / tchat::client::MAX_EVENTS_PER_SLICE + 2,
        "{drawn} draws"
    );
}

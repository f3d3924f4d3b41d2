//! Render-path benchmark: one frame of the chat screen with 100 000
//! messages in the open chat, on ratatui's `TestBackend`.
//!
//! Run: `cargo bench --bench render` (prints median and p99 per case).
//! Each case is timed per frame over many frames; the median is reported so
//! a stray scheduler hiccup does not move the figure.

use std::hint::black_box;
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use tchat::client::app::{App, Settings};
use tchat::client::login::LoginForm;
use tchat::client::theme::{Theme, ThemeSet};
use tchat::client::{Event, NetEvent};
use tchat::protocol::{ChatKey, Message, ServerFrame, UserName, Welcome};

const MESSAGES: u64 = 100_000;
const T0: i64 = 1_763_762_400_000;

fn app_with_history(width: u16, height: u16) -> App {
    let mut app = App::new(
        LoginForm::new("127.0.0.1:7700", "alice", false),
        Theme::default_theme(),
        ThemeSet::builtin(),
        Settings::default(),
    );
    app.size = (width, height);
    let me = UserName::parse("alice").expect("name");
    app.update(Event::Net(NetEvent::Frame(ServerFrame::Welcome(Box::new(
        Welcome {
            id: 1,
            user: me.clone(),
            role: tchat::protocol::Role::User,
            last_msg_id: 0,
            online: Default::default(),
            chats: vec![],
            public_unread: 0,
            requests_in: vec![],
            requests_out: vec![],
            more_online: 0,
            more_chats: 0,
            more_requests_in: 0,
            more_requests_out: 0,
            groups: vec![],
            invites: vec![],
            public_last_read: 0,
            muted_until: None,
        },
    )))));
    let nicks: Vec<UserName> = ["Bob", "Chen", "alice", "Dmitri", "Eve"]
        .iter()
        .map(|n| UserName::parse(n).expect("name"))
        .collect();
    for i in 1..=MESSAGES {
        let text = match i % 4 {
            0 => format!("message {i}: short"),
            1 => format!("message {i}: a longer line that will certainly need to wrap at eighty columns because it goes on and on"),
            2 => format!("message {i}: 日本語と絵文字 🎉 mixed with ASCII"),
            _ => format!("message {i}:\nsecond line\nthird line"),
        };
        app.update(Event::Net(NetEvent::Frame(ServerFrame::Message(Message {
            chat: ChatKey::Public,
            msg_id: i,
            ts: T0 + i as i64 * 1000,
            from: nicks[(i % 5) as usize].clone(),
            text,
            deleted: false,
            file: None,
        }))));
    }
    app
}

fn time_frames(
    name: &str,
    runs: usize,
    term: &mut Terminal<TestBackend>,
    app: &mut App,
    mut before: impl FnMut(&mut App, usize),
) {
    let mut samples = Vec::with_capacity(runs);
    for i in 0..runs {
        before(app, i);
        let start = Instant::now();
        term.draw(|f| tchat::client::ui::render(black_box(app), f))
            .expect("draw");
        samples.push(start.elapsed());
    }
    samples.sort();
    let median = samples[runs / 2];
    let p99 = samples[runs * 99 / 100];
    println!(
        "{name:<44} median {:>8.1} µs   p99 {:>8.1} µs   ({runs} frames)",
        micros(median),
        micros(p99)
    );
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn main() {
    let (w, h) = (80, 24);
    let mut app = app_with_history(w, h);
    let mut term = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    println!("{MESSAGES} messages in #public, terminal {w}x{h}");

    time_frames(
        "bottom of the chat, wraps cached",
        2000,
        &mut term,
        &mut app,
        |_, _| {},
    );

    let mut next = MESSAGES;
    time_frames(
        "a new message arrives, then a frame",
        2000,
        &mut term,
        &mut app,
        |app, _| {
            next += 1;
            app.update(Event::Net(NetEvent::Frame(ServerFrame::Message(Message {
                chat: ChatKey::Public,
                msg_id: next,
                ts: T0 + next as i64 * 1000,
                from: UserName::parse("Bob").expect("name"),
                text: "one more".into(),
                deleted: false,
                file: None,
            }))));
        },
    );

    time_frames(
        "PgUp each frame (scrolling back)",
        2000,
        &mut term,
        &mut app,
        |app, _| {
            app.update(Event::Key(KeyEvent::new(
                KeyCode::PageUp,
                KeyModifiers::NONE,
            )));
        },
    );

    // Width changes every frame: the visible entries are re-wrapped.
    let mut big = Terminal::new(TestBackend::new(120, 40)).expect("terminal");
    app.update(Event::Key(KeyEvent::new(KeyCode::End, KeyModifiers::NONE)));
    time_frames(
        "resize every frame (80 <-> 79 cols), re-wrap",
        2000,
        &mut term,
        &mut app,
        |app, i| {
            let w = if i % 2 == 0 { 79 } else { 80 };
            app.size = (w, 24);
        },
    );
    app.size = (120, 40);
    time_frames(
        "120x40 terminal, bottom",
        2000,
        &mut big,
        &mut app,
        |_, _| {},
    );
}

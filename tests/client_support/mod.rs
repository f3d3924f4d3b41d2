//! Helpers shared by the client tests: build an `App`, feed it keys and
//! server frames written as JSON, and look at the frames it sends.
#![allow(dead_code)]

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use tchat::client::app::{App, Settings};
use tchat::client::login::LoginForm;
use tchat::client::theme::{Theme, ThemeSet};
use tchat::client::{Command, Event, NetEvent};
use tchat::protocol::{decode_server_frame, ClientFrame, Request};

/// 2025-11-21 22:00:00 UTC.
pub const T0: i64 = 1_763_762_400_000;

pub fn new_app() -> App {
    let mut app = App::new(
        LoginForm::new("127.0.0.1:7700", "", false),
        Theme::default_theme(),
        ThemeSet::builtin(),
        Settings::default(),
    );
    app.size = (80, 24);
    app.now_ms = T0 + 3_600_000;
    app
}

pub fn key(app: &mut App, code: KeyCode, mods: KeyModifiers) -> Vec<Command> {
    app.update(Event::Key(KeyEvent::new(code, mods)))
}

pub fn press(app: &mut App, code: KeyCode) -> Vec<Command> {
    key(app, code, KeyModifiers::NONE)
}

pub fn alt(app: &mut App, c: char) -> Vec<Command> {
    key(app, KeyCode::Char(c), KeyModifiers::ALT)
}

pub fn ctrl(app: &mut App, c: char) -> Vec<Command> {
    key(app, KeyCode::Char(c), KeyModifiers::CONTROL)
}

pub fn type_str(app: &mut App, s: &str) -> Vec<Command> {
    let mut out = Vec::new();
    for c in s.chars() {
        out.extend(press(app, KeyCode::Char(c)));
    }
    out
}

/// Feeds a server frame written as JSON.
pub fn frame(app: &mut App, json: &str) -> Vec<Command> {
    let f = decode_server_frame(json.as_bytes())
        .expect("test frame decodes")
        .expect("test frame has a known type");
    app.update(Event::Net(NetEvent::Frame(f)))
}

/// The frames among the commands.
pub fn sent(cmds: &[Command]) -> Vec<ClientFrame> {
    cmds.iter()
        .filter_map(|c| match c {
            Command::Send(f) => Some(f.clone()),
            _ => None,
        })
        .collect()
}

/// The requests among the commands, ignoring `mark_read`.
pub fn requests(cmds: &[Command]) -> Vec<Request> {
    sent(cmds)
        .into_iter()
        .map(|f| f.request)
        .filter(|r| !matches!(r, Request::MarkRead { .. }))
        .collect()
}

/// The id of the first `history` request for `chat` among the commands.
pub fn history_id(cmds: &[Command], chat: &str) -> Option<u64> {
    sent(cmds).into_iter().find_map(|f| match f.request {
        Request::History { chat: c, .. } if c == chat => f.id,
        _ => None,
    })
}

pub fn msg_json(chat: &str, id: u64, ts: i64, from: &str, text: &str) -> String {
    serde_json::json!({"type":"message","chat":chat,"msg_id":id,"ts":ts,"from":from,"text":text})
        .to_string()
}

pub fn history_json(id: u64, chat: &str, msgs: &[String], more: bool) -> String {
    let msgs: Vec<serde_json::Value> = msgs
        .iter()
        .map(|m| serde_json::from_str(m).expect("message json"))
        .collect();
    serde_json::json!({"type":"history","id":id,"chat":chat,"messages":msgs,"more":more})
        .to_string()
}

/// Logs `user` in with a welcome built from the given parts and answers
/// every initial `history` request with an empty page. Returns the
/// commands the welcome produced.
pub fn welcome(app: &mut App, user: &str, extra: serde_json::Value) -> Vec<Command> {
    let mut w = serde_json::json!({
        "type":"welcome","id":1,"user":user,"role":"user","last_msg_id":0,
        "online":[{"user":user,"status":"available"}],
        "chats":[],"public_unread":0,"requests_in":[],"requests_out":[]
    });
    if let (Some(obj), Some(extra)) = (w.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            obj.insert(k.clone(), v.clone());
        }
    }
    frame(app, &w.to_string())
}

/// Logs in and answers the initial history requests with empty pages.
pub fn logged_in(user: &str, extra: serde_json::Value) -> App {
    let mut app = new_app();
    let cmds = welcome(&mut app, user, extra);
    for f in sent(&cmds) {
        if let Request::History { chat, .. } = &f.request {
            frame(&mut app, &history_json(f.id.unwrap_or(0), chat, &[], false));
        }
    }
    app
}

/// Renders on an 80×24 test terminal.
pub fn render(app: &App) -> Terminal<TestBackend> {
    let mut term = Terminal::new(TestBackend::new(app.size.0, app.size.1)).expect("terminal");
    term.draw(|f| tchat::client::ui::render(app, f))
        .expect("draw");
    term
}

/// The screen as text, one line per row.
pub fn screen(app: &App) -> String {
    let term = render(app);
    let buf = term.backend().buffer();
    let mut out = String::new();
    for y in 0..buf.area.height {
        let mut line = String::new();
        let mut skip = 0;
        for x in 0..buf.area.width {
            // The cell after a wide character only continues it.
            if skip > 0 {
                skip -= 1;
                continue;
            }
            let sym = buf[(x, y)].symbol();
            skip = unicode_width::UnicodeWidthStr::width(sym).saturating_sub(1);
            line.push_str(sym);
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

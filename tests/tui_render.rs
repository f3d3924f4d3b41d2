//! The screens on ratatui's `TestBackend` (80×24), as insta snapshots, plus
//! style-aware buffer checks where colour carries meaning.

mod client_support;

use client_support::*;
use crossterm::event::KeyCode;
use ratatui::style::Modifier;
use serde_json::json;
use tchat::client::app::Screen;
use tchat::client::login::LoginForm;
use tchat::client::{Event, NetEvent};
use tchat::protocol::{ErrorCode, ErrorFrame};

const MIN: i64 = 60_000;

/// Finds `needle` on screen; returns (x, y) of its first cell.
fn find(app: &tchat::client::App, needle: &str) -> Option<(u16, u16)> {
    let term = render(app);
    let buf = term.backend().buffer().clone();
    for y in 0..buf.area.height {
        let mut line = String::new();
        let mut xs = Vec::new();
        for x in 0..buf.area.width {
            let sym = buf[(x, y)].symbol();
            for _ in sym.chars() {
                xs.push(x);
            }
            line.push_str(sym);
        }
        if let Some(byte) = line.find(needle) {
            let idx = line[..byte].chars().count();
            return Some((xs[idx], y));
        }
    }
    None
}

fn public_room() -> tchat::client::App {
    let mut app = logged_in(
        "alice",
        json!({"online":[{"user":"alice","status":"available"},{"user":"Bob","status":"away"},{"user":"Chen","status":"busy"}],
               "chats":[{"chat":"@Bob","user":"Bob","online":true,"unread":0,"last_read":0}]}),
    );
    let day1 = T0 - 24 * 60 * MIN; // the day before
    let msgs = [
        msg_json("#public", 1, day1, "Bob", "yesterday's news"),
        msg_json("#public", 2, T0, "Bob", "good morning everyone"),
        msg_json("#public", 3, T0 + MIN, "Chen", "早上好！今天天气很好 🌞👍"),
        msg_json("#public", 4, T0 + 2 * MIN, "alice", "morning! this is my own message"),
        msg_json(
            "#public",
            5,
            T0 + 3 * MIN,
            "Bob",
            "this is a rather long line that has to wrap because it does not fit in eighty columns of terminal, not even close",
        ),
        msg_json("#public", 6, T0 + 4 * MIN, "Chen", "multi-line:\n  first\n  second"),
        msg_json("#public", 7, T0 + 5 * MIN, "Bob", "alice: are you there?"),
        msg_json("#public", 8, T0 + 6 * MIN, "Chen", &"宽字符换行测试".repeat(6)),
    ];
    for m in &msgs {
        frame(&mut app, m);
    }
    app
}

#[test]
fn login_screen() {
    let mut app = new_app();
    app.login = LoginForm::new("chat.example.org:7700", "alice", false);
    app.login.set_password("hunter2hunter2");
    app.update(Event::Net(NetEvent::LoginFailed(ErrorFrame::new(
        Some(1),
        ErrorCode::BadCredentials,
        "bad credentials",
    ))));
    let text = screen(&app);
    assert!(!text.contains("hunter2"), "the password is masked");
    insta::assert_snapshot!("login", text);
}

#[test]
fn public_room_with_messages() {
    let app = public_room();
    insta::assert_snapshot!("public_room", screen(&app));
}

#[test]
fn own_messages_and_highlighted_tabs_have_their_own_styles() {
    let mut app = public_room();
    let styles = app.theme.styles.clone();
    // own message text uses own_text; someone else's uses base
    let term = render(&app);
    let buf = term.backend().buffer().clone();
    let (x, y) = find(&app, "morning! this is my own").expect("own message on screen");
    assert_eq!(buf[(x, y)].fg, styles.own_text.fg.unwrap());
    let (x, y) = find(&app, "good morning everyone").expect("other message");
    assert_eq!(buf[(x, y)].fg, styles.base.fg.unwrap());
    // a nick gets its palette colour, bold
    let (x, y) = find(&app, "Chen:").expect("nick");
    assert_eq!(buf[(x, y)].fg, app.theme.nick_color("Chen"));
    assert!(buf[(x, y)].modifier.contains(Modifier::BOLD));

    // a private message in a background tab highlights it; public activity
    // in a background tab is styled differently
    frame(&mut app, &msg_json("@Bob", 20, T0 + 6 * MIN, "Bob", "psst"));
    let (x, y) = find(&app, "@Bob (1)").expect("private tab with count");
    let term = render(&app);
    let buf = term.backend().buffer().clone();
    assert_eq!(buf[(x, y)].bg, styles.tab_highlight.bg.unwrap());
    assert_eq!(y, 0);
    let (px, py) = find(&app, "# public").unwrap();
    assert_eq!(buf[(px, py)].bg, styles.tab_active.bg.unwrap());

    alt(&mut app, '2');
    frame(
        &mut app,
        &msg_json("#public", 21, T0 + 7 * MIN, "Chen", "ordinary"),
    );
    let (px, py) = find(&app, "# public (1)").expect("public tab with count");
    let term = render(&app);
    let buf = term.backend().buffer().clone();
    assert_eq!(buf[(px, py)].fg, styles.tab_activity.fg.unwrap());
    assert_ne!(styles.tab_activity, styles.tab_highlight);
}

#[test]
fn inbox_with_requests() {
    let mut app = logged_in(
        "alice",
        json!({"requests_in":[{"from":"Carol","ts":T0 + 50 * MIN},{"from":"Dave","ts":T0 - 120 * MIN}],
               "requests_out":[{"to":"Eve","ts":T0 + 5 * MIN}]}),
    );
    alt(&mut app, '2');
    press(&mut app, KeyCode::Down);
    insta::assert_snapshot!("inbox", screen(&app));
}

#[test]
fn empty_inbox_says_so() {
    let mut app = logged_in("alice", json!({}));
    alt(&mut app, '2');
    assert!(screen(&app).contains("Your inbox is empty"));
}

#[test]
fn private_chat() {
    let mut app = logged_in(
        "alice",
        json!({"chats":[{"chat":"@Bob","user":"Bob","online":true,"unread":0,"last_read":0}]}),
    );
    alt(&mut app, '2');
    frame(
        &mut app,
        &msg_json("@Bob", 30, T0, "Bob", "hi alice, got a minute?"),
    );
    frame(
        &mut app,
        &msg_json("@Bob", 31, T0 + MIN, "alice", "sure, what's up?"),
    );
    type_str(&mut app, "a draft in progress");
    insta::assert_snapshot!("private_chat", screen(&app));
}

#[test]
fn help_overlay() {
    let mut app = logged_in("alice", json!({}));
    press(&mut app, KeyCode::F(1));
    insta::assert_snapshot!("help", screen(&app));
    // The rest is a scroll away; every command is listed.
    // (Over the last three pages: the list is longer than two.)
    press(&mut app, KeyCode::PageDown);
    press(&mut app, KeyCode::End);
    press(&mut app, KeyCode::PageUp);
    let before_last = screen(&app);
    press(&mut app, KeyCode::PageUp);
    let third_last = screen(&app);
    press(&mut app, KeyCode::End);
    let text = screen(&app);
    let both = format!("{third_last}{before_last}{text}");
    for cmd in [
        "/send PATH [caption]",
        "/chat NAME",
        "/accept NAME",
        "/status available|away|busy",
        "/quit",
    ] {
        assert!(both.contains(cmd), "{cmd} missing:\n{both}");
    }
    press(&mut app, KeyCode::Up);
    assert_ne!(screen(&app), text, "↑ scrolls back at once");
    press(&mut app, KeyCode::Esc);
    assert!(!app.help.visible);
}

#[test]
fn new_messages_marker_and_people_panel() {
    let mut app = logged_in(
        "alice",
        json!({"online":[{"user":"alice","status":"available"},{"user":"Bob","status":"away"}]}),
    );
    alt(&mut app, '2');
    for i in 0..3 {
        frame(
            &mut app,
            &msg_json(
                "#public",
                40 + i,
                T0 + i as i64 * MIN,
                "Bob",
                &format!("news {i}"),
            ),
        );
    }
    alt(&mut app, '1');
    press(&mut app, KeyCode::F(2));
    let text = screen(&app);
    assert!(text.contains("new messages"), "{text}");
    assert!(text.contains("People (2)"), "{text}");
    insta::assert_snapshot!("marker_and_people", text);
}

#[test]
fn status_bar_shows_reconnecting_and_rtt() {
    let mut app = logged_in("alice", json!({}));
    app.update(Event::Net(NetEvent::Rtt(std::time::Duration::from_millis(
        12,
    ))));
    assert!(screen(&app).contains("rtt 12 ms"));
    app.update(Event::Net(NetEvent::Lost {
        reason: "reset".into(),
        retry_in: std::time::Duration::from_secs(4),
    }));
    let text = screen(&app);
    assert!(text.contains("reconnecting in 4s"), "{text}");
    assert_eq!(app.screen, Screen::Chat);
}

/// Control characters, escape sequences and bidi overrides from a peer must
/// never reach a cell, whatever the server let through.
#[test]
fn hostile_text_never_reaches_the_buffer() {
    let mut app = logged_in("alice", json!({}));
    let evil = "pwn\u{1b}[2J\u{1b}]0;title\u{7}\u{9b}31m\u{202e}olleh\u{2066}x\u{7f}\r\u{0}end";
    frame(&mut app, &msg_json("#public", 50, T0, "Bob", evil));
    frame(
        &mut app,
        &json!({"type":"error","code":"internal","message":"bad \u{1b}[31mthing\u{85}"})
            .to_string(),
    );
    frame(
        &mut app,
        &json!({"type":"shutdown","reason":"bye\u{1b}c\u{202d}"}).to_string(),
    );
    let term = render(&app);
    let buf = term.backend().buffer();
    let mut all = String::new();
    for cell in buf.content() {
        all.push_str(cell.symbol());
    }
    for c in all.chars() {
        let u = c as u32;
        assert!(
            !(u < 0x20
                || (0x7f..=0x9f).contains(&u)
                || (0x202a..=0x202e).contains(&u)
                || (0x2066..=0x2069).contains(&u)),
            "U+{u:04X} reached the screen"
        );
    }
    assert!(
        all.contains("pwn\u{FFFD}[2J"),
        "the text is shown, defanged"
    );
    // A user name with control characters is refused at decoding: the frame
    // never reaches the app at all.
    let bad_name = json!({"type":"message","chat":"#public","msg_id":51,"ts":T0,"from":"Bob\u{1b}[31m","text":"x"}).to_string();
    assert!(tchat::protocol::decode_server_frame(bad_name.as_bytes()).is_err());
}

#[test]
fn every_screen_draws_at_any_size_without_panicking() {
    let mut states = vec![new_app(), public_room()];
    let mut inbox = logged_in(
        "alice",
        json!({"requests_in":[{"from":"Carol","ts":T0}],"requests_out":[{"to":"Eve","ts":T0}]}),
    );
    alt(&mut inbox, '2');
    states.push(inbox);
    let mut help = public_room();
    press(&mut help, KeyCode::F(1));
    states.push(help);
    let mut people = public_room();
    press(&mut people, KeyCode::F(2));
    type_str(&mut people, "draft");
    key(
        &mut people,
        KeyCode::Enter,
        crossterm::event::KeyModifiers::ALT,
    );
    type_str(&mut people, "second line");
    states.push(people);
    for app in &mut states {
        for (w, h) in [
            (1, 1),
            (2, 3),
            (10, 4),
            (20, 6),
            (33, 9),
            (45, 12),
            (80, 24),
            (200, 60),
        ] {
            app.update(Event::Resize(w, h));
            press(app, KeyCode::PageUp);
            let _ = screen(app);
            press(app, KeyCode::PageDown);
            let _ = screen(app);
        }
    }
}

#[test]
fn a_second_line_that_imitates_a_message_shows_as_a_continuation() {
    let mut app = logged_in("alice", serde_json::json!({}));
    frame(
        &mut app,
        &msg_json("#public", 1, T0, "Mallory", "see below\n12:00 alice: hi"),
    );
    // A wrapped line gets the same mark.
    frame(
        &mut app,
        &msg_json("#public", 2, T0, "Bob", &"word ".repeat(30)),
    );
    let text = screen(&app);
    let lines: Vec<&str> = text.lines().collect();
    let first = lines
        .iter()
        .position(|l| l.starts_with("22:00 Mallory: see below"))
        .expect("the message");
    assert_eq!(lines[first + 1], "    │ 12:00 alice: hi", "{text}");
    assert!(
        !lines.iter().any(|l| l.starts_with("12:00")),
        "no row passes for a message: {text}"
    );
    let bob = lines
        .iter()
        .position(|l| l.starts_with("22:00 Bob: word"))
        .expect("bob");
    assert!(lines[bob + 1].starts_with("    │ word"), "{text}");
    // The mark is dim, unlike a clock.
    let term = render(&app);
    let cell = &term.backend().buffer()[(4, (first + 1) as u16)];
    assert_eq!(cell.symbol(), "│");
    assert_eq!(cell.style().fg, app.theme.styles.dim.fg);
}

/// Alice in `#rust-dev` (after a private chat with Bob), with a topic,
/// messages and a member event.
fn group_tab() -> tchat::client::App {
    let mut app = logged_in(
        "alice",
        json!({"online":[{"user":"alice","status":"available"},{"user":"Carol","status":"busy"}],
               "chats":[{"chat":"@Bob","user":"Bob","online":false,"unread":0,"last_read":0}],
               "groups":[{"chat":"#rust-dev","kind":"open","role":"member","unread":0,"last_read":0,
                          "topic":"Rust 2024: async closures, the new edition, and what the borrow checker thinks of our code"}]}),
    );
    alt(&mut app, '3');
    frame(
        &mut app,
        &json!({"type":"members","id":0,"chat":"#rust-dev","members":[]}).to_string(),
    );
    let msgs = [
        msg_json("#rust-dev", 60, T0, "Carol", "welcome, everyone"),
        msg_json(
            "#rust-dev",
            61,
            T0 + MIN,
            "Bob",
            "alice: did the build pass?",
        ),
        msg_json("#rust-dev", 62, T0 + 2 * MIN, "alice", "it did"),
    ];
    for m in &msgs {
        frame(&mut app, m);
    }
    frame(
        &mut app,
        &json!({"type":"member_joined","chat":"#rust-dev","user":"Dave","role":"member"})
            .to_string(),
    );
    frame(
        &mut app,
        &msg_json("#public", 63, T0 + 3 * MIN, "Carol", "psst"),
    );
    app
}

#[test]
fn group_tab_with_topic() {
    let app = group_tab();
    let text = screen(&app);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].contains("#rust-dev"), "{text}");
    assert!(
        lines[1].contains("Rust 2024") && lines[1].ends_with('…'),
        "elided: {text}"
    );
    insta::assert_snapshot!("group_tab", text);
    // The topic is quiet text, not a message.
    let term = render(&app);
    let (x, y) = find(&app, "Rust 2024").unwrap();
    assert_eq!(
        term.backend().buffer()[(x, y)].fg,
        app.theme.styles.dim.fg.unwrap()
    );
}

#[test]
fn group_member_panel() {
    let mut app = group_tab();
    let members = json!([
        {"user":"Carol","role":"owner","online":true,"status":"busy"},
        {"user":"Bob","role":"mod","online":false,"status":"available"},
        {"user":"alice","role":"member","online":true,"status":"available"},
        {"user":"Dave","role":"member","online":true,"status":"away"}
    ]);
    type_str(&mut app, "/members");
    let cmds = press(&mut app, KeyCode::Enter);
    let id = sent(&cmds)[0].id.unwrap();
    frame(
        &mut app,
        &json!({"type":"members","id":id,"chat":"#rust-dev","members":members}).to_string(),
    );
    // /members: the list whole, over the chat.
    insta::assert_snapshot!("group_members_listed", screen(&app));
    press(&mut app, KeyCode::Esc);
    // F2: the panel beside the chat, kept current.
    press(&mut app, KeyCode::F(2));
    insta::assert_snapshot!("group_members", screen(&app));
}

fn with_directory() -> tchat::client::App {
    let mut app = group_tab();
    type_str(&mut app, "/groups");
    let cmds = press(&mut app, KeyCode::Enter);
    let id = sent(&cmds)[0].id.unwrap();
    frame(
        &mut app,
        &json!({"type":"groups","id":id,"more":0,"groups":[
            {"chat":"#go","kind":"open","topic":"Gophers \u{1b}[31mwelcome","members":4},
            {"chat":"#rust-dev","kind":"open","topic":"Rust 2024: async closures, the new edition, and what the borrow checker thinks","members":12},
            {"chat":"#ops","kind":"invite","topic":"","members":1},
            {"chat":"#zig","kind":"open","topic":"comptime all the things","members":2}
        ]})
        .to_string(),
    );
    press(&mut app, KeyCode::Down);
    app
}

#[test]
fn group_directory() {
    let app = with_directory();
    let text = screen(&app);
    assert!(!text.contains('\u{1b}'), "{text}");
    insta::assert_snapshot!("group_directory", text);
}

#[test]
fn group_invitation_in_the_inbox() {
    let mut app = logged_in(
        "alice",
        json!({"requests_in":[{"from":"Carol","ts":T0 + 50 * MIN}],
               "invites":[{"chat":"#rust-dev","from":"Dave","ts":T0 + 30 * MIN}]}),
    );
    alt(&mut app, '2');
    press(&mut app, KeyCode::Down);
    insta::assert_snapshot!("inbox_with_invitation", screen(&app));
}

/// Every group screen at 40×12 and 59×20: what must be read is there,
/// and a cut is marked with `…`.
#[test]
fn group_screens_at_narrow_sizes_elide_visibly() {
    for (w, h) in [(40, 12), (59, 20)] {
        let mut app = group_tab();
        app.update(Event::Resize(w, h));
        let text = screen(&app);
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[1].starts_with(" Rust 2024") && lines[1].ends_with('…'),
            "{w}×{h}:\n{text}"
        );
        assert!(text.contains("it did"), "{w}×{h}:\n{text}");

        let mut dir = with_directory();
        dir.update(Event::Resize(w, h));
        let text = screen(&dir);
        assert!(text.contains("> #rust-dev"), "{w}×{h}:\n{text}");
        assert!(text.contains('…'), "{w}×{h}:\n{text}");

        let mut members = group_tab();
        members.update(Event::Resize(w, h));
        press(&mut members, KeyCode::F(2));
        let text = screen(&members);
        // At every size: where it cannot sit beside the chat, it takes
        // the chat's place.
        assert!(text.contains("Members"), "{w}×{h}:\n{text}");

        // A kick with a long reason: the notice wraps, the tab says why.
        let mut kicked = group_tab();
        kicked.update(Event::Resize(w, h));
        type_str(&mut kicked, "my draft");
        frame(
            &mut kicked,
            &json!({"type":"group_left","chat":"#rust-dev","by":"Carol",
                    "reason":"repeatedly posting off-topic links after being asked to stop"})
            .to_string(),
        );
        let text = screen(&kicked);
        assert!(text.contains("closed: Carol removed"), "{w}×{h}:\n{text}");
        assert!(text.contains("my draft"), "{w}×{h}:\n{text}");
        let notice_rows = text
            .lines()
            .filter(|l| l.contains("Carol removed you"))
            .count();
        assert!(notice_rows >= 1, "{w}×{h}:\n{text}");
        if w == 40 {
            insta::assert_snapshot!("group_kicked_40x12", text);
        }
    }
}

/// Every row of the help at `w`×`h`, scrolled page by page from the top.
fn help_pages(w: u16, h: u16) -> (tchat::client::App, Vec<String>) {
    let mut app = logged_in("alice", json!({}));
    app.size = (w, h);
    press(&mut app, KeyCode::F(1));
    let mut pages = vec![screen(&app)];
    for _ in 0..200 {
        press(&mut app, KeyCode::Down);
        pages.push(screen(&app));
    }
    press(&mut app, KeyCode::Home);
    (app, pages)
}

#[test]
fn help_columns_are_apart_and_lines_wrap_at_narrow_widths() {
    for (w, h, name) in [(40, 12, "help_40x12"), (59, 20, "help_59x20")] {
        let (mut app, pages) = help_pages(w, h);
        insta::assert_snapshot!(name, screen(&app));
        let all = pages.concat();
        // Two spaces at least between a command and what it does, and the
        // end of every description is there: nothing is cut at the edge.
        assert!(!all.contains("busyset"), "{all}");
        for end in [
            "set your status",
            "(private and mentions first)",
            "Enter fetch its file, d delete (y/n), Esc back",
            "delete this tab's group and its messages for everyone",
            "leave tchat",
        ] {
            let last_word = end.rsplit(' ').next().unwrap();
            assert!(all.contains(last_word), "{end:?} cut at {w}:\n{all}");
        }
        press(&mut app, KeyCode::End);
        insta::assert_snapshot!(format!("{name}_end"), screen(&app));
    }
    let (_, pages) = help_pages(80, 24);
    let all = pages.concat();
    assert!(
        all.contains("/status available|away|busy") && all.contains("  set your status"),
        "{all}"
    );
    assert!(!all.contains("busyset"));
}

/// The grapheme clusters drawn in the cells of the screen, in order.
fn cell_symbols(app: &tchat::client::App) -> Vec<String> {
    let term = render(app);
    let buf = term.backend().buffer();
    let mut out = Vec::new();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            out.push(buf[(x, y)].symbol().to_owned());
        }
    }
    out
}

#[test]
fn emoji_sequences_stay_whole_and_controls_are_still_replaced() {
    let thumbs = "👍🏽";
    let family = "👨\u{200d}👩\u{200d}👧";
    let heart = "❤\u{fe0f}";
    let flag = "🇩🇪";
    let accent = "e\u{301}";
    // Wide and narrow screens: at 40 columns the text wraps through the
    // clusters, which must move to the next row whole.
    for (w, h) in [(80, 24), (40, 12), (23, 16)] {
        let mut app = logged_in("alice", json!({}));
        app.size = (w, h);
        let text = format!(
            "ok {thumbs} fam {family} love {heart} flag {flag} caf{accent} \u{1b}[2J evil \u{202e}rtl {thumbs}{thumbs}{thumbs}{thumbs}"
        );
        frame(&mut app, &msg_json("#public", 1, T0, "Bob", &text));
        // The topic line and the notice show the same cleaning.
        frame(
            &mut app,
            &json!({"type":"group_joined","chat":"#g","kind":"open","topic":format!("topic {thumbs} {family}\u{7}"),
                    "role":"member","members":[]})
            .to_string(),
        );
        let cells = cell_symbols(&app);
        for cluster in [thumbs, family, heart, flag, accent] {
            assert!(
                cells.iter().any(|c| c == cluster),
                "{cluster:?} not drawn whole at {w}x{h}:\n{}",
                screen(&app)
            );
        }
        assert_eq!(
            cells.iter().filter(|c| *c == thumbs).count(),
            5,
            "every 👍🏽 keeps its skin tone at {w}x{h}:\n{}",
            screen(&app)
        );
        assert!(
            !cells.iter().any(|c| c == "👍" || c == "🏽"),
            "split at {w}x{h}"
        );
        assert!(
            !cells
                .iter()
                .any(|c| c.contains(['\u{1b}', '\u{202e}', '\u{7}'])),
            "a control character reached the screen"
        );
        assert!(cells.iter().any(|c| c == "\u{fffd}"), "replaced, visibly");
        // The group's topic line.
        app.update(tchat::client::Event::Key(crossterm::event::KeyEvent::new(
            KeyCode::Char('2'),
            crossterm::event::KeyModifiers::ALT,
        )));
        let cells = cell_symbols(&app);
        assert!(
            cells.iter().any(|c| c == thumbs),
            "topic at {w}x{h}:\n{}",
            screen(&app)
        );
    }
}

/// Register mode: the password is asked twice, and a mismatch is said
/// under the form; at 40×12 every field, the mode, the error and the hint
/// still show.
#[test]
fn register_form_with_a_mismatch() {
    let mut app = new_app();
    app.login = LoginForm::new("chat.example.org:7700", "alice", true);
    type_str(&mut app, "hunter2hunter2");
    press(&mut app, KeyCode::Tab);
    type_str(&mut app, "hunter2hunter3");
    press(&mut app, KeyCode::Enter);
    let text = screen(&app);
    assert!(!text.contains("hunter2"), "the passwords are masked");
    insta::assert_snapshot!("register_mismatch", text);
    app.size = (40, 12);
    let text = screen(&app);
    for want in ["Confirm", "register", "two passwords differ", "Enter"] {
        assert!(text.contains(want), "{want} at 40x12:\n{text}");
    }
    insta::assert_snapshot!("register_mismatch_40x12", text);
}

#[test]
fn login_form_says_what_was_remembered() {
    let mut app = tchat::client::App::new(
        tchat::client::login::LoginForm::new("tls://chat.example:7700", "alice", false),
        tchat::client::theme::Theme::default_theme(),
        tchat::client::theme::ThemeSet::builtin(),
        tchat::client::app::Settings::default(),
    );
    app.login.remembered = true;
    insta::assert_snapshot!("login_remembered", screen(&app));
    assert_eq!(app.login.focus, tchat::client::login::Field::Password);
    // Narrow: the note wraps rather than pushing the keys out.
    app.size = (40, 16);
    let text = screen(&app);
    assert!(text.contains("remembered from last"), "{text}");
}

/// The light theme paints its background on every cell it draws, so that
/// its dark text is never left on a dark terminal's black: the login form,
/// the chat with the people panel and a notice, the directory and the help.
#[test]
fn the_light_theme_paints_its_background_on_every_cell() {
    use ratatui::style::Color;
    let theme = tchat::client::theme::ThemeSet::builtin()
        .get("light")
        .expect("light theme");
    let bg = theme.background.expect("the light theme has a background");
    assert_ne!(bg, Color::Reset);
    let check = |app: &tchat::client::App, what: &str| {
        let term = render(app);
        let buf = term.backend().buffer();
        let mut base_cells = 0;
        for y in 0..buf.area.height {
            let mut covered = 0;
            for x in 0..buf.area.width {
                // The cell after a wide character is drawn by it.
                if covered > 0 {
                    covered -= 1;
                    continue;
                }
                covered =
                    unicode_width::UnicodeWidthStr::width(buf[(x, y)].symbol()).saturating_sub(1);
                let cell_bg = buf[(x, y)].bg;
                assert_ne!(
                    cell_bg,
                    Color::Reset,
                    "{what}: the terminal's background shows at {x},{y}:\n{}",
                    screen(app)
                );
                if cell_bg == bg {
                    base_cells += 1;
                }
            }
        }
        assert!(
            base_cells > usize::from(buf.area.width) * 4,
            "{what}: the theme's background is painted"
        );
    };
    let mut login = new_app();
    login.theme = theme.clone();
    check(&login, "login");
    let mut app = public_room();
    app.theme = theme.clone();
    press(&mut app, KeyCode::F(2));
    app.update(Event::Net(NetEvent::Warning("a notice".into())));
    check(&app, "chat");
    press(&mut app, KeyCode::F(1));
    check(&app, "help");
    let mut dir = with_directory();
    dir.theme = theme;
    check(&dir, "directory");
}

/// At 40×12 there is no room beside the chat: F2's panel takes the chat's
/// place, lists everyone whole, and Esc gives the chat back.
#[test]
fn people_panel_at_40x12_takes_the_chats_place() {
    let mut app = public_room();
    app.size = (40, 12);
    press(&mut app, KeyCode::F(2));
    let text = screen(&app);
    for want in ["People (3)", "alice (you)", "Bob away", "Chen busy", "Esc"] {
        assert!(text.contains(want), "{want}:\n{text}");
    }
    assert!(
        !text.contains("good morning"),
        "the chat is covered:\n{text}"
    );
    insta::assert_snapshot!("people_40x12", text);
    // ↓ and Enter ask for a private chat with the one selected.
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Down);
    let cmds = press(&mut app, KeyCode::Enter);
    assert!(
        requests(&cmds)
            .iter()
            .any(|r| matches!(r, tchat::protocol::Request::RequestChat { user } if user == "Chen")),
        "{cmds:?}"
    );
    assert!(!app.people.visible, "Enter closes the panel");
    press(&mut app, KeyCode::F(2));
    press(&mut app, KeyCode::Esc);
    let text = screen(&app);
    assert!(text.contains("Chen"), "the chat is back:\n{text}");
    assert!(!text.contains("People ("), "{text}");
    // In a group's tab, the members the same way.
    let mut app = group_tab();
    app.size = (40, 12);
    press(&mut app, KeyCode::F(2));
    let text = screen(&app);
    assert!(text.contains("Members ("), "{text}");
}

/// The status bar never cuts who-and-where silently: at 40 columns the
/// address is whole or ends in `…`, and what shows is the start of it.
#[test]
fn status_bar_elides_the_address_visibly_at_40_columns() {
    let mut app = public_room();
    app.login = LoginForm::new("chat.example.org:7700", "alice", false);
    for w in [40u16, 48, 56, 64, 80] {
        app.size = (w, 12);
        let text = screen(&app);
        let status = text.lines().last().unwrap_or("");
        let whole = "alice@chat.example.org:7700";
        let shown = status
            .split_whitespace()
            .find(|p| p.starts_with("alice@"))
            .unwrap_or_else(|| panic!("no user@server at {w}:\n{text}"));
        assert!(
            shown == whole
                || (shown.ends_with('…') && whole.starts_with(shown.trim_end_matches('…'))),
            "{shown:?} at {w} columns is neither whole nor cut with `…`:\n{text}"
        );
    }
}

/// `/who` with more people than a 40×12 screen holds: the system view lists
/// them all, titled, with the keys in its frame, and scrolls to the last.
#[test]
fn who_lists_everyone_in_the_system_view_at_40x12() {
    let mut app = public_room();
    app.size = (40, 12);
    type_str(&mut app, "/who");
    let cmds = press(&mut app, KeyCode::Enter);
    let id = sent(&cmds)[0].id.unwrap();
    let online: Vec<serde_json::Value> = (0..30)
        .map(|i| json!({"user": format!("user{i:02}"), "status": if i % 3 == 0 { "away" } else { "available" }}))
        .collect();
    frame(
        &mut app,
        &json!({"type":"who","id":id,"online":online,"more_online":5}).to_string(),
    );
    let text = screen(&app);
    insta::assert_snapshot!("who_40x12", text);
    assert!(text.contains("Online (35)"), "{text}");
    assert!(text.contains("user00  away"), "{text}");
    assert!(text.contains("Esc"), "the keys are said:\n{text}");
    press(&mut app, KeyCode::End);
    let text = screen(&app);
    assert!(text.contains("user29  available"), "{text}");
    assert!(text.contains("and 5 more"), "{text}");
    press(&mut app, KeyCode::Home);
    assert!(screen(&app).contains("user00"));
    press(&mut app, KeyCode::Esc);
    assert!(!app.output.visible);
    assert!(screen(&app).contains("#public>"));
}

/// A notice too long for its three rows says so, and F3 shows it whole,
/// wrapped to the width, among the notices shown lately.
#[test]
fn a_cut_notice_is_read_whole_with_f3() {
    let mut app = public_room();
    app.size = (40, 12);
    let long = format!(
        "could not do the thing: {} the end",
        (0..20)
            .map(|i| format!("reason{i}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    app.update(Event::Net(NetEvent::Warning(long.clone())));
    let text = screen(&app);
    assert!(text.contains("F3 shows all"), "{text}");
    assert!(!text.contains("the end"), "cut:\n{text}");
    press(&mut app, KeyCode::F(3));
    let text = screen(&app);
    insta::assert_snapshot!("notices_40x12", text);
    assert!(text.contains("Notices"), "{text}");
    assert!(text.contains("the end"), "whole:\n{text}");
    assert!(text.contains("reason10"), "whole:\n{text}");
    press(&mut app, KeyCode::F(3));
    assert!(!app.output.visible, "F3 closes it again");
}

//! Administration in the client (§13): `App::update` driven by scripted
//! keys and server frames, as in `client_app.rs`, and the screens it
//! draws as insta snapshots at 80×24 (checked at 40×12 and 59×20 too).

mod client_support;

use client_support::*;
use crossterm::event::{KeyCode, KeyModifiers};
use serde_json::{json, Value};
use tchat::client::app::{ConnState, Screen};
use tchat::client::{Command, Event, NetEvent};
use tchat::protocol::{ErrorCode, ErrorFrame, Request, Role};

const MIN: i64 = 60_000;

fn draft(app: &tchat::client::App) -> String {
    app.draft().lines().join("\n")
}

fn notice(app: &tchat::client::App) -> String {
    app.notice
        .as_ref()
        .map(|n| n.text.clone())
        .unwrap_or_default()
}

/// Types a line and presses Enter; returns the commands.
fn run(app: &mut tchat::client::App, line: &str) -> Vec<Command> {
    type_str(app, line);
    press(app, KeyCode::Enter)
}

/// The id of the only request among `cmds`.
fn id_of(cmds: &[Command]) -> u64 {
    sent(cmds)
        .into_iter()
        .find(|f| !matches!(f.request, Request::MarkRead { .. }))
        .and_then(|f| f.id)
        .expect("a request with an id")
}

fn ok(app: &mut tchat::client::App, cmds: &[Command]) -> Vec<Command> {
    let id = id_of(cmds);
    frame(app, &json!({"type":"ok","id":id}).to_string())
}

fn refuse(app: &mut tchat::client::App, cmds: &[Command], code: &str, message: &str) {
    let id = id_of(cmds);
    frame(
        app,
        &json!({"type":"error","id":id,"code":code,"message":message}).to_string(),
    );
}

/// The last row of the screen.
fn status_bar(app: &tchat::client::App) -> String {
    screen(app).lines().last().unwrap_or_default().to_owned()
}

fn admin() -> tchat::client::App {
    logged_in(
        "alice",
        json!({"role":"admin","online":[{"user":"alice","status":"available"},
                                        {"user":"bob","status":"available"}]}),
    )
}

fn user() -> tchat::client::App {
    logged_in(
        "alice",
        json!({"online":[{"user":"alice","status":"available"},{"user":"bob","status":"available"}]}),
    )
}

/// Tab completion of a word typed in an empty input line; the draft
/// afterwards (cleared again).
fn completes(app: &mut tchat::client::App, word: &str) -> String {
    type_str(app, word);
    press(app, KeyCode::Tab);
    let out = draft(app);
    ctrl(app, 'u');
    out
}

// ---- commands ---------------------------------------------------------

#[test]
fn admin_commands_send_their_frames_and_say_what_was_done() {
    let mut app = admin();
    let cases: Vec<(&str, Request, &str)> = vec![
        (
            "/ban bob 60 spam and flooding",
            Request::Ban {
                user: "bob".into(),
                minutes: Some(60),
                reason: Some("spam and flooding".into()),
            },
            "bob is banned for 60 minutes",
        ),
        (
            "/ban @bob spam",
            Request::Ban {
                user: "bob".into(),
                minutes: None,
                reason: Some("spam".into()),
            },
            "bob is banned for good",
        ),
        (
            "/unban bob",
            Request::Unban { user: "bob".into() },
            "bob is no longer banned",
        ),
        (
            "/mute bob 10 calm down",
            Request::Mute {
                user: "bob".into(),
                minutes: Some(10),
                reason: Some("calm down".into()),
            },
            "bob is muted in #public and groups for 10 minutes",
        ),
        (
            "/mute bob",
            Request::Mute {
                user: "bob".into(),
                minutes: None,
                reason: None,
            },
            "for good",
        ),
        (
            "/unmute bob",
            Request::Unmute { user: "bob".into() },
            "bob is no longer muted",
        ),
        (
            "/disconnect bob go to bed",
            Request::Kick {
                user: "bob".into(),
                reason: Some("go to bed".into()),
            },
            "bob was disconnected",
        ),
        (
            "/promote bob",
            Request::SetRole {
                user: "bob".into(),
                role: Role::Admin,
            },
            "bob is a server admin now",
        ),
        (
            "/demote bob",
            Request::SetRole {
                user: "bob".into(),
                role: Role::User,
            },
            "bob is an ordinary user now",
        ),
    ];
    for (line, want, said) in cases {
        let cmds = run(&mut app, line);
        assert_eq!(requests(&cmds), [want], "{line}");
        assert_eq!(
            draft(&app),
            "",
            "{line}: a command that went out leaves the input"
        );
        ok(&mut app, &cmds);
        assert!(notice(&app).contains(said), "{line}: {}", notice(&app));
    }
}

#[test]
fn bad_minutes_reasons_and_self_targets_are_refused_here_with_the_draft_kept() {
    let mut app = admin();
    for line in [
        "/ban bob 0 spam",
        "/ban bob 10m spam",
        "/mute bob -5",
        "/ban alice 5",
        "/disconnect ALICE",
        "/ban",
    ] {
        let cmds = run(&mut app, line);
        assert!(requests(&cmds).is_empty(), "{line}: {:?}", requests(&cmds));
        assert_eq!(draft(&app), line, "the draft is kept");
        assert!(app.notice.as_ref().is_some_and(|n| n.error), "{line}");
        ctrl(&mut app, 'u');
    }
    let cmds = run(&mut app, &format!("/ban bob 5 {}", "x".repeat(600)));
    assert!(requests(&cmds).is_empty());
    assert!(notice(&app).contains("512 bytes"), "{}", notice(&app));
    ctrl(&mut app, 'u');
    let cmds = run(&mut app, "/ban bob 5 \u{202e}evil");
    assert!(requests(&cmds).is_empty());
    assert!(notice(&app).contains("invalid reason"), "{}", notice(&app));
}

#[test]
fn a_user_does_not_see_admin_commands_and_a_forbidden_one_comes_back_editable() {
    let mut app = user();
    assert_eq!(
        completes(&mut app, "/ba"),
        "/ba",
        "no completion for a user"
    );
    assert_eq!(completes(&mut app, "/pro"), "/pro");
    let help = help_text(&mut app);
    assert!(!help.contains("/promote"), "{help}");
    assert!(help.contains("Ctrl-↑ / Alt-↑"), "{help}");

    // Typed anyway: the server's answer, inline, and the line comes back.
    let cmds = run(&mut app, "/ban bob 60 spam");
    assert_eq!(requests(&cmds).len(), 1);
    refuse(&mut app, &cmds, "forbidden", "admins only");
    assert!(
        notice(&app).contains("not allowed: admins only"),
        "{}",
        notice(&app)
    );
    assert_eq!(draft(&app), "/ban bob 60 spam");
    ctrl(&mut app, 'u');

    // Something typed meanwhile is never glued onto.
    let cmds = run(&mut app, "/audit");
    type_str(&mut app, "hello");
    refuse(&mut app, &cmds, "forbidden", "admins only");
    assert_eq!(draft(&app), "hello");
    assert!(!app.audit.visible);
}

/// The help overlay's text, all of it (a tall terminal), then closed.
fn help_text(app: &mut tchat::client::App) -> String {
    let size = app.size;
    app.update(Event::Resize(100, 90));
    press(app, KeyCode::F(1));
    let text = screen(app);
    press(app, KeyCode::Esc);
    app.update(Event::Resize(size.0, size.1));
    text
}

#[test]
fn an_admin_sees_the_admin_commands_and_a_role_event_changes_that_live() {
    let mut app = admin();
    assert_eq!(completes(&mut app, "/pro"), "/promote ");
    assert_eq!(completes(&mut app, "/dis"), "/disconnect ");
    let help = help_text(&mut app);
    for cmd in [
        "/ban",
        "/unban",
        "/mute",
        "/unmute",
        "/disconnect",
        "/promote",
        "/demote",
        "/audit",
    ] {
        assert!(help.contains(cmd), "{cmd}:\n{help}");
    }
    assert!(status_bar(&app).contains("admin"), "{}", status_bar(&app));

    frame(
        &mut app,
        &json!({"type":"role","role":"user","by":"Root"}).to_string(),
    );
    assert_eq!(app.role, Role::User);
    assert!(notice(&app).contains("Root made you an ordinary user"));
    assert_eq!(completes(&mut app, "/pro"), "/pro");
    assert!(!help_text(&mut app).contains("/promote"));
    assert!(!status_bar(&app).contains("admin"), "{}", status_bar(&app));

    frame(
        &mut app,
        &json!({"type":"role","role":"admin","by":null}).to_string(),
    );
    assert!(notice(&app).contains("the operator made you a server admin"));
    assert_eq!(completes(&mut app, "/pro"), "/promote ");
    assert!(status_bar(&app).contains("admin"));
}

// ---- muted ------------------------------------------------------------

#[test]
fn a_mute_shows_in_the_status_bar_and_refuses_public_and_group_sends_here() {
    let mut app = logged_in(
        "alice",
        json!({"chats":[{"chat":"@bob","user":"bob","online":true,"unread":0,"last_read":0}],
               "groups":[{"chat":"#rust","kind":"open","topic":"","role":"member","unread":0,"last_read":0}]}),
    );
    let until = app.now_ms + 30 * MIN; // 23:30
    frame(
        &mut app,
        &json!({"type":"muted","until":until,"by":"Root","reason":"too loud"}).to_string(),
    );
    assert!(
        notice(&app).contains("Root muted you in #public and groups until 23:30: too loud"),
        "{}",
        notice(&app)
    );
    assert!(
        status_bar(&app).contains("muted until 23:30"),
        "{}",
        status_bar(&app)
    );

    // #public: refused before anything is sent, the text stays.
    let cmds = run(&mut app, "hello all");
    assert!(requests(&cmds).is_empty());
    assert_eq!(draft(&app), "hello all");
    assert!(notice(&app).contains("muted"), "{}", notice(&app));
    ctrl(&mut app, 'u');
    // A group: the same.
    let rust = app.chats.find(&"#rust".parse_key()).expect("group tab");
    alt(&mut app, char::from(b'1' + rust as u8));
    let cmds = run(&mut app, "hi rustaceans");
    assert!(requests(&cmds).is_empty());
    assert_eq!(draft(&app), "hi rustaceans");
    ctrl(&mut app, 'u');
    // A private chat still works.
    alt(&mut app, '2');
    let cmds = run(&mut app, "psst");
    assert!(
        matches!(&requests(&cmds)[..], [Request::Send { chat, .. }] if chat == "@bob"),
        "{:?}",
        requests(&cmds)
    );

    // Once the time is up, sending works again without any event.
    alt(&mut app, '1');
    app.now_ms = until + 1;
    assert!(!status_bar(&app).contains("muted"));
    let cmds = run(&mut app, "back");
    assert_eq!(requests(&cmds).len(), 1);

    // For good, then lifted with until 0.
    frame(
        &mut app,
        &json!({"type":"muted","until":null,"by":null}).to_string(),
    );
    assert!(notice(&app).contains("the operator muted you in #public and groups for good"));
    assert!(
        status_bar(&app).contains("· muted "),
        "{}",
        status_bar(&app)
    );
    assert!(requests(&run(&mut app, "x")).is_empty());
    ctrl(&mut app, 'u');
    frame(
        &mut app,
        &json!({"type":"muted","until":0,"by":"Root"}).to_string(),
    );
    assert!(
        notice(&app).contains("Root unmuted you"),
        "{}",
        notice(&app)
    );
    assert!(!status_bar(&app).contains("muted"));
    assert_eq!(requests(&run(&mut app, "free")).len(), 1);
}

#[test]
fn the_servers_muted_answer_keeps_the_draft_and_a_welcome_says_muted() {
    let app = logged_in("alice", json!({"muted_until": null}));
    assert!(
        status_bar(&app).contains("· muted "),
        "{}",
        status_bar(&app)
    );

    let mut app = user();
    let cmds = run(&mut app, "hello");
    assert_eq!(requests(&cmds).len(), 1);
    // Muted from another place and the event not seen yet: the server says.
    let id = id_of(&cmds);
    let until = app.now_ms + 90 * MIN;
    frame(
        &mut app,
        &json!({"type":"error","id":id,"code":"muted","message":"muted","until":until}).to_string(),
    );
    assert_eq!(draft(&app), "hello", "the refused text comes back");
    assert!(
        notice(&app)
            .contains("not sent: you are muted in #public and groups until 2025-11-22 00:30"),
        "{}",
        notice(&app)
    );
    assert!(
        status_bar(&app).contains("muted until"),
        "{}",
        status_bar(&app)
    );

    // A welcome without muted_until clears it (unmuted while away).
    welcome(&mut app, "alice", json!({}));
    assert!(app.muted.is_none());
}

// ---- kicked and banned ------------------------------------------------

#[test]
fn a_kick_ends_the_session_on_the_login_form_and_keeps_the_drafts() {
    let mut app = user();
    type_str(&mut app, "half a thought");
    frame(
        &mut app,
        &json!({"type":"error","code":"kicked","fatal":true,"message":"kicked",
                "by":"Root","reason":"calm down"})
        .to_string(),
    );
    assert_eq!(app.screen, Screen::Login);
    assert!(matches!(app.conn, ConnState::Offline(_)));
    assert_eq!(
        app.login.error.as_deref(),
        Some("disconnected by Root: calm down")
    );
    assert!(screen(&app).contains("disconnected by Root: calm down"));

    // Logging in again (as the same user) brings the tab and its draft back.
    let cmds = welcome(&mut app, "alice", json!({}));
    assert!(sent(&cmds)
        .iter()
        .any(|f| matches!(f.request, Request::History { .. })));
    assert_eq!(app.screen, Screen::Chat);
    assert_eq!(draft(&app), "half a thought");

    frame(
        &mut app,
        &json!({"type":"error","code":"kicked","fatal":true,"message":"kicked","by":null})
            .to_string(),
    );
    assert_eq!(
        app.login.error.as_deref(),
        Some("disconnected by the operator")
    );
}

#[test]
fn a_ban_says_who_why_and_until_when_and_so_does_a_refused_login() {
    let mut app = user();
    let until = app.now_ms + 30 * MIN;
    frame(
        &mut app,
        &json!({"type":"error","code":"banned","fatal":true,"message":"banned",
                "until":until,"by":"Root","reason":"spam"})
        .to_string(),
    );
    assert_eq!(app.screen, Screen::Login);
    assert_eq!(
        app.login.error.as_deref(),
        Some("banned by Root until 23:30: spam")
    );
    // The user tries again: the server refuses the login with `until`.
    let mut e = ErrorFrame::new(Some(1), ErrorCode::Banned, "this account is banned for now");
    e.until = Some(Some(until + 24 * 60 * MIN));
    app.update(Event::Net(NetEvent::LoginFailed(e)));
    assert_eq!(
        app.login.error.as_deref(),
        Some("this account is banned until 2025-11-22 23:30")
    );

    let mut app = user();
    frame(
        &mut app,
        &json!({"type":"error","code":"banned","fatal":true,"message":"banned",
                "until":null,"by":null})
        .to_string(),
    );
    assert_eq!(
        app.login.error.as_deref(),
        Some("banned by the operator for good")
    );
    // Only a fatal kicked or banned ends the session.
    let mut app = user();
    frame(
        &mut app,
        &json!({"type":"error","id":99,"code":"banned","message":"b","until":null}).to_string(),
    );
    assert_eq!(app.screen, Screen::Chat);
}

// ---- the audit log ----------------------------------------------------

fn entry(seq: u64, ts: i64, actor: Value, action: &str, target: Value, detail: &str) -> Value {
    json!({"seq":seq,"ts":ts,"actor":actor,"action":action,"target":target,"detail":detail})
}

fn first_page() -> Value {
    json!([
        entry(
            120,
            T0 + 50 * MIN,
            json!("alice"),
            "ban",
            json!("Mallory"),
            "spamming links in #public for the third time today (60 minutes)"
        ),
        entry(
            119,
            T0 + 40 * MIN,
            json!(null),
            "set_role",
            json!("alice"),
            "admin"
        ),
        entry(
            118,
            T0 + 30 * MIN,
            json!("alice"),
            "delete_message",
            json!("#rust"),
            "msg 1842 by Evil\u{1b}[2J\u{7}"
        ),
        entry(
            117,
            T0 + 20 * MIN,
            json!("Evil"),
            "login",
            json!("Evil\u{202e}"),
            "127.0.0.1"
        ),
        entry(
            116,
            T0 + 10 * MIN,
            json!(null),
            "lockout",
            json!("bob"),
            "ip 10.0.0.7"
        ),
        entry(
            115,
            T0 - 24 * 60 * MIN,
            json!("alice"),
            "mute",
            json!("AVeryLongUserNameThatGoesOnAndOn"),
            "calm down"
        ),
    ])
}

/// An admin with the first page of the audit log shown.
fn with_audit() -> (tchat::client::App, u64) {
    let mut app = admin();
    let cmds = run(&mut app, "/audit");
    assert_eq!(
        requests(&cmds),
        [Request::Audit {
            before: None,
            limit: Some(50)
        }]
    );
    assert!(!app.audit.visible, "opens with the answer");
    let id = id_of(&cmds);
    frame(
        &mut app,
        &json!({"type":"audit","id":id,"entries":first_page(),"more":true}).to_string(),
    );
    assert!(app.audit.visible);
    (app, id)
}

#[test]
fn the_audit_view_scrolls_and_fetches_older_pages_with_before() {
    let (mut app, _) = with_audit();
    let text = screen(&app);
    assert!(text.contains("operator"), "{text}");
    assert!(!text.contains('\u{1b}') && !text.contains('\u{202e}'));
    // Keys stay in the view.
    type_str(&mut app, "x");
    assert_eq!(draft(&app), "", "typing does not reach the input");
    // The whole page fits on the screen: the first move asks for the
    // older page, once.
    let cmds = press(&mut app, KeyCode::Down);
    assert_eq!(app.audit.selected, 1);
    assert_eq!(
        requests(&cmds),
        [Request::Audit {
            before: Some(115),
            limit: Some(50)
        }]
    );
    assert!(requests(&press(&mut app, KeyCode::End)).is_empty());
    assert!(screen(&app).contains("loading older entries"));
    let id = id_of(&cmds);
    let older: Vec<Value> = (100..115)
        .rev()
        .map(|s| {
            entry(
                s,
                T0 - 30 * 60 * MIN,
                json!("alice"),
                "kick",
                json!("bob"),
                "",
            )
        })
        .collect();
    frame(
        &mut app,
        &json!({"type":"audit","id":id,"entries":older,"more":false}).to_string(),
    );
    assert_eq!(app.audit.entries.len(), 21);
    press(&mut app, KeyCode::End);
    assert_eq!(app.audit.selected, 20);
    assert!(
        screen(&app).contains("start of the log"),
        "{}",
        screen(&app)
    );
    assert!(requests(&press(&mut app, KeyCode::PageUp)).is_empty());
    press(&mut app, KeyCode::Esc);
    assert!(!app.audit.visible);
    assert_eq!(app.screen, Screen::Chat);
}

#[test]
fn the_audit_view_snapshot_and_narrow_sizes() {
    let (mut app, _) = with_audit();
    insta::assert_snapshot!("audit_view", screen(&app));
    for (w, h) in [(40, 12), (59, 20)] {
        app.update(Event::Resize(w, h));
        let text = screen(&app);
        assert!(text.contains("Audit log"), "{w}×{h}:\n{text}");
        assert!(text.contains("operator set_role alice"), "{w}×{h}:\n{text}");
        assert!(
            text.contains('…'),
            "{w}×{h}: long fields are elided\n{text}"
        );
        for line in text.lines() {
            assert!(unicode_width::UnicodeWidthStr::width(line) <= usize::from(w));
        }
    }
}

// ---- selecting and deleting messages --------------------------------

/// alice in `#public` with messages from bob and herself.
fn chatting(role: &str) -> tchat::client::App {
    let mut app = logged_in(
        "alice",
        json!({"role":role,"online":[{"user":"alice","status":"available"},{"user":"bob","status":"available"}]}),
    );
    let msgs = [
        (1, "bob", "good morning"),
        (2, "alice", "morning bob"),
        (3, "bob", "did you see the release notes?"),
        (4, "bob", "there is a lot in there"),
    ];
    for (id, from, text) in msgs {
        frame(
            &mut app,
            &msg_json("#public", id, T0 + id as i64 * MIN, from, text),
        );
    }
    app
}

fn select(app: &mut tchat::client::App) -> Vec<Command> {
    key(app, KeyCode::Up, KeyModifiers::CONTROL)
}

fn selected(app: &tchat::client::App) -> Option<u64> {
    app.select.current.as_ref().map(|s| s.msg_id)
}

#[test]
fn selection_moves_over_messages_and_deletes_own_after_yes() {
    let mut app = chatting("user");
    type_str(&mut app, "my draft");
    select(&mut app);
    assert_eq!(selected(&app), Some(4), "the newest message in view");
    let prompt = screen(&app);
    assert!(
        prompt.contains("bob's message of 22:04: ↑/↓ select · Esc back"),
        "{prompt}"
    );
    // Not hers: no delete offered, and d explains.
    assert!(requests(&type_str(&mut app, "d")).is_empty());
    assert!(notice(&app).contains("only your own"), "{}", notice(&app));
    press(&mut app, KeyCode::Up);
    press(&mut app, KeyCode::Up);
    assert_eq!(selected(&app), Some(2));
    assert!(screen(&app).contains("your message of 22:02: ↑/↓ select · d delete · Esc back"));
    // d asks; n does not delete.
    assert!(requests(&type_str(&mut app, "d")).is_empty());
    assert!(screen(&app).contains("delete your message of 22:02 for everyone? y / n"));
    assert!(requests(&type_str(&mut app, "n")).is_empty());
    assert_eq!(selected(&app), Some(2));
    type_str(&mut app, "d");
    let cmds = type_str(&mut app, "y");
    assert_eq!(
        requests(&cmds),
        [Request::DeleteMessage {
            chat: "#public".into(),
            msg_id: 2
        }]
    );
    assert_eq!(selected(&app), None, "done: back to the input");
    assert_eq!(draft(&app), "my draft", "the draft was never touched");
    ok(&mut app, &cmds);
    frame(
        &mut app,
        &json!({"type":"message_deleted","chat":"#public","msg_id":2,"by":"alice"}).to_string(),
    );
    assert!(
        screen(&app).contains("22:02 message deleted by alice"),
        "{}",
        screen(&app)
    );
    assert!(!screen(&app).contains("morning bob"));

    // Esc leaves; a letter leaves and is typed.
    select(&mut app);
    press(&mut app, KeyCode::Esc);
    assert_eq!(selected(&app), None);
    select(&mut app);
    type_str(&mut app, "!");
    assert_eq!(selected(&app), None);
    assert_eq!(draft(&app), "my draft!");
}

#[test]
fn who_may_delete_what() {
    // An admin in #public: anyone's.
    let mut app = chatting("admin");
    select(&mut app);
    type_str(&mut app, "d");
    let cmds = type_str(&mut app, "y");
    assert_eq!(
        requests(&cmds),
        [Request::DeleteMessage {
            chat: "#public".into(),
            msg_id: 4
        }]
    );
    // A refusal is shown inline.
    refuse(&mut app, &cmds, "forbidden", "not yours");
    assert!(notice(&app).contains("not allowed: not yours"));

    // A private chat: only one's own, even as an admin.
    let mut app = logged_in(
        "alice",
        json!({"role":"admin","chats":[{"chat":"@bob","user":"bob","online":true,"unread":0,"last_read":0}]}),
    );
    alt(&mut app, '2');
    frame(&mut app, &msg_json("@bob", 5, T0, "alice", "mine"));
    frame(&mut app, &msg_json("@bob", 6, T0 + MIN, "bob", "his"));
    select(&mut app);
    assert_eq!(selected(&app), Some(6));
    type_str(&mut app, "d");
    assert!(requests(&type_str(&mut app, "y")).is_empty());
    assert!(!app.select.current.as_ref().is_some_and(|s| s.confirm));
    press(&mut app, KeyCode::Esc);
    select(&mut app);
    press(&mut app, KeyCode::Up);
    type_str(&mut app, "d");
    let cmds = type_str(&mut app, "y");
    assert_eq!(
        requests(&cmds),
        [Request::DeleteMessage {
            chat: "@bob".into(),
            msg_id: 5
        }]
    );

    // A group: a mod deletes anyone's, a member only their own.
    for (role, may) in [("mod", true), ("member", false), ("owner", true)] {
        let mut app = logged_in("alice", json!({}));
        frame(
            &mut app,
            &json!({"type":"group_joined","chat":"#rust","kind":"open","topic":"","role":role,
                    "members":[{"user":"alice","role":role,"online":true,"status":"available"}]})
            .to_string(),
        );
        alt(&mut app, '2');
        frame(&mut app, &msg_json("#rust", 9, T0, "bob", "hi"));
        select(&mut app);
        type_str(&mut app, "d");
        let cmds = type_str(&mut app, "y");
        assert_eq!(!requests(&cmds).is_empty(), may, "{role}");
    }
}

#[test]
fn a_selected_message_deleted_meanwhile_is_never_confused_with_another() {
    let mut app = chatting("admin");
    select(&mut app);
    press(&mut app, KeyCode::Up);
    assert_eq!(selected(&app), Some(3));
    type_str(&mut app, "d");
    // Someone else deletes it while the question waits.
    frame(
        &mut app,
        &json!({"type":"message_deleted","chat":"#public","msg_id":3,"by":"Root"}).to_string(),
    );
    assert_eq!(selected(&app), None);
    assert!(notice(&app).contains("deleted by Root"));
    let cmds = type_str(&mut app, "y");
    assert!(requests(&cmds).is_empty(), "the y is only typed");
    assert_eq!(draft(&app), "y");
    // Deleted messages are skipped when moving.
    ctrl(&mut app, 'u');
    select(&mut app);
    press(&mut app, KeyCode::Up);
    assert_eq!(selected(&app), Some(2));
    // Switching tabs leaves the selection.
    alt(&mut app, '2');
    assert_eq!(selected(&app), None);
}

#[test]
fn selection_scrolls_the_chat_to_keep_the_message_in_view() {
    let mut app = logged_in("alice", json!({}));
    for id in 1..=60u64 {
        frame(
            &mut app,
            &msg_json(
                "#public",
                id,
                T0 + id as i64 * 1000,
                "bob",
                &format!("message number {id}"),
            ),
        );
    }
    select(&mut app);
    assert_eq!(selected(&app), Some(60));
    for _ in 0..40 {
        press(&mut app, KeyCode::Up);
    }
    assert_eq!(selected(&app), Some(20));
    assert!(app.chats[0].scroll.is_some(), "scrolled up");
    let text = screen(&app);
    assert!(text.contains("message number 20\n"), "{text}");
    press(&mut app, KeyCode::PageDown);
    assert_eq!(selected(&app), Some(30));
    assert!(screen(&app).contains("message number 30\n"));
    press(&mut app, KeyCode::End);
    assert_eq!(selected(&app), Some(60));
    assert!(screen(&app).contains("message number 60\n"));
    press(&mut app, KeyCode::Home);
    assert_eq!(selected(&app), Some(1));
    assert!(screen(&app).contains("message number 1\n"));
}

#[test]
fn deleted_messages_from_history_and_events_show_as_quiet_lines() {
    let mut app = new_app();
    let cmds = welcome(&mut app, "alice", json!({}));
    let id = history_id(&cmds, "#public").expect("history");
    let mut gone: Value =
        serde_json::from_str(&msg_json("#public", 2, T0 + MIN, "bob", "")).unwrap();
    gone["deleted"] = json!(true);
    frame(
        &mut app,
        &history_json(
            id,
            "#public",
            &[
                msg_json("#public", 1, T0, "bob", "before"),
                gone.to_string(),
                msg_json("#public", 3, T0 + 2 * MIN, "carol", "rude words here"),
            ],
            false,
        ),
    );
    frame(
        &mut app,
        &json!({"type":"message_deleted","chat":"#public","msg_id":3,"by":"Root"}).to_string(),
    );
    let text = screen(&app);
    assert!(text.contains("22:01 message deleted\n"), "{text}");
    assert!(text.contains("22:02 message deleted by Root"), "{text}");
    assert!(!text.contains("rude words"), "{text}");
    insta::assert_snapshot!("deleted_messages", text);
    // An event for a message not loaded, or another chat, changes nothing.
    frame(
        &mut app,
        &json!({"type":"message_deleted","chat":"#public","msg_id":99,"by":"Root"}).to_string(),
    );
    frame(
        &mut app,
        &json!({"type":"message_deleted","chat":"#nowhere","msg_id":1,"by":"Root"}).to_string(),
    );
    assert!(screen(&app).contains("bob: before"));
}

// ---- snapshots of the other screens ---------------------------------

#[test]
fn selection_with_the_delete_question_snapshot() {
    let mut app = chatting("admin");
    select(&mut app);
    press(&mut app, KeyCode::Up);
    insta::assert_snapshot!("selection", screen(&app));
    type_str(&mut app, "d");
    insta::assert_snapshot!("selection_confirm", screen(&app));
    // The selected row is marked by its style as well.
    let term = render(&app);
    let buf = term.backend().buffer();
    let styles = &app.theme.styles;
    let y = screen(&app)
        .lines()
        .position(|l| l.contains("did you see"))
        .expect("selected row") as u16;
    assert_eq!(buf[(20, y)].bg, styles.selected.bg.unwrap_or_default());
    for (w, h) in [(40, 12), (59, 20)] {
        app.update(Event::Resize(w, h));
        let text = screen(&app);
        assert!(text.contains("y / n"), "{w}×{h}:\n{text}");
        assert!(text.contains('▶'), "{w}×{h}:\n{text}");
    }
}

#[test]
fn login_screen_after_a_ban_snapshot() {
    let mut app = user();
    let until = app.now_ms + 30 * MIN;
    frame(
        &mut app,
        &json!({"type":"error","code":"banned","fatal":true,"message":"banned",
                "until":until,"by":"Root","reason":"spam"})
        .to_string(),
    );
    insta::assert_snapshot!("login_banned", screen(&app));
    for (w, h) in [(40, 12), (59, 20)] {
        app.update(Event::Resize(w, h));
        let text = screen(&app);
        assert!(text.contains("banned by Root"), "{w}×{h}:\n{text}");
    }
}

#[test]
fn status_bar_while_muted_and_as_admin_snapshot() {
    let mut app = admin();
    let until = app.now_ms + 30 * MIN;
    frame(
        &mut app,
        &json!({"type":"muted","until":until,"by":"Root"}).to_string(),
    );
    insta::assert_snapshot!("status_muted_admin", screen(&app));
    for (w, h) in [(40, 12), (59, 20)] {
        app.update(Event::Resize(w, h));
        let bar = status_bar(&app);
        assert!(bar.contains("muted until 23:30"), "{w}×{h}: {bar}");
        assert!(bar.ends_with("F1 help"), "{w}×{h}: {bar}");
    }
}

/// `"#rust".parse_key()`: a chat key from a string.
trait ParseKey {
    fn parse_key(&self) -> tchat::protocol::ChatKey;
}

impl ParseKey for str {
    fn parse_key(&self) -> tchat::protocol::ChatKey {
        tchat::protocol::ChatKey::parse(self).expect("a chat key")
    }
}

/// Every administration screen draws at any size, tiny ones included.
#[test]
fn admin_screens_draw_at_any_size_without_panicking() {
    let (audit, _) = with_audit();
    let mut selecting = chatting("admin");
    select(&mut selecting);
    type_str(&mut selecting, "d");
    let mut banned = user();
    frame(
        &mut banned,
        &json!({"type":"error","code":"banned","fatal":true,"message":"b",
                "until":i64::MAX,"by":"Root","reason":"r".repeat(600)})
        .to_string(),
    );
    let mut muted = admin();
    frame(
        &mut muted,
        &json!({"type":"muted","until":i64::MIN,"by":null,"reason":"x"}).to_string(),
    );
    frame(
        &mut muted,
        &json!({"type":"muted","until":i64::MAX,"by":null}).to_string(),
    );
    for mut app in [audit, selecting, banned, muted] {
        for (w, h) in [
            (1, 1),
            (2, 3),
            (10, 4),
            (20, 6),
            (33, 9),
            (40, 12),
            (59, 20),
            (200, 60),
        ] {
            app.update(Event::Resize(w, h));
            let _ = screen(&app);
            press(&mut app, KeyCode::PageUp);
            let _ = screen(&app);
        }
    }
}

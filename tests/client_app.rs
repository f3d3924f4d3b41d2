//! `App::update` driven by scripted keys and server frames, no terminal.

mod client_support;

use std::time::Duration;

use client_support::*;
use crossterm::event::{KeyCode, KeyModifiers};
use serde_json::json;
use tchat::client::app::{Attention, ConnState, Screen};
use tchat::client::{Command, Event, NetEvent};
use tchat::protocol::{ChatKey, ErrorCode, ErrorFrame, Request, Status};

fn connect_cmd(cmds: &[Command]) -> Option<tchat::client::Credentials> {
    cmds.iter().find_map(|c| match c {
        Command::Connect(c) => Some(c.clone()),
        _ => None,
    })
}

fn draft(app: &tchat::client::App) -> String {
    app.draft().lines().join("\n")
}

/// Registering: the password is typed twice, and two that differ are
/// refused here, before anything is sent.
#[test]
fn registering_asks_for_the_password_twice_and_refuses_a_mismatch_locally() {
    use tchat::client::login::{Field, MISMATCH};
    let mut app = new_app();
    ctrl(&mut app, 'r');
    type_str(&mut app, "alice");
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.login.focus, Field::Password);
    type_str(&mut app, "correct horse");
    press(&mut app, KeyCode::Tab);
    assert_eq!(
        app.login.focus,
        Field::Confirm,
        "register mode has a confirm field"
    );

    // Not confirmed yet.
    let cmds = press(&mut app, KeyCode::Enter);
    assert!(connect_cmd(&cmds).is_none(), "nothing is sent: {cmds:?}");
    assert!(app.login.error.as_deref().unwrap_or("").contains("again"));
    assert_eq!(app.login.focus, Field::Confirm);

    // A typo: refused with a clear message, the focus on the confirmation,
    // which is emptied for a new try; the password itself is kept.
    type_str(&mut app, "correct hrose");
    let cmds = press(&mut app, KeyCode::Enter);
    assert!(connect_cmd(&cmds).is_none(), "nothing is sent: {cmds:?}");
    assert!(cmds.is_empty(), "{cmds:?}");
    assert_eq!(app.login.error.as_deref(), Some(MISMATCH));
    assert_eq!(app.login.focus, Field::Confirm);
    assert!(app.login.confirm.is_empty());
    assert!(!app.login.busy);
    assert_eq!(app.conn, ConnState::Offline(None));

    // The same twice: registered.
    type_str(&mut app, "correct horse");
    let cmds = press(&mut app, KeyCode::Enter);
    let creds = connect_cmd(&cmds).expect("a matching pair registers");
    assert!(creds.register);
    assert_eq!(creds.password.0, "correct horse");
    assert_eq!(app.login.error, None);
}

/// Logging in has no confirmation: Tab skips it, and switching back from
/// register mode moves the focus off it.
#[test]
fn logging_in_has_no_confirm_field() {
    use tchat::client::login::Field;
    let mut app = new_app();
    type_str(&mut app, "alice");
    press(&mut app, KeyCode::Tab);
    type_str(&mut app, "correct horse");
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.login.focus, Field::Mode);
    ctrl(&mut app, 'r');
    press(&mut app, KeyCode::BackTab);
    assert_eq!(app.login.focus, Field::Confirm);
    ctrl(&mut app, 'r');
    assert_eq!(app.login.focus, Field::Password);
    let cmds = press(&mut app, KeyCode::Enter);
    assert!(
        connect_cmd(&cmds).is_some(),
        "a login needs no confirmation"
    );
}

#[test]
fn login_form_submits_credentials_and_keeps_the_form_on_errors() {
    let mut app = new_app();
    assert_eq!(app.screen, Screen::Login);
    type_str(&mut app, "alice");
    press(&mut app, KeyCode::Tab);
    type_str(&mut app, "correct horse");
    let cmds = press(&mut app, KeyCode::Enter);
    let creds = connect_cmd(&cmds).expect("Enter logs in");
    assert_eq!(creds.user, "alice");
    assert_eq!(creds.password.0, "correct horse");
    assert_eq!(creds.server, "127.0.0.1:7700");
    assert!(!creds.register);
    assert!(app.login.busy);

    app.update(Event::Net(NetEvent::LoginFailed(ErrorFrame::new(
        Some(1),
        ErrorCode::BadCredentials,
        "bad credentials",
    ))));
    assert_eq!(app.screen, Screen::Login);
    assert!(!app.login.busy);
    assert_eq!(
        app.login.error.as_deref(),
        Some("wrong user name or password")
    );
    assert_eq!(app.login.user_text(), "alice", "the form is kept");

    let locked = ErrorFrame::new(Some(2), ErrorCode::LockedOut, "locked").retry_after(272_000);
    app.update(Event::Net(NetEvent::LoginFailed(locked)));
    let err = app.login.error.clone().unwrap_or_default();
    assert!(
        err.contains("locked out") && err.contains("4m 32s"),
        "{err}"
    );

    // Register mode: a taken name and an invalid password are explained.
    ctrl(&mut app, 'r');
    assert!(app.login.register);
    // The password is still there; it is confirmed.
    press(&mut app, KeyCode::Tab);
    type_str(&mut app, "correct horse");
    let cmds = press(&mut app, KeyCode::Enter);
    let creds = connect_cmd(&cmds).expect("register submits");
    assert!(creds.register);
    app.update(Event::Net(NetEvent::LoginFailed(ErrorFrame::new(
        Some(3),
        ErrorCode::NameTaken,
        "taken",
    ))));
    assert!(app.login.error.as_deref().unwrap_or("").contains("taken"));

    let cmds = welcome(&mut app, "alice", json!({}));
    assert_eq!(app.screen, Screen::Chat);
    assert_eq!(app.conn, ConnState::Connected);
    assert!(
        history_id(&cmds, "#public").is_some(),
        "public history loads"
    );
}

#[test]
fn login_rules_are_checked_before_connecting() {
    let mut app = new_app();
    ctrl(&mut app, 'r');
    type_str(&mut app, "9lives");
    press(&mut app, KeyCode::Tab);
    type_str(&mut app, "short");
    let cmds = press(&mut app, KeyCode::Enter);
    assert!(connect_cmd(&cmds).is_none());
    assert!(app
        .login
        .error
        .as_deref()
        .unwrap_or("")
        .contains("start with a letter"));
    // fix the name; the password rule is next
    for _ in 0..6 {
        press(&mut app, KeyCode::Backspace);
    }
    type_str(&mut app, "alice");
    let cmds = press(&mut app, KeyCode::Enter);
    assert!(connect_cmd(&cmds).is_none());
    assert!(app
        .login
        .error
        .as_deref()
        .unwrap_or("")
        .contains("at least 8 bytes"));
}

fn three_tabs() -> tchat::client::App {
    logged_in(
        "alice",
        json!({"chats":[
            {"chat":"@Bob","user":"Bob","online":true,"unread":0,"last_read":0},
            {"chat":"@Carol","user":"Carol","online":false,"unread":0,"last_read":0}
        ]}),
    )
}

#[test]
fn tab_keys_jump_cycle_and_wrap() {
    let mut app = three_tabs();
    assert_eq!(app.tab_count(), 4);
    alt(&mut app, '2');
    assert_eq!(app.active, 1);
    alt(&mut app, '4');
    assert_eq!(app.active, app.inbox_tab());
    alt(&mut app, '9'); // no such tab
    assert_eq!(app.active, app.inbox_tab());
    ctrl(&mut app, 'n');
    assert_eq!(app.active, 0, "Ctrl-N wraps");
    ctrl(&mut app, 'p');
    assert_eq!(app.active, app.inbox_tab(), "Ctrl-P wraps");
}

#[test]
fn alt_a_goes_to_private_and_mentions_first() {
    let mut app = three_tabs();
    alt(&mut app, '4'); // inbox
    frame(&mut app, &msg_json("#public", 10, T0, "Dave", "hello all"));
    frame(&mut app, &msg_json("@Carol", 11, T0, "Carol", "psst"));
    assert_eq!(app.chats[0].attention, Attention::Activity);
    assert_eq!(app.chats[2].attention, Attention::Highlight);
    alt(&mut app, 'a');
    assert_eq!(app.active, 2, "the private message first");
    alt(&mut app, 'a');
    assert_eq!(app.active, 0, "then ordinary activity");
    assert_eq!(app.chats[0].unread, 0);
}

#[test]
fn inbox_accept_reject_cancel_send_the_right_frames() {
    let mut app = logged_in(
        "alice",
        json!({
            "requests_in":[{"from":"Carol","ts":T0},{"from":"Dave","ts":T0}],
            "requests_out":[{"to":"Eve","ts":T0}]
        }),
    );
    alt(&mut app, '2');
    assert_eq!(app.active, app.inbox_tab());
    let cmds = type_str(&mut app, "a");
    let accept = sent(&cmds);
    assert_eq!(
        accept.iter().map(|f| f.request.clone()).collect::<Vec<_>>(),
        [Request::Accept {
            user: "Carol".into()
        }]
    );
    assert!(draft(&app).is_empty(), "the key was not typed");
    let id = accept[0].id.expect("accept carries an id");
    frame(&mut app, &json!({"type":"ok","id":id}).to_string());
    let cmds = frame(
        &mut app,
        &json!({"type":"chat_opened","chat":"@Carol","user":"Carol","ts":T0}).to_string(),
    );
    assert_eq!(app.chats.len(), 2);
    assert_eq!(app.active, 1, "the new private tab has the focus");
    assert_eq!(app.chats[1].key, ChatKey::parse("@Carol").unwrap());
    assert!(history_id(&cmds, "@Carol").is_some());

    alt(&mut app, '3');
    assert_eq!(app.inbox.incoming.len(), 1);
    let cmds = type_str(&mut app, "r");
    assert_eq!(
        requests(&cmds),
        [Request::Reject {
            user: "Dave".into()
        }]
    );
    let id = sent(&cmds)[0].id.unwrap();
    frame(&mut app, &json!({"type":"ok","id":id}).to_string());
    assert!(app.inbox.incoming.is_empty());

    // 'a' on an outgoing request does nothing but explain
    let cmds = type_str(&mut app, "a");
    assert!(requests(&cmds).is_empty());
    let cmds = type_str(&mut app, "c");
    assert_eq!(
        requests(&cmds),
        [Request::CancelRequest { user: "Eve".into() }]
    );
    let id = sent(&cmds)[0].id.unwrap();
    frame(&mut app, &json!({"type":"ok","id":id}).to_string());
    assert!(app.inbox.outgoing.is_empty());
}

#[test]
fn incoming_request_shows_in_the_inbox_and_rings() {
    let mut app = logged_in("alice", json!({}));
    let cmds = frame(
        &mut app,
        &json!({"type":"chat_request","from":"Bob","ts":T0}).to_string(),
    );
    assert!(cmds.contains(&Command::Bell));
    assert_eq!(app.inbox.incoming.len(), 1);
    frame(
        &mut app,
        &json!({"type":"chat_request_removed","user":"Bob"}).to_string(),
    );
    assert!(app.inbox.incoming.is_empty());
}

#[test]
fn commands_send_frames_and_errors_keep_the_draft() {
    let mut app = logged_in("alice", json!({}));
    type_str(&mut app, "/status busy");
    let cmds = press(&mut app, KeyCode::Enter);
    assert_eq!(
        requests(&cmds),
        [Request::SetStatus {
            status: Status::Busy
        }]
    );
    let id = sent(&cmds)[0].id.unwrap();
    frame(&mut app, &json!({"type":"ok","id":id}).to_string());
    assert_eq!(app.status, Status::Busy);

    type_str(&mut app, "/chat bob");
    let cmds = press(&mut app, KeyCode::Enter);
    assert_eq!(
        requests(&cmds),
        [Request::RequestChat { user: "bob".into() }]
    );
    let id = sent(&cmds)[0].id.unwrap();
    frame(
        &mut app,
        &json!({"type":"error","id":id,"code":"no_such_user","message":"no user bob"}).to_string(),
    );
    assert!(app
        .notice
        .as_ref()
        .is_some_and(|n| n.error && n.text.contains("no such user")));
    assert_eq!(draft(&app), "/chat bob", "a refused command comes back");
    ctrl(&mut app, 'u');

    type_str(&mut app, "/frobnicate now");
    let cmds = press(&mut app, KeyCode::Enter);
    assert!(requests(&cmds).is_empty());
    assert_eq!(draft(&app), "/frobnicate now", "the draft is kept");
    assert!(app
        .notice
        .as_ref()
        .is_some_and(|n| n.text.contains("unknown command /frobnicate")));
    ctrl(&mut app, 'u');

    type_str(&mut app, "/end");
    press(&mut app, KeyCode::Enter);
    assert!(app.notice.as_ref().is_some_and(|n| n.error));
    assert_eq!(draft(&app), "/end");
    ctrl(&mut app, 'u');

    type_str(&mut app, "/theme light");
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.theme.name, "light");
    type_str(&mut app, "/theme nope");
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.theme.name, "light");
    assert_eq!(draft(&app), "/theme nope");
    ctrl(&mut app, 'u');

    type_str(&mut app, "/who");
    let cmds = press(&mut app, KeyCode::Enter);
    assert_eq!(requests(&cmds), [Request::Who]);

    type_str(&mut app, "/quit");
    let cmds = press(&mut app, KeyCode::Enter);
    assert!(cmds.contains(&Command::Quit));
}

#[test]
fn sending_a_message_and_a_refused_send_restores_the_draft() {
    let mut app = logged_in("alice", json!({}));
    type_str(&mut app, "hello");
    let cmds = press(&mut app, KeyCode::Enter);
    let frames = sent(&cmds);
    assert_eq!(
        frames[0].request,
        Request::Send {
            chat: "#public".into(),
            text: "hello".into()
        }
    );
    assert!(draft(&app).is_empty());
    let id = frames[0].id.unwrap();
    frame(
        &mut app,
        &json!({"type":"error","id":id,"code":"rate_limited","message":"slow","retry_after_ms":1500}).to_string(),
    );
    assert_eq!(draft(&app), "hello");
    assert!(app
        .notice
        .as_ref()
        .is_some_and(|n| n.text.contains("try again in 2s")));
}

#[test]
fn each_tab_keeps_its_own_draft() {
    let mut app = three_tabs();
    type_str(&mut app, "for everyone");
    alt(&mut app, '2');
    assert!(draft(&app).is_empty());
    type_str(&mut app, "for bob");
    ctrl(&mut app, 'p');
    assert_eq!(draft(&app), "for everyone");
    alt(&mut app, '2');
    assert_eq!(draft(&app), "for bob");
}

#[test]
fn a_paste_stays_one_draft_and_is_never_sent_by_itself() {
    let mut app = logged_in("alice", json!({}));
    let cmds = app.update(Event::Paste("line one\r\nline two\nline three\n".into()));
    assert!(sent(&cmds).is_empty(), "a paste is not sent");
    assert_eq!(draft(&app), "line one\nline two\nline three\n");
    press(&mut app, KeyCode::Backspace);
    key(&mut app, KeyCode::Enter, KeyModifiers::ALT);
    type_str(&mut app, "four");
    let cmds = press(&mut app, KeyCode::Enter);
    assert_eq!(
        requests(&cmds),
        [Request::Send {
            chat: "#public".into(),
            text: "line one\nline two\nline three\nfour".into()
        }]
    );
}

#[test]
fn input_history_and_editing_keys() {
    let mut app = logged_in("alice", json!({}));
    type_str(&mut app, "first");
    press(&mut app, KeyCode::Enter);
    type_str(&mut app, "second");
    press(&mut app, KeyCode::Enter);
    type_str(&mut app, "draft");
    press(&mut app, KeyCode::Up);
    assert_eq!(draft(&app), "second");
    press(&mut app, KeyCode::Up);
    assert_eq!(draft(&app), "first");
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Down);
    assert_eq!(draft(&app), "draft", "the unsent draft comes back");
    type_str(&mut app, " two words");
    ctrl(&mut app, 'w');
    assert_eq!(draft(&app), "draft two ");
    ctrl(&mut app, 'a');
    type_str(&mut app, ">");
    ctrl(&mut app, 'e');
    type_str(&mut app, "<");
    assert_eq!(draft(&app), ">draft two <");
    ctrl(&mut app, 'a');
    ctrl(&mut app, 'k');
    assert_eq!(draft(&app), "");
}

#[test]
fn tab_completes_nicks_and_commands() {
    let mut app = logged_in(
        "alice",
        json!({"online":[{"user":"alice","status":"available"},{"user":"Bobby","status":"away"}]}),
    );
    type_str(&mut app, "bo");
    press(&mut app, KeyCode::Tab);
    assert_eq!(draft(&app), "Bobby: ");
    ctrl(&mut app, 'u');
    type_str(&mut app, "/sta");
    press(&mut app, KeyCode::Tab);
    assert_eq!(draft(&app), "/status ");
}

#[test]
fn reconnect_catches_up_after_the_last_seen_message_without_duplicates() {
    let mut app = logged_in("alice", json!({}));
    for (id, text) in [(1, "one"), (2, "two"), (3, "three")] {
        frame(&mut app, &msg_json("#public", id, T0, "Bob", text));
    }
    // the same message delivered twice is shown once
    frame(&mut app, &msg_json("#public", 3, T0, "Bob", "three"));
    assert_eq!(app.chats[0].log.len(), 3);
    type_str(&mut app, "unsent draft");

    app.update(Event::Net(NetEvent::Lost {
        reason: "reset".into(),
        retry_in: Duration::from_secs(2),
    }));
    assert_eq!(app.conn, ConnState::Reconnecting { secs: 2 });
    let cmds = press(&mut app, KeyCode::Enter);
    assert!(sent(&cmds).is_empty(), "nothing is sent while offline");
    assert_eq!(draft(&app), "unsent draft");

    let cmds = welcome(&mut app, "alice", json!({"public_unread":2}));
    let frames = sent(&cmds);
    let catch_up = frames
        .iter()
        .find(|f| matches!(f.request, Request::History { .. }))
        .expect("history after the reconnect");
    match &catch_up.request {
        Request::History {
            chat,
            after,
            before,
            ..
        } => {
            assert_eq!(chat, "#public");
            assert_eq!(*after, Some(3));
            assert_eq!(*before, None);
        }
        other => panic!("unexpected {other:?}"),
    }
    let id = catch_up.id.unwrap();
    // A live message arrives before the catch-up page: the next page must
    // still start after the page, not after this one.
    frame(&mut app, &msg_json("#public", 9, T0, "Bob", "live"));
    let cmds = frame(
        &mut app,
        &history_json(
            id,
            "#public",
            &[
                msg_json("#public", 3, T0, "Bob", "three"),
                msg_json("#public", 4, T0, "Bob", "four"),
            ],
            true,
        ),
    );
    // `more` → the next page after 4
    let next = sent(&cmds)
        .into_iter()
        .find(|f| matches!(f.request, Request::History { .. }))
        .expect("next page");
    assert!(matches!(
        next.request,
        Request::History { after: Some(4), .. }
    ));
    frame(
        &mut app,
        &history_json(
            next.id.unwrap(),
            "#public",
            &[msg_json("#public", 5, T0, "Bob", "five")],
            false,
        ),
    );
    let ids: Vec<u64> = app.chats[0]
        .log
        .entries()
        .iter()
        .filter_map(|e| e.msg_id())
        .collect();
    assert_eq!(ids, [1, 2, 3, 4, 5, 9]);
    assert_eq!(draft(&app), "unsent draft", "the draft survives");
    assert_eq!(app.screen, Screen::Chat);
}

#[test]
fn reading_the_newest_message_moves_the_read_marker() {
    let mut app = logged_in("alice", json!({}));
    let cmds = frame(&mut app, &msg_json("#public", 7, T0, "Bob", "hi"));
    assert!(sent(&cmds).iter().any(|f| f.request
        == Request::MarkRead {
            chat: "#public".into(),
            msg_id: 7
        }));
    // in another tab the message is not seen: no marker move, unread counts
    alt(&mut app, '2');
    let cmds = frame(
        &mut app,
        &msg_json("#public", 8, T0, "Bob", "alice: you there?"),
    );
    assert!(!sent(&cmds)
        .iter()
        .any(|f| matches!(f.request, Request::MarkRead { .. })));
    assert!(cmds.contains(&Command::Bell), "a mention rings");
    assert_eq!(app.chats[0].unread, 1);
    assert_eq!(app.chats[0].attention, Attention::Highlight);
    let cmds = alt(&mut app, '1');
    assert!(sent(&cmds).iter().any(|f| f.request
        == Request::MarkRead {
            chat: "#public".into(),
            msg_id: 8
        }));
    assert_eq!(app.chats[0].unread, 0);
    assert_eq!(app.chats[0].marker_after, Some(7), "new messages line");
}

#[test]
fn bell_can_be_turned_off() {
    let mut app = logged_in("alice", json!({}));
    app.settings.bell = false;
    alt(&mut app, '2');
    let cmds = frame(&mut app, &msg_json("@Bob", 9, T0, "Bob", "psst"));
    assert!(!cmds.contains(&Command::Bell));
    assert_eq!(app.chats.len(), 2, "a message opens its private tab");
}

#[test]
fn scrolling_to_the_top_asks_for_older_history() {
    let mut app = new_app();
    let cmds = welcome(&mut app, "alice", json!({}));
    let id = history_id(&cmds, "#public").unwrap();
    let page: Vec<String> = (100..150)
        .map(|i| msg_json("#public", i, T0 + i as i64 * 1000, "Bob", &format!("m{i}")))
        .collect();
    frame(&mut app, &history_json(id, "#public", &page, true));
    let cmds = press(&mut app, KeyCode::PageUp);
    assert!(history_id(&cmds, "#public").is_none(), "not at the top yet");
    let cmds = key(&mut app, KeyCode::Home, KeyModifiers::CONTROL);
    let older = sent(&cmds)
        .into_iter()
        .find(|f| matches!(f.request, Request::History { .. }))
        .expect("older page requested");
    assert!(matches!(
        older.request,
        Request::History {
            before: Some(100),
            ..
        }
    ));
    let older_page: Vec<String> = (60..100)
        .map(|i| msg_json("#public", i, T0 + i as i64 * 1000, "Bob", &format!("m{i}")))
        .collect();
    frame(
        &mut app,
        &history_json(older.id.unwrap(), "#public", &older_page, false),
    );
    assert_eq!(app.chats[0].log.len(), 90);
    assert!(!app.chats[0].more_older);
    // the view stayed where it was: m100 is still at the top rows
    let text = screen(&app);
    assert!(text.contains("m100"), "{text}");
    press(&mut app, KeyCode::End);
    assert!(app.chats[0].scroll.is_none());
}

#[test]
fn presence_changes_are_quiet_lines_in_public() {
    let mut app = logged_in("alice", json!({}));
    frame(
        &mut app,
        &json!({"type":"presence","user":"Bob","online":true,"status":"available"}).to_string(),
    );
    frame(
        &mut app,
        &json!({"type":"presence","user":"Bob","online":true,"status":"away"}).to_string(),
    );
    frame(
        &mut app,
        &json!({"type":"presence","user":"Bob","online":false,"status":"away"}).to_string(),
    );
    let lines: Vec<&str> = app.chats[0]
        .log
        .entries()
        .iter()
        .map(|e| e.text())
        .collect();
    assert_eq!(lines, ["Bob joined", "Bob is now away", "Bob left"]);
    assert_eq!(app.online.len(), 1);
}

#[test]
fn people_panel_enter_requests_a_chat_or_switches() {
    let mut app = logged_in(
        "alice",
        json!({"online":[{"user":"alice","status":"available"},{"user":"Bob","status":"busy"}],
               "chats":[]}),
    );
    press(&mut app, KeyCode::F(2));
    assert!(app.people.visible);
    press(&mut app, KeyCode::Down);
    let cmds = press(&mut app, KeyCode::Enter);
    assert_eq!(
        requests(&cmds),
        [Request::RequestChat { user: "Bob".into() }]
    );
    frame(
        &mut app,
        &json!({"type":"chat_opened","chat":"@Bob","user":"Bob","ts":T0}).to_string(),
    );
    assert_eq!(app.active, 1, "the requester's tab opens focused");
    alt(&mut app, '1');
    press(&mut app, KeyCode::F(2));
    press(&mut app, KeyCode::Down);
    let cmds = press(&mut app, KeyCode::Enter);
    assert!(requests(&cmds).is_empty());
    assert_eq!(app.active, 1, "an open chat is switched to");
}

#[test]
fn chat_ended_closes_the_tab() {
    let mut app = three_tabs();
    alt(&mut app, '2');
    type_str(&mut app, "/end");
    let cmds = press(&mut app, KeyCode::Enter);
    assert_eq!(requests(&cmds), [Request::EndChat { user: "Bob".into() }]);
    frame(
        &mut app,
        &json!({"type":"chat_ended","chat":"@Bob","user":"Bob","by":"alice"}).to_string(),
    );
    assert_eq!(app.chats.len(), 2);
    assert_eq!(app.active, 0);
}

#[test]
fn a_chat_ended_by_the_peer_keeps_the_tab_and_the_draft() {
    let mut app = three_tabs();
    alt(&mut app, '2');
    let bob = app.active;
    type_str(&mut app, "wait, one more thing");
    frame(
        &mut app,
        &json!({"type":"chat_ended","chat":"@Bob","user":"Bob","by":"Bob"}).to_string(),
    );
    assert_eq!(app.active, bob, "the focus stays");
    assert_eq!(app.chats.len(), 3, "the tab stays");
    assert_eq!(
        app.chats[bob].draft.lines().join("\n"),
        "wait, one more thing"
    );
    assert!(app.chats[bob]
        .closed
        .as_deref()
        .is_some_and(|w| w.contains("Bob ended the private chat")));
    // Enter does not send into an ended chat and keeps the draft.
    let cmds = press(&mut app, KeyCode::Enter);
    assert!(requests(&cmds).is_empty());
    assert_eq!(
        app.chats[bob].draft.lines().join("\n"),
        "wait, one more thing"
    );
    // `/chat Bob` goes to that tab and asks for the chat again.
    alt(&mut app, '1');
    type_str(&mut app, "/chat Bob");
    let cmds = press(&mut app, KeyCode::Enter);
    assert_eq!(
        requests(&cmds),
        [Request::RequestChat { user: "Bob".into() }]
    );
    assert_eq!(app.active, bob);
    // Opened again, the same tab is live again, draft and all.
    frame(
        &mut app,
        &json!({"type":"chat_opened","chat":"@Bob","user":"Bob","ts":T0}).to_string(),
    );
    assert!(app.chats[bob].closed.is_none());
    assert_eq!(
        app.chats[bob].draft.lines().join("\n"),
        "wait, one more thing"
    );
    // Ended again, /leave closes the tab without a frame.
    frame(
        &mut app,
        &json!({"type":"chat_ended","chat":"@Bob","user":"Bob","by":"Bob"}).to_string(),
    );
    app.chats[bob].draft = Default::default();
    app.chats[bob + 1].draft.insert_str("for carol");
    app.chats[0].draft.insert_str("for everyone");
    type_str(&mut app, "/leave");
    let cmds = press(&mut app, KeyCode::Enter);
    assert!(requests(&cmds).is_empty());
    assert_eq!(app.chats.len(), 2);
    // The tab that took its place keeps its draft.
    let carol = app.chats.find(&ChatKey::parse("@Carol").unwrap()).unwrap();
    assert_eq!(app.chats[carol].draft.lines().join("\n"), "for carol");
    assert_eq!(app.chats[0].draft.lines().join("\n"), "for everyone");
}

#[test]
fn help_opens_with_question_mark_only_when_the_input_is_empty() {
    let mut app = logged_in("alice", json!({}));
    type_str(&mut app, "?");
    assert!(app.help.visible);
    press(&mut app, KeyCode::Esc);
    assert!(!app.help.visible);
    type_str(&mut app, "why?");
    assert!(!app.help.visible);
    assert_eq!(draft(&app), "why?");
    press(&mut app, KeyCode::F(1));
    assert!(app.help.visible);
}

#[test]
fn ctrl_c_and_sigterm_quit() {
    let mut app = logged_in("alice", json!({}));
    assert!(ctrl(&mut app, 'c').contains(&Command::Quit));
    let mut app = new_app();
    assert!(app.update(Event::Terminate).contains(&Command::Quit));
    assert!(app.should_quit());
}

#[test]
fn mouse_clicks_tabs_and_the_wheel_scrolls() {
    use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
    let mut app = three_tabs();
    let at = |kind, column, row| {
        Event::Mouse(MouseEvent {
            kind,
            column,
            row,
            modifiers: KeyModifiers::NONE,
        })
    };
    // " # public " is columns 0..10, then a gap, then " @Bob ".
    app.update(at(MouseEventKind::Down(MouseButton::Left), 13, 0));
    assert_eq!(app.active, 1);
    app.update(at(MouseEventKind::Down(MouseButton::Left), 2, 0));
    assert_eq!(app.active, 0);
    for i in 1..=60 {
        frame(
            &mut app,
            &msg_json("#public", i, T0, "Bob", &format!("m{i}")),
        );
    }
    assert!(app.chats[0].scroll.is_none());
    app.update(at(MouseEventKind::ScrollUp, 10, 10));
    assert!(app.chats[0].scroll.is_some(), "the wheel scrolls back");
    // While scrolled back, a new message is not marked read.
    let cmds = frame(&mut app, &msg_json("#public", 61, T0, "Bob", "new"));
    assert!(!sent(&cmds)
        .iter()
        .any(|f| matches!(f.request, Request::MarkRead { .. })));
    assert_eq!(app.chats[0].unread, 1);
    app.update(at(MouseEventKind::ScrollDown, 10, 10));
    let cmds = app.update(at(MouseEventKind::ScrollDown, 10, 10));
    assert!(app.chats[0].scroll.is_none(), "back at the newest");
    assert!(sent(&cmds).iter().any(|f| f.request
        == Request::MarkRead {
            chat: "#public".into(),
            msg_id: 61
        }));
}

#[test]
fn a_request_accepted_much_later_highlights_its_tab_instead_of_taking_the_focus() {
    let mut app = logged_in("alice", json!({}));
    type_str(&mut app, "/chat bob");
    let cmds = press(&mut app, KeyCode::Enter);
    let id = sent(&cmds)[0].id.unwrap();
    frame(&mut app, &json!({"type":"ok","id":id}).to_string());
    assert_eq!(app.inbox.outgoing.len(), 1);
    type_str(&mut app, "typing in public");
    app.now_ms += 60 * 60 * 1000; // an hour later Bob accepts
    frame(
        &mut app,
        &json!({"type":"chat_opened","chat":"@bob","user":"bob","ts":T0}).to_string(),
    );
    assert_eq!(app.active, 0, "the focus stays");
    assert_eq!(app.chats[1].attention, Attention::Highlight);
    assert!(app.inbox.outgoing.is_empty());
    assert_eq!(draft(&app), "typing in public");
}

/// Thousands of pseudo-random keys, pastes, clicks, resizes and frames in
/// every state: nothing may panic.
#[test]
fn random_input_never_panics() {
    use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let codes = [
        KeyCode::Enter,
        KeyCode::Tab,
        KeyCode::BackTab,
        KeyCode::Backspace,
        KeyCode::Delete,
        KeyCode::Left,
        KeyCode::Right,
        KeyCode::Up,
        KeyCode::Down,
        KeyCode::Home,
        KeyCode::End,
        KeyCode::PageUp,
        KeyCode::PageDown,
        KeyCode::Esc,
        KeyCode::F(1),
        KeyCode::F(2),
    ];
    let chars = [
        'a', 'r', 'c', '/', '?', ' ', 'é', '日', '😀', '1', '2', 'n', 'p', 'w', 'u', 'k',
    ];
    let mods = [
        KeyModifiers::NONE,
        KeyModifiers::CONTROL,
        KeyModifiers::ALT,
        KeyModifiers::SHIFT,
    ];
    let mut app = logged_in(
        "alice",
        json!({"online":[{"user":"alice","status":"available"},{"user":"Bob","status":"busy"}],
               "chats":[{"chat":"@Bob","user":"Bob","online":true,"unread":3,"last_read":0}],
               "requests_in":[{"from":"Carol","ts":T0}],"requests_out":[{"to":"Eve","ts":T0}]}),
    );
    let mut id = 100;
    for step in 0..20_000 {
        let ev = match next(10) {
            0..=3 => Event::Key(crossterm::event::KeyEvent::new(
                codes[next(codes.len() as u64) as usize],
                mods[next(4) as usize],
            )),
            4..=6 => Event::Key(crossterm::event::KeyEvent::new(
                KeyCode::Char(chars[next(chars.len() as u64) as usize]),
                mods[next(4) as usize],
            )),
            7 => Event::Paste("x\ny\u{1b}[1mz".repeat(next(3) as usize)),
            8 => Event::Mouse(MouseEvent {
                kind: [
                    MouseEventKind::Down(MouseButton::Left),
                    MouseEventKind::ScrollUp,
                    MouseEventKind::ScrollDown,
                ][next(3) as usize],
                column: next(90) as u16,
                row: next(30) as u16,
                modifiers: KeyModifiers::NONE,
            }),
            _ => {
                id += 1;
                let chat = ["#public", "@Bob", "@Zed"][next(3) as usize];
                Event::Net(NetEvent::Frame(
                    tchat::protocol::decode_server_frame(
                        msg_json(chat, id, T0 + id as i64, "Bob", "alice: hi").as_bytes(),
                    )
                    .unwrap()
                    .unwrap(),
                ))
            }
        };
        if let Event::Key(k) = &ev {
            if k.code == KeyCode::Char('c') && k.modifiers == KeyModifiers::CONTROL {
                continue;
            }
        }
        app.update(ev);
        if step % 500 == 0 {
            app.update(Event::Resize(10 + next(150) as u16, 3 + next(50) as u16));
            let _ = screen(&app);
        }
    }
    let _ = screen(&app);
}

#[test]
fn only_an_inbox_with_requests_asks_for_ticks() {
    let mut app = logged_in("alice", json!({"requests_in":[{"from":"Carol","ts":T0}]}));
    assert_eq!(app.tick_interval(), None, "a chat tab sleeps");
    alt(&mut app, '2');
    assert!(
        app.tick_interval().is_some(),
        "request ages need refreshing"
    );
    let before = screen(&app);
    app.now_ms += 60 * 60 * 1000;
    app.update(Event::Tick);
    assert_ne!(screen(&app), before, "the age moved on");
}

/// All history requests among the commands: (id, chat, before, after).
fn histories(cmds: &[Command]) -> Vec<(u64, String, Option<u64>, Option<u64>)> {
    sent(cmds)
        .into_iter()
        .filter_map(|f| match f.request {
            Request::History {
                chat,
                before,
                after,
                ..
            } => Some((f.id.unwrap_or(0), chat, before, after)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_sent_message_shows_as_pending_until_the_server_confirms_it() {
    let mut app = logged_in("alice", json!({}));
    type_str(&mut app, "queued behind the pacer");
    let cmds = press(&mut app, KeyCode::Enter);
    let id = sent(&cmds)[0].id.expect("send carries an id");
    assert!(draft(&app).is_empty(), "not bounced back into the input");
    let text = screen(&app);
    assert!(
        text.lines()
            .any(|l| l.starts_with("    … alice: queued behind the pacer")),
        "{text}"
    );
    frame(
        &mut app,
        &json!({"type":"ok","id":id,"msg_id":41,"ts":T0}).to_string(),
    );
    assert!(app.chats[0].outbox.is_empty());
    let text = screen(&app);
    assert!(
        text.contains("22:00 alice: queued behind the pacer"),
        "{text}"
    );
    assert!(!text.contains('…'), "{text}");
    // The event that follows the ok is the same message: shown once.
    frame(
        &mut app,
        &msg_json("#public", 41, T0, "alice", "queued behind the pacer"),
    );
    assert_eq!(screen(&app).matches("queued behind the pacer").count(), 1);
}

#[test]
fn twenty_thousand_presence_events_stay_cheap_and_bounded() {
    let mut app = logged_in("alice", json!({}));
    let started = std::time::Instant::now();
    let presence = |user: String, online: bool, status: &str| {
        json!({"type":"presence","user":user,"online":online,"status":status}).to_string()
    };
    for n in 0..10_000 {
        frame(&mut app, &presence(format!("user{n}"), true, "available"));
    }
    for n in 0..5_000 {
        frame(&mut app, &presence(format!("USER{n}"), true, "busy"));
    }
    for n in 5_000..10_000 {
        frame(&mut app, &presence(format!("user{n}"), false, "available"));
    }
    eprintln!("20 000 presence events: {:?}", started.elapsed());
    assert_eq!(app.online.len(), 1 + 5_000);
    assert_eq!(
        app.online.get("user42").map(|u| u.status),
        Some(Status::Busy)
    );
    // Every event left a quiet line, but the room keeps a bounded number.
    let public = &app.chats[0].log;
    assert!(
        public.len() <= tchat::client::chat::MAX_ENTRIES,
        "{}",
        public.len()
    );
    assert!(public
        .entries()
        .last()
        .unwrap()
        .text()
        .contains("user9999 left"));
    // The people panel still draws, sorted by name.
    press(&mut app, KeyCode::F(2));
    let text = screen(&app);
    assert!(text.contains("People (5001)"), "{text}");
}

#[test]
fn scrollback_is_bounded_and_dropped_pages_are_fetched_again() {
    let mut app = logged_in("alice", json!({}));
    let big = "x".repeat(900 * 1024);
    for id in 1..=150u64 {
        frame(&mut app, &msg_json("#public", id, T0, "Bob", &big));
    }
    let log = &app.chats[0].log;
    assert!(
        log.bytes() <= tchat::client::chat::MAX_BYTES,
        "{} bytes kept",
        log.bytes()
    );
    assert_eq!(log.newest_id(), 150);
    assert!(app.chats[0].more_older, "older messages are to be fetched");
    let oldest = log.oldest_id().unwrap();
    assert!(oldest > 1);
    let cmds = key(&mut app, KeyCode::Home, KeyModifiers::CONTROL);
    assert_eq!(
        histories(&cmds)
            .into_iter()
            .map(|(_, c, before, _)| (c, before))
            .collect::<Vec<_>>(),
        [("#public".to_owned(), Some(oldest))]
    );
    // A live burst of small messages: the count is bounded too.
    for id in 1000..4000u64 {
        frame(&mut app, &msg_json("#public", id, T0, "Bob", "hi"));
    }
    assert!(app.chats[0].log.len() <= tchat::client::chat::MAX_ENTRIES);
}

#[test]
fn a_server_that_always_says_more_cannot_make_the_client_loop() {
    // Older pages: one message each, always "more".
    let mut app = new_app();
    let cmds = welcome(&mut app, "alice", json!({}));
    let id = history_id(&cmds, "#public").unwrap();
    // The top is in view at once: older pages load by themselves.
    let mut cmds = frame(
        &mut app,
        &history_json(
            id,
            "#public",
            &[msg_json("#public", 1_000, T0, "Bob", "x")],
            true,
        ),
    );
    let mut asked = 0;
    let mut next_id = 999u64;
    while let Some((id, _, before, _)) = histories(&cmds).into_iter().next() {
        asked += 1;
        assert!(asked <= 100, "the client keeps asking");
        assert_eq!(before, Some(next_id + 1), "a new anchor each time");
        let m = msg_json("#public", next_id, T0, "Bob", "x");
        next_id -= 1;
        cmds = frame(&mut app, &history_json(id, "#public", &[m], true));
    }
    assert_eq!(asked, tchat::client::app::MAX_PAGES_PER_ACTION);
    // The next key press is a new action: a few pages more, no more.
    let mut cmds = press(&mut app, KeyCode::PageUp);
    let mut again = 0;
    while let Some((id, _, _, _)) = histories(&cmds).into_iter().next() {
        again += 1;
        assert!(again <= 100, "the client keeps asking");
        let m = msg_json("#public", next_id, T0, "Bob", "x");
        next_id -= 1;
        cmds = frame(&mut app, &history_json(id, "#public", &[m], true));
    }
    assert_eq!(again, tchat::client::app::MAX_PAGES_PER_ACTION);
    // A page that brings nothing older ends it, whatever `more` says.
    let cmds = press(&mut app, KeyCode::PageUp);
    let (id, _, before, _) = histories(&cmds)[0].clone();
    let cmds = frame(
        &mut app,
        &history_json(
            id,
            "#public",
            &[msg_json("#public", before.unwrap(), T0, "Bob", "x")],
            true,
        ),
    );
    assert!(histories(&cmds).is_empty());
    assert!(!app.chats[0].more_older);
    assert!(histories(&press(&mut app, KeyCode::PageUp)).is_empty());

    // Catch-up after a reconnect: every page says "more".
    let mut app = logged_in("alice", json!({}));
    frame(&mut app, &msg_json("#public", 10, T0, "Bob", "seen"));
    app.update(Event::Net(NetEvent::Lost {
        reason: "reset".into(),
        retry_in: Duration::from_secs(1),
    }));
    let mut cmds = welcome(&mut app, "alice", json!({}));
    let mut pages = 0;
    let mut next = 11u64;
    let mut reloaded = false;
    while let Some((id, _, _, after)) = histories(&cmds).into_iter().next() {
        pages += 1;
        assert!(pages <= 100, "the client keeps asking");
        if after.is_none() {
            // Too long a gap: the newest page instead; done.
            reloaded = true;
            cmds = frame(
                &mut app,
                &history_json(
                    id,
                    "#public",
                    &[msg_json("#public", 100_000, T0, "Bob", "x")],
                    true,
                ),
            );
            continue;
        }
        let m = msg_json("#public", next, T0, "Bob", "x");
        next += 1;
        cmds = frame(&mut app, &history_json(id, "#public", &[m], true));
    }
    assert!(reloaded, "the newest page was loaded instead");
    assert!(
        pages
            <= tchat::client::app::MAX_CATCH_UP_PAGES
                + 1
                + tchat::client::app::MAX_PAGES_PER_ACTION,
        "{pages} pages"
    );
}

#[test]
fn hostile_numbers_from_the_server_never_panic_and_show_sanely() {
    let mut app = new_app();
    let cmds = welcome(
        &mut app,
        "alice",
        json!({
            "last_msg_id": 3,
            "public_unread": u64::MAX,
            "chats":[{"chat":"@Bob","user":"Bob","online":true,"unread":u64::MAX,"last_read":0},
                     {"chat":"@Carol","user":"Carol","online":false,"unread":0,"last_read":u64::MAX}],
            "requests_in":[{"from":"Carol","ts":i64::MIN},{"from":"Dave","ts":i64::MAX}],
            "requests_out":[{"to":"Eve","ts":i64::MIN}]
        }),
    );
    for (id, chat, _, _) in histories(&cmds) {
        let msgs = [
            msg_json(&chat, u64::MAX, i64::MAX, "Bob", "last"),
            msg_json(&chat, 0, i64::MIN, "Bob", "zero"),
            msg_json(&chat, 1, -1, "Bob", "before 1970"),
        ];
        frame(&mut app, &history_json(id, &chat, &msgs, true));
    }
    screen(&app);
    // An unread count at u64::MAX gets one more.
    frame(&mut app, &msg_json("@Bob", 5, T0, "Bob", "one more"));
    assert_eq!(app.chats[1].unread, u64::MAX);
    frame(
        &mut app,
        &msg_json("@Carol", 6, T0, "Carol", "below the marker"),
    );
    assert_eq!(app.chats[2].unread, 0);
    app.update(Event::Resize(200, 24));
    let text = screen(&app);
    assert!(text.contains(&format!("@Bob ({})", u64::MAX)), "{text}");
    app.update(Event::Resize(80, 24));
    frame(
        &mut app,
        &json!({"type":"read","chat":"#public","msg_id":u64::MAX}).to_string(),
    );
    frame(
        &mut app,
        &json!({"type":"chat_request","from":"Frank","ts":i64::MIN}).to_string(),
    );
    frame(
        &mut app,
        &json!({"type":"chat_opened","chat":"@Gina","user":"Gina","ts":i64::MAX}).to_string(),
    );
    // The inbox ages requests from any time.
    alt(&mut app, '0');
    ctrl(&mut app, 'p');
    assert_eq!(app.active, app.inbox_tab());
    let text = screen(&app);
    assert!(text.contains("Carol") && text.contains("d ago"), "{text}");
    assert!(text.contains("Dave") && text.contains("just now"), "{text}");
    // Errors with extreme numbers read as sentences.
    for e in [
        json!({"type":"error","code":"banned","message":"b","until":i64::MIN}),
        json!({"type":"error","code":"banned","message":"b","until":i64::MAX}),
        json!({"type":"error","code":"locked_out","message":"l","retry_after_ms":u64::MAX}),
        json!({"type":"error","code":"rate_limited","message":"r","retry_after_ms":u64::MAX}),
    ] {
        frame(&mut app, &e.to_string());
        let notice = app.notice.clone().expect("a notice");
        assert!(!notice.text.is_empty());
        screen(&app);
    }
    app.update(Event::Net(NetEvent::LoginFailed(
        tchat::protocol::ErrorFrame {
            id: None,
            code: ErrorCode::Banned,
            message: "b".into(),
            retry_after_ms: None,
            until: Some(Some(i64::MIN)),
            fatal: false,
            by: None,
            reason: Some("r".repeat(10_000)),
            offset: Some(u64::MAX),
        },
    )));
    screen(&app);
    // Every tab draws at the extremes, at a narrow and a wide size.
    for size in [(20, 6), (200, 50)] {
        app.update(Event::Resize(size.0, size.1));
        for t in 0..app.tab_count() {
            alt(&mut app, char::from(b'1' + t as u8));
            screen(&app);
        }
    }
}

/// The draft of tab `i`.
fn draft_of(app: &tchat::client::App, i: usize) -> String {
    match app.chats.get(i) {
        Some(c) => c.draft.lines().join("\n"),
        None => app.inbox.draft.lines().join("\n"),
    }
}

#[test]
fn a_command_that_switches_tabs_leaves_an_empty_input_where_it_was_typed() {
    let mut app = three_tabs();
    // /chat NAME with the chat open switches to it at once.
    type_str(&mut app, "/chat Bob");
    let cmds = press(&mut app, KeyCode::Enter);
    assert!(requests(&cmds).is_empty(), "nothing to ask: it is open");
    assert_eq!(app.active, 1, "Bob's tab is shown");
    assert_eq!(draft_of(&app, 0), "", "the command left #public's input");
    assert_eq!(draft(&app), "", "and did not land in Bob's");
    // The next line typed in #public is not glued onto it.
    alt(&mut app, '1');
    type_str(&mut app, "hi all");
    let cmds = press(&mut app, KeyCode::Enter);
    assert_eq!(
        requests(&cmds),
        [Request::Send {
            chat: "#public".into(),
            text: "hi all".into()
        }]
    );

    // The same from the inbox, with /query (the IRC spelling).
    alt(&mut app, '4');
    type_str(&mut app, "/query carol");
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.active, 2);
    assert_eq!(draft_of(&app, app.inbox_tab()), "");

    // A draft in the tab switched to is kept as it was.
    alt(&mut app, '2');
    type_str(&mut app, "half a thought");
    alt(&mut app, '1');
    type_str(&mut app, "/chat bob");
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.active, 1);
    assert_eq!(draft(&app), "half a thought");
    assert_eq!(draft_of(&app, 0), "");
}

#[test]
fn msg_sends_at_once_to_an_open_chat() {
    let mut app = three_tabs();
    type_str(&mut app, "/msg @bob are you there?");
    let cmds = press(&mut app, KeyCode::Enter);
    assert_eq!(
        requests(&cmds),
        [Request::Send {
            chat: "@Bob".into(),
            text: "are you there?".into()
        }]
    );
    assert_eq!(app.active, 1, "Bob's tab is shown");
    assert_eq!(app.chats[1].outbox.len(), 1, "pending in Bob's tab");
    assert_eq!(draft_of(&app, 0), "");
    assert_eq!(draft(&app), "");
    // Refused, the text comes back into Bob's input, not the command line.
    let id = sent(&cmds)[0].id.unwrap();
    frame(
        &mut app,
        &json!({"type":"error","id":id,"code":"rate_limited","message":"slow","retry_after_ms":1000}).to_string(),
    );
    assert_eq!(draft(&app), "are you there?");
    assert_eq!(draft_of(&app, 0), "");
}

#[test]
fn msg_asks_for_the_chat_and_sends_when_it_opens() {
    let mut app = logged_in("alice", json!({}));
    type_str(&mut app, "/msg Dave see you at 5");
    let cmds = press(&mut app, KeyCode::Enter);
    assert_eq!(
        requests(&cmds),
        [Request::RequestChat {
            user: "Dave".into()
        }]
    );
    assert_eq!(draft(&app), "", "the command went out");
    assert!(app
        .notice
        .as_ref()
        .is_some_and(|n| !n.error && n.text.contains("waits until the private chat opens")));
    let id = sent(&cmds)[0].id.unwrap();
    frame(&mut app, &json!({"type":"ok","id":id}).to_string());
    // Pending meanwhile: shown with the request in the inbox.
    alt(&mut app, '2');
    assert!(
        screen(&app).contains("waiting to send: see you at 5"),
        "{}",
        screen(&app)
    );
    // A second /msg waits too, without asking again.
    alt(&mut app, '1');
    type_str(&mut app, "/msg dave and bring the map");
    let cmds = press(&mut app, KeyCode::Enter);
    assert!(requests(&cmds).is_empty(), "one request is enough");
    let cmds = frame(
        &mut app,
        &json!({"type":"chat_opened","chat":"@Dave","user":"Dave","ts":T0}).to_string(),
    );
    let sends: Vec<Request> = requests(&cmds)
        .into_iter()
        .filter(|r| matches!(r, Request::Send { .. }))
        .collect();
    assert_eq!(
        sends,
        [
            Request::Send {
                chat: "@Dave".into(),
                text: "see you at 5".into()
            },
            Request::Send {
                chat: "@Dave".into(),
                text: "and bring the map".into()
            }
        ]
    );
    let dave = app.chats.find(&ChatKey::parse("@Dave").unwrap()).unwrap();
    assert_eq!(app.active, dave, "asked for just now: it takes the focus");
    assert_eq!(app.chats[dave].outbox.len(), 2, "pending until confirmed");
    assert!(app.queued.is_empty());
}

#[test]
fn msg_refused_or_declined_gives_the_text_back() {
    let mut app = three_tabs();
    // The server refuses the request: the line comes back where it was typed.
    type_str(&mut app, "/msg Zed hello?");
    let cmds = press(&mut app, KeyCode::Enter);
    assert_eq!(draft(&app), "");
    let id = sent(&cmds)[0].id.unwrap();
    frame(
        &mut app,
        &json!({"type":"error","id":id,"code":"no_such_user","message":"no user Zed"}).to_string(),
    );
    assert_eq!(draft(&app), "/msg Zed hello?");
    assert!(app
        .notice
        .as_ref()
        .is_some_and(|n| n.error && n.text.contains("no such user")));
    ctrl(&mut app, 'u');

    // Declined later, with something else typed there meanwhile: the
    // notice quotes it and the typing is not touched.
    type_str(&mut app, "/msg Eve the plan");
    let cmds = press(&mut app, KeyCode::Enter);
    let id = sent(&cmds)[0].id.unwrap();
    frame(&mut app, &json!({"type":"ok","id":id}).to_string());
    type_str(&mut app, "typing on");
    frame(
        &mut app,
        &json!({"type":"chat_rejected","user":"Eve"}).to_string(),
    );
    assert_eq!(draft(&app), "typing on");
    let n = app.notice.clone().expect("a notice");
    assert!(
        n.error && n.text.contains("Eve declined") && n.text.contains("/msg Eve the plan"),
        "{n:?}"
    );
    assert!(app.queued.is_empty());
}

#[test]
fn msg_and_query_are_in_the_help_and_tab_completion() {
    let mut app = logged_in("alice", json!({}));
    type_str(&mut app, "/ms");
    press(&mut app, KeyCode::Tab);
    assert_eq!(draft(&app), "/msg ");
    ctrl(&mut app, 'u');
    type_str(&mut app, "/que");
    press(&mut app, KeyCode::Tab);
    assert_eq!(draft(&app), "/query ");
    ctrl(&mut app, 'u');
    app.size = (100, 80);
    press(&mut app, KeyCode::F(1));
    let help = screen(&app);
    assert!(help.contains("/msg NAME text"), "{help}");
    assert!(help.contains("/query NAME"), "{help}");
}

#[test]
fn tab_completes_command_arguments_by_command() {
    let mut app = logged_in(
        "alice",
        json!({"online":[{"user":"alice","status":"available"},{"user":"anna","status":"away"},
                         {"user":"Bobby","status":"away"}],
               "groups":[{"chat":"#rust","kind":"open","topic":"","role":"member","unread":0,"last_read":0}]}),
    );
    let tab = |app: &mut tchat::client::App, typed: &str| -> String {
        ctrl(app, 'u');
        type_str(app, typed);
        press(app, KeyCode::Tab);
        draft(app)
    };
    // Statuses after /status, not nicks (anna, alice).
    assert_eq!(tab(&mut app, "/status a"), "/status a");
    assert_eq!(
        app.notice.as_ref().map(|n| n.text.as_str()),
        Some("available  away"),
        "both statuses are listed, no nick"
    );
    assert_eq!(tab(&mut app, "/status av"), "/status available ");
    assert_eq!(tab(&mut app, "/status b"), "/status busy ");
    assert_eq!(tab(&mut app, "/status aw"), "/status away ");
    // Theme names after /theme.
    assert_eq!(tab(&mut app, "/theme li"), "/theme light ");
    // Groups after /join, with or without the #.
    assert_eq!(tab(&mut app, "/join #ru"), "/join #rust ");
    assert_eq!(tab(&mut app, "/join ru"), "/join #rust ");
    // Nicks after the commands that take one (never yourself).
    for cmd in ["/chat", "/msg", "/query", "/invite", "/kick", "/accept"] {
        assert_eq!(tab(&mut app, &format!("{cmd} bo")), format!("{cmd} Bobby "));
        assert_eq!(tab(&mut app, &format!("{cmd} a")), format!("{cmd} anna "));
    }
    // Roles after /role NAME, kinds after /create #name.
    assert_eq!(tab(&mut app, "/role Bobby m"), "/role Bobby m");
    assert!(app
        .notice
        .as_ref()
        .is_some_and(|n| n.text.contains("mod") && n.text.contains("member")));
    assert_eq!(tab(&mut app, "/role Bobby o"), "/role Bobby owner ");
    assert_eq!(tab(&mut app, "/create #new i"), "/create #new invite ");
    // Nothing fits: said so, the input unchanged.
    assert_eq!(tab(&mut app, "/status x"), "/status x");
    assert!(app.notice.as_ref().is_some_and(|n| n.error));
    // The text of /msg still completes nicks as in any message.
    assert_eq!(tab(&mut app, "/msg anna hi bo"), "/msg anna hi Bobby ");
}

#[test]
fn the_input_cursor_moves_and_deletes_by_whole_emoji() {
    let mut app = logged_in("alice", json!({}));
    let family = "👨\u{200d}👩\u{200d}👧";
    type_str(&mut app, &format!("a👍🏽{family}b"));
    press(&mut app, KeyCode::Left); // before b
    press(&mut app, KeyCode::Left); // before the family, not inside it
    assert_eq!((app.draft().cursor().0, app.draft().cursor().1), (0, 3));
    press(&mut app, KeyCode::Left); // before 👍🏽, not between 👍 and 🏽
    assert_eq!((app.draft().cursor().0, app.draft().cursor().1), (0, 1));
    // Drawn whole, with the cursor next to it.
    assert!(
        screen(&app).contains(&format!("a👍🏽{family}b")),
        "{}",
        screen(&app)
    );
    press(&mut app, KeyCode::Right);
    assert_eq!((app.draft().cursor().0, app.draft().cursor().1), (0, 3));
    press(&mut app, KeyCode::Delete);
    assert_eq!(draft(&app), "a👍🏽b", "Delete takes the whole family");
    press(&mut app, KeyCode::Backspace);
    assert_eq!(
        draft(&app),
        "ab",
        "Backspace takes 👍🏽, not just its skin tone"
    );
    press(&mut app, KeyCode::Backspace);
    assert_eq!(draft(&app), "b");
}

#[test]
fn a_graceful_shutdown_keeps_its_reason_while_reconnecting() {
    let mut app = logged_in("alice", json!({}));
    frame(
        &mut app,
        &json!({"type":"shutdown","reason":"upgrade, back in 5 minutes"}).to_string(),
    );
    let lost = |app: &mut tchat::client::App, reason: &str, secs: u64| {
        app.update(Event::Net(NetEvent::Lost {
            reason: reason.into(),
            retry_in: Duration::from_secs(secs),
        }));
    };
    lost(&mut app, "the server closed the connection", 1);
    lost(
        &mut app,
        "cannot connect to 127.0.0.1:7700: connection refused",
        2,
    );
    let n = app.notice.clone().expect("a notice");
    assert!(
        n.text
            .contains("the server shut down (upgrade, back in 5 minutes)")
            && n.text.contains("cannot connect"),
        "{n:?}"
    );
    let status = screen(&app).lines().last().unwrap_or_default().to_owned();
    assert!(
        status.contains("reconnecting in 2s")
            && status.contains("shut down: upgrade, back in 5 minutes"),
        "{status}"
    );
    // Narrow: cut with …, who and where still there.
    app.size = (60, 12);
    let status = screen(&app).lines().last().unwrap_or_default().to_owned();
    assert!(
        status.contains("shut down") && status.contains('…'),
        "{status}"
    );
    // Back: the reason is history.
    welcome(&mut app, "alice", json!({}));
    assert!(app.shutdown.is_none());
    assert!(!screen(&app).contains("shut down"));
    // A plain loss says what it always said.
    lost(&mut app, "no answer to ping", 1);
    let n = app.notice.clone().expect("a notice");
    assert_eq!(n.text, "connection lost (no answer to ping); reconnecting");
}

#[test]
fn a_login_as_a_new_user_is_remembered_without_the_password() {
    let mut app = new_app();
    type_str(&mut app, "alice");
    press(&mut app, KeyCode::Tab);
    type_str(&mut app, "correct horse");
    press(&mut app, KeyCode::Enter);
    let cmds = welcome(&mut app, "Alice", json!({}));
    let remembered: Vec<_> = cmds
        .iter()
        .filter_map(|c| match c {
            Command::Remember(l) => Some(l.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        remembered,
        [tchat::client::remember::LastLogin {
            server: "127.0.0.1:7700".into(),
            user: "Alice".into()
        }],
        "the name as the server spells it"
    );
    // A reconnect as the same user writes nothing again.
    app.update(Event::Net(NetEvent::Lost {
        reason: "gone".into(),
        retry_in: Duration::from_secs(1),
    }));
    let cmds = welcome(&mut app, "Alice", json!({}));
    assert!(!cmds.iter().any(|c| matches!(c, Command::Remember(_))));
}

/// The message of the day is not a message: no time, not in the
/// scrollback above older messages, but a banner over `# public` that Esc
/// hides and `/motd` shows whole (and brings back). A reconnect with the
/// same text keeps it hidden.
#[test]
fn the_motd_is_a_banner_apart_from_the_messages() {
    use tchat::client::chat::EntryKind;
    let mut app = new_app();
    frame(
        &mut app,
        &json!({"type":"hello","protocol":1,"server":"tchat","motd":"Welcome to tchat!\nBe kind; rules at /motd.",
                "limits":{"max_frame_bytes":65536,"max_text_bytes":4096,"history_page":200,"max_file_bytes":1000,"file_chunk_bytes":100}})
        .to_string(),
    );
    let cmds = welcome(&mut app, "alice", json!({}));
    let id = history_id(&cmds, "#public").expect("history asked");
    frame(
        &mut app,
        &history_json(
            id,
            "#public",
            &[msg_json("#public", 5, T0, "Bob", "an older message")],
            false,
        ),
    );
    let log = app.chats[0].log.entries();
    assert!(
        log.iter().all(|e| match &e.kind {
            EntryKind::System(t) => !t.contains("Welcome"),
            _ => true,
        }),
        "the motd is not in the scrollback: {log:?}"
    );
    let text = screen(&app);
    let rows: Vec<&str> = text.lines().collect();
    assert!(
        rows[1].contains("Welcome to tchat!") && rows[1].contains('…'),
        "a banner under the tabs, saying there is more:\n{text}"
    );
    assert!(
        !text.lines().skip(2).any(|l| l.contains("Welcome")),
        "once, and not stamped as a message:\n{text}"
    );
    // Another tab: no banner.
    ctrl(&mut app, 'n');
    assert!(!screen(&app).contains("Welcome"));
    ctrl(&mut app, 'p');
    // Esc with nothing else to close hides it.
    press(&mut app, KeyCode::Esc);
    assert!(!screen(&app)
        .lines()
        .nth(1)
        .unwrap_or("")
        .contains("Welcome"));
    press(&mut app, KeyCode::Esc);
    // /motd: whole, in the system view; the banner is back.
    type_str(&mut app, "/motd");
    press(&mut app, KeyCode::Enter);
    assert!(app.output.visible);
    let text = screen(&app);
    assert!(text.contains("Be kind; rules at /motd."), "{text}");
    press(&mut app, KeyCode::Esc);
    assert!(screen(&app)
        .lines()
        .nth(1)
        .unwrap_or("")
        .contains("Welcome"));
    // Hidden, then a reconnect with the same text: stays hidden.
    press(&mut app, KeyCode::Esc);
    press(&mut app, KeyCode::Esc);
    assert!(app.motd_hidden);
    frame(
        &mut app,
        &json!({"type":"hello","protocol":1,"server":"tchat","motd":"Welcome to tchat!\nBe kind; rules at /motd."}).to_string(),
    );
    assert!(app.motd_hidden);
    frame(
        &mut app,
        &json!({"type":"hello","protocol":1,"server":"tchat","motd":"New rules"}).to_string(),
    );
    assert!(!app.motd_hidden, "a new message of the day shows");
}

/// Several addresses: the form takes them as a list, the status bar says
/// which one the client is logged in at, and the whole list is remembered.
#[test]
fn a_list_of_servers_is_remembered_and_the_status_bar_says_which() {
    let mut app = new_app();
    app.login =
        tchat::client::login::LoginForm::new("a.example:7700, b.example:7700", "alice", false);
    type_str(&mut app, "correct horse");
    let cmds = press(&mut app, KeyCode::Enter);
    let creds = connect_cmd(&cmds).expect("a list is a valid server");
    assert_eq!(creds.server, "a.example:7700, b.example:7700");
    app.update(Event::Net(NetEvent::Connected {
        server: "b.example:7700".into(),
    }));
    let cmds = welcome(&mut app, "alice", json!({}));
    let remembered = cmds
        .iter()
        .find_map(|c| match c {
            Command::Remember(l) => Some(l.clone()),
            _ => None,
        })
        .expect("remembered");
    assert_eq!(remembered.server, "a.example:7700, b.example:7700");
    let text = screen(&app);
    let status = text.lines().last().unwrap_or("");
    assert!(status.contains("alice@b.example:7700"), "{status}");
    // A list with a bad entry is refused on the form, naming it.
    let mut app = new_app();
    app.login = tchat::client::login::LoginForm::new("a.example:7700, b:x", "alice", false);
    type_str(&mut app, "correct horse");
    let cmds = press(&mut app, KeyCode::Enter);
    assert!(connect_cmd(&cmds).is_none());
    assert!(
        app.login.error.as_deref().unwrap_or("").contains("b:x"),
        "{:?}",
        app.login.error
    );
}

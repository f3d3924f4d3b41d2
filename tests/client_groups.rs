//! Groups in the client (§12): `App::update` driven by scripted keys and
//! server frames, as in `client_app.rs`.

mod client_support;

use std::time::Duration;

use client_support::*;
use crossterm::event::KeyCode;
use serde_json::json;
use tchat::client::app::Attention;
use tchat::client::{Command, Event, NetEvent};
use tchat::protocol::{ChatKey, GroupKind, GroupRole, Request};

fn draft(app: &tchat::client::App) -> String {
    app.draft().lines().join("\n")
}

fn key(s: &str) -> ChatKey {
    ChatKey::parse(s).unwrap()
}

fn tab_of(app: &tchat::client::App, chat: &str) -> Option<usize> {
    app.chats.find(&key(chat))
}

/// Types a line and presses Enter; returns the commands.
fn run(app: &mut tchat::client::App, line: &str) -> Vec<Command> {
    type_str(app, line);
    press(app, KeyCode::Enter)
}

/// Answers the only request among `cmds` with `ok`.
fn ok(app: &mut tchat::client::App, cmds: &[Command]) -> Vec<Command> {
    let id = sent(cmds)
        .into_iter()
        .find(|f| !matches!(f.request, Request::MarkRead { .. }))
        .and_then(|f| f.id)
        .expect("a request with an id");
    frame(app, &json!({"type":"ok","id":id}).to_string())
}

fn members_json() -> serde_json::Value {
    json!([
        {"user":"Carol","role":"owner","online":true,"status":"busy"},
        {"user":"alice","role":"member","online":true,"status":"available"},
        {"user":"Bob","role":"mod","online":false,"status":"available"}
    ])
}

fn joined_json(chat: &str, topic: &str) -> String {
    json!({"type":"group_joined","chat":chat,"kind":"open","topic":topic,"role":"member",
           "members":members_json()})
    .to_string()
}

/// Logged in as alice with a private chat with Bob, in `#rust` (shown),
/// its first history page answered.
fn in_rust() -> tchat::client::App {
    let mut app = logged_in(
        "alice",
        json!({"online":[{"user":"alice","status":"available"},{"user":"Carol","status":"busy"}],
               "chats":[{"chat":"@Bob","user":"Bob","online":false,"unread":0,"last_read":0}]}),
    );
    let cmds = run(&mut app, "/join #rust");
    ok(&mut app, &cmds);
    let cmds = frame(&mut app, &joined_json("#rust", "All about Rust"));
    let id = history_id(&cmds, "#rust").expect("the group's history loads");
    frame(
        &mut app,
        &history_json(
            id,
            "#rust",
            &[msg_json("#rust", 10, T0, "Carol", "welcome to #rust")],
            false,
        ),
    );
    app
}

fn notice(app: &tchat::client::App) -> (String, bool) {
    app.notice
        .as_ref()
        .map(|n| (n.text.clone(), n.error))
        .unwrap_or_default()
}

#[test]
fn create_sends_the_exact_frame_and_the_new_tab_takes_the_focus() {
    let mut app = logged_in(
        "alice",
        json!({"chats":[{"chat":"@Bob","user":"Bob","online":true,"unread":0,"last_read":0}]}),
    );
    let cmds = run(&mut app, "/create #Rust-Dev invite  Rust,  daily ");
    assert_eq!(
        requests(&cmds),
        [Request::CreateGroup {
            chat: "#Rust-Dev".into(),
            kind: Some(GroupKind::Invite),
            topic: Some("Rust,  daily".into()),
        }]
    );
    assert!(
        draft(&app).is_empty(),
        "a command that went out leaves the input"
    );
    let id = sent(&cmds)[0].id.unwrap();
    frame(
        &mut app,
        &json!({"type":"ok","id":id,"chat":"#Rust-Dev"}).to_string(),
    );
    let cmds = frame(
        &mut app,
        &json!({"type":"group_joined","chat":"#Rust-Dev","kind":"invite","topic":"Rust,  daily",
                "role":"owner","members":[{"user":"alice","role":"owner","online":true,"status":"available"}]})
        .to_string(),
    );
    assert!(history_id(&cmds, "#Rust-Dev").is_some());
    let order: Vec<String> = app.chats.iter().map(|c| c.key.to_string()).collect();
    assert_eq!(
        order,
        ["#public", "@Bob", "#Rust-Dev"],
        "after the private tabs"
    );
    assert_eq!(app.active, 2, "the user asked for it: the new tab is shown");
    let g = app.chats[2].group.as_ref().unwrap();
    assert_eq!(g.role, GroupRole::Owner);
    assert_eq!(g.kind, GroupKind::Invite);

    // Without kind or topic, neither is sent.
    let cmds = run(&mut app, "/create #go");
    assert_eq!(
        requests(&cmds),
        [Request::CreateGroup {
            chat: "#go".into(),
            kind: None,
            topic: None
        }]
    );
}

#[test]
fn every_group_command_sends_its_frame_for_the_current_tab() {
    let mut app = in_rust();
    let expect = [
        (
            "/invite Dave",
            Request::Invite {
                chat: "#rust".into(),
                user: "Dave".into(),
            },
        ),
        (
            "/kick Bob spamming links",
            Request::KickMember {
                chat: "#rust".into(),
                user: "Bob".into(),
                reason: Some("spamming links".into()),
            },
        ),
        (
            "/kick Bob",
            Request::KickMember {
                chat: "#rust".into(),
                user: "Bob".into(),
                reason: None,
            },
        ),
        (
            "/topic Rust 2024, edition talk",
            Request::SetTopic {
                chat: "#rust".into(),
                topic: "Rust 2024, edition talk".into(),
            },
        ),
        (
            "/topic",
            Request::SetTopic {
                chat: "#rust".into(),
                topic: String::new(),
            },
        ),
        (
            "/role Bob mod",
            Request::SetMemberRole {
                chat: "#rust".into(),
                user: "Bob".into(),
                role: GroupRole::Mod,
            },
        ),
        (
            "/role Bob owner",
            Request::SetMemberRole {
                chat: "#rust".into(),
                user: "Bob".into(),
                role: GroupRole::Owner,
            },
        ),
        (
            "/members",
            Request::Members {
                chat: "#rust".into(),
            },
        ),
        ("/groups", Request::Groups),
        ("/join #Go", Request::Join { chat: "#Go".into() }),
        (
            "/delete-group #RUST",
            Request::DeleteGroup {
                chat: "#rust".into(),
            },
        ),
        (
            "/leave",
            Request::Leave {
                chat: "#rust".into(),
            },
        ),
    ];
    for (line, want) in expect {
        let cmds = run(&mut app, line);
        assert_eq!(requests(&cmds), [want], "{line}");
        assert!(sent(&cmds)[0].id.is_some(), "{line} awaits its reply");
        assert!(draft(&app).is_empty(), "{line} left the input");
        assert!(!notice(&app).1, "{line}: {:?}", app.notice);
    }
}

#[test]
fn bad_group_commands_send_nothing_and_keep_the_draft() {
    let mut app = in_rust();
    let rust = app.active;
    let public = tab_of(&app, "#public").unwrap();
    for (tab, line, says) in [
        (rust, "/create rust", "group names start with #"),
        (rust, "/create #public", "public room"),
        (rust, "/create #9lives", "starting with a letter"),
        (rust, "/join rust", "group names start with #"),
        (rust, "/role Bob king", "usage: /role NAME owner|mod|member"),
        (rust, "/role Bob", "usage"),
        (rust, "/kick", "usage"),
        (rust, "/delete-group", "type /delete-group #rust"),
        (rust, "/delete-group #go", "type /delete-group #rust"),
        (rust, "/invite alice", "that is you"),
        (rust, "/leave now", "no argument"),
        (public, "/invite Dave", "works in a group's tab"),
        (public, "/topic hello", "works in a group's tab"),
        (public, "/leave", "works in a group's tab"),
        (public, "/members", "works in a group's tab"),
    ] {
        alt(&mut app, char::from(b'1' + tab as u8));
        let cmds = run(&mut app, line);
        assert!(requests(&cmds).is_empty(), "{line} sent {cmds:?}");
        assert_eq!(draft(&app), line, "{line}: the draft is kept");
        let (text, error) = notice(&app);
        assert!(error && text.contains(says), "{line}: {text}");
        ctrl(&mut app, 'u');
    }
}

#[test]
fn a_refused_group_command_comes_back_but_never_onto_new_typing() {
    let mut app = in_rust();
    let cmds = run(&mut app, "/join #secret");
    let id = sent(&cmds)[0].id.unwrap();
    assert!(draft(&app).is_empty());
    frame(
        &mut app,
        &json!({"type":"error","id":id,"code":"forbidden","message":"invite only"}).to_string(),
    );
    assert_eq!(draft(&app), "/join #secret", "editable again");
    let (text, error) = notice(&app);
    assert!(error && text.contains("not allowed: invite only"), "{text}");
    ctrl(&mut app, 'u');

    // The next command is already being typed when the refusal comes.
    let cmds = run(&mut app, "/topic x");
    let id = sent(&cmds)[0].id.unwrap();
    type_str(&mut app, "/members");
    frame(
        &mut app,
        &json!({"type":"error","id":id,"code":"forbidden","message":"mods only"}).to_string(),
    );
    assert_eq!(draft(&app), "/members", "nothing glued onto it");
    assert!(notice(&app).0.contains("mods only"));
}

#[test]
fn group_joined_from_another_session_does_not_take_the_focus() {
    let mut app = in_rust();
    let public = tab_of(&app, "#public").unwrap();
    alt(&mut app, char::from(b'1' + public as u8));
    type_str(&mut app, "typing in public");
    frame(&mut app, &joined_json("#go", ""));
    let go = tab_of(&app, "#go").expect("a tab for the group");
    assert_eq!(app.active, public, "the focus stays");
    assert_eq!(go, 3, "after #rust");
    assert_eq!(app.chats[go].attention, Attention::Activity);
    assert_eq!(draft(&app), "typing in public");
}

#[test]
fn group_messages_count_as_unread_and_mentions_highlight() {
    let mut app = in_rust();
    let rust = app.active;
    ctrl(&mut app, 'p');
    frame(&mut app, &msg_json("#rust", 11, T0, "Carol", "ordinary"));
    assert_eq!(app.chats[rust].unread, 1);
    assert_eq!(app.chats[rust].attention, Attention::Activity);
    let cmds = frame(&mut app, &msg_json("#rust", 12, T0, "Carol", "alice: look"));
    assert_eq!(app.chats[rust].unread, 2);
    assert_eq!(app.chats[rust].attention, Attention::Highlight);
    assert!(cmds.contains(&Command::Bell));
    assert!(screen(&app).contains("#rust (2)"));
    // Shown: marked read.
    let cmds = alt(&mut app, char::from(b'1' + rust as u8));
    assert!(sent(&cmds).iter().any(|f| f.request
        == Request::MarkRead {
            chat: "#rust".into(),
            msg_id: 12
        }));
    assert_eq!(app.chats[rust].unread, 0);
    // A message typed in a group tab goes to the group.
    let cmds = run(&mut app, "hello group");
    assert_eq!(
        requests(&cmds),
        [Request::Send {
            chat: "#rust".into(),
            text: "hello group".into()
        }]
    );
}

#[test]
fn member_topic_and_role_events_change_the_tab_with_quiet_lines() {
    let mut app = in_rust();
    let i = app.active;
    let g = |app: &tchat::client::App| app.chats[i].group.clone().unwrap();
    assert_eq!(g(&app).members.len(), 3);
    frame(
        &mut app,
        &json!({"type":"member_joined","chat":"#RUST","user":"Dave","role":"member"}).to_string(),
    );
    assert!(g(&app).members.contains_key("dave"), "found in any casing");
    frame(
        &mut app,
        &json!({"type":"member_left","chat":"#rust","user":"Dave","by":null}).to_string(),
    );
    frame(
        &mut app,
        &json!({"type":"member_left","chat":"#rust","user":"Bob","by":"Carol","reason":"spam\u{1b}[2J"})
            .to_string(),
    );
    assert_eq!(g(&app).members.len(), 2);
    frame(
        &mut app,
        &json!({"type":"group_topic","chat":"#rust","topic":"New topic","by":"Carol"}).to_string(),
    );
    assert_eq!(g(&app).topic, "New topic");
    frame(
        &mut app,
        &json!({"type":"member_role","chat":"#rust","user":"alice","role":"mod","by":"Carol"})
            .to_string(),
    );
    assert_eq!(g(&app).role, GroupRole::Mod);
    assert_eq!(g(&app).members["alice"].role, GroupRole::Mod);
    frame(
        &mut app,
        &json!({"type":"member_role","chat":"#rust","user":"alice","role":"owner","by":null})
            .to_string(),
    );
    frame(
        &mut app,
        &json!({"type":"group_topic","chat":"#rust","topic":"","by":"alice"}).to_string(),
    );
    assert_eq!(g(&app).topic, "");
    let lines: Vec<String> = app.chats[i]
        .log
        .entries()
        .iter()
        .map(|e| e.text().to_owned())
        .collect();
    for want in [
        "Dave joined #rust",
        "Dave left #rust",
        "Bob was removed by Carol: spam\u{fffd}[2J",
        "Carol set the topic: New topic",
        "Carol made you a mod",
        "you became the owner",
        "alice cleared the topic",
    ] {
        assert!(lines.iter().any(|l| l == want), "{want} in {lines:?}");
    }
    // Quiet: none of it counts as unread.
    assert_eq!(app.chats[i].unread, 0);
}

#[test]
fn kicked_with_a_draft_keeps_the_tab_readable_and_the_draft() {
    let mut app = in_rust();
    let i = app.active;
    type_str(&mut app, "half-written reply");
    frame(
        &mut app,
        &json!({"type":"group_left","chat":"#rust","by":"Carol","reason":"off topic"}).to_string(),
    );
    assert_eq!(app.active, i, "the focus stays on the tab");
    assert_eq!(app.chats[i].key, key("#rust"), "the tab stays");
    assert_eq!(draft(&app), "half-written reply", "nothing typed is lost");
    let why = app.chats[i].closed.clone().expect("closed");
    assert!(
        why.contains("Carol removed you from #rust: off topic"),
        "{why}"
    );
    let (text, error) = notice(&app);
    assert!(error && text.contains("Carol removed you") && text.contains("off topic"));
    let text = screen(&app);
    assert!(text.contains("#rust ✕"), "{text}");
    assert!(text.contains("welcome to #rust"), "still readable: {text}");
    assert!(text.contains("closed: Carol removed you"), "{text}");
    // Enter does not send into a closed group, and keeps the draft.
    let cmds = press(&mut app, KeyCode::Enter);
    assert!(requests(&cmds).is_empty());
    assert_eq!(draft(&app), "half-written reply");
    assert!(notice(&app).0.contains("not sent"));
    // Commands that need membership say why.
    ctrl(&mut app, 'u');
    let cmds = run(&mut app, "/topic x");
    assert!(requests(&cmds).is_empty());
    assert!(notice(&app).0.contains("no longer in #rust"));
    ctrl(&mut app, 'u');
    // No history or read marker is asked for a closed tab.
    let cmds = key_ctrl_home(&mut app);
    assert!(sent(&cmds).is_empty(), "{cmds:?}");
    // /leave closes it without a frame.
    let cmds = run(&mut app, "/leave");
    assert!(requests(&cmds).is_empty());
    assert_eq!(tab_of(&app, "#rust"), None);
    assert_eq!(app.active, tab_of(&app, "#public").unwrap());
}

fn key_ctrl_home(app: &mut tchat::client::App) -> Vec<Command> {
    client_support::key(app, KeyCode::Home, crossterm::event::KeyModifiers::CONTROL)
}

#[test]
fn a_deleted_group_in_a_background_tab_stays_closed_and_highlighted() {
    let mut app = in_rust();
    let i = app.active;
    type_str(&mut app, "draft in the group");
    ctrl(&mut app, 'p');
    frame(
        &mut app,
        &json!({"type":"group_left","chat":"#rust","by":"Carol","reason":"deleted"}).to_string(),
    );
    assert_eq!(app.chats[i].closed.as_deref(), Some("Carol deleted #rust"));
    assert_eq!(app.chats[i].attention, Attention::Highlight);
    assert!(notice(&app).0.contains("Carol deleted #rust"));
    alt(&mut app, char::from(b'1' + i as u8));
    assert_eq!(draft(&app), "draft in the group");
    // Joining again (a new group of that name) reopens the tab afresh.
    let cmds = frame(&mut app, &joined_json("#rust", "second life"));
    assert!(app.chats[i].closed.is_none());
    assert!(history_id(&cmds, "#rust").is_some());
    assert_eq!(draft(&app), "draft in the group");
}

#[test]
fn leaving_from_the_tab_closes_it() {
    let mut app = in_rust();
    let cmds = run(&mut app, "/leave");
    ok(&mut app, &cmds);
    frame(
        &mut app,
        &json!({"type":"group_left","chat":"#rust","by":null}).to_string(),
    );
    assert_eq!(tab_of(&app, "#rust"), None);
    assert_eq!(app.active, 0);
    assert_eq!(notice(&app), ("you left #rust".to_owned(), false));

    // Left from another session while something is typed here: kept.
    let mut app = in_rust();
    type_str(&mut app, "unsent");
    frame(
        &mut app,
        &json!({"type":"group_left","chat":"#rust","by":null}).to_string(),
    );
    assert!(tab_of(&app, "#rust").is_some());
    assert_eq!(draft(&app), "unsent");
}

#[test]
fn inbox_invitations_join_with_a_and_decline_with_r() {
    let mut app = logged_in(
        "alice",
        json!({"requests_in":[{"from":"Carol","ts":T0}],
               "invites":[{"chat":"#ops","from":"Dave","ts":T0},{"chat":"#rust","from":"Eve","ts":T0}],
               "requests_out":[{"to":"Frank","ts":T0}]}),
    );
    assert_eq!(app.inbox.invites.len(), 2);
    assert!(
        screen(&app).contains("Inbox [3]"),
        "requests and invitations wait"
    );
    alt(&mut app, '2');
    let text = screen(&app);
    assert!(text.contains("Invitations to groups"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.contains("#ops") && l.contains("from Dave") && l.contains("ago")),
        "who and when: {text}"
    );
    press(&mut app, KeyCode::Down);
    let cmds = type_str(&mut app, "a");
    assert_eq!(
        requests(&cmds),
        [Request::Join {
            chat: "#ops".into()
        }]
    );
    assert!(draft(&app).is_empty(), "the key was not typed");
    ok(&mut app, &cmds);
    assert_eq!(app.inbox.invites.len(), 1);
    frame(&mut app, &joined_json("#ops", ""));
    let ops = tab_of(&app, "#ops").unwrap();
    assert_eq!(app.active, ops, "the user asked to join");

    let inbox = app.inbox_tab();
    alt(&mut app, char::from(b'1' + inbox as u8));
    // The selection stayed on the second line: now the #rust invitation.
    let cmds = type_str(&mut app, "r");
    assert_eq!(
        requests(&cmds),
        [Request::DeclineInvite {
            chat: "#rust".into()
        }]
    );
    ok(&mut app, &cmds);
    assert!(app.inbox.invites.is_empty());
    // 'c' is for one's own requests only.
    press(&mut app, KeyCode::Up);
    let cmds = type_str(&mut app, "c");
    assert!(requests(&cmds).is_empty());

    // Events keep the list current.
    let cmds = frame(
        &mut app,
        &json!({"type":"group_invite","chat":"#go","from":"Gina","ts":T0}).to_string(),
    );
    assert_eq!(app.inbox.invites.len(), 1);
    assert!(!cmds.contains(&Command::Bell), "the inbox is shown");
    assert!(screen(&app).contains("#go"));
    frame(
        &mut app,
        &json!({"type":"group_invite_removed","chat":"#GO"}).to_string(),
    );
    assert!(app.inbox.invites.is_empty());
    ctrl(&mut app, 'n');
    let cmds = frame(
        &mut app,
        &json!({"type":"group_invite","chat":"#go","from":"Gina","ts":T0}).to_string(),
    );
    assert!(cmds.contains(&Command::Bell));
    assert!(notice(&app).0.contains("Gina invites you to #go"));
}

fn directory_json(id: u64) -> String {
    json!({"type":"groups","id":id,"groups":[
        {"chat":"#go","kind":"open","topic":"Gophers","members":4},
        {"chat":"#rust","kind":"open","topic":"All about Rust","members":12},
        {"chat":"#zig","kind":"invite","topic":"","members":1}
    ]})
    .to_string()
}

#[test]
fn the_directory_lists_groups_and_enter_joins() {
    let mut app = in_rust();
    let cmds = run(&mut app, "/groups");
    let id = sent(&cmds)[0].id.unwrap();
    frame(&mut app, &directory_json(id));
    assert!(app.directory.visible);
    assert_eq!(app.directory.groups.len(), 3);
    // Keys go to the directory, not to the input.
    let cmds = press(&mut app, KeyCode::Down);
    assert!(requests(&cmds).is_empty());
    assert_eq!(app.directory.selected, 1);
    assert!(draft(&app).is_empty());
    // Enter on a group one is in shows its tab.
    let rust = app.active;
    ctrl(&mut app, 'p');
    let cmds = press(&mut app, KeyCode::Enter);
    assert!(requests(&cmds).is_empty(), "already in #rust");
    assert_eq!(app.active, rust);
    assert!(!app.directory.visible);

    let cmds = run(&mut app, "/groups");
    let id = sent(&cmds)[0].id.unwrap();
    frame(&mut app, &directory_json(id));
    press(&mut app, KeyCode::Up);
    press(&mut app, KeyCode::Up);
    let cmds = press(&mut app, KeyCode::Enter);
    assert_eq!(requests(&cmds), [Request::Join { chat: "#go".into() }]);
    assert!(!app.directory.visible);
    frame(&mut app, &joined_json("#go", "Gophers"));
    assert_eq!(app.active, tab_of(&app, "#go").unwrap());

    // Esc closes without joining; an unasked list is not shown.
    let cmds = run(&mut app, "/groups");
    let id = sent(&cmds)[0].id.unwrap();
    frame(&mut app, &directory_json(id));
    let cmds = press(&mut app, KeyCode::Esc);
    assert!(requests(&cmds).is_empty());
    assert!(!app.directory.visible);
    frame(&mut app, &directory_json(9_999));
    assert!(!app.directory.visible);
}

#[test]
fn f2_in_a_group_tab_lists_members_with_roles_and_presence() {
    let mut app = in_rust();
    press(&mut app, KeyCode::F(2));
    let text = screen(&app);
    assert!(text.contains("Members (3)"), "{text}");
    let rows: Vec<&str> = text.lines().collect();
    let carol = rows
        .iter()
        .position(|l| l.contains("★Carol"))
        .expect("owner");
    let bob = rows.iter().position(|l| l.contains("+Bob")).expect("mod");
    let alice = rows
        .iter()
        .position(|l| l.contains("alice (you)"))
        .expect("me");
    assert!(carol < bob && bob < alice, "owner, mods, members:\n{text}");
    assert!(rows[bob].contains("offline"), "{text}");
    assert!(rows[carol].contains("busy"), "{text}");
    // Presence reaches the member list.
    frame(
        &mut app,
        &json!({"type":"presence","user":"Bob","online":true,"status":"away"}).to_string(),
    );
    let text = screen(&app);
    assert!(
        text.lines()
            .any(|l| l.contains("+Bob") && l.contains("away")),
        "{text}"
    );
    // Enter opens a private chat with the selected member.
    press(&mut app, KeyCode::Down);
    let cmds = press(&mut app, KeyCode::Enter);
    assert!(sent(&cmds).is_empty(), "Bob's chat is open already: shown");
    assert_eq!(app.active, tab_of(&app, "@Bob").unwrap());
    // Elsewhere, F2 lists everyone online.
    press(&mut app, KeyCode::F(2));
    assert!(screen(&app).contains("People ("));

    // /members refreshes the list and shows it whole in the system view.
    let mut app = in_rust();
    let cmds = run(&mut app, "/members");
    let id = sent(&cmds)[0].id.unwrap();
    frame(
        &mut app,
        &json!({"type":"members","id":id,"chat":"#rust","members":[
            {"user":"Carol","role":"owner","online":true,"status":"available"},
            {"user":"alice","role":"member","online":true,"status":"available"}]})
        .to_string(),
    );
    assert!(app.output.visible);
    let text = screen(&app);
    assert!(text.contains("Members of #rust (2)"), "{text}");
    assert!(text.contains("★ Carol  owner · online"), "{text}");
    assert!(text.contains("alice (you)  member · online"), "{text}");
    press(&mut app, KeyCode::Esc);
    assert!(!app.output.visible);
}

#[test]
fn welcome_opens_group_tabs_and_fills_in_invitations() {
    let mut app = new_app();
    let cmds = welcome(
        &mut app,
        "alice",
        json!({"chats":[{"chat":"@Bob","user":"Bob","online":true,"unread":0,"last_read":0}],
               "groups":[{"chat":"#rust","kind":"open","topic":"Rust","role":"mod","unread":3,"last_read":40},
                         {"chat":"#ops","kind":"invite","topic":"","role":"owner","unread":0,"last_read":7}],
               "invites":[{"chat":"#go","from":"Dave","ts":T0}]}),
    );
    let order: Vec<String> = app.chats.iter().map(|c| c.key.to_string()).collect();
    assert_eq!(order, ["#public", "@Bob", "#rust", "#ops"]);
    let rust = &app.chats[2];
    assert_eq!(rust.unread, 3);
    assert_eq!(rust.last_read, 40);
    assert_eq!(rust.attention, Attention::Activity);
    assert_eq!(rust.group.as_ref().unwrap().role, GroupRole::Mod);
    assert!(history_id(&cmds, "#rust").is_some());
    assert!(history_id(&cmds, "#ops").is_some());
    assert_eq!(app.inbox.invites.len(), 1);
    assert!(screen(&app).contains("#rust (3)"));
    // Shown after a login, the member list is asked for once.
    for f in sent(&cmds) {
        if let Request::History { chat, .. } = &f.request {
            frame(&mut app, &history_json(f.id.unwrap(), chat, &[], false));
        }
    }
    alt(&mut app, '3');
    let cmds = press(&mut app, KeyCode::F(2));
    assert_eq!(
        requests(&cmds),
        [Request::Members {
            chat: "#rust".into()
        }]
    );
    let cmds = press(&mut app, KeyCode::Down);
    assert!(requests(&cmds).is_empty(), "asked once");
}

#[test]
fn public_last_read_places_the_new_messages_line_after_a_login() {
    let mut app = new_app();
    // The count alone would put the line before the 3rd newest (after 7);
    // the marker says 5.
    let cmds = welcome(
        &mut app,
        "alice",
        json!({"public_unread":3,"public_last_read":5}),
    );
    let id = history_id(&cmds, "#public").unwrap();
    let msgs: Vec<String> = (1..=10)
        .map(|n| msg_json("#public", n, T0, "Bob", &format!("m{n}")))
        .collect();
    frame(&mut app, &history_json(id, "#public", &msgs, false));
    assert_eq!(app.chats[0].marker_after, Some(5));
    let text = screen(&app);
    let lines: Vec<&str> = text.lines().collect();
    let marker = lines
        .iter()
        .position(|l| l.contains("new messages"))
        .expect("the line");
    assert!(lines[marker - 1].ends_with("m5") && lines[marker + 1].ends_with("m6"));

    // A background #public gets its unread count from the marker too.
    let mut app = logged_in(
        "alice",
        json!({"chats":[{"chat":"@Bob","user":"Bob","online":true,"unread":0,"last_read":0}]}),
    );
    alt(&mut app, '2');
    app.update(Event::Net(NetEvent::Lost {
        reason: "reset".into(),
        retry_in: Duration::from_secs(1),
    }));
    welcome(
        &mut app,
        "alice",
        json!({"public_unread":4,"public_last_read":12}),
    );
    assert_eq!(app.chats[0].unread, 4);
    assert_eq!(app.chats[0].last_read, 12);
    assert!(screen(&app).contains("# public (4)"));
}

#[test]
fn reconnect_catches_up_group_tabs_and_closes_groups_no_longer_listed() {
    let mut app = in_rust();
    frame(&mut app, &joined_json("#go", ""));
    frame(&mut app, &msg_json("#rust", 20, T0, "Carol", "seen"));
    let rust = tab_of(&app, "#rust").unwrap();
    alt(&mut app, char::from(b'1' + rust as u8));
    type_str(&mut app, "typed while offline");
    app.update(Event::Net(NetEvent::Lost {
        reason: "reset".into(),
        retry_in: Duration::from_secs(1),
    }));
    let cmds = welcome(
        &mut app,
        "alice",
        json!({"groups":[{"chat":"#rust","kind":"open","topic":"All about Rust","role":"member","unread":1,"last_read":20}]}),
    );
    let catch_up = sent(&cmds).into_iter().find_map(|f| match f.request {
        Request::History { chat, after, .. } if chat == "#rust" => Some(after),
        _ => None,
    });
    assert_eq!(catch_up, Some(Some(20)), "after the last seen message");
    assert!(
        history_id(&cmds, "#go").is_none(),
        "no history for a group one is no longer in"
    );
    let go = tab_of(&app, "#go").expect("kept, closed");
    assert!(app.chats[go].closed.is_some());
    assert_eq!(draft(&app), "typed while offline");
    assert_eq!(app.active, tab_of(&app, "#rust").unwrap());
}

#[test]
fn tab_completes_group_names_after_a_hash() {
    let mut app = in_rust();
    frame(
        &mut app,
        &json!({"type":"group_invite","chat":"#rustaceans","from":"Dave","ts":T0}).to_string(),
    );
    type_str(&mut app, "/join #rusta");
    press(&mut app, KeyCode::Tab);
    assert_eq!(draft(&app), "/join #rustaceans ");
    ctrl(&mut app, 'u');
    type_str(&mut app, "/join #RU");
    press(&mut app, KeyCode::Tab);
    assert_eq!(
        draft(&app),
        "/join #rust",
        "the common part of #rust and #rustaceans"
    );
    ctrl(&mut app, 'u');
    type_str(&mut app, "/delete-g");
    press(&mut app, KeyCode::Tab);
    assert_eq!(draft(&app), "/delete-group ");
}

/// Thousands of pseudo-random keys and group events in every state
/// (joined, kicked, deleted, directory open, panel open): nothing panics
/// and every screen draws, down to 20×6.
#[test]
fn random_group_events_and_keys_never_panic() {
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let mut app = in_rust();
    let chats = ["#rust", "#RUST", "#go", "#ops"];
    let users = ["alice", "Bob", "Carol", "Dave"];
    let codes = [
        KeyCode::Enter,
        KeyCode::Tab,
        KeyCode::Up,
        KeyCode::Down,
        KeyCode::Esc,
        KeyCode::F(2),
        KeyCode::PageUp,
        KeyCode::Backspace,
    ];
    let lines = [
        "/groups",
        "/members",
        "/leave",
        "/topic t",
        "/kick Bob x",
        "/role Bob mod",
        "/join #go",
        "/invite Dave",
        "/delete-group #rust",
        "hello",
    ];
    for step in 0..5_000u64 {
        let chat = chats[next(chats.len() as u64) as usize];
        let user = users[next(users.len() as u64) as usize];
        let f = match next(12) {
            0 => Some(joined_json(chat, "topic \u{1b}[1m")),
            1 => Some(json!({"type":"member_joined","chat":chat,"user":user,"role":"member"}).to_string()),
            2 => Some(json!({"type":"member_left","chat":chat,"user":user,"by":user,"reason":"r"}).to_string()),
            3 => Some(json!({"type":"group_left","chat":chat,"by":user,"reason":"deleted"}).to_string()),
            4 => Some(json!({"type":"group_topic","chat":chat,"topic":"x".repeat(next(600) as usize),"by":user}).to_string()),
            5 => Some(json!({"type":"member_role","chat":chat,"user":user,"role":"owner","by":null}).to_string()),
            6 => Some(json!({"type":"group_invite","chat":chat,"from":user,"ts":T0}).to_string()),
            7 => Some(json!({"type":"group_invite_removed","chat":chat}).to_string()),
            8 => Some(json!({"type":"groups","id":step,"groups":[{"chat":chat,"kind":"open","topic":"t","members":u64::MAX}]}).to_string()),
            9 => Some(msg_json(chat, 100 + step, T0, user, "alice: hi")),
            _ => None,
        };
        match f {
            Some(f) => {
                frame(&mut app, &f);
            }
            None if next(3) == 0 => {
                let line = lines[next(lines.len() as u64) as usize];
                run(&mut app, line);
            }
            None => {
                press(&mut app, codes[next(codes.len() as u64) as usize]);
            }
        }
        if step % 250 == 0 {
            let t = next(app.tab_count() as u64) as u8;
            alt(&mut app, char::from(b'1' + t.min(8)));
            app.update(Event::Resize(20 + next(100) as u16, 6 + next(30) as u16));
            let _ = screen(&app);
        }
    }
    let _ = screen(&app);
}

//! End to end, groups: a real `tchat-server` and three real `tchat` clients
//! (alice, bob, carol) in tmux, each with a home and config directories of
//! its own.
//!
//! Alice creates an invite-only group with a topic and invites Bob; Bob
//! finds the invitation in his Inbox and joins with `a`; the group's tab
//! opens for him with its topic under the tabs; they write both ways. Carol,
//! not a member, does not find the group in `/groups` and her `/join` is
//! refused with a reason. Alice changes the topic, then kicks Bob with a
//! reason: Bob's screen says who and why, and what he had typed (not sent)
//! stays in the input; at 40×12 the same screen is cut with `…`, not broken.
//! Alice deletes the group (the name typed again): her tab closes, with a
//! notice. Screens are read with `tmux capture-pane` and polled against a
//! deadline; nothing waits a fixed time.
//!
//! A second test checks at 40 columns that the status bar cuts the
//! server's address with `…` (a port cut silently reads as another port);
//! there F2 and `/who` still show whole, in the chat's place.

mod tmux_support;
use tmux_support::{have_tmux, start_server, Tmux};

/// Each client in a 100×30 session of its own (see
/// [`tmux_support::start_client`]).
fn start_client(tmux: &Tmux, dir: &std::path::Path, addr: &str, user: &str) {
    tmux_support::start_client(tmux, dir, addr, user, (100, 30));
}

/// Row `n` (0-based) of a captured screen; the tab bar is row 0, a group
/// tab's topic line row 1.
fn row(screen: &str, n: usize) -> &str {
    screen.lines().nth(n).unwrap_or("")
}

/// The input line: the last row but one (the status bar is the last).
fn input_row(screen: &str) -> &str {
    let rows: Vec<&str> = screen.lines().collect();
    rows.len().checked_sub(2).map_or("", |i| rows[i])
}

#[test]
fn three_clients_in_an_invite_only_group() {
    if !have_tmux() {
        println!("skipped: tmux is not installed");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("config.toml"), "bell = false\n").expect("write config");
    let (server, addr) = start_server(dir.path());
    let tmux = Tmux {
        socket: format!("tchat-e2e-groups-{}", std::process::id()),
    };
    for user in ["alice", "bob", "carol"] {
        start_client(&tmux, dir.path(), &addr, user);
    }
    for user in ["alice", "bob", "carol"] {
        tmux.wait_for(user, "● connected");
    }

    // Alice creates an invite-only group with a topic: its tab opens and
    // takes the focus, the topic on the line under the tabs.
    tmux.line("alice", "/create #ops invite Deploys and the pager rota");
    let screen = tmux.wait_for("alice", "#ops>");
    assert!(row(&screen, 0).contains("#ops"), "{screen}");
    assert!(
        row(&screen, 1).contains("Deploys and the pager rota"),
        "{screen}"
    );

    // She invites Bob, who finds the invitation in his Inbox.
    tmux.line("alice", "/invite bob");
    tmux.wait_for("alice", "bob is invited to #ops");
    let screen = tmux.wait_for("bob", "Inbox [1]");
    assert!(
        screen.contains("alice invites you to #ops"),
        "the notice says who invited him to what:\n{screen}"
    );
    tmux.keys("bob", &["M-2"]);
    let inbox = tmux.wait_for("bob", "Invitations to groups");
    let invitation = inbox
        .lines()
        .find(|l| l.contains("#ops"))
        .unwrap_or_else(|| panic!("no invitation to #ops in the inbox:\n{inbox}"));
    assert!(invitation.contains("from alice"), "{inbox}");

    // `a` joins: the group's tab opens, focused, with its topic.
    tmux.type_text("bob", "a");
    let screen = tmux.wait_for("bob", "#ops>");
    assert!(row(&screen, 0).contains("#ops"), "{screen}");
    assert!(
        row(&screen, 1).contains("Deploys and the pager rota"),
        "the topic is on the line under the tabs:\n{screen}"
    );
    assert!(!row(&screen, 0).contains("Inbox [1]"), "{screen}");
    tmux.wait_for("alice", "bob joined #ops");

    // Messages both ways.
    tmux.line("alice", "welcome to ops, bob");
    tmux.wait_for("bob", "alice: welcome to ops, bob");
    tmux.line("bob", "thanks alice, I have the pager");
    tmux.wait_for("alice", "bob: thanks alice, I have the pager");

    // Carol is not a member: an open group of her own is in the directory,
    // the invite-only one is not, and her `/join` is refused with a reason.
    tmux.line("carol", "/create #garden open Plants and such");
    tmux.wait_for("carol", "#garden>");
    tmux.line("carol", "/groups");
    let directory = tmux.wait_for("carol", "Groups (1)");
    assert!(directory.contains("#garden  open"), "{directory}");
    assert!(
        !directory.contains("#ops") && !directory.contains("pager rota"),
        "an invite-only group is not listed to a non-member:\n{directory}"
    );
    tmux.keys("carol", &["Escape"]);
    tmux.wait_until(
        "carol",
        std::time::Instant::now() + tmux_support::DEADLINE,
        |s| !s.contains("Groups (1)"),
    );
    tmux.line("carol", "/join #ops");
    let screen = tmux.wait_for("carol", "invite-only");
    assert!(
        screen.contains("#ops is an invite-only group; you need an invitation"),
        "the refusal says why:\n{screen}"
    );
    assert!(
        !row(&screen, 0).contains("#ops"),
        "no tab for a refused join:\n{screen}"
    );
    assert_eq!(
        input_row(&screen).trim_end(),
        "#garden> /join #ops",
        "a refused command comes back into the input:\n{screen}"
    );

    // Alice changes the topic; Bob's line under the tabs follows.
    tmux.line("alice", "/topic Deploy freeze until Friday");
    let screen = tmux.wait_for("bob", "alice set the topic: Deploy freeze until Friday");
    assert!(
        row(&screen, 1).contains("Deploy freeze until Friday"),
        "{screen}"
    );

    // Bob is typing when Alice kicks him with a reason.
    tmux.type_text("bob", "half-typed reply about the deploy");
    tmux.wait_for("bob", "#ops> half-typed reply about the deploy");
    tmux.line("alice", "/kick bob too many pager alerts");
    let screen = tmux.wait_for("bob", "alice removed you from #ops: too many pager alerts");
    assert!(
        row(&screen, 0).contains("#ops ✕"),
        "the tab stays, marked closed:\n{screen}"
    );
    assert!(
        row(&screen, 1).contains("alice removed you from #ops: too many pager alerts"),
        "the line under the tabs says who and why:\n{screen}"
    );
    assert_eq!(
        input_row(&screen).trim_end(),
        "#ops> half-typed reply about the deploy",
        "what Bob typed is still there:\n{screen}"
    );
    assert!(
        screen.contains("alice: welcome to ops, bob"),
        "the tab stays readable:\n{screen}"
    );
    tmux.wait_for("alice", "bob was removed by alice: too many pager alerts");
    // Enter in the closed tab does not send it, and keeps it.
    tmux.keys("bob", &["Enter"]);
    let screen = tmux.wait_for("bob", "not sent:");
    assert_eq!(
        input_row(&screen).trim_end(),
        "#ops> half-typed reply about the deploy",
        "{screen}"
    );

    // The same screen at 40×12: cut with `…`, nothing broken; and back.
    tmux.cmd(&["resize-window", "-t", "bob", "-x", "40", "-y", "12"]);
    let small = tmux.wait_until(
        "bob",
        std::time::Instant::now() + tmux_support::DEADLINE,
        |s| s.lines().count() <= 12 && s.lines().nth(1).is_some_and(|l| l.contains('…')),
    );
    assert!(
        small.lines().all(|l| l.chars().count() <= 40),
        "every row fits 40 columns:\n{small}"
    );
    assert!(row(&small, 0).contains("#ops ✕"), "{small}");
    assert!(
        row(&small, 1).starts_with(" closed: alice removed you"),
        "the line under the tabs is cut, not wrapped:\n{small}"
    );
    assert!(
        small
            .lines()
            .last()
            .is_some_and(|l| l.contains("● connected")),
        "the status bar is still the last row:\n{small}"
    );
    assert!(
        input_row(&small).starts_with("#ops> "),
        "the input keeps its row:\n{small}"
    );
    assert!(!small.contains("tchat exited"), "{small}");
    tmux.cmd(&["resize-window", "-t", "bob", "-x", "100", "-y", "30"]);
    let screen = tmux.wait_until(
        "bob",
        std::time::Instant::now() + tmux_support::DEADLINE,
        |s| s.lines().count() >= 30 && input_row(s).contains("half-typed reply about the deploy"),
    );
    assert_eq!(
        input_row(&screen).trim_end(),
        "#ops> half-typed reply about the deploy",
        "{screen}"
    );

    // Deleting needs the name typed again; then Alice's tab closes with a
    // notice.
    tmux.line("alice", "/delete-group");
    tmux.wait_for("alice", "type /delete-group #ops to be sure");
    tmux.keys("alice", &["C-u"]);
    tmux.line("alice", "/delete-group #ops");
    let screen = tmux.wait_for("alice", "you deleted #ops");
    assert!(
        !row(&screen, 0).contains("#ops"),
        "the tab of a deleted group closes:\n{screen}"
    );
    assert!(row(&screen, 0).contains("# public"), "{screen}");

    // Nobody's client ended on the way.
    for user in ["alice", "bob", "carol"] {
        let screen = tmux.capture(user);
        assert!(!screen.contains("tchat exited"), "{user}:\n{screen}");
        assert_eq!(tmux.pane_flag(user, "alternate_on"), "1", "{user}");
    }
    drop(tmux);
    drop(server);
}

#[test]
fn at_40_columns_the_status_bar_never_shows_a_cut_address_as_whole() {
    if !have_tmux() {
        println!("skipped: tmux is not installed");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("config.toml"), "bell = false\n").expect("write config");
    let (server, addr) = start_server(dir.path());
    let tmux = Tmux {
        socket: format!("tchat-e2e-groups-narrow-{}", std::process::id()),
    };
    start_client(&tmux, dir.path(), &addr, "bob");
    tmux.wait_for("bob", "● connected");
    tmux.cmd(&["resize-window", "-t", "bob", "-x", "40", "-y", "12"]);
    let small = tmux.wait_until(
        "bob",
        std::time::Instant::now() + tmux_support::DEADLINE,
        |s| s.lines().count() <= 12 && s.lines().last().is_some_and(|l| l.contains("F1 help")),
    );
    let status = small.lines().last().unwrap_or("");
    let whole = format!("bob@{addr}");
    let shown = status
        .split_whitespace()
        .find(|w| w.starts_with("bob@"))
        .unwrap_or_else(|| panic!("no user@server in the status bar:\n{small}"));
    assert!(
        shown == whole || shown.ends_with('…'),
        "{shown:?} is neither {whole:?} nor cut with `…`:\n{small}"
    );
    // F2 at 40×12: the panel takes the chat's place, and Esc gives it back.
    tmux.keys("bob", &["F2"]);
    let people = tmux.wait_for("bob", "People (1)");
    assert!(people.contains("bob (you)"), "{people}");
    tmux.keys("bob", &["Escape"]);
    tmux.wait_until(
        "bob",
        std::time::Instant::now() + tmux_support::DEADLINE,
        |s| !s.contains("People ("),
    );
    // /who: the list in the system view, titled, with its keys.
    tmux.line("bob", "/who");
    let who = tmux.wait_for("bob", "Online (1)");
    assert!(who.contains("● bob (you)  available"), "{who}");
    assert!(who.contains("Esc closes"), "{who}");
    assert!(who.lines().all(|l| l.chars().count() <= 40), "{who}");
    tmux.keys("bob", &["Escape"]);
    drop(tmux);
    drop(server);
}

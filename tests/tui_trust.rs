//! The trust question and the CHANGED warning in `App::update` and on
//! screen: `y` trusts (the edges record it and connect again), `n` and Esc
//! leave the client offline, a changed certificate has no yes; both are
//! insta snapshots at 80×24, and certificate text is sanitized.

mod client_support;

use std::path::PathBuf;

use client_support::*;
use crossterm::event::KeyCode;
use serde_json::json;
use tchat::client::app::{ConnState, Screen};
use tchat::client::login::LoginForm;
use tchat::client::trust::{TlsInfo, Untrusted, Verified};
use tchat::client::{Command, Event, NetEvent};

fn print(byte_base: u8) -> String {
    let hex: Vec<String> = (0..32u8)
        .map(|i| format!("{:02X}", byte_base.wrapping_add(i.wrapping_mul(7))))
        .collect();
    format!("SHA256:{}", hex.join(":"))
}

const SERVER: &str = "chat.example.org:7700";

fn unknown() -> Untrusted {
    Untrusted::Unknown {
        server: SERVER.into(),
        fingerprint: print(0x10),
        names: vec!["chat.example.org".into()],
        no_system_roots: false,
    }
}

fn changed() -> Untrusted {
    Untrusted::Changed {
        server: SERVER.into(),
        old: print(0x10),
        new: print(0xA0),
        file: Some(PathBuf::from("/home/alice/.config/tchat/known_servers")),
        line: 3,
    }
}

/// A client whose login (to a `tls://` server) was just sent.
fn logging_in() -> tchat::client::App {
    let mut app = new_app();
    app.settings.known_servers = Some(PathBuf::from("/home/alice/.config/tchat/known_servers"));
    app.login = LoginForm::new(&format!("tls://{SERVER}"), "alice", false);
    app.login.set_password("correct horse");
    let cmds = press(&mut app, KeyCode::Enter);
    assert!(
        matches!(&cmds[..], [Command::Connect(c)] if c.server == format!("tls://{SERVER}")),
        "{cmds:?}"
    );
    app
}

fn untrusted(app: &mut tchat::client::App, u: Untrusted) -> Vec<Command> {
    app.update(Event::Net(NetEvent::Untrusted(u)))
}

#[test]
fn yes_trusts_the_certificate_and_connects_again() {
    let mut app = logging_in();
    assert!(untrusted(&mut app, unknown()).is_empty());
    assert_eq!(app.trust.prompt, Some(unknown()));
    assert!(!app.login.busy);
    assert!(matches!(app.conn, ConnState::Offline(_)));

    // Other keys and pastes do nothing while the question is open.
    assert!(type_str(&mut app, "xq").is_empty());
    app.update(Event::Paste("yes".into()));
    assert_eq!(app.login.user_text(), "alice");
    assert!(app.trust.prompt.is_some());

    let cmds = type_str(&mut app, "y");
    assert_eq!(
        cmds,
        [Command::Trust {
            server: SERVER.into(),
            fingerprint: print(0x10),
        }]
    );
    assert_eq!(app.trust.prompt, None);
    assert_eq!(app.conn, ConnState::Connecting);
    assert!(app.login.busy);

    // The network task logs in over TLS: the status bar says so.
    app.update(Event::Net(NetEvent::Transport(Some(TlsInfo {
        fingerprint: print(0x10),
        verified: Verified::Known,
    }))));
    welcome(&mut app, "alice", json!({}));
    assert_eq!(app.screen, Screen::Chat);
    let text = screen(&app);
    assert!(text.contains("● connected · tls"), "{text}");
    assert!(text.contains("alice@chat.example.org:7700"), "{text}");
}

#[test]
fn no_or_escape_stays_disconnected() {
    for key in [KeyCode::Char('n'), KeyCode::Esc] {
        let mut app = logging_in();
        untrusted(&mut app, unknown());
        let cmds = press(&mut app, key);
        assert!(cmds.is_empty(), "{cmds:?}");
        assert_eq!(app.trust.prompt, None);
        assert!(matches!(app.conn, ConnState::Offline(_)));
        assert!(!app.login.busy);
        let err = app.login.error.clone().unwrap_or_default();
        assert!(err.contains("did not trust"), "{err}");
        // The form is usable again and logging in asks anew.
        let cmds = press(&mut app, KeyCode::Enter);
        assert!(matches!(&cmds[..], [Command::Connect(_)]), "{cmds:?}");
    }
}

#[test]
fn a_changed_certificate_has_no_yes() {
    let mut app = logging_in();
    untrusted(&mut app, changed());
    assert!(type_str(&mut app, "yY").is_empty());
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    assert_eq!(app.trust.prompt, None, "Enter closes the warning");
    let err = app.login.error.clone().unwrap_or_default();
    assert!(err.contains("changed"), "{err}");
    assert!(matches!(app.conn, ConnState::Offline(_)));
}

#[test]
fn a_refused_certificate_on_reconnect_brings_back_the_login_form() {
    let mut app = logged_in("alice", json!({}));
    app.update(Event::Net(NetEvent::Transport(Some(TlsInfo {
        fingerprint: print(0x10),
        verified: Verified::Known,
    }))));
    untrusted(&mut app, changed());
    assert_eq!(app.screen, Screen::Login);
    assert_eq!(app.tls, None);
    assert!(matches!(app.conn, ConnState::Offline(_)));
    assert!(screen(&app).contains("CERTIFICATE CHANGED"));
}

#[test]
fn a_pin_mismatch_shows_both_fingerprints_and_has_no_yes() {
    let mut app = logging_in();
    untrusted(
        &mut app,
        Untrusted::PinMismatch {
            server: SERVER.into(),
            expected: print(0),
            got: print(0x10),
        },
    );
    let text = screen(&app);
    assert!(text.contains("--trust-fingerprint"), "{text}");
    assert!(text.contains("SHA256:00:07:0E"), "{text}");
    assert!(text.contains("SHA256:10:17:1E"), "{text}");
    assert!(type_str(&mut app, "y").is_empty());
    assert!(app.trust.prompt.is_some());
    assert!(press(&mut app, KeyCode::Esc).is_empty());
    assert_eq!(app.trust.prompt, None);
    let err = app.login.error.clone().unwrap_or_default();
    assert!(err.contains("--trust-fingerprint"), "{err}");
}

#[test]
fn certificate_text_never_reaches_the_terminal_raw() {
    let mut app = logging_in();
    untrusted(
        &mut app,
        Untrusted::Unknown {
            server: "evil\u{1b}[2J:7700".into(),
            fingerprint: print(0x10),
            names: vec!["x\u{1b}]0;pwned\u{7}".into(), "\u{202E}moc.live".into()],
            no_system_roots: true,
        },
    );
    let term = render(&app);
    let buf = term.backend().buffer();
    for cell in buf.content() {
        assert!(
            !cell
                .symbol()
                .chars()
                .any(tchat::client::sanitize::is_unsafe),
            "unsafe character on screen: {:?}",
            cell.symbol()
        );
    }
    let text = screen(&app);
    assert!(text.contains("x\u{FFFD}]0;pwned\u{FFFD}"), "{text}");
    assert!(text.contains("No system root certificates"), "{text}");
}

#[test]
fn trust_prompt_screen() {
    let mut app = logging_in();
    untrusted(&mut app, unknown());
    insta::assert_snapshot!("trust_prompt", screen(&app));
}

#[test]
fn changed_certificate_screen() {
    let mut app = logging_in();
    untrusted(&mut app, changed());
    insta::assert_snapshot!("trust_changed", screen(&app));
}

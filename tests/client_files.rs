//! File transfer in the app (§14): `/send` and its checks, the question
//! after a dropped file, the progress state and bars, plain errors, file
//! messages, `/get`, Enter on a selected file message, `/open`,
//! `/cancel-transfer` — all through `App::update`.

mod client_support;

use std::path::PathBuf;

use client_support::*;
use crossterm::event::{KeyCode, KeyModifiers};
use serde_json::json;
use tchat::client::app::{App, Phase};
use tchat::client::{Command, Event, FileCommand, FileEvent, NetEvent};
use tchat::protocol::{ErrorCode, ErrorFrame};

fn hello(app: &mut App, max: u64) {
    frame(
        app,
        &json!({"type":"hello","protocol":1,"server":"tchat-server/0.1.0","features":["files"],
            "limits":{"max_frame_bytes":65536,"max_text_bytes":4096,"max_file_bytes":max,"file_chunk_bytes":32768}})
        .to_string(),
    );
}

fn app() -> App {
    let mut app = logged_in("alice", json!({}));
    hello(&mut app, 100 << 20);
    app.settings.download_dir = PathBuf::from("/tmp/dl/tchat");
    app
}

fn file_cmds(cmds: &[Command]) -> Vec<FileCommand> {
    cmds.iter()
        .filter_map(|c| match c {
            Command::File(f) => Some(f.clone()),
            _ => None,
        })
        .collect()
}

fn fev(app: &mut App, ev: FileEvent) -> Vec<Command> {
    app.update(Event::Net(NetEvent::File(ev)))
}

fn notice(app: &App) -> String {
    app.notice
        .as_ref()
        .map(|n| n.text.clone())
        .unwrap_or_default()
}

fn temp_file(bytes: usize, name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join(name);
    std::fs::write(&p, vec![7u8; bytes]).unwrap();
    (dir, p)
}

fn send_cmd(app: &mut App, line: &str) -> Vec<Command> {
    type_str(app, line);
    press(app, KeyCode::Enter)
}

fn file_message(app: &mut App, id: u64, text: &str) {
    frame(
        app,
        &json!({"type":"message","chat":"#public","msg_id":id,"ts":T0,"from":"Bob","text":text,
            "file":{"file_id":"f1","name":"report.pdf","size":2_400_000,"sha256":"ab".repeat(32),"mime":"application/pdf"}})
        .to_string(),
    );
}

#[test]
fn send_offers_the_file_with_its_caption_and_shows_it_being_checked() {
    let mut app = app();
    let (_d, p) = temp_file(1000, "notes.txt");
    let cmds = send_cmd(&mut app, &format!("/send {} Q3 numbers", p.display()));
    let f = file_cmds(&cmds);
    assert_eq!(f.len(), 1, "{cmds:?}");
    match &f[0] {
        FileCommand::Upload {
            chat,
            name,
            size,
            mime,
            caption,
            chunk_bytes,
            path,
            ..
        } => {
            assert_eq!(chat, "#public");
            assert_eq!(name, "notes.txt");
            assert_eq!(*size, 1000);
            assert_eq!(mime, "text/plain");
            assert_eq!(caption.as_deref(), Some("Q3 numbers"));
            assert_eq!(*chunk_bytes, 32768);
            assert_eq!(path, &p);
        }
        other => panic!("{other:?}"),
    }
    assert!(app.draft().is_empty(), "the command went out");
    assert_eq!(app.transfers.len(), 1);
    assert_eq!(app.transfers[0].phase, Phase::Hashing);
    assert!(screen(&app).contains("↑ notes.txt"), "{}", screen(&app));
}

#[test]
fn a_file_over_the_limit_is_refused_before_anything_is_sent() {
    let mut app = app();
    hello(&mut app, 1 << 20);
    let (_d, p) = temp_file((1 << 20) + 1, "big.bin");
    let cmds = send_cmd(&mut app, &format!("/send {}", p.display()));
    assert!(file_cmds(&cmds).is_empty());
    assert_eq!(
        notice(&app),
        "file too large: the server accepts up to 1 MiB"
    );
    assert!(!app.draft().is_empty(), "the command stays in the input");
    assert_eq!(tchat::client::app::limit_size(104_857_600), "100 MiB");
}

#[test]
fn send_refuses_a_missing_file_and_a_directory_plainly() {
    let mut app = app();
    let cmds = send_cmd(&mut app, "/send /no/such/file.txt");
    assert!(file_cmds(&cmds).is_empty());
    assert!(notice(&app).starts_with("cannot read /no/such/file.txt"));
    set_empty(&mut app);
    let dir = tempfile::tempdir().unwrap();
    send_cmd(&mut app, &format!("/send {}", dir.path().display()));
    assert!(notice(&app).contains("is a directory"), "{}", notice(&app));
}

fn set_empty(app: &mut App) {
    ctrl(app, 'u');
}

#[test]
fn a_dropped_file_asks_first_and_only_y_sends_it() {
    let mut app = app();
    let (_d, p) = temp_file(10, "my photo.png");
    // Quoted, as terminals paste a dropped file with spaces.
    let cmds = app.update(Event::Paste(format!("'{}'", p.display())));
    assert!(file_cmds(&cmds).is_empty(), "nothing is sent by itself");
    assert!(app.draft().is_empty(), "the path is not typed either");
    assert!(screen(&app).contains("send my photo.png (10 B) to #public? y/n"));
    let cmds = type_str(&mut app, "n");
    assert!(file_cmds(&cmds).is_empty());
    assert!(app.draft().is_empty(), "the answer is not typed");
    assert_eq!(notice(&app), "not sent");

    // As a file:// URL, then yes.
    let url = format!("file://{}", p.display().to_string().replace(' ', "%20"));
    app.update(Event::Paste(url));
    let cmds = type_str(&mut app, "y");
    let f = file_cmds(&cmds);
    assert!(
        matches!(&f[..], [FileCommand::Upload { name, .. }] if name == "my photo.png"),
        "{f:?}"
    );
}

#[test]
fn a_paste_that_is_not_one_existing_file_is_just_text() {
    let mut app = app();
    app.update(Event::Paste("/no/such/thing.pdf".into()));
    assert!(app.dropped.is_none());
    assert_eq!(app.draft().lines().join("\n"), "/no/such/thing.pdf");
    set_empty(&mut app);
    let (_d, p) = temp_file(3, "a.txt");
    app.update(Event::Paste(format!("{}\n{}", p.display(), p.display())));
    assert!(app.dropped.is_none(), "two lines are not one file");
}

#[test]
fn progress_shows_percent_bytes_rate_and_time_left_then_the_upload_ends() {
    let mut app = app();
    let (_d, p) = temp_file(1000, "r.bin");
    send_cmd(&mut app, &format!("/send {}", p.display()));
    let tid = app.transfers[0].tid;
    fev(&mut app, FileEvent::Offered { tid });
    assert_eq!(app.transfers[0].phase, Phase::Starting);
    fev(
        &mut app,
        FileEvent::Progress {
            tid,
            done: 0,
            total: 2_000_000,
        },
    );
    app.now_ms += 2_000;
    fev(
        &mut app,
        FileEvent::Progress {
            tid,
            done: 1_000_000,
            total: 2_000_000,
        },
    );
    let t = &app.transfers[0];
    assert_eq!(t.percent(), 50);
    assert_eq!(t.rate(app.now_ms), Some(500_000.0));
    assert_eq!(t.eta_secs(app.now_ms), Some(2));
    let s = screen(&app);
    assert!(
        s.contains("50% 1.0 MB/2.0 MB 500 kB/s 2s left"),
        "in the tab: {s}"
    );
    let status = s.lines().last().unwrap().to_owned();
    assert!(status.contains("↑ 50%"), "in the status bar: {status}");
    // Another tab: the bar is not there, the status bar still says it.
    app.update(Event::Net(NetEvent::Frame(
        tchat::protocol::decode_server_frame(
            json!({"type":"chat_opened","chat":"@Bob","user":"Bob","ts":T0})
                .to_string()
                .as_bytes(),
        )
        .unwrap()
        .unwrap(),
    )));
    ctrl(&mut app, 'n');
    let s = screen(&app);
    assert!(!s.contains("↑ r.bin"), "{s}");
    assert!(s.lines().last().unwrap().contains("↑ 50%"), "{s}");
    fev(
        &mut app,
        FileEvent::Uploaded {
            tid,
            msg_id: Some(9),
        },
    );
    assert!(app.transfers.is_empty());
    assert_eq!(notice(&app), "sent r.bin to #public");
}

#[test]
fn a_lost_connection_pauses_the_rate_until_bytes_move_again() {
    let mut app = app();
    let (_d, p) = temp_file(10, "r.bin");
    send_cmd(&mut app, &format!("/send {}", p.display()));
    let tid = app.transfers[0].tid;
    fev(
        &mut app,
        FileEvent::Progress {
            tid,
            done: 5,
            total: 10,
        },
    );
    app.update(Event::Net(NetEvent::Lost {
        reason: "gone".into(),
        retry_in: std::time::Duration::from_secs(1),
    }));
    assert_eq!(app.transfers.len(), 1, "the transfer survives the cut");
    assert_eq!(app.transfers[0].since, None);
    assert_eq!(app.transfers[0].phase, Phase::Starting);
}

fn refused(app: &mut App, code: ErrorCode) -> String {
    let (_d, p) = temp_file(10, "x.bin");
    send_cmd(app, &format!("/send {}", p.display()));
    let tid = app.transfers.last().unwrap().tid;
    fev(
        app,
        FileEvent::Refused {
            tid,
            error: ErrorFrame::new(Some(1), code, "server words"),
        },
    );
    assert!(app.transfers.is_empty());
    notice(app)
}

#[test]
fn server_refusals_are_said_plainly() {
    let mut app = app();
    assert_eq!(
        refused(&mut app, ErrorCode::FileTooLarge),
        "x.bin: file too large: the server accepts up to 100 MiB"
    );
    assert!(
        refused(&mut app, ErrorCode::QuotaExceeded).contains("storage quota on the server is full")
    );
    assert!(refused(&mut app, ErrorCode::Muted).contains("muted"));
    assert!(refused(&mut app, ErrorCode::NoSuchFile).contains("no such file"));
    assert!(refused(&mut app, ErrorCode::ChecksumMismatch).contains("checksum mismatch"));
}

#[test]
fn a_download_mismatch_and_a_cancel_are_reported() {
    let mut app = app();
    file_message(&mut app, 5, "report.pdf");
    let cmds = send_cmd(&mut app, "/get");
    let f = file_cmds(&cmds);
    let FileCommand::Download { tid, file, dir } = &f[0] else {
        panic!("{f:?}")
    };
    assert_eq!(file.file_id, "f1");
    assert_eq!(dir, &PathBuf::from("/tmp/dl/tchat"));
    fev(&mut app, FileEvent::ChecksumMismatch { tid: *tid });
    assert!(notice(&app)
        .starts_with("checksum mismatch: report.pdf did not arrive intact and was not kept"));
    assert!(app.transfers.is_empty());

    let cmds = send_cmd(&mut app, "/get");
    let tid = app.transfers[0].tid;
    assert_eq!(file_cmds(&cmds).len(), 1);
    let cmds = send_cmd(&mut app, "/cancel-transfer");
    assert_eq!(file_cmds(&cmds), [FileCommand::Cancel { tid }]);
    fev(&mut app, FileEvent::Cancelled { tid });
    assert_eq!(notice(&app), "cancelled the download of report.pdf");
    let cmds = send_cmd(&mut app, "/cancel-transfer");
    assert!(file_cmds(&cmds).is_empty());
    assert_eq!(notice(&app), "no transfer in this tab");
}

#[test]
fn file_messages_show_name_size_and_type_and_the_caption_cleaned() {
    let mut app = app();
    file_message(&mut app, 5, "Q3 numbers \u{1b}[31m");
    let s = screen(&app);
    assert!(
        s.contains("📎 report.pdf · 2.4 MB · application/pdf"),
        "{s}"
    );
    assert!(s.contains("│ Q3 numbers �[31m"), "{s}");
    // No caption: the server puts the name as text, shown once.
    file_message(&mut app, 6, "report.pdf");
    let s = screen(&app);
    assert_eq!(s.matches("📎 report.pdf").count(), 2, "{s}");
    assert!(!s.contains("│ report.pdf"), "{s}");
}

#[test]
fn get_without_a_file_says_so_and_open_needs_a_download() {
    let mut app = app();
    let cmds = send_cmd(&mut app, "/get");
    assert!(file_cmds(&cmds).is_empty());
    assert_eq!(notice(&app), "no file in this tab yet");
    set_empty(&mut app);
    let cmds = send_cmd(&mut app, "/open");
    assert!(file_cmds(&cmds).is_empty());
    assert!(notice(&app).starts_with("nothing downloaded yet"));
    set_empty(&mut app);
    file_message(&mut app, 5, "report.pdf");
    send_cmd(&mut app, "/get");
    let tid = app.transfers[0].tid;
    let saved = PathBuf::from("/tmp/dl/tchat/report.pdf");
    fev(
        &mut app,
        FileEvent::Saved {
            tid,
            path: saved.clone(),
        },
    );
    assert!(notice(&app).contains("saved report.pdf as /tmp/dl/tchat/report.pdf"));
    let cmds = send_cmd(&mut app, "/open");
    assert_eq!(file_cmds(&cmds), [FileCommand::Open(saved)]);
    fev(
        &mut app,
        FileEvent::OpenFailed("cannot run xdg-open".into()),
    );
    assert_eq!(notice(&app), "cannot run xdg-open");
}

#[test]
fn enter_on_a_selected_file_message_fetches_that_file() {
    let mut app = app();
    file_message(&mut app, 5, "report.pdf");
    frame(&mut app, &msg_json("#public", 6, T0, "Bob", "plain words"));
    key(&mut app, KeyCode::Up, KeyModifiers::CONTROL);
    let cmds = press(&mut app, KeyCode::Enter);
    assert!(file_cmds(&cmds).is_empty());
    assert!(notice(&app).contains("has none"));
    press(&mut app, KeyCode::Up);
    assert!(screen(&app).contains("Enter fetch the file"));
    let cmds = press(&mut app, KeyCode::Enter);
    let f = file_cmds(&cmds);
    assert!(
        matches!(&f[..], [FileCommand::Download { file, .. }] if file.file_id == "f1"),
        "{f:?}"
    );
}

#[test]
fn tab_completes_paths_after_send() {
    let mut app = app();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("reports")).unwrap();
    std::fs::write(dir.path().join("reports").join("q3-final.pdf"), b"x").unwrap();
    let base = dir.path().display().to_string();
    type_str(&mut app, &format!("/send {base}/rep"));
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.draft().lines()[0], format!("/send {base}/reports/"));
    type_str(&mut app, "q");
    press(&mut app, KeyCode::Tab);
    assert_eq!(
        app.draft().lines()[0],
        format!("/send {base}/reports/q3-final.pdf ")
    );
}

#[test]
fn send_and_the_others_are_in_help_and_completion() {
    let mut app = app();
    type_str(&mut app, "/cancel-t");
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.draft().lines()[0], "/cancel-transfer ");
    set_empty(&mut app);
    send_cmd(&mut app, "/help");
    assert!(screen(&app).contains("a /command or a path"));
    press(&mut app, KeyCode::End);
    let s = screen(&app);
    assert!(s.contains("/send PATH [caption]"), "{s}");
    assert!(s.contains("/cancel-transfer"), "{s}");
}

fn upload_in_progress() -> App {
    let mut app = app();
    frame(
        &mut app,
        &msg_json("#public", 3, T0, "Bob", "can you send the report?"),
    );
    file_message(&mut app, 5, "Q3 numbers");
    let (_d, p) = temp_file(10, "slides-final.pdf");
    send_cmd(&mut app, &format!("/send {}", p.display()));
    let tid = app.transfers[0].tid;
    fev(&mut app, FileEvent::Offered { tid });
    fev(
        &mut app,
        FileEvent::Progress {
            tid,
            done: 0,
            total: 5_000_000,
        },
    );
    app.now_ms += 4_000;
    fev(
        &mut app,
        FileEvent::Progress {
            tid,
            done: 2_100_000,
            total: 5_000_000,
        },
    );
    app.notice = None;
    app
}

#[test]
fn snapshot_an_upload_in_progress_and_a_file_message() {
    let app = upload_in_progress();
    insta::assert_snapshot!("files_upload_in_progress", screen(&app));
}

#[test]
fn narrow_screens_keep_the_bar_readable() {
    let mut app = upload_in_progress();
    for (w, h) in [(40u16, 12u16), (59, 20)] {
        app.update(Event::Resize(w, h));
        let s = screen(&app);
        for line in s.lines() {
            assert!(
                unicode_width::UnicodeWidthStr::width(line) <= usize::from(w),
                "{w}×{h}: {line:?}"
            );
        }
        assert!(s.contains("↑ "), "{w}×{h}: {s}");
        assert!(s.contains('%'), "{w}×{h}: {s}");
        if h >= 20 {
            assert!(s.contains("📎 report.pdf"), "{w}×{h}: {s}");
        }
    }
}

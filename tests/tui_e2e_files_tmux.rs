//! End to end, files: a real `tchat-server` and two real `tchat` clients in
//! tmux. Alice sends a file with `/send` in `# public`; Bob sees the file
//! message (name, size, type), fetches it with `/get`, and the file saved in
//! his download directory is the same, byte for byte. Screens are polled
//! against a deadline and the saved file is looked for the same way;
//! nothing waits a fixed time.

use std::path::{Path, PathBuf};
use std::time::Instant;

mod tmux_support;
use tmux_support::{have_tmux, start_client, start_server, Tmux, DEADLINE};

/// Every file below `dir` named `name`.
fn find(dir: &Path, name: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.file_name().is_some_and(|n| n == name) {
                found.push(path);
            }
        }
    }
    found
}

#[test]
fn a_file_sent_by_one_client_is_saved_by_another_byte_for_byte() {
    if !have_tmux() {
        println!("skipped: tmux is not installed");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let (_server, addr) = start_server(dir.path());
    let tmux = Tmux::new("tchat-e2e-files");
    for user in ["alice", "bob"] {
        start_client(&tmux, dir.path(), &addr, user, (100, 30));
    }
    for user in ["alice", "bob"] {
        tmux.wait_for(user, "connected");
    }
    // 300 KB of bytes that are not text: several chunks, every byte value.
    let data: Vec<u8> = (0..300_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let outbox = dir.path().join("outbox");
    std::fs::create_dir_all(&outbox).unwrap();
    let sent = outbox.join("build-log.bin");
    std::fs::write(&sent, &data).unwrap();

    tmux.line(
        "alice",
        &format!("/send {} the nightly build log", sent.display()),
    );
    let screen = tmux.wait_for("bob", "build-log.bin");
    assert!(screen.contains("the nightly build log"), "{screen}");
    tmux.line("bob", "/get");
    tmux.wait_for("bob", "saved build-log.bin");

    let bob_home = dir.path().join("home-bob");
    let deadline = Instant::now() + DEADLINE;
    let saved = loop {
        if let Some(path) = find(&bob_home, "build-log.bin").into_iter().next() {
            break path;
        }
        assert!(
            Instant::now() < deadline,
            "no build-log.bin under {}",
            bob_home.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!(
        std::fs::read(&saved).unwrap(),
        data,
        "{} differs",
        saved.display()
    );
    // Nothing half-written is left next to it.
    let leftovers: Vec<_> = std::fs::read_dir(saved.parent().unwrap())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".part"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

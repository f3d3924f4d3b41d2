//! §14 file transfer, storage: files live outside the database, one copy
//! per content however often it is posted, removed when no message refers
//! to it any more (and when an upload is discarded or cancelled); they
//! survive a restart; the bytes on disk are owner-only; where they live is
//! a server option.
//!
//! These tests look at the files directory. They assume a stored file is
//! kept as its plain bytes (the test data is random, so compression would
//! not change it); the contract says "content-addressed by SHA-256, one
//! copy", and counting files with exactly the posted bytes is the check.
//!
//! Written from the contract before the server implemented §14: where the
//! contract leaves a choice, the comment at the assertion says which
//! reading is tested.

mod admin_support;
mod common;
mod file_support;
mod group_support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use admin_support::*;
use common::*;
use file_support::*;
use group_support::*;

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o7777
}

/// Every directory under (and including) `dir` is 0700 and every file 0600.
fn assert_owner_only(dir: &Path, when: &str) {
    assert_eq!(mode(dir), 0o700, "{} {when}", dir.display());
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if std::fs::symlink_metadata(&path).unwrap().is_dir() {
            assert_owner_only(&path, when);
        } else {
            assert_eq!(mode(&path), 0o600, "{} {when}", path.display());
        }
    }
}

// ----- one copy per content ---------------------------------------------------

#[tokio::test]
async fn the_same_content_posted_many_times_is_stored_once_until_no_message_refers_to_it() {
    let server = TestServer::start().await;
    let dir = default_files_dir(&server);
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    open_chat(&mut alice, "alice", &mut bob, "bob").await;
    group(
        &mut bob,
        "#rust",
        "open",
        &mut [(&mut alice, "alice")],
        &mut [],
    )
    .await;
    let bytes = data(40_000, 80);
    let other = data(40_000, 81);

    // Four postings of one content, by two users, in three chats, under
    // two names; and one posting of another content.
    let p1 = post(&mut alice, "#public", "a.bin", &bytes).await;
    let p2 = post(&mut bob, "#public", "same.bin", &bytes).await;
    let p3 = post(&mut alice, "@bob", "a.bin", &bytes).await;
    let p4 = post(&mut bob, "#rust", "a.bin", &bytes).await;
    post(&mut alice, "#public", "other.bin", &other).await;
    assert_eq!(copies_of(&dir, &bytes), 1, "{:?}", files_under(&dir));
    assert_eq!(copies_of(&dir, &other), 1, "{:?}", files_under(&dir));
    // Each posting has its own file_id.
    let ids = [&p1.file_id, &p2.file_id, &p3.file_id, &p4.file_id];
    for (i, a) in ids.iter().enumerate() {
        for b in &ids[i + 1..] {
            assert_ne!(a, b, "a file_id names one posting");
        }
    }

    // Deleting postings one by one keeps the copy while one is left...
    alice.ok(delete_req("#public", p1.msg_id)).await;
    bob.ok(delete_req("#public", p2.msg_id)).await;
    alice.ok(delete_req("@bob", p3.msg_id)).await;
    settle_all(&mut [&mut alice, &mut bob]).await;
    assert_eq!(copies_of(&dir, &bytes), 1);
    download(&mut alice, &p4.file_id, &bytes).await;
    // ... and removes it with the last one; the other content stays.
    bob.ok(delete_req("#rust", p4.msg_id)).await;
    eventually_copies(&dir, &bytes, 0, "after the last posting was deleted").await;
    assert_eq!(copies_of(&dir, &other), 1);
}

#[tokio::test]
async fn deleting_a_group_removes_the_files_only_it_refers_to() {
    let server = TestServer::start().await;
    let dir = default_files_dir(&server);
    let mut alice = server.user("alice").await;
    create(&mut alice, "#rust", "open").await;
    let only_here = data(30_000, 82);
    let also_public = data(30_000, 83);
    post(&mut alice, "#rust", "a.bin", &only_here).await;
    post(&mut alice, "#rust", "b.bin", &also_public).await;
    let public = post(&mut alice, "#public", "b.bin", &also_public).await;
    alice.ok(g("delete_group", "#rust")).await;
    eventually_copies(&dir, &only_here, 0, "after the group was deleted").await;
    assert_eq!(copies_of(&dir, &also_public), 1);
    download(&mut alice, &public.file_id, &also_public).await;
}

#[tokio::test]
async fn a_discarded_or_cancelled_upload_leaves_nothing_on_disk() {
    let server = TestServer::start().await;
    let dir = default_files_dir(&server);
    let mut alice = server.user("alice").await;

    let promised = data(40_000, 84);
    let sent = data(40_000, 85);
    let file_id = offer(&mut alice, offer_req("#public", "a.bin", &promised)).await;
    send_chunks(&mut alice, &file_id, &sent, 0).await;
    alice.error(done_req(&file_id), "checksum_mismatch").await;
    eventually_copies(&dir, &sent, 0, "after checksum_mismatch").await;

    let bytes = data(40_000, 86);
    let file_id = upload(&mut alice, offer_req("#public", "b.bin", &bytes), &bytes).await;
    alice.ok(cancel_req(&file_id)).await;
    eventually_copies(&dir, &bytes, 0, "after file_cancel").await;
}

#[tokio::test]
async fn files_are_stored_outside_the_database() {
    crate::sqlite_only!();
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let bytes = data(60_000, 87);
    post(&mut alice, "#public", "a.bin", &bytes).await;
    let probe = &bytes[20_000..20_064];
    let db = server.db_path();
    for suffix in ["", "-wal"] {
        let path = db.with_file_name(format!("tchat.db{suffix}"));
        let Ok(content) = std::fs::read(&path) else {
            continue;
        };
        assert!(
            !content.windows(probe.len()).any(|w| w == probe),
            "{} holds the file's bytes",
            path.display()
        );
    }
    assert_eq!(copies_of(&default_files_dir(&server), &bytes), 1);
}

// ----- where, and how ---------------------------------------------------------

#[tokio::test]
async fn the_files_directory_and_every_file_in_it_are_owner_only() {
    let server = TestServer::start().await;
    let dir = default_files_dir(&server);
    let mut alice = server.user("alice").await;
    let bytes = data(40_000, 88);
    post(&mut alice, "#public", "a.bin", &bytes).await;
    // And an upload in progress, whose bytes are on disk too.
    let partial = data(40_000, 89);
    let file_id = offer(&mut alice, offer_req("#public", "b.bin", &partial)).await;
    send_chunks(&mut alice, &file_id, &partial[..CHUNK], 0).await;
    assert!(
        !files_under(&dir).is_empty(),
        "files are in {}",
        dir.display()
    );
    assert_owner_only(&dir, "while serving");
    alice.logout().await;
    let server = server.restart().await;
    let _alice = server.session("alice").await;
    assert_owner_only(&dir, "after a restart");
}

#[tokio::test]
async fn the_files_dir_option_puts_the_files_where_it_says() {
    let elsewhere = tempfile::tempdir().unwrap();
    let dir = elsewhere.path().join("store").join("files");
    let server = files_server_in(dir.clone()).await;
    let mut alice = server.user("alice").await;
    let bytes = data(30_000, 90);
    let posted = post(&mut alice, "#public", "a.bin", &bytes).await;
    assert_eq!(copies_of(&dir, &bytes), 1, "{:?}", files_under(&dir));
    assert_eq!(copies_of(&default_files_dir(&server), &bytes), 0);
    // Directories the server creates for it are owner-only too.
    assert_owner_only(&dir, "in a configured files_dir");
    assert_eq!(mode(&elsewhere.path().join("store")), 0o700);
    download(&mut alice, &posted.file_id, &bytes).await;
}

// ----- restart ------------------------------------------------------------------

#[tokio::test]
async fn files_survive_a_restart() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    open_chat(&mut alice, "alice", &mut bob, "bob").await;
    let public = data(120_000, 91);
    let private = data(20_000, 92);
    let p1 = post_with(
        &mut alice,
        offer_req_with("#public", "pub.bin", &public, "image/png", "look"),
        &public,
    )
    .await;
    let p2 = post(&mut alice, "@bob", "priv.bin", &private).await;
    let h_before = bob.request(g("history", "#public")).await;
    alice.logout().await;
    bob.logout().await;

    let server = server.restart().await;
    let mut bob = server.session("bob").await;
    let info = download(&mut bob, &p1.file_id, &public).await;
    assert_eq!(info["mime"], "image/png", "{info}");
    assert_eq!(info["name"], "pub.bin", "{info}");
    download(&mut bob, &p2.file_id, &private).await;
    let (_, tail) = download_from(&mut bob, &p1.file_id, 100_000).await;
    assert!(tail == public[100_000..]);
    let h_after = bob.request(g("history", "#public")).await;
    assert_eq!(h_after["messages"], h_before["messages"]);
    assert_eq!(
        h_after["messages"][0]["file"],
        file_obj(&p1.file_id, "pub.bin", &public, "image/png")
    );
    let mut carol = server.user("carol").await;
    let r = carol.request(get_req(&p2.file_id, 0)).await;
    assert_eq!(r["code"], "no_such_file", "{r}");
}

#[tokio::test]
async fn an_interrupted_upload_survives_a_restart_and_resumes() {
    // Reading: "kept for 24 hours" is a promise to the client, so it holds
    // across a restart of the server as well.
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let bytes = data(80_000, 93);
    let file_id = offer(&mut alice, offer_req("#public", "a.bin", &bytes)).await;
    send_chunks(&mut alice, &file_id, &bytes[..2 * CHUNK], 0).await;
    alice.logout().await;
    let server = server.restart().await;
    let mut alice = server.session("alice").await;
    let (again, offset) = accepted(&mut alice, offer_req("#public", "a.bin", &bytes)).await;
    assert_eq!(again, file_id);
    assert_eq!(offset, 2 * CHUNK as u64);
    send_chunks(&mut alice, &file_id, &bytes, 2 * CHUNK).await;
    done(&mut alice, &file_id).await;
    download(&mut alice, &file_id, &bytes).await;
}

//! The same checks on both storage backends, through the `Store` trait:
//! whatever SQLite answers, PostgreSQL answers too. Then what only
//! PostgreSQL has: msg_ids under the `cluster_state` lock, a failed
//! statement inside a batch, connections that die, and `migrate`.

mod pg_support;

use std::path::Path;

use tchat::protocol::{GroupKind, GroupRole, Role, Status};
use tchat::server::store::{
    self, Ban, DbLocation, HistoryDirection, NewAudit, NewFile, PostgresStore, Reader, SqliteStore,
    Store, StoreError, PUBLIC_CHAT,
};

/// A fresh database of each kind (the SQLite one in its temp dir).
fn sqlite() -> (Option<tempfile::TempDir>, DbLocation) {
    let dir = tempfile::tempdir().unwrap();
    let db = DbLocation::Sqlite(dir.path().join("t.db"));
    (Some(dir), db)
}

fn postgres() -> (Option<tempfile::TempDir>, DbLocation) {
    (None, pg_support::fresh_location())
}

/// Runs `$check(&db)` once per backend, as two tests.
macro_rules! on_both {
    ($($check:ident),* $(,)?) => {
        mod sqlite_backend {
            $(#[test] fn $check() { let (_d, db) = super::sqlite(); super::$check(&db); })*
        }
        mod postgres_backend {
            $(#[test] fn $check() { let (_d, db) = super::postgres(); super::$check(&db); })*
        }
    };
}

on_both!(
    accounts_are_unique_case_insensitively_and_look_alikes_refused,
    account_changes_need_an_account,
    history_pages_both_ways_with_files,
    msg_ids_increase_and_rollback_gives_them_back,
    messages_of_a_batch_are_seen_by_reads_in_it_and_undone_with_a_step,
    ids_of_a_deleted_group_are_never_handed_out_again,
    a_failed_step_is_undone_and_the_batch_goes_on,
    private_chats_reopen_and_page,
    requests_and_invites_page_newest_last,
    groups_keep_members_in_join_order,
    audit_pages_newest_first,
    files_are_counted_and_found,
    data_version_moves_for_changes_from_outside_only,
    readers_page_beside_the_store,
);

fn open(db: &DbLocation) -> Box<dyn Store> {
    store::open(db).expect("store opens")
}

fn ids(page: &[store::StoredMessage]) -> Vec<u64> {
    page.iter().map(|m| m.id).collect()
}

fn accounts_are_unique_case_insensitively_and_look_alikes_refused(db: &DbLocation) {
    let s = open(db);
    let id = s.create_account("Alice", "h", Role::User, 1).unwrap();
    assert!(matches!(
        s.create_account("ALICE", "h", Role::User, 1),
        Err(StoreError::NameTaken)
    ));
    match s.create_account("aIice", "h", Role::User, 1) {
        Err(StoreError::LooksLike(existing)) => assert_eq!(existing, "Alice"),
        other => panic!("expected LooksLike, got {other:?}"),
    }
    let a = s.account_by_key("alice").unwrap().unwrap();
    assert_eq!((a.id, a.name.as_str(), a.role), (id, "Alice", Role::User));
    assert_eq!(a.ban, None);
    assert_eq!(s.account_by_id(id).unwrap().unwrap().name, "Alice");
    assert!(s.account_by_key("bob").unwrap().is_none());
    let bob = s
        .create_account("Bob", "$2b$04$xyz", Role::Admin, 2)
        .unwrap();
    assert!(bob > id);
    let all = s.accounts().unwrap();
    assert_eq!(
        all.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(),
        ["Alice", "Bob"]
    );
    assert_eq!(s.password_hash_costs().unwrap(), [4]);
    // Inside a batch too, a taken name is an answer, not a failed batch.
    s.begin().unwrap();
    assert!(matches!(
        s.create_account("bob", "h", Role::User, 3),
        Err(StoreError::NameTaken)
    ));
    assert!(s.in_transaction());
    s.create_account("Carol", "h", Role::User, 3).unwrap();
    s.commit().unwrap();
    assert!(s.account_by_key("carol").unwrap().is_some());
}

fn account_changes_need_an_account(db: &DbLocation) {
    let s = open(db);
    let id = s.create_account("Alice", "old", Role::User, 1).unwrap();
    s.set_password_hash("alice", "new").unwrap();
    assert!(!s.replace_password_hash(id, "old", "newer").unwrap());
    assert!(s.replace_password_hash(id, "new", "newer").unwrap());
    s.set_role("alice", Role::Admin).unwrap();
    s.set_ban("alice", Some(Ban { until_ms: Some(99) }))
        .unwrap();
    s.set_mute("alice", Some(Ban { until_ms: None })).unwrap();
    s.set_status(id, Status::Busy).unwrap();
    let a = s.account_by_key("alice").unwrap().unwrap();
    assert_eq!(a.password_hash, "newer");
    assert_eq!(a.role, Role::Admin);
    assert_eq!(a.ban, Some(Ban { until_ms: Some(99) }));
    assert_eq!(a.mute, Some(Ban { until_ms: None }));
    assert_eq!(a.status, Status::Busy);
    s.set_ban("alice", None).unwrap();
    s.set_mute("alice", None).unwrap();
    let a = s.account_by_key("alice").unwrap().unwrap();
    assert_eq!((a.ban, a.mute), (None, None));
    for r in [
        s.set_password_hash("nobody", "x"),
        s.set_role("nobody", Role::User),
        s.set_ban("nobody", None),
        s.set_mute("nobody", None),
    ] {
        assert!(matches!(r, Err(StoreError::NoSuchAccount)), "{r:?}");
    }
}

fn history_pages_both_ways_with_files(db: &DbLocation) {
    let s = open(db);
    let alice = s.create_account("Alice", "h", Role::User, 1).unwrap();
    let bob = s.create_account("Bob", "h", Role::User, 1).unwrap();
    s.begin().unwrap();
    for i in 1..=10 {
        let sender = if i % 2 == 0 { bob } else { alice };
        s.insert_message(PUBLIC_CHAT, sender, i, &format!("m{i}"))
            .unwrap();
    }
    s.create_upload(
        &NewFile {
            file_id: "f1",
            uploader: alice,
            chat: PUBLIC_CHAT,
            name: "a.txt",
            size: 5,
            sha256: "abc",
            mime: "text/plain",
            caption: None,
        },
        1,
    )
    .unwrap();
    s.finish_upload("f1", 9).unwrap();
    s.commit().unwrap();
    let (page, more) = s
        .history(PUBLIC_CHAT, HistoryDirection::Before(None), 3)
        .unwrap();
    assert_eq!(ids(&page), [8, 9, 10]);
    assert_eq!(page[0].sender_name, "Bob");
    assert_eq!(page[1].text, "m9");
    assert_eq!(
        page[1].file.as_ref().map(|f| f.name.as_str()),
        Some("a.txt")
    );
    assert!(page[0].file.is_none());
    assert!(more);
    let (page, more) = s
        .history(PUBLIC_CHAT, HistoryDirection::Before(Some(3)), 5)
        .unwrap();
    assert_eq!(ids(&page), [1, 2]);
    assert!(!more);
    let (page, more) = s
        .history(PUBLIC_CHAT, HistoryDirection::After(7), 3)
        .unwrap();
    assert_eq!(ids(&page), [8, 9, 10]);
    assert!(!more);
    assert_eq!(s.unread_count(PUBLIC_CHAT, 6, alice).unwrap(), 2);
    s.delete_message(9).unwrap();
    let (chat, m) = s.message(9).unwrap().unwrap();
    assert_eq!((chat, m.deleted, m.text.as_str()), (PUBLIC_CHAT, true, ""));
    let (page, _) = s
        .history(PUBLIC_CHAT, HistoryDirection::After(8), 1)
        .unwrap();
    assert!(page[0].deleted && page[0].file.is_none());
    assert!(s.message(99).unwrap().is_none());
    // A new account starts with the backlog read.
    let carol = s.create_account("Carol", "h", Role::User, 1).unwrap();
    assert_eq!(s.read_marker(carol, PUBLIC_CHAT).unwrap(), Some(10));
    s.set_read_marker(carol, PUBLIC_CHAT, 4).unwrap();
    assert_eq!(s.read_marker(carol, PUBLIC_CHAT).unwrap(), Some(4));
    assert_eq!(s.read_marker(carol, 77).unwrap(), None);
}

fn msg_ids_increase_and_rollback_gives_them_back(db: &DbLocation) {
    let s = open(db);
    let alice = s.create_account("Alice", "h", Role::User, 1).unwrap();
    assert_eq!(s.last_msg_id(), 0);
    // Outside a batch, an insert is a transaction of its own.
    assert_eq!(s.insert_message(PUBLIC_CHAT, alice, 1, "a").unwrap(), 1);
    s.begin().unwrap();
    assert_eq!(s.insert_message(PUBLIC_CHAT, alice, 1, "b").unwrap(), 2);
    assert_eq!(s.insert_message(PUBLIC_CHAT, alice, 1, "c").unwrap(), 3);
    s.rollback();
    assert_eq!(s.last_msg_id(), 1);
    s.begin().unwrap();
    assert_eq!(s.insert_message(PUBLIC_CHAT, alice, 1, "b").unwrap(), 2);
    s.commit().unwrap();
    drop(s);
    // Reopened, the next id follows the newest.
    let s = open(db);
    assert_eq!(s.last_msg_id(), 2);
    s.begin().unwrap();
    assert_eq!(s.insert_message(PUBLIC_CHAT, alice, 1, "c").unwrap(), 3);
    s.commit().unwrap();
}

fn messages_of_a_batch_are_seen_by_reads_in_it_and_undone_with_a_step(db: &DbLocation) {
    let s = open(db);
    let alice = s.create_account("Alice", "h", Role::User, 1).unwrap();
    s.begin().unwrap();
    for text in ["a", "b", "c"] {
        s.insert_message(PUBLIC_CHAT, alice, 1, text).unwrap();
    }
    // Reads in the same batch see them (a backend may hold inserts back).
    let (page, _) = s
        .history(PUBLIC_CHAT, HistoryDirection::After(0), 10)
        .unwrap();
    assert_eq!(ids(&page), [1, 2, 3]);
    assert_eq!(s.message(2).unwrap().unwrap().1.text, "b");
    // A step that fails takes its messages with it, sent or not.
    let failed: Result<(), StoreError> = s.atomically(|st| {
        st.insert_message(PUBLIC_CHAT, alice, 1, "gone 1")?;
        st.insert_message(PUBLIC_CHAT, alice, 1, "gone 2")?;
        Err(StoreError::NoSuchAccount)
    });
    assert!(failed.is_err());
    // (SQLite may leave the undone ids unused; PostgreSQL gives them back.)
    let d = s.insert_message(PUBLIC_CHAT, alice, 1, "d").unwrap();
    assert!(d > 3, "{d}");
    s.commit().unwrap();
    let (page, _) = s
        .history(PUBLIC_CHAT, HistoryDirection::After(0), 10)
        .unwrap();
    let texts: Vec<&str> = page.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["a", "b", "c", "d"]);
    assert_eq!(ids(&page), [1, 2, 3, d]);
}

fn ids_of_a_deleted_group_are_never_handed_out_again(db: &DbLocation) {
    let s = open(db);
    let alice = s.create_account("Alice", "h", Role::User, 1).unwrap();
    let g = s.create_group("Room", GroupKind::Open, "").unwrap();
    s.add_member(g, alice, GroupRole::Owner, 1).unwrap();
    for _ in 0..3 {
        s.insert_message(g, alice, 1, "x").unwrap();
    }
    s.delete_group(g).unwrap();
    drop(s);
    let s = open(db);
    assert_eq!(s.last_msg_id(), 3);
    assert_eq!(s.insert_message(PUBLIC_CHAT, alice, 1, "y").unwrap(), 4);
}

fn a_failed_step_is_undone_and_the_batch_goes_on(db: &DbLocation) {
    let s = open(db);
    let alice = s.create_account("Alice", "h", Role::User, 1).unwrap();
    s.begin().unwrap();
    s.insert_message(PUBLIC_CHAT, alice, 1, "kept").unwrap();
    let failed: Result<(), StoreError> = s.atomically(|st| {
        st.insert_message(PUBLIC_CHAT, alice, 1, "undone")?;
        st.set_role("nobody", Role::Admin)
    });
    assert!(matches!(failed, Err(StoreError::NoSuchAccount)));
    let kept = s
        .atomically(|st| st.insert_message(PUBLIC_CHAT, alice, 1, "also kept"))
        .unwrap();
    assert!(s.in_transaction());
    s.commit().unwrap();
    let (page, _) = s
        .history(PUBLIC_CHAT, HistoryDirection::Before(None), 10)
        .unwrap();
    let texts: Vec<&str> = page.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["kept", "also kept"]);
    assert_eq!(page.last().unwrap().id, kept);
    // Outside a batch, a step is its own transaction.
    s.atomically(|st| st.create_account("Bob", "h", Role::User, 1))
        .unwrap();
    assert!(s.account_by_key("bob").unwrap().is_some());
}

fn private_chats_reopen_and_page(db: &DbLocation) {
    let s = open(db);
    let a = s.create_account("Alice", "h", Role::User, 1).unwrap();
    let b = s.create_account("Bob", "h", Role::User, 1).unwrap();
    let c = s.create_account("Carol", "h", Role::User, 1).unwrap();
    assert!(s.private_chat(a, b).unwrap().is_none());
    let ab = s.open_private_chat(b, a, 10).unwrap();
    let ac = s.open_private_chat(a, c, 20).unwrap();
    assert!(s.private_chat(a, b).unwrap().unwrap().is_open);
    assert_eq!(
        s.private_chat_members(ab).unwrap(),
        Some((a.min(b), a.max(b)))
    );
    assert_eq!(s.private_chat_members(PUBLIC_CHAT).unwrap(), None);
    assert_eq!(s.open_chats_of(a, 10).unwrap(), (vec![(ab, b), (ac, c)], 2));
    assert_eq!(s.open_chats_of(a, 1).unwrap(), (vec![(ac, c)], 2));
    s.end_private_chat(ab, 30).unwrap();
    assert!(!s.private_chat(a, b).unwrap().unwrap().is_open);
    assert_eq!(s.open_chats_of(b, 10).unwrap(), (vec![], 0));
    // Opened again: the same chat, so its history continues.
    assert_eq!(s.open_private_chat(a, b, 40).unwrap(), ab);
    assert_eq!(s.open_chats_of(a, 10).unwrap(), (vec![(ac, c), (ab, b)], 2));
}

fn requests_and_invites_page_newest_last(db: &DbLocation) {
    let s = open(db);
    let a = s.create_account("Alice", "h", Role::User, 1).unwrap();
    let b = s.create_account("Bob", "h", Role::User, 1).unwrap();
    let c = s.create_account("Carol", "h", Role::User, 1).unwrap();
    s.add_request(b, a, 10).unwrap();
    s.add_request(c, a, 20).unwrap();
    s.add_request(b, a, 30).unwrap();
    assert_eq!(s.pending_request(b, a).unwrap(), Some(30));
    assert_eq!(s.requests_to(a, 10).unwrap(), (vec![(c, 20), (b, 30)], 2));
    assert_eq!(s.requests_to(a, 1).unwrap(), (vec![(b, 30)], 2));
    assert_eq!(s.requests_from(b, 10).unwrap(), (vec![(a, 30)], 1));
    assert_eq!(s.count_requests_to(a).unwrap(), 2);
    assert_eq!(s.count_requests_from(c).unwrap(), 1);
    assert!(s.remove_request(b, a).unwrap());
    assert!(!s.remove_request(b, a).unwrap());
    let g1 = s.create_group("One", GroupKind::Invite, "").unwrap();
    let g2 = s.create_group("Two", GroupKind::Invite, "").unwrap();
    s.add_invite(g2, a, b, 50).unwrap();
    s.add_invite(g1, a, c, 50).unwrap();
    assert_eq!(s.invite(g1, a).unwrap(), Some((c, 50)));
    assert_eq!(
        s.invites_to(a, 10).unwrap(),
        (vec![(g1, c, 50), (g2, b, 50)], 2)
    );
    assert_eq!(s.invites_to(a, 0).unwrap(), (vec![], 2));
    assert!(s.remove_invite(g1, a).unwrap());
    assert!(!s.remove_invite(g1, a).unwrap());
    assert_eq!(s.invite(g1, a).unwrap(), None);
}

fn groups_keep_members_in_join_order(db: &DbLocation) {
    let s = open(db);
    let a = s.create_account("Alice", "h", Role::User, 1).unwrap();
    let b = s.create_account("Bob", "h", Role::User, 1).unwrap();
    let c = s.create_account("Carol", "h", Role::User, 1).unwrap();
    let g = s.create_group("Rust", GroupKind::Open, "crabs").unwrap();
    assert!(matches!(
        s.create_group("rUST", GroupKind::Invite, ""),
        Err(StoreError::NameTaken)
    ));
    let h = s.create_group("Go", GroupKind::Invite, "").unwrap();
    s.add_member(g, b, GroupRole::Owner, 2).unwrap();
    s.add_member(g, a, GroupRole::Member, 5).unwrap();
    s.add_member(g, c, GroupRole::Member, 3).unwrap();
    s.set_member_role(g, c, GroupRole::Mod).unwrap();
    s.set_topic(g, "ferris").unwrap();
    s.set_read_marker(a, g, 0).unwrap();
    s.remove_member(g, a).unwrap();
    assert_eq!(s.read_marker(a, g).unwrap(), None);
    s.add_invite(h, a, b, 1).unwrap();
    s.add_member(h, b, GroupRole::Owner, 1).unwrap();
    let groups = s.groups().unwrap();
    assert_eq!(groups.len(), 2);
    assert_eq!(
        (groups[0].id, groups[0].name.as_str(), groups[0].kind),
        (g, "Rust", GroupKind::Open)
    );
    assert_eq!(groups[0].topic, "ferris");
    assert_eq!(
        groups[0].members,
        [(b, GroupRole::Owner, 2), (c, GroupRole::Mod, 3)]
    );
    assert_eq!(groups[1].kind, GroupKind::Invite);
    s.insert_message(h, b, 1, "x").unwrap();
    assert_eq!(s.delete_group(h).unwrap(), [a]);
    assert_eq!(s.groups().unwrap().len(), 1);
    assert!(s.message(1).unwrap().is_none());
    assert_eq!(s.invite(h, a).unwrap(), None);
    // The name is free again.
    s.create_group("GO", GroupKind::Open, "").unwrap();
}

fn audit_pages_newest_first(db: &DbLocation) {
    let s = open(db);
    let a = s.create_account("Alice", "h", Role::User, 1).unwrap();
    assert_eq!(s.last_login(a).unwrap(), None);
    let entry = |action, actor| NewAudit {
        actor,
        action,
        target: Some("Alice"),
        target_account: Some(a),
        detail: "d",
    };
    let first = s.record_audit(&entry("login", Some("Alice")), 100).unwrap();
    let second = s.record_audit(&entry("ban", None), 200).unwrap();
    s.record_audit(&entry("login", Some("Alice")), 300).unwrap();
    assert!(second > first);
    assert_eq!(s.last_login(a).unwrap(), Some(300));
    let (page, more) = s.audit_page(None, 2).unwrap();
    assert_eq!(page.iter().map(|e| e.ts).collect::<Vec<_>>(), [300, 200]);
    assert_eq!(page[1].actor, None);
    assert_eq!(page[1].action, "ban");
    assert_eq!(page[1].target.as_deref(), Some("Alice"));
    assert!(more);
    let (page, more) = s.audit_page(Some(second), 5).unwrap();
    assert_eq!(page.iter().map(|e| e.seq).collect::<Vec<_>>(), [first]);
    assert!(!more);
}

fn files_are_counted_and_found(db: &DbLocation) {
    let s = open(db);
    let a = s.create_account("Alice", "h", Role::User, 1).unwrap();
    let file = |file_id, size, sha256| NewFile {
        file_id,
        uploader: a,
        chat: PUBLIC_CHAT,
        name: "n.bin",
        size,
        sha256,
        mime: "application/octet-stream",
        caption: Some("cap"),
    };
    s.create_upload(&file("f1", 100, "s1"), 1000).unwrap();
    s.create_upload(&file("f2", 50, "s2"), 2000).unwrap();
    assert_eq!(s.quota_used(a).unwrap(), 150);
    assert_eq!(
        s.resumable_upload(a, PUBLIC_CHAT, "n.bin", 100, "s1", 500)
            .unwrap()
            .as_deref(),
        Some("f1")
    );
    assert_eq!(
        s.resumable_upload(a, PUBLIC_CHAT, "n.bin", 100, "s1", 1500)
            .unwrap(),
        None
    );
    assert_eq!(s.unfinished_uploads().unwrap().len(), 2);
    let m = s.insert_message(PUBLIC_CHAT, a, 1, "file").unwrap();
    s.finish_upload("f1", m).unwrap();
    s.drop_upload("f2").unwrap();
    s.drop_upload("f1").unwrap(); // posted: stays
    let f = s.file("f1").unwrap().unwrap();
    assert_eq!(
        (f.size, f.msg_id, f.message_deleted, f.caption.as_deref()),
        (100, Some(m), false, Some("cap"))
    );
    assert_eq!(f.created_ms, 1000);
    assert!(s.file("f2").unwrap().is_none());
    assert_eq!(s.quota_used(a).unwrap(), 100);
    assert!(s.sha_in_use("s1").unwrap());
    assert_eq!(s.referenced_blobs().unwrap(), ["s1"]);
    assert_eq!(s.file_sha_of_message(m).unwrap().as_deref(), Some("s1"));
    assert_eq!(s.files_of_chat(PUBLIC_CHAT).unwrap(), ["s1"]);
    assert!(s.unfinished_uploads().unwrap().is_empty());
    s.delete_message(m).unwrap();
    assert!(s.file("f1").unwrap().unwrap().message_deleted);
    assert_eq!(s.quota_used(a).unwrap(), 0);
    assert!(!s.sha_in_use("s1").unwrap());
    assert!(s.referenced_blobs().unwrap().is_empty());
}

fn data_version_moves_for_changes_from_outside_only(db: &DbLocation) {
    let server = open(db);
    let outside = open(db);
    server.begin().unwrap();
    let v0 = server.data_version().unwrap();
    server.create_account("Alice", "h", Role::User, 1).unwrap();
    server.commit().unwrap();
    server.begin().unwrap();
    assert_eq!(server.data_version().unwrap(), v0, "our own commit");
    server.commit().unwrap();
    outside.begin().unwrap();
    outside.set_role("alice", Role::Admin).unwrap();
    outside.note_outside_change().unwrap();
    outside.commit().unwrap();
    server.begin().unwrap();
    assert_ne!(server.data_version().unwrap(), v0, "a change from outside");
    server.commit().unwrap();
}

fn readers_page_beside_the_store(db: &DbLocation) {
    let s = open(db);
    let a = s.create_account("Alice", "h", Role::User, 1).unwrap();
    for i in 0..5 {
        s.insert_message(PUBLIC_CHAT, a, i, "m").unwrap();
    }
    let mut r = Reader::open(db).unwrap();
    assert!(r.usable());
    let (page, more) = r
        .history(PUBLIC_CHAT, HistoryDirection::Before(None), 2)
        .unwrap();
    assert_eq!(ids(&page), [4, 5]);
    assert!(more);
    // A reader only reads what is committed.
    s.begin().unwrap();
    s.insert_message(PUBLIC_CHAT, a, 9, "pending").unwrap();
    let (page, _) = r
        .history(PUBLIC_CHAT, HistoryDirection::After(4), 10)
        .unwrap();
    assert_eq!(ids(&page), [5]);
    s.commit().unwrap();
    let (page, _) = r
        .history(PUBLIC_CHAT, HistoryDirection::After(4), 10)
        .unwrap();
    assert_eq!(ids(&page), [5, 6]);
}

// ----- PostgreSQL only ------------------------------------------------------

fn pg() -> (tchat::server::store::PgUrl, PostgresStore) {
    let url = pg_support::fresh_database();
    let store = PostgresStore::open(&url).unwrap();
    (url, store)
}

/// Every other connection to the database is ended, as a PostgreSQL
/// restart would end them.
fn terminate_others(store: &PostgresStore, url: &tchat::server::store::PgUrl) {
    let mut c = url.config().connect(postgres::NoTls).unwrap();
    let me: i32 = c.query_one("SELECT pg_backend_pid()", &[]).unwrap().get(0);
    let n: i64 = c
        .query_one(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
             WHERE datname = current_database() AND pid <> $1",
            &[&me],
        )
        .unwrap()
        .get(0);
    assert!(n >= 1);
    let _ = store;
    std::thread::sleep(std::time::Duration::from_millis(100));
}

#[test]
fn postgres_msg_ids_are_dense_and_in_commit_order_across_stores() {
    let (url, first) = pg();
    let second = PostgresStore::open(&url).unwrap();
    let a = first.create_account("Alice", "h", Role::User, 1).unwrap();
    first.begin().unwrap();
    assert!(first.locked_event_seq().is_some());
    assert_eq!(first.insert_message(PUBLIC_CHAT, a, 1, "1").unwrap(), 1);
    // The second writer waits for the row lock until the first commits,
    // then sees its newest id.
    let waiter = std::thread::spawn(move || {
        second.begin().unwrap();
        let id = second.insert_message(PUBLIC_CHAT, a, 2, "2").unwrap();
        second.commit().unwrap();
        assert_eq!(second.locked_event_seq(), None);
        id
    });
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(!waiter.is_finished(), "the second begin waits for the lock");
    assert_eq!(first.insert_message(PUBLIC_CHAT, a, 1, "1b").unwrap(), 2);
    first.commit().unwrap();
    assert_eq!(waiter.join().unwrap(), 3);
    first.begin().unwrap();
    assert_eq!(first.last_msg_id(), 3);
    first.rollback();
}

#[test]
fn postgres_a_failed_statement_fails_the_batch_instead_of_a_silent_rollback() {
    let (url, s) = pg();
    let a = s.create_account("Alice", "h", Role::User, 1).unwrap();
    let g = s.create_group("G", GroupKind::Open, "").unwrap();
    s.add_member(g, a, GroupRole::Owner, 1).unwrap();
    s.begin().unwrap();
    s.insert_message(PUBLIC_CHAT, a, 1, "lost").unwrap();
    // A duplicate member: an error the hub does not expect.
    let e = s.add_member(g, a, GroupRole::Member, 2).unwrap_err();
    // The message says why, not only "db error".
    assert!(e.to_string().contains("duplicate key"), "{e}");
    assert!(!s.in_transaction(), "the hub stops handling the batch");
    assert!(matches!(s.commit(), Err(StoreError::TransactionAborted)));
    assert_eq!(s.last_msg_id(), 0);
    // The next batch works, and nothing of the failed one was stored.
    s.begin().unwrap();
    assert_eq!(s.insert_message(PUBLIC_CHAT, a, 1, "kept").unwrap(), 1);
    s.commit().unwrap();
    let mut r = Reader::open(&DbLocation::Postgres(url)).unwrap();
    let (page, _) = r
        .history(PUBLIC_CHAT, HistoryDirection::Before(None), 10)
        .unwrap();
    assert_eq!(
        page.iter().map(|m| m.text.as_str()).collect::<Vec<_>>(),
        ["kept"]
    );
}

#[test]
fn postgres_connections_lost_are_replaced() {
    let (url, s) = pg();
    let a = s.create_account("Alice", "h", Role::User, 1).unwrap();
    s.insert_message(PUBLIC_CHAT, a, 1, "m").unwrap();
    let db = DbLocation::Postgres(url.clone());
    let mut r = Reader::open(&db).unwrap();
    r.history(PUBLIC_CHAT, HistoryDirection::Before(None), 5)
        .unwrap();
    terminate_others(&s, &url);
    // The reader reads again on a new connection; the store's next batch
    // begins on one.
    let (page, _) = r
        .history(PUBLIC_CHAT, HistoryDirection::Before(None), 5)
        .unwrap();
    assert_eq!(ids(&page), [1]);
    s.begin().unwrap();
    assert_eq!(s.insert_message(PUBLIC_CHAT, a, 2, "n").unwrap(), 2);
    s.commit().unwrap();
    terminate_others(&s, &url);
    let (page, _) = r
        .history(PUBLIC_CHAT, HistoryDirection::Before(None), 5)
        .unwrap();
    assert_eq!(ids(&page), [1, 2]);
}

#[test]
fn postgres_a_foreign_or_newer_database_is_refused() {
    let url = pg_support::fresh_database();
    let mut c = url.config().connect(postgres::NoTls).unwrap();
    c.batch_execute("CREATE TABLE notes (t TEXT); INSERT INTO notes VALUES ('keep')")
        .unwrap();
    assert!(matches!(
        PostgresStore::open(&url),
        Err(StoreError::ForeignPostgres { .. })
    ));
    let t: String = c.query_one("SELECT t FROM notes", &[]).unwrap().get(0);
    assert_eq!(t, "keep");
    let url = pg_support::fresh_database();
    drop(PostgresStore::open(&url).unwrap());
    let mut c = url.config().connect(postgres::NoTls).unwrap();
    c.batch_execute("UPDATE meta SET value = 99 WHERE key = 'schema_version'")
        .unwrap();
    assert!(matches!(
        PostgresStore::open(&url),
        Err(StoreError::TooNew { found: 99, .. })
    ));
}

#[test]
fn postgres_errors_never_show_the_password() {
    let url = pg_support::fresh_database();
    let with_password = tchat::server::store::PgUrl::parse(&format!(
        "postgres://nosuchuser:hunter2secret@127.0.0.1:{}/{}",
        url.port(),
        url.dbname()
    ))
    .unwrap();
    let e = match PostgresStore::open(&with_password) {
        Err(e) => e,
        Ok(_) => panic!("an unknown user connects"),
    };
    let shown = format!("{e} / {e:?} / {:?}", std::error::Error::source(&e));
    assert!(!shown.contains("hunter2secret"), "{shown}");
    assert!(shown.contains("postgres://nosuchuser@127.0.0.1"), "{shown}");
}

#[test]
fn postgres_two_stores_open_a_fresh_database_at_once() {
    let url = pg_support::fresh_database();
    let openers: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || PostgresStore::open(&url).map(|_| ()))
        })
        .collect();
    for o in openers {
        o.join().unwrap().unwrap();
    }
}

// ----- migrate ----------------------------------------------------------------

/// A community with a bit of everything, made through the store.
fn community(s: &dyn Store) {
    let a = s
        .create_account("Alice", "$2b$04$alicehash", Role::Admin, 10)
        .unwrap();
    let b = s
        .create_account("Bob", "$2b$04$bobhash", Role::User, 20)
        .unwrap();
    let c = s.create_account("Carol", "h", Role::User, 30).unwrap();
    s.set_ban(
        "carol",
        Some(Ban {
            until_ms: Some(999),
        }),
    )
    .unwrap();
    s.set_mute("bob", Some(Ban { until_ms: None })).unwrap();
    s.set_status(b, Status::Away).unwrap();
    s.insert_message(PUBLIC_CHAT, a, 100, "hello").unwrap();
    let ab = s.open_private_chat(a, b, 110).unwrap();
    s.insert_message(ab, b, 120, "psst").unwrap();
    let g = s.create_group("Club", GroupKind::Invite, "topic").unwrap();
    s.add_member(g, a, GroupRole::Owner, 1).unwrap();
    s.add_member(g, b, GroupRole::Mod, 2).unwrap();
    s.add_invite(g, c, a, 130).unwrap();
    s.add_request(c, a, 140).unwrap();
    let m = s.insert_message(g, a, 150, "club news").unwrap();
    s.create_upload(
        &NewFile {
            file_id: "file1",
            uploader: a,
            chat: g,
            name: "doc.pdf",
            size: 1234,
            sha256: "cafe",
            mime: "application/pdf",
            caption: Some("read me"),
        },
        145,
    )
    .unwrap();
    s.finish_upload("file1", m).unwrap();
    let gone = s.insert_message(PUBLIC_CHAT, b, 160, "oops").unwrap();
    s.delete_message(gone).unwrap();
    s.set_read_marker(b, PUBLIC_CHAT, 1).unwrap();
    s.record_audit(
        &NewAudit {
            actor: Some("Alice"),
            action: "login",
            target: Some("Alice"),
            target_account: Some(a),
            detail: "127.0.0.1",
        },
        170,
    )
    .unwrap();
    // Ids of a deleted group stay used.
    let d = s.create_group("Gone", GroupKind::Open, "").unwrap();
    s.insert_message(d, a, 180, "x").unwrap();
    s.delete_group(d).unwrap();
}

/// Everything a store answers about the community, to compare.
fn snapshot(s: &dyn Store) -> String {
    let mut out = String::new();
    for a in s.accounts().unwrap() {
        out += &format!(
            "{} {} {} {:?} {} {:?} {:?} {:?} last_login={:?}\n",
            a.id,
            a.name,
            a.password_hash,
            a.role,
            a.created_ms,
            a.ban,
            a.mute,
            a.status,
            s.last_login(a.id).unwrap()
        );
        for chat in [PUBLIC_CHAT, 2, 3] {
            out += &format!(
                "  marker {chat}: {:?}\n",
                s.read_marker(a.id, chat).unwrap()
            );
        }
        out += &format!(
            "  open {:?} requests {:?} {:?} invites {:?}\n",
            s.open_chats_of(a.id, 10).unwrap(),
            s.requests_to(a.id, 10).unwrap(),
            s.requests_from(a.id, 10).unwrap(),
            s.invites_to(a.id, 10).unwrap()
        );
    }
    for g in s.groups().unwrap() {
        out += &format!("group {g:?}\n");
    }
    for chat in [PUBLIC_CHAT, 2, 3, 4] {
        let (page, more) = s.history(chat, HistoryDirection::Before(None), 50).unwrap();
        out += &format!("chat {chat} more={more} {page:?}\n");
    }
    out += &format!("audit {:?}\n", s.audit_page(None, 50).unwrap());
    out += &format!("file {:?}\n", s.file("file1").unwrap());
    out += &format!("last {}\n", s.last_msg_id());
    out
}

#[test]
fn migrate_copies_a_sqlite_community_into_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let before = {
        let s = SqliteStore::open(&path).unwrap();
        community(&s);
        snapshot(&s)
    };
    let url = pg_support::fresh_database();
    let report = store::copy_from_sqlite(&path, &url).unwrap();
    assert_eq!(report.accounts, 3);
    assert_eq!(report.messages, 4);
    assert_eq!(report.chats, 3);
    assert_eq!(report.members, 2);
    assert_eq!(report.invites, 1);
    assert_eq!(report.requests, 1);
    assert_eq!(report.files, 1);
    assert_eq!(report.audit, 1);
    assert_eq!(report.last_msg_id, 5);
    let pg = PostgresStore::open(&url).unwrap();
    assert_eq!(snapshot(&pg), before);
    // New rows get new ids, after the copied ones.
    let dave = pg.create_account("Dave", "h", Role::User, 1).unwrap();
    assert_eq!(dave, 4);
    assert!(matches!(
        pg.create_account("ALICE", "h", Role::User, 1),
        Err(StoreError::NameTaken)
    ));
    assert!(matches!(
        pg.create_account("A1ice", "h", Role::User, 1),
        Err(StoreError::LooksLike(_))
    ));
    assert_eq!(pg.insert_message(PUBLIC_CHAT, dave, 1, "new").unwrap(), 6);
    let g = pg.create_group("New", GroupKind::Open, "").unwrap();
    assert!(g >= 4);
    assert!(
        pg.record_audit(
            &NewAudit {
                actor: None,
                action: "ban",
                target: None,
                target_account: None,
                detail: ""
            },
            1
        )
        .unwrap()
            > 1
    );
    // Into a database that has accounts: refused, nothing written.
    assert!(matches!(
        store::copy_from_sqlite(&path, &url),
        Err(StoreError::TargetNotEmpty { .. })
    ));
    assert!(matches!(
        store::copy_from_sqlite(Path::new("/nonexistent/x.db"), &url),
        Err(StoreError::NoSource { .. })
    ));
}

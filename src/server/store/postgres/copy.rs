//! `tchat-server migrate`: an SQLite community copied into an empty
//! PostgreSQL database, ids and all.
//!
//! Everything the store keeps is copied as it is (accounts with their
//! hashes, roles, bans, mutes, statuses and name skeletons; chats, members,
//! invitations, requests, messages with their msg_ids, read markers, the
//! audit log, file metadata), in one transaction that holds the
//! `cluster_state` lock, so a half-copied database is never seen. The
//! identity sequences are moved past the copied ids and
//! `cluster_state.last_msg_id` is set to the highest msg_id the SQLite
//! database ever handed out, deleted ones included. File bytes stay where
//! they are on disk.

use std::path::Path;

use ::postgres::binary_copy::BinaryCopyInWriter;
use ::postgres::types::{ToSql, Type};

use super::super::location::PgUrl;
use super::super::{SqliteStore, Store, StoreError};
use super::{PgConn, PostgresStore};
use crate::protocol::name_skeleton;

/// How many rows of each kind were copied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CopyReport {
    pub accounts: u64,
    pub chats: u64,
    pub members: u64,
    pub invites: u64,
    pub requests: u64,
    pub messages: u64,
    pub read_markers: u64,
    pub audit: u64,
    pub files: u64,
    /// `cluster_state.last_msg_id` afterwards.
    pub last_msg_id: u64,
}

impl std::fmt::Display for CopyReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "accounts:         {}", self.accounts)?;
        writeln!(f, "chats:            {}", self.chats)?;
        writeln!(f, "group members:    {}", self.members)?;
        writeln!(f, "invitations:      {}", self.invites)?;
        writeln!(f, "chat requests:    {}", self.requests)?;
        writeln!(f, "messages:         {}", self.messages)?;
        writeln!(f, "read markers:     {}", self.read_markers)?;
        writeln!(f, "audit entries:    {}", self.audit)?;
        writeln!(f, "files (metadata): {}", self.files)?;
        write!(f, "last msg_id:      {}", self.last_msg_id)
    }
}

/// A value read from SQLite, to be written to PostgreSQL.
enum V {
    I(i64),
    OptI(Option<i64>),
    B(bool),
    T(String),
    OptT(Option<String>),
}

impl V {
    fn sql(&self) -> &(dyn ToSql + Sync) {
        match self {
            V::I(v) => v,
            V::OptI(v) => v,
            V::B(v) => v,
            V::T(v) => v,
            V::OptT(v) => v,
        }
    }
}

/// How to read one column from SQLite.
#[derive(Clone, Copy)]
enum Col {
    I,
    OptI,
    /// SQLite's 0/1.
    B,
    T,
    OptT,
}

impl Col {
    fn pg_type(self) -> Type {
        match self {
            Col::I | Col::OptI => Type::INT8,
            Col::B => Type::BOOL,
            Col::T | Col::OptT => Type::TEXT,
        }
    }

    fn read(self, r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<V> {
        Ok(match self {
            Col::I => V::I(r.get(i)?),
            Col::OptI => V::OptI(r.get(i)?),
            Col::B => V::B(r.get::<_, i64>(i)? != 0),
            Col::T => V::T(r.get(i)?),
            Col::OptT => V::OptT(r.get(i)?),
        })
    }
}

/// Copies `columns` of `table` with binary COPY; `fix` may change a row on
/// the way. Returns the number of rows.
fn copy_table(
    from: &rusqlite::Connection,
    to: &mut PgConn,
    table: &str,
    columns: &[(&str, Col)],
    mut fix: impl FnMut(&mut Vec<V>),
) -> Result<u64, StoreError> {
    let names: Vec<&str> = columns.iter().map(|(n, _)| *n).collect();
    let list = names.join(", ");
    // Table and column names are this file's constants, never input.
    let mut stmt = from.prepare(&format!("SELECT {list} FROM {table}"))?;
    let types: Vec<Type> = columns.iter().map(|(_, c)| c.pg_type()).collect();
    let sink = to
        .client()
        .copy_in(&format!("COPY {table} ({list}) FROM STDIN BINARY"))?;
    let mut writer = BinaryCopyInWriter::new(sink, &types);
    let mut rows = stmt.query([])?;
    let mut n = 0;
    while let Some(r) = rows.next()? {
        let mut values = columns
            .iter()
            .enumerate()
            .map(|(i, (_, c))| c.read(r, i))
            .collect::<rusqlite::Result<Vec<V>>>()?;
        fix(&mut values);
        let refs: Vec<&(dyn ToSql + Sync)> = values.iter().map(V::sql).collect();
        writer.write(&refs)?;
        n += 1;
    }
    writer.finish()?;
    Ok(n)
}

/// Copies the tchat database at `from` into the empty PostgreSQL database
/// `to`. Refuses a target that already has accounts, messages or chats.
/// The SQLite file is brought to the newest schema first, as a server
/// opening it would.
pub fn copy_from_sqlite(from: &Path, to: &PgUrl) -> Result<CopyReport, StoreError> {
    if !from.is_file() {
        return Err(StoreError::NoSource {
            path: from.display().to_string(),
        });
    }
    let source = SqliteStore::open(from)?;
    let target = PostgresStore::open(to)?;
    target.begin()?;
    let result = copy_inside(&source, &target, to);
    match result {
        Ok(report) => {
            target.commit()?;
            Ok(report)
        }
        Err(e) => {
            target.rollback();
            Err(e)
        }
    }
}

fn copy_inside(
    source: &SqliteStore,
    target: &PostgresStore,
    to: &PgUrl,
) -> Result<CopyReport, StoreError> {
    let from = source.connection();
    let mut conn = target.conn.borrow_mut();
    let used: i64 = conn
        .client()
        .query_one(
            "SELECT (SELECT count(*) FROM accounts) + (SELECT count(*) FROM messages)
                  + (SELECT count(*) FROM chats WHERE id <> 1)",
            &[],
        )?
        .get(0);
    if used > 0 {
        return Err(StoreError::TargetNotEmpty { db: to.to_string() });
    }
    use Col::*;
    let mut report = CopyReport {
        accounts: copy_table(
            from,
            &mut conn,
            "accounts",
            &[
                ("id", I),
                ("name", T),
                ("name_key", T),
                ("name_skeleton", OptT),
                ("password_hash", T),
                ("role", T),
                ("created_ms", I),
                ("banned", B),
                ("banned_until_ms", OptI),
                ("muted", B),
                ("muted_until_ms", OptI),
                ("status", T),
            ],
            |row| {
                // SQLite fills skeletons in when it opens; a missing one
                // is made here all the same (the column is NOT NULL).
                if let (V::T(name), V::OptT(None)) = (&row[1], &row[3]) {
                    row[3] = V::OptT(Some(name_skeleton(name)));
                }
            },
        )?,
        ..CopyReport::default()
    };
    // The public chat is in both: the source's row replaces the target's.
    conn.client().execute("DELETE FROM chats", &[])?;
    report.chats = copy_table(
        from,
        &mut conn,
        "chats",
        &[
            ("id", I),
            ("kind", T),
            ("user_lo", OptI),
            ("user_hi", OptI),
            ("is_open", B),
            ("opened_ms", OptI),
            ("ended_ms", OptI),
            ("name", OptT),
            ("name_key", OptT),
            ("group_kind", OptT),
            ("topic", T),
        ],
        |_| {},
    )?;
    report.members = copy_table(
        from,
        &mut conn,
        "chat_members",
        &[
            ("chat_id", I),
            ("account_id", I),
            ("role", T),
            ("joined_seq", I),
        ],
        |_| {},
    )?;
    report.invites = copy_table(
        from,
        &mut conn,
        "group_invites",
        &[("chat_id", I), ("account_id", I), ("from_id", I), ("ts", I)],
        |_| {},
    )?;
    report.requests = copy_table(
        from,
        &mut conn,
        "chat_requests",
        &[("from_id", I), ("to_id", I), ("ts", I)],
        |_| {},
    )?;
    report.messages = copy_table(
        from,
        &mut conn,
        "messages",
        &[
            ("id", I),
            ("chat_id", I),
            ("sender_id", I),
            ("ts", I),
            ("text", T),
            ("deleted", B),
        ],
        |_| {},
    )?;
    report.read_markers = copy_table(
        from,
        &mut conn,
        "read_markers",
        &[("account_id", I), ("chat_id", I), ("msg_id", I)],
        |_| {},
    )?;
    report.audit = copy_table(
        from,
        &mut conn,
        "audit",
        &[
            ("seq", I),
            ("ts", I),
            ("actor", OptT),
            ("action", T),
            ("target", OptT),
            ("target_id", OptI),
            ("detail", T),
        ],
        |_| {},
    )?;
    report.files = copy_table(
        from,
        &mut conn,
        "files",
        &[
            ("file_id", T),
            ("uploader", I),
            ("chat_id", I),
            ("name", T),
            ("size", I),
            ("sha256", T),
            ("mime", T),
            ("caption", OptT),
            ("created_ms", I),
            ("msg_id", OptI),
        ],
        |_| {},
    )?;
    // New rows get ids after the copied ones.
    conn.client().batch_execute(
        "SELECT setval(pg_get_serial_sequence('accounts', 'id'),
                       coalesce((SELECT max(id) FROM accounts), 0) + 1, false);
         SELECT setval(pg_get_serial_sequence('chats', 'id'),
                       greatest(coalesce((SELECT max(id) FROM chats), 0) + 1, 2), false);
         SELECT setval(pg_get_serial_sequence('audit', 'seq'),
                       coalesce((SELECT max(seq) FROM audit), 0) + 1, false);",
    )?;
    drop(conn);
    // Committed by `commit`, which writes the cached newest id back.
    let last = source.highest_msg_id_ever()?;
    target.last_msg_id.set(last);
    report.last_msg_id = last;
    Ok(report)
}

//! The SQLite implementation of [`Store`]: one file, WAL mode, parameterised
//! SQL only, schema versions with forward migrations.

use std::cell::Cell;
use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension};

use super::*;
use crate::protocol::{name_skeleton, NameKey};

/// `PRAGMA application_id` of a tchat database ("tcht"), so that a foreign
/// SQLite file is recognised and never written to.
const APPLICATION_ID: i64 = 0x7463_6874;

/// Forward migrations; entry `n` takes the schema from version `n` to `n+1`.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE accounts (
    id              INTEGER PRIMARY KEY,
    name            TEXT    NOT NULL,
    name_key        TEXT    NOT NULL UNIQUE,
    password_hash   TEXT    NOT NULL,
    role            TEXT    NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
    created_ms      INTEGER NOT NULL,
    banned          INTEGER NOT NULL DEFAULT 0,
    banned_until_ms INTEGER
);
CREATE TABLE chats (
    id        INTEGER PRIMARY KEY,
    kind      TEXT    NOT NULL CHECK (kind IN ('public', 'private')),
    user_lo   INTEGER,
    user_hi   INTEGER,
    is_open   INTEGER NOT NULL DEFAULT 0,
    opened_ms INTEGER,
    ended_ms  INTEGER,
    UNIQUE (user_lo, user_hi)
);
INSERT INTO chats (id, kind, is_open) VALUES (1, 'public', 1);
CREATE TABLE chat_requests (
    from_id INTEGER NOT NULL,
    to_id   INTEGER NOT NULL,
    ts      INTEGER NOT NULL,
    PRIMARY KEY (from_id, to_id)
) WITHOUT ROWID;
CREATE INDEX chat_requests_by_target ON chat_requests (to_id);
CREATE TABLE messages (
    id        INTEGER PRIMARY KEY,
    chat_id   INTEGER NOT NULL,
    sender_id INTEGER NOT NULL,
    ts        INTEGER NOT NULL,
    text      TEXT    NOT NULL
);
CREATE INDEX messages_by_chat ON messages (chat_id, id, sender_id);
CREATE TABLE read_markers (
    account_id INTEGER NOT NULL,
    chat_id    INTEGER NOT NULL,
    msg_id     INTEGER NOT NULL,
    PRIMARY KEY (account_id, chat_id)
) WITHOUT ROWID;
CREATE TABLE logins (
    id         INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL,
    address    TEXT    NOT NULL,
    login_ms   INTEGER NOT NULL,
    logout_ms  INTEGER
);
CREATE INDEX logins_by_account ON logins (account_id, login_ms);
"#,
    r#"
ALTER TABLE accounts ADD COLUMN name_skeleton TEXT;
CREATE INDEX accounts_by_skeleton ON accounts (name_skeleton);
"#,
    r#"
CREATE TABLE chats_v3 (
    id         INTEGER PRIMARY KEY,
    kind       TEXT    NOT NULL CHECK (kind IN ('public', 'private', 'group')),
    user_lo    INTEGER,
    user_hi    INTEGER,
    is_open    INTEGER NOT NULL DEFAULT 0,
    opened_ms  INTEGER,
    ended_ms   INTEGER,
    name       TEXT,
    name_key   TEXT UNIQUE,
    group_kind TEXT CHECK (group_kind IN ('open', 'invite')),
    topic      TEXT    NOT NULL DEFAULT '',
    UNIQUE (user_lo, user_hi)
);
INSERT INTO chats_v3 (id, kind, user_lo, user_hi, is_open, opened_ms, ended_ms)
    SELECT id, kind, user_lo, user_hi, is_open, opened_ms, ended_ms FROM chats;
DROP TABLE chats;
ALTER TABLE chats_v3 RENAME TO chats;
CREATE TABLE chat_members (
    chat_id    INTEGER NOT NULL,
    account_id INTEGER NOT NULL,
    role       TEXT    NOT NULL CHECK (role IN ('owner', 'mod', 'member')),
    joined_seq INTEGER NOT NULL,
    PRIMARY KEY (chat_id, account_id)
) WITHOUT ROWID;
CREATE INDEX chat_members_by_account ON chat_members (account_id);
CREATE TABLE group_invites (
    chat_id    INTEGER NOT NULL,
    account_id INTEGER NOT NULL,
    from_id    INTEGER NOT NULL,
    ts         INTEGER NOT NULL,
    PRIMARY KEY (chat_id, account_id)
) WITHOUT ROWID;
CREATE INDEX group_invites_by_account ON group_invites (account_id, ts);
CREATE TABLE meta (
    key   TEXT    PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
"#,
    r#"
ALTER TABLE messages ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN muted INTEGER NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN muted_until_ms INTEGER;
CREATE TABLE audit (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    ts        INTEGER NOT NULL,
    actor     TEXT,
    action    TEXT    NOT NULL,
    target    TEXT,
    target_id INTEGER,
    detail    TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX audit_by_target ON audit (target_id, action, seq);
INSERT INTO audit (ts, actor, action, target, target_id, detail)
    SELECT ts, name, action, name, id, address FROM (
        SELECT l.login_ms AS ts, a.name, 'login' AS action, a.id, l.address, l.id AS n, 0 AS k
            FROM logins l JOIN accounts a ON a.id = l.account_id
        UNION ALL
        SELECT l.logout_ms, a.name, 'logout', a.id, l.address, l.id, 1
            FROM logins l JOIN accounts a ON a.id = l.account_id
            WHERE l.logout_ms IS NOT NULL
    ) ORDER BY ts, n, k;
DROP TABLE logins;
"#,
    r#"
CREATE TABLE files (
    file_id    TEXT    PRIMARY KEY,
    uploader   INTEGER NOT NULL,
    chat_id    INTEGER NOT NULL,
    name       TEXT    NOT NULL,
    size       INTEGER NOT NULL,
    sha256     TEXT    NOT NULL,
    mime       TEXT    NOT NULL,
    caption    TEXT,
    created_ms INTEGER NOT NULL,
    msg_id     INTEGER
) WITHOUT ROWID;
CREATE INDEX files_by_uploader ON files (uploader);
CREATE INDEX files_by_sha ON files (sha256);
CREATE INDEX files_by_msg ON files (msg_id);
CREATE INDEX files_by_chat ON files (chat_id);
"#,
    r#"
ALTER TABLE accounts ADD COLUMN status TEXT NOT NULL DEFAULT 'available'
    CHECK (status IN ('available', 'away', 'busy'));
"#,
];

/// A handle on the database.
pub struct SqliteStore {
    conn: Connection,
    /// The id the next message gets, and what it was when the open
    /// transaction began (restored if it rolls back).
    next_msg_id: Cell<u64>,
    next_msg_id_at_begin: Cell<u64>,
}

fn ordered(a: AccountId, b: AccountId) -> (AccountId, AccountId) {
    if a < b {
        (a, b)
    } else {
        (b, a)
    }
}

/// One page of a chat's history, oldest first, and whether more exist
/// further in the same direction.
fn history_page(
    conn: &Connection,
    chat: ChatId,
    direction: HistoryDirection,
    limit: u32,
) -> Result<(Vec<StoredMessage>, bool), StoreError> {
    let fetch = i64::from(limit) + 1;
    let row = |r: &rusqlite::Row<'_>| {
        Ok(StoredMessage {
            id: r.get::<_, i64>(0)?.max(0) as u64,
            sender: r.get(1)?,
            sender_name: r.get(2)?,
            ts: r.get(3)?,
            text: r.get(4)?,
            deleted: r.get(5)?,
            file: match r.get::<_, Option<String>>(6)? {
                Some(file_id) => Some(FileRef {
                    file_id,
                    name: r.get(7)?,
                    size: r.get::<_, i64>(8)?.max(0) as u64,
                    sha256: r.get(9)?,
                    mime: r.get(10)?,
                }),
                None => None,
            },
        })
    };
    let mut messages: Vec<StoredMessage> = match direction {
        HistoryDirection::Before(before) => {
            let before = before.map_or(i64::MAX, |b| b.min(i64::MAX as u64) as i64);
            let mut stmt = conn.prepare_cached(
                "SELECT m.id, m.sender_id, a.name, m.ts, m.text, m.deleted,
                        f.file_id, f.name, f.size, f.sha256, f.mime
                 FROM messages m JOIN accounts a ON a.id = m.sender_id
                 LEFT JOIN files f ON f.msg_id = m.id AND m.deleted = 0
                 WHERE m.chat_id = ?1 AND m.id < ?2 ORDER BY m.id DESC LIMIT ?3",
            )?;
            let rows = stmt.query_map(params![chat, before, fetch], row)?;
            rows.collect::<Result<_, _>>()?
        }
        HistoryDirection::After(after) => {
            let after = after.min(i64::MAX as u64) as i64;
            let mut stmt = conn.prepare_cached(
                "SELECT m.id, m.sender_id, a.name, m.ts, m.text, m.deleted,
                        f.file_id, f.name, f.size, f.sha256, f.mime
                 FROM messages m JOIN accounts a ON a.id = m.sender_id
                 LEFT JOIN files f ON f.msg_id = m.id AND m.deleted = 0
                 WHERE m.chat_id = ?1 AND m.id > ?2 ORDER BY m.id ASC LIMIT ?3",
            )?;
            let rows = stmt.query_map(params![chat, after, fetch], row)?;
            rows.collect::<Result<_, _>>()?
        }
    };
    let more = messages.len() > limit as usize;
    messages.truncate(limit as usize);
    if matches!(direction, HistoryDirection::Before(_)) {
        messages.reverse();
    }
    Ok((messages, more))
}

fn stored_file(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredFile> {
    Ok(StoredFile {
        file_id: r.get(0)?,
        uploader: r.get(1)?,
        chat: r.get(2)?,
        name: r.get(3)?,
        size: r.get::<_, i64>(4)?.max(0) as u64,
        sha256: r.get(5)?,
        mime: r.get(6)?,
        caption: r.get(7)?,
        created_ms: r.get(8)?,
        msg_id: r.get::<_, Option<i64>>(9)?.map(|m| m.max(0) as u64),
        message_deleted: r.get(10)?,
    })
}

/// A connection that only reads, so that history pages are served beside
/// the hub instead of inside its ordering loop. WAL mode lets it read the
/// last committed state while the hub writes.
pub struct Reader {
    conn: Connection,
}

impl Reader {
    /// Opens another connection to a database [`Store::open`] has already
    /// opened (and so checked and migrated).
    pub fn open(path: &Path) -> Result<Reader, StoreError> {
        let conn = Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch("PRAGMA query_only = ON;")?;
        Ok(Reader { conn })
    }

    /// As [`Store::history`].
    pub fn history(
        &self,
        chat: ChatId,
        direction: HistoryDirection,
        limit: u32,
    ) -> Result<(Vec<StoredMessage>, bool), StoreError> {
        history_page(&self.conn, chat, direction, limit)
    }
}

impl SqliteStore {
    /// Opens (or creates) the database at `path`, checks that it is a tchat
    /// database, and migrates it forward.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        crate::server::files::prepare_database(path)?;
        let shown = path.display().to_string();
        if let Some(parent) = path.parent() {
            if !parent.as_os_str().is_empty() {
                std::fs::create_dir_all(parent).map_err(|source| StoreError::CreateDir {
                    path: shown.clone(),
                    source,
                })?;
            }
        }
        let conn = Connection::open(path)?;
        // Reading the header is the first thing that fails on a file that is
        // not SQLite at all.
        let app_id: i64 = conn
            .query_row("PRAGMA application_id", [], |r| r.get(0))
            .map_err(|source| StoreError::NotADatabase {
                path: shown.clone(),
                source,
            })?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let tables: i64 = conn.query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
            [],
            |r| r.get(0),
        )?;
        let fresh = app_id == 0 && version == 0 && tables == 0;
        if !fresh && app_id != APPLICATION_ID {
            return Err(StoreError::Foreign { path: shown });
        }
        let known = MIGRATIONS.len() as i64;
        if version > known {
            return Err(StoreError::TooNew {
                path: shown,
                found: version,
                known,
            });
        }
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             PRAGMA foreign_keys = OFF;",
        )?;
        let mut store = SqliteStore {
            conn,
            next_msg_id: Cell::new(1),
            next_msg_id_at_begin: Cell::new(1),
        };
        store.migrate(version)?;
        store.fill_in_name_skeletons()?;
        let next = store.highest_msg_id_ever()? + 1;
        store.next_msg_id.set(next);
        store.next_msg_id_at_begin.set(next);
        Ok(store)
    }

    /// The connection, for copying the database elsewhere
    /// (`tchat-server migrate`).
    pub(crate) fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Accounts made before names had skeletons (or added by hand) get
    /// theirs, so that look-alikes of them are refused too.
    fn fill_in_name_skeletons(&mut self) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        let missing: Vec<(AccountId, String)> = {
            let mut stmt =
                tx.prepare("SELECT id, name FROM accounts WHERE name_skeleton IS NULL")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<Result<_, _>>()?
        };
        for (id, name) in missing {
            tx.execute(
                "UPDATE accounts SET name_skeleton = ?1 WHERE id = ?2",
                params![name_skeleton(&name), id],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The highest message id ever handed out: the newest message, or the
    /// newest of those deleted with their group (recorded in `meta`), so
    /// that no id is ever handed out twice.
    pub(crate) fn highest_msg_id_ever(&self) -> Result<u64, StoreError> {
        let newest: Option<i64> = self
            .conn
            .query_row("SELECT max(id) FROM messages", [], |r| r.get(0))?;
        let deleted: Option<i64> = self
            .conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'deleted_msg_id_high'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        Ok(newest.unwrap_or(0).max(deleted.unwrap_or(0)).max(0) as u64)
    }

    fn migrate(&mut self, from: i64) -> Result<(), StoreError> {
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(from as usize) {
            let tx = self.conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.execute_batch(&format!(
                "PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {};",
                i + 1
            ))?;
            tx.commit()?;
        }
        Ok(())
    }

    // ----- accounts -------------------------------------------------------

    fn account_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Account> {
        let role: String = r.get(4)?;
        let banned: bool = r.get(6)?;
        let muted: bool = r.get(8)?;
        Ok(Account {
            id: r.get(0)?,
            name: r.get(1)?,
            password_hash: r.get(2)?,
            created_ms: r.get(3)?,
            role: Role::parse(&role).unwrap_or_default(),
            ban: banned.then(|| Ban {
                until_ms: r.get(7).ok().flatten(),
            }),
            mute: muted.then(|| Ban {
                until_ms: r.get(9).ok().flatten(),
            }),
            status: Status::parse(&r.get::<_, String>(10)?).unwrap_or_default(),
        })
    }

    const ACCOUNT_COLUMNS: &'static str =
        "id, name, password_hash, created_ms, role, name_key, banned, banned_until_ms, muted, muted_until_ms, status";

    fn update_account(
        &self,
        sql: &str,
        key: &str,
        value: &dyn rusqlite::ToSql,
    ) -> Result<(), StoreError> {
        let changed = self.conn.execute(sql, params![value, key])?;
        if changed == 0 {
            return Err(StoreError::NoSuchAccount);
        }
        Ok(())
    }

    fn count(&self, sql: &str, account: AccountId) -> Result<u64, StoreError> {
        let n: i64 = self
            .conn
            .prepare_cached(sql)?
            .query_row([account], |r| r.get(0))?;
        Ok(n.max(0) as u64)
    }

    fn newest_requests(
        &self,
        page_sql: &str,
        count_sql: &str,
        account: AccountId,
        limit: usize,
    ) -> Result<(Vec<(AccountId, i64)>, u64), StoreError> {
        let mut stmt = self.conn.prepare_cached(page_sql)?;
        let rows = stmt.query_map(params![account, limit as i64], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
        let mut page: Vec<(AccountId, i64)> = rows.collect::<Result<_, _>>()?;
        page.reverse();
        Ok((page, self.count(count_sql, account)?))
    }
}

impl Store for SqliteStore {
    fn begin(&self) -> Result<(), StoreError> {
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        self.next_msg_id_at_begin.set(self.next_msg_id.get());
        Ok(())
    }

    fn commit(&self) -> Result<(), StoreError> {
        self.conn.execute_batch("COMMIT")?;
        Ok(())
    }

    fn data_version(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))?)
    }

    fn in_transaction(&self) -> bool {
        !self.conn.is_autocommit()
    }

    fn rollback(&self) {
        if !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        // Ids of messages that were rolled back were never seen by anyone.
        self.next_msg_id.set(self.next_msg_id_at_begin.get());
    }

    fn account_by_key(&self, key: &str) -> Result<Option<Account>, StoreError> {
        let sql = format!(
            "SELECT {} FROM accounts WHERE name_key = ?1",
            Self::ACCOUNT_COLUMNS
        );
        Ok(self
            .conn
            .prepare_cached(&sql)?
            .query_row([key], Self::account_from_row)
            .optional()?)
    }

    fn account_by_id(&self, id: AccountId) -> Result<Option<Account>, StoreError> {
        let sql = format!(
            "SELECT {} FROM accounts WHERE id = ?1",
            Self::ACCOUNT_COLUMNS
        );
        Ok(self
            .conn
            .prepare_cached(&sql)?
            .query_row([id], Self::account_from_row)
            .optional()?)
    }

    fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        let sql = format!("SELECT {} FROM accounts ORDER BY id", Self::ACCOUNT_COLUMNS);
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map([], Self::account_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn create_account(
        &self,
        name: &str,
        password_hash: &str,
        role: Role,
        now_ms: i64,
    ) -> Result<AccountId, StoreError> {
        let key = NameKey::of(name);
        let skeleton = name_skeleton(name);
        // `aIice` beside `alice`, `b0b` beside `bob`: one could pass for
        // the other in a chat, so the second is refused like a taken name.
        let look_alike: Option<String> = self
            .conn
            .prepare_cached("SELECT name FROM accounts WHERE name_skeleton = ?1 LIMIT 1")?
            .query_row([&skeleton], |r| r.get(0))
            .optional()?;
        if let Some(existing) = look_alike {
            return Err(if existing.eq_ignore_ascii_case(name) {
                StoreError::NameTaken
            } else {
                StoreError::LooksLike(existing)
            });
        }
        let inserted = self
            .conn
            .prepare_cached(
                "INSERT INTO accounts (name, name_key, password_hash, role, created_ms, name_skeleton)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![name, key.as_str(), password_hash, role.as_str(), now_ms, skeleton]);
        match inserted {
            Ok(_) => {}
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                return Err(StoreError::NameTaken)
            }
            Err(e) => return Err(e.into()),
        }
        let id = self.conn.last_insert_rowid();
        let newest = self.last_msg_id();
        self.set_read_marker(id, PUBLIC_CHAT, newest)?;
        Ok(id)
    }

    fn set_password_hash(&self, key: &str, hash: &str) -> Result<(), StoreError> {
        self.update_account(
            "UPDATE accounts SET password_hash = ?1 WHERE name_key = ?2",
            key,
            &hash,
        )
    }

    fn replace_password_hash(
        &self,
        account: AccountId,
        old: &str,
        new: &str,
    ) -> Result<bool, StoreError> {
        let n = self
            .conn
            .prepare_cached(
                "UPDATE accounts SET password_hash = ?3 WHERE id = ?1 AND password_hash = ?2",
            )?
            .execute(params![account, old, new])?;
        Ok(n == 1)
    }

    fn password_hash_costs(&self) -> Result<Vec<u32>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT DISTINCT substr(password_hash, 1, 7) FROM accounts")?;
        let prefixes = stmt.query_map([], |r| r.get::<_, String>(0))?;
        let mut costs = Vec::new();
        for prefix in prefixes {
            if let Some(cost) = crate::server::auth::bcrypt_cost_of(&prefix?) {
                costs.push(cost);
            }
        }
        Ok(costs)
    }

    fn set_role(&self, key: &str, role: Role) -> Result<(), StoreError> {
        self.update_account(
            "UPDATE accounts SET role = ?1 WHERE name_key = ?2",
            key,
            &role.as_str(),
        )
    }

    fn set_ban(&self, key: &str, ban: Option<Ban>) -> Result<(), StoreError> {
        let changed = self.conn.execute(
            "UPDATE accounts SET banned = ?1, banned_until_ms = ?2 WHERE name_key = ?3",
            params![ban.is_some(), ban.and_then(|b| b.until_ms), key],
        )?;
        if changed == 0 {
            return Err(StoreError::NoSuchAccount);
        }
        Ok(())
    }

    fn last_msg_id(&self) -> u64 {
        self.next_msg_id.get() - 1
    }

    fn insert_message(
        &self,
        chat: ChatId,
        sender: AccountId,
        ts: i64,
        text: &str,
    ) -> Result<u64, StoreError> {
        let id = self.next_msg_id.get();
        self.conn
            .prepare_cached(
                "INSERT INTO messages (id, chat_id, sender_id, ts, text) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![id as i64, chat, sender, ts, text])?;
        self.next_msg_id.set(id + 1);
        Ok(id)
    }

    fn history(
        &self,
        chat: ChatId,
        direction: HistoryDirection,
        limit: u32,
    ) -> Result<(Vec<StoredMessage>, bool), StoreError> {
        history_page(&self.conn, chat, direction, limit)
    }

    fn unread_count(&self, chat: ChatId, after: u64, reader: AccountId) -> Result<u64, StoreError> {
        let n: i64 = self
            .conn
            .prepare_cached(
                "SELECT count(*) FROM messages WHERE chat_id = ?1 AND id > ?2 AND sender_id <> ?3",
            )?
            .query_row(
                params![chat, after.min(i64::MAX as u64) as i64, reader],
                |r| r.get(0),
            )?;
        Ok(n.max(0) as u64)
    }

    fn read_marker(&self, account: AccountId, chat: ChatId) -> Result<Option<u64>, StoreError> {
        let v: Option<i64> = self
            .conn
            .prepare_cached(
                "SELECT msg_id FROM read_markers WHERE account_id = ?1 AND chat_id = ?2",
            )?
            .query_row(params![account, chat], |r| r.get(0))
            .optional()?;
        Ok(v.map(|v| v.max(0) as u64))
    }

    fn set_read_marker(
        &self,
        account: AccountId,
        chat: ChatId,
        msg_id: u64,
    ) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "INSERT INTO read_markers (account_id, chat_id, msg_id) VALUES (?1, ?2, ?3)
                 ON CONFLICT (account_id, chat_id) DO UPDATE SET msg_id = excluded.msg_id",
            )?
            .execute(params![account, chat, msg_id.min(i64::MAX as u64) as i64])?;
        Ok(())
    }

    fn private_chat(&self, a: AccountId, b: AccountId) -> Result<Option<PrivateChat>, StoreError> {
        let (lo, hi) = ordered(a, b);
        Ok(self
            .conn
            .prepare_cached(
                "SELECT id, is_open FROM chats WHERE kind = 'private' AND user_lo = ?1 AND user_hi = ?2",
            )?
            .query_row(params![lo, hi], |r| {
                Ok(PrivateChat {
                    id: r.get(0)?,
                    is_open: r.get(1)?,
                })
            })
            .optional()?)
    }

    fn open_private_chat(
        &self,
        a: AccountId,
        b: AccountId,
        now_ms: i64,
    ) -> Result<ChatId, StoreError> {
        let (lo, hi) = ordered(a, b);
        let id = self
            .conn
            .prepare_cached(
                "INSERT INTO chats (kind, user_lo, user_hi, is_open, opened_ms) VALUES ('private', ?1, ?2, 1, ?3)
                 ON CONFLICT (user_lo, user_hi) DO UPDATE SET is_open = 1, opened_ms = excluded.opened_ms, ended_ms = NULL
                 RETURNING id",
            )?
            .query_row(params![lo, hi, now_ms], |r| r.get(0))?;
        Ok(id)
    }

    fn end_private_chat(&self, chat: ChatId, now_ms: i64) -> Result<(), StoreError> {
        self.conn
            .prepare_cached("UPDATE chats SET is_open = 0, ended_ms = ?2 WHERE id = ?1")?
            .execute(params![chat, now_ms])?;
        Ok(())
    }

    fn open_chats_of(
        &self,
        account: AccountId,
        limit: usize,
    ) -> Result<(Vec<(ChatId, AccountId)>, u64), StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, CASE WHEN user_lo = ?1 THEN user_hi ELSE user_lo END FROM chats
             WHERE kind = 'private' AND is_open = 1 AND (user_lo = ?1 OR user_hi = ?1)
             ORDER BY opened_ms DESC, id DESC LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![account, limit as i64], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
        let mut page: Vec<(ChatId, AccountId)> = rows.collect::<Result<_, _>>()?;
        page.reverse();
        let total: i64 = self
            .conn
            .prepare_cached(
                "SELECT count(*) FROM chats WHERE kind = 'private' AND is_open = 1
                 AND (user_lo = ?1 OR user_hi = ?1)",
            )?
            .query_row([account], |r| r.get(0))?;
        Ok((page, total.max(0) as u64))
    }

    fn pending_request(&self, from: AccountId, to: AccountId) -> Result<Option<i64>, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT ts FROM chat_requests WHERE from_id = ?1 AND to_id = ?2")?
            .query_row(params![from, to], |r| r.get(0))
            .optional()?)
    }

    fn add_request(&self, from: AccountId, to: AccountId, ts: i64) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "INSERT OR REPLACE INTO chat_requests (from_id, to_id, ts) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![from, to, ts])?;
        Ok(())
    }

    fn remove_request(&self, from: AccountId, to: AccountId) -> Result<bool, StoreError> {
        let n = self
            .conn
            .prepare_cached("DELETE FROM chat_requests WHERE from_id = ?1 AND to_id = ?2")?
            .execute(params![from, to])?;
        Ok(n > 0)
    }

    fn requests_to(
        &self,
        account: AccountId,
        limit: usize,
    ) -> Result<(Vec<(AccountId, i64)>, u64), StoreError> {
        self.newest_requests(
            "SELECT from_id, ts FROM chat_requests WHERE to_id = ?1
             ORDER BY ts DESC, from_id DESC LIMIT ?2",
            "SELECT count(*) FROM chat_requests WHERE to_id = ?1",
            account,
            limit,
        )
    }

    fn requests_from(
        &self,
        account: AccountId,
        limit: usize,
    ) -> Result<(Vec<(AccountId, i64)>, u64), StoreError> {
        self.newest_requests(
            "SELECT to_id, ts FROM chat_requests WHERE from_id = ?1
             ORDER BY ts DESC, to_id DESC LIMIT ?2",
            "SELECT count(*) FROM chat_requests WHERE from_id = ?1",
            account,
            limit,
        )
    }

    fn count_requests_to(&self, account: AccountId) -> Result<u64, StoreError> {
        self.count(
            "SELECT count(*) FROM chat_requests WHERE to_id = ?1",
            account,
        )
    }

    fn count_requests_from(&self, account: AccountId) -> Result<u64, StoreError> {
        self.count(
            "SELECT count(*) FROM chat_requests WHERE from_id = ?1",
            account,
        )
    }

    fn record_audit(&self, entry: &NewAudit<'_>, ts: i64) -> Result<u64, StoreError> {
        self.conn
            .prepare_cached(
                "INSERT INTO audit (ts, actor, action, target, target_id, detail)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                ts,
                entry.actor,
                entry.action,
                entry.target,
                entry.target_account,
                entry.detail
            ])?;
        Ok(self.conn.last_insert_rowid().max(0) as u64)
    }

    fn audit_page(
        &self,
        before: Option<u64>,
        limit: u32,
    ) -> Result<(Vec<AuditRecord>, bool), StoreError> {
        let before = before.map_or(i64::MAX, |b| b.min(i64::MAX as u64) as i64);
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, ts, actor, action, target, detail FROM audit
             WHERE seq < ?1 ORDER BY seq DESC LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![before, i64::from(limit) + 1], |r| {
            Ok(AuditRecord {
                seq: r.get::<_, i64>(0)?.max(0) as u64,
                ts: r.get(1)?,
                actor: r.get(2)?,
                action: r.get(3)?,
                target: r.get(4)?,
                detail: r.get(5)?,
            })
        })?;
        let mut page: Vec<AuditRecord> = rows.collect::<Result<_, _>>()?;
        let more = page.len() > limit as usize;
        page.truncate(limit as usize);
        Ok((page, more))
    }

    fn last_login(&self, account: AccountId) -> Result<Option<i64>, StoreError> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT ts FROM audit WHERE target_id = ?1 AND action = 'login'
                 ORDER BY seq DESC LIMIT 1",
            )?
            .query_row([account], |r| r.get(0))
            .optional()?)
    }

    fn set_status(&self, account: AccountId, status: Status) -> Result<(), StoreError> {
        self.conn
            .prepare_cached("UPDATE accounts SET status = ?2 WHERE id = ?1")?
            .execute(params![account, status.as_str()])?;
        Ok(())
    }

    fn set_mute(&self, key: &str, mute: Option<Ban>) -> Result<(), StoreError> {
        let changed = self.conn.execute(
            "UPDATE accounts SET muted = ?1, muted_until_ms = ?2 WHERE name_key = ?3",
            params![mute.is_some(), mute.and_then(|m| m.until_ms), key],
        )?;
        if changed == 0 {
            return Err(StoreError::NoSuchAccount);
        }
        Ok(())
    }

    fn message(&self, msg_id: u64) -> Result<Option<(ChatId, StoredMessage)>, StoreError> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT m.chat_id, m.id, m.sender_id, a.name, m.ts, m.text, m.deleted
                 FROM messages m JOIN accounts a ON a.id = m.sender_id WHERE m.id = ?1",
            )?
            .query_row([msg_id.min(i64::MAX as u64) as i64], |r| {
                Ok((
                    r.get(0)?,
                    StoredMessage {
                        id: r.get::<_, i64>(1)?.max(0) as u64,
                        sender: r.get(2)?,
                        sender_name: r.get(3)?,
                        ts: r.get(4)?,
                        text: r.get(5)?,
                        deleted: r.get(6)?,
                        file: None,
                    },
                ))
            })
            .optional()?)
    }

    fn private_chat_members(
        &self,
        chat: ChatId,
    ) -> Result<Option<(AccountId, AccountId)>, StoreError> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT user_lo, user_hi FROM chats WHERE id = ?1 AND kind = 'private'",
            )?
            .query_row([chat], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?)
    }

    fn delete_message(&self, msg_id: u64) -> Result<(), StoreError> {
        self.conn
            .prepare_cached("UPDATE messages SET deleted = 1, text = '' WHERE id = ?1")?
            .execute([msg_id.min(i64::MAX as u64) as i64])?;
        Ok(())
    }

    fn groups(&self) -> Result<Vec<StoredGroup>, StoreError> {
        let mut groups: Vec<StoredGroup> = {
            let mut stmt = self.conn.prepare(
                "SELECT id, name, group_kind, topic FROM chats WHERE kind = 'group' ORDER BY id",
            )?;
            let rows = stmt.query_map([], |r| {
                let kind: String = r.get(2)?;
                Ok(StoredGroup {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    kind: GroupKind::parse(&kind).unwrap_or_default(),
                    topic: r.get(3)?,
                    members: Vec::new(),
                })
            })?;
            rows.collect::<Result<_, _>>()?
        };
        let index: std::collections::HashMap<ChatId, usize> =
            groups.iter().enumerate().map(|(i, g)| (g.id, i)).collect();
        let mut stmt = self.conn.prepare(
            "SELECT chat_id, account_id, role, joined_seq FROM chat_members ORDER BY joined_seq",
        )?;
        let rows = stmt.query_map([], |r| {
            let role: String = r.get(2)?;
            Ok((
                r.get::<_, ChatId>(0)?,
                r.get::<_, AccountId>(1)?,
                GroupRole::parse(&role).unwrap_or_default(),
                r.get::<_, i64>(3)?.max(0) as u64,
            ))
        })?;
        for row in rows {
            let (chat, account, role, seq) = row?;
            if let Some(&i) = index.get(&chat) {
                groups[i].members.push((account, role, seq));
            }
        }
        Ok(groups)
    }

    fn create_group(&self, name: &str, kind: GroupKind, topic: &str) -> Result<ChatId, StoreError> {
        let inserted = self
            .conn
            .prepare_cached(
                "INSERT INTO chats (kind, name, name_key, group_kind, topic, is_open)
                 VALUES ('group', ?1, ?2, ?3, ?4, 1)",
            )?
            .execute(params![
                name,
                NameKey::of(name).as_str(),
                kind.as_str(),
                topic
            ]);
        match inserted {
            Ok(_) => Ok(self.conn.last_insert_rowid()),
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                Err(StoreError::NameTaken)
            }
            Err(e) => Err(e.into()),
        }
    }

    fn delete_group(&self, chat: ChatId) -> Result<Vec<AccountId>, StoreError> {
        // Ids of the messages about to go must never be handed out again.
        self.conn
            .prepare_cached(
                "INSERT INTO meta (key, value) VALUES ('deleted_msg_id_high', ?1)
                 ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)",
            )?
            .execute([self.last_msg_id() as i64])?;
        let invitees: Vec<AccountId> = {
            let mut stmt = self
                .conn
                .prepare_cached("SELECT account_id FROM group_invites WHERE chat_id = ?1")?;
            let rows = stmt.query_map([chat], |r| r.get(0))?;
            rows.collect::<Result<_, _>>()?
        };
        for sql in [
            "DELETE FROM messages WHERE chat_id = ?1",
            "DELETE FROM read_markers WHERE chat_id = ?1",
            "DELETE FROM chat_members WHERE chat_id = ?1",
            "DELETE FROM group_invites WHERE chat_id = ?1",
            "DELETE FROM files WHERE chat_id = ?1",
            "DELETE FROM chats WHERE id = ?1 AND kind = 'group'",
        ] {
            self.conn.prepare_cached(sql)?.execute([chat])?;
        }
        Ok(invitees)
    }

    fn set_topic(&self, chat: ChatId, topic: &str) -> Result<(), StoreError> {
        self.conn
            .prepare_cached("UPDATE chats SET topic = ?2 WHERE id = ?1 AND kind = 'group'")?
            .execute(params![chat, topic])?;
        Ok(())
    }

    fn add_member(
        &self,
        chat: ChatId,
        account: AccountId,
        role: GroupRole,
        seq: u64,
    ) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "INSERT INTO chat_members (chat_id, account_id, role, joined_seq) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![chat, account, role.as_str(), seq as i64])?;
        Ok(())
    }

    fn remove_member(&self, chat: ChatId, account: AccountId) -> Result<(), StoreError> {
        self.conn
            .prepare_cached("DELETE FROM chat_members WHERE chat_id = ?1 AND account_id = ?2")?
            .execute(params![chat, account])?;
        self.conn
            .prepare_cached("DELETE FROM read_markers WHERE chat_id = ?1 AND account_id = ?2")?
            .execute(params![chat, account])?;
        Ok(())
    }

    fn set_member_role(
        &self,
        chat: ChatId,
        account: AccountId,
        role: GroupRole,
    ) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "UPDATE chat_members SET role = ?3 WHERE chat_id = ?1 AND account_id = ?2",
            )?
            .execute(params![chat, account, role.as_str()])?;
        Ok(())
    }

    fn add_invite(
        &self,
        chat: ChatId,
        to: AccountId,
        from: AccountId,
        ts: i64,
    ) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "INSERT INTO group_invites (chat_id, account_id, from_id, ts) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![chat, to, from, ts])?;
        Ok(())
    }

    fn remove_invite(&self, chat: ChatId, to: AccountId) -> Result<bool, StoreError> {
        let n = self
            .conn
            .prepare_cached("DELETE FROM group_invites WHERE chat_id = ?1 AND account_id = ?2")?
            .execute(params![chat, to])?;
        Ok(n > 0)
    }

    fn invite(&self, chat: ChatId, to: AccountId) -> Result<Option<(AccountId, i64)>, StoreError> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT from_id, ts FROM group_invites WHERE chat_id = ?1 AND account_id = ?2",
            )?
            .query_row(params![chat, to], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?)
    }

    fn invites_to(
        &self,
        account: AccountId,
        limit: usize,
    ) -> Result<(Vec<PendingInvite>, u64), StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT chat_id, from_id, ts FROM group_invites WHERE account_id = ?1
             ORDER BY ts DESC, chat_id DESC LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![account, limit as i64], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?;
        let mut page: Vec<PendingInvite> = rows.collect::<Result<_, _>>()?;
        page.reverse();
        let total = self.count(
            "SELECT count(*) FROM group_invites WHERE account_id = ?1",
            account,
        )?;
        Ok((page, total))
    }

    fn create_upload(&self, f: &NewFile<'_>, now_ms: i64) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "INSERT INTO files (file_id, uploader, chat_id, name, size, sha256, mime, caption, created_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params![
                f.file_id,
                f.uploader,
                f.chat,
                f.name,
                f.size.min(i64::MAX as u64) as i64,
                f.sha256,
                f.mime,
                f.caption,
                now_ms
            ])?;
        Ok(())
    }

    fn file(&self, file_id: &str) -> Result<Option<StoredFile>, StoreError> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT f.file_id, f.uploader, f.chat_id, f.name, f.size, f.sha256, f.mime,
                        f.caption, f.created_ms, f.msg_id, coalesce(m.deleted, 0)
                 FROM files f LEFT JOIN messages m ON m.id = f.msg_id WHERE f.file_id = ?1",
            )?
            .query_row([file_id], stored_file)
            .optional()?)
    }

    fn resumable_upload(
        &self,
        uploader: AccountId,
        chat: ChatId,
        name: &str,
        size: u64,
        sha256: &str,
        since_ms: i64,
    ) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT file_id FROM files WHERE uploader = ?1 AND chat_id = ?2 AND name = ?3
                 AND size = ?4 AND sha256 = ?5 AND msg_id IS NULL AND created_ms >= ?6
                 ORDER BY created_ms DESC LIMIT 1",
            )?
            .query_row(
                params![
                    uploader,
                    chat,
                    name,
                    size.min(i64::MAX as u64) as i64,
                    sha256,
                    since_ms
                ],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn finish_upload(&self, file_id: &str, msg_id: u64) -> Result<(), StoreError> {
        self.conn
            .prepare_cached("UPDATE files SET msg_id = ?2 WHERE file_id = ?1")?
            .execute(params![file_id, msg_id as i64])?;
        Ok(())
    }

    fn drop_upload(&self, file_id: &str) -> Result<(), StoreError> {
        self.conn
            .prepare_cached("DELETE FROM files WHERE file_id = ?1 AND msg_id IS NULL")?
            .execute([file_id])?;
        Ok(())
    }

    fn quota_used(&self, uploader: AccountId) -> Result<u64, StoreError> {
        let n: i64 = self
            .conn
            .prepare_cached(
                "SELECT coalesce(sum(f.size), 0) FROM files f LEFT JOIN messages m ON m.id = f.msg_id
                 WHERE f.uploader = ?1 AND (f.msg_id IS NULL OR m.deleted = 0)",
            )?
            .query_row([uploader], |r| r.get(0))?;
        Ok(n.max(0) as u64)
    }

    fn sha_in_use(&self, sha256: &str) -> Result<bool, StoreError> {
        let n: i64 = self
            .conn
            .prepare_cached(
                "SELECT count(*) FROM files f JOIN messages m ON m.id = f.msg_id
                 WHERE f.sha256 = ?1 AND m.deleted = 0",
            )?
            .query_row([sha256], |r| r.get(0))?;
        Ok(n > 0)
    }

    fn referenced_blobs(&self) -> Result<Vec<String>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT DISTINCT f.sha256 FROM files f JOIN messages m ON m.id = f.msg_id
             WHERE m.deleted = 0",
        )?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn unfinished_uploads(&self) -> Result<Vec<StoredFile>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT f.file_id, f.uploader, f.chat_id, f.name, f.size, f.sha256, f.mime,
                    f.caption, f.created_ms, f.msg_id, 0
             FROM files f WHERE f.msg_id IS NULL",
        )?;
        let rows = stmt.query_map([], stored_file)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn file_sha_of_message(&self, msg_id: u64) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT sha256 FROM files WHERE msg_id = ?1")?
            .query_row([msg_id.min(i64::MAX as u64) as i64], |r| r.get(0))
            .optional()?)
    }

    fn files_of_chat(&self, chat: ChatId) -> Result<Vec<String>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT DISTINCT sha256 FROM files WHERE chat_id = ?1")?;
        let rows = stmt.query_map([chat], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn savepoint(&self) -> Result<(), StoreError> {
        self.conn.execute_batch("SAVEPOINT step")?;
        Ok(())
    }

    fn release_savepoint(&self) -> Result<(), StoreError> {
        self.conn.execute_batch("RELEASE step")?;
        Ok(())
    }

    fn rollback_to_savepoint(&self) {
        let _ = self.conn.execute_batch("ROLLBACK TO step; RELEASE step");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("sub/t.db")).unwrap();
        (dir, store)
    }

    #[test]
    fn accounts_are_unique_case_insensitively() {
        let (_d, s) = store();
        let id = s.create_account("Alice", "h", Role::User, 1).unwrap();
        assert!(matches!(
            s.create_account("ALICE", "h", Role::User, 1),
            Err(StoreError::NameTaken)
        ));
        let a = s.account_by_key("alice").unwrap().unwrap();
        assert_eq!((a.id, a.name.as_str()), (id, "Alice"));
    }

    #[test]
    fn history_pages_both_ways() {
        let (_d, s) = store();
        let alice = s.create_account("Alice", "h", Role::User, 1).unwrap();
        for i in 1..=10 {
            s.insert_message(PUBLIC_CHAT, alice, i as i64, "m").unwrap();
        }
        let (page, more) = s
            .history(PUBLIC_CHAT, HistoryDirection::Before(None), 3)
            .unwrap();
        assert_eq!(page.iter().map(|m| m.id).collect::<Vec<_>>(), [8, 9, 10]);
        assert!(page.iter().all(|m| m.sender_name == "Alice"));
        assert!(more);
        let (page, more) = s
            .history(PUBLIC_CHAT, HistoryDirection::Before(Some(3)), 5)
            .unwrap();
        assert_eq!(page.iter().map(|m| m.id).collect::<Vec<_>>(), [1, 2]);
        assert!(!more);
        let (page, more) = s
            .history(PUBLIC_CHAT, HistoryDirection::After(7), 3)
            .unwrap();
        assert_eq!(page.iter().map(|m| m.id).collect::<Vec<_>>(), [8, 9, 10]);
        assert!(!more);
    }

    #[test]
    fn a_foreign_sqlite_file_is_refused_and_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("other.db");
        {
            let c = Connection::open(&path).unwrap();
            c.execute_batch("CREATE TABLE notes (t TEXT); INSERT INTO notes VALUES ('keep');")
                .unwrap();
        }
        assert!(matches!(
            SqliteStore::open(&path),
            Err(StoreError::Foreign { .. })
        ));
        let c = Connection::open(&path).unwrap();
        let t: String = c
            .query_row("SELECT t FROM notes", [], |r| r.get(0))
            .unwrap();
        assert_eq!(t, "keep");
    }

    #[test]
    fn a_file_that_is_not_sqlite_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("junk.db");
        std::fs::write(
            &path,
            b"this is certainly not a database file, just some text",
        )
        .unwrap();
        assert!(matches!(
            SqliteStore::open(&path),
            Err(StoreError::NotADatabase { .. })
        ));
        assert_eq!(
            std::fs::read(&path).unwrap(),
            b"this is certainly not a database file, just some text"
        );
    }
}

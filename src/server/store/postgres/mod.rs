//! The PostgreSQL implementation of [`Store`], with the semantics of
//! [`SqliteStore`](super::SqliteStore): the same name keys and look-alike
//! checks (computed in Rust, stored as text), the same page order, counts,
//! savepoints and msg_id rules. Parameterised SQL only; the statements are
//! prepared once per connection.
//!
//! The `postgres` crate is synchronous (it runs a small tokio runtime of its
//! own), which suits the hub, a plain thread that calls the store one
//! statement after another. It must never be called on a thread that drives
//! async tasks; [`PgConn`] also moves its own drop off such a thread.
//!
//! Two things differ from SQLite and are handled here:
//! * msg_ids come from the one row of `cluster_state`, locked by every
//!   writing transaction (see [`Store::begin`] below), so that several
//!   processes sharing the database hand them out densely and in commit
//!   order.
//! * A failed statement aborts a PostgreSQL transaction (SQLite goes on).
//!   The store then reports no open transaction, so the hub answers the
//!   rest of the round `internal` as it does when SQLite ends a transaction
//!   by itself, and `commit` fails instead of silently rolling back. The
//!   failures the hub expects (a name taken) are asked with `ON CONFLICT`,
//!   so they are answers, not errors.

mod cluster;
mod copy;
mod reader;
mod schema;

pub use copy::{copy_from_sqlite, CopyReport};
pub use reader::PgReader;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use ::postgres::types::ToSql;
use ::postgres::{Client, NoTls, Row, Statement};

use super::location::PgUrl;
use super::*;
use crate::protocol::{name_skeleton, NameKey};

type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// One connection and the statements prepared on it.
pub(crate) struct PgConn {
    client: Option<Client>,
    url: PgUrl,
    statements: HashMap<&'static str, Statement>,
}

impl PgConn {
    pub(crate) fn connect(url: &PgUrl) -> Result<PgConn, StoreError> {
        let client = url
            .config()
            .connect(NoTls)
            .map_err(|cause| StoreError::PgConnect {
                db: url.to_string(),
                cause: super::with_causes(&cause),
            })?;
        Ok(PgConn {
            client: Some(client),
            url: url.clone(),
            statements: HashMap::new(),
        })
    }

    pub(crate) fn client(&mut self) -> &mut Client {
        self.client
            .as_mut()
            .expect("a PgConn holds its client until dropped")
    }

    /// Whether the connection is known to be gone. A connection whose
    /// server restarted is only known to be gone once it was used.
    pub(crate) fn is_closed(&self) -> bool {
        self.client.as_ref().is_none_or(Client::is_closed)
    }

    /// Replaces the connection with a new one (the statements go with it).
    pub(crate) fn reconnect(&mut self) -> Result<(), StoreError> {
        *self = PgConn::connect(&self.url)?;
        Ok(())
    }

    fn statement(&mut self, sql: &'static str) -> Result<Statement, ::postgres::Error> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client().prepare(sql)?;
        self.statements.insert(sql, s.clone());
        Ok(s)
    }

    pub(crate) fn query(
        &mut self,
        sql: &'static str,
        params: Params<'_>,
    ) -> Result<Vec<Row>, ::postgres::Error> {
        let s = self.statement(sql)?;
        self.client().query(&s, params)
    }

    pub(crate) fn query_opt(
        &mut self,
        sql: &'static str,
        params: Params<'_>,
    ) -> Result<Option<Row>, ::postgres::Error> {
        let s = self.statement(sql)?;
        self.client().query_opt(&s, params)
    }

    pub(crate) fn query_one(
        &mut self,
        sql: &'static str,
        params: Params<'_>,
    ) -> Result<Row, ::postgres::Error> {
        let s = self.statement(sql)?;
        self.client().query_one(&s, params)
    }

    pub(crate) fn execute(
        &mut self,
        sql: &'static str,
        params: Params<'_>,
    ) -> Result<u64, ::postgres::Error> {
        let s = self.statement(sql)?;
        self.client().execute(&s, params)
    }
}

impl Drop for PgConn {
    fn drop(&mut self) {
        // The client's own runtime may not be dropped on a thread that
        // drives async tasks (tokio panics there), which is where a server
        // ends: close it on a thread of its own then.
        if let Some(client) = self.client.take() {
            if tokio::runtime::Handle::try_current().is_ok() {
                let _ = std::thread::Builder::new()
                    .name("tchat-pg-close".into())
                    .spawn(move || drop(client));
            }
        }
    }
}

/// Whether an error means the connection is gone (PostgreSQL restarted or
/// the network dropped): worth one new connection, not a failed batch.
pub(crate) fn connection_lost(e: &::postgres::Error) -> bool {
    e.is_closed()
        || e.as_db_error().is_some_and(|db| {
            // Class 57: operator intervention (shutdown, restart).
            db.code().code().starts_with("57")
        })
        || std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>())
}

fn db_u64(v: u64) -> i64 {
    v.min(i64::MAX as u64) as i64
}

fn to_u64(v: i64) -> u64 {
    v.max(0) as u64
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tx {
    None,
    Open,
    /// A statement failed: PostgreSQL ignores everything until the end.
    Failed,
}

/// A savepoint: whether it began the transaction itself (one asked for
/// outside a batch), and the newest msg_id when it was made.
#[derive(Debug, Clone, Copy)]
struct Savepoint {
    began: bool,
    last_msg_id: u64,
}

/// A handle on a PostgreSQL database.
pub struct PostgresStore {
    conn: RefCell<PgConn>,
    tx: Cell<Tx>,
    savepoints: RefCell<Vec<Savepoint>>,
    /// The newest msg_id handed out: read from `cluster_state` at every
    /// begin, one up per message inserted, written back at commit.
    last_msg_id: Cell<u64>,
    last_msg_id_at_begin: Cell<u64>,
    /// `cluster_state.event_seq` as read (and locked) at begin.
    event_seq: Cell<Option<i64>>,
    /// Messages of the open transaction not yet sent to PostgreSQL: they go
    /// in one statement before the next statement of any kind (so every
    /// read in the transaction sees them) or at the commit. A round of a
    /// busy room then costs one round trip for its messages, not one each.
    unsent: RefCell<UnsentMessages>,
}

/// Messages waiting for [`PostgresStore::run`], column by column as the
/// `UNNEST` insert takes them.
#[derive(Default)]
struct UnsentMessages {
    ids: Vec<i64>,
    chats: Vec<ChatId>,
    senders: Vec<AccountId>,
    ts: Vec<i64>,
    texts: Vec<String>,
}

impl UnsentMessages {
    /// Drops the messages after `last_id` (rolled back to a savepoint).
    fn truncate_after(&mut self, last_id: u64) {
        let keep = self.ids.partition_point(|id| to_u64(*id) <= last_id);
        self.ids.truncate(keep);
        self.chats.truncate(keep);
        self.senders.truncate(keep);
        self.ts.truncate(keep);
        self.texts.truncate(keep);
    }
}

macro_rules! account_sql {
    ($tail:literal) => {
        concat!(
            "SELECT id, name, password_hash, created_ms, role, banned, banned_until_ms,
                    muted, muted_until_ms, status FROM accounts ",
            $tail
        )
    };
}

fn account_from_row(r: &Row) -> Account {
    let role: &str = r.get(4);
    let banned: bool = r.get(5);
    let muted: bool = r.get(7);
    Account {
        id: r.get(0),
        name: r.get(1),
        password_hash: r.get(2),
        created_ms: r.get(3),
        role: Role::parse(role).unwrap_or_default(),
        ban: banned.then(|| Ban { until_ms: r.get(6) }),
        mute: muted.then(|| Ban { until_ms: r.get(8) }),
        status: Status::parse(r.get::<_, &str>(9)).unwrap_or_default(),
    }
}

fn stored_file(r: &Row) -> StoredFile {
    StoredFile {
        file_id: r.get(0),
        uploader: r.get(1),
        chat: r.get(2),
        name: r.get(3),
        size: to_u64(r.get(4)),
        sha256: r.get(5),
        mime: r.get(6),
        caption: r.get(7),
        created_ms: r.get(8),
        msg_id: r.get::<_, Option<i64>>(9).map(to_u64),
        message_deleted: r.get(10),
    }
}

/// One page of a chat's history, oldest first, and whether more exist
/// further in the same direction (as SQLite's).
pub(crate) fn history_page(
    conn: &mut PgConn,
    chat: ChatId,
    direction: HistoryDirection,
    limit: u32,
) -> Result<(Vec<StoredMessage>, bool), ::postgres::Error> {
    let fetch = i64::from(limit) + 1;
    let rows = match direction {
        HistoryDirection::Before(before) => {
            let before = before.map_or(i64::MAX, db_u64);
            conn.query(
                "SELECT m.id, m.sender_id, a.name, m.ts, m.text, m.deleted,
                        f.file_id, f.name, f.size, f.sha256, f.mime
                 FROM messages m JOIN accounts a ON a.id = m.sender_id
                 LEFT JOIN files f ON f.msg_id = m.id AND NOT m.deleted
                 WHERE m.chat_id = $1 AND m.id < $2 ORDER BY m.id DESC LIMIT $3",
                &[&chat, &before, &fetch],
            )?
        }
        HistoryDirection::After(after) => conn.query(
            "SELECT m.id, m.sender_id, a.name, m.ts, m.text, m.deleted,
                    f.file_id, f.name, f.size, f.sha256, f.mime
             FROM messages m JOIN accounts a ON a.id = m.sender_id
             LEFT JOIN files f ON f.msg_id = m.id AND NOT m.deleted
             WHERE m.chat_id = $1 AND m.id > $2 ORDER BY m.id ASC LIMIT $3",
            &[&chat, &db_u64(after), &fetch],
        )?,
    };
    let mut messages: Vec<StoredMessage> = rows
        .iter()
        .map(|r| StoredMessage {
            id: to_u64(r.get(0)),
            sender: r.get(1),
            sender_name: r.get(2),
            ts: r.get(3),
            text: r.get(4),
            deleted: r.get(5),
            file: r.get::<_, Option<String>>(6).map(|file_id| FileRef {
                file_id,
                name: r.get(7),
                size: to_u64(r.get(8)),
                sha256: r.get(9),
                mime: r.get(10),
            }),
        })
        .collect();
    let more = messages.len() > limit as usize;
    messages.truncate(limit as usize);
    if matches!(direction, HistoryDirection::Before(_)) {
        messages.reverse();
    }
    Ok((messages, more))
}

impl PostgresStore {
    /// Connects, checks that the database is tchat's (or empty) and
    /// migrates its schema forward.
    pub fn open(url: &PgUrl) -> Result<PostgresStore, StoreError> {
        let mut conn = PgConn::connect(url)?;
        schema::migrate(&mut conn, &url.to_string())?;
        let last: i64 = conn
            .query_one("SELECT last_msg_id FROM cluster_state WHERE id = 1", &[])?
            .get(0);
        Ok(PostgresStore {
            conn: RefCell::new(conn),
            tx: Cell::new(Tx::None),
            savepoints: RefCell::new(Vec::new()),
            unsent: RefCell::new(UnsentMessages::default()),
            last_msg_id: Cell::new(to_u64(last)),
            last_msg_id_at_begin: Cell::new(to_u64(last)),
            event_seq: Cell::new(None),
        })
    }

    /// `cluster_state.event_seq` as read when the open transaction began,
    /// with the row locked (`None` outside a transaction). The cluster
    /// layer numbers the events it publishes from it: no other writer can
    /// move it until this transaction ends.
    pub fn locked_event_seq(&self) -> Option<i64> {
        match self.tx.get() {
            Tx::None => None,
            _ => self.event_seq.get(),
        }
    }

    /// The round log moved `event_seq` in this transaction.
    pub(super) fn set_locked_event_seq(&self, seq: i64) {
        self.event_seq.set(Some(seq));
    }

    /// Runs statements on the connection; a failure inside a transaction
    /// marks it failed (PostgreSQL has aborted it).
    fn run<T>(
        &self,
        f: impl FnOnce(&mut PgConn) -> Result<T, ::postgres::Error>,
    ) -> Result<T, StoreError> {
        let mut conn = self.conn.borrow_mut();
        let unsent = std::mem::take(&mut *self.unsent.borrow_mut());
        let result = if unsent.ids.is_empty() {
            f(&mut conn)
        } else {
            conn.execute(
                "INSERT INTO messages (id, chat_id, sender_id, ts, text)
                 SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::text[])",
                &[&unsent.ids, &unsent.chats, &unsent.senders, &unsent.ts, &unsent.texts],
            )
            .and_then(|_| f(&mut conn))
        };
        result.map_err(|e| {
            if self.tx.get() == Tx::Open {
                self.tx.set(Tx::Failed);
            }
            e.into()
        })
    }

    fn count(&self, sql: &'static str, account: AccountId) -> Result<u64, StoreError> {
        let n: i64 = self.run(|c| c.query_one(sql, &[&account]))?.get(0);
        Ok(to_u64(n))
    }

    /// Runs `f` in a transaction of its own when none is open (a message
    /// inserted outside a batch still takes its id under the lock).
    fn in_own_transaction<T>(
        &self,
        f: impl FnOnce() -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.begin()?;
        match f() {
            Ok(v) => match self.commit() {
                Ok(()) => Ok(v),
                Err(e) => {
                    self.rollback();
                    Err(e)
                }
            },
            Err(e) => {
                self.rollback();
                Err(e)
            }
        }
    }

    fn newest_requests(
        &self,
        page_sql: &'static str,
        count_sql: &'static str,
        account: AccountId,
        limit: usize,
    ) -> Result<(Vec<(AccountId, i64)>, u64), StoreError> {
        let rows = self.run(|c| c.query(page_sql, &[&account, &(limit as i64)]))?;
        let mut page: Vec<(AccountId, i64)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        page.reverse();
        Ok((page, self.count(count_sql, account)?))
    }

    fn update_account(&self, sql: &'static str, params: Params<'_>) -> Result<(), StoreError> {
        if self.run(|c| c.execute(sql, params))? == 0 {
            return Err(StoreError::NoSuchAccount);
        }
        Ok(())
    }
}

/// `BEGIN` and the lock on `cluster_state`, in one round trip.
fn begin_on(conn: &mut PgConn) -> Result<(i64, i64), ::postgres::Error> {
    let messages = conn.client().simple_query(
        "BEGIN; SELECT last_msg_id, event_seq FROM cluster_state WHERE id = 1 FOR UPDATE",
    )?;
    for m in messages {
        if let ::postgres::SimpleQueryMessage::Row(row) = m {
            let number = |i| row.get(i).and_then(|v: &str| v.parse::<i64>().ok());
            if let (Some(last), Some(seq)) = (number(0), number(1)) {
                return Ok((last, seq));
            }
        }
    }
    // Unreachable with the schema's one row; treated as a failed begin.
    conn.client().batch_execute("ROLLBACK")?;
    conn.client()
        .query_one("SELECT 1 FROM cluster_state WHERE id = 1", &[])
        .map(|_| (0, 0))
}

impl Store for PostgresStore {
    fn cluster(&self) -> Option<&dyn ClusterLog> {
        Some(self)
    }

    /// `BEGIN`, then `SELECT … FROM cluster_state FOR UPDATE`: the row lock
    /// serialises every writing transaction of every process on this
    /// database, so `last_msg_id` read here is the newest committed and
    /// nobody else can hand out the next one before this commits.
    fn begin(&self) -> Result<(), StoreError> {
        if self.tx.get() != Tx::None {
            return Err(StoreError::TransactionOpen);
        }
        let mut conn = self.conn.borrow_mut();
        if conn.is_closed() {
            conn.reconnect()?;
        }
        let (last, seq) = match begin_on(&mut conn) {
            Ok(v) => v,
            Err(e) if conn.is_closed() || connection_lost(&e) => {
                // PostgreSQL restarted since the last round: a new
                // connection, and the round goes on.
                tracing::warn!(error = %e, "the PostgreSQL connection was lost; reconnecting");
                conn.reconnect()?;
                begin_on(&mut conn).inspect_err(|_| {
                    let _ = conn.client().batch_execute("ROLLBACK");
                })?
            }
            Err(e) => {
                let _ = conn.client().batch_execute("ROLLBACK");
                return Err(e.into());
            }
        };
        self.tx.set(Tx::Open);
        self.last_msg_id.set(to_u64(last));
        self.last_msg_id_at_begin.set(to_u64(last));
        self.event_seq.set(Some(seq));
        Ok(())
    }

    /// Writes the new `last_msg_id` back (if messages were inserted) and
    /// commits. A transaction a failed statement aborted is rolled back and
    /// reported as failed: PostgreSQL would roll it back silently.
    fn commit(&self) -> Result<(), StoreError> {
        match self.tx.get() {
            Tx::None => return Ok(()),
            Tx::Failed => {
                self.rollback();
                return Err(StoreError::TransactionAborted);
            }
            Tx::Open => {}
        }
        let last = self.last_msg_id.get();
        let changed = last != self.last_msg_id_at_begin.get();
        self.run(|c| {
            if changed {
                c.execute(
                    "UPDATE cluster_state SET last_msg_id = $1 WHERE id = 1",
                    &[&db_u64(last)],
                )?;
            }
            c.client().batch_execute("COMMIT")
        })?;
        self.tx.set(Tx::None);
        self.savepoints.borrow_mut().clear();
        self.event_seq.set(None);
        self.last_msg_id_at_begin.set(last);
        Ok(())
    }

    /// PostgreSQL has no `data_version`: `cluster_state.event_seq` stands
    /// for it. The account command line bumps it in the transaction of its
    /// change ([`Store::note_outside_change`]); the hub's own commits never
    /// do. Inside a transaction it is the value read at begin.
    fn data_version(&self) -> Result<i64, StoreError> {
        if let (Tx::Open, Some(seq)) = (self.tx.get(), self.event_seq.get()) {
            return Ok(seq);
        }
        let row =
            self.run(|c| c.query_one("SELECT event_seq FROM cluster_state WHERE id = 1", &[]))?;
        Ok(row.get(0))
    }

    fn note_outside_change(&self) -> Result<(), StoreError> {
        self.run(|c| {
            c.execute(
                "UPDATE cluster_state SET event_seq = event_seq + 1 WHERE id = 1",
                &[],
            )
        })?;
        Ok(())
    }

    fn in_transaction(&self) -> bool {
        self.tx.get() == Tx::Open
    }

    fn rollback(&self) {
        if self.tx.get() != Tx::None {
            let _ = self.conn.borrow_mut().client().batch_execute("ROLLBACK");
        }
        self.tx.set(Tx::None);
        self.savepoints.borrow_mut().clear();
        *self.unsent.borrow_mut() = UnsentMessages::default();
        self.event_seq.set(None);
        // Ids of messages that were rolled back were never seen by anyone.
        self.last_msg_id.set(self.last_msg_id_at_begin.get());
    }

    fn account_by_key(&self, key: &str) -> Result<Option<Account>, StoreError> {
        let row = self.run(|c| c.query_opt(account_sql!("WHERE name_key = $1"), &[&key]))?;
        Ok(row.as_ref().map(account_from_row))
    }

    fn account_by_id(&self, id: AccountId) -> Result<Option<Account>, StoreError> {
        let row = self.run(|c| c.query_opt(account_sql!("WHERE id = $1"), &[&id]))?;
        Ok(row.as_ref().map(account_from_row))
    }

    fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        let rows = self.run(|c| c.query(account_sql!("ORDER BY id"), &[]))?;
        Ok(rows.iter().map(account_from_row).collect())
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
        let look_alike = self.run(|c| {
            c.query_opt(
                "SELECT name FROM accounts WHERE name_skeleton = $1 LIMIT 1",
                &[&skeleton],
            )
        })?;
        if let Some(row) = look_alike {
            let existing: String = row.get(0);
            return Err(if existing.eq_ignore_ascii_case(name) {
                StoreError::NameTaken
            } else {
                StoreError::LooksLike(existing)
            });
        }
        let inserted = self.run(|c| {
            c.query_opt(
                "INSERT INTO accounts (name, name_key, password_hash, role, created_ms, name_skeleton)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (name_key) DO NOTHING RETURNING id",
                &[
                    &name,
                    &key.as_str(),
                    &password_hash,
                    &role.as_str(),
                    &now_ms,
                    &skeleton,
                ],
            )
        })?;
        let Some(row) = inserted else {
            return Err(StoreError::NameTaken);
        };
        let id: AccountId = row.get(0);
        self.set_read_marker(id, PUBLIC_CHAT, self.last_msg_id())?;
        Ok(id)
    }

    fn set_password_hash(&self, key: &str, hash: &str) -> Result<(), StoreError> {
        self.update_account(
            "UPDATE accounts SET password_hash = $1 WHERE name_key = $2",
            &[&hash, &key],
        )
    }

    fn replace_password_hash(
        &self,
        account: AccountId,
        old: &str,
        new: &str,
    ) -> Result<bool, StoreError> {
        let n = self.run(|c| {
            c.execute(
                "UPDATE accounts SET password_hash = $3 WHERE id = $1 AND password_hash = $2",
                &[&account, &old, &new],
            )
        })?;
        Ok(n == 1)
    }

    fn password_hash_costs(&self) -> Result<Vec<u32>, StoreError> {
        let rows = self.run(|c| {
            c.query(
                "SELECT DISTINCT substr(password_hash, 1, 7) FROM accounts",
                &[],
            )
        })?;
        Ok(rows
            .iter()
            .filter_map(|r| crate::server::auth::bcrypt_cost_of(r.get(0)))
            .collect())
    }

    fn set_role(&self, key: &str, role: Role) -> Result<(), StoreError> {
        self.update_account(
            "UPDATE accounts SET role = $1 WHERE name_key = $2",
            &[&role.as_str(), &key],
        )
    }

    fn set_ban(&self, key: &str, ban: Option<Ban>) -> Result<(), StoreError> {
        self.update_account(
            "UPDATE accounts SET banned = $1, banned_until_ms = $2 WHERE name_key = $3",
            &[&ban.is_some(), &ban.and_then(|b| b.until_ms), &key],
        )
    }

    fn last_msg_id(&self) -> u64 {
        self.last_msg_id.get()
    }

    /// Takes the id after the newest one (read under the lock at begin) and
    /// inserts with it explicitly; `commit` writes the new newest back.
    fn insert_message(
        &self,
        chat: ChatId,
        sender: AccountId,
        ts: i64,
        text: &str,
    ) -> Result<u64, StoreError> {
        if self.tx.get() == Tx::None {
            return self.in_own_transaction(|| self.insert_message(chat, sender, ts, text));
        }
        if self.tx.get() == Tx::Failed {
            return Err(StoreError::TransactionAborted);
        }
        let id = self.last_msg_id.get() + 1;
        let mut unsent = self.unsent.borrow_mut();
        unsent.ids.push(db_u64(id));
        unsent.chats.push(chat);
        unsent.senders.push(sender);
        unsent.ts.push(ts);
        unsent.texts.push(text.to_owned());
        self.last_msg_id.set(id);
        Ok(id)
    }

    fn history(
        &self,
        chat: ChatId,
        direction: HistoryDirection,
        limit: u32,
    ) -> Result<(Vec<StoredMessage>, bool), StoreError> {
        self.run(|c| history_page(c, chat, direction, limit))
    }

    fn unread_count(&self, chat: ChatId, after: u64, reader: AccountId) -> Result<u64, StoreError> {
        let n: i64 = self
            .run(|c| {
                c.query_one(
                    "SELECT count(*) FROM messages WHERE chat_id = $1 AND id > $2 AND sender_id <> $3",
                    &[&chat, &db_u64(after), &reader],
                )
            })?
            .get(0);
        Ok(to_u64(n))
    }

    fn read_marker(&self, account: AccountId, chat: ChatId) -> Result<Option<u64>, StoreError> {
        let row = self.run(|c| {
            c.query_opt(
                "SELECT msg_id FROM read_markers WHERE account_id = $1 AND chat_id = $2",
                &[&account, &chat],
            )
        })?;
        Ok(row.map(|r| to_u64(r.get(0))))
    }

    fn set_read_marker(
        &self,
        account: AccountId,
        chat: ChatId,
        msg_id: u64,
    ) -> Result<(), StoreError> {
        self.run(|c| {
            c.execute(
                "INSERT INTO read_markers (account_id, chat_id, msg_id) VALUES ($1, $2, $3)
                 ON CONFLICT (account_id, chat_id) DO UPDATE SET msg_id = excluded.msg_id",
                &[&account, &chat, &db_u64(msg_id)],
            )
        })?;
        Ok(())
    }

    fn private_chat(&self, a: AccountId, b: AccountId) -> Result<Option<PrivateChat>, StoreError> {
        let (lo, hi) = if a < b { (a, b) } else { (b, a) };
        let row = self.run(|c| {
            c.query_opt(
                "SELECT id, is_open FROM chats WHERE kind = 'private' AND user_lo = $1 AND user_hi = $2",
                &[&lo, &hi],
            )
        })?;
        Ok(row.map(|r| PrivateChat {
            id: r.get(0),
            is_open: r.get(1),
        }))
    }

    fn open_private_chat(
        &self,
        a: AccountId,
        b: AccountId,
        now_ms: i64,
    ) -> Result<ChatId, StoreError> {
        let (lo, hi) = if a < b { (a, b) } else { (b, a) };
        let row = self.run(|c| {
            c.query_one(
                "INSERT INTO chats (kind, user_lo, user_hi, is_open, opened_ms)
                 VALUES ('private', $1, $2, TRUE, $3)
                 ON CONFLICT (user_lo, user_hi) DO UPDATE
                     SET is_open = TRUE, opened_ms = excluded.opened_ms, ended_ms = NULL
                 RETURNING id",
                &[&lo, &hi, &now_ms],
            )
        })?;
        Ok(row.get(0))
    }

    fn end_private_chat(&self, chat: ChatId, now_ms: i64) -> Result<(), StoreError> {
        self.run(|c| {
            c.execute(
                "UPDATE chats SET is_open = FALSE, ended_ms = $2 WHERE id = $1",
                &[&chat, &now_ms],
            )
        })?;
        Ok(())
    }

    fn open_chats_of(
        &self,
        account: AccountId,
        limit: usize,
    ) -> Result<(Vec<(ChatId, AccountId)>, u64), StoreError> {
        let rows = self.run(|c| {
            c.query(
                "SELECT id, CASE WHEN user_lo = $1 THEN user_hi ELSE user_lo END FROM chats
                 WHERE kind = 'private' AND is_open AND (user_lo = $1 OR user_hi = $1)
                 ORDER BY opened_ms DESC, id DESC LIMIT $2",
                &[&account, &(limit as i64)],
            )
        })?;
        let mut page: Vec<(ChatId, AccountId)> =
            rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        page.reverse();
        let total = self.count(
            "SELECT count(*) FROM chats WHERE kind = 'private' AND is_open
             AND (user_lo = $1 OR user_hi = $1)",
            account,
        )?;
        Ok((page, total))
    }

    fn groups(&self) -> Result<Vec<StoredGroup>, StoreError> {
        let rows = self.run(|c| {
            c.query(
                "SELECT id, name, group_kind, topic FROM chats WHERE kind = 'group' ORDER BY id",
                &[],
            )
        })?;
        let mut groups: Vec<StoredGroup> = rows
            .iter()
            .map(|r| StoredGroup {
                id: r.get(0),
                name: r.get(1),
                kind: GroupKind::parse(r.get::<_, &str>(2)).unwrap_or_default(),
                topic: r.get(3),
                members: Vec::new(),
            })
            .collect();
        let index: HashMap<ChatId, usize> =
            groups.iter().enumerate().map(|(i, g)| (g.id, i)).collect();
        let rows = self.run(|c| {
            c.query(
                "SELECT chat_id, account_id, role, joined_seq FROM chat_members ORDER BY joined_seq",
                &[],
            )
        })?;
        for r in &rows {
            let chat: ChatId = r.get(0);
            if let Some(&i) = index.get(&chat) {
                groups[i].members.push((
                    r.get(1),
                    GroupRole::parse(r.get::<_, &str>(2)).unwrap_or_default(),
                    to_u64(r.get(3)),
                ));
            }
        }
        Ok(groups)
    }

    fn create_group(&self, name: &str, kind: GroupKind, topic: &str) -> Result<ChatId, StoreError> {
        let row = self.run(|c| {
            c.query_opt(
                "INSERT INTO chats (kind, name, name_key, group_kind, topic, is_open)
                 VALUES ('group', $1, $2, $3, $4, TRUE)
                 ON CONFLICT (name_key) DO NOTHING RETURNING id",
                &[&name, &NameKey::of(name).as_str(), &kind.as_str(), &topic],
            )
        })?;
        row.map(|r| r.get(0)).ok_or(StoreError::NameTaken)
    }

    /// The ids of the messages deleted stay used: `cluster_state` never
    /// goes back, so nothing like SQLite's `deleted_msg_id_high` is needed.
    fn delete_group(&self, chat: ChatId) -> Result<Vec<AccountId>, StoreError> {
        let rows = self.run(|c| {
            c.query(
                "SELECT account_id FROM group_invites WHERE chat_id = $1",
                &[&chat],
            )
        })?;
        let invitees = rows.iter().map(|r| r.get(0)).collect();
        for sql in [
            "DELETE FROM messages WHERE chat_id = $1",
            "DELETE FROM read_markers WHERE chat_id = $1",
            "DELETE FROM chat_members WHERE chat_id = $1",
            "DELETE FROM group_invites WHERE chat_id = $1",
            "DELETE FROM files WHERE chat_id = $1",
            "DELETE FROM chats WHERE id = $1 AND kind = 'group'",
        ] {
            self.run(|c| c.execute(sql, &[&chat]))?;
        }
        Ok(invitees)
    }

    fn set_topic(&self, chat: ChatId, topic: &str) -> Result<(), StoreError> {
        self.run(|c| {
            c.execute(
                "UPDATE chats SET topic = $2 WHERE id = $1 AND kind = 'group'",
                &[&chat, &topic],
            )
        })?;
        Ok(())
    }

    fn add_member(
        &self,
        chat: ChatId,
        account: AccountId,
        role: GroupRole,
        seq: u64,
    ) -> Result<(), StoreError> {
        self.run(|c| {
            c.execute(
                "INSERT INTO chat_members (chat_id, account_id, role, joined_seq) VALUES ($1, $2, $3, $4)",
                &[&chat, &account, &role.as_str(), &db_u64(seq)],
            )
        })?;
        Ok(())
    }

    fn remove_member(&self, chat: ChatId, account: AccountId) -> Result<(), StoreError> {
        self.run(|c| {
            c.execute(
                "DELETE FROM chat_members WHERE chat_id = $1 AND account_id = $2",
                &[&chat, &account],
            )?;
            c.execute(
                "DELETE FROM read_markers WHERE chat_id = $1 AND account_id = $2",
                &[&chat, &account],
            )
        })?;
        Ok(())
    }

    fn set_member_role(
        &self,
        chat: ChatId,
        account: AccountId,
        role: GroupRole,
    ) -> Result<(), StoreError> {
        self.run(|c| {
            c.execute(
                "UPDATE chat_members SET role = $3 WHERE chat_id = $1 AND account_id = $2",
                &[&chat, &account, &role.as_str()],
            )
        })?;
        Ok(())
    }

    fn add_invite(
        &self,
        chat: ChatId,
        to: AccountId,
        from: AccountId,
        ts: i64,
    ) -> Result<(), StoreError> {
        self.run(|c| {
            c.execute(
                "INSERT INTO group_invites (chat_id, account_id, from_id, ts) VALUES ($1, $2, $3, $4)",
                &[&chat, &to, &from, &ts],
            )
        })?;
        Ok(())
    }

    fn remove_invite(&self, chat: ChatId, to: AccountId) -> Result<bool, StoreError> {
        let n = self.run(|c| {
            c.execute(
                "DELETE FROM group_invites WHERE chat_id = $1 AND account_id = $2",
                &[&chat, &to],
            )
        })?;
        Ok(n > 0)
    }

    fn invite(&self, chat: ChatId, to: AccountId) -> Result<Option<(AccountId, i64)>, StoreError> {
        let row = self.run(|c| {
            c.query_opt(
                "SELECT from_id, ts FROM group_invites WHERE chat_id = $1 AND account_id = $2",
                &[&chat, &to],
            )
        })?;
        Ok(row.map(|r| (r.get(0), r.get(1))))
    }

    fn invites_to(
        &self,
        account: AccountId,
        limit: usize,
    ) -> Result<(Vec<PendingInvite>, u64), StoreError> {
        let rows = self.run(|c| {
            c.query(
                "SELECT chat_id, from_id, ts FROM group_invites WHERE account_id = $1
                 ORDER BY ts DESC, chat_id DESC LIMIT $2",
                &[&account, &(limit as i64)],
            )
        })?;
        let mut page: Vec<PendingInvite> = rows
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
        page.reverse();
        let total = self.count(
            "SELECT count(*) FROM group_invites WHERE account_id = $1",
            account,
        )?;
        Ok((page, total))
    }

    fn pending_request(&self, from: AccountId, to: AccountId) -> Result<Option<i64>, StoreError> {
        let row = self.run(|c| {
            c.query_opt(
                "SELECT ts FROM chat_requests WHERE from_id = $1 AND to_id = $2",
                &[&from, &to],
            )
        })?;
        Ok(row.map(|r| r.get(0)))
    }

    fn add_request(&self, from: AccountId, to: AccountId, ts: i64) -> Result<(), StoreError> {
        self.run(|c| {
            c.execute(
                "INSERT INTO chat_requests (from_id, to_id, ts) VALUES ($1, $2, $3)
                 ON CONFLICT (from_id, to_id) DO UPDATE SET ts = excluded.ts",
                &[&from, &to, &ts],
            )
        })?;
        Ok(())
    }

    fn remove_request(&self, from: AccountId, to: AccountId) -> Result<bool, StoreError> {
        let n = self.run(|c| {
            c.execute(
                "DELETE FROM chat_requests WHERE from_id = $1 AND to_id = $2",
                &[&from, &to],
            )
        })?;
        Ok(n > 0)
    }

    fn requests_to(
        &self,
        account: AccountId,
        limit: usize,
    ) -> Result<(Vec<(AccountId, i64)>, u64), StoreError> {
        self.newest_requests(
            "SELECT from_id, ts FROM chat_requests WHERE to_id = $1
             ORDER BY ts DESC, from_id DESC LIMIT $2",
            "SELECT count(*) FROM chat_requests WHERE to_id = $1",
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
            "SELECT to_id, ts FROM chat_requests WHERE from_id = $1
             ORDER BY ts DESC, to_id DESC LIMIT $2",
            "SELECT count(*) FROM chat_requests WHERE from_id = $1",
            account,
            limit,
        )
    }

    fn count_requests_to(&self, account: AccountId) -> Result<u64, StoreError> {
        self.count(
            "SELECT count(*) FROM chat_requests WHERE to_id = $1",
            account,
        )
    }

    fn count_requests_from(&self, account: AccountId) -> Result<u64, StoreError> {
        self.count(
            "SELECT count(*) FROM chat_requests WHERE from_id = $1",
            account,
        )
    }

    fn record_audit(&self, entry: &NewAudit<'_>, ts: i64) -> Result<u64, StoreError> {
        let row = self.run(|c| {
            c.query_one(
                "INSERT INTO audit (ts, actor, action, target, target_id, detail)
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING seq",
                &[
                    &ts,
                    &entry.actor,
                    &entry.action,
                    &entry.target,
                    &entry.target_account,
                    &entry.detail,
                ],
            )
        })?;
        Ok(to_u64(row.get(0)))
    }

    fn audit_page(
        &self,
        before: Option<u64>,
        limit: u32,
    ) -> Result<(Vec<AuditRecord>, bool), StoreError> {
        let before = before.map_or(i64::MAX, db_u64);
        let rows = self.run(|c| {
            c.query(
                "SELECT seq, ts, actor, action, target, detail FROM audit
                 WHERE seq < $1 ORDER BY seq DESC LIMIT $2",
                &[&before, &(i64::from(limit) + 1)],
            )
        })?;
        let mut page: Vec<AuditRecord> = rows
            .iter()
            .map(|r| AuditRecord {
                seq: to_u64(r.get(0)),
                ts: r.get(1),
                actor: r.get(2),
                action: r.get(3),
                target: r.get(4),
                detail: r.get(5),
            })
            .collect();
        let more = page.len() > limit as usize;
        page.truncate(limit as usize);
        Ok((page, more))
    }

    fn last_login(&self, account: AccountId) -> Result<Option<i64>, StoreError> {
        let row = self.run(|c| {
            c.query_opt(
                "SELECT ts FROM audit WHERE target_id = $1 AND action = 'login'
                 ORDER BY seq DESC LIMIT 1",
                &[&account],
            )
        })?;
        Ok(row.map(|r| r.get(0)))
    }

    fn set_status(&self, account: AccountId, status: Status) -> Result<(), StoreError> {
        self.run(|c| {
            c.execute(
                "UPDATE accounts SET status = $2 WHERE id = $1",
                &[&account, &status.as_str()],
            )
        })?;
        Ok(())
    }

    fn set_mute(&self, key: &str, mute: Option<Ban>) -> Result<(), StoreError> {
        self.update_account(
            "UPDATE accounts SET muted = $1, muted_until_ms = $2 WHERE name_key = $3",
            &[&mute.is_some(), &mute.and_then(|m| m.until_ms), &key],
        )
    }

    fn private_chat_members(
        &self,
        chat: ChatId,
    ) -> Result<Option<(AccountId, AccountId)>, StoreError> {
        let row = self.run(|c| {
            c.query_opt(
                "SELECT user_lo, user_hi FROM chats WHERE id = $1 AND kind = 'private'",
                &[&chat],
            )
        })?;
        Ok(row.map(|r| (r.get(0), r.get(1))))
    }

    fn message(&self, msg_id: u64) -> Result<Option<(ChatId, StoredMessage)>, StoreError> {
        let row = self.run(|c| {
            c.query_opt(
                "SELECT m.chat_id, m.id, m.sender_id, a.name, m.ts, m.text, m.deleted
                 FROM messages m JOIN accounts a ON a.id = m.sender_id WHERE m.id = $1",
                &[&db_u64(msg_id)],
            )
        })?;
        Ok(row.map(|r| {
            (
                r.get(0),
                StoredMessage {
                    id: to_u64(r.get(1)),
                    sender: r.get(2),
                    sender_name: r.get(3),
                    ts: r.get(4),
                    text: r.get(5),
                    deleted: r.get(6),
                    file: None,
                },
            )
        }))
    }

    fn delete_message(&self, msg_id: u64) -> Result<(), StoreError> {
        self.run(|c| {
            c.execute(
                "UPDATE messages SET deleted = TRUE, text = '' WHERE id = $1",
                &[&db_u64(msg_id)],
            )
        })?;
        Ok(())
    }

    fn create_upload(&self, f: &NewFile<'_>, now_ms: i64) -> Result<(), StoreError> {
        self.run(|c| {
            c.execute(
                "INSERT INTO files (file_id, uploader, chat_id, name, size, sha256, mime, caption, created_ms)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                &[
                    &f.file_id,
                    &f.uploader,
                    &f.chat,
                    &f.name,
                    &db_u64(f.size),
                    &f.sha256,
                    &f.mime,
                    &f.caption,
                    &now_ms,
                ],
            )
        })?;
        Ok(())
    }

    fn file(&self, file_id: &str) -> Result<Option<StoredFile>, StoreError> {
        let row = self.run(|c| {
            c.query_opt(
                "SELECT f.file_id, f.uploader, f.chat_id, f.name, f.size, f.sha256, f.mime,
                        f.caption, f.created_ms, f.msg_id, coalesce(m.deleted, FALSE)
                 FROM files f LEFT JOIN messages m ON m.id = f.msg_id WHERE f.file_id = $1",
                &[&file_id],
            )
        })?;
        Ok(row.as_ref().map(stored_file))
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
        let row = self.run(|c| {
            c.query_opt(
                "SELECT file_id FROM files WHERE uploader = $1 AND chat_id = $2 AND name = $3
                 AND size = $4 AND sha256 = $5 AND msg_id IS NULL AND created_ms >= $6
                 ORDER BY created_ms DESC LIMIT 1",
                &[&uploader, &chat, &name, &db_u64(size), &sha256, &since_ms],
            )
        })?;
        Ok(row.map(|r| r.get(0)))
    }

    fn finish_upload(&self, file_id: &str, msg_id: u64) -> Result<(), StoreError> {
        self.run(|c| {
            c.execute(
                "UPDATE files SET msg_id = $2 WHERE file_id = $1",
                &[&file_id, &db_u64(msg_id)],
            )
        })?;
        Ok(())
    }

    fn drop_upload(&self, file_id: &str) -> Result<(), StoreError> {
        self.run(|c| {
            c.execute(
                "DELETE FROM files WHERE file_id = $1 AND msg_id IS NULL",
                &[&file_id],
            )
        })?;
        Ok(())
    }

    fn quota_used(&self, uploader: AccountId) -> Result<u64, StoreError> {
        // sum() of BIGINT is NUMERIC in PostgreSQL: cast it back.
        let n: i64 = self
            .run(|c| {
                c.query_one(
                    "SELECT coalesce(sum(f.size), 0)::BIGINT
                     FROM files f LEFT JOIN messages m ON m.id = f.msg_id
                     WHERE f.uploader = $1 AND (f.msg_id IS NULL OR NOT m.deleted)",
                    &[&uploader],
                )
            })?
            .get(0);
        Ok(to_u64(n))
    }

    fn sha_in_use(&self, sha256: &str) -> Result<bool, StoreError> {
        let row = self.run(|c| {
            c.query_one(
                "SELECT EXISTS (SELECT 1 FROM files f JOIN messages m ON m.id = f.msg_id
                                WHERE f.sha256 = $1 AND NOT m.deleted)",
                &[&sha256],
            )
        })?;
        Ok(row.get(0))
    }

    fn referenced_blobs(&self) -> Result<Vec<String>, StoreError> {
        let rows = self.run(|c| {
            c.query(
                "SELECT DISTINCT f.sha256 FROM files f JOIN messages m ON m.id = f.msg_id
                 WHERE NOT m.deleted",
                &[],
            )
        })?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    fn unfinished_uploads(&self) -> Result<Vec<StoredFile>, StoreError> {
        let rows = self.run(|c| {
            c.query(
                "SELECT f.file_id, f.uploader, f.chat_id, f.name, f.size, f.sha256, f.mime,
                        f.caption, f.created_ms, f.msg_id, FALSE
                 FROM files f WHERE f.msg_id IS NULL",
                &[],
            )
        })?;
        Ok(rows.iter().map(stored_file).collect())
    }

    fn file_sha_of_message(&self, msg_id: u64) -> Result<Option<String>, StoreError> {
        let row = self.run(|c| {
            c.query_opt(
                "SELECT sha256 FROM files WHERE msg_id = $1 LIMIT 1",
                &[&db_u64(msg_id)],
            )
        })?;
        Ok(row.map(|r| r.get(0)))
    }

    fn files_of_chat(&self, chat: ChatId) -> Result<Vec<String>, StoreError> {
        let rows = self.run(|c| {
            c.query(
                "SELECT DISTINCT sha256 FROM files WHERE chat_id = $1",
                &[&chat],
            )
        })?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    /// Outside a transaction (SQLite then starts one) the savepoint begins
    /// one of its own, lock included, which its release commits.
    fn savepoint(&self) -> Result<(), StoreError> {
        let began = self.tx.get() == Tx::None;
        if began {
            self.begin()?;
        }
        if let Err(e) = self.run(|c| c.client().batch_execute("SAVEPOINT step")) {
            if began {
                self.rollback();
            }
            return Err(e);
        }
        self.savepoints.borrow_mut().push(Savepoint {
            began,
            last_msg_id: self.last_msg_id.get(),
        });
        Ok(())
    }

    fn release_savepoint(&self) -> Result<(), StoreError> {
        let Some(sp) = self.savepoints.borrow_mut().pop() else {
            return self.run(|c| c.client().batch_execute("RELEASE step"));
        };
        let released = self.run(|c| c.client().batch_execute("RELEASE step"));
        if !sp.began {
            return released;
        }
        match released.and_then(|()| self.commit()) {
            Ok(()) => Ok(()),
            Err(e) => {
                self.rollback();
                Err(e)
            }
        }
    }

    /// Also gives back the msg_ids taken since the savepoint, so that ids
    /// stay dense.
    fn rollback_to_savepoint(&self) {
        let sp = self.savepoints.borrow_mut().pop();
        if let Some(Savepoint { began: true, .. }) = sp {
            self.rollback();
            return;
        }
        let undone = self
            .conn
            .borrow_mut()
            .client()
            .batch_execute("ROLLBACK TO step; RELEASE step")
            .is_ok();
        if undone {
            // The savepoint was made while the transaction was sound.
            if self.tx.get() == Tx::Failed {
                self.tx.set(Tx::Open);
            }
            if let Some(sp) = sp {
                self.last_msg_id.set(sp.last_msg_id);
                self.unsent.borrow_mut().truncate_after(sp.last_msg_id);
            }
        }
    }
}

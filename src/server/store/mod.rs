//! Persistent state: accounts, chats and their members, pending requests,
//! messages, read markers and the login audit trail.
//!
//! [`Store`] has one method per question the server asks, so that request
//! code never sees SQL. Two backends answer them: [`SqliteStore`] (one
//! file, the default) and [`PostgresStore`] (`--db postgres://…`); the
//! scheme of `--db` picks one ([`DbLocation`], [`open`]). The hub is the
//! only writer while a server runs, and it groups many requests into one
//! transaction (see [`Store::begin`]) so that persistence does not cap
//! message throughput.

mod location;
mod postgres;
mod sqlite;

pub use location::{DbLocation, PgHost, PgUrl, PgUrlError};
pub use postgres::{copy_from_sqlite, CopyReport, PgReader, PostgresStore};
pub use sqlite::{Reader as SqliteReader, SqliteStore};

/// An error with its causes, in one line: `postgres::Error` shows only
/// its own part (`error connecting to server`), the reason is in its
/// sources.
pub(crate) fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut next = e.source();
    while let Some(cause) = next {
        let part = cause.to_string();
        if !text.ends_with(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        next = cause.source();
    }
    text
}

/// Opens the store `db` names: checked, migrated, ready.
pub fn open(db: &DbLocation) -> Result<Box<dyn Store>, StoreError> {
    Ok(match db {
        DbLocation::Sqlite(path) => Box::new(SqliteStore::open(path)?),
        DbLocation::Postgres(url) => Box::new(PostgresStore::open(url)?),
    })
}

/// A connection that only reads history pages, beside the hub.
pub enum Reader {
    Sqlite(SqliteReader),
    /// Boxed: a PostgreSQL connection is several times the size of an
    /// SQLite handle.
    Postgres(Box<PgReader>),
}

impl Reader {
    /// Opens another connection to a database [`open`] has already opened
    /// (and so checked and migrated).
    pub fn open(db: &DbLocation) -> Result<Reader, StoreError> {
        Ok(match db {
            DbLocation::Sqlite(path) => Reader::Sqlite(SqliteReader::open(path)?),
            DbLocation::Postgres(url) => Reader::Postgres(Box::new(PgReader::open(url)?)),
        })
    }

    /// Whether a reader kept idle may be used again (a PostgreSQL
    /// connection may have died meanwhile; an SQLite one cannot).
    pub fn usable(&mut self) -> bool {
        match self {
            Reader::Sqlite(_) => true,
            Reader::Postgres(r) => r.usable(),
        }
    }

    /// As [`Store::history`].
    pub fn history(
        &mut self,
        chat: ChatId,
        direction: HistoryDirection,
        limit: u32,
    ) -> Result<(Vec<StoredMessage>, bool), StoreError> {
        match self {
            Reader::Sqlite(r) => r.history(chat, direction, limit),
            Reader::Postgres(r) => r.history(chat, direction, limit),
        }
    }
}

use crate::protocol::{FileRef, GroupKind, GroupRole, Role, Status};

/// The chat id of `#public`.
pub const PUBLIC_CHAT: ChatId = 1;

pub type AccountId = i64;
pub type ChatId = i64;

/// Why the store could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path} is not a tchat database (it is some other SQLite file); refusing to touch it")]
    Foreign { path: String },
    #[error("{path} is not a tchat database (not an SQLite file at all); refusing to touch it")]
    NotADatabase {
        path: String,
        source: rusqlite::Error,
    },
    #[error("{path} has schema version {found}, newer than this tchat-server understands ({known}); upgrade tchat-server")]
    TooNew {
        path: String,
        found: i64,
        known: i64,
    },
    #[error("cannot create the directory for {path}")]
    CreateDir {
        path: String,
        source: std::io::Error,
    },
    #[error("the name is taken")]
    NameTaken,
    #[error("the name looks too much like {0}")]
    LooksLike(String),
    #[error("no such account")]
    NoSuchAccount,
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// Shows the URL without its password, as everything here does. The
    /// cause is in the message, not a `source`, so that a log line with
    /// the error alone says why (and a chain does not say it twice).
    #[error("cannot connect to {db}: {cause}")]
    PgConnect { db: String, cause: String },
    /// With the error's causes, where PostgreSQL says what went wrong
    /// (its own text is only `db error`).
    #[error("PostgreSQL error: {}", with_causes(.0))]
    Postgres(::postgres::Error),
    #[error(
        "{db} is not a tchat database (it has tables that are not tchat's); refusing to touch it"
    )]
    ForeignPostgres { db: String },
    #[error("a statement failed, so PostgreSQL aborted the transaction; nothing of it was stored")]
    TransactionAborted,
    #[error("a transaction is already open")]
    TransactionOpen,
    #[error("{db} already has accounts, chats or messages; migrate only into an empty database")]
    TargetNotEmpty { db: String },
    #[error("{path} does not exist")]
    NoSource { path: String },
    #[error(transparent)]
    Url(#[from] PgUrlError),
    #[error("the database worker stopped")]
    Closed,
}

impl From<::postgres::Error> for StoreError {
    fn from(e: ::postgres::Error) -> Self {
        StoreError::Postgres(e)
    }
}

/// An account as the hub needs it.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: AccountId,
    pub name: String,
    pub password_hash: String,
    pub role: Role,
    pub created_ms: i64,
    pub ban: Option<Ban>,
    /// A mute: the same shape as a ban (until a time, or for good).
    pub mute: Option<Ban>,
    /// The status the user last set: a new session starts with it.
    pub status: Status,
}

/// A ban (or a mute) on an account: until a time, or for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ban {
    pub until_ms: Option<i64>,
}

/// A private chat between two accounts.
#[derive(Debug, Clone, Copy)]
pub struct PrivateChat {
    pub id: ChatId,
    pub is_open: bool,
}

/// One stored message.
#[derive(Debug, Clone)]
pub struct StoredMessage {
    pub id: u64,
    pub sender: AccountId,
    /// The sender's name as registered.
    pub sender_name: String,
    pub ts: i64,
    pub text: String,
    /// Deleted by its author or a moderator: the text is empty.
    pub deleted: bool,
    /// The file posted with it, if any (none once deleted).
    pub file: Option<FileRef>,
}

/// A file upload to record.
#[derive(Debug, Clone, Copy)]
pub struct NewFile<'a> {
    pub file_id: &'a str,
    pub uploader: AccountId,
    pub chat: ChatId,
    pub name: &'a str,
    pub size: u64,
    pub sha256: &'a str,
    pub mime: &'a str,
    pub caption: Option<&'a str>,
}

/// A file as stored: an upload under way (`msg_id` none) or a posting.
#[derive(Debug, Clone)]
pub struct StoredFile {
    pub file_id: String,
    pub uploader: AccountId,
    pub chat: ChatId,
    pub name: String,
    pub size: u64,
    pub sha256: String,
    pub mime: String,
    pub caption: Option<String>,
    pub created_ms: i64,
    pub msg_id: Option<u64>,
    /// Its message was deleted (the file with it).
    pub message_deleted: bool,
}

/// A group as stored: its name as created, who may join, its topic and its
/// members with their roles, in the order they joined.
#[derive(Debug, Clone)]
pub struct StoredGroup {
    pub id: ChatId,
    pub name: String,
    pub kind: GroupKind,
    pub topic: String,
    pub members: Vec<(AccountId, GroupRole, u64)>,
}

/// An entry to append to the audit log.
#[derive(Debug, Clone, Copy)]
pub struct NewAudit<'a> {
    /// Who did it; `None` for the account command line or the server.
    pub actor: Option<&'a str>,
    pub action: &'a str,
    pub target: Option<&'a str>,
    /// The account the entry is about, when it is about one.
    pub target_account: Option<AccountId>,
    pub detail: &'a str,
}

/// One entry of the audit log as stored.
#[derive(Debug, Clone)]
pub struct AuditRecord {
    pub seq: u64,
    pub ts: i64,
    pub actor: Option<String>,
    pub action: String,
    pub target: Option<String>,
    pub detail: String,
}

/// An invitation waiting for someone: the group, who invited, when.
pub type PendingInvite = (ChatId, AccountId, i64);

/// Which way a history page goes from its anchor.
#[derive(Debug, Clone, Copy)]
pub enum HistoryDirection {
    /// The newest messages below the id (`None`: the newest overall).
    Before(Option<u64>),
    /// The oldest messages above the id.
    After(u64),
}

/// Everything the server asks of its storage. Message ids come from here:
/// [`Store::insert_message`] assigns them, strictly increasing in commit
/// order.
pub trait Store: Send {
    /// Starts a write transaction; everything until [`Store::commit`] is one
    /// atomic, durable unit.
    fn begin(&self) -> Result<(), StoreError>;

    fn commit(&self) -> Result<(), StoreError>;

    /// SQLite's `data_version`: it changes when another connection commits
    /// to this database (the account command line), never for our own.
    /// PostgreSQL's stand-in is `cluster_state.event_seq`, which writers
    /// from outside move with [`Store::note_outside_change`].
    fn data_version(&self) -> Result<i64, StoreError>;

    /// Marks the open transaction as a change made from outside the server
    /// (the account command line), so that a server running on the same
    /// database notices it by [`Store::data_version`]. SQLite notices by
    /// itself: nothing to do there.
    fn note_outside_change(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Whether a transaction is open (SQLite may end one by itself after an
    /// I/O error).
    fn in_transaction(&self) -> bool;

    /// Undoes the open transaction, if any.
    fn rollback(&self);

    /// Looks an account up by its case-insensitive key.
    fn account_by_key(&self, key: &str) -> Result<Option<Account>, StoreError>;

    fn account_by_id(&self, id: AccountId) -> Result<Option<Account>, StoreError>;

    /// All accounts, oldest first.
    fn accounts(&self) -> Result<Vec<Account>, StoreError>;

    /// Creates an account. Its `#public` read marker starts at the newest
    /// message, so a new user does not start with the whole backlog unread.
    fn create_account(
        &self,
        name: &str,
        password_hash: &str,
        role: Role,
        now_ms: i64,
    ) -> Result<AccountId, StoreError>;

    fn set_password_hash(&self, key: &str, hash: &str) -> Result<(), StoreError>;

    /// Replaces `account`'s hash only if it is still `old`: a rehash must
    /// never undo a password set meanwhile.
    fn replace_password_hash(
        &self,
        account: AccountId,
        old: &str,
        new: &str,
    ) -> Result<bool, StoreError>;

    /// The bcrypt costs of the stored password hashes, each once.
    fn password_hash_costs(&self) -> Result<Vec<u32>, StoreError>;

    fn set_role(&self, key: &str, role: Role) -> Result<(), StoreError>;

    /// Bans an account until `until_ms`, or for good with `None`; `unban`
    /// lifts it.
    fn set_ban(&self, key: &str, ban: Option<Ban>) -> Result<(), StoreError>;

    // ----- messages -------------------------------------------------------
    /// The newest msg_id handed out, 0 when there is none.
    fn last_msg_id(&self) -> u64;

    /// Stores a message and returns its id: strictly increasing in commit
    /// order, never handed out twice (not even after its chat is deleted).
    fn insert_message(
        &self,
        chat: ChatId,
        sender: AccountId,
        ts: i64,
        text: &str,
    ) -> Result<u64, StoreError>;

    /// One page of a chat's history, oldest first, and whether more exist
    /// further in the same direction.
    fn history(
        &self,
        chat: ChatId,
        direction: HistoryDirection,
        limit: u32,
    ) -> Result<(Vec<StoredMessage>, bool), StoreError>;

    /// Messages in `chat` above `after` that `reader` did not write.
    fn unread_count(&self, chat: ChatId, after: u64, reader: AccountId) -> Result<u64, StoreError>;

    // ----- read markers ---------------------------------------------------
    fn read_marker(&self, account: AccountId, chat: ChatId) -> Result<Option<u64>, StoreError>;

    fn set_read_marker(
        &self,
        account: AccountId,
        chat: ChatId,
        msg_id: u64,
    ) -> Result<(), StoreError>;

    // ----- private chats --------------------------------------------------
    fn private_chat(&self, a: AccountId, b: AccountId) -> Result<Option<PrivateChat>, StoreError>;

    /// Opens the chat between `a` and `b`, reusing an ended one so that its
    /// history continues.
    fn open_private_chat(
        &self,
        a: AccountId,
        b: AccountId,
        now_ms: i64,
    ) -> Result<ChatId, StoreError>;

    fn end_private_chat(&self, chat: ChatId, now_ms: i64) -> Result<(), StoreError>;

    /// The open private chats of `account`: (chat, partner), oldest first.
    /// The newest `limit` open private chats of `account` as (chat,
    /// partner), oldest first, and how many are open in all.
    fn open_chats_of(
        &self,
        account: AccountId,
        limit: usize,
    ) -> Result<(Vec<(ChatId, AccountId)>, u64), StoreError>;

    // ----- groups ---------------------------------------------------------

    /// Every group with its members (the hub keeps them in memory).
    fn groups(&self) -> Result<Vec<StoredGroup>, StoreError>;

    /// Creates a group with no members yet; `NameTaken` if a group of that
    /// name (in any casing) exists.
    fn create_group(&self, name: &str, kind: GroupKind, topic: &str) -> Result<ChatId, StoreError>;

    /// Deletes a group with its members, messages, read markers and
    /// invitations; returns who had an invitation to it.
    fn delete_group(&self, chat: ChatId) -> Result<Vec<AccountId>, StoreError>;

    fn set_topic(&self, chat: ChatId, topic: &str) -> Result<(), StoreError>;

    /// Adds a member; `seq` orders members by when they joined.
    fn add_member(
        &self,
        chat: ChatId,
        account: AccountId,
        role: GroupRole,
        seq: u64,
    ) -> Result<(), StoreError>;

    fn remove_member(&self, chat: ChatId, account: AccountId) -> Result<(), StoreError>;

    fn set_member_role(
        &self,
        chat: ChatId,
        account: AccountId,
        role: GroupRole,
    ) -> Result<(), StoreError>;

    /// Records that `from` invited `to` into `chat`.
    fn add_invite(
        &self,
        chat: ChatId,
        to: AccountId,
        from: AccountId,
        ts: i64,
    ) -> Result<(), StoreError>;

    /// Drops an invitation; whether there was one.
    fn remove_invite(&self, chat: ChatId, to: AccountId) -> Result<bool, StoreError>;

    /// Who invited `to` into `chat` and when, if an invitation waits.
    fn invite(&self, chat: ChatId, to: AccountId) -> Result<Option<(AccountId, i64)>, StoreError>;

    /// The newest `limit` invitations for `account` as (chat, from, ts),
    /// oldest first, and how many wait in all.
    fn invites_to(
        &self,
        account: AccountId,
        limit: usize,
    ) -> Result<(Vec<PendingInvite>, u64), StoreError>;

    // ----- requests -------------------------------------------------------
    /// When `from` asked `to` for a chat, if that request is pending.
    fn pending_request(&self, from: AccountId, to: AccountId) -> Result<Option<i64>, StoreError>;

    fn add_request(&self, from: AccountId, to: AccountId, ts: i64) -> Result<(), StoreError>;

    /// Removes the request; whether there was one.
    fn remove_request(&self, from: AccountId, to: AccountId) -> Result<bool, StoreError>;

    /// The newest `limit` pending requests to `account` as (from, ts),
    /// oldest first, and how many are pending in all.
    fn requests_to(
        &self,
        account: AccountId,
        limit: usize,
    ) -> Result<(Vec<(AccountId, i64)>, u64), StoreError>;

    /// The newest `limit` pending requests from `account` as (to, ts),
    /// oldest first, and how many are pending in all.
    fn requests_from(
        &self,
        account: AccountId,
        limit: usize,
    ) -> Result<(Vec<(AccountId, i64)>, u64), StoreError>;

    /// How many requests wait in `account`'s inbox.
    fn count_requests_to(&self, account: AccountId) -> Result<u64, StoreError>;

    /// How many of `account`'s requests wait for an answer.
    fn count_requests_from(&self, account: AccountId) -> Result<u64, StoreError>;

    // ----- administration -------------------------------------------------

    /// Appends to the audit log; returns the entry's `seq`.
    fn record_audit(&self, entry: &NewAudit<'_>, ts: i64) -> Result<u64, StoreError>;

    /// The newest `limit` entries below `before` (all without), newest
    /// first, and whether older ones exist.
    fn audit_page(
        &self,
        before: Option<u64>,
        limit: u32,
    ) -> Result<(Vec<AuditRecord>, bool), StoreError>;

    /// When `account` last logged in.
    fn last_login(&self, account: AccountId) -> Result<Option<i64>, StoreError>;

    /// Remembers the status a user set, for its next sessions.
    fn set_status(&self, account: AccountId, status: Status) -> Result<(), StoreError>;

    /// Mutes an account until `until_ms`, or for good with `None` inside;
    /// `None` lifts it.
    fn set_mute(&self, key: &str, mute: Option<Ban>) -> Result<(), StoreError>;

    /// The two people of a private chat, if `chat` is one.
    fn private_chat_members(
        &self,
        chat: ChatId,
    ) -> Result<Option<(AccountId, AccountId)>, StoreError>;

    /// One message and the chat it is in.
    fn message(&self, msg_id: u64) -> Result<Option<(ChatId, StoredMessage)>, StoreError>;

    /// Empties a message and marks it deleted; history keeps its place.
    fn delete_message(&self, msg_id: u64) -> Result<(), StoreError>;

    // ----- files ------------------------------------------------------------

    /// Records an upload under way (its bytes are on disk, not here).
    fn create_upload(&self, file: &NewFile<'_>, now_ms: i64) -> Result<(), StoreError>;

    fn file(&self, file_id: &str) -> Result<Option<StoredFile>, StoreError>;

    /// An upload under way by `uploader` of the same file into the same
    /// chat, begun at or after `since_ms`: the one to resume.
    fn resumable_upload(
        &self,
        uploader: AccountId,
        chat: ChatId,
        name: &str,
        size: u64,
        sha256: &str,
        since_ms: i64,
    ) -> Result<Option<String>, StoreError>;

    /// The upload is posted as message `msg_id`.
    fn finish_upload(&self, file_id: &str, msg_id: u64) -> Result<(), StoreError>;

    /// Forgets an upload that was not posted.
    fn drop_upload(&self, file_id: &str) -> Result<(), StoreError>;

    /// The bytes `uploader`'s postings and uploads under way count against
    /// its quota.
    fn quota_used(&self, uploader: AccountId) -> Result<u64, StoreError>;

    /// Whether a message still refers to this content.
    fn sha_in_use(&self, sha256: &str) -> Result<bool, StoreError>;

    /// Every content a message refers to.
    fn referenced_blobs(&self) -> Result<Vec<String>, StoreError>;

    /// Every upload that was not posted.
    fn unfinished_uploads(&self) -> Result<Vec<StoredFile>, StoreError>;

    /// The content posted with message `msg_id`, if any.
    fn file_sha_of_message(&self, msg_id: u64) -> Result<Option<String>, StoreError>;

    /// The contents posted in `chat` (before deleting it).
    fn files_of_chat(&self, chat: ChatId) -> Result<Vec<String>, StoreError>;

    /// Marks a point that [`Store::rollback_to_savepoint`] can return to
    /// inside the open transaction.
    fn savepoint(&self) -> Result<(), StoreError>;

    /// Keeps what was done since [`Store::savepoint`].
    fn release_savepoint(&self) -> Result<(), StoreError>;

    /// Undoes what was done since [`Store::savepoint`].
    fn rollback_to_savepoint(&self);

    // ----- several nodes ------------------------------------------------------

    /// The shared log of rounds, when this database can be shared by
    /// several nodes (PostgreSQL); `None` for SQLite.
    fn cluster(&self) -> Option<&dyn ClusterLog> {
        None
    }
}

/// One committed round in the shared log: its sequence number, the node
/// that wrote it, and its events (see `server::cluster`).
#[derive(Debug, Clone)]
pub struct LoggedRound {
    pub seq: u64,
    pub node: String,
    pub events: String,
}

/// What several nodes on one database share besides the community's data:
/// the log of rounds that lets every node apply every other node's changes
/// in commit order, who is online on which node, and which nodes are
/// alive. Every method runs in the hub's current transaction, which holds
/// the lock that orders all rounds of all nodes.
pub trait ClusterLog {
    /// A random number fixed when the database was made: the nodes of one
    /// community find each other on the bus by it.
    fn cluster_id(&self) -> Result<i64, StoreError>;

    /// The sequence number of the last round in the log, as read when this
    /// transaction took the round lock.
    fn locked_seq(&self) -> u64;

    /// Appends this round's events; the sequence number it got.
    fn append_round(&self, node: &str, events: &str) -> Result<u64, StoreError>;

    /// The logged rounds after `seq`, oldest first, at most `limit`.
    fn rounds_after(&self, seq: u64, limit: usize) -> Result<Vec<LoggedRound>, StoreError>;

    /// Forgets rounds logged before `before_ms`.
    fn prune_rounds(&self, before_ms: i64) -> Result<(), StoreError>;

    /// `node` is alive at `now_ms`.
    fn heartbeat(&self, node: &str, now_ms: i64) -> Result<(), StoreError>;

    /// Nodes, other than `me`, whose last heartbeat is before `before_ms`.
    fn silent_nodes(&self, me: &str, before_ms: i64) -> Result<Vec<String>, StoreError>;

    /// Forgets a node and who was online on it.
    fn forget_node(&self, node: &str) -> Result<(), StoreError>;

    /// Whether `account` has sessions on `node`.
    fn set_present(&self, node: &str, account: AccountId, present: bool) -> Result<(), StoreError>;

    /// Who is online on which node.
    fn presence(&self) -> Result<Vec<(String, AccountId)>, StoreError>;
}

impl dyn Store + '_ {
    /// Runs `f` so that its writes happen entirely or not at all, inside or
    /// outside a batch transaction.
    pub fn atomically<T>(
        &self,
        f: impl FnOnce(&dyn Store) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.savepoint()?;
        match f(self) {
            Ok(v) => {
                self.release_savepoint()?;
                Ok(v)
            }
            Err(e) => {
                self.rollback_to_savepoint();
                Err(e)
            }
        }
    }
}

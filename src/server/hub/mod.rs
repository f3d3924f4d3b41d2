//! The hub: the one ordering point of the server.
//!
//! It runs on a thread of its own, owns the database and the table of who is
//! online, and handles every request that reads or changes shared state. It
//! takes whatever requests are waiting, handles them inside one database
//! transaction, commits, and only then sends the replies and events they
//! produced. So an `ok` always follows the commit of what it acknowledges,
//! every receiver sees one order, and many messages share one commit.

mod cmd;
pub use cmd::{needs, Needs};
mod delivery;
mod groups;
mod moderation;
mod nodes;
mod online_list;
mod post;
mod requests;
mod sessions;
mod statuses;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

use super::admin_socket::{AdminReply, AdminRequest};
use super::auth::{AttemptTicket, Lockout, RegistrationLimit};
use super::cluster::{self, Cluster, Ev};
use super::config::ServerConfig;
use super::feed::{Feed, FeedWriter};
use super::history::HistoryJob;
use super::name_order::NameOrder;
use super::transfer::FileStore;
use online_list::ListedOnline;
use statuses::Statuses;

/// Work a session does itself once the hub has checked a request: read a
/// history page, or stream a file.
#[derive(Debug)]
pub enum Job {
    History(HistoryJob),
    Download(DownloadJob),
}

/// A download the hub has allowed: what to send from where.
#[derive(Debug, Clone)]
pub struct DownloadJob {
    pub id: u64,
    pub file_id: String,
    pub name: String,
    pub size: u64,
    pub sha256: String,
    pub mime: String,
    pub offset: u64,
    pub path: std::path::PathBuf,
}
use super::link::{SessionId, SessionLink};
use super::outbox::PushError;
use super::store::{
    Account, AccountId, Ban, ChatId, HistoryDirection, NewAudit, PrivateChat, Store, StoreError,
    PUBLIC_CHAT,
};
use crate::protocol::{
    now_ms, ChatKey, ChatSummary, ErrorCode, ErrorFrame, GroupSummary, InviteIn, Message, NameKey,
    OkReply, OnlineList, OnlineUser, Presence, Request, RequestIn, RequestOut, Role, ServerFrame,
    Status, UserName, Welcome, HISTORY_DEFAULT_LIMIT, HISTORY_MAX_LIMIT, MAX_LISTED_CHATS,
    MAX_LISTED_ONLINE, MAX_LISTED_REQUESTS, MAX_PENDING_INVITES, MAX_PENDING_REQUESTS,
};

/// The most requests handled in one transaction; bounds the latency a large
/// backlog adds to the first request in it.
const MAX_BATCH: usize = 2048;

/// The most bytes of replies and events one round may hold until its
/// commit (a shared event counts once). One frame may be up to 1 MiB, so a
/// round ends after at most this plus one frame.
const MAX_ROUND_BYTES: usize = 4 << 20;

/// The shortest time between two rounds under steady fan-out. 10 ms keeps
/// the added latency small against the 50 ms a busy room may take, and cuts
/// wake-ups and write calls enough that a 2000-client room stops being
/// bound by them (busy room N = 1000: p99 82 ms at 3 ms, 27 ms at 10 ms).
const ROUND_INTERVAL: std::time::Duration = std::time::Duration::from_millis(10);

/// Rounds are spaced by this much per writer the last one woke, between
/// [`ROUND_INTERVAL`] and [`ROUND_INTERVAL_MAX`]. Each woken writer costs a
/// wake-up and a write call of several microseconds whatever it carries
/// (on loopback, 70 % of the server's CPU in a room of 1000 was the
/// kernel's TCP path per write), so the more writers a round wakes, the
/// more each write should carry. Busy room N = 1000, pinned: 10 ms rounds
/// cost 800-860 ns per delivery at p99 21-29 ms, 20 ms rounds 470-560 ns at
/// p99 29-30 ms.
const ROUND_SPACING_PER_WAKE: std::time::Duration = std::time::Duration::from_micros(20);
/// The most a round waits for the next: the latency it adds stays well
/// under the 50 ms a busy room may take.
const ROUND_INTERVAL_MAX: std::time::Duration = std::time::Duration::from_millis(20);

/// Rounds that woke at least this many writers pace the next one.
const PACE_AFTER_WAKES: usize = 32;

/// Presence alone wakes every logged-in writer at most once per this much
/// time per logged-in session: a wake-up and a write cost each writer 5-8
/// microseconds, so when thousands log in at once, waking everyone for
/// each round's handful of presence frames made the storm cost O(N²) write
/// calls. Spaced like this, the wake-ups for presence take at most about a
/// tenth of a core whatever N, and presence arrives in batches (10 ms
/// apart with 100 sessions, 1 s with 10 000). Messages still wake at once.
/// Mass login of 10 000 over 10 s, pinned: at 20 µs per session (200 ms
/// apart) the storm's writes were 44 % of the server's samples.
const PRESENCE_WAKE_PER_SESSION: std::time::Duration = std::time::Duration::from_micros(100);
/// The most presence may wait.
const PRESENCE_WAKE_MAX: std::time::Duration = std::time::Duration::from_secs(1);

/// `per` times `count`, at least [`ROUND_INTERVAL`] and at most `max`: how
/// far apart the hub spaces work whose cost grows with `count` writers.
fn spacing(
    per: std::time::Duration,
    count: usize,
    max: std::time::Duration,
) -> std::time::Duration {
    per.saturating_mul(u32::try_from(count).unwrap_or(u32::MAX))
        .clamp(ROUND_INTERVAL, max)
}

/// What the hub waits for between rounds.
enum Next {
    Command(HubCommand),
    /// Presence held back in the feed is due.
    PresenceDue,
    /// Every sender is gone.
    Closed,
}

/// What a session asks of the hub.
pub enum HubCommand {
    /// A new connection (not yet logged in).
    Connect {
        session: SessionId,
        peer: SocketAddr,
        link: SessionLink,
    },
    /// The connection is gone.
    Disconnect { session: SessionId },
    /// First half of a login: is the name locked out (if not, the attempt
    /// is counted now), and what is its hash?
    LoginLookup {
        key: NameKey,
        ip: IpAddr,
        reply: oneshot::Sender<LoginLookup>,
    },
    /// Second half: the password was checked; log in or count a failure.
    Login {
        session: SessionId,
        id: Option<u64>,
        key: NameKey,
        ip: IpAddr,
        account: Option<AccountId>,
        password_ok: bool,
        ticket: AttemptTicket,
        reply: oneshot::Sender<bool>,
    },
    /// Whether the address may register now (if so, the attempt is counted
    /// now). Whether the name is free is not answered here: that would make
    /// probing names free; it is checked when the account is created.
    RegisterCheck {
        ip: IpAddr,
        reply: oneshot::Sender<RegisterCheck>,
    },
    /// Create the account (hash already computed) and log in.
    Register {
        session: SessionId,
        id: Option<u64>,
        name: UserName,
        hash: String,
        reply: oneshot::Sender<bool>,
    },
    /// Replace `account`'s password hash with one at the server's cost,
    /// unless it changed meanwhile (a new password set by an operator).
    Rehash {
        account: AccountId,
        old_hash: String,
        new_hash: String,
    },
    /// A request from a logged-in session. With `resume`, the session
    /// waits before reading on: it is told once every reply the hub had for
    /// it is queued, with the page to read for a `history` request.
    Request {
        session: SessionId,
        id: Option<u64>,
        request: Request,
        resume: Option<Resume>,
    },
    /// A reply the session produced itself (an error, say), routed through
    /// the hub so that it keeps its place among the session's replies.
    Reply { session: SessionId, frame: Bytes },
    /// The account command line, through the admin socket.
    Admin {
        request: AdminRequest,
        reply: oneshot::Sender<AdminReply>,
    },
    /// Another node committed a round this one has not applied yet: a
    /// round catches up.
    Remote,
    /// Nothing to do but look whether the database was changed from
    /// outside (the account command line), so that a ban or a password
    /// change takes effect on sessions that are idle.
    Tick,
    /// Tell everyone, commit, close every connection, stop.
    Shutdown {
        reason: String,
        done: oneshot::Sender<()>,
    },
}

/// Tells a session waiting on a request that it may go on, with the
/// history page it has to read, if any.
pub type Resume = oneshot::Sender<Option<Job>>;

/// The answer to [`HubCommand::RegisterCheck`].
pub enum RegisterCheck {
    Go,
    TooMany { retry_after_ms: u64 },
}

/// The answer to [`HubCommand::LoginLookup`].
pub enum LoginLookup {
    Locked {
        retry_after_ms: u64,
    },
    Proceed {
        account: Option<(AccountId, String)>,
        ticket: AttemptTicket,
    },
}

/// One thing to do once the batch is committed.
enum Effect {
    /// To one session.
    To(SessionId, Bytes),
    /// To every logged-in session, but `except`: those logged in later in
    /// the round get it only if it comes after their `Subscribe`.
    ToAll {
        frame: Bytes,
        except: Option<SessionId>,
    },
    /// To every session of these accounts (a group's members) attached by
    /// `seq`, but `except`.
    ToMembers {
        recipients: std::sync::Arc<[AccountId]>,
        frame: Bytes,
        seq: u64,
        except: Option<SessionId>,
    },
    /// To every session of one account attached by `seq`, but `except`.
    ToUser {
        account: AccountId,
        frame: Bytes,
        seq: u64,
        except: Option<SessionId>,
    },
    /// Answer a session waiting on a login or registration.
    Done(oneshot::Sender<bool>, bool),
    /// Let a session waiting on a request go on.
    Resume(Resume, Option<Job>),
    /// Answer the account command line.
    AdminDone(oneshot::Sender<AdminReply>, AdminReply),
    /// An upload's content is no longer in flight; if it was posted, its
    /// partial copy goes.
    UploadSettled { file_id: String, posted: bool },
    /// A message or group with this content was deleted: remove the bytes
    /// if nothing refers to them any more.
    RemoveBlobIfUnused(String),
    /// Close the session once its queue is written.
    Close(SessionId),
    /// Close the session now, with this last word (a kick, a ban).
    CloseWith(SessionId, Bytes),
    /// Forget a session whose connection is gone, after it has been given
    /// everything queued for it before (a last reply, a fatal error).
    Remove(SessionId),
    /// The session logged in: what the feed gets from here on is for it.
    Subscribe(SessionId),
}

impl Effect {
    /// The bytes this effect keeps alive until it is delivered.
    fn bytes(&self) -> usize {
        match self {
            Effect::To(_, frame)
            | Effect::ToAll { frame, .. }
            | Effect::ToMembers { frame, .. }
            | Effect::ToUser { frame, .. } => frame.len(),
            _ => 0,
        }
    }
}

/// Uploads interrupted less than a day ago take chunks again; older ones
/// are forgotten with their bytes.
fn restore_uploads(store: &dyn Store, files: &FileStore) -> Result<(), StoreError> {
    let since = now_ms().saturating_sub(crate::protocol::UPLOAD_RESUME_WINDOW.as_millis() as i64);
    for f in store.unfinished_uploads()? {
        if f.created_ms >= since {
            let Some(owner) = store.account_by_id(f.uploader)? else {
                store.drop_upload(&f.file_id)?;
                continue;
            };
            files.begin(
                &f.file_id,
                super::transfer::Upload {
                    owner: NameKey::of(&owner.name),
                    size: f.size,
                    sha256: f.sha256,
                },
            );
        } else {
            store.drop_upload(&f.file_id)?;
        }
    }
    let referenced = store.referenced_blobs()?.into_iter().collect();
    files.sweep(&referenced);
    Ok(())
}

/// Why a request failed.
enum Failure {
    Refused(ErrorCode, String),
    /// Refused with more than a code and a message (`muted` with `until`).
    Frame(Box<ErrorFrame>),
    Store(StoreError),
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Failure::Store(e)
    }
}

fn refuse<T>(code: ErrorCode, message: impl Into<String>) -> Result<T, Failure> {
    Err(Failure::Refused(code, message.into()))
}

struct SessionEntry {
    link: SessionLink,
    peer: SocketAddr,
    account: Option<AccountId>,
    /// When it logged in, in hub sequence numbers: broadcasts recorded
    /// before that are not for it.
    attached_seq: u64,
    closing: bool,
    /// Frames were queued in this delivery round; wake the writer once.
    needs_wake: bool,
}

struct OnlineEntry {
    name: UserName,
    sessions: Vec<SessionId>,
    /// The password hash the sessions logged in against: when the stored
    /// one differs, the password was changed and they are closed.
    password_hash: String,
}

/// A chat key resolved for one requester.
enum Target {
    Public,
    Private {
        partner: AccountId,
        partner_name: UserName,
        chat: Option<PrivateChat>,
    },
    /// A group the requester is a member of.
    Group {
        chat: ChatId,
        key: ChatKey,
    },
}

/// The hub's state. See the module documentation.
pub struct Hub {
    store: Box<dyn Store>,
    sessions: HashMap<SessionId, SessionEntry>,
    online: HashMap<AccountId, OnlineEntry>,
    /// The accounts of `online`, by name.
    online_by_name: NameOrder,
    statuses: Statuses,
    /// The online list of `welcome` and `who`, encoded, while it holds.
    listed_online: Option<ListedOnline>,
    names: HashMap<AccountId, UserName>,
    lockout: Lockout,
    registrations: RegistrationLimit,
    max_sessions_per_account: usize,
    last_ts: i64,
    seq: u64,
    out: Vec<Effect>,
    /// Sessions with frames queued in this delivery round.
    touched: Vec<SessionId>,
    /// How many writers the last round woke: the measure of fan-out load.
    woken_last_round: usize,
    /// Sessions whose commands this round answers, once per command: their
    /// `hub_answered` counts go up once the round is delivered.
    answered_in_round: Vec<SessionId>,
    /// Requests of the current batch that expect an answer, to be told
    /// `internal` if the commit fails.
    pending: Vec<(SessionId, Option<u64>)>,
    attached_in_batch: Vec<SessionId>,
    /// "Gone offline" broadcasts of this batch (frame, seq, the session that
    /// left). Presence does not depend on storage, so they go out even if
    /// the commit fails.
    offline_in_batch: Vec<(Bytes, SessionId)>,
    /// Statuses before this batch changed them, to restore if it fails.
    status_undo: Vec<(AccountId, Option<Status>)>,
    shutting_down: bool,
    /// The store's count of changes from outside (SQLite's `data_version`,
    /// PostgreSQL's `event_seq`), last time we looked.
    data_version: i64,
    /// Every group and its members.
    groups: groups::Groups,
    /// The server role of each online account.
    roles: HashMap<AccountId, Role>,
    /// The mute of each online account, if it has one.
    mutes: HashMap<AccountId, Option<Ban>>,
    /// File bytes on disk.
    files: std::sync::Arc<FileStore>,
    max_file_bytes: u64,
    file_quota_bytes: u64,
    /// Rounds since the last sweep of unreferenced files.
    rounds_since_sweep: u64,
    /// This node's part in a cluster of nodes, if it is one.
    cluster: Option<Cluster>,
    /// What goes to every logged-in session, appended once per frame.
    feed: FeedWriter,
    /// The feed has frames its writers were not woken for (presence only).
    feed_unwoken: bool,
    /// This round appended a frame to the feed that must not wait.
    feed_urgent: bool,
    last_feed_wake: Option<Instant>,
    /// To wait for a command with a deadline (a presence wake due).
    runtime: Option<tokio::runtime::Handle>,
    /// A round woke many writers since the last tick.
    fanned_out_since_tick: bool,
    /// There was fan-out, and memory was not given back since.
    memory_to_release: bool,
}

impl Hub {
    pub fn new(
        store: Box<dyn Store>,
        config: &ServerConfig,
        files: std::sync::Arc<FileStore>,
        cluster: Option<Cluster>,
    ) -> Result<Hub, StoreError> {
        restore_uploads(store.as_ref(), &files)?;
        let groups = groups::Groups::load(store.as_ref())?;
        let mut hub = Hub {
            cluster: None,
            groups,
            roles: HashMap::new(),
            mutes: HashMap::new(),
            files,
            max_file_bytes: config.max_file_bytes,
            file_quota_bytes: config.file_quota_bytes,
            rounds_since_sweep: 0,
            store,
            sessions: HashMap::new(),
            online: HashMap::new(),
            online_by_name: NameOrder::default(),
            statuses: Statuses::default(),
            listed_online: None,
            names: HashMap::new(),
            lockout: Lockout::default(),
            registrations: RegistrationLimit::new(
                config.max_registrations_per_ip_hour,
                config.limit_loopback,
            ),
            max_sessions_per_account: config.max_sessions_per_account as usize,
            last_ts: 0,
            seq: 0,
            out: Vec::new(),
            touched: Vec::new(),
            woken_last_round: 0,
            answered_in_round: Vec::new(),
            pending: Vec::new(),
            attached_in_batch: Vec::new(),
            offline_in_batch: Vec::new(),
            status_undo: Vec::new(),
            shutting_down: false,
            data_version: 0,
            feed: FeedWriter::new(),
            feed_unwoken: false,
            feed_urgent: false,
            last_feed_wake: None,
            runtime: tokio::runtime::Handle::try_current().ok(),
            fanned_out_since_tick: false,
            memory_to_release: false,
        };
        if let Some(cluster) = cluster {
            hub.join_cluster(cluster)?;
        }
        Ok(hub)
    }

    /// After a burst (a login storm, a flood of messages) the allocator
    /// keeps the memory it freed, and an idle server stays at its peak:
    /// once a second without fan-out follows fan-out, it is given back.
    fn release_memory_when_quiet(&mut self) {
        let busy = std::mem::take(&mut self.fanned_out_since_tick);
        if busy {
            self.memory_to_release = true;
        } else if std::mem::take(&mut self.memory_to_release) {
            #[cfg(all(target_os = "linux", target_env = "gnu"))]
            // SAFETY: malloc_trim only walks the allocator's own free lists.
            unsafe {
                libc::malloc_trim(0);
            }
        }
    }

    /// The broadcast feed the sessions' writers read.
    pub fn feed(&self) -> std::sync::Arc<Feed> {
        self.feed.feed().clone()
    }

    /// Runs until shutdown or until every sender is gone.
    pub fn run(mut self, mut rx: mpsc::Receiver<HubCommand>) {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        let mut last_round: Option<Instant> = None;
        loop {
            let first = match self.next_command(&mut rx) {
                Next::Command(cmd) => cmd,
                Next::PresenceDue => {
                    self.wake_feed_now();
                    continue;
                }
                Next::Closed => break,
            };
            // Under steady fan-out, at most one round per round interval:
            // what arrives meanwhile joins the round, so a session that
            // receives many frames gets them with one wake-up and one write,
            // and many messages share one commit. A round that woke few
            // sessions (a reply, a private message) is not followed by a
            // pause, so request/reply latency stays at the commit time.
            if self.woken_last_round >= PACE_AFTER_WAKES {
                let interval = spacing(
                    ROUND_SPACING_PER_WAKE,
                    self.woken_last_round,
                    ROUND_INTERVAL_MAX,
                );
                if let Some(due) = last_round.map(|t| t + interval) {
                    let now = Instant::now();
                    if now < due {
                        std::thread::sleep(due - now);
                    }
                }
            }
            last_round = Some(Instant::now());
            batch.push(first);
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(cmd) => batch.push(cmd),
                    Err(_) => break,
                }
            }
            self.process(&mut batch);
            if self.shutting_down {
                break;
            }
        }
        tracing::debug!("hub stopped");
    }

    /// The next command, or word that presence held back in the feed is
    /// due before one comes.
    fn next_command(&self, rx: &mut mpsc::Receiver<HubCommand>) -> Next {
        let received = match (self.feed_wake_due(), &self.runtime) {
            (Some(due), Some(runtime)) => {
                let due = tokio::time::Instant::from_std(due);
                // Made inside the runtime: a timer needs its context.
                match runtime.block_on(async { tokio::time::timeout_at(due, rx.recv()).await }) {
                    Ok(received) => received,
                    Err(_) => return Next::PresenceDue,
                }
            }
            _ => rx.blocking_recv(),
        };
        received.map_or(Next::Closed, Next::Command)
    }

    fn process(&mut self, batch: &mut Vec<HubCommand>) {
        let mut commands = batch.drain(..);
        while self.round(&mut commands) {}
    }

    /// Handles commands in one transaction, commits, and delivers what they
    /// produced. Stops early, leaving the rest for the next round, once the
    /// replies and events waiting for the commit reach [`MAX_ROUND_BYTES`]:
    /// so however large the replies, a round holds a bounded amount of
    /// memory. Whether it stopped early.
    fn round(&mut self, commands: &mut impl Iterator<Item = HubCommand>) -> bool {
        if let Err(e) = self.store.begin() {
            // Without a transaction nothing may be written: writes would
            // land one by one while the batch is told they failed.
            tracing::error!(error = %e, "cannot start a transaction; refusing this batch");
            for cmd in commands {
                self.note_answer(&cmd);
                self.refuse_unstored(cmd);
            }
            self.deliver();
            self.count_answered();
            self.offline_in_batch.clear();
            return false;
        }
        if self.cluster.is_some() {
            // Other nodes' rounds, and the account command line's changes
            // (a gap in the log), are applied from the log.
            self.catch_up();
        } else {
            self.enforce_changes_from_outside();
        }
        let mut counted = 0;
        let mut held = 0;
        let mut cut_short = false;
        for cmd in commands.by_ref() {
            self.note_answer(&cmd);
            if self.store.in_transaction() {
                self.handle(cmd);
            } else {
                // SQLite rolled the whole transaction back by itself (an I/O
                // error or a full disk can do that): anything handled now
                // would be written outside it while the batch fails.
                self.fail_with_batch(cmd);
            }
            held += self.out[counted..].iter().map(Effect::bytes).sum::<usize>();
            counted = self.out.len();
            if held >= MAX_ROUND_BYTES {
                cut_short = true;
                break;
            }
        }
        let committed = self.seal_round().and_then(|()| self.store.commit());
        self.round_ended(committed.is_ok());
        match committed {
            Ok(()) => self.deliver(),
            Err(e) => {
                tracing::error!(error = %e, "commit failed; answering the batch with internal errors");
                self.store.rollback();
                self.fail_batch();
                // Group changes of the batch did not happen: the store is
                // the truth.
                match groups::Groups::load(self.store.as_ref()) {
                    Ok(groups) => self.groups = groups,
                    Err(e) => tracing::error!(error = %e, "cannot reload the groups"),
                }
            }
        }
        self.count_answered();
        self.pending.clear();
        self.attached_in_batch.clear();
        self.offline_in_batch.clear();
        self.status_undo.clear();
        cut_short && !self.shutting_down
    }

    /// Notes a command whose answer the session counts (see
    /// `SessionControl::hub_answered`).
    fn note_answer(&mut self, cmd: &HubCommand) {
        match cmd {
            HubCommand::Request { session, .. }
            | HubCommand::Reply { session, .. }
            | HubCommand::Login { session, .. }
            | HubCommand::Register { session, .. } => self.answered_in_round.push(*session),
            _ => {}
        }
    }

    /// After a round's frames are queued: its sessions' answers are out.
    fn count_answered(&mut self) {
        for session in self.answered_in_round.drain(..) {
            if let Some(entry) = self.sessions.get(&session) {
                entry
                    .link
                    .control
                    .hub_answered
                    .fetch_add(1, std::sync::atomic::Ordering::Release);
            }
        }
    }

    /// Tells a session waiting on a login or registration whether it is now
    /// logged in, answering a failure on the wire first.
    fn answer_auth(
        &mut self,
        session: SessionId,
        id: Option<u64>,
        reply: oneshot::Sender<bool>,
        result: Result<bool, Failure>,
    ) {
        self.pending.push((session, id));
        let ok = result.unwrap_or_else(|f| {
            self.fail(session, id, f);
            false
        });
        self.out.push(Effect::Done(reply, ok));
    }

    /// Leaves a command that needs storage to be answered `internal` with
    /// the rest of a batch whose commit cannot succeed; handles the others.
    fn fail_with_batch(&mut self, cmd: HubCommand) {
        match cmd {
            HubCommand::Login {
                session, id, reply, ..
            }
            | HubCommand::Register {
                session, id, reply, ..
            } => {
                self.pending.push((session, id));
                self.out.push(Effect::Done(reply, false));
            }
            HubCommand::Request {
                session,
                id,
                resume,
                ..
            } => {
                self.pending.push((session, id));
                if let Some(resume) = resume {
                    self.out.push(Effect::Resume(resume, None));
                }
            }
            // Only an upgrade: the old hash still works, try again next login.
            HubCommand::Rehash { .. } => {}
            HubCommand::Admin { reply, .. } => {
                self.out
                    .push(Effect::AdminDone(reply, AdminReply::failed_to_store()));
            }
            other => self.handle(other),
        }
    }

    /// Handles what needs no storage; answers the rest `internal`.
    fn refuse_unstored(&mut self, cmd: HubCommand) {
        match cmd {
            HubCommand::Login {
                session, id, reply, ..
            }
            | HubCommand::Register {
                session, id, reply, ..
            } => {
                self.reply_error(
                    session,
                    id,
                    ErrorCode::Internal,
                    "the server cannot write to its database; try again",
                );
                self.out.push(Effect::Done(reply, false));
            }
            HubCommand::Request {
                session,
                id,
                resume,
                ..
            } => {
                self.reply_error(
                    session,
                    id,
                    ErrorCode::Internal,
                    "the server cannot write to its database; try again",
                );
                if let Some(resume) = resume {
                    self.out.push(Effect::Resume(resume, None));
                }
            }
            HubCommand::Rehash { .. } => {}
            HubCommand::Admin { reply, .. } => {
                let _ = reply.send(AdminReply::failed_to_store());
            }
            HubCommand::Disconnect { session } => {
                // Presence must still go out; the audit record cannot.
                let _ = self.detach(session);
                self.out.push(Effect::Remove(session));
            }
            other => self.handle(other),
        }
    }

    fn handle(&mut self, cmd: HubCommand) {
        match cmd {
            HubCommand::Connect {
                session,
                peer,
                link,
            } => {
                self.sessions.insert(
                    session,
                    SessionEntry {
                        link,
                        peer,
                        account: None,
                        attached_seq: 0,
                        closing: false,
                        needs_wake: false,
                    },
                );
            }
            HubCommand::Disconnect { session } => {
                if let Err(e) = self.detach(session) {
                    tracing::error!(error = %e, "could not record a logout");
                }
                self.out.push(Effect::Remove(session));
            }
            HubCommand::LoginLookup { key, ip, reply } => {
                let answer = match self.lockout.begin(&key, ip, Instant::now()) {
                    Err(left) => LoginLookup::Locked {
                        retry_after_ms: left.as_millis().max(1) as u64,
                    },
                    Ok(ticket) => {
                        self.record(|| Ev::LoginBegin {
                            k: key.to_string(),
                            ip,
                        });
                        let looked_up = self.store.account_by_key(&key);
                        match looked_up {
                            Ok(account) => LoginLookup::Proceed {
                                account: account.map(|a| (a.id, a.password_hash)),
                                ticket,
                            },
                            Err(e) => {
                                tracing::error!(error = %e, "account lookup failed");
                                LoginLookup::Proceed {
                                    account: None,
                                    ticket,
                                }
                            }
                        }
                    }
                };
                let _ = reply.send(answer);
            }
            HubCommand::RegisterCheck { ip, reply } => {
                let answer = match self.registrations.begin(ip, Instant::now()) {
                    Ok(()) => {
                        self.record(|| Ev::Register { ip });
                        RegisterCheck::Go
                    }
                    Err(wait) => RegisterCheck::TooMany {
                        retry_after_ms: wait.as_millis().max(1) as u64,
                    },
                };
                let _ = reply.send(answer);
            }
            HubCommand::Login {
                session,
                id,
                key,
                ip,
                account,
                password_ok,
                ticket,
                reply,
            } => {
                let result = self.login(session, id, &key, ip, account, password_ok, ticket);
                self.answer_auth(session, id, reply, result);
            }
            HubCommand::Register {
                session,
                id,
                name,
                hash,
                reply,
            } => {
                let result = self.register(session, id, &name, &hash).map(|()| true);
                self.answer_auth(session, id, reply, result);
            }
            HubCommand::Request {
                session,
                id,
                request,
                resume,
            } => {
                let job = match self.sessions.get(&session).and_then(|s| s.account) {
                    Some(me) => {
                        self.pending.push((session, id));
                        self.request(session, me, id, request).unwrap_or_else(|f| {
                            self.fail(session, id, f);
                            None
                        })
                    }
                    None => {
                        // Logged out while this was in flight.
                        if id.is_some() {
                            self.reply_error(
                                session,
                                id,
                                ErrorCode::NotAuthenticated,
                                "log in first",
                            );
                        }
                        None
                    }
                };
                if let Some(resume) = resume {
                    self.out.push(Effect::Resume(resume, job));
                }
            }
            HubCommand::Reply { session, frame } => self.out.push(Effect::To(session, frame)),
            HubCommand::Rehash {
                account,
                old_hash,
                new_hash,
            } => match self
                .store
                .replace_password_hash(account, &old_hash, &new_hash)
            {
                Ok(true) => {
                    // The same password: the sessions stay.
                    if let Some(online) = self.online.get_mut(&account) {
                        if online.password_hash == old_hash {
                            online.password_hash = new_hash;
                        }
                    }
                }
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "could not store a rehashed password"),
            },
            HubCommand::Admin { request, reply } => {
                let answer = self.admin_request(request);
                self.out.push(Effect::AdminDone(reply, answer));
            }
            HubCommand::Remote => {}
            HubCommand::Tick => {
                self.cluster_tick();
                self.release_memory_when_quiet();
                // About every ten minutes: forget expired uploads and bytes
                // nothing refers to.
                self.rounds_since_sweep += 1;
                if self.rounds_since_sweep >= 600 {
                    self.rounds_since_sweep = 0;
                    if let Err(e) = restore_uploads(self.store.as_ref(), &self.files) {
                        tracing::warn!(error = %e, "could not sweep old uploads");
                    }
                }
            }
            HubCommand::Shutdown { reason, done } => {
                self.shutdown(&reason);
                let _ = done.send(());
            }
        }
    }

    // ----- answers --------------------------------------------------------

    fn send(&mut self, session: SessionId, frame: &ServerFrame) {
        self.out.push(Effect::To(session, frame.to_line()));
    }

    fn reply_ok(&mut self, session: SessionId, id: Option<u64>) {
        if let Some(id) = id {
            self.send(session, &ServerFrame::ok(id));
        }
    }

    fn reply_error(&mut self, session: SessionId, id: Option<u64>, code: ErrorCode, message: &str) {
        self.send(
            session,
            &ServerFrame::Error(ErrorFrame::new(id, code, message)),
        );
    }

    fn fail(&mut self, session: SessionId, id: Option<u64>, failure: Failure) {
        match failure {
            Failure::Refused(code, message) => self.reply_error(session, id, code, &message),
            Failure::Frame(mut frame) => {
                frame.id = id;
                self.send(session, &ServerFrame::Error(*frame));
            }
            Failure::Store(e) => {
                tracing::error!(error = %e, "storage error");
                self.reply_error(
                    session,
                    id,
                    ErrorCode::Internal,
                    "the server could not store that; try again",
                );
            }
        }
    }

    fn broadcast(&mut self, frame: &ServerFrame, except: Option<SessionId>) {
        let frame = frame.to_line();
        self.record(|| Ev::All {
            f: cluster::raw(&frame),
        });
        self.out.push(Effect::ToAll { frame, except });
    }

    fn send_to_user(&mut self, account: AccountId, frame: &ServerFrame, except: Option<SessionId>) {
        let frame = frame.to_line();
        self.record(|| Ev::To {
            a: vec![account],
            f: cluster::raw(&frame),
        });
        self.out.push(Effect::ToUser {
            account,
            frame,
            seq: self.seq,
            except,
        });
    }
}

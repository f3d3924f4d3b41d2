//! The hub: the one ordering point of the server.
//!
//! It runs on a thread of its own, owns the database and the table of who is
//! online, and handles every request that reads or changes shared state. It
//! takes whatever requests are waiting, handles them inside one SQLite
//! transaction, commits, and only then sends the replies and events they
//! produced. So an `ok` always follows the commit of what it acknowledges,
//! every receiver sees one order, and many messages share one commit.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

use super::auth::{Lockout, RegistrationLimit};
use super::config::ServerConfig;
use super::link::{SessionId, SessionLink};
use super::outbox::PushError;
use super::store::{
    Account, AccountId, ChatId, HistoryDirection, PrivateChat, Store, StoreError, PUBLIC_CHAT,
};
use crate::protocol::{
    now_ms, ChatKey, ChatSummary, ErrorCode, ErrorFrame, HistoryPage, Message, OkReply, OnlineUser,
    Presence, Request, RequestIn, RequestOut, ServerFrame, Status, UserName, Welcome,
    HISTORY_DEFAULT_LIMIT, HISTORY_MAX_LIMIT, MAX_SERVER_FRAME_BYTES,
};

/// The most requests handled in one transaction; bounds the latency a large
/// backlog adds to the first request in it.
const MAX_BATCH: usize = 2048;

/// The shortest time between two rounds under steady fan-out. 10 ms keeps
/// the added latency small against the 50 ms a busy room may take, and cuts
/// wake-ups and write calls enough that a 2000-client room stops being
/// bound by them (busy room N = 1000: p99 82 ms at 3 ms, 27 ms at 10 ms).
const ROUND_INTERVAL: std::time::Duration = std::time::Duration::from_millis(10);

/// Rounds that woke at least this many writers pace the next one.
const PACE_AFTER_WAKES: usize = 32;

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
    /// First half of a login: is the name locked out, and what is its hash?
    LoginLookup {
        key: String,
        ip: IpAddr,
        reply: oneshot::Sender<LoginLookup>,
    },
    /// Second half: the password was checked; log in or count a failure.
    Login {
        session: SessionId,
        id: Option<u64>,
        key: String,
        ip: IpAddr,
        account: Option<AccountId>,
        password_ok: bool,
        reply: oneshot::Sender<bool>,
    },
    /// Whether a registration may go ahead, so that it can fail before
    /// paying for a hash.
    RegisterCheck {
        key: String,
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
    /// A request from a logged-in session.
    Request {
        session: SessionId,
        id: Option<u64>,
        request: Request,
    },
    /// A reply the session produced itself (an error, say), routed through
    /// the hub so that it keeps its place among the session's replies.
    Reply { session: SessionId, frame: Bytes },
    /// Tell everyone, commit, close every connection, stop.
    Shutdown {
        reason: String,
        done: oneshot::Sender<()>,
    },
}

/// The answer to [`HubCommand::RegisterCheck`].
pub enum RegisterCheck {
    Free,
    Taken,
    TooMany { retry_after_ms: u64 },
}

/// The answer to [`HubCommand::LoginLookup`].
pub enum LoginLookup {
    Locked {
        retry_after_ms: u64,
    },
    Proceed {
        account: Option<(AccountId, String)>,
    },
}

/// One thing to do once the batch is committed.
enum Effect {
    /// To one session.
    To(SessionId, Bytes),
    /// To every logged-in session attached by `seq`, but `except`.
    ToAll {
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
    /// Close the session once its queue is written.
    Close(SessionId),
    /// Forget a session whose connection is gone, after it has been given
    /// everything queued for it before (a last reply, a fatal error).
    Remove(SessionId),
}

/// Why a request failed.
enum Failure {
    Refused(ErrorCode, String),
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
    login_row: Option<i64>,
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
}

/// A chat key resolved for one requester.
enum Target {
    Public,
    Private {
        partner: AccountId,
        partner_name: UserName,
        chat: Option<PrivateChat>,
    },
}

/// The hub's state. See the module documentation.
pub struct Hub {
    store: Store,
    sessions: HashMap<SessionId, SessionEntry>,
    online: HashMap<AccountId, OnlineEntry>,
    statuses: HashMap<AccountId, Status>,
    names: HashMap<AccountId, UserName>,
    lockout: Lockout,
    registrations: RegistrationLimit,
    max_sessions_per_account: usize,
    next_msg_id: u64,
    last_ts: i64,
    seq: u64,
    out: Vec<Effect>,
    /// Sessions with frames queued in this delivery round.
    touched: Vec<SessionId>,
    /// How many writers the last round woke: the measure of fan-out load.
    woken_last_round: usize,
    /// Requests of the current batch that expect an answer, to be told
    /// `internal` if the commit fails.
    pending: Vec<(SessionId, Option<u64>)>,
    attached_in_batch: Vec<SessionId>,
    /// "Gone offline" broadcasts of this batch (frame, seq, the session that
    /// left). Presence does not depend on storage, so they go out even if
    /// the commit fails.
    offline_in_batch: Vec<(Bytes, u64, SessionId)>,
    /// Statuses before this batch changed them, to restore if it fails.
    status_undo: Vec<(AccountId, Option<Status>)>,
    shutting_down: bool,
}

impl Hub {
    pub fn new(store: Store, config: &ServerConfig) -> Result<Hub, StoreError> {
        let now = now_ms();
        let closed = store.close_dangling_logins(now)?;
        if closed > 0 {
            tracing::info!(closed, "closed login records left open by an unclean stop");
        }
        let next_msg_id = store.max_msg_id()? + 1;
        Ok(Hub {
            store,
            sessions: HashMap::new(),
            online: HashMap::new(),
            statuses: HashMap::new(),
            names: HashMap::new(),
            lockout: Lockout::default(),
            registrations: RegistrationLimit::new(
                config.max_registrations_per_ip_hour,
                config.limit_loopback,
            ),
            max_sessions_per_account: config.max_sessions_per_account as usize,
            next_msg_id,
            last_ts: 0,
            seq: 0,
            out: Vec::new(),
            touched: Vec::new(),
            woken_last_round: 0,
            pending: Vec::new(),
            attached_in_batch: Vec::new(),
            offline_in_batch: Vec::new(),
            status_undo: Vec::new(),
            shutting_down: false,
        })
    }

    /// Runs until shutdown or until every sender is gone.
    pub fn run(mut self, mut rx: mpsc::Receiver<HubCommand>) {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        let mut last_round: Option<Instant> = None;
        while let Some(first) = rx.blocking_recv() {
            // Under steady fan-out, at most one round per ROUND_INTERVAL:
            // what arrives meanwhile joins the round, so a session that
            // receives many frames gets them with one wake-up and one write,
            // and many messages share one commit. A round that woke few
            // sessions (a reply, a private message) is not followed by a
            // pause, so request/reply latency stays at the commit time.
            if self.woken_last_round >= PACE_AFTER_WAKES {
                if let Some(due) = last_round.map(|t| t + ROUND_INTERVAL) {
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

    fn process(&mut self, batch: &mut Vec<HubCommand>) {
        let first_msg_id = self.next_msg_id;
        if let Err(e) = self.store.begin() {
            // Without a transaction nothing may be written: writes would
            // land one by one while the batch is told they failed.
            tracing::error!(error = %e, "cannot start a transaction; refusing this batch");
            for cmd in batch.drain(..) {
                self.refuse_unstored(cmd);
            }
            self.deliver();
            self.offline_in_batch.clear();
            return;
        }
        for cmd in batch.drain(..) {
            self.handle(cmd);
        }
        match self.store.commit() {
            Ok(()) => self.deliver(),
            Err(e) => {
                tracing::error!(error = %e, "commit failed; answering the batch with internal errors");
                self.store.rollback();
                self.next_msg_id = first_msg_id;
                self.fail_batch();
            }
        }
        self.pending.clear();
        self.attached_in_batch.clear();
        self.offline_in_batch.clear();
        self.status_undo.clear();
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
            HubCommand::Request { session, id, .. } => {
                self.reply_error(
                    session,
                    id,
                    ErrorCode::Internal,
                    "the server cannot write to its database; try again",
                );
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
                        login_row: None,
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
                let answer = match self.lockout.locked_for(&key, ip, Instant::now()) {
                    Some(left) => LoginLookup::Locked {
                        retry_after_ms: left.as_millis().max(1) as u64,
                    },
                    None => match self.store.account_by_key(&key) {
                        Ok(account) => LoginLookup::Proceed {
                            account: account.map(|a| (a.id, a.password_hash)),
                        },
                        Err(e) => {
                            tracing::error!(error = %e, "account lookup failed");
                            LoginLookup::Proceed { account: None }
                        }
                    },
                };
                let _ = reply.send(answer);
            }
            HubCommand::RegisterCheck { key, ip, reply } => {
                let answer = if let Some(wait) = self.registrations.wait_for(ip, Instant::now()) {
                    RegisterCheck::TooMany {
                        retry_after_ms: wait.as_millis().max(1) as u64,
                    }
                } else if matches!(self.store.account_by_key(&key), Ok(None)) {
                    RegisterCheck::Free
                } else {
                    RegisterCheck::Taken
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
                reply,
            } => {
                self.pending.push((session, id));
                let ok = match self.login(session, id, &key, ip, account, password_ok) {
                    Ok(ok) => ok,
                    Err(f) => {
                        self.fail(session, id, f);
                        false
                    }
                };
                self.out.push(Effect::Done(reply, ok));
            }
            HubCommand::Register {
                session,
                id,
                name,
                hash,
                reply,
            } => {
                self.pending.push((session, id));
                let ok = match self.register(session, id, &name, &hash) {
                    Ok(()) => true,
                    Err(f) => {
                        self.fail(session, id, f);
                        false
                    }
                };
                self.out.push(Effect::Done(reply, ok));
            }
            HubCommand::Request {
                session,
                id,
                request,
            } => {
                let Some(me) = self.sessions.get(&session).and_then(|s| s.account) else {
                    // Logged out while this was in flight.
                    if id.is_some() {
                        self.reply_error(session, id, ErrorCode::NotAuthenticated, "log in first");
                    }
                    return;
                };
                self.pending.push((session, id));
                if let Err(f) = self.request(session, me, id, request) {
                    self.fail(session, id, f);
                }
            }
            HubCommand::Reply { session, frame } => self.out.push(Effect::To(session, frame)),
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
        self.out.push(Effect::ToAll {
            frame: frame.to_line(),
            seq: self.seq,
            except,
        });
    }

    fn send_to_user(&mut self, account: AccountId, frame: &ServerFrame, except: Option<SessionId>) {
        self.out.push(Effect::ToUser {
            account,
            frame: frame.to_line(),
            seq: self.seq,
            except,
        });
    }

    // ----- names and presence --------------------------------------------

    fn name_of(&mut self, account: AccountId) -> Result<UserName, StoreError> {
        if let Some(n) = self.names.get(&account) {
            return Ok(n.clone());
        }
        let account_row = self
            .store
            .account_by_id(account)?
            .ok_or(StoreError::NoSuchAccount)?;
        let name = UserName::parse(&account_row.name).map_err(|_| StoreError::NoSuchAccount)?;
        self.names.insert(account, name.clone());
        Ok(name)
    }

    fn status_of(&self, account: AccountId) -> Status {
        self.statuses.get(&account).copied().unwrap_or_default()
    }

    fn online_list(&self) -> Vec<OnlineUser> {
        let mut list: Vec<OnlineUser> = self
            .online
            .iter()
            .map(|(id, e)| OnlineUser {
                user: e.name.clone(),
                status: self.status_of(*id),
            })
            .collect();
        list.sort_by_key(|u| u.user.key());
        list
    }

    // ----- sessions -------------------------------------------------------

    fn attach(
        &mut self,
        session: SessionId,
        id: Option<u64>,
        account: &Account,
    ) -> Result<(), Failure> {
        let name = UserName::parse(&account.name).map_err(|_| StoreError::NoSuchAccount)?;
        let peer = match self.sessions.get(&session) {
            Some(s) if !s.closing => s.peer,
            // The connection went away while the password was checked.
            _ => return refuse(ErrorCode::Internal, "connection closed during login"),
        };
        let open = self.online.get(&account.id).map_or(0, |o| o.sessions.len());
        if self.max_sessions_per_account > 0 && open >= self.max_sessions_per_account {
            return refuse(
                ErrorCode::RateLimited,
                format!(
                    "{} already has {open} sessions open; close one first",
                    account.name
                ),
            );
        }
        let login_row = self
            .store
            .record_login(account.id, &peer.to_string(), now_ms())?;
        self.seq += 1;
        if let Some(s) = self.sessions.get_mut(&session) {
            s.account = Some(account.id);
            s.login_row = Some(login_row);
            s.attached_seq = self.seq;
        }
        self.names.insert(account.id, name.clone());
        self.attached_in_batch.push(session);
        let first = !self.online.contains_key(&account.id);
        self.online
            .entry(account.id)
            .or_insert_with(|| OnlineEntry {
                name: name.clone(),
                sessions: Vec::new(),
            })
            .sessions
            .push(session);
        if let Some(id) = id {
            let welcome = self.welcome(id, account, name.clone())?;
            self.send(session, &ServerFrame::Welcome(welcome));
        }
        if first {
            let presence = ServerFrame::Presence(Presence {
                user: name,
                online: true,
                status: self.status_of(account.id),
            });
            self.broadcast(&presence, Some(session));
        }
        tracing::info!(user = %account.name, %peer, session, "logged in");
        Ok(())
    }

    /// Logs a session out (it stays connected until it is removed).
    fn detach(&mut self, session: SessionId) -> Result<(), StoreError> {
        let Some(entry) = self.sessions.get_mut(&session) else {
            return Ok(());
        };
        let Some(account) = entry.account.take() else {
            return Ok(());
        };
        let login_row = entry.login_row.take();
        let mut last = false;
        if let Some(online) = self.online.get_mut(&account) {
            online.sessions.retain(|s| *s != session);
            last = online.sessions.is_empty();
        }
        if last {
            if let Some(gone) = self.online.remove(&account) {
                let presence = ServerFrame::Presence(Presence {
                    user: gone.name,
                    online: false,
                    status: self.status_of(account),
                })
                .to_line();
                self.out.push(Effect::ToAll {
                    frame: presence.clone(),
                    seq: self.seq,
                    except: Some(session),
                });
                self.offline_in_batch.push((presence, self.seq, session));
            }
        }
        if let Some(row) = login_row {
            self.store.record_logout(row, now_ms())?;
        }
        Ok(())
    }

    fn welcome(
        &mut self,
        id: u64,
        account: &Account,
        name: UserName,
    ) -> Result<Welcome, StoreError> {
        let me = account.id;
        let mut chats = Vec::new();
        for (chat, partner) in self.store.open_chats_of(me)? {
            let last_read = self.store.read_marker(me, chat)?.unwrap_or(0);
            let partner_name = self.name_of(partner)?;
            chats.push(ChatSummary {
                chat: ChatKey::Private(partner_name.clone()),
                user: partner_name,
                online: self.online.contains_key(&partner),
                unread: self.store.unread_count(chat, last_read, me)?,
                last_read,
            });
        }
        let public_read = self.store.read_marker(me, PUBLIC_CHAT)?.unwrap_or(0);
        let public_unread = self.store.unread_count(PUBLIC_CHAT, public_read, me)?;
        let mut requests_in = Vec::new();
        for (from, ts) in self.store.requests_to(me)? {
            requests_in.push(RequestIn {
                from: self.name_of(from)?,
                ts,
            });
        }
        let mut requests_out = Vec::new();
        for (to, ts) in self.store.requests_from(me)? {
            requests_out.push(RequestOut {
                to: self.name_of(to)?,
                ts,
            });
        }
        Ok(Welcome {
            id,
            user: name,
            role: account.role,
            last_msg_id: self.next_msg_id - 1,
            online: self.online_list(),
            chats,
            public_unread,
            requests_in,
            requests_out,
        })
    }

    fn login(
        &mut self,
        session: SessionId,
        id: Option<u64>,
        key: &str,
        ip: IpAddr,
        account: Option<AccountId>,
        password_ok: bool,
    ) -> Result<bool, Failure> {
        let account = match account {
            Some(account_id) if password_ok => self.store.account_by_id(account_id)?,
            _ => None,
        };
        let Some(account) = account else {
            self.lockout.record_failure(key, ip, Instant::now());
            return refuse(ErrorCode::BadCredentials, "wrong user name or password");
        };
        if let Some(ban) = account.ban {
            let active = ban.until_ms.is_none_or(|until| until > now_ms());
            if active {
                let mut e = ErrorFrame::new(
                    id,
                    ErrorCode::Banned,
                    match ban.until_ms {
                        Some(_) => "this account is banned for now",
                        None => "this account is banned",
                    },
                );
                e.until = Some(ban.until_ms);
                self.send(session, &ServerFrame::Error(e));
                return Ok(false);
            }
        }
        self.lockout.record_success(key);
        self.attach(session, id, &account)?;
        Ok(true)
    }

    fn register(
        &mut self,
        session: SessionId,
        id: Option<u64>,
        name: &UserName,
        hash: &str,
    ) -> Result<(), Failure> {
        let created = self.store.atomically(|store| {
            let account_id =
                store.create_account(name.as_str(), hash, Default::default(), now_ms())?;
            store
                .account_by_id(account_id)?
                .ok_or(StoreError::NoSuchAccount)
        });
        let account = match created {
            Ok(a) => a,
            Err(StoreError::NameTaken) => {
                return refuse(ErrorCode::NameTaken, format!("the name {name} is taken"))
            }
            Err(e) => return Err(e.into()),
        };
        if let Some(peer) = self.sessions.get(&session).map(|s| s.peer) {
            self.registrations.record(peer.ip(), Instant::now());
        }
        tracing::info!(user = %name, "registered");
        self.attach(session, id, &account)
    }

    // ----- requests from logged-in sessions ------------------------------

    fn request(
        &mut self,
        session: SessionId,
        me: AccountId,
        id: Option<u64>,
        request: Request,
    ) -> Result<(), Failure> {
        match request {
            Request::Ping => {
                if let Some(id) = id {
                    self.send(session, &ServerFrame::Pong { id });
                }
                Ok(())
            }
            Request::Send { chat, text } => self.send_message(session, me, id, &chat, text),
            Request::SetStatus { status } => {
                let before = self.statuses.insert(me, status);
                self.status_undo.push((me, before));
                self.reply_ok(session, id);
                let presence = ServerFrame::Presence(Presence {
                    user: self.name_of(me)?,
                    online: true,
                    status,
                });
                self.broadcast(&presence, None);
                Ok(())
            }
            Request::Who => {
                if let Some(id) = id {
                    let online = self.online_list();
                    self.send(session, &ServerFrame::Who { id, online });
                }
                Ok(())
            }
            Request::RequestChat { user } => self.request_chat(session, me, id, &user),
            Request::Accept { user } => self.accept(session, me, id, &user),
            Request::Reject { user } => self.reject(session, me, id, &user),
            Request::CancelRequest { user } => self.cancel(session, me, id, &user),
            Request::EndChat { user } => self.end_chat(session, me, id, &user),
            Request::History {
                chat,
                before,
                after,
                limit,
            } => self.history(session, me, id, &chat, before, after, limit),
            Request::MarkRead { chat, msg_id } => self.mark_read(session, me, id, &chat, msg_id),
            Request::Logout => {
                self.reply_ok(session, id);
                self.detach(session)?;
                self.out.push(Effect::Close(session));
                Ok(())
            }
            Request::Register { .. } | Request::Login { .. } => refuse(
                ErrorCode::AlreadyAuthenticated,
                "this connection is already logged in",
            ),
        }
    }

    /// An existing account other than `me`, by name in any casing.
    fn other_user(&mut self, me: AccountId, user: &str) -> Result<(AccountId, UserName), Failure> {
        let Ok(name) = UserName::parse(user) else {
            return refuse(ErrorCode::NoSuchUser, format!("there is no user {user:?}"));
        };
        let Some(account) = self.store.account_by_key(&name.key())? else {
            return refuse(ErrorCode::NoSuchUser, format!("there is no user {name}"));
        };
        if account.id == me {
            return refuse(ErrorCode::SelfTarget, "that is you");
        }
        let name = self.name_of(account.id)?;
        Ok((account.id, name))
    }

    fn target(&mut self, me: AccountId, chat: &str) -> Result<Target, Failure> {
        match ChatKey::parse(chat) {
            Some(ChatKey::Public) => Ok(Target::Public),
            Some(ChatKey::Private(name)) => {
                let (partner, partner_name) = self.other_user(me, name.as_str())?;
                let chat = self.store.private_chat(me, partner)?;
                Ok(Target::Private {
                    partner,
                    partner_name,
                    chat,
                })
            }
            Some(ChatKey::Group(_)) | None => {
                let shown: String = chat.chars().take(64).collect();
                refuse(ErrorCode::NoSuchChat, format!("there is no chat {shown:?}"))
            }
        }
    }

    fn send_message(
        &mut self,
        session: SessionId,
        me: AccountId,
        id: Option<u64>,
        chat: &str,
        text: String,
    ) -> Result<(), Failure> {
        let target = self.target(me, chat)?;
        let chat_id = match &target {
            Target::Public => PUBLIC_CHAT,
            Target::Private { chat: Some(c), .. } if c.is_open => c.id,
            Target::Private { partner_name, .. } => {
                return refuse(
                    ErrorCode::NotOpen,
                    format!("no open chat with {partner_name}"),
                )
            }
        };
        let msg_id = self.next_msg_id;
        let ts = now_ms().max(self.last_ts);
        self.store.insert_message(msg_id, chat_id, me, ts, &text)?;
        self.next_msg_id += 1;
        self.last_ts = ts;
        if let Some(id) = id {
            self.send(
                session,
                &ServerFrame::Ok(OkReply {
                    id,
                    msg_id: Some(msg_id),
                    ts: Some(ts),
                }),
            );
        }
        let from = self.name_of(me)?;
        match target {
            Target::Public => {
                let message = ServerFrame::Message(Message {
                    chat: ChatKey::Public,
                    msg_id,
                    ts,
                    from,
                    text,
                });
                self.broadcast(&message, None);
            }
            Target::Private {
                partner,
                partner_name,
                ..
            } => {
                let mut message = Message {
                    chat: ChatKey::Private(partner_name),
                    msg_id,
                    ts,
                    from: from.clone(),
                    text,
                };
                self.send_to_user(me, &ServerFrame::Message(message.clone()), None);
                message.chat = ChatKey::Private(from);
                self.send_to_user(partner, &ServerFrame::Message(message), None);
            }
        }
        Ok(())
    }

    fn open_chat(&mut self, me: AccountId, partner: AccountId) -> Result<(), Failure> {
        let ts = now_ms();
        self.store.open_private_chat(me, partner, ts)?;
        let my_name = self.name_of(me)?;
        let partner_name = self.name_of(partner)?;
        let mine = ServerFrame::ChatOpened {
            chat: ChatKey::Private(partner_name.clone()),
            user: partner_name,
            ts,
        };
        let theirs = ServerFrame::ChatOpened {
            chat: ChatKey::Private(my_name.clone()),
            user: my_name,
            ts,
        };
        self.send_to_user(me, &mine, None);
        self.send_to_user(partner, &theirs, None);
        Ok(())
    }

    fn request_chat(
        &mut self,
        session: SessionId,
        me: AccountId,
        id: Option<u64>,
        user: &str,
    ) -> Result<(), Failure> {
        let (partner, partner_name) = self.other_user(me, user)?;
        if self
            .store
            .private_chat(me, partner)?
            .is_some_and(|c| c.is_open)
        {
            return refuse(
                ErrorCode::AlreadyOpen,
                format!("you already have a chat with {partner_name}"),
            );
        }
        if self.store.pending_request(me, partner)?.is_some() {
            return refuse(
                ErrorCode::AlreadyRequested,
                format!("you already asked {partner_name}"),
            );
        }
        if self.store.pending_request(partner, me)?.is_some() {
            // Both want it: open at once.
            self.store.atomically(|store| {
                store.remove_request(partner, me)?;
                store.open_private_chat(me, partner, now_ms())
            })?;
            self.reply_ok(session, id);
            return self.open_chat(me, partner);
        }
        let ts = now_ms();
        self.store.add_request(me, partner, ts)?;
        self.reply_ok(session, id);
        let me_name = self.name_of(me)?;
        self.send_to_user(
            partner,
            &ServerFrame::ChatRequest { from: me_name, ts },
            None,
        );
        self.send_to_user(
            me,
            &ServerFrame::ChatRequestSent {
                to: partner_name,
                ts,
            },
            Some(session),
        );
        Ok(())
    }

    fn accept(
        &mut self,
        session: SessionId,
        me: AccountId,
        id: Option<u64>,
        user: &str,
    ) -> Result<(), Failure> {
        let (from, from_name) = self.other_user(me, user)?;
        let opened = self.store.atomically(|store| {
            if !store.remove_request(from, me)? {
                return Ok(false);
            }
            store.open_private_chat(me, from, now_ms())?;
            Ok(true)
        })?;
        if !opened {
            return refuse(
                ErrorCode::NoRequest,
                format!("{from_name} has not asked you for a chat"),
            );
        }
        self.reply_ok(session, id);
        self.open_chat(me, from)
    }

    fn reject(
        &mut self,
        session: SessionId,
        me: AccountId,
        id: Option<u64>,
        user: &str,
    ) -> Result<(), Failure> {
        let (from, from_name) = self.other_user(me, user)?;
        if !self.store.remove_request(from, me)? {
            return refuse(
                ErrorCode::NoRequest,
                format!("{from_name} has not asked you for a chat"),
            );
        }
        self.reply_ok(session, id);
        let me_name = self.name_of(me)?;
        self.send_to_user(from, &ServerFrame::ChatRejected { user: me_name }, None);
        self.tell_other_sessions_request_gone(session, me, from_name);
        Ok(())
    }

    fn cancel(
        &mut self,
        session: SessionId,
        me: AccountId,
        id: Option<u64>,
        user: &str,
    ) -> Result<(), Failure> {
        let (to, to_name) = self.other_user(me, user)?;
        if !self.store.remove_request(me, to)? {
            return refuse(
                ErrorCode::NoRequest,
                format!("you have no pending request to {to_name}"),
            );
        }
        self.reply_ok(session, id);
        let me_name = self.name_of(me)?;
        self.send_to_user(to, &ServerFrame::ChatRequestRemoved { user: me_name }, None);
        self.tell_other_sessions_request_gone(session, me, to_name);
        Ok(())
    }

    /// `me`'s other sessions still show the request between `me` and
    /// `other`; at most one is pending per pair, so the name says which.
    fn tell_other_sessions_request_gone(
        &mut self,
        session: SessionId,
        me: AccountId,
        other: UserName,
    ) {
        self.send_to_user(
            me,
            &ServerFrame::ChatRequestRemoved { user: other },
            Some(session),
        );
    }

    fn end_chat(
        &mut self,
        session: SessionId,
        me: AccountId,
        id: Option<u64>,
        user: &str,
    ) -> Result<(), Failure> {
        let (partner, partner_name) = self.other_user(me, user)?;
        let Some(chat) = self.store.private_chat(me, partner)?.filter(|c| c.is_open) else {
            return refuse(
                ErrorCode::NotOpen,
                format!("no open chat with {partner_name}"),
            );
        };
        self.store.end_private_chat(chat.id, now_ms())?;
        self.reply_ok(session, id);
        let me_name = self.name_of(me)?;
        let mine = ServerFrame::ChatEnded {
            chat: ChatKey::Private(partner_name.clone()),
            user: partner_name,
            by: me_name.clone(),
        };
        let theirs = ServerFrame::ChatEnded {
            chat: ChatKey::Private(me_name.clone()),
            user: me_name.clone(),
            by: me_name,
        };
        self.send_to_user(me, &mine, None);
        self.send_to_user(partner, &theirs, None);
        Ok(())
    }

    /// The chat id and the key `me` knows it by, for reading (history and
    /// read markers): `#public`, or a private chat that was opened once.
    fn readable_chat(&mut self, me: AccountId, chat: &str) -> Result<(ChatId, ChatKey), Failure> {
        match self.target(me, chat)? {
            Target::Public => Ok((PUBLIC_CHAT, ChatKey::Public)),
            Target::Private {
                chat: Some(c),
                partner_name,
                ..
            } => Ok((c.id, ChatKey::Private(partner_name))),
            Target::Private { partner_name, .. } => refuse(
                ErrorCode::NotOpen,
                format!("you never had a chat with {partner_name}"),
            ),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn history(
        &mut self,
        session: SessionId,
        me: AccountId,
        id: Option<u64>,
        chat: &str,
        before: Option<u64>,
        after: Option<u64>,
        limit: Option<u32>,
    ) -> Result<(), Failure> {
        let direction = match (before, after) {
            (Some(_), Some(_)) => {
                return refuse(
                    ErrorCode::BadRequest,
                    "give \"before\" or \"after\", not both",
                )
            }
            (_, Some(after)) => HistoryDirection::After(after),
            (before, None) => HistoryDirection::Before(before),
        };
        let limit = match limit {
            Some(0) => return refuse(ErrorCode::BadRequest, "\"limit\" must be 1 to 200"),
            Some(n) => n.min(HISTORY_MAX_LIMIT),
            None => HISTORY_DEFAULT_LIMIT,
        };
        let (chat_id, key) = self.readable_chat(me, chat)?;
        let Some(id) = id else {
            return Ok(());
        };
        let (stored, mut more) = self.store.history(chat_id, direction, limit)?;
        let mut messages = Vec::with_capacity(stored.len());
        for m in stored {
            messages.push(Message {
                chat: key.clone(),
                msg_id: m.id,
                ts: m.ts,
                from: self.name_of(m.sender)?,
                text: m.text,
            });
        }
        // 200 messages of escaped text can exceed the 1 MiB frame limit:
        // keep the part nearest the anchor and say there is more.
        if fit_page(&mut messages, direction) {
            more = true;
        }
        self.send(
            session,
            &ServerFrame::History(HistoryPage {
                id,
                chat: key,
                messages,
                more,
            }),
        );
        Ok(())
    }

    fn mark_read(
        &mut self,
        session: SessionId,
        me: AccountId,
        id: Option<u64>,
        chat: &str,
        msg_id: u64,
    ) -> Result<(), Failure> {
        let (chat_id, key) = self.readable_chat(me, chat)?;
        // Never past the newest message, so a marker cannot hide messages
        // that do not exist yet.
        let msg_id = msg_id.min(self.next_msg_id - 1);
        let old = self.store.read_marker(me, chat_id)?.unwrap_or(0);
        if msg_id > old {
            self.store.set_read_marker(me, chat_id, msg_id)?;
            self.send_to_user(me, &ServerFrame::Read { chat: key, msg_id }, Some(session));
        }
        self.reply_ok(session, id);
        Ok(())
    }

    // ----- shutdown -------------------------------------------------------

    fn shutdown(&mut self, reason: &str) {
        let frame = ServerFrame::Shutdown {
            reason: reason.to_owned(),
        }
        .to_line();
        let now = now_ms();
        let ids: Vec<SessionId> = self.sessions.keys().copied().collect();
        for session in ids {
            if let Some(row) = self.sessions.get(&session).and_then(|s| s.login_row) {
                if let Err(e) = self.store.record_logout(row, now) {
                    tracing::error!(error = %e, "could not record a logout at shutdown");
                }
            }
            self.out.push(Effect::To(session, frame.clone()));
            self.out.push(Effect::Close(session));
        }
        self.shutting_down = true;
    }

    // ----- delivery -------------------------------------------------------

    fn deliver(&mut self) {
        let effects = std::mem::take(&mut self.out);
        for effect in effects {
            match effect {
                Effect::To(session, frame) => self.push(session, &frame),
                Effect::ToAll { frame, seq, except } => {
                    for (id, entry) in self.sessions.iter_mut() {
                        if entry.account.is_some()
                            && entry.attached_seq <= seq
                            && Some(*id) != except
                        {
                            push_to(entry, &frame, *id, &mut self.touched);
                        }
                    }
                }
                Effect::ToUser {
                    account,
                    frame,
                    seq,
                    except,
                } => {
                    let Some(online) = self.online.get(&account) else {
                        continue;
                    };
                    for id in &online.sessions {
                        if Some(*id) == except {
                            continue;
                        }
                        if let Some(entry) = self.sessions.get_mut(id) {
                            if entry.attached_seq <= seq {
                                push_to(entry, &frame, *id, &mut self.touched);
                            }
                        }
                    }
                }
                Effect::Done(reply, ok) => {
                    let _ = reply.send(ok);
                }
                Effect::Close(session) => {
                    if let Some(entry) = self.sessions.get(&session) {
                        entry.link.control.close_after_drain();
                    }
                }
                Effect::Remove(session) => {
                    if let Some(entry) = self.sessions.remove(&session) {
                        entry.link.outbox.wake();
                    }
                }
            }
        }
        self.wake_writers();
        if self.shutting_down {
            // Dropping the links lets every writer finish its queue and close.
            self.sessions.clear();
        }
    }

    /// One wake per session that got frames this round, however many.
    fn wake_writers(&mut self) {
        self.woken_last_round = self.touched.len();
        for id in self.touched.drain(..) {
            if let Some(entry) = self.sessions.get_mut(&id) {
                entry.needs_wake = false;
                entry.link.outbox.wake();
            }
        }
    }

    fn push(&mut self, session: SessionId, frame: &Bytes) {
        if let Some(entry) = self.sessions.get_mut(&session) {
            push_to(entry, frame, session, &mut self.touched);
        }
    }

    /// The commit failed: nothing of the batch happened. Every request in it
    /// is answered `internal`, and sessions that logged in are closed.
    fn fail_batch(&mut self) {
        let effects = std::mem::take(&mut self.out);
        // Users whose last session ended in this batch are offline whatever
        // the commit did; the others must still hear of it. (Sessions that
        // logged in during the batch are detached below without a word:
        // nobody was told they had come online.)
        let offline = std::mem::take(&mut self.offline_in_batch);
        // A status change answered `internal` must not stick either.
        for (account, before) in std::mem::take(&mut self.status_undo).into_iter().rev() {
            match before {
                Some(status) => self.statuses.insert(account, status),
                None => self.statuses.remove(&account),
            };
        }
        let mut gone = Vec::new();
        for effect in effects {
            match effect {
                Effect::Done(reply, _) => {
                    let _ = reply.send(false);
                }
                Effect::Remove(session) => gone.push(session),
                _ => {}
            }
        }
        let pending = std::mem::take(&mut self.pending);
        for (session, id) in pending {
            let frame = ServerFrame::Error(ErrorFrame::new(
                id,
                ErrorCode::Internal,
                "the server could not store that; try again",
            ))
            .to_line();
            self.push(session, &frame);
        }
        let attached = std::mem::take(&mut self.attached_in_batch);
        for session in attached {
            let _ = self.detach(session);
            if let Some(entry) = self.sessions.get(&session) {
                entry.link.control.close_after_drain();
            }
        }
        self.out.clear();
        for (frame, seq, except) in offline {
            self.out.push(Effect::ToAll {
                frame,
                seq,
                except: Some(except),
            });
        }
        self.deliver();
        for session in gone {
            self.sessions.remove(&session);
        }
    }
}

/// Room for the page's own fields around its messages.
const PAGE_OVERHEAD: usize = 512;

/// Trims a history page to fit in one server frame, dropping messages
/// farthest from the anchor; whether anything was dropped.
fn fit_page(messages: &mut Vec<Message>, direction: HistoryDirection) -> bool {
    let budget = MAX_SERVER_FRAME_BYTES - PAGE_OVERHEAD;
    let sizes: Vec<usize> = messages
        .iter()
        .map(|m| serde_json::to_vec(m).map_or(budget, |v| v.len() + 20))
        .collect();
    if sizes.iter().sum::<usize>() <= budget {
        return false;
    }
    let mut used = 0;
    match direction {
        // Newest below the anchor matter most: keep from the end.
        HistoryDirection::Before(_) => {
            let keep = sizes.iter().rev().take_while(|s| {
                used += **s;
                used <= budget
            });
            let keep = keep.count();
            messages.drain(..messages.len() - keep);
        }
        HistoryDirection::After(_) => {
            let keep = sizes
                .iter()
                .take_while(|s| {
                    used += **s;
                    used <= budget
                })
                .count();
            messages.truncate(keep);
        }
    }
    true
}

/// Queues a frame for one session, closing it if its queue is full: a
/// reader that stopped reading must never slow anyone else.
fn push_to(entry: &mut SessionEntry, frame: &Bytes, id: SessionId, touched: &mut Vec<SessionId>) {
    if entry.closing {
        return;
    }
    if !entry.needs_wake {
        entry.needs_wake = true;
        touched.push(id);
    }
    match entry.link.outbox.push_quiet(frame.clone()) {
        Ok(()) => {}
        Err(PushError::Full) => {
            entry.closing = true;
            tracing::warn!(peer = %entry.peer, "outgoing queue full; closing a connection that stopped reading");
            let fatal = ServerFrame::Error(
                ErrorFrame::new(
                    None,
                    ErrorCode::RateLimited,
                    "you are not reading your messages; disconnected",
                )
                .fatal(),
            );
            entry.link.control.close_with(fatal.to_line());
        }
        Err(PushError::Closed) => entry.closing = true,
    }
}

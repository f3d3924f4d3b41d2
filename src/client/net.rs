//! The network task: it owns the socket.
//!
//! It connects, reads `hello`, logs in, forwards every server frame to the
//! app, writes the app's frames, pings when the line has been quiet, and when
//! the connection dies it waits (1 s, 2 s, 4 s … up to 30 s), connects
//! again and logs in again. The wait starts again from 1 s only after a
//! session stayed up for `Timing::stable_after`: a server that drops every
//! login at once is not hammered. The app only sees `NetEvent`s on a
//! channel; after a re-login the app's `welcome` handler asks `history`
//! `after` the newest message of each chat, so nothing is missed.
//!
//! Every frame goes out through one pacer (`pace::Pacer`), a token bucket a
//! little under the server's limit (§10: 20 frames/s, bursts of 40), which
//! queues frames and sends them in order: the catch-up after a login with
//! hundreds of open chats, or lines typed quickly, are never refused. A
//! frame the server still refuses with `rate_limited` is sent again after
//! `retry_after_ms` (a few times at most) instead of failing.
//!
//! A kick or a ban (§13) ends the session without a reconnect: the app
//! shows who, why and until when on the login form, and the user decides
//! when to log in again; a reconnect refused with `banned` stops too.
//!
//! The server may be a list of addresses (`a:7700,b:7700`, the nodes of
//! one service): a login tries them in turn, the next one when one cannot
//! be reached, and a reconnect starts with the one after the address that
//! was lost, so the user fails over when a node dies. The backoff is waited
//! between full passes over the list.
//!
//! A `tls://` server gets a TLS handshake first (see `trust`). A refused
//! certificate stops the task where it is, reconnects included: it reports
//! `Untrusted` and waits for the user's decision, never retrying on its own.

use std::collections::HashSet;
use std::time::Duration;

pub mod files;
pub mod invalid;
pub mod pace;

use files::Files;

use pace::{Outbox, Pacer};

use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tokio::time::{interval_at, sleep, sleep_until, timeout, Instant, MissedTickBehavior};
use tokio_util::codec::Framed;

use crate::protocol::{
    decode_server_frame, encode_line, ClientFrame, ErrorCode, ErrorFrame, LineCodec, Request,
    ServerFrame, MAX_SERVER_FRAME_BYTES, PING_INTERVAL,
};

use super::address::ServerAddr;
use super::event::{Credentials, Event, FileCommand, NetEvent};
use super::known_servers::KnownServers;
use super::trust::{
    self, Anchors, Expectation, HandshakeError, TrustSettings, Untrusted, Verified,
};

/// Longest wait between reconnect attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// How long connecting, `hello` and the login reply may take.
const STEP_TIMEOUT: Duration = Duration::from_secs(15);
/// Ids the task uses for its own requests (login, ping), far above the
/// app's, so replies can be told apart.
const OWN_ID_BASE: u64 = 1 << 40;

/// What the app asks of the network task.
#[derive(Debug, Clone)]
pub enum NetCommand {
    Connect(Credentials),
    Send(ClientFrame),
    /// Remember `fingerprint` for `server` (`host:port`) and, if the task
    /// is waiting after refusing that certificate, connect again.
    Trust {
        server: String,
        fingerprint: String,
    },
    /// A file transfer command (see `files`).
    File(FileCommand),
}

/// The app's end of the network task.
#[derive(Debug, Clone)]
pub struct NetHandle {
    tx: UnboundedSender<NetCommand>,
}

impl NetHandle {
    /// Hands a command to the task; a stopped task means we are quitting.
    pub fn send(&self, cmd: NetCommand) {
        let _ = self.tx.send(cmd);
    }
}

/// The task's clocks. The contract fixes the ping interval; tests shorten
/// it to see a dead connection detected without waiting a minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// Ping when nothing was sent for this long; a ping still unanswered
    /// one interval later means the connection is dead.
    pub ping_interval: Duration,
    /// Limit for connecting and for the login reply.
    pub step_timeout: Duration,
    /// A session that stayed up this long starts the reconnect backoff
    /// from the beginning again; a shorter one continues it.
    pub stable_after: Duration,
    /// Outgoing frames per second, sustained.
    pub pace_per_sec: u32,
    /// Outgoing frames sent at once before the pace applies.
    pub pace_burst: u32,
}

/// How long a session must last before a loss starts the backoff anew.
pub const STABLE_AFTER: Duration = Duration::from_secs(30);
/// The pacer's rate and burst: three quarters of the contract's 20/s and
/// 40, so that clock differences and the task's own pings never reach it.
pub const PACE_PER_SEC: u32 = 15;
pub const PACE_BURST: u32 = 30;

impl Default for Timing {
    fn default() -> Self {
        Timing {
            ping_interval: PING_INTERVAL,
            step_timeout: STEP_TIMEOUT,
            stable_after: STABLE_AFTER,
            pace_per_sec: PACE_PER_SEC,
            pace_burst: PACE_BURST,
        }
    }
}

/// Starts the network task on the current tokio runtime.
pub fn spawn(events: UnboundedSender<Event>) -> NetHandle {
    spawn_with(events, Timing::default())
}

/// Starts the network task with the given timing (trusting the system
/// roots, remembering trusted certificates for this run only).
pub fn spawn_with(events: UnboundedSender<Event>, timing: Timing) -> NetHandle {
    spawn_trusting(events, timing, TrustSettings::default())
}

/// Starts the network task with the given timing and trust settings.
pub fn spawn_trusting(
    events: UnboundedSender<Event>,
    timing: Timing,
    trust: TrustSettings,
) -> NetHandle {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(run(rx, events, timing, trust));
    NetHandle { tx }
}

/// The delay before reconnect attempt `n` (1-based): 1, 2, 4, 8, 16, 30, 30 … s.
pub fn backoff(attempt: u32) -> Duration {
    let secs = 1u64 << attempt.saturating_sub(1).min(5);
    Duration::from_secs(secs).min(MAX_BACKOFF)
}

/// A plain or a TLS stream.
trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

type Conn = Framed<Box<dyn Io>, LineCodec>;

/// How one login attempt ended.
enum Login {
    Ok(Conn),
    /// Refused by the server.
    Refused(ErrorFrame),
    /// The server could not be reached or broke the exchange.
    Failed(String),
    /// The server's certificate was refused.
    Untrusted(Untrusted),
}

/// How a live session ended.
enum Ended {
    /// Lost; reconnect.
    Lost(String),
    /// The app asked for a new login.
    NewLogin(Credentials),
    /// An admin kicked or banned the account (§13): the app shows why on
    /// the login form and nothing reconnects until the user logs in again.
    Removed,
    /// The app is gone.
    Quit,
}

struct Task {
    cmds: UnboundedReceiver<NetCommand>,
    events: UnboundedSender<Event>,
    next_id: u64,
    timing: Timing,
    trust: TrustSettings,
    /// Read at the first TLS connection (the OS store can be slow).
    anchors: Option<Anchors>,
    /// Certificates trusted this run, whether or not the file took them.
    trusted: KnownServers,
    /// Warnings already shown, so a reconnect does not repeat them.
    warned: HashSet<String>,
    /// File transfers; they outlive a session and resume in the next.
    files: Files,
    /// The index, in the login's address list, of the address logged in
    /// at last: a reconnect starts with the one after it.
    current: usize,
}

async fn run(
    cmds: UnboundedReceiver<NetCommand>,
    events: UnboundedSender<Event>,
    timing: Timing,
    trust: TrustSettings,
) {
    let files = Files::new(events.clone());
    let mut task = Task {
        files,
        cmds,
        events,
        next_id: OWN_ID_BASE,
        timing,
        trust,
        anchors: None,
        trusted: KnownServers::default(),
        warned: HashSet::new(),
        current: 0,
    };
    let mut creds: Option<Credentials> = None;
    loop {
        let c = match creds.take() {
            Some(c) => c,
            None => match task.wait_for_connect().await {
                Some(c) => c,
                None => return,
            },
        };
        // First attempt: errors go back to the login form.
        task.emit(NetEvent::Connecting { attempt: 1 });
        let conn = match task.login(&c, c.register, 0).await {
            Login::Ok(conn) => conn,
            Login::Refused(e) => {
                task.emit(NetEvent::LoginFailed(e));
                continue;
            }
            Login::Failed(reason) => {
                task.emit(NetEvent::ConnectFailed(reason));
                continue;
            }
            Login::Untrusted(u) => {
                task.emit(NetEvent::Untrusted(u));
                match task.wait_for_trust(c).await {
                    Some(next) => creds = Some(next),
                    None => return,
                }
                continue;
            }
        };
        let mut conn = conn;
        let mut login = Credentials {
            register: false,
            ..c
        };
        // Failed attempts and sessions lost before they were stable, in a
        // row: the next wait is `backoff(streak)`.
        let mut streak: u32 = 0;
        'session: loop {
            let started = Instant::now();
            let ended = task.session(conn).await;
            task.files.session_ended();
            match ended {
                Ended::Quit => return,
                Ended::NewLogin(c) => {
                    creds = Some(c);
                    break 'session;
                }
                Ended::Removed => break 'session,
                Ended::Lost(reason) => {
                    if started.elapsed() >= task.timing.stable_after {
                        streak = 0;
                    }
                    let mut reason = reason;
                    loop {
                        streak = streak.saturating_add(1);
                        let wait = backoff(streak);
                        task.emit(NetEvent::Lost {
                            reason: reason.clone(),
                            retry_in: wait,
                        });
                        match task.countdown(wait).await {
                            Some(Some(c)) => {
                                creds = Some(c);
                                break 'session;
                            }
                            Some(None) => {}
                            None => return,
                        }
                        task.emit(NetEvent::Connecting { attempt: streak });
                        // The address that was lost is tried last: with
                        // several, the next one first (failover).
                        let start = task.current + 1;
                        match task.login(&login, false, start).await {
                            Login::Ok(c) => {
                                conn = c;
                                continue 'session;
                            }
                            Login::Refused(e) if e.code == ErrorCode::LockedOut => {
                                let ms = e.retry_after_ms.unwrap_or(60_000);
                                reason = format!("locked out for {} s", ms.div_ceil(1000));
                                streak = streak.max(5);
                            }
                            // Banned while away: said as on the first login,
                            // with until when; not retried.
                            Login::Refused(e) if e.code == ErrorCode::Banned => {
                                task.emit(NetEvent::LoginFailed(e));
                                break 'session;
                            }
                            Login::Refused(e) => {
                                task.emit(NetEvent::Offline(format!(
                                    "logging in again failed: {}",
                                    super::app::error_text(&e, crate::protocol::now_ms())
                                )));
                                login.password.0.clear();
                                break 'session;
                            }
                            Login::Failed(r) => reason = r,
                            // A certificate refused on a reconnect stops the
                            // loop: the user decides, as on the first login.
                            Login::Untrusted(u) => {
                                task.emit(NetEvent::Untrusted(u));
                                match task.wait_for_trust(login.clone()).await {
                                    Some(next) => creds = Some(next),
                                    None => return,
                                }
                                break 'session;
                            }
                        }
                    }
                }
            }
        }
    }
}

impl Task {
    fn emit(&self, ev: NetEvent) {
        let _ = self.events.send(Event::Net(ev));
    }

    fn own_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Waits for the app to ask for a connection; frames to send meanwhile
    /// are dropped (the app does not send while offline).
    async fn wait_for_connect(&mut self) -> Option<Credentials> {
        self.wait_for_command(None).await
    }

    /// After a refused certificate: waits for the user's yes (`Trust`,
    /// then `parked` is tried again) or a new login. `None` if the app is
    /// gone.
    async fn wait_for_trust(&mut self, parked: Credentials) -> Option<Credentials> {
        self.wait_for_command(Some(parked)).await
    }

    /// A `Trust` is always recorded; it resumes only a `parked` login.
    async fn wait_for_command(&mut self, parked: Option<Credentials>) -> Option<Credentials> {
        loop {
            match self.cmds.recv().await? {
                NetCommand::Connect(c) => return Some(c),
                NetCommand::Send(_) => {}
                // Offline: the transfer waits for the next session.
                NetCommand::File(c) => {
                    self.files.command(c).await;
                }
                NetCommand::Trust {
                    server,
                    fingerprint,
                } => {
                    self.remember(&server, &fingerprint);
                    if parked.is_some() {
                        return parked;
                    }
                }
            }
        }
    }

    fn warn_once(&mut self, text: String) {
        if self.warned.insert(text.clone()) {
            self.emit(NetEvent::Warning(text));
        }
    }

    /// Trusts a certificate: for this run at once, and in `known_servers`
    /// if there is one. A file that cannot be written is a warning, not a
    /// refusal: the user did say yes.
    fn remember(&mut self, server: &str, fingerprint: &str) {
        let Ok(fingerprint) = super::known_servers::normalize_fingerprint(fingerprint) else {
            self.warn_once(format!("not trusted: {fingerprint:?} is not a fingerprint"));
            return;
        };
        let mut line = 0;
        if let Some(path) = self.trust.known_servers.clone() {
            match KnownServers::append(&path, server, &fingerprint) {
                Ok(n) => line = n,
                Err(e) => self.warn_once(format!("trusted for this session only: {e}")),
            }
        }
        self.trusted.add(server, &fingerprint, line);
    }

    /// What the verifier accepts for `addr` beyond the roots: the file's
    /// entry (read fresh, another tchat may have added one), else one
    /// trusted this run, and the pin.
    fn expectation(&mut self, addr: &ServerAddr) -> Expectation {
        let server = addr.key();
        let file = self.trust.known_servers.clone();
        let mut known = None;
        if let Some(path) = &file {
            match KnownServers::load(path) {
                Ok((list, problems)) => {
                    for p in problems {
                        self.warn_once(format!("{}: {p} (line ignored)", path.display()));
                    }
                    known = list.get(&server).cloned();
                }
                Err(e) => self.warn_once(e.to_string()),
            }
        }
        let known = known.or_else(|| self.trusted.get(&server).cloned());
        let pin = self
            .trust
            .pin
            .as_ref()
            .filter(|p| p.server == server)
            .map(|p| p.fingerprint.clone());
        Expectation {
            server,
            known,
            pin,
            file,
        }
    }

    /// Connects, and for a `tls://` server runs the handshake; reports the
    /// transport.
    async fn open(&mut self, addr: &ServerAddr, shown: &str) -> Result<Box<dyn Io>, Login> {
        let tcp = match timeout(
            self.timing.step_timeout,
            TcpStream::connect((addr.host.as_str(), addr.port)),
        )
        .await
        {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return Err(Login::Failed(format!("cannot connect to {shown}: {e}"))),
            Err(_) => {
                return Err(Login::Failed(format!(
                    "cannot connect to {shown}: timed out"
                )))
            }
        };
        let _ = tcp.set_nodelay(true);
        if !addr.tls {
            self.emit(NetEvent::Transport(None));
            return Ok(Box::new(tcp));
        }
        let anchors = self
            .anchors
            .get_or_insert_with(|| Anchors::new(&self.trust))
            .clone();
        let expect = self.expectation(addr);
        let shake = trust::handshake(tcp, addr, &anchors, expect);
        match timeout(self.timing.step_timeout, shake).await {
            Ok(Ok((stream, info))) => {
                if info.verified == Verified::Pinned {
                    self.remember(&addr.key(), &info.fingerprint);
                }
                self.emit(NetEvent::Transport(Some(info)));
                Ok(Box::new(stream))
            }
            Ok(Err(HandshakeError::Untrusted(u))) => Err(Login::Untrusted(u)),
            Ok(Err(e)) => Err(Login::Failed(e.to_string())),
            Err(_) => Err(Login::Failed(format!("TLS with {shown} failed: timed out"))),
        }
    }

    /// Sleeps `wait`, reporting the seconds left once a second. Returns
    /// `Some(Some(c))` if the app asked for a new login meanwhile,
    /// `Some(None)` when the time is up, `None` if the app is gone.
    async fn countdown(&mut self, wait: Duration) -> Option<Option<Credentials>> {
        let deadline = Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Some(None);
            }
            let secs = left.as_secs_f64().ceil() as u64;
            self.emit(NetEvent::RetryIn(Duration::from_secs(secs)));
            let tick = left - Duration::from_secs(secs.saturating_sub(1)).min(left);
            let tick = if tick.is_zero() { left } else { tick };
            tokio::select! {
                _ = sleep(tick) => {}
                cmd = self.cmds.recv() => match cmd? {
                    NetCommand::Connect(c) => return Some(Some(c)),
                    NetCommand::Send(_) => {}
                    NetCommand::File(c) => {
                        self.files.command(c).await;
                    }
                    NetCommand::Trust { server, fingerprint } => {
                        self.remember(&server, &fingerprint)
                    }
                },
            }
        }
    }

    /// Logs in at the addresses of `c.server` in turn, from the `start`th
    /// (wrapping): one that cannot be reached, or that breaks the exchange,
    /// gives way to the next; a refusal or a refused certificate stops
    /// there, since that server did answer. One pass over the list: the
    /// caller waits (the backoff) between passes.
    async fn login(&mut self, c: &Credentials, register: bool, start: usize) -> Login {
        let addrs = match super::address::parse_list(&c.server) {
            Ok(a) => a,
            Err(e) => return Login::Failed(e.to_string()),
        };
        let n = addrs.len();
        let mut failures = Vec::new();
        for k in 0..n {
            let i = (start + k) % n;
            match self.login_at(&addrs[i], c, register).await {
                Login::Failed(reason) => failures.push(reason),
                other => {
                    if matches!(other, Login::Ok(_)) {
                        self.current = i;
                    }
                    return other;
                }
            }
        }
        Login::Failed(failures.join("; "))
    }

    /// One login attempt at one address.
    async fn login_at(&mut self, addr: &ServerAddr, c: &Credentials, register: bool) -> Login {
        let shown = addr.display();
        let stream = match self.open(addr, &shown).await {
            Ok(s) => s,
            Err(failed) => return failed,
        };
        let mut conn = Framed::new(stream, LineCodec::new(MAX_SERVER_FRAME_BYTES));
        let id = self.own_id();
        let request = if register {
            Request::Register {
                user: c.user.clone(),
                password: c.password.clone(),
            }
        } else {
            Request::Login {
                user: c.user.clone(),
                password: c.password.clone(),
            }
        };
        // The server greets first, but sending right away saves a round trip
        // and is allowed: frames are handled in order.
        if let Err(e) = conn
            .send(encode_line(&ClientFrame {
                id: Some(id),
                request,
            }))
            .await
        {
            return Login::Failed(format!("connection failed: {e}"));
        }
        let deadline = Instant::now() + self.timing.step_timeout;
        loop {
            let next = match tokio::time::timeout_at(deadline, conn.next()).await {
                Ok(n) => n,
                Err(_) => return Login::Failed("the server did not answer the login".into()),
            };
            let line = match next {
                Some(Ok(line)) => line,
                Some(Err(e)) => return Login::Failed(format!("connection failed: {e}")),
                None => return Login::Failed("the server closed the connection".into()),
            };
            // A frame this build does not know is skipped (a newer server
            // may send one); one that breaks the contract ends the login at
            // once, saying what was wrong, rather than waiting for an
            // answer that will not come.
            let frame = match decode_server_frame(&line) {
                Ok(Some(f)) => f,
                Ok(None) => continue,
                Err(e) => return Login::Failed(invalid::describe(&line, &e)),
            };
            match frame {
                ServerFrame::Welcome(w) if w.id == id => {
                    self.emit(NetEvent::Connected { server: addr.key() });
                    self.emit(NetEvent::Frame(ServerFrame::Welcome(w)));
                    return Login::Ok(conn);
                }
                ServerFrame::Error(e) if e.id == Some(id) || e.fatal => return Login::Refused(e),
                other @ ServerFrame::Hello(_) => self.emit(NetEvent::Frame(other)),
                _ => {}
            }
        }
    }

    /// Runs a logged-in connection until it ends.
    async fn session(&mut self, mut conn: Conn) -> Ended {
        let every = self.timing.ping_interval;
        let mut ping = interval_at(Instant::now() + every, every);
        ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut pacer = Pacer::new(self.timing.pace_per_sec, self.timing.pace_burst);
        let mut outbox = Outbox::default();
        // The login frame came out of the same budget.
        pacer.try_take(Instant::now());
        let mut last_sent = Instant::now();
        // Ping once at once, so the round trip shows from the start.
        let mut outstanding: Option<(u64, Instant)> = None;
        let first = self.own_id();
        if pacer.try_take(Instant::now())
            && conn
                .send(encode_line(&ClientFrame {
                    id: Some(first),
                    request: Request::Ping,
                }))
                .await
                .is_ok()
        {
            outstanding = Some((first, Instant::now()));
        }
        // Transfers cut by the last session go on where they stopped.
        let resumed = self.files.session_started();
        for frame in resumed.paced {
            outbox.push(frame);
        }
        loop {
            let mut file_out = files::Out::default();
            let next_send = (!outbox.is_empty()).then(|| pacer.ready_at(Instant::now()));
            tokio::select! {
                line = conn.next() => {
                    let line = match line {
                        Some(Ok(line)) => line,
                        Some(Err(e)) => return Ended::Lost(format!("{e}")),
                        None => return Ended::Lost("the server closed the connection".into()),
                    };
                    let frame = match decode_server_frame(&line) {
                        Ok(Some(frame)) => frame,
                        // Unknown types are skipped: a newer server may
                        // send them.
                        Ok(None) => continue,
                        // A known frame that breaks the contract is said
                        // (once per kind of mistake), and a reply to one
                        // of the app's requests is answered as failed, so
                        // that nothing waits for it forever.
                        Err(e) => {
                            self.warn_once(invalid::describe(&line, &e));
                            if let Some(id) = invalid::reply_id(&line)
                                .filter(|id| *id < OWN_ID_BASE)
                            {
                                outbox.answered(id);
                                self.emit(NetEvent::Frame(ServerFrame::Error(ErrorFrame::new(
                                    Some(id),
                                    ErrorCode::Internal,
                                    "the server's answer could not be read",
                                ))));
                            }
                            continue;
                        }
                    };
                    match frame {
                        ServerFrame::Pong { id } if id >= OWN_ID_BASE => {
                            if let Some((want, sent)) = outstanding {
                                if want == id {
                                    self.emit(NetEvent::Rtt(sent.elapsed()));
                                    outstanding = None;
                                }
                            }
                        }
                        ServerFrame::Error(e)
                            if e.id.is_some_and(Files::owns) && e.code != ErrorCode::RateLimited =>
                        {
                            if let Ok(o) = self.files.frame(ServerFrame::Error(e)).await {
                                file_out = o;
                            }
                        }
                        ServerFrame::Error(e)
                            if e.id.is_some_and(|id| id >= OWN_ID_BASE && !Files::owns(id)) => {}
                        // Kicked or banned: the session is over, and an
                        // automatic reconnect would only undo a kick or
                        // run into the ban.
                        ServerFrame::Error(e)
                            if e.fatal && matches!(e.code, ErrorCode::Kicked | ErrorCode::Banned) =>
                        {
                            self.emit(NetEvent::Frame(ServerFrame::Error(e)));
                            return Ended::Removed;
                        }
                        ServerFrame::Error(e) if e.code == ErrorCode::RateLimited => {
                            match outbox.retry(&e, &mut pacer, Instant::now()) {
                                true => {}
                                false => self.emit(NetEvent::Frame(ServerFrame::Error(e))),
                            }
                        }
                        frame => {
                            if let Some(id) = pace::reply_id(&frame) {
                                outbox.answered(id);
                            }
                            match self.files.frame(frame).await {
                                Ok(o) => file_out = o,
                                Err(frame) => self.emit(NetEvent::Frame(frame)),
                            }
                        }
                    }
                }
                _ = sleep_until(next_send.unwrap_or_else(Instant::now)), if next_send.is_some() => {}
                cmd = self.cmds.recv() => match cmd {
                    None => return Ended::Quit,
                    Some(NetCommand::Connect(c)) => return Ended::NewLogin(c),
                    Some(NetCommand::Trust { server, fingerprint }) => {
                        self.remember(&server, &fingerprint)
                    }
                    Some(NetCommand::Send(frame)) => outbox.push(frame),
                    Some(NetCommand::File(c)) => file_out = self.files.command(c).await,
                },
                Some((tid, r)) = self.files.hashed.recv() => {
                    file_out = self.files.hashed(tid, r);
                }
                _ = ping.tick() => {
                    if outstanding.is_some() {
                        return Ended::Lost("no answer to ping".into());
                    }
                    // A ping only when idle, and only out of the budget: a
                    // busy queue shows the line is alive anyway.
                    if last_sent.elapsed() + every / 60 >= every && pacer.try_take(Instant::now()) {
                        let id = self.own_id();
                        if let Err(e) = conn.send(encode_line(&ClientFrame { id: Some(id), request: Request::Ping })).await {
                            return Ended::Lost(format!("{e}"));
                        }
                        outstanding = Some((id, Instant::now()));
                        last_sent = Instant::now();
                    }
                }
            }
            // Chunks go at once (the window paces them); other transfer
            // requests wait their turn in the outbox.
            for frame in file_out.paced {
                outbox.push(frame);
            }
            for frame in file_out.direct {
                if let Err(e) = conn.send(encode_line(&frame)).await {
                    return Ended::Lost(format!("{e}"));
                }
                last_sent = Instant::now();
            }
            // Whatever woke us, send what the budget allows, in order.
            while let Some(frame) = outbox.pop_ready(&mut pacer, Instant::now()) {
                if let Err(e) = conn.send(encode_line(&frame)).await {
                    return Ended::Lost(format!("{e}"));
                }
                last_sent = Instant::now();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_thirty_seconds() {
        let secs: Vec<u64> = (1..=8).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 30, 30, 30]);
        assert_eq!(backoff(u32::MAX), MAX_BACKOFF);
    }
}

//! The network task: it owns the socket.
//!
//! It connects, reads `hello`, logs in, forwards every server frame to the
//! app, writes the app's frames, pings when the line has been quiet, and when
//! the connection dies it waits (1 s, 2 s, 4 s … up to 30 s), connects
//! again and logs in again. The app only sees `NetEvent`s on a channel; after
//! a re-login the app's `welcome` handler asks `history` `after` the newest
//! message of each chat, so nothing is missed.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tokio::time::{interval_at, sleep, timeout, Instant, MissedTickBehavior};
use tokio_util::codec::Framed;

use crate::protocol::{
    decode_server_frame, encode_line, ClientFrame, ErrorCode, ErrorFrame, LineCodec, Request,
    ServerFrame, MAX_SERVER_FRAME_BYTES, PING_INTERVAL,
};

use super::event::{Credentials, Event, NetEvent};

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
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            ping_interval: PING_INTERVAL,
            step_timeout: STEP_TIMEOUT,
        }
    }
}

/// Starts the network task on the current tokio runtime.
pub fn spawn(events: UnboundedSender<Event>) -> NetHandle {
    spawn_with(events, Timing::default())
}

/// Starts the network task with the given timing.
pub fn spawn_with(events: UnboundedSender<Event>, timing: Timing) -> NetHandle {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(run(rx, events, timing));
    NetHandle { tx }
}

/// The delay before reconnect attempt `n` (1-based): 1, 2, 4, 8, 16, 30, 30 … s.
pub fn backoff(attempt: u32) -> Duration {
    let secs = 1u64 << attempt.saturating_sub(1).min(5);
    Duration::from_secs(secs).min(MAX_BACKOFF)
}

type Conn = Framed<TcpStream, LineCodec>;

/// How one login attempt ended.
enum Login {
    Ok(Conn),
    /// Refused by the server.
    Refused(ErrorFrame),
    /// The server could not be reached or broke the exchange.
    Failed(String),
}

/// How a live session ended.
enum Ended {
    /// Lost; reconnect.
    Lost(String),
    /// The app asked for a new login.
    NewLogin(Credentials),
    /// The app is gone.
    Quit,
}

struct Task {
    cmds: UnboundedReceiver<NetCommand>,
    events: UnboundedSender<Event>,
    next_id: u64,
    timing: Timing,
}

async fn run(cmds: UnboundedReceiver<NetCommand>, events: UnboundedSender<Event>, timing: Timing) {
    let mut task = Task {
        cmds,
        events,
        next_id: OWN_ID_BASE,
        timing,
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
        let conn = match task.login(&c, c.register).await {
            Login::Ok(conn) => conn,
            Login::Refused(e) => {
                task.emit(NetEvent::LoginFailed(e));
                continue;
            }
            Login::Failed(reason) => {
                task.emit(NetEvent::ConnectFailed(reason));
                continue;
            }
        };
        let mut conn = conn;
        let mut login = Credentials {
            register: false,
            ..c
        };
        'session: loop {
            match task.session(conn).await {
                Ended::Quit => return,
                Ended::NewLogin(c) => {
                    creds = Some(c);
                    break 'session;
                }
                Ended::Lost(reason) => {
                    let mut attempt = 1;
                    let mut reason = reason;
                    loop {
                        let wait = backoff(attempt);
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
                        task.emit(NetEvent::Connecting { attempt });
                        match task.login(&login, false).await {
                            Login::Ok(c) => {
                                conn = c;
                                continue 'session;
                            }
                            Login::Refused(e) if e.code == ErrorCode::LockedOut => {
                                let ms = e.retry_after_ms.unwrap_or(60_000);
                                reason = format!("locked out for {} s", ms.div_ceil(1000));
                                attempt = attempt.max(6);
                            }
                            Login::Refused(e) => {
                                task.emit(NetEvent::Offline(format!(
                                    "logging in again failed: {}",
                                    super::app::error_text(&e, crate::protocol::now_ms())
                                )));
                                login.password.0.clear();
                                break 'session;
                            }
                            Login::Failed(r) => {
                                reason = r;
                                attempt += 1;
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
        loop {
            match self.cmds.recv().await? {
                NetCommand::Connect(c) => return Some(c),
                NetCommand::Send(_) => {}
            }
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
                },
            }
        }
    }

    async fn login(&mut self, c: &Credentials, register: bool) -> Login {
        let stream = match timeout(
            self.timing.step_timeout,
            TcpStream::connect(c.server.as_str()),
        )
        .await
        {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return Login::Failed(format!("cannot connect to {}: {e}", c.server)),
            Err(_) => return Login::Failed(format!("cannot connect to {}: timed out", c.server)),
        };
        let _ = stream.set_nodelay(true);
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
            let frame = match decode_server_frame(&line) {
                Ok(Some(f)) => f,
                Ok(None) | Err(_) => continue,
            };
            match frame {
                ServerFrame::Welcome(w) if w.id == id => {
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
        let mut last_sent = Instant::now();
        // Ping once at once, so the round trip shows from the start.
        let mut outstanding: Option<(u64, Instant)> = None;
        let first = self.own_id();
        if conn
            .send(encode_line(&ClientFrame {
                id: Some(first),
                request: Request::Ping,
            }))
            .await
            .is_ok()
        {
            outstanding = Some((first, Instant::now()));
        }
        loop {
            tokio::select! {
                line = conn.next() => {
                    let line = match line {
                        Some(Ok(line)) => line,
                        Some(Err(e)) => return Ended::Lost(format!("{e}")),
                        None => return Ended::Lost("the server closed the connection".into()),
                    };
                    match decode_server_frame(&line) {
                        Ok(Some(ServerFrame::Pong { id })) if id >= OWN_ID_BASE => {
                            if let Some((want, sent)) = outstanding {
                                if want == id {
                                    self.emit(NetEvent::Rtt(sent.elapsed()));
                                    outstanding = None;
                                }
                            }
                        }
                        Ok(Some(ServerFrame::Error(e))) if e.id.is_some_and(|id| id >= OWN_ID_BASE) => {}
                        Ok(Some(frame)) => self.emit(NetEvent::Frame(frame)),
                        // Unknown types and frames this build cannot read are
                        // skipped: a newer server may send them.
                        Ok(None) | Err(_) => {}
                    }
                }
                cmd = self.cmds.recv() => match cmd {
                    None => return Ended::Quit,
                    Some(NetCommand::Connect(c)) => return Ended::NewLogin(c),
                    Some(NetCommand::Send(frame)) => {
                        if let Err(e) = conn.send(encode_line(&frame)).await {
                            return Ended::Lost(format!("{e}"));
                        }
                        last_sent = Instant::now();
                    }
                },
                _ = ping.tick() => {
                    if outstanding.is_some() {
                        return Ended::Lost("no answer to ping".into());
                    }
                    if last_sent.elapsed() + every / 60 >= every {
                        let id = self.own_id();
                        if let Err(e) = conn.send(encode_line(&ClientFrame { id: Some(id), request: Request::Ping })).await {
                            return Ended::Lost(format!("{e}"));
                        }
                        outstanding = Some((id, Instant::now()));
                        last_sent = Instant::now();
                    }
                }
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
    }
}

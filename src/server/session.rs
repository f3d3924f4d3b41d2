//! One connection: a reader that decodes, checks and forwards frames, and a
//! writer that drains the outgoing queue in batches.
//!
//! Everything that only concerns this connection (framing, decoding, flood
//! control, text and password rules, bcrypt) happens here, in parallel with
//! every other connection; only what touches shared state goes to the hub.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{sleep_until, timeout, Instant};
use tokio_util::task::TaskTracker;

use super::auth::PasswordHasher;
use super::config::ServerConfig;
use super::feed::Feed;
use super::history::HistoryReader;
use super::hub::{needs, HubCommand, LoginLookup, Needs, RegisterCheck};
use super::hub::{DownloadJob, Job};
use super::io::{unfinished_frame, write_frames, LineReader, ReadSource, MAX_FRAMES_PER_WRITE};
use super::limits::{RateLimiter, Verdict};
use super::link::{SessionControl, SessionId, SessionLink};
use super::outbox::{not_reading_frame, Outbox, OutboxReceiver, PushError};
use super::store::AccountId;
use super::transfer::{read_chunk, FileStore};
use crate::protocol::{
    decode_client_frame, validate_password, validate_text, ClientFrame, ErrorCode, ErrorFrame,
    LineError, Password, Request, ServerFrame, UserName, FILE_CHUNK_BYTES, MAX_CLIENT_FRAME_BYTES,
    MAX_SERVER_FRAME_BYTES,
};

/// What every session needs from the server.
pub struct Shared {
    pub config: ServerConfig,
    pub hub: mpsc::Sender<HubCommand>,
    pub hasher: Arc<PasswordHasher>,
    /// The `hello` line, encoded once.
    pub hello: Bytes,
    /// Set when serving TLS.
    pub tls: Option<tokio_rustls::TlsAcceptor>,
    /// Reads history pages beside the hub.
    pub history: HistoryReader,
    /// File bytes on disk (uploads and downloads pass here, not the hub).
    pub files: Arc<FileStore>,
    /// What goes to every logged-in session, read at each one's cursor.
    pub feed: Arc<Feed>,
}

/// Largest write the writer assembles from queued frames.
const WRITE_BATCH: usize = 64 * 1024;
/// How long the writer tries to deliver a last word to a peer being dropped.
const FATAL_WRITE_TIMEOUT: Duration = Duration::from_secs(2);

/// Serves one connection until it closes.
pub async fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    session: SessionId,
    shared: Arc<Shared>,
    tracker: TaskTracker,
) {
    let _ = stream.set_nodelay(true);
    limit_unsent(&stream);
    match shared.tls.clone() {
        None => {
            let (read, write) = stream.into_split();
            run(read, write, peer, session, shared, tracker).await;
        }
        // Boxed: a future is as large as its largest state, and the TLS
        // handshake's is several kilobytes that every plain connection
        // would otherwise carry for its whole life.
        Some(acceptor) => {
            Box::pin(serve_tls(stream, acceptor, peer, session, shared, tracker)).await
        }
    }
}

async fn serve_tls(
    stream: TcpStream,
    acceptor: tokio_rustls::TlsAcceptor,
    peer: SocketAddr,
    session: SessionId,
    shared: Arc<Shared>,
    tracker: TaskTracker,
) {
    // The handshake counts against the login deadline, so a peer that
    // opens a connection and never speaks TLS is dropped in time.
    let handshake = timeout(shared.config.login_timeout, acceptor.accept(stream)).await;
    match handshake {
        Ok(Ok(tls)) => {
            let (read, write) = tokio::io::split(tls);
            run(read, write, peer, session, shared, tracker).await;
        }
        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
    }
}

async fn run<R, W>(
    read: R,
    write: W,
    peer: SocketAddr,
    session: SessionId,
    shared: Arc<Shared>,
    tracker: TaskTracker,
) where
    R: ReadSource + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (outbox, rx) = Outbox::new(
        shared.config.outgoing_limit_bytes.max(1024),
        shared.feed.clone(),
        session,
    );
    let control = Arc::new(SessionControl::default());
    tracker.spawn(write_loop(write, rx, control.clone()));

    if outbox.push(shared.hello.clone()).is_err() {
        return;
    }
    let link = SessionLink {
        outbox: outbox.clone(),
        control: control.clone(),
    };
    // The two sends are boxed: their futures would otherwise take room in
    // this one for as long as the connection lasts.
    let connect = shared.hub.send(HubCommand::Connect {
        session,
        peer,
        link,
    });
    if Box::pin(connect).await.is_err() {
        return;
    }
    let mut conn = Connection {
        session,
        peer,
        shared: shared.clone(),
        outbox,
        control,
        user: None,
        downloads: Arc::default(),
        hub_sent: AtomicU64::new(0),
    };
    conn.read_loop(read).await;
    let _ = Box::pin(shared.hub.send(HubCommand::Disconnect { session })).await;
}

/// Most bytes the kernel holds unsent for a connection: beyond this the
/// socket is not writable and frames wait in the session's own queue. Without
/// it the kernel takes up to `tcp_wmem`'s 4 MiB from a download before a
/// slow reader has read any of it, and a chat event queued after that waits
/// behind all of it (a minute at 64 KiB/s); with it, events interleave with
/// a download within a few hundred KiB of file data.
#[cfg(target_os = "linux")]
const UNSENT_LOW_WATER: libc::c_int = 128 * 1024;

#[cfg(target_os = "linux")]
fn limit_unsent(stream: &TcpStream) {
    use std::os::fd::AsRawFd;
    let value: libc::c_int = UNSENT_LOW_WATER;
    // SAFETY: setsockopt on a socket we own, with a c_int option value of
    // the size given.
    let r = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_NOTSENT_LOWAT,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r != 0 {
        tracing::debug!(error = %std::io::Error::last_os_error(), "TCP_NOTSENT_LOWAT");
    }
}

#[cfg(not(target_os = "linux"))]
fn limit_unsent(_stream: &TcpStream) {}

/// Tells a connection refused at accept why, and closes it.
pub async fn refuse(mut stream: TcpStream, frame: Bytes) {
    let _ = timeout(FATAL_WRITE_TIMEOUT, stream.write_all(&frame)).await;
    let _ = timeout(FATAL_WRITE_TIMEOUT, stream.shutdown()).await;
}

/// Whether the reader goes on after a frame.
enum Flow {
    Continue,
    Close,
}

struct Connection {
    session: SessionId,
    peer: SocketAddr,
    shared: Arc<Shared>,
    outbox: Outbox,
    control: Arc<SessionControl>,
    /// Set once logged in.
    user: Option<UserName>,
    /// Downloads under way: file_id -> the generation allowed to send. A
    /// replaced or cancelled download's task finds its generation gone.
    downloads: Arc<std::sync::Mutex<Downloads>>,
    /// Requests, replies, logins and registrations sent to the hub; see
    /// `SessionControl::hub_answered`.
    hub_sent: AtomicU64,
}

/// The downloads of one connection.
#[derive(Debug, Default)]
struct Downloads {
    current: std::collections::HashMap<String, u64>,
    next: u64,
}

/// A download waits for its connection's queue to hold at most this much
/// before it adds a chunk: paced by the reader, one chunk or so in memory.
const DOWNLOAD_ROOM: usize = 256 * 1024;

impl Connection {
    async fn read_loop<R: ReadSource>(&mut self, read: R) {
        let config = &self.shared.config;
        let mut lines = LineReader::new(read, MAX_CLIENT_FRAME_BYTES);
        let login_deadline = Instant::now() + config.login_timeout;
        let idle_timeout = config.idle_timeout;
        let mut idle_deadline = Instant::now() + idle_timeout;
        let mut limiter = RateLimiter::new(config.max_msg_rate, std::time::Instant::now());
        let stop = self.control.stopped().clone();
        // Replies this client asked for may fill up to one large frame (and
        // at most half the queue); past that, its next request waits until
        // it has read some of them. So a client pipelining requests for big
        // replies holds about two frames of the server's memory, not its
        // whole queue, and is never taken for one that stopped reading.
        let room_for_requests = (self.outbox.limit() / 2).min(MAX_SERVER_FRAME_BYTES);
        loop {
            if self.outbox.queued_bytes() > room_for_requests {
                tokio::select! {
                    biased;
                    _ = stop.cancelled() => return,
                    _ = self.outbox.wait_until_at_most(room_for_requests) => {}
                }
                // The silence was ours: we were not reading.
                idle_deadline = Instant::now() + idle_timeout;
            }
            let deadline = if self.user.is_some() {
                idle_deadline
            } else {
                login_deadline.min(idle_deadline)
            };
            let next = tokio::select! {
                biased;
                _ = stop.cancelled() => return,
                _ = sleep_until(deadline) => {
                    let frame = if self.user.is_none() && deadline == login_deadline {
                        ErrorFrame::new(None, ErrorCode::IdleTimeout, format!(
                            "no login within {} s; closing", self.shared.config.login_timeout.as_secs()))
                    } else {
                        ErrorFrame::new(None, ErrorCode::IdleTimeout, format!(
                            "nothing received for {} s (clients ping every 30 s); closing", idle_timeout.as_secs()))
                    };
                    self.reply_direct(&ServerFrame::Error(frame.fatal()));
                    return;
                }
                next = lines.next() => next,
            };
            let line = match next {
                None => return,
                Some(Err(LineError::TooLong { limit })) => {
                    let frame = ErrorFrame::new(
                        None,
                        ErrorCode::FrameTooLarge,
                        format!("a frame is at most {limit} bytes including the newline; closing"),
                    );
                    Box::pin(self.reply(ServerFrame::Error(frame.fatal()))).await;
                    return;
                }
                Some(Err(LineError::Io(_))) => return,
                Some(Ok(line)) => line,
            };
            idle_deadline = Instant::now() + idle_timeout;
            // Boxed: a future is as large as its largest state, and handling
            // a request (a login, a file chunk) needs kilobytes for a moment,
            // which an idle session must not keep.
            if let Flow::Close = Box::pin(self.take_line(line, &mut limiter)).await {
                return;
            }
        }
    }

    /// Decodes one line, holds it against the rate limit and handles it.
    async fn take_line(&mut self, line: bytes::BytesMut, limiter: &mut RateLimiter) -> Flow {
        let decoded = decode_client_frame(&line);
        drop(line);
        // A history request is paced by the server itself (one at a
        // time per session), so a client catching up on many chats is
        // never taken for a flood; it still counts against the rate.
        let paced = decoded
            .as_ref()
            .is_ok_and(|f| matches!(f.request, Request::History { .. }));
        // File chunks are paced by the disk and the 8-chunk window
        // instead of the frame rate (§14).
        let chunk = decoded
            .as_ref()
            .is_ok_and(|f| matches!(f.request, Request::FileChunk { .. }));
        let verdict = if chunk {
            Verdict::Allow
        } else {
            limiter.check(std::time::Instant::now(), !paced)
        };
        match verdict {
            Verdict::Allow => {}
            Verdict::Limited { retry_after_ms } => {
                let id = decoded.as_ref().ok().and_then(|f| f.id);
                let frame =
                    ErrorFrame::new(id, ErrorCode::RateLimited, "too many frames; slow down")
                        .retry_after(retry_after_ms);
                self.reply(ServerFrame::Error(frame)).await;
                return Flow::Continue;
            }
            Verdict::Flood => {
                tracing::warn!(peer = %self.peer, "flooding; closing");
                let id = decoded.as_ref().ok().and_then(|f| f.id);
                let frame = ErrorFrame::new(
                    id,
                    ErrorCode::RateLimited,
                    "flooding far over the rate limit; closing",
                )
                .fatal();
                self.reply(ServerFrame::Error(frame)).await;
                return Flow::Close;
            }
        }
        match decoded {
            Err(e) => {
                self.reply(ServerFrame::Error(e.into_frame())).await;
                Flow::Continue
            }
            Ok(frame) => self.handle(frame).await,
        }
    }

    /// Sends a reply in order with the session's other replies: through the
    /// hub once logged in (the hub may have replies of its own queued),
    /// straight to the queue before that.
    async fn reply(&self, frame: ServerFrame) {
        if self.user.is_some() {
            self.hub_sent.fetch_add(1, Ordering::Relaxed);
            let _ = self
                .shared
                .hub
                .send(HubCommand::Reply {
                    session: self.session,
                    frame: frame.to_line(),
                })
                .await;
        } else {
            self.reply_direct(&frame);
        }
    }

    /// Like [`Connection::reply`], but straight to the queue when the hub
    /// holds no earlier answer of this session (nothing to overtake): a
    /// chunk's `ok` then does not wait for a hub round, which a busy room
    /// paces to one per 10 ms (8 chunks per round: 26 MB/s).
    async fn reply_in_order(&self, frame: ServerFrame) {
        let answered = self.control.hub_answered.load(Ordering::Acquire);
        if self.hub_sent.load(Ordering::Relaxed) == answered {
            self.reply_direct(&frame);
        } else {
            self.reply(frame).await;
        }
    }

    fn reply_direct(&self, frame: &ServerFrame) {
        self.queue_reply(frame.to_line());
    }

    async fn error(&self, id: Option<u64>, code: ErrorCode, message: impl Into<String>) {
        self.reply(ServerFrame::Error(ErrorFrame::new(id, code, message)))
            .await;
    }

    async fn to_hub(&self, cmd: HubCommand) -> Flow {
        if matches!(cmd, HubCommand::Request { .. }) {
            self.hub_sent.fetch_add(1, Ordering::Relaxed);
        }
        match self.shared.hub.send(cmd).await {
            Ok(()) => Flow::Continue,
            Err(_) => Flow::Close,
        }
    }

    async fn handle(&mut self, frame: ClientFrame) -> Flow {
        let ClientFrame { id, request } = frame;
        if self.user.is_none() && needs(&request) != Needs::Nothing {
            self.error(
                id,
                ErrorCode::NotAuthenticated,
                format!("log in before \"{}\"", request.type_name()),
            )
            .await;
            return Flow::Continue;
        }
        if self.user.is_none() {
            return match request {
                Request::Register { user, password } => self.register(id, &user, password).await,
                Request::Login { user, password } => self.login(id, &user, password).await,
                Request::Ping => {
                    if let Some(id) = id {
                        self.reply_direct(&ServerFrame::Pong { id });
                    }
                    Flow::Continue
                }
                Request::Logout => {
                    if let Some(id) = id {
                        self.reply_direct(&ServerFrame::ok(id));
                    }
                    Flow::Close
                }
                // Every other request needs a login (refused above).
                _ => Flow::Continue,
            };
        }
        match request {
            Request::Register { .. } | Request::Login { .. } => {
                self.error(
                    id,
                    ErrorCode::AlreadyAuthenticated,
                    "this connection is already logged in",
                )
                .await;
                Flow::Continue
            }
            Request::Send { ref text, .. } => match validate_text(text) {
                Err(why) => {
                    self.error(id, ErrorCode::InvalidText, why.to_string())
                        .await;
                    Flow::Continue
                }
                Ok(()) => self.forward(id, request).await,
            },
            Request::Logout => {
                self.forward(id, Request::Logout).await;
                // The hub answers and logs out; nothing after this is read.
                Flow::Close
            }
            Request::FileChunk {
                file_id,
                offset,
                data,
            } => self.file_chunk(id, &file_id, offset, &data).await,
            Request::FileDone { file_id } => self.file_done(id, file_id).await,
            Request::FileGet { .. } if id.is_none() => {
                self.error(None, ErrorCode::BadRequest, "file_get must carry an id")
                    .await;
                Flow::Continue
            }
            Request::FileGetCancel { file_id } => {
                let stopped = self
                    .downloads
                    .lock()
                    .is_ok_and(|mut d| d.current.remove(&file_id).is_some());
                if !stopped {
                    // Nothing running here: the hub says whether the file
                    // exists for this user (`ok`) or not (`no_such_file`).
                    return self.forward(id, Request::FileGetCancel { file_id }).await;
                }
                if let Some(id) = id {
                    self.reply(ServerFrame::ok(id)).await;
                }
                Flow::Continue
            }
            request if request.has_large_reply() => self.forward_and_wait(id, request).await,
            request => self.forward(id, request).await,
        }
    }

    async fn forward(&self, id: Option<u64>, request: Request) -> Flow {
        self.to_hub(HubCommand::Request {
            session: self.session,
            id,
            request,
            resume: None,
        })
        .await
    }

    /// Forwards a request whose reply can be large and reads nothing more
    /// until that reply is queued: so one session has at most one large
    /// reply in the making, and a history page is read outside the hub
    /// yet still answered in request order.
    async fn forward_and_wait(&self, id: Option<u64>, request: Request) -> Flow {
        let (resume, resumed) = oneshot::channel();
        let sent = self
            .to_hub(HubCommand::Request {
                session: self.session,
                id,
                request,
                resume: Some(resume),
            })
            .await;
        if let Flow::Close = sent {
            return Flow::Close;
        }
        let stop = self.control.stopped().clone();
        let job = tokio::select! {
            _ = stop.cancelled() => return Flow::Close,
            job = resumed => match job {
                Ok(job) => job,
                Err(_) => return Flow::Close,
            },
        };
        let job = match job {
            None => return Flow::Continue,
            Some(Job::Download(download)) => {
                self.start_download(download);
                return Flow::Continue;
            }
            Some(Job::History(job)) => job,
        };
        let id = job.id;
        let page = tokio::select! {
            _ = stop.cancelled() => return Flow::Close,
            page = self.shared.history.page(job) => page,
        };
        match page {
            Ok(page) => self.queue_reply(page),
            Err(e) => {
                tracing::error!(error = %e, "reading history failed");
                let frame = ErrorFrame::new(
                    Some(id),
                    ErrorCode::Internal,
                    "the server could not read that history; try again",
                );
                self.reply_direct(&ServerFrame::Error(frame));
            }
        }
        Flow::Continue
    }

    /// The upload `file_id` if it is this session's user's.
    fn own_upload(&self, file_id: &str) -> Option<crate::server::transfer::Upload> {
        let me = self.user.as_ref()?.key();
        self.shared.files.upload(file_id).filter(|u| u.owner == me)
    }

    async fn refuse_with_offset(&self, id: Option<u64>, held: u64, message: String) {
        let mut frame = ErrorFrame::new(id, ErrorCode::BadRequest, message);
        frame.offset = Some(held);
        self.reply(ServerFrame::Error(frame)).await;
    }

    /// `file_chunk`: appended to the upload at exactly the offset held,
    /// on the blocking pool; the next frame is read only once it is on
    /// disk, so a fast sender is paced by the disk, not buffered.
    async fn file_chunk(&self, id: Option<u64>, file_id: &str, offset: u64, data: &str) -> Flow {
        use base64::Engine as _;
        self.shared.files.pacing.give_way().await;
        let Some(upload) = self.own_upload(file_id) else {
            self.error(id, ErrorCode::NoSuchFile, "there is no such upload")
                .await;
            return Flow::Continue;
        };
        let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(data) else {
            self.error(id, ErrorCode::BadRequest, "\"data\" is not standard base64")
                .await;
            return Flow::Continue;
        };
        if bytes.len() > FILE_CHUNK_BYTES {
            self.error(
                id,
                ErrorCode::BadRequest,
                format!("a chunk is at most {FILE_CHUNK_BYTES} bytes"),
            )
            .await;
            return Flow::Continue;
        }
        let files = self.shared.files.clone();
        let held = files.received(file_id);
        if offset.saturating_add(bytes.len() as u64) > upload.size {
            self.refuse_with_offset(id, held, format!("the file has only {} bytes", upload.size))
                .await;
            return Flow::Continue;
        }
        let name = file_id.to_owned();
        let written =
            tokio::task::spawn_blocking(move || files.append(&name, offset, &bytes)).await;
        match written {
            Ok(Ok(Ok(_))) => {
                if let Some(id) = id {
                    self.reply_in_order(ServerFrame::ok(id)).await;
                }
            }
            Ok(Ok(Err(held))) => {
                self.refuse_with_offset(
                    id,
                    held,
                    format!("the server holds {held} bytes; send from there"),
                )
                .await;
            }
            _ => {
                self.error(
                    id,
                    ErrorCode::Internal,
                    "the server could not store that chunk; try again",
                )
                .await;
            }
        }
        Flow::Continue
    }

    /// `file_done`: the size and SHA-256 are checked and the bytes made
    /// durable here; the hub then checks the chat again and posts it.
    async fn file_done(&self, id: Option<u64>, file_id: String) -> Flow {
        let Some(upload) = self.own_upload(&file_id) else {
            // Not under way here: the hub says `no_such_file`.
            return self.forward(id, Request::FileDone { file_id }).await;
        };
        let files = self.shared.files.clone();
        let held = files.received(&file_id);
        if held != upload.size {
            self.refuse_with_offset(
                id,
                held,
                format!("the server holds {held} of {} bytes", upload.size),
            )
            .await;
            return Flow::Continue;
        }
        let name = file_id.clone();
        let sha = upload.sha256.clone();
        let finished = tokio::task::spawn_blocking(move || files.finish(&name, &sha)).await;
        match finished {
            Ok(Ok(true)) => self.forward(id, Request::FileDone { file_id }).await,
            Ok(Ok(false)) => {
                // The bytes are not the file offered: discard the upload.
                self.shared.files.forget(&file_id);
                self.forward(None, Request::FileCancel { file_id }).await;
                self.error(
                    id,
                    ErrorCode::ChecksumMismatch,
                    "the bytes do not have the SHA-256 offered; the upload is discarded",
                )
                .await;
                Flow::Continue
            }
            _ => {
                self.error(
                    id,
                    ErrorCode::Internal,
                    "the server could not store the file; try again",
                )
                .await;
                Flow::Continue
            }
        }
    }

    /// Answers a `file_get` with `file_info` and streams the bytes in
    /// `file_data` frames, each added only when the connection's queue has
    /// room (a slow reader slows the download, never closes the session);
    /// other events go in between.
    fn start_download(&self, job: DownloadJob) {
        let Ok(mut downloads) = self.downloads.lock() else {
            return;
        };
        downloads.next += 1;
        let generation = downloads.next;
        downloads.current.insert(job.file_id.clone(), generation);
        self.queue_reply(
            ServerFrame::FileInfo {
                id: job.id,
                file_id: job.file_id.clone(),
                name: job.name.clone(),
                size: job.size,
                sha256: job.sha256.clone(),
                mime: job.mime.clone(),
            }
            .to_line(),
        );
        drop(downloads);
        let registry = self.downloads.clone();
        let outbox = self.outbox.clone();
        let control = self.control.clone();
        let files = self.shared.files.clone();
        tokio::spawn(async move {
            let stop = control.stopped().clone();
            let mut offset = job.offset;
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = outbox.wait_until_at_most(DOWNLOAD_ROOM) => {}
                }
                files.pacing.give_way().await;
                let path = job.path.clone();
                let chunk = if offset < job.size {
                    let at = offset;
                    match tokio::task::spawn_blocking(move || {
                        read_chunk(&path, at, FILE_CHUNK_BYTES)
                    })
                    .await
                    {
                        Ok(Ok(bytes)) if !bytes.is_empty() => Some(bytes),
                        other => {
                            tracing::error!(file = %job.file_id, ?other, "cannot read a stored file");
                            return;
                        }
                    }
                } else {
                    None
                };
                let Ok(mut downloads) = registry.lock() else {
                    return;
                };
                if downloads.current.get(&job.file_id) != Some(&generation) {
                    return;
                }
                let line = match &chunk {
                    Some(bytes) => ServerFrame::file_data_line(&job.file_id, offset, bytes),
                    None => {
                        downloads.current.remove(&job.file_id);
                        ServerFrame::FileEnd {
                            file_id: job.file_id.clone(),
                        }
                        .to_line()
                    }
                };
                if outbox.push(line).is_err() {
                    control.close_with(not_reading_frame());
                    return;
                }
                match chunk {
                    Some(bytes) => offset += bytes.len() as u64,
                    None => return,
                }
            }
        });
    }

    /// Queues a reply straight to the writer; a peer whose queue is full
    /// has stopped reading and is told so as it is closed.
    fn queue_reply(&self, frame: Bytes) {
        match self.outbox.push(frame) {
            Ok(()) => {}
            Err(PushError::Full) => self.control.close_with(not_reading_frame()),
            Err(PushError::Closed) => self.control.close_after_drain(),
        }
    }

    async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> HubCommand) -> Option<T> {
        let (reply, answer) = oneshot::channel();
        self.shared.hub.send(make(reply)).await.ok()?;
        answer.await.ok()
    }

    /// Checks the shape of a name and password before anything costly;
    /// answers the error itself and returns `None` when they break a rule.
    async fn checked_credentials(
        &self,
        id: Option<u64>,
        user: &str,
        password: &Password,
        registering: bool,
    ) -> Option<UserName> {
        let parsed = if registering {
            UserName::parse_registrable(user)
        } else {
            UserName::parse(user)
        };
        let name = match parsed {
            Ok(n) => n,
            Err(e) => {
                self.error(id, ErrorCode::InvalidName, e.to_string()).await;
                return None;
            }
        };
        if let Err(e) = validate_password(&password.0) {
            self.error(id, ErrorCode::InvalidPassword, e.to_string())
                .await;
            return None;
        }
        Some(name)
    }

    async fn register(&mut self, id: Option<u64>, user: &str, password: Password) -> Flow {
        let Some(name) = self.checked_credentials(id, user, &password, true).await else {
            return Flow::Continue;
        };
        let ip = self.peer.ip();
        let Some(check) = self
            .ask(|reply| HubCommand::RegisterCheck { ip, reply })
            .await
        else {
            return Flow::Close;
        };
        match check {
            RegisterCheck::Go => {}
            RegisterCheck::TooMany { retry_after_ms } => {
                let frame = ErrorFrame::new(
                    id,
                    ErrorCode::RateLimited,
                    "too many accounts registered from your address; try again later",
                )
                .retry_after(retry_after_ms);
                self.reply(ServerFrame::Error(frame)).await;
                return Flow::Continue;
            }
        }
        let hash = match self.shared.hasher.hash(password.0).await {
            Ok(h) => h,
            Err(e) => {
                tracing::error!(error = %e, "hashing failed");
                self.error(
                    id,
                    ErrorCode::Internal,
                    "could not create the account; try again",
                )
                .await;
                return Flow::Continue;
            }
        };
        let session = self.session;
        let registered_name = name.clone();
        self.hub_sent.fetch_add(1, Ordering::Relaxed);
        let Some(ok) = self
            .ask(|reply| HubCommand::Register {
                session,
                id,
                name: registered_name,
                hash,
                reply,
            })
            .await
        else {
            return Flow::Close;
        };
        if ok {
            self.user = Some(name);
        }
        Flow::Continue
    }

    async fn login(&mut self, id: Option<u64>, user: &str, password: Password) -> Flow {
        let Some(name) = self.checked_credentials(id, user, &password, false).await else {
            return Flow::Continue;
        };
        let key = name.key();
        let ip = self.peer.ip();
        let lookup_key = key.clone();
        let Some(lookup) = self
            .ask(|reply| HubCommand::LoginLookup {
                key: lookup_key,
                ip,
                reply,
            })
            .await
        else {
            return Flow::Close;
        };
        let (account, ticket) = match lookup {
            LoginLookup::Locked { retry_after_ms } => {
                let frame = ErrorFrame::new(
                    id,
                    ErrorCode::LockedOut,
                    format!(
                        "too many failed logins; try again in {} s",
                        retry_after_ms.div_ceil(1000)
                    ),
                )
                .retry_after(retry_after_ms);
                self.reply(ServerFrame::Error(frame)).await;
                return Flow::Continue;
            }
            LoginLookup::Proceed { account, ticket } => (account, ticket),
        };
        let (account_id, hash) = match account {
            Some((a, h)) => (Some(a), Some(h)),
            None => (None, None),
        };
        let hasher = &self.shared.hasher;
        // An account hashed at another cost than the server's is brought to
        // it once its password is known to be right.
        let rehash = hash
            .as_deref()
            .filter(|h| hasher.needs_rehash(h))
            .map(|h| (h.to_owned(), password.0.clone()));
        let password_ok = hasher.verify(password.0, hash).await;
        let session = self.session;
        self.hub_sent.fetch_add(1, Ordering::Relaxed);
        let Some(ok) = self
            .ask(|reply| HubCommand::Login {
                session,
                id,
                key,
                ip,
                account: account_id,
                password_ok,
                ticket,
                reply,
            })
            .await
        else {
            return Flow::Close;
        };
        if ok {
            self.user = Some(name);
            if let (Some(account), Some((old_hash, password))) = (account_id, rehash) {
                self.rehash_later(account, old_hash, password);
            }
        }
        Flow::Continue
    }

    /// Replaces an account's hash with one at the server's cost, off the
    /// session's path: the login has been answered already.
    fn rehash_later(&self, account: AccountId, old_hash: String, password: String) {
        let shared = self.shared.clone();
        tokio::spawn(async move {
            match shared.hasher.hash(password).await {
                Ok(new_hash) => {
                    let _ = shared
                        .hub
                        .send(HubCommand::Rehash {
                            account,
                            old_hash,
                            new_hash,
                        })
                        .await;
                }
                Err(e) => tracing::warn!(error = %e, "could not rehash a password"),
            }
        });
    }
}

/// Writes queued frames, many per system call, until the queue closes or
/// the session is aborted.
async fn write_loop<W: AsyncWrite + Unpin>(
    mut write: W,
    mut rx: OutboxReceiver,
    control: Arc<SessionControl>,
) {
    let abort = control.aborted().clone();
    let mut frames: Vec<Bytes> = Vec::new();
    // What must go out before a fatal frame so that it starts on a line of
    // its own: the rest of a frame whose write was cut short.
    let mut unfinished: Option<Bytes> = None;
    loop {
        let bytes = tokio::select! {
            biased;
            _ = abort.cancelled() => break,
            bytes = rx.recv_batch(&mut frames, MAX_FRAMES_PER_WRITE, WRITE_BATCH) => bytes,
        };
        if bytes == 0 {
            break;
        }
        let mut progress = 0;
        let written = tokio::select! {
            biased;
            _ = abort.cancelled() => {
                unfinished = unfinished_frame(&frames, progress);
                break;
            }
            r = write_frames(&mut write, &frames, &mut progress) => r,
        };
        // The list of what was written goes too: kept, it held a few
        // hundred bytes for every idle session (one allocation per write
        // costs tens of nanoseconds beside a write's microseconds).
        frames = Vec::new();
        rx.written(bytes);
        if written.is_err() {
            // The peer is gone; make the reader stop too.
            control.close_after_drain();
            break;
        }
    }
    if let Some(fatal) = control.take_fatal() {
        let last_words = async {
            if let Some(rest) = unfinished {
                write.write_all(&rest).await?;
            }
            write.write_all(&fatal).await
        };
        let _ = timeout(FATAL_WRITE_TIMEOUT, last_words).await;
    }
    let _ = timeout(FATAL_WRITE_TIMEOUT, write.shutdown()).await;
}

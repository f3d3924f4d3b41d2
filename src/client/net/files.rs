//! File transfers (§14), run by the network task so that hashing, file I/O
//! and base64 never happen on the UI thread.
//!
//! The app sends `FileCommand`s and gets `FileEvent`s; it never sees the
//! transfer frames. `Files` lives as long as the network task, so a
//! transfer outlives a lost connection: when a session starts again an
//! upload is offered again (the server answers with the offset it holds)
//! and a download asks `file_get` from the bytes already written.
//!
//! Uploads: SHA-256 of the whole file on the blocking pool, then
//! `file_offer`, then `file_chunk`s with ids, at most `WINDOW` unanswered,
//! then `file_done`. Downloads: `file_get`, `file_data` written to a hidden
//! temporary file in the download directory while it is hashed, and at
//! `file_end` the hash is compared with `file_info`'s and the file gets its
//! final name, never replacing an existing one (`name (1).ext`, …).
//!
//! Requests carry ids from `FILE_ID_BASE` up, far above the app's and the
//! task's own, so their replies are told apart.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::Engine as _;
use ring::digest;
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

use crate::protocol::{ClientFrame, ErrorCode, ErrorFrame, FileRef, Request, ServerFrame};

use crate::client::event::{Event, FileCommand, FileEvent, NetEvent};

/// Ids of transfer requests start here.
pub const FILE_ID_BASE: u64 = 1 << 41;
/// Chunks kept unanswered at most (§14).
pub const WINDOW: usize = 8;
/// Chunk size when the server did not say (§15's default).
pub const DEFAULT_CHUNK_BYTES: u64 = 32_768;
/// Progress is reported at most this often per transfer.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// Frames a transfer step wants sent: `paced` go through the session's
/// pacer (they count against the frame rate), `direct` are chunks, which
/// do not (§10, §14) and are paced by the window instead.
#[derive(Debug, Default)]
pub struct Out {
    pub paced: Vec<ClientFrame>,
    pub direct: Vec<ClientFrame>,
}

#[derive(Debug)]
enum UpState {
    Hashing,
    /// Hashed; waits for a session to offer it.
    Ready,
    Offering(u64),
    Sending,
    Finishing(u64),
}

#[derive(Debug)]
struct Upload {
    chat: String,
    path: PathBuf,
    name: String,
    size: u64,
    mime: String,
    caption: Option<String>,
    chunk_bytes: u64,
    sha256: Option<String>,
    file_id: Option<String>,
    state: UpState,
    /// Bytes the server confirmed.
    acked: u64,
    /// Bytes sent (confirmed or not).
    sent: u64,
    /// Unanswered chunks: request id and the offset after the chunk.
    inflight: VecDeque<(u64, u64)>,
    file: Option<tokio::fs::File>,
}

#[derive(Debug)]
enum DownState {
    /// Waits for a session to ask for it.
    Ready,
    Getting(u64),
    Receiving,
}

struct Download {
    file: FileRef,
    dir: PathBuf,
    part: PathBuf,
    state: DownState,
    /// Bytes written to `part`.
    written: u64,
    /// From `file_info`: what the bytes must hash to.
    sha256: String,
    size: u64,
    out: Option<tokio::fs::File>,
    hasher: digest::Context,
}

impl std::fmt::Debug for Download {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Download")
            .field("file", &self.file)
            .field("written", &self.written)
            .finish()
    }
}

#[derive(Debug)]
enum Job {
    Up(Upload),
    Down(Download),
}

/// What a request id stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Req {
    Offer,
    Chunk,
    Done,
    Get,
    /// `file_cancel` / `file_get_cancel`: the answer needs nothing.
    Cancel,
}

/// Every transfer of this client.
pub struct Files {
    jobs: BTreeMap<u64, Job>,
    reqs: HashMap<u64, (u64, Req)>,
    next_id: u64,
    events: UnboundedSender<Event>,
    hashed_tx: UnboundedSender<(u64, Result<String, String>)>,
    /// Hashes finished on the blocking pool.
    pub hashed: UnboundedReceiver<(u64, Result<String, String>)>,
    online: bool,
    last_progress: HashMap<u64, Instant>,
}

/// Lowercase hex of a digest.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The SHA-256 of a file, read in large blocks (blocking).
pub fn hash_file(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let mut f = std::fs::File::open(path)?;
    let mut ctx = digest::Context::new(&digest::SHA256);
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        ctx.update(&buf[..n]);
    }
    Ok(hex(ctx.finish().as_ref()))
}

/// A received file name made safe as one path component: no separators,
/// control characters or leading dot; never empty.
pub fn safe_name(name: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| {
            if c == '/' || c == '\\' || c.is_control() || c == ':' && cfg!(windows) {
                '_'
            } else {
                c
            }
        })
        .collect();
    s = crate::client::sanitize::clean_line(&s).into_owned();
    while s.starts_with('.') {
        s.replace_range(0..1, "_");
    }
    let s = s.trim().to_owned();
    if s.is_empty() {
        "file".to_owned()
    } else {
        s
    }
}

/// `name`, then `stem (1).ext`, `stem (2).ext`, … — the `n`th candidate.
pub fn numbered(name: &str, n: u32) -> String {
    if n == 0 {
        return name.to_owned();
    }
    match name.rfind('.') {
        Some(dot) if dot > 0 => format!("{} ({n}){}", &name[..dot], &name[dot..]),
        _ => format!("{name} ({n})"),
    }
}

/// Moves `tmp` to `dir/name` or the first free numbered variant, never
/// replacing a file (a hard link fails if the target exists).
fn place(tmp: &Path, dir: &Path, name: &str) -> std::io::Result<PathBuf> {
    for n in 0..10_000 {
        let target = dir.join(numbered(name, n));
        match std::fs::hard_link(tmp, &target) {
            Ok(()) => {
                let _ = std::fs::remove_file(tmp);
                return Ok(target);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(_) => {
                // No hard links here (some file systems): check, then rename.
                if target.exists() {
                    continue;
                }
                std::fs::rename(tmp, &target)?;
                return Ok(target);
            }
        }
    }
    Err(std::io::Error::other("no free file name"))
}

impl Files {
    pub fn new(events: UnboundedSender<Event>) -> Files {
        let (hashed_tx, hashed) = unbounded_channel();
        Files {
            jobs: BTreeMap::new(),
            reqs: HashMap::new(),
            next_id: FILE_ID_BASE,
            events,
            hashed_tx,
            hashed,
            online: false,
            last_progress: HashMap::new(),
        }
    }

    fn emit(&self, ev: FileEvent) {
        let _ = self.events.send(Event::Net(NetEvent::File(ev)));
    }

    fn id(&mut self, tid: u64, req: Req) -> u64 {
        self.next_id += 1;
        self.reqs.insert(self.next_id, (tid, req));
        self.next_id
    }

    fn progress(&mut self, tid: u64, done: u64, total: u64) {
        let now = Instant::now();
        let due = self
            .last_progress
            .get(&tid)
            .is_none_or(|t| now.duration_since(*t) >= PROGRESS_EVERY);
        if due || done == total {
            self.last_progress.insert(tid, now);
            self.emit(FileEvent::Progress { tid, done, total });
        }
    }

    fn finish(&mut self, tid: u64) -> Option<Job> {
        self.reqs.retain(|_, (t, _)| *t != tid);
        self.last_progress.remove(&tid);
        self.jobs.remove(&tid)
    }

    fn fail_local(&mut self, tid: u64, reason: String) {
        if let Some(Job::Down(d)) = self.finish(tid) {
            let _ = std::fs::remove_file(&d.part);
        }
        self.emit(FileEvent::LocalError { tid, reason });
    }

    /// Whether a frame's reply id is one of ours.
    pub fn owns(id: u64) -> bool {
        id > FILE_ID_BASE
    }

    /// A command from the app.
    pub async fn command(&mut self, cmd: FileCommand) -> Out {
        let mut out = Out::default();
        match cmd {
            FileCommand::Upload {
                tid,
                chat,
                path,
                name,
                size,
                mime,
                caption,
                chunk_bytes,
            } => {
                let tx = self.hashed_tx.clone();
                let p = path.clone();
                tokio::task::spawn_blocking(move || {
                    let r = hash_file(&p).map_err(|e| format!("cannot read {}: {e}", p.display()));
                    let _ = tx.send((tid, r));
                });
                self.jobs.insert(
                    tid,
                    Job::Up(Upload {
                        chat,
                        path,
                        name,
                        size,
                        mime,
                        caption,
                        chunk_bytes: chunk_bytes.clamp(1, 1 << 20),
                        sha256: None,
                        file_id: None,
                        state: UpState::Hashing,
                        acked: 0,
                        sent: 0,
                        inflight: VecDeque::new(),
                        file: None,
                    }),
                );
            }
            FileCommand::Download { tid, file, dir } => {
                let clean: String = file
                    .file_id
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                    .take(64)
                    .collect();
                let part = dir.join(format!(".tchat-{clean}-{tid}.part"));
                let job = Download {
                    size: file.size,
                    sha256: file.sha256.to_ascii_lowercase(),
                    file,
                    dir,
                    part,
                    state: DownState::Ready,
                    written: 0,
                    out: None,
                    hasher: digest::Context::new(&digest::SHA256),
                };
                self.jobs.insert(tid, Job::Down(job));
                if self.online {
                    self.get(tid, &mut out);
                }
            }
            FileCommand::Cancel { tid } => {
                match self.finish(tid) {
                    Some(Job::Up(u)) => {
                        if let (true, Some(file_id)) = (self.online, u.file_id) {
                            let id = self.id(tid, Req::Cancel);
                            out.paced.push(ClientFrame {
                                id: Some(id),
                                request: Request::FileCancel { file_id },
                            });
                        }
                    }
                    Some(Job::Down(d)) => {
                        if self.online && !matches!(d.state, DownState::Ready) {
                            let id = self.id(tid, Req::Cancel);
                            out.paced.push(ClientFrame {
                                id: Some(id),
                                request: Request::FileGetCancel {
                                    file_id: d.file.file_id.clone(),
                                },
                            });
                        }
                        drop(d.out);
                        let _ = tokio::fs::remove_file(&d.part).await;
                    }
                    None => return out,
                }
                self.emit(FileEvent::Cancelled { tid });
            }
            FileCommand::Open(path) => {
                let events = self.events.clone();
                std::thread::spawn(move || open_with_system(&path, &events));
            }
        }
        out
    }

    /// A session started: offer the uploads again (resuming at the
    /// server's offset) and ask for the downloads from what is written.
    pub fn session_started(&mut self) -> Out {
        self.online = true;
        let mut out = Out::default();
        let tids: Vec<u64> = self.jobs.keys().copied().collect();
        for tid in tids {
            match self.jobs.get_mut(&tid) {
                Some(Job::Up(u)) if !matches!(u.state, UpState::Hashing) => {
                    u.state = UpState::Ready;
                    self.offer(tid, &mut out);
                }
                Some(Job::Up(_)) => {}
                Some(Job::Down(_)) => self.get(tid, &mut out),
                None => {}
            }
        }
        out
    }

    /// The session ended: nothing in flight will be answered.
    pub fn session_ended(&mut self) {
        self.online = false;
        self.reqs.clear();
        for job in self.jobs.values_mut() {
            match job {
                Job::Up(u) => {
                    u.inflight.clear();
                    u.file = None;
                    if !matches!(u.state, UpState::Hashing) {
                        u.state = UpState::Ready;
                    }
                }
                Job::Down(d) => d.state = DownState::Ready,
            }
        }
    }

    fn offer(&mut self, tid: u64, out: &mut Out) {
        let id = self.id(tid, Req::Offer);
        let Some(Job::Up(u)) = self.jobs.get_mut(&tid) else {
            return;
        };
        let Some(sha256) = u.sha256.clone() else {
            return;
        };
        u.state = UpState::Offering(id);
        out.paced.push(ClientFrame {
            id: Some(id),
            request: Request::FileOffer {
                chat: u.chat.clone(),
                name: u.name.clone(),
                size: u.size,
                sha256,
                mime: Some(u.mime.clone()),
                text: u.caption.clone(),
            },
        });
    }

    fn get(&mut self, tid: u64, out: &mut Out) {
        let id = self.id(tid, Req::Get);
        let Some(Job::Down(d)) = self.jobs.get_mut(&tid) else {
            return;
        };
        d.state = DownState::Getting(id);
        out.paced.push(ClientFrame {
            id: Some(id),
            request: Request::FileGet {
                file_id: d.file.file_id.clone(),
                offset: d.written,
            },
        });
    }

    /// A hash finished on the blocking pool.
    pub fn hashed(&mut self, tid: u64, result: Result<String, String>) -> Out {
        let mut out = Out::default();
        let sha = match result {
            Ok(sha) => sha,
            Err(reason) => {
                self.fail_local(tid, reason);
                return out;
            }
        };
        if let Some(Job::Up(u)) = self.jobs.get_mut(&tid) {
            u.sha256 = Some(sha);
            u.state = UpState::Ready;
            if self.online {
                self.offer(tid, &mut out);
            }
        }
        out
    }

    /// Sends chunks while the window has room; `file_done` once all is
    /// confirmed.
    async fn fill(&mut self, tid: u64, out: &mut Out) {
        loop {
            let Some(Job::Up(u)) = self.jobs.get_mut(&tid) else {
                return;
            };
            if !matches!(u.state, UpState::Sending) {
                return;
            }
            if u.sent >= u.size {
                if u.inflight.is_empty() && u.acked >= u.size {
                    let Some(file_id) = u.file_id.clone() else {
                        return;
                    };
                    let id = self.id(tid, Req::Done);
                    if let Some(Job::Up(u)) = self.jobs.get_mut(&tid) {
                        u.state = UpState::Finishing(id);
                    }
                    out.paced.push(ClientFrame {
                        id: Some(id),
                        request: Request::FileDone { file_id },
                    });
                }
                return;
            }
            if u.inflight.len() >= WINDOW {
                return;
            }
            let want = (u.size - u.sent).min(u.chunk_bytes) as usize;
            if u.file.is_none() {
                match tokio::fs::File::open(&u.path).await {
                    Ok(mut f) => {
                        if let Err(e) = f.seek(std::io::SeekFrom::Start(u.sent)).await {
                            let reason = format!("cannot read {}: {e}", u.path.display());
                            self.fail_local(tid, reason);
                            return;
                        }
                        u.file = Some(f);
                    }
                    Err(e) => {
                        let reason = format!("cannot read {}: {e}", u.path.display());
                        self.fail_local(tid, reason);
                        return;
                    }
                }
            }
            let mut buf = vec![0u8; want];
            let read = match u.file.as_mut() {
                Some(f) => f.read_exact(&mut buf).await,
                None => return,
            };
            if let Err(e) = read {
                let reason = format!("cannot read {} (did it change?): {e}", u.path.display());
                self.fail_local(tid, reason);
                return;
            }
            let offset = u.sent;
            let end = offset + want as u64;
            let file_id = u.file_id.clone().unwrap_or_default();
            let id = self.id(tid, Req::Chunk);
            let Some(Job::Up(u)) = self.jobs.get_mut(&tid) else {
                return;
            };
            u.sent = end;
            u.inflight.push_back((id, end));
            out.direct.push(ClientFrame {
                id: Some(id),
                request: Request::FileChunk {
                    file_id,
                    offset,
                    data: base64::engine::general_purpose::STANDARD.encode(&buf),
                },
            });
        }
    }

    /// Goes on from `offset`, what the server says it holds.
    fn rewind(u: &mut Upload, offset: u64) {
        u.inflight.clear();
        u.acked = offset.min(u.size);
        u.sent = u.acked;
        u.file = None;
        u.state = UpState::Sending;
    }

    /// A reply to one of our requests, or a `file_data` / `file_end`.
    /// Gives the frame back if it is not ours (the app gets it).
    pub async fn frame(&mut self, frame: ServerFrame) -> Result<Out, ServerFrame> {
        let mut out = Out::default();
        match frame {
            ServerFrame::FileData {
                file_id,
                offset,
                data,
            } => {
                let Some(tid) = self.receiving(&file_id) else {
                    return Err(ServerFrame::FileData {
                        file_id,
                        offset,
                        data,
                    });
                };
                self.data(tid, offset, &data, &mut out).await;
            }
            ServerFrame::FileEnd { file_id } => {
                let Some(tid) = self.receiving(&file_id) else {
                    return Err(ServerFrame::FileEnd { file_id });
                };
                self.end(tid).await;
            }
            other => {
                let Some(id) = other.reply_id().filter(|id| Self::owns(*id)) else {
                    return Err(other);
                };
                let Some((tid, req)) = self.reqs.remove(&id) else {
                    return Ok(out);
                };
                self.reply(tid, id, req, other, &mut out).await;
            }
        }
        Ok(out)
    }

    fn receiving(&self, file_id: &str) -> Option<u64> {
        self.jobs.iter().find_map(|(tid, j)| match j {
            Job::Down(d)
                if d.file.file_id == file_id && matches!(d.state, DownState::Receiving) =>
            {
                Some(*tid)
            }
            _ => None,
        })
    }

    async fn reply(&mut self, tid: u64, id: u64, req: Req, frame: ServerFrame, out: &mut Out) {
        if req == Req::Cancel {
            return;
        }
        let refused = |e: ErrorFrame| FileEvent::Refused { tid, error: e };
        match (req, frame) {
            (
                Req::Offer,
                ServerFrame::FileAccepted {
                    file_id, offset, ..
                },
            ) => {
                let Some(Job::Up(u)) = self.jobs.get_mut(&tid) else {
                    return;
                };
                if !matches!(u.state, UpState::Offering(i) if i == id) {
                    return;
                }
                u.file_id = Some(file_id);
                Self::rewind(u, offset);
                let (done, total) = (u.acked, u.size);
                self.emit(FileEvent::Offered { tid });
                self.progress(tid, done, total);
                self.fill(tid, out).await;
            }
            (Req::Chunk, ServerFrame::Ok(_)) => {
                let Some(Job::Up(u)) = self.jobs.get_mut(&tid) else {
                    return;
                };
                let Some(pos) = u.inflight.iter().position(|(i, _)| *i == id) else {
                    return;
                };
                let (_, end) = u.inflight[pos];
                u.inflight.drain(..=pos);
                u.acked = u.acked.max(end);
                let (done, total) = (u.acked, u.size);
                self.progress(tid, done, total);
                self.fill(tid, out).await;
            }
            (Req::Chunk | Req::Done, ServerFrame::Error(e))
                if e.code == ErrorCode::BadRequest && e.offset.is_some() =>
            {
                let Some(Job::Up(u)) = self.jobs.get_mut(&tid) else {
                    return;
                };
                if req == Req::Chunk && !u.inflight.iter().any(|(i, _)| *i == id) {
                    // An older chunk refused after a rewind: already handled.
                    return;
                }
                Self::rewind(u, e.offset.unwrap_or(0));
                self.fill(tid, out).await;
            }
            (Req::Done, ServerFrame::Ok(ok)) => {
                if !matches!(self.jobs.get(&tid), Some(Job::Up(u)) if matches!(u.state, UpState::Finishing(i) if i == id))
                {
                    return;
                }
                self.finish(tid);
                self.emit(FileEvent::Uploaded {
                    tid,
                    msg_id: ok.msg_id,
                });
            }
            (Req::Get, ServerFrame::FileInfo { size, sha256, .. }) => {
                let Some(Job::Down(d)) = self.jobs.get_mut(&tid) else {
                    return;
                };
                if !matches!(d.state, DownState::Getting(i) if i == id) {
                    return;
                }
                d.size = size;
                d.sha256 = sha256.to_ascii_lowercase();
                if d.out.is_none() {
                    if let Err(e) = tokio::fs::create_dir_all(&d.dir).await {
                        let reason = format!("cannot create {}: {e}", d.dir.display());
                        self.fail_local(tid, reason);
                        return;
                    }
                    let opened = if d.written == 0 {
                        tokio::fs::File::create(&d.part).await
                    } else {
                        tokio::fs::OpenOptions::new()
                            .append(true)
                            .open(&d.part)
                            .await
                    };
                    match opened {
                        Ok(f) => d.out = Some(f),
                        Err(e) => {
                            let reason = format!("cannot write {}: {e}", d.part.display());
                            self.fail_local(tid, reason);
                            return;
                        }
                    }
                }
                d.state = DownState::Receiving;
                let (done, total) = (d.written, d.size);
                self.progress(tid, done, total);
                if done >= total {
                    // An empty file: file_end follows at once.
                }
            }
            (_, ServerFrame::Error(e)) => {
                if let Some(Job::Down(d)) = self.finish(tid) {
                    drop(d.out);
                    let _ = tokio::fs::remove_file(&d.part).await;
                }
                if e.code == ErrorCode::ChecksumMismatch {
                    self.emit(FileEvent::ChecksumMismatch { tid });
                } else {
                    self.emit(refused(e));
                }
            }
            _ => {}
        }
    }

    async fn data(&mut self, tid: u64, offset: u64, data: &str, out: &mut Out) {
        let Some(Job::Down(d)) = self.jobs.get_mut(&tid) else {
            return;
        };
        if offset < d.written {
            return; // already have it
        }
        if offset > d.written {
            // A gap: ask again from what is written.
            self.get(tid, out);
            return;
        }
        let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(data) else {
            self.fail_local(tid, "the server sent bad file data".to_owned());
            return;
        };
        if d.written + bytes.len() as u64 > d.size {
            self.fail_local(
                tid,
                "the server sent more bytes than the file has".to_owned(),
            );
            return;
        }
        let Some(f) = d.out.as_mut() else {
            return;
        };
        if let Err(e) = f.write_all(&bytes).await {
            let reason = format!("cannot write {}: {e}", d.part.display());
            self.fail_local(tid, reason);
            return;
        }
        d.hasher.update(&bytes);
        d.written += bytes.len() as u64;
        let (done, total) = (d.written, d.size);
        self.progress(tid, done, total);
    }

    async fn end(&mut self, tid: u64) {
        let Some(Job::Down(mut d)) = self.finish(tid) else {
            return;
        };
        if let Some(mut f) = d.out.take() {
            let flushed = async {
                f.flush().await?;
                f.sync_all().await
            }
            .await;
            if let Err(e) = flushed {
                let _ = tokio::fs::remove_file(&d.part).await;
                self.emit(FileEvent::LocalError {
                    tid,
                    reason: format!("cannot write {}: {e}", d.part.display()),
                });
                return;
            }
        }
        let sha = hex(d.hasher.finish().as_ref());
        if sha != d.sha256 || d.written != d.size {
            let _ = tokio::fs::remove_file(&d.part).await;
            self.emit(FileEvent::ChecksumMismatch { tid });
            return;
        }
        if d.size == 0 && !d.part.exists() {
            let _ = tokio::fs::write(&d.part, b"").await;
        }
        let name = safe_name(&d.file.name);
        let (part, dir) = (d.part.clone(), d.dir.clone());
        let placed = tokio::task::spawn_blocking(move || place(&part, &dir, &name)).await;
        match placed {
            Ok(Ok(path)) => self.emit(FileEvent::Saved { tid, path }),
            Ok(Err(e)) => {
                let _ = tokio::fs::remove_file(&d.part).await;
                self.emit(FileEvent::LocalError {
                    tid,
                    reason: format!("cannot save in {}: {e}", d.dir.display()),
                })
            }
            Err(e) => self.emit(FileEvent::LocalError {
                tid,
                reason: format!("saving failed: {e}"),
            }),
        }
    }
}

/// The system's opener for a file: `open` on macOS, `xdg-open` elsewhere.
pub fn opener() -> &'static str {
    if cfg!(target_os = "macos") {
        "open"
    } else if cfg!(windows) {
        "explorer"
    } else {
        "xdg-open"
    }
}

/// Runs the opener on a thread of its own; reports a failure.
fn open_with_system(path: &Path, events: &UnboundedSender<Event>) {
    let prog = opener();
    let result = std::process::Command::new(prog)
        .arg(path)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
    let failed = match result {
        Ok(s) if s.success() => return,
        Ok(s) => format!("{prog} could not open {}: {s}", path.display()),
        Err(e) => format!("cannot run {prog} to open {}: {e}", path.display()),
    };
    let _ = events.send(Event::Net(NetEvent::File(FileEvent::OpenFailed(failed))));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_numbered_before_the_extension() {
        assert_eq!(numbered("report.pdf", 0), "report.pdf");
        assert_eq!(numbered("report.pdf", 2), "report (2).pdf");
        assert_eq!(numbered("README", 1), "README (1)");
        assert_eq!(numbered(".bashrc", 1), ".bashrc (1)");
    }

    #[test]
    fn received_names_cannot_climb_out_of_the_directory() {
        assert_eq!(safe_name("../../etc/passwd"), "_._.._etc_passwd");
        assert_eq!(safe_name("a\u{1b}[2Jb"), "a_[2Jb");
        assert_eq!(safe_name(""), "file");
        assert_eq!(safe_name(".."), "_.");
    }

    #[test]
    fn placing_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.txt"), b"old").unwrap();
        let tmp = dir.path().join(".part");
        std::fs::write(&tmp, b"new").unwrap();
        let p = place(&tmp, dir.path(), "a.txt").unwrap();
        assert_eq!(p, dir.path().join("a (1).txt"));
        assert_eq!(std::fs::read(dir.path().join("a.txt")).unwrap(), b"old");
        assert_eq!(std::fs::read(&p).unwrap(), b"new");
        assert!(!tmp.exists());
    }
}

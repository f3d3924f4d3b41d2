//! File transfer (§14) as the app sees it: the commands (`/send`, `/get`,
//! `/open`, `/cancel-transfer`), the question after a file is dragged into
//! the terminal, and the state of each transfer for the progress bars.
//!
//! The work itself (hashing, reading, writing, base64, the chunk window,
//! resuming after a reconnect) is done by the network task
//! (`net::files`): the app sends `FileCommand`s and follows `FileEvent`s.

use std::path::{Path, PathBuf};

use crate::protocol::{validate_text, ChatKey, ErrorCode, ErrorFrame, FileRef};

use super::*;
use crate::client::chat::EntryKind;
use crate::client::event::{Command, FileCommand, FileEvent};
use crate::client::net::files::DEFAULT_CHUNK_BYTES;
use crate::client::sanitize::clean_line;

/// What `hello.limits` says about files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FileLimits {
    pub max_file_bytes: Option<u64>,
    pub chunk_bytes: Option<u64>,
}

/// Where a transfer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Computing the SHA-256 before the offer.
    Hashing,
    /// Offered or asked for; no byte yet in this session.
    Starting,
    Running,
}

/// One upload or download, as the progress bar shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Transfer {
    pub tid: u64,
    /// The tab it belongs to.
    pub chat: ChatKey,
    pub upload: bool,
    /// Cleaned for display.
    pub name: String,
    pub size: u64,
    pub done: u64,
    pub phase: Phase,
    /// When (ms) and at how many bytes the rate is measured from: reset
    /// when a transfer resumes after a reconnect.
    pub since: Option<(i64, u64)>,
}

/// A file dragged into the terminal, waiting for y/n.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DroppedFile {
    pub path: PathBuf,
    pub chat: ChatKey,
    pub size: u64,
}

/// A size as people read it: `512 B`, `2.4 MB` (powers of 1000).
pub fn human_size(n: u64) -> String {
    const UNITS: [&str; 5] = ["kB", "MB", "GB", "TB", "PB"];
    if n < 1000 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1000.0;
    let mut u = 0;
    while v >= 999.95 && u + 1 < UNITS.len() {
        v /= 1000.0;
        u += 1;
    }
    if v < 10.0 {
        format!("{v:.1} {}", UNITS[u])
    } else {
        format!("{v:.0} {}", UNITS[u])
    }
}

/// A limit as the server is likely to have set it: `100 MiB` when a whole
/// number of MiB (or GiB), else as `human_size`.
pub fn limit_size(n: u64) -> String {
    const MIB: u64 = 1 << 20;
    const GIB: u64 = 1 << 30;
    if n >= GIB && n.is_multiple_of(GIB) {
        format!("{} GiB", n / GIB)
    } else if n >= MIB && n.is_multiple_of(MIB) {
        format!("{} MiB", n / MIB)
    } else {
        human_size(n)
    }
}

/// Seconds as `42s`, `3m 05s`, `1h 02m`.
pub fn duration_text(secs: u64) -> String {
    if secs >= 3600 {
        format!("{}h {:02}m", secs / 3600, secs % 3600 / 60)
    } else if secs >= 60 {
        format!("{}m {:02}s", secs / 60, secs % 60)
    } else {
        format!("{secs}s")
    }
}

/// The media type for a file name, from its extension.
pub fn mime_for(name: &str) -> &'static str {
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "txt" | "log" => "text/plain",
        "md" => "text/markdown",
        "csv" => "text/csv",
        "html" | "htm" => "text/html",
        "json" => "application/json",
        "pdf" => "application/pdf",
        "zip" => "application/zip",
        "gz" | "tgz" => "application/gzip",
        "tar" => "application/x-tar",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "svg" => "image/svg+xml",
        "mp3" => "audio/mpeg",
        "ogg" => "audio/ogg",
        "wav" => "audio/wav",
        "mp4" => "video/mp4",
        "webm" => "video/webm",
        _ => "application/octet-stream",
    }
}

/// The line a file message starts with: `📎 name · size · type`.
pub fn file_line(f: &FileRef) -> String {
    format!(
        "📎 {} · {} · {}",
        clean_line(&f.name),
        human_size(f.size),
        clean_line(&f.mime)
    )
}

/// `~` and `~/…` with the home directory.
pub fn expand_tilde(path: &str) -> PathBuf {
    if path == "~" || path.starts_with("~/") {
        if let Some(home) = directories::BaseDirs::new().map(|b| b.home_dir().to_path_buf()) {
            return home.join(path.trim_start_matches('~').trim_start_matches('/'));
        }
    }
    PathBuf::from(path)
}

/// Where downloads go: `<Downloads>/tchat`, or `<data dir>/tchat/downloads`
/// where there is no download directory.
pub fn default_download_dir() -> PathBuf {
    if let Some(d) =
        directories::UserDirs::new().and_then(|u| u.download_dir().map(Path::to_path_buf))
    {
        return d.join("tchat");
    }
    match directories::BaseDirs::new() {
        Some(b) => b.data_dir().join("tchat").join("downloads"),
        None => PathBuf::from("tchat-downloads"),
    }
}

/// A bracketed paste that is exactly one existing file: a path, maybe in
/// quotes, maybe a `file://` URL (with `%20` escapes), maybe with
/// backslash-escaped spaces as terminals write dropped files.
pub fn dropped_path(text: &str) -> Option<PathBuf> {
    let t = text.trim();
    if t.is_empty() || t.contains('\n') {
        return None;
    }
    let unquoted = if t.len() >= 2
        && ((t.starts_with('\'') && t.ends_with('\'')) || (t.starts_with('"') && t.ends_with('"')))
    {
        &t[1..t.len() - 1]
    } else {
        t
    };
    let raw = if let Some(rest) = unquoted.strip_prefix("file://") {
        // file:///path or file://localhost/path
        let rest = rest.strip_prefix("localhost").unwrap_or(rest);
        percent_decode(rest)?
    } else if unquoted.contains("\\ ") {
        unquoted.replace("\\ ", " ")
    } else {
        unquoted.to_owned()
    };
    let path = expand_tilde(&raw);
    if !path.is_absolute() && !raw.starts_with('~') && !raw.starts_with('.') {
        return None;
    }
    path.is_file().then_some(path)
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Splits `/send`'s arguments into the path and the caption. A path with
/// spaces is written in quotes or with `\ `.
pub fn split_send_args(args: &str) -> (String, String) {
    let args = args.trim_start();
    if let Some(q) = args.chars().next().filter(|c| *c == '"' || *c == '\'') {
        if let Some(end) = args[1..].find(q) {
            return (
                args[1..1 + end].to_owned(),
                args[2 + end..].trim().to_owned(),
            );
        }
    }
    let mut path = String::new();
    let mut chars = args.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '\\' && chars.peek().is_some_and(|(_, n)| *n == ' ') {
            path.push(' ');
            chars.next();
        } else if c.is_whitespace() {
            return (path, args[i..].trim().to_owned());
        } else {
            path.push(c);
        }
    }
    (path, String::new())
}

/// Completions for a path being typed: entries of its directory that
/// start with its last part; directories end in `/`. `word` is what is
/// typed (`~` allowed); the results are spelled the same way.
pub fn complete_path(word: &str) -> Vec<String> {
    let (dir_part, stem) = match word.rfind('/') {
        Some(p) => (&word[..=p], &word[p + 1..]),
        None => ("", word),
    };
    let dir = if dir_part.is_empty() {
        PathBuf::from(".")
    } else {
        expand_tilde(dir_part)
    };
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut out: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_str()?.to_owned();
            if !name.starts_with(stem) || (name.starts_with('.') && !stem.starts_with('.')) {
                return None;
            }
            let is_dir = e.path().is_dir();
            Some(format!("{dir_part}{name}{}", if is_dir { "/" } else { "" }))
        })
        .take(500)
        .collect();
    out.sort();
    out
}

impl Transfer {
    /// Whole percent done.
    pub fn percent(&self) -> u64 {
        if self.size == 0 {
            return if self.phase == Phase::Running { 100 } else { 0 };
        }
        (self.done.min(self.size) as u128 * 100 / self.size as u128) as u64
    }

    /// Bytes a second since the rate's start, once a moment has passed.
    pub fn rate(&self, now_ms: i64) -> Option<f64> {
        let (t0, b0) = self.since?;
        let ms = now_ms - t0;
        (ms >= 500).then(|| (self.done.saturating_sub(b0)) as f64 * 1000.0 / ms as f64)
    }

    /// Seconds left at the current rate.
    pub fn eta_secs(&self, now_ms: i64) -> Option<u64> {
        let r = self.rate(now_ms).filter(|r| *r > 0.0)?;
        Some(((self.size.saturating_sub(self.done)) as f64 / r).ceil() as u64)
    }

    /// `↑` for an upload, `↓` for a download.
    pub fn arrow(&self) -> &'static str {
        if self.upload {
            "↑"
        } else {
            "↓"
        }
    }

    /// What the bar says after it: `42% 1.0 MB/2.4 MB 1.2 MB/s 2s left`.
    pub fn figures(&self, now_ms: i64) -> String {
        match self.phase {
            Phase::Hashing => return "checking…".to_owned(),
            Phase::Starting if self.done == 0 => return "starting…".to_owned(),
            _ => {}
        }
        let mut s = format!(
            "{}% {}/{}",
            self.percent(),
            human_size(self.done),
            human_size(self.size)
        );
        if let Some(r) = self.rate(now_ms) {
            s.push_str(&format!(" {}/s", human_size(r as u64)));
        }
        if let Some(eta) = self.eta_secs(now_ms) {
            s.push_str(&format!(" {} left", duration_text(eta)));
        }
        s
    }
}

impl App {
    /// Transfers of the tab shown.
    pub fn tab_transfers(&self) -> Vec<&Transfer> {
        match self.active_chat() {
            Some(c) => self.transfers.iter().filter(|t| t.chat == c.key).collect(),
            None => Vec::new(),
        }
    }

    fn new_tid(&mut self) -> u64 {
        self.next_tid += 1;
        self.next_tid
    }

    /// The size limit as the server said it, for messages.
    fn too_large(&self, max: u64) -> String {
        format!(
            "file too large: the server accepts up to {}",
            limit_size(max)
        )
    }

    /// `/send PATH [caption…]`.
    pub(super) fn cmd_send_file(
        &mut self,
        args: &str,
        out: &mut Vec<Command>,
    ) -> Result<(), String> {
        let (path, caption) = split_send_args(args);
        if path.is_empty() {
            return Err("usage: /send PATH [caption…]".to_owned());
        }
        let Some(chat) = self.active_chat() else {
            return Err("files are sent in a chat tab".to_owned());
        };
        if !chat.is_live() {
            return Err("this tab is closed".to_owned());
        }
        let chat = chat.key.clone();
        let path = expand_tilde(&path);
        self.offer_file(path, chat, caption, out)
    }

    /// Checks a file and starts its upload to `chat`.
    fn offer_file(
        &mut self,
        path: PathBuf,
        chat: ChatKey,
        caption: String,
        out: &mut Vec<Command>,
    ) -> Result<(), String> {
        let shown = clean_line(&path.display().to_string()).into_owned();
        let meta = std::fs::metadata(&path).map_err(|e| format!("cannot read {shown}: {e}"))?;
        if meta.is_dir() {
            return Err(format!("{shown} is a directory: send a file"));
        }
        let size = meta.len();
        if let Some(max) = self.file_limits.max_file_bytes {
            if size > max {
                return Err(self.too_large(max));
            }
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.is_empty() {
            return Err(format!("{shown} has no file name"));
        }
        let caption = if caption.is_empty() {
            None
        } else {
            validate_text(&caption).map_err(|e| format!("invalid caption: {e}"))?;
            Some(caption)
        };
        if matches!(chat, ChatKey::Public | ChatKey::Group(_)) && self.muted_now().is_some() {
            return Err(
                "not sent: you are muted in #public and groups; private chats still work"
                    .to_owned(),
            );
        }
        let tid = self.new_tid();
        let mime = mime_for(&name).to_owned();
        self.transfers.push(Transfer {
            tid,
            chat: chat.clone(),
            upload: true,
            name: clean_line(&name).into_owned(),
            size,
            done: 0,
            phase: Phase::Hashing,
            since: None,
        });
        self.info(format!(
            "sending {} ({}) to {chat}",
            clean_line(&name),
            human_size(size)
        ));
        out.push(Command::File(FileCommand::Upload {
            tid,
            chat: chat.to_string(),
            path,
            name,
            size,
            mime,
            caption,
            chunk_bytes: self.file_limits.chunk_bytes.unwrap_or(DEFAULT_CHUNK_BYTES),
        }));
        Ok(())
    }

    /// `/get`: the newest file posted in this tab.
    pub(super) fn cmd_get(&mut self, out: &mut Vec<Command>) -> Result<(), String> {
        let Some(chat) = self.active_chat() else {
            return Err("/get fetches the newest file of a chat tab".to_owned());
        };
        let found = chat.log.entries().iter().rev().find_map(|e| match &e.kind {
            EntryKind::Message { file: Some(f), .. } => Some((**f).clone()),
            _ => None,
        });
        let key = chat.key.clone();
        match found {
            Some(f) => self.fetch_file(key, f, out),
            None => Err("no file in this tab yet".to_owned()),
        }
    }

    /// Starts fetching `file` posted in `chat`.
    pub(super) fn fetch_file(
        &mut self,
        chat: ChatKey,
        file: FileRef,
        out: &mut Vec<Command>,
    ) -> Result<(), String> {
        if self
            .transfers
            .iter()
            .any(|t| !t.upload && t.chat == chat && t.name == clean_line(&file.name))
        {
            return Err(format!(
                "{} is already being fetched",
                clean_line(&file.name)
            ));
        }
        let tid = self.new_tid();
        self.transfers.push(Transfer {
            tid,
            chat,
            upload: false,
            name: clean_line(&file.name).into_owned(),
            size: file.size,
            done: 0,
            phase: Phase::Starting,
            since: None,
        });
        self.info(format!(
            "fetching {} ({}) into {}",
            clean_line(&file.name),
            human_size(file.size),
            clean_line(&self.settings.download_dir.display().to_string())
        ));
        out.push(Command::File(FileCommand::Download {
            tid,
            file,
            dir: self.settings.download_dir.clone(),
        }));
        Ok(())
    }

    /// `/open`: the last download, with the system's opener.
    pub(super) fn cmd_open(&mut self, out: &mut Vec<Command>) -> Result<(), String> {
        let Some(path) = self.last_download.clone() else {
            return Err("nothing downloaded yet: /get fetches a file".to_owned());
        };
        self.info(format!(
            "opening {}",
            clean_line(&path.display().to_string())
        ));
        out.push(Command::File(FileCommand::Open(path)));
        Ok(())
    }

    /// `/cancel-transfer`: the newest transfer of this tab.
    pub(super) fn cmd_cancel_transfer(&mut self, out: &mut Vec<Command>) -> Result<(), String> {
        let key = self.active_chat().map(|c| c.key.clone());
        let Some(t) = self
            .transfers
            .iter()
            .rev()
            .find(|t| Some(&t.chat) == key.as_ref())
        else {
            return Err("no transfer in this tab".to_owned());
        };
        let tid = t.tid;
        out.push(Command::File(FileCommand::Cancel { tid }));
        Ok(())
    }

    /// A paste: a single existing file asks whether to send it.
    pub(super) fn on_dropped(&mut self, text: &str) -> bool {
        let Some(chat) = self.active_chat() else {
            return false;
        };
        if !chat.is_live() || !chat.draft.is_empty() {
            return false;
        }
        let key = chat.key.clone();
        let Some(path) = dropped_path(text) else {
            return false;
        };
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        self.dropped = Some(DroppedFile {
            path,
            chat: key,
            size,
        });
        true
    }

    /// The question about a dropped file.
    pub fn dropped_prompt(&self) -> Option<String> {
        let d = self.dropped.as_ref()?;
        let name = d
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Some(format!(
            "send {} ({}) to {}? y/n",
            clean_line(&name),
            human_size(d.size),
            d.chat
        ))
    }

    /// The answer to the question: `y` sends, anything else does not.
    pub(super) fn on_dropped_key(&mut self, yes: bool, out: &mut Vec<Command>) {
        let Some(d) = self.dropped.take() else {
            return;
        };
        if !yes {
            self.info("not sent");
            return;
        }
        if let Err(e) = self.offer_file(d.path, d.chat, String::new(), out) {
            self.error(e);
        }
    }

    fn transfer_mut(&mut self, tid: u64) -> Option<&mut Transfer> {
        self.transfers.iter_mut().find(|t| t.tid == tid)
    }

    fn take_transfer(&mut self, tid: u64) -> Option<Transfer> {
        let i = self.transfers.iter().position(|t| t.tid == tid)?;
        Some(self.transfers.remove(i))
    }

    /// The connection was lost: rates start again when the bytes do.
    pub(super) fn transfers_paused(&mut self) {
        for t in &mut self.transfers {
            t.since = None;
            if t.phase == Phase::Running {
                t.phase = Phase::Starting;
            }
        }
    }

    /// What the network task reports about a transfer.
    pub(super) fn on_file_event(&mut self, ev: FileEvent) {
        let now = self.now_ms;
        match ev {
            FileEvent::Offered { tid } => {
                if let Some(t) = self.transfer_mut(tid) {
                    t.phase = Phase::Starting;
                    t.since = None;
                }
            }
            FileEvent::Progress { tid, done, total } => {
                if let Some(t) = self.transfer_mut(tid) {
                    t.phase = Phase::Running;
                    t.size = total;
                    if t.since.is_none() {
                        t.since = Some((now, done));
                    }
                    t.done = done;
                }
            }
            FileEvent::Uploaded { tid, .. } => {
                if let Some(t) = self.take_transfer(tid) {
                    self.info(format!("sent {} to {}", t.name, t.chat));
                }
            }
            FileEvent::Saved { tid, path } => {
                let name = self.take_transfer(tid).map(|t| t.name).unwrap_or_default();
                self.info(format!(
                    "saved {name} as {} · /open opens it",
                    clean_line(&path.display().to_string())
                ));
                self.last_download = Some(path);
            }
            FileEvent::Refused { tid, error } => {
                let t = self.take_transfer(tid);
                let what = t.map(|t| t.name).unwrap_or_default();
                let text = self.file_error_text(&error);
                self.error(format!("{what}: {text}"));
            }
            FileEvent::ChecksumMismatch { tid } => {
                let t = self.take_transfer(tid);
                let text = match t {
                    Some(t) if !t.upload => format!(
                        "checksum mismatch: {} did not arrive intact and was not kept; /get tries again",
                        t.name
                    ),
                    Some(t) => format!(
                        "checksum mismatch: the server did not get {} intact (did it change while sending?)",
                        t.name
                    ),
                    None => "checksum mismatch".to_owned(),
                };
                self.error(text);
            }
            FileEvent::LocalError { tid, reason } => {
                self.take_transfer(tid);
                self.error(clean_line(&reason).into_owned());
            }
            FileEvent::Cancelled { tid } => {
                if let Some(t) = self.take_transfer(tid) {
                    let what = if t.upload { "upload" } else { "download" };
                    self.info(format!("cancelled the {what} of {}", t.name));
                }
            }
            FileEvent::OpenFailed(reason) => self.error(clean_line(&reason).into_owned()),
        }
    }

    /// A server refusal of a transfer, plainly.
    pub fn file_error_text(&self, e: &ErrorFrame) -> String {
        match e.code {
            ErrorCode::FileTooLarge => match self.file_limits.max_file_bytes {
                Some(max) => self.too_large(max),
                None => "file too large for the server".to_owned(),
            },
            ErrorCode::QuotaExceeded => {
                "quota exceeded: your storage quota on the server is full (delete messages with files to free it)".to_owned()
            }
            ErrorCode::Muted => "you are muted here: files cannot be sent".to_owned(),
            ErrorCode::ChecksumMismatch => {
                "checksum mismatch: the file changed while it was sent".to_owned()
            }
            ErrorCode::NoSuchFile => {
                "no such file: it was deleted, or you cannot read its chat".to_owned()
            }
            _ => error_text(e, self.now_ms),
        }
    }
}

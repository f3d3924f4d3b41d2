//! What flows into `App::update` and what comes out of it.

use std::path::PathBuf;
use std::time::Duration;

use crossterm::event::{KeyEvent, MouseEvent};

use crate::protocol::{ClientFrame, ErrorFrame, FileRef, Password, ServerFrame};

use super::trust::{TlsInfo, Untrusted};

/// Everything that can change the client's state.
#[derive(Debug, Clone)]
pub enum Event {
    Key(KeyEvent),
    Mouse(MouseEvent),
    /// The terminal's new size: columns, rows.
    Resize(u16, u16),
    /// A bracketed paste: one piece of text, never a series of key presses.
    Paste(String),
    Net(NetEvent),
    /// Quit asked from outside (SIGTERM, SIGHUP).
    Terminate,
    /// Time passed with nothing else happening; sent only while the screen
    /// shows something that ages ("5m ago" in the inbox), see
    /// `App::tick_interval`.
    Tick,
}

/// What the network task reports.
#[derive(Debug, Clone)]
pub enum NetEvent {
    /// Trying to reach the server (`attempt` counts from 1).
    Connecting { attempt: u32 },
    /// Logged in at this address (`host:port`, one of the list): the
    /// status bar says where. Sent before the `welcome`.
    Connected { server: String },
    /// A frame from the server. Pongs to the task's own pings are not passed on.
    Frame(ServerFrame),
    /// The first login of a session failed; nothing will be retried.
    LoginFailed(ErrorFrame),
    /// The server could not be reached for the first login.
    ConnectFailed(String),
    /// A logged-in connection was lost; a new attempt follows in `retry_in`.
    Lost { reason: String, retry_in: Duration },
    /// Countdown to the next attempt, once a second.
    RetryIn(Duration),
    /// Gave up (e.g. the password no longer works); the user must log in.
    Offline(String),
    /// Round-trip time measured by the last ping.
    Rtt(Duration),
    /// The connection is up: encrypted (with what vouched for the
    /// certificate) or plain. Sent before the login reply.
    Transport(Option<TlsInfo>),
    /// The server's certificate was refused. Nothing is retried: the task
    /// waits for `Trust` (then connects again) or a new `Connect`.
    Untrusted(Untrusted),
    /// Something the user should know that stops nothing: a broken line in
    /// `known_servers`, a trusted certificate that could not be saved.
    Warning(String),
    /// How a file transfer goes (§14); see `net::files`.
    File(FileEvent),
}

/// What the app asks of the file transfers, which run in the network task
/// (hashing on the blocking pool): the app only keeps their state.
#[derive(Debug, Clone, PartialEq)]
pub enum FileCommand {
    /// Hash `path`, offer it to `chat`, send it in chunks, post it.
    Upload {
        tid: u64,
        chat: String,
        path: PathBuf,
        name: String,
        size: u64,
        mime: String,
        caption: Option<String>,
        /// `hello.limits.file_chunk_bytes`.
        chunk_bytes: u64,
    },
    /// Fetch a posted file into `dir` (created if missing), verified
    /// against its SHA-256, never overwriting a file there.
    Download {
        tid: u64,
        file: FileRef,
        dir: PathBuf,
    },
    /// Stop a transfer (`file_cancel` / `file_get_cancel`).
    Cancel { tid: u64 },
    /// Open a file with the system's opener, without waiting for it.
    Open(PathBuf),
}

/// What the file transfers report.
#[derive(Debug, Clone, PartialEq)]
pub enum FileEvent {
    /// The file is hashed and offered to the server.
    Offered { tid: u64 },
    /// Bytes the other side holds (upload) or written here (download).
    Progress { tid: u64, done: u64, total: u64 },
    /// An upload was posted as message `msg_id`.
    Uploaded { tid: u64, msg_id: Option<u64> },
    /// A download was verified and saved at `path`.
    Saved { tid: u64, path: PathBuf },
    /// The server refused a step.
    Refused { tid: u64, error: ErrorFrame },
    /// A download's bytes do not have the SHA-256 announced: not kept.
    ChecksumMismatch { tid: u64 },
    /// Reading or writing the file here failed.
    LocalError { tid: u64, reason: String },
    /// The transfer was cancelled as asked.
    Cancelled { tid: u64 },
    /// The system opener could not open the file.
    OpenFailed(String),
}

/// Login details the network task keeps to log in again after a reconnect.
#[derive(Debug, Clone, PartialEq)]
pub struct Credentials {
    pub server: String,
    pub user: String,
    pub password: Password,
    /// Create the account on the first attempt; reconnects always log in.
    pub register: bool,
}

/// What `App::update` asks the edges to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Connect (dropping any current connection) and log in.
    Connect(Credentials),
    /// Write a frame to the server.
    Send(ClientFrame),
    /// The user trusts this certificate for `server` (`host:port`):
    /// remember it and connect again.
    Trust {
        server: String,
        fingerprint: String,
    },
    /// Start, stop or open a file transfer (§14).
    File(FileCommand),
    /// Ring the terminal bell.
    Bell,
    /// A login as a new user succeeded: remember its server and user name
    /// (never the password) for the next start.
    Remember(super::remember::LastLogin),
    Quit,
}

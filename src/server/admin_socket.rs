//! The account command line reaching a running server.
//!
//! A server listens on a Unix socket next to its database (`<db>.admin`),
//! readable and writable by its owner only; every connection is also
//! checked to come from the same user (or root) by its peer credentials.
//! `tchat-server user ban|unban|role|passwd|unlock` connects to it when a
//! server runs on that database, so that the change takes effect at once
//! (sessions closed, `role` events sent, lockouts lifted), and works on the
//! database directly when none does. One request per connection: a line of
//! JSON each way.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot};
use tokio_util::task::TaskTracker;

use super::hub::HubCommand;
use crate::protocol::Role;

/// Longest request line the server reads (a bcrypt hash is 60 bytes).
const MAX_REQUEST_BYTES: u64 = 4096;
/// How long one connection may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// What the command line asks a running server to do.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum AdminRequest {
    Ban {
        user: String,
        minutes: Option<u64>,
    },
    Unban {
        user: String,
    },
    Role {
        user: String,
        role: Role,
    },
    /// A new password, already hashed by the command line.
    Passwd {
        user: String,
        hash: String,
    },
    Unlock {
        user: String,
    },
}

/// The server's answer: what happened, in words for the operator, or why
/// nothing did.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AdminReply {
    pub ok: bool,
    pub message: String,
    /// With a ban: when it ends (`None`: for good).
    #[serde(default)]
    pub until: Option<i64>,
}

impl AdminReply {
    pub fn done(message: impl Into<String>) -> AdminReply {
        AdminReply {
            ok: true,
            message: message.into(),
            until: None,
        }
    }

    pub fn refused(message: impl Into<String>) -> AdminReply {
        AdminReply {
            ok: false,
            message: message.into(),
            until: None,
        }
    }

    pub fn failed_to_store() -> AdminReply {
        AdminReply::refused("the server could not store that; try again")
    }
}

/// Where the socket of a server running on `db` is.
pub fn socket_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".admin");
    PathBuf::from(name)
}

/// Binds the socket for `db` (the caller holds the database's instance
/// lock, so a file left there is a dead server's and is replaced). `None`
/// with a warning when it cannot be made: the command line then works on
/// the database, and the server notices bans and new passwords within a
/// second anyway.
pub fn bind(db: &Path) -> Option<(UnixListener, PathBuf)> {
    let path = socket_path(db);
    let _ = std::fs::remove_file(&path);
    let listener = match std::os::unix::net::UnixListener::bind(&path) {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e,
                "cannot make the admin socket; the account command line will work on the database");
            return None;
        }
    };
    use std::os::unix::fs::PermissionsExt;
    if let Err(e) = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)) {
        tracing::warn!(path = %path.display(), error = %e, "cannot make the admin socket owner-only");
        let _ = std::fs::remove_file(&path);
        return None;
    }
    let _ = listener.set_nonblocking(true);
    match UnixListener::from_std(listener) {
        Ok(l) => Some((l, path)),
        Err(e) => {
            tracing::warn!(error = %e, "cannot serve the admin socket");
            let _ = std::fs::remove_file(&path);
            None
        }
    }
}

/// Serves the socket until the hub is gone.
pub async fn serve(listener: UnixListener, hub: mpsc::Sender<HubCommand>, tracker: TaskTracker) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        if hub.is_closed() {
            return;
        }
        let hub = hub.clone();
        tracker.spawn(async move {
            if let Err(e) = tokio::time::timeout(TIMEOUT, answer(stream, hub)).await {
                tracing::debug!(error = %e, "admin connection timed out");
            }
        });
    }
}

async fn answer(stream: UnixStream, hub: mpsc::Sender<HubCommand>) {
    // The socket is owner-only already; the peer's uid says so for sure.
    let me = unsafe { libc::geteuid() };
    match stream.peer_cred() {
        Ok(cred) if cred.uid() == me || cred.uid() == 0 => {}
        _ => {
            tracing::warn!("refused an admin connection from another user");
            return;
        }
    }
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    let mut reader = BufReader::new(read.take(MAX_REQUEST_BYTES));
    if reader.read_line(&mut line).await.is_err() {
        return;
    }
    let reply = match serde_json::from_str::<AdminRequest>(&line) {
        Err(e) => AdminReply {
            ok: false,
            message: format!("not an admin request: {e}"),
            until: None,
        },
        Ok(request) => {
            let (tx, rx) = oneshot::channel();
            if hub
                .send(HubCommand::Admin { request, reply: tx })
                .await
                .is_err()
            {
                return;
            }
            match rx.await {
                Ok(reply) => reply,
                Err(_) => return,
            }
        }
    };
    let mut out = serde_json::to_vec(&reply).unwrap_or_default();
    out.push(b'\n');
    let _ = write.write_all(&out).await;
    let _ = write.shutdown().await;
}

/// The command line's side: asks the server running on `db`, if one is
/// listening. `Ok(None)` when none is; an error when one is there but the
/// exchange failed.
pub fn ask(db: &Path, request: &AdminRequest) -> std::io::Result<Option<AdminReply>> {
    use std::io::{BufRead, Write};
    let path = socket_path(db);
    let mut stream = match std::os::unix::net::UnixStream::connect(&path) {
        Ok(s) => s,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            return Ok(None)
        }
        Err(e) => return Err(e),
    };
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    let mut line = serde_json::to_vec(request).map_err(std::io::Error::other)?;
    line.push(b'\n');
    stream.write_all(&line)?;
    let mut answer = String::new();
    std::io::BufReader::new(stream).read_line(&mut answer)?;
    serde_json::from_str(&answer)
        .map(Some)
        .map_err(|e| std::io::Error::other(format!("the server's answer: {e}")))
}

use tokio::io::AsyncReadExt as _;

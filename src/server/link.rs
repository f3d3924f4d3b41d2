//! The hub's handle on one connection: its outgoing queue and the switches
//! that end it.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio_util::sync::CancellationToken;

use super::outbox::Outbox;

/// Identifies one connection for the server's lifetime.
pub type SessionId = u64;

/// How the hub and the session's own tasks stop a connection.
#[derive(Debug, Default)]
pub struct SessionControl {
    /// Stops the reader; the writer then sends what is queued and closes.
    stop: CancellationToken,
    /// Abandons the queue: the writer sends only the fatal frame and closes.
    abort: CancellationToken,
    fatal: Mutex<Option<Bytes>>,
    /// How many of this session's requests, replies, logins and
    /// registrations the hub has answered (their frames are queued). The
    /// session counts what it sent; when the two agree nothing of its own
    /// is waiting in the hub, so it may queue a reply itself without
    /// overtaking one.
    pub hub_answered: std::sync::atomic::AtomicU64,
}

impl SessionControl {
    /// Ends the connection after everything already queued is written.
    pub fn close_after_drain(&self) {
        self.stop.cancel();
    }

    /// Ends the connection now, telling the peer why with `frame`, without
    /// waiting for a queue the peer is not reading.
    pub fn close_with(&self, frame: Bytes) {
        if let Ok(mut slot) = self.fatal.lock() {
            slot.get_or_insert(frame);
        }
        self.abort.cancel();
        self.stop.cancel();
    }

    pub fn stopped(&self) -> &CancellationToken {
        &self.stop
    }

    pub fn aborted(&self) -> &CancellationToken {
        &self.abort
    }

    pub fn take_fatal(&self) -> Option<Bytes> {
        self.fatal.lock().ok().and_then(|mut s| s.take())
    }
}

/// What the hub keeps to reach a session.
#[derive(Debug, Clone)]
pub struct SessionLink {
    pub outbox: Outbox,
    pub control: Arc<SessionControl>,
}

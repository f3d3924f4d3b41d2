//! The hub's handle on one connection: its outgoing queue and the switches
//! that end it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

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

/// A session's outgoing queue, bounded in bytes rather than frames: a client
/// that reads slowly through a burst keeps up eventually and must not be
/// dropped, while one that stopped reading fills the budget and is.
#[derive(Debug, Clone)]
pub struct Outbox {
    tx: mpsc::UnboundedSender<Bytes>,
    queued: Arc<AtomicUsize>,
    limit: usize,
}

/// The queue is over its budget (the peer is not reading) or closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushError {
    Full,
    Closed,
}

impl Outbox {
    /// A queue holding at most `limit` bytes, and the receiving end for the
    /// writer.
    pub fn new(limit: usize) -> (Outbox, OutboxReceiver) {
        let (tx, rx) = mpsc::unbounded_channel();
        let queued = Arc::new(AtomicUsize::new(0));
        (
            Outbox {
                tx,
                queued: queued.clone(),
                limit,
            },
            OutboxReceiver { rx, queued },
        )
    }

    pub fn push(&self, frame: Bytes) -> Result<(), PushError> {
        let len = frame.len();
        if self.queued.load(Ordering::Relaxed) + len > self.limit {
            return Err(PushError::Full);
        }
        self.queued.fetch_add(len, Ordering::Relaxed);
        self.tx.send(frame).map_err(|_| PushError::Closed)
    }
}

/// The writer's end of an [`Outbox`].
#[derive(Debug)]
pub struct OutboxReceiver {
    rx: mpsc::UnboundedReceiver<Bytes>,
    queued: Arc<AtomicUsize>,
}

impl OutboxReceiver {
    pub async fn recv(&mut self) -> Option<Bytes> {
        self.rx.recv().await
    }

    pub fn try_recv(&mut self) -> Option<Bytes> {
        self.rx.try_recv().ok()
    }

    /// `bytes` were written to the socket: they no longer count.
    pub fn written(&self, bytes: usize) {
        self.queued.fetch_sub(bytes, Ordering::Relaxed);
    }
}

/// What the hub keeps to reach a session.
#[derive(Debug, Clone)]
pub struct SessionLink {
    pub outbox: Outbox,
    pub control: Arc<SessionControl>,
}

//! A session's outgoing queue.
//!
//! Bounded in bytes rather than frames: a client that reads slowly through a
//! burst catches up and must not be dropped, while one that stopped reading
//! fills the budget and is. Queuing and waking are separate, so the hub can
//! queue a whole batch of frames and wake each writer once, instead of once
//! per frame: at a few thousand deliveries per session per second that is
//! the difference between one system call per frame and one per batch.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::sync::Notify;

use crate::protocol::{ErrorCode, ErrorFrame, ServerFrame};

/// The last word to a peer whose queue overflowed.
pub fn not_reading_frame() -> Bytes {
    ServerFrame::Error(
        ErrorFrame::new(
            None,
            ErrorCode::RateLimited,
            "you are not reading your messages; disconnected",
        )
        .fatal(),
    )
    .to_line()
}

/// The queue is over its budget (the peer is not reading) or closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushError {
    Full,
    Closed,
}

#[derive(Debug)]
struct Shared {
    queue: Mutex<VecDeque<Bytes>>,
    queued_bytes: AtomicUsize,
    limit: usize,
    wake: Notify,
    /// Signalled when the writer has written something, for a reader that
    /// waits for room before taking more requests.
    room: Notify,
    senders: AtomicUsize,
    receiver_alive: AtomicBool,
}

/// The sending side; clone it for every party that sends.
#[derive(Debug)]
pub struct Outbox {
    shared: Arc<Shared>,
}

/// The writer's side.
#[derive(Debug)]
pub struct OutboxReceiver {
    shared: Arc<Shared>,
}

impl Outbox {
    /// A queue holding at most `limit` bytes.
    pub fn new(limit: usize) -> (Outbox, OutboxReceiver) {
        let shared = Arc::new(Shared {
            queue: Mutex::new(VecDeque::new()),
            queued_bytes: AtomicUsize::new(0),
            limit,
            wake: Notify::new(),
            room: Notify::new(),
            senders: AtomicUsize::new(1),
            receiver_alive: AtomicBool::new(true),
        });
        (
            Outbox {
                shared: shared.clone(),
            },
            OutboxReceiver { shared },
        )
    }

    /// Queues a frame without waking the writer: call [`Outbox::wake`] once
    /// the batch is queued.
    pub fn push_quiet(&self, frame: Bytes) -> Result<(), PushError> {
        if !self.shared.receiver_alive.load(Ordering::Relaxed) {
            return Err(PushError::Closed);
        }
        let len = frame.len();
        if self.shared.queued_bytes.load(Ordering::Relaxed) + len > self.shared.limit {
            return Err(PushError::Full);
        }
        self.shared.queued_bytes.fetch_add(len, Ordering::Relaxed);
        match self.shared.queue.lock() {
            Ok(mut q) => {
                q.push_back(frame);
                Ok(())
            }
            Err(_) => Err(PushError::Closed),
        }
    }

    /// Lets the writer send what is queued.
    pub fn wake(&self) {
        self.shared.wake.notify_one();
    }

    /// Waits until at most `bytes` are queued. A session waits here before
    /// it reads its next request, so replies a client asked for slow down
    /// its requests instead of filling the queue; only what it did not ask
    /// for (other people's messages) can fill it, and then it is closed as a
    /// reader that stopped reading.
    pub async fn wait_until_at_most(&self, bytes: usize) {
        loop {
            let written = self.shared.room.notified();
            tokio::pin!(written);
            written.as_mut().enable();
            if self.shared.queued_bytes.load(Ordering::Acquire) <= bytes
                || !self.shared.receiver_alive.load(Ordering::Acquire)
            {
                return;
            }
            written.await;
        }
    }

    /// Bytes queued and not yet written.
    pub fn queued_bytes(&self) -> usize {
        self.shared.queued_bytes.load(Ordering::Acquire)
    }

    /// The most bytes the queue holds.
    pub fn limit(&self) -> usize {
        self.shared.limit
    }

    /// Queues a frame and wakes the writer.
    pub fn push(&self, frame: Bytes) -> Result<(), PushError> {
        self.push_quiet(frame)?;
        self.wake();
        Ok(())
    }
}

impl Clone for Outbox {
    fn clone(&self) -> Self {
        self.shared.senders.fetch_add(1, Ordering::Relaxed);
        Outbox {
            shared: self.shared.clone(),
        }
    }
}

impl Drop for Outbox {
    fn drop(&mut self) {
        if self.shared.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
            // The last sender is gone: let the writer finish and stop.
            self.shared.wake.notify_one();
        }
    }
}

impl OutboxReceiver {
    /// Waits until frames are queued and moves up to `max_frames` of them
    /// (and not much more than `max_bytes`) into `out`. Returns the bytes
    /// taken; 0 means every sender is gone and the queue is empty.
    pub async fn recv_batch(
        &mut self,
        out: &mut Vec<Bytes>,
        max_frames: usize,
        max_bytes: usize,
    ) -> usize {
        loop {
            let taken = self.take(out, max_frames, max_bytes);
            if taken > 0 {
                return taken;
            }
            if self.shared.senders.load(Ordering::Acquire) == 0 {
                return self.take(out, max_frames, max_bytes);
            }
            self.shared.wake.notified().await;
        }
    }

    /// Moves what is queued now, within the limits, without waiting.
    pub fn take(&mut self, out: &mut Vec<Bytes>, max_frames: usize, max_bytes: usize) -> usize {
        let Ok(mut q) = self.shared.queue.lock() else {
            return 0;
        };
        let mut bytes = 0;
        while out.len() < max_frames && bytes < max_bytes {
            match q.pop_front() {
                Some(frame) => {
                    bytes += frame.len();
                    out.push(frame);
                }
                None => break,
            }
        }
        if q.is_empty() && q.capacity() > 8 {
            // A burst must not pin a large ring for an idle session.
            *q = VecDeque::new();
        }
        bytes
    }

    /// `bytes` were written to the socket: they no longer count.
    pub fn written(&self, bytes: usize) {
        self.shared.queued_bytes.fetch_sub(bytes, Ordering::AcqRel);
        self.shared.room.notify_waiters();
    }
}

impl Drop for OutboxReceiver {
    fn drop(&mut self) {
        self.shared.receiver_alive.store(false, Ordering::Release);
        self.shared.room.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn quiet_pushes_are_taken_in_one_batch_after_a_wake() {
        let (tx, mut rx) = Outbox::new(1024);
        for i in 0..5u8 {
            tx.push_quiet(Bytes::from(vec![i; 10])).unwrap();
        }
        tx.wake();
        let mut out = Vec::new();
        assert_eq!(rx.recv_batch(&mut out, 64, 1 << 20).await, 50);
        assert_eq!(out.len(), 5);
        assert_eq!(out[4][0], 4);
    }

    #[tokio::test]
    async fn the_byte_budget_refuses_frames_until_written() {
        let (tx, mut rx) = Outbox::new(25);
        tx.push(Bytes::from_static(b"0123456789")).unwrap();
        tx.push(Bytes::from_static(b"0123456789")).unwrap();
        assert_eq!(
            tx.push(Bytes::from_static(b"0123456789")),
            Err(PushError::Full)
        );
        let mut out = Vec::new();
        let n = rx.recv_batch(&mut out, 64, 1 << 20).await;
        rx.written(n);
        assert!(tx.push(Bytes::from_static(b"0123456789")).is_ok());
    }

    #[tokio::test]
    async fn the_writer_ends_when_every_sender_is_gone() {
        let (tx, mut rx) = Outbox::new(1024);
        let other = tx.clone();
        tx.push(Bytes::from_static(b"last\n")).unwrap();
        drop(tx);
        drop(other);
        let mut out = Vec::new();
        assert_eq!(rx.recv_batch(&mut out, 64, 1 << 20).await, 5);
        out.clear();
        assert_eq!(rx.recv_batch(&mut out, 64, 1 << 20).await, 0);
    }

    #[tokio::test]
    async fn pushing_to_a_gone_writer_fails() {
        let (tx, rx) = Outbox::new(1024);
        drop(rx);
        assert_eq!(tx.push(Bytes::from_static(b"x")), Err(PushError::Closed));
    }
}

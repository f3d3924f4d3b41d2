//! A session's outgoing queue.
//!
//! Bounded in bytes rather than frames: a client that reads slowly through a
//! burst catches up and must not be dropped, while one that stopped reading
//! fills the budget and is. Queuing and waking are separate, so the hub can
//! queue a whole batch of frames and wake each writer once, instead of once
//! per frame: at a few thousand deliveries per session per second that is
//! the difference between one system call per frame and one per batch.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::sync::Notify;

use super::feed::Feed;
use super::link::SessionId;
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

/// What the writer has yet to take, and where it reads the feed.
#[derive(Debug, Default)]
struct State {
    /// Frames for this session alone, each with the feed position it comes
    /// after: the writer sends the feed up to there first, so the session
    /// sees everything in the order the hub produced it.
    queue: VecDeque<(u64, Bytes)>,
    /// The next feed position to read, while subscribed.
    cursor: u64,
    /// Logged in: the feed's frames are for this session.
    subscribed: bool,
}

#[derive(Debug)]
struct Shared {
    me: SessionId,
    feed: Arc<Feed>,
    state: Mutex<State>,
    /// [`State::cursor`], readable without the lock.
    cursor: AtomicU64,
    subscribed: AtomicBool,
    /// Private frames queued, plus everything taken and not yet written.
    queued_bytes: AtomicUsize,
    limit: usize,
    wake: Notify,
    /// Signalled when the writer has written something, for a reader that
    /// waits for room before taking more requests.
    room: Notify,
    senders: AtomicUsize,
    receiver_alive: AtomicBool,
}

impl Shared {
    /// Bytes waiting for this session: its own queue, what the writer has
    /// in hand, and the feed it has not read.
    fn backlog(&self) -> usize {
        let unread = if self.subscribed.load(Ordering::Acquire) {
            self.feed
                .published()
                .saturating_sub(self.cursor.load(Ordering::Acquire))
        } else {
            0
        };
        self.queued_bytes.load(Ordering::Acquire) + unread as usize
    }
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
    /// A queue for session `me` holding at most `limit` bytes, its own and
    /// the `feed`'s together.
    pub fn new(limit: usize, feed: Arc<Feed>, me: SessionId) -> (Outbox, OutboxReceiver) {
        let shared = Arc::new(Shared {
            me,
            feed,
            state: Mutex::new(State::default()),
            cursor: AtomicU64::new(0),
            subscribed: AtomicBool::new(false),
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
    /// the batch is queued. It goes out after every feed frame appended so
    /// far.
    pub fn push_quiet(&self, frame: Bytes) -> Result<(), PushError> {
        if !self.shared.receiver_alive.load(Ordering::Relaxed) {
            return Err(PushError::Closed);
        }
        let len = frame.len();
        if self.shared.backlog() + len > self.shared.limit {
            return Err(PushError::Full);
        }
        match self.shared.state.lock() {
            Ok(mut state) => {
                self.shared.queued_bytes.fetch_add(len, Ordering::Relaxed);
                state.queue.push_back((self.shared.feed.appended(), frame));
                Ok(())
            }
            Err(_) => Err(PushError::Closed),
        }
    }

    /// From now on the feed's frames are for this session: everything
    /// appended from here on. The hub calls it where the session logs in,
    /// in the order of its round.
    pub fn subscribe(&self) {
        if let Ok(mut state) = self.shared.state.lock() {
            state.subscribed = true;
            state.cursor = self.shared.feed.appended();
            self.shared.cursor.store(state.cursor, Ordering::Release);
            self.shared.subscribed.store(true, Ordering::Release);
        }
    }

    /// The session logged out: no more feed frames, not even those it has
    /// not read yet.
    pub fn unsubscribe(&self) {
        if let Ok(mut state) = self.shared.state.lock() {
            state.subscribed = false;
            self.shared.subscribed.store(false, Ordering::Release);
        }
    }

    /// The feed position this session's writer reads next, if subscribed.
    pub fn feed_cursor(&self) -> Option<u64> {
        self.shared
            .subscribed
            .load(Ordering::Acquire)
            .then(|| self.shared.cursor.load(Ordering::Acquire))
    }

    /// Whether more is waiting for this session than its budget allows.
    pub fn over_budget(&self) -> bool {
        self.shared.backlog() > self.shared.limit
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
            if self.shared.backlog() <= bytes || !self.shared.receiver_alive.load(Ordering::Acquire)
            {
                return;
            }
            written.await;
        }
    }

    /// Bytes queued (the unread feed included) and not yet written.
    pub fn queued_bytes(&self) -> usize {
        self.shared.backlog()
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
    /// Waits until frames are waiting and moves up to `max_frames` of them
    /// (and not much more than `max_bytes`) into `out`; a run of feed
    /// frames counts as one. Returns the bytes taken; 0 means every sender
    /// is gone and nothing is left.
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

    /// Moves what is waiting now, within the limits, without waiting: the
    /// feed and the private queue merged in the order the hub made them.
    pub fn take(&mut self, out: &mut Vec<Bytes>, max_frames: usize, max_bytes: usize) -> usize {
        let shared = &*self.shared;
        let Ok(mut state) = shared.state.lock() else {
            return 0;
        };
        let published = shared.feed.published();
        let mut bytes = 0;
        loop {
            let next_tag = state.queue.front().map(|(tag, _)| *tag);
            if state.subscribed {
                // The feed up to the next private frame, or all of it.
                let to = next_tag.map_or(published, |t| t.min(published));
                if state.cursor < to {
                    let taken = shared.feed.read(state.cursor, to, shared.me, out);
                    shared.queued_bytes.fetch_add(taken, Ordering::Relaxed);
                    bytes += taken;
                    state.cursor = to;
                }
            }
            if out.len() >= max_frames || bytes >= max_bytes {
                break;
            }
            match next_tag {
                // Its feed frames are not published yet (the hub is
                // mid-round): it waits for them.
                Some(tag) if state.subscribed && tag > published => break,
                Some(_) => {
                    if let Some((_, frame)) = state.queue.pop_front() {
                        bytes += frame.len();
                        out.push(frame);
                    }
                }
                None => break,
            }
        }
        if !state.subscribed {
            // Nothing in the feed is for a session that is not logged in.
            state.cursor = published;
        }
        shared.cursor.store(state.cursor, Ordering::Release);
        if state.queue.is_empty() && state.queue.capacity() > 0 {
            // An idle session keeps no ring (a few replies' worth was
            // 160 bytes of each idle session's 4.5 KiB).
            state.queue = VecDeque::new();
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
    use crate::server::feed::FeedWriter;

    fn lines(out: &[Bytes]) -> String {
        out.iter()
            .map(|b| std::str::from_utf8(b).unwrap())
            .collect()
    }

    #[test]
    fn feed_and_private_frames_come_out_in_the_order_they_were_made() {
        let mut feed = FeedWriter::new();
        let (tx, mut rx) = Outbox::new(1024, feed.feed().clone(), 1);
        tx.push_quiet(Bytes::from_static(b"hello\n")).unwrap();
        tx.subscribe();
        feed.append(b"m1\n", None);
        tx.push_quiet(Bytes::from_static(b"ok\n")).unwrap();
        feed.append(b"m2\n", None);
        let mut out = Vec::new();
        rx.take(&mut out, 64, 1 << 20);
        assert_eq!(
            lines(&out),
            "hello\n",
            "nothing after an unpublished feed frame"
        );
        feed.publish();
        tx.push_quiet(Bytes::from_static(b"later\n")).unwrap();
        out.clear();
        rx.take(&mut out, 64, 1 << 20);
        assert_eq!(lines(&out), "m1\nok\nm2\nlater\n");
    }

    #[test]
    fn a_session_gets_the_feed_from_where_it_logged_in_until_it_logs_out() {
        let mut feed = FeedWriter::new();
        let (tx, mut rx) = Outbox::new(1024, feed.feed().clone(), 1);
        feed.append(b"before\n", None);
        feed.publish();
        tx.subscribe();
        feed.append(b"during\n", None);
        feed.append(b"not for me\n", Some(1));
        feed.publish();
        let mut out = Vec::new();
        rx.take(&mut out, 64, 1 << 20);
        assert_eq!(lines(&out), "during\n");
        tx.unsubscribe();
        feed.append(b"after\n", None);
        feed.publish();
        out.clear();
        assert_eq!(rx.take(&mut out, 64, 1 << 20), 0);
    }

    #[test]
    fn unread_feed_counts_against_the_budget() {
        let mut feed = FeedWriter::new();
        let (tx, mut rx) = Outbox::new(25, feed.feed().clone(), 1);
        tx.subscribe();
        feed.append(b"0123456789012345678\n", None);
        feed.publish();
        assert!(!tx.over_budget());
        assert_eq!(tx.queued_bytes(), 20);
        assert_eq!(
            tx.push_quiet(Bytes::from_static(b"0123456789")),
            Err(PushError::Full)
        );
        feed.append(b"0123456789\n", None);
        feed.publish();
        assert!(tx.over_budget());
        let mut out = Vec::new();
        let n = rx.take(&mut out, 64, 1 << 20);
        assert_eq!(n, 31);
        rx.written(n);
        assert_eq!(tx.queued_bytes(), 0);
        assert!(!tx.over_budget());
    }

    #[tokio::test]
    async fn quiet_pushes_are_taken_in_one_batch_after_a_wake() {
        let (tx, mut rx) = Outbox::new(1024, Arc::new(Feed::default()), 1);
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
        let (tx, mut rx) = Outbox::new(25, Arc::new(Feed::default()), 1);
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
        let (tx, mut rx) = Outbox::new(1024, Arc::new(Feed::default()), 1);
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
        let (tx, rx) = Outbox::new(1024, Arc::new(Feed::default()), 1);
        drop(rx);
        assert_eq!(tx.push(Bytes::from_static(b"x")), Err(PushError::Closed));
    }
}

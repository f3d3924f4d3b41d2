//! The broadcast feed: one append-only log of the frames that go to every
//! logged-in session (public messages, presence), read by each session's
//! writer from a cursor of its own.
//!
//! Fan-out to everyone used to cost, per receiver and per frame, a queue
//! push under a lock, a reference-count increment and its decrement, and an
//! `iovec`: a room of 1000 made a million of each per second. The hub now
//! appends a frame once, into the block of its round; a writer takes the run
//! of frames since its cursor as one slice of that block, so what a session
//! costs per round no longer grows with the frames in it.
//!
//! Positions are byte offsets in the stream of everything ever appended, so
//! how far a writer lags behind is a byte count, held against the same
//! budget as its private queue.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use bytes::{Bytes, BytesMut};

use super::link::SessionId;

/// A frame in a block that one session must not get (its own presence).
#[derive(Debug, Clone, Copy)]
struct Except {
    /// Where the frame starts, as a feed position.
    start: u64,
    end: u64,
    session: SessionId,
}

/// One round's frames, published together.
#[derive(Debug)]
struct Block {
    start: u64,
    bytes: Bytes,
    excepts: Vec<Except>,
}

impl Block {
    fn end(&self) -> u64 {
        self.start + self.bytes.len() as u64
    }
}

#[derive(Debug, Default)]
struct Log {
    /// Published blocks not yet read by every subscribed writer, oldest
    /// first.
    blocks: VecDeque<Block>,
}

/// What writers read. Shared by the hub's [`FeedWriter`] and every session.
#[derive(Debug, Default)]
pub struct Feed {
    log: RwLock<Log>,
    /// Where the next appended frame starts (published or not): the
    /// position a frame queued privately now is ordered after.
    appended: AtomicU64,
    /// Everything before this position may be read.
    published: AtomicU64,
}

impl Feed {
    /// The end of what the hub has appended, published or not.
    pub fn appended(&self) -> u64 {
        self.appended.load(Ordering::Acquire)
    }

    /// The end of what writers may read.
    pub fn published(&self) -> u64 {
        self.published.load(Ordering::Acquire)
    }

    /// Appends to `out` the frames in `[from, to)` that are for `me`, as
    /// slices of the shared blocks (one per run of frames). Returns the
    /// bytes taken. `to` must not be past [`Feed::published`].
    ///
    /// A range older than the oldest block kept is skipped: the hub keeps
    /// every block a subscribed writer has not read, so only a writer that
    /// was not subscribed can be that far behind, and nothing there was for
    /// it.
    pub fn read(&self, from: u64, to: u64, me: SessionId, out: &mut Vec<Bytes>) -> usize {
        if from >= to {
            return 0;
        }
        let Ok(log) = self.log.read() else {
            return 0;
        };
        let first = log.blocks.partition_point(|b| b.end() <= from);
        let mut taken = 0;
        for block in log.blocks.range(first..) {
            if block.start >= to {
                break;
            }
            let mut at = from.max(block.start);
            let end = to.min(block.end());
            for except in block.excepts.iter().filter(|e| e.session == me) {
                if except.end <= at || except.start >= end {
                    continue;
                }
                taken += push_slice(block, at, except.start, out);
                at = except.end;
            }
            taken += push_slice(block, at, end, out);
        }
        taken
    }
}

/// Pushes `[from, to)` of `block` (feed positions) if it is not empty.
fn push_slice(block: &Block, from: u64, to: u64, out: &mut Vec<Bytes>) -> usize {
    if from >= to {
        return 0;
    }
    let a = (from - block.start) as usize;
    let b = (to - block.start) as usize;
    out.push(block.bytes.slice(a..b));
    b - a
}

/// The hub's side: appends during a round, publishes at its end, and
/// forgets what every subscribed writer has read.
#[derive(Debug)]
pub struct FeedWriter {
    feed: Arc<Feed>,
    pending: BytesMut,
    excepts: Vec<Except>,
    /// Where `pending` starts.
    start: u64,
}

impl FeedWriter {
    pub fn new() -> FeedWriter {
        FeedWriter {
            feed: Arc::new(Feed::default()),
            pending: BytesMut::new(),
            excepts: Vec::new(),
            start: 0,
        }
    }

    /// The feed the sessions read.
    pub fn feed(&self) -> &Arc<Feed> {
        &self.feed
    }

    /// Appends a frame for every subscribed session but `except`.
    pub fn append(&mut self, frame: &[u8], except: Option<SessionId>) {
        let start = self.start + self.pending.len() as u64;
        self.pending.extend_from_slice(frame);
        let end = start + frame.len() as u64;
        if let Some(session) = except {
            self.excepts.push(Except {
                start,
                end,
                session,
            });
        }
        self.feed.appended.store(end, Ordering::Release);
    }

    /// Lets writers read what was appended. Whether there was anything.
    pub fn publish(&mut self) -> bool {
        if self.pending.is_empty() {
            return false;
        }
        let bytes = std::mem::take(&mut self.pending).freeze();
        let block = Block {
            start: self.start,
            excepts: std::mem::take(&mut self.excepts),
            bytes,
        };
        let end = block.end();
        if let Ok(mut log) = self.feed.log.write() {
            log.blocks.push_back(block);
        }
        self.start = end;
        self.feed.published.store(end, Ordering::Release);
        true
    }

    /// Drops the blocks that end at or before `oldest_cursor`, the lowest
    /// cursor of any subscribed writer (or the published end if none).
    pub fn forget_before(&mut self, oldest_cursor: u64) {
        let Ok(mut log) = self.feed.log.write() else {
            return;
        };
        while log.blocks.front().is_some_and(|b| b.end() <= oldest_cursor) {
            log.blocks.pop_front();
        }
    }

    /// Blocks kept, for tests.
    #[cfg(test)]
    fn blocks_kept(&self) -> usize {
        self.feed.log.read().map_or(0, |l| l.blocks.len())
    }
}

impl Default for FeedWriter {
    fn default() -> Self {
        FeedWriter::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(out: &[Bytes]) -> String {
        out.iter()
            .map(|b| std::str::from_utf8(b).unwrap())
            .collect::<Vec<_>>()
            .join("|")
    }

    #[test]
    fn a_round_is_read_as_one_slice() {
        let mut w = FeedWriter::new();
        w.append(b"a\n", None);
        w.append(b"b\n", None);
        assert_eq!(
            w.feed().published(),
            0,
            "nothing is readable before publish"
        );
        assert!(w.publish());
        let mut out = Vec::new();
        assert_eq!(w.feed().read(0, w.feed().published(), 1, &mut out), 4);
        assert_eq!(text(&out), "a\nb\n");
    }

    #[test]
    fn a_frame_excepting_a_session_is_cut_out_for_it_alone() {
        let mut w = FeedWriter::new();
        w.append(b"a\n", None);
        w.append(b"me\n", Some(7));
        w.append(b"b\n", None);
        w.publish();
        let end = w.feed().published();
        let mut mine = Vec::new();
        w.feed().read(0, end, 7, &mut mine);
        assert_eq!(text(&mine), "a\n|b\n");
        let mut other = Vec::new();
        w.feed().read(0, end, 8, &mut other);
        assert_eq!(text(&other), "a\nme\nb\n");
    }

    #[test]
    fn reads_span_blocks_and_start_mid_block() {
        let mut w = FeedWriter::new();
        w.append(b"a\n", None);
        w.append(b"b\n", None);
        w.publish();
        w.append(b"c\n", None);
        w.publish();
        let mut out = Vec::new();
        assert_eq!(w.feed().read(2, w.feed().published(), 1, &mut out), 4);
        assert_eq!(text(&out), "b\n|c\n");
    }

    #[test]
    fn blocks_every_cursor_passed_are_forgotten() {
        let mut w = FeedWriter::new();
        w.append(b"a\n", None);
        w.publish();
        w.append(b"b\n", None);
        w.publish();
        w.forget_before(1);
        assert_eq!(w.blocks_kept(), 2, "a cursor inside a block keeps it");
        w.forget_before(2);
        assert_eq!(w.blocks_kept(), 1);
        let mut out = Vec::new();
        w.feed().read(2, 4, 1, &mut out);
        assert_eq!(text(&out), "b\n");
    }

    #[test]
    fn appended_runs_ahead_of_published_until_the_round_ends() {
        let mut w = FeedWriter::new();
        w.append(b"abc\n", None);
        assert_eq!(w.feed().appended(), 4);
        assert_eq!(w.feed().published(), 0);
        assert!(w.publish());
        assert!(!w.publish(), "an empty round publishes nothing");
        assert_eq!(w.feed().published(), 4);
    }
}

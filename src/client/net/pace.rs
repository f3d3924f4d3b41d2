//! The outgoing side of a session: a token bucket and the queue it drains.
//!
//! The contract (§10) refuses frames over 20/s sustained with bursts of 40
//! and closes a session that floods. The client stays under that by
//! itself: every frame waits in `Outbox` for a token from `Pacer` and goes
//! out in the order it was handed over. A `mark_read` still waiting is
//! updated in place rather than queued again, so reading a busy chat costs
//! one frame per chat, not one per message. Frames with an `id` are kept
//! until their reply so that one refused with `rate_limited` can be sent
//! again at its place in the order, after `retry_after_ms`.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use tokio::time::Instant;

use crate::protocol::{ClientFrame, ErrorFrame, Request, ServerFrame};

/// How many times one frame is sent again after `rate_limited`.
pub const MAX_RETRIES: u32 = 3;
/// The longest `retry_after_ms` worth waiting for; a longer one (or a
/// hostile `u64::MAX`) fails the frame at once instead.
pub const MAX_RETRY_WAIT: Duration = Duration::from_secs(10);
/// The wait when `rate_limited` gives none.
const DEFAULT_RETRY_WAIT: Duration = Duration::from_secs(1);
/// Sent frames remembered for a retry. Beyond this (a server that never
/// answers) new frames are still sent, just not retried.
const MAX_IN_FLIGHT: usize = 1024;

/// A token bucket: `per_sec` tokens a second, at most `burst` saved up.
#[derive(Debug, Clone)]
pub struct Pacer {
    per_sec: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
    /// The server asked for a pause: nothing is sent before this.
    paused_until: Option<Instant>,
}

impl Pacer {
    /// A full bucket. A rate of 0 is taken as 1 (never "unlimited").
    pub fn new(per_sec: u32, burst: u32) -> Pacer {
        let burst = f64::from(burst.max(1));
        Pacer {
            per_sec: f64::from(per_sec.max(1)),
            burst,
            tokens: burst,
            last: Instant::now(),
            paused_until: None,
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_sec).min(self.burst);
        self.last = now;
    }

    /// Takes a token if one is there (and no pause is on).
    pub fn try_take(&mut self, now: Instant) -> bool {
        if self.paused_until.is_some_and(|t| now < t) {
            return false;
        }
        self.paused_until = None;
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// When the next token can be taken.
    pub fn ready_at(&mut self, now: Instant) -> Instant {
        self.refill(now);
        let wait = ((1.0 - self.tokens).max(0.0) / self.per_sec).min(1.0);
        let token = now + Duration::from_secs_f64(wait);
        match self.paused_until {
            Some(p) if p > token => p,
            _ => token,
        }
    }

    /// Sends nothing for `wait` (at most `MAX_RETRY_WAIT`); the bucket is
    /// empty afterwards, as the server's is.
    pub fn pause(&mut self, now: Instant, wait: Duration) {
        let until = now + wait.min(MAX_RETRY_WAIT);
        self.paused_until = Some(self.paused_until.map_or(until, |p| p.max(until)));
        self.tokens = 0.0;
        self.last = until;
    }
}

/// A frame waiting to be sent, and how often it was refused.
#[derive(Debug, Clone)]
struct Queued {
    frame: ClientFrame,
    retries: u32,
}

/// Frames waiting for the pacer, in order, and those sent and not yet
/// answered.
#[derive(Debug, Default)]
pub struct Outbox {
    /// By sequence number: the order the app handed them over.
    queue: BTreeMap<u64, Queued>,
    next_seq: u64,
    /// Chat → sequence number of its `mark_read` still in the queue.
    marks: HashMap<String, u64>,
    /// Frame id → (sequence number, frame, retries) of sent frames.
    in_flight: HashMap<u64, (u64, Queued)>,
}

impl Outbox {
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Queues a frame from the app.
    pub fn push(&mut self, frame: ClientFrame) {
        if let (None, Request::MarkRead { chat, msg_id }) = (frame.id, &frame.request) {
            if let Some(seq) = self.marks.get(chat) {
                if let Some(Queued {
                    frame:
                        ClientFrame {
                            request: Request::MarkRead { msg_id: queued, .. },
                            ..
                        },
                    ..
                }) = self.queue.get_mut(seq)
                {
                    *queued = (*queued).max(*msg_id);
                    return;
                }
            }
            self.marks.insert(chat.clone(), self.next_seq);
        }
        self.queue
            .insert(self.next_seq, Queued { frame, retries: 0 });
        self.next_seq += 1;
    }

    /// The next frame to send, if the pacer gives a token for it.
    pub fn pop_ready(&mut self, pacer: &mut Pacer, now: Instant) -> Option<ClientFrame> {
        if self.queue.is_empty() || !pacer.try_take(now) {
            return None;
        }
        let (seq, queued) = self.queue.pop_first()?;
        if let Request::MarkRead { chat, .. } = &queued.frame.request {
            if self.marks.get(chat) == Some(&seq) {
                self.marks.remove(chat);
            }
        }
        let frame = queued.frame.clone();
        if let Some(id) = frame.id {
            if self.in_flight.len() < MAX_IN_FLIGHT {
                self.in_flight.insert(id, (seq, queued));
            }
        }
        Some(frame)
    }

    /// A reply arrived for `id`: nothing more to retry.
    pub fn answered(&mut self, id: u64) {
        self.in_flight.remove(&id);
    }

    /// A `rate_limited` refusal: puts the frame back at its place and
    /// pauses the pacer for `retry_after_ms`. False (the app must be told)
    /// when the frame is not ours to retry, was retried enough, or the
    /// wait asked for is unreasonable.
    pub fn retry(&mut self, e: &ErrorFrame, pacer: &mut Pacer, now: Instant) -> bool {
        let Some(id) = e.id else { return false };
        let Some((seq, mut queued)) = self.in_flight.remove(&id) else {
            return false;
        };
        let wait = e
            .retry_after_ms
            .map_or(DEFAULT_RETRY_WAIT, Duration::from_millis);
        if queued.retries >= MAX_RETRIES || wait > MAX_RETRY_WAIT {
            return false;
        }
        queued.retries += 1;
        pacer.pause(now, wait);
        self.queue.insert(seq, queued);
        true
    }
}

/// The request id a server frame answers, if it is a reply.
pub fn reply_id(frame: &ServerFrame) -> Option<u64> {
    match frame {
        ServerFrame::Welcome(w) => Some(w.id),
        ServerFrame::Ok(ok) => Some(ok.id),
        ServerFrame::Error(e) => e.id,
        ServerFrame::Who { id, .. } | ServerFrame::Pong { id } => Some(*id),
        ServerFrame::History(page) => Some(page.id),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::ErrorCode;

    fn mark(chat: &str, msg_id: u64) -> ClientFrame {
        ClientFrame {
            id: None,
            request: Request::MarkRead {
                chat: chat.into(),
                msg_id,
            },
        }
    }

    fn send(id: u64) -> ClientFrame {
        ClientFrame {
            id: Some(id),
            request: Request::Send {
                chat: "#public".into(),
                text: format!("m{id}"),
            },
        }
    }

    #[test]
    fn the_bucket_gives_the_burst_then_the_rate() {
        let mut p = Pacer::new(15, 30);
        let now = Instant::now();
        assert_eq!((0..40).filter(|_| p.try_take(now)).count(), 30);
        let later = now + Duration::from_secs(2);
        assert_eq!((0..40).filter(|_| p.try_take(later)).count(), 30);
        assert!(p.ready_at(later) > later);
        p.pause(later, Duration::MAX);
        assert!(!p.try_take(later + Duration::from_secs(1)));
        assert!(p.try_take(later + MAX_RETRY_WAIT + Duration::from_secs(1)));
    }

    #[test]
    fn waiting_mark_reads_are_merged_and_order_is_kept() {
        let mut out = Outbox::default();
        let mut p = Pacer::new(1, 1);
        let now = Instant::now();
        out.push(send(1));
        out.push(mark("#public", 5));
        out.push(send(2));
        out.push(mark("#public", 9));
        out.push(mark("@Bob", 3));
        out.push(mark("#public", 7));
        let mut sent = Vec::new();
        let mut t = now;
        while !out.is_empty() {
            t += Duration::from_secs(1);
            sent.extend(out.pop_ready(&mut p, t));
        }
        assert_eq!(
            sent,
            [send(1), mark("#public", 9), send(2), mark("@Bob", 3)]
        );
    }

    #[test]
    fn a_refused_frame_goes_back_to_its_place_a_few_times_at_most() {
        let mut out = Outbox::default();
        let mut p = Pacer::new(100, 100);
        let now = Instant::now();
        out.push(send(1));
        out.push(send(2));
        assert_eq!(out.pop_ready(&mut p, now), Some(send(1)));
        let refused = ErrorFrame::new(Some(1), ErrorCode::RateLimited, "slow").retry_after(500);
        assert!(out.retry(&refused, &mut p, now));
        assert_eq!(out.pop_ready(&mut p, now), None, "paused");
        let later = now + Duration::from_millis(600);
        assert_eq!(out.pop_ready(&mut p, later), Some(send(1)), "first again");
        for n in 1..MAX_RETRIES {
            assert!(out.retry(&refused, &mut p, later), "retry {n}");
            assert_eq!(
                out.pop_ready(&mut p, later + Duration::from_secs(n.into())),
                Some(send(1))
            );
        }
        assert!(!out.retry(&refused, &mut p, later), "given up");
        let hostile = ErrorFrame::new(Some(2), ErrorCode::RateLimited, "x").retry_after(u64::MAX);
        let t = later + Duration::from_secs(60);
        assert_eq!(out.pop_ready(&mut p, t), Some(send(2)));
        assert!(!out.retry(&hostile, &mut p, t));
    }
}

//! Transfers give way to chat. On a server whose core is saturated, a
//! file moving at full speed delays every delivery behind it (a busy room's
//! p99 doubled with a download running). The hub says when a round had
//! many sessions to wake; for a short while after, each transfer waits a
//! moment before its next chunk, so the deliveries get the core first.
//! With no chat to deliver, transfers run at full speed.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long a busy round keeps transfers paced.
const BUSY_FOR: Duration = Duration::from_millis(30);

/// The pause while paced, once every [`CHUNKS_PER_PAUSE`] chunks of all
/// transfers together: at 32 KiB a chunk, about 130 MB/s for all the
/// server's transfers while a room is busy (1 ms is the timer's grain).
const PAUSE: Duration = Duration::from_millis(1);
const CHUNKS_PER_PAUSE: u32 = 8;

/// Shared by the hub (which marks busy rounds) and the transfers.
#[derive(Debug)]
pub struct TransferPacing {
    epoch: Instant,
    /// Until when transfers are paced, in nanoseconds since `epoch`.
    busy_until_ns: AtomicU64,
    /// Chunks that went by while paced.
    chunks: AtomicU32,
}

impl Default for TransferPacing {
    fn default() -> Self {
        TransferPacing {
            epoch: Instant::now(),
            busy_until_ns: AtomicU64::new(0),
            chunks: AtomicU32::new(0),
        }
    }
}

impl TransferPacing {
    fn now_ns(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }

    /// A round just had many sessions to wake.
    pub fn deliveries_busy(&self) {
        let until = self.now_ns() + BUSY_FOR.as_nanos() as u64;
        self.busy_until_ns.fetch_max(until, Ordering::Relaxed);
    }

    /// Whether transfers should give way now.
    pub fn is_busy(&self) -> bool {
        self.busy_until_ns.load(Ordering::Relaxed) > self.now_ns()
    }

    /// Before a transfer's next chunk: now and then a short pause, while
    /// chat is busy.
    pub async fn give_way(&self) {
        if self.is_busy()
            && self
                .chunks
                .fetch_add(1, Ordering::Relaxed)
                .is_multiple_of(CHUNKS_PER_PAUSE)
        {
            tokio::time::sleep(PAUSE).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_round_paces_transfers_for_a_while_only() {
        let pacing = TransferPacing::default();
        assert!(!pacing.is_busy());
        pacing.deliveries_busy();
        assert!(pacing.is_busy());
        std::thread::sleep(BUSY_FOR + Duration::from_millis(5));
        assert!(!pacing.is_busy());
    }
}

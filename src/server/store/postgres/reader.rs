//! Connections that read history pages beside the hub.
//!
//! A connection kept idle in the pool may have died meanwhile (PostgreSQL
//! restarted, a network cut, an idle timeout): one that is known closed is
//! replaced before use, one idle for a while is asked whether it still
//! answers, and a page whose read fails because the connection is gone is
//! read again once on a new connection. So a restarted PostgreSQL costs no
//! failed page and leaves no dead connection in the pool.

use std::time::{Duration, Instant};

use super::super::location::PgUrl;
use super::super::{ChatId, HistoryDirection, StoreError, StoredMessage};
use super::{connection_lost, history_page, PgConn};

/// Idle longer than this, a connection is checked before it is used.
const CHECK_AFTER_IDLE: Duration = Duration::from_secs(10);
/// How long that check may take.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// One reading connection.
pub struct PgReader {
    conn: PgConn,
    last_used: Instant,
}

impl PgReader {
    pub fn open(url: &PgUrl) -> Result<PgReader, StoreError> {
        let mut conn = PgConn::connect(url)?;
        // Pages only read: a statement that would write fails.
        conn.client()
            .batch_execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")?;
        Ok(PgReader {
            conn,
            last_used: Instant::now(),
        })
    }

    /// Whether the connection may be used again: not known closed, and
    /// answering if it was idle for a while.
    pub fn usable(&mut self) -> bool {
        if self.conn.is_closed() {
            return false;
        }
        self.last_used.elapsed() < CHECK_AFTER_IDLE
            || self.conn.client().is_valid(CHECK_TIMEOUT).is_ok()
    }

    /// As [`Store::history`](super::super::Store::history).
    pub fn history(
        &mut self,
        chat: ChatId,
        direction: HistoryDirection,
        limit: u32,
    ) -> Result<(Vec<StoredMessage>, bool), StoreError> {
        self.last_used = Instant::now();
        match history_page(&mut self.conn, chat, direction, limit) {
            Ok(page) => Ok(page),
            Err(e) if self.conn.is_closed() || connection_lost(&e) => {
                tracing::debug!(error = %e, "a history connection was lost; reconnecting");
                let url = self.conn.url.clone();
                *self = PgReader::open(&url)?;
                Ok(history_page(&mut self.conn, chat, direction, limit)?)
            }
            Err(e) => Err(e.into()),
        }
    }
}

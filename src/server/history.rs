//! History pages, served beside the hub.
//!
//! The hub only checks that the reader may see the chat and turns the
//! request into a [`HistoryJob`]; the page itself is read here, on the
//! blocking pool with connections of its own, so a burst of history
//! requests never delays the loop that orders and commits messages. A
//! session has at most one page in the making (it reads its next request
//! only once the page is queued), so the memory pages can take is bounded
//! by the number of sessions times one page, and by the readers' permits.

use std::sync::Mutex;

use bytes::Bytes;
use tokio::sync::Semaphore;

use super::store::{ChatId, DbLocation, HistoryDirection, Reader, StoreError};
use crate::protocol::{
    ChatKey, HistoryPage, Message, ServerFrame, UserName, MAX_SERVER_FRAME_BYTES,
};

/// Pages read at once; more wait for a permit. Readers do not block each
/// other (SQLite's WAL, PostgreSQL's snapshots), so this is about CPU and
/// memory, not locking; it is also the most connections the pool keeps.
const READERS: usize = 2;

/// A history request the hub has checked: what to read and for whom.
#[derive(Debug, Clone)]
pub struct HistoryJob {
    pub id: u64,
    pub chat: ChatId,
    /// The chat as the requester knows it (`@Partner` is per reader).
    pub key: ChatKey,
    pub direction: HistoryDirection,
    pub limit: u32,
}

/// Reads history pages on the blocking pool, with a small pool of
/// connections of its own.
pub struct HistoryReader {
    db: DbLocation,
    idle: Mutex<Vec<Reader>>,
    permits: Semaphore,
}

impl HistoryReader {
    pub fn new(db: &DbLocation) -> HistoryReader {
        HistoryReader {
            db: db.clone(),
            idle: Mutex::new(Vec::new()),
            permits: Semaphore::new(READERS),
        }
    }

    /// The encoded `history` reply for `job`.
    pub async fn page(&self, job: HistoryJob) -> Result<Bytes, StoreError> {
        let _permit = self.permits.acquire().await.ok();
        let idle = self.idle.lock().ok().and_then(|mut v| v.pop());
        let db = self.db.clone();
        let (reader, page) = tokio::task::spawn_blocking(move || {
            // A PostgreSQL connection kept idle may have died meanwhile
            // (a restart): it is checked, and replaced if it did.
            let mut reader = match idle {
                Some(mut r) => {
                    if r.usable() {
                        r
                    } else {
                        Reader::open(&db)?
                    }
                }
                None => Reader::open(&db)?,
            };
            let page = read_page(&mut reader, job);
            Ok::<_, StoreError>((reader, page))
        })
        .await
        .map_err(|_| StoreError::Closed)??;
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(reader);
        }
        page
    }
}

fn read_page(reader: &mut Reader, job: HistoryJob) -> Result<Bytes, StoreError> {
    let (stored, mut more) = reader.history(job.chat, job.direction, job.limit)?;
    let mut messages = Vec::with_capacity(stored.len());
    for m in stored {
        // A stored name always follows the rules; one that somehow does
        // not is skipped rather than sent malformed.
        let Ok(from) = UserName::parse(&m.sender_name) else {
            continue;
        };
        messages.push(Message {
            chat: job.key.clone(),
            msg_id: m.id,
            ts: m.ts,
            from,
            text: m.text,
            deleted: m.deleted,
            file: m.file,
        });
    }
    // 200 messages of escaped text can exceed the 1 MiB frame limit: keep
    // the part nearest the anchor and say there is more.
    if fit_page(&mut messages, job.direction) {
        more = true;
    }
    Ok(ServerFrame::History(HistoryPage {
        id: job.id,
        chat: job.key,
        messages,
        more,
    })
    .to_line())
}

/// Room for the page's own fields around its messages.
const PAGE_OVERHEAD: usize = 512;

/// Trims a history page to fit in one server frame, dropping messages
/// farthest from the anchor; whether anything was dropped.
pub fn fit_page(messages: &mut Vec<Message>, direction: HistoryDirection) -> bool {
    let budget = MAX_SERVER_FRAME_BYTES - PAGE_OVERHEAD;
    let sizes: Vec<usize> = messages
        .iter()
        .map(|m| serde_json::to_vec(m).map_or(budget, |v| v.len() + 20))
        .collect();
    if sizes.iter().sum::<usize>() <= budget {
        return false;
    }
    let mut used = 0;
    let mut fits = |s: &usize| {
        used += *s;
        used <= budget
    };
    match direction {
        // Newest below the anchor matter most: keep from the end.
        HistoryDirection::Before(_) => {
            let keep = sizes.iter().rev().take_while(|s| fits(s)).count();
            messages.drain(..messages.len() - keep);
        }
        HistoryDirection::After(_) => {
            let keep = sizes.iter().take_while(|s| fits(s)).count();
            messages.truncate(keep);
        }
    }
    true
}

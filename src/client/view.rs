//! Which rows of a chat are on screen.
//!
//! The view is anchored at its bottom row: `None` follows the newest
//! message; `Some(anchor)` pins the row `offset` rows above the bottom of
//! entry `key`. Anchoring by key rather than index keeps the view still when
//! older history is inserted above it or new messages arrive below. Every
//! function here touches only the entries near the view, so a chat with
//! 100 000 messages costs what a chat with 30 does.

use super::chat::{ChatLog, EntryKey};
use super::time;

/// The bottom row of a scrolled-up view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Anchor {
    pub key: EntryKey,
    /// Rows of that entry's block hidden below the view.
    pub offset: usize,
}

/// What the view needs to know about the screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    pub width: u16,
    pub height: u16,
    pub clock_width: u16,
    pub utc_offset: i32,
}

/// One screen row of a chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Row {
    /// The day changes before entry `idx`.
    Day(usize),
    /// "new messages" before entry `idx`.
    Marker(usize),
    /// Row `row` of entry `idx`'s wrapped text.
    Text { idx: usize, row: usize },
}

/// The rows of one chat log, with the unread marker position.
pub struct ChatView<'a> {
    pub log: &'a ChatLog,
    /// Messages with a larger id are new.
    pub marker_after: Option<u64>,
    pub geo: Geometry,
}

impl ChatView<'_> {
    fn has_day(&self, i: usize) -> bool {
        let e = self.log.entries();
        let off = self.geo.utc_offset;
        i == 0 || time::day_of(e[i].ts, off) != time::day_of(e[i - 1].ts, off)
    }

    fn has_marker(&self, i: usize) -> bool {
        let Some(m) = self.marker_after else {
            return false;
        };
        let e = self.log.entries();
        e[i].msg_id().is_some_and(|id| id > m) && (i == 0 || e[i - 1].key.0 <= m)
    }

    /// Rows of entry `i` including its day line and marker.
    pub fn block_height(&self, i: usize) -> usize {
        usize::from(self.has_day(i))
            + usize::from(self.has_marker(i))
            + self.log.entries()[i].height(self.geo.width, self.geo.clock_width)
    }

    /// The rows of entry `i`'s block, top to bottom.
    fn block(&self, i: usize) -> Vec<Row> {
        let mut rows = Vec::new();
        if self.has_day(i) {
            rows.push(Row::Day(i));
        }
        if self.has_marker(i) {
            rows.push(Row::Marker(i));
        }
        let h = self.log.entries()[i].height(self.geo.width, self.geo.clock_width);
        rows.extend((0..h).map(|row| Row::Text { idx: i, row }));
        rows
    }

    /// Resolves an anchor to (entry index, offset), clamped to the log.
    fn resolve(&self, anchor: Option<Anchor>) -> Option<(usize, usize)> {
        let len = self.log.len();
        if len == 0 {
            return None;
        }
        match anchor {
            None => Some((len - 1, 0)),
            Some(a) => {
                let i = self.log.index_of(a.key).min(len - 1);
                let off = a.offset.min(self.block_height(i).saturating_sub(1));
                Some((i, off))
            }
        }
    }

    /// The rows in view, top to bottom, and whether the top of the log is
    /// in view (time to load older history).
    pub fn visible(&self, anchor: Option<Anchor>) -> (Vec<Row>, bool) {
        let height = usize::from(self.geo.height);
        let Some((mut i, off)) = self.resolve(anchor) else {
            return (Vec::new(), true);
        };
        let mut out: Vec<Row> = Vec::with_capacity(height);
        let mut skip = off;
        loop {
            let block = self.block(i);
            for row in block.iter().rev() {
                if skip > 0 {
                    skip -= 1;
                    continue;
                }
                if out.len() == height {
                    out.reverse();
                    return (out, false);
                }
                out.push(*row);
            }
            if i == 0 {
                out.reverse();
                return (out, true);
            }
            i -= 1;
        }
    }

    /// Scrolls `n` rows towards older messages, never past the top.
    pub fn scroll_up(&self, anchor: Option<Anchor>, n: usize) -> Option<Anchor> {
        let (mut i, mut off) = self.resolve(anchor)?;
        off += n;
        loop {
            let h = self.block_height(i);
            if off < h {
                break;
            }
            if i == 0 {
                off = h.saturating_sub(1);
                break;
            }
            off -= h;
            i -= 1;
        }
        // Keep the view full: the rows from the log's top down to the
        // anchored bottom row must be at least a screen.
        let height = usize::from(self.geo.height);
        let mut avail = self.block_height(i) - off;
        let mut j = i;
        while avail < height && j > 0 {
            j -= 1;
            avail += self.block_height(j);
        }
        let anchor = Some(Anchor {
            key: self.log.entries()[i].key,
            offset: off,
        });
        if avail < height {
            self.scroll_down(anchor, height - avail)
        } else {
            anchor
        }
    }

    /// Scrolls `n` rows towards newer messages; `None` once at the bottom.
    pub fn scroll_down(&self, anchor: Option<Anchor>, n: usize) -> Option<Anchor> {
        anchor?;
        let (mut i, off) = self.resolve(anchor)?;
        let len = self.log.len();
        let mut off = off as isize - n as isize;
        while off < 0 {
            i += 1;
            if i >= len {
                return None;
            }
            off += self.block_height(i) as isize;
        }
        if i == len - 1 && off == 0 {
            return None;
        }
        Some(Anchor {
            key: self.log.entries()[i].key,
            offset: off as usize,
        })
    }

    /// The anchor that shows the top of the log: its first row at the top
    /// of the view, even when the first entry is taller than the view.
    pub fn top(&self) -> Option<Anchor> {
        if self.log.is_empty() {
            return None;
        }
        self.scroll_up(
            Some(Anchor {
                key: self.log.entries()[0].key,
                offset: self.block_height(0).saturating_sub(1),
            }),
            0,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::chat::EntryKind;
    use crate::protocol::UserName;

    fn log(n: u64) -> ChatLog {
        let mut log = ChatLog::default();
        for i in 1..=n {
            log.insert_message(
                i,
                1_000_000 + i as i64,
                EntryKind::Message {
                    from: UserName::parse("Bob").unwrap(),
                    text: format!("message {i}"),
                    own: false,
                    mention: false,
                    file: None,
                },
            );
        }
        log
    }

    fn geo() -> Geometry {
        Geometry {
            width: 40,
            height: 5,
            clock_width: 5,
            utc_offset: 0,
        }
    }

    #[test]
    fn bottom_view_shows_the_newest() {
        let log = log(100);
        let view = ChatView {
            log: &log,
            marker_after: None,
            geo: geo(),
        };
        let (rows, at_top) = view.visible(None);
        assert_eq!(rows.len(), 5);
        assert!(!at_top);
        assert_eq!(rows[4], Row::Text { idx: 99, row: 0 });
        assert_eq!(rows[0], Row::Text { idx: 95, row: 0 });
    }

    #[test]
    fn scrolling_up_and_down_round_trips_and_stops_at_the_ends() {
        let log = log(100);
        let view = ChatView {
            log: &log,
            marker_after: None,
            geo: geo(),
        };
        let a = view.scroll_up(None, 10);
        assert_eq!(view.visible(a).0[4], Row::Text { idx: 89, row: 0 });
        assert_eq!(view.scroll_down(a, 10), None);
        let top = view.scroll_up(None, 10_000);
        let (rows, at_top) = view.visible(top);
        assert!(at_top);
        assert_eq!(rows.len(), 5);
        assert_eq!(rows[0], Row::Day(0));
        assert_eq!(view.top(), top);
    }

    #[test]
    fn marker_sits_before_the_first_new_message() {
        let log = log(10);
        let view = ChatView {
            log: &log,
            marker_after: Some(8),
            geo: geo(),
        };
        let (rows, _) = view.visible(None);
        assert_eq!(
            rows[2..],
            [
                Row::Marker(8),
                Row::Text { idx: 8, row: 0 },
                Row::Text { idx: 9, row: 0 }
            ]
        );
    }

    #[test]
    fn short_log_fits_and_is_at_top() {
        let log = log(2);
        let view = ChatView {
            log: &log,
            marker_after: None,
            geo: geo(),
        };
        let (rows, at_top) = view.visible(None);
        assert!(at_top);
        assert_eq!(rows.len(), 3);
        assert_eq!(view.scroll_up(None, 3), None);
    }
}

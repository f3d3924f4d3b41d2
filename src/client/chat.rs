//! One conversation's scrollback: messages in `msg_id` order, quiet system
//! lines between them, and the wrapped rows of each entry cached by width.
//!
//! Entries are kept sorted by `(msg_id, seq)`. A message's key is
//! `(msg_id, 0)`; a system line (join, leave, status) is keyed after the
//! newest message known when it happened. That makes inserting an older
//! history page, a reconnect's catch-up page or a duplicate delivery a binary
//! search, and duplicates are dropped there.
//!
//! A log is bounded whatever the server sends: at most `MAX_ENTRIES`
//! entries and `MAX_BYTES` bytes of text. `trim` drops entries from the end
//! away from the reader (the oldest while following the newest, the newest
//! while reading older pages); the app fetches dropped pages again with
//! `history` when the reader gets there. A text longer than any the
//! contract allows is cut, visibly, at `MAX_SHOWN_TEXT_BYTES`.

use std::cell::{Ref, RefCell};

use crate::protocol::{FileRef, UserName, MAX_TEXT_BYTES};

use super::wrap;

/// Most entries one chat keeps in memory.
pub const MAX_ENTRIES: usize = 2_000;
/// Most bytes of text one chat keeps in memory.
pub const MAX_BYTES: usize = 1 << 20;
/// Longest text shown; the contract allows 4 096 bytes, so anything longer
/// came from a misbehaving server and is cut with a visible note.
pub const MAX_SHOWN_TEXT_BYTES: usize = 4 * MAX_TEXT_BYTES;

/// Which end of the log `trim` drops entries from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrimFrom {
    Oldest,
    Newest,
}

/// `text`, cut at `MAX_SHOWN_TEXT_BYTES` (on a character boundary) with a
/// note saying how much is not shown.
pub fn clip_text(mut text: String) -> String {
    if text.len() <= MAX_SHOWN_TEXT_BYTES {
        return text;
    }
    let mut cut = MAX_SHOWN_TEXT_BYTES;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let hidden = text.len() - cut;
    text.truncate(cut);
    text.push_str(&format!(" … [{hidden} more bytes not shown]"));
    text
}

/// Where an entry sits in the log.
pub type EntryKey = (u64, u32);

/// Wrapped rows (byte ranges into the text) and the width they are for.
type RowCache = RefCell<Option<(u16, Vec<(usize, usize)>)>>;

/// What an entry shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    Message {
        from: UserName,
        /// Already cleaned by `sanitize::clean_text`.
        text: String,
        own: bool,
        mention: bool,
        /// A file posted with the message (§14); its line starts `text`.
        file: Option<Box<FileRef>>,
    },
    /// A quiet line: someone joined, left, changed status, a chat ended.
    System(String),
    /// A message that was deleted (§13), shown as a quiet line in its
    /// place: "message deleted by NAME", or "message deleted" when history
    /// said so without naming anyone.
    Deleted { from: UserName, text: String },
}

/// One row of scrollback.
#[derive(Debug)]
pub struct Entry {
    pub key: EntryKey,
    pub ts: i64,
    pub kind: EntryKind,
    rows: RowCache,
}

impl Clone for Entry {
    fn clone(&self) -> Self {
        Entry {
            key: self.key,
            ts: self.ts,
            kind: self.kind.clone(),
            rows: RefCell::new(None),
        }
    }
}

/// Cells before the message text on continuation rows: the clock and a space.
pub fn indent(clock_width: u16) -> u16 {
    clock_width + 1
}

impl Entry {
    /// The text the rows index into.
    pub fn text(&self) -> &str {
        match &self.kind {
            EntryKind::Message { text, .. } => text,
            EntryKind::System(text) => text,
            EntryKind::Deleted { text, .. } => text,
        }
    }

    /// Messages, deleted ones included, have an id; system lines do not.
    pub fn msg_id(&self) -> Option<u64> {
        match self.kind {
            EntryKind::Message { .. } | EntryKind::Deleted { .. } => Some(self.key.0),
            EntryKind::System(_) => None,
        }
    }

    /// Who wrote the message (deleted or not); `None` for a system line.
    pub fn author(&self) -> Option<&UserName> {
        match &self.kind {
            EntryKind::Message { from, .. } | EntryKind::Deleted { from, .. } => Some(from),
            EntryKind::System(_) => None,
        }
    }

    /// Cells taken on the first row before the text, after the clock:
    /// `Nick: ` for a message, nothing for a system line.
    pub fn lead_width(&self) -> usize {
        match &self.kind {
            EntryKind::Message { from, .. } => from.as_str().len() + 2,
            EntryKind::System(_) | EntryKind::Deleted { .. } => 0,
        }
    }

    /// The byte ranges of the text shown on each row when the chat area is
    /// `width` cells wide. Computed once per width and cached.
    pub fn rows(&self, width: u16, clock_width: u16) -> Ref<'_, Vec<(usize, usize)>> {
        let fresh = matches!(&*self.rows.borrow(), Some((w, _)) if *w == width);
        if !fresh {
            let rest = usize::from(width.saturating_sub(indent(clock_width))).max(1);
            let first = rest.saturating_sub(self.lead_width()).max(1);
            let rows = wrap::wrap(self.text(), first, rest);
            *self.rows.borrow_mut() = Some((width, rows));
        }
        Ref::map(self.rows.borrow(), |r| {
            r.as_ref().map_or(&NO_ROWS, |(_, rows)| rows)
        })
    }

    /// Rows of wrapped text (without day line or unread marker).
    pub fn height(&self, width: u16, clock_width: u16) -> usize {
        self.rows(width, clock_width).len()
    }
}

/// What `rows` lends out if the cache were somehow empty (it is filled just
/// before), so that no path can panic.
static NO_ROWS: Vec<(usize, usize)> = Vec::new();

/// The entries of one chat.
#[derive(Debug, Clone, Default)]
pub struct ChatLog {
    entries: Vec<Entry>,
    next_seq: u32,
    /// The highest message id in `entries`, or 0.
    newest: u64,
    /// Bytes of text in `entries`.
    bytes: usize,
}

impl ChatLog {
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Bytes of text held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The highest `msg_id` in the log, or 0.
    pub fn newest_id(&self) -> u64 {
        self.newest
    }

    /// The lowest `msg_id` in the log.
    pub fn oldest_id(&self) -> Option<u64> {
        self.entries.iter().find_map(Entry::msg_id)
    }

    /// Forgets everything (the newest page is loaded again).
    pub fn clear(&mut self) {
        self.entries.clear();
        self.newest = 0;
        self.bytes = 0;
    }

    /// Adds a message; returns false (and changes nothing) if it is already
    /// there.
    pub fn insert_message(&mut self, msg_id: u64, ts: i64, kind: EntryKind) -> bool {
        let key = (msg_id, 0);
        let pos = match self.entries.binary_search_by(|e| e.key.cmp(&key)) {
            Ok(_) => return false,
            Err(pos) => pos,
        };
        self.insert_at(pos, key, ts, kind);
        self.newest = self.newest.max(msg_id);
        true
    }

    fn insert_at(&mut self, pos: usize, key: EntryKey, ts: i64, kind: EntryKind) {
        let entry = Entry {
            key,
            ts,
            kind,
            rows: RefCell::new(None),
        };
        self.bytes = self.bytes.saturating_add(entry.text().len());
        self.entries.insert(pos, entry);
    }

    /// Adds a system line after everything known so far.
    pub fn push_system(&mut self, ts: i64, text: String) {
        self.next_seq = self.next_seq.saturating_add(1);
        let key = (self.newest, self.next_seq);
        let pos = self.entries.partition_point(|e| e.key <= key);
        self.insert_at(pos, key, ts, EntryKind::System(text));
    }

    /// Whether the log holds more than its bounds allow.
    pub fn over_limits(&self) -> bool {
        self.entries.len() > MAX_ENTRIES || self.bytes > MAX_BYTES
    }

    /// Drops entries from one end until the log is within its bounds (the
    /// last entry is always kept). Returns whether a message was dropped.
    pub fn trim(&mut self, from: TrimFrom) -> bool {
        let mut n = 0;
        let mut bytes = self.bytes;
        let mut len = self.entries.len();
        while len > 1 && (len > MAX_ENTRIES || bytes > MAX_BYTES) {
            let e = match from {
                TrimFrom::Oldest => &self.entries[n],
                TrimFrom::Newest => &self.entries[len - 1],
            };
            bytes -= e.text().len();
            len -= 1;
            n += 1;
        }
        if n == 0 {
            return false;
        }
        let dropped: Vec<Entry> = match from {
            TrimFrom::Oldest => self.entries.drain(..n).collect(),
            TrimFrom::Newest => self.entries.drain(len..).collect(),
        };
        self.bytes = bytes;
        if from == TrimFrom::Newest {
            self.newest = self
                .entries
                .iter()
                .rev()
                .find_map(Entry::msg_id)
                .unwrap_or(0);
        }
        dropped.iter().any(|e| e.msg_id().is_some())
    }

    /// The message with this id, if it is loaded.
    pub fn message(&self, msg_id: u64) -> Option<&Entry> {
        self.entries
            .binary_search_by(|e| e.key.cmp(&(msg_id, 0)))
            .ok()
            .map(|i| &self.entries[i])
    }

    /// Shows message `msg_id` as deleted, with `text` in its place; false
    /// if it is not loaded or already shown as deleted.
    pub fn mark_deleted(&mut self, msg_id: u64, text: String) -> bool {
        let Ok(i) = self.entries.binary_search_by(|e| e.key.cmp(&(msg_id, 0))) else {
            return false;
        };
        let e = &mut self.entries[i];
        let from = match &e.kind {
            EntryKind::Message { from, .. } => from.clone(),
            _ => return false,
        };
        self.bytes = self
            .bytes
            .saturating_sub(e.text().len())
            .saturating_add(text.len());
        e.kind = EntryKind::Deleted { from, text };
        *e.rows.borrow_mut() = None;
        true
    }

    /// Index of the entry with this key, or of the first after it.
    pub fn index_of(&self, key: EntryKey) -> usize {
        self.entries.partition_point(|e| e.key < key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(text: &str) -> EntryKind {
        EntryKind::Message {
            from: UserName::parse("Bob").unwrap(),
            text: text.into(),
            own: false,
            mention: false,
            file: None,
        }
    }

    #[test]
    fn keeps_msg_id_order_and_drops_duplicates() {
        let mut log = ChatLog::default();
        assert!(log.insert_message(5, 0, msg("five")));
        assert!(log.insert_message(3, 0, msg("three")));
        assert!(log.insert_message(9, 0, msg("nine")));
        assert!(!log.insert_message(5, 0, msg("five again")));
        let ids: Vec<_> = log.entries().iter().filter_map(Entry::msg_id).collect();
        assert_eq!(ids, [3, 5, 9]);
        assert_eq!(log.newest_id(), 9);
        assert_eq!(log.oldest_id(), Some(3));
    }

    #[test]
    fn system_lines_stay_after_the_newest_message() {
        let mut log = ChatLog::default();
        log.insert_message(1, 0, msg("a"));
        log.push_system(0, "Bob joined".into());
        log.insert_message(2, 0, msg("b"));
        let texts: Vec<_> = log.entries().iter().map(Entry::text).collect();
        assert_eq!(texts, ["a", "Bob joined", "b"]);
    }

    #[test]
    fn the_log_is_bounded_in_entries_and_bytes_from_either_end() {
        let mut log = ChatLog::default();
        for i in 1..=(MAX_ENTRIES as u64 + 10) {
            log.insert_message(i, 0, msg("x"));
        }
        assert!(log.trim(TrimFrom::Oldest));
        assert_eq!(log.len(), MAX_ENTRIES);
        assert_eq!(log.oldest_id(), Some(11));
        assert_eq!(log.newest_id(), MAX_ENTRIES as u64 + 10);
        for i in 1..=10 {
            log.insert_message(i, 0, msg("x"));
        }
        assert!(log.trim(TrimFrom::Newest));
        assert_eq!(log.oldest_id(), Some(1));
        assert_eq!(log.newest_id(), MAX_ENTRIES as u64);
        let big = "y".repeat(MAX_BYTES / 3);
        for i in 5000..5010 {
            log.insert_message(i, 0, msg(&big));
        }
        log.trim(TrimFrom::Oldest);
        assert!(log.bytes() <= MAX_BYTES && log.len() == 3, "{}", log.len());
        // One entry larger than the bound is still kept.
        let mut one = ChatLog::default();
        one.insert_message(1, 0, msg(&"z".repeat(MAX_BYTES + 1)));
        assert!(!one.trim(TrimFrom::Oldest));
        assert_eq!(one.len(), 1);
    }

    #[test]
    fn over_long_texts_are_cut_visibly() {
        let text = "é".repeat(MAX_SHOWN_TEXT_BYTES);
        let cut = clip_text(text);
        assert!(cut.len() < MAX_SHOWN_TEXT_BYTES + 64);
        assert!(
            cut.ends_with("more bytes not shown]"),
            "{}",
            &cut[cut.len() - 40..]
        );
        assert_eq!(clip_text("short".into()), "short");
    }

    #[test]
    fn a_deleted_message_keeps_its_place_and_its_rows_are_wrapped_anew() {
        let mut log = ChatLog::default();
        log.insert_message(1, 0, msg("one two three four five six seven"));
        log.insert_message(2, 0, msg("two"));
        assert_eq!(log.entries()[0].height(20, 5), 3);
        assert!(log.mark_deleted(1, "message deleted by Al".into()));
        assert!(!log.mark_deleted(1, "again".into()));
        assert!(!log.mark_deleted(7, "not loaded".into()));
        let e = &log.entries()[0];
        assert_eq!(e.msg_id(), Some(1));
        assert_eq!(e.text(), "message deleted by Al");
        assert_eq!(e.author().map(|a| a.as_str()), Some("Bob"));
        assert_eq!(e.height(20, 5), 2);
        assert_eq!(log.bytes(), "message deleted by Al".len() + 3);
    }

    #[test]
    fn rows_are_cached_per_width() {
        let mut log = ChatLog::default();
        log.insert_message(1, 0, msg("one two three four five six"));
        let e = &log.entries()[0];
        // width 20: clock 5 + space = 6, rest 14, first 14 - "Bob: " = 9
        assert_eq!(e.height(20, 5), 3);
        assert_eq!(e.height(80, 5), 1);
        assert_eq!(e.height(20, 5), 3);
    }
}

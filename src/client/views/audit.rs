//! The audit log (`/audit`, for admins), drawn over the chat: newest
//! first, ↑/↓ PgUp/PgDn Home/End scroll, Esc (or `q`) closes. Older pages
//! are asked for (with `before`, the oldest `seq` shown) as the selection
//! nears the end of what is loaded — one page per key press at most, and
//! never twice for the same `before`.

use super::Outcome;
use crate::client::keys::{Action, Edit};
use crate::protocol::AuditEntry;

/// Entries asked for per page.
pub const AUDIT_PAGE: u32 = 50;
/// Most entries kept; beyond them the view says so and asks no more.
pub const MAX_AUDIT_ENTRIES: usize = 5_000;
/// At this inner width and wider an entry takes one row; narrower, two
/// (what happened, then the detail), so that 40 columns still read well.
pub const ONE_ROW_WIDTH: u16 = 70;

/// Rows an entry takes in a list `inner_width` cells wide.
pub fn rows_per_entry(inner_width: u16) -> u16 {
    if inner_width >= ONE_ROW_WIDTH {
        1
    } else {
        2
    }
}

#[derive(Debug, Clone, Default)]
pub struct AuditView {
    pub visible: bool,
    /// Newest first, as the server pages them.
    pub entries: Vec<AuditEntry>,
    /// The server has older entries than the last one here.
    pub more: bool,
    /// An older page is on its way.
    pub loading: bool,
    /// Entries were left out because `MAX_AUDIT_ENTRIES` was reached.
    pub capped: bool,
    pub selected: usize,
    /// The `before` of the last older page asked for.
    asked_before: Option<u64>,
}

/// What a key in the audit view asks of the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    /// Ask for the page before this `seq`.
    LoadOlder(u64),
}

impl AuditView {
    /// The first page (the newest entries): the view opens on it.
    pub fn show(&mut self, entries: Vec<AuditEntry>, more: bool) {
        *self = AuditView::default();
        self.visible = true;
        self.add(entries, more);
    }

    /// An older page: only entries older than the oldest shown are taken,
    /// so a server that repeats itself cannot make the list loop.
    pub fn add_older(&mut self, entries: Vec<AuditEntry>, more: bool) {
        self.loading = false;
        self.add(entries, more);
    }

    fn add(&mut self, entries: Vec<AuditEntry>, more: bool) {
        let before = self.entries.len();
        for e in entries {
            if self.entries.last().is_some_and(|last| e.seq >= last.seq) {
                continue;
            }
            if self.entries.len() >= MAX_AUDIT_ENTRIES {
                self.capped = true;
                break;
            }
            self.entries.push(e);
        }
        self.more = more && !self.capped && self.entries.len() > before;
    }

    /// An older page could not be loaded: stop asking.
    pub fn failed(&mut self) {
        self.loading = false;
        self.more = false;
    }

    pub fn close(&mut self) {
        *self = AuditView::default();
    }

    /// Every key while the view is shown: nothing reaches underneath.
    /// `page` is how many entries fit on the screen.
    pub fn on_key(&mut self, action: Action, page: usize) -> Outcome<AuditAction> {
        let page = page.max(1);
        let last = self.entries.len().saturating_sub(1);
        match action {
            Action::Up => self.selected = self.selected.saturating_sub(1),
            Action::Down => self.selected = (self.selected + 1).min(last),
            Action::PageUp => self.selected = self.selected.saturating_sub(page),
            Action::PageDown => self.selected = (self.selected + page).min(last),
            Action::Home | Action::ScrollTop => self.selected = 0,
            Action::End | Action::ScrollBottom => self.selected = last,
            Action::Escape | Action::Edit(Edit::Insert('q')) => {
                self.close();
                return Outcome::Consumed;
            }
            _ => return Outcome::Consumed,
        }
        // Near the end of what is loaded: the next page, once.
        if self.more && !self.loading && self.selected + page >= self.entries.len() {
            if let Some(oldest) = self.entries.last().map(|e| e.seq) {
                if self.asked_before != Some(oldest) {
                    self.loading = true;
                    self.asked_before = Some(oldest);
                    return Outcome::Do(AuditAction::LoadOlder(oldest));
                }
            }
        }
        Outcome::Consumed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(seqs: std::ops::RangeInclusive<u64>) -> Vec<AuditEntry> {
        seqs.rev()
            .map(|seq| AuditEntry {
                seq,
                ts: 0,
                actor: None,
                action: "login".into(),
                target: None,
                detail: String::new(),
            })
            .collect()
    }

    #[test]
    fn scrolling_near_the_end_asks_for_the_older_page_once() {
        let mut v = AuditView::default();
        v.show(entries(51..=100), true);
        assert_eq!(v.on_key(Action::Down, 10), Outcome::Consumed);
        assert_eq!(
            v.on_key(Action::End, 10),
            Outcome::Do(AuditAction::LoadOlder(51))
        );
        // Still loading: not asked again.
        assert_eq!(v.on_key(Action::Down, 10), Outcome::Consumed);
        v.add_older(entries(1..=50), false);
        assert_eq!(v.entries.len(), 100);
        assert_eq!(v.on_key(Action::End, 10), Outcome::Consumed);
        assert_eq!(v.selected, 99);
        assert_eq!(v.on_key(Action::Escape, 10), Outcome::Consumed);
        assert!(!v.visible && v.entries.is_empty());
    }

    #[test]
    fn a_page_that_brings_nothing_older_stops_the_fetching() {
        let mut v = AuditView::default();
        v.show(entries(51..=100), true);
        assert_eq!(
            v.on_key(Action::End, 10),
            Outcome::Do(AuditAction::LoadOlder(51))
        );
        v.add_older(entries(51..=100), true);
        assert!(!v.more);
        assert_eq!(v.on_key(Action::Up, 10), Outcome::Consumed);
        assert_eq!(v.on_key(Action::End, 10), Outcome::Consumed);
    }
}

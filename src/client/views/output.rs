//! The system view: text that deserves to be read whole — the answer to
//! `/who`, `/members` and `/motd`, and (F3) the notices shown lately, so a
//! long error cut above the input can be read in full. Drawn over the chat,
//! wrapped to its width, with a title and a line of keys; ↑/↓, PgUp/PgDn
//! and Home/End scroll, Esc (or `q`, or F3) closes.

use std::collections::VecDeque;

use crate::client::keys::{Action, Edit};

/// Notices kept for F3.
pub const MAX_NOTICES: usize = 200;

/// How a line is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    Text,
    /// Times, hints, what is less important.
    Dim,
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputLine {
    pub text: String,
    pub kind: LineKind,
}

impl OutputLine {
    pub fn text(text: impl Into<String>) -> OutputLine {
        OutputLine {
            text: text.into(),
            kind: LineKind::Text,
        }
    }

    pub fn dim(text: impl Into<String>) -> OutputLine {
        OutputLine {
            text: text.into(),
            kind: LineKind::Dim,
        }
    }

    pub fn error(text: impl Into<String>) -> OutputLine {
        OutputLine {
            text: text.into(),
            kind: LineKind::Error,
        }
    }
}

/// A notice as F3 lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedNotice {
    pub ts: i64,
    pub text: String,
    pub error: bool,
}

#[derive(Debug, Clone, Default)]
pub struct OutputView {
    pub visible: bool,
    pub title: String,
    pub lines: Vec<OutputLine>,
    /// Rows scrolled past (kept within the text by `on_key` and the
    /// renderer; `usize::MAX` opens at the end).
    pub scroll: usize,
    /// The notices shown lately, oldest first.
    pub notices: VecDeque<LoggedNotice>,
}

impl OutputView {
    /// Opens the view on this text, at its top.
    pub fn show(&mut self, title: impl Into<String>, lines: Vec<OutputLine>) {
        self.visible = true;
        self.title = title.into();
        self.lines = lines;
        self.scroll = 0;
    }

    pub fn close(&mut self) {
        self.visible = false;
        self.lines.clear();
        self.scroll = 0;
    }

    /// Remembers a notice for F3 (the same one twice in a row once).
    pub fn log(&mut self, ts: i64, text: &str, error: bool) {
        if self
            .notices
            .back()
            .is_some_and(|n| n.text == text && n.error == error)
        {
            return;
        }
        if self.notices.len() >= MAX_NOTICES {
            self.notices.pop_front();
        }
        self.notices.push_back(LoggedNotice {
            ts,
            text: text.to_owned(),
            error,
        });
    }

    /// Every key while the view is shown: it scrolls or closes, nothing
    /// reaches underneath. `rows` is the wrapped text's length, `page`
    /// how many rows show at once.
    pub fn on_key(&mut self, action: Action, rows: usize, page: usize) {
        let page = page.max(1);
        let max = rows.saturating_sub(page);
        let at = self.scroll.min(max);
        self.scroll = match action {
            Action::Escape | Action::SystemView | Action::Edit(Edit::Insert('q')) => {
                self.close();
                return;
            }
            Action::Up => at.saturating_sub(1),
            Action::Down => at + 1,
            Action::PageUp => at.saturating_sub(page.saturating_sub(1).max(1)),
            Action::PageDown => at + page.saturating_sub(1).max(1),
            Action::Home | Action::ScrollTop => 0,
            Action::End | Action::ScrollBottom => max,
            _ => at,
        }
        .min(max);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrolling_stays_within_the_text_and_esc_closes() {
        let mut v = OutputView::default();
        v.show(
            "t",
            (0..30).map(|i| OutputLine::text(i.to_string())).collect(),
        );
        v.on_key(Action::Up, 30, 10);
        assert_eq!(v.scroll, 0);
        v.on_key(Action::PageDown, 30, 10);
        assert_eq!(v.scroll, 9);
        v.on_key(Action::End, 30, 10);
        assert_eq!(v.scroll, 20);
        v.on_key(Action::Down, 30, 10);
        assert_eq!(v.scroll, 20, "never past the last page");
        v.on_key(Action::Home, 30, 10);
        assert_eq!(v.scroll, 0);
        v.on_key(Action::Escape, 30, 10);
        assert!(!v.visible);
    }

    #[test]
    fn the_notice_log_is_bounded_and_skips_repeats() {
        let mut v = OutputView::default();
        for i in 0..(MAX_NOTICES + 10) {
            v.log(0, &format!("n{i}"), false);
            v.log(0, &format!("n{i}"), false);
        }
        assert_eq!(v.notices.len(), MAX_NOTICES);
        assert_eq!(v.notices.back().map(|n| n.text.as_str()), Some("n209"));
    }
}

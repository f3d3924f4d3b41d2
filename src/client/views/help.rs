//! The help overlay (F1, or `?` with an empty input line): shown or not,
//! and how far it is scrolled.

use crate::client::keys::{Action, Edit};

#[derive(Debug, Clone, Default)]
pub struct HelpView {
    pub visible: bool,
    /// Rows scrolled past.
    pub scroll: u16,
}

impl HelpView {
    pub fn open(&mut self) {
        self.visible = true;
    }

    pub fn close(&mut self) {
        self.visible = false;
        self.scroll = 0;
    }

    /// Every key while the help is shown: it scrolls or closes, and
    /// nothing reaches what is underneath. `lines` is the help's length and
    /// `rows` the terminal's height.
    pub fn on_key(&mut self, action: Action, lines: usize, rows: u16) {
        match action {
            Action::Escape | Action::Help | Action::Edit(Edit::Insert('q')) => self.close(),
            Action::Up => self.scroll = self.scroll.saturating_sub(1),
            Action::Down => self.scroll = self.scroll.saturating_add(1),
            Action::PageUp => self.scroll = self.scroll.saturating_sub(10),
            Action::PageDown => self.scroll = self.scroll.saturating_add(10),
            Action::Home => self.scroll = 0,
            Action::End => self.scroll = u16::MAX,
            _ => {}
        }
        // Never scroll past the last page, so ↑ works at once.
        let inner = rows.saturating_sub(4);
        let max = u16::try_from(lines)
            .unwrap_or(u16::MAX)
            .saturating_sub(inner);
        self.scroll = self.scroll.min(max);
    }
}

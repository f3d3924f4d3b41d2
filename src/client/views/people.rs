//! The people panel (F2): whether it is shown and who is selected. What it
//! lists (everyone online, or a group's members) is the app's to say.

use super::Outcome;
use crate::client::keys::Action;

#[derive(Debug, Clone, Default)]
pub struct PeopleView {
    pub visible: bool,
    pub selected: usize,
}

/// What a key in the panel asks of the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeopleAction {
    /// Open (or switch to) a private chat with the person at this row.
    Chat(usize),
}

impl PeopleView {
    pub fn toggle(&mut self) {
        self.visible = !self.visible;
    }

    /// Keeps the selection on the list of `len` people.
    pub fn clamp(&mut self, len: usize) {
        if self.selected >= len {
            self.selected = len.saturating_sub(1);
        }
    }

    /// Keys while the panel is shown over a list of `len` people. Enter is
    /// the panel's only while the input line is empty: otherwise it sends.
    pub fn on_key(
        &mut self,
        action: Action,
        len: usize,
        draft_empty: bool,
    ) -> Outcome<PeopleAction> {
        match action {
            Action::Up => {
                self.selected = self.selected.saturating_sub(1);
                Outcome::Consumed
            }
            Action::Down => {
                if self.selected + 1 < len {
                    self.selected += 1;
                }
                Outcome::Consumed
            }
            Action::Escape => {
                self.visible = false;
                Outcome::Consumed
            }
            Action::Submit if draft_empty => {
                if self.selected < len {
                    self.visible = false;
                    Outcome::Do(PeopleAction::Chat(self.selected))
                } else {
                    Outcome::Consumed
                }
            }
            _ => Outcome::Ignored,
        }
    }

    /// A click on row `idx`: the first selects, a second on the same row
    /// opens the chat.
    pub fn click(&mut self, idx: usize, len: usize) -> Option<PeopleAction> {
        if idx >= len {
            return None;
        }
        let again = self.selected == idx;
        self.selected = idx;
        again.then_some(PeopleAction::Chat(idx))
    }
}

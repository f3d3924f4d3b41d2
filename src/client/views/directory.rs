//! The directory of groups (`/groups`): the list from the server's
//! `groups` reply, drawn over the chat. ↑/↓ select, Enter joins the
//! selected group (or shows its tab if already in it), Esc closes.

use super::Outcome;
use crate::client::keys::{Action, Edit};
use crate::protocol::{ChatKey, GroupInfo};

/// Most groups listed; the rest are counted.
pub const MAX_LISTED: usize = 2_000;

#[derive(Debug, Clone, Default)]
pub struct DirectoryView {
    pub visible: bool,
    pub groups: Vec<GroupInfo>,
    /// Groups the server (or this bound) left out.
    pub more: u64,
    pub selected: usize,
}

/// What a key in the directory asks of the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DirectoryAction {
    /// Join this group, or show its tab if already a member.
    Join(ChatKey),
}

impl DirectoryView {
    /// Shows a fresh list, keeping the selection on the same group when it
    /// is still there.
    pub fn show(&mut self, mut groups: Vec<GroupInfo>, more: u64) {
        let was = self.groups.get(self.selected).map(|g| g.chat.to_string());
        let cut = groups.len().saturating_sub(MAX_LISTED);
        groups.truncate(MAX_LISTED);
        self.more = more.saturating_add(cut as u64);
        self.groups = groups;
        self.selected = was
            .and_then(|w| self.groups.iter().position(|g| g.chat.to_string() == w))
            .unwrap_or(0);
        self.visible = true;
    }

    /// Every key while the directory is shown: nothing reaches underneath.
    pub fn on_key(&mut self, action: Action) -> Outcome<DirectoryAction> {
        match action {
            Action::Up => self.selected = self.selected.saturating_sub(1),
            Action::Down if self.selected + 1 < self.groups.len() => self.selected += 1,
            Action::PageUp => self.selected = self.selected.saturating_sub(10),
            Action::PageDown => {
                self.selected = (self.selected + 10).min(self.groups.len().saturating_sub(1))
            }
            Action::Home => self.selected = 0,
            Action::End => self.selected = self.groups.len().saturating_sub(1),
            Action::Escape | Action::Edit(Edit::Insert('q')) => self.visible = false,
            Action::Submit => {
                if let Some(g) = self.groups.get(self.selected) {
                    self.visible = false;
                    return Outcome::Do(DirectoryAction::Join(g.chat.clone()));
                }
            }
            _ => {}
        }
        Outcome::Consumed
    }
}

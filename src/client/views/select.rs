//! Message selection (Ctrl-↑ or Alt-↑ in a chat tab): one message of the
//! tab is selected to act on. ↑/↓ (PgUp/PgDn, Home/End) move the
//! selection over messages, `d` asks to delete the selected one — only
//! when the user may — and `y` confirms, `n` or Esc does not; Esc leaves.
//! Any other key leaves the selection and does what it always does, so
//! nothing typed is lost.
//!
//! The selection is a message id in one chat, never a row: messages that
//! arrive, pages loaded above it or a resize never move it to another
//! message, and a confirmation is always about the message it was asked for.

use super::Outcome;
use crate::client::chat::{ChatLog, EntryKind};
use crate::client::chats::ChatId;
use crate::client::keys::{Action, Edit};

/// Messages PgUp/PgDn move over.
pub const SELECT_PAGE: usize = 10;

/// The selected message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    pub chat: ChatId,
    pub msg_id: u64,
    /// "delete this message? y/n" is asked.
    pub confirm: bool,
}

#[derive(Debug, Clone, Default)]
pub struct SelectView {
    pub current: Option<Selection>,
}

/// What a key in selection mode asks of the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelectAction {
    /// The user confirmed: delete this message of the selected chat.
    Delete { chat: ChatId, msg_id: u64 },
    /// The selection moved: keep it in view.
    Moved,
    /// The key does not apply here: say why.
    Explain(&'static str),
    /// Enter on a message with a file: fetch it.
    Fetch { msg_id: u64 },
}

/// Whether entry `i` can be selected: a message that is not deleted.
fn selectable(log: &ChatLog, i: usize) -> bool {
    matches!(log.entries()[i].kind, EntryKind::Message { .. })
}

impl SelectView {
    /// Selects `msg_id` in `chat`.
    pub fn start(&mut self, chat: ChatId, msg_id: u64) {
        self.current = Some(Selection {
            chat,
            msg_id,
            confirm: false,
        });
    }

    pub fn leave(&mut self) {
        self.current = None;
    }

    /// The message selected in `chat`, if the selection is there.
    pub fn selected_in(&self, chat: &ChatId) -> Option<&Selection> {
        self.current.as_ref().filter(|s| s.chat == *chat)
    }

    /// Keys while a message is selected. `log` is the selected chat's,
    /// `may_delete` whether the user may delete the selected message.
    /// `Ignored` means the selection was left and the key is the app's.
    pub fn on_key(
        &mut self,
        action: Action,
        log: &ChatLog,
        may_delete: bool,
    ) -> Outcome<SelectAction> {
        let Some(sel) = self.current.as_mut() else {
            return Outcome::Ignored;
        };
        if sel.confirm {
            sel.confirm = false;
            return match action {
                Action::Edit(Edit::Insert('y' | 'Y')) => {
                    let (chat, msg_id) = (sel.chat.clone(), sel.msg_id);
                    self.current = None;
                    Outcome::Do(SelectAction::Delete { chat, msg_id })
                }
                // n, Esc or anything else: not deleted, still selected.
                _ => Outcome::Consumed,
            };
        }
        let entries = log.entries();
        let here = log.index_of((sel.msg_id, 0));
        let up = |from: usize, n: usize| -> Option<usize> {
            let mut found = None;
            let mut left = n;
            for i in (0..from.min(entries.len())).rev() {
                if selectable(log, i) {
                    found = Some(i);
                    left -= 1;
                    if left == 0 {
                        break;
                    }
                }
            }
            found
        };
        let down = |from: usize, n: usize| -> Option<usize> {
            let mut found = None;
            let mut left = n;
            for i in from..entries.len() {
                if selectable(log, i) {
                    found = Some(i);
                    left -= 1;
                    if left == 0 {
                        break;
                    }
                }
            }
            found
        };
        // The selected message itself counts as "here" only if it is
        // still there; moving down starts after it.
        let on_it = entries.get(here).is_some_and(|e| e.key == (sel.msg_id, 0));
        let after = if on_it { here + 1 } else { here };
        let to = match action {
            Action::Up | Action::SelectMessage => up(here, 1),
            Action::Down => down(after, 1),
            Action::PageUp => up(here, SELECT_PAGE),
            Action::PageDown => down(after, SELECT_PAGE),
            Action::Home | Action::ScrollTop => down(0, 1),
            Action::End | Action::ScrollBottom => up(entries.len(), 1),
            Action::Edit(Edit::Insert('d')) if may_delete => {
                sel.confirm = true;
                return Outcome::Consumed;
            }
            Action::Edit(Edit::Insert('d')) => {
                return Outcome::Do(SelectAction::Explain(
                    "you may delete only your own messages here",
                ))
            }
            Action::Escape => {
                self.current = None;
                return Outcome::Consumed;
            }
            Action::Submit if on_it => {
                return match &entries[here].kind {
                    EntryKind::Message { file: Some(_), .. } => {
                        Outcome::Do(SelectAction::Fetch { msg_id: sel.msg_id })
                    }
                    _ => Outcome::Do(SelectAction::Explain(
                        "Enter fetches a file: this message has none",
                    )),
                }
            }
            Action::Submit | Action::Complete | Action::BackTab => return Outcome::Consumed,
            _ => {
                self.current = None;
                return Outcome::Ignored;
            }
        };
        if let Some(i) = to {
            sel.msg_id = entries[i].key.0;
        }
        Outcome::Do(SelectAction::Moved)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::UserName;

    fn log() -> ChatLog {
        let mut log = ChatLog::default();
        for i in 1..=5 {
            log.insert_message(
                i,
                0,
                EntryKind::Message {
                    from: UserName::parse("Bob").unwrap(),
                    text: format!("m{i}"),
                    own: false,
                    mention: false,
                    file: None,
                },
            );
        }
        log.push_system(0, "Carol joined".into());
        log.mark_deleted(4, "message deleted".into());
        log
    }

    #[test]
    fn moves_over_messages_skipping_deleted_ones_and_system_lines() {
        let log = log();
        let mut v = SelectView::default();
        v.start(ChatId::Public, 5);
        let mv = |v: &mut SelectView, a| v.on_key(a, &log, false);
        assert_eq!(mv(&mut v, Action::Up), Outcome::Do(SelectAction::Moved));
        assert_eq!(v.current.as_ref().unwrap().msg_id, 3);
        mv(&mut v, Action::Down);
        assert_eq!(v.current.as_ref().unwrap().msg_id, 5);
        mv(&mut v, Action::Down);
        assert_eq!(v.current.as_ref().unwrap().msg_id, 5);
        mv(&mut v, Action::Home);
        assert_eq!(v.current.as_ref().unwrap().msg_id, 1);
        mv(&mut v, Action::Up);
        assert_eq!(v.current.as_ref().unwrap().msg_id, 1);
        assert!(matches!(
            mv(&mut v, Action::Edit(Edit::Insert('d'))),
            Outcome::Do(SelectAction::Explain(_))
        ));
        // Typing leaves the selection and the key goes on.
        assert_eq!(
            mv(&mut v, Action::Edit(Edit::Insert('x'))),
            Outcome::Ignored
        );
        assert!(v.current.is_none());
    }

    #[test]
    fn delete_needs_a_yes_for_the_message_it_was_asked_for() {
        let log = log();
        let mut v = SelectView::default();
        v.start(ChatId::Public, 3);
        let d = Action::Edit(Edit::Insert('d'));
        assert_eq!(v.on_key(d, &log, true), Outcome::Consumed);
        assert!(v.current.as_ref().unwrap().confirm);
        assert_eq!(
            v.on_key(Action::Edit(Edit::Insert('n')), &log, true),
            Outcome::Consumed
        );
        assert!(!v.current.as_ref().unwrap().confirm);
        v.on_key(d, &log, true);
        // Any other key answers no, too.
        assert_eq!(v.on_key(Action::Down, &log, true), Outcome::Consumed);
        assert_eq!(v.current.as_ref().unwrap().msg_id, 3);
        v.on_key(d, &log, true);
        assert_eq!(
            v.on_key(Action::Edit(Edit::Insert('y')), &log, true),
            Outcome::Do(SelectAction::Delete {
                chat: ChatId::Public,
                msg_id: 3
            })
        );
        assert!(v.current.is_none());
    }
}

//! The inbox tab: chat requests and group invitations for you, and your
//! requests waiting for an answer.
//!
//! The view owns the lists, the selection and the inbox's own input line,
//! and decides what `a`, `r`, `c`, ↑ and ↓ mean; the app sends the frames.
//! An invitation takes the same keys as a request: `a` joins the group,
//! `r` declines.

use ratatui_textarea::TextArea;

use super::Outcome;
use crate::client::chats::ChatId;
use crate::client::keys::{Action, Edit};
use crate::protocol::{ChatKey, InviteIn, NameKey, RequestIn, RequestOut, UserName};

/// Most requests listed in each part of the inbox.
pub const MAX_INBOX: usize = 500;

#[derive(Debug, Clone)]
pub struct InboxView {
    pub incoming: Vec<RequestIn>,
    /// Invitations to groups.
    pub invites: Vec<InviteIn>,
    pub outgoing: Vec<RequestOut>,
    /// Index into incoming, then invites, then outgoing.
    pub selected: usize,
    /// Requests not listed because a part of the inbox was full.
    pub overflow: u64,
    pub draft: TextArea<'static>,
}

/// What a key in the inbox asks of the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InboxAction {
    Accept(UserName),
    Reject(UserName),
    Cancel(UserName),
    /// Join the group of an invitation.
    Join(ChatKey),
    /// Decline an invitation.
    Decline(ChatKey),
    /// The key does not fit the selected line: say so.
    Explain(&'static str),
}

impl InboxView {
    pub fn new(draft: TextArea<'static>) -> InboxView {
        InboxView {
            incoming: Vec::new(),
            invites: Vec::new(),
            outgoing: Vec::new(),
            selected: 0,
            overflow: 0,
            draft,
        }
    }

    /// Lines that can be selected.
    pub fn total(&self) -> usize {
        self.incoming.len() + self.invites.len() + self.outgoing.len()
    }

    pub fn is_empty(&self) -> bool {
        self.total() == 0
    }

    /// Requests and invitations that wait for the user's answer (the
    /// tab's count).
    pub fn waiting(&self) -> usize {
        self.incoming.len() + self.invites.len()
    }

    /// Keeps the selection on a line that exists.
    pub fn clamp(&mut self) {
        self.selected = self.selected.min(self.total().saturating_sub(1));
    }

    /// Forgets every request (another user logged in).
    pub fn clear(&mut self) {
        self.incoming.clear();
        self.invites.clear();
        self.outgoing.clear();
        self.clamp();
    }

    /// An invitation; a second one to the same group replaces the first.
    pub fn add_invite(&mut self, invite: InviteIn) {
        let id = ChatId::from(&invite.chat);
        if let Some(old) = self
            .invites
            .iter_mut()
            .find(|i| ChatId::from(&i.chat) == id)
        {
            *old = invite;
        } else if self.invites.len() < MAX_INBOX {
            self.invites.push(invite);
        } else {
            self.overflow = self.overflow.saturating_add(1);
        }
    }

    /// The invitation to this group is gone (joined, declined, withdrawn).
    pub fn remove_invite(&mut self, chat: &ChatKey) {
        let id = ChatId::from(chat);
        self.invites.retain(|i| ChatId::from(&i.chat) != id);
        self.clamp();
    }

    /// A request for you; false when the list is full and it was counted
    /// instead.
    pub fn add_incoming(&mut self, from: UserName, ts: i64) -> bool {
        if self.incoming.iter().any(|r| r.from.key() == from.key()) {
            return true;
        }
        if self.incoming.len() >= MAX_INBOX {
            self.overflow = self.overflow.saturating_add(1);
            return false;
        }
        self.incoming.push(RequestIn { from, ts });
        true
    }

    pub fn add_outgoing(&mut self, to: UserName, ts: i64) {
        if self.outgoing.len() < MAX_INBOX && !self.outgoing.iter().any(|r| r.to.key() == to.key())
        {
            self.outgoing.push(RequestOut { to, ts });
        }
    }

    pub fn remove_incoming(&mut self, user: &NameKey) {
        self.incoming.retain(|r| r.from.key() != *user);
        self.clamp();
    }

    pub fn remove_outgoing(&mut self, user: &NameKey) {
        self.outgoing.retain(|r| r.to.key() != *user);
        self.clamp();
    }

    /// Both ways: a chat with `user` opened or was called off.
    pub fn remove_user(&mut self, user: &NameKey) {
        self.incoming.retain(|r| r.from.key() != *user);
        self.remove_outgoing(user);
    }

    /// Keys while the inbox is shown and its input line is empty.
    pub fn on_key(&mut self, action: Action) -> Outcome<InboxAction> {
        let total = self.total();
        match action {
            Action::Up => {
                self.selected = self.selected.saturating_sub(1);
                Outcome::Consumed
            }
            Action::Down => {
                if self.selected + 1 < total {
                    self.selected += 1;
                }
                Outcome::Consumed
            }
            Action::Edit(Edit::Insert(c @ ('a' | 'r' | 'c'))) => {
                let sel = self.selected;
                let n_in = self.incoming.len();
                let n_inv = n_in + self.invites.len();
                Outcome::Do(match c {
                    'a' if sel < n_in => InboxAction::Accept(self.incoming[sel].from.clone()),
                    'r' if sel < n_in => InboxAction::Reject(self.incoming[sel].from.clone()),
                    'a' if sel < n_inv => InboxAction::Join(self.invites[sel - n_in].chat.clone()),
                    'r' if sel < n_inv => {
                        InboxAction::Decline(self.invites[sel - n_in].chat.clone())
                    }
                    'c' if sel >= n_inv && sel < total => {
                        InboxAction::Cancel(self.outgoing[sel - n_inv].to.clone())
                    }
                    'a' | 'r' => InboxAction::Explain(
                        "select a request or an invitation for you first (↑/↓)",
                    ),
                    _ => InboxAction::Explain("select one of your own requests first (↑/↓)"),
                })
            }
            _ => Outcome::Ignored,
        }
    }
}

//! Administration (§13) in the client: the admin commands, the audit
//! log, deleting a message from the selection mode, and what the user is
//! told when an admin acts on them — muted (the status bar says until
//! when; sends to `#public` and groups are refused here before the server
//! would), made an admin or a user again (the admin commands appear in
//! completion and help or go), kicked or banned (the session ends on the
//! login form, which says who, why and until when).

use crate::protocol::{
    validate_text, AuditEntry, ChatKey, ErrorCode, ErrorFrame, GroupRole, Request, Role,
    ServerFrame, UserName,
};

use super::*;
use crate::client::chat::EntryKind;
use crate::client::commands::SlashCommand;
use crate::client::event::Command;
use crate::client::keys::Action;
use crate::client::login::Field;
use crate::client::sanitize::clean_line;
use crate::client::view::Row;
use crate::client::views::audit::{rows_per_entry, AUDIT_PAGE};
use crate::client::views::{AuditAction, Outcome, SelectAction};

/// Longest reason the contract allows, in bytes.
pub const MAX_REASON_BYTES: usize = 512;

/// `: reason`, cleaned, or nothing.
fn reason_suffix(reason: Option<&str>) -> String {
    reason
        .map(|r| clean_line(r).trim().to_owned())
        .filter(|r| !r.is_empty())
        .map_or_else(String::new, |r| format!(": {r}"))
}

/// Who did it: an admin's name, or the server's operator (`by: null`).
fn actor(by: Option<&UserName>) -> String {
    by.map_or_else(|| "the operator".to_owned(), UserName::to_string)
}

fn minutes_text(minutes: Option<u64>) -> String {
    match minutes {
        None => "for good".to_owned(),
        Some(1) => "for 1 minute".to_owned(),
        Some(m) => format!("for {m} minutes"),
    }
}

/// A reason the server would take: the text rules, at most 512 bytes.
fn check_reason(reason: Option<&str>) -> Result<(), String> {
    let Some(r) = reason else {
        return Ok(());
    };
    if r.len() > MAX_REASON_BYTES {
        return Err(format!(
            "a reason is at most {MAX_REASON_BYTES} bytes ({} given)",
            r.len()
        ));
    }
    validate_text(r).map_err(|e| format!("invalid reason: {e}"))
}

impl App {
    /// `until 14:30` when it is today, `until 2025-11-23 14:30` when it is
    /// not, `for good` for `None` — in the user's clock.
    pub fn until_text(&self, until: Option<i64>) -> String {
        let Some(ts) = until else {
            return "for good".to_owned();
        };
        let off = self.settings.utc_offset;
        let clock = time::clock(ts, off, self.settings.twelve_hour);
        let clock = clock.trim_start();
        let day = time::day_of(ts, off);
        if day == time::day_of(self.now_ms, off) {
            format!("until {clock}")
        } else {
            format!(
                "until {:04}-{:02}-{:02} {clock}",
                day.year, day.month, day.day
            )
        }
    }

    /// A server error as a sentence, with who, why and until when for
    /// bans, kicks and mutes.
    pub fn error_sentence(&self, e: &ErrorFrame) -> String {
        let reason = reason_suffix(e.reason.as_deref());
        let by = match &e.by {
            Some(by) => format!(" by {}", actor(by.as_ref())),
            None => String::new(),
        };
        let until = e
            .until
            .map_or_else(String::new, |u| format!(" {}", self.until_text(u)));
        match e.code {
            ErrorCode::Banned if e.by.is_some() => format!("banned{by}{until}{reason}"),
            ErrorCode::Banned => format!("this account is banned{until}{reason}"),
            ErrorCode::Kicked => format!("disconnected{by}{reason}"),
            ErrorCode::Muted => {
                format!("you are muted in #public and groups{until}; private chats still work")
            }
            _ => error_text(e, self.now_ms),
        }
    }

    /// The mute in force now, if any (one whose time is up is none).
    pub fn muted_now(&self) -> Option<Mute> {
        self.muted
            .filter(|m| m.until.is_none_or(|t| t > self.now_ms))
    }

    /// `muted until 14:30` or `muted` (for good), for the status bar.
    pub fn mute_label(&self) -> Option<String> {
        let m = self.muted_now()?;
        Some(match m.until {
            Some(_) => format!("muted {}", self.until_text(m.until)),
            None => "muted".to_owned(),
        })
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Runs an administration command; false if it failed here (the
    /// draft is then kept). Anyone may type them: the server answers
    /// `forbidden` to non-admins, shown like any refusal.
    pub(super) fn run_admin_command(&mut self, cmd: SlashCommand, out: &mut Vec<Command>) -> bool {
        let target = match &cmd {
            SlashCommand::Ban { user, .. }
            | SlashCommand::Mute { user, .. }
            | SlashCommand::Disconnect { user, .. }
            | SlashCommand::Unban(user)
            | SlashCommand::Unmute(user)
            | SlashCommand::Promote(user)
            | SlashCommand::Demote(user) => Some(user.clone()),
            _ => None,
        };
        if target
            .as_deref()
            .is_some_and(|u| self.me.as_ref().is_some_and(|m| m.key() == NameKey::of(u)))
        {
            self.error("that is you: pick someone else");
            return false;
        }
        let reason = match &cmd {
            SlashCommand::Ban { reason, .. }
            | SlashCommand::Mute { reason, .. }
            | SlashCommand::Disconnect { reason, .. } => reason.clone(),
            _ => None,
        };
        if let Err(e) = check_reason(reason.as_deref()) {
            self.error(e);
            return false;
        }
        let (request, op) = match cmd {
            SlashCommand::Ban {
                user,
                minutes,
                reason,
            } => (
                Request::Ban {
                    user: user.clone(),
                    minutes,
                    reason,
                },
                AdminOp::Ban { user, minutes },
            ),
            SlashCommand::Mute {
                user,
                minutes,
                reason,
            } => (
                Request::Mute {
                    user: user.clone(),
                    minutes,
                    reason,
                },
                AdminOp::Mute { user, minutes },
            ),
            SlashCommand::Disconnect { user, reason } => (
                Request::Kick {
                    user: user.clone(),
                    reason,
                },
                AdminOp::Disconnect(user),
            ),
            SlashCommand::Unban(user) => {
                (Request::Unban { user: user.clone() }, AdminOp::Unban(user))
            }
            SlashCommand::Unmute(user) => (
                Request::Unmute { user: user.clone() },
                AdminOp::Unmute(user),
            ),
            SlashCommand::Promote(user) => (
                Request::SetRole {
                    user: user.clone(),
                    role: Role::Admin,
                },
                AdminOp::Promote(user),
            ),
            SlashCommand::Demote(user) => (
                Request::SetRole {
                    user: user.clone(),
                    role: Role::User,
                },
                AdminOp::Demote(user),
            ),
            SlashCommand::Audit => {
                self.request(
                    out,
                    Request::Audit {
                        before: None,
                        limit: Some(AUDIT_PAGE),
                    },
                    Some(Pending::Audit { before: None }),
                );
                return true;
            }
            _ => return false,
        };
        self.request(out, request, Some(Pending::Admin(op)));
        true
    }

    /// What an administration request's `ok` did.
    pub(super) fn on_admin_ok(&mut self, op: AdminOp) {
        let text = match op {
            AdminOp::Ban { user, minutes } => format!("{user} is banned {}", minutes_text(minutes)),
            AdminOp::Unban(user) => format!("{user} is no longer banned"),
            AdminOp::Mute { user, minutes } => format!(
                "{user} is muted in #public and groups {}",
                minutes_text(minutes)
            ),
            AdminOp::Unmute(user) => format!("{user} is no longer muted"),
            AdminOp::Disconnect(user) => format!("{user} was disconnected"),
            AdminOp::Promote(user) => format!("{user} is a server admin now"),
            AdminOp::Demote(user) => format!("{user} is an ordinary user now"),
        };
        self.info(text);
    }

    /// `muted`, `role`, `audit` and `message_deleted`.
    pub(super) fn on_admin_frame(&mut self, frame: ServerFrame) {
        match frame {
            ServerFrame::Muted { until, by, reason } => {
                let who = actor(by.as_ref());
                if until == Some(0) {
                    self.muted = None;
                    self.info(format!(
                        "{who} unmuted you: you may write in #public and groups again"
                    ));
                } else {
                    self.muted = Some(Mute { until });
                    self.error(format!(
                        "{who} muted you in #public and groups {}{}; private chats still work",
                        self.until_text(until),
                        reason_suffix(reason.as_deref())
                    ));
                }
            }
            ServerFrame::Role { role, by } => {
                let who = actor(by.as_ref());
                self.role = role;
                match role {
                    Role::Admin => self.info(format!(
                        "{who} made you a server admin: F1 lists the admin commands"
                    )),
                    Role::User => {
                        self.audit.close();
                        self.info(format!(
                            "{who} made you an ordinary user: no admin commands"
                        ));
                    }
                }
            }
            ServerFrame::Audit { id, entries, more } => {
                self.command_text.remove(&id);
                match self.pending.remove(&id) {
                    Some(Pending::Audit { before: None }) => self.show_audit(entries, more),
                    Some(Pending::Audit { before: Some(_) }) => self.audit.add_older(entries, more),
                    _ => {}
                }
            }
            ServerFrame::MessageDeleted { chat, msg_id, by } => {
                let Some(i) = self.chat_index(&chat) else {
                    return;
                };
                let text = format!("message deleted by {by}");
                self.chats[i].log.mark_deleted(msg_id, text);
                let id = ChatId::from(&chat);
                if self
                    .select
                    .selected_in(&id)
                    .is_some_and(|s| s.msg_id == msg_id)
                {
                    self.select.leave();
                    self.info(format!("the selected message was deleted by {by}"));
                }
            }
            _ => {}
        }
    }

    fn show_audit(&mut self, entries: Vec<AuditEntry>, more: bool) {
        if entries.is_empty() {
            self.audit.close();
            self.info("the audit log is empty");
            return;
        }
        self.select.leave();
        self.directory.visible = false;
        self.audit.show(entries, more);
    }

    /// Entries the audit view shows at once (its PgUp/PgDn step).
    fn audit_page(&self) -> usize {
        let g = self.geometry();
        let inner_w = g.width.saturating_sub(2);
        let rows = g.height.saturating_sub(3);
        usize::from((rows / rows_per_entry(inner_w)).max(1))
    }

    /// Keys while the audit view is shown.
    pub(super) fn on_audit_key(&mut self, action: Action, out: &mut Vec<Command>) {
        let page = self.audit_page();
        if let Outcome::Do(AuditAction::LoadOlder(before)) = self.audit.on_key(action, page) {
            if !self.online_now() {
                self.audit.failed();
                self.error("not connected: older audit entries cannot be loaded now");
                return;
            }
            self.request(
                out,
                Request::Audit {
                    before: Some(before),
                    limit: Some(AUDIT_PAGE),
                },
                Some(Pending::Audit {
                    before: Some(before),
                }),
            );
        }
    }

    /// A kick or a ban ended the session: the login form says who, why
    /// and until when, and nothing reconnects by itself. The tabs and
    /// their drafts stay for a new login as the same user.
    pub(super) fn session_ended(&mut self, e: &ErrorFrame) {
        let mut text = self.error_sentence(e);
        let unconfirmed = self
            .pending
            .values()
            .filter(|p| matches!(p, Pending::Send { .. }))
            .count();
        if unconfirmed > 0 {
            text.push_str(&format!(
                " ({unconfirmed} message(s) sent just before may not have arrived)"
            ));
        }
        self.screen = Screen::Login;
        self.conn = ConnState::Offline(Some(text.clone()));
        self.tls = None;
        self.rtt = None;
        self.login.busy = false;
        self.login.error = Some(text);
        self.login.focus = Field::Password;
        // The account exists: logging in again is the way back.
        self.login.register = false;
        if let Some(me) = &self.me {
            self.login.set_user(me.as_str());
        }
        self.pending.clear();
        self.command_text.clear();
        for c in &mut self.chats {
            c.loading = false;
            c.outbox.clear();
        }
        self.audit.close();
        self.select.leave();
        self.directory.visible = false;
        self.help.close();
    }

    /// Whether the user may delete message `msg_id` of chat `i`: their own
    /// anywhere; anyone's in a group they mod or own, or as an admin in a
    /// group or `#public`; never someone else's in a private chat.
    pub fn may_delete(&self, i: usize, msg_id: u64) -> bool {
        let Some(c) = self.chats.get(i).filter(|c| c.is_live()) else {
            return false;
        };
        let Some(e) = c.log.message(msg_id) else {
            return false;
        };
        let EntryKind::Message { from, .. } = &e.kind else {
            return false;
        };
        if self.is_me(from) {
            return true;
        }
        match &c.key {
            ChatKey::Public => self.is_admin(),
            ChatKey::Group(_) => {
                self.is_admin() || c.group.as_ref().is_some_and(|g| g.role >= GroupRole::Mod)
            }
            ChatKey::Private(_) => false,
        }
    }

    /// Ctrl-↑ / Alt-↑: selects the newest message in view (or the newest
    /// of the tab).
    pub(super) fn start_select(&mut self) {
        let Some(i) = self.chats.get(self.active).map(|_| self.active) else {
            self.error("messages are selected in a chat tab");
            return;
        };
        let chat = &self.chats[i];
        let entries = chat.log.entries();
        let is_msg = |idx: usize| matches!(entries[idx].kind, EntryKind::Message { .. });
        let (rows, _) = self.chat_view(i).visible(chat.scroll);
        let in_view = rows.iter().rev().find_map(|r| match r {
            Row::Text { idx, .. } if is_msg(*idx) => Some(*idx),
            _ => None,
        });
        let Some(idx) = in_view.or_else(|| (0..entries.len()).rev().find(|j| is_msg(*j))) else {
            self.error("there is no message to select in this tab");
            return;
        };
        let msg_id = entries[idx].key.0;
        self.select.start(ChatId::from(&chat.key), msg_id);
        self.notice = None;
        self.reveal_selected();
    }

    /// Keys while a message is selected; false when the selection was
    /// left and the key is to be handled as usual.
    pub(super) fn on_select_key(&mut self, action: Action, out: &mut Vec<Command>) -> bool {
        let Some(sel) = self.select.current.clone() else {
            return false;
        };
        let Some(i) = self.chats.find_id(&sel.chat).filter(|i| *i == self.active) else {
            self.select.leave();
            return false;
        };
        let may = self.may_delete(i, sel.msg_id);
        match self.select.on_key(action, &self.chats[i].log, may) {
            Outcome::Ignored => false,
            Outcome::Consumed => {
                self.notice = None;
                true
            }
            Outcome::Do(SelectAction::Moved) => {
                self.notice = None;
                self.reveal_selected();
                true
            }
            Outcome::Do(SelectAction::Explain(text)) => {
                self.error(text);
                true
            }
            Outcome::Do(SelectAction::Fetch { msg_id }) => {
                let file = self.chats[i]
                    .log
                    .message(msg_id)
                    .and_then(|e| match &e.kind {
                        crate::client::chat::EntryKind::Message { file: Some(f), .. } => {
                            Some((**f).clone())
                        }
                        _ => None,
                    });
                if !self.online_now() {
                    self.error("not connected: try again once the status bar says connected");
                    return true;
                }
                if let Some(f) = file {
                    let chat = self.chats[i].key.clone();
                    if let Err(e) = self.fetch_file(chat, f, out) {
                        self.error(e);
                    }
                }
                true
            }
            Outcome::Do(SelectAction::Delete { msg_id, .. }) => {
                if !self.online_now() {
                    self.error("not connected: nothing was deleted");
                    return true;
                }
                let chat = self.chats[i].key.to_string();
                self.request(
                    out,
                    Request::DeleteMessage { chat, msg_id },
                    Some(Pending::DeleteMessage),
                );
                true
            }
        }
    }

    /// Scrolls the selected message's tab so that the message is in view.
    fn reveal_selected(&mut self) {
        let Some(sel) = self.select.current.clone() else {
            return;
        };
        let Some(i) = self.chats.find_id(&sel.chat) else {
            return;
        };
        let key = (sel.msg_id, 0);
        let view = self.chat_view(i);
        let idx = view.log.index_of(key);
        if view.log.entries().get(idx).map(|e| e.key) != Some(key) {
            return;
        }
        let (rows, _) = view.visible(self.chats[i].scroll);
        let entry_of = |r: &Row| match *r {
            Row::Day(j) | Row::Marker(j) | Row::Text { idx: j, .. } => j,
        };
        let shown = rows
            .iter()
            .filter(|r| matches!(r, Row::Text { idx: j, .. } if *j == idx))
            .count();
        let height = view.log.entries()[idx].height(view.geo.width, view.geo.clock_width);
        if shown == height {
            return;
        }
        let first = rows.first().map_or(usize::MAX, entry_of);
        let anchor = if idx <= first {
            // Above the view: its first row at the top.
            let bottom_row = Anchor {
                key,
                offset: view.block_height(idx).saturating_sub(1),
            };
            view.scroll_down(
                Some(bottom_row),
                usize::from(view.geo.height).saturating_sub(1),
            )
        } else if idx + 1 == view.log.len() {
            None
        } else {
            Some(Anchor { key, offset: 0 })
        };
        self.set_scroll(i, anchor);
    }

    /// The line shown above the input while a message is selected in the
    /// tab shown: what is selected and the keys that apply.
    pub fn selection_prompt(&self) -> Option<(String, bool)> {
        let chat = self.active_chat()?;
        let sel = self.select.selected_in(&ChatId::from(&chat.key))?;
        let Some(e) = chat.log.message(sel.msg_id) else {
            // Dropped from memory (it is fetched again when scrolled to).
            return Some(("↑/↓ select a message · Esc back".to_owned(), false));
        };
        let from = e.author()?;
        let whose = if self.is_me(from) {
            "your message".to_owned()
        } else {
            format!("{from}'s message")
        };
        let at = time::clock(e.ts, self.settings.utc_offset, self.settings.twelve_hour);
        let at = at.trim_start();
        if sel.confirm {
            return Some((format!("delete {whose} of {at} for everyone? y / n"), true));
        }
        let has_file = matches!(
            &e.kind,
            crate::client::chat::EntryKind::Message { file: Some(_), .. }
        );
        let keys = match (self.may_delete(self.active, sel.msg_id), has_file) {
            (true, true) => "↑/↓ select · Enter fetch the file · d delete · Esc back",
            (true, false) => "↑/↓ select · d delete · Esc back",
            (false, true) => "↑/↓ select · Enter fetch the file · Esc back",
            (false, false) => "↑/↓ select · Esc back",
        };
        Some((format!("{whose} of {at}: {keys}"), false))
    }
}

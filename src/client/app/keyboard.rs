//! Keys and the mouse: what a press or a click does where the user is.

use crossterm::event::{KeyEvent, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::Rect;
use ratatui_textarea::CursorMove;

use super::*;
use crate::client::event::Command;
use crate::client::keys::{self, Action, Edit};
use crate::client::login::Field;
use crate::client::ui::layout;
use crate::client::views::{InboxAction, Outcome, PeopleAction};

impl App {
    pub(super) fn on_key(&mut self, key: KeyEvent, out: &mut Vec<Command>) {
        let Some(action) = keys::action(key) else {
            return;
        };
        if action == Action::Quit {
            self.quit = true;
            out.push(Command::Quit);
            return;
        }
        if self.trust.is_open() {
            self.on_trust_key(action, out);
            return;
        }
        match self.screen {
            Screen::Login => self.on_login_key(action, out),
            Screen::Chat => self.on_chat_key(action, out),
        }
    }

    pub(super) fn on_login_key(&mut self, action: Action, out: &mut Vec<Command>) {
        let form = &mut self.login;
        match action {
            Action::Complete | Action::Down => form.focus = form.focus.next(form.register),
            Action::BackTab | Action::Up => form.focus = form.focus.prev(form.register),
            Action::ToggleMode => form.toggle_mode(),
            Action::Escape => form.error = None,
            Action::Help => {}
            Action::Submit if form.busy => {}
            Action::Submit => match form.credentials() {
                Ok(creds) => {
                    form.error = None;
                    form.busy = true;
                    self.conn = ConnState::Connecting;
                    self.server_now = None;
                    out.push(Command::Connect(creds));
                }
                Err(e) => form.error = Some(e),
            },
            Action::Edit(edit) if form.focus == Field::Mode => {
                if matches!(
                    edit,
                    Edit::Insert(' ') | Edit::Left | Edit::Right | Edit::Backspace
                ) {
                    form.toggle_mode();
                }
            }
            Action::Edit(edit) => {
                if let Some(field) = form.field_mut() {
                    apply_edit(field, edit);
                }
            }
            Action::Home | Action::End => {
                let m = if action == Action::Home {
                    CursorMove::Head
                } else {
                    CursorMove::End
                };
                if let Some(field) = form.field_mut() {
                    field.move_cursor(m);
                }
            }
            _ => {}
        }
    }

    pub(super) fn on_chat_key(&mut self, action: Action, out: &mut Vec<Command>) {
        // A dropped file waits for y/n: y sends it, any other key does not.
        if self.dropped.is_some() {
            let yes = matches!(action, Action::Edit(Edit::Insert('y' | 'Y')));
            self.on_dropped_key(yes, out);
            return;
        }
        if self.help.visible {
            let lines = crate::client::ui::help::line_count(self);
            self.help.on_key(action, lines, self.size.1);
            return;
        }
        if self.output.visible {
            if action == Action::Help {
                self.help.open();
            } else {
                let (rows, page) = crate::client::ui::output::extent(self);
                self.output.on_key(action, rows, page);
            }
            return;
        }
        if self.audit.visible {
            if action == Action::Help {
                self.help.open();
            } else {
                self.on_audit_key(action, out);
            }
            return;
        }
        if self.directory.visible {
            if action == Action::Help {
                self.help.open();
            } else if let Outcome::Do(a) = self.directory.on_key(action) {
                self.on_directory_action(a, out);
            }
            return;
        }
        match action {
            Action::Help => {
                self.help.open();
                return;
            }
            Action::TogglePeople => {
                self.people.toggle();
                return;
            }
            Action::SystemView => {
                self.show_notices();
                return;
            }
            Action::GotoTab(n) => {
                if n < self.tab_count() {
                    self.switch_tab(n);
                }
                return;
            }
            Action::NextTab => {
                self.switch_tab((self.active + 1) % self.tab_count());
                return;
            }
            Action::PrevTab => {
                let n = self.tab_count();
                self.switch_tab((self.active + n - 1) % n);
                return;
            }
            Action::NextActivity => {
                if let Some(t) = self.next_activity_tab() {
                    self.switch_tab(t);
                }
                return;
            }
            _ => {}
        }
        if self.select.current.is_some() && self.on_select_key(action, out) {
            return;
        }
        if self.people.visible {
            let len = self.people_len();
            match self.people.on_key(action, len, self.draft_is_empty()) {
                Outcome::Ignored => {}
                Outcome::Consumed => return,
                Outcome::Do(a) => {
                    self.on_people_action(a, out);
                    return;
                }
            }
        }
        let empty = self.draft_is_empty();
        if self.active == self.inbox_tab() && empty {
            match self.inbox.on_key(action) {
                Outcome::Ignored => {}
                Outcome::Consumed => return,
                Outcome::Do(a) => {
                    self.on_inbox_action(a, out);
                    return;
                }
            }
        }
        match action {
            Action::Edit(Edit::Insert('?')) if empty => self.help.open(),
            Action::SelectMessage => self.start_select(),
            Action::PageUp => self.scroll_up(self.page()),
            Action::PageDown => self.scroll_down(self.page()),
            Action::ScrollTop => self.scroll_top(),
            Action::ScrollBottom => self.scroll_bottom(),
            Action::Home if empty => self.scroll_top(),
            Action::End if empty => self.scroll_bottom(),
            Action::Home => self.draft_mut().move_cursor(CursorMove::Head),
            Action::End => self.draft_mut().move_cursor(CursorMove::End),
            Action::Up => self.history_prev(),
            Action::Down => self.history_next(),
            Action::Submit => self.submit(out),
            Action::Newline => self.draft_mut().insert_newline(),
            Action::Complete => self.complete(),
            Action::Escape => {
                let scrolled = self.active_chat().is_some_and(|c| c.scroll.is_some());
                let banner = self.active_chat().is_some_and(|c| c.key == ChatKey::Public)
                    && layout::motd_banner(self).is_some();
                if self.notice.is_some() {
                    self.notice = None;
                } else if !scrolled && banner {
                    // Nothing else to close: the banner goes.
                    self.motd_hidden = true;
                    self.info("message of the day hidden: /motd shows it again");
                } else {
                    self.scroll_bottom();
                }
            }
            Action::Edit(edit) => {
                self.history_pos = None;
                apply_edit(self.draft_mut(), edit);
            }
            _ => {}
        }
    }

    /// What the people panel asked for.
    pub(super) fn on_people_action(&mut self, a: PeopleAction, out: &mut Vec<Command>) {
        match a {
            PeopleAction::Chat(idx) => {
                if let Some(name) = self.people_name(idx) {
                    if self.is_me(&name) {
                        self.error("that is you: pick someone else");
                    } else {
                        self.cmd_chat(name.as_str(), out);
                    }
                }
            }
        }
    }

    /// What a key in the inbox asked for.
    pub(super) fn on_inbox_action(&mut self, a: InboxAction, out: &mut Vec<Command>) {
        match a {
            InboxAction::Accept(name) => self.cmd_accept(name.as_str(), out),
            InboxAction::Reject(name) => self.cmd_reject(name.as_str(), out),
            InboxAction::Cancel(name) => self.cmd_cancel(name.as_str(), out),
            InboxAction::Join(chat) | InboxAction::Decline(chat) if !self.online_now() => {
                let _ = chat;
                self.error("not connected: try again once the status bar says connected");
            }
            InboxAction::Join(chat) => self.cmd_join(chat, out),
            InboxAction::Decline(chat) => self.cmd_decline(chat, out),
            InboxAction::Explain(text) => self.error(text),
        }
    }

    pub(super) fn page(&self) -> usize {
        usize::from(self.geometry().height).saturating_sub(1).max(1)
    }

    pub(super) fn scroll_up(&mut self, n: usize) {
        if let Some(i) = self.chats.get(self.active).map(|_| self.active) {
            let anchor = self.chat_view(i).scroll_up(self.chats[i].scroll, n);
            self.set_scroll(i, anchor);
        }
    }

    pub(super) fn scroll_down(&mut self, n: usize) {
        if self.active < self.chats.len() {
            let i = self.active;
            let anchor = self.chat_view(i).scroll_down(self.chats[i].scroll, n);
            self.set_scroll(i, anchor);
        }
    }

    pub(super) fn scroll_top(&mut self) {
        if self.active < self.chats.len() {
            let i = self.active;
            let anchor = self.chat_view(i).top();
            self.set_scroll(i, anchor);
        }
    }

    pub(super) fn scroll_bottom(&mut self) {
        if self.active < self.chats.len() {
            self.set_scroll(self.active, None);
        }
    }

    pub(super) fn set_scroll(&mut self, i: usize, anchor: Option<Anchor>) {
        let chat = &mut self.chats[i];
        if chat.scroll.is_none() && anchor.is_some() && chat.marker_after.is_none() {
            // From now on, new arrivals are not seen: mark where they start.
            chat.marker_after = Some(chat.log.newest_id());
        }
        chat.scroll = anchor;
    }

    pub(super) fn switch_tab(&mut self, to: usize) {
        if to == self.active || to >= self.tab_count() {
            return;
        }
        if let Some(old) = self.chats.get_mut(self.active) {
            old.marker_after = None;
        }
        self.active = to;
        self.history_pos = None;
        self.select.leave();
        if let Some(chat) = self.chats.get_mut(to) {
            chat.marker_after = (chat.unread > 0).then_some(chat.last_read);
            chat.scroll = None;
        }
        let n = self.people_len();
        self.people.clamp(n);
        if to == self.inbox_tab() {
            self.inbox.clamp();
        }
    }

    /// The next tab (after the active one, wrapping) that wants attention:
    /// highlighted tabs (private messages, mentions, requests) first.
    pub(super) fn next_activity_tab(&self) -> Option<usize> {
        let n = self.tab_count();
        let level = |t: usize| -> Attention {
            match self.chats.get(t) {
                Some(c) => c.attention,
                None if self.inbox.waiting() > 0 => Attention::Highlight,
                None => Attention::None,
            }
        };
        for want in [Attention::Highlight, Attention::Activity] {
            for step in 1..n {
                let t = (self.active + step) % n;
                if level(t) == want {
                    return Some(t);
                }
            }
        }
        None
    }

    pub(super) fn on_mouse(&mut self, m: MouseEvent, out: &mut Vec<Command>) {
        if self.screen != Screen::Chat
            || self.help.visible
            || self.directory.visible
            || self.audit.visible
            || self.output.visible
            || self.trust.is_open()
        {
            return;
        }
        let area = Rect::new(0, 0, self.size.0, self.size.1);
        let areas = layout::areas(self, area);
        match m.kind {
            MouseEventKind::ScrollUp => self.scroll_up(WHEEL_ROWS),
            MouseEventKind::ScrollDown => self.scroll_down(WHEEL_ROWS),
            MouseEventKind::Down(MouseButton::Left) => {
                if m.row == areas.tabs.y {
                    let hit = crate::client::ui::tabs::tab_hits(self, areas.tabs.width)
                        .into_iter()
                        .find(|(x0, x1, _)| m.column >= *x0 && m.column < *x1);
                    if let Some((_, _, t)) = hit {
                        self.switch_tab(t);
                    }
                } else if let Some(p) = areas.people {
                    if m.column >= p.x && m.row > p.y && m.row < p.y + p.height {
                        let idx = usize::from(m.row - p.y - 1);
                        let idx = idx + crate::client::ui::people::first_shown(self, p);
                        if let Some(a) = self.people.click(idx, self.people_len()) {
                            self.on_people_action(a, out);
                        }
                    }
                }
            }
            _ => {}
        }
    }
}

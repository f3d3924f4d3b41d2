//! Keys and the mouse: what a press or a click does where the user is.

use crossterm::event::{KeyEvent, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::Rect;
use ratatui_textarea::CursorMove;

use super::*;
use crate::client::event::Command;
use crate::client::keys::{self, Action, Edit};
use crate::client::login::Field;
use crate::client::ui::layout;

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
        if self.trust_prompt.is_some() {
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
            Action::Complete | Action::Down => form.focus = form.focus.next(),
            Action::BackTab | Action::Up => form.focus = form.focus.prev(),
            Action::ToggleMode => form.register = !form.register,
            Action::Escape => form.error = None,
            Action::Help => {}
            Action::Submit if form.busy => {}
            Action::Submit => match form.credentials() {
                Ok(creds) => {
                    form.error = None;
                    form.busy = true;
                    self.conn = ConnState::Connecting;
                    out.push(Command::Connect(creds));
                }
                Err(e) => form.error = Some(e),
            },
            Action::Edit(edit) if form.focus == Field::Mode => {
                if matches!(
                    edit,
                    Edit::Insert(' ') | Edit::Left | Edit::Right | Edit::Backspace
                ) {
                    form.register = !form.register;
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
        if self.show_help {
            match action {
                Action::Escape | Action::Help | Action::Edit(Edit::Insert('q')) => {
                    self.show_help = false;
                    self.help_scroll = 0;
                }
                Action::Up => self.help_scroll = self.help_scroll.saturating_sub(1),
                Action::Down => self.help_scroll = self.help_scroll.saturating_add(1),
                Action::PageUp => self.help_scroll = self.help_scroll.saturating_sub(10),
                Action::PageDown => self.help_scroll = self.help_scroll.saturating_add(10),
                Action::Home => self.help_scroll = 0,
                Action::End => self.help_scroll = u16::MAX,
                _ => {}
            }
            // Never scroll past the last page, so ↑ works at once.
            let inner = self.size.1.saturating_sub(4);
            let max = (crate::client::ui::help::line_count() as u16).saturating_sub(inner);
            self.help_scroll = self.help_scroll.min(max);
            return;
        }
        match action {
            Action::Help => {
                self.show_help = true;
                return;
            }
            Action::TogglePeople => {
                self.people.visible = !self.people.visible;
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
        if self.people.visible {
            match action {
                Action::Up => {
                    self.people.selected = self.people.selected.saturating_sub(1);
                    return;
                }
                Action::Down => {
                    if self.people.selected + 1 < self.online.len() {
                        self.people.selected += 1;
                    }
                    return;
                }
                Action::Escape => {
                    self.people.visible = false;
                    return;
                }
                Action::Submit if self.draft_is_empty() => {
                    if let Some(u) = self.online.values().nth(self.people.selected) {
                        let name = u.user.to_string();
                        self.people.visible = false;
                        self.cmd_chat(&name, out);
                    }
                    return;
                }
                _ => {}
            }
        }
        let empty = self.draft_is_empty();
        if self.active == self.inbox_tab() && empty && self.on_inbox_key(action, out) {
            return;
        }
        match action {
            Action::Edit(Edit::Insert('?')) if empty => self.show_help = true,
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
                if self.notice.is_some() {
                    self.notice = None;
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

    /// Inbox keys when the draft is empty; returns whether the key was used.
    pub(super) fn on_inbox_key(&mut self, action: Action, out: &mut Vec<Command>) -> bool {
        let total = self.inbox.incoming.len() + self.inbox.outgoing.len();
        match action {
            Action::Up => {
                self.inbox.selected = self.inbox.selected.saturating_sub(1);
                true
            }
            Action::Down => {
                if self.inbox.selected + 1 < total {
                    self.inbox.selected += 1;
                }
                true
            }
            Action::Edit(Edit::Insert(c @ ('a' | 'r' | 'c'))) => {
                let sel = self.inbox.selected;
                let n_in = self.inbox.incoming.len();
                match c {
                    'a' | 'r' if sel < n_in => {
                        let name = self.inbox.incoming[sel].from.to_string();
                        if c == 'a' {
                            self.cmd_accept(&name, out);
                        } else {
                            self.cmd_reject(&name, out);
                        }
                    }
                    'c' if sel >= n_in && sel < total => {
                        let name = self.inbox.outgoing[sel - n_in].to.to_string();
                        self.cmd_cancel(&name, out);
                    }
                    'a' | 'r' => self.error("select an incoming request first (↑/↓)"),
                    _ => self.error("select one of your own requests first (↑/↓)"),
                }
                true
            }
            _ => false,
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
        if let Some(chat) = self.chats.get_mut(to) {
            chat.marker_after = (chat.unread > 0).then_some(chat.last_read);
            chat.scroll = None;
        }
        if to == self.inbox_tab() {
            let total = self.inbox.incoming.len() + self.inbox.outgoing.len();
            self.inbox.selected = self.inbox.selected.min(total.saturating_sub(1));
        }
    }

    /// The next tab (after the active one, wrapping) that wants attention:
    /// highlighted tabs (private messages, mentions, requests) first.
    pub(super) fn next_activity_tab(&self) -> Option<usize> {
        let n = self.tab_count();
        let level = |t: usize| -> Attention {
            match self.chats.get(t) {
                Some(c) => c.attention,
                None if !self.inbox.incoming.is_empty() => Attention::Highlight,
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
        if self.screen != Screen::Chat || self.show_help || self.trust_prompt.is_some() {
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
                        if idx < self.online.len() {
                            if self.people.selected == idx {
                                if let Some(u) = self.online.values().nth(idx) {
                                    let name = u.user.to_string();
                                    self.cmd_chat(&name, out);
                                }
                            }
                            self.people.selected = idx;
                        }
                    }
                }
            }
            _ => {}
        }
    }
}

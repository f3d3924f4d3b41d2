//! The client's whole state and the one function that changes it.
//!
//! `App` is plain data; `App::update` takes one `Event` (a key, a mouse
//! action, a paste, a server frame, a connection change) and returns the
//! `Command`s the edges must carry out (send a frame, ring the bell, quit).
//! Nothing here touches the terminal or the socket, so every behaviour can be
//! tested by feeding events and looking at the state and the commands.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use crossterm::event::{KeyEvent, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::Rect;
use ratatui_textarea::{CursorMove, TextArea};

use crate::protocol::{
    validate_text, ChatKey, ClientFrame, ErrorCode, ErrorFrame, HistoryPage, Message, OnlineUser,
    Presence, Request, RequestIn, RequestOut, Role, ServerFrame, Status, UserName, Welcome,
};

use super::chat::{ChatLog, EntryKind};
use super::commands::{self, SlashCommand, COMMANDS};
use super::event::{Command, Event, NetEvent};
use super::keys::{self, Action, Edit};
use super::login::{Field, LoginForm};
use super::sanitize::{clean_line, clean_text};
use super::theme::{Theme, ThemeSet};
use super::time;
use super::ui::layout;
use super::view::{Anchor, ChatView, Geometry};

/// Messages asked for when a chat is first shown or scrolled to its top.
pub const PAGE: u32 = 50;
/// Page size when catching up after a reconnect.
pub const CATCH_UP_PAGE: u32 = 200;
/// Rows scrolled per mouse-wheel step.
pub const WHEEL_ROWS: usize = 3;
/// Most remembered sent lines for ↑/↓.
pub const INPUT_HISTORY: usize = 200;

/// Which screen is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Login,
    Chat,
}

/// The connection as the status bar shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnState {
    Offline(Option<String>),
    Connecting,
    Connected,
    Reconnecting { secs: u64 },
}

/// How much a tab wants attention; the order matters (`max`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Attention {
    #[default]
    None,
    /// Ordinary new messages.
    Activity,
    /// A private message or a mention of your name.
    Highlight,
}

/// A line shown above the input: the result of a command, or an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub text: String,
    pub error: bool,
}

/// One open chat (a tab).
#[derive(Debug, Clone)]
pub struct ChatState {
    pub key: ChatKey,
    pub log: ChatLog,
    pub unread: u64,
    pub attention: Attention,
    /// The server's read marker, as far as this client knows.
    pub last_read: u64,
    /// Where the "new messages" line goes while the tab is shown.
    pub marker_after: Option<u64>,
    /// `None` follows the newest message.
    pub scroll: Option<Anchor>,
    /// The server has older messages than the oldest one here.
    pub more_older: bool,
    /// A `history` request for this chat is under way.
    pub loading: bool,
    pub draft: TextArea<'static>,
    pub partner_online: bool,
}

impl ChatState {
    pub fn new(key: ChatKey) -> ChatState {
        ChatState {
            key,
            log: ChatLog::default(),
            unread: 0,
            attention: Attention::None,
            last_read: 0,
            marker_after: None,
            scroll: None,
            more_older: false,
            loading: false,
            draft: new_draft(),
            partner_online: false,
        }
    }

    /// The tab label without counts: `# public` or `@Name`.
    pub fn label(&self) -> String {
        match &self.key {
            ChatKey::Public => "# public".to_owned(),
            other => other.to_string(),
        }
    }
}

/// Pending chat requests, both ways.
#[derive(Debug, Clone)]
pub struct Inbox {
    pub incoming: Vec<RequestIn>,
    pub outgoing: Vec<RequestOut>,
    /// Index into incoming followed by outgoing.
    pub selected: usize,
    pub draft: TextArea<'static>,
}

/// The people panel (F2).
#[derive(Debug, Clone, Default)]
pub struct People {
    pub visible: bool,
    pub selected: usize,
}

/// Settings that come from config and flags.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub bell: bool,
    pub twelve_hour: bool,
    /// Seconds east of UTC used for all clock times.
    pub utc_offset: i32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            bell: true,
            twelve_hour: false,
            utc_offset: 0,
        }
    }
}

/// What a request with an `id` was, so its reply can be understood.
#[derive(Debug, Clone, PartialEq)]
enum Pending {
    Send { chat: ChatKey, text: String },
    History { chat: ChatKey, dir: HistoryDir },
    SetStatus(Status),
    RequestChat(String),
    Accept(String),
    Reject(String),
    Cancel(String),
    EndChat(String),
    Who,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HistoryDir {
    /// The newest page, when a chat is first shown.
    Initial,
    /// Older than what is loaded (scrolled to the top).
    Older,
    /// Newer than the newest loaded: catching up after a reconnect.
    Newer,
}

/// The client's state.
#[derive(Debug)]
pub struct App {
    pub screen: Screen,
    pub login: LoginForm,
    pub me: Option<UserName>,
    pub role: Role,
    pub conn: ConnState,
    pub rtt: Option<Duration>,
    pub status: Status,
    /// Tab 0 is `# public`; the inbox is the tab after the last chat.
    pub chats: Vec<ChatState>,
    pub active: usize,
    pub inbox: Inbox,
    /// Online users, sorted case-insensitively.
    pub online: Vec<OnlineUser>,
    pub people: People,
    pub show_help: bool,
    pub help_scroll: u16,
    pub notice: Option<Notice>,
    pub motd: Option<String>,
    pub theme: Theme,
    pub themes: ThemeSet,
    pub settings: Settings,
    /// The current time (ms since the epoch); set by the caller before each
    /// update so tests control it.
    pub now_ms: i64,
    /// The terminal size.
    pub size: (u16, u16),
    quit: bool,
    next_id: u64,
    pending: HashMap<u64, Pending>,
    /// Lower-cased names whose chat tab should get the focus when it opens.
    focus_on_open: HashSet<String>,
    input_history: Vec<String>,
    history_pos: Option<usize>,
    history_stash: Vec<String>,
    welcomed: bool,
    /// The command line being run, so requests it makes can be tied to it.
    submitting: Option<String>,
    /// Command lines by request id: put back in the input if the server
    /// refuses the request.
    command_text: HashMap<u64, (usize, String)>,
    /// `public_unread` from the last welcome, placed once the page arrives.
    public_unread_hint: Option<u64>,
}

fn new_draft() -> TextArea<'static> {
    let mut ta = TextArea::default();
    ta.set_cursor_line_style(ratatui::style::Style::default());
    ta
}

fn draft_text(ta: &TextArea<'_>) -> String {
    ta.lines().join("\n")
}

fn set_draft(ta: &mut TextArea<'static>, text: &str) {
    let style = ta.style();
    let cursor_style = ta.cursor_style();
    *ta = TextArea::new(text.split('\n').map(str::to_owned).collect());
    ta.set_cursor_line_style(ratatui::style::Style::default());
    ta.set_style(style);
    ta.set_cursor_style(cursor_style);
    ta.move_cursor(CursorMove::Bottom);
    ta.move_cursor(CursorMove::End);
}

fn apply_edit(ta: &mut TextArea<'_>, edit: Edit) {
    match edit {
        Edit::Insert(c) => ta.insert_char(c),
        Edit::Left => ta.move_cursor(CursorMove::Back),
        Edit::Right => ta.move_cursor(CursorMove::Forward),
        Edit::WordLeft => ta.move_cursor(CursorMove::WordBack),
        Edit::WordRight => ta.move_cursor(CursorMove::WordForward),
        Edit::LineStart => ta.move_cursor(CursorMove::Head),
        Edit::LineEnd => ta.move_cursor(CursorMove::End),
        Edit::Backspace => {
            ta.delete_char();
        }
        Edit::Delete => {
            ta.delete_next_char();
        }
        Edit::DeleteWordBack => {
            ta.delete_word();
        }
        Edit::DeleteWordForward => {
            ta.delete_next_word();
        }
        Edit::DeleteToStart => {
            ta.delete_line_by_head();
        }
        Edit::DeleteToEnd => {
            ta.delete_line_by_end();
        }
        Edit::Undo => {
            ta.undo();
        }
        Edit::Redo => {
            ta.redo();
        }
    }
}

/// Whether `text` names `me` as a word (case-insensitive), e.g. "alice:",
/// "@Alice", "hi alice!" but not "malice".
pub fn mentions(text: &str, me: &str) -> bool {
    if me.is_empty() {
        return false;
    }
    let is_name_char = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    let lower = text.to_ascii_lowercase();
    let me = me.to_ascii_lowercase();
    let bytes = lower.as_bytes();
    let mut from = 0;
    while let Some(pos) = lower[from..].find(&me) {
        let start = from + pos;
        let end = start + me.len();
        let before_ok = start == 0 || !is_name_char(bytes[start - 1] as char);
        let after_ok = end == bytes.len() || !is_name_char(bytes[end] as char);
        if before_ok && after_ok {
            return true;
        }
        from = start + 1;
        while !lower.is_char_boundary(from) {
            from += 1;
        }
    }
    false
}

impl App {
    /// A fresh client showing the login form.
    pub fn new(login: LoginForm, theme: Theme, themes: ThemeSet, settings: Settings) -> App {
        App {
            screen: Screen::Login,
            login,
            me: None,
            role: Role::User,
            conn: ConnState::Offline(None),
            rtt: None,
            status: Status::Available,
            chats: vec![ChatState::new(ChatKey::Public)],
            active: 0,
            inbox: Inbox {
                incoming: Vec::new(),
                outgoing: Vec::new(),
                selected: 0,
                draft: new_draft(),
            },
            online: Vec::new(),
            people: People::default(),
            show_help: false,
            help_scroll: 0,
            notice: None,
            motd: None,
            theme,
            themes,
            settings,
            now_ms: 0,
            size: (80, 24),
            quit: false,
            next_id: 1,
            pending: HashMap::new(),
            focus_on_open: HashSet::new(),
            input_history: Vec::new(),
            history_pos: None,
            history_stash: Vec::new(),
            welcomed: false,
            submitting: None,
            command_text: HashMap::new(),
            public_unread_hint: None,
        }
    }

    /// Whether `/quit` or Ctrl-C was seen.
    pub fn should_quit(&self) -> bool {
        self.quit
    }

    /// The inbox's tab index.
    pub fn inbox_tab(&self) -> usize {
        self.chats.len()
    }

    pub fn tab_count(&self) -> usize {
        self.chats.len() + 1
    }

    /// The chat of the active tab (`None` on the inbox).
    pub fn active_chat(&self) -> Option<&ChatState> {
        self.chats.get(self.active)
    }

    /// The active tab's draft.
    pub fn draft(&self) -> &TextArea<'static> {
        match self.chats.get(self.active) {
            Some(c) => &c.draft,
            None => &self.inbox.draft,
        }
    }

    fn draft_mut(&mut self) -> &mut TextArea<'static> {
        match self.chats.get_mut(self.active) {
            Some(c) => &mut c.draft,
            None => &mut self.inbox.draft,
        }
    }

    fn draft_is_empty(&self) -> bool {
        self.draft().is_empty()
    }

    /// Is the client logged in and connected right now?
    pub fn online_now(&self) -> bool {
        self.conn == ConnState::Connected
    }

    fn chat_index(&self, key: &ChatKey) -> Option<usize> {
        let want = chat_key_lower(key);
        self.chats
            .iter()
            .position(|c| chat_key_lower(&c.key) == want)
    }

    fn private_index(&self, name: &str) -> Option<usize> {
        let want = name.to_ascii_lowercase();
        self.chats.iter().position(
            |c| matches!(&c.key, ChatKey::Private(n) if n.as_str().eq_ignore_ascii_case(&want)),
        )
    }

    fn is_me(&self, name: &UserName) -> bool {
        self.me.as_ref().is_some_and(|m| m.key() == name.key())
    }

    /// The chat area's geometry, from the same layout the renderer uses.
    pub fn geometry(&self) -> Geometry {
        let areas = layout::areas(self, Rect::new(0, 0, self.size.0, self.size.1));
        Geometry {
            width: areas.main.width,
            height: areas.main.height,
            clock_width: time::clock_width(self.settings.twelve_hour),
            utc_offset: self.settings.utc_offset,
        }
    }

    /// The view over chat `i` at the current geometry.
    pub fn chat_view(&self, i: usize) -> ChatView<'_> {
        let chat = &self.chats[i];
        ChatView {
            log: &chat.log,
            marker_after: chat.marker_after,
            geo: self.geometry(),
        }
    }

    fn new_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    fn request(&mut self, out: &mut Vec<Command>, request: Request, pending: Option<Pending>) {
        let id = pending.map(|p| {
            let id = self.new_id();
            self.pending.insert(id, p);
            if let Some(text) = &self.submitting {
                self.command_text.insert(id, (self.active, text.clone()));
            }
            id
        });
        out.push(Command::Send(ClientFrame { id, request }));
    }

    fn info(&mut self, text: impl Into<String>) {
        self.notice = Some(Notice {
            text: text.into(),
            error: false,
        });
    }

    fn error(&mut self, text: impl Into<String>) {
        self.notice = Some(Notice {
            text: text.into(),
            error: true,
        });
    }

    /// The one place state changes.
    pub fn update(&mut self, event: Event) -> Vec<Command> {
        let mut out = Vec::new();
        match event {
            Event::Key(key) => self.on_key(key, &mut out),
            Event::Mouse(m) => self.on_mouse(m, &mut out),
            Event::Resize(w, h) => self.size = (w, h),
            Event::Paste(text) => self.on_paste(&text),
            Event::Net(ev) => self.on_net(ev, &mut out),
            Event::Terminate => {
                self.quit = true;
                out.push(Command::Quit);
            }
        }
        self.after_update(&mut out);
        out
    }

    /// Work that follows from the new state: mark what is in view as read,
    /// load older history when the top of a chat is in view.
    fn after_update(&mut self, out: &mut Vec<Command>) {
        if self.screen != Screen::Chat || !self.online_now() || self.active >= self.chats.len() {
            return;
        }
        let i = self.active;
        let (rows_at_top, at_bottom) = {
            let chat = &self.chats[i];
            let view = self.chat_view(i);
            (view.visible(chat.scroll).1, chat.scroll.is_none())
        };
        let chat = &self.chats[i];
        if rows_at_top && chat.more_older && !chat.loading {
            if let Some(oldest) = chat.log.oldest_id() {
                let key = chat.key.clone();
                self.chats[i].loading = true;
                self.request(
                    out,
                    Request::History {
                        chat: key.to_string(),
                        before: Some(oldest),
                        after: None,
                        limit: Some(PAGE),
                    },
                    Some(Pending::History {
                        chat: key,
                        dir: HistoryDir::Older,
                    }),
                );
            }
        }
        let chat = &self.chats[i];
        let newest = chat.log.newest_id();
        if at_bottom && !self.show_help {
            if newest > chat.last_read {
                let key = chat.key.to_string();
                self.request(
                    out,
                    Request::MarkRead {
                        chat: key,
                        msg_id: newest,
                    },
                    None,
                );
                self.chats[i].last_read = newest;
            }
            let chat = &mut self.chats[i];
            chat.unread = 0;
            chat.attention = Attention::None;
        }
    }

    // ----- keys -------------------------------------------------------------

    fn on_key(&mut self, key: KeyEvent, out: &mut Vec<Command>) {
        let Some(action) = keys::action(key) else {
            return;
        };
        if action == Action::Quit {
            self.quit = true;
            out.push(Command::Quit);
            return;
        }
        match self.screen {
            Screen::Login => self.on_login_key(action, out),
            Screen::Chat => self.on_chat_key(action, out),
        }
    }

    fn on_login_key(&mut self, action: Action, out: &mut Vec<Command>) {
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

    fn on_chat_key(&mut self, action: Action, out: &mut Vec<Command>) {
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
                _ => {}
            }
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
                    if let Some(u) = self.online.get(self.people.selected) {
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
    fn on_inbox_key(&mut self, action: Action, out: &mut Vec<Command>) -> bool {
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

    fn page(&self) -> usize {
        usize::from(self.geometry().height).saturating_sub(1).max(1)
    }

    fn scroll_up(&mut self, n: usize) {
        if let Some(i) = self.chats.get(self.active).map(|_| self.active) {
            let anchor = self.chat_view(i).scroll_up(self.chats[i].scroll, n);
            self.set_scroll(i, anchor);
        }
    }

    fn scroll_down(&mut self, n: usize) {
        if self.active < self.chats.len() {
            let i = self.active;
            let anchor = self.chat_view(i).scroll_down(self.chats[i].scroll, n);
            self.set_scroll(i, anchor);
        }
    }

    fn scroll_top(&mut self) {
        if self.active < self.chats.len() {
            let i = self.active;
            let anchor = self.chat_view(i).top();
            self.set_scroll(i, anchor);
        }
    }

    fn scroll_bottom(&mut self) {
        if self.active < self.chats.len() {
            self.set_scroll(self.active, None);
        }
    }

    fn set_scroll(&mut self, i: usize, anchor: Option<Anchor>) {
        let chat = &mut self.chats[i];
        if chat.scroll.is_none() && anchor.is_some() && chat.marker_after.is_none() {
            // From now on, new arrivals are not seen: mark where they start.
            chat.marker_after = Some(chat.log.newest_id());
        }
        chat.scroll = anchor;
    }

    fn switch_tab(&mut self, to: usize) {
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
    fn next_activity_tab(&self) -> Option<usize> {
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

    // ----- input line -------------------------------------------------------

    fn history_prev(&mut self) {
        if self.input_history.is_empty() || self.draft().cursor().0 > 0 {
            if self.draft().cursor().0 > 0 {
                self.draft_mut().move_cursor(CursorMove::Up);
            }
            return;
        }
        let pos = match self.history_pos {
            None => {
                self.history_stash = self.draft().lines().to_vec();
                self.input_history.len() - 1
            }
            Some(0) => return,
            Some(p) => p - 1,
        };
        self.history_pos = Some(pos);
        let text = self.input_history[pos].clone();
        set_draft(self.draft_mut(), &text);
    }

    fn history_next(&mut self) {
        let last_row = self.draft().lines().len() - 1;
        if self.draft().cursor().0 < last_row {
            self.draft_mut().move_cursor(CursorMove::Down);
            return;
        }
        let Some(pos) = self.history_pos else { return };
        if pos + 1 < self.input_history.len() {
            self.history_pos = Some(pos + 1);
            let text = self.input_history[pos + 1].clone();
            set_draft(self.draft_mut(), &text);
        } else {
            self.history_pos = None;
            let text = self.history_stash.join("\n");
            set_draft(self.draft_mut(), &text);
        }
    }

    fn remember(&mut self, text: String) {
        if self.input_history.last() != Some(&text) {
            self.input_history.push(text);
            if self.input_history.len() > INPUT_HISTORY {
                self.input_history.remove(0);
            }
        }
        self.history_pos = None;
    }

    fn on_paste(&mut self, text: &str) {
        let text = text.replace("\r\n", "\n").replace('\r', "\n");
        let text = clean_text(&text).into_owned();
        match self.screen {
            Screen::Login => {
                if let Some(field) = self.login.field_mut() {
                    field.insert_str(text.lines().next().unwrap_or(""));
                }
            }
            Screen::Chat => {
                self.draft_mut().insert_str(&text);
            }
        }
    }

    /// Names Tab can complete: online users, chat partners, requesters.
    fn known_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.online.iter().map(|u| u.user.to_string()).collect();
        names.extend(
            self.chats
                .iter()
                .filter_map(|c| c.key.partner().map(|n| n.to_string())),
        );
        names.extend(self.inbox.incoming.iter().map(|r| r.from.to_string()));
        names.extend(self.inbox.outgoing.iter().map(|r| r.to.to_string()));
        names.sort_by_key(|n| n.to_ascii_lowercase());
        names.dedup_by_key(|n| n.to_ascii_lowercase());
        names
    }

    fn complete(&mut self) {
        let cursor = self.draft().cursor();
        let (row, col) = (cursor.0, cursor.1);
        let line: Vec<char> = self.draft().lines()[row].chars().collect();
        let col = col.min(line.len());
        let start = line[..col]
            .iter()
            .rposition(|c| c.is_whitespace())
            .map_or(0, |p| p + 1);
        let word: String = line[start..col].iter().collect();
        let is_command = row == 0 && start == 0 && word.starts_with('/');
        let (prefix, candidates): (String, Vec<String>) = if is_command {
            let cands = COMMANDS
                .iter()
                .map(|(c, _, _)| (*c).to_owned())
                .filter(|c| c.starts_with(&word.to_ascii_lowercase()))
                .collect();
            (word.clone(), cands)
        } else {
            let bare = word.trim_start_matches('@').to_ascii_lowercase();
            if bare.is_empty() {
                return;
            }
            let cands = self
                .known_names()
                .into_iter()
                .filter(|n| n.to_ascii_lowercase().starts_with(&bare))
                .collect();
            (word.clone(), cands)
        };
        let at = if !is_command && prefix.starts_with('@') {
            "@"
        } else {
            ""
        };
        let replacement = match candidates.len() {
            0 => {
                self.error(format!("no completion for {}", clean_line(&prefix)));
                return;
            }
            1 => {
                let suffix = if is_command {
                    " "
                } else if row == 0 && start == 0 && at.is_empty() {
                    ": "
                } else {
                    " "
                };
                format!("{at}{}{suffix}", candidates[0])
            }
            _ => {
                let lcp = longest_common_prefix(&candidates);
                self.info(candidates.join("  "));
                if lcp.chars().count() <= prefix.trim_start_matches('@').chars().count() {
                    return;
                }
                format!("{at}{lcp}")
            }
        };
        let ta = self.draft_mut();
        for _ in 0..(col - start) {
            ta.delete_char();
        }
        ta.insert_str(replacement);
    }

    fn submit(&mut self, out: &mut Vec<Command>) {
        let text = draft_text(self.draft());
        if text.trim().is_empty() {
            return;
        }
        if text.starts_with('/') && !text.starts_with("//") {
            match commands::parse(&text) {
                Ok(cmd) => {
                    self.notice = None;
                    self.submitting = Some(text.clone());
                    let done = self.run_command(cmd, out);
                    self.submitting = None;
                    if done {
                        set_draft(self.draft_mut(), "");
                        self.remember(text);
                    }
                }
                Err(e) => self.error(e),
            }
            return;
        }
        let text = text.strip_prefix('/').map_or(text.clone(), str::to_owned);
        let Some(chat) = self.active_chat().map(|c| c.key.clone()) else {
            self.error("the inbox takes no messages: switch to a chat (Ctrl-N) or use /chat NAME");
            return;
        };
        if !self.online_now() {
            self.error("not connected: your message is kept in the input line");
            return;
        }
        if let Err(e) = validate_text(&text) {
            self.error(format!("not sent: {e}"));
            return;
        }
        set_draft(self.draft_mut(), "");
        self.remember(text.clone());
        self.notice = None;
        if let Some(c) = self.chats.get_mut(self.active) {
            c.scroll = None;
        }
        self.request(
            out,
            Request::Send {
                chat: chat.to_string(),
                text: text.clone(),
            },
            Some(Pending::Send { chat, text }),
        );
    }

    // ----- commands ---------------------------------------------------------

    /// Runs a command; false if it failed here (the draft is then kept).
    fn run_command(&mut self, cmd: SlashCommand, out: &mut Vec<Command>) -> bool {
        let needs_net = !matches!(
            cmd,
            SlashCommand::Theme(_) | SlashCommand::Help | SlashCommand::Quit
        );
        if needs_net && !self.online_now() {
            self.error("not connected: try again once the status bar says connected");
            return false;
        }
        match cmd {
            SlashCommand::Chat(name) => self.cmd_chat(&name, out),
            SlashCommand::Accept(name) => self.cmd_accept(&name, out),
            SlashCommand::Reject(name) => self.cmd_reject(&name, out),
            SlashCommand::Cancel(name) => self.cmd_cancel(&name, out),
            SlashCommand::End => match self.active_chat().and_then(|c| c.key.partner()) {
                Some(name) => {
                    let name = name.to_string();
                    self.request(
                        out,
                        Request::EndChat { user: name.clone() },
                        Some(Pending::EndChat(name)),
                    );
                }
                None => {
                    self.error("/end works in a private chat's tab");
                    return false;
                }
            },
            SlashCommand::Who => self.request(out, Request::Who, Some(Pending::Who)),
            SlashCommand::Status(s) => self.request(
                out,
                Request::SetStatus { status: s },
                Some(Pending::SetStatus(s)),
            ),
            SlashCommand::Theme(name) => match self.themes.get(&name) {
                Ok(theme) => {
                    self.theme = theme;
                    self.info(format!("theme: {name}"));
                }
                Err(e) => {
                    self.error(clean_line(&e.to_string()).into_owned());
                    return false;
                }
            },
            SlashCommand::Help => self.show_help = true,
            SlashCommand::Quit => {
                self.quit = true;
                out.push(Command::Quit);
            }
        }
        self.notice.as_ref().is_none_or(|n| !n.error)
    }

    fn cmd_chat(&mut self, name: &str, out: &mut Vec<Command>) {
        if let Some(i) = self.private_index(name) {
            self.switch_tab(i);
            return;
        }
        if self
            .me
            .as_ref()
            .is_some_and(|m| m.as_str().eq_ignore_ascii_case(name))
        {
            self.error("that is you: pick someone else");
            return;
        }
        if !self.online_now() {
            self.error("not connected");
            return;
        }
        self.focus_on_open.insert(name.to_ascii_lowercase());
        self.request(
            out,
            Request::RequestChat {
                user: name.to_owned(),
            },
            Some(Pending::RequestChat(name.to_owned())),
        );
    }

    fn cmd_accept(&mut self, name: &str, out: &mut Vec<Command>) {
        self.focus_on_open.insert(name.to_ascii_lowercase());
        self.request(
            out,
            Request::Accept {
                user: name.to_owned(),
            },
            Some(Pending::Accept(name.to_owned())),
        );
    }

    fn cmd_reject(&mut self, name: &str, out: &mut Vec<Command>) {
        self.request(
            out,
            Request::Reject {
                user: name.to_owned(),
            },
            Some(Pending::Reject(name.to_owned())),
        );
    }

    fn cmd_cancel(&mut self, name: &str, out: &mut Vec<Command>) {
        self.request(
            out,
            Request::CancelRequest {
                user: name.to_owned(),
            },
            Some(Pending::Cancel(name.to_owned())),
        );
    }

    // ----- mouse ------------------------------------------------------------

    fn on_mouse(&mut self, m: MouseEvent, out: &mut Vec<Command>) {
        if self.screen != Screen::Chat || self.show_help {
            return;
        }
        let area = Rect::new(0, 0, self.size.0, self.size.1);
        let areas = layout::areas(self, area);
        match m.kind {
            MouseEventKind::ScrollUp => self.scroll_up(WHEEL_ROWS),
            MouseEventKind::ScrollDown => self.scroll_down(WHEEL_ROWS),
            MouseEventKind::Down(MouseButton::Left) => {
                if m.row == areas.tabs.y {
                    let hit = super::ui::tabs::tab_hits(self, areas.tabs.width)
                        .into_iter()
                        .find(|(x0, x1, _)| m.column >= *x0 && m.column < *x1);
                    if let Some((_, _, t)) = hit {
                        self.switch_tab(t);
                    }
                } else if let Some(p) = areas.people {
                    if m.column >= p.x && m.row > p.y && m.row < p.y + p.height {
                        let idx = usize::from(m.row - p.y - 1);
                        if idx < self.online.len() {
                            if self.people.selected == idx {
                                let name = self.online[idx].user.to_string();
                                self.cmd_chat(&name, out);
                            }
                            self.people.selected = idx;
                        }
                    }
                }
            }
            _ => {}
        }
    }

    // ----- network ----------------------------------------------------------

    fn on_net(&mut self, ev: NetEvent, out: &mut Vec<Command>) {
        match ev {
            NetEvent::Connecting { .. } => {
                if self.screen == Screen::Login {
                    self.conn = ConnState::Connecting;
                }
            }
            NetEvent::Frame(frame) => self.on_frame(frame, out),
            NetEvent::LoginFailed(err) => {
                self.conn = ConnState::Offline(None);
                self.screen = Screen::Login;
                self.login.busy = false;
                self.login.error = Some(login_error_text(&err, self.now_ms));
                match err.code {
                    ErrorCode::InvalidName | ErrorCode::NameTaken => self.login.focus = Field::User,
                    ErrorCode::InvalidPassword | ErrorCode::BadCredentials => {
                        self.login.focus = Field::Password
                    }
                    _ => {}
                }
            }
            NetEvent::ConnectFailed(reason) => {
                self.conn = ConnState::Offline(Some(clean_line(&reason).into_owned()));
                self.login.busy = false;
                self.login.error = Some(clean_line(&reason).into_owned());
                self.login.focus = Field::Server;
            }
            NetEvent::Lost { reason, retry_in } => {
                self.conn = ConnState::Reconnecting {
                    secs: retry_in.as_secs(),
                };
                self.rtt = None;
                let unconfirmed = self
                    .pending
                    .values()
                    .filter(|p| matches!(p, Pending::Send { .. }))
                    .count();
                self.pending.clear();
                self.command_text.clear();
                for c in &mut self.chats {
                    c.loading = false;
                }
                let reason = clean_line(&reason).into_owned();
                if unconfirmed > 0 {
                    self.error(format!(
                        "connection lost ({reason}) before {unconfirmed} message(s) were confirmed: they appear below once delivered"
                    ));
                } else {
                    self.error(format!("connection lost ({reason}); reconnecting"));
                }
            }
            NetEvent::RetryIn(d) => {
                self.conn = ConnState::Reconnecting { secs: d.as_secs() };
            }
            NetEvent::Offline(reason) => {
                let reason = clean_line(&reason).into_owned();
                self.conn = ConnState::Offline(Some(reason.clone()));
                self.screen = Screen::Login;
                self.login.busy = false;
                self.login.error = Some(reason);
            }
            NetEvent::Rtt(d) => self.rtt = Some(d),
        }
    }

    fn on_frame(&mut self, frame: ServerFrame, out: &mut Vec<Command>) {
        match frame {
            ServerFrame::Hello(h) => {
                self.motd = h.motd.map(|m| clean_line(&m).into_owned());
            }
            ServerFrame::Welcome(w) => self.on_welcome(w, out),
            ServerFrame::Ok(ok) => {
                self.command_text.remove(&ok.id);
                if let Some(p) = self.pending.remove(&ok.id) {
                    self.on_ok(p);
                }
            }
            ServerFrame::Error(e) => self.on_error(e),
            ServerFrame::Message(m) => self.on_message(m, true, out),
            ServerFrame::Presence(p) => self.on_presence(p),
            ServerFrame::Who { id, online } => {
                self.pending.remove(&id);
                self.command_text.remove(&id);
                self.set_online(online);
                let list: Vec<String> = self
                    .online
                    .iter()
                    .map(|u| format!("{} ({})", u.user, u.status.as_str()))
                    .collect();
                self.info(format!("online: {}", list.join(", ")));
            }
            ServerFrame::ChatRequest { from, ts } => {
                if !self
                    .inbox
                    .incoming
                    .iter()
                    .any(|r| r.from.key() == from.key())
                {
                    self.inbox.incoming.push(RequestIn {
                        from: from.clone(),
                        ts,
                    });
                }
                self.info(format!("{from} asks for a private chat: see the Inbox tab"));
                if self.settings.bell && self.active != self.inbox_tab() {
                    out.push(Command::Bell);
                }
            }
            ServerFrame::ChatRequestSent { to, ts } => self.add_outgoing(to, ts),
            ServerFrame::ChatOpened { chat, user, .. } => {
                self.remove_requests(&user);
                let i = self.open_chat(chat, out);
                self.chats[i].partner_online =
                    self.online.iter().any(|u| u.user.key() == user.key());
                if self.focus_on_open.remove(&user.key()) {
                    self.switch_tab(i);
                }
                self.info(format!("private chat with {user} is open"));
            }
            ServerFrame::ChatRejected { user } => {
                self.inbox.outgoing.retain(|r| r.to.key() != user.key());
                self.focus_on_open.remove(&user.key());
                self.info(format!("{user} declined your chat request"));
            }
            ServerFrame::ChatRequestRemoved { user } => self.remove_requests(&user),
            ServerFrame::ChatEnded { chat, user, by } => {
                if let Some(i) = self.chat_index(&chat) {
                    self.close_tab(i);
                }
                if self.is_me(&by) {
                    self.info(format!("you ended the private chat with {user}"));
                } else {
                    self.info(format!("{by} ended the private chat"));
                }
            }
            ServerFrame::History(page) => self.on_history(page, out),
            ServerFrame::Read { chat, msg_id } => {
                if let Some(i) = self.chat_index(&chat) {
                    let me = self.me.clone();
                    let c = &mut self.chats[i];
                    if msg_id > c.last_read {
                        c.last_read = msg_id;
                        c.unread = c
                            .log
                            .entries()
                            .iter()
                            .filter(|e| e.key.0 > msg_id)
                            .filter(|e| match &e.kind {
                                EntryKind::Message { from, .. } => {
                                    me.as_ref().is_none_or(|m| m.key() != from.key())
                                }
                                EntryKind::System(_) => false,
                            })
                            .count() as u64;
                        if c.unread == 0 {
                            c.attention = Attention::None;
                        }
                    }
                }
            }
            ServerFrame::Pong { .. } => {}
            ServerFrame::Shutdown { reason } => {
                self.error(format!(
                    "the server is shutting down: {}",
                    clean_line(&reason)
                ));
            }
        }
    }

    fn add_outgoing(&mut self, to: UserName, ts: i64) {
        if self.private_index(to.as_str()).is_none()
            && !self.inbox.outgoing.iter().any(|r| r.to.key() == to.key())
        {
            self.inbox.outgoing.push(RequestOut { to, ts });
        }
    }

    fn remove_requests(&mut self, user: &UserName) {
        self.inbox.incoming.retain(|r| r.from.key() != user.key());
        self.inbox.outgoing.retain(|r| r.to.key() != user.key());
        let total = self.inbox.incoming.len() + self.inbox.outgoing.len();
        self.inbox.selected = self.inbox.selected.min(total.saturating_sub(1));
    }

    fn close_tab(&mut self, i: usize) {
        if i == 0 || i >= self.chats.len() {
            return;
        }
        let was_active = self.active == i;
        self.chats.remove(i);
        if was_active {
            self.active = 0;
            self.chats[0].scroll = None;
        } else if self.active > i {
            self.active -= 1;
        }
    }

    /// Opens a tab for `key` if there is none, asking for its newest page.
    fn open_chat(&mut self, key: ChatKey, out: &mut Vec<Command>) -> usize {
        if let Some(i) = self.chat_index(&key) {
            return i;
        }
        let inbox_was_active = self.active == self.inbox_tab();
        self.chats.push(ChatState::new(key));
        let i = self.chats.len() - 1;
        if inbox_was_active {
            self.active = self.inbox_tab();
        }
        self.load_initial(i, out);
        i
    }

    fn load_initial(&mut self, i: usize, out: &mut Vec<Command>) {
        let key = self.chats[i].key.clone();
        self.chats[i].loading = true;
        self.request(
            out,
            Request::History {
                chat: key.to_string(),
                before: None,
                after: None,
                limit: Some(PAGE),
            },
            Some(Pending::History {
                chat: key,
                dir: HistoryDir::Initial,
            }),
        );
    }

    fn catch_up(&mut self, i: usize, out: &mut Vec<Command>) {
        let key = self.chats[i].key.clone();
        let after = self.chats[i].log.newest_id();
        self.chats[i].loading = true;
        self.request(
            out,
            Request::History {
                chat: key.to_string(),
                before: None,
                after: Some(after),
                limit: Some(CATCH_UP_PAGE),
            },
            Some(Pending::History {
                chat: key,
                dir: HistoryDir::Newer,
            }),
        );
    }

    fn set_online(&mut self, mut online: Vec<OnlineUser>) {
        online.sort_by_key(|u| u.user.key());
        online.dedup_by_key(|u| u.user.key());
        self.online = online;
        if self.people.selected >= self.online.len() {
            self.people.selected = self.online.len().saturating_sub(1);
        }
        for c in &mut self.chats {
            if let Some(p) = c.key.partner() {
                c.partner_online = self.online.iter().any(|u| u.user.key() == p.key());
            }
        }
    }

    fn on_welcome(&mut self, w: Welcome, out: &mut Vec<Command>) {
        let same_user = self.me.as_ref().is_some_and(|m| m.key() == w.user.key());
        let resync = self.welcomed && same_user;
        if !resync {
            let drafts_kept = self.chats[0].draft.clone();
            self.chats = vec![ChatState::new(ChatKey::Public)];
            self.chats[0].draft = drafts_kept;
            self.active = 0;
            self.inbox.incoming.clear();
            self.inbox.outgoing.clear();
            self.pending.clear();
            self.command_text.clear();
        }
        self.welcomed = true;
        self.screen = Screen::Chat;
        self.conn = ConnState::Connected;
        self.login.busy = false;
        self.login.error = None;
        self.login.clear_password();
        self.me = Some(w.user.clone());
        self.role = w.role;
        self.set_online(w.online);
        if let Some(me) = self.online.iter().find(|u| u.user.key() == w.user.key()) {
            self.status = me.status;
        }
        self.inbox.incoming = w.requests_in;
        self.inbox.outgoing = w.requests_out;
        for s in &w.chats {
            if self.chat_index(&s.chat).is_none() {
                self.chats.push(ChatState::new(s.chat.clone()));
            }
        }
        for s in &w.chats {
            if let Some(i) = self.chat_index(&s.chat) {
                let c = &mut self.chats[i];
                c.unread = s.unread;
                c.last_read = c.last_read.max(s.last_read);
                c.partner_online = s.online;
                c.attention = if s.unread > 0 {
                    Attention::Highlight
                } else {
                    Attention::None
                };
            }
        }
        let public = &mut self.chats[0];
        public.unread = w.public_unread;
        public.attention = if w.public_unread > 0 {
            Attention::Activity
        } else {
            Attention::None
        };
        if public.log.is_empty() {
            self.public_unread_hint = Some(w.public_unread);
        }
        if !resync {
            if let Some(motd) = self.motd.clone() {
                self.chats[0].log.push_system(self.now_ms, motd);
            }
        }
        for i in 0..self.chats.len() {
            if self.chats[i].log.newest_id() == 0 {
                self.load_initial(i, out);
            } else {
                self.catch_up(i, out);
            }
        }
        if resync {
            self.info("reconnected");
        } else {
            self.notice = None;
        }
    }

    fn on_ok(&mut self, p: Pending) {
        match p {
            Pending::SetStatus(s) => {
                self.status = s;
                self.info(format!("your status is now {}", s.as_str()));
            }
            Pending::RequestChat(name) => {
                if self.private_index(&name).is_none() {
                    if let Ok(user) = UserName::parse(&name) {
                        self.add_outgoing(user, self.now_ms);
                    }
                    self.info(format!(
                        "chat request sent to {name}; it waits in their inbox"
                    ));
                }
            }
            Pending::Accept(name) | Pending::Reject(name) => {
                self.inbox
                    .incoming
                    .retain(|r| !r.from.as_str().eq_ignore_ascii_case(&name));
                self.clamp_inbox();
            }
            Pending::Cancel(name) => {
                self.inbox
                    .outgoing
                    .retain(|r| !r.to.as_str().eq_ignore_ascii_case(&name));
                self.focus_on_open.remove(&name.to_ascii_lowercase());
                self.clamp_inbox();
            }
            Pending::Send { .. } | Pending::History { .. } | Pending::EndChat(_) | Pending::Who => {
            }
        }
    }

    fn clamp_inbox(&mut self) {
        let total = self.inbox.incoming.len() + self.inbox.outgoing.len();
        self.inbox.selected = self.inbox.selected.min(total.saturating_sub(1));
    }

    fn on_error(&mut self, e: ErrorFrame) {
        if let Some((tab, text)) = e.id.and_then(|id| self.command_text.remove(&id)) {
            let n = self.chats.len();
            let ta = match self.chats.get_mut(tab) {
                Some(c) => &mut c.draft,
                None => &mut self.inbox.draft,
            };
            if tab <= n && ta.is_empty() {
                set_draft(ta, &text);
            }
        }
        let pending = e.id.and_then(|id| self.pending.remove(&id));
        let msg = error_text(&e, self.now_ms);
        match pending {
            Some(Pending::Send { chat, text }) => {
                if let Some(i) = self.chat_index(&chat) {
                    if self.chats[i].draft.is_empty() {
                        set_draft(&mut self.chats[i].draft, &text);
                    }
                }
                self.error(format!("not sent: {msg}"));
            }
            Some(Pending::History { chat, .. }) => {
                if let Some(i) = self.chat_index(&chat) {
                    self.chats[i].loading = false;
                    self.chats[i].more_older = false;
                }
                if e.code != ErrorCode::NotOpen {
                    self.error(format!("could not load history: {msg}"));
                }
            }
            Some(Pending::RequestChat(name) | Pending::Accept(name)) => {
                self.focus_on_open.remove(&name.to_ascii_lowercase());
                self.error(msg);
            }
            _ => self.error(msg),
        }
    }

    fn on_presence(&mut self, p: Presence) {
        let was = self
            .online
            .iter()
            .find(|u| u.user.key() == p.user.key())
            .map(|u| u.status);
        let mut online = self.online.clone();
        online.retain(|u| u.user.key() != p.user.key());
        if p.online {
            online.push(OnlineUser {
                user: p.user.clone(),
                status: p.status,
            });
        }
        self.set_online(online);
        if self.is_me(&p.user) {
            self.status = p.status;
            return;
        }
        let line = match (was, p.online) {
            (None, true) => format!("{} joined", p.user),
            (Some(_), false) => format!("{} left", p.user),
            (Some(s), true) if s != p.status => {
                format!("{} is now {}", p.user, p.status.as_str())
            }
            _ => return,
        };
        self.chats[0].log.push_system(self.now_ms, line);
    }

    /// A message from the live stream (`live`) or a history page.
    fn on_message(&mut self, m: Message, live: bool, out: &mut Vec<Command>) {
        let i = match self.chat_index(&m.chat) {
            Some(i) => i,
            None if live && matches!(m.chat, ChatKey::Private(_)) => {
                self.open_chat(m.chat.clone(), out)
            }
            None => return,
        };
        let own = self.is_me(&m.from);
        let text = clean_text(&m.text).into_owned();
        let mention = !own
            && self
                .me
                .as_ref()
                .is_some_and(|me| mentions(&text, me.as_str()));
        let private = matches!(m.chat, ChatKey::Private(_));
        let inserted = self.chats[i].log.insert_message(
            m.msg_id,
            m.ts,
            EntryKind::Message {
                from: m.from,
                text,
                own,
                mention,
            },
        );
        if !inserted || !live || own {
            return;
        }
        let in_view = self.screen == Screen::Chat
            && self.active == i
            && self.chats[i].scroll.is_none()
            && !self.show_help;
        if in_view {
            return;
        }
        let chat = &mut self.chats[i];
        if m.msg_id > chat.last_read {
            chat.unread += 1;
        }
        let level = if private || mention {
            Attention::Highlight
        } else {
            Attention::Activity
        };
        chat.attention = chat.attention.max(level);
        if self.active == i && chat.marker_after.is_none() {
            chat.marker_after = Some(chat.last_read);
        }
        if (private || mention) && self.settings.bell {
            out.push(Command::Bell);
        }
    }

    fn on_history(&mut self, page: HistoryPage, out: &mut Vec<Command>) {
        let dir = match self.pending.remove(&page.id) {
            Some(Pending::History { dir, .. }) => dir,
            _ => return,
        };
        let Some(i) = self.chat_index(&page.chat) else {
            return;
        };
        let newest_before = self.chats[i].log.newest_id();
        for m in page.messages {
            self.on_message(m, false, out);
        }
        let chat = &mut self.chats[i];
        chat.loading = false;
        match dir {
            HistoryDir::Initial => {
                chat.more_older = page.more;
                if i == 0 {
                    if let Some(k) = self.public_unread_hint.take() {
                        self.place_public_marker(k);
                    }
                }
                let chat = &mut self.chats[i];
                if self.active == i && chat.unread > 0 && chat.marker_after.is_none() {
                    chat.marker_after = Some(chat.last_read);
                }
            }
            HistoryDir::Older => chat.more_older = page.more && chat.log.newest_id() > 0,
            HistoryDir::Newer => {
                if page.more && chat.log.newest_id() > newest_before {
                    self.catch_up(i, out);
                }
            }
        }
    }

    /// `welcome` gives the public room's unread count but not its marker:
    /// place it before the `k`-th newest message from someone else.
    fn place_public_marker(&mut self, k: u64) {
        let me = self.me.clone();
        let chat = &mut self.chats[0];
        if k == 0 {
            chat.last_read = chat.last_read.max(chat.log.newest_id());
            return;
        }
        let mut seen = 0;
        let mut marker = 0;
        for e in chat.log.entries().iter().rev() {
            if let EntryKind::Message { from, .. } = &e.kind {
                if me.as_ref().is_none_or(|m| m.key() != from.key()) {
                    seen += 1;
                    if seen == k {
                        marker = e.key.0.saturating_sub(1);
                        break;
                    }
                }
            }
        }
        chat.last_read = chat.last_read.max(marker);
    }
}

fn chat_key_lower(key: &ChatKey) -> String {
    key.to_string().to_ascii_lowercase()
}

fn longest_common_prefix(words: &[String]) -> String {
    let Some(first) = words.first() else {
        return String::new();
    };
    let mut n = first.len();
    for w in &words[1..] {
        n = n.min(
            first
                .char_indices()
                .zip(w.chars())
                .take_while(|((_, a), b)| a.eq_ignore_ascii_case(b))
                .count(),
        );
    }
    first.chars().take(n).collect()
}

fn secs_text(ms: u64) -> String {
    let s = ms.div_ceil(1000);
    if s >= 60 {
        format!("{}m {:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

/// A server error as a sentence for the user; the server's own message is
/// cleaned and kept for codes that carry a rule (invalid name/password/text).
pub fn error_text(e: &ErrorFrame, now_ms: i64) -> String {
    let server_msg = clean_line(&e.message).into_owned();
    match e.code {
        ErrorCode::BadCredentials => "wrong user name or password".to_owned(),
        ErrorCode::LockedOut => match e.retry_after_ms {
            Some(ms) => format!(
                "too many failed logins: locked out, try again in {}",
                secs_text(ms)
            ),
            None => "too many failed logins: locked out for a while".to_owned(),
        },
        ErrorCode::NameTaken => "that name is taken: pick another".to_owned(),
        ErrorCode::InvalidName => format!("invalid name: {server_msg}"),
        ErrorCode::InvalidPassword => format!("invalid password: {server_msg}"),
        ErrorCode::InvalidText => format!("invalid text: {server_msg}"),
        ErrorCode::Banned => match e.until {
            Some(Some(ts)) => format!(
                "this account is banned for another {}",
                secs_text(u64::try_from(ts - now_ms).unwrap_or(0))
            ),
            _ => "this account is banned".to_owned(),
        },
        ErrorCode::RateLimited => format!(
            "slow down: try again in {}",
            secs_text(e.retry_after_ms.unwrap_or(1000))
        ),
        ErrorCode::NoSuchUser => format!("no such user ({server_msg})"),
        ErrorCode::SelfTarget => "that is you: pick someone else".to_owned(),
        ErrorCode::AlreadyOpen => "that chat is already open".to_owned(),
        ErrorCode::AlreadyRequested => "you already asked them; it waits in their inbox".to_owned(),
        ErrorCode::NoRequest => "there is no such pending request".to_owned(),
        ErrorCode::NotOpen => "that private chat is not open".to_owned(),
        _ => format!("{}: {server_msg}", e.code),
    }
}

fn login_error_text(e: &ErrorFrame, now_ms: i64) -> String {
    error_text(e, now_ms)
}

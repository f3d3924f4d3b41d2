//! The client's whole state and the one function that changes it.
//!
//! `App` is plain data; `App::update` takes one `Event` (a key, a mouse
//! action, a paste, a server frame, a connection change) and returns the
//! `Command`s the edges must carry out (send a frame, ring the bell, quit).
//! Nothing here touches the terminal or the socket, so every behaviour can be
//! tested by feeding events and looking at the state and the commands.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::Duration;

use ratatui::layout::Rect;
use ratatui_textarea::{CursorMove, TextArea};

use crate::protocol::{
    ChatKey, ClientFrame, GroupKind, GroupMember, GroupRole, NameKey, OnlineUser, Request, Role,
    Status, UserName,
};

use super::chat::{ChatLog, TrimFrom};
use super::chats::{ChatId, Chats};
use super::event::{Command, Event};
use super::keys::Edit;
use super::login::LoginForm;
use super::theme::{Theme, ThemeSet};
use super::time;
use super::trust::TlsInfo;
use super::ui::layout;
use super::view::{Anchor, ChatView, Geometry};
use super::views::{
    AuditView, DirectoryView, HelpView, InboxView, OutputView, PeopleView, SelectView, TrustView,
};

mod admin;
mod errors;
pub mod files;
mod groups;
mod input;
mod keyboard;
mod server;
mod slash;
mod system;
mod trust;

pub use errors::error_text;
pub use files::{human_size, limit_size, DroppedFile, FileLimits, Phase, Transfer};

/// Messages asked for when a chat is first shown or scrolled to its top.
pub const PAGE: u32 = 50;
/// How long after asking a chat that opens takes the focus.
pub const FOCUS_WINDOW_MS: i64 = 5_000;
/// Page size when catching up after a reconnect.
pub const CATCH_UP_PAGE: u32 = 200;
/// Rows scrolled per mouse-wheel step.
pub const WHEEL_ROWS: usize = 3;
/// Most remembered sent lines for ↑/↓.
pub const INPUT_HISTORY: usize = 200;
/// Older pages fetched per user action (a key, a wheel step): a server
/// that always answers `more: true` cannot make the client fetch forever.
pub const MAX_PAGES_PER_ACTION: u32 = 3;
/// Catch-up pages after a reconnect, per chat. A longer gap is not walked
/// page by page: the newest page is loaded instead, and the rest is there
/// to scroll to.
pub const MAX_CATCH_UP_PAGES: u32 = 5;
pub use super::views::inbox::MAX_INBOX;

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

/// The user's mute in `#public` and groups (§13).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mute {
    /// When it ends; `None` for good.
    pub until: Option<i64>,
}

/// An administration request (§13), remembered to say what its `ok` did.
#[derive(Debug, Clone, PartialEq, Eq)]
enum AdminOp {
    Ban { user: String, minutes: Option<u64> },
    Unban(String),
    Mute { user: String, minutes: Option<u64> },
    Unmute(String),
    Disconnect(String),
    Promote(String),
    Demote(String),
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
    /// Newer messages than the newest here were dropped from memory (or
    /// never loaded): reaching the bottom loads the newest page again.
    pub more_newer: bool,
    /// A `history` request for this chat is under way.
    pub loading: bool,
    /// The `before` of the last older page asked for: never asked twice.
    pub older_anchor: Option<u64>,
    /// Catch-up pages asked since the last login.
    pub catch_up_pages: u32,
    /// Messages sent and not yet confirmed (request id, text): shown
    /// below the chat as pending.
    pub outbox: Vec<(u64, String)>,
    pub draft: TextArea<'static>,
    pub partner_online: bool,
    /// What a group tab knows of its group.
    pub group: Option<GroupState>,
    /// Why this tab is no longer a live chat (removed from the group, the
    /// group deleted). It stays readable, with its draft, until the user
    /// closes it.
    pub closed: Option<String>,
}

/// A group as its tab knows it.
#[derive(Debug, Clone, Default)]
pub struct GroupState {
    pub kind: GroupKind,
    /// Already cleaned for display; empty when there is none.
    pub topic: String,
    /// The user's own role.
    pub role: GroupRole,
    /// Members by name key, with presence.
    pub members: BTreeMap<NameKey, GroupMember>,
    /// `members` is the server's list (from `group_joined` or `members`),
    /// kept current by events since; false after a login, until asked.
    pub members_known: bool,
    /// A `members` request is under way.
    pub members_asked: bool,
}

impl GroupState {
    /// Members in the order the panel lists them: owner, mods, members,
    /// each by name.
    pub fn sorted_members(&self) -> Vec<&GroupMember> {
        let mut list: Vec<&GroupMember> = self.members.values().collect();
        list.sort_by(|a, b| {
            b.role
                .cmp(&a.role)
                .then_with(|| a.user.key().cmp(&b.user.key()))
        });
        list
    }
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
            more_newer: false,
            loading: false,
            older_anchor: None,
            catch_up_pages: 0,
            outbox: Vec::new(),
            draft: new_draft(),
            partner_online: false,
            group: None,
            closed: None,
        }
    }

    /// The tab label without counts: `# public`, `@Name` or `#group`; a
    /// closed tab is marked `✕`.
    pub fn label(&self) -> String {
        let mut label = match &self.key {
            ChatKey::Public => "# public".to_owned(),
            other => other.to_string(),
        };
        if self.closed.is_some() {
            label.push_str(" ✕");
        }
        label
    }

    /// Whether messages can be sent and read here now.
    pub fn is_live(&self) -> bool {
        self.closed.is_none()
    }
}

/// A tab: a chat, or the inbox after the last chat. Requests remember the
/// tab they were made from by identity, since tabs move as others open
/// and close.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Tab {
    Chat(ChatId),
    Inbox,
}

/// A message typed with `/msg NAME text` before NAME's chat was open:
/// sent when the chat opens, given back if it does not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedMsg {
    /// The tab it was typed in: where it comes back if it cannot be sent.
    pub tab: Tab,
    /// The name as typed.
    pub user: String,
    pub text: String,
}

/// Settings that come from config and flags.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub bell: bool,
    pub twelve_hour: bool,
    /// Seconds east of UTC used for all clock times.
    pub utc_offset: i32,
    /// Where trusted certificates are remembered (shown in the prompts).
    pub known_servers: Option<PathBuf>,
    /// Where fetched files are saved.
    pub download_dir: PathBuf,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            bell: true,
            twelve_hour: false,
            utc_offset: 0,
            known_servers: None,
            download_dir: files::default_download_dir(),
        }
    }
}

/// What a request with an `id` was, so its reply can be understood.
#[derive(Debug, Clone, PartialEq)]
enum Pending {
    Send {
        chat: ChatKey,
        text: String,
    },
    History {
        chat: ChatKey,
        dir: HistoryDir,
        /// `before` or `after` of the request.
        anchor: Option<u64>,
    },
    SetStatus(Status),
    CreateGroup(ChatKey),
    Join(ChatKey),
    Leave(ChatKey),
    Invite {
        chat: ChatKey,
        user: String,
    },
    DeclineInvite(ChatKey),
    Kick {
        chat: ChatKey,
        user: String,
    },
    SetTopic(ChatKey),
    SetRole {
        chat: ChatKey,
        user: String,
        role: GroupRole,
    },
    DeleteGroup(ChatKey),
    Groups,
    /// `shown`: asked with /members, so the answer is announced.
    Members {
        chat: ChatKey,
        shown: bool,
    },
    RequestChat(String),
    Accept(String),
    Reject(String),
    Cancel(String),
    EndChat(String),
    Who,
    Admin(AdminOp),
    /// `before`: `None` for the first page (it opens the view).
    Audit {
        before: Option<u64>,
    },
    DeleteMessage,
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
    /// The current connection's TLS certificate; `None` for plain TCP.
    pub tls: Option<TlsInfo>,
    /// A refused certificate waiting for the user: the trust question or
    /// the CHANGED warning, drawn over the screen.
    pub trust: TrustView,
    pub rtt: Option<Duration>,
    pub status: Status,
    /// The chat tabs in order (`#public`, private chats, groups); the
    /// inbox is the tab after the last chat.
    pub chats: Chats,
    /// The index of the tab shown.
    pub active: usize,
    pub inbox: InboxView,
    /// Online users by name key, so sorted case-insensitively.
    pub online: BTreeMap<NameKey, OnlineUser>,
    pub people: PeopleView,
    pub help: HelpView,
    /// The directory of groups (`/groups`).
    pub directory: DirectoryView,
    /// The audit log (`/audit`, admins).
    pub audit: AuditView,
    /// The message selected to act on (Ctrl-↑ / Alt-↑).
    pub select: SelectView,
    /// The system view: command output and the notices shown lately (F3).
    pub output: OutputView,
    /// Set while the user is muted in `#public` and groups.
    pub muted: Option<Mute>,
    pub notice: Option<Notice>,
    /// The server's message of the day (cleaned, line breaks kept): a
    /// banner over `# public`, not a message.
    pub motd: Option<String>,
    /// The user hid the banner (Esc); `/motd` shows it again.
    pub motd_hidden: bool,
    /// The address (`host:port`) logged in at last, one of the login
    /// form's list: the status bar says where the user is.
    pub server_now: Option<String>,
    pub theme: Theme,
    pub themes: ThemeSet,
    pub settings: Settings,
    /// The current time (ms since the epoch); set by the caller before each
    /// update so tests control it.
    pub now_ms: i64,
    /// The terminal size.
    pub size: (u16, u16),
    quit: bool,
    /// Older pages that may still be fetched before the next user action.
    history_budget: u32,
    next_id: u64,
    pending: HashMap<u64, Pending>,
    /// Names whose chat tab should get the focus when it opens,
    /// with when it was asked for: accepting, or a request that opens at
    /// once because the other side had asked too. A request answered much
    /// later only highlights its tab rather than pulling the user away.
    focus_on_open: HashMap<ChatId, i64>,
    input_history: Vec<String>,
    history_pos: Option<usize>,
    history_stash: Vec<String>,
    welcomed: bool,
    /// The command line being run, so requests it makes can be tied to it.
    submitting: Option<String>,
    /// Command lines by request id: put back in the input if the server
    /// refuses the request.
    command_text: HashMap<u64, (Tab, String)>,
    /// `public_unread` from the last welcome, placed once the page arrives.
    public_unread_hint: Option<u64>,
    /// File transfers under way, oldest first.
    pub transfers: Vec<Transfer>,
    /// What the server's `hello` said about files.
    pub file_limits: FileLimits,
    /// Where the last download was saved (`/open`).
    pub last_download: Option<PathBuf>,
    /// A file dragged into the terminal, waiting for y/n.
    pub dropped: Option<DroppedFile>,
    next_tid: u64,
    /// Messages waiting for a private chat to open (`/msg`), by name;
    /// shown with the request in the inbox.
    pub queued: BTreeMap<NameKey, Vec<QueuedMsg>>,
    /// Why the server said it was shutting down (cleaned), kept while
    /// reconnecting so the notice and the status bar say why rather than
    /// only "cannot connect"; cleared by the next login.
    pub shutdown: Option<String>,
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

/// The chars of the grapheme cluster before the cursor (`before`) or at
/// it, on the cursor's row; 1 at the row's edge (the move or deletion then
/// crosses the line break, as always).
fn cluster_chars(ta: &TextArea<'_>, before: bool) -> usize {
    use unicode_segmentation::UnicodeSegmentation;
    let cursor = ta.cursor();
    let (row, col) = (cursor.0, cursor.1);
    let Some(line) = ta.lines().get(row) else {
        return 1;
    };
    let at = line.char_indices().nth(col).map_or(line.len(), |(b, _)| b);
    let cluster = if before {
        line[..at].graphemes(true).next_back()
    } else {
        line[at..].graphemes(true).next()
    };
    cluster.map_or(1, |g| g.chars().count().max(1))
}

fn apply_edit(ta: &mut TextArea<'_>, edit: Edit) {
    // The cursor moves and deletes by grapheme cluster, so that it never
    // stands inside 👍🏽 or 👨‍👩‍👧 (drawing it in two pieces) and Backspace
    // never leaves a bare skin tone or joiner behind.
    match edit {
        Edit::Insert(c) => ta.insert_char(c),
        Edit::Left => {
            for _ in 0..cluster_chars(ta, true) {
                ta.move_cursor(CursorMove::Back);
            }
        }
        Edit::Right => {
            for _ in 0..cluster_chars(ta, false) {
                ta.move_cursor(CursorMove::Forward);
            }
        }
        Edit::WordLeft => ta.move_cursor(CursorMove::WordBack),
        Edit::WordRight => ta.move_cursor(CursorMove::WordForward),
        Edit::LineStart => ta.move_cursor(CursorMove::Head),
        Edit::LineEnd => ta.move_cursor(CursorMove::End),
        Edit::Backspace => {
            for _ in 0..cluster_chars(ta, true) {
                ta.delete_char();
            }
        }
        Edit::Delete => {
            for _ in 0..cluster_chars(ta, false) {
                ta.delete_next_char();
            }
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
            tls: None,
            trust: TrustView::default(),
            rtt: None,
            status: Status::Available,
            chats: public_only(new_draft()),
            active: 0,
            inbox: InboxView::new(new_draft()),
            online: BTreeMap::new(),
            people: PeopleView::default(),
            help: HelpView::default(),
            directory: DirectoryView::default(),
            audit: AuditView::default(),
            select: SelectView::default(),
            output: OutputView::default(),
            muted: None,
            notice: None,
            motd: None,
            motd_hidden: false,
            server_now: None,
            theme,
            themes,
            settings,
            now_ms: 0,
            size: (80, 24),
            quit: false,
            history_budget: MAX_PAGES_PER_ACTION,
            next_id: 1,
            pending: HashMap::new(),
            focus_on_open: HashMap::new(),
            input_history: Vec::new(),
            history_pos: None,
            history_stash: Vec::new(),
            welcomed: false,
            submitting: None,
            command_text: HashMap::new(),
            public_unread_hint: None,
            transfers: Vec::new(),
            file_limits: FileLimits::default(),
            last_download: None,
            dropped: None,
            next_tid: 0,
            queued: BTreeMap::new(),
            shutdown: None,
        }
    }

    /// How often the screen must be redrawn with nothing happening: only
    /// while the inbox shows requests with their age. `None` means the
    /// client may sleep until the next event.
    pub fn tick_interval(&self) -> Option<std::time::Duration> {
        (self.screen == Screen::Chat && self.active == self.inbox_tab() && !self.inbox.is_empty())
            .then_some(std::time::Duration::from_secs(30))
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
        self.draft_at_mut(self.active)
    }

    /// The draft of tab `i` (the inbox's past the last chat).
    fn draft_at_mut(&mut self, i: usize) -> &mut TextArea<'static> {
        match self.chats.get_mut(i) {
            Some(c) => &mut c.draft,
            None => &mut self.inbox.draft,
        }
    }

    fn draft_is_empty(&self) -> bool {
        self.draft().is_empty()
    }

    /// Whether something covers the chat so that its newest messages are
    /// not being read: the help, the system view, or the people panel where it takes the
    /// chat's place (a narrow screen).
    pub fn chat_covered(&self) -> bool {
        self.help.visible
            || self.output.visible
            || (self.people.visible && !layout::people_beside(self.size.0))
    }

    /// Is the client logged in and connected right now?
    pub fn online_now(&self) -> bool {
        self.conn == ConnState::Connected
    }

    fn chat_index(&self, key: &ChatKey) -> Option<usize> {
        self.chats.find(key)
    }

    fn private_index(&self, name: &str) -> Option<usize> {
        self.chats.find_id(&ChatId::Private(NameKey::of(name)))
    }

    /// The public room's tab.
    pub fn public_index(&self) -> Option<usize> {
        self.chats.find_id(&ChatId::Public)
    }

    /// The tab at index `i`, by identity.
    pub fn tab_at(&self, i: usize) -> Tab {
        match self.chats.get(i) {
            Some(c) => Tab::Chat(ChatId::from(&c.key)),
            None => Tab::Inbox,
        }
    }

    /// The index of a tab, if it is still there.
    pub fn tab_index(&self, tab: &Tab) -> Option<usize> {
        match tab {
            Tab::Chat(id) => self.chats.find_id(id),
            Tab::Inbox => Some(self.inbox_tab()),
        }
    }

    /// Adds a tab in its place among the others; returns its index. The
    /// tab shown stays the one shown.
    fn push_chat(&mut self, key: ChatKey) -> usize {
        if let Some(i) = self.chats.find(&key) {
            return i;
        }
        let i = self.chats.insert(ChatState::new(key));
        if self.active >= i {
            self.active += 1;
        }
        i
    }

    /// Keeps chat `i` within its bounds: drops the oldest entries, or the
    /// newest while the reader is up in older pages; what was dropped is
    /// fetched again when the reader gets there.
    fn trim_chat(&mut self, i: usize, from: TrimFrom) {
        let c = &mut self.chats[i];
        if c.log.over_limits() && c.log.trim(from) {
            match from {
                TrimFrom::Oldest => c.more_older = true,
                TrimFrom::Newest => c.more_newer = true,
            }
        }
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
        self.next_id = self.next_id.wrapping_add(1).max(1);
        id
    }

    /// Queues a request; returns its id if it has one (a reply is awaited).
    fn request(
        &mut self,
        out: &mut Vec<Command>,
        request: Request,
        pending: Option<Pending>,
    ) -> Option<u64> {
        let id = pending.map(|p| {
            let id = self.new_id();
            self.pending.insert(id, p);
            if let Some(text) = &self.submitting {
                let tab = self.tab_at(self.active);
                self.command_text.insert(id, (tab, text.clone()));
            }
            id
        });
        out.push(Command::Send(ClientFrame { id, request }));
        id
    }

    fn info(&mut self, text: impl Into<String>) {
        self.set_notice(text.into(), false);
    }

    fn error(&mut self, text: impl Into<String>) {
        self.set_notice(text.into(), true);
    }

    /// Shows a notice above the input, and keeps it for F3, where a long
    /// one can be read whole.
    fn set_notice(&mut self, text: String, error: bool) {
        self.output.log(self.now_ms, &text, error);
        self.notice = Some(Notice { text, error });
    }

    /// The one place state changes.
    pub fn update(&mut self, event: Event) -> Vec<Command> {
        let mut out = Vec::new();
        if matches!(
            event,
            Event::Key(_) | Event::Mouse(_) | Event::Paste(_) | Event::Resize(..)
        ) {
            self.history_budget = MAX_PAGES_PER_ACTION;
        }
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
            // The caller has set `now_ms`; the redraw that follows is the point.
            Event::Tick => {}
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
        self.members_wanted(out);
        let i = self.active;
        if !self.chats[i].is_live() {
            // Closed: nothing more to load or mark; it is read as it is.
            let chat = &mut self.chats[i];
            chat.unread = 0;
            chat.attention = Attention::None;
            return;
        }
        let (rows_at_top, at_bottom) = {
            let chat = &self.chats[i];
            let view = self.chat_view(i);
            (view.visible(chat.scroll).1, chat.scroll.is_none())
        };
        let chat = &self.chats[i];
        // Back at the bottom after newer messages were dropped: load the
        // newest page again rather than walking forward page by page.
        if at_bottom && chat.more_newer && !chat.loading {
            let chat = &mut self.chats[i];
            chat.log.clear();
            chat.more_newer = false;
            chat.older_anchor = None;
            self.load_initial(i, out);
        }
        let chat = &self.chats[i];
        if rows_at_top && chat.more_older && !chat.loading && self.history_budget > 0 {
            if let Some(oldest) = chat
                .log
                .oldest_id()
                .filter(|o| chat.older_anchor != Some(*o))
            {
                let key = chat.key.clone();
                self.history_budget -= 1;
                self.chats[i].loading = true;
                self.chats[i].older_anchor = Some(oldest);
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
                        anchor: Some(oldest),
                    }),
                );
            }
        }
        let chat = &self.chats[i];
        let newest = chat.log.newest_id();
        if at_bottom && !self.chat_covered() {
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
}

/// A fresh tab list: the public room with this draft.
fn public_only(draft: TextArea<'static>) -> Chats {
    let mut chats = Chats::default();
    let mut public = ChatState::new(ChatKey::Public);
    public.draft = draft;
    chats.insert(public);
    chats
}

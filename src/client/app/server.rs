//! Server frames and connection changes.

use crate::protocol::{
    ChatKey, ErrorCode, ErrorFrame, HistoryPage, Message, OkReply, OnlineUser, Presence, Request,
    ServerFrame, UserName, Welcome,
};

use super::*;
use crate::client::chat::{clip_text, EntryKind, TrimFrom};
use crate::client::event::{Command, NetEvent};
use crate::client::login::Field;
use crate::client::sanitize::{clean_line, clean_text};

impl App {
    pub(super) fn on_net(&mut self, ev: NetEvent, out: &mut Vec<Command>) {
        match ev {
            NetEvent::Connecting { .. } => {
                if self.screen == Screen::Login {
                    self.conn = ConnState::Connecting;
                }
            }
            NetEvent::Connected { server } => {
                self.server_now = Some(clean_line(&server).into_owned())
            }
            NetEvent::Frame(frame) => self.on_frame(frame, out),
            NetEvent::File(ev) => self.on_file_event(ev),
            NetEvent::LoginFailed(err) => {
                self.conn = ConnState::Offline(None);
                self.screen = Screen::Login;
                self.login.busy = false;
                self.login.error = Some(self.error_sentence(&err));
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
                self.tls = None;
                self.conn = ConnState::Reconnecting {
                    secs: retry_in.as_secs(),
                };
                self.rtt = None;
                self.transfers_paused();
                let unconfirmed = self
                    .pending
                    .values()
                    .filter(|p| matches!(p, Pending::Send { .. }))
                    .count();
                self.pending.clear();
                self.command_text.clear();
                for c in &mut self.chats {
                    c.loading = false;
                    c.outbox.clear();
                }
                let reason = clean_line(&reason).into_owned();
                // After a graceful shutdown, the server's reason is the
                // news; each failed retry only adds its own detail.
                let lost = match &self.shutdown {
                    Some(why) => {
                        format!("the server shut down ({why}); reconnecting, last try: {reason}")
                    }
                    None => format!("connection lost ({reason})"),
                };
                if unconfirmed > 0 {
                    self.error(format!(
                        "{lost} before the server confirmed {unconfirmed} message(s): if they are not in the chat once reconnected, send them again"
                    ));
                } else if self.shutdown.is_some() {
                    self.error(lost);
                } else {
                    self.error(format!("{lost}; reconnecting"));
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
            NetEvent::Transport(tls) => self.tls = tls,
            NetEvent::Untrusted(u) => self.on_untrusted(u),
            NetEvent::Warning(text) => {
                let text = clean_line(&text).into_owned();
                if self.screen == Screen::Login {
                    self.login.error = Some(text.clone());
                }
                self.error(text);
            }
        }
    }

    pub(super) fn on_frame(&mut self, frame: ServerFrame, out: &mut Vec<Command>) {
        match frame {
            ServerFrame::Hello(h) => {
                // Shown apart from the messages (a banner over `# public`,
                // `/motd` for all of it); hidden again only if it is the
                // one the user hid.
                let motd = h
                    .motd
                    .map(|m| clean_text(&m).trim().to_owned())
                    .filter(|m| !m.is_empty());
                if motd != self.motd {
                    self.motd_hidden = false;
                }
                self.motd = motd;
                self.file_limits = FileLimits {
                    max_file_bytes: h.limits.max_file_bytes,
                    chunk_bytes: h.limits.file_chunk_bytes,
                };
            }
            ServerFrame::Welcome(w) => self.on_welcome(*w, out),
            ServerFrame::Ok(ok) => {
                self.command_text.remove(&ok.id);
                if let Some(p) = self.pending.remove(&ok.id) {
                    self.on_ok(p, ok);
                }
            }
            ServerFrame::Error(e) => self.on_error(e),
            ServerFrame::Message(m) => {
                if let Some(i) = self.on_message(m, true, out) {
                    // Reading older pages: what arrives is dropped (and
                    // loaded again at the bottom) rather than what is read.
                    let from = if self.chats[i].scroll.is_some() {
                        TrimFrom::Newest
                    } else {
                        TrimFrom::Oldest
                    };
                    self.trim_chat(i, from);
                }
            }
            ServerFrame::Presence(p) => self.on_presence(p),
            ServerFrame::Who {
                id,
                online,
                more_online,
            } => {
                self.command_text.remove(&id);
                // Only an answer to our own /who: a stream of unasked lists
                // would each cost a sort.
                if self.pending.remove(&id) != Some(Pending::Who) {
                    return;
                }
                self.set_online(online.into_users());
                // The whole list, to be read at leisure: one notice line
                // cannot hold it.
                self.show_who(more_online);
            }
            ServerFrame::ChatRequest { from, ts } => {
                self.inbox.add_incoming(from.clone(), ts);
                self.info(format!("{from} asks for a private chat: see the Inbox tab"));
                if self.settings.bell && self.active != self.inbox_tab() {
                    out.push(Command::Bell);
                }
            }
            ServerFrame::ChatRequestSent { to, ts } => self.add_outgoing(to, ts),
            ServerFrame::ChatOpened { chat, user, .. } => {
                self.remove_requests(&user);
                let i = self.open_chat(chat, out);
                self.chats[i].partner_online = self.online.contains_key(&user.key());
                let asked = self.focus_on_open.remove(&ChatId::Private(user.key()));
                if asked.is_some_and(|t| self.now_ms.saturating_sub(t) <= FOCUS_WINDOW_MS) {
                    self.switch_tab(i);
                } else if i != self.active {
                    self.chats[i].attention = Attention::Highlight;
                }
                self.info(format!("private chat with {user} is open"));
                self.send_queued(&user.key(), i, out);
            }
            ServerFrame::ChatRejected { user } => {
                self.inbox.remove_outgoing(&user.key());
                self.focus_on_open.remove(&ChatId::Private(user.key()));
                let why = format!("{user} declined your chat request");
                if !self.give_back_queued(&user.key(), &why) {
                    self.info(why);
                }
            }
            ServerFrame::ChatRequestRemoved { user } => {
                self.remove_requests(&user);
                self.give_back_queued(
                    &user.key(),
                    &format!("the chat request to {user} was withdrawn"),
                );
            }
            ServerFrame::ChatEnded { chat, user, by } => {
                let by_me = self.is_me(&by);
                let why = if by_me {
                    format!("you ended the private chat with {user}")
                } else {
                    format!("{by} ended the private chat")
                };
                if let Some(i) = self.chat_index(&chat) {
                    if by_me && self.chats[i].draft.is_empty() {
                        self.close_tab(i);
                    } else {
                        // Nothing typed may be lost to what someone else
                        // does: the tab stays, readable, with its draft,
                        // until the user closes it.
                        let c = &mut self.chats[i];
                        c.closed = Some(why.clone());
                        c.outbox.clear();
                        c.log.push_system(
                            self.now_ms,
                            format!("{why}. This tab stays readable; /leave closes it."),
                        );
                        if i != self.active {
                            c.attention = Attention::Highlight;
                        }
                    }
                }
                self.info(why);
            }
            ServerFrame::History(page) => self.on_history(page, out),
            ServerFrame::Read { chat, msg_id } => {
                if let Some(i) = self.chat_index(&chat) {
                    let me = self.me.clone();
                    let c = &mut self.chats[i];
                    if msg_id > c.last_read {
                        c.last_read = msg_id;
                        let entries = c.log.entries();
                        let after = entries.partition_point(|e| e.key.0 <= msg_id);
                        c.unread = entries[after..]
                            .iter()
                            .filter(|e| match &e.kind {
                                EntryKind::Message { from, .. } => {
                                    me.as_ref().is_none_or(|m| m.key() != from.key())
                                }
                                EntryKind::System(_) | EntryKind::Deleted { .. } => false,
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
                let reason = clean_line(&reason).into_owned();
                let reason = if reason.trim().is_empty() {
                    "no reason given".to_owned()
                } else {
                    reason
                };
                self.error(format!("the server is shutting down: {reason}"));
                self.shutdown = Some(reason);
            }
            frame @ (ServerFrame::GroupJoined { .. }
            | ServerFrame::MemberJoined { .. }
            | ServerFrame::GroupLeft { .. }
            | ServerFrame::MemberLeft { .. }
            | ServerFrame::GroupInvite { .. }
            | ServerFrame::GroupInviteRemoved { .. }
            | ServerFrame::GroupTopic { .. }
            | ServerFrame::MemberRole { .. }
            | ServerFrame::Groups { .. }
            | ServerFrame::Members { .. }) => self.on_group_frame(frame, out),
            frame @ (ServerFrame::Muted { .. }
            | ServerFrame::Role { .. }
            | ServerFrame::Audit { .. }
            | ServerFrame::MessageDeleted { .. }) => self.on_admin_frame(frame),
            // File transfer (§14): the client sends no file requests yet.
            ServerFrame::FileAccepted { .. }
            | ServerFrame::FileInfo { .. }
            | ServerFrame::FileData { .. }
            | ServerFrame::FileEnd { .. } => {}
        }
    }

    pub(super) fn add_outgoing(&mut self, to: UserName, ts: i64) {
        if self.private_index(to.as_str()).is_none() {
            self.inbox.add_outgoing(to, ts);
        }
    }

    pub(super) fn remove_requests(&mut self, user: &UserName) {
        self.inbox.remove_user(&user.key());
    }

    /// Closes tab `i` (never the public room's); the public room is shown
    /// if it was the tab shown.
    pub(super) fn close_tab(&mut self, i: usize) {
        if self.chats.get(i).is_none_or(|c| c.key == ChatKey::Public) {
            return;
        }
        let was_active = self.active == i;
        self.chats.remove(i);
        if was_active {
            self.active = self.public_index().unwrap_or(0);
            if let Some(c) = self.chats.get_mut(self.active) {
                c.scroll = None;
            }
        } else if self.active > i {
            self.active -= 1;
        }
    }

    /// Opens a tab for `key` if there is none, asking for its newest page.
    pub(super) fn open_chat(&mut self, key: ChatKey, out: &mut Vec<Command>) -> usize {
        if let Some(i) = self.chat_index(&key) {
            // A chat opened again in a tab kept after it ended: live again.
            self.chats[i].closed = None;
            return i;
        }
        let i = self.push_chat(key);
        self.load_initial(i, out);
        i
    }

    pub(super) fn load_initial(&mut self, i: usize, out: &mut Vec<Command>) {
        self.request_history(i, None, PAGE, HistoryDir::Initial, out);
    }

    /// Asks for the messages of chat `i` after `after` (a reconnect's
    /// catch-up, page by page, at most `MAX_CATCH_UP_PAGES`).
    pub(super) fn catch_up(&mut self, i: usize, after: u64, out: &mut Vec<Command>) {
        self.chats[i].catch_up_pages = self.chats[i].catch_up_pages.saturating_add(1);
        self.request_history(i, Some(after), CATCH_UP_PAGE, HistoryDir::Newer, out);
    }

    /// One history request per chat at a time.
    fn request_history(
        &mut self,
        i: usize,
        after: Option<u64>,
        limit: u32,
        dir: HistoryDir,
        out: &mut Vec<Command>,
    ) {
        if self.chats[i].loading {
            return;
        }
        let key = self.chats[i].key.clone();
        self.chats[i].loading = true;
        self.request(
            out,
            Request::History {
                chat: key.to_string(),
                before: None,
                after,
                limit: Some(limit),
            },
            Some(Pending::History {
                chat: key,
                dir,
                anchor: after,
            }),
        );
    }

    pub(super) fn set_online(&mut self, online: Vec<OnlineUser>) {
        self.online = online.into_iter().map(|u| (u.user.key(), u)).collect();
        let n = self.people_len();
        self.people.clamp(n);
        for c in &mut self.chats {
            if let Some(p) = c.key.partner() {
                c.partner_online = self.online.contains_key(&p.key());
            }
        }
    }

    pub(super) fn on_welcome(&mut self, mut w: Welcome, out: &mut Vec<Command>) {
        let same_user = self.me.as_ref().is_some_and(|m| m.key() == w.user.key());
        let resync = self.welcomed && same_user;
        if !resync {
            let draft_kept = self
                .public_index()
                .map_or_else(new_draft, |i| self.chats[i].draft.clone());
            self.chats = public_only(draft_kept);
            self.active = 0;
            self.inbox.clear();
            self.pending.clear();
            self.command_text.clear();
            self.select.leave();
        }
        if !resync {
            out.push(Command::Remember(crate::client::remember::LastLogin {
                server: self.login.server_text(),
                user: w.user.to_string(),
            }));
        }
        self.welcomed = true;
        self.shutdown = None;
        self.screen = Screen::Chat;
        self.conn = ConnState::Connected;
        self.login.busy = false;
        self.login.error = None;
        self.login.clear_password();
        self.me = Some(w.user.clone());
        self.role = w.role;
        if self.role != Role::Admin {
            self.audit.close();
        }
        self.muted = w.muted_until.map(|until| Mute { until });
        self.set_online(std::mem::take(&mut w.online).into_users());
        if let Some(me) = self.online.get(&w.user.key()) {
            self.status = me.status;
        }
        let mut requests_in = w.requests_in;
        let mut requests_out = w.requests_out;
        // What the server left out of welcome counts too.
        self.inbox.overflow = ((requests_in.len().saturating_sub(MAX_INBOX)
            + requests_out.len().saturating_sub(MAX_INBOX)) as u64)
            .saturating_add(w.more_requests_in)
            .saturating_add(w.more_requests_out);
        requests_in.truncate(MAX_INBOX);
        requests_out.truncate(MAX_INBOX);
        self.inbox.incoming = requests_in;
        self.inbox.outgoing = requests_out;
        self.inbox.clamp();
        for s in &w.chats {
            if self.chat_index(&s.chat).is_none() {
                self.push_chat(s.chat.clone());
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
        self.welcome_groups(w.groups, w.invites);
        let p = self.public_index().unwrap_or(0);
        let public = &mut self.chats[p];
        public.unread = w.public_unread;
        // The marker itself (§15); from an older server, only the count.
        let marker_known = w.public_last_read > 0;
        public.last_read = public.last_read.max(w.public_last_read);
        public.attention = if w.public_unread > 0 {
            Attention::Activity
        } else {
            Attention::None
        };
        if marker_known {
            self.public_unread_hint = None;
            if self.active == p && public.unread > 0 && public.marker_after.is_none() {
                public.marker_after = Some(public.last_read);
            }
        } else if public.log.is_empty() {
            self.public_unread_hint = Some(w.public_unread);
        }
        for i in 0..self.chats.len() {
            if !self.chats[i].is_live() {
                continue;
            }
            self.chats[i].catch_up_pages = 0;
            match self.chats[i].log.newest_id() {
                0 => self.load_initial(i, out),
                newest => self.catch_up(i, newest, out),
            }
        }
        if resync {
            self.info("reconnected");
        } else {
            self.notice = None;
        }
        self.resume_queued(resync, out);
    }

    /// After a login, what `/msg` left waiting: sent if its chat is open
    /// now, asked for again if its request is gone (it may have been lost
    /// with the connection); given back if this is another user.
    fn resume_queued(&mut self, resync: bool, out: &mut Vec<Command>) {
        let names: Vec<NameKey> = self.queued.keys().cloned().collect();
        for key in names {
            if !resync {
                self.give_back_queued(&key, "logged in as someone else");
                continue;
            }
            let open = self
                .chats
                .find_id(&ChatId::Private(key.clone()))
                .filter(|&i| self.chats[i].is_live());
            if let Some(i) = open {
                self.send_queued(&key, i, out);
            } else if !self.inbox.outgoing.iter().any(|r| r.to.key() == key) {
                let Some(name) = self.queued[&key].first().map(|q| q.user.clone()) else {
                    continue;
                };
                self.request(
                    out,
                    Request::RequestChat { user: name.clone() },
                    Some(Pending::RequestChat(name)),
                );
            }
        }
    }

    pub(super) fn on_ok(&mut self, p: Pending, ok: OkReply) {
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
                self.inbox.remove_incoming(&NameKey::of(&name));
            }
            Pending::Cancel(name) => {
                self.inbox.remove_outgoing(&NameKey::of(&name));
                self.focus_on_open
                    .remove(&ChatId::Private(NameKey::of(&name)));
                self.give_back_queued(
                    &NameKey::of(&name),
                    &format!("you cancelled your request to {}", clean_line(&name)),
                );
            }
            // Confirmed: the pending line becomes the message (the
            // `message` event that also comes is then a duplicate).
            Pending::Send { chat, text } => {
                let Some(i) = self.chat_index(&chat) else {
                    return;
                };
                self.chats[i].outbox.retain(|(id, _)| *id != ok.id);
                if let (Some(msg_id), Some(ts), Some(me)) = (ok.msg_id, ok.ts, self.me.clone()) {
                    if !self.chats[i].more_newer {
                        self.chats[i].log.insert_message(
                            msg_id,
                            ts,
                            EntryKind::Message {
                                from: me,
                                text: clip_text(clean_text(&text).into_owned()),
                                own: true,
                                mention: false,
                                file: None,
                            },
                        );
                        self.trim_chat(i, TrimFrom::Oldest);
                    }
                }
            }
            Pending::Join(chat) | Pending::DeclineInvite(chat) => {
                self.inbox.remove_invite(&chat);
            }
            Pending::Invite { chat, user } => {
                self.info(format!("{user} is invited to {chat}"));
            }
            Pending::SetRole { chat, user, role } => {
                self.info(format!("{user} is {} of {chat}", role.as_str()));
            }
            Pending::CreateGroup(_)
            | Pending::Leave(_)
            | Pending::Kick { .. }
            | Pending::SetTopic(_)
            | Pending::DeleteGroup(_)
            | Pending::Groups
            | Pending::Members { .. } => {}
            Pending::History { .. } | Pending::EndChat(_) | Pending::Who => {}
            Pending::Admin(op) => self.on_admin_ok(op),
            Pending::Audit { .. } | Pending::DeleteMessage => {}
        }
    }

    pub(super) fn on_error(&mut self, e: ErrorFrame) {
        if e.fatal && matches!(e.code, ErrorCode::Kicked | ErrorCode::Banned) {
            self.session_ended(&e);
            return;
        }
        if e.code == ErrorCode::Muted {
            // The server knows best: its answer sets the status bar too.
            self.muted = Some(Mute {
                until: e.until.unwrap_or(None),
            });
        }
        // A refused command comes back into the input it was typed in,
        // unless something new is being typed there: never glued onto it.
        if let Some((tab, text)) = e.id.and_then(|id| self.command_text.remove(&id)) {
            let ta = match tab {
                Tab::Chat(id) => self.chats.find_id(&id).map(|i| &mut self.chats[i].draft),
                Tab::Inbox => Some(&mut self.inbox.draft),
            };
            if let Some(ta) = ta.filter(|ta| ta.is_empty()) {
                set_draft(ta, &text);
            }
        }
        let pending = e.id.and_then(|id| self.pending.remove(&id));
        let msg = self.error_sentence(&e);
        match pending {
            Some(Pending::Send { chat, text }) => {
                if let Some(i) = self.chat_index(&chat) {
                    self.chats[i].outbox.retain(|(id, _)| Some(*id) != e.id);
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
            Some(
                Pending::CreateGroup(chat) | Pending::Join(chat) | Pending::DeclineInvite(chat),
            ) => {
                self.focus_on_open.remove(&ChatId::from(&chat));
                // An invitation that no longer works is not kept.
                if matches!(e.code, ErrorCode::NoRequest | ErrorCode::NoSuchChat) {
                    self.inbox.remove_invite(&chat);
                }
                self.error(msg);
            }
            Some(Pending::Members { chat, .. }) => {
                if let Some(g) = self
                    .chat_index(&chat)
                    .and_then(|i| self.chats[i].group.as_mut())
                {
                    g.members_asked = false;
                    g.members_known = true;
                }
                self.error(format!("could not list the members: {msg}"));
            }
            Some(Pending::Audit { before: Some(_) }) => {
                self.audit.failed();
                self.error(format!("could not load older audit entries: {msg}"));
            }
            Some(Pending::RequestChat(name))
                if e.code == ErrorCode::AlreadyRequested
                    && self.queued.contains_key(&NameKey::of(&name)) =>
            {
                // The request made elsewhere is the one to wait for.
                self.info(format!(
                    "your request to {} is already waiting: your message is sent when the chat opens",
                    clean_line(&name)
                ));
            }
            Some(Pending::RequestChat(name) | Pending::Accept(name)) => {
                let key = NameKey::of(&name);
                self.focus_on_open.remove(&ChatId::Private(key.clone()));
                if !self.give_back_queued(&key, &msg) {
                    self.error(msg);
                }
            }
            _ => self.error(msg),
        }
    }

    /// O(log n) per event: the online list is a map by name, and only the
    /// partner's tab (found by key) is touched.
    pub(super) fn on_presence(&mut self, p: Presence) {
        let key = p.user.key();
        let was = match p.online {
            true => self
                .online
                .insert(
                    key,
                    OnlineUser {
                        user: p.user.clone(),
                        status: p.status,
                    },
                )
                .map(|u| u.status),
            false => self.online.remove(&key).map(|u| u.status),
        };
        self.group_presence(&p.user, p.online, p.status);
        let n = self.people_len();
        self.people.clamp(n);
        if let Some(i) = self.private_index(p.user.as_str()) {
            self.chats[i].partner_online = p.online;
        }
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
        let Some(p) = self.public_index() else {
            return;
        };
        self.chats[p].log.push_system(self.now_ms, line);
        let from = if self.chats[p].scroll.is_some() {
            TrimFrom::Newest
        } else {
            TrimFrom::Oldest
        };
        self.trim_chat(p, from);
    }

    /// A message from the live stream (`live`) or a history page. Returns
    /// the chat's index; the caller keeps the log within its bounds.
    pub(super) fn on_message(
        &mut self,
        m: Message,
        live: bool,
        out: &mut Vec<Command>,
    ) -> Option<usize> {
        let i = match self.chat_index(&m.chat) {
            Some(i) => i,
            None if live && matches!(m.chat, ChatKey::Private(_)) => {
                self.open_chat(m.chat.clone(), out)
            }
            None => return None,
        };
        if m.deleted {
            // Only history says so; nothing to notify.
            self.chats[i].log.insert_message(
                m.msg_id,
                m.ts,
                EntryKind::Deleted {
                    from: m.from,
                    text: "message deleted".to_owned(),
                },
            );
            return Some(i);
        }
        let own = self.is_me(&m.from);
        let caption = clip_text(clean_text(&m.text).into_owned());
        // A file shows as its own line, then the caption unless it is just
        // the file's name (what the server puts when there is none).
        let text = match &m.file {
            Some(f) if m.text == f.name => files::file_line(f),
            Some(f) => format!("{}\n{caption}", files::file_line(f)),
            None => caption,
        };
        let file = m.file.map(Box::new);
        let mention = !own
            && self
                .me
                .as_ref()
                .is_some_and(|me| mentions(&text, me.as_str()));
        let private = matches!(m.chat, ChatKey::Private(_));
        // Newer messages than the loaded ones were dropped: this one would
        // sit beyond a gap. It is counted, and shown when the newest page
        // is loaded again.
        let inserted = if live && self.chats[i].more_newer {
            m.msg_id > self.chats[i].log.newest_id()
        } else {
            self.chats[i].log.insert_message(
                m.msg_id,
                m.ts,
                EntryKind::Message {
                    from: m.from,
                    text,
                    own,
                    mention,
                    file,
                },
            )
        };
        if !inserted || !live || own {
            return Some(i);
        }
        let in_view = self.screen == Screen::Chat
            && self.active == i
            && self.chats[i].scroll.is_none()
            && !self.chat_covered();
        if in_view {
            return Some(i);
        }
        let chat = &mut self.chats[i];
        if m.msg_id > chat.last_read {
            chat.unread = chat.unread.saturating_add(1);
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
        Some(i)
    }

    /// A history page. Whatever `more` says, the next request needs a new
    /// anchor (older pages: an older oldest message; catch-up: a newer
    /// newest one) and stays within the per-action and catch-up budgets.
    pub(super) fn on_history(&mut self, page: HistoryPage, out: &mut Vec<Command>) {
        let (dir, anchor) = match self.pending.remove(&page.id) {
            Some(Pending::History { dir, anchor, .. }) => (dir, anchor),
            _ => return,
        };
        let Some(i) = self.chat_index(&page.chat) else {
            return;
        };
        let wanted = ChatId::from(&page.chat);
        let messages: Vec<Message> = page
            .messages
            .into_iter()
            .filter(|m| ChatId::from(&m.chat) == wanted)
            .collect();
        // The next catch-up page starts after this page's newest message,
        // not after the log's: live messages may already sit beyond the gap.
        let page_newest = messages.iter().map(|m| m.msg_id).max();
        let oldest_before = self.chats[i].log.oldest_id();
        for m in messages {
            self.on_message(m, false, out);
        }
        self.chats[i].loading = false;
        match dir {
            HistoryDir::Initial => {
                self.chats[i].more_older = page.more;
                self.trim_chat(i, TrimFrom::Oldest);
                if self.chats[i].key == ChatKey::Public {
                    if let Some(k) = self.public_unread_hint.take() {
                        self.place_public_marker(i, k);
                    }
                }
                let chat = &mut self.chats[i];
                if self.active == i && chat.unread > 0 && chat.marker_after.is_none() {
                    chat.marker_after = Some(chat.last_read);
                }
            }
            HistoryDir::Older => {
                let chat = &mut self.chats[i];
                // An answer that brought nothing older would loop; stop there.
                let older = match (chat.log.oldest_id(), oldest_before) {
                    (Some(now), Some(before)) => now < before,
                    (Some(_), None) => true,
                    (None, _) => false,
                };
                chat.more_older = page.more && older;
                self.trim_chat(i, TrimFrom::Newest);
            }
            HistoryDir::Newer => {
                self.trim_chat(i, TrimFrom::Oldest);
                let Some(last) = page_newest.filter(|n| anchor.is_none_or(|a| *n > a)) else {
                    return;
                };
                if !page.more {
                    return;
                }
                if self.chats[i].catch_up_pages < MAX_CATCH_UP_PAGES {
                    self.catch_up(i, last, out);
                } else {
                    // Too long a gap to walk: show the newest page; the
                    // rest is there to scroll up to.
                    let chat = &mut self.chats[i];
                    chat.log.clear();
                    chat.older_anchor = None;
                    chat.more_newer = false;
                    self.load_initial(i, out);
                }
            }
        }
    }

    /// `welcome` gives the public room's unread count but not its marker:
    /// place it before the `k`-th newest message from someone else.
    pub(super) fn place_public_marker(&mut self, i: usize, k: u64) {
        let me = self.me.clone();
        let chat = &mut self.chats[i];
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

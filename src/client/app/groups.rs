//! Groups (§12): the commands that act on them, the events that change
//! them, and what a group tab knows (topic, members, own role).
//!
//! Removal never takes away what the user typed: a group tab the user is
//! removed from (kicked, or the group deleted, or left from another
//! session) stays as a closed tab — readable, with its draft — until the
//! user closes it with `/leave`. Only a group the user left from this
//! very tab, with nothing typed in it, closes at once.

use crate::protocol::{
    validate_text, GroupInfo, GroupMember, GroupRole, GroupSummary, InviteIn, Request, ServerFrame,
    Status, UserName,
};

use super::*;
use crate::client::chat::TrimFrom;
use crate::client::commands::SlashCommand;
use crate::client::event::Command;
use crate::client::sanitize::clean_line;
use crate::client::views::DirectoryAction;

/// Most members one group tab keeps (the contract's own bound).
pub const MAX_MEMBERS: usize = 10_000;
/// Longest topic the contract allows, in bytes.
pub const MAX_TOPIC_BYTES: usize = 512;

fn role_phrase(role: GroupRole) -> &'static str {
    match role {
        GroupRole::Owner => "the owner",
        GroupRole::Mod => "a mod",
        GroupRole::Member => "a member",
    }
}

/// `: reason`, cleaned, or nothing.
fn reason_text(reason: Option<&str>) -> String {
    reason
        .map(|r| clean_line(r).trim().to_owned())
        .filter(|r| !r.is_empty())
        .map_or_else(String::new, |r| format!(": {r}"))
}

impl App {
    /// The group of the active tab, for a command that needs one. Shows
    /// why not when there is none, or when its tab is closed.
    fn current_group(&mut self, cmd: &str) -> Option<ChatKey> {
        match self.active_chat() {
            Some(c) if c.group.is_some() && c.is_live() => Some(c.key.clone()),
            Some(c) if c.group.is_some() => {
                let key = c.key.to_string();
                self.error(format!(
                    "you are no longer in {key}: {cmd} needs a group you are in"
                ));
                None
            }
            _ => {
                self.error(format!("{cmd} works in a group's tab"));
                None
            }
        }
    }

    fn is_me_name(&self, name: &str) -> bool {
        self.me
            .as_ref()
            .is_some_and(|m| m.key() == NameKey::of(name))
    }

    /// Runs a group command; false if it failed here (the draft is kept).
    pub(super) fn run_group_command(&mut self, cmd: SlashCommand, out: &mut Vec<Command>) -> bool {
        match cmd {
            SlashCommand::Create { chat, kind, topic } => {
                if let Some(t) = &topic {
                    if let Err(e) = check_topic(t) {
                        self.error(e);
                        return false;
                    }
                }
                if self
                    .chat_index(&chat)
                    .is_some_and(|i| self.chats[i].is_live())
                {
                    self.error(format!("you are already in {chat}"));
                    return false;
                }
                self.focus_on_open.insert(ChatId::from(&chat), self.now_ms);
                self.request(
                    out,
                    Request::CreateGroup {
                        chat: chat.to_string(),
                        kind,
                        topic,
                    },
                    Some(Pending::CreateGroup(chat)),
                );
            }
            SlashCommand::Join(chat) => self.cmd_join(chat, out),
            SlashCommand::Leave => {
                let Some(c) = self.active_chat() else {
                    self.error("/leave works in a group's tab");
                    return false;
                };
                let key = c.key.clone();
                if c.group.is_none() && c.is_live() {
                    self.error("/leave works in a group's tab (/end ends a private chat)");
                    return false;
                }
                if !c.is_live() {
                    self.close_tab(self.active);
                    self.info(format!("closed the tab of {key}"));
                    return true;
                }
                self.request(
                    out,
                    Request::Leave {
                        chat: key.to_string(),
                    },
                    Some(Pending::Leave(key)),
                );
            }
            SlashCommand::Invite(user) => {
                let Some(chat) = self.current_group("/invite") else {
                    return false;
                };
                if self.is_me_name(&user) {
                    self.error("that is you: pick someone else");
                    return false;
                }
                self.request(
                    out,
                    Request::Invite {
                        chat: chat.to_string(),
                        user: user.clone(),
                    },
                    Some(Pending::Invite { chat, user }),
                );
            }
            SlashCommand::Kick { user, reason } => {
                let Some(chat) = self.current_group("/kick") else {
                    return false;
                };
                if self.is_me_name(&user) {
                    self.error("that is you: /leave leaves the group");
                    return false;
                }
                if let Some(r) = &reason {
                    if let Err(e) = validate_text(r) {
                        self.error(format!("invalid reason: {e}"));
                        return false;
                    }
                }
                self.request(
                    out,
                    Request::KickMember {
                        chat: chat.to_string(),
                        user: user.clone(),
                        reason,
                    },
                    Some(Pending::Kick { chat, user }),
                );
            }
            SlashCommand::Topic(topic) => {
                let Some(chat) = self.current_group("/topic") else {
                    return false;
                };
                if !topic.is_empty() {
                    if let Err(e) = check_topic(&topic) {
                        self.error(e);
                        return false;
                    }
                }
                self.request(
                    out,
                    Request::SetTopic {
                        chat: chat.to_string(),
                        topic,
                    },
                    Some(Pending::SetTopic(chat)),
                );
            }
            SlashCommand::Role { user, role } => {
                let Some(chat) = self.current_group("/role") else {
                    return false;
                };
                self.request(
                    out,
                    Request::SetMemberRole {
                        chat: chat.to_string(),
                        user: user.clone(),
                        role,
                    },
                    Some(Pending::SetRole { chat, user, role }),
                );
            }
            SlashCommand::DeleteGroup(named) => {
                let Some(chat) = self.current_group("/delete-group") else {
                    return false;
                };
                if named.as_ref().map(ChatId::from) != Some(ChatId::from(&chat)) {
                    self.error(format!(
                        "this deletes {chat} and all its messages for everyone: type /delete-group {chat} to be sure"
                    ));
                    return false;
                }
                self.request(
                    out,
                    Request::DeleteGroup {
                        chat: chat.to_string(),
                    },
                    Some(Pending::DeleteGroup(chat)),
                );
            }
            SlashCommand::Groups => {
                self.request(out, Request::Groups, Some(Pending::Groups));
            }
            SlashCommand::Members => {
                let Some(chat) = self.current_group("/members") else {
                    return false;
                };
                self.ask_members(chat, true, out);
            }
            _ => return false,
        }
        self.notice.as_ref().is_none_or(|n| !n.error)
    }

    /// Joins a group, or shows its tab if the user is in it already. The
    /// tab takes the focus when it opens: the user asked for it.
    pub(super) fn cmd_join(&mut self, chat: ChatKey, out: &mut Vec<Command>) {
        if let Some(i) = self.chat_index(&chat).filter(|i| self.chats[*i].is_live()) {
            self.switch_tab(i);
            return;
        }
        self.focus_on_open.insert(ChatId::from(&chat), self.now_ms);
        self.request(
            out,
            Request::Join {
                chat: chat.to_string(),
            },
            Some(Pending::Join(chat)),
        );
    }

    pub(super) fn cmd_decline(&mut self, chat: ChatKey, out: &mut Vec<Command>) {
        self.request(
            out,
            Request::DeclineInvite {
                chat: chat.to_string(),
            },
            Some(Pending::DeclineInvite(chat)),
        );
    }

    fn ask_members(&mut self, chat: ChatKey, shown: bool, out: &mut Vec<Command>) {
        if let Some(g) = self
            .chat_index(&chat)
            .and_then(|i| self.chats[i].group.as_mut())
        {
            g.members_asked = true;
        }
        self.request(
            out,
            Request::Members {
                chat: chat.to_string(),
            },
            Some(Pending::Members { chat, shown }),
        );
    }

    /// While the people panel shows a group whose member list is not known
    /// yet (after a login), ask for it once.
    pub(super) fn members_wanted(&mut self, out: &mut Vec<Command>) {
        if !self.people.visible || !self.online_now() {
            return;
        }
        let Some(c) = self.active_chat().filter(|c| c.is_live()) else {
            return;
        };
        if c.group
            .as_ref()
            .is_some_and(|g| !g.members_known && !g.members_asked)
        {
            let chat = c.key.clone();
            self.ask_members(chat, false, out);
        }
    }

    pub(super) fn on_directory_action(&mut self, a: DirectoryAction, out: &mut Vec<Command>) {
        match a {
            DirectoryAction::Join(chat) => {
                if self.online_now() {
                    self.cmd_join(chat, out);
                } else {
                    self.error("not connected: try again once the status bar says connected");
                }
            }
        }
    }

    /// The people the panel lists: the group's members in a group tab,
    /// everyone online elsewhere.
    pub fn people_len(&self) -> usize {
        match self.active_chat().and_then(|c| c.group.as_ref()) {
            Some(g) => g.members.len(),
            None => self.online.len(),
        }
    }

    /// The name at row `idx` of the people panel.
    pub fn people_name(&self, idx: usize) -> Option<UserName> {
        match self.active_chat().and_then(|c| c.group.as_ref()) {
            Some(g) => g.sorted_members().get(idx).map(|m| m.user.clone()),
            None => self.online.values().nth(idx).map(|u| u.user.clone()),
        }
    }

    /// A quiet line in a group's tab.
    fn group_line(&mut self, i: usize, text: String) {
        self.chats[i].log.push_system(self.now_ms, text);
        let from = if self.chats[i].scroll.is_some() {
            TrimFrom::Newest
        } else {
            TrimFrom::Oldest
        };
        self.trim_chat(i, from);
    }

    /// The tab of a group the user is in.
    fn group_index(&self, chat: &ChatKey) -> Option<usize> {
        self.chat_index(chat)
            .filter(|i| self.chats[*i].group.is_some() && self.chats[*i].is_live())
    }

    /// Every group event and reply.
    pub(super) fn on_group_frame(&mut self, frame: ServerFrame, out: &mut Vec<Command>) {
        match frame {
            ServerFrame::GroupJoined {
                chat,
                kind,
                topic,
                role,
                members,
            } => self.on_group_joined(chat, kind, topic, role, members, out),
            ServerFrame::MemberJoined { chat, user, role } => {
                let Some(i) = self.group_index(&chat) else {
                    return;
                };
                if self.is_me(&user) {
                    return;
                }
                let (online, status) = self.presence_of(&user);
                if let Some(g) = self.chats[i].group.as_mut() {
                    if g.members.len() < MAX_MEMBERS || g.members.contains_key(&user.key()) {
                        g.members.insert(
                            user.key(),
                            GroupMember {
                                user: user.clone(),
                                role,
                                online,
                                status,
                            },
                        );
                    }
                }
                let chat = self.chats[i].key.clone();
                self.group_line(i, format!("{user} joined {chat}"));
            }
            ServerFrame::MemberLeft {
                chat,
                user,
                by,
                reason,
            } => {
                let Some(i) = self.group_index(&chat) else {
                    return;
                };
                if let Some(g) = self.chats[i].group.as_mut() {
                    g.members.remove(&user.key());
                }
                let n = self.people_len();
                self.people.clamp(n);
                let chat = &self.chats[i].key;
                let line = match by {
                    Some(by) => format!(
                        "{user} was removed by {by}{}",
                        reason_text(reason.as_deref())
                    ),
                    None => format!("{user} left {chat}"),
                };
                self.group_line(i, line);
            }
            ServerFrame::GroupLeft { chat, by, reason } => self.on_group_left(chat, by, reason),
            ServerFrame::GroupInvite { chat, from, ts } => {
                self.inbox.add_invite(InviteIn {
                    chat: chat.clone(),
                    from: from.clone(),
                    ts,
                });
                self.info(format!("{from} invites you to {chat}: see the Inbox tab"));
                if self.settings.bell && self.active != self.inbox_tab() {
                    out.push(Command::Bell);
                }
            }
            ServerFrame::GroupInviteRemoved { chat } => self.inbox.remove_invite(&chat),
            ServerFrame::GroupTopic { chat, topic, by } => {
                let Some(i) = self.group_index(&chat) else {
                    return;
                };
                let topic = clean_line(&topic).into_owned();
                let line = if topic.trim().is_empty() {
                    format!("{by} cleared the topic")
                } else {
                    format!("{by} set the topic: {topic}")
                };
                if let Some(g) = self.chats[i].group.as_mut() {
                    g.topic = topic;
                }
                self.group_line(i, line);
            }
            ServerFrame::MemberRole {
                chat,
                user,
                role,
                by,
            } => {
                let Some(i) = self.group_index(&chat) else {
                    return;
                };
                let me = self.is_me(&user);
                if let Some(g) = self.chats[i].group.as_mut() {
                    if let Some(m) = g.members.get_mut(&user.key()) {
                        m.role = role;
                    }
                    if me {
                        g.role = role;
                    }
                }
                let who = if me {
                    "you".to_owned()
                } else {
                    user.to_string()
                };
                let line = match by {
                    Some(by) => format!("{by} made {who} {}", role_phrase(role)),
                    None => format!("{who} became {}", role_phrase(role)),
                };
                self.group_line(i, line);
            }
            ServerFrame::Groups { id, groups, more } => {
                self.command_text.remove(&id);
                if self.pending.remove(&id) == Some(Pending::Groups) {
                    self.show_directory(groups, more);
                }
            }
            ServerFrame::Members { id, chat, members } => {
                self.command_text.remove(&id);
                let Some(Pending::Members { shown, .. }) = self.pending.remove(&id) else {
                    return;
                };
                let Some(i) = self.group_index(&chat) else {
                    return;
                };
                if let Some(g) = self.chats[i].group.as_mut() {
                    g.members = members
                        .into_iter()
                        .take(MAX_MEMBERS)
                        .map(|m| (m.user.key(), m))
                        .collect();
                    g.members_known = true;
                    g.members_asked = false;
                }
                if shown {
                    self.show_members(&chat);
                }
                let n = self.people_len();
                self.people.clamp(n);
            }
            _ => {}
        }
    }

    fn show_directory(&mut self, groups: Vec<GroupInfo>, more: u64) {
        self.directory.show(groups, more);
        if self.directory.groups.is_empty() {
            self.directory.visible = false;
            self.info("no groups to join yet: /create #name starts one");
        }
    }

    fn presence_of(&self, user: &UserName) -> (bool, Status) {
        match self.online.get(&user.key()) {
            Some(u) => (true, u.status),
            None => (false, Status::Available),
        }
    }

    fn on_group_joined(
        &mut self,
        chat: ChatKey,
        kind: GroupKind,
        topic: String,
        role: GroupRole,
        members: Vec<GroupMember>,
        out: &mut Vec<Command>,
    ) {
        if !matches!(chat, ChatKey::Group(_)) {
            return;
        }
        self.inbox.remove_invite(&chat);
        let existed = self.chat_index(&chat);
        let i = existed.unwrap_or_else(|| self.push_chat(chat.clone()));
        let c = &mut self.chats[i];
        let reopened = c.closed.take().is_some();
        c.group = Some(GroupState {
            kind,
            topic: clean_line(&topic).into_owned(),
            role,
            members: members
                .into_iter()
                .take(MAX_MEMBERS)
                .map(|m| (m.user.key(), m))
                .collect(),
            members_known: true,
            members_asked: false,
        });
        if reopened {
            // Back in after being removed: the history is read afresh.
            c.log.clear();
            c.loading = false;
            c.more_older = false;
            c.more_newer = false;
            c.older_anchor = None;
            c.last_read = 0;
        }
        if existed.is_none() || reopened {
            self.load_initial(i, out);
        }
        let asked = self.focus_on_open.remove(&ChatId::from(&chat));
        if asked.is_some_and(|t| self.now_ms.saturating_sub(t) <= FOCUS_WINDOW_MS) {
            self.switch_tab(i);
        } else if i != self.active {
            let c = &mut self.chats[i];
            c.attention = c.attention.max(Attention::Activity);
        }
        let n = self.people_len();
        self.people.clamp(n);
        self.info(format!("you are in {chat} now"));
    }

    /// Removed from a group: by leaving, being kicked, or its deletion.
    fn on_group_left(&mut self, chat: ChatKey, by: Option<UserName>, reason: Option<String>) {
        self.focus_on_open.remove(&ChatId::from(&chat));
        // Named as its tab spells it.
        let chat = self
            .chat_index(&chat)
            .map_or(chat, |i| self.chats[i].key.clone());
        let deleted = reason.as_deref() == Some("deleted");
        let by_me = by.as_ref().is_none_or(|b| self.is_me(b));
        let why = match (&by, deleted) {
            (None, _) => format!("you left {chat}"),
            (Some(b), true) if self.is_me(b) => format!("you deleted {chat}"),
            (Some(b), true) => format!("{b} deleted {chat}"),
            (Some(b), false) if self.is_me(b) => format!("you removed yourself from {chat}"),
            (Some(b), false) => format!(
                "{b} removed you from {chat}{}",
                reason_text(reason.as_deref())
            ),
        };
        let Some(i) = self.chat_index(&chat).filter(|i| self.chats[*i].is_live()) else {
            self.info(why);
            return;
        };
        // The user's own doing, from this tab's input or with nothing
        // typed in it: the tab goes.
        if by_me && self.chats[i].draft.is_empty() {
            self.close_tab(i);
            self.info(why);
            return;
        }
        let c = &mut self.chats[i];
        c.closed = Some(why.clone());
        c.loading = false;
        c.outbox.clear();
        if i != self.active {
            c.attention = Attention::Highlight;
        }
        self.group_line(
            i,
            format!("{why}. This tab stays readable; /leave closes it."),
        );
        // The tab's own line says it stays readable; the notice says who
        // and why, loudly when it was someone else.
        if by_me {
            self.info(why);
        } else {
            self.error(why);
        }
    }

    /// Presence reaches the member lists too.
    pub(super) fn group_presence(&mut self, user: &UserName, online: bool, status: Status) {
        let key = user.key();
        for c in &mut self.chats {
            if let Some(m) = c.group.as_mut().and_then(|g| g.members.get_mut(&key)) {
                m.online = online;
                m.status = status;
            }
        }
    }

    /// `welcome.groups` and `welcome.invites`: a tab per group (with its
    /// unread count and read marker), the invitations in the inbox. After
    /// a reconnect, a group tab the server no longer lists is closed, not
    /// dropped.
    pub(super) fn welcome_groups(&mut self, groups: Vec<GroupSummary>, mut invites: Vec<InviteIn>) {
        let listed: std::collections::HashSet<ChatId> =
            groups.iter().map(|g| ChatId::from(&g.chat)).collect();
        for c in &mut self.chats {
            if c.group.is_some() && c.is_live() && !listed.contains(&ChatId::from(&c.key)) {
                let why = format!(
                    "you are no longer in {} (it changed while you were away)",
                    c.key
                );
                c.log
                    .push_system(self.now_ms, format!("{why}. /leave closes this tab."));
                c.closed = Some(why);
            }
        }
        for s in groups {
            if !matches!(s.chat, ChatKey::Group(_)) {
                continue;
            }
            let i = self.push_chat(s.chat.clone());
            let c = &mut self.chats[i];
            let was_closed = c.closed.take().is_some();
            if was_closed {
                c.log.clear();
                c.more_older = false;
                c.more_newer = false;
                c.older_anchor = None;
            }
            let old = c.group.take().unwrap_or_default();
            c.group = Some(GroupState {
                kind: s.kind,
                topic: clean_line(&s.topic).into_owned(),
                role: s.role,
                members: old.members,
                // Changes while away were missed: asked again when shown.
                members_known: false,
                members_asked: false,
            });
            c.unread = s.unread;
            c.last_read = c.last_read.max(s.last_read);
            c.attention = if s.unread > 0 {
                Attention::Activity
            } else {
                Attention::None
            };
        }
        let cut = invites.len().saturating_sub(MAX_INBOX);
        invites.truncate(MAX_INBOX);
        self.inbox.overflow = self.inbox.overflow.saturating_add(cut as u64);
        self.inbox.invites = invites;
        self.inbox.clamp();
    }
}

/// A topic the server would take: the text rules and at most 512 bytes.
fn check_topic(topic: &str) -> Result<(), String> {
    if topic.len() > MAX_TOPIC_BYTES {
        return Err(format!(
            "a topic is at most {MAX_TOPIC_BYTES} bytes ({} given)",
            topic.len()
        ));
    }
    validate_text(topic).map_err(|e| format!("invalid topic: {e}"))
}

//! Group chats in memory: who is in which group, with which role.
//!
//! The store holds the same facts; the hub reads them once at start and
//! keeps both in step, so that permission checks and fan-out to a group's
//! members never touch the disk. A failed commit reloads them from the
//! store, which is the truth.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::*;
use crate::protocol::{validate_text, GroupKind, GroupMember, GroupRole, MAX_TOPIC_BYTES};

/// One member's standing in a group.
#[derive(Debug, Clone, Copy)]
pub(super) struct Membership {
    pub role: GroupRole,
    /// Orders members by when they joined (for owner succession).
    pub seq: u64,
}

/// A group as the hub knows it.
#[derive(Debug)]
pub(super) struct Group {
    pub name: UserName,
    pub kind: GroupKind,
    pub topic: String,
    pub members: HashMap<AccountId, Membership>,
    /// The members as one shared list for fan-out; rebuilt after a change.
    recipients: Option<Arc<[AccountId]>>,
}

impl Group {
    pub fn role_of(&self, account: AccountId) -> Option<GroupRole> {
        self.members.get(&account).map(|m| m.role)
    }

    pub fn key(&self) -> ChatKey {
        ChatKey::Group(self.name.clone())
    }

    /// Who becomes owner when the owner goes: the mod who joined first,
    /// else the member who joined first.
    pub fn successor(&self) -> Option<AccountId> {
        self.members
            .iter()
            .filter(|(_, m)| m.role != GroupRole::Owner)
            .min_by_key(|(_, m)| (m.role != GroupRole::Mod, m.seq))
            .map(|(a, _)| *a)
    }
}

/// Every group, by id and by name, and who is in which.
#[derive(Debug, Default)]
pub(super) struct Groups {
    by_id: HashMap<ChatId, Group>,
    by_key: HashMap<NameKey, ChatId>,
    of_account: HashMap<AccountId, HashSet<ChatId>>,
    next_seq: u64,
    /// Something changed since [`Groups::take_changed`] was last asked:
    /// other nodes must read the groups again.
    changed: bool,
}

impl Groups {
    pub fn load(store: &dyn Store) -> Result<Groups, StoreError> {
        let mut groups = Groups::default();
        for g in store.groups()? {
            let Ok(name) = UserName::parse(&g.name) else {
                tracing::warn!(name = %g.name, "skipping a group with a malformed name");
                continue;
            };
            groups.insert(g.id, name, g.kind, g.topic);
            for (account, role, seq) in g.members {
                groups.next_seq = groups.next_seq.max(seq + 1);
                groups.put_member(g.id, account, Membership { role, seq });
            }
        }
        groups.changed = false;
        Ok(groups)
    }

    pub fn get(&self, id: ChatId) -> Option<&Group> {
        self.by_id.get(&id)
    }

    pub fn get_mut(&mut self, id: ChatId) -> Option<&mut Group> {
        self.changed = true;
        self.by_id.get_mut(&id)
    }

    pub fn id_of(&self, key: &NameKey) -> Option<ChatId> {
        self.by_key.get(key).copied()
    }

    pub fn all(&self) -> impl Iterator<Item = (ChatId, &Group)> {
        self.by_id.iter().map(|(id, g)| (*id, g))
    }

    pub fn insert(&mut self, id: ChatId, name: UserName, kind: GroupKind, topic: String) {
        self.changed = true;
        self.by_key.insert(name.key(), id);
        self.by_id.insert(
            id,
            Group {
                name,
                kind,
                topic,
                members: HashMap::new(),
                recipients: None,
            },
        );
    }

    pub fn remove(&mut self, id: ChatId) -> Option<Group> {
        self.changed = true;
        let group = self.by_id.remove(&id)?;
        self.by_key.remove(&group.name.key());
        for account in group.members.keys() {
            if let Some(set) = self.of_account.get_mut(account) {
                set.remove(&id);
            }
        }
        Some(group)
    }

    /// The sequence number the next member to join gets.
    pub fn take_seq(&mut self) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        seq
    }

    pub fn put_member(&mut self, id: ChatId, account: AccountId, membership: Membership) {
        self.changed = true;
        if let Some(group) = self.by_id.get_mut(&id) {
            group.members.insert(account, membership);
            group.recipients = None;
            self.of_account.entry(account).or_default().insert(id);
        }
    }

    pub fn drop_member(&mut self, id: ChatId, account: AccountId) -> Option<Membership> {
        self.changed = true;
        let group = self.by_id.get_mut(&id)?;
        let gone = group.members.remove(&account)?;
        group.recipients = None;
        if let Some(set) = self.of_account.get_mut(&account) {
            set.remove(&id);
            if set.is_empty() {
                self.of_account.remove(&account);
            }
        }
        Some(gone)
    }

    pub fn set_role(&mut self, id: ChatId, account: AccountId, role: GroupRole) {
        self.changed = true;
        if let Some(m) = self
            .by_id
            .get_mut(&id)
            .and_then(|g| g.members.get_mut(&account))
        {
            m.role = role;
        }
    }

    /// Whether anything changed since the last time this was asked.
    pub fn take_changed(&mut self) -> bool {
        std::mem::take(&mut self.changed)
    }

    /// The groups `account` is a member of.
    pub fn of(&self, account: AccountId) -> Vec<ChatId> {
        let mut ids: Vec<ChatId> = self
            .of_account
            .get(&account)
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default();
        ids.sort_unstable();
        ids
    }

    pub fn joined_count(&self, account: AccountId) -> usize {
        self.of_account.get(&account).map_or(0, |s| s.len())
    }

    pub fn owned_count(&self, account: AccountId) -> usize {
        self.of_account.get(&account).map_or(0, |set| {
            set.iter()
                .filter(|id| {
                    self.by_id.get(id).and_then(|g| g.role_of(account)) == Some(GroupRole::Owner)
                })
                .count()
        })
    }

    /// The members of `id` as one shared list, for fan-out.
    pub fn recipients(&mut self, id: ChatId) -> Arc<[AccountId]> {
        let Some(group) = self.by_id.get_mut(&id) else {
            return Arc::from(Vec::new());
        };
        group
            .recipients
            .get_or_insert_with(|| group.members.keys().copied().collect())
            .clone()
    }
}

/// What a group request is looking the group up for: the contract answers
/// a hidden group differently for some of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Lookup {
    /// Any request but the two below: a hidden group is `no_such_chat`.
    Other,
    /// `join`: a hidden group is `forbidden` (it exists, uninvited).
    Join,
}

impl Hub {
    pub(super) fn is_admin(&self, account: AccountId) -> bool {
        self.roles.get(&account) == Some(&Role::Admin)
    }

    /// Whether `me` may know that group `id` exists: it is open, or `me` is
    /// a member, invited, or a server admin.
    pub(super) fn can_see(&self, me: AccountId, id: ChatId) -> Result<bool, StoreError> {
        let Some(group) = self.groups.get(id) else {
            return Ok(false);
        };
        if group.kind == GroupKind::Open || group.members.contains_key(&me) || self.is_admin(me) {
            return Ok(true);
        }
        Ok(self.store.invite(id, me)?.is_some())
    }

    /// The group a request names, if `me` may know of it.
    pub(super) fn group_named(
        &self,
        me: AccountId,
        chat: &str,
        lookup: Lookup,
    ) -> Result<ChatId, Failure> {
        let no_such = || {
            let shown: String = chat.chars().take(64).collect();
            refuse(
                ErrorCode::NoSuchChat,
                format!("there is no group {shown:?}"),
            )
        };
        let Some(ChatKey::Group(name)) = ChatKey::parse(chat) else {
            return no_such();
        };
        let Some(id) = self.groups.id_of(&name.key()) else {
            return no_such();
        };
        if !self.can_see(me, id)? {
            return match lookup {
                Lookup::Join => refuse(
                    ErrorCode::Forbidden,
                    format!("{chat} is an invite-only group; you need an invitation"),
                ),
                Lookup::Other => no_such(),
            };
        }
        Ok(id)
    }

    /// `me`'s role in group `id`, or `not_member`.
    pub(super) fn member_role(&self, me: AccountId, id: ChatId) -> Result<GroupRole, Failure> {
        match self.groups.get(id).and_then(|g| g.role_of(me)) {
            Some(role) => Ok(role),
            None => refuse(
                ErrorCode::NotMember,
                format!("you are not a member of {}", self.group_key(id)),
            ),
        }
    }

    /// `me`'s power in group `id` for a moderation request: its role, or
    /// `Owner` for a server admin who is not a member. A non-member gets
    /// `forbidden`.
    pub(super) fn moderator_power(
        &self,
        me: AccountId,
        id: ChatId,
        what: &str,
    ) -> Result<GroupRole, Failure> {
        let role = self.groups.get(id).and_then(|g| g.role_of(me));
        if self.is_admin(me) {
            return Ok(GroupRole::Owner);
        }
        match role {
            Some(role) => Ok(role),
            None => refuse(
                ErrorCode::Forbidden,
                format!("only members of {} may {what}", self.group_key(id)),
            ),
        }
    }

    pub(super) fn group_key(&self, id: ChatId) -> ChatKey {
        self.groups
            .get(id)
            .map(|g| g.key())
            .unwrap_or(ChatKey::Public)
    }

    /// The members of `id` with presence: owner first, then mods, then
    /// members, each in the order they joined.
    pub(super) fn member_list(&mut self, id: ChatId) -> Result<Vec<GroupMember>, StoreError> {
        let mut members: Vec<(AccountId, Membership)> = match self.groups.get(id) {
            Some(g) => g.members.iter().map(|(a, m)| (*a, *m)).collect(),
            None => Vec::new(),
        };
        members.sort_by_key(|(_, m)| (std::cmp::Reverse(m.role), m.seq));
        let mut list = Vec::with_capacity(members.len());
        for (account, m) in members {
            list.push(GroupMember {
                user: self.name_of(account)?,
                role: m.role,
                online: self.is_online(account),
                status: self.status_of(account),
            });
        }
        Ok(list)
    }

    /// Sends `frame` to every session of every member of group `id`.
    pub(super) fn tell_members(
        &mut self,
        id: ChatId,
        frame: &ServerFrame,
        except: Option<SessionId>,
    ) {
        let recipients = self.groups.recipients(id);
        let frame = frame.to_line();
        self.record(|| Ev::To {
            a: recipients.to_vec(),
            f: cluster::raw(&frame),
        });
        self.out.push(Effect::ToMembers {
            recipients,
            frame,
            seq: self.seq,
            except,
        });
    }

    /// Takes `account` out of group `id` (it left, or `by` removed it) and
    /// tells it and the members; hands ownership on if the owner went, and
    /// deletes the group when nobody is left.
    pub(super) fn remove_member(
        &mut self,
        id: ChatId,
        account: AccountId,
        by: Option<UserName>,
        reason: Option<String>,
    ) -> Result<(), Failure> {
        self.store.remove_member(id, account)?;
        let Some(gone) = self.groups.drop_member(id, account) else {
            return Ok(());
        };
        let chat = self.group_key(id);
        let user = self.name_of(account)?;
        self.send_to_user(
            account,
            &ServerFrame::GroupLeft {
                chat: chat.clone(),
                by: by.clone(),
                reason: reason.clone(),
            },
            None,
        );
        let empty = self.groups.get(id).is_none_or(|g| g.members.is_empty());
        if empty {
            return self.delete_group_now(id, None, None);
        }
        self.tell_members(
            id,
            &ServerFrame::MemberLeft {
                chat: chat.clone(),
                user,
                by,
                reason,
            },
            None,
        );
        if gone.role == GroupRole::Owner {
            let heir = self.groups.get(id).and_then(Group::successor);
            if let Some(heir) = heir {
                self.store.set_member_role(id, heir, GroupRole::Owner)?;
                self.groups.set_role(id, heir, GroupRole::Owner);
                let user = self.name_of(heir)?;
                self.tell_members(
                    id,
                    &ServerFrame::MemberRole {
                        chat,
                        user,
                        role: GroupRole::Owner,
                        by: None,
                    },
                    None,
                );
            }
        }
        Ok(())
    }

    /// Deletes group `id`: its members are told (`group_left` with `by` and
    /// `reason`, when someone deleted it), its invitees lose their
    /// invitations, and its name is free again.
    pub(super) fn delete_group_now(
        &mut self,
        id: ChatId,
        by: Option<UserName>,
        reason: Option<String>,
    ) -> Result<(), Failure> {
        let files = self.store.files_of_chat(id)?;
        let invitees = self.store.delete_group(id)?;
        for sha256 in files {
            self.out.push(Effect::RemoveBlobIfUnused(sha256));
        }
        let chat = self.group_key(id);
        if by.is_some() {
            self.tell_members(
                id,
                &ServerFrame::GroupLeft {
                    chat: chat.clone(),
                    by,
                    reason,
                },
                None,
            );
        }
        for invitee in invitees {
            self.send_to_user(
                invitee,
                &ServerFrame::GroupInviteRemoved { chat: chat.clone() },
                None,
            );
        }
        self.groups.remove(id);
        Ok(())
    }

    /// A member joins `id` with `role`: stored, its read marker at the
    /// newest message (it starts with nothing unread), its sessions told
    /// with `group_joined` and the other members with `member_joined`.
    pub(super) fn add_member(
        &mut self,
        id: ChatId,
        account: AccountId,
        role: GroupRole,
    ) -> Result<(), Failure> {
        let seq = self.groups.take_seq();
        self.store.add_member(id, account, role, seq)?;
        self.store
            .set_read_marker(account, id, self.store.last_msg_id())?;
        self.groups
            .put_member(id, account, Membership { role, seq });
        let members = self.member_list(id)?;
        let Some(group) = self.groups.get(id) else {
            return Ok(());
        };
        let joined = ServerFrame::GroupJoined {
            chat: group.key(),
            kind: group.kind,
            topic: group.topic.clone(),
            role,
            members,
        };
        let chat = group.key();
        self.send_to_user(account, &joined, None);
        let user = self.name_of(account)?;
        let recipients: Arc<[AccountId]> = self
            .groups
            .recipients(id)
            .iter()
            .copied()
            .filter(|a| *a != account)
            .collect();
        let frame = ServerFrame::MemberJoined { chat, user, role }.to_line();
        self.record(|| Ev::To {
            a: recipients.to_vec(),
            f: cluster::raw(&frame),
        });
        self.out.push(Effect::ToMembers {
            recipients,
            frame,
            seq: self.seq,
            except: None,
        });
        Ok(())
    }
}

/// A topic or a reason: empty, or text by the §3 rules of at most
/// [`MAX_TOPIC_BYTES`].
pub(super) fn checked_short_text(text: &str, what: &str) -> Result<(), Failure> {
    if text.len() > MAX_TOPIC_BYTES {
        return refuse(
            ErrorCode::InvalidText,
            format!("a {what} is at most {MAX_TOPIC_BYTES} bytes"),
        );
    }
    match validate_text(text) {
        Ok(()) => Ok(()),
        Err(e) => refuse(ErrorCode::InvalidText, format!("the {what}: {e}")),
    }
}

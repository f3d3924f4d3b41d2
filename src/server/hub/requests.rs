//! Resolving what a request names: another user, a chat key as seen by
//! the requester, a chat it may read.

use super::*;

impl Hub {
    /// An existing account other than `me`, by name in any casing.
    pub(super) fn other_user(
        &mut self,
        me: AccountId,
        user: &str,
    ) -> Result<(AccountId, UserName), Failure> {
        let Ok(name) = UserName::parse(user) else {
            return refuse(ErrorCode::NoSuchUser, format!("there is no user {user:?}"));
        };
        let Some(account) = self.store.account_by_key(&name.key())? else {
            return refuse(ErrorCode::NoSuchUser, format!("there is no user {name}"));
        };
        if account.id == me {
            return refuse(ErrorCode::SelfTarget, "that is you");
        }
        let name = self.name_of(account.id)?;
        Ok((account.id, name))
    }

    pub(super) fn target(&mut self, me: AccountId, chat: &str) -> Result<Target, Failure> {
        match ChatKey::parse(chat) {
            Some(ChatKey::Public) => Ok(Target::Public),
            Some(ChatKey::Private(name)) => {
                let (partner, partner_name) = self.other_user(me, name.as_str())?;
                let chat = self.store.private_chat(me, partner)?;
                Ok(Target::Private {
                    partner,
                    partner_name,
                    chat,
                })
            }
            Some(ChatKey::Group(_)) => {
                // A hidden or missing group is `no_such_chat`; one the
                // caller can see but is not in, `not_member`.
                let group = self.group_named(me, chat, groups::Lookup::Other)?;
                self.member_role(me, group)?;
                Ok(Target::Group {
                    chat: group,
                    key: self.group_key(group),
                })
            }
            None => {
                let shown: String = chat.chars().take(64).collect();
                refuse(ErrorCode::NoSuchChat, format!("there is no chat {shown:?}"))
            }
        }
    }

    pub(super) fn open_chat(&mut self, me: AccountId, partner: AccountId) -> Result<(), Failure> {
        let ts = now_ms();
        self.store.open_private_chat(me, partner, ts)?;
        let my_name = self.name_of(me)?;
        let partner_name = self.name_of(partner)?;
        let mine = ServerFrame::ChatOpened {
            chat: ChatKey::Private(partner_name.clone()),
            user: partner_name,
            ts,
        };
        let theirs = ServerFrame::ChatOpened {
            chat: ChatKey::Private(my_name.clone()),
            user: my_name,
            ts,
        };
        self.send_to_user(me, &mine, None);
        self.send_to_user(partner, &theirs, None);
        Ok(())
    }

    /// `me`'s other sessions still show the request between `me` and
    /// `other`; at most one is pending per pair, so the name says which.
    pub(super) fn tell_other_sessions_request_gone(
        &mut self,
        session: SessionId,
        me: AccountId,
        other: UserName,
    ) {
        self.send_to_user(
            me,
            &ServerFrame::ChatRequestRemoved { user: other },
            Some(session),
        );
    }

    /// The chat id and the key `me` knows it by, for reading (history and
    /// read markers): `#public`, or a private chat that was opened once.
    ///
    /// A name with no account gets the same `not_open` as an account one
    /// never had a chat with, so reading reveals nothing about which
    /// accounts exist.
    pub(super) fn readable_chat(
        &mut self,
        me: AccountId,
        chat: &str,
    ) -> Result<(ChatId, ChatKey), Failure> {
        let target = match self.target(me, chat) {
            Err(Failure::Refused(ErrorCode::NoSuchUser, _)) => {
                let shown: String = chat.chars().skip(1).take(32).collect();
                return refuse(
                    ErrorCode::NotOpen,
                    format!("you never had a chat with {shown}"),
                );
            }
            other => other?,
        };
        match target {
            Target::Public => Ok((PUBLIC_CHAT, ChatKey::Public)),
            Target::Group { chat, key } => Ok((chat, key)),
            Target::Private {
                chat: Some(c),
                partner_name,
                ..
            } => Ok((c.id, ChatKey::Private(partner_name))),
            Target::Private { partner_name, .. } => refuse(
                ErrorCode::NotOpen,
                format!("you never had a chat with {partner_name}"),
            ),
        }
    }
}

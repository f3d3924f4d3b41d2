//! What logged-in sessions ask for: messages, private chats, history and
//! read markers.

use super::*;

impl Hub {
    // ----- requests from logged-in sessions ------------------------------

    /// Handles one request; a `history` request that may go ahead comes
    /// back as the job of reading its page, which happens outside the hub.
    pub(super) fn request(
        &mut self,
        session: SessionId,
        me: AccountId,
        id: Option<u64>,
        request: Request,
    ) -> Result<Option<HistoryJob>, Failure> {
        if let Request::History {
            chat,
            before,
            after,
            limit,
        } = request
        {
            return self.history(me, id, &chat, before, after, limit);
        }
        self.act(session, me, id, request).map(|()| None)
    }

    fn act(
        &mut self,
        session: SessionId,
        me: AccountId,
        id: Option<u64>,
        request: Request,
    ) -> Result<(), Failure> {
        match request {
            Request::Ping => {
                if let Some(id) = id {
                    self.send(session, &ServerFrame::Pong { id });
                }
                Ok(())
            }
            Request::Send { chat, text } => self.send_message(session, me, id, &chat, text),
            Request::SetStatus { status } => {
                if self.status_of(me) == status {
                    // Nothing changed: nothing to tell everyone.
                    self.reply_ok(session, id);
                    return Ok(());
                }
                let before = self.statuses.insert(me, status);
                self.status_undo.push((me, before));
                self.reply_ok(session, id);
                let presence = ServerFrame::Presence(Presence {
                    user: self.name_of(me)?,
                    online: true,
                    status,
                });
                self.broadcast(&presence, None);
                Ok(())
            }
            Request::Who => {
                if let Some(id) = id {
                    let (online, more_online) = self.online_list();
                    self.send(
                        session,
                        &ServerFrame::Who {
                            id,
                            online,
                            more_online,
                        },
                    );
                }
                Ok(())
            }
            Request::RequestChat { user } => self.request_chat(session, me, id, &user),
            Request::Accept { user } => self.accept(session, me, id, &user),
            Request::Reject { user } => self.reject(session, me, id, &user),
            Request::CancelRequest { user } => self.cancel(session, me, id, &user),
            Request::EndChat { user } => self.end_chat(session, me, id, &user),
            Request::History { .. } => unreachable_history(),
            Request::MarkRead { chat, msg_id } => self.mark_read(session, me, id, &chat, msg_id),
            Request::Logout => {
                self.reply_ok(session, id);
                self.detach(session)?;
                self.out.push(Effect::Close(session));
                Ok(())
            }
            Request::CreateGroup { .. }
            | Request::Join { .. }
            | Request::Leave { .. }
            | Request::Invite { .. }
            | Request::DeclineInvite { .. }
            | Request::KickMember { .. }
            | Request::SetTopic { .. }
            | Request::SetMemberRole { .. }
            | Request::DeleteGroup { .. }
            | Request::Groups
            | Request::Members { .. } => refuse(
                ErrorCode::UnknownType,
                "this server does not offer groups (see hello.features)",
            ),
            Request::Register { .. } | Request::Login { .. } => refuse(
                ErrorCode::AlreadyAuthenticated,
                "this connection is already logged in",
            ),
        }
    }

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
            Some(ChatKey::Group(_)) | None => {
                let shown: String = chat.chars().take(64).collect();
                refuse(ErrorCode::NoSuchChat, format!("there is no chat {shown:?}"))
            }
        }
    }

    pub(super) fn send_message(
        &mut self,
        session: SessionId,
        me: AccountId,
        id: Option<u64>,
        chat: &str,
        text: String,
    ) -> Result<(), Failure> {
        let target = self.target(me, chat)?;
        let chat_id = match &target {
            Target::Public => PUBLIC_CHAT,
            Target::Private { chat: Some(c), .. } if c.is_open => c.id,
            Target::Private { partner_name, .. } => {
                return refuse(
                    ErrorCode::NotOpen,
                    format!("no open chat with {partner_name}"),
                )
            }
        };
        let ts = now_ms().max(self.last_ts);
        let msg_id = self.store.insert_message(chat_id, me, ts, &text)?;
        self.last_ts = ts;
        if let Some(id) = id {
            self.send(
                session,
                &ServerFrame::Ok(OkReply {
                    id,
                    msg_id: Some(msg_id),
                    ts: Some(ts),
                    chat: None,
                }),
            );
        }
        let from = self.name_of(me)?;
        match target {
            Target::Public => {
                let message = ServerFrame::Message(Message {
                    chat: ChatKey::Public,
                    msg_id,
                    ts,
                    from,
                    text,
                });
                self.broadcast(&message, None);
            }
            Target::Private {
                partner,
                partner_name,
                ..
            } => {
                let mut message = Message {
                    chat: ChatKey::Private(partner_name),
                    msg_id,
                    ts,
                    from: from.clone(),
                    text,
                };
                self.send_to_user(me, &ServerFrame::Message(message.clone()), None);
                message.chat = ChatKey::Private(from);
                self.send_to_user(partner, &ServerFrame::Message(message), None);
            }
        }
        Ok(())
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

    pub(super) fn request_chat(
        &mut self,
        session: SessionId,
        me: AccountId,
        id: Option<u64>,
        user: &str,
    ) -> Result<(), Failure> {
        let (partner, partner_name) = self.other_user(me, user)?;
        if self
            .store
            .private_chat(me, partner)?
            .is_some_and(|c| c.is_open)
        {
            return refuse(
                ErrorCode::AlreadyOpen,
                format!("you already have a chat with {partner_name}"),
            );
        }
        if self.store.pending_request(me, partner)?.is_some() {
            return refuse(
                ErrorCode::AlreadyRequested,
                format!("you already asked {partner_name}"),
            );
        }
        if self.store.pending_request(partner, me)?.is_some() {
            // Both want it: open at once.
            self.store.atomically(|store| {
                store.remove_request(partner, me)?;
                store.open_private_chat(me, partner, now_ms())
            })?;
            self.reply_ok(session, id);
            return self.open_chat(me, partner);
        }
        // Bounded both ways, so that nobody can fill another's inbox (and
        // `welcome`) without limit, nor spray requests at everyone.
        if self.store.count_requests_from(me)? >= MAX_PENDING_REQUESTS as u64 {
            return refuse(
                ErrorCode::RateLimited,
                format!(
                    "you have {MAX_PENDING_REQUESTS} chat requests waiting for an answer, \
                     the most allowed; cancel some first"
                ),
            );
        }
        if self.store.count_requests_to(partner)? >= MAX_PENDING_REQUESTS as u64 {
            return refuse(
                ErrorCode::RateLimited,
                format!(
                    "{partner_name} has {MAX_PENDING_REQUESTS} chat requests waiting, \
                     the most allowed; try again once they have answered some"
                ),
            );
        }
        let ts = now_ms();
        self.store.add_request(me, partner, ts)?;
        self.reply_ok(session, id);
        let me_name = self.name_of(me)?;
        self.send_to_user(
            partner,
            &ServerFrame::ChatRequest { from: me_name, ts },
            None,
        );
        self.send_to_user(
            me,
            &ServerFrame::ChatRequestSent {
                to: partner_name,
                ts,
            },
            Some(session),
        );
        Ok(())
    }

    pub(super) fn accept(
        &mut self,
        session: SessionId,
        me: AccountId,
        id: Option<u64>,
        user: &str,
    ) -> Result<(), Failure> {
        let (from, from_name) = self.other_user(me, user)?;
        let opened = self.store.atomically(|store| {
            if !store.remove_request(from, me)? {
                return Ok(false);
            }
            store.open_private_chat(me, from, now_ms())?;
            Ok(true)
        })?;
        if !opened {
            return refuse(
                ErrorCode::NoRequest,
                format!("{from_name} has not asked you for a chat"),
            );
        }
        self.reply_ok(session, id);
        self.open_chat(me, from)
    }

    pub(super) fn reject(
        &mut self,
        session: SessionId,
        me: AccountId,
        id: Option<u64>,
        user: &str,
    ) -> Result<(), Failure> {
        let (from, from_name) = self.other_user(me, user)?;
        if !self.store.remove_request(from, me)? {
            return refuse(
                ErrorCode::NoRequest,
                format!("{from_name} has not asked you for a chat"),
            );
        }
        self.reply_ok(session, id);
        let me_name = self.name_of(me)?;
        self.send_to_user(from, &ServerFrame::ChatRejected { user: me_name }, None);
        self.tell_other_sessions_request_gone(session, me, from_name);
        Ok(())
    }

    pub(super) fn cancel(
        &mut self,
        session: SessionId,
        me: AccountId,
        id: Option<u64>,
        user: &str,
    ) -> Result<(), Failure> {
        let (to, to_name) = self.other_user(me, user)?;
        if !self.store.remove_request(me, to)? {
            return refuse(
                ErrorCode::NoRequest,
                format!("you have no pending request to {to_name}"),
            );
        }
        self.reply_ok(session, id);
        let me_name = self.name_of(me)?;
        self.send_to_user(to, &ServerFrame::ChatRequestRemoved { user: me_name }, None);
        self.tell_other_sessions_request_gone(session, me, to_name);
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

    pub(super) fn end_chat(
        &mut self,
        session: SessionId,
        me: AccountId,
        id: Option<u64>,
        user: &str,
    ) -> Result<(), Failure> {
        let (partner, partner_name) = self.other_user(me, user)?;
        let Some(chat) = self.store.private_chat(me, partner)?.filter(|c| c.is_open) else {
            return refuse(
                ErrorCode::NotOpen,
                format!("no open chat with {partner_name}"),
            );
        };
        self.store.end_private_chat(chat.id, now_ms())?;
        self.reply_ok(session, id);
        let me_name = self.name_of(me)?;
        let mine = ServerFrame::ChatEnded {
            chat: ChatKey::Private(partner_name.clone()),
            user: partner_name,
            by: me_name.clone(),
        };
        let theirs = ServerFrame::ChatEnded {
            chat: ChatKey::Private(me_name.clone()),
            user: me_name.clone(),
            by: me_name,
        };
        self.send_to_user(me, &mine, None);
        self.send_to_user(partner, &theirs, None);
        Ok(())
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

    /// Checks a history request; the page is read after the commit,
    /// outside the hub (see [`crate::server::history`]).
    pub(super) fn history(
        &mut self,
        me: AccountId,
        id: Option<u64>,
        chat: &str,
        before: Option<u64>,
        after: Option<u64>,
        limit: Option<u32>,
    ) -> Result<Option<HistoryJob>, Failure> {
        let direction = match (before, after) {
            (Some(_), Some(_)) => {
                return refuse(
                    ErrorCode::BadRequest,
                    "give \"before\" or \"after\", not both",
                )
            }
            (_, Some(after)) => HistoryDirection::After(after),
            (before, None) => HistoryDirection::Before(before),
        };
        let limit = match limit {
            Some(0) => return refuse(ErrorCode::BadRequest, "\"limit\" must be 1 to 200"),
            Some(n) => n.min(HISTORY_MAX_LIMIT),
            None => HISTORY_DEFAULT_LIMIT,
        };
        let (chat, key) = self.readable_chat(me, chat)?;
        // Without an id there is nobody to send the page to.
        Ok(id.map(|id| HistoryJob {
            id,
            chat,
            key,
            direction,
            limit,
        }))
    }

    pub(super) fn mark_read(
        &mut self,
        session: SessionId,
        me: AccountId,
        id: Option<u64>,
        chat: &str,
        msg_id: u64,
    ) -> Result<(), Failure> {
        let (chat_id, key) = self.readable_chat(me, chat)?;
        // Never past the newest message, so a marker cannot hide messages
        // that do not exist yet.
        let msg_id = msg_id.min(self.store.last_msg_id());
        let old = self.store.read_marker(me, chat_id)?.unwrap_or(0);
        if msg_id > old {
            self.store.set_read_marker(me, chat_id, msg_id)?;
            self.send_to_user(me, &ServerFrame::Read { chat: key, msg_id }, Some(session));
        }
        self.reply_ok(session, id);
        Ok(())
    }
}

/// `history` is split off in [`Hub::request`] before this match.
fn unreachable_history() -> Result<(), Failure> {
    refuse(ErrorCode::Internal, "history was not routed to its reader")
}

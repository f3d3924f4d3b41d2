//! Who is online: names, presence, logging in and out, `welcome`.

use super::*;

impl Hub {
    // ----- names and presence --------------------------------------------

    pub(super) fn name_of(&mut self, account: AccountId) -> Result<UserName, StoreError> {
        if let Some(n) = self.names.get(&account) {
            return Ok(n.clone());
        }
        let account_row = self
            .store
            .account_by_id(account)?
            .ok_or(StoreError::NoSuchAccount)?;
        let name = UserName::parse(&account_row.name).map_err(|_| StoreError::NoSuchAccount)?;
        self.names.insert(account, name.clone());
        Ok(name)
    }

    pub(super) fn status_of(&self, account: AccountId) -> Status {
        self.statuses.get(account)
    }

    // ----- sessions -------------------------------------------------------

    /// Logs `session` in as `account`. `how` is what the audit log records
    /// for it: `login`, or `register` for a session that registered.
    pub(super) fn attach(
        &mut self,
        session: SessionId,
        id: Option<u64>,
        account: &Account,
        how: &str,
    ) -> Result<(), Failure> {
        let name = UserName::parse(&account.name).map_err(|_| StoreError::NoSuchAccount)?;
        let peer = match self.sessions.get(&session) {
            Some(s) if !s.closing => s.peer,
            // The connection went away while the password was checked.
            _ => return refuse(ErrorCode::Internal, "connection closed during login"),
        };
        let open = self.online.get(&account.id).map_or(0, |o| o.sessions.len())
            + self.sessions_elsewhere(account.id);
        if self.max_sessions_per_account > 0 && open >= self.max_sessions_per_account {
            return refuse(
                ErrorCode::RateLimited,
                format!(
                    "{} already has {open} sessions open; close one first",
                    account.name
                ),
            );
        }
        self.audit(
            Some(&account.name),
            how,
            Some((&account.name, Some(account.id))),
            &peer.to_string(),
        )?;
        self.seq += 1;
        if let Some(s) = self.sessions.get_mut(&session) {
            s.account = Some(account.id);
            s.attached_seq = self.seq;
        }
        self.out.push(Effect::Subscribe(session));
        self.names.insert(account.id, name.clone());
        self.roles.insert(account.id, account.role);
        self.mutes.insert(account.id, account.mute);
        // The status the user last set, whichever server run it was set in.
        self.statuses.set_if_unknown(account.id, account.status);
        self.attached_in_batch.push(session);
        let first = !self.online.contains_key(&account.id);
        if first {
            self.online_by_name.insert(&name, account.id);
        }
        self.online
            .entry(account.id)
            .or_insert_with(|| OnlineEntry {
                name: name.clone(),
                sessions: Vec::new(),
                password_hash: account.password_hash.clone(),
            })
            .sessions
            .push(session);
        if let Some(id) = id {
            let welcome = self.welcome(id, account, name.clone())?;
            self.send(session, &ServerFrame::Welcome(Box::new(welcome)));
        }
        if first {
            self.note_up(account.id, &name)?;
        } else {
            let here = self.online.get(&account.id).map_or(0, |o| o.sessions.len());
            self.note_sessions(account.id, here);
        }
        if first && !self.is_online_elsewhere(account.id) {
            let presence = ServerFrame::Presence(Presence {
                user: name,
                online: true,
                status: self.status_of(account.id),
            });
            self.broadcast(&presence, Some(session));
        }
        tracing::info!(user = %account.name, %peer, session, "logged in");
        Ok(())
    }

    /// Logs a session out (it stays connected until it is removed).
    pub(super) fn detach(&mut self, session: SessionId) -> Result<(), StoreError> {
        let Some(entry) = self.sessions.get_mut(&session) else {
            return Ok(());
        };
        let Some(account) = entry.account.take() else {
            return Ok(());
        };
        // Nothing more of the feed, not even this round's.
        entry.link.outbox.unsubscribe();
        let peer = entry.peer;
        let mut last = false;
        if let Some(online) = self.online.get_mut(&account) {
            online.sessions.retain(|s| *s != session);
            last = online.sessions.is_empty();
        }
        if !last {
            let here = self.online.get(&account).map_or(0, |o| o.sessions.len());
            if here > 0 {
                self.note_sessions(account, here);
            }
        }
        if last {
            self.roles.remove(&account);
            self.mutes.remove(&account);
            let gone = self.online.remove(&account);
            if let Some(gone) = &gone {
                self.online_by_name.remove(&gone.name, account);
            }
            if gone.is_some() {
                // Presence must go out even when the database is failing.
                if let Err(e) = self.note_down(account) {
                    tracing::error!(error = %e, "cannot record where a user is online");
                }
            }
            if let Some(gone) = gone.filter(|_| !self.is_online(account)) {
                let presence = ServerFrame::Presence(Presence {
                    user: gone.name,
                    online: false,
                    status: self.status_of(account),
                })
                .to_line();
                self.record(|| Ev::All {
                    f: cluster::raw(&presence),
                });
                self.out.push(Effect::ToAll {
                    frame: presence.clone(),
                    except: Some(session),
                });
                self.offline_in_batch.push((presence, session));
            }
        }
        let name = self.name_of(account)?;
        self.audit(
            Some(name.as_str()),
            "logout",
            Some((name.as_str(), Some(account))),
            &peer.to_string(),
        )?;
        Ok(())
    }

    /// Appends to the audit log, the one record of who did what.
    pub(super) fn audit(
        &mut self,
        actor: Option<&str>,
        action: &str,
        target: Option<(&str, Option<AccountId>)>,
        detail: &str,
    ) -> Result<(), StoreError> {
        self.store.record_audit(
            &NewAudit {
                actor,
                action,
                target: target.map(|t| t.0),
                target_account: target.and_then(|t| t.1),
                detail,
            },
            now_ms(),
        )?;
        Ok(())
    }

    pub(super) fn welcome(
        &mut self,
        id: u64,
        account: &Account,
        name: UserName,
    ) -> Result<Welcome, StoreError> {
        let me = account.id;
        let mut chats = Vec::new();
        let (open, open_total) = self.store.open_chats_of(me, MAX_LISTED_CHATS)?;
        let more_chats = open_total.saturating_sub(open.len() as u64);
        for (chat, partner) in open {
            let last_read = self.store.read_marker(me, chat)?.unwrap_or(0);
            let partner_name = self.name_of(partner)?;
            chats.push(ChatSummary {
                chat: ChatKey::Private(partner_name.clone()),
                user: partner_name,
                online: self.is_online(partner),
                unread: self.store.unread_count(chat, last_read, me)?,
                last_read,
            });
        }
        let (online, more_online) = self.online_list();
        let mut groups = Vec::new();
        for chat in self.groups.of(me) {
            let Some(group) = self.groups.get(chat) else {
                continue;
            };
            let (key, kind, topic) = (group.key(), group.kind, group.topic.clone());
            let role = group.role_of(me).unwrap_or_default();
            let last_read = self.store.read_marker(me, chat)?.unwrap_or(0);
            groups.push(GroupSummary {
                chat: key,
                kind,
                topic,
                role,
                unread: self.store.unread_count(chat, last_read, me)?,
                last_read,
            });
        }
        let mut invites = Vec::new();
        let (waiting, _) = self.store.invites_to(me, MAX_PENDING_INVITES)?;
        for (chat, from, ts) in waiting {
            if self.groups.get(chat).is_none() {
                continue;
            }
            invites.push(InviteIn {
                chat: self.group_key(chat),
                from: self.name_of(from)?,
                ts,
            });
        }
        let public_read = self.store.read_marker(me, PUBLIC_CHAT)?.unwrap_or(0);
        let public_unread = self.store.unread_count(PUBLIC_CHAT, public_read, me)?;
        let mut requests_in = Vec::new();
        let (incoming, incoming_total) = self.store.requests_to(me, MAX_LISTED_REQUESTS)?;
        let more_requests_in = incoming_total.saturating_sub(incoming.len() as u64);
        for (from, ts) in incoming {
            requests_in.push(RequestIn {
                from: self.name_of(from)?,
                ts,
            });
        }
        let mut requests_out = Vec::new();
        let (outgoing, outgoing_total) = self.store.requests_from(me, MAX_LISTED_REQUESTS)?;
        let more_requests_out = outgoing_total.saturating_sub(outgoing.len() as u64);
        for (to, ts) in outgoing {
            requests_out.push(RequestOut {
                to: self.name_of(to)?,
                ts,
            });
        }
        Ok(Welcome {
            id,
            user: name,
            role: account.role,
            last_msg_id: self.store.last_msg_id(),
            online,
            chats,
            public_unread,
            requests_in,
            requests_out,
            more_online,
            more_chats,
            more_requests_in,
            more_requests_out,
            groups,
            invites,
            public_last_read: public_read,
            muted_until: account
                .mute
                .filter(|m| m.until_ms.is_none_or(|t| t > now_ms()))
                .map(|m| m.until_ms),
        })
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn login(
        &mut self,
        session: SessionId,
        id: Option<u64>,
        key: &str,
        ip: IpAddr,
        account: Option<AccountId>,
        password_ok: bool,
        ticket: AttemptTicket,
    ) -> Result<bool, Failure> {
        let account = match account {
            Some(account_id) if password_ok => self.store.account_by_id(account_id)?,
            _ => None,
        };
        let locked = self.lockout.settle(key, ip, ticket, account.is_some());
        self.record(|| Ev::LoginEnd {
            k: key.to_owned(),
            ip,
            ok: account.is_some(),
        });
        let Some(account) = account else {
            if locked {
                // Nobody did it: the actor is null; the target is the name
                // as asked for (it may have no account).
                let name = self.store.account_by_key(key)?.map(|a| (a.name, a.id));
                let (target, target_id) = match &name {
                    Some((n, id)) => (n.as_str(), Some(*id)),
                    None => (key, None),
                };
                self.audit(
                    None,
                    "lockout",
                    Some((target, target_id)),
                    &crate::server::address_key::limit_key(ip).to_string(),
                )?;
            }
            return refuse(ErrorCode::BadCredentials, "wrong user name or password");
        };
        if let Some(ban) = account.ban {
            let active = ban.until_ms.is_none_or(|until| until > now_ms());
            if active {
                let mut e = ErrorFrame::new(
                    id,
                    ErrorCode::Banned,
                    match ban.until_ms {
                        Some(_) => "this account is banned for now",
                        None => "this account is banned",
                    },
                );
                e.until = Some(ban.until_ms);
                self.send(session, &ServerFrame::Error(e));
                return Ok(false);
            }
        }
        self.attach(session, id, &account, "login")?;
        Ok(true)
    }

    pub(super) fn register(
        &mut self,
        session: SessionId,
        id: Option<u64>,
        name: &UserName,
        hash: &str,
    ) -> Result<(), Failure> {
        let created = self.store.atomically(|store| {
            let account_id =
                store.create_account(name.as_str(), hash, Default::default(), now_ms())?;
            store
                .account_by_id(account_id)?
                .ok_or(StoreError::NoSuchAccount)
        });
        let account = match created {
            Ok(a) => a,
            Err(StoreError::NameTaken) => {
                return refuse(ErrorCode::NameTaken, format!("the name {name} is taken"))
            }
            Err(StoreError::LooksLike(existing)) => {
                return refuse(
                    ErrorCode::NameTaken,
                    format!("the name {name} looks too much like {existing}, who is already here; choose another"),
                )
            }
            Err(e) => return Err(e.into()),
        };
        tracing::info!(user = %name, "registered");
        self.attach(session, id, &account, "register")
    }

    // ----- changes made outside the server ----------------------------------

    /// The account command line writes to the database directly (always
    /// with PostgreSQL, which has no admin socket). When it has (SQLite's
    /// `data_version` moved, PostgreSQL's `cluster_state.event_seq`),
    /// every online account is checked again: one that is banned now, or
    /// whose password was changed, loses every session at once, so no path
    /// leaves a banned or stale session working; a new role is told.
    pub(super) fn enforce_changes_from_outside(&mut self) {
        let version = match self.store.data_version() {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(error = %e, "cannot tell whether the database changed");
                return;
            }
        };
        if version == self.data_version {
            return;
        }
        self.data_version = version;
        let accounts: Vec<AccountId> = self.online.keys().copied().collect();
        for account in accounts {
            self.recheck_account(account, true);
        }
    }

    /// Reads an online account again after someone else changed it: one
    /// that is banned now, or whose password was changed, loses every
    /// session here; a new role or mute takes effect.
    pub(super) fn recheck_account(&mut self, account: AccountId, tell: bool) {
        if !self.online.contains_key(&account) {
            return;
        }
        let now = now_ms();
        {
            let stored = match self.store.account_by_id(account) {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot re-read an account");
                    return;
                }
            };
            let fatal = match &stored {
                None => Some(ErrorFrame::new(
                    None,
                    ErrorCode::NotAuthenticated,
                    "this account no longer exists",
                )),
                Some(a) if a.ban.is_some_and(|b| b.until_ms.is_none_or(|t| t > now)) => {
                    // Only the account command line changes accounts from
                    // outside: the same frame as its ban through the admin
                    // socket (which PostgreSQL does not have).
                    let until = a.ban.and_then(|b| b.until_ms);
                    let mut e = ErrorFrame::new(
                        None,
                        ErrorCode::Banned,
                        super::moderation::banned_message(&None, &None, until),
                    );
                    e.until = Some(until);
                    e.by = Some(None);
                    Some(e)
                }
                Some(a)
                    if self.online.get(&account).map(|o| &o.password_hash)
                        != Some(&a.password_hash) =>
                {
                    Some(ErrorFrame::new(
                        None,
                        ErrorCode::NotAuthenticated,
                        "the password of this account was changed; log in again",
                    ))
                }
                Some(a) => {
                    // A role given from outside is told as the admin
                    // socket's is: `role` with `"by":null`.
                    // Each node tells its own sessions (every node reads
                    // the change); a change another node made and told
                    // everyone of (`tell` false) is only taken in.
                    if self
                        .roles
                        .insert(account, a.role)
                        .is_some_and(|r| r != a.role)
                        && tell
                    {
                        self.out.push(Effect::ToUser {
                            account,
                            frame: ServerFrame::Role {
                                role: a.role,
                                by: None,
                            }
                            .to_line(),
                            seq: self.seq,
                            except: None,
                        });
                    }
                    self.mutes.insert(account, a.mute);
                    None
                }
            };
            if let Some(fatal) = fatal {
                self.end_sessions_of(account, ServerFrame::Error(fatal.fatal()).to_line());
            }
        }
    }

    /// Logs every session of `account` out at once and, once the round is
    /// committed, closes it with `fatal`.
    pub(super) fn end_sessions_of(&mut self, account: AccountId, fatal: Bytes) {
        let sessions = self
            .online
            .get(&account)
            .map(|o| o.sessions.clone())
            .unwrap_or_default();
        for session in sessions {
            if let Err(e) = self.detach(session) {
                tracing::error!(error = %e, "could not record a logout");
            }
            self.out.push(Effect::CloseWith(session, fatal.clone()));
        }
        tracing::info!(account, "sessions ended");
    }
}

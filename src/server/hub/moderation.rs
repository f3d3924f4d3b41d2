//! What an admin does to an account — kick, ban, mute, role — whether it
//! comes from an admin's session (§13) or from the account command line
//! through the admin socket (`actor` is then `None`, and events say
//! `"by":null`). Every action is recorded in the audit log.

use super::*;

/// Who acts: an admin's account, or the server's own command line.
pub(super) type Actor = Option<AccountId>;

impl Hub {
    pub(super) fn actor_name(&mut self, actor: Actor) -> Result<Option<UserName>, StoreError> {
        actor.map(|a| self.name_of(a)).transpose()
    }

    fn audit_action(
        &mut self,
        actor: Actor,
        action: &str,
        target: &Account,
        detail: &str,
    ) -> Result<(), StoreError> {
        let actor = self.actor_name(actor)?;
        self.audit(
            actor.as_ref().map(|n| n.as_str()),
            action,
            Some((&target.name, Some(target.id))),
            detail,
        )
    }

    /// Ends every session of `target` with a fatal `kicked` error.
    pub(super) fn kick_account(
        &mut self,
        actor: Actor,
        target: &Account,
        reason: Option<String>,
    ) -> Result<(), Failure> {
        let by = self.actor_name(actor)?;
        let mut fatal = ErrorFrame::new(None, ErrorCode::Kicked, kicked_message(&by, &reason));
        fatal.by = Some(by);
        fatal.reason = reason.clone();
        self.end_sessions_everywhere(target.id, ServerFrame::Error(fatal.fatal()).to_line());
        self.audit_action(actor, "kick", target, reason.as_deref().unwrap_or(""))?;
        Ok(())
    }

    /// Bans `target` for `minutes` (for good without), ending its sessions
    /// with a fatal `banned` error; returns when the ban ends.
    pub(super) fn ban_account(
        &mut self,
        actor: Actor,
        target: &Account,
        minutes: Option<u64>,
        reason: Option<String>,
    ) -> Result<Option<i64>, Failure> {
        let until = minutes.map(until_after);
        self.store
            .set_ban(&NameKey::of(&target.name), Some(Ban { until_ms: until }))?;
        let by = self.actor_name(actor)?;
        let mut fatal =
            ErrorFrame::new(None, ErrorCode::Banned, banned_message(&by, &reason, until));
        fatal.until = Some(until);
        fatal.by = Some(by);
        fatal.reason = reason.clone();
        self.end_sessions_everywhere(target.id, ServerFrame::Error(fatal.fatal()).to_line());
        let detail = detail_with_until(reason.as_deref(), until);
        self.audit_action(actor, "ban", target, &detail)?;
        Ok(until)
    }

    /// Lifts a ban, and any login lockout of the account with it.
    pub(super) fn unban_account(&mut self, actor: Actor, target: &Account) -> Result<(), Failure> {
        self.store.set_ban(&NameKey::of(&target.name), None)?;
        self.unlock_everywhere(&NameKey::of(&target.name));
        self.audit_action(actor, "unban", target, "")?;
        Ok(())
    }

    /// Mutes `target` in `#public` and groups; its sessions are told.
    pub(super) fn mute_account(
        &mut self,
        actor: Actor,
        target: &Account,
        minutes: Option<u64>,
        reason: Option<String>,
    ) -> Result<Option<i64>, Failure> {
        let until = minutes.map(until_after);
        let mute = Some(Ban { until_ms: until });
        self.store.set_mute(&NameKey::of(&target.name), mute)?;
        if self.online.contains_key(&target.id) {
            self.mutes.insert(target.id, mute);
        }
        self.record(|| Ev::Account { a: target.id });
        let by = self.actor_name(actor)?;
        self.send_to_user(
            target.id,
            &ServerFrame::Muted {
                until,
                by,
                reason: reason.clone(),
            },
            None,
        );
        let detail = detail_with_until(reason.as_deref(), until);
        self.audit_action(actor, "mute", target, &detail)?;
        Ok(until)
    }

    /// Lifts a mute; the account's sessions get `muted` with `until` 0.
    pub(super) fn unmute_account(&mut self, actor: Actor, target: &Account) -> Result<(), Failure> {
        self.store.set_mute(&NameKey::of(&target.name), None)?;
        if self.online.contains_key(&target.id) {
            self.mutes.insert(target.id, None);
        }
        self.record(|| Ev::Account { a: target.id });
        let by = self.actor_name(actor)?;
        self.send_to_user(
            target.id,
            &ServerFrame::Muted {
                until: Some(0),
                by,
                reason: None,
            },
            None,
        );
        self.audit_action(actor, "unmute", target, "")?;
        Ok(())
    }

    /// Gives `target` a server role; its sessions get `role` (nothing
    /// happens when it has that role already).
    pub(super) fn set_account_role(
        &mut self,
        actor: Actor,
        target: &Account,
        role: Role,
    ) -> Result<(), Failure> {
        if target.role == role {
            return Ok(());
        }
        self.store.set_role(&NameKey::of(&target.name), role)?;
        if self.online.contains_key(&target.id) {
            self.roles.insert(target.id, role);
        }
        self.record(|| Ev::Account { a: target.id });
        let by = self.actor_name(actor)?;
        self.send_to_user(target.id, &ServerFrame::Role { role, by }, None);
        self.audit_action(actor, "set_role", target, role.as_str())?;
        Ok(())
    }

    /// Ends every session of `account`, on every node, with `fatal`.
    pub(super) fn end_sessions_everywhere(&mut self, account: AccountId, fatal: Bytes) {
        // Here first: the other nodes then apply this node's "no longer
        // online here" before ending their own sessions, so the last node
        // to end one tells everyone the user went offline.
        self.end_sessions_of(account, fatal.clone());
        self.record(|| Ev::End {
            a: account,
            f: cluster::raw(&fatal),
        });
    }

    /// Forgets an account's failed logins, on every node.
    pub(super) fn unlock_everywhere(&mut self, key: &str) {
        self.record(|| Ev::Unlock { k: key.to_owned() });
        self.lockout.unlock(key);
    }

    /// When `me` is muted in `#public` and groups, the `muted` error.
    pub(super) fn refuse_if_muted(&self, me: AccountId) -> Result<(), Failure> {
        let Some(Some(mute)) = self.mutes.get(&me) else {
            return Ok(());
        };
        if mute.until_ms.is_some_and(|t| t <= now_ms()) {
            return Ok(());
        }
        let mut e = ErrorFrame::new(
            None,
            ErrorCode::Muted,
            match mute.until_ms {
                Some(_) => "you are muted in the public room and groups for now",
                None => "you are muted in the public room and groups",
            },
        );
        e.until = Some(mute.until_ms);
        Err(Failure::Frame(Box::new(e)))
    }
}

impl Hub {
    /// Carries out what the account command line asked for, as the
    /// server's operator (events say `"by":null`).
    pub(super) fn admin_request(&mut self, request: AdminRequest) -> AdminReply {
        let user = match &request {
            AdminRequest::Ban { user, .. }
            | AdminRequest::Unban { user }
            | AdminRequest::Role { user, .. }
            | AdminRequest::Passwd { user, .. }
            | AdminRequest::Unlock { user } => user.clone(),
        };
        let account = match UserName::parse(&user) {
            Ok(name) => self.store.account_by_key(&name.key()),
            Err(_) => Ok(None),
        };
        let target = match account {
            Ok(Some(a)) => a,
            Ok(None) => return AdminReply::refused(format!("there is no user {user}")),
            Err(e) => {
                tracing::error!(error = %e, "account lookup failed");
                return AdminReply::failed_to_store();
            }
        };
        let name = target.name.clone();
        let done = match request {
            AdminRequest::Ban {
                minutes: Some(0), ..
            } => return AdminReply::refused("--minutes must be at least 1"),
            AdminRequest::Ban { minutes, .. } => self
                .ban_account(None, &target, minutes, None)
                .map(|until| AdminReply {
                    ok: true,
                    message: match until {
                        Some(_) => format!("{name} is banned for {} minutes", minutes.unwrap_or(0)),
                        None => format!("{name} is banned permanently"),
                    },
                    until,
                }),
            AdminRequest::Unban { .. } => self
                .unban_account(None, &target)
                .map(|()| AdminReply::done(format!("{name} may log in again"))),
            AdminRequest::Role { role, .. } => self
                .set_account_role(None, &target, role)
                .map(|()| AdminReply::done(format!("{name} is now {}", role.as_str()))),
            AdminRequest::Passwd { hash, .. } => self.replace_password(&target, &hash),
            AdminRequest::Unlock { .. } => {
                self.unlock_everywhere(&NameKey::of(&name));
                Ok(AdminReply::done(format!("{name} may try to log in again")))
            }
        };
        done.unwrap_or_else(|f| match f {
            Failure::Refused(_, message) => AdminReply::refused(message),
            Failure::Frame(frame) => AdminReply::refused(frame.message),
            Failure::Store(e) => {
                tracing::error!(error = %e, "storage error");
                AdminReply::failed_to_store()
            }
        })
    }

    /// A new password: every session of the account ends (they logged in
    /// with the old one), and a login lockout is lifted.
    fn replace_password(&mut self, target: &Account, hash: &str) -> Result<AdminReply, Failure> {
        if !hash.starts_with("$2") {
            return refuse(ErrorCode::BadRequest, "that is not a bcrypt hash");
        }
        self.store
            .set_password_hash(&NameKey::of(&target.name), hash)?;
        let fatal = ErrorFrame::new(
            None,
            ErrorCode::NotAuthenticated,
            "the password of this account was changed; log in again",
        );
        self.end_sessions_everywhere(target.id, ServerFrame::Error(fatal.fatal()).to_line());
        self.unlock_everywhere(&NameKey::of(&target.name));
        Ok(AdminReply::done(format!(
            "password of {} changed",
            target.name
        )))
    }
}

/// `minutes` from now, as a `ts` (saturating: a huge number is "very long",
/// never an overflow).
fn until_after(minutes: u64) -> i64 {
    let ms = i64::try_from(minutes)
        .unwrap_or(i64::MAX)
        .saturating_mul(60_000);
    now_ms().saturating_add(ms)
}

fn detail_with_until(reason: Option<&str>, until: Option<i64>) -> String {
    let how_long = match until {
        Some(t) => format!("until {} UTC", crate::server::admin::format_utc(t)),
        None => "for good".to_owned(),
    };
    match reason {
        Some(r) if !r.is_empty() => format!("{how_long}: {r}"),
        _ => how_long,
    }
}

fn kicked_message(by: &Option<UserName>, reason: &Option<String>) -> String {
    let who = by
        .as_ref()
        .map_or("the server's operator".to_owned(), |n| n.to_string());
    match reason {
        Some(r) => format!("disconnected by {who}: {r}"),
        None => format!("disconnected by {who}"),
    }
}

pub(super) fn banned_message(
    by: &Option<UserName>,
    reason: &Option<String>,
    until: Option<i64>,
) -> String {
    let who = by
        .as_ref()
        .map_or("the server's operator".to_owned(), |n| n.to_string());
    let how_long = if until.is_some() {
        "for now"
    } else {
        "for good"
    };
    match reason {
        Some(r) => format!("banned {how_long} by {who}: {r}"),
        None => format!("banned {how_long} by {who}"),
    }
}

//! Account administration for `tchat-server user …` and `tchat-server
//! audit`: through a server running on the database when there is one (its
//! admin socket, so that a ban, a role or a new password takes effect at
//! once), on the database file directly when there is none.
//!
//! With PostgreSQL there is no socket (no file to put it beside, and the
//! server may be on another machine): every change is written to the
//! database directly, in a transaction that also moves
//! `cluster_state.event_seq` ([`Store::note_outside_change`]). A running
//! server looks at it every round and at least once a second, and then
//! checks its online accounts again, so a ban or a new password ends their
//! sessions within a second. A login lockout lives only in the server's
//! memory and cannot be lifted from here; it ends by itself.

use std::fmt::Write as _;

use super::admin_socket::{self, AdminReply, AdminRequest};
use super::store::{self, Ban, DbLocation, NewAudit, Store, StoreError};
use crate::protocol::{
    now_ms, validate_password, NameError, NameKey, PasswordError, Role, UserName,
};

/// Why an administrative command failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("invalid user name: {0}")]
    Name(#[from] NameError),
    #[error("invalid password: {0}")]
    Password(#[from] PasswordError),
    #[error("the name {0} is taken")]
    NameTaken(String),
    #[error("the name {0} looks too much like {1}, who already has an account")]
    LooksLike(String, String),
    #[error("there is no user {0}")]
    NoSuchUser(String),
    #[error("bcrypt cost must be 4 to 31")]
    Cost,
    #[error("could not hash the password: {0}")]
    Hash(String),
    #[error(transparent)]
    Store(StoreError),
    #[error("--minutes must be at least 1")]
    ZeroMinutes,
    #[error("the running server refused: {0}")]
    Refused(String),
    #[error("cannot talk to the server running on this database: {0}")]
    Socket(std::io::Error),
}

impl AdminError {
    fn from_store(e: StoreError, name: &str) -> Self {
        match e {
            StoreError::NameTaken => AdminError::NameTaken(name.to_owned()),
            StoreError::LooksLike(existing) => AdminError::LooksLike(name.to_owned(), existing),
            StoreError::NoSuchAccount => AdminError::NoSuchUser(name.to_owned()),
            other => AdminError::Store(other),
        }
    }
}

/// Account administration on one database.
pub struct Admin {
    store: Box<dyn Store>,
    db: DbLocation,
}

impl Admin {
    /// Opens the database (an SQLite path or a [`DbLocation`]). With
    /// PostgreSQL this blocks: call it off the async threads.
    pub fn open(db: impl Into<DbLocation>) -> Result<Admin, AdminError> {
        let db = db.into();
        Ok(Admin {
            store: store::open(&db).map_err(AdminError::Store)?,
            db,
        })
    }

    /// The database this works on.
    pub fn location(&self) -> &DbLocation {
        &self.db
    }

    /// Runs a change in one transaction, marked as made from outside a
    /// server so that one running on the database notices it.
    fn change<T>(
        &self,
        f: impl FnOnce(&dyn Store) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let store = self.store.as_ref();
        store.begin()?;
        let done = f(store).and_then(|v| {
            store.note_outside_change()?;
            store.commit()?;
            Ok(v)
        });
        if done.is_err() {
            store.rollback();
        }
        done
    }

    /// Creates an account; the name follows the same rules as `register`.
    pub fn add_user(
        &self,
        name: &str,
        password: &str,
        role: Role,
        cost: u32,
    ) -> Result<String, AdminError> {
        let name = UserName::parse_registrable(name)?;
        let hash = hash_password(password, cost)?;
        self.change(|s| s.create_account(name.as_str(), &hash, role, now_ms()))
            .map_err(|e| AdminError::from_store(e, name.as_str()))?;
        Ok(name.into_string())
    }

    /// Sets a new password; every session of the account ends.
    pub fn set_password(&self, name: &str, password: &str, cost: u32) -> Result<(), AdminError> {
        let key = self.existing_key(name)?;
        let hash = hash_password(password, cost)?;
        let request = AdminRequest::Passwd {
            user: name.to_owned(),
            hash: hash.clone(),
        };
        if self.through_server(&request)?.is_some() {
            return Ok(());
        }
        self.change(|s| s.set_password_hash(&key, &hash))
            .map_err(|e| AdminError::from_store(e, name))
    }

    /// Gives an account a role; its sessions are told at once.
    pub fn set_role(&self, name: &str, role: Role) -> Result<(), AdminError> {
        let key = self.existing_key(name)?;
        let request = AdminRequest::Role {
            user: name.to_owned(),
            role,
        };
        if self.through_server(&request)?.is_some() {
            return Ok(());
        }
        self.change(|s| {
            s.set_role(&key, role)?;
            record(s, name, "set_role", role.as_str())
        })
        .map_err(|e| AdminError::from_store(e, name))
    }

    /// Bans for `minutes`, or for good with `None`; every session of the
    /// account ends at once. Returns when the ban ends.
    pub fn ban(&self, name: &str, minutes: Option<u64>) -> Result<Option<i64>, AdminError> {
        let key = self.existing_key(name)?;
        if minutes == Some(0) {
            return Err(AdminError::ZeroMinutes);
        }
        let request = AdminRequest::Ban {
            user: name.to_owned(),
            minutes,
        };
        if let Some(reply) = self.through_server(&request)? {
            return Ok(reply.until);
        }
        let until_ms = minutes.map(|m| {
            now_ms().saturating_add(i64::try_from(m).unwrap_or(i64::MAX).saturating_mul(60_000))
        });
        let detail = match until_ms {
            Some(t) => format!("until {} UTC", format_utc(t)),
            None => "for good".to_owned(),
        };
        self.change(|s| {
            s.set_ban(&key, Some(Ban { until_ms }))?;
            record(s, name, "ban", &detail)
        })
        .map_err(|e| AdminError::from_store(e, name))?;
        Ok(until_ms)
    }

    /// Lifts a ban (and a running server's login lockout of the account).
    pub fn unban(&self, name: &str) -> Result<(), AdminError> {
        let key = self.existing_key(name)?;
        let request = AdminRequest::Unban {
            user: name.to_owned(),
        };
        if self.through_server(&request)?.is_some() {
            return Ok(());
        }
        self.change(|s| {
            s.set_ban(&key, None)?;
            record(s, name, "unban", "")
        })
        .map_err(|e| AdminError::from_store(e, name))
    }

    /// Lifts a login lockout. Lockouts live in a running server's memory;
    /// with no server running there is none. Whether a server was told
    /// (never with PostgreSQL, which has no admin socket).
    pub fn unlock(&self, name: &str) -> Result<bool, AdminError> {
        self.existing_key(name)?;
        let request = AdminRequest::Unlock {
            user: name.to_owned(),
        };
        Ok(self.through_server(&request)?.is_some())
    }

    /// The audit log, newest first: at most `limit` entries, as a table.
    pub fn audit(&self, limit: u32) -> Result<String, AdminError> {
        let (entries, more) = self
            .store
            .audit_page(None, limit.max(1))
            .map_err(AdminError::Store)?;
        let mut out = format!(
            "{:>6}  {:<16}  {:<16}  {:<14}  {:<33}  {}\n",
            "SEQ", "TIME (UTC)", "ACTOR", "ACTION", "TARGET", "DETAIL"
        );
        for e in &entries {
            let _ = writeln!(
                out,
                "{:>6}  {:<16}  {:<16}  {:<14}  {:<33}  {}",
                e.seq,
                format_utc(e.ts),
                e.actor.as_deref().unwrap_or("(command line)"),
                e.action,
                e.target.as_deref().unwrap_or("-"),
                e.detail
            );
        }
        if more {
            let _ = writeln!(out, "(older entries not shown; use --limit)");
        }
        Ok(out)
    }

    /// Sends `request` to the server running on this database, if there
    /// is one: `Ok(None)` when there is none (do it on the database).
    fn through_server(&self, request: &AdminRequest) -> Result<Option<AdminReply>, AdminError> {
        let Some(path) = self.db.sqlite_path() else {
            return Ok(None);
        };
        match admin_socket::ask(path, request) {
            Ok(Some(reply)) if reply.ok => Ok(Some(reply)),
            Ok(Some(reply)) => Err(AdminError::Refused(reply.message)),
            Ok(None) => Ok(None),
            Err(e) => Err(AdminError::Socket(e)),
        }
    }

    /// A table of every account: name, role, created, ban, last login.
    pub fn list(&self) -> Result<String, AdminError> {
        let accounts = self.store.accounts().map_err(AdminError::Store)?;
        let mut out = format!(
            "{:<32}  {:<5}  {:<16}  {:<16}  {}\n",
            "NAME", "ROLE", "CREATED (UTC)", "LAST LOGIN (UTC)", "BANNED"
        );
        for a in &accounts {
            let last = self
                .store
                .last_login(a.id)
                .map_err(AdminError::Store)?
                .map_or_else(|| "never".to_owned(), format_utc);
            let banned = match a.ban {
                None => "no".to_owned(),
                Some(Ban { until_ms: None }) => "permanently".to_owned(),
                Some(Ban { until_ms: Some(t) }) if t <= now_ms() => "no (expired)".to_owned(),
                Some(Ban { until_ms: Some(t) }) => format!("until {}", format_utc(t)),
            };
            let _ = writeln!(
                out,
                "{:<32}  {:<5}  {:<16}  {:<16}  {}",
                a.name,
                a.role.as_str(),
                format_utc(a.created_ms),
                last,
                banned
            );
        }
        let _ = writeln!(out, "{} account(s)", accounts.len());
        Ok(out)
    }

    fn existing_key(&self, name: &str) -> Result<NameKey, AdminError> {
        let parsed = UserName::parse(name).map_err(|_| AdminError::NoSuchUser(name.to_owned()))?;
        let key = parsed.key();
        match self.store.account_by_key(&key).map_err(AdminError::Store)? {
            Some(_) => Ok(key),
            None => Err(AdminError::NoSuchUser(name.to_owned())),
        }
    }
}

/// Audits a change made on the database directly (actor: the command
/// line, recorded as nobody).
fn record(store: &dyn Store, name: &str, action: &str, detail: &str) -> Result<(), StoreError> {
    let account = store.account_by_key(&NameKey::of(name))?;
    let (target, target_account) = match &account {
        Some(a) => (a.name.as_str(), Some(a.id)),
        None => (name, None),
    };
    store
        .record_audit(
            &NewAudit {
                actor: None,
                action,
                target: Some(target),
                target_account,
                detail,
            },
            now_ms(),
        )
        .map(|_| ())
}

fn hash_password(password: &str, cost: u32) -> Result<String, AdminError> {
    validate_password(password)?;
    if !(4..=31).contains(&cost) {
        return Err(AdminError::Cost);
    }
    bcrypt::hash(password, cost).map_err(|e| AdminError::Hash(e.to_string()))
}

/// `YYYY-MM-DD HH:MM` in UTC, without a date crate: days-to-civil from
/// Howard Hinnant's algorithm.
pub fn format_utc(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc_dates() {
        assert_eq!(format_utc(0), "1970-01-01 00:00");
        assert_eq!(format_utc(1_763_766_000_123), "2025-11-21 23:00");
        assert_eq!(format_utc(951_782_400_000), "2000-02-29 00:00");
    }

    #[test]
    fn manages_accounts() {
        let dir = tempfile::tempdir().unwrap();
        let admin = Admin::open(dir.path().join("t.db")).unwrap();
        assert_eq!(
            admin
                .add_user("Alice", "correct horse", Role::Admin, 4)
                .unwrap(),
            "Alice"
        );
        assert!(matches!(
            admin.add_user("alice", "correct horse", Role::User, 4),
            Err(AdminError::NameTaken(_))
        ));
        assert!(matches!(
            admin.add_user("root", "correct horse", Role::User, 4),
            Err(AdminError::Name(_))
        ));
        assert!(matches!(
            admin.add_user("bob", "short", Role::User, 4),
            Err(AdminError::Password(_))
        ));
        assert!(matches!(
            admin.set_role("nobody", Role::User),
            Err(AdminError::NoSuchUser(_))
        ));
        admin.ban("ALICE", None).unwrap();
        let list = admin.list().unwrap();
        assert!(
            list.contains("Alice") && list.contains("admin") && list.contains("permanently"),
            "{list}"
        );
        admin.unban("alice").unwrap();
        assert!(!admin.list().unwrap().contains("permanently"));
    }
}

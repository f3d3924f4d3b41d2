//! Account administration straight on the database, for
//! `tchat-server user …`: no running server or client needed.

use std::fmt::Write as _;
use std::path::Path;

use super::store::{Ban, SqliteStore, Store, StoreError};
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

/// Account administration on one database file.
pub struct Admin {
    store: SqliteStore,
}

impl Admin {
    pub fn open(db: &Path) -> Result<Admin, AdminError> {
        Ok(Admin {
            store: SqliteStore::open(db).map_err(AdminError::Store)?,
        })
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
        self.store
            .create_account(name.as_str(), &hash, role, now_ms())
            .map_err(|e| AdminError::from_store(e, name.as_str()))?;
        Ok(name.into_string())
    }

    /// Sets a new password; a running server ends the account's sessions
    /// within a second.
    pub fn set_password(&self, name: &str, password: &str, cost: u32) -> Result<(), AdminError> {
        let key = self.existing_key(name)?;
        let hash = hash_password(password, cost)?;
        self.store
            .set_password_hash(&key, &hash)
            .map_err(|e| AdminError::from_store(e, name))
    }

    pub fn set_role(&self, name: &str, role: Role) -> Result<(), AdminError> {
        let key = self.existing_key(name)?;
        self.store
            .set_role(&key, role)
            .map_err(|e| AdminError::from_store(e, name))
    }

    /// Bans for `minutes`, or for good with `None`. A server running on
    /// this database ends the account's sessions within a second (it looks
    /// for changes made outside it every second).
    pub fn ban(&self, name: &str, minutes: Option<u64>) -> Result<Option<i64>, AdminError> {
        let key = self.existing_key(name)?;
        let until_ms = minutes.map(|m| now_ms().saturating_add((m as i64).saturating_mul(60_000)));
        self.store
            .set_ban(&key, Some(Ban { until_ms }))
            .map_err(|e| AdminError::from_store(e, name))?;
        Ok(until_ms)
    }

    pub fn unban(&self, name: &str) -> Result<(), AdminError> {
        let key = self.existing_key(name)?;
        self.store
            .set_ban(&key, None)
            .map_err(|e| AdminError::from_store(e, name))
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
        let admin = Admin::open(&dir.path().join("t.db")).unwrap();
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

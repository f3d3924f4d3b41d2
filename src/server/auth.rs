//! Password hashing off the reactor, and the login lockout.
//!
//! bcrypt is deliberately slow, so it runs on tokio's blocking pool behind a
//! semaphore sized to the cores: a login storm queues for CPU instead of
//! stalling message delivery. Unknown users are verified against a dummy hash
//! of the same cost, so a failed login takes as long whether or not the
//! account exists.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

use crate::protocol::{
    LOCKOUT_ACCOUNT_FAILURES, LOCKOUT_DURATION, LOCKOUT_IP_FAILURES, LOCKOUT_WINDOW,
};

/// Hashes and verifies passwords on the blocking pool.
pub struct PasswordHasher {
    cost: u32,
    dummy_hash: String,
    permits: Semaphore,
}

/// Why hashing failed (only an invalid cost or a panicked worker).
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

impl PasswordHasher {
    /// Builds the hasher; computing the dummy hash takes one bcrypt round.
    pub async fn new(cost: u32) -> Result<Arc<Self>, HashError> {
        let dummy_hash = tokio::task::spawn_blocking(move || {
            bcrypt::hash("tchat dummy password for unknown users", cost)
        })
        .await
        .map_err(|e| HashError(e.to_string()))?
        .map_err(|e| HashError(e.to_string()))?;
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Ok(Arc::new(PasswordHasher {
            cost,
            dummy_hash,
            permits: Semaphore::new(cores),
        }))
    }

    /// A new bcrypt hash of `password`.
    pub async fn hash(&self, password: String) -> Result<String, HashError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| HashError(e.to_string()))?;
        let cost = self.cost;
        tokio::task::spawn_blocking(move || {
            yield_cpu_to_delivery();
            bcrypt::hash(password, cost)
        })
        .await
        .map_err(|e| HashError(e.to_string()))?
        .map_err(|e| HashError(e.to_string()))
    }

    /// Whether `password` matches `hash`; with `None` (no such account) it
    /// checks the dummy hash and answers false, taking the same time.
    pub async fn verify(&self, password: String, hash: Option<String>) -> bool {
        let Ok(_permit) = self.permits.acquire().await else {
            return false;
        };
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| self.dummy_hash.clone());
        let matched = tokio::task::spawn_blocking(move || {
            yield_cpu_to_delivery();
            bcrypt::verify(password, &hash).unwrap_or(false)
        })
        .await
        .unwrap_or(false);
        known && matched
    }
}

/// Lowers the scheduling priority of the current (blocking-pool) thread, so
/// that when logins and message delivery compete for the cores, delivery
/// wins and a login storm does not stall a busy room; logins still use every
/// idle cycle. In this server the blocking pool runs only hashing and
/// start-up work, and delivery runs on the reactor and hub threads, so the
/// lowered priority never reaches delivery.
fn yield_cpu_to_delivery() {
    thread_local! {
        static LOWERED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }
    LOWERED.with(|done| {
        if !done.get() {
            // SAFETY: setpriority on the calling thread's own id; no memory
            // is passed. A failure only leaves the priority as it was.
            unsafe {
                let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
                libc::setpriority(libc::PRIO_PROCESS, tid, 10);
            }
            done.set(true);
        }
    });
}

/// Failed attempts for one key inside the window, and a lockout if one runs.
#[derive(Debug, Default)]
struct Attempts {
    failures: VecDeque<Instant>,
    locked_until: Option<Instant>,
}

#[derive(Debug)]
struct Tracker<K> {
    limit: usize,
    entries: HashMap<K, Attempts>,
}

impl<K: Hash + Eq + Clone> Tracker<K> {
    fn new(limit: usize) -> Self {
        Tracker {
            limit,
            entries: HashMap::new(),
        }
    }

    fn locked_for(&self, key: &K, now: Instant) -> Option<Duration> {
        let until = self.entries.get(key)?.locked_until?;
        (until > now).then(|| until - now)
    }

    fn fail(&mut self, key: &K, now: Instant) {
        if self.entries.len() > 100_000 {
            self.prune(now);
        }
        let entry = self.entries.entry(key.clone()).or_default();
        while entry
            .failures
            .front()
            .is_some_and(|t| now.duration_since(*t) > LOCKOUT_WINDOW)
        {
            entry.failures.pop_front();
        }
        entry.failures.push_back(now);
        if entry.failures.len() >= self.limit {
            entry.failures.clear();
            entry.locked_until = Some(now + LOCKOUT_DURATION);
        }
    }

    fn clear(&mut self, key: &K) {
        self.entries.remove(key);
    }

    /// Forgets what can no longer matter, so guessing many names cannot
    /// grow memory without bound.
    fn prune(&mut self, now: Instant) {
        self.entries.retain(|_, a| {
            a.locked_until.is_some_and(|t| t > now)
                || a.failures
                    .back()
                    .is_some_and(|t| now.duration_since(*t) <= LOCKOUT_WINDOW)
        });
    }
}

/// Counts failed logins per account name and per address; after too many
/// in the window, further attempts are refused without a password check.
#[derive(Debug)]
pub struct Lockout {
    accounts: Tracker<String>,
    addresses: Tracker<IpAddr>,
}

impl Default for Lockout {
    fn default() -> Self {
        Lockout {
            accounts: Tracker::new(LOCKOUT_ACCOUNT_FAILURES),
            addresses: Tracker::new(LOCKOUT_IP_FAILURES),
        }
    }
}

impl Lockout {
    /// How long until `account_key` from `ip` may try again, if locked.
    /// Names that have no account are tracked the same way, so a lockout
    /// reveals nothing about which accounts exist.
    pub fn locked_for(&self, account_key: &str, ip: IpAddr, now: Instant) -> Option<Duration> {
        let a = self.accounts.locked_for(&account_key.to_owned(), now);
        let b = self.addresses.locked_for(&ip, now);
        a.max(b)
    }

    pub fn record_failure(&mut self, account_key: &str, ip: IpAddr, now: Instant) {
        self.accounts.fail(&account_key.to_owned(), now);
        self.addresses.fail(&ip, now);
    }

    /// A successful login clears the account's count (not the address's:
    /// one good password must not reset a spray across many accounts).
    pub fn record_success(&mut self, account_key: &str) {
        self.accounts.clear(&account_key.to_owned());
    }
}

/// Registrations per address per hour.
#[derive(Debug)]
pub struct RegistrationLimit {
    per_hour: usize,
    include_loopback: bool,
    recent: HashMap<IpAddr, VecDeque<Instant>>,
}

const HOUR: Duration = Duration::from_secs(3600);

impl RegistrationLimit {
    /// `per_hour` 0 means no limit.
    pub fn new(per_hour: u32, include_loopback: bool) -> Self {
        RegistrationLimit {
            per_hour: per_hour as usize,
            include_loopback,
            recent: HashMap::new(),
        }
    }

    /// How long `ip` must wait before it may register again, if at all.
    pub fn wait_for(&mut self, ip: IpAddr, now: Instant) -> Option<Duration> {
        if self.per_hour == 0 || (ip.is_loopback() && !self.include_loopback) {
            return None;
        }
        let times = self.recent.get_mut(&ip)?;
        while times
            .front()
            .is_some_and(|t| now.duration_since(*t) >= HOUR)
        {
            times.pop_front();
        }
        if times.len() < self.per_hour {
            return None;
        }
        times
            .front()
            .map(|first| HOUR.saturating_sub(now.duration_since(*first)))
    }

    pub fn record(&mut self, ip: IpAddr, now: Instant) {
        if self.per_hour == 0 || (ip.is_loopback() && !self.include_loopback) {
            return;
        }
        if self.recent.len() > 100_000 {
            self.recent
                .retain(|_, t| t.back().is_some_and(|t| now.duration_since(*t) < HOUR));
        }
        self.recent.entry(ip).or_default().push_back(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_failures_lock_an_account_for_five_minutes() {
        let mut l = Lockout::default();
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let t0 = Instant::now();
        for i in 0..4 {
            l.record_failure("bob", ip, t0 + Duration::from_secs(i));
            assert!(l
                .locked_for("bob", ip, t0 + Duration::from_secs(i))
                .is_none());
        }
        l.record_failure("bob", ip, t0 + Duration::from_secs(5));
        let left = l
            .locked_for("bob", ip, t0 + Duration::from_secs(5))
            .unwrap();
        assert_eq!(left, LOCKOUT_DURATION);
        assert!(l.locked_for("carol", ip, t0).is_none());
        assert!(l
            .locked_for("bob", ip, t0 + Duration::from_secs(306))
            .is_none());
    }

    #[test]
    fn failures_outside_the_window_do_not_count() {
        let mut l = Lockout::default();
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let t0 = Instant::now();
        for i in 0..4 {
            l.record_failure("bob", ip, t0 + Duration::from_secs(i));
        }
        let later = t0 + LOCKOUT_WINDOW + Duration::from_secs(10);
        l.record_failure("bob", ip, later);
        assert!(l.locked_for("bob", ip, later).is_none());
    }

    #[test]
    fn twenty_failures_lock_an_address() {
        let mut l = Lockout::default();
        let ip: IpAddr = "10.0.0.2".parse().unwrap();
        let t0 = Instant::now();
        for i in 0..20 {
            l.record_failure(&format!("user{i}"), ip, t0);
        }
        assert!(l.locked_for("someone-new", ip, t0).is_some());
        assert!(l
            .locked_for("someone-new", "10.0.0.3".parse().unwrap(), t0)
            .is_none());
    }

    #[test]
    fn registrations_are_limited_per_address_per_hour() {
        let mut r = RegistrationLimit::new(10, false);
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        let t0 = Instant::now();
        for i in 0..10 {
            assert!(r.wait_for(ip, t0).is_none(), "registration {i}");
            r.record(ip, t0);
        }
        assert!(r.wait_for(ip, t0 + Duration::from_secs(60)).unwrap() > Duration::from_secs(3000));
        assert!(r.wait_for(ip, t0 + HOUR).is_none());
        let local: IpAddr = "127.0.0.1".parse().unwrap();
        for _ in 0..50 {
            r.record(local, t0);
        }
        assert!(
            r.wait_for(local, t0).is_none(),
            "loopback is exempt by default"
        );
    }

    #[tokio::test]
    async fn verify_matches_only_the_right_password() {
        let h = PasswordHasher::new(4).await.unwrap();
        let hash = h.hash("correct horse".into()).await.unwrap();
        assert!(h.verify("correct horse".into(), Some(hash.clone())).await);
        assert!(!h.verify("wrong horse".into(), Some(hash)).await);
        assert!(
            !h.verify("tchat dummy password for unknown users".into(), None)
                .await
        );
    }

    #[tokio::test]
    async fn unknown_users_are_checked_against_a_dummy_hash_of_the_same_cost() {
        let h = PasswordHasher::new(5).await.unwrap();
        assert!(h.dummy_hash.starts_with("$2b$05$"), "{}", h.dummy_hash);
        let real = h.hash("correct horse".into()).await.unwrap();
        assert_eq!(real[..7], h.dummy_hash[..7], "same algorithm and cost");
        // Even the dummy's own password does not log anyone in.
        assert!(
            !h.verify("tchat dummy password for unknown users".into(), None)
                .await
        );
    }
}

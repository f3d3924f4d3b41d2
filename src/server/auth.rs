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

use super::address_key::limit_key;

use crate::protocol::{
    LOCKOUT_ACCOUNT_FAILURES, LOCKOUT_DURATION, LOCKOUT_IP_FAILURES, LOCKOUT_WINDOW,
};

/// Hashes and verifies passwords on the blocking pool.
pub struct PasswordHasher {
    cost: u32,
    dummy_hash: String,
    /// A dummy hash at the highest cost any stored hash has, when that is
    /// above the server's: every failed check does at least one check at
    /// that cost, so that a name with no account, or an account hashed at
    /// a lower cost, answers as slowly as the slowest account — by doing
    /// the same work, which holds under any load, not by a timer.
    slowest: std::sync::OnceLock<(u32, String)>,
    permits: Semaphore,
    /// Where the hashing runs (see `hash_pool`).
    pool: super::hash_pool::HashPool,
}

/// The cost a bcrypt hash was made with (`$2b$12$…` → 12).
pub fn bcrypt_cost_of(hash: &str) -> Option<u32> {
    let mut parts = hash.split('$');
    parts.next()?;
    parts.next()?;
    parts.next()?.get(..2)?.parse().ok()
}

/// Why hashing failed (only an invalid cost or a panicked worker).
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

const DUMMY_PASSWORD: &str = "tchat dummy password for unknown users";

async fn dummy_at(cost: u32) -> Result<String, HashError> {
    tokio::task::spawn_blocking(move || bcrypt::hash(DUMMY_PASSWORD, cost))
        .await
        .map_err(|e| HashError(e.to_string()))?
        .map_err(|e| HashError(e.to_string()))
}

impl PasswordHasher {
    /// Builds the hasher; computing the dummy hash takes one bcrypt round.
    pub async fn new(cost: u32) -> Result<Arc<Self>, HashError> {
        let dummy_hash = dummy_at(cost).await?;
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Ok(Arc::new(PasswordHasher {
            cost,
            dummy_hash,
            slowest: std::sync::OnceLock::new(),
            permits: Semaphore::new(cores),
            pool: super::hash_pool::HashPool::new(cores)
                .map_err(|e| HashError(format!("cannot start the hashing threads: {e}")))?,
        }))
    }

    /// Tells the hasher which costs stored hashes have (read at start); a
    /// cost above the server's gets a dummy hash of its own (one bcrypt
    /// round at that cost, once).
    pub async fn note_stored_costs(&self, costs: &[u32]) -> Result<(), HashError> {
        let slowest = costs.iter().copied().max().unwrap_or(0).min(31);
        if slowest > self.cost && self.slowest.get().is_none() {
            let hash = dummy_at(slowest).await?;
            let _ = self.slowest.set((slowest, hash));
        }
        Ok(())
    }

    /// Whether `hash` was made at another cost than the server's.
    pub fn needs_rehash(&self, hash: &str) -> bool {
        bcrypt_cost_of(hash) != Some(self.cost)
    }

    /// A new bcrypt hash of `password`.
    pub async fn hash(&self, password: String) -> Result<String, HashError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| HashError(e.to_string()))?;
        let cost = self.cost;
        self.pool
            .run(move || bcrypt::hash(password, cost))
            .await
            .ok_or_else(|| HashError("the hashing threads are gone".into()))?
            .map_err(|e| HashError(e.to_string()))
    }

    /// Whether `password` matches `hash`; with `None` (no such account) it
    /// checks a dummy hash and answers false. A failure always includes a
    /// check at the slowest stored cost (see [`PasswordHasher::slowest`]).
    pub async fn verify(&self, password: String, hash: Option<String>) -> bool {
        let Ok(_permit) = self.permits.acquire().await else {
            return false;
        };
        let slowest = self.slowest.get().cloned();
        let dummy = self.dummy_hash.clone();
        self.pool
            .run(move || {
                let matched = match &hash {
                    Some(h) => bcrypt::verify(&password, h).unwrap_or(false),
                    None => false,
                };
                if matched {
                    return true;
                }
                // The work of a failure does not depend on the account.
                let checked_cost = hash.as_deref().and_then(bcrypt_cost_of);
                match &slowest {
                    Some((cost, slow)) if checked_cost.is_none_or(|c| c < *cost) => {
                        let _ = bcrypt::verify(&password, slow);
                    }
                    None if hash.is_none() => {
                        let _ = bcrypt::verify(&password, &dummy);
                    }
                    _ => {}
                }
                false
            })
            .await
            .unwrap_or(false)
    }
}

/// Attempts counted for one key inside the window, and a lockout if one
/// runs.
#[derive(Debug, Default)]
struct Attempts {
    /// When each counted attempt started, oldest first: failures, and
    /// attempts whose password is being checked.
    started: VecDeque<Started>,
    /// How many of those are still being checked.
    in_flight: usize,
    locked_until: Option<Instant>,
}

/// When a counted attempt started, and whether another node began it (it
/// is refunded by kind, not by time: the nodes' clocks differ).
#[derive(Debug, Clone, Copy)]
struct Started {
    at: Instant,
    elsewhere: bool,
}

/// How long an attempt refused because others are still being checked is
/// told to wait: about as long as those checks take, not a lockout (they
/// may all be good passwords, as when an office behind one address
/// reconnects at once).
const IN_FLIGHT_WAIT: Duration = Duration::from_secs(1);

/// Counts attempts per key when they *start*: an attempt is reserved before
/// its password is checked and stays counted unless it turns out to succeed.
/// So attempts sent in parallel cannot all slip past the limit while their
/// checks are in flight: at most the limit's number of checks run in a
/// window. A lockout begins when failures reach the limit.
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

    /// How long `key` must wait: a running lockout, or a moment while the
    /// attempts that fill its count are still being checked. A lock that
    /// has run out is forgotten with the attempts that caused it.
    fn wait_for(&mut self, key: &K, now: Instant) -> Option<Duration> {
        let entry = self.entries.get_mut(key)?;
        if let Some(until) = entry.locked_until {
            if until > now {
                return Some(until - now);
            }
            entry.locked_until = None;
            entry.started.clear();
        }
        while entry
            .started
            .front()
            .is_some_and(|s| now.duration_since(s.at) > LOCKOUT_WINDOW)
        {
            entry.started.pop_front();
        }
        (entry.started.len() >= self.limit && entry.in_flight > 0).then_some(IN_FLIGHT_WAIT)
    }

    /// Counts one attempt starting now (begun by another node when
    /// `elsewhere`).
    fn reserve(&mut self, key: &K, now: Instant, elsewhere: bool) {
        if self.entries.len() > 100_000 {
            self.prune(now);
        }
        let entry = self.entries.entry(key.clone()).or_default();
        entry.started.push_back(Started { at: now, elsewhere });
        entry.in_flight += 1;
    }

    /// An attempt failed: it stays counted, and when the failures fill the
    /// count a lockout begins (whether one began now).
    fn fail(&mut self, key: &K, now: Instant) -> bool {
        let limit = self.limit;
        let Some(entry) = self.entries.get_mut(key) else {
            return false;
        };
        entry.in_flight = entry.in_flight.saturating_sub(1);
        if entry.started.len() >= limit && entry.locked_until.is_none() {
            entry.locked_until = Some(now + LOCKOUT_DURATION);
            return true;
        }
        false
    }

    /// An attempt reserved at `started` (the newest one, when another node
    /// reserved it) succeeded: it no longer counts, and a lock it completed
    /// is lifted.
    fn refund(&mut self, key: &K, started: Option<Instant>) {
        let Some(entry) = self.entries.get_mut(key) else {
            return;
        };
        entry.in_flight = entry.in_flight.saturating_sub(1);
        let found = match started {
            Some(started) => entry
                .started
                .iter()
                .rposition(|s| !s.elsewhere && s.at == started),
            None => entry.started.iter().rposition(|s| s.elsewhere),
        };
        if let Some(i) = found {
            entry.started.remove(i);
        }
        if entry.started.len() < self.limit {
            entry.locked_until = None;
        }
    }

    fn clear(&mut self, key: &K) {
        self.entries.remove(key);
    }

    /// Forgets what can no longer matter, so guessing many names cannot
    /// grow memory without bound.
    fn prune(&mut self, now: Instant) {
        self.entries.retain(|_, a| {
            a.in_flight > 0
                || a.locked_until.is_some_and(|t| t > now)
                || a.started
                    .back()
                    .is_some_and(|s| now.duration_since(s.at) <= LOCKOUT_WINDOW)
        });
    }
}

/// A login attempt that was counted when it started; settle it with
/// [`Lockout::settle`] once the password has been checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptTicket {
    started: Instant,
}

/// Counts logins per account name and per address (IPv6 by /64); after too
/// many in the window, further attempts are refused without a password
/// check. Attempts count from the moment they start, so however many run
/// in parallel, at most the limit's number of password checks happen.
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
    /// Starts an attempt for `account_key` from `ip`: either a ticket (the
    /// attempt is counted) or how long until it may try again. Names that
    /// have no account are tracked the same way, so a lockout reveals
    /// nothing about which accounts exist.
    pub fn begin(
        &mut self,
        account_key: &str,
        ip: IpAddr,
        now: Instant,
    ) -> Result<AttemptTicket, Duration> {
        let address = limit_key(ip);
        let account = account_key.to_owned();
        let a = self.accounts.wait_for(&account, now);
        let b = self.addresses.wait_for(&address, now);
        if let Some(wait) = a.max(b) {
            return Err(wait);
        }
        self.accounts.reserve(&account, now, false);
        self.addresses.reserve(&address, now, false);
        Ok(AttemptTicket { started: now })
    }

    /// Ends an attempt begun with [`Lockout::begin`]. A failure stays
    /// counted. A success clears the account's count (not the address's:
    /// one good password must not reset a spray across many accounts, it
    /// only stops counting itself).
    /// Whether a lockout begins with this failure.
    pub fn settle(
        &mut self,
        account_key: &str,
        ip: IpAddr,
        ticket: AttemptTicket,
        success: bool,
    ) -> bool {
        if success {
            self.accounts.clear(&account_key.to_owned());
            self.addresses.refund(&limit_key(ip), Some(ticket.started));
            return false;
        }
        let now = Instant::now().max(ticket.started);
        let account = self.accounts.fail(&account_key.to_owned(), now);
        let address = self.addresses.fail(&limit_key(ip), now);
        account || address
    }
}

impl Lockout {
    /// Counts an attempt that another node began (it checked the limits).
    pub fn count_begun_elsewhere(&mut self, account_key: &str, ip: IpAddr, now: Instant) {
        self.accounts.reserve(&account_key.to_owned(), now, true);
        self.addresses.reserve(&limit_key(ip), now, true);
    }

    /// Settles an attempt that another node began and checked.
    pub fn count_settled_elsewhere(&mut self, account_key: &str, ip: IpAddr, success: bool) {
        if success {
            self.accounts.clear(&account_key.to_owned());
            self.addresses.refund(&limit_key(ip), None);
            return;
        }
        let now = Instant::now();
        self.accounts.fail(&account_key.to_owned(), now);
        self.addresses.fail(&limit_key(ip), now);
    }

    /// Forgets an account's attempts and lock (an operator unlocking it, or
    /// lifting a ban).
    pub fn unlock(&mut self, account_key: &str) {
        self.accounts.clear(&account_key.to_owned());
    }
}

/// Registrations per address (IPv6 by /64) per hour, counted when they
/// start, so parallel registrations cannot overshoot the limit.
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

    /// Counts a registration attempt from `ip` starting now, or says how
    /// long `ip` must wait. An attempt counts whether or not it ends with
    /// an account (a taken name included): each one costs a password hash.
    /// Counts a registration that another node let begin.
    pub fn count_begun_elsewhere(&mut self, ip: IpAddr, now: Instant) {
        let ip = limit_key(ip);
        if self.per_hour == 0 || (ip.is_loopback() && !self.include_loopback) {
            return;
        }
        self.recent.entry(ip).or_default().push_back(now);
    }

    pub fn begin(&mut self, ip: IpAddr, now: Instant) -> Result<(), Duration> {
        let ip = limit_key(ip);
        if self.per_hour == 0 || (ip.is_loopback() && !self.include_loopback) {
            return Ok(());
        }
        if self.recent.len() > 100_000 {
            self.recent
                .retain(|_, t| t.back().is_some_and(|t| now.duration_since(*t) < HOUR));
        }
        let times = self.recent.entry(ip).or_default();
        while times
            .front()
            .is_some_and(|t| now.duration_since(*t) >= HOUR)
        {
            times.pop_front();
        }
        if times.len() >= self.per_hour {
            let first = times.front().copied().unwrap_or(now);
            return Err(HOUR.saturating_sub(now.duration_since(first)));
        }
        times.push_back(now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fail(l: &mut Lockout, key: &str, ip: IpAddr, at: Instant) {
        let ticket = l.begin(key, ip, at).expect("not locked");
        l.settle(key, ip, ticket, false);
    }

    #[test]
    fn five_failures_lock_an_account_for_five_minutes() {
        let mut l = Lockout::default();
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let t0 = Instant::now();
        for i in 0..4 {
            fail(&mut l, "bob", ip, t0 + Duration::from_secs(i));
        }
        fail(&mut l, "bob", ip, t0 + Duration::from_secs(5));
        let left = l.begin("bob", ip, t0 + Duration::from_secs(5)).unwrap_err();
        assert_eq!(left, LOCKOUT_DURATION);
        assert!(l.begin("carol", ip, t0).is_ok());
        assert!(l.begin("bob", ip, t0 + Duration::from_secs(306)).is_ok());
    }

    #[test]
    fn failures_outside_the_window_do_not_count() {
        let mut l = Lockout::default();
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let t0 = Instant::now();
        for i in 0..4 {
            fail(&mut l, "bob", ip, t0 + Duration::from_secs(i));
        }
        let later = t0 + LOCKOUT_WINDOW + Duration::from_secs(10);
        fail(&mut l, "bob", ip, later);
        assert!(l.begin("bob", ip, later).is_ok());
    }

    #[test]
    fn twenty_failures_lock_an_address() {
        let mut l = Lockout::default();
        let ip: IpAddr = "10.0.0.2".parse().unwrap();
        let t0 = Instant::now();
        for i in 0..20 {
            fail(&mut l, &format!("user{i}"), ip, t0);
        }
        assert!(l.begin("someone-new", ip, t0).is_err());
        assert!(l
            .begin("someone-new", "10.0.0.3".parse().unwrap(), t0)
            .is_ok());
    }

    #[test]
    fn attempts_in_flight_count_before_their_password_is_checked() {
        let mut l = Lockout::default();
        let ip: IpAddr = "10.0.0.4".parse().unwrap();
        let t0 = Instant::now();
        // Thirty guesses arrive at once: only five may start a check.
        let tickets: Vec<_> = (0..30)
            .filter_map(|_| l.begin("bob", ip, t0).ok())
            .collect();
        assert_eq!(tickets.len(), LOCKOUT_ACCOUNT_FAILURES);
        // One of those five was the right password: the account is free
        // again, and its own attempt no longer counts for the address.
        l.settle("bob", ip, tickets[0], true);
        assert!(l.begin("bob", ip, t0).is_ok());
    }

    #[test]
    fn attempts_refused_while_others_are_checked_wait_a_moment_not_a_lockout() {
        let mut l = Lockout::default();
        let ip: IpAddr = "10.0.0.6".parse().unwrap();
        let t0 = Instant::now();
        // Twenty people behind one address log in at once.
        let tickets: Vec<_> = (0..20)
            .map(|i| l.begin(&format!("user{i}"), ip, t0).unwrap())
            .collect();
        let wait = l.begin("user20", ip, t0).unwrap_err();
        assert_eq!(wait, IN_FLIGHT_WAIT, "a moment, not five minutes");
        for (i, t) in tickets.into_iter().enumerate() {
            l.settle(&format!("user{i}"), ip, t, true);
        }
        assert!(l.begin("user20", ip, t0).is_ok());
    }

    #[test]
    fn a_success_refunds_its_attempt_on_the_address() {
        let mut l = Lockout::default();
        let ip: IpAddr = "10.0.0.5".parse().unwrap();
        let t0 = Instant::now();
        for i in 0..19 {
            fail(&mut l, &format!("user{i}"), ip, t0);
        }
        // The twentieth attempt is in flight: the address is full...
        let ticket = l.begin("alice", ip, t0).unwrap();
        assert!(l.begin("carol", ip, t0).is_err());
        // ...until it turns out to be a good login.
        l.settle("alice", ip, ticket, true);
        assert!(l.begin("carol", ip, t0).is_ok());
    }

    #[test]
    fn good_logins_on_two_nodes_leave_nothing_counted() {
        // Another node's attempt is counted here, then this node's: the
        // other's success must refund its own attempt, not this one's.
        let mut l = Lockout::default();
        let ip: IpAddr = "10.0.0.6".parse().unwrap();
        let t0 = Instant::now();
        for round in 0..30 {
            l.count_begun_elsewhere(&format!("far{round}"), ip, t0);
            let ticket = l.begin(&format!("near{round}"), ip, t0).unwrap();
            l.count_settled_elsewhere(&format!("far{round}"), ip, true);
            l.settle(&format!("near{round}"), ip, ticket, true);
        }
        let address = l.addresses.entries.get(&limit_key(ip));
        assert_eq!(address.map_or(0, |a| a.started.len()), 0);
        assert_eq!(address.map_or(0, |a| a.in_flight), 0);
    }

    #[test]
    fn ipv6_addresses_in_one_64_share_the_address_count() {
        let mut l = Lockout::default();
        let t0 = Instant::now();
        for i in 0..20u16 {
            let ip: IpAddr = format!("2001:db8:1:2::{:x}", i + 1).parse().unwrap();
            fail(&mut l, &format!("user{i}"), ip, t0);
        }
        let same_64: IpAddr = "2001:db8:1:2:ffff::1".parse().unwrap();
        let other_64: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert!(l.begin("someone-new", same_64, t0).is_err());
        assert!(l.begin("someone-new", other_64, t0).is_ok());
    }

    #[test]
    fn registrations_are_limited_per_address_per_hour() {
        let mut r = RegistrationLimit::new(10, false);
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        let t0 = Instant::now();
        for i in 0..10 {
            assert!(r.begin(ip, t0).is_ok(), "registration {i}");
        }
        assert!(r.begin(ip, t0 + Duration::from_secs(60)).unwrap_err() > Duration::from_secs(3000));
        assert!(r.begin(ip, t0 + HOUR).is_ok());
        let local: IpAddr = "127.0.0.1".parse().unwrap();
        for _ in 0..50 {
            assert!(r.begin(local, t0).is_ok(), "loopback is exempt by default");
        }
        let mut v6 = RegistrationLimit::new(2, false);
        assert!(v6.begin("2001:db8::1".parse().unwrap(), t0).is_ok());
        assert!(v6.begin("2001:db8::2".parse().unwrap(), t0).is_ok());
        assert!(
            v6.begin("2001:db8::3".parse().unwrap(), t0).is_err(),
            "one /64 is one address"
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

//! Several server nodes on one PostgreSQL database.
//!
//! Every round of every node runs in a transaction that first takes one
//! row lock (`cluster_state`), so rounds are serialised across the whole
//! cluster: msg_ids are handed out densely and in commit order, and a node
//! that holds the lock knows it has seen everything committed before.
//! A round that did something other nodes must do or know (deliver a
//! frame, change who is online, count a login attempt) appends its
//! [`Ev`]ents to the round log in the same transaction. Before handling
//! anything, a round applies every logged round it has not applied yet, so
//! each node's in-memory state follows the database's order exactly.
//!
//! The bus (NATS) only rings a doorbell with the newest sequence number, so
//! that other nodes catch up at once rather than at their next tick. Core
//! NATS may drop a message or be restarted: nothing is lost, because what
//! to deliver is read from the log, in order, by sequence number, and every
//! node looks at the log at least once a second anyway.

pub mod bus;
mod event;

use std::collections::HashMap;

pub use event::{decode, encode, line, raw, Ev};

use crate::protocol::UserName;
use crate::server::name_order::{Change, NameOrder};
use crate::server::store::AccountId;

/// A node that has not beaten for this long is taken for dead: the users
/// who were online only there are shown offline.
pub const NODE_TIMEOUT_MS: i64 = 5_000;

/// Logged rounds are kept this long: a node that falls further behind
/// (stopped in a debugger, say) reloads its state instead of replaying.
/// Ten minutes of a busy cluster's rounds is a table of a few hundred MB
/// at most.
pub const LOG_RETENTION_MS: i64 = 600_000;

/// The most logged rounds applied at the start of one round.
pub const CATCH_UP_BATCH: usize = 4096;

/// An account online on other nodes.
#[derive(Debug, Clone)]
pub struct RemoteOnline {
    pub name: UserName,
    /// The nodes it has sessions on, and how many on each (as far as
    /// known: a node that joined later counts one until the next change).
    pub nodes: Vec<(String, usize)>,
}

impl RemoteOnline {
    /// Its sessions on other nodes.
    pub fn sessions(&self) -> usize {
        self.nodes.iter().map(|(_, n)| n).sum()
    }
}

/// This node's part in the cluster, kept by the hub.
pub struct Cluster {
    /// This node's name in the log and in the presence table: unique for
    /// each run of a server.
    pub node: String,
    /// The last logged round applied here (our own included).
    pub applied: u64,
    /// Who is online elsewhere, and where.
    remote: HashMap<AccountId, RemoteOnline>,
    /// The accounts of `remote`, by name.
    remote_by_name: NameOrder,
    /// This round's events, appended to the log before its commit.
    pub recorded: Vec<Ev>,
    /// The sequence number this round's events got, until the commit.
    pub sealed: Option<u64>,
    /// Rings the other nodes once a round is committed.
    pub bell: Option<bus::Bell>,
    /// Ticks since the log was last pruned.
    pub ticks: u64,
    /// When this node last beat successfully: a node that could not reach
    /// the database for a while does not judge the others by it.
    pub last_beat_ms: Option<i64>,
}

impl Cluster {
    pub fn new(node: String, bell: Option<bus::Bell>) -> Cluster {
        Cluster {
            node,
            applied: 0,
            remote: HashMap::new(),
            remote_by_name: NameOrder::default(),
            recorded: Vec::new(),
            sealed: None,
            bell,
            ticks: 0,
            last_beat_ms: None,
        }
    }

    /// A server on PostgreSQL without a bus is alone on its database (a
    /// second one is refused): it logs nothing for others and keeps no
    /// presence rows, and reads the log only to notice the account command
    /// line's changes.
    pub fn alone(&self) -> bool {
        self.bell.is_none()
    }

    /// A name for this run of a server: host, process and a random part, so
    /// that a restarted node is never taken for its dead predecessor.
    pub fn node_name() -> String {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .unwrap_or_else(|_| "node".into());
        let mut random = [0u8; 4];
        let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut random);
        format!(
            "{host}-{}-{:08x}",
            std::process::id(),
            u32::from_be_bytes(random)
        )
    }

    /// The log is applied up to `seq`: the bus stops ringing for it.
    pub fn set_applied(&mut self, seq: u64) {
        self.applied = seq;
        if let Some(bell) = &self.bell {
            bell.shared
                .applied
                .store(seq, std::sync::atomic::Ordering::Release);
        }
    }

    /// Where `account` is online elsewhere, if it is.
    pub fn remote(&self, account: AccountId) -> Option<&RemoteOnline> {
        self.remote.get(&account)
    }

    pub fn is_remote(&self, account: AccountId) -> bool {
        self.remote.contains_key(&account)
    }

    /// The accounts online elsewhere.
    pub fn remote_accounts(&self) -> impl Iterator<Item = AccountId> + '_ {
        self.remote.keys().copied()
    }

    /// The accounts online elsewhere, by name.
    pub fn remote_by_name(&self) -> &NameOrder {
        &self.remote_by_name
    }

    /// Where the order of who is online elsewhere changed since last asked.
    pub fn take_remote_change(&mut self) -> Change {
        self.remote_by_name.take_change()
    }

    /// Forgets who is online elsewhere (before reading it anew).
    pub fn clear_remote(&mut self) {
        self.remote.clear();
        self.remote_by_name.clear();
    }

    /// Notes that `account` is online on `node`.
    pub fn up(&mut self, node: &str, account: AccountId, name: UserName) {
        let entry = self.remote.entry(account).or_insert_with(|| {
            self.remote_by_name.insert(&name, account);
            RemoteOnline {
                name,
                nodes: Vec::new(),
            }
        });
        if !entry.nodes.iter().any(|(n, _)| n == node) {
            entry.nodes.push((node.to_owned(), 1));
        }
    }

    /// Notes how many sessions `account` has on `node` now.
    pub fn count(&mut self, node: &str, account: AccountId, sessions: usize) {
        if let Some(entry) = self.remote.get_mut(&account) {
            if let Some((_, n)) = entry.nodes.iter_mut().find(|(n, _)| n == node) {
                *n = sessions;
            }
        }
    }

    /// Notes that `account` is no longer online on `node`.
    pub fn down(&mut self, node: &str, account: AccountId) {
        if let Some(entry) = self.remote.get_mut(&account) {
            entry.nodes.retain(|(n, _)| n != node);
            if entry.nodes.is_empty() {
                self.remote_by_name.remove(&entry.name, account);
                self.remote.remove(&account);
            }
        }
    }

    /// Forgets `node`; the accounts that were online only there.
    pub fn node_down(&mut self, node: &str) -> Vec<(AccountId, UserName)> {
        let mut gone = Vec::new();
        let by_name = &mut self.remote_by_name;
        self.remote.retain(|account, entry| {
            entry.nodes.retain(|(n, _)| n != node);
            if entry.nodes.is_empty() {
                by_name.remove(&entry.name, *account);
                gone.push((*account, entry.name.clone()));
                false
            } else {
                true
            }
        });
        gone
    }
}

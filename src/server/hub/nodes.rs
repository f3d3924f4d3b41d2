//! The hub's part in a cluster of nodes (see `server::cluster`): applying
//! the rounds other nodes logged, logging this node's own, presence across
//! nodes, and noticing nodes that died.

use super::*;
use crate::server::cluster::{self, Cluster, Ev, LOG_RETENTION_MS, NODE_TIMEOUT_MS};

/// Ticks between two prunings of the round log.
const PRUNE_EVERY_TICKS: u64 = 60;

impl Hub {
    /// Takes part in the cluster: learns who is online on the other nodes
    /// and where the log stands, and announces this node.
    pub(super) fn join_cluster(&mut self, mut cluster: Cluster) -> Result<(), StoreError> {
        self.store.begin()?;
        let joined = (|| {
            let log = self.store.cluster().ok_or(StoreError::Closed)?;
            cluster.applied = log.locked_seq();
            if !cluster.alone() {
                log.heartbeat(&cluster.node, now_ms())?;
            }
            let presence = log.presence()?;
            Ok::<_, StoreError>(presence)
        })();
        let presence = match joined {
            Ok(p) => p,
            Err(e) => {
                self.store.rollback();
                return Err(e);
            }
        };
        for (node, account) in presence {
            let Some(row) = self.store.account_by_id(account)? else {
                continue;
            };
            let Ok(name) = UserName::parse(&row.name) else {
                continue;
            };
            self.statuses.set(account, row.status);
            cluster.up(&node, account, name);
        }
        self.store.commit()?;
        cluster.set_applied(cluster.applied);
        tracing::info!(node = %cluster.node, seq = cluster.applied, "joined the cluster");
        self.cluster = Some(cluster);
        Ok(())
    }

    /// Whether `account` has a session on any node.
    pub(super) fn is_online(&self, account: AccountId) -> bool {
        self.online.contains_key(&account)
            || self.cluster.as_ref().is_some_and(|c| c.is_remote(account))
    }

    /// Whether `account` has a session on another node.
    pub(super) fn is_online_elsewhere(&self, account: AccountId) -> bool {
        self.cluster.as_ref().is_some_and(|c| c.is_remote(account))
    }

    /// Notes, for the other nodes, something this round did.
    pub(super) fn record(&mut self, event: impl FnOnce() -> Ev) {
        if let Some(cluster) = self.shared() {
            cluster.recorded.push(event());
        }
    }

    /// This node's cluster, when other nodes may share its database.
    fn shared(&mut self) -> Option<&mut Cluster> {
        self.cluster.as_mut().filter(|c| !c.alone())
    }

    /// Sessions of `account` on other nodes.
    pub(super) fn sessions_elsewhere(&self, account: AccountId) -> usize {
        self.cluster
            .as_ref()
            .and_then(|c| c.remote(account))
            .map_or(0, |r| r.sessions())
    }

    /// `account` has `sessions` here now, neither its first nor its last.
    pub(super) fn note_sessions(&mut self, account: AccountId, sessions: usize) {
        if let Some(cluster) = self.shared() {
            cluster.recorded.push(Ev::Sessions {
                n: cluster.node.clone(),
                a: account,
                c: sessions,
            });
        }
    }

    /// The first session of `account` on this node logged in.
    pub(super) fn note_up(
        &mut self,
        account: AccountId,
        name: &UserName,
    ) -> Result<(), StoreError> {
        let status = self.status_of(account);
        let Some(cluster) = self.cluster.as_mut().filter(|c| !c.alone()) else {
            return Ok(());
        };
        if let Some(log) = self.store.cluster() {
            log.set_present(&cluster.node, account, true)?;
        }
        cluster.recorded.push(Ev::Up {
            n: cluster.node.clone(),
            a: account,
            name: name.to_string(),
            s: status,
        });
        Ok(())
    }

    /// The last session of `account` on this node logged out.
    pub(super) fn note_down(&mut self, account: AccountId) -> Result<(), StoreError> {
        let Some(cluster) = self.cluster.as_mut().filter(|c| !c.alone()) else {
            return Ok(());
        };
        if let Some(log) = self.store.cluster() {
            log.set_present(&cluster.node, account, false)?;
        }
        cluster.recorded.push(Ev::Down {
            n: cluster.node.clone(),
            a: account,
        });
        Ok(())
    }

    /// At the start of a round, holding the lock: applies every round other
    /// nodes committed since the last one applied here, and delivers their
    /// frames at once (they are committed, whatever becomes of this round).
    pub(super) fn catch_up(&mut self) {
        let Some(cluster) = &self.cluster else {
            return;
        };
        if let Some(bell) = &cluster.bell {
            bell.shared
                .pending
                .store(false, std::sync::atomic::Ordering::Release);
        }
        let Some(locked) = self.store.cluster().map(|log| log.locked_seq()) else {
            return;
        };
        let mut applied = cluster.applied;
        if locked <= applied {
            return;
        }
        let me = cluster.node.clone();
        let mut gap = false;
        let mut groups_changed = false;
        while applied < locked {
            let rounds = self
                .store
                .cluster()
                .map(|log| log.rounds_after(applied, cluster::CATCH_UP_BATCH));
            let rounds = match rounds {
                Some(Ok(r)) => r,
                None => return,
                Some(Err(e)) => {
                    tracing::error!(error = %e, "cannot read the round log");
                    return;
                }
            };
            if rounds.first().is_none_or(|r| r.seq > locked) {
                gap = true;
                break;
            }
            let mut events = Vec::new();
            for round in rounds {
                if round.seq > locked {
                    break;
                }
                if round.seq != applied + 1 {
                    // Pruned, or written by the account command line, which
                    // logs nothing: read everything again.
                    gap = true;
                }
                applied = round.seq;
                if round.node == me {
                    continue;
                }
                match cluster::decode(&round.events) {
                    Ok(mut e) => events.append(&mut e),
                    Err(e) => {
                        tracing::error!(error = %e, seq = round.seq, "a logged round does not decode");
                        gap = true;
                    }
                }
            }
            for event in events {
                groups_changed |= self.apply(event);
            }
        }
        tracing::trace!(from = applied, to = locked, "caught up");
        if let Some(cluster) = &mut self.cluster {
            cluster.set_applied(locked);
        }
        if gap {
            self.resync();
        } else if groups_changed {
            self.reload_groups();
        }
        self.deliver();
    }

    /// Applies one event of another node; whether it changed groups.
    fn apply(&mut self, event: Ev) -> bool {
        match event {
            Ev::All { f } => self.out.push(Effect::ToAll {
                frame: cluster::line(&f),
                except: None,
            }),
            Ev::To { a, f } => self.out.push(Effect::ToMembers {
                recipients: a.into(),
                frame: cluster::line(&f),
                seq: self.seq,
                except: None,
            }),
            Ev::End { a, f } => self.end_sessions_of(a, cluster::line(&f)),
            Ev::Up { n, a, name, s } => {
                if let Ok(name) = UserName::parse(&name) {
                    self.statuses.set(a, s);
                    self.names.insert(a, name.clone());
                    if let Some(c) = &mut self.cluster {
                        c.up(&n, a, name);
                    }
                }
            }
            Ev::Sessions { n, a, c } => {
                if let Some(cluster) = &mut self.cluster {
                    cluster.count(&n, a, c);
                }
            }
            Ev::Down { n, a } => {
                if let Some(c) = &mut self.cluster {
                    c.down(&n, a);
                }
            }
            Ev::Status { a, s } => {
                self.statuses.set(a, s);
            }
            Ev::Groups => return true,
            Ev::Account { a } => self.recheck_account(a, false),
            Ev::NodeDown { n } => {
                let me = self.cluster.as_ref().map(|c| c.node.clone());
                if me.as_deref() == Some(n.as_str()) {
                    self.rejoin();
                } else if let Some(c) = &mut self.cluster {
                    c.node_down(&n);
                }
            }
            Ev::LoginBegin { k, ip } => self.lockout.count_begun_elsewhere(&k, ip, Instant::now()),
            Ev::LoginEnd { k, ip, ok } => self.lockout.count_settled_elsewhere(&k, ip, ok),
            Ev::Unlock { k } => self.lockout.unlock(&k),
            Ev::Register { ip } => self.registrations.count_begun_elsewhere(ip, Instant::now()),
        }
        false
    }

    fn reload_groups(&mut self) {
        match groups::Groups::load(self.store.as_ref()) {
            Ok(groups) => self.groups = groups,
            Err(e) => tracing::error!(error = %e, "cannot reload the groups"),
        }
    }

    /// Reads everything other nodes may have changed again: after a gap in
    /// the log, or a change by the account command line.
    fn resync(&mut self) {
        tracing::info!("reading the cluster's state again");
        self.reload_groups();
        let presence = match self.store.cluster().map(|log| log.presence()) {
            Some(Ok(p)) => p,
            Some(Err(e)) => {
                tracing::error!(error = %e, "cannot read who is online");
                return;
            }
            None => return,
        };
        let me = match &self.cluster {
            Some(c) => c.node.clone(),
            None => return,
        };
        let mut remote: Vec<(String, AccountId, UserName)> = Vec::new();
        for (node, account) in presence {
            if node == me {
                continue;
            }
            if let Ok(name) = self.name_of(account) {
                remote.push((node, account, name));
            }
        }
        if let Some(c) = &mut self.cluster {
            c.clear_remote();
            for (node, account, name) in remote {
                c.up(&node, account, name);
            }
        }
        let accounts: Vec<AccountId> = self.online.keys().copied().collect();
        for account in accounts {
            self.recheck_account(account, true);
        }
    }

    /// Another node took this one for dead (it did not beat in time) and
    /// told everyone its users went offline: tell them they are back.
    fn rejoin(&mut self) {
        tracing::warn!("this node was taken for dead; announcing its users again");
        let accounts: Vec<(AccountId, UserName)> = self
            .online
            .iter()
            .map(|(a, e)| (*a, e.name.clone()))
            .collect();
        for (account, name) in accounts {
            if let Err(e) = self.note_up(account, &name) {
                tracing::error!(error = %e, "cannot record presence");
                continue;
            }
            let elsewhere = self.cluster.as_ref().is_some_and(|c| c.is_remote(account));
            if !elsewhere {
                let presence = ServerFrame::Presence(Presence {
                    user: name,
                    online: true,
                    status: self.status_of(account),
                });
                self.broadcast(&presence, None);
            }
        }
    }

    /// At shutdown: the other nodes forget this one now rather than when
    /// it stops beating, and hear that the users online only here are gone.
    pub(super) fn leave_cluster(&mut self) {
        let Some(cluster) = self.cluster.as_ref().filter(|c| !c.alone()) else {
            return;
        };
        let me = cluster.node.clone();
        if let Some(Err(e)) = self.store.cluster().map(|log| log.forget_node(&me)) {
            tracing::warn!(error = %e, "cannot leave the cluster cleanly");
            return;
        }
        let leaving: Vec<(AccountId, UserName)> = self
            .online
            .iter()
            .filter(|(a, _)| !self.is_online_elsewhere(**a))
            .map(|(a, e)| (*a, e.name.clone()))
            .collect();
        for (account, name) in leaving {
            let presence = ServerFrame::Presence(Presence {
                user: name,
                online: false,
                status: self.status_of(account),
            })
            .to_line();
            // For the other nodes only: this node's sessions get `shutdown`.
            self.record(|| Ev::All {
                f: cluster::raw(&presence),
            });
        }
        self.record(|| Ev::NodeDown { n: me });
    }

    /// Once a second: this node beats; nodes that stopped beating are
    /// forgotten, and whoever was online only there goes offline.
    pub(super) fn cluster_tick(&mut self) {
        let Some(cluster) = self.cluster.as_mut().filter(|c| !c.alone()) else {
            return;
        };
        cluster.ticks += 1;
        let prune = cluster.ticks.is_multiple_of(PRUNE_EVERY_TICKS);
        let me = cluster.node.clone();
        let Some(log) = self.store.cluster() else {
            return;
        };
        let now = now_ms();
        if let Err(e) = log.heartbeat(&me, now) {
            tracing::warn!(error = %e, "cannot beat");
            return;
        }
        // After the database was out of reach (restarted, say), every node
        // missed its beats: judge the others only once this one has been
        // beating again, so that they have had a tick to beat too.
        let steady = cluster
            .last_beat_ms
            .replace(now)
            .is_some_and(|t| now - t < NODE_TIMEOUT_MS / 2);
        let silent = if steady {
            log.silent_nodes(&me, now - NODE_TIMEOUT_MS)
        } else {
            Ok(Vec::new())
        };
        let silent = match silent {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "cannot look for silent nodes");
                return;
            }
        };
        if prune {
            if let Err(e) = log.prune_rounds(now - LOG_RETENTION_MS) {
                tracing::warn!(error = %e, "cannot prune the round log");
            }
        }
        for node in silent {
            let forgotten = self.store.cluster().map(|log| log.forget_node(&node));
            if let Some(Err(e)) = forgotten {
                tracing::warn!(error = %e, "cannot forget a dead node");
                continue;
            }
            tracing::warn!(%node, "a node stopped beating; its users are offline");
            let Some(cluster) = &mut self.cluster else {
                return;
            };
            let gone = cluster.node_down(&node);
            cluster.recorded.push(Ev::NodeDown { n: node });
            for (account, name) in gone {
                if self.online.contains_key(&account) {
                    continue;
                }
                let presence = ServerFrame::Presence(Presence {
                    user: name,
                    online: false,
                    status: self.status_of(account),
                });
                self.broadcast(&presence, None);
            }
        }
    }

    /// Before the commit: logs this round's events in its transaction.
    pub(super) fn seal_round(&mut self) -> Result<(), StoreError> {
        if self.groups.take_changed() {
            self.record(|| Ev::Groups);
        }
        let Some(cluster) = &mut self.cluster else {
            return Ok(());
        };
        if cluster.recorded.is_empty() {
            return Ok(());
        }
        let events = cluster::encode(&cluster.recorded);
        let log = self.store.cluster().ok_or(StoreError::Closed)?;
        cluster.sealed = Some(log.append_round(&cluster.node, &events)?);
        Ok(())
    }

    /// After the round: on success the other nodes are rung; either way
    /// the round's events are done with.
    pub(super) fn round_ended(&mut self, committed: bool) {
        let Some(cluster) = &mut self.cluster else {
            return;
        };
        cluster.recorded.clear();
        if let Some(seq) = cluster.sealed.take() {
            if committed {
                cluster.set_applied(seq);
                if let Some(bell) = &cluster.bell {
                    bell.ring(seq);
                }
            }
        }
    }
}

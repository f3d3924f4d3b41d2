//! The cluster's shared tables on PostgreSQL (see `server::cluster`): the
//! round log, the nodes' heartbeats and who is online on which node. Every
//! statement runs in the hub's transaction, which holds the
//! `cluster_state` lock, so appending a round and moving `event_seq` are
//! one atomic step ordered with every other node's rounds.

use super::super::{AccountId, ClusterLog, LoggedRound, StoreError};
use super::{db_u64, to_u64, PostgresStore};
use crate::protocol::now_ms;

impl ClusterLog for PostgresStore {
    fn cluster_id(&self) -> Result<i64, StoreError> {
        let row =
            self.run(|c| c.query_one("SELECT value FROM meta WHERE key = 'cluster_id'", &[]))?;
        Ok(row.get(0))
    }

    fn locked_seq(&self) -> u64 {
        to_u64(self.locked_event_seq().unwrap_or(0))
    }

    fn append_round(&self, node: &str, events: &str) -> Result<u64, StoreError> {
        let seq = self.locked_event_seq().ok_or(StoreError::Closed)? + 1;
        self.run(|c| {
            c.execute(
                "INSERT INTO cluster_rounds (seq, node, events, ts_ms) VALUES ($1, $2, $3, $4)",
                &[&seq, &node, &events, &now_ms()],
            )?;
            c.execute(
                "UPDATE cluster_state SET event_seq = $1 WHERE id = 1",
                &[&seq],
            )
        })?;
        self.set_locked_event_seq(seq);
        Ok(to_u64(seq))
    }

    fn rounds_after(&self, seq: u64, limit: usize) -> Result<Vec<LoggedRound>, StoreError> {
        let rows = self.run(|c| {
            c.query(
                "SELECT seq, node, events FROM cluster_rounds WHERE seq > $1 ORDER BY seq LIMIT $2",
                &[&db_u64(seq), &(limit.min(i64::MAX as usize) as i64)],
            )
        })?;
        Ok(rows
            .iter()
            .map(|r| LoggedRound {
                seq: to_u64(r.get(0)),
                node: r.get(1),
                events: r.get(2),
            })
            .collect())
    }

    fn prune_rounds(&self, before_ms: i64) -> Result<(), StoreError> {
        self.run(|c| c.execute("DELETE FROM cluster_rounds WHERE ts_ms < $1", &[&before_ms]))?;
        Ok(())
    }

    fn heartbeat(&self, node: &str, now_ms: i64) -> Result<(), StoreError> {
        self.run(|c| {
            c.execute(
                "INSERT INTO cluster_nodes (node, seen_ms) VALUES ($1, $2)
                 ON CONFLICT (node) DO UPDATE SET seen_ms = EXCLUDED.seen_ms",
                &[&node, &now_ms],
            )
        })?;
        Ok(())
    }

    fn silent_nodes(&self, me: &str, before_ms: i64) -> Result<Vec<String>, StoreError> {
        let rows = self.run(|c| {
            c.query(
                "SELECT node FROM cluster_nodes WHERE seen_ms < $1 AND node <> $2
                 UNION
                 SELECT DISTINCT p.node FROM cluster_presence p
                 WHERE NOT EXISTS (SELECT 1 FROM cluster_nodes n WHERE n.node = p.node)
                   AND p.node <> $2",
                &[&before_ms, &me],
            )
        })?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    fn forget_node(&self, node: &str) -> Result<(), StoreError> {
        self.run(|c| {
            c.execute("DELETE FROM cluster_presence WHERE node = $1", &[&node])?;
            c.execute("DELETE FROM cluster_nodes WHERE node = $1", &[&node])
        })?;
        Ok(())
    }

    fn set_present(&self, node: &str, account: AccountId, present: bool) -> Result<(), StoreError> {
        self.run(|c| {
            if present {
                c.execute(
                    "INSERT INTO cluster_presence (node, account) VALUES ($1, $2)
                     ON CONFLICT DO NOTHING",
                    &[&node, &account],
                )
            } else {
                c.execute(
                    "DELETE FROM cluster_presence WHERE node = $1 AND account = $2",
                    &[&node, &account],
                )
            }
        })?;
        Ok(())
    }

    fn presence(&self) -> Result<Vec<(String, AccountId)>, StoreError> {
        let rows = self.run(|c| c.query("SELECT node, account FROM cluster_presence", &[]))?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }
}

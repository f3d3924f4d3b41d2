//! The status each user last set, noting whose changed so that the cached
//! online list (`welcome`, `who`) is made again only when it shows one.

use std::collections::HashMap;

use crate::protocol::Status;
use crate::server::store::AccountId;

/// Past this many changes between two listings, they are not told apart.
const MAX_NOTED: usize = 1024;

#[derive(Default)]
pub(super) struct Statuses {
    map: HashMap<AccountId, Status>,
    changed: Vec<AccountId>,
    too_many: bool,
}

impl Statuses {
    /// An account's status; one never set is available.
    pub fn get(&self, account: AccountId) -> Status {
        self.map.get(&account).copied().unwrap_or_default()
    }

    /// Sets a status; what was set before, if anything.
    pub fn set(&mut self, account: AccountId, status: Status) -> Option<Status> {
        let before = self.map.insert(account, status);
        if before.unwrap_or_default() != status {
            self.note(account);
        }
        before
    }

    /// Sets a status unless one is known already.
    pub fn set_if_unknown(&mut self, account: AccountId, status: Status) {
        if !self.map.contains_key(&account) {
            self.set(account, status);
        }
    }

    pub fn remove(&mut self, account: AccountId) {
        if let Some(before) = self.map.remove(&account) {
            if before != Status::default() {
                self.note(account);
            }
        }
    }

    /// The accounts whose status changed since the last call; `None` when
    /// there were too many to keep track of.
    pub fn take_changed(&mut self) -> Option<Vec<AccountId>> {
        if std::mem::take(&mut self.too_many) {
            return None;
        }
        Some(std::mem::take(&mut self.changed))
    }

    fn note(&mut self, account: AccountId) {
        if self.too_many {
            return;
        }
        if self.changed.len() >= MAX_NOTED {
            self.too_many = true;
            self.changed = Vec::new();
        } else {
            self.changed.push(account);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_changes_of_what_is_seen_are_noted() {
        let mut s = Statuses::default();
        assert_eq!(s.get(1), Status::Available);
        s.set_if_unknown(1, Status::Available);
        s.set(2, Status::Available);
        assert_eq!(s.take_changed(), Some(vec![]), "available is the default");
        s.set_if_unknown(3, Status::Busy);
        s.set_if_unknown(3, Status::Away);
        assert_eq!(s.get(3), Status::Busy);
        s.set(1, Status::Away);
        s.remove(2);
        assert_eq!(s.take_changed(), Some(vec![3, 1]));
        s.remove(1);
        assert_eq!(s.get(1), Status::Available);
        assert_eq!(s.take_changed(), Some(vec![1]));
    }

    #[test]
    fn too_many_changes_are_told_as_such() {
        let mut s = Statuses::default();
        for a in 0..=MAX_NOTED as AccountId {
            s.set(a, Status::Busy);
        }
        assert_eq!(s.take_changed(), None);
        assert_eq!(s.take_changed(), Some(vec![]));
    }
}

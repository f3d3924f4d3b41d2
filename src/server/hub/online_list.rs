//! The `online` list of `welcome` and `who`: the first
//! [`MAX_LISTED_ONLINE`] users online anywhere, by name, encoded once and
//! kept until a change reaches them.
//!
//! In a login storm every `welcome` lists the same few thousand users:
//! building and encoding them per login was most of a login's cost after
//! the password check. A login, logout or status change of someone after
//! the last listed user changes nothing listed, so with more users online
//! than listed most changes keep the list.

use std::collections::HashSet;
use std::sync::LazyLock;

use super::*;
use crate::server::name_order::{Change, Place};

/// The list as last made.
pub(super) struct ListedOnline {
    encoded: OnlineList,
    /// The last user listed when the list is full; `None` when it lists
    /// everyone online (then any change reaches it).
    last: Option<Place>,
    /// The accounts listed, for status changes.
    accounts: HashSet<AccountId>,
}

impl Hub {
    /// Who is online, by name, at most [`MAX_LISTED_ONLINE`] of them (so
    /// that `welcome` and `who` fit in a frame however many are online),
    /// and how many more there are.
    pub(super) fn online_list(&mut self) -> (OnlineList, u64) {
        self.forget_online_list_if_changed();
        let encoded = match &self.listed_online {
            Some(listed) => listed.encoded.clone(),
            None => {
                let listed = self.make_online_list();
                let encoded = listed.encoded.clone();
                self.listed_online = Some(listed);
                encoded
            }
        };
        let only_elsewhere = self.cluster.as_ref().map_or(0, |c| {
            c.remote_accounts()
                .filter(|id| !self.online.contains_key(id))
                .count()
        });
        let online = self.online.len() + only_elsewhere;
        (encoded, online.saturating_sub(MAX_LISTED_ONLINE) as u64)
    }

    /// Drops the kept list when someone came or went before its last user,
    /// or someone listed changed status, since it was made or checked.
    fn forget_online_list_if_changed(&mut self) {
        // Every change is taken, kept list or not, so that the next list
        // is checked against what happens after it is made.
        let here = self.online_by_name.take_change();
        let elsewhere = self
            .cluster
            .as_mut()
            .map_or(Change::None, |c| c.take_remote_change());
        let statuses = self.statuses.take_changed();
        let Some(listed) = &self.listed_online else {
            return;
        };
        let last = listed.last.as_ref();
        let status_seen = match &statuses {
            None => true,
            Some(accounts) => accounts.iter().any(|a| listed.accounts.contains(a)),
        };
        if here.reaches(last) || elsewhere.reaches(last) || status_seen {
            self.listed_online = None;
        }
    }

    fn make_online_list(&self) -> ListedOnline {
        static NOBODY: LazyLock<NameOrder> = LazyLock::new(NameOrder::default);
        let elsewhere = self
            .cluster
            .as_ref()
            .map_or(&*NOBODY, |c| c.remote_by_name());
        let mut users = Vec::new();
        let mut accounts = HashSet::new();
        let mut last = None;
        for (place, name) in self
            .online_by_name
            .merged(elsewhere)
            .take(MAX_LISTED_ONLINE)
        {
            users.push(OnlineUser {
                user: name.clone(),
                status: self.status_of(place.1),
            });
            accounts.insert(place.1);
            last = Some(place);
        }
        ListedOnline {
            encoded: OnlineList::encode(&users),
            last: (users.len() == MAX_LISTED_ONLINE)
                .then(|| last.cloned())
                .flatten(),
            accounts,
        }
    }
}

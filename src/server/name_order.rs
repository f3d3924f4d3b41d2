//! Accounts kept in the order of their names, so that `welcome` and `who`
//! can list the first thousands of online users without sorting everyone.
//!
//! Every login sends a `welcome` listing who is online, by name. Sorting
//! (or even selecting from) the whole online set per login made a storm of
//! N logins cost O(N² log N) string comparisons and N copies of the set:
//! at 10 000 logins a tenth of the server's CPU. Kept ordered as users come
//! and go, listing is a walk over the first entries. Each entry keeps its
//! name too: looking the listed accounts up in the hub's tables, scattered
//! over megabytes, was a cache miss per user listed.

use std::collections::BTreeMap;
use std::iter::Peekable;

use crate::protocol::{NameKey, UserName};
use crate::server::store::AccountId;

#[derive(Default)]
pub struct NameOrder {
    entries: BTreeMap<(NameKey, AccountId), UserName>,
}

impl NameOrder {
    pub fn insert(&mut self, name: &UserName, account: AccountId) {
        self.entries.insert((name.key(), account), name.clone());
    }

    pub fn remove(&mut self, name: &UserName, account: AccountId) {
        self.entries.remove(&(name.key(), account));
    }

    pub fn clear(&mut self) {
        self.entries.clear();
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// The accounts of both orders, with their names, in name order; an
    /// account in both once.
    pub fn merged<'a>(&'a self, other: &'a NameOrder) -> Merged<'a> {
        Merged {
            a: self.entries.iter().peekable(),
            b: other.entries.iter().peekable(),
        }
    }
}

type Entries<'a> = Peekable<std::collections::btree_map::Iter<'a, (NameKey, AccountId), UserName>>;

/// See [`NameOrder::merged`].
pub struct Merged<'a> {
    a: Entries<'a>,
    b: Entries<'a>,
}

impl<'a> Iterator for Merged<'a> {
    type Item = (AccountId, &'a UserName);

    fn next(&mut self) -> Option<Self::Item> {
        let next = match (self.a.peek(), self.b.peek()) {
            (None, None) => return None,
            (Some(_), None) => self.a.next(),
            (None, Some(_)) => self.b.next(),
            (Some(a), Some(b)) => match a.0.cmp(b.0) {
                std::cmp::Ordering::Less => self.a.next(),
                std::cmp::Ordering::Greater => self.b.next(),
                std::cmp::Ordering::Equal => {
                    self.b.next();
                    self.a.next()
                }
            },
        };
        next.map(|((_, account), name)| (*account, name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(n: &str) -> UserName {
        UserName::parse(n).unwrap()
    }

    fn accounts(o: &NameOrder, other: &NameOrder) -> Vec<AccountId> {
        o.merged(other).map(|(id, _)| id).collect()
    }

    fn order(users: &[(&str, AccountId)]) -> NameOrder {
        let mut o = NameOrder::default();
        for (n, id) in users {
            o.insert(&name(n), *id);
        }
        o
    }

    #[test]
    fn accounts_come_in_case_insensitive_name_order() {
        let o = order(&[("carol", 3), ("Alice", 1), ("bob", 2)]);
        let empty = NameOrder::default();
        assert_eq!(accounts(&o, &empty), [1, 2, 3]);
        let names: Vec<&str> = o.merged(&empty).map(|(_, n)| n.as_str()).collect();
        assert_eq!(names, ["Alice", "bob", "carol"]);
        assert_eq!(o.len(), 3);
    }

    #[test]
    fn removed_accounts_are_not_listed() {
        let mut o = order(&[("alice", 1), ("bob", 2)]);
        o.remove(&name("Alice"), 1);
        assert_eq!(accounts(&o, &NameOrder::default()), [2]);
        o.clear();
        assert_eq!(o.len(), 0);
    }

    #[test]
    fn merging_interleaves_and_lists_an_account_in_both_once() {
        let here = order(&[("alice", 1), ("dave", 4), ("erin", 5)]);
        let elsewhere = order(&[("bob", 2), ("dave", 4), ("zed", 9)]);
        assert_eq!(accounts(&here, &elsewhere), [1, 2, 4, 5, 9]);
        assert_eq!(accounts(&elsewhere, &here), [1, 2, 4, 5, 9]);
    }
}

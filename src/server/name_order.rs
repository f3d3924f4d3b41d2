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

/// A position in the order: an account and its name's key.
pub type Place = (NameKey, AccountId);

/// Where the order changed since it was last asked ([`NameOrder::take_change`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Change {
    #[default]
    None,
    /// Nothing before this place changed.
    From(Place),
    Everything,
}

impl Change {
    /// Whether the first entries, up to `last` (all of them when `None`),
    /// may be different now.
    pub fn reaches(&self, last: Option<&Place>) -> bool {
        match (self, last) {
            (Change::None, _) => false,
            (Change::Everything, _) | (Change::From(_), None) => true,
            (Change::From(at), Some(last)) => at <= last,
        }
    }

    fn note(&mut self, at: Place) {
        match self {
            Change::None => *self = Change::From(at),
            Change::From(first) if at < *first => *first = at,
            _ => {}
        }
    }
}

#[derive(Default)]
pub struct NameOrder {
    entries: BTreeMap<Place, UserName>,
    change: Change,
}

impl NameOrder {
    pub fn insert(&mut self, name: &UserName, account: AccountId) {
        let at = (name.key(), account);
        self.change.note(at.clone());
        self.entries.insert(at, name.clone());
    }

    pub fn remove(&mut self, name: &UserName, account: AccountId) {
        let at = (name.key(), account);
        if self.entries.remove(&at).is_some() {
            self.change.note(at);
        }
    }

    pub fn clear(&mut self) {
        self.entries.clear();
        self.change = Change::Everything;
    }

    /// Where the order changed since the last call: what was listed from
    /// it before that place is still what it lists.
    pub fn take_change(&mut self) -> Change {
        std::mem::take(&mut self.change)
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

type Entries<'a> = Peekable<std::collections::btree_map::Iter<'a, Place, UserName>>;

/// See [`NameOrder::merged`].
pub struct Merged<'a> {
    a: Entries<'a>,
    b: Entries<'a>,
}

impl<'a> Iterator for Merged<'a> {
    type Item = (&'a Place, &'a UserName);

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
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(n: &str) -> UserName {
        UserName::parse(n).unwrap()
    }

    fn accounts(o: &NameOrder, other: &NameOrder) -> Vec<AccountId> {
        o.merged(other).map(|(at, _)| at.1).collect()
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

    fn place(n: &str, id: AccountId) -> Place {
        (name(n).key(), id)
    }

    #[test]
    fn it_tells_the_first_place_that_changed_since_it_was_last_asked() {
        let mut o = order(&[("mallory", 13), ("dave", 4)]);
        assert_eq!(o.take_change(), Change::From(place("dave", 4)));
        assert_eq!(o.take_change(), Change::None);
        o.insert(&name("zoe"), 26);
        o.insert(&name("Carol"), 3);
        o.remove(&name("nobody"), 99);
        assert_eq!(o.take_change(), Change::From(place("carol", 3)));
        o.remove(&name("zoe"), 26);
        let change = o.take_change();
        assert!(change.reaches(None), "a short list may change anywhere");
        assert!(change.reaches(Some(&place("zoe", 26))));
        assert!(!change.reaches(Some(&place("mallory", 13))));
        o.clear();
        assert!(o.take_change().reaches(Some(&place("a", 1))));
        assert!(!Change::None.reaches(None));
    }

    #[test]
    fn merging_interleaves_and_lists_an_account_in_both_once() {
        let here = order(&[("alice", 1), ("dave", 4), ("erin", 5)]);
        let elsewhere = order(&[("bob", 2), ("dave", 4), ("zed", 9)]);
        assert_eq!(accounts(&here, &elsewhere), [1, 2, 4, 5, 9]);
        assert_eq!(accounts(&elsewhere, &here), [1, 2, 4, 5, 9]);
    }
}

//! The open chats, in tab order, found by their identity.
//!
//! A chat is known by its `ChatKey` as the server spells it (`@Bob`,
//! `#Rust-Dev`), but two spellings of one name are one chat: `ChatId` is
//! the key with every name folded to its `NameKey`, and it is what tabs
//! are looked up by. Tabs are ordered by kind — `#public`, then private
//! chats, then groups — each kind in the order it was opened, so a group
//! tab always comes after the private ones.

use std::collections::HashMap;
use std::ops::{Index, IndexMut};

use crate::protocol::{ChatKey, NameKey};

use super::app::ChatState;

/// The case-insensitive identity of a chat: `@Bob` and `@bob` are one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChatId {
    Public,
    Private(NameKey),
    Group(NameKey),
}

impl ChatId {
    /// The position of this kind of chat in the tab bar.
    fn rank(&self) -> u8 {
        match self {
            ChatId::Public => 0,
            ChatId::Private(_) => 1,
            ChatId::Group(_) => 2,
        }
    }
}

impl From<&ChatKey> for ChatId {
    fn from(key: &ChatKey) -> ChatId {
        match key {
            ChatKey::Public => ChatId::Public,
            ChatKey::Private(name) => ChatId::Private(name.key()),
            ChatKey::Group(name) => ChatId::Group(name.key()),
        }
    }
}

/// The chat tabs in order, with an index by identity.
#[derive(Debug, Default)]
pub struct Chats {
    list: Vec<ChatState>,
    ix: HashMap<ChatId, usize>,
}

impl Chats {
    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, ChatState> {
        self.list.iter()
    }

    pub fn iter_mut(&mut self) -> std::slice::IterMut<'_, ChatState> {
        self.list.iter_mut()
    }

    pub fn get(&self, i: usize) -> Option<&ChatState> {
        self.list.get(i)
    }

    pub fn get_mut(&mut self, i: usize) -> Option<&mut ChatState> {
        self.list.get_mut(i)
    }

    /// The tab of this chat, whatever the spelling of its name.
    pub fn find(&self, key: &ChatKey) -> Option<usize> {
        self.ix.get(&ChatId::from(key)).copied()
    }

    /// The tab of the chat with this identity.
    pub fn find_id(&self, id: &ChatId) -> Option<usize> {
        self.ix.get(id).copied()
    }

    /// The chat with this key, if it has a tab.
    pub fn by_key(&self, key: &ChatKey) -> Option<&ChatState> {
        self.find(key).map(|i| &self.list[i])
    }

    /// Adds a tab after the last one of its kind; returns its index. Tabs
    /// after it move one to the right (the caller keeps its own indices in
    /// step). A chat that already has a tab keeps it.
    pub fn insert(&mut self, chat: ChatState) -> usize {
        let id = ChatId::from(&chat.key);
        if let Some(i) = self.ix.get(&id) {
            return *i;
        }
        let rank = id.rank();
        let at = self
            .list
            .partition_point(|c| ChatId::from(&c.key).rank() <= rank);
        self.list.insert(at, chat);
        self.reindex();
        at
    }

    /// Removes tab `i` and returns it.
    pub fn remove(&mut self, i: usize) -> Option<ChatState> {
        if i >= self.list.len() {
            return None;
        }
        let chat = self.list.remove(i);
        self.reindex();
        Some(chat)
    }

    /// Keeps only the tabs for which `keep` says so.
    pub fn retain(&mut self, keep: impl FnMut(&ChatState) -> bool) {
        self.list.retain(keep);
        self.reindex();
    }

    fn reindex(&mut self) {
        self.ix = self
            .list
            .iter()
            .enumerate()
            .map(|(i, c)| (ChatId::from(&c.key), i))
            .collect();
    }
}

impl Index<usize> for Chats {
    type Output = ChatState;

    fn index(&self, i: usize) -> &ChatState {
        &self.list[i]
    }
}

impl IndexMut<usize> for Chats {
    fn index_mut(&mut self, i: usize) -> &mut ChatState {
        &mut self.list[i]
    }
}

impl<'a> IntoIterator for &'a Chats {
    type Item = &'a ChatState;
    type IntoIter = std::slice::Iter<'a, ChatState>;

    fn into_iter(self) -> Self::IntoIter {
        self.list.iter()
    }
}

impl<'a> IntoIterator for &'a mut Chats {
    type Item = &'a mut ChatState;
    type IntoIter = std::slice::IterMut<'a, ChatState>;

    fn into_iter(self) -> Self::IntoIter {
        self.list.iter_mut()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> ChatKey {
        ChatKey::parse(s).unwrap()
    }

    #[test]
    fn tabs_are_ordered_by_kind_and_found_in_any_casing() {
        let mut chats = Chats::default();
        chats.insert(ChatState::new(key("#rust")));
        chats.insert(ChatState::new(key("@Bob")));
        chats.insert(ChatState::new(ChatKey::Public));
        chats.insert(ChatState::new(key("@Carol")));
        let order: Vec<String> = chats.iter().map(|c| c.key.to_string()).collect();
        assert_eq!(order, ["#public", "@Bob", "@Carol", "#rust"]);
        assert_eq!(chats.find(&key("@bob")), Some(1));
        assert_eq!(chats.find(&key("#RUST")), Some(3));
        assert_eq!(chats.find(&key("#PUBLIC")), Some(0));
        // The same chat in another spelling keeps its tab.
        assert_eq!(chats.insert(ChatState::new(key("@BOB"))), 1);
        assert_eq!(chats.len(), 4);
        chats.remove(1);
        assert_eq!(chats.find(&key("#rust")), Some(2));
        assert_eq!(chats.find(&key("@Bob")), None);
    }
}

//! User names and chat keys: validated when constructed, so a value of these
//! types is always well-formed.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::limits::{MAX_NAME_CHARS, RESERVED_NAMES};

/// Why a string is not a valid user name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("a user name cannot be empty")]
    Empty,
    #[error("a user name is at most {MAX_NAME_CHARS} characters")]
    TooLong,
    #[error("a user name must start with a letter")]
    BadStart,
    #[error("a user name may only contain letters, digits, '_' and '-'")]
    BadChar,
    #[error("the name '{0}' is reserved")]
    Reserved(String),
    #[error("the name '{name}' is too easily mistaken for the reserved name '{reserved}'")]
    LooksReserved {
        name: String,
        reserved: &'static str,
    },
}

/// The confusables skeleton of a name: two names with the same skeleton are
/// too easily mistaken for each other to belong to two accounts, and a name
/// whose skeleton is a reserved name's cannot be registered.
///
/// Names are ASCII, so this is a short fixed table rather than the Unicode
/// confusables data. After ASCII lowercasing (so `I` is `i`):
///
/// | characters | become | because, in many fonts |
/// |---|---|---|
/// | `0` | `o` | a zero and the letter o differ by a slash or nothing |
/// | `1` `i` `l` | `l` | one, lower-case L and upper-case I (lowered to `i`) are all one stroke |
/// | `_` | `-` | both are a bare dash, and the underline is often clipped |
/// | `rn` | `m` | the two letters run together |
/// | `vv` | `w` | likewise |
/// | `cl` | `d` | likewise |
///
/// The single characters are mapped first, so `c1` and `cI` become `d` too.
/// Pairs are then read left to right without overlap (`rnn` is `mn`). The
/// result never contains a pair again, so the skeleton of a skeleton is
/// itself. Digits that only resemble letters loosely (`5`/`s`, `8`/`b`) are
/// left alone: mapping them would make ordinary names collide.
pub fn name_skeleton(name: &str) -> String {
    let single: Vec<char> = name
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            '0' => 'o',
            '1' | 'i' => 'l',
            '_' => '-',
            other => other,
        })
        .collect();
    let mut out = String::with_capacity(single.len());
    let mut i = 0;
    while i < single.len() {
        let joined = match (single[i], single.get(i + 1)) {
            ('r', Some('n')) => Some('m'),
            ('v', Some('v')) => Some('w'),
            ('c', Some('l')) => Some('d'),
            _ => None,
        };
        match joined {
            Some(c) => {
                out.push(c);
                i += 2;
            }
            None => {
                out.push(single[i]);
                i += 1;
            }
        }
    }
    out
}

/// A user name: 1–32 characters from `A–Z a–z 0–9 _ -`, starting with a letter.
///
/// Equality is exact; use [`UserName::key`] for the case-insensitive identity
/// the server uses for uniqueness.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserName(String);

impl UserName {
    /// Checks the character rules (not the reserved list: reserved names are
    /// valid spellings, they just cannot be registered).
    pub fn parse(s: &str) -> Result<Self, NameError> {
        let mut chars = s.chars();
        let first = chars.next().ok_or(NameError::Empty)?;
        if s.len() > MAX_NAME_CHARS {
            return Err(NameError::TooLong);
        }
        if !first.is_ascii_alphabetic() {
            return Err(NameError::BadStart);
        }
        if !chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
            return Err(NameError::BadChar);
        }
        Ok(UserName(s.to_owned()))
    }

    /// Like [`UserName::parse`], and also refuses the reserved names and
    /// every name with the same [skeleton](name_skeleton) as one (`adm1n`,
    /// `r00t`, `pub1ic`).
    pub fn parse_registrable(s: &str) -> Result<Self, NameError> {
        let name = Self::parse(s)?;
        if name.is_reserved() {
            return Err(NameError::Reserved(name.0));
        }
        let skeleton = name.skeleton();
        if let Some(reserved) = RESERVED_NAMES.iter().find(|r| name_skeleton(r) == skeleton) {
            return Err(NameError::LooksReserved {
                name: name.0,
                reserved,
            });
        }
        Ok(name)
    }

    /// Whether this is one of the names nobody may register.
    pub fn is_reserved(&self) -> bool {
        RESERVED_NAMES
            .iter()
            .any(|r| r.eq_ignore_ascii_case(&self.0))
    }

    /// The case-insensitive identity: `Alice` and `alice` share a key.
    pub fn key(&self) -> NameKey {
        NameKey::of(&self.0)
    }

    /// The look-alike identity: `aIice`, `alice` and `Alice` share a
    /// skeleton (see [`name_skeleton`]). Every name with the same key has
    /// the same skeleton.
    pub fn skeleton(&self) -> String {
        name_skeleton(&self.0)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for UserName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for UserName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Serialize for UserName {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for UserName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        UserName::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// The case-insensitive identity of a user or group name: `Alice` and
/// `alice` are one key. Use it wherever names are compared or looked up,
/// so that no comparison can forget to fold case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NameKey(String);

impl NameKey {
    /// The key of any string (names are ASCII, so folding ASCII is enough).
    pub fn of(name: &str) -> NameKey {
        NameKey(name.to_ascii_lowercase())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for NameKey {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for NameKey {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for NameKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A group's name: the same rules as a user name (§12).
pub type GroupName = UserName;

/// The name of a chat, as seen by whoever reads the frame.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChatKey {
    /// `#public`: every logged-in user is in it.
    Public,
    /// `@Name`: the private chat with that user.
    Private(UserName),
    /// `#name` other than `#public`: a group chat.
    Group(GroupName),
}

impl ChatKey {
    /// Parses `#public`, `@Name` or `#group`. `None` when the string is none
    /// of these shapes.
    pub fn parse(s: &str) -> Option<ChatKey> {
        if let Some(rest) = s.strip_prefix('@') {
            return UserName::parse(rest).ok().map(ChatKey::Private);
        }
        let rest = s.strip_prefix('#')?;
        if rest.eq_ignore_ascii_case("public") {
            return Some(ChatKey::Public);
        }
        // Group names follow the user-name character rules.
        UserName::parse(rest).ok().map(ChatKey::Group)
    }

    /// The group's name, if this is a group.
    pub fn group(&self) -> Option<&GroupName> {
        match self {
            ChatKey::Group(name) => Some(name),
            _ => None,
        }
    }

    /// The private chat partner, if this is a private chat.
    pub fn partner(&self) -> Option<&UserName> {
        match self {
            ChatKey::Private(name) => Some(name),
            _ => None,
        }
    }
}

impl fmt::Display for ChatKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChatKey::Public => f.write_str("#public"),
            ChatKey::Private(name) => write!(f, "@{name}"),
            ChatKey::Group(name) => write!(f, "#{name}"),
        }
    }
}

impl Serialize for ChatKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ChatKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        ChatKey::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("not a chat key: {s:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_character_rules() {
        assert!(UserName::parse("Alice").is_ok());
        assert!(UserName::parse("a").is_ok());
        assert!(UserName::parse("a_b-9").is_ok());
        assert_eq!(UserName::parse(""), Err(NameError::Empty));
        assert_eq!(UserName::parse("9lives"), Err(NameError::BadStart));
        assert_eq!(UserName::parse("_x"), Err(NameError::BadStart));
        assert_eq!(UserName::parse("al ice"), Err(NameError::BadChar));
        assert_eq!(UserName::parse("élodie"), Err(NameError::BadStart));
        assert_eq!(UserName::parse("bob\u{7}"), Err(NameError::BadChar));
        assert!(UserName::parse(&"a".repeat(32)).is_ok());
        assert_eq!(UserName::parse(&"a".repeat(33)), Err(NameError::TooLong));
    }

    #[test]
    fn reserved_names_are_refused_in_any_case() {
        for n in [
            "admin", "ADMIN", "Public", "root", "server", "System", "tchat",
        ] {
            assert!(matches!(
                UserName::parse_registrable(n),
                Err(NameError::Reserved(_))
            ));
        }
        assert!(UserName::parse_registrable("administrator").is_ok());
    }

    #[test]
    fn names_that_look_like_reserved_ones_are_refused() {
        for (n, reserved) in [
            ("adm1n", "admin"),
            ("ADM1N", "admin"),
            ("r00t", "root"),
            ("R0OT", "root"),
            ("pub1ic", "public"),
            ("publ1c", "public"),
            ("PUBLlC", "public"),
            ("adrnin", "admin"),
            ("systern", "system"),
        ] {
            assert_eq!(
                UserName::parse_registrable(n),
                Err(NameError::LooksReserved {
                    name: n.to_owned(),
                    reserved
                }),
                "{n} looks like a reserved name"
            );
            // Still a valid spelling to log in with or to look up.
            assert!(UserName::parse(n).is_ok());
        }
        for n in ["administrator", "rooted", "publicity", "alice", "r0bert"] {
            assert!(UserName::parse_registrable(n).is_ok(), "{n}");
        }
    }

    #[test]
    fn look_alikes_share_a_skeleton() {
        let same = [
            ("alice", "aIice"),
            ("alice", "a1ice"),
            ("alice", "ALICE"),
            ("admin", "adm1n"),
            ("root", "r00t"),
            ("public", "pub1ic"),
            ("modern", "rnodern"),
            ("wendy", "vvendy"),
            ("dan", "clan"),
            ("dan", "c1an"),
            ("bob_smith", "bob-smith"),
            ("bill", "biII"),
            ("Ollie", "0111e"),
        ];
        for (a, b) in same {
            assert_eq!(name_skeleton(a), name_skeleton(b), "{a} ~ {b}");
        }
        let different = [
            ("alice", "alica"),
            ("bob", "b0bby"),
            ("dan", "can"),
            ("mary", "nary"),
            ("vera", "wera"),
            ("sam", "5am"),
        ];
        for (a, b) in different {
            assert_ne!(name_skeleton(a), name_skeleton(b), "{a} vs {b}");
        }
        assert_eq!(name_skeleton("Alice_0"), "allce-o");
        assert_eq!(name_skeleton("rnn"), "mn");
        assert_eq!(name_skeleton("vvv"), "wv");
        assert_eq!(name_skeleton(""), "");
        let alice = UserName::parse("aIice").unwrap();
        assert_eq!(
            alice.skeleton(),
            UserName::parse("alice").unwrap().skeleton()
        );
    }

    #[test]
    fn a_skeleton_is_its_own_skeleton() {
        let alphabet: Vec<char> = "aclmnrvwdio01IL_-".chars().collect();
        // Every string of up to four characters over the letters the table
        // touches.
        let mut words = vec![String::new()];
        let mut layer = vec![String::new()];
        for _ in 0..4 {
            layer = layer
                .iter()
                .flat_map(|w| alphabet.iter().map(move |c| format!("{w}{c}")))
                .collect();
            words.extend(layer.iter().cloned());
        }
        for w in &words {
            let s = name_skeleton(w);
            assert_eq!(name_skeleton(&s), s, "{w:?}");
        }
    }

    #[test]
    fn keys_are_case_insensitive() {
        assert_eq!(
            UserName::parse("Alice").unwrap().key(),
            UserName::parse("aLICE").unwrap().key()
        );
    }

    #[test]
    fn chat_keys_round_trip() {
        assert_eq!(ChatKey::parse("#public"), Some(ChatKey::Public));
        assert_eq!(ChatKey::parse("#PUBLIC"), Some(ChatKey::Public));
        let bob = ChatKey::parse("@Bob").unwrap();
        assert_eq!(bob.to_string(), "@Bob");
        assert_eq!(bob.partner().map(|n| n.as_str()), Some("Bob"));
        assert_eq!(
            ChatKey::parse("#rust"),
            Some(ChatKey::Group(UserName::parse("rust").unwrap()))
        );
        assert_eq!(ChatKey::parse("public"), None);
        assert_eq!(ChatKey::parse("@"), None);
        assert_eq!(ChatKey::parse("@9"), None);
        assert_eq!(ChatKey::parse(""), None);
    }
}

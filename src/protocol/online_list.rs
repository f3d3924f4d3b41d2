//! The `online` list of `welcome` and `who`.

use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

use super::frames::OnlineUser;

/// Who is online, as `welcome` and `who` list them: users, or the same
/// list already encoded. A server sends the same few thousand users in
/// every `welcome` of a login storm; encoding them once per change of the
/// list instead of once per frame is most of what a `welcome` costs it.
/// Decoding always gives [`OnlineList::Users`].
#[derive(Debug, Clone)]
pub enum OnlineList {
    Users(Vec<OnlineUser>),
    /// A JSON array of users, as [`OnlineList::encode`] made it.
    Encoded(Arc<RawValue>),
}

impl OnlineList {
    /// `users`, encoded once to go out in many frames.
    pub fn encode(users: &[OnlineUser]) -> OnlineList {
        match serde_json::value::to_raw_value(users) {
            Ok(raw) => OnlineList::Encoded(Arc::from(raw)),
            // Names and statuses always encode; keep the users if not.
            Err(_) => OnlineList::Users(users.to_vec()),
        }
    }

    pub fn into_users(self) -> Vec<OnlineUser> {
        match self {
            OnlineList::Users(users) => users,
            // It was encoded from users, so it decodes to them.
            OnlineList::Encoded(raw) => serde_json::from_str(raw.get()).unwrap_or_default(),
        }
    }
}

impl Default for OnlineList {
    fn default() -> Self {
        OnlineList::Users(Vec::new())
    }
}

impl From<Vec<OnlineUser>> for OnlineList {
    fn from(users: Vec<OnlineUser>) -> Self {
        OnlineList::Users(users)
    }
}

/// Equal when they list the same users, encoded or not.
impl PartialEq for OnlineList {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (OnlineList::Users(a), OnlineList::Users(b)) => a == b,
            _ => self.clone().into_users() == other.clone().into_users(),
        }
    }
}

impl Serialize for OnlineList {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            OnlineList::Users(users) => users.serialize(serializer),
            OnlineList::Encoded(raw) => raw.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for OnlineList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Vec::<OnlineUser>::deserialize(deserializer).map(OnlineList::Users)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{decode_server_frame, ServerFrame, Status, UserName};

    fn users() -> Vec<OnlineUser> {
        ["alice", "Bob", "zoe"]
            .iter()
            .map(|n| OnlineUser {
                user: UserName::parse(n).unwrap(),
                status: Status::Busy,
            })
            .collect()
    }

    #[test]
    fn an_encoded_list_goes_out_as_the_users_would() {
        let plain = ServerFrame::Who {
            id: 7,
            online: users().into(),
            more_online: 3,
        };
        let encoded = ServerFrame::Who {
            id: 7,
            online: OnlineList::encode(&users()),
            more_online: 3,
        };
        assert!(matches!(
            &encoded,
            ServerFrame::Who {
                online: OnlineList::Encoded(_),
                ..
            }
        ));
        assert_eq!(plain.to_line(), encoded.to_line());
        let line = encoded.to_line();
        let decoded = decode_server_frame(&line[..line.len() - 1])
            .unwrap()
            .expect("a frame");
        assert_eq!(decoded, plain);
        match decoded {
            ServerFrame::Who { online, .. } => {
                assert!(matches!(online, OnlineList::Users(_)));
                assert_eq!(online.into_users(), users());
            }
            other => panic!("not a who reply: {other:?}"),
        }
    }
}

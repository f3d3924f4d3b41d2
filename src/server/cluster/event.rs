//! What one node's round tells the others: the frames it delivered and the
//! changes to the state every node keeps in memory.
//!
//! A round's events are stored in the database in the same transaction as
//! the round's writes, under the lock that orders every round of every node
//! (see [`super`]). Every node applies them in that order, so the nodes'
//! in-memory state (who is online where, groups, login attempts) never
//! disagrees with the order in which the database changed.

use std::net::IpAddr;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::protocol::Status;
use crate::server::store::AccountId;

/// One thing a round did that the other nodes must do or know.
#[derive(Debug, Serialize, Deserialize)]
pub enum Ev {
    /// A frame for every logged-in session.
    All { f: Box<RawValue> },
    /// A frame for every session of these accounts.
    To { a: Vec<AccountId>, f: Box<RawValue> },
    /// End every session of an account with this last frame (kick, ban).
    End { a: AccountId, f: Box<RawValue> },
    /// The account's first session on node `n` logged in.
    Up {
        n: String,
        a: AccountId,
        name: String,
        s: Status,
    },
    /// The account has `c` sessions on node `n` now (neither its first
    /// nor its last: those are `Up` and `Down`).
    Sessions { n: String, a: AccountId, c: usize },
    /// The account's last session on node `n` logged out.
    Down { n: String, a: AccountId },
    /// The account set its status.
    Status { a: AccountId, s: Status },
    /// Groups or their members changed: read them again.
    Groups,
    /// An account's role, mute, ban or password changed: read it again.
    Account { a: AccountId },
    /// Node `n` stopped beating: whoever was online only there is offline.
    NodeDown { n: String },
    /// A login attempt was counted for this name and address.
    LoginBegin { k: String, ip: IpAddr },
    /// That attempt ended.
    LoginEnd { k: String, ip: IpAddr, ok: bool },
    /// An account's failed logins were forgotten (an operator's unban).
    Unlock { k: String },
    /// A registration from this address was counted.
    Register { ip: IpAddr },
}

/// A frame line as it travels inside an event: the JSON without its
/// newline, embedded as is (no escaping, no second parse on the way out).
pub fn raw(frame: &Bytes) -> Box<RawValue> {
    let text = std::str::from_utf8(frame.strip_suffix(b"\n").unwrap_or(frame))
        .expect("frames are UTF-8 JSON");
    RawValue::from_string(text.to_owned()).expect("frames are JSON")
}

/// The frame line back from an event.
pub fn line(raw: &RawValue) -> Bytes {
    let mut line = Vec::with_capacity(raw.get().len() + 1);
    line.extend_from_slice(raw.get().as_bytes());
    line.push(b'\n');
    Bytes::from(line)
}

/// A round's events as stored.
pub fn encode(events: &[Ev]) -> String {
    serde_json::to_string(events).expect("events serialize")
}

pub fn decode(text: &str) -> Result<Vec<Ev>, serde_json::Error> {
    serde_json::from_str(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_survives_the_trip_byte_for_byte() {
        let frame =
            Bytes::from_static(b"{\"type\":\"message\",\"text\":\"a \\\"q\\\" \xc3\xa9\"}\n");
        let events = vec![
            Ev::All { f: raw(&frame) },
            Ev::To {
                a: vec![1, 2],
                f: raw(&frame),
            },
            Ev::LoginBegin {
                k: "alice".into(),
                ip: "::1".parse().unwrap(),
            },
        ];
        let back = decode(&encode(&events)).unwrap();
        match &back[0] {
            Ev::All { f } => assert_eq!(line(f), frame),
            other => panic!("{other:?}"),
        }
        match &back[1] {
            Ev::To { a, f } => {
                assert_eq!(a, &[1, 2]);
                assert_eq!(line(f), frame);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(&back[2], Ev::LoginBegin { k, .. } if k == "alice"));
    }
}

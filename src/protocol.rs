//! The tchat/1 wire protocol, shared by `tchat` and `tchat-server`.
//!
//! One frame is one JSON object on one line. This module owns everything both
//! sides must agree on: the frame shapes (typed serde enums), the validated
//! name and chat-key types, the text rules, the limits, and the line codec.
//! The contract itself is `docs/protocol.md`.

mod codec;
mod decode;
mod frames;
mod limits;
mod names;
mod online_list;
mod text;

pub use codec::{encode_line, LineCodec, LineError};
pub use decode::{decode_client_frame, decode_server_frame, DecodeError};
pub use frames::*;
pub use limits::*;
pub use names::{name_skeleton, ChatKey, GroupName, NameError, NameKey, UserName};
pub use online_list::OnlineList;
pub use text::{validate_password, validate_text, PasswordError, TextError};

/// The current time as a tchat timestamp: milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

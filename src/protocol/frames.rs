//! Every tchat/1 frame as a typed value.
//!
//! Client requests keep user names and chat keys as plain strings: the server
//! decides which error a malformed one earns (`invalid_name` for `register`
//! and `login`, `no_such_user` or `no_such_chat` elsewhere), so decoding must
//! not reject them first. Server frames use the validated types.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::names::{ChatKey, UserName};

/// A password as it travels in `register` and `login`. Its `Debug` output is
/// redacted so that it can never end up in a log line by accident.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Password(pub String);

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// A user's availability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    #[default]
    Available,
    Away,
    Busy,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Available => "available",
            Status::Away => "away",
            Status::Busy => "busy",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        match s {
            "available" => Some(Status::Available),
            "away" => Some(Status::Away),
            "busy" => Some(Status::Busy),
            _ => None,
        }
    }
}

/// What an account may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    #[default]
    User,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "user" => Some(Role::User),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// One client request. The `type` field selects the variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Request {
    Register {
        user: String,
        password: Password,
    },
    Login {
        user: String,
        password: Password,
    },
    Logout,
    Ping,
    Send {
        chat: String,
        text: String,
    },
    SetStatus {
        status: Status,
    },
    Who,
    RequestChat {
        user: String,
    },
    Accept {
        user: String,
    },
    Reject {
        user: String,
    },
    CancelRequest {
        user: String,
    },
    EndChat {
        user: String,
    },
    History {
        chat: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        before: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit: Option<u32>,
    },
    MarkRead {
        chat: String,
        msg_id: u64,
    },
}

impl Request {
    /// Every `type` a client may send, so that an unknown one can be told
    /// apart from a known one with bad fields.
    pub const TYPES: [&'static str; 14] = [
        "register",
        "login",
        "logout",
        "ping",
        "send",
        "set_status",
        "who",
        "request_chat",
        "accept",
        "reject",
        "cancel_request",
        "end_chat",
        "history",
        "mark_read",
    ];

    /// Whether the success reply can be large (up to the 1 MiB frame
    /// limit): a server handles one such request per session at a time.
    pub fn has_large_reply(&self) -> bool {
        matches!(self, Request::History { .. } | Request::Who)
    }

    /// The `type` name of this request.
    pub fn type_name(&self) -> &'static str {
        match self {
            Request::Register { .. } => "register",
            Request::Login { .. } => "login",
            Request::Logout => "logout",
            Request::Ping => "ping",
            Request::Send { .. } => "send",
            Request::SetStatus { .. } => "set_status",
            Request::Who => "who",
            Request::RequestChat { .. } => "request_chat",
            Request::Accept { .. } => "accept",
            Request::Reject { .. } => "reject",
            Request::CancelRequest { .. } => "cancel_request",
            Request::EndChat { .. } => "end_chat",
            Request::History { .. } => "history",
            Request::MarkRead { .. } => "mark_read",
        }
    }
}

/// A client frame: a request and the optional `id` its reply will carry.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientFrame {
    pub id: Option<u64>,
    pub request: Request,
}

impl Serialize for ClientFrame {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Wire<'a> {
            #[serde(flatten)]
            request: &'a Request,
            #[serde(skip_serializing_if = "Option::is_none")]
            id: Option<u64>,
        }
        Wire {
            request: &self.request,
            id: self.id,
        }
        .serialize(s)
    }
}

/// The stable, machine-matchable part of an `error` frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    BadFrame,
    FrameTooLarge,
    UnknownType,
    BadRequest,
    NotAuthenticated,
    AlreadyAuthenticated,
    InvalidName,
    InvalidPassword,
    NameTaken,
    BadCredentials,
    LockedOut,
    Banned,
    InvalidText,
    NoSuchUser,
    SelfTarget,
    AlreadyOpen,
    AlreadyRequested,
    NoRequest,
    NotOpen,
    NoSuchChat,
    RateLimited,
    Forbidden,
    Internal,
    /// A code this build does not know (a newer server); kept so that a
    /// client can still show the message.
    #[serde(other)]
    Unknown,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadFrame => "bad_frame",
            ErrorCode::FrameTooLarge => "frame_too_large",
            ErrorCode::UnknownType => "unknown_type",
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::NotAuthenticated => "not_authenticated",
            ErrorCode::AlreadyAuthenticated => "already_authenticated",
            ErrorCode::InvalidName => "invalid_name",
            ErrorCode::InvalidPassword => "invalid_password",
            ErrorCode::NameTaken => "name_taken",
            ErrorCode::BadCredentials => "bad_credentials",
            ErrorCode::LockedOut => "locked_out",
            ErrorCode::Banned => "banned",
            ErrorCode::InvalidText => "invalid_text",
            ErrorCode::NoSuchUser => "no_such_user",
            ErrorCode::SelfTarget => "self_target",
            ErrorCode::AlreadyOpen => "already_open",
            ErrorCode::AlreadyRequested => "already_requested",
            ErrorCode::NoRequest => "no_request",
            ErrorCode::NotOpen => "not_open",
            ErrorCode::NoSuchChat => "no_such_chat",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::Internal => "internal",
            ErrorCode::Unknown => "unknown",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The first frame on every connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hello {
    pub protocol: u32,
    pub server: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub motd: Option<String>,
}

/// A user who is online, with their status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnlineUser {
    pub user: UserName,
    pub status: Status,
}

/// An open private chat as listed in `welcome`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatSummary {
    pub chat: ChatKey,
    pub user: UserName,
    pub online: bool,
    pub unread: u64,
    pub last_read: u64,
}

/// A pending request someone sent you.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestIn {
    pub from: UserName,
    pub ts: i64,
}

/// A pending request you sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestOut {
    pub to: UserName,
    pub ts: i64,
}

/// The success reply to `register` and `login`: everything a client needs
/// to draw its first screen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Welcome {
    pub id: u64,
    pub user: UserName,
    pub role: Role,
    pub last_msg_id: u64,
    pub online: Vec<OnlineUser>,
    pub chats: Vec<ChatSummary>,
    pub public_unread: u64,
    pub requests_in: Vec<RequestIn>,
    pub requests_out: Vec<RequestOut>,
    /// How many online users `online` leaves out (it lists at most
    /// [`MAX_LISTED_ONLINE`](crate::protocol::MAX_LISTED_ONLINE)); absent
    /// when none.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub more_online: u64,
    /// How many open private chats `chats` leaves out (it lists the newest
    /// [`MAX_LISTED_CHATS`](crate::protocol::MAX_LISTED_CHATS)).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub more_chats: u64,
    /// How many pending requests `requests_in` leaves out (it lists the
    /// newest [`MAX_LISTED_REQUESTS`](crate::protocol::MAX_LISTED_REQUESTS)).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub more_requests_in: u64,
    /// Likewise for `requests_out`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub more_requests_out: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The success reply to most requests; `msg_id` and `ts` only for `send`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OkReply {
    pub id: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msg_id: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ts: Option<i64>,
}

/// A failed request, or a reason given before a connection is closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorFrame {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    pub code: ErrorCode,
    pub message: String,
    /// With `locked_out` and `rate_limited`: when to try again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
    /// With `banned`: `Some(Some(ts))` until then, `Some(None)` (JSON null)
    /// for a permanent ban; absent otherwise.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "double_option"
    )]
    pub until: Option<Option<i64>>,
    /// Present and true when the server closes the connection after this.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub fatal: bool,
}

impl ErrorFrame {
    pub fn new(id: Option<u64>, code: ErrorCode, message: impl Into<String>) -> Self {
        ErrorFrame {
            id,
            code,
            message: message.into(),
            retry_after_ms: None,
            until: None,
            fatal: false,
        }
    }

    pub fn fatal(mut self) -> Self {
        self.fatal = true;
        self
    }

    pub fn retry_after(mut self, ms: u64) -> Self {
        self.retry_after_ms = Some(ms);
        self
    }
}

/// One chat message, as an event or inside a `history` page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub chat: ChatKey,
    pub msg_id: u64,
    pub ts: i64,
    pub from: UserName,
    pub text: String,
}

/// A user came online, went offline, or changed status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Presence {
    pub user: UserName,
    pub online: bool,
    pub status: Status,
}

/// The reply to `history`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryPage {
    pub id: u64,
    pub chat: ChatKey,
    /// Oldest first; each carries `"type":"message"` on the wire.
    #[serde(with = "tagged_messages")]
    pub messages: Vec<Message>,
    pub more: bool,
}

/// Every frame the server sends. The `type` field selects the variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    Hello(Hello),
    Welcome(Welcome),
    Ok(OkReply),
    Error(ErrorFrame),
    Message(Message),
    Presence(Presence),
    Who {
        id: u64,
        online: Vec<OnlineUser>,
        /// How many online users `online` leaves out; absent when none.
        #[serde(default, skip_serializing_if = "is_zero")]
        more_online: u64,
    },
    ChatRequest {
        from: UserName,
        ts: i64,
    },
    ChatRequestSent {
        to: UserName,
        ts: i64,
    },
    ChatOpened {
        chat: ChatKey,
        user: UserName,
        ts: i64,
    },
    ChatRejected {
        user: UserName,
    },
    ChatRequestRemoved {
        user: UserName,
    },
    ChatEnded {
        chat: ChatKey,
        user: UserName,
        by: UserName,
    },
    History(HistoryPage),
    Read {
        chat: ChatKey,
        msg_id: u64,
    },
    Pong {
        id: u64,
    },
    Shutdown {
        reason: String,
    },
}

impl ServerFrame {
    /// Every `type` the server may send.
    pub const TYPES: [&'static str; 17] = [
        "hello",
        "welcome",
        "ok",
        "error",
        "message",
        "presence",
        "who",
        "chat_request",
        "chat_request_sent",
        "chat_opened",
        "chat_rejected",
        "chat_request_removed",
        "chat_ended",
        "history",
        "read",
        "pong",
        "shutdown",
    ];

    /// The `id` of the request this frame answers, if it is a reply.
    pub fn reply_id(&self) -> Option<u64> {
        match self {
            ServerFrame::Welcome(w) => Some(w.id),
            ServerFrame::Ok(ok) => Some(ok.id),
            ServerFrame::Error(e) => e.id,
            ServerFrame::Who { id, .. } | ServerFrame::Pong { id } => Some(*id),
            ServerFrame::History(page) => Some(page.id),
            _ => None,
        }
    }

    /// A plain `ok` reply.
    pub fn ok(id: u64) -> ServerFrame {
        ServerFrame::Ok(OkReply {
            id,
            msg_id: None,
            ts: None,
        })
    }

    /// The frame as one line of JSON, newline included.
    pub fn to_line(&self) -> bytes::Bytes {
        super::codec::encode_line(self)
    }
}

/// `Option<Option<T>>` where the outer `None` is an absent field and
/// `Some(None)` is an explicit `null`.
mod double_option {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer, T: Serialize>(
        v: &Option<Option<T>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match v {
            Some(inner) => inner.serialize(s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
        d: D,
    ) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(d).map(Some)
    }
}

/// History messages carry `"type":"message"` like the event does.
mod tagged_messages {
    use serde::{ser::SerializeSeq, Deserialize, Deserializer, Serialize, Serializer};

    use super::Message;

    #[derive(Serialize)]
    #[serde(tag = "type", rename_all = "snake_case")]
    enum TaggedRef<'a> {
        Message(&'a Message),
    }

    #[derive(Deserialize)]
    #[serde(tag = "type", rename_all = "snake_case")]
    enum Tagged {
        Message(Message),
    }

    pub fn serialize<S: Serializer>(messages: &[Message], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(messages.len()))?;
        for m in messages {
            seq.serialize_element(&TaggedRef::Message(m))?;
        }
        seq.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Message>, D::Error> {
        let tagged = Vec::<Tagged>::deserialize(d)?;
        Ok(tagged.into_iter().map(|Tagged::Message(m)| m).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{
        Role, MAX_LISTED_CHATS, MAX_LISTED_ONLINE, MAX_LISTED_REQUESTS, MAX_SERVER_FRAME_BYTES,
    };

    /// The longest name there is, made distinct by `i`.
    fn longest_name(i: usize) -> UserName {
        UserName::parse(&format!("N{i:0>31}")).unwrap()
    }

    #[test]
    fn the_largest_welcome_the_server_can_build_fits_in_a_frame() {
        let welcome = Welcome {
            id: u64::MAX,
            user: longest_name(0),
            role: Role::Admin,
            last_msg_id: u64::MAX,
            online: (0..MAX_LISTED_ONLINE)
                .map(|i| OnlineUser {
                    user: longest_name(i),
                    status: Status::Available,
                })
                .collect(),
            chats: (0..MAX_LISTED_CHATS)
                .map(|i| ChatSummary {
                    chat: ChatKey::Private(longest_name(i)),
                    user: longest_name(i),
                    online: false,
                    unread: u64::MAX,
                    last_read: u64::MAX,
                })
                .collect(),
            public_unread: u64::MAX,
            requests_in: (0..MAX_LISTED_REQUESTS)
                .map(|i| RequestIn {
                    from: longest_name(i),
                    ts: i64::MIN,
                })
                .collect(),
            requests_out: (0..MAX_LISTED_REQUESTS)
                .map(|i| RequestOut {
                    to: longest_name(i),
                    ts: i64::MIN,
                })
                .collect(),
            more_online: u64::MAX,
            more_chats: u64::MAX,
            more_requests_in: u64::MAX,
            more_requests_out: u64::MAX,
        };
        let line = ServerFrame::Welcome(welcome).to_line();
        assert!(line.len() <= MAX_SERVER_FRAME_BYTES, "{} bytes", line.len());
    }

    #[test]
    fn the_largest_who_reply_fits_in_a_frame() {
        let who = ServerFrame::Who {
            id: u64::MAX,
            online: (0..MAX_LISTED_ONLINE)
                .map(|i| OnlineUser {
                    user: longest_name(i),
                    status: Status::Available,
                })
                .collect(),
            more_online: u64::MAX,
        };
        assert!(who.to_line().len() <= MAX_SERVER_FRAME_BYTES);
    }
}

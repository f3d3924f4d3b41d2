//! Every tchat/1 frame as a typed value.
//!
//! Client requests keep user names and chat keys as plain strings: the server
//! decides which error a malformed one earns (`invalid_name` for `register`
//! and `login`, `no_such_user` or `no_such_chat` elsewhere), so decoding must
//! not reject them first. Server frames use the validated types.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::names::{ChatKey, UserName};
use super::online_list::OnlineList;

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

/// Who may join a group (§12).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupKind {
    /// Anyone may join; listed by `groups`.
    #[default]
    Open,
    /// Joined only with an invitation; listed only to members and admins.
    Invite,
}

impl GroupKind {
    pub fn as_str(self) -> &'static str {
        match self {
            GroupKind::Open => "open",
            GroupKind::Invite => "invite",
        }
    }

    pub fn parse(s: &str) -> Option<GroupKind> {
        match s {
            "open" => Some(GroupKind::Open),
            "invite" => Some(GroupKind::Invite),
            _ => None,
        }
    }
}

/// A member's standing in one group (§12). Ordered by power, so that
/// `Member < Mod < Owner`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum GroupRole {
    #[default]
    Member,
    Mod,
    Owner,
}

impl GroupRole {
    pub fn as_str(self) -> &'static str {
        match self {
            GroupRole::Member => "member",
            GroupRole::Mod => "mod",
            GroupRole::Owner => "owner",
        }
    }

    pub fn parse(s: &str) -> Option<GroupRole> {
        match s {
            "member" => Some(GroupRole::Member),
            "mod" => Some(GroupRole::Mod),
            "owner" => Some(GroupRole::Owner),
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
    CreateGroup {
        chat: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        kind: Option<GroupKind>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        topic: Option<String>,
    },
    Join {
        chat: String,
    },
    Leave {
        chat: String,
    },
    Invite {
        chat: String,
        user: String,
    },
    DeclineInvite {
        chat: String,
    },
    KickMember {
        chat: String,
        user: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    SetTopic {
        chat: String,
        topic: String,
    },
    SetMemberRole {
        chat: String,
        user: String,
        role: GroupRole,
    },
    DeleteGroup {
        chat: String,
    },
    Groups,
    Members {
        chat: String,
    },
    Kick {
        user: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    Ban {
        user: String,
        /// Omitted: for good.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        minutes: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    Unban {
        user: String,
    },
    Mute {
        user: String,
        /// Omitted: for good.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        minutes: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    Unmute {
        user: String,
    },
    SetRole {
        user: String,
        role: Role,
    },
    Audit {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        before: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit: Option<u32>,
    },
    DeleteMessage {
        chat: String,
        msg_id: u64,
    },
    FileOffer {
        chat: String,
        name: String,
        size: u64,
        sha256: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mime: Option<String>,
        /// A caption.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text: Option<String>,
    },
    FileChunk {
        file_id: String,
        offset: u64,
        data: String,
    },
    FileDone {
        file_id: String,
    },
    FileCancel {
        file_id: String,
    },
    FileGet {
        file_id: String,
        #[serde(default)]
        offset: u64,
    },
    FileGetCancel {
        file_id: String,
    },
}

impl Request {
    /// Every `type` a client may send, so that an unknown one can be told
    /// apart from a known one with bad fields.
    pub const TYPES: [&'static str; 39] = [
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
        "create_group",
        "join",
        "leave",
        "invite",
        "decline_invite",
        "kick_member",
        "set_topic",
        "set_member_role",
        "delete_group",
        "groups",
        "members",
        "kick",
        "ban",
        "unban",
        "mute",
        "unmute",
        "set_role",
        "audit",
        "delete_message",
        "file_offer",
        "file_chunk",
        "file_done",
        "file_cancel",
        "file_get",
        "file_get_cancel",
    ];

    /// Whether the success reply can be large (up to the 1 MiB frame
    /// limit): a server handles one such request per session at a time.
    pub fn has_large_reply(&self) -> bool {
        matches!(
            self,
            Request::History { .. }
                | Request::Who
                | Request::Groups
                | Request::Members { .. }
                | Request::Audit { .. }
                | Request::FileGet { .. }
        )
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
            Request::CreateGroup { .. } => "create_group",
            Request::Join { .. } => "join",
            Request::Leave { .. } => "leave",
            Request::Invite { .. } => "invite",
            Request::DeclineInvite { .. } => "decline_invite",
            Request::KickMember { .. } => "kick_member",
            Request::SetTopic { .. } => "set_topic",
            Request::SetMemberRole { .. } => "set_member_role",
            Request::DeleteGroup { .. } => "delete_group",
            Request::Groups => "groups",
            Request::Members { .. } => "members",
            Request::Kick { .. } => "kick",
            Request::Ban { .. } => "ban",
            Request::Unban { .. } => "unban",
            Request::Mute { .. } => "mute",
            Request::Unmute { .. } => "unmute",
            Request::SetRole { .. } => "set_role",
            Request::Audit { .. } => "audit",
            Request::DeleteMessage { .. } => "delete_message",
            Request::FileOffer { .. } => "file_offer",
            Request::FileChunk { .. } => "file_chunk",
            Request::FileDone { .. } => "file_done",
            Request::FileCancel { .. } => "file_cancel",
            Request::FileGet { .. } => "file_get",
            Request::FileGetCancel { .. } => "file_get_cancel",
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
    NotMember,
    AlreadyMember,
    Kicked,
    Muted,
    NoSuchMessage,
    NoSuchFile,
    FileTooLarge,
    QuotaExceeded,
    ChecksumMismatch,
    IdleTimeout,
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
            ErrorCode::NotMember => "not_member",
            ErrorCode::AlreadyMember => "already_member",
            ErrorCode::Kicked => "kicked",
            ErrorCode::Muted => "muted",
            ErrorCode::NoSuchMessage => "no_such_message",
            ErrorCode::NoSuchFile => "no_such_file",
            ErrorCode::FileTooLarge => "file_too_large",
            ErrorCode::QuotaExceeded => "quota_exceeded",
            ErrorCode::ChecksumMismatch => "checksum_mismatch",
            ErrorCode::IdleTimeout => "idle_timeout",
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
    /// What this server offers beyond §1–§11 (`groups`, `admin`, `files`).
    #[serde(default)]
    pub features: Vec<String>,
    /// The numbers a client needs before it sends anything large.
    #[serde(default)]
    pub limits: HelloLimits,
}

/// `hello.limits` (§15).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct HelloLimits {
    pub max_frame_bytes: u64,
    pub max_text_bytes: u64,
    /// Only from a server that offers `files`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_file_bytes: Option<u64>,
    /// Only from a server that offers `files`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_chunk_bytes: Option<u64>,
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

/// A group the caller belongs to, as listed in `welcome`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupSummary {
    pub chat: ChatKey,
    pub kind: GroupKind,
    pub topic: String,
    pub role: GroupRole,
    pub unread: u64,
    pub last_read: u64,
}

/// A pending invitation to a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InviteIn {
    pub chat: ChatKey,
    pub from: UserName,
    pub ts: i64,
}

/// A group as the directory (`groups`) lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupInfo {
    pub chat: ChatKey,
    pub kind: GroupKind,
    pub topic: String,
    pub members: u64,
}

/// One member of a group, with presence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupMember {
    pub user: UserName,
    pub role: GroupRole,
    pub online: bool,
    pub status: Status,
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
    pub online: OnlineList,
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
    /// The groups the caller is a member of (§15).
    #[serde(default)]
    pub groups: Vec<GroupSummary>,
    /// Invitations waiting for the caller (§15).
    #[serde(default)]
    pub invites: Vec<InviteIn>,
    /// The caller's read marker in `#public` (§15).
    #[serde(default)]
    pub public_last_read: u64,
    /// Set while the caller is muted: until then, or `null` for good.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "double_option"
    )]
    pub muted_until: Option<Option<i64>>,
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
    /// With `create_group`: the group as spelled at creation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat: Option<ChatKey>,
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
    /// Who caused it (a kick or a ban): `Some(Some(name))` an admin,
    /// `Some(None)` (JSON null) the server's operator; absent otherwise.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "double_option"
    )]
    pub by: Option<Option<UserName>>,
    /// Why, in the words of whoever caused it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// With a `bad_request` about an upload: the offset the server holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
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
            by: None,
            reason: None,
            offset: None,
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
    /// Set in history for a message that was deleted (its text is empty).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
    /// A file posted with this message (§14).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<FileRef>,
}

/// A posted file as messages carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRef {
    pub file_id: String,
    pub name: String,
    pub size: u64,
    /// Lowercase hex.
    pub sha256: String,
    pub mime: String,
}

/// One entry of the audit log (§13).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub seq: u64,
    pub ts: i64,
    /// Who did it; `null` for the server's own account command line (and
    /// for events nobody did, such as a lockout).
    pub actor: Option<UserName>,
    /// The request's `type` (`ban`, `login`, …).
    pub action: String,
    /// Whom or what it was done to: a user, or a group (`#name`).
    pub target: Option<String>,
    pub detail: String,
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
    Welcome(Box<Welcome>),
    Ok(OkReply),
    Error(ErrorFrame),
    Message(Message),
    Presence(Presence),
    Who {
        id: u64,
        online: OnlineList,
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
    GroupJoined {
        chat: ChatKey,
        kind: GroupKind,
        topic: String,
        role: GroupRole,
        members: Vec<GroupMember>,
    },
    MemberJoined {
        chat: ChatKey,
        user: UserName,
        role: GroupRole,
    },
    GroupLeft {
        chat: ChatKey,
        /// Who removed the caller; `null` when it left by itself.
        by: Option<UserName>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    MemberLeft {
        chat: ChatKey,
        user: UserName,
        /// Who removed the member; `null` when it left by itself.
        by: Option<UserName>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    GroupInvite {
        chat: ChatKey,
        from: UserName,
        ts: i64,
    },
    GroupInviteRemoved {
        chat: ChatKey,
    },
    GroupTopic {
        chat: ChatKey,
        topic: String,
        by: UserName,
    },
    MemberRole {
        chat: ChatKey,
        user: UserName,
        role: GroupRole,
        /// Who gave the role; `null` when the server did (a new owner after
        /// the old one left).
        by: Option<UserName>,
    },
    Groups {
        id: u64,
        groups: Vec<GroupInfo>,
        /// How many groups `groups` leaves out to fit in a frame.
        #[serde(default, skip_serializing_if = "is_zero")]
        more: u64,
    },
    Members {
        id: u64,
        chat: ChatKey,
        members: Vec<GroupMember>,
    },
    /// The receiver was muted until `until` (`null`: for good), or no
    /// longer is (`until` 0).
    Muted {
        until: Option<i64>,
        by: Option<UserName>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// The receiver's server role changed.
    Role {
        role: Role,
        by: Option<UserName>,
    },
    Audit {
        id: u64,
        entries: Vec<AuditEntry>,
        more: bool,
    },
    MessageDeleted {
        chat: ChatKey,
        msg_id: u64,
        by: UserName,
    },
    FileAccepted {
        id: u64,
        file_id: String,
        offset: u64,
    },
    FileInfo {
        id: u64,
        file_id: String,
        name: String,
        size: u64,
        sha256: String,
        mime: String,
    },
    FileData {
        file_id: String,
        offset: u64,
        data: String,
    },
    FileEnd {
        file_id: String,
    },
}

impl ServerFrame {
    /// Every `type` the server may send.
    pub const TYPES: [&'static str; 35] = [
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
        "group_joined",
        "member_joined",
        "group_left",
        "member_left",
        "group_invite",
        "group_invite_removed",
        "group_topic",
        "member_role",
        "groups",
        "members",
        "muted",
        "role",
        "audit",
        "message_deleted",
        "file_accepted",
        "file_info",
        "file_data",
        "file_end",
    ];

    /// The `id` of the request this frame answers, if it is a reply.
    pub fn reply_id(&self) -> Option<u64> {
        match self {
            ServerFrame::Welcome(w) => Some(w.id),
            ServerFrame::Ok(ok) => Some(ok.id),
            ServerFrame::Error(e) => e.id,
            ServerFrame::Who { id, .. } | ServerFrame::Pong { id } => Some(*id),
            ServerFrame::History(page) => Some(page.id),
            ServerFrame::Groups { id, .. }
            | ServerFrame::Members { id, .. }
            | ServerFrame::Audit { id, .. }
            | ServerFrame::FileAccepted { id, .. }
            | ServerFrame::FileInfo { id, .. } => Some(*id),
            _ => None,
        }
    }

    /// A plain `ok` reply.
    pub fn ok(id: u64) -> ServerFrame {
        ServerFrame::Ok(OkReply {
            id,
            msg_id: None,
            ts: None,
            chat: None,
        })
    }

    /// The frame as one line of JSON, newline included.
    pub fn to_line(&self) -> bytes::Bytes {
        super::codec::encode_line(self)
    }

    /// The line of `FileData { file_id, offset, data: base64(bytes) }`,
    /// the same bytes as [`ServerFrame::to_line`] gives, built without a
    /// `String` of base64 in between and without serde checking each of
    /// its characters for escapes (base64 has none): that check was 6 %
    /// of the server's CPU during a download.
    pub fn file_data_line(file_id: &str, offset: u64, bytes: &[u8]) -> bytes::Bytes {
        use base64::Engine as _;
        use std::io::Write as _;
        let mut out = Vec::with_capacity(64 + file_id.len() + bytes.len().div_ceil(3) * 4);
        out.extend_from_slice(br#"{"type":"file_data","file_id":"#);
        if serde_json::to_writer(&mut out, file_id).is_err() {
            return ServerFrame::FileData {
                file_id: file_id.to_owned(),
                offset,
                data: base64::engine::general_purpose::STANDARD.encode(bytes),
            }
            .to_line();
        }
        let _ = write!(out, r#","offset":{offset},"data":""#);
        let start = out.len();
        out.resize(start + bytes.len().div_ceil(3) * 4, 0);
        let written = base64::engine::general_purpose::STANDARD
            .encode_slice(bytes, &mut out[start..])
            .unwrap_or(0);
        out.truncate(start + written);
        out.extend_from_slice(b"\"}\n");
        bytes::Bytes::from(out)
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
    #[test]
    fn file_data_line_is_the_serialized_frame() {
        use base64::Engine as _;
        for len in [0usize, 1, 2, 3, 4, 32_768, 32_767] {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
            let frame = super::ServerFrame::FileData {
                file_id: "0af3\"x".to_owned(),
                offset: 98_304,
                data: base64::engine::general_purpose::STANDARD.encode(&bytes),
            };
            assert_eq!(
                super::ServerFrame::file_data_line("0af3\"x", 98_304, &bytes),
                frame.to_line(),
                "{len} bytes"
            );
        }
    }

    use super::*;
    use crate::protocol::{
        Role, MAX_GROUPS_JOINED, MAX_GROUP_MEMBERS, MAX_LISTED_CHATS, MAX_LISTED_ONLINE,
        MAX_LISTED_REQUESTS, MAX_PENDING_INVITES, MAX_SERVER_FRAME_BYTES, MAX_TOPIC_BYTES,
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
                .collect::<Vec<_>>()
                .into(),
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
            groups: (0..MAX_GROUPS_JOINED)
                .map(|i| GroupSummary {
                    chat: ChatKey::Group(longest_name(i)),
                    kind: GroupKind::Invite,
                    topic: longest_topic(),
                    role: GroupRole::Member,
                    unread: u64::MAX,
                    last_read: u64::MAX,
                })
                .collect(),
            invites: (0..MAX_PENDING_INVITES)
                .map(|i| InviteIn {
                    chat: ChatKey::Group(longest_name(i)),
                    from: longest_name(i),
                    ts: i64::MIN,
                })
                .collect(),
            public_last_read: u64::MAX,
            muted_until: Some(Some(i64::MIN)),
        };
        let line = ServerFrame::Welcome(Box::new(welcome)).to_line();
        assert!(line.len() <= MAX_SERVER_FRAME_BYTES, "{} bytes", line.len());
    }

    /// A topic as long as allowed, of a character that doubles when
    /// escaped.
    fn longest_topic() -> String {
        "\"".repeat(MAX_TOPIC_BYTES)
    }

    #[test]
    fn the_largest_group_joined_and_members_replies_fit_in_a_frame() {
        let members: Vec<GroupMember> = (0..MAX_GROUP_MEMBERS)
            .map(|i| GroupMember {
                user: longest_name(i),
                role: GroupRole::Member,
                online: false,
                status: Status::Available,
            })
            .collect();
        let joined = ServerFrame::GroupJoined {
            chat: ChatKey::Group(longest_name(0)),
            kind: GroupKind::Invite,
            topic: longest_topic(),
            role: GroupRole::Member,
            members: members.clone(),
        };
        let reply = ServerFrame::Members {
            id: u64::MAX,
            chat: ChatKey::Group(longest_name(0)),
            members,
        };
        for frame in [joined, reply] {
            let len = frame.to_line().len();
            assert!(len <= MAX_SERVER_FRAME_BYTES, "{len} bytes");
        }
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
                .collect::<Vec<_>>()
                .into(),
            more_online: u64::MAX,
        };
        assert!(who.to_line().len() <= MAX_SERVER_FRAME_BYTES);
    }
}

//! One module per request: its checks, its permission rule and its effect
//! live in one file, and [`Hub::request`] below is the table that routes
//! each request type to its module.
//!
//! Adding a request: add its variant to [`Request`] (src/protocol/frames.rs,
//! with its `type` name in `Request::TYPES`), write `cmd/<type>.rs` with a
//! `run` function, and add one arm here. What a request needs before it
//! reaches the hub (being logged in) is [`needs`].

mod accept;
mod admin_target;
mod audit;
mod ban;
mod cancel_request;
mod create_group;
mod decline_invite;
mod delete_group;
mod delete_message;
mod end_chat;
mod file_cancel;
mod file_done;
mod file_get;
mod file_offer;
mod groups;
mod history;
mod invite;
mod join;
mod kick;
mod kick_member;
mod leave;
mod logout;
mod mark_read;
mod members;
mod mute;
mod ping;
mod reject;
mod request_chat;
mod send;
mod set_member_role;
mod set_role;
mod set_status;
mod set_topic;
mod unban;
mod unmute;
mod who;

use super::groups::Lookup;
use super::*;
use crate::protocol::{
    GroupKind, GroupRole, MAX_GROUPS_JOINED, MAX_GROUPS_OWNED, MAX_GROUP_MEMBERS,
    MAX_PENDING_INVITES, MAX_SERVER_FRAME_BYTES,
};

/// Who sent a request, and the `id` its reply carries.
#[derive(Clone, Copy)]
pub(super) struct Cx {
    pub session: SessionId,
    pub me: AccountId,
    pub id: Option<u64>,
}

/// What a request needs before the server acts on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// Nothing: accepted on a fresh connection.
    Nothing,
    /// A logged-in session.
    Login,
    /// A logged-in session of an admin (`forbidden` for anyone else).
    Admin,
}

/// What `request` needs; a session answers `not_authenticated` to anything
/// needing a login before it has one.
pub fn needs(request: &Request) -> Needs {
    match request {
        Request::Register { .. } | Request::Login { .. } | Request::Ping | Request::Logout => {
            Needs::Nothing
        }
        Request::Kick { .. }
        | Request::Ban { .. }
        | Request::Unban { .. }
        | Request::Mute { .. }
        | Request::Unmute { .. }
        | Request::SetRole { .. }
        | Request::Audit { .. } => Needs::Admin,
        _ => Needs::Login,
    }
}

impl Hub {
    /// Handles one request of a logged-in session; a `history` request that
    /// may go ahead comes back as the job of reading its page, which happens
    /// outside the hub.
    pub(super) fn request(
        &mut self,
        session: SessionId,
        me: AccountId,
        id: Option<u64>,
        request: Request,
    ) -> Result<Option<Job>, Failure> {
        let cx = Cx { session, me, id };
        if needs(&request) == Needs::Admin && !self.is_admin(me) {
            return refuse(
                ErrorCode::Forbidden,
                format!("only admins may \"{}\"", request.type_name()),
            );
        }
        let hub = self;
        let done = match request {
            Request::History {
                chat,
                before,
                after,
                limit,
            } => {
                return history::run(hub, &cx, &chat, before, after, limit)
                    .map(|job| job.map(Job::History))
            }
            Request::FileGet { file_id, offset } => {
                return file_get::run(hub, &cx, &file_id, offset).map(|job| job.map(Job::Download));
            }
            Request::Ping => ping::run(hub, &cx),
            Request::Logout => logout::run(hub, &cx),
            Request::Send { chat, text } => send::run(hub, &cx, &chat, text),
            Request::SetStatus { status } => set_status::run(hub, &cx, status),
            Request::Who => who::run(hub, &cx),
            Request::RequestChat { user } => request_chat::run(hub, &cx, &user),
            Request::Accept { user } => accept::run(hub, &cx, &user),
            Request::Reject { user } => reject::run(hub, &cx, &user),
            Request::CancelRequest { user } => cancel_request::run(hub, &cx, &user),
            Request::EndChat { user } => end_chat::run(hub, &cx, &user),
            Request::MarkRead { chat, msg_id } => mark_read::run(hub, &cx, &chat, msg_id),
            Request::CreateGroup { chat, kind, topic } => {
                create_group::run(hub, &cx, &chat, kind.unwrap_or_default(), topic)
            }
            Request::Join { chat } => join::run(hub, &cx, &chat),
            Request::Leave { chat } => leave::run(hub, &cx, &chat),
            Request::Invite { chat, user } => invite::run(hub, &cx, &chat, &user),
            Request::DeclineInvite { chat } => decline_invite::run(hub, &cx, &chat),
            Request::KickMember { chat, user, reason } => {
                kick_member::run(hub, &cx, &chat, &user, reason)
            }
            Request::SetTopic { chat, topic } => set_topic::run(hub, &cx, &chat, topic),
            Request::SetMemberRole { chat, user, role } => {
                set_member_role::run(hub, &cx, &chat, &user, role)
            }
            Request::DeleteGroup { chat } => delete_group::run(hub, &cx, &chat),
            Request::Groups => groups::run(hub, &cx),
            Request::Members { chat } => members::run(hub, &cx, &chat),
            Request::Kick { user, reason } => kick::run(hub, &cx, &user, reason),
            Request::Ban {
                user,
                minutes,
                reason,
            } => ban::run(hub, &cx, &user, minutes, reason),
            Request::Unban { user } => unban::run(hub, &cx, &user),
            Request::Mute {
                user,
                minutes,
                reason,
            } => mute::run(hub, &cx, &user, minutes, reason),
            Request::Unmute { user } => unmute::run(hub, &cx, &user),
            Request::SetRole { user, role } => set_role::run(hub, &cx, &user, role),
            Request::Audit { before, limit } => audit::run(hub, &cx, before, limit),
            Request::DeleteMessage { chat, msg_id } => delete_message::run(hub, &cx, &chat, msg_id),
            Request::FileOffer {
                chat,
                name,
                size,
                sha256,
                mime,
                text,
            } => file_offer::run(hub, &cx, &chat, name, size, sha256, mime, text),
            Request::FileDone { file_id } => file_done::run(hub, &cx, &file_id),
            Request::FileCancel { file_id } => file_cancel::run(hub, &cx, &file_id),
            Request::FileGetCancel { file_id } => file_get::cancel(hub, &cx, &file_id),
            // Taken by the session itself: bytes never pass through here.
            Request::FileChunk { .. } => refuse(
                ErrorCode::Internal,
                "this request is handled by the connection, not the hub",
            ),
            Request::Register { .. } | Request::Login { .. } => refuse(
                ErrorCode::AlreadyAuthenticated,
                "this connection is already logged in",
            ),
        };
        done.map(|()| None)
    }
}

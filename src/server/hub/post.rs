//! Posting into a chat: what `send` and a finished file upload share.

use super::*;
use crate::protocol::FileRef;

impl Hub {
    /// The chat `me` may post into by `chat`, with the checks of `send`:
    /// `no_such_chat`, `not_open`, `not_member`, `muted` (in `#public` and
    /// groups only).
    pub(super) fn postable(
        &mut self,
        me: AccountId,
        chat: &str,
    ) -> Result<(ChatId, Target), Failure> {
        let target = self.target(me, chat)?;
        if matches!(target, Target::Public | Target::Group { .. }) {
            self.refuse_if_muted(me)?;
        }
        let chat_id = match &target {
            Target::Public => PUBLIC_CHAT,
            Target::Group { chat, .. } => *chat,
            Target::Private { chat: Some(c), .. } if c.is_open => c.id,
            Target::Private { partner_name, .. } => {
                return refuse(
                    ErrorCode::NotOpen,
                    format!("no open chat with {partner_name}"),
                )
            }
        };
        Ok((chat_id, target))
    }

    /// Stores a message (with a file, for an upload) and sends it to
    /// everyone in the chat, each with the chat named as they see it; the
    /// poster's `ok` carries its msg_id and ts.
    pub(super) fn post(
        &mut self,
        cx_session: SessionId,
        id: Option<u64>,
        me: AccountId,
        (chat_id, target): (ChatId, Target),
        text: String,
        file: Option<FileRef>,
    ) -> Result<u64, Failure> {
        let ts = now_ms().max(self.last_ts);
        let msg_id = self.store.insert_message(chat_id, me, ts, &text)?;
        self.last_ts = ts;
        if let Some(id) = id {
            self.send(
                cx_session,
                &ServerFrame::Ok(OkReply {
                    id,
                    msg_id: Some(msg_id),
                    ts: Some(ts),
                    chat: None,
                }),
            );
        }
        let from = self.name_of(me)?;
        let mut message = Message {
            chat: ChatKey::Public,
            msg_id,
            ts,
            from: from.clone(),
            text,
            deleted: false,
            file,
        };
        match target {
            Target::Public => self.broadcast(&ServerFrame::Message(message), None),
            Target::Group { chat, key } => {
                message.chat = key;
                self.tell_members(chat, &ServerFrame::Message(message), None);
            }
            Target::Private {
                partner,
                partner_name,
                ..
            } => {
                message.chat = ChatKey::Private(partner_name);
                self.send_to_user(me, &ServerFrame::Message(message.clone()), None);
                message.chat = ChatKey::Private(from);
                self.send_to_user(partner, &ServerFrame::Message(message), None);
            }
        }
        Ok(msg_id)
    }
}

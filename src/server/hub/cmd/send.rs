use super::*;

pub(super) fn run(hub: &mut Hub, cx: &Cx, chat: &str, text: String) -> Result<(), Failure> {
    let Cx { session, me, id } = *cx;
    let target = hub.target(me, chat)?;
    if matches!(target, Target::Public | Target::Group { .. }) {
        hub.refuse_if_muted(me)?;
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
    let ts = now_ms().max(hub.last_ts);
    let msg_id = hub.store.insert_message(chat_id, me, ts, &text)?;
    hub.last_ts = ts;
    if let Some(id) = id {
        hub.send(
            session,
            &ServerFrame::Ok(OkReply {
                id,
                msg_id: Some(msg_id),
                ts: Some(ts),
                chat: None,
            }),
        );
    }
    let from = hub.name_of(me)?;
    match target {
        Target::Public => {
            let message = ServerFrame::Message(Message {
                chat: ChatKey::Public,
                msg_id,
                ts,
                from,
                text,
                deleted: false,
            });
            hub.broadcast(&message, None);
        }
        Target::Group { chat, key } => {
            let message = ServerFrame::Message(Message {
                chat: key,
                msg_id,
                ts,
                from,
                text,
                deleted: false,
            });
            hub.tell_members(chat, &message, None);
        }
        Target::Private {
            partner,
            partner_name,
            ..
        } => {
            let mut message = Message {
                chat: ChatKey::Private(partner_name),
                msg_id,
                ts,
                from: from.clone(),
                text,
                deleted: false,
            };
            hub.send_to_user(me, &ServerFrame::Message(message.clone()), None);
            message.chat = ChatKey::Private(from);
            hub.send_to_user(partner, &ServerFrame::Message(message), None);
        }
    }
    Ok(())
}

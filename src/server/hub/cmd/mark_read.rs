use super::*;

pub(super) fn run(hub: &mut Hub, cx: &Cx, chat: &str, msg_id: u64) -> Result<(), Failure> {
    let Cx { session, me, id } = *cx;
    let (chat_id, key) = hub.readable_chat(me, chat)?;
    // Never past the newest message, so a marker cannot hide messages
    // that do not exist yet.
    let msg_id = msg_id.min(hub.store.last_msg_id());
    let old = hub.store.read_marker(me, chat_id)?.unwrap_or(0);
    if msg_id > old {
        hub.store.set_read_marker(me, chat_id, msg_id)?;
        hub.send_to_user(me, &ServerFrame::Read { chat: key, msg_id }, Some(session));
    }
    hub.reply_ok(session, id);
    Ok(())
}

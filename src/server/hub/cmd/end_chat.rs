use super::*;

pub(super) fn run(hub: &mut Hub, cx: &Cx, user: &str) -> Result<(), Failure> {
    let Cx { session, me, id } = *cx;
    let (partner, partner_name) = hub.other_user(me, user)?;
    let Some(chat) = hub.store.private_chat(me, partner)?.filter(|c| c.is_open) else {
        return refuse(
            ErrorCode::NotOpen,
            format!("no open chat with {partner_name}"),
        );
    };
    hub.store.end_private_chat(chat.id, now_ms())?;
    hub.reply_ok(session, id);
    let me_name = hub.name_of(me)?;
    let mine = ServerFrame::ChatEnded {
        chat: ChatKey::Private(partner_name.clone()),
        user: partner_name,
        by: me_name.clone(),
    };
    let theirs = ServerFrame::ChatEnded {
        chat: ChatKey::Private(me_name.clone()),
        user: me_name.clone(),
        by: me_name,
    };
    hub.send_to_user(me, &mine, None);
    hub.send_to_user(partner, &theirs, None);
    Ok(())
}

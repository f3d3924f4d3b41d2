use super::*;

/// `decline_invite`: drops the caller's invitation, whether or not the
/// group still exists (`no_request` when there is none, so that the answer
/// says nothing about hidden groups).
pub(super) fn run(hub: &mut Hub, cx: &Cx, chat: &str) -> Result<(), Failure> {
    let Cx { session, me, id } = *cx;
    let no_request = || {
        let shown: String = chat.chars().take(64).collect();
        refuse(
            ErrorCode::NoRequest,
            format!("you have no invitation to {shown}"),
        )
    };
    let group = match ChatKey::parse(chat) {
        Some(ChatKey::Group(name)) => hub.groups.id_of(&name.key()),
        _ => None,
    };
    let Some(group) = group else {
        return no_request();
    };
    if !hub.store.remove_invite(group, me)? {
        return no_request();
    }
    hub.reply_ok(session, id);
    let chat = hub.group_key(group);
    hub.send_to_user(me, &ServerFrame::GroupInviteRemoved { chat }, Some(session));
    Ok(())
}

use super::*;

pub(super) fn run(hub: &mut Hub, cx: &Cx, user: &str) -> Result<(), Failure> {
    let Cx { session, me, id } = *cx;
    let (from, from_name) = hub.other_user(me, user)?;
    if !hub.store.remove_request(from, me)? {
        return refuse(
            ErrorCode::NoRequest,
            format!("{from_name} has not asked you for a chat"),
        );
    }
    hub.reply_ok(session, id);
    let me_name = hub.name_of(me)?;
    hub.send_to_user(from, &ServerFrame::ChatRejected { user: me_name }, None);
    hub.tell_other_sessions_request_gone(session, me, from_name);
    Ok(())
}

use super::*;

pub(super) fn run(hub: &mut Hub, cx: &Cx, user: &str) -> Result<(), Failure> {
    let Cx { session, me, id } = *cx;
    let (to, to_name) = hub.other_user(me, user)?;
    if !hub.store.remove_request(me, to)? {
        return refuse(
            ErrorCode::NoRequest,
            format!("you have no pending request to {to_name}"),
        );
    }
    hub.reply_ok(session, id);
    let me_name = hub.name_of(me)?;
    hub.send_to_user(to, &ServerFrame::ChatRequestRemoved { user: me_name }, None);
    hub.tell_other_sessions_request_gone(session, me, to_name);
    Ok(())
}

use super::*;

pub(super) fn run(hub: &mut Hub, cx: &Cx, user: &str) -> Result<(), Failure> {
    let Cx { session, me, id } = *cx;
    let (from, from_name) = hub.other_user(me, user)?;
    let opened = hub.store.atomically(|store| {
        if !store.remove_request(from, me)? {
            return Ok(false);
        }
        store.open_private_chat(me, from, now_ms())?;
        Ok(true)
    })?;
    if !opened {
        return refuse(
            ErrorCode::NoRequest,
            format!("{from_name} has not asked you for a chat"),
        );
    }
    hub.reply_ok(session, id);
    hub.open_chat(me, from)
}

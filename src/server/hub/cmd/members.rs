use super::*;

/// `members`: the members of a group whoever can see it.
pub(super) fn run(hub: &mut Hub, cx: &Cx, chat: &str) -> Result<(), Failure> {
    let Cx { session, me, id } = *cx;
    let group = hub.group_named(me, chat, Lookup::Other)?;
    let Some(id) = id else {
        return Ok(());
    };
    let members = hub.member_list(group)?;
    let chat = hub.group_key(group);
    hub.send(session, &ServerFrame::Members { id, chat, members });
    Ok(())
}

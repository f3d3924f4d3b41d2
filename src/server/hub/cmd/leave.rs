use super::*;

/// `leave`: the group goes on without the leaver (a new owner if it was
/// the owner), or is deleted when nobody is left.
pub(super) fn run(hub: &mut Hub, cx: &Cx, chat: &str) -> Result<(), Failure> {
    let Cx { session, me, id } = *cx;
    let group = hub.group_named(me, chat, Lookup::Other)?;
    hub.member_role(me, group)?;
    hub.reply_ok(session, id);
    hub.remove_member(group, me, None, None)
}

use super::*;

/// `delete_group`: the owner (or an admin) deletes the group, its messages
/// and its invitations; every member is told who deleted it.
pub(super) fn run(hub: &mut Hub, cx: &Cx, chat: &str) -> Result<(), Failure> {
    let Cx { session, me, id } = *cx;
    let group = hub.group_named(me, chat, Lookup::Other)?;
    let power = hub.moderator_power(me, group, "delete it")?;
    if power < GroupRole::Owner {
        let key = hub.group_key(group);
        return refuse(
            ErrorCode::Forbidden,
            format!("only the owner of {key} may delete it"),
        );
    }
    hub.reply_ok(session, id);
    let by = hub.name_of(me)?;
    let key = hub.group_key(group).to_string();
    let members = hub.groups.get(group).map_or(0, |g| g.members.len());
    hub.audit(
        Some(by.as_str()),
        "delete_group",
        Some((&key, None)),
        &format!("{members} members"),
    )?;
    hub.delete_group_now(group, Some(by), Some("deleted".to_owned()))
}

use super::*;

/// `join`: an open group by anyone, an invite group with an invitation
/// (which it consumes).
pub(super) fn run(hub: &mut Hub, cx: &Cx, chat: &str) -> Result<(), Failure> {
    let Cx { session, me, id } = *cx;
    let group = hub.group_named(me, chat, Lookup::Join)?;
    let (key, kind, members) = match hub.groups.get(group) {
        Some(g) => (g.key(), g.kind, g.members.len()),
        None => return refuse(ErrorCode::NoSuchChat, "that group is gone"),
    };
    if hub
        .groups
        .get(group)
        .is_some_and(|g| g.members.contains_key(&me))
    {
        return refuse(
            ErrorCode::AlreadyMember,
            format!("you are already in {key}"),
        );
    }
    let invited = hub.store.invite(group, me)?.is_some();
    if kind == GroupKind::Invite && !invited {
        return refuse(
            ErrorCode::Forbidden,
            format!("{key} is an invite-only group; you need an invitation"),
        );
    }
    if hub.groups.joined_count(me) >= MAX_GROUPS_JOINED {
        return refuse(
            ErrorCode::RateLimited,
            format!("you are in {MAX_GROUPS_JOINED} groups, the most allowed; leave one first"),
        );
    }
    if members >= MAX_GROUP_MEMBERS {
        return refuse(
            ErrorCode::RateLimited,
            format!("{key} has {MAX_GROUP_MEMBERS} members, the most a group may have"),
        );
    }
    if invited {
        hub.store.remove_invite(group, me)?;
    }
    hub.reply_ok(session, id);
    hub.add_member(group, me, GroupRole::Member)
}

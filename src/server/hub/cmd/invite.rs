use super::*;

/// `invite`: any member of an open group, the mods and owner of an invite
/// group (and admins) may invite someone who is not a member yet.
pub(super) fn run(hub: &mut Hub, cx: &Cx, chat: &str, user: &str) -> Result<(), Failure> {
    let Cx { session, me, id } = *cx;
    let group = hub.group_named(me, chat, Lookup::Other)?;
    let power = hub.moderator_power(me, group, "invite")?;
    let (key, kind) = match hub.groups.get(group) {
        Some(g) => (g.key(), g.kind),
        None => return refuse(ErrorCode::NoSuchChat, "that group is gone"),
    };
    if kind == GroupKind::Invite && power < GroupRole::Mod {
        return refuse(
            ErrorCode::Forbidden,
            format!("only the mods and the owner of {key} may invite"),
        );
    }
    let (target, target_name) = hub.other_user(me, user)?;
    if hub
        .groups
        .get(group)
        .is_some_and(|g| g.members.contains_key(&target))
    {
        return refuse(
            ErrorCode::AlreadyMember,
            format!("{target_name} is already in {key}"),
        );
    }
    if hub.store.invite(group, target)?.is_some() {
        return refuse(
            ErrorCode::AlreadyRequested,
            format!("{target_name} has been invited to {key} already"),
        );
    }
    let (_, waiting) = hub.store.invites_to(target, 0)?;
    if waiting >= MAX_PENDING_INVITES as u64 {
        return refuse(
            ErrorCode::RateLimited,
            format!(
                "{target_name} has {MAX_PENDING_INVITES} invitations waiting, the most allowed; \
                 try again once they have answered some"
            ),
        );
    }
    let ts = now_ms();
    hub.store.add_invite(group, target, me, ts)?;
    hub.reply_ok(session, id);
    let from = hub.name_of(me)?;
    hub.send_to_user(
        target,
        &ServerFrame::GroupInvite {
            chat: key,
            from,
            ts,
        },
        None,
    );
    Ok(())
}

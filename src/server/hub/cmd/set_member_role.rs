use super::*;

/// `set_member_role`: the owner (or an admin) sets a member's role. Giving
/// `owner` away makes the old owner a mod; the owner's own role changes in
/// no other way.
pub(super) fn run(
    hub: &mut Hub,
    cx: &Cx,
    chat: &str,
    user: &str,
    role: GroupRole,
) -> Result<(), Failure> {
    let Cx { session, me, id } = *cx;
    let group = hub.group_named(me, chat, Lookup::Other)?;
    let power = hub.moderator_power(me, group, "set roles")?;
    let key = hub.group_key(group);
    if power < GroupRole::Owner {
        return refuse(
            ErrorCode::Forbidden,
            format!("only the owner of {key} may set roles"),
        );
    }
    let Ok(name) = UserName::parse(user) else {
        return refuse(ErrorCode::NoSuchUser, format!("there is no user {user:?}"));
    };
    let Some(account) = hub.store.account_by_key(&name.key())? else {
        return refuse(ErrorCode::NoSuchUser, format!("there is no user {name}"));
    };
    let target = account.id;
    let target_name = hub.name_of(target)?;
    let Some(current) = hub.groups.get(group).and_then(|g| g.role_of(target)) else {
        return refuse(
            ErrorCode::NotMember,
            format!("{target_name} is not in {key}"),
        );
    };
    if current == role {
        hub.reply_ok(session, id);
        return Ok(());
    }
    if current == GroupRole::Owner {
        return refuse(
            ErrorCode::Forbidden,
            "the owner's role changes only by giving owner to another member",
        );
    }
    let old_owner = match role {
        GroupRole::Owner => hub.groups.get(group).and_then(|g| {
            g.members
                .iter()
                .find(|(_, m)| m.role == GroupRole::Owner)
                .map(|(a, _)| *a)
        }),
        _ => None,
    };
    hub.store.set_member_role(group, target, role)?;
    hub.groups.set_role(group, target, role);
    if let Some(old) = old_owner {
        hub.store.set_member_role(group, old, GroupRole::Mod)?;
        hub.groups.set_role(group, old, GroupRole::Mod);
    }
    hub.reply_ok(session, id);
    let by = hub.name_of(me)?;
    hub.tell_members(
        group,
        &ServerFrame::MemberRole {
            chat: key.clone(),
            user: target_name,
            role,
            by: Some(by.clone()),
        },
        None,
    );
    if let Some(old) = old_owner {
        let user = hub.name_of(old)?;
        hub.tell_members(
            group,
            &ServerFrame::MemberRole {
                chat: key,
                user,
                role: GroupRole::Mod,
                by: Some(by),
            },
            None,
        );
    }
    Ok(())
}

use super::*;
use crate::server::hub::groups::checked_short_text;

/// `kick_member`: mods may kick members, the owner anyone but itself, an
/// admin anyone (the owner included).
pub(super) fn run(
    hub: &mut Hub,
    cx: &Cx,
    chat: &str,
    user: &str,
    reason: Option<String>,
) -> Result<(), Failure> {
    let Cx { session, me, id } = *cx;
    let group = hub.group_named(me, chat, Lookup::Other)?;
    let power = hub.moderator_power(me, group, "kick")?;
    let key = hub.group_key(group);
    if power < GroupRole::Mod {
        return refuse(
            ErrorCode::Forbidden,
            format!("only the mods and the owner of {key} may kick"),
        );
    }
    let (target, target_name) = hub.other_user(me, user)?;
    let Some(target_role) = hub.groups.get(group).and_then(|g| g.role_of(target)) else {
        return refuse(
            ErrorCode::NotMember,
            format!("{target_name} is not in {key}"),
        );
    };
    let allowed = hub.is_admin(me)
        || match power {
            GroupRole::Owner => true,
            GroupRole::Mod => target_role == GroupRole::Member,
            GroupRole::Member => false,
        };
    if !allowed {
        return refuse(
            ErrorCode::Forbidden,
            format!(
                "a mod may kick only members, and {target_name} is {}",
                target_role.as_str()
            ),
        );
    }
    if let Some(reason) = &reason {
        checked_short_text(reason, "reason")?;
    }
    hub.reply_ok(session, id);
    let by = hub.name_of(me)?;
    hub.remove_member(group, target, Some(by), reason)
}

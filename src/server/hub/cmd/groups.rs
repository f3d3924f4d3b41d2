use super::*;
use crate::protocol::GroupInfo;

/// Room for the reply's own fields around its list.
const REPLY_OVERHEAD: usize = 256;

/// `groups`: the directory. Open groups for everyone; invite groups only
/// for their members and for admins. Largest first, then by name, as many
/// as fit in one frame (`more` counts the rest).
pub(super) fn run(hub: &mut Hub, cx: &Cx) -> Result<(), Failure> {
    let Cx { session, me, id } = *cx;
    let Some(id) = id else {
        return Ok(());
    };
    let admin = hub.is_admin(me);
    let mut listed: Vec<GroupInfo> = hub
        .groups
        .all()
        .filter(|(_, g)| admin || g.kind == GroupKind::Open || g.members.contains_key(&me))
        .map(|(_, g)| GroupInfo {
            chat: g.key(),
            kind: g.kind,
            topic: g.topic.clone(),
            members: g.members.len() as u64,
        })
        .collect();
    listed.sort_by(|a, b| {
        b.members.cmp(&a.members).then_with(|| {
            a.chat
                .to_string()
                .to_ascii_lowercase()
                .cmp(&b.chat.to_string().to_ascii_lowercase())
        })
    });
    let budget = MAX_SERVER_FRAME_BYTES - REPLY_OVERHEAD;
    let mut used = 0;
    let fits = listed
        .iter()
        .take_while(|g| {
            used += serde_json::to_vec(g).map_or(budget, |v| v.len() + 1);
            used <= budget
        })
        .count();
    let more = (listed.len() - fits) as u64;
    listed.truncate(fits);
    hub.send(
        session,
        &ServerFrame::Groups {
            id,
            groups: listed,
            more,
        },
    );
    Ok(())
}

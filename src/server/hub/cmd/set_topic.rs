use super::*;
use crate::server::hub::groups::checked_short_text;

/// `set_topic`: mods and the owner (and admins); `""` clears it.
pub(super) fn run(hub: &mut Hub, cx: &Cx, chat: &str, topic: String) -> Result<(), Failure> {
    let Cx { session, me, id } = *cx;
    let group = hub.group_named(me, chat, Lookup::Other)?;
    let power = hub.moderator_power(me, group, "set the topic")?;
    let key = hub.group_key(group);
    if power < GroupRole::Mod {
        return refuse(
            ErrorCode::Forbidden,
            format!("only the mods and the owner of {key} may set its topic"),
        );
    }
    if !topic.is_empty() {
        checked_short_text(&topic, "topic")?;
    }
    hub.refuse_if_muted(me)?;
    hub.store.set_topic(group, &topic)?;
    if let Some(g) = hub.groups.get_mut(group) {
        g.topic = topic.clone();
    }
    hub.reply_ok(session, id);
    let by = hub.name_of(me)?;
    hub.tell_members(
        group,
        &ServerFrame::GroupTopic {
            chat: key,
            topic,
            by,
        },
        None,
    );
    Ok(())
}

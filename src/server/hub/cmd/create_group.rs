use super::*;
use crate::server::hub::groups::checked_short_text;

/// `create_group`: a new group with its creator as owner.
pub(super) fn run(
    hub: &mut Hub,
    cx: &Cx,
    chat: &str,
    kind: GroupKind,
    topic: Option<String>,
) -> Result<(), Failure> {
    let Cx { session, me, id } = *cx;
    let name = match ChatKey::parse(chat) {
        Some(ChatKey::Group(name)) => name,
        Some(ChatKey::Public) => {
            return refuse(ErrorCode::InvalidName, "#public is the public room's name")
        }
        _ => {
            return refuse(
                ErrorCode::InvalidName,
                "a group name is # and 1-32 letters, digits, _ or -, starting with a letter",
            )
        }
    };
    let topic = topic.unwrap_or_default();
    if !topic.is_empty() {
        checked_short_text(&topic, "topic")?;
    }
    if hub.groups.id_of(&name.key()).is_some() {
        return refuse(
            ErrorCode::NameTaken,
            format!("a group named #{name} exists already"),
        );
    }
    if hub.groups.owned_count(me) >= MAX_GROUPS_OWNED {
        return refuse(
            ErrorCode::RateLimited,
            format!("you own {MAX_GROUPS_OWNED} groups, the most allowed"),
        );
    }
    if hub.groups.joined_count(me) >= MAX_GROUPS_JOINED {
        return refuse(
            ErrorCode::RateLimited,
            format!("you are in {MAX_GROUPS_JOINED} groups, the most allowed; leave one first"),
        );
    }
    let chat_id = match hub.store.create_group(name.as_str(), kind, &topic) {
        Err(StoreError::NameTaken) => {
            return refuse(
                ErrorCode::NameTaken,
                format!("a group named #{name} exists already"),
            )
        }
        other => other?,
    };
    hub.groups.insert(chat_id, name.clone(), kind, topic);
    if let Some(id) = id {
        hub.send(
            session,
            &ServerFrame::Ok(OkReply {
                id,
                msg_id: None,
                ts: None,
                chat: Some(ChatKey::Group(name)),
            }),
        );
    }
    hub.add_member(chat_id, me, GroupRole::Owner)
}

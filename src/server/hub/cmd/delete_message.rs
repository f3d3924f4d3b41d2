use super::*;

/// `delete_message`: the author anywhere; a group's mods and owner, and
/// admins, in groups; admins in `#public`; nobody else. Everyone who can
/// read the chat is told, and history keeps the message's place, empty.
pub(super) fn run(hub: &mut Hub, cx: &Cx, chat: &str, msg_id: u64) -> Result<(), Failure> {
    let Cx { session, me, id } = *cx;
    let no_such = || {
        refuse(
            ErrorCode::NoSuchMessage,
            format!(
                "there is no message {msg_id} in {}",
                chat.chars().take(64).collect::<String>()
            ),
        )
    };
    let Some((chat_id, message)) = hub.store.message(msg_id)? else {
        return no_such();
    };
    // Where the message really is, and whether `me` is in that chat.
    enum Place {
        Public,
        Group,
        Private(AccountId, AccountId),
    }
    let place = if chat_id == PUBLIC_CHAT {
        Place::Public
    } else if hub.groups.get(chat_id).is_some() {
        Place::Group
    } else {
        match hub.store.private_chat_members(chat_id)? {
            Some((a, b)) => Place::Private(a, b),
            None => return no_such(),
        }
    };
    if let Place::Private(a, b) = place {
        if me != a && me != b {
            return refuse(
                ErrorCode::Forbidden,
                "you cannot delete messages in a private chat you are not part of",
            );
        }
    }
    if message.deleted || named_chat(hub, me, chat)? != Some(chat_id) {
        return no_such();
    }
    let author = message.sender == me;
    let allowed = author
        || match place {
            Place::Public => hub.is_admin(me),
            Place::Group => {
                hub.is_admin(me)
                    || hub
                        .groups
                        .get(chat_id)
                        .and_then(|g| g.role_of(me))
                        .is_some_and(|r| r >= GroupRole::Mod)
            }
            Place::Private(..) => false,
        };
    if !allowed {
        return refuse(
            ErrorCode::Forbidden,
            "you may delete only your own messages here",
        );
    }
    hub.store.delete_message(msg_id)?;
    hub.reply_ok(session, id);
    let by = hub.name_of(me)?;
    match place {
        Place::Public => hub.broadcast(
            &ServerFrame::MessageDeleted {
                chat: ChatKey::Public,
                msg_id,
                by: by.clone(),
            },
            None,
        ),
        Place::Group => {
            let key = hub.group_key(chat_id);
            hub.tell_members(
                chat_id,
                &ServerFrame::MessageDeleted {
                    chat: key,
                    msg_id,
                    by: by.clone(),
                },
                None,
            );
        }
        Place::Private(a, b) => {
            for (reader, other) in [(a, b), (b, a)] {
                let chat = ChatKey::Private(hub.name_of(other)?);
                hub.send_to_user(
                    reader,
                    &ServerFrame::MessageDeleted {
                        chat,
                        msg_id,
                        by: by.clone(),
                    },
                    None,
                );
            }
        }
    }
    let key = match place {
        Place::Public => ChatKey::Public.to_string(),
        Place::Group => hub.group_key(chat_id).to_string(),
        Place::Private(..) => "a private chat".to_owned(),
    };
    hub.audit(
        Some(by.as_str()),
        "delete_message",
        Some((&message.sender_name, Some(message.sender))),
        &format!("message {msg_id} in {key}"),
    )?;
    Ok(())
}

/// The chat `chat` names for `me`, without refusing: `None` when it names
/// nothing `me` could be in.
fn named_chat(hub: &mut Hub, me: AccountId, chat: &str) -> Result<Option<ChatId>, Failure> {
    Ok(match ChatKey::parse(chat) {
        Some(ChatKey::Public) => Some(PUBLIC_CHAT),
        Some(ChatKey::Group(name)) => hub.groups.id_of(&name.key()),
        Some(ChatKey::Private(name)) => match hub.store.account_by_key(&name.key())? {
            Some(other) if other.id != me => hub.store.private_chat(me, other.id)?.map(|c| c.id),
            _ => None,
        },
        None => None,
    })
}

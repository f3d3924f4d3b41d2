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
    let found = hub.store.message(msg_id)?;
    // A private chat one is not part of: forbidden, whatever `chat` says.
    if let Some((chat_id, _)) = &found {
        if let Some((a, b)) = hub.store.private_chat_members(*chat_id)? {
            if me != a && me != b {
                return refuse(
                    ErrorCode::Forbidden,
                    "you cannot delete messages in a private chat you are not part of",
                );
            }
        }
    }
    // The chat named, answered as any request naming it (a missing or
    // hidden group is `no_such_chat`).
    let named = named_chat(hub, me, chat)?;
    let Some((chat_id, message)) = found else {
        return no_such();
    };
    if message.deleted || named != Some(chat_id) {
        return no_such();
    }
    // Where the message is.
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
    let file = hub.store.file_sha_of_message(msg_id)?;
    hub.store.delete_message(msg_id)?;
    if let Some(sha256) = file {
        hub.out.push(Effect::RemoveBlobIfUnused(sha256));
    }
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

/// The chat `chat` names for `me`: `None` when it names nothing `me` could
/// be in; `no_such_chat` for a group that is missing or hidden from `me`.
fn named_chat(hub: &mut Hub, me: AccountId, chat: &str) -> Result<Option<ChatId>, Failure> {
    Ok(match ChatKey::parse(chat) {
        Some(ChatKey::Public) => Some(PUBLIC_CHAT),
        Some(ChatKey::Group(_)) => Some(hub.group_named(me, chat, Lookup::Other)?),
        Some(ChatKey::Private(name)) => match hub.store.account_by_key(&name.key())? {
            Some(other) if other.id != me => hub.store.private_chat(me, other.id)?.map(|c| c.id),
            _ => None,
        },
        None => None,
    })
}

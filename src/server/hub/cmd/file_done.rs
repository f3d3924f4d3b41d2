use super::*;
use crate::protocol::FileRef;
use crate::server::store::StoredFile;

/// `file_done`, once the connection has checked the bytes (size and
/// SHA-256) and made them durable: the chat is checked again as for
/// `send`, then the file is posted as a message.
pub(super) fn run(hub: &mut Hub, cx: &Cx, file_id: &str) -> Result<(), Failure> {
    let Some(file) = hub.store.file(file_id)? else {
        return file_cancel::no_such_file();
    };
    if file.uploader != cx.me || file.msg_id.is_some() {
        return file_cancel::no_such_file();
    }
    // Only bytes checked and on disk are ever posted: never a message
    // pointing at a file that is not there.
    if !hub.files.has_blob(&file.sha256) {
        return Err(Failure::Frame(Box::new(ErrorFrame {
            offset: Some(hub.files.received(file_id)),
            ..ErrorFrame::new(
                None,
                ErrorCode::BadRequest,
                "the server does not hold this file's bytes; send them first",
            )
        })));
    }
    // The connection marked the content in flight: it is settled once,
    // whatever happens now (after the commit, or with a failed batch).
    let sha256 = file.sha256.clone();
    let posted = post_file(hub, cx, file);
    hub.out.push(Effect::UploadSettled {
        file_id: file_id.to_owned(),
        sha256,
        posted: posted.is_ok(),
    });
    posted
}

fn post_file(hub: &mut Hub, cx: &Cx, file: StoredFile) -> Result<(), Failure> {
    let chat = chat_name_for(hub, cx.me, file.chat)?;
    let place = hub.postable(cx.me, &chat)?;
    let text = file.caption.clone().unwrap_or_else(|| file.name.clone());
    let file_id = file.file_id.clone();
    let msg_id = hub.post(
        cx.session,
        cx.id,
        cx.me,
        place,
        text,
        Some(FileRef {
            file_id: file.file_id,
            name: file.name,
            size: file.size,
            sha256: file.sha256,
            mime: file.mime,
        }),
    )?;
    hub.store.finish_upload(&file_id, msg_id)?;
    Ok(())
}

/// The chat `chat` as `me` names it, to check it again like `send` does.
fn chat_name_for(hub: &mut Hub, me: AccountId, chat: ChatId) -> Result<String, Failure> {
    if chat == PUBLIC_CHAT {
        return Ok(ChatKey::Public.to_string());
    }
    if hub.groups.get(chat).is_some() {
        return Ok(hub.group_key(chat).to_string());
    }
    match hub.store.private_chat_members(chat)? {
        Some((a, b)) => {
            let other = if a == me { b } else { a };
            Ok(ChatKey::Private(hub.name_of(other)?).to_string())
        }
        // The group was deleted meanwhile.
        None => refuse(ErrorCode::NoSuchChat, "the chat of this upload is gone"),
    }
}

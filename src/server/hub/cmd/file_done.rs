use super::*;
use crate::protocol::FileRef;
use crate::server::store::StoredFile;

/// `file_done`, once the connection has checked the bytes (size and
/// SHA-256) and made them durable: the chat is checked again as for
/// `send`, then the file is posted as a message.
pub(super) fn run(hub: &mut Hub, cx: &Cx, file_id: &str) -> Result<(), Failure> {
    let file = hub.store.file(file_id)?;
    if file.as_ref().is_some_and(|f| f.uploader != cx.me) {
        // Someone else's upload: theirs to settle.
        return file_cancel::no_such_file();
    }
    // The connection marked the content in flight when it checked it: it
    // is settled once, whatever happens now (after the commit, or with a
    // failed batch), refusals included.
    let posted = match file {
        Some(file) => check_and_post(hub, cx, file_id, file),
        None => file_cancel::no_such_file(),
    };
    hub.out.push(Effect::UploadSettled {
        file_id: file_id.to_owned(),
        posted: posted.is_ok(),
    });
    posted
}

fn check_and_post(hub: &mut Hub, cx: &Cx, file_id: &str, file: StoredFile) -> Result<(), Failure> {
    if file.msg_id.is_some() {
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
    post_file(hub, cx, file)
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

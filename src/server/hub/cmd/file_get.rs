use super::*;
use crate::server::hub::DownloadJob;

/// `file_get`: whoever can read the chat a file was posted in may fetch it,
/// from `offset`; anyone else gets `no_such_file`, as for a file that does
/// not exist or was deleted. The bytes are streamed by the connection.
pub(super) fn run(
    hub: &mut Hub,
    cx: &Cx,
    file_id: &str,
    offset: u64,
) -> Result<Option<DownloadJob>, Failure> {
    let Some(id) = cx.id else {
        return refuse(ErrorCode::BadRequest, "file_get must carry an id");
    };
    let Some(file) = hub.store.file(file_id)? else {
        return file_cancel::no_such_file();
    };
    if file.msg_id.is_none() || file.message_deleted || !can_read(hub, cx.me, file.chat)? {
        return file_cancel::no_such_file();
    }
    if offset > file.size {
        return Err(Failure::Frame(Box::new(ErrorFrame {
            offset: Some(file.size),
            ..ErrorFrame::new(
                None,
                ErrorCode::BadRequest,
                format!("the file has {} bytes", file.size),
            )
        })));
    }
    Ok(Some(DownloadJob {
        id,
        file_id: file.file_id,
        name: file.name,
        size: file.size,
        path: hub.files.blob_path(&file.sha256),
        sha256: file.sha256,
        mime: file.mime,
        offset,
    }))
}

/// `file_get_cancel` with no download of that file running: `ok` for a
/// file the caller may read, `no_such_file` otherwise.
pub(super) fn cancel(hub: &mut Hub, cx: &Cx, file_id: &str) -> Result<(), Failure> {
    let readable = match hub.store.file(file_id)? {
        Some(f) if f.msg_id.is_some() && !f.message_deleted => can_read(hub, cx.me, f.chat)?,
        _ => false,
    };
    if !readable {
        return file_cancel::no_such_file();
    }
    hub.reply_ok(cx.session, cx.id);
    Ok(())
}

/// Whether `me` may read chat `chat` now.
fn can_read(hub: &mut Hub, me: AccountId, chat: ChatId) -> Result<bool, Failure> {
    if chat == PUBLIC_CHAT {
        return Ok(true);
    }
    if let Some(group) = hub.groups.get(chat) {
        return Ok(group.members.contains_key(&me));
    }
    Ok(hub
        .store
        .private_chat_members(chat)?
        .is_some_and(|(a, b)| a == me || b == me))
}

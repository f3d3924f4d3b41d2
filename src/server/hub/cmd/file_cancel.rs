use super::*;

/// `file_cancel`: drops an unfinished upload of the caller's.
pub(super) fn run(hub: &mut Hub, cx: &Cx, file_id: &str) -> Result<(), Failure> {
    let upload = hub.store.file(file_id)?;
    match upload {
        Some(f) if f.uploader == cx.me && f.msg_id.is_none() => {
            hub.store.drop_upload(file_id)?;
            hub.files.forget(file_id);
            hub.reply_ok(cx.session, cx.id);
            Ok(())
        }
        _ => no_such_file(),
    }
}

pub(super) fn no_such_file<T>() -> Result<T, Failure> {
    refuse(ErrorCode::NoSuchFile, "there is no such file")
}

use super::*;
use crate::protocol::validate_text;
use crate::protocol::{MAX_FILE_NAME_BYTES, UPLOAD_RESUME_WINDOW};
use crate::server::store::NewFile;
use crate::server::transfer::{new_file_id, Upload};

/// `file_offer`: every check before any byte is sent — the chat as for
/// `send`, the size, the quota — then a `file_id` and the offset to send
/// from (0, or what an interrupted upload of the same file holds).
#[allow(clippy::too_many_arguments)]
pub(super) fn run(
    hub: &mut Hub,
    cx: &Cx,
    chat: &str,
    name: String,
    size: u64,
    sha256: String,
    mime: Option<String>,
    caption: Option<String>,
) -> Result<(), Failure> {
    let Cx { session, me, id } = *cx;
    check_name(&name)?;
    let sha256 = checked_sha256(&sha256)?;
    let mime = mime.unwrap_or_else(|| "application/octet-stream".to_owned());
    check_mime(&mime)?;
    if let Some(caption) = &caption {
        if let Err(e) = validate_text(caption) {
            return refuse(ErrorCode::InvalidText, format!("the caption: {e}"));
        }
    }
    let (chat_id, _) = hub.postable(me, chat)?;
    if size > hub.max_file_bytes {
        return refuse(
            ErrorCode::FileTooLarge,
            format!("a file may be at most {} bytes", hub.max_file_bytes),
        );
    }
    let since = now_ms().saturating_sub(UPLOAD_RESUME_WINDOW.as_millis() as i64);
    let resumed = hub
        .store
        .resumable_upload(me, chat_id, &name, size, &sha256, since)?;
    let file_id = match resumed {
        Some(file_id) => file_id,
        None => {
            let used = hub.store.quota_used(me)?;
            if used.saturating_add(size) > hub.file_quota_bytes {
                return refuse(
                    ErrorCode::QuotaExceeded,
                    format!(
                        "your files take {used} of your {} bytes; this one does not fit",
                        hub.file_quota_bytes
                    ),
                );
            }
            let file_id = new_file_id();
            hub.store.create_upload(
                &NewFile {
                    file_id: &file_id,
                    uploader: me,
                    chat: chat_id,
                    name: &name,
                    size,
                    sha256: &sha256,
                    mime: &mime,
                    caption: caption.as_deref(),
                },
                now_ms(),
            )?;
            file_id
        }
    };
    let owner = hub.name_of(me)?.key();
    hub.files.begin(
        &file_id,
        Upload {
            owner,
            size,
            sha256,
        },
    );
    let offset = hub.files.received(&file_id);
    if let Some(id) = id {
        hub.send(
            session,
            &ServerFrame::FileAccepted {
                id,
                file_id,
                offset,
            },
        );
    }
    Ok(())
}

/// 1–255 bytes with a character that is not a space; no `/`, `\`, control
/// character or bidi override; not `.` or `..`.
fn check_name(name: &str) -> Result<(), Failure> {
    let bad = name.is_empty()
        || name.len() > MAX_FILE_NAME_BYTES
        || name.trim().is_empty()
        || name == "."
        || name == ".."
        || name.chars().any(|c| {
            c == '/'
                || c == '\\'
                || c.is_control()
                || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
        });
    if bad {
        return refuse(
            ErrorCode::BadRequest,
            "a file name is 1-255 bytes with no / \\ or control characters, and not . or ..",
        );
    }
    Ok(())
}

fn checked_sha256(sha256: &str) -> Result<String, Failure> {
    if sha256.len() == 64 && sha256.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(sha256.to_ascii_lowercase())
    } else {
        refuse(ErrorCode::BadRequest, "\"sha256\" must be 64 hex digits")
    }
}

fn check_mime(mime: &str) -> Result<(), Failure> {
    if mime.trim().is_empty() || mime.len() > 255 || mime.chars().any(char::is_control) {
        return refuse(ErrorCode::BadRequest, "\"mime\" is not a media type");
    }
    Ok(())
}

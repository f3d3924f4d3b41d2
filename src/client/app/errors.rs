//! Server errors as sentences for the user.

use crate::protocol::{ErrorCode, ErrorFrame};

use crate::client::sanitize::clean_line;

fn secs_text(ms: u64) -> String {
    let s = ms.div_ceil(1000);
    if s >= 60 {
        format!("{}m {:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

/// A server error as a sentence for the user; the server's own message is
/// cleaned and kept for codes that carry a rule (invalid name/password/text).
pub fn error_text(e: &ErrorFrame, now_ms: i64) -> String {
    let server_msg = clean_line(&e.message).into_owned();
    match e.code {
        ErrorCode::BadCredentials => "wrong user name or password".to_owned(),
        ErrorCode::LockedOut => match e.retry_after_ms {
            Some(ms) => format!(
                "too many failed logins: locked out, try again in {}",
                secs_text(ms)
            ),
            None => "too many failed logins: locked out for a while".to_owned(),
        },
        ErrorCode::NameTaken => "that name is taken: pick another".to_owned(),
        ErrorCode::InvalidName => format!("invalid name: {server_msg}"),
        ErrorCode::InvalidPassword => format!("invalid password: {server_msg}"),
        ErrorCode::InvalidText => format!("invalid text: {server_msg}"),
        ErrorCode::Banned => match e.until {
            Some(Some(ts)) => format!(
                "this account is banned for another {}",
                secs_text(u64::try_from(ts.saturating_sub(now_ms)).unwrap_or(0))
            ),
            _ => "this account is banned".to_owned(),
        },
        ErrorCode::RateLimited => format!(
            "slow down: try again in {}",
            secs_text(e.retry_after_ms.unwrap_or(1000))
        ),
        ErrorCode::NoSuchUser => format!("no such user ({server_msg})"),
        ErrorCode::SelfTarget => "that is you: pick someone else".to_owned(),
        ErrorCode::AlreadyOpen => "that chat is already open".to_owned(),
        ErrorCode::AlreadyRequested => "you already asked them; it waits in their inbox".to_owned(),
        ErrorCode::NoRequest => "there is no such pending request".to_owned(),
        ErrorCode::NotOpen => "that private chat is not open".to_owned(),
        ErrorCode::NoSuchChat => "no such group (or it is invite-only)".to_owned(),
        ErrorCode::NotMember => format!("not a member ({server_msg})"),
        ErrorCode::AlreadyMember => format!("already a member ({server_msg})"),
        ErrorCode::Forbidden => format!("not allowed: {server_msg}"),
        _ => format!("{}: {server_msg}", e.code),
    }
}

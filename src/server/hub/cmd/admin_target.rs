use super::*;

/// The account an admin request names: `no_such_user`, `self_target`, and
/// `forbidden` for another admin where `protect_admins` (one admin cannot
/// kick, ban, mute or demote another).
pub(super) fn resolve(
    hub: &mut Hub,
    cx: &Cx,
    user: &str,
    what: &str,
    protect_admins: bool,
) -> Result<Account, Failure> {
    let Ok(name) = UserName::parse(user) else {
        return refuse(ErrorCode::NoSuchUser, format!("there is no user {user:?}"));
    };
    let Some(account) = hub.store.account_by_key(&name.key())? else {
        return refuse(ErrorCode::NoSuchUser, format!("there is no user {name}"));
    };
    if account.id == cx.me {
        return refuse(ErrorCode::SelfTarget, format!("you cannot {what} yourself"));
    }
    if protect_admins && account.role == Role::Admin {
        return refuse(
            ErrorCode::Forbidden,
            format!(
                "{} is an admin; admins cannot {what} each other",
                account.name
            ),
        );
    }
    Ok(account)
}

/// `minutes` when given must be a positive whole number.
pub(super) fn checked_minutes(minutes: Option<u64>) -> Result<Option<u64>, Failure> {
    match minutes {
        Some(0) => refuse(
            ErrorCode::BadRequest,
            "\"minutes\" must be a positive whole number (leave it out for good)",
        ),
        other => Ok(other),
    }
}

/// A reason, when given, follows the text rules (an empty one has no
/// visible character) and is at most 512 bytes.
pub(super) fn checked_reason(reason: Option<String>) -> Result<Option<String>, Failure> {
    if let Some(r) = &reason {
        crate::server::hub::groups::checked_short_text(r, "reason")?;
    }
    Ok(reason)
}

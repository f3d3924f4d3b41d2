use super::*;

/// `ban` (admins): for `minutes`, or for good; every session ends at once
/// and logging in is refused until then.
pub(super) fn run(
    hub: &mut Hub,
    cx: &Cx,
    user: &str,
    minutes: Option<u64>,
    reason: Option<String>,
) -> Result<(), Failure> {
    let target = admin_target::resolve(hub, cx, user, "ban", true)?;
    let minutes = admin_target::checked_minutes(minutes)?;
    let reason = admin_target::checked_reason(reason)?;
    hub.reply_ok(cx.session, cx.id);
    hub.ban_account(Some(cx.me), &target, minutes, reason)
        .map(|_| ())
}

use super::*;

/// `kick` (admins): every session of the user ends at once.
pub(super) fn run(
    hub: &mut Hub,
    cx: &Cx,
    user: &str,
    reason: Option<String>,
) -> Result<(), Failure> {
    let target = admin_target::resolve(hub, cx, user, "kick", true)?;
    let reason = admin_target::checked_reason(reason)?;
    hub.reply_ok(cx.session, cx.id);
    hub.kick_account(Some(cx.me), &target, reason)
}

use super::*;

/// `unban` (admins): logging in works again, at once (a login lockout of
/// the account is lifted too).
pub(super) fn run(hub: &mut Hub, cx: &Cx, user: &str) -> Result<(), Failure> {
    let target = admin_target::resolve(hub, cx, user, "unban", false)?;
    hub.reply_ok(cx.session, cx.id);
    hub.unban_account(Some(cx.me), &target)
}

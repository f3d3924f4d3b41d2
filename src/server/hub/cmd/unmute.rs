use super::*;

/// `unmute` (admins): always tells the user (`muted` with `until` 0).
pub(super) fn run(hub: &mut Hub, cx: &Cx, user: &str) -> Result<(), Failure> {
    let target = admin_target::resolve(hub, cx, user, "unmute", false)?;
    hub.reply_ok(cx.session, cx.id);
    hub.unmute_account(Some(cx.me), &target)
}

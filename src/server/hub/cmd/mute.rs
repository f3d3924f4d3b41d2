use super::*;

/// `mute` (admins): no `send` or `set_topic` in `#public` and groups until
/// then; private chats still work.
pub(super) fn run(
    hub: &mut Hub,
    cx: &Cx,
    user: &str,
    minutes: Option<u64>,
    reason: Option<String>,
) -> Result<(), Failure> {
    let target = admin_target::resolve(hub, cx, user, "mute", true)?;
    let minutes = admin_target::checked_minutes(minutes)?;
    let reason = admin_target::checked_reason(reason)?;
    hub.reply_ok(cx.session, cx.id);
    hub.mute_account(Some(cx.me), &target, minutes, reason)
        .map(|_| ())
}

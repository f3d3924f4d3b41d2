use super::*;

/// `set_role` (admins): promote anyone; demote nobody who is an admin
/// (only the account command line can).
pub(super) fn run(hub: &mut Hub, cx: &Cx, user: &str, role: Role) -> Result<(), Failure> {
    let protect_admins = role != Role::Admin;
    let target = admin_target::resolve(hub, cx, user, "demote", protect_admins)?;
    hub.reply_ok(cx.session, cx.id);
    hub.set_account_role(Some(cx.me), &target, role)
}

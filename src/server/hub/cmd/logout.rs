use super::*;

/// `logout`: answered, then the session is closed once that is written.
pub(super) fn run(hub: &mut Hub, cx: &Cx) -> Result<(), Failure> {
    hub.reply_ok(cx.session, cx.id);
    hub.detach(cx.session)?;
    hub.out.push(Effect::Close(cx.session));
    Ok(())
}

use super::*;

/// `set_status`: everyone hears of a change; setting the status one
/// already has tells nobody.
pub(super) fn run(hub: &mut Hub, cx: &Cx, status: Status) -> Result<(), Failure> {
    let Cx { session, me, id } = *cx;
    if hub.status_of(me) == status {
        hub.reply_ok(session, id);
        return Ok(());
    }
    hub.store.set_status(me, status)?;
    let before = hub.statuses.set(me, status);
    hub.status_undo.push((me, before));
    hub.record(|| Ev::Status { a: me, s: status });
    hub.reply_ok(session, id);
    let presence = ServerFrame::Presence(Presence {
        user: hub.name_of(me)?,
        online: true,
        status,
    });
    hub.broadcast(&presence, None);
    Ok(())
}

use super::*;

/// `ping`: answered in order with the session's other replies.
pub(super) fn run(hub: &mut Hub, cx: &Cx) -> Result<(), Failure> {
    if let Some(id) = cx.id {
        hub.send(cx.session, &ServerFrame::Pong { id });
    }
    Ok(())
}

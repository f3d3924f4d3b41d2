use super::*;

/// `who`: everyone online, at most [`MAX_LISTED_ONLINE`] by name.
pub(super) fn run(hub: &mut Hub, cx: &Cx) -> Result<(), Failure> {
    if let Some(id) = cx.id {
        let (online, more_online) = hub.online_list();
        hub.send(
            cx.session,
            &ServerFrame::Who {
                id,
                online,
                more_online,
            },
        );
    }
    Ok(())
}

use super::*;

/// `send`: a message into a chat `me` may write to.
pub(super) fn run(hub: &mut Hub, cx: &Cx, chat: &str, text: String) -> Result<(), Failure> {
    let place = hub.postable(cx.me, chat)?;
    hub.post(cx.session, cx.id, cx.me, place, text, None)
        .map(|_| ())
}

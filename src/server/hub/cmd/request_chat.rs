use super::*;

pub(super) fn run(hub: &mut Hub, cx: &Cx, user: &str) -> Result<(), Failure> {
    let Cx { session, me, id } = *cx;
    let (partner, partner_name) = hub.other_user(me, user)?;
    if hub
        .store
        .private_chat(me, partner)?
        .is_some_and(|c| c.is_open)
    {
        return refuse(
            ErrorCode::AlreadyOpen,
            format!("you already have a chat with {partner_name}"),
        );
    }
    if hub.store.pending_request(me, partner)?.is_some() {
        return refuse(
            ErrorCode::AlreadyRequested,
            format!("you already asked {partner_name}"),
        );
    }
    if hub.store.pending_request(partner, me)?.is_some() {
        // Both want it: open at once.
        hub.store.atomically(|store| {
            store.remove_request(partner, me)?;
            store.open_private_chat(me, partner, now_ms())
        })?;
        hub.reply_ok(session, id);
        return hub.open_chat(me, partner);
    }
    // Bounded both ways, so that nobody can fill another's inbox (and
    // `welcome`) without limit, nor spray requests at everyone.
    if hub.store.count_requests_from(me)? >= MAX_PENDING_REQUESTS as u64 {
        return refuse(
            ErrorCode::RateLimited,
            format!(
                "you have {MAX_PENDING_REQUESTS} chat requests waiting for an answer, \
                 the most allowed; cancel some first"
            ),
        );
    }
    if hub.store.count_requests_to(partner)? >= MAX_PENDING_REQUESTS as u64 {
        return refuse(
            ErrorCode::RateLimited,
            format!(
                "{partner_name} has {MAX_PENDING_REQUESTS} chat requests waiting, \
                 the most allowed; try again once they have answered some"
            ),
        );
    }
    let ts = now_ms();
    hub.store.add_request(me, partner, ts)?;
    hub.reply_ok(session, id);
    let me_name = hub.name_of(me)?;
    hub.send_to_user(
        partner,
        &ServerFrame::ChatRequest { from: me_name, ts },
        None,
    );
    hub.send_to_user(
        me,
        &ServerFrame::ChatRequestSent {
            to: partner_name,
            ts,
        },
        Some(session),
    );
    Ok(())
}

use super::*;

/// Checks a history request; the page is read after the commit,
/// outside the hub (see [`crate::server::history`]).
pub(super) fn run(
    hub: &mut Hub,
    cx: &Cx,
    chat: &str,
    before: Option<u64>,
    after: Option<u64>,
    limit: Option<u32>,
) -> Result<Option<HistoryJob>, Failure> {
    let Cx { me, id, .. } = *cx;
    let direction = match (before, after) {
        (Some(_), Some(_)) => {
            return refuse(
                ErrorCode::BadRequest,
                "give \"before\" or \"after\", not both",
            )
        }
        (_, Some(after)) => HistoryDirection::After(after),
        (before, None) => HistoryDirection::Before(before),
    };
    let limit = match limit {
        Some(0) => return refuse(ErrorCode::BadRequest, "\"limit\" must be 1 to 200"),
        Some(n) => n.min(HISTORY_MAX_LIMIT),
        None => HISTORY_DEFAULT_LIMIT,
    };
    let (chat, key) = hub.readable_chat(me, chat)?;
    // Without an id there is nobody to send the page to.
    Ok(id.map(|id| HistoryJob {
        id,
        chat,
        key,
        direction,
        limit,
    }))
}

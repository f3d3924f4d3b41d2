use super::*;
use crate::protocol::AuditEntry;

/// `audit` (admins): the log, newest first, paged by `seq`.
pub(super) fn run(
    hub: &mut Hub,
    cx: &Cx,
    before: Option<u64>,
    limit: Option<u32>,
) -> Result<(), Failure> {
    let limit = match limit {
        Some(0) => return refuse(ErrorCode::BadRequest, "\"limit\" must be 1 to 200"),
        Some(n) => n.min(HISTORY_MAX_LIMIT),
        None => HISTORY_DEFAULT_LIMIT,
    };
    let Some(id) = cx.id else {
        return Ok(());
    };
    let (records, more) = hub.store.audit_page(before, limit)?;
    let entries = records
        .into_iter()
        .map(|r| AuditEntry {
            seq: r.seq,
            ts: r.ts,
            actor: r.actor.and_then(|a| UserName::parse(&a).ok()),
            action: r.action,
            target: r.target,
            detail: r.detail,
        })
        .collect();
    hub.send(cx.session, &ServerFrame::Audit { id, entries, more });
    Ok(())
}

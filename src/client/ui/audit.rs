//! The audit log (`/audit`), drawn over the chat, newest first. From 70
//! columns inside the frame an entry is one row in columns — time, actor,
//! action, target, detail; narrower it is two: what happened, then the
//! detail. Every field comes from the network: cleaned of control
//! characters, and cut with `…` where it does not fit.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::widgets::{Block, Borders, Clear, Widget};

use crate::client::app::App;
use crate::client::sanitize::clean_line;
use crate::client::time;
use crate::client::views::audit::rows_per_entry;
use crate::client::wrap::{elide, width};
use crate::protocol::AuditEntry;

/// Column widths of the one-row layout: time, actor, action, target.
const COLUMNS: [usize; 4] = [11, 12, 14, 14];

/// The index of the first entry shown: the list scrolls so that the
/// selected entry is always in view.
pub fn first_shown(app: &App, inner: Rect) -> usize {
    let per = rows_per_entry(inner.width);
    let fit = usize::from((inner.height.saturating_sub(1) / per).max(1));
    app.audit.selected.saturating_sub(fit - 1)
}

/// `11-21 22:00`: the audit log spans days.
fn when(app: &App, ts: i64) -> String {
    let off = app.settings.utc_offset;
    let d = time::day_of(ts, off);
    let clock = time::clock(ts, off, app.settings.twelve_hour);
    format!("{:02}-{:02} {}", d.month, d.day, clock.trim_start())
}

/// The fields of an entry, cleaned: time, actor, action, target, detail.
fn fields(app: &App, e: &AuditEntry) -> [String; 5] {
    [
        when(app, e.ts),
        e.actor
            .as_ref()
            .map_or_else(|| "operator".to_owned(), |a| a.to_string()),
        clean_line(&e.action).into_owned(),
        e.target
            .as_deref()
            .map_or_else(|| "—".to_owned(), |t| clean_line(t).into_owned()),
        clean_line(&e.detail).into_owned(),
    ]
}

/// `text` cut to `cells` with `…`, then padded to exactly `cells`.
fn cell(text: &str, cells: usize) -> String {
    let t = elide(text, cells);
    let pad = cells.saturating_sub(width(&t));
    format!("{t}{}", " ".repeat(pad))
}

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    if area.width < 4 || area.height < 3 {
        return;
    }
    let s = &app.theme.styles;
    let view = &app.audit;
    Clear.render(area, buf);
    let title = elide(
        &format!(" Audit log ({}) — Esc closes ", view.entries.len()),
        usize::from(area.width.saturating_sub(2)),
    );
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(s.border)
        .title(title)
        .title_style(s.title)
        .style(s.base);
    let inner = block.inner(area);
    block.render(area, buf);
    let w = usize::from(inner.width);
    let per = rows_per_entry(inner.width);
    let bottom = inner.y + inner.height;
    let mut y = inner.y;
    for (i, e) in view
        .entries
        .iter()
        .enumerate()
        .skip(first_shown(app, inner))
    {
        // The last row is the footer's.
        if y + per > bottom.saturating_sub(1) {
            break;
        }
        let selected = i == view.selected;
        let style = if selected { s.selected } else { s.base };
        let [at, who, action, target, detail] = fields(app, e);
        let mark = if selected { '>' } else { ' ' };
        if per == 1 {
            let mut line = mark.to_string();
            for (text, cells) in [&at, &who, &action, &target].into_iter().zip(COLUMNS) {
                line.push_str(&cell(text, cells));
                line.push(' ');
            }
            line.push_str(&detail);
            buf.set_stringn(inner.x, y, elide(&line, w), w, style);
        } else {
            let head = format!("{mark}{at} {who} {action} {target}");
            buf.set_stringn(inner.x, y, elide(&head, w), w, style);
            let detail = if detail.trim().is_empty() {
                String::new()
            } else {
                format!("   {detail}")
            };
            buf.set_stringn(inner.x, y + 1, elide(&detail, w), w, s.dim);
        }
        y += per;
    }
    let footer = if view.loading {
        " loading older entries…".to_owned()
    } else if view.capped {
        " … older entries not loaded (limit reached)".to_owned()
    } else if view.more {
        " ↑/↓ PgUp/PgDn scroll · older load as you go".to_owned()
    } else {
        " — start of the log — · Esc closes".to_owned()
    };
    if inner.height > 1 {
        buf.set_stringn(inner.x, bottom - 1, elide(&footer, w), w, s.dim);
    }
}

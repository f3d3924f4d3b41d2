//! The chat view: only the rows in view are built, from the cached wraps.
//!
//! Every row after the first of an entry (wrapped, or after a `\n` in the
//! text) starts with a dim gutter mark in the clock column instead of a
//! clock, so a line of a message can never pass for a message of its own
//! (`12:00 alice: hi` typed on a second line shows as `    │ 12:00 alice: hi`).
//! Sent messages the server has not confirmed yet show below the chat with
//! `…` for a clock.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};

use crate::client::app::App;
use crate::client::chat::{indent, EntryKind};
use crate::client::time;
use crate::client::view::Row;
use crate::client::wrap::{self, width};

/// Drawn in the clock column of every continuation row.
pub const GUTTER: &str = "│";
/// Drawn between the clock and the text of the selected message's rows
/// (besides its style), so the selection shows without colour too.
pub const SELECTED_MARK: &str = "▶";

/// Marks a continuation row: blank clock column with `GUTTER` at its end.
fn gutter(buf: &mut Buffer, x: u16, y: u16, clock_w: u16, right: u16, style: Style) {
    let gx = x + clock_w.saturating_sub(1);
    if gx < right {
        buf.set_stringn(gx, y, GUTTER, 1, style);
    }
}

pub fn render(app: &App, i: usize, area: Rect, buf: &mut Buffer) {
    let s = &app.theme.styles;
    let chat = &app.chats[i];
    let pending = pending_rows(app, i, area);
    let pending_h = pending.len() as u16;
    let area = Rect {
        height: area.height - pending_h,
        ..area
    };
    draw_pending(
        app,
        i,
        &pending,
        area.x,
        area.y + area.height,
        area.width,
        buf,
    );
    let mut view = app.chat_view(i);
    view.geo.width = area.width;
    view.geo.height = area.height;
    let (rows, at_top) = view.visible(chat.scroll);
    let clock_w = view.geo.clock_width;
    let off = view.geo.utc_offset;
    let entries = chat.log.entries();
    let selected = app
        .select
        .selected_in(&crate::client::chats::ChatId::from(&chat.key))
        .map(|sel| (sel.msg_id, 0));
    // Fewer rows than the screen: they sit at the bottom, like a terminal.
    let top = area.y + area.height.saturating_sub(rows.len() as u16);
    if rows.is_empty() || (at_top && rows.len() < usize::from(area.height)) {
        let hint = if chat.loading {
            "loading…".to_owned()
        } else if chat.log.is_empty() {
            match chat.key.partner() {
                Some(p) => format!("This is the start of your private chat with {p}."),
                None => "No messages yet. Say hello!".to_owned(),
            }
        } else if chat.more_older {
            "loading older messages…".to_owned()
        } else {
            "— start of history —".to_owned()
        };
        if top > area.y {
            let y = top - 1;
            buf.set_stringn(area.x, y, hint, usize::from(area.width), s.dim);
        }
    }
    for (n, row) in rows.iter().enumerate() {
        let y = top + n as u16;
        match *row {
            Row::Day(idx) => {
                let label = format!(" {} ", time::day_of(entries[idx].ts, off).label());
                rule(buf, area, y, &label, s.day_line);
            }
            Row::Marker(_) => rule(buf, area, y, " new messages ", s.new_marker),
            Row::Text { idx, row } => {
                let e = &entries[idx];
                let ranges = e.rows(area.width, clock_w);
                let Some(&(a, b)) = ranges.get(row) else {
                    continue;
                };
                let text = &e.text()[a..b];
                let mut x = area.x;
                let right = area.x + area.width;
                if row == 0 {
                    let clock = time::clock(e.ts, off, app.settings.twelve_hour);
                    buf.set_stringn(x, y, &clock, usize::from(clock_w), s.timestamp);
                } else {
                    gutter(buf, x, y, clock_w, right, s.dim);
                }
                let is_selected = selected == Some(e.key);
                if is_selected {
                    buf.set_style(Rect::new(area.x, y, area.width, 1), s.selected);
                    let mx = x + clock_w;
                    if mx < right {
                        buf.set_stringn(mx, y, SELECTED_MARK, 1, s.selected);
                    }
                }
                x += indent(clock_w);
                if x >= right {
                    continue;
                }
                let room = |x: u16| usize::from(right.saturating_sub(x));
                match &e.kind {
                    EntryKind::Message {
                        from, own, mention, ..
                    } => {
                        let text_style = if *own {
                            s.own_text
                        } else if *mention {
                            s.mention
                        } else {
                            s.base
                        };
                        if row == 0 {
                            let nick_style = if *own {
                                s.own_nick
                            } else {
                                Style::default()
                                    .fg(app.theme.nick_color(from.as_str()))
                                    .add_modifier(Modifier::BOLD)
                            };
                            let (nx, _) = buf.set_stringn(x, y, from.as_str(), room(x), nick_style);
                            let (cx, _) = buf.set_stringn(nx, y, ": ", room(nx), s.dim);
                            x = cx;
                        }
                        buf.set_stringn(x, y, text, room(x), text_style);
                    }
                    EntryKind::System(_) | EntryKind::Deleted { .. } => {
                        buf.set_stringn(x, y, text, room(x), s.system);
                    }
                }
                if is_selected {
                    // The selection's style wins over the text's colours.
                    buf.set_style(Rect::new(area.x, y, area.width, 1), s.selected);
                }
            }
        }
    }
}

/// The rows of the active chat's unconfirmed messages (outbox index,
/// byte range), at most half the area, newest last; none while the reader
/// is scrolled up.
fn pending_rows(app: &App, i: usize, area: Rect) -> Vec<(usize, (usize, usize))> {
    let chat = &app.chats[i];
    if chat.scroll.is_some() || chat.outbox.is_empty() {
        return Vec::new();
    }
    let clock_w = app.geometry().clock_width;
    let me = app.me.as_ref().map_or(0, |m| m.as_str().len() + 2);
    let rest = usize::from(area.width.saturating_sub(indent(clock_w))).max(1);
    let first = rest.saturating_sub(me).max(1);
    let max = usize::from(area.height / 2);
    let mut rows = Vec::new();
    for (n, (_, text)) in chat.outbox.iter().enumerate().rev() {
        let wrapped = wrap::wrap(text, first, rest);
        for r in wrapped.into_iter().rev() {
            if rows.len() == max {
                rows.reverse();
                return rows;
            }
            rows.push((n, r));
        }
    }
    rows.reverse();
    rows
}

fn draw_pending(
    app: &App,
    i: usize,
    rows: &[(usize, (usize, usize))],
    x0: u16,
    top: u16,
    width: u16,
    buf: &mut Buffer,
) {
    let chat = &app.chats[i];
    let s = &app.theme.styles;
    let clock_w = app.geometry().clock_width;
    let right = x0 + width;
    let room = |x: u16| usize::from(right.saturating_sub(x));
    for (k, (n, (a, b))) in rows.iter().enumerate() {
        let y = top + k as u16;
        let text = &chat.outbox[*n].1;
        let mut x = x0;
        if *a == 0 {
            let clock = format!("{:>w$}", "…", w = usize::from(clock_w));
            buf.set_stringn(x, y, clock, usize::from(clock_w), s.dim);
            x += indent(clock_w);
            if let Some(me) = &app.me {
                let (nx, _) = buf.set_stringn(x, y, me.as_str(), room(x), s.own_nick);
                let (cx, _) = buf.set_stringn(nx, y, ": ", room(nx), s.dim);
                x = cx;
            }
        } else {
            gutter(buf, x, y, clock_w, right, s.dim);
            x += indent(clock_w);
        }
        if x < right {
            buf.set_stringn(x, y, &text[*a..*b], room(x), s.dim);
        }
    }
}

/// A centred label on a horizontal rule.
fn rule(buf: &mut Buffer, area: Rect, y: u16, label: &str, style: Style) {
    let w = usize::from(area.width);
    let lw = width(label).min(w);
    let left = (w - lw) / 2;
    let line: String = "─".repeat(left);
    buf.set_stringn(area.x, y, &line, left, style);
    buf.set_stringn(area.x + left as u16, y, label, lw, style);
    let right = w - left - lw;
    buf.set_stringn(
        area.x + (left + lw) as u16,
        y,
        "─".repeat(right),
        right,
        style,
    );
}

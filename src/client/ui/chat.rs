//! The chat view: only the rows in view are built, from the cached wraps.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};

use crate::client::app::App;
use crate::client::chat::{indent, EntryKind};
use crate::client::time;
use crate::client::view::Row;
use crate::client::wrap::width;

pub fn render(app: &App, i: usize, area: Rect, buf: &mut Buffer) {
    let s = &app.theme.styles;
    let chat = &app.chats[i];
    let mut view = app.chat_view(i);
    view.geo.width = area.width;
    view.geo.height = area.height;
    let (rows, at_top) = view.visible(chat.scroll);
    let clock_w = view.geo.clock_width;
    let off = view.geo.utc_offset;
    let entries = chat.log.entries();
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
                    x += indent(clock_w);
                } else {
                    x += indent(clock_w);
                }
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
                    EntryKind::System(_) => {
                        buf.set_stringn(x, y, text, room(x), s.system);
                    }
                }
            }
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

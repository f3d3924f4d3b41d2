//! The directory of groups (`/groups`), drawn over the chat: two rows per
//! group — name, kind and size, then its topic — so it reads the same at
//! 40 columns as at 200. Everything from the server is sanitized and
//! elided visibly.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::widgets::{Block, Borders, Clear, Widget};

use crate::client::app::App;
use crate::client::sanitize::clean_line;
use crate::client::wrap::elide;

/// Rows each group takes.
const ROWS_PER_GROUP: u16 = 2;

/// The index of the first group shown: the list scrolls so that the
/// selected one is always in view.
pub fn first_shown(app: &App, inner: Rect) -> usize {
    let fit = usize::from((inner.height.saturating_sub(1) / ROWS_PER_GROUP).max(1));
    app.directory.selected.saturating_sub(fit - 1)
}

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    if area.width < 4 || area.height < 3 {
        return;
    }
    let s = &app.theme.styles;
    let dir = &app.directory;
    Clear.render(area, buf);
    let title = elide(
        &format!(" Groups ({}) — Enter joins, Esc closes ", dir.groups.len()),
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
    let bottom = inner.y + inner.height;
    let first = first_shown(app, inner);
    let mut y = inner.y;
    for (i, g) in dir.groups.iter().enumerate().skip(first) {
        if y + ROWS_PER_GROUP > bottom {
            break;
        }
        let selected = i == dir.selected;
        let joined = app.chats.by_key(&g.chat).is_some_and(|c| c.is_live());
        let head = format!(
            "{} {}  {} · {} member{}{}",
            if selected { '>' } else { ' ' },
            g.chat,
            g.kind.as_str(),
            g.members,
            if g.members == 1 { "" } else { "s" },
            if joined { " · joined" } else { "" },
        );
        let style = if selected { s.selected } else { s.base };
        buf.set_stringn(inner.x, y, elide(&head, w), w, style);
        let topic = clean_line(&g.topic);
        let topic = if topic.trim().is_empty() {
            "(no topic)".to_owned()
        } else {
            topic.into_owned()
        };
        buf.set_stringn(inner.x, y + 1, elide(&format!("    {topic}"), w), w, s.dim);
        y += ROWS_PER_GROUP;
    }
    let footer = if dir.more > 0 {
        format!(" … and {} more not listed", dir.more)
    } else {
        " ↑/↓ select · Enter join · Esc close".to_owned()
    };
    if y < bottom {
        buf.set_stringn(inner.x, bottom - 1, elide(&footer, w), w, s.dim);
    }
}

//! The people panel (F2): who is online, with their status.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::widgets::{Block, Borders, Widget};

use crate::client::app::App;
use crate::protocol::Status;

fn block(app: &App) -> Block<'static> {
    let s = &app.theme.styles;
    Block::default()
        .borders(Borders::LEFT | Borders::TOP)
        .border_style(s.border)
        .title(format!(" People ({}) ", app.online.len()))
        .title_style(s.title)
}

/// The index of the first person shown in the panel at `area`: the list
/// scrolls so that the selected one is always in view.
pub fn first_shown(app: &App, area: Rect) -> usize {
    let rows = usize::from(block(app).inner(area).height).max(1);
    app.people.selected.saturating_sub(rows - 1)
}

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let s = &app.theme.styles;
    let block = block(app);
    let inner = block.inner(area);
    block.render(area, buf);
    let first = first_shown(app, area);
    let rows = app
        .online
        .values()
        .enumerate()
        .skip(first)
        .take(usize::from(inner.height));
    for (y, (i, u)) in (inner.y..).zip(rows) {
        let status_style = match u.status {
            Status::Available => s.available,
            Status::Away => s.away,
            Status::Busy => s.busy,
        };
        let me = app.me.as_ref().is_some_and(|m| m.key() == u.user.key());
        let selected = i == app.people.selected;
        let name_style = if selected { s.selected } else { s.base };
        let w = usize::from(inner.width);
        buf.set_stringn(inner.x, y, "●", w, status_style);
        let name = if me {
            format!(" {} (you)", u.user)
        } else {
            format!(" {}", u.user)
        };
        let (x, _) = buf.set_stringn(inner.x + 1, y, &name, w.saturating_sub(1), name_style);
        if u.status != Status::Available {
            let room = usize::from((inner.x + inner.width).saturating_sub(x));
            buf.set_stringn(x, y, format!(" {}", u.status.as_str()), room, status_style);
        }
    }
    let hint_y = inner.y + inner.height.saturating_sub(1);
    if usize::from(inner.height) > app.online.len().saturating_add(1) {
        buf.set_stringn(
            inner.x,
            hint_y,
            " ↑↓ Enter: chat",
            usize::from(inner.width),
            s.dim,
        );
    }
}

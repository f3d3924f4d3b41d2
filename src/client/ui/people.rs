//! The people panel (F2): who is online, with their status.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::widgets::{Block, Borders, Widget};

use crate::client::app::App;
use crate::protocol::Status;

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let s = &app.theme.styles;
    let title = format!(" People ({}) ", app.online.len());
    let block = Block::default()
        .borders(Borders::LEFT | Borders::TOP)
        .border_style(s.border)
        .title(title)
        .title_style(s.title);
    let inner = block.inner(area);
    block.render(area, buf);
    for (i, u) in app.online.iter().enumerate() {
        let y = inner.y + i as u16;
        if y >= inner.y + inner.height {
            break;
        }
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
    if inner.height > app.online.len() as u16 + 1 {
        buf.set_stringn(
            inner.x,
            hint_y,
            " ↑↓ Enter: chat",
            usize::from(inner.width),
            s.dim,
        );
    }
}

//! The tab bar: `# public`, one `@Name` per private chat, then `Inbox`.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;

use crate::client::app::{App, Attention};
use crate::client::wrap::{elide, width};

/// How a tab is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TabLook {
    Active,
    Normal,
    Activity,
    Highlight,
}

/// Each tab's text and look, in order.
pub fn tab_labels(app: &App) -> Vec<(String, TabLook)> {
    let mut tabs: Vec<(String, TabLook)> = app
        .chats
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let mut label = c.label();
            if c.unread > 0 {
                label.push_str(&format!(" ({})", c.unread));
            }
            let look = if i == app.active {
                TabLook::Active
            } else {
                match c.attention {
                    Attention::Highlight => TabLook::Highlight,
                    Attention::Activity => TabLook::Activity,
                    Attention::None => TabLook::Normal,
                }
            };
            (label, look)
        })
        .collect();
    let waiting = app.inbox.waiting();
    let label = if waiting > 0 {
        format!("Inbox [{waiting}]")
    } else {
        "Inbox".to_owned()
    };
    let look = if app.active == app.inbox_tab() {
        TabLook::Active
    } else if waiting > 0 {
        TabLook::Highlight
    } else {
        TabLook::Normal
    };
    tabs.push((label, look));
    tabs
}

/// `(first column, column after the last, tab index)` of every tab that fits.
pub fn tab_hits(app: &App, bar_width: u16) -> Vec<(u16, u16, usize)> {
    let mut x: u16 = 0;
    let mut hits = Vec::new();
    for (i, (label, _)) in tab_labels(app).iter().enumerate() {
        let w = u16::try_from(width(label))
            .unwrap_or(u16::MAX)
            .saturating_add(2);
        if x >= bar_width {
            break;
        }
        let end = x.saturating_add(w).min(bar_width);
        hits.push((x, end, i));
        x = end.saturating_add(1);
    }
    hits
}

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let s = &app.theme.styles;
    buf.set_style(area, s.tab_bar);
    let labels = tab_labels(app);
    for (x0, x1, i) in tab_hits(app, area.width) {
        let (label, look) = &labels[i];
        let style: Style = match look {
            TabLook::Active => s.tab_active,
            TabLook::Normal => s.tab,
            TabLook::Activity => s.tab_activity,
            TabLook::Highlight => s.tab_highlight,
        };
        let cell = Rect::new(area.x + x0, area.y, x1 - x0, 1);
        buf.set_style(cell, style);
        // A tab cut by the edge says so.
        let room = usize::from((x1 - x0).saturating_sub(1));
        buf.set_stringn(area.x + x0 + 1, area.y, elide(label, room), room, style);
    }
}

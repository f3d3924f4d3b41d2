//! The people panel (F2): who is online, with their status — or, in a
//! group's tab, the group's members with their roles and presence.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::widgets::{Block, Borders, Clear, Widget};

use crate::client::app::App;
use crate::client::wrap::elide;
use crate::protocol::{GroupRole, Status, UserName};

/// Whether the panel at `area` takes the whole width (a narrow screen)
/// rather than sitting beside the chat.
fn whole_width(app: &App, area: Rect) -> bool {
    area.x == 0 && area.width == app.size.0
}

fn block(app: &App, area: Rect) -> Block<'static> {
    let s = &app.theme.styles;
    let title = match app.active_chat().and_then(|c| c.group.as_ref()) {
        Some(g) => format!(" Members ({}) ", g.members.len()),
        None => format!(" People ({}) ", app.online.len()),
    };
    let whole = whole_width(app, area);
    let title = if whole {
        format!("{title}— Esc closes ")
    } else {
        title
    };
    let title = elide(&title, usize::from(area.width.saturating_sub(2)));
    Block::default()
        .borders(if whole {
            Borders::TOP
        } else {
            Borders::LEFT | Borders::TOP
        })
        .border_style(s.border)
        .title(title)
        .title_style(s.title)
        .style(s.base)
}

/// The index of the first person shown in the panel at `area`: the list
/// scrolls so that the selected one is always in view.
pub fn first_shown(app: &App, area: Rect) -> usize {
    let rows = usize::from(block(app, area).inner(area).height).max(1);
    app.people.selected.saturating_sub(rows - 1)
}

/// One row of the panel.
struct PersonRow<'a> {
    user: &'a UserName,
    online: bool,
    status: Status,
    role: Option<GroupRole>,
}

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let s = &app.theme.styles;
    let whole = whole_width(app, area);
    if whole {
        // Over the chat: nothing of it shows through.
        Clear.render(area, buf);
    }
    let block = block(app, area);
    let inner = block.inner(area);
    block.render(area, buf);
    let first = first_shown(app, area);
    let take = usize::from(inner.height);
    let group = app.active_chat().and_then(|c| c.group.as_ref());
    let rows: Vec<PersonRow<'_>> = match group {
        Some(g) => g
            .sorted_members()
            .into_iter()
            .skip(first)
            .take(take)
            .map(|m| PersonRow {
                user: &m.user,
                online: m.online,
                status: m.status,
                role: Some(m.role),
            })
            .collect(),
        None => app
            .online
            .values()
            .skip(first)
            .take(take)
            .map(|u| PersonRow {
                user: &u.user,
                online: true,
                status: u.status,
                role: None,
            })
            .collect(),
    };
    let w = usize::from(inner.width);
    for (y, (i, p)) in (inner.y..).zip((first..).zip(rows)) {
        let status_style = match (p.online, p.status) {
            (false, _) => s.dim,
            (true, Status::Available) => s.available,
            (true, Status::Away) => s.away,
            (true, Status::Busy) => s.busy,
        };
        let me = app.me.as_ref().is_some_and(|m| m.key() == p.user.key());
        let selected = i == app.people.selected;
        let name_style: Style = if selected {
            s.selected
        } else if p.online {
            s.base
        } else {
            s.dim
        };
        buf.set_stringn(
            inner.x,
            y,
            if p.online { "●" } else { "○" },
            w,
            status_style,
        );
        let mark = match p.role {
            Some(GroupRole::Owner) => "★",
            Some(GroupRole::Mod) => "+",
            _ => "",
        };
        let name = if me {
            format!(" {mark}{} (you)", p.user)
        } else {
            format!(" {mark}{}", p.user)
        };
        let room = w.saturating_sub(1);
        let (x, _) = buf.set_stringn(inner.x + 1, y, elide(&name, room), room, name_style);
        let tail = match (p.online, p.status, p.role) {
            (false, _, Some(_)) => " offline".to_owned(),
            (true, st, _) if st != Status::Available => format!(" {}", st.as_str()),
            _ => String::new(),
        };
        if !tail.is_empty() {
            let room = usize::from((inner.x + inner.width).saturating_sub(x));
            buf.set_stringn(x, y, tail, room, status_style);
        }
    }
    let len = app.people_len();
    let hint_y = inner.y + inner.height.saturating_sub(1);
    if usize::from(inner.height) > len.saturating_add(1) {
        let hint = match (group.is_some(), whole) {
            (true, false) => " ★ owner  + mod",
            (true, true) => " ★ owner  + mod  · F2/Esc closes",
            (false, false) => " ↑↓ Enter: chat",
            (false, true) => " ↑↓ select · Enter chat · Esc close",
        };
        buf.set_stringn(inner.x, hint_y, elide(hint, w), w, s.dim);
    }
}

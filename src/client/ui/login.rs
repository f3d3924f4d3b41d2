//! The login form.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::widgets::{Block, Borders, Paragraph, Widget, Wrap};

use crate::client::app::{App, ConnState};
use crate::client::login::Field;

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let s = &app.theme.styles;
    buf.set_style(area, s.base);
    let form = &app.login;
    let w = area.width.min(60);
    // Registering has one field more: the password again.
    let h = area.height.min(if form.register { 17 } else { 15 });
    let r = Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    );
    let title = if form.register {
        " tchat — create an account "
    } else {
        " tchat — log in "
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(s.border)
        .title(title)
        .title_style(s.title);
    let inner = block.inner(r);
    block.render(r, buf);
    if inner.height < 6 || inner.width < 20 {
        return;
    }
    let label_w = 11u16;
    let mut fields = vec![
        (Field::Server, "Server", &form.server),
        (Field::User, "User", &form.user),
        (Field::Password, "Password", &form.password),
    ];
    if form.register {
        fields.push((Field::Confirm, "Confirm", &form.confirm));
    }
    // A blank row between fields where there is room for it and the two
    // rows of an error and of the hint; on a short screen, none.
    let rows_spaced = 1 + 2 * (fields.len() as u16 + 1) + 4;
    let gap = if inner.height >= rows_spaced { 2 } else { 1 };
    let mut y = inner.y + 1;
    for (field, label, ta) in fields {
        let focused = form.focus == field;
        let label_style = if focused { s.prompt } else { s.dim };
        buf.set_stringn(inner.x + 1, y, label, usize::from(label_w), label_style);
        let fr = Rect::new(
            inner.x + 1 + label_w,
            y,
            inner.width.saturating_sub(label_w + 2),
            1,
        );
        buf.set_style(fr, s.input);
        let mut ta = ta.clone();
        ta.set_style(s.input);
        ta.set_cursor_style(if focused { s.cursor } else { Style::default() });
        (&ta).render(fr, buf);
        y += gap;
    }
    let focused = form.focus == Field::Mode;
    buf.set_stringn(
        inner.x + 1,
        y,
        "Mode",
        usize::from(label_w),
        if focused { s.prompt } else { s.dim },
    );
    let (a, b) = if form.register {
        ("( ) log in", "(•) register")
    } else {
        ("(•) log in", "( ) register")
    };
    let mode_style = if focused { s.selected } else { s.base };
    let x = inner.x + 1 + label_w;
    let (x2, _) = buf.set_stringn(x, y, a, 12, mode_style);
    buf.set_stringn(x2 + 2, y, b, 14, mode_style);
    y += gap;
    let status = if form.busy {
        match app.conn {
            ConnState::Connecting => "connecting…",
            _ => "logging in…",
        }
    } else if form.register {
        "Enter: create account   Tab: next field   Ctrl-R: log in instead"
    } else {
        "Enter: log in   Tab: next field   Ctrl-R: register instead"
    };
    let status = if form.remembered && !form.busy && form.error.is_none() {
        format!("Server and user remembered from last time.\n{status}")
    } else {
        status.to_owned()
    };
    if let Some(err) = &form.error {
        let rows = 2.min((inner.y + inner.height).saturating_sub(y));
        let er = Rect::new(inner.x + 1, y, inner.width.saturating_sub(2), rows);
        Paragraph::new(err.as_str())
            .style(s.error)
            .wrap(Wrap { trim: true })
            .render(er, buf);
        y += 2;
    }
    if y < inner.y + inner.height {
        let hr = Rect::new(
            inner.x + 1,
            y,
            inner.width.saturating_sub(2),
            (inner.y + inner.height).saturating_sub(y),
        );
        Paragraph::new(status)
            .style(s.dim)
            .wrap(Wrap { trim: true })
            .render(hr, buf);
    }
}

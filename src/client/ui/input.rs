//! The input line: a prompt and the active tab's draft.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::widgets::Widget;

use crate::client::app::App;

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    if area.height == 0 || area.width == 0 {
        return;
    }
    let s = &app.theme.styles;
    buf.set_style(area, s.input);
    let prompt = match app.active_chat() {
        Some(c) => format!("{}> ", c.key),
        None => "inbox> ".to_owned(),
    };
    let pw = (prompt.len() as u16).min(area.width / 3);
    buf.set_stringn(area.x, area.y, &prompt, usize::from(pw), s.prompt);
    let field = Rect::new(
        area.x + pw,
        area.y,
        area.width.saturating_sub(pw),
        area.height,
    );
    let draft = app.draft();
    draft.render(field, buf);
    if draft.is_empty() && field.width > 2 {
        let hint = if app.active_chat().is_some_and(|c| !c.is_live()) {
            "closed · /leave closes this tab · F1 help"
        } else if app.active_chat().is_some() {
            "type a message, Enter sends · F1 help"
        } else {
            "a accept · r reject · c cancel · /chat NAME · F1 help"
        };
        buf.set_stringn(
            field.x + 1,
            field.y,
            hint,
            usize::from(field.width - 1),
            s.dim,
        );
    }
}

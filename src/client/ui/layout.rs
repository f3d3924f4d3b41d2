//! Where each part of the chat screen goes. Shared by the renderer and by
//! `App::update` (scroll page size, mouse hit-testing), so both agree.

use ratatui::layout::Rect;

use crate::client::app::App;

/// Width of the people panel (F2).
pub const PEOPLE_WIDTH: u16 = 24;
/// The input line grows with the draft up to this many rows.
pub const MAX_INPUT_ROWS: u16 = 5;

/// The chat screen's areas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Areas {
    pub tabs: Rect,
    /// The chat or inbox.
    pub main: Rect,
    pub people: Option<Rect>,
    pub notice: Option<Rect>,
    pub input: Rect,
    pub status: Rect,
}

/// Splits `area` (the whole terminal) for the chat screen.
pub fn areas(app: &App, area: Rect) -> Areas {
    let w = area.width;
    let h = area.height;
    let input_rows = (app.draft().lines().len() as u16).clamp(1, MAX_INPUT_ROWS);
    let notice_rows = u16::from(app.notice.is_some());
    let fixed = 1 + notice_rows + input_rows + 1;
    let main_h = h.saturating_sub(fixed);
    let row =
        |y: u16, rows: u16| Rect::new(area.x, area.y + y.min(h), w, rows.min(h.saturating_sub(y)));
    let tabs = row(0, 1);
    let main_full = row(1, main_h);
    let (main, people) = if app.people.visible && w > PEOPLE_WIDTH + 20 {
        (
            Rect::new(main_full.x, main_full.y, w - PEOPLE_WIDTH, main_full.height),
            Some(Rect::new(
                main_full.x + w - PEOPLE_WIDTH,
                main_full.y,
                PEOPLE_WIDTH,
                main_full.height,
            )),
        )
    } else {
        (main_full, None)
    };
    let notice = (notice_rows > 0).then(|| row(1 + main_h, 1));
    let input = row(1 + main_h + notice_rows, input_rows);
    let status = row(h.saturating_sub(1), 1);
    Areas {
        tabs,
        main,
        people,
        notice,
        input,
        status,
    }
}

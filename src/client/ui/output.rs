//! The system view (F3, `/who`, `/members`, `/motd`): a titled text over
//! everything between the tab bar and the status bar, wrapped to its width,
//! with the keys in its bottom border. Text from the network is cleaned
//! before it gets here.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::widgets::{Block, Borders, Clear, Widget};

use crate::client::app::App;
use crate::client::views::LineKind;
use crate::client::wrap::{self, elide};

/// Where the view goes on a screen of `area`: under the tab bar, over the
/// status bar's row stays free.
pub fn area(screen: Rect) -> Rect {
    let h = screen.height.saturating_sub(2);
    Rect::new(screen.x, screen.y + 1, screen.width, h)
}

/// The text's area inside the frame.
fn inner(screen: Rect) -> Rect {
    Block::default().borders(Borders::ALL).inner(area(screen))
}

/// The wrapped rows at `width` cells: each line's continuation rows are
/// indented two cells, so a wrapped line never reads as two.
pub fn rows(app: &App, width: usize) -> Vec<(String, LineKind)> {
    let width = width.max(4);
    let mut out = Vec::new();
    for line in &app.output.lines {
        if line.text.is_empty() {
            out.push((String::new(), line.kind));
            continue;
        }
        for (k, (a, b)) in wrap::wrap(&line.text, width, width - 2)
            .into_iter()
            .enumerate()
        {
            let piece = line.text[a..b].trim_end();
            let text = if k == 0 {
                piece.to_owned()
            } else {
                format!("  {}", piece.trim_start())
            };
            out.push((text, line.kind));
        }
    }
    out
}

/// The number of wrapped rows and the rows shown at once, on the app's
/// screen: for scrolling.
pub fn extent(app: &App) -> (usize, usize) {
    let r = inner(Rect::new(0, 0, app.size.0, app.size.1));
    (rows(app, usize::from(r.width)).len(), usize::from(r.height))
}

pub fn render(app: &App, screen: Rect, buf: &mut Buffer) {
    let area = area(screen);
    if area.width < 6 || area.height < 3 {
        return;
    }
    let s = &app.theme.styles;
    let view = &app.output;
    let room = usize::from(area.width.saturating_sub(2));
    let inner = inner(screen);
    let rows = rows(app, usize::from(inner.width));
    let page = usize::from(inner.height);
    let max = rows.len().saturating_sub(page);
    let first = view.scroll.min(max);
    // The keys, as many as fit: Esc always.
    let hint = if rows.len() > page {
        let (a, b, n) = (first + 1, (first + page).min(rows.len()), rows.len());
        [
            format!(" {a}–{b} of {n} · ↑↓ PgUp PgDn Home End · Esc closes "),
            format!(" {a}–{b}/{n} · ↑↓ PgUp PgDn · Esc closes "),
            format!(" {a}–{b}/{n} ↑↓ Esc "),
        ]
        .into_iter()
        .find(|h| wrap::width(h) <= room)
        .unwrap_or_else(|| " Esc ".to_owned())
    } else {
        " Esc closes ".to_owned()
    };
    Clear.render(area, buf);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(s.border)
        .title(elide(&format!(" {} ", view.title), room))
        .title_style(s.title)
        .title_bottom(elide(&hint, room))
        .style(s.base);
    block.render(area, buf);
    let w = usize::from(inner.width);
    for (y, (text, kind)) in (inner.y..).zip(rows.iter().skip(first).take(page)) {
        let style = match kind {
            LineKind::Text => s.base,
            LineKind::Dim => s.dim,
            LineKind::Error => s.error,
        };
        buf.set_stringn(inner.x, y, text, w, style);
    }
}

//! Progress bars of the shown tab's file transfers, between the chat and
//! the notice: `↑ report.pdf ▕████░░░░▏ 42% 1.0 MB/2.4 MB 1.2 MB/s 2s left`.
//! The status bar sums up the newest transfer of any tab.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use crate::client::app::{App, Transfer};
use crate::client::wrap::{elide, width};

/// The bar itself, `cells` wide, filled in eighths.
pub fn bar(t: &Transfer, cells: usize) -> String {
    const PARTS: [char; 8] = [' ', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
    let eighths = (t.percent() as usize * cells * 8) / 100;
    let mut s = "█".repeat(eighths / 8);
    if eighths / 8 < cells {
        let p = PARTS[eighths % 8];
        s.push(if p == ' ' { '░' } else { p });
        s.push_str(&"░".repeat(cells - eighths / 8 - 1));
    }
    s
}

/// One transfer as a row of `w` cells.
pub fn row(t: &Transfer, now_ms: i64, w: usize) -> String {
    let figures = t.figures(now_ms);
    let bar_cells = if w >= 60 {
        16
    } else if w >= 44 {
        8
    } else {
        0
    };
    let name_room = w
        .saturating_sub(2 + width(&figures) + 1)
        .saturating_sub(if bar_cells > 0 { bar_cells + 3 } else { 0 });
    let name = elide(&t.name, name_room.clamp(4, 40));
    let line = if bar_cells > 0 {
        format!("{} {name} {} {figures}", t.arrow(), bar(t, bar_cells))
    } else {
        format!("{} {name} {figures}", t.arrow())
    };
    elide(&line, w)
}

/// The short form for the status bar: `↑ 42% 1.2 MB/s 2s left`.
pub fn status_text(app: &App) -> Option<(String, String)> {
    let t = app.transfers.last()?;
    let short = match t.eta_secs(app.now_ms) {
        Some(eta) if t.phase == crate::client::app::Phase::Running => format!(
            "{} {}% {} left",
            t.arrow(),
            t.percent(),
            crate::client::app::files::duration_text(eta)
        ),
        _ => format!("{} {}%", t.arrow(), t.percent()),
    };
    let long = format!("{} {}", t.arrow(), t.figures(app.now_ms));
    Some((long, short))
}

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let list = app.tab_transfers();
    let w = usize::from(area.width.saturating_sub(1));
    let rows = usize::from(area.height);
    let style = app.theme.styles.notice;
    for (k, t) in list.iter().take(rows).enumerate() {
        let mut text = row(t, app.now_ms, w);
        if k + 1 == rows && list.len() > rows {
            let more = format!(" (+{} more)", list.len() - rows);
            text = format!("{}{more}", elide(&text, w.saturating_sub(width(&more))));
        }
        buf.set_stringn(area.x + 1, area.y + k as u16, &text, w, style);
    }
}

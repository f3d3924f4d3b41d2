//! The help overlay (F1, or `?` with an empty input line).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Widget};

use crate::client::app::App;
use crate::client::commands::{ADMIN_COMMANDS, COMMANDS};
use crate::client::wrap;

/// Every key, grouped.
pub const KEYS: [(&str, &str); 34] = [
    ("Alt-1 … Alt-9", "jump to tab 1 … 9"),
    ("Ctrl-N / Ctrl-P", "next / previous tab"),
    (
        "Alt-A",
        "next tab with activity (private and mentions first)",
    ),
    ("PgUp / PgDn", "scroll the chat"),
    ("Home / End", "oldest / newest (input empty)"),
    ("Ctrl-Home / Ctrl-End", "oldest / newest, always"),
    ("mouse", "click a tab; the wheel scrolls"),
    ("Enter", "send the message or command"),
    ("Alt-Enter", "new line in the message"),
    ("↑ / ↓", "earlier / later sent lines"),
    ("Tab", "complete a nick, a #group, a /command or a path"),
    ("← → Ctrl-← Ctrl-→", "move by character / word"),
    ("Ctrl-A / Ctrl-E", "start / end of line"),
    ("Alt-B / Alt-F", "word left / right"),
    ("Ctrl-W, Alt-Backspace", "delete word before the cursor"),
    ("Alt-D", "delete word after the cursor"),
    ("Ctrl-U / Ctrl-K", "delete to start / end of line"),
    ("Ctrl-Z / Ctrl-Y", "undo / redo in the input line"),
    (
        "Esc",
        "dismiss the notice, or jump to newest, or hide the message of the day",
    ),
    (
        "Ctrl-↑ / Alt-↑",
        "select a message: ↑/↓ move, Enter fetch its file, d delete (y/n), Esc back",
    ),
    (
        "drag a file in",
        "asks to send it to this tab: y sends, any other key does not",
    ),
    (
        "files",
        "/send PATH, /get, /open, /cancel-transfer; saved in Downloads/tchat",
    ),
    (
        "/audit ↑ / ↓ PgUp PgDn",
        "scroll the audit log (admins); Esc closes",
    ),
    ("F2", "people panel: ↑/↓ select, Enter chat, Esc close"),
    (
        "F3",
        "notices shown lately, whole (also /who, /members, /motd): ↑/↓ PgUp PgDn scroll, Esc closes",
    ),
    (
        "F2 in a group tab",
        "the group's members, roles and presence",
    ),
    ("Inbox ↑ / ↓", "select a request or invitation"),
    (
        "Inbox a / r",
        "accept / reject a request; join / decline a group",
    ),
    ("Inbox c", "cancel one of your requests"),
    ("F1 or ?", "this help (Esc closes)"),
    ("Ctrl-R", "login form: log in / register"),
    (
        "/groups ↑ / ↓ Enter",
        "pick a group in the directory and join",
    ),
    ("Ctrl-C", "quit"),
    ("//text", "send a message starting with /"),
];

/// Where descriptions start (from the left of the help's inner area)
/// when there is room for two columns: a key or command of up to 22 cells
/// fits before it with two spaces to spare; a longer one has its
/// description on the rows below it.
const WIDE_COLUMN: usize = 26;
/// Narrower than this inner width, every description starts on the row
/// under its key, indented, so that it keeps some room to wrap in.
const TWO_COLUMNS_FROM: usize = WIDE_COLUMN + 24;
/// The indent of descriptions under their key when the help is narrow.
const NARROW_COLUMN: usize = 6;

/// The popup for a screen of `area`: centred, at most 84 columns.
fn popup(area: Rect) -> Rect {
    let w = area.width.saturating_sub(4).min(84);
    let h = area.height.saturating_sub(2);
    Rect::new(area.x + (area.width - w) / 2, area.y + 1, w, h)
}

/// Rows of help text (for scrolling limits) on the current screen: admins
/// also see the administration commands.
pub fn line_count(app: &App) -> usize {
    let area = popup(Rect::new(0, 0, app.size.0, app.size.1));
    lines(app, usize::from(area.width.saturating_sub(2))).len()
}

/// One entry: the key (or command) and what it does, with at least two
/// spaces between them, wrapped to `width` cells with the description's
/// rows aligned; never cut.
fn entry(out: &mut Vec<Line<'static>>, key: &str, what: &str, width: usize, app: &App) {
    let s = &app.theme.styles;
    let indent = 2;
    let column = if width >= TWO_COLUMNS_FROM {
        WIDE_COLUMN
    } else {
        NARROW_COLUMN
    };
    let key_w = wrap::width(key);
    // The key's own rows (a key wider than the screen wraps too).
    let key_rows: Vec<&str> = wrap::wrap(
        key,
        width.saturating_sub(indent),
        width.saturating_sub(indent),
    )
    .into_iter()
    .map(|(a, b)| &key[a..b])
    .collect();
    let same_row = key_rows.len() == 1 && indent + key_w + 2 <= column;
    let desc_w = width.saturating_sub(column).max(1);
    let desc_rows: Vec<String> = wrap::wrap(what, desc_w, desc_w)
        .into_iter()
        .map(|(a, b)| what[a..b].trim_end().to_owned())
        .collect();
    let pad = |n: usize| " ".repeat(n);
    let mut desc = desc_rows.into_iter();
    if same_row {
        let first = desc.next().unwrap_or_default();
        out.push(Line::from(vec![
            Span::styled(
                format!("{}{key}{}", pad(indent), pad(column - indent - key_w)),
                s.prompt,
            ),
            Span::styled(first, s.base),
        ]));
    } else {
        for k in key_rows {
            out.push(Line::from(Span::styled(
                format!("{}{k}", pad(indent)),
                s.prompt,
            )));
        }
    }
    for d in desc {
        out.push(Line::from(vec![
            Span::raw(pad(column)),
            Span::styled(d, s.base),
        ]));
    }
}

/// The help's rows for an inner width of `width` cells.
fn lines(app: &App, width: usize) -> Vec<Line<'static>> {
    let s = &app.theme.styles;
    let mut out = vec![Line::from(Span::styled("Keys", s.title))];
    for (k, what) in KEYS {
        entry(&mut out, k, what, width, app);
    }
    out.push(Line::from(""));
    out.push(Line::from(Span::styled("Commands", s.title)));
    let command = |out: &mut Vec<Line<'static>>, (cmd, arg, what): (&str, &str, &str)| {
        let key = if arg.is_empty() {
            cmd.to_owned()
        } else {
            format!("{cmd} {arg}")
        };
        entry(out, &key, what, width, app);
    };
    for c in COMMANDS {
        command(&mut out, c);
    }
    if app.is_admin() {
        out.push(Line::from(""));
        out.push(Line::from(Span::styled(
            "Administration (you are a server admin)",
            s.title,
        )));
        for c in ADMIN_COMMANDS {
            command(&mut out, c);
        }
    }
    out
}

/// The frame's title, shorter where the long one would be cut.
fn title(width: u16) -> &'static str {
    const LONG: &str = " tchat help — Esc closes, ↑/↓ PgUp/PgDn scroll ";
    const SHORT: &str = " help — Esc closes, ↑/↓ scroll ";
    if wrap::width(LONG) + 2 <= usize::from(width) {
        LONG
    } else {
        SHORT
    }
}

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let popup = popup(area);
    let h = popup.height;
    Clear.render(popup, buf);
    let s = &app.theme.styles;
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(s.border)
        .title(title(popup.width))
        .title_style(s.title)
        .style(s.base);
    let text = lines(app, usize::from(popup.width.saturating_sub(2)));
    let inner_h = h.saturating_sub(2);
    let max_scroll = (text.len() as u16).saturating_sub(inner_h);
    Paragraph::new(text)
        .block(block)
        .scroll((app.help.scroll.min(max_scroll), 0))
        .render(popup, buf);
}

//! The help overlay (F1, or `?` with an empty input line).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Widget};

use crate::client::app::App;
use crate::client::commands::{ADMIN_COMMANDS, COMMANDS};

/// Every key, grouped.
pub const KEYS: [(&str, &str); 33] = [
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
    ("Esc", "dismiss the notice, or jump to newest"),
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

/// Rows of help text (for scrolling limits): admins also see the
/// administration commands.
pub fn line_count(app: &App) -> usize {
    let admin = if app.is_admin() {
        ADMIN_COMMANDS.len() + 2
    } else {
        0
    };
    KEYS.len() + COMMANDS.len() + 3 + admin
}

fn lines(app: &App) -> Vec<Line<'static>> {
    let s = &app.theme.styles;
    let mut out = vec![Line::from(Span::styled("Keys", s.title))];
    for (k, what) in KEYS {
        out.push(Line::from(vec![
            Span::styled(format!("  {k:<22}"), s.prompt),
            Span::styled(what.to_owned(), s.base),
        ]));
    }
    out.push(Line::from(""));
    out.push(Line::from(Span::styled("Commands", s.title)));
    let command = |(cmd, arg, what): (&str, &str, &str)| {
        Line::from(vec![
            Span::styled(format!("  {:<22}", format!("{cmd} {arg}")), s.prompt),
            Span::styled(what.to_owned(), s.base),
        ])
    };
    out.extend(COMMANDS.into_iter().map(command));
    if app.is_admin() {
        out.push(Line::from(""));
        out.push(Line::from(Span::styled(
            "Administration (you are a server admin)",
            s.title,
        )));
        out.extend(ADMIN_COMMANDS.into_iter().map(command));
    }
    out
}

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let w = area.width.saturating_sub(4).min(84);
    let h = area.height.saturating_sub(2);
    let popup = Rect::new(area.x + (area.width - w) / 2, area.y + 1, w, h);
    Clear.render(popup, buf);
    let s = &app.theme.styles;
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(s.border)
        .title(" tchat help — Esc closes, ↑/↓ PgUp/PgDn scroll ")
        .title_style(s.title)
        .style(s.base);
    let text = lines(app);
    let inner_h = h.saturating_sub(2);
    let max_scroll = (text.len() as u16).saturating_sub(inner_h);
    Paragraph::new(text)
        .block(block)
        .scroll((app.help.scroll.min(max_scroll), 0))
        .render(popup, buf);
}

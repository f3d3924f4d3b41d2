//! The trust question for an unknown certificate, and the CHANGED warning,
//! drawn over the login form.
//!
//! Everything shown that came from the network (names in the certificate)
//! or from files (the path) goes through the sanitizer; fingerprints are
//! computed here, but are cleaned too, for the day they are not.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Padding, Paragraph, Widget, Wrap};

use crate::client::app::App;
use crate::client::sanitize::clean_line;
use crate::client::trust::Untrusted;

/// `SHA256:AB:…` as two rows of 16 bytes, so it fits 80 columns and can be
/// compared half by half.
pub fn fingerprint_rows(fingerprint: &str) -> [String; 2] {
    let clean = clean_line(fingerprint);
    let hex = clean.strip_prefix("SHA256:").unwrap_or(&clean);
    // 16 bytes are 47 characters; the colon after them is dropped.
    let cut = hex.char_indices().nth(47).map_or(hex.len(), |(i, _)| i);
    let (a, b) = hex.split_at(cut);
    let b = b.strip_prefix(':').unwrap_or(b);
    [format!("SHA256:{a}"), format!("       {b}")]
}

fn path_text(app: &App) -> String {
    app.settings.known_servers.as_ref().map_or_else(
        || "memory (this session only)".to_owned(),
        |p| clean_line(&p.display().to_string()).into_owned(),
    )
}

pub fn render(app: &App, prompt: &Untrusted, area: Rect, buf: &mut Buffer) {
    let s = &app.theme.styles;
    let (title, border, lines) = match prompt {
        Untrusted::Unknown {
            server,
            fingerprint,
            names,
            no_system_roots,
        } => (
            " Unknown server certificate ",
            s.border,
            unknown_lines(app, server, fingerprint, names, *no_system_roots),
        ),
        Untrusted::Changed {
            server,
            old,
            new,
            file,
            line,
        } => (
            " WARNING: SERVER CERTIFICATE CHANGED ",
            s.error,
            changed_lines(app, server, old, new, file.as_deref(), *line),
        ),
        Untrusted::PinMismatch {
            server,
            expected,
            got,
        } => (
            " Certificate does not match --trust-fingerprint ",
            s.error,
            pin_lines(app, server, expected, got),
        ),
    };
    let w = area.width.min(76);
    let h = (lines.len() as u16 + 2).min(area.height);
    let r = Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    );
    Clear.render(r, buf);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(border)
        .title(title)
        .title_style(border.add_modifier(Modifier::BOLD))
        .padding(Padding::horizontal(1))
        .style(s.base);
    Paragraph::new(lines)
        .block(block)
        .wrap(Wrap { trim: false })
        .render(r, buf);
}

fn unknown_lines(
    app: &App,
    server: &str,
    fingerprint: &str,
    names: &[String],
    no_system_roots: bool,
) -> Vec<Line<'static>> {
    let s = &app.theme.styles;
    let server = clean_line(server).into_owned();
    let [fp1, fp2] = fingerprint_rows(fingerprint);
    let names = if names.is_empty() {
        "(none)".to_owned()
    } else {
        names
            .iter()
            .map(|n| clean_line(n).into_owned())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut lines = vec![
        Line::from(vec![
            Span::styled(server, s.title),
            Span::raw(" sent a certificate that no authority you trust"),
        ]),
        Line::raw("has signed. That is normal for a server with a self-signed"),
        Line::raw("certificate, the first time you connect."),
    ];
    if no_system_roots {
        lines.push(Line::styled(
            "(No system root certificates were found on this computer.)",
            s.dim,
        ));
    }
    lines.extend([
        Line::raw(""),
        Line::from(vec![
            Span::styled("  for names    ", s.dim),
            Span::raw(names),
        ]),
        Line::from(vec![
            Span::styled("  fingerprint  ", s.dim),
            Span::styled(fp1, s.title),
        ]),
        Line::from(vec![
            Span::raw("               "),
            Span::styled(fp2, s.title),
        ]),
        Line::raw(""),
        Line::raw("Compare it with the fingerprint the server's operator gave you"),
        Line::raw("(tchat-server tls gen prints it). Trust it only if they match."),
        Line::raw(""),
        Line::from(vec![
            Span::styled("  y  ", s.prompt),
            Span::raw("trust it and remember it in"),
        ]),
        Line::styled(format!("     {}", path_text(app)), s.dim),
        Line::from(vec![
            Span::styled("  n  ", s.prompt),
            Span::raw("or Esc: do not connect"),
        ]),
    ]);
    lines
}

fn changed_lines(
    app: &App,
    server: &str,
    old: &str,
    new: &str,
    file: Option<&std::path::Path>,
    line: usize,
) -> Vec<Line<'static>> {
    let s = &app.theme.styles;
    let loud = s.error.add_modifier(Modifier::BOLD);
    let server = clean_line(server).into_owned();
    let [old1, old2] = fingerprint_rows(old);
    let [new1, new2] = fingerprint_rows(new);
    let file = file.map_or_else(
        || "known_servers".to_owned(),
        |p| clean_line(&p.display().to_string()).into_owned(),
    );
    let where_ = if line > 0 {
        format!("line {line} of")
    } else {
        "the line in".to_owned()
    };
    vec![
        Line::from(vec![
            Span::styled(server.clone(), s.title),
            Span::styled(" sent a different certificate from the one", loud),
        ]),
        Line::styled("you trusted before. Not connected.", loud),
        Line::raw("Someone may be intercepting the connection, or the server may"),
        Line::raw("simply have a new certificate. Ask its operator which it is."),
        Line::raw(""),
        Line::from(vec![Span::styled("  remembered  ", s.dim), Span::raw(old1)]),
        Line::from(vec![Span::raw("              "), Span::raw(old2)]),
        Line::from(vec![
            Span::styled("  presented   ", s.dim),
            Span::styled(new1, s.error),
        ]),
        Line::from(vec![
            Span::raw("              "),
            Span::styled(new2, s.error),
        ]),
        Line::raw(""),
        Line::raw(format!("Only if the change is expected: delete {where_}")),
        Line::styled(format!("  {file}"), s.prompt),
        Line::from(vec![
            Span::raw("(the line starting "),
            Span::styled(format!("{server} {}", short(old)), s.prompt),
            Span::raw(")"),
        ]),
        Line::raw("and connect again; you will be asked about the new one."),
        Line::raw(""),
        Line::from(vec![Span::styled("  Esc  ", s.prompt), Span::raw("close")]),
    ]
}

fn pin_lines(app: &App, server: &str, expected: &str, got: &str) -> Vec<Line<'static>> {
    let s = &app.theme.styles;
    let [exp1, exp2] = fingerprint_rows(expected);
    let [got1, got2] = fingerprint_rows(got);
    vec![
        Line::from(vec![
            Span::styled(clean_line(server).into_owned(), s.title),
            Span::styled(
                " sent another certificate than the one given",
                s.error.add_modifier(Modifier::BOLD),
            ),
        ]),
        Line::styled(
            "with --trust-fingerprint. Not connected.",
            s.error.add_modifier(Modifier::BOLD),
        ),
        Line::raw(""),
        Line::from(vec![Span::styled("  expected   ", s.dim), Span::raw(exp1)]),
        Line::from(vec![Span::raw("             "), Span::raw(exp2)]),
        Line::from(vec![
            Span::styled("  presented  ", s.dim),
            Span::styled(got1, s.error),
        ]),
        Line::from(vec![
            Span::raw("             "),
            Span::styled(got2, s.error),
        ]),
        Line::raw(""),
        Line::from(vec![Span::styled("  Esc  ", s.prompt), Span::raw("close")]),
    ]
}

/// The start of a fingerprint, enough to find its line.
fn short(fingerprint: &str) -> String {
    let clean = clean_line(fingerprint);
    let head: String = clean.chars().take(7 + 11).collect();
    format!("{head}…")
}

//! The status bar: connection, who and where, own status, round trip, help.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use crate::client::app::{App, ConnState};
use crate::client::wrap::width;

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let s = &app.theme.styles;
    buf.set_style(area, s.status_bar);
    let (conn, style) = match &app.conn {
        // Say "encrypted" only of a live connection: the flag belongs to it.
        ConnState::Connected if app.tls.is_some() => ("● connected · tls".to_owned(), s.status_ok),
        ConnState::Connected => ("● connected".to_owned(), s.status_ok),
        ConnState::Connecting => ("◌ connecting…".to_owned(), s.status_warn),
        ConnState::Reconnecting { secs } if *secs > 0 => {
            (format!("◌ reconnecting in {secs}s"), s.status_warn)
        }
        ConnState::Reconnecting { .. } => ("◌ reconnecting…".to_owned(), s.status_warn),
        ConnState::Offline(_) => ("○ offline".to_owned(), s.status_err),
    };
    let w = usize::from(area.width);
    let right = "F1 help ";
    // What the user must know first: a mute (why sends are refused) and
    // the admin role come right after the connection, whole or not at all;
    // where they would not fit, the connection is said by its symbol alone.
    let mut flags: Vec<(String, ratatui::style::Style)> = Vec::new();
    if let Some(m) = app.mute_label() {
        flags.push((format!(" · {m}"), s.status_warn));
    }
    if app.is_admin() {
        flags.push((" · admin".to_owned(), s.status_ok));
    }
    // Reconnecting after the server shut down: say why (cut with `…`,
    // leaving room for who and where).
    let shutdown = app
        .shutdown
        .as_ref()
        .filter(|_| !matches!(app.conn, ConnState::Connected));
    let flags_w: usize = flags.iter().map(|(t, _)| width(t)).sum();
    let conn = if flags_w > 0 && 1 + width(&conn) + flags_w + width(right) + 1 > w {
        conn.chars().next().map_or(conn.clone(), String::from)
    } else {
        conn
    };
    let (mut x, _) = buf.set_stringn(area.x + 1, area.y, &conn, w, style);
    let me = app
        .me
        .as_ref()
        .map_or_else(|| app.login.user_text(), |m| m.to_string());
    let room = |x: u16| w.saturating_sub(usize::from(x - area.x) + width(right) + 1);
    for (text, style) in flags {
        if width(&text) <= room(x) {
            let (nx, _) = buf.set_stringn(x, area.y, &text, room(x), style);
            x = nx;
        }
    }
    if let Some(why) = shutdown {
        // Before who and where, which keeps a few cells (`  alice…`).
        let room = room(x).saturating_sub(8);
        let long = format!(" · server shut down: {why}");
        let text = if width(&long) <= room {
            long
        } else {
            crate::client::wrap::elide(&format!(" · shut down: {why}"), room)
        };
        if room >= 16 {
            let (nx, _) = buf.set_stringn(x, area.y, &text, room, s.status_warn);
            x = nx;
        }
    }
    // A transfer under way: its figures where they fit beside who and
    // where, else its percentage and time left.
    let me_w = width(&format!("  {me}@{}", server_text(app)));
    if let Some((long, short)) = crate::client::ui::transfers::status_text(app) {
        for (k, t) in [long, short].into_iter().enumerate() {
            let t = format!(" · {t}");
            let need = width(&t) + if k == 0 { me_w } else { 0 };
            if need <= room(x) {
                let (nx, _) = buf.set_stringn(x, area.y, &t, room(x), s.status_ok);
                x = nx;
                break;
            }
        }
    }
    let mut pieces = vec![
        format!("  {me}@{}", server_text(app)),
        format!("  {}", app.status.as_str()),
    ];
    if let Some(rtt) = app.rtt {
        pieces.push(format!("  rtt {} ms", rtt.as_millis()));
    }
    let room = room(x);
    // Whole pieces only: a cut-off "rtt" helps nobody.
    let mut rest = String::new();
    for (i, p) in pieces.iter().enumerate() {
        if width(&rest) + width(p) <= room || i == 0 {
            rest.push_str(p);
        }
    }
    // Who and where always shows, cut with `…` where it does not fit: a
    // port cut silently would read as another port.
    let rest = crate::client::wrap::elide(&rest, room);
    let (nx, _) = buf.set_stringn(x, area.y, &rest, room, s.status_bar);
    x = nx;
    let rx = area.x + area.width.saturating_sub(width(right) as u16);
    if rx > x {
        buf.set_stringn(rx, area.y, right, width(right), s.status_bar);
    }
}

/// The server without its `tls://` (the connection state says how it is
/// reached): with a list of addresses, the one logged in at last, else
/// the first.
fn server_text(app: &App) -> String {
    if let Some(now) = &app.server_now {
        return now.clone();
    }
    let text = app.login.server_text();
    match crate::client::address::parse_list(&text) {
        Ok(list) => list.first().map_or(text, |a| a.key()),
        Err(_) => text,
    }
}

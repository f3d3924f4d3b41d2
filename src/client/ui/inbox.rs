//! The inbox tab: requests and group invitations for you, and yours
//! waiting for an answer.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use crate::client::app::App;
use crate::client::sanitize::clean_line;
use crate::client::time;

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let s = &app.theme.styles;
    let w = usize::from(area.width);
    let mut y = area.y;
    let bottom = area.y + area.height;
    let mut line = |y: &mut u16, text: &str, style| {
        if *y < bottom {
            buf.set_stringn(area.x, *y, text, w, style);
            *y += 1;
        }
    };
    let inbox = &app.inbox;
    if inbox.is_empty() {
        line(&mut y, "", s.base);
        line(
            &mut y,
            "  Your inbox is empty: no chat requests are waiting.",
            s.base,
        );
        line(&mut y, "", s.base);
        line(
            &mut y,
            "  Ask someone with /chat NAME, or pick a person in the people panel (F2).",
            s.dim,
        );
        return;
    }
    line(&mut y, "", s.base);
    line(&mut y, "  Requests for you", s.title);
    if inbox.incoming.is_empty() {
        line(&mut y, "    none", s.dim);
    }
    for (i, r) in inbox.incoming.iter().enumerate() {
        let text = format!(
            "  {} {:<20} asked {:<10}  a accept  r reject",
            if inbox.selected == i { '>' } else { ' ' },
            r.from.as_str(),
            time::ago(r.ts, app.now_ms),
        );
        let style = if inbox.selected == i {
            s.selected
        } else {
            s.base
        };
        line(&mut y, &text, style);
    }
    let n_in = inbox.incoming.len();
    if !inbox.invites.is_empty() {
        line(&mut y, "", s.base);
        line(&mut y, "  Invitations to groups", s.title);
    }
    for (j, r) in inbox.invites.iter().enumerate() {
        let sel = inbox.selected == n_in + j;
        let text = format!(
            "  {} {:<20} from {} {}  a join  r decline",
            if sel { '>' } else { ' ' },
            r.chat.to_string(),
            r.from.as_str(),
            time::ago(r.ts, app.now_ms),
        );
        line(&mut y, &text, if sel { s.selected } else { s.base });
    }
    line(&mut y, "", s.base);
    line(&mut y, "  Your requests", s.title);
    if inbox.outgoing.is_empty() {
        line(&mut y, "    none", s.dim);
    }
    let n_before = n_in + inbox.invites.len();
    for (j, r) in inbox.outgoing.iter().enumerate() {
        let sel = inbox.selected == n_before + j;
        let text = format!(
            "  {} {:<20} sent {:<11}  c cancel",
            if sel { '>' } else { ' ' },
            r.to.as_str(),
            time::ago(r.ts, app.now_ms),
        );
        line(&mut y, &text, if sel { s.selected } else { s.base });
        // What `/msg` typed for this chat, sent when it opens.
        if let Some(waiting) = app.queued.get(&r.to.key()).filter(|q| !q.is_empty()) {
            let first = clean_line(&waiting[0].text);
            let text = match waiting.len() {
                1 => format!("      waiting to send: {first}"),
                n => format!("      {n} messages waiting to send: {first} …"),
            };
            line(&mut y, &text, s.dim);
        }
    }
    if inbox.overflow > 0 {
        let text = format!("  … and {} more not listed", inbox.overflow);
        line(&mut y, &text, s.dim);
    }
    line(&mut y, "", s.base);
    let keys = if inbox.invites.is_empty() {
        "  ↑/↓ select   a accept   r reject   c cancel"
    } else {
        "  ↑/↓ select   a accept/join   r reject/decline   c cancel"
    };
    line(&mut y, keys, s.dim);
}

//! Where each part of the chat screen goes. Shared by the renderer and by
//! `App::update` (scroll page size, mouse hit-testing), so both agree.

use ratatui::layout::Rect;

use crate::client::app::App;

/// Width of the people panel (F2).
pub const PEOPLE_WIDTH: u16 = 24;

/// Whether the people panel fits beside the chat on a screen `width`
/// wide; narrower, it takes the chat's place while it is open.
pub fn people_beside(width: u16) -> bool {
    width > PEOPLE_WIDTH + 20
}
/// The input line grows with the draft up to this many rows.
pub const MAX_INPUT_ROWS: u16 = 5;

/// Most rows a notice wraps to; beyond them it is elided with `…`.
pub const MAX_NOTICE_ROWS: u16 = 3;
/// Ends a notice cut to `MAX_NOTICE_ROWS`: F3 shows it whole.
pub const CUT_HINT: &str = " F3 shows all";

/// The chat screen's areas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Areas {
    pub tabs: Rect,
    /// Under the tabs in a group tab: its topic, or why it is closed.
    pub topic: Option<Rect>,
    /// The chat or inbox.
    pub main: Rect,
    pub people: Option<Rect>,
    /// Progress bars of the tab's file transfers.
    pub transfers: Option<Rect>,
    pub notice: Option<Rect>,
    pub input: Rect,
    pub status: Rect,
}

/// The line under the tabs of a group tab: why it is closed (`true`), or
/// its topic; in `# public`, the message of the day's banner; `None` for a
/// group without a topic and for other tabs.
pub fn topic_line(app: &App) -> Option<(String, bool)> {
    let chat = app.active_chat()?;
    if chat.key == crate::protocol::ChatKey::Public {
        return motd_banner(app).map(|b| (b, false));
    }
    let group = chat.group.as_ref()?;
    if let Some(why) = &chat.closed {
        return Some((format!("closed: {why} · /leave closes the tab"), true));
    }
    (!group.topic.trim().is_empty()).then(|| (group.topic.clone(), false))
}

/// The banner over `# public`: the message of the day's first line (`…`
/// when there is more: `/motd` shows it whole), unless the user hid it.
pub fn motd_banner(app: &App) -> Option<String> {
    let motd = app.motd.as_ref().filter(|_| !app.motd_hidden)?;
    let mut lines = motd.lines().filter(|l| !l.trim().is_empty());
    let first = lines.next()?.trim();
    Some(if lines.next().is_some() {
        format!("{first} …")
    } else {
        first.to_owned()
    })
}

/// Most progress bars shown under a chat; more are summed up in the last.
pub const MAX_TRANSFER_ROWS: u16 = 2;

/// Rows the progress bars of the tab shown take (none on a tiny screen).
pub fn transfer_rows(app: &App, h: u16) -> u16 {
    let n = app.tab_transfers().len() as u16;
    if h < 10 {
        0
    } else {
        n.min(MAX_TRANSFER_ROWS)
    }
}

/// The line above the input: the selection's question (it waits for an
/// answer), else the notice, else what the selection is and its keys.
/// `true` when it is an error or a question.
pub fn shown_notice(app: &App) -> Option<(String, bool)> {
    if let Some(q) = app.dropped_prompt() {
        return Some((q, true));
    }
    let prompt = app.selection_prompt();
    match (prompt, &app.notice) {
        (Some(p), _) if p.1 => Some(p),
        (_, Some(n)) => Some((n.text.clone(), n.error)),
        (p, None) => p,
    }
}

/// The notice's rows at this width: wrapped, at most `MAX_NOTICE_ROWS`.
pub fn notice_rows(app: &App, width: u16) -> Vec<String> {
    let Some((text, _)) = shown_notice(app) else {
        return Vec::new();
    };
    let n = crate::client::app::Notice { text, error: false };
    let w = usize::from(width.saturating_sub(1)).max(1);
    let ranges = crate::client::wrap::wrap(&n.text, w, w);
    let max = usize::from(MAX_NOTICE_ROWS);
    let mut rows: Vec<String> = ranges
        .iter()
        .take(max)
        .map(|&(a, b)| n.text[a..b].to_owned())
        .collect();
    if ranges.len() > max {
        // The last row shows as much of the rest as fits, says it is cut,
        // and where to read it whole.
        let rest = n.text[ranges[max - 1].0..].replace('\n', " ");
        if let Some(last) = rows.last_mut() {
            let room = w.saturating_sub(crate::client::wrap::width(CUT_HINT));
            *last = format!(
                "{}{CUT_HINT}",
                crate::client::wrap::elide(&format!("{rest} "), room)
            );
        }
    }
    if rows.is_empty() {
        rows.push(String::new());
    }
    rows
}

/// Splits `area` (the whole terminal) for the chat screen.
pub fn areas(app: &App, area: Rect) -> Areas {
    let w = area.width;
    let h = area.height;
    let input_rows = (app.draft().lines().len() as u16).clamp(1, MAX_INPUT_ROWS);
    let topic_rows = u16::from(topic_line(app).is_some() && h >= 8);
    // On a tiny terminal the notice gives way: the input and the status
    // bar keep their rows.
    let notice_rows =
        (notice_rows(app, w).len() as u16).min(h.saturating_sub(1 + topic_rows + input_rows + 1));
    let transfer_rows = transfer_rows(app, h);
    let fixed = 1 + topic_rows + transfer_rows + notice_rows + input_rows + 1;
    let main_h = h.saturating_sub(fixed);
    let row =
        |y: u16, rows: u16| Rect::new(area.x, area.y + y.min(h), w, rows.min(h.saturating_sub(y)));
    let tabs = row(0, 1);
    let topic = (topic_rows > 0).then(|| row(1, 1));
    let main_full = row(1 + topic_rows, main_h);
    let (main, people) = if app.people.visible && !people_beside(w) {
        // Too narrow to share: the panel takes the chat's place.
        (main_full, Some(main_full))
    } else if app.people.visible {
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
    let transfers = (transfer_rows > 0).then(|| row(1 + topic_rows + main_h, transfer_rows));
    let below = 1 + topic_rows + main_h + transfer_rows;
    let notice = (notice_rows > 0).then(|| row(below, notice_rows));
    let input = row(below + notice_rows, input_rows);
    let status = row(h.saturating_sub(1), 1);
    Areas {
        tabs,
        topic,
        main,
        people,
        transfers,
        notice,
        input,
        status,
    }
}

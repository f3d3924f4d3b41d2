//! Pure render functions: they read the `App` and draw; they never change
//! state (the only mutation is the wrap cache inside the chat log).

pub mod audit;
pub mod chat;
pub mod directory;
pub mod help;
pub mod inbox;
pub mod input;
pub mod layout;
pub mod login;
pub mod output;
pub mod people;
pub mod status;
pub mod tabs;
pub mod transfers;
pub mod trust;

use ratatui::Frame;

use super::app::{App, Screen};

/// Draws the whole screen.
pub fn render(app: &App, frame: &mut Frame<'_>) {
    let area = frame.area();
    let buf = frame.buffer_mut();
    buf.set_style(area, app.theme.styles.base);
    match app.screen {
        Screen::Login => login::render(app, area, buf),
        Screen::Chat => {
            let a = layout::areas(app, area);
            tabs::render(app, a.tabs, buf);
            if let (Some(r), Some((text, closed))) = (a.topic, layout::topic_line(app)) {
                let s = &app.theme.styles;
                let style = if closed { s.error } else { s.dim };
                let text =
                    crate::client::wrap::elide(&text, usize::from(r.width.saturating_sub(1)));
                buf.set_stringn(
                    r.x + 1,
                    r.y,
                    text,
                    usize::from(r.width.saturating_sub(1)),
                    style,
                );
            }
            if app.active < app.chats.len() {
                chat::render(app, app.active, a.main, buf);
            } else {
                inbox::render(app, a.main, buf);
            }
            if let Some(p) = a.people {
                people::render(app, p, buf);
            }
            if let Some(r) = a.transfers {
                transfers::render(app, r, buf);
            }
            if let (Some(r), Some((_, error))) = (a.notice, layout::shown_notice(app)) {
                let style = if error {
                    app.theme.styles.error
                } else {
                    app.theme.styles.notice
                };
                for (k, text) in layout::notice_rows(app, r.width).iter().enumerate() {
                    let y = r.y + k as u16;
                    if y < r.y + r.height {
                        let w = usize::from(r.width.saturating_sub(1));
                        buf.set_stringn(r.x + 1, y, text, w, style);
                    }
                }
            }
            input::render(app, a.input, buf);
            status::render(app, a.status, buf);
            if app.directory.visible {
                directory::render(app, a.main, buf);
            }
            if app.audit.visible {
                audit::render(app, a.main, buf);
            }
            if app.output.visible {
                output::render(app, area, buf);
            }
            if app.help.visible {
                help::render(app, area, buf);
            }
        }
    }
    if let Some(prompt) = &app.trust.prompt {
        trust::render(app, prompt, area, buf);
    }
}

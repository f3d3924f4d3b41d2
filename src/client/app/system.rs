//! What the system view shows: the notices shown lately (F3), who is
//! online (`/who`), a group's members (`/members`) and the message of the
//! day (`/motd`) — each whole, to be read at leisure.

use crate::protocol::{ChatKey, GroupRole, Status};

use super::*;
use crate::client::views::OutputLine;

impl App {
    /// F3: the notices shown lately, the newest at the bottom.
    pub(super) fn show_notices(&mut self) {
        let mut lines: Vec<OutputLine> = Vec::new();
        for n in &self.output.notices {
            let at = time::clock(n.ts, self.settings.utc_offset, self.settings.twelve_hour);
            let text = format!("{at} {}", n.text);
            lines.push(if n.error {
                OutputLine::error(text)
            } else {
                OutputLine::text(text)
            });
        }
        if lines.is_empty() {
            lines.push(OutputLine::dim("nothing to show yet"));
        }
        let title = format!("Notices ({})", self.output.notices.len());
        self.output.show(title, lines);
        // The newest is what was just cut: open at the end.
        self.output.scroll = usize::MAX;
    }

    /// `/who`'s answer: everyone online with their status.
    pub(super) fn show_who(&mut self, more: u64) {
        let mut lines: Vec<OutputLine> = self
            .online
            .values()
            .map(|u| {
                let me = if self.is_me(&u.user) { " (you)" } else { "" };
                OutputLine::text(format!("● {}{me}  {}", u.user, u.status.as_str()))
            })
            .collect();
        if more > 0 {
            lines.push(OutputLine::dim(format!("… and {more} more not listed")));
        }
        let n = self.online.len() as u64 + more;
        self.output.show(format!("Online ({n})"), lines);
    }

    /// `/members`' answer: the group's members, owner and mods first, with
    /// presence.
    pub(super) fn show_members(&mut self, chat: &ChatKey) {
        let Some(g) = self.chats.by_key(chat).and_then(|c| c.group.as_ref()) else {
            return;
        };
        let lines: Vec<OutputLine> = g
            .sorted_members()
            .into_iter()
            .map(|m| {
                let mark = match m.role {
                    GroupRole::Owner => "★",
                    GroupRole::Mod => "+",
                    GroupRole::Member => " ",
                };
                let me = if self.is_me(&m.user) { " (you)" } else { "" };
                let presence = match (m.online, m.status) {
                    (false, _) => "offline",
                    (true, Status::Available) => "online",
                    (true, st) => st.as_str(),
                };
                let text = format!("{mark} {}{me}  {} · {presence}", m.user, m.role.as_str());
                if m.online {
                    OutputLine::text(text)
                } else {
                    OutputLine::dim(text)
                }
            })
            .collect();
        let title = format!("Members of {chat} ({})", lines.len());
        self.output.show(title, lines);
    }

    /// `/motd`: the server's message of the day, whole; its banner over
    /// `# public` shows again.
    pub(super) fn show_motd(&mut self) {
        let Some(motd) = self.motd.clone() else {
            self.info("this server has no message of the day");
            return;
        };
        self.motd_hidden = false;
        let lines = motd.split('\n').map(OutputLine::text).collect();
        self.output.show("Message of the day", lines);
    }
}

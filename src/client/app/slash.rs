//! Running `/commands`.

use crate::protocol::{validate_text, Request};

use super::*;
use crate::client::commands::SlashCommand;
use crate::client::event::Command;
use crate::client::sanitize::clean_line;

impl App {
    /// Runs a command; false if it failed here (the draft is then kept).
    pub(super) fn run_command(&mut self, cmd: SlashCommand, out: &mut Vec<Command>) -> bool {
        let needs_net = !matches!(
            cmd,
            SlashCommand::Theme(_)
                | SlashCommand::Motd
                | SlashCommand::Help
                | SlashCommand::Quit
                | SlashCommand::Open
                | SlashCommand::CancelTransfer
        );
        if needs_net && !self.online_now() {
            self.error("not connected: try again once the status bar says connected");
            return false;
        }
        match cmd {
            SlashCommand::Create { .. }
            | SlashCommand::Join(_)
            | SlashCommand::Leave
            | SlashCommand::Invite(_)
            | SlashCommand::Kick { .. }
            | SlashCommand::Topic(_)
            | SlashCommand::Role { .. }
            | SlashCommand::DeleteGroup(_)
            | SlashCommand::Groups
            | SlashCommand::Members => return self.run_group_command(cmd, out),
            SlashCommand::Ban { .. }
            | SlashCommand::Unban(_)
            | SlashCommand::Mute { .. }
            | SlashCommand::Unmute(_)
            | SlashCommand::Disconnect { .. }
            | SlashCommand::Promote(_)
            | SlashCommand::Demote(_)
            | SlashCommand::Audit => return self.run_admin_command(cmd, out),
            SlashCommand::SendFile(args) => {
                if let Err(e) = self.cmd_send_file(&args, out) {
                    self.error(e);
                }
            }
            SlashCommand::Get => {
                if let Err(e) = self.cmd_get(out) {
                    self.error(e);
                }
            }
            SlashCommand::Open => {
                if let Err(e) = self.cmd_open(out) {
                    self.error(e);
                }
            }
            SlashCommand::CancelTransfer => {
                if let Err(e) = self.cmd_cancel_transfer(out) {
                    self.error(e);
                }
            }
            SlashCommand::Chat(name) => self.cmd_chat(&name, out),
            SlashCommand::Msg { user, text } => return self.cmd_msg(&user, text, out),
            SlashCommand::Accept(name) => self.cmd_accept(&name, out),
            SlashCommand::Reject(name) => self.cmd_reject(&name, out),
            SlashCommand::Cancel(name) => self.cmd_cancel(&name, out),
            SlashCommand::End => match self.active_chat().and_then(|c| c.key.partner()) {
                Some(name) => {
                    let name = name.to_string();
                    self.request(
                        out,
                        Request::EndChat { user: name.clone() },
                        Some(Pending::EndChat(name)),
                    );
                }
                None => {
                    self.error("/end works in a private chat's tab");
                    return false;
                }
            },
            SlashCommand::Who => {
                self.request(out, Request::Who, Some(Pending::Who));
            }
            SlashCommand::Motd => self.show_motd(),
            SlashCommand::Status(s) => {
                self.request(
                    out,
                    Request::SetStatus { status: s },
                    Some(Pending::SetStatus(s)),
                );
            }
            SlashCommand::Theme(name) => match self.themes.get(&name) {
                Ok(theme) => {
                    self.theme = theme;
                    self.info(format!("theme: {name}"));
                }
                Err(e) => {
                    self.error(clean_line(&e.to_string()).into_owned());
                    return false;
                }
            },
            SlashCommand::Help => self.help.open(),
            SlashCommand::Quit => {
                self.quit = true;
                out.push(Command::Quit);
            }
        }
        self.notice.as_ref().is_none_or(|n| !n.error)
    }

    pub(super) fn cmd_chat(&mut self, name: &str, out: &mut Vec<Command>) {
        if let Some(i) = self.private_index(name) {
            self.switch_tab(i);
            // A tab kept after its chat ended: ask for the chat again.
            if self.chats[i].is_live() {
                return;
            }
        }
        if self
            .me
            .as_ref()
            .is_some_and(|m| m.key() == NameKey::of(name))
        {
            self.error("that is you: pick someone else");
            return;
        }
        if !self.online_now() {
            self.error("not connected");
            return;
        }
        self.focus_on_open
            .insert(ChatId::Private(NameKey::of(name)), self.now_ms);
        self.request(
            out,
            Request::RequestChat {
                user: name.to_owned(),
            },
            Some(Pending::RequestChat(name.to_owned())),
        );
    }

    /// `/msg NAME text`: into NAME's open chat at once; otherwise the
    /// chat is asked for and the text waits (shown in the inbox with the
    /// request) until `chat_opened`, or comes back if the request fails.
    pub(super) fn cmd_msg(&mut self, name: &str, text: String, out: &mut Vec<Command>) -> bool {
        if let Err(e) = validate_text(&text) {
            self.error(format!("not sent: {e}"));
            return false;
        }
        let key = NameKey::of(name);
        if self.me.as_ref().is_some_and(|m| m.key() == key) {
            self.error("that is you: pick someone else");
            return false;
        }
        if let Some(i) = self
            .private_index(name)
            .filter(|&i| self.chats[i].is_live())
        {
            self.switch_tab(i);
            self.send_message(i, text, out);
            return true;
        }
        let asked =
            self.queued.contains_key(&key) || self.inbox.outgoing.iter().any(|r| r.to.key() == key);
        let tab = self.tab_at(self.active);
        self.queued.entry(key.clone()).or_default().push(QueuedMsg {
            tab,
            user: name.to_owned(),
            text,
        });
        if !asked {
            self.focus_on_open.insert(ChatId::Private(key), self.now_ms);
            // What comes back if the request fails is the message (see
            // `give_back_queued`), not this request's command line.
            let typed = self.submitting.take();
            self.request(
                out,
                Request::RequestChat {
                    user: name.to_owned(),
                },
                Some(Pending::RequestChat(name.to_owned())),
            );
            self.submitting = typed;
        }
        self.info(format!(
            "your message to {} waits until the private chat opens (the Inbox shows it)",
            clean_line(name)
        ));
        true
    }

    /// Sends what waits for `name`'s chat, now open in tab `i`.
    pub(super) fn send_queued(&mut self, name: &NameKey, i: usize, out: &mut Vec<Command>) {
        for q in self.queued.remove(name).unwrap_or_default() {
            self.send_message(i, q.text, out);
        }
    }

    /// The chat with `name` will not open (`why`): what waited for it goes
    /// back as `/msg NAME text` into the input it was typed in if that is
    /// empty, and is otherwise quoted in the notice (↑ recalls it too).
    /// Returns whether there was anything.
    pub(super) fn give_back_queued(&mut self, name: &NameKey, why: &str) -> bool {
        let Some(list) = self.queued.remove(name) else {
            return false;
        };
        let mut left = Vec::new();
        let mut back = false;
        for q in list {
            let line = format!("/msg {} {}", q.user, q.text);
            match self.tab_index(&q.tab) {
                Some(t) if self.draft_at_mut(t).is_empty() => {
                    set_draft(self.draft_at_mut(t), &line);
                    back = true;
                }
                _ => left.push(line),
            }
        }
        let mut text = format!("{why}: your message was not sent");
        if back {
            text.push_str("; it is back in the input");
        }
        if !left.is_empty() {
            let quoted: Vec<String> = left
                .iter()
                .map(|l| format!("“{}”", clean_line(l)))
                .collect();
            text.push_str(&format!(" (↑ recalls it): {}", quoted.join(" ")));
        }
        self.error(text);
        true
    }

    pub(super) fn cmd_accept(&mut self, name: &str, out: &mut Vec<Command>) {
        self.focus_on_open
            .insert(ChatId::Private(NameKey::of(name)), self.now_ms);
        self.request(
            out,
            Request::Accept {
                user: name.to_owned(),
            },
            Some(Pending::Accept(name.to_owned())),
        );
    }

    pub(super) fn cmd_reject(&mut self, name: &str, out: &mut Vec<Command>) {
        self.request(
            out,
            Request::Reject {
                user: name.to_owned(),
            },
            Some(Pending::Reject(name.to_owned())),
        );
    }

    pub(super) fn cmd_cancel(&mut self, name: &str, out: &mut Vec<Command>) {
        self.request(
            out,
            Request::CancelRequest {
                user: name.to_owned(),
            },
            Some(Pending::Cancel(name.to_owned())),
        );
    }
}

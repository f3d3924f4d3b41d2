//! The input line: history, paste, completion, and sending.

use ratatui_textarea::CursorMove;

use crate::protocol::{validate_text, Request};

use super::*;
use crate::client::commands::{self, ADMIN_COMMANDS, COMMANDS};
use crate::client::event::Command;
use crate::client::sanitize::{clean_line, clean_text};

impl App {
    pub(super) fn history_prev(&mut self) {
        if self.input_history.is_empty() || self.draft().cursor().0 > 0 {
            if self.draft().cursor().0 > 0 {
                self.draft_mut().move_cursor(CursorMove::Up);
            }
            return;
        }
        let pos = match self.history_pos {
            None => {
                self.history_stash = self.draft().lines().to_vec();
                self.input_history.len() - 1
            }
            Some(0) => return,
            Some(p) => p - 1,
        };
        self.history_pos = Some(pos);
        let text = self.input_history[pos].clone();
        set_draft(self.draft_mut(), &text);
    }

    pub(super) fn history_next(&mut self) {
        let last_row = self.draft().lines().len() - 1;
        if self.draft().cursor().0 < last_row {
            self.draft_mut().move_cursor(CursorMove::Down);
            return;
        }
        let Some(pos) = self.history_pos else { return };
        if pos + 1 < self.input_history.len() {
            self.history_pos = Some(pos + 1);
            let text = self.input_history[pos + 1].clone();
            set_draft(self.draft_mut(), &text);
        } else {
            self.history_pos = None;
            let text = self.history_stash.join("\n");
            set_draft(self.draft_mut(), &text);
        }
    }

    pub(super) fn remember(&mut self, text: String) {
        if self.input_history.last() != Some(&text) {
            self.input_history.push(text);
            if self.input_history.len() > INPUT_HISTORY {
                self.input_history.remove(0);
            }
        }
        self.history_pos = None;
    }

    pub(super) fn on_paste(&mut self, text: &str) {
        if self.trust.is_open() {
            return;
        }
        let text = text.replace("\r\n", "\n").replace('\r', "\n");
        let text = clean_text(&text).into_owned();
        match self.screen {
            Screen::Login => {
                if let Some(field) = self.login.field_mut() {
                    field.insert_str(text.lines().next().unwrap_or(""));
                }
            }
            Screen::Chat => {
                // A file dragged into the terminal: ask before sending.
                if self.on_dropped(&text) {
                    return;
                }
                self.draft_mut().insert_str(&text);
            }
        }
    }

    /// Names Tab can complete: online users, chat partners, requesters.
    pub(super) fn known_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.online.values().map(|u| u.user.to_string()).collect();
        names.extend(
            self.chats
                .iter()
                .filter_map(|c| c.key.partner().map(|n| n.to_string())),
        );
        names.extend(self.inbox.incoming.iter().map(|r| r.from.to_string()));
        names.extend(self.inbox.outgoing.iter().map(|r| r.to.to_string()));
        names.sort_by_key(|n| NameKey::of(n));
        names.dedup_by_key(|n| NameKey::of(n));
        names
    }

    /// Group names Tab can complete after `#`: the user's groups, the
    /// directory's, and invitations.
    pub(super) fn known_groups(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .chats
            .iter()
            .filter_map(|c| c.key.group().map(|g| g.to_string()))
            .collect();
        names.extend(
            self.directory
                .groups
                .iter()
                .filter_map(|g| g.chat.group().map(|n| n.to_string())),
        );
        names.extend(
            self.inbox
                .invites
                .iter()
                .filter_map(|i| i.chat.group().map(|n| n.to_string())),
        );
        names.sort_by_key(|n| NameKey::of(n));
        names.dedup_by_key(|n| NameKey::of(n));
        names
    }

    pub(super) fn complete(&mut self) {
        let cursor = self.draft().cursor();
        let (row, col) = (cursor.0, cursor.1);
        let line: Vec<char> = self.draft().lines()[row].chars().collect();
        let col = col.min(line.len());
        let start = line[..col]
            .iter()
            .rposition(|c| c.is_whitespace())
            .map_or(0, |p| p + 1);
        let word: String = line[start..col].iter().collect();
        let is_command = row == 0 && start == 0 && word.starts_with('/');
        let first = self.draft().lines()[0].clone();
        if row == 0 && start > 0 && first.split_whitespace().next() == Some("/send") {
            // The first argument of /send is a path.
            if first[..first
                .char_indices()
                .nth(start)
                .map_or(first.len(), |(b, _)| b)]
                .split_whitespace()
                .count()
                == 1
            {
                self.complete_path_word(&word);
                return;
            }
        }
        let arg = if row == 0 && start > 0 {
            argument_kind(&first, start)
        } else {
            None
        };
        let (prefix, candidates): (String, Vec<String>) = if let Some(kind) = arg {
            let cands = match kind {
                ArgKind::Words(words) => words
                    .iter()
                    .filter(|w| w.starts_with(&word.to_ascii_lowercase()))
                    .map(|w| (*w).to_owned())
                    .collect(),
                ArgKind::Themes => self
                    .themes
                    .names()
                    .into_iter()
                    .filter(|t| {
                        t.to_ascii_lowercase()
                            .starts_with(&word.to_ascii_lowercase())
                    })
                    .collect(),
                ArgKind::Group => {
                    // `/join rust` completes to `/join #rust` too.
                    let bare = NameKey::of(word.trim_start_matches('#'));
                    self.known_groups()
                        .into_iter()
                        .filter(|n| NameKey::of(n).starts_with(bare.as_str()))
                        .map(|n| format!("#{n}"))
                        .collect()
                }
                ArgKind::Nick => {
                    let bare = NameKey::of(word.trim_start_matches('@'));
                    let mut names = self.known_names();
                    if let Some(g) = self.active_chat().and_then(|c| c.group.as_ref()) {
                        names.extend(g.members.values().map(|m| m.user.to_string()));
                        names.sort_by_key(|n| NameKey::of(n));
                        names.dedup_by_key(|n| NameKey::of(n));
                    }
                    names.retain(|n| {
                        NameKey::of(n).starts_with(bare.as_str())
                            && self.me.as_ref().is_none_or(|m| m.key() != NameKey::of(n))
                    });
                    names
                }
            };
            // Completed whole, so what was typed (`#`, `@`) is replaced.
            let typed = word.trim_start_matches(['@', '#']).to_owned();
            return self.complete_argument(&typed, cands, col - start);
        } else if is_command {
            let admin: &[(&str, &str, &str)] = if self.is_admin() {
                &ADMIN_COMMANDS
            } else {
                &[]
            };
            let cands = COMMANDS
                .iter()
                .chain(admin)
                .map(|(c, _, _)| (*c).to_owned())
                .filter(|c| c.starts_with(&word.to_ascii_lowercase()))
                .collect();
            (word.clone(), cands)
        } else if let Some(group) = word.strip_prefix('#') {
            let bare = NameKey::of(group);
            let cands = self
                .known_groups()
                .into_iter()
                .filter(|n| NameKey::of(n).starts_with(bare.as_str()))
                .collect();
            (word.clone(), cands)
        } else {
            let bare = NameKey::of(word.trim_start_matches('@'));
            if bare.is_empty() {
                return;
            }
            let cands = self
                .known_names()
                .into_iter()
                .filter(|n| NameKey::of(n).starts_with(bare.as_str()))
                .collect();
            (word.clone(), cands)
        };
        let at = match prefix.chars().next() {
            Some('@') if !is_command => "@",
            Some('#') if !is_command => "#",
            _ => "",
        };
        let replacement = match candidates.len() {
            0 => {
                self.error(format!("no completion for {}", clean_line(&prefix)));
                return;
            }
            1 => {
                let suffix = if is_command || at == "#" {
                    " "
                } else if row == 0 && start == 0 && at.is_empty() {
                    ": "
                } else {
                    " "
                };
                format!("{at}{}{suffix}", candidates[0])
            }
            _ => {
                let lcp = longest_common_prefix(&candidates);
                self.info(candidates.join("  "));
                if lcp.chars().count() <= prefix.trim_start_matches(['@', '#']).chars().count() {
                    return;
                }
                format!("{at}{lcp}")
            }
        };
        let ta = self.draft_mut();
        for _ in 0..(col - start) {
            ta.delete_char();
        }
        ta.insert_str(replacement);
    }

    pub(super) fn submit(&mut self, out: &mut Vec<Command>) {
        let text = draft_text(self.draft());
        if text.trim().is_empty() {
            return;
        }
        if text.starts_with('/') && !text.starts_with("//") {
            match commands::parse(&text) {
                Ok(cmd) => {
                    self.notice = None;
                    self.submitting = Some(text.clone());
                    // The tab it was typed in: a command may switch tabs
                    // (or close this one), and its input is the one to
                    // empty, never the one shown now.
                    let typed_in = self.tab_at(self.active);
                    let done = self.run_command(cmd, out);
                    self.submitting = None;
                    if done {
                        if let Some(i) = self.tab_index(&typed_in) {
                            set_draft(self.draft_at_mut(i), "");
                        }
                        self.remember(text);
                    }
                }
                Err(e) => self.error(e),
            }
            return;
        }
        let text = text.strip_prefix('/').map_or(text.clone(), str::to_owned);
        let Some(chat) = self.active_chat().map(|c| c.key.clone()) else {
            self.error("the inbox takes no messages: switch to a chat (Ctrl-N) or use /chat NAME");
            return;
        };
        if let Some(why) = self.active_chat().and_then(|c| c.closed.clone()) {
            self.error(format!(
                "not sent: {why}; your text stays in the input (/leave closes the tab)"
            ));
            return;
        }
        if !self.online_now() {
            self.error("not connected: your message is kept in the input line");
            return;
        }
        if matches!(chat, ChatKey::Public | ChatKey::Group(_)) {
            if let Some(m) = self.muted_now() {
                self.error(format!(
                    "not sent: you are muted in #public and groups {}; private chats still work. Your text stays in the input",
                    self.until_text(m.until)
                ));
                return;
            }
        }
        if let Err(e) = validate_text(&text) {
            self.error(format!("not sent: {e}"));
            return;
        }
        set_draft(self.draft_mut(), "");
        self.remember(text.clone());
        self.notice = None;
        self.send_message(self.active, text, out);
    }

    /// Sends `text` to chat `i` (checked by the caller), shown there as
    /// pending until the server confirms it.
    pub(super) fn send_message(&mut self, i: usize, text: String, out: &mut Vec<Command>) {
        let Some(chat) = self.chats.get(i).map(|c| c.key.clone()) else {
            return;
        };
        self.chats[i].scroll = None;
        // A refused message comes back into its chat's input (see
        // `on_error`), never as the command line that sent it.
        let typed = self.submitting.take();
        let id = self.request(
            out,
            Request::Send {
                chat: chat.to_string(),
                text: text.clone(),
            },
            Some(Pending::Send {
                chat,
                text: text.clone(),
            }),
        );
        self.submitting = typed;
        // Shown as pending until the server confirms it: the network task
        // may hold it back a moment to stay under the rate limit.
        if let (Some(id), Some(c)) = (id, self.chats.get_mut(i)) {
            c.outbox.push((id, clean_text(&text).into_owned()));
        }
    }
}

/// What an argument of a command is, for Tab.
enum ArgKind {
    /// One of these words.
    Words(&'static [&'static str]),
    Themes,
    /// A group (`#name`).
    Group,
    /// A user name.
    Nick,
}

/// The kind of the argument that starts at char `start` of the command
/// line `line`, if the command has a known one there.
fn argument_kind(line: &str, start: usize) -> Option<ArgKind> {
    let before: String = line.chars().take(start).collect();
    let mut words = before.split_whitespace();
    let cmd = words.next()?.to_ascii_lowercase();
    let n = words.count() + 1;
    Some(match (cmd.as_str(), n) {
        ("/status", 1) => ArgKind::Words(&["available", "away", "busy"]),
        ("/theme", 1) => ArgKind::Themes,
        ("/join" | "/delete-group", 1) => ArgKind::Group,
        ("/create", 2) => ArgKind::Words(&["open", "invite"]),
        ("/role", 2) => ArgKind::Words(&["owner", "mod", "member"]),
        (
            "/chat" | "/query" | "/msg" | "/accept" | "/reject" | "/cancel" | "/invite" | "/kick"
            | "/role" | "/ban" | "/unban" | "/mute" | "/unmute" | "/disconnect" | "/promote"
            | "/demote",
            1,
        ) => ArgKind::Nick,
        _ => return None,
    })
}

fn longest_common_prefix(words: &[String]) -> String {
    let Some(first) = words.first() else {
        return String::new();
    };
    let mut n = first.len();
    for w in &words[1..] {
        n = n.min(
            first
                .char_indices()
                .zip(w.chars())
                .take_while(|((_, a), b)| a.eq_ignore_ascii_case(b))
                .count(),
        );
    }
    first.chars().take(n).collect()
}

impl App {
    /// Tab on a command's argument: the one candidate (and a space), or
    /// the longest common start of several (listed in the notice).
    /// `typed` is the word without `@`/`#`; `chars` how many characters
    /// of the input it replaces.
    fn complete_argument(&mut self, typed: &str, cands: Vec<String>, chars: usize) {
        let replacement = match cands.len() {
            0 => {
                self.error(format!("no completion for {}", clean_line(typed)));
                return;
            }
            1 => format!("{} ", cands[0]),
            _ => {
                self.info(cands.join("  "));
                let lcp = longest_common_prefix(&cands);
                let known = lcp.trim_start_matches('#').chars().count();
                if known <= typed.chars().count() {
                    return;
                }
                lcp
            }
        };
        let ta = self.draft_mut();
        for _ in 0..chars {
            ta.delete_char();
        }
        ta.insert_str(replacement);
    }

    /// Tab on `/send`'s path: the one match, or the longest common start
    /// of several (listed in the notice); directories end in `/`.
    fn complete_path_word(&mut self, word: &str) {
        let cands = super::files::complete_path(word);
        let replacement = match cands.len() {
            0 => {
                self.error(format!("no file matches {}", clean_line(word)));
                return;
            }
            1 => {
                let c = &cands[0];
                if c.ends_with('/') {
                    c.clone()
                } else {
                    format!("{c} ")
                }
            }
            _ => {
                let mut common = cands[0].clone();
                for c in &cands[1..] {
                    while !c.starts_with(&common) {
                        common.pop();
                    }
                }
                let names: Vec<String> = cands
                    .iter()
                    .take(20)
                    .map(|c| {
                        let t = c.trim_end_matches('/');
                        let base = t.rsplit('/').next().unwrap_or(t);
                        let slash = if c.ends_with('/') { "/" } else { "" };
                        format!("{}{slash}", clean_line(base))
                    })
                    .collect();
                let more = if cands.len() > 20 { " …" } else { "" };
                self.info(format!("{}{more}", names.join("  ")));
                common
            }
        };
        if replacement.len() < word.len() {
            return;
        }
        let ta = self.draft_mut();
        for _ in 0..word.chars().count() {
            ta.delete_char();
        }
        ta.insert_str(&replacement);
    }
}

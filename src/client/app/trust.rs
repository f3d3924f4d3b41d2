//! A refused certificate: the trust question and the CHANGED warning.
//!
//! The network task has stopped and waits; nothing connects until the user
//! answers. `y` on the question sends `Trust` (remember, connect again);
//! `n` or Esc leaves the client offline. The CHANGED warning has no yes: it
//! only closes, and the fix (deleting the old line) is the user's; so does
//! the warning for a certificate that is not the `--trust-fingerprint` one.

use super::*;
use crate::client::event::Command;
use crate::client::keys::{Action, Edit};
use crate::client::sanitize::clean_line;

impl App {
    pub(super) fn on_untrusted(&mut self, u: Untrusted) {
        self.conn = ConnState::Offline(Some("certificate not trusted".into()));
        self.tls = None;
        self.rtt = None;
        self.pending.clear();
        self.command_text.clear();
        for c in &mut self.chats {
            c.loading = false;
        }
        // The question is answered on the login form: after it, a refusal
        // leaves the user where they can change the server or try again.
        self.screen = Screen::Login;
        self.show_help = false;
        self.login.busy = false;
        self.login.error = None;
        self.trust_prompt = Some(u);
    }

    /// Keys while a prompt is shown; everything else waits.
    pub(super) fn on_trust_key(&mut self, action: Action, out: &mut Vec<Command>) {
        let Some(prompt) = &self.trust_prompt else {
            return;
        };
        let server = clean_line(prompt.server()).into_owned();
        let yes = matches!(action, Action::Edit(Edit::Insert('y' | 'Y')));
        let no = matches!(
            action,
            Action::Escape | Action::Edit(Edit::Insert('n' | 'N'))
        );
        match prompt {
            Untrusted::Unknown { fingerprint, .. } if yes => {
                out.push(Command::Trust {
                    server: prompt.server().to_owned(),
                    fingerprint: fingerprint.clone(),
                });
                self.trust_prompt = None;
                self.conn = ConnState::Connecting;
                self.login.busy = true;
                self.login.error = None;
            }
            Untrusted::Unknown { .. } if no => {
                self.trust_prompt = None;
                self.conn = ConnState::Offline(Some("certificate refused".into()));
                self.login.error = Some(format!(
                    "not connected: you did not trust the certificate of {server}"
                ));
            }
            Untrusted::Changed { .. } if no || action == Action::Submit => {
                self.trust_prompt = None;
                self.login.error = Some(format!(
                    "not connected: the certificate of {server} has changed (see known_servers)"
                ));
            }
            Untrusted::PinMismatch { .. } if no || action == Action::Submit => {
                self.trust_prompt = None;
                self.login.error = Some(format!(
                    "not connected: the certificate of {server} is not the one given with --trust-fingerprint"
                ));
            }
            _ => {}
        }
    }
}

//! A refused certificate: what the answer to the trust prompt
//! (`views::trust`) does to the connection and the login form.

use super::*;
use crate::client::event::Command;
use crate::client::keys::Action;
use crate::client::sanitize::clean_line;
use crate::client::trust::Untrusted;
use crate::client::views::TrustAnswer;

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
        self.help.close();
        self.login.busy = false;
        self.login.error = None;
        self.trust.prompt = Some(u);
    }

    /// Keys while a prompt is shown; everything else waits.
    pub(super) fn on_trust_key(&mut self, action: Action, out: &mut Vec<Command>) {
        let Some(answer) = self.trust.on_key(action) else {
            return;
        };
        match answer {
            TrustAnswer::Trust {
                server,
                fingerprint,
            } => {
                out.push(Command::Trust {
                    server,
                    fingerprint,
                });
                self.conn = ConnState::Connecting;
                self.login.busy = true;
                self.login.error = None;
            }
            TrustAnswer::Refused { server } => {
                let server = clean_line(&server);
                self.conn = ConnState::Offline(Some("certificate refused".into()));
                self.login.error = Some(format!(
                    "not connected: you did not trust the certificate of {server}"
                ));
            }
            TrustAnswer::ChangedClosed { server } => {
                let server = clean_line(&server);
                self.login.error = Some(format!(
                    "not connected: the certificate of {server} has changed (see known_servers)"
                ));
            }
            TrustAnswer::PinClosed { server } => {
                let server = clean_line(&server);
                self.login.error = Some(format!(
                    "not connected: the certificate of {server} is not the one given with --trust-fingerprint"
                ));
            }
        }
    }
}

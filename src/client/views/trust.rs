//! A refused certificate: the trust question and the CHANGED warning.
//!
//! The network task has stopped and waits; nothing connects until the user
//! answers. `y` on the question trusts (remember, connect again); `n` or
//! Esc leaves the client offline. The CHANGED warning has no yes: it only
//! closes, and the fix (deleting the old line) is the user's; so does the
//! warning for a certificate that is not the `--trust-fingerprint` one.

use crate::client::keys::{Action, Edit};
use crate::client::trust::Untrusted;

#[derive(Debug, Clone, Default)]
pub struct TrustView {
    /// The prompt shown over the screen, if any.
    pub prompt: Option<Untrusted>,
}

/// How the user answered; the prompt is closed by then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustAnswer {
    /// Remember this certificate for `server` and connect again.
    Trust { server: String, fingerprint: String },
    /// Did not trust the unknown certificate.
    Refused { server: String },
    /// Closed the CHANGED warning.
    ChangedClosed { server: String },
    /// Closed the `--trust-fingerprint` mismatch.
    PinClosed { server: String },
}

impl TrustView {
    pub fn is_open(&self) -> bool {
        self.prompt.is_some()
    }

    /// Keys while a prompt is shown; everything else waits. `None` while
    /// the key is not an answer.
    pub fn on_key(&mut self, action: Action) -> Option<TrustAnswer> {
        let prompt = self.prompt.as_ref()?;
        let server = prompt.server().to_owned();
        let yes = matches!(action, Action::Edit(Edit::Insert('y' | 'Y')));
        let no = matches!(
            action,
            Action::Escape | Action::Edit(Edit::Insert('n' | 'N'))
        );
        let answer = match prompt {
            Untrusted::Unknown { fingerprint, .. } if yes => TrustAnswer::Trust {
                server,
                fingerprint: fingerprint.clone(),
            },
            Untrusted::Unknown { .. } if no => TrustAnswer::Refused { server },
            Untrusted::Changed { .. } if no || action == Action::Submit => {
                TrustAnswer::ChangedClosed { server }
            }
            Untrusted::PinMismatch { .. } if no || action == Action::Submit => {
                TrustAnswer::PinClosed { server }
            }
            _ => return None,
        };
        self.prompt = None;
        Some(answer)
    }
}

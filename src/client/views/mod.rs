//! The parts of the chat screen that have state of their own: each owns
//! that state and decides what its keys mean (gitui's components). A view
//! changes only itself; what reaches further — a frame to send, another
//! tab — it hands back as an action for `App::update`, still the one
//! entry point, to carry out.

pub mod audit;
pub mod directory;
pub mod help;
pub mod inbox;
pub mod output;
pub mod people;
pub mod select;
pub mod trust;

pub use audit::{AuditAction, AuditView};
pub use directory::{DirectoryAction, DirectoryView};
pub use help::HelpView;
pub use inbox::{InboxAction, InboxView};
pub use output::{LineKind, OutputLine, OutputView};
pub use people::{PeopleAction, PeopleView};
pub use select::{SelectAction, SelectView, Selection};
pub use trust::{TrustAnswer, TrustView};

/// What a view did with a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome<T> {
    /// Not a key for this view: the next one in line gets it.
    Ignored,
    /// Used; nothing more to do.
    Consumed,
    /// Used, and the app must do this.
    Do(T),
}

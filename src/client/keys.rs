//! Key presses to actions.
//!
//! This module only names what a key means; what the action does depends on
//! where the user is (login form, chat, inbox, people panel, help) and is
//! decided in `App::update`.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

/// Editing the input line (or a login field).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edit {
    Insert(char),
    Left,
    Right,
    WordLeft,
    WordRight,
    LineStart,
    LineEnd,
    Backspace,
    Delete,
    DeleteWordBack,
    DeleteWordForward,
    DeleteToStart,
    DeleteToEnd,
    Undo,
    Redo,
}

/// What a key press asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Quit,
    Help,
    TogglePeople,
    /// F3: the system view (notices shown lately, command output).
    SystemView,
    /// Alt-1…Alt-9, zero-based.
    GotoTab(usize),
    NextTab,
    PrevTab,
    NextActivity,
    PageUp,
    PageDown,
    /// Home / End: scroll to the top or bottom when the input is empty,
    /// otherwise move within the line.
    Home,
    End,
    /// Ctrl-Home / Ctrl-End always scroll.
    ScrollTop,
    ScrollBottom,
    Up,
    Down,
    Submit,
    Newline,
    Complete,
    /// Shift-Tab on the login form.
    BackTab,
    Escape,
    /// Ctrl-R on the login form: log in / register.
    ToggleMode,
    /// Ctrl-↑ or Alt-↑ in a chat: select a message to act on.
    SelectMessage,
    Edit(Edit),
}

/// Maps a crossterm key event; `None` for releases and keys with no meaning.
pub fn action(key: KeyEvent) -> Option<Action> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let alt = key.modifiers.contains(KeyModifiers::ALT);
    use Action as A;
    use Edit as E;
    Some(match key.code {
        KeyCode::Char(c) if ctrl && !alt => match c.to_ascii_lowercase() {
            'c' => A::Quit,
            'n' => A::NextTab,
            'p' => A::PrevTab,
            'a' => A::Edit(E::LineStart),
            'e' => A::Edit(E::LineEnd),
            'b' => A::Edit(E::Left),
            'f' => A::Edit(E::Right),
            'w' => A::Edit(E::DeleteWordBack),
            'h' => A::Edit(E::Backspace),
            'u' => A::Edit(E::DeleteToStart),
            'k' => A::Edit(E::DeleteToEnd),
            'd' => A::Edit(E::Delete),
            'z' => A::Edit(E::Undo),
            'y' => A::Edit(E::Redo),
            'r' => A::ToggleMode,
            'j' => A::Newline,
            _ => return None,
        },
        KeyCode::Char(c) if alt => match c {
            '1'..='9' => A::GotoTab(c as usize - '1' as usize),
            'a' | 'A' => A::NextActivity,
            'b' => A::Edit(E::WordLeft),
            'f' => A::Edit(E::WordRight),
            'd' => A::Edit(E::DeleteWordForward),
            _ => return None,
        },
        KeyCode::Char(c) => A::Edit(E::Insert(c)),
        KeyCode::Enter if alt || key.modifiers.contains(KeyModifiers::SHIFT) => A::Newline,
        KeyCode::Enter => A::Submit,
        KeyCode::Backspace if alt || ctrl => A::Edit(E::DeleteWordBack),
        KeyCode::Backspace => A::Edit(E::Backspace),
        KeyCode::Delete => A::Edit(E::Delete),
        KeyCode::Left if ctrl || alt => A::Edit(E::WordLeft),
        KeyCode::Right if ctrl || alt => A::Edit(E::WordRight),
        KeyCode::Left => A::Edit(E::Left),
        KeyCode::Right => A::Edit(E::Right),
        KeyCode::Up if ctrl || alt => A::SelectMessage,
        KeyCode::Up => A::Up,
        KeyCode::Down => A::Down,
        KeyCode::Home if ctrl => A::ScrollTop,
        KeyCode::End if ctrl => A::ScrollBottom,
        KeyCode::Home => A::Home,
        KeyCode::End => A::End,
        KeyCode::PageUp => A::PageUp,
        KeyCode::PageDown => A::PageDown,
        KeyCode::Tab => A::Complete,
        KeyCode::BackTab => A::BackTab,
        KeyCode::Esc => A::Escape,
        KeyCode::F(1) => A::Help,
        KeyCode::F(2) => A::TogglePeople,
        KeyCode::F(3) => A::SystemView,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(code: KeyCode, m: KeyModifiers) -> Option<Action> {
        action(KeyEvent::new(code, m))
    }

    #[test]
    fn tab_keys() {
        assert_eq!(
            k(KeyCode::Char('3'), KeyModifiers::ALT),
            Some(Action::GotoTab(2))
        );
        assert_eq!(
            k(KeyCode::Char('n'), KeyModifiers::CONTROL),
            Some(Action::NextTab)
        );
        assert_eq!(
            k(KeyCode::Char('p'), KeyModifiers::CONTROL),
            Some(Action::PrevTab)
        );
        assert_eq!(
            k(KeyCode::Char('a'), KeyModifiers::ALT),
            Some(Action::NextActivity)
        );
    }

    #[test]
    fn editing_keys() {
        assert_eq!(k(KeyCode::Enter, KeyModifiers::ALT), Some(Action::Newline));
        assert_eq!(
            k(KeyCode::Up, KeyModifiers::ALT),
            Some(Action::SelectMessage)
        );
        assert_eq!(
            k(KeyCode::Up, KeyModifiers::CONTROL),
            Some(Action::SelectMessage)
        );
        assert_eq!(k(KeyCode::Up, KeyModifiers::NONE), Some(Action::Up));
        assert_eq!(k(KeyCode::Enter, KeyModifiers::NONE), Some(Action::Submit));
        assert_eq!(
            k(KeyCode::Char('w'), KeyModifiers::CONTROL),
            Some(Action::Edit(Edit::DeleteWordBack))
        );
        assert_eq!(
            k(KeyCode::Char('A'), KeyModifiers::SHIFT),
            Some(Action::Edit(Edit::Insert('A')))
        );
        assert_eq!(
            k(KeyCode::Char('c'), KeyModifiers::CONTROL),
            Some(Action::Quit)
        );
    }
}

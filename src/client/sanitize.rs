//! Text from the network is data, never terminal control.
//!
//! The server is supposed to refuse control characters, but the client does
//! not rely on it: a misbehaving or malicious server (or a future protocol
//! version) must not be able to move the cursor, change colours, set the
//! window title or reorder text with bidi overrides. Every string that came
//! over the wire passes through here before it is stored for display.

use std::borrow::Cow;

/// What replaces a character that could act as terminal control.
pub const REPLACEMENT: char = '\u{FFFD}';

/// Whether `c` could act on the terminal or reorder text: C0, DEL, C1,
/// bidi embeddings/overrides/isolates, and the Unicode line and paragraph
/// separators (which some terminals treat as line breaks).
pub fn is_unsafe(c: char) -> bool {
    let u = c as u32;
    u < 0x20
        || (0x7f..=0x9f).contains(&u)
        || (0x202A..=0x202E).contains(&u)
        || (0x2066..=0x2069).contains(&u)
        || u == 0x2028
        || u == 0x2029
}

/// Cleans message text: keeps `\n` (a line break in a multi-line message),
/// turns `\t` into spaces and replaces every other unsafe character.
pub fn clean_text(s: &str) -> Cow<'_, str> {
    clean(s, true)
}

/// Cleans a one-line string (names, reasons, error messages): newlines are
/// replaced too, so the text can never take more than one row.
pub fn clean_line(s: &str) -> Cow<'_, str> {
    clean(s, false)
}

fn clean(s: &str, keep_newlines: bool) -> Cow<'_, str> {
    let needs_work = s
        .chars()
        .any(|c| c == '\t' || (is_unsafe(c) && !(keep_newlines && c == '\n')));
    if !needs_work {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' if keep_newlines => out.push('\n'),
            '\t' => out.push_str("    "),
            c if is_unsafe(c) => out.push(REPLACEMENT),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        assert!(matches!(clean_text("hello 世界 👋"), Cow::Borrowed(_)));
        assert!(matches!(clean_text("two\nlines"), Cow::Borrowed(_)));
    }

    #[test]
    fn escape_sequences_lose_their_escape() {
        let evil = "a\u{1b}[2J\u{1b}]0;pwned\u{7}b";
        let clean = clean_text(evil);
        assert!(!clean.contains('\u{1b}'));
        assert!(!clean.contains('\u{7}'));
        assert_eq!(clean, "a\u{FFFD}[2J\u{FFFD}]0;pwned\u{FFFD}b");
    }

    #[test]
    fn c1_del_and_bidi_are_replaced() {
        for c in [
            '\u{9b}', '\u{85}', '\u{7f}', '\u{202E}', '\u{2066}', '\u{2029}', '\r', '\0',
        ] {
            let s = format!("x{c}y");
            assert_eq!(clean_text(&s), "x\u{FFFD}y", "{:?}", c);
        }
    }

    #[test]
    fn newlines_kept_in_text_but_not_in_lines() {
        assert_eq!(clean_text("a\nb"), "a\nb");
        assert_eq!(clean_line("a\nb"), "a\u{FFFD}b");
        assert_eq!(clean_text("a\tb"), "a    b");
    }
}

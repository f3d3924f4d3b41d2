//! The rules for message text and passwords.

use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

use super::limits::{MAX_PASSWORD_BYTES, MAX_TEXT_BYTES, MIN_PASSWORD_BYTES};

/// Why a message text is refused (`invalid_text`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("a message needs at least one visible character")]
    Blank,
    #[error("a message is at most {MAX_TEXT_BYTES} bytes")]
    TooLong,
    #[error("a message may not contain the control character U+{0:04X}")]
    Control(u32),
    #[error("a message may not contain the bidirectional override U+{0:04X}")]
    BidiOverride(u32),
}

/// Whether `c` is a C0/C1 control character or DEL.
pub fn is_control(c: char) -> bool {
    let u = c as u32;
    u < 0x20 || (0x7f..=0x9f).contains(&u)
}

/// Whether `c` is a bidirectional embedding, override or isolate, which could
/// make a message display differently from what it says.
pub fn is_bidi_override(c: char) -> bool {
    matches!(c as u32, 0x202A..=0x202E | 0x2066..=0x2069)
}

/// Whether `c` shows nothing on its own: whitespace, a format character
/// (Unicode general category Cf: zero-width space and joiners U+200B–U+200D,
/// the marks U+200E/U+200F, the invisible operators U+2060–U+2064, U+FEFF,
/// the soft hyphen, tag characters, …), or one of the blank letters that
/// fonts draw as nothing: the Hangul fillers U+115F, U+1160, U+3164, U+FFA0
/// and U+2800 BRAILLE PATTERN BLANK.
///
/// The Cf list comes from the `unicode-properties` tables rather than a
/// hand-typed range list, so it follows the Unicode version of that crate.
pub fn is_invisible(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}' | '\u{2800}'
        )
        || c.general_category() == GeneralCategory::Format
}

/// Checks a message text against the contract: at most 4 096 bytes, at least
/// one visible character (see [`is_invisible`]), `\n` and `\t` as the only
/// control characters, and no bidirectional overrides.
pub fn validate_text(text: &str) -> Result<(), TextError> {
    if text.len() > MAX_TEXT_BYTES {
        return Err(TextError::TooLong);
    }
    let mut visible = false;
    for c in text.chars() {
        if is_control(c) && c != '\n' && c != '\t' {
            return Err(TextError::Control(c as u32));
        }
        if is_bidi_override(c) {
            return Err(TextError::BidiOverride(c as u32));
        }
        visible = visible || !is_invisible(c);
    }
    if !visible {
        return Err(TextError::Blank);
    }
    Ok(())
}

/// Why a password is refused (`invalid_password`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("a password is at least {MIN_PASSWORD_BYTES} bytes")]
    TooShort,
    #[error("a password is at most {MAX_PASSWORD_BYTES} bytes")]
    TooLong,
    #[error("a password may not contain a NUL byte")]
    Nul,
}

/// Checks a password's length in bytes (bcrypt's limit is 72; longer ones are
/// refused, never truncated). NUL is refused because bcrypt stops at it.
pub fn validate_password(password: &str) -> Result<(), PasswordError> {
    if password.len() < MIN_PASSWORD_BYTES {
        return Err(PasswordError::TooShort);
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(PasswordError::TooLong);
    }
    if password.contains('\0') {
        return Err(PasswordError::Nul);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_rules() {
        assert!(validate_text("hi").is_ok());
        assert!(validate_text("line one\n\tline two").is_ok());
        assert!(validate_text("你好 🎉").is_ok());
        assert_eq!(validate_text(""), Err(TextError::Blank));
        assert_eq!(validate_text(" \n\t "), Err(TextError::Blank));
        assert_eq!(validate_text("a\rb"), Err(TextError::Control(0x0d)));
        assert_eq!(validate_text("\u{1b}[2J"), Err(TextError::Control(0x1b)));
        assert_eq!(validate_text("a\u{7f}"), Err(TextError::Control(0x7f)));
        assert_eq!(validate_text("a\u{9b}"), Err(TextError::Control(0x9b)));
        assert_eq!(
            validate_text("a\u{202e}b"),
            Err(TextError::BidiOverride(0x202e))
        );
        assert_eq!(
            validate_text("a\u{2066}b"),
            Err(TextError::BidiOverride(0x2066))
        );
        assert!(validate_text(&"x".repeat(4096)).is_ok());
        assert_eq!(validate_text(&"x".repeat(4097)), Err(TextError::TooLong));
        // 4096 bytes, counted in bytes not characters.
        assert_eq!(validate_text(&"é".repeat(2049)), Err(TextError::TooLong));
    }

    #[test]
    fn text_of_only_invisible_characters_is_blank() {
        for blank in [
            "\u{200b}",
            "\u{200b}\u{200b}\u{200b}",
            "\u{3164}",
            "\u{200e}\u{200f}",
            "\u{feff}",
            "\u{2060}\u{2061}\u{2062}\u{2063}\u{2064}",
            "\u{200c}\u{200d}",
            "\u{00ad}",
            "\u{115f}\u{1160}\u{ffa0}",
            "\u{2800}",
            // Tag characters (Cf) outside the BMP.
            "\u{e0041}\u{e0042}",
            " \u{200b}\n\t\u{3000}\u{00a0}\u{3164} ",
        ] {
            assert_eq!(validate_text(blank), Err(TextError::Blank), "{blank:?}");
        }
    }

    #[test]
    fn invisible_characters_beside_visible_ones_are_kept() {
        for text in [
            "a\u{200b}",
            "\u{200b}a",
            "\u{3164}한",
            "\u{2800}\u{2801}",
            // A ZWJ emoji sequence: visible, with joiners in between.
            "\u{1f468}\u{200d}\u{1f469}\u{200d}\u{1f467}",
            "\u{200e}שלום",
        ] {
            assert_eq!(validate_text(text), Ok(()), "{text:?}");
        }
    }

    #[test]
    fn which_characters_are_invisible() {
        for c in [
            ' ',
            '\n',
            '\t',
            '\u{a0}',
            '\u{200b}',
            '\u{200f}',
            '\u{2064}',
            '\u{feff}',
            '\u{3164}',
            '\u{115f}',
            '\u{1160}',
            '\u{ffa0}',
            '\u{2800}',
            '\u{180e}',
            '\u{e0001}',
        ] {
            assert!(is_invisible(c), "U+{:04X}", c as u32);
        }
        for c in [
            'a',
            '0',
            '.',
            '\u{2801}',
            '\u{3131}',
            '\u{ac00}',
            '\u{1f600}',
            '\u{301}',
        ] {
            assert!(!is_invisible(c), "U+{:04X}", c as u32);
        }
    }

    #[test]
    fn password_rules() {
        assert!(validate_password("12345678").is_ok());
        assert_eq!(validate_password("1234567"), Err(PasswordError::TooShort));
        assert!(validate_password(&"p".repeat(72)).is_ok());
        assert_eq!(
            validate_password(&"p".repeat(73)),
            Err(PasswordError::TooLong)
        );
        assert_eq!(validate_password("abc\0defgh"), Err(PasswordError::Nul));
    }
}

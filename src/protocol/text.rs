//! The rules for message text and passwords.

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

/// Checks a message text against the contract: at most 4 096 bytes, at least
/// one non-whitespace character, `\n` and `\t` as the only control characters,
/// and no bidirectional overrides.
pub fn validate_text(text: &str) -> Result<(), TextError> {
    if text.len() > MAX_TEXT_BYTES {
        return Err(TextError::TooLong);
    }
    for c in text.chars() {
        if is_control(c) && c != '\n' && c != '\t' {
            return Err(TextError::Control(c as u32));
        }
        if is_bidi_override(c) {
            return Err(TextError::BidiOverride(c as u32));
        }
    }
    if text.chars().all(char::is_whitespace) {
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

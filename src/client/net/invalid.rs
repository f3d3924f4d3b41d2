//! A line from the server that breaks the contract, said in words: which
//! frame, which field, what is wrong with it. A login that gets such a line
//! stops at once with this sentence instead of waiting for an answer that
//! will not come.

use serde_json::Value;

use crate::protocol::{ChatKey, DecodeError, UserName};

/// Fields that hold a user name wherever they appear.
const NAME_FIELDS: [&str; 4] = ["user", "from", "to", "by"];
/// How much of a line that is not a frame is quoted.
const QUOTE_CHARS: usize = 40;

/// A value as it is quoted: escaped, so control characters show as
/// `\u{1}` and never reach the terminal, and cut when long.
fn quote(s: &str) -> String {
    let cut: String = s.chars().take(QUOTE_CHARS).collect();
    let mut q = format!("{cut:?}");
    if s.chars().count() > QUOTE_CHARS {
        q.push('…');
    }
    q
}

/// What is wrong with a name-holding string, if anything.
fn name_problem(key: &str, s: &str) -> Option<String> {
    let bad_name = || {
        if NAME_FIELDS.contains(&key) {
            UserName::parse(s).err().map(|e| e.to_string())
        } else {
            None
        }
    };
    let bad_chat = || (key == "chat" && ChatKey::parse(s).is_none()).then(|| "not a chat".into());
    let problem = bad_name().or_else(bad_chat)?;
    if s.chars().any(char::is_control) {
        Some(format!("{} has control characters", quote(s)))
    } else {
        Some(format!("{} ({problem})", quote(s)))
    }
}

/// The first name or chat in `v` (depth first) that breaks the rules, with
/// its path (`user`, `online[2].user`).
fn find_bad_name(v: &Value, path: &str) -> Option<String> {
    match v {
        Value::Object(map) => map.iter().find_map(|(k, v)| {
            let here = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            match v {
                Value::String(s) => name_problem(k, s).map(|p| format!("{here} {p}")),
                other => find_bad_name(other, &here),
            }
        }),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| find_bad_name(v, &format!("{path}[{i}]"))),
        _ => None,
    }
}

/// The sentence for a line that did not decode: `the server sent an
/// invalid welcome: user "a\u{1}b" has control characters`.
pub fn describe(line: &[u8], err: &DecodeError) -> String {
    let text = String::from_utf8_lossy(line);
    let Ok(value) = serde_json::from_str::<Value>(&text) else {
        return format!(
            "the server sent something that is not a tchat frame: {}",
            quote(text.trim_end())
        );
    };
    let Some(kind) = value.get("type").and_then(Value::as_str) else {
        return format!(
            "the server sent a frame without a type: {}",
            quote(text.trim_end())
        );
    };
    let kind = quote(kind);
    let kind = kind.trim_matches('"');
    let detail = find_bad_name(&value, "").unwrap_or_else(|| {
        err.message
            .strip_prefix("bad server frame: ")
            .unwrap_or(&err.message)
            .to_owned()
    });
    format!("the server sent an invalid {kind}: {detail}")
}

/// The `id` of a line that did not decode, if it has one: the reply to a
/// request, which must not be left waiting.
pub fn reply_id(line: &[u8]) -> Option<u64> {
    let value: Value = serde_json::from_slice(line).ok()?;
    value.get("id")?.as_u64()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::decode_server_frame;

    fn said(line: &str) -> String {
        let err = decode_server_frame(line.as_bytes()).unwrap_err();
        describe(line.as_bytes(), &err)
    }

    #[test]
    fn a_name_with_control_characters_is_named_with_its_field() {
        let line = r#"{"type":"welcome","id":1,"user":"a\u0001b","role":"user","last_msg_id":0,"online":[],"chats":[],"public_unread":0,"requests_in":[],"requests_out":[]}"#;
        assert_eq!(
            said(line),
            r#"the server sent an invalid welcome: user "a\u{1}b" has control characters"#
        );
        let line = r#"{"type":"welcome","id":1,"user":"alice","role":"user","last_msg_id":0,"online":[{"user":"b c","status":"available"}],"chats":[],"public_unread":0,"requests_in":[],"requests_out":[]}"#;
        let s = said(line);
        assert!(
            s.starts_with(r#"the server sent an invalid welcome: online[0].user "b c" ("#),
            "{s}"
        );
    }

    #[test]
    fn other_mistakes_keep_the_decoders_words() {
        let s = said(r#"{"type":"welcome","id":1,"user":"alice"}"#);
        assert!(s.starts_with("the server sent an invalid welcome: "), "{s}");
        assert!(s.contains("missing field"), "{s}");
        let s = said("SSH-2.0-OpenSSH_9.6");
        assert_eq!(
            s,
            r#"the server sent something that is not a tchat frame: "SSH-2.0-OpenSSH_9.6""#
        );
    }
}

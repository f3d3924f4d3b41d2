//! Turning one received line into a typed frame, with the error the contract
//! assigns to each way it can be wrong.

use serde_json::{Map, Value};

use super::frames::{ClientFrame, ErrorCode, ErrorFrame, Request, ServerFrame};

/// Why a client line is not a usable request. `id` is set when the line
/// carried a valid one, so the error reply can echo it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    pub id: Option<u64>,
    pub code: ErrorCode,
    pub message: String,
}

impl DecodeError {
    fn new(id: Option<u64>, code: ErrorCode, message: impl Into<String>) -> Self {
        DecodeError {
            id,
            code,
            message: message.into(),
        }
    }

    /// The `error` frame that answers this line.
    pub fn into_frame(self) -> ErrorFrame {
        ErrorFrame::new(self.id, self.code, self.message)
    }
}

/// Parses a line into an object with a string `type`: the common first step
/// for both directions.
fn parse_object(line: &[u8]) -> Result<Map<String, Value>, DecodeError> {
    let text = std::str::from_utf8(line)
        .map_err(|_| DecodeError::new(None, ErrorCode::BadFrame, "frame is not valid UTF-8"))?;
    let value: Value = serde_json::from_str(text).map_err(|e| {
        DecodeError::new(
            None,
            ErrorCode::BadFrame,
            format!("frame is not valid JSON: {e}"),
        )
    })?;
    let Value::Object(map) = value else {
        return Err(DecodeError::new(
            None,
            ErrorCode::BadFrame,
            "frame is not a JSON object",
        ));
    };
    if !matches!(map.get("type"), Some(Value::String(_))) {
        return Err(DecodeError::new(
            None,
            ErrorCode::BadFrame,
            "frame has no string \"type\"",
        ));
    }
    Ok(map)
}

/// Decodes one client line (without its newline).
///
/// Order of checks, as the contract orders them: UTF-8, JSON, object with a
/// string `type` (`bad_frame`); a valid `id` (`bad_request` without id);
/// a known `type` (`unknown_type`); the fields of that type (`bad_request`).
pub fn decode_client_frame(line: &[u8]) -> Result<ClientFrame, DecodeError> {
    let mut map = parse_object(line)?;
    let id = match map.remove("id") {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.as_u64().ok_or_else(|| {
            DecodeError::new(
                None,
                ErrorCode::BadRequest,
                "\"id\" must be a non-negative integer",
            )
        })?),
    };
    let type_name = match map.get("type") {
        Some(Value::String(t)) => t.as_str(),
        _ => "",
    };
    if !Request::TYPES.contains(&type_name) {
        let shown: String = type_name.chars().take(64).collect();
        return Err(DecodeError::new(
            id,
            ErrorCode::UnknownType,
            format!("unknown frame type {shown:?}"),
        ));
    }
    let type_name = type_name.to_owned();
    let request: Request = serde_json::from_value(Value::Object(map)).map_err(|e| {
        DecodeError::new(
            id,
            ErrorCode::BadRequest,
            format!("bad \"{type_name}\" request: {e}"),
        )
    })?;
    Ok(ClientFrame { id, request })
}

/// Decodes one server line. `Ok(None)` for a well-formed frame of a type this
/// build does not know: the contract lets servers add types, and clients
/// ignore them.
pub fn decode_server_frame(line: &[u8]) -> Result<Option<ServerFrame>, DecodeError> {
    let map = parse_object(line)?;
    let known = matches!(map.get("type"), Some(Value::String(t)) if ServerFrame::TYPES.contains(&t.as_str()));
    if !known {
        return Ok(None);
    }
    serde_json::from_value(Value::Object(map))
        .map(Some)
        .map_err(|e| DecodeError::new(None, ErrorCode::BadFrame, format!("bad server frame: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{ChatKey, HistoryPage, Message, OkReply, Password, Status, UserName};

    fn code(line: &str) -> (Option<u64>, ErrorCode) {
        let e = decode_client_frame(line.as_bytes()).unwrap_err();
        (e.id, e.code)
    }

    #[test]
    fn decodes_requests_with_and_without_id() {
        let f = decode_client_frame(br##"{"type":"ping","id":3}"##).unwrap();
        assert_eq!(f.id, Some(3));
        assert_eq!(f.request, Request::Ping);
        let f =
            decode_client_frame(br##"{"type":"send","chat":"#public","text":"hi","extra":[1]}"##)
                .unwrap();
        assert_eq!(f.id, None);
        assert_eq!(
            f.request,
            Request::Send {
                chat: "#public".into(),
                text: "hi".into()
            }
        );
        let f = decode_client_frame(br##"{"type":"set_status","id":0,"status":"busy"}"##).unwrap();
        assert_eq!(
            f.request,
            Request::SetStatus {
                status: Status::Busy
            }
        );
    }

    #[test]
    fn classifies_bad_lines() {
        assert_eq!(code("\u{0}not json"), (None, ErrorCode::BadFrame));
        assert_eq!(code("[1,2]"), (None, ErrorCode::BadFrame));
        assert_eq!(code(r##"{"id":1}"##), (None, ErrorCode::BadFrame));
        assert_eq!(code(r##"{"type":7,"id":1}"##), (None, ErrorCode::BadFrame));
        assert_eq!(
            code(r##"{"type":"ping","id":-1}"##),
            (None, ErrorCode::BadRequest)
        );
        assert_eq!(
            code(r##"{"type":"ping","id":"7"}"##),
            (None, ErrorCode::BadRequest)
        );
        assert_eq!(
            code(r##"{"type":"fly","id":4}"##),
            (Some(4), ErrorCode::UnknownType)
        );
        assert_eq!(
            code(r##"{"type":"welcome","id":4}"##),
            (Some(4), ErrorCode::UnknownType)
        );
        assert_eq!(
            code(r##"{"type":"send","id":5,"chat":"#public"}"##),
            (Some(5), ErrorCode::BadRequest)
        );
        assert_eq!(
            code(r##"{"type":"send","id":5,"chat":"#public","text":9}"##),
            (Some(5), ErrorCode::BadRequest)
        );
        assert_eq!(
            code(r##"{"type":"set_status","id":6,"status":"asleep"}"##),
            (Some(6), ErrorCode::BadRequest)
        );
        let bad_utf8 = decode_client_frame(b"{\"type\":\"ping\xff\"}").unwrap_err();
        assert_eq!(bad_utf8.code, ErrorCode::BadFrame);
    }

    #[test]
    fn client_frames_round_trip() {
        let frame = ClientFrame {
            id: Some(9),
            request: Request::Login {
                user: "alice".into(),
                password: Password("correct horse".into()),
            },
        };
        let json = serde_json::to_string(&frame).unwrap();
        assert!(json.contains(r##""type":"login""##) && json.contains(r##""id":9"##));
        assert_eq!(decode_client_frame(json.as_bytes()).unwrap(), frame);
        assert!(!format!("{frame:?}").contains("horse"));
    }

    #[test]
    fn history_messages_carry_their_type() {
        let page = ServerFrame::History(HistoryPage {
            id: 1,
            chat: ChatKey::Public,
            messages: vec![Message {
                chat: ChatKey::Public,
                msg_id: 7,
                ts: 1,
                from: UserName::parse("Bob").unwrap(),
                text: "x".into(),
                deleted: false,
                file: None,
            }],
            more: false,
        });
        let line = page.to_line();
        let v: Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(v["messages"][0]["type"], "message");
        assert_eq!(v["type"], "history");
        assert_eq!(
            decode_server_frame(&line[..line.len() - 1]).unwrap(),
            Some(page)
        );
    }

    #[test]
    fn banned_until_null_is_explicit() {
        let mut e = ErrorFrame::new(Some(1), ErrorCode::Banned, "banned");
        e.until = Some(None);
        let v: Value = serde_json::to_value(ServerFrame::Error(e)).unwrap();
        assert!(v.as_object().unwrap().contains_key("until"));
        assert!(v["until"].is_null());
        let plain = serde_json::to_value(ServerFrame::ok(2)).unwrap();
        assert_eq!(plain, serde_json::json!({"type":"ok","id":2}));
        let sent = ServerFrame::Ok(OkReply {
            id: 3,
            msg_id: Some(4),
            ts: Some(5),
            chat: None,
        });
        assert_eq!(
            serde_json::to_value(sent).unwrap(),
            serde_json::json!({"type":"ok","id":3,"msg_id":4,"ts":5})
        );
    }

    #[test]
    fn unknown_server_types_are_ignored() {
        assert_eq!(
            decode_server_frame(br##"{"type":"typing","user":"Bob"}"##).unwrap(),
            None
        );
        assert!(decode_server_frame(br##"{"type":"pong"}"##).is_err());
    }
}

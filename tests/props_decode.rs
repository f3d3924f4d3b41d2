//! Property tests of the pure protocol layer: `decode_client_frame` on any
//! bytes, and `LineCodec` on any chunking of a stream.

use bytes::BytesMut;
use proptest::prelude::*;
use serde_json::{json, Map, Value};
use tchat::protocol::{decode_client_frame, ErrorCode, LineCodec, LineError, Request};
use tokio_util::codec::Decoder;

/// The error class the contract assigns to `line`, worked out independently
/// of the decoder: `None` means "a known type: Ok or bad_request".
fn expected_class(line: &[u8]) -> Result<Option<u64>, (ErrorCode, Option<u64>)> {
    let Ok(text) = std::str::from_utf8(line) else {
        return Err((ErrorCode::BadFrame, None));
    };
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(text) else {
        return Err((ErrorCode::BadFrame, None));
    };
    let Some(Value::String(kind)) = map.get("type") else {
        return Err((ErrorCode::BadFrame, None));
    };
    let id = match map.get("id") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_u64() {
            Some(id) => Some(id),
            None => return Err((ErrorCode::BadRequest, None)),
        },
    };
    if !Request::TYPES.contains(&kind.as_str()) {
        return Err((ErrorCode::UnknownType, id));
    }
    Ok(id)
}

fn check_line(line: &[u8]) {
    let got = decode_client_frame(line);
    match (expected_class(line), got) {
        (Ok(id), Ok(frame)) => assert_eq!(frame.id, id),
        (Ok(id), Err(e)) => {
            assert_eq!(e.code, ErrorCode::BadRequest, "{e:?}");
            assert_eq!(e.id, id);
        }
        (Err((code, id)), Err(e)) => {
            assert_eq!(e.code, code, "{e:?}");
            assert_eq!(e.id, id);
        }
        (Err(want), Ok(frame)) => panic!("expected {want:?}, decoded {frame:?}"),
    }
}

fn json_scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,12}".prop_map(Value::String),
        prop::sample::select(vec!["#public", "@bob", "alice", "busy", "away", "x"])
            .prop_map(|s| Value::String(s.into())),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    json_scalar().prop_recursive(2, 8, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z]{1,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// An object that looks like a request: a `type` (mostly a real one), an
/// `id` of any JSON shape, and fields with the real names and random values.
fn request_like() -> impl Strategy<Value = Vec<u8>> {
    let kind = prop_oneof![
        4 => prop::sample::select(Request::TYPES.to_vec()).prop_map(|t| json!(t)),
        1 => json_scalar(),
    ];
    let field = prop::sample::select(vec![
        "user", "password", "chat", "text", "status", "before", "after", "limit", "msg_id", "extra",
    ]);
    (
        kind,
        prop::option::of(json_scalar()),
        prop::collection::vec((field, json_value()), 0..5),
    )
        .prop_map(|(kind, id, fields)| {
            let mut map = Map::new();
            map.insert("type".into(), kind);
            if let Some(id) = id {
                map.insert("id".into(), id);
            }
            for (k, v) in fields {
                map.insert(k.into(), v);
            }
            serde_json::to_vec(&Value::Object(map)).unwrap()
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn decode_any_bytes_gives_ok_or_the_right_error_class(line in prop::collection::vec(any::<u8>(), 0..256)) {
        check_line(&line);
    }

    #[test]
    fn decode_request_like_objects_gives_ok_or_the_right_error_class(line in request_like()) {
        check_line(&line);
    }

    #[test]
    fn decode_mutated_requests_gives_ok_or_the_right_error_class(
        line in request_like(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let mut line = line;
        for (at, byte) in flips {
            let i = at.index(line.len());
            line[i] = byte;
        }
        check_line(&line);
    }
}

/// Feeds `stream` to a fresh codec in the given chunks, the way a framed
/// reader does: decode until it asks for more, then append the next chunk.
fn decode_chunked(stream: &[u8], cuts: &[usize], max: usize) -> (Vec<Vec<u8>>, bool) {
    let mut codec = LineCodec::new(max);
    let mut buf = BytesMut::new();
    let mut lines = Vec::new();
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (stream.len() + 1)).collect();
    points.push(0);
    points.push(stream.len());
    points.sort_unstable();
    points.dedup();
    for pair in points.windows(2) {
        buf.extend_from_slice(&stream[pair[0]..pair[1]]);
        loop {
            match codec.decode(&mut buf) {
                Ok(Some(line)) => lines.push(line.to_vec()),
                Ok(None) => break,
                Err(LineError::TooLong { limit }) => {
                    assert_eq!(limit, max);
                    return (lines, true);
                }
                Err(e) => panic!("{e}"),
            }
        }
    }
    while let Some(line) = codec.decode_eof(&mut buf).unwrap() {
        lines.push(line.to_vec());
    }
    (lines, false)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn line_codec_yields_the_same_lines_for_any_chunking(
        lines in prop::collection::vec(prop::collection::vec(any::<u8>().prop_filter("no newline", |b| *b != b'\n'), 0..80), 0..12),
        tail in prop::collection::vec(any::<u8>().prop_filter("no newline", |b| *b != b'\n'), 0..10),
        cuts in prop::collection::vec(any::<usize>(), 0..24),
        max in 2usize..100,
    ) {
        let mut stream = Vec::new();
        for line in &lines {
            stream.extend_from_slice(line);
            stream.push(b'\n');
        }
        stream.extend_from_slice(&tail);

        // What the contract says: lines up to the first one that does not
        // fit (newline included), then an error; a partial tail is dropped.
        let mut want = Vec::new();
        let mut too_long = false;
        for line in &lines {
            if line.len() + 1 > max {
                too_long = true;
                break;
            }
            let mut l = line.clone();
            if l.last() == Some(&b'\r') {
                l.pop();
            }
            want.push(l);
        }
        if !too_long && tail.len() >= max {
            too_long = true;
        }

        let whole = decode_chunked(&stream, &[], max);
        let chunked = decode_chunked(&stream, &cuts, max);
        prop_assert_eq!(&whole, &(want, too_long));
        prop_assert_eq!(chunked, whole);
    }
}

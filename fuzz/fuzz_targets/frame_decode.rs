//! Frame decoding: any bytes, cut into any chunks, through `LineCodec` and
//! `decode_client_frame`. Never panics; every chunking yields the same lines
//! and the same decode results as reading the stream in one piece.

#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use tchat::protocol::{decode_client_frame, LineCodec, LineError};
use tokio_util::codec::Decoder;

/// Lines (decoded, or the error code) and whether the stream ended in a
/// frame that was too long.
fn run(stream: &[u8], cuts: &[usize], max: usize) -> (Vec<Result<String, String>>, bool) {
    let mut codec = LineCodec::new(max);
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (stream.len() + 1)).collect();
    points.push(0);
    points.push(stream.len());
    points.sort_unstable();
    points.dedup();
    let take = |line: &[u8], out: &mut Vec<_>| {
        out.push(match decode_client_frame(line) {
            Ok(frame) => Ok(format!("{frame:?}")),
            Err(e) => Err(format!("{:?} {:?}", e.code, e.id)),
        });
    };
    for pair in points.windows(2) {
        buf.extend_from_slice(&stream[pair[0]..pair[1]]);
        loop {
            match codec.decode(&mut buf) {
                Ok(Some(line)) => {
                    assert!(line.len() < max, "a line longer than the limit");
                    take(&line, &mut out);
                }
                Ok(None) => break,
                Err(LineError::TooLong { .. }) => return (out, true),
                Err(e) => panic!("{e}"),
            }
        }
        assert!(buf.len() < max, "buffered more than one frame");
    }
    while let Some(line) = codec.decode_eof(&mut buf).unwrap() {
        take(&line, &mut out);
    }
    (out, false)
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    // First byte: the frame limit (small limits reach the overflow paths);
    // second: how many cut points follow, taken from the front.
    let max = if data[0] & 0x80 != 0 {
        tchat::protocol::MAX_CLIENT_FRAME_BYTES
    } else {
        2 + data[0] as usize
    };
    let ncuts = (data[1] % 16) as usize;
    let rest = &data[2..];
    let ncuts = ncuts.min(rest.len());
    let cuts: Vec<usize> = rest[..ncuts].iter().map(|b| *b as usize * 7).collect();
    let stream = &rest[ncuts..];
    let whole = run(stream, &[], max);
    let chunked = run(stream, &cuts, max);
    assert_eq!(whole, chunked);
    let bytewise: Vec<usize> = (0..stream.len()).collect();
    assert_eq!(whole, run(stream, &bytewise, max));
});

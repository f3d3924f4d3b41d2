//! Socket reading and writing that cost no memory while a connection is
//! idle: the read buffer exists only while bytes are pending, and queued
//! frames are written straight from their shared buffers.

use std::io::{ErrorKind, IoSlice};

use bytes::{Bytes, BytesMut};
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio_util::codec::Decoder;

use crate::protocol::{LineCodec, LineError};

/// How much to read per system call.
const READ_CHUNK: usize = 4096;
/// The most frames gathered into one vectored write.
pub const MAX_FRAMES_PER_WRITE: usize = 64;

/// Reads newline-delimited frames, never holding more than one maximal
/// frame while waiting for a newline.
pub struct LineReader {
    read: OwnedReadHalf,
    codec: LineCodec,
    buf: BytesMut,
    eof: bool,
}

impl LineReader {
    pub fn new(read: OwnedReadHalf, max_frame: usize) -> Self {
        LineReader {
            read,
            codec: LineCodec::new(max_frame),
            buf: BytesMut::new(),
            eof: false,
        }
    }

    /// The next line (without its newline); `None` at end of stream.
    ///
    /// Cancel-safe: bytes already read stay in the reader.
    pub async fn next(&mut self) -> Option<Result<BytesMut, LineError>> {
        loop {
            if !self.buf.is_empty() {
                match self.codec.decode(&mut self.buf) {
                    Ok(Some(line)) => return Some(Ok(line)),
                    Ok(None) => {}
                    Err(e) => return Some(Err(e)),
                }
            }
            if self.eof {
                return None;
            }
            if self.buf.is_empty() && self.buf.capacity() > 0 {
                // An idle connection keeps no buffer.
                self.buf = BytesMut::new();
            }
            if let Err(e) = self.read.readable().await {
                return Some(Err(e.into()));
            }
            self.buf.reserve(READ_CHUNK);
            match self.read.try_read_buf(&mut self.buf) {
                // A partial line at end of stream is not a frame.
                Ok(0) => {
                    self.eof = true;
                    return None;
                }
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) => return Some(Err(e.into())),
            }
        }
    }
}

/// Writes `frames` with as few system calls as the socket allows.
pub async fn write_frames(write: &mut OwnedWriteHalf, frames: &[Bytes]) -> std::io::Result<()> {
    let mut slices: Vec<IoSlice<'_>> = frames.iter().map(|f| IoSlice::new(f)).collect();
    let mut rest = &mut slices[..];
    while !rest.is_empty() {
        let n = write.write_vectored(rest).await?;
        if n == 0 {
            return Err(ErrorKind::WriteZero.into());
        }
        IoSlice::advance_slices(&mut rest, n);
    }
    Ok(())
}

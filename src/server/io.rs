//! Socket reading and writing that cost no memory while a connection is
//! idle: the read buffer exists only while bytes are pending, and queued
//! frames are written straight from their shared buffers.

use std::future::Future;
use std::io::{ErrorKind, IoSlice};

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadHalf};
use tokio::net::tcp::OwnedReadHalf;
use tokio_util::codec::Decoder;

use crate::protocol::{LineCodec, LineError};

/// How much to read per system call.
const READ_CHUNK: usize = 4096;
/// The most frames gathered into one vectored write.
pub const MAX_FRAMES_PER_WRITE: usize = 256;

/// Where a [`LineReader`] gets its bytes.
pub trait ReadSource: Send {
    /// Appends what is available to `buf`; 0 at end of stream.
    fn fill<'a>(
        &'a mut self,
        buf: &'a mut BytesMut,
    ) -> impl Future<Output = std::io::Result<usize>> + Send + 'a;
}

/// Plain TCP waits for readability first and only then makes room, so an
/// idle connection holds no buffer at all.
impl ReadSource for OwnedReadHalf {
    async fn fill(&mut self, buf: &mut BytesMut) -> std::io::Result<usize> {
        loop {
            self.readable().await?;
            buf.reserve(READ_CHUNK);
            match self.try_read_buf(buf) {
                Err(e) if e.kind() == ErrorKind::WouldBlock => continue,
                other => return other,
            }
        }
    }
}

/// A TLS stream buffers inside rustls anyway; read into our buffer directly.
impl<T: AsyncRead + Send> ReadSource for ReadHalf<T> {
    async fn fill(&mut self, buf: &mut BytesMut) -> std::io::Result<usize> {
        buf.reserve(READ_CHUNK);
        self.read_buf(buf).await
    }
}

/// Reads newline-delimited frames, never holding more than one maximal
/// frame while waiting for a newline.
pub struct LineReader<R> {
    read: R,
    codec: LineCodec,
    buf: BytesMut,
    eof: bool,
}

impl<R: ReadSource> LineReader<R> {
    pub fn new(read: R, max_frame: usize) -> Self {
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
            match self.read.fill(&mut self.buf).await {
                // A partial line at end of stream is not a frame.
                Ok(0) => {
                    self.eof = true;
                    return None;
                }
                Ok(_) => {}
                Err(e) => return Some(Err(e.into())),
            }
        }
    }
}

/// Writes `frames` with as few system calls as the socket allows, counting
/// in `progress` how many bytes are out, so that an interrupted write can be
/// completed to a frame boundary.
pub async fn write_frames<W: AsyncWrite + Unpin>(
    write: &mut W,
    frames: &[Bytes],
    progress: &mut usize,
) -> std::io::Result<()> {
    let mut slices: Vec<IoSlice<'_>> = frames.iter().map(|f| IoSlice::new(f)).collect();
    let mut rest = &mut slices[..];
    while !rest.is_empty() {
        let n = write.write_vectored(rest).await?;
        if n == 0 {
            return Err(ErrorKind::WriteZero.into());
        }
        *progress += n;
        IoSlice::advance_slices(&mut rest, n);
    }
    Ok(())
}

/// The unwritten tail of the frame that `written` bytes into `frames` ends
/// in, or `None` when `written` falls on a frame boundary.
pub fn unfinished_frame(frames: &[Bytes], written: usize) -> Option<Bytes> {
    let mut start = 0;
    for frame in frames {
        let end = start + frame.len();
        if written < end {
            return (written > start).then(|| frame.slice(written - start..));
        }
        start = end;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_rest_of_a_half_written_frame() {
        let frames = [Bytes::from_static(b"abc\n"), Bytes::from_static(b"defg\n")];
        assert_eq!(unfinished_frame(&frames, 0), None);
        assert_eq!(unfinished_frame(&frames, 2).as_deref(), Some(&b"c\n"[..]));
        assert_eq!(unfinished_frame(&frames, 4), None);
        assert_eq!(unfinished_frame(&frames, 6).as_deref(), Some(&b"fg\n"[..]));
        assert_eq!(unfinished_frame(&frames, 9), None);
    }
}

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
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    // Readiness outlives the read that emptied the socket
                    // (it is cleared only by a read that would block), so
                    // after every line this is the path to waiting: give
                    // the room back first. Holding it here kept 4 KiB with
                    // every idle connection, half of what one cost.
                    if buf.is_empty() {
                        *buf = BytesMut::new();
                    }
                    continue;
                }
                other => return other,
            }
        }
    }
}

/// How much room a TLS read waits with when no line is pending.
const TLS_IDLE_READ: usize = 256;

/// A TLS stream buffers inside rustls anyway; read into our buffer directly.
/// It cannot wait for readability without a buffer, so between lines it
/// waits with a small one (an idle TLS connection held 4 KiB here); reads
/// of a line under way take full chunks, copied out of rustls' plaintext.
impl<T: AsyncRead + Send> ReadSource for ReadHalf<T> {
    async fn fill(&mut self, buf: &mut BytesMut) -> std::io::Result<usize> {
        buf.reserve(if buf.is_empty() {
            TLS_IDLE_READ
        } else {
            READ_CHUNK
        });
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

    /// A connection whose client went quiet holds no read buffer, though
    /// the socket still looks readable after the last line was read.
    #[tokio::test]
    async fn an_idle_connection_keeps_no_read_buffer() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut client = tokio::net::TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let (read, _write) = server.into_split();
        let mut lines = LineReader::new(read, 1024);
        client.write_all(b"{\"type\":\"ping\"}\n").await.unwrap();
        let line = lines.next().await.unwrap().unwrap();
        assert_eq!(&line[..], b"{\"type\":\"ping\"}");
        drop(line);
        // Nothing more comes: the reader waits, as an idle session's does.
        let waiting =
            tokio::time::timeout(std::time::Duration::from_millis(50), lines.next()).await;
        assert!(waiting.is_err(), "no line was sent");
        assert_eq!(lines.buf.capacity(), 0, "an idle reader holds no buffer");
        // And it still reads what comes next, a line split over two writes.
        client.write_all(b"{\"type\":").await.unwrap();
        client.write_all(b"\"who\"}\n").await.unwrap();
        let line = lines.next().await.unwrap().unwrap();
        assert_eq!(&line[..], b"{\"type\":\"who\"}");
    }

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

//! A lean tchat client for load: it logs in, sends, and counts deliveries by
//! scanning lines instead of parsing every one as JSON, so that the
//! generator is not the bottleneck it measures.

use std::net::{IpAddr, SocketAddr};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use tchat::protocol::MAX_SERVER_FRAME_BYTES;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpSocket, TcpStream};

use crate::histogram::Histogram;

static EPOCH: OnceLock<Instant> = OnceLock::new();

/// Nanoseconds on the generator's clock, put into message texts.
pub fn clock_ns() -> u64 {
    EPOCH.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

pub const TEXT_PREFIX: &str = "bench ";

/// Reads lines into one reused buffer, handing out slices: no allocation or
/// reference counting per line, so the generator stays cheaper than the
/// server it measures.
pub struct LineReader {
    read: OwnedReadHalf,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Bytes after `start` already searched for a newline: a long line
    /// (a 43 KiB `file_data`) arriving in many reads is scanned once.
    scanned: usize,
}

impl LineReader {
    pub fn new(read: OwnedReadHalf) -> Self {
        LineReader {
            read,
            buf: vec![0; 4096],
            start: 0,
            end: 0,
            scanned: 0,
        }
    }

    /// The next line without its newline; an error when the connection ends.
    pub async fn next_line(&mut self) -> Result<&[u8]> {
        loop {
            let from = self.start + self.scanned;
            if let Some(pos) = self.buf[from..self.end].iter().position(|b| *b == b'\n') {
                let line_start = self.start;
                let line_end = from + pos;
                self.start = line_end + 1;
                self.scanned = 0;
                return Ok(&self.buf[line_start..line_end]);
            }
            self.scanned = self.end - self.start;
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            if self.end == self.buf.len() {
                if self.buf.len() >= MAX_SERVER_FRAME_BYTES {
                    bail!("line longer than the protocol allows");
                }
                self.buf.resize(self.buf.len() * 2, 0);
            }
            let n = self.read.read(&mut self.buf[self.end..]).await?;
            if n == 0 {
                bail!("connection closed");
            }
            self.end += n;
        }
    }

    /// Gives back the memory one long line (a `welcome` listing thousands
    /// of users) made the buffer grow to, keeping what is unread.
    pub fn shrink(&mut self) {
        let unread = self.end - self.start;
        if self.buf.len() <= 4096 || unread > 4096 {
            return;
        }
        self.buf.copy_within(self.start..self.end, 0);
        self.start = 0;
        self.end = unread;
        self.buf.truncate(4096);
        self.buf.shrink_to_fit();
    }
}

pub struct BenchClient {
    pub reader: LineReader,
    pub writer: OwnedWriteHalf,
}

/// The next line from a reader, or an error when the connection ends.
pub async fn next_line(reader: &mut LineReader) -> Result<&[u8]> {
    reader.next_line().await
}

/// What one line was, as far as the generator cares.
pub enum Line {
    Message { sent_ns: Option<u64> },
    Ok,
    Error(String),
    Other,
}

pub fn classify(line: &[u8]) -> Line {
    if line.starts_with(br#"{"type":"message""#) {
        return Line::Message {
            sent_ns: sent_ns(line),
        };
    }
    if line.starts_with(br#"{"type":"ok""#) {
        return Line::Ok;
    }
    if line.starts_with(br#"{"type":"error""#) {
        return Line::Error(String::from_utf8_lossy(line).into_owned());
    }
    Line::Other
}

/// The send time in a bench text: the text is the last field, so the line
/// ends with `"text":"bench <ns>"}`.
fn sent_ns(line: &[u8]) -> Option<u64> {
    stamp_at_end(line.strip_suffix(b"\"}")?)
}

/// The send time of a [`bench_text`] that ends `bytes`: the digits after
/// the last space.
pub fn stamp_at_end(bytes: &[u8]) -> Option<u64> {
    let digits_start = bytes.iter().rposition(|b| *b == b' ')? + 1;
    std::str::from_utf8(&bytes[digits_start..])
        .ok()?
        .parse()
        .ok()
}

/// A message text carrying its send time, `bench <ns>`: receivers take
/// their latency from it, whatever protocol carried it.
pub fn bench_text() -> String {
    format!("{TEXT_PREFIX}{}", clock_ns())
}

impl BenchClient {
    pub async fn connect(addr: SocketAddr) -> Result<BenchClient> {
        let stream = TcpStream::connect(addr).await.context("connect")?;
        Self::greeted(stream).await
    }

    /// Connects from the local address `source` (port chosen by the
    /// system): many loopback addresses let one generator stand for many
    /// hosts where the server counts per address.
    pub async fn connect_from(addr: SocketAddr, source: IpAddr) -> Result<BenchClient> {
        let socket = match source {
            IpAddr::V4(_) => TcpSocket::new_v4()?,
            IpAddr::V6(_) => TcpSocket::new_v6()?,
        };
        socket
            .bind(SocketAddr::new(source, 0))
            .with_context(|| format!("bind {source}"))?;
        let stream = socket.connect(addr).await.context("connect")?;
        Self::greeted(stream).await
    }

    /// A client on `stream` once the server's `hello` arrived.
    async fn greeted(stream: TcpStream) -> Result<BenchClient> {
        stream.set_nodelay(true)?;
        let (r, w) = stream.into_split();
        let mut client = BenchClient {
            reader: LineReader::new(r),
            writer: w,
        };
        let hello = client.next_line().await?;
        if !hello.starts_with(br#"{"type":"hello""#) {
            bail!("expected hello");
        }
        Ok(client)
    }

    pub async fn next_line(&mut self) -> Result<&[u8]> {
        self.reader.next_line().await
    }

    pub async fn send_raw(&mut self, line: &str) -> Result<()> {
        self.writer.write_all(line.as_bytes()).await?;
        Ok(())
    }

    /// Logs in (or registers) and waits for `welcome`; returns how long it took.
    pub async fn auth(&mut self, kind: &str, user: &str, password: &str) -> Result<Duration> {
        let (took, ()) = self.auth_then(kind, user, password, |_| ()).await?;
        Ok(took)
    }

    /// [`BenchClient::auth`], handing the `welcome` line to `welcome`.
    pub async fn auth_then<T>(
        &mut self,
        kind: &str,
        user: &str,
        password: &str,
        welcome: impl FnOnce(&[u8]) -> T,
    ) -> Result<(Duration, T)> {
        let began = Instant::now();
        let frame = serde_json::json!({"type": kind, "id": 1, "user": user, "password": password});
        self.send_raw(&format!("{frame}\n")).await?;
        loop {
            let line = self.next_line().await?;
            if line.starts_with(br#"{"type":"welcome""#) {
                let seen = welcome(line);
                return Ok((began.elapsed(), seen));
            }
            if line.starts_with(br#"{"type":"error""#) {
                bail!("{kind} {user}: {}", String::from_utf8_lossy(line));
            }
        }
    }

    pub async fn login(addr: SocketAddr, user: &str, password: &str) -> Result<BenchClient> {
        let mut c = BenchClient::connect(addr).await?;
        c.auth("login", user, password).await?;
        Ok(c)
    }

    /// The frame that sends one timestamped message to `#public`.
    pub fn public_message() -> String {
        Self::message_to("#public")
    }

    /// The frame that sends one timestamped message to `chat` (`#public`
    /// or a group's `#name`: neither needs escaping in JSON).
    pub fn message_to(chat: &str) -> String {
        format!(
            "{{\"type\":\"send\",\"chat\":\"{chat}\",\"text\":\"{}\"}}\n",
            bench_text()
        )
    }
}

/// What a receiving task saw.
#[derive(Default, Clone)]
pub struct Received {
    pub messages: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    pub latency: Histogram,
    pub last_at_ns: u64,
}

impl Received {
    /// Counts one line; for a timestamped message, returns when it was sent
    /// and how long it took.
    pub fn note(&mut self, line: &[u8]) -> Option<(u64, Duration)> {
        match classify(line) {
            Line::Message { sent_ns } => self.message(sent_ns),
            Line::Error(e) => {
                self.error(e);
                None
            }
            Line::Ok | Line::Other => None,
        }
    }

    /// Counts one message delivered now, sent at `sent_ns` when it carried
    /// a [`bench_text`]; returns when it was sent and how long it took.
    pub fn message(&mut self, sent_ns: Option<u64>) -> Option<(u64, Duration)> {
        self.messages += 1;
        let now = clock_ns();
        self.last_at_ns = now;
        let sent = sent_ns?;
        let latency = Duration::from_nanos(now.saturating_sub(sent));
        self.latency.record(latency);
        Some((sent, latency))
    }

    /// Counts one error, keeping the first.
    pub fn error(&mut self, e: String) {
        self.errors += 1;
        self.first_error.get_or_insert(e);
    }

    pub fn merge(&mut self, other: &Received) {
        self.messages += other.messages;
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error.clone();
        }
        self.latency.merge(&other.latency);
        self.last_at_ns = self.last_at_ns.max(other.last_at_ns);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_send_time_from_a_message_line() {
        let line = br##"{"type":"message","chat":"#public","msg_id":3,"ts":1,"from":"u1","text":"bench 12345"}"##;
        match classify(line) {
            Line::Message { sent_ns } => assert_eq!(sent_ns, Some(12345)),
            _ => panic!("not a message"),
        }
    }
}

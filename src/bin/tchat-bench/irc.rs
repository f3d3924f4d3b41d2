//! The busy room and the burst against an IRC server (ngIRCd), measured
//! the way the tchat scenarios are: the same timestamped texts, the same
//! latency histogram, the same report rows.
//!
//! IRC does not echo a PRIVMSG to its sender, so each message is delivered
//! to every member of the channel but one.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use futures::stream::{self, StreamExt};
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::{sleep_until, timeout};

use crate::client::{bench_text, clock_ns, stamp_at_end, LineReader, Received};
use crate::ircd::IrcServer;
use crate::report::{loss, Report};
use crate::scenarios::{errors_row, Env, QUIET};
use crate::server_proc::own_stats;
use crate::{BurstArgs, RoomArgs};

/// Parallel connection attempts: ngIRCd listens with a backlog of 10.
const CONNECT_CONCURRENCY: usize = 8;

/// Which scenario to run against the IRC server.
#[derive(clap::ValueEnum, Debug, Clone, Copy)]
pub enum IrcScenario {
    /// N clients in #public, each sending one message per second, spread
    /// evenly over the second (--clients, --seconds).
    BusyRoom,
    /// Senders send as fast as they can while listeners only receive
    /// (--senders, --messages, --listeners).
    Burst,
}

/// The parameters of a run (those of the scenario not chosen are unused).
pub struct IrcRun {
    pub scenario: IrcScenario,
    pub room: RoomArgs,
    pub burst: BurstArgs,
}

/// The frame that sends one timestamped message to `#public`.
fn privmsg() -> String {
    format!("PRIVMSG #public :{}\r\n", bench_text())
}

/// The command of an IRC line (`PRIVMSG`, `001`, …), after its prefix.
fn command(line: &[u8]) -> &[u8] {
    let rest = match line.strip_prefix(b":") {
        Some(after) => match after.iter().position(|b| *b == b' ') {
            Some(space) => &after[space + 1..],
            None => return b"",
        },
        None => line,
    };
    let end = rest.iter().position(|b| *b == b' ').unwrap_or(rest.len());
    &rest[..end]
}

/// A numeric error reply (4xx, 5xx) or `ERROR`.
fn is_error(command: &[u8]) -> bool {
    command == b"ERROR" || (command.len() == 3 && matches!(command[0], b'4' | b'5'))
}

/// The next line without its `\r`.
async fn irc_line(reader: &mut LineReader) -> Result<&[u8]> {
    let line = reader.next_line().await?;
    Ok(line.strip_suffix(b"\r").unwrap_or(line))
}

/// Registers as `nick` and joins `#public`: the client is ready once the
/// end of the channel's NAMES (366) arrived.
async fn login(addr: SocketAddr, nick: &str) -> Result<(LineReader, OwnedWriteHalf)> {
    let stream = TcpStream::connect(addr).await.context("connect")?;
    stream.set_nodelay(true)?;
    let (r, mut writer) = stream.into_split();
    let mut reader = LineReader::new(r);
    writer
        .write_all(format!("NICK {nick}\r\nUSER {nick} 0 * :{nick}\r\n").as_bytes())
        .await?;
    for (until, then) in [(&b"001"[..], Some("JOIN #public\r\n")), (b"366", None)] {
        loop {
            let line = irc_line(&mut reader).await?;
            let cmd = command(line);
            if cmd == until {
                break;
            }
            if is_error(cmd) {
                bail!("{nick}: {}", String::from_utf8_lossy(line));
            }
        }
        if let Some(then) = then {
            writer.write_all(then.as_bytes()).await?;
        }
    }
    Ok((reader, writer))
}

/// What one receiver saw, and whether the server closed its connection.
struct IrcReceived {
    got: Received,
    dropped: bool,
}

/// Reads from the moment the client is in: the server drops a client that
/// leaves 32 KiB unread, and every later JOIN reaches everyone. Counts the
/// PRIVMSGs until `expected` arrived, or — once `go` is set — nothing came
/// for [`QUIET`], or the connection ended.
async fn receive(
    mut reader: LineReader,
    expected: u64,
    mut go: watch::Receiver<bool>,
) -> IrcReceived {
    let mut got = Received::default();
    let mut started = *go.borrow();
    while got.messages < expected {
        let line = if started {
            match timeout(QUIET, irc_line(&mut reader)).await {
                Ok(line) => line,
                Err(_) => break,
            }
        } else {
            tokio::select! {
                line = irc_line(&mut reader) => line,
                _ = go.wait_for(|g| *g) => {
                    started = true;
                    continue;
                }
            }
        };
        let Ok(line) = line else {
            return IrcReceived { got, dropped: true };
        };
        let cmd = command(line);
        if cmd == b"PRIVMSG" {
            got.message(stamp_at_end(line));
        } else if is_error(cmd) {
            got.error(String::from_utf8_lossy(line).into_owned());
        }
    }
    IrcReceived {
        got,
        dropped: false,
    }
}

/// Logs in `nicks` in turn, a receiver expecting `expected(i)` messages
/// started for each as soon as it is in; returns the writers and receivers.
async fn login_all(
    addr: SocketAddr,
    nicks: Vec<String>,
    expected: impl Fn(usize) -> u64,
    go: &watch::Receiver<bool>,
) -> Result<(Vec<OwnedWriteHalf>, Vec<JoinHandle<IrcReceived>>)> {
    let logged: Vec<Result<_>> = stream::iter(nicks.into_iter().enumerate())
        .map(|(i, nick)| {
            let (expected, go) = (expected(i), go.clone());
            async move {
                let (reader, writer) = timeout(QUIET, login(addr, &nick))
                    .await
                    .with_context(|| format!("{nick}: not in #public after {QUIET:?}"))??;
                Ok((writer, tokio::spawn(receive(reader, expected, go))))
            }
        })
        .buffered(CONNECT_CONCURRENCY)
        .collect()
        .await;
    let mut writers = Vec::new();
    let mut readers = Vec::new();
    for l in logged {
        let (w, r) = l?;
        writers.push(w);
        readers.push(r);
    }
    Ok((writers, readers))
}

/// Merges every receiver; the second value counts the dropped ones.
async fn merge_all(readers: Vec<JoinHandle<IrcReceived>>) -> (Received, u64) {
    let mut all = Received::default();
    let mut dropped = 0;
    for r in readers {
        match r.await {
            Ok(r) => {
                all.merge(&r.got);
                dropped += u64::from(r.dropped);
            }
            Err(_) => dropped += 1,
        }
    }
    (all, dropped)
}

pub async fn irc(env: &Env, bin: &Path, run: &IrcRun) -> Result<Vec<Report>> {
    match run.scenario {
        IrcScenario::BusyRoom => {
            let mut out = Vec::new();
            for &n in &run.room.clients {
                out.push(busy_room(env, bin, n, run.room.seconds).await?);
            }
            Ok(out)
        }
        IrcScenario::Burst => Ok(vec![
            burst(
                env,
                bin,
                run.burst.senders,
                run.burst.messages,
                run.burst.listeners,
            )
            .await?,
        ]),
    }
}

async fn busy_room(env: &Env, bin: &Path, n: usize, seconds: u64) -> Result<Report> {
    let server = IrcServer::start(bin, env.server_cpus.as_deref())?;
    let (go_tx, go) = watch::channel(false);
    // Everyone's messages but its own.
    let expected_each = (n as u64).saturating_sub(1) * seconds;
    let nicks = (0..n).map(|i| format!("u{i}")).collect();
    let (writers, readers) = login_all(server.addr, nicks, |_| expected_each, &go).await?;
    let before = server.stats();
    let generator_before = own_stats();
    let wall = Instant::now();
    let start = tokio::time::Instant::now() + Duration::from_millis(200);
    let _ = go_tx.send(true);
    let mut senders = Vec::new();
    for (i, mut writer) in writers.into_iter().enumerate() {
        let first = start + Duration::from_secs(1).mul_f64(i as f64 / n as f64);
        senders.push(tokio::spawn(async move {
            for k in 0..seconds {
                sleep_until(first + Duration::from_secs(k)).await;
                if writer.write_all(privmsg().as_bytes()).await.is_err() {
                    break;
                }
            }
            writer
        }));
    }
    let (got, dropped) = merge_all(readers).await;
    let elapsed = wall.elapsed();
    let after = server.stats();
    drop(senders);
    server.stop()?;
    let mut r = Report::new(format!(
        "IRC (ngIRCd) busy room, N = {n}, {seconds} s — no echo to the sender: \
         each message reaches N − 1"
    ));
    r.row("messages sent", (n as u64 * seconds).to_string());
    r.row(
        "deliveries (N − 1 per message)",
        loss(expected_each * n as u64, got.messages),
    );
    r.row(
        "delivery rate",
        format!("{:.0} deliveries/s", got.messages as f64 / seconds as f64),
    );
    rows(&mut r, &got, dropped, n);
    r.costs((before, after), generator_before, elapsed, got.messages);
    Ok(r)
}

async fn burst(
    env: &Env,
    bin: &Path,
    senders: usize,
    messages: usize,
    listeners: usize,
) -> Result<Report> {
    let server = IrcServer::start(bin, env.server_cpus.as_deref())?;
    let (go_tx, go) = watch::channel(false);
    let sent = (senders * messages) as u64;
    // A sender receives the other senders' messages, a listener all.
    let from_others = (senders.saturating_sub(1) * messages) as u64;
    let nicks = (0..senders)
        .map(|i| format!("s{i}"))
        .chain((0..listeners).map(|i| format!("l{i}")))
        .collect();
    let expected = |i| if i < senders { from_others } else { sent };
    let (mut writers, readers) = login_all(server.addr, nicks, expected, &go).await?;
    // Dropping a write half would end the connection: keep them all.
    let idle_writers = writers.split_off(senders);
    let before = server.stats();
    let generator_before = own_stats();
    let wall = Instant::now();
    let start_ns = clock_ns();
    let _ = go_tx.send(true);
    let mut tasks = Vec::new();
    for mut writer in writers {
        tasks.push(tokio::spawn(async move {
            // Chunks with fresh timestamps, as the tchat burst sends them.
            let mut done = 0;
            while done < messages {
                let chunk = (messages - done).min(50);
                let buf: String = (0..chunk).map(|_| privmsg()).collect();
                if writer.write_all(buf.as_bytes()).await.is_err() {
                    break;
                }
                done += chunk;
            }
            writer
        }));
    }
    let (got, dropped) = merge_all(readers).await;
    let elapsed = wall.elapsed();
    let after = server.stats();
    drop(tasks);
    drop(idle_writers);
    server.stop()?;
    let active = Duration::from_nanos(got.last_at_ns.saturating_sub(start_ns));
    let mut r = Report::new(format!(
        "IRC (ngIRCd) burst fan-out, {senders} senders × {messages} messages, {listeners} \
         listeners — no echo to the sender: each message reaches the other senders and \
         every listener"
    ));
    r.row("messages sent", sent.to_string());
    r.row(
        "deliveries (senders − 1 + listeners per message)",
        loss(
            sent * (senders + listeners).saturating_sub(1) as u64,
            got.messages,
        ),
    );
    r.throughput(got.messages, active);
    rows(&mut r, &got, dropped, senders + listeners);
    r.costs((before, after), generator_before, elapsed, got.messages);
    Ok(r)
}

/// Latency, dropped clients and errors, as both scenarios report them.
fn rows(r: &mut Report, got: &Received, dropped: u64, clients: usize) {
    r.row("latency send → delivery", got.latency.summary());
    r.row(
        "clients dropped by the server",
        format!("{dropped} of {clients}"),
    );
    errors_row(r, got);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_commands_and_send_times() {
        let line = b":u1!~u1@127.0.0.1 PRIVMSG #public :bench 12345";
        assert_eq!(command(line), b"PRIVMSG");
        assert_eq!(stamp_at_end(line), Some(12345));
        assert_eq!(
            command(b":irc.bench 366 u2 #public :End of NAMES list"),
            b"366"
        );
        assert_eq!(command(b"ERROR :Closing connection"), b"ERROR");
        assert_eq!(command(b"PING :irc.bench"), b"PING");
        assert!(is_error(command(
            b":irc.bench 433 * u1 :Nickname already in use"
        )));
        assert!(!is_error(command(b":irc.bench 001 u1 :Welcome")));
    }
}

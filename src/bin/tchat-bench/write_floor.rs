//! What writing to many sockets costs on loopback, with no chat server at
//! all: the floor under any server that writes each session once per round.
//!
//! One thread, pinned where the server would run (`--server-cpus`), writes
//! to each of N connections every `period` one `writev` of `frames` copies
//! of a message frame as tchat sends it, while the generator's CPUs read
//! and count them. Every connection gets 1 000 frames a second, as in the
//! busy room of 1 000 (a round every `frames` ms); only how many frames
//! share a write changes. The writer's own CPU time (which on loopback
//! includes the kernel's delivery to the reading socket) divided by the
//! writes and by the frames is what a write and a delivered frame cost at
//! the least.

use std::io::{IoSlice, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use tokio::io::AsyncReadExt;

use crate::report::Report;

/// A public message as tchat sends it (133 bytes with its newline).
const FRAME: &[u8] = b"{\"type\":\"message\",\"chat\":\"#public\",\"msg_id\":1234567,\"ts\":1764633600000,\"from\":\"u000042\",\"text\":\"bench 1234567890123 and some words\"}\n";

/// Each connection gets this many frames per second whatever the batching.
const FRAMES_PER_SECOND: u64 = 1000;

/// The writer's CPU time so far (this thread's only).
fn thread_cpu() -> Duration {
    // SAFETY: clock_gettime writes one timespec we own.
    let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Writes all of `slices` to `stream`.
fn write_all_vectored(stream: &mut TcpStream, mut slices: &mut [IoSlice<'_>]) -> Result<()> {
    while !slices.is_empty() {
        let n = stream.write_vectored(slices)?;
        if n == 0 {
            bail!("connection closed");
        }
        IoSlice::advance_slices(&mut slices, n);
    }
    Ok(())
}

/// What the writer measured in one run.
struct Written {
    writes: u64,
    cpu: Duration,
    wall: Duration,
}

/// Writes `frames` frames per write to every stream, rounds `period` apart,
/// for `seconds`.
fn write_rounds(
    streams: &mut [TcpStream],
    frames: usize,
    period: Duration,
    seconds: u64,
    cpus: Option<&str>,
) -> Result<Written> {
    if let Some(cpus) = cpus {
        crate::pin_to(&crate::cpu_list(cpus)?)?;
    }
    let rounds = (Duration::from_secs(seconds).as_nanos() / period.as_nanos().max(1)) as u32;
    let cpu_before = thread_cpu();
    let began = Instant::now();
    let mut writes = 0;
    for round in 0..rounds {
        let due = began + period * round;
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        for stream in streams.iter_mut() {
            let mut slices = vec![IoSlice::new(FRAME); frames];
            write_all_vectored(stream, &mut slices)?;
            writes += 1;
        }
    }
    Ok(Written {
        writes,
        cpu: thread_cpu() - cpu_before,
        wall: began.elapsed(),
    })
}

pub async fn write_floor(
    connections: usize,
    batches: &[usize],
    seconds: u64,
    server_cpus: Option<&str>,
) -> Result<Report> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let received = Arc::new(AtomicU64::new(0));
    let mut readers = Vec::new();
    let mut streams = Vec::new();
    for _ in 0..connections {
        let mut client = tokio::net::TcpStream::connect(addr).await?;
        let (server_side, _) = listener.accept()?;
        server_side.set_nodelay(true)?;
        streams.push(server_side);
        let received = received.clone();
        readers.push(tokio::spawn(async move {
            let mut buf = vec![0u8; 64 * 1024];
            while let Ok(n) = client.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                received.fetch_add(n as u64, Ordering::Relaxed);
            }
        }));
    }
    let mut r = Report::new(format!(
        "loopback write floor: {connections} connections, {FRAMES_PER_SECOND} frames of {} bytes a second each, one writer thread",
        FRAME.len()
    ));
    let cpus = server_cpus.map(str::to_owned);
    for &frames in batches {
        let frames = frames.max(1);
        let period = Duration::from_millis(frames as u64 * 1000 / FRAMES_PER_SECOND);
        let before = received.load(Ordering::Relaxed);
        let cpus = cpus.clone();
        // A thread of its own, pinned where the server would run.
        let (done, finished) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            let w = write_rounds(&mut streams, frames, period, seconds, cpus.as_deref());
            let _ = done.send((streams, w));
        });
        let (back, written) = finished.await?;
        streams = back;
        let written = written?;
        let expected = written.writes * (frames * FRAME.len()) as u64;
        let deadline = Instant::now() + Duration::from_secs(30);
        while received.load(Ordering::Relaxed) - before < expected {
            if Instant::now() > deadline {
                bail!("the readers did not get everything written");
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let delivered = written.writes * frames as u64;
        r.row(
            format!("{frames} frames per write, a write per connection every {period:?}"),
            format!(
                "{:.0} writes/s; writer CPU {:.0} % of a core; **{:.2} µs per write, {:.0} ns per frame**",
                written.writes as f64 / written.wall.as_secs_f64(),
                100.0 * written.cpu.as_secs_f64() / written.wall.as_secs_f64(),
                written.cpu.as_nanos() as f64 / 1000.0 / written.writes.max(1) as f64,
                written.cpu.as_nanos() as f64 / delivered.max(1) as f64,
            ),
        );
    }
    drop(streams);
    for reader in readers {
        let _ = reader.await;
    }
    Ok(r)
}

//! The file-transfer scenario (§14): one big upload and its download over
//! loopback with the server pinned to one core and the generator to the
//! other, a slow reader, and a busy room with and without transfers.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use base64::Engine as _;
use tokio::io::AsyncWriteExt;
use tokio::sync::Semaphore;

use tchat::protocol::FILE_CHUNK_BYTES;

use crate::client::BenchClient;
use crate::report::{loss, Report};
use crate::scenarios::{create_accounts, login_all, merge_all, receive, send_every_second, Env};
use crate::scenarios::{PASSWORD, QUIET};
use crate::server_proc::{own_stats, proc_stats, ProcStats};

/// Chunks a client keeps unanswered (§14).
const WINDOW: usize = 8;

/// The parameters of one run.
pub struct FilesRun {
    pub size_mib: u64,
    pub room: usize,
    pub room_seconds: u64,
    pub slow_rate: u64,
    pub slow_seconds: u64,
}

/// Peak RSS of a process while a phase runs, sampled every 20 ms.
struct RssSampler {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl RssSampler {
    fn start(pid: u32) -> RssSampler {
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicU64::new(0));
        let (s, p) = (stop.clone(), peak.clone());
        let task = tokio::spawn(async move {
            while !s.load(Ordering::Relaxed) {
                if let Some(st) = proc_stats(pid) {
                    p.fetch_max(st.rss_kib, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
        RssSampler { stop, peak, task }
    }

    async fn finish(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.task.await;
        self.peak.load(Ordering::Relaxed)
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The value of `"key":"…"` or `"key":N` in a line, as text.
fn field<'a>(line: &'a [u8], key: &str) -> Option<&'a str> {
    let text = std::str::from_utf8(line).ok()?;
    let at = text.find(&format!("\"{key}\":"))? + key.len() + 3;
    let rest = &text[at..];
    if let Some(s) = rest.strip_prefix('"') {
        return Some(&s[..s.find('"')?]);
    }
    let end = rest.find([',', '}'])?;
    Some(&rest[..end])
}

/// Waits for the reply with `id`, ignoring events; an error reply fails.
async fn reply_line(client: &mut BenchClient, id: u64) -> Result<Vec<u8>> {
    let tag = format!("\"id\":{id},");
    let tag_end = format!("\"id\":{id}}}");
    loop {
        let line = tokio::time::timeout(QUIET, client.next_line())
            .await
            .context("no reply in time")??;
        let text = std::str::from_utf8(line).unwrap_or("");
        if (text.contains(&tag) || text.ends_with(&tag_end))
            && !text.contains("\"type\":\"message\"")
        {
            if text.starts_with(r#"{"type":"error""#) {
                bail!("request {id} refused: {text}");
            }
            return Ok(line.to_vec());
        }
    }
}

/// Offers `bytes` as `name` into #public and sends every chunk with at most
/// [`WINDOW`] unanswered; returns the file_id once every chunk is
/// acknowledged (no `file_done` yet).
async fn upload(
    client: BenchClient,
    bytes: Arc<Vec<u8>>,
    sha: &str,
    name: &str,
) -> Result<(BenchClient, String)> {
    let mut client = client;
    let offer = serde_json::json!({"type": "file_offer", "id": 1, "chat": "#public",
        "name": name, "size": bytes.len(), "sha256": sha});
    client.send_raw(&format!("{offer}\n")).await?;
    let accepted = reply_line(&mut client, 1).await?;
    let file_id = field(&accepted, "file_id")
        .context("file_accepted without file_id")?
        .to_owned();
    let chunks = bytes.len().div_ceil(FILE_CHUNK_BYTES);
    let BenchClient { mut reader, writer } = client;
    let window = Arc::new(Semaphore::new(WINDOW));
    let w = window.clone();
    let id_for_writer = file_id.clone();
    let sender = tokio::spawn(async move {
        let mut writer = writer;
        let mut frame = String::with_capacity(FILE_CHUNK_BYTES * 4 / 3 + 200);
        for i in 0..chunks {
            w.acquire().await?.forget();
            let at = i * FILE_CHUNK_BYTES;
            let end = (at + FILE_CHUNK_BYTES).min(bytes.len());
            frame.clear();
            frame.push_str(&format!(
                "{{\"type\":\"file_chunk\",\"id\":{},\"file_id\":\"{id_for_writer}\",\"offset\":{at},\"data\":\"",
                1000 + i
            ));
            base64::engine::general_purpose::STANDARD.encode_string(&bytes[at..end], &mut frame);
            frame.push_str("\"}\n");
            writer.write_all(frame.as_bytes()).await?;
            // Fair to the other tasks on the generator's core.
            tokio::task::yield_now().await;
        }
        Ok::<_, anyhow::Error>(writer)
    });
    let mut acked = 0;
    while acked < chunks {
        let line = tokio::time::timeout(QUIET, reader.next_line())
            .await
            .context("no chunk reply in time")??;
        if line.starts_with(br#"{"type":"ok""#) {
            acked += 1;
            window.add_permits(1);
        } else if line.starts_with(br#"{"type":"error""#) {
            bail!("chunk refused: {}", String::from_utf8_lossy(line));
        }
    }
    let writer = sender.await??;
    Ok((BenchClient { reader, writer }, file_id))
}

/// Downloads `file_id` and checks its SHA-256; returns the bytes received.
/// With `light`, only counts the bytes and yields after every frame, so
/// that a download beside a busy room does not take the generator's core
/// from the room's readers (which would be measured as server latency).
async fn download(
    client: &mut BenchClient,
    file_id: &str,
    sha: &str,
    id: u64,
    light: bool,
) -> Result<u64> {
    client
        .send_raw(&format!(
            "{{\"type\":\"file_get\",\"id\":{id},\"file_id\":\"{file_id}\",\"offset\":0}}\n"
        ))
        .await?;
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    let mut buf = vec![0u8; FILE_CHUNK_BYTES + 4];
    let mut total = 0u64;
    loop {
        let line = tokio::time::timeout(QUIET, client.next_line())
            .await
            .context("download stalled")??;
        if line.starts_with(br#"{"type":"file_data""#) {
            // `data` is the last field: the line ends with `"}`.
            let start = line
                .windows(8)
                .rposition(|w| w == b"\"data\":\"")
                .context("file_data without data")?
                + 8;
            let encoded = &line[start..line.len() - 2];
            if light {
                let pad = encoded.iter().rev().take_while(|b| **b == b'=').count();
                total += (encoded.len() / 4 * 3 - pad) as u64;
                tokio::task::yield_now().await;
                continue;
            }
            let n = base64::engine::general_purpose::STANDARD
                .decode_slice(encoded, &mut buf)
                .context("bad base64 in file_data")?;
            ctx.update(&buf[..n]);
            total += n as u64;
        } else if line.starts_with(br#"{"type":"file_end""#) {
            break;
        } else if line.starts_with(br#"{"type":"error""#) {
            bail!("download refused: {}", String::from_utf8_lossy(line));
        }
    }
    let got: String = ctx
        .finish()
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    if !light && got != sha {
        bail!("downloaded SHA-256 {got}, expected {sha}");
    }
    Ok(total)
}

fn rate(bytes: u64, took: Duration) -> String {
    let secs = took.as_secs_f64().max(1e-9);
    format!(
        "{:.0} MB/s ({:.0} MiB/s; {:.2} s)",
        bytes as f64 / secs / 1e6,
        bytes as f64 / secs / 1048576.0,
        secs
    )
}

fn cpu_row(before: ProcStats, after: ProcStats, wall: Duration) -> String {
    let cpu = after.cpu.saturating_sub(before.cpu);
    format!(
        "{:.2} s over {:.2} s wall ({:.0} % of one core)",
        cpu.as_secs_f64(),
        wall.as_secs_f64(),
        100.0 * cpu.as_secs_f64() / wall.as_secs_f64().max(1e-9)
    )
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

pub async fn files(env: &Env, run: &FilesRun) -> Result<Vec<Report>> {
    let db = env.db("files");
    create_accounts(
        &db,
        &[
            ("up", 2, 4),
            ("down", 2, 4),
            ("slow", 1, 4),
            ("u", run.room, 4),
        ],
    )?;
    let size = run.size_mib << 20;
    let extra = [
        "--max-file-size".to_owned(),
        (size * 2).to_string(),
        "--file-quota".to_owned(),
        (1u64 << 40).to_string(),
    ];
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    let server = env.start_with(&db, 4, &extra)?;
    let pid = server.pid();
    let addr = server.addr;

    // The file: random bytes, hashed before anything is timed.
    let mut bytes = vec![0u8; size as usize];
    {
        use ring::rand::SecureRandom;
        let rng = ring::rand::SystemRandom::new();
        for piece in bytes.chunks_mut(1 << 20) {
            rng.fill(piece)
                .map_err(|_| anyhow::anyhow!("no randomness"))?;
        }
    }
    let sha = sha256_hex(&bytes);
    let bytes = Arc::new(bytes);

    let mut r = Report::new(format!(
        "file transfer, {} MiB of random bytes{}",
        run.size_mib,
        match &env.server_cpus {
            Some(c) => format!(", server on CPU {c} (taskset), generator on the others"),
            None => ", not pinned".to_owned(),
        }
    ));

    // Upload.
    let uploader = BenchClient::login(addr, "up0", PASSWORD).await?;
    let idle = server.stats();
    let sampler = RssSampler::start(pid);
    let generator_before = own_stats();
    let began = Instant::now();
    let (mut uploader, file_id) = upload(uploader, bytes.clone(), &sha, "big.bin").await?;
    let chunks_took = began.elapsed();
    let after_chunks = server.stats();
    let done_began = Instant::now();
    uploader
        .send_raw(&format!(
            "{{\"type\":\"file_done\",\"id\":2,\"file_id\":\"{file_id}\"}}\n"
        ))
        .await?;
    reply_line(&mut uploader, 2).await?;
    let done_took = done_began.elapsed();
    let after_done = server.stats();
    let upload_peak = sampler.finish().await;
    let generator_after_up = own_stats();
    r.row(
        "upload (offer → last chunk acknowledged)",
        rate(size, chunks_took),
    );
    r.row(
        "upload, server CPU",
        cpu_row(idle, after_chunks, chunks_took),
    );
    r.row(
        "upload, generator CPU",
        cpu_row(
            generator_before,
            generator_after_up,
            chunks_took + done_took,
        ),
    );
    r.row(
        "file_done (SHA-256 check, fsync, link, commit)",
        format!(
            "{:.0} ms; server CPU {}",
            done_took.as_secs_f64() * 1000.0,
            cpu_row(after_chunks, after_done, done_took)
        ),
    );
    r.row("upload + file_done", rate(size, chunks_took + done_took));
    r.row(
        "server RSS growth during the upload",
        format!(
            "{} (from {} to a peak of {})",
            mib(upload_peak.saturating_sub(idle.rss_kib)),
            mib(idle.rss_kib),
            mib(upload_peak)
        ),
    );

    // Download.
    let mut downloader = BenchClient::login(addr, "down0", PASSWORD).await?;
    let before = server.stats();
    let sampler = RssSampler::start(pid);
    let generator_before = own_stats();
    let began = Instant::now();
    let got = download(&mut downloader, &file_id, &sha, 3, false).await?;
    let took = began.elapsed();
    let after = server.stats();
    let download_peak = sampler.finish().await;
    if got != size {
        bail!("downloaded {got} bytes of {size}");
    }
    r.row(
        "download (file_get → file_end, SHA-256 checked)",
        rate(size, took),
    );
    r.row("download, server CPU", cpu_row(before, after, took));
    r.row(
        "download, generator CPU",
        cpu_row(generator_before, own_stats(), took),
    );
    r.row(
        "server RSS growth during the download",
        format!(
            "{} (from {} to a peak of {})",
            mib(download_peak.saturating_sub(before.rss_kib)),
            mib(before.rss_kib),
            mib(download_peak)
        ),
    );

    // A slow reader.
    let mut slow = BenchClient::login(addr, "slow0", PASSWORD).await?;
    let before = server.stats();
    let sampler = RssSampler::start(pid);
    slow.send_raw(&format!(
        "{{\"type\":\"file_get\",\"id\":4,\"file_id\":\"{file_id}\",\"offset\":0}}\n"
    ))
    .await?;
    let began = Instant::now();
    let mut read = 0u64;
    while began.elapsed() < Duration::from_secs(run.slow_seconds) {
        let line = tokio::time::timeout(QUIET, slow.next_line())
            .await
            .context("slow download stalled")??;
        if line.starts_with(br#"{"type":"error""#) {
            bail!("slow reader refused: {}", String::from_utf8_lossy(line));
        }
        read += line.len() as u64 + 1;
        let due = began + Duration::from_secs_f64(read as f64 / run.slow_rate as f64);
        tokio::time::sleep_until(due.into()).await;
    }
    let slow_peak = sampler.finish().await;
    let slow_after = server.stats();
    drop(slow);
    r.row(
        format!(
            "slow reader at {:.1} MB/s for {} s",
            run.slow_rate as f64 / 1e6,
            run.slow_seconds
        ),
        format!(
            "read {:.1} MB; server RSS growth {} (peak {}); server CPU {}",
            read as f64 / 1e6,
            mib(slow_peak.saturating_sub(before.rss_kib)),
            mib(slow_peak),
            cpu_row(before, slow_after, began.elapsed())
        ),
    );

    // The busy room without, then with, a transfer running.
    let mut reports = vec![r];
    for load in [Load::None, Load::Download, Load::Upload] {
        let t = Transfers {
            bytes: bytes.clone(),
            sha: sha.clone(),
            file_id: file_id.clone(),
        };
        reports.push(room(addr, pid, run, load, t).await?);
    }
    drop(uploader);
    drop(downloader);
    let final_stats = server.stats();
    server.stop()?;
    let last = reports.last_mut().context("reports")?;
    last.row(
        "server peak RSS over the whole run",
        mib(final_stats.peak_rss_kib),
    );
    Ok(reports)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Load {
    None,
    /// One client downloads the file again and again.
    Download,
    /// One client uploads the file again and again (cancelled each time,
    /// so the room gets no file messages among its timed ones).
    Upload,
}

struct Transfers {
    bytes: Arc<Vec<u8>>,
    sha: String,
    file_id: String,
}

/// `run.room` clients in #public, one message each per second, for
/// `run.room_seconds`, while `load` runs.
async fn room(
    addr: std::net::SocketAddr,
    pid: u32,
    run: &FilesRun,
    load: Load,
    t: Transfers,
) -> Result<Report> {
    let n = run.room;
    let seconds = run.room_seconds;
    let clients = login_all(addr, "u", n).await?;
    let stop = Arc::new(AtomicBool::new(false));
    let moved = Arc::new(AtomicU64::new(0));
    let mut loops = Vec::new();
    if load == Load::Upload {
        let (s, m, bytes, sha) = (stop.clone(), moved.clone(), t.bytes.clone(), t.sha.clone());
        let mut up = BenchClient::login(addr, "up1", PASSWORD).await?;
        loops.push(tokio::spawn(async move {
            let mut k = 0u64;
            while !s.load(Ordering::Relaxed) {
                let (mut c, file_id) =
                    upload(up, bytes.clone(), &sha, &format!("loop{k}.bin")).await?;
                c.send_raw(&format!(
                    "{{\"type\":\"file_cancel\",\"id\":5,\"file_id\":\"{file_id}\"}}\n"
                ))
                .await?;
                reply_line(&mut c, 5).await?;
                m.fetch_add(bytes.len() as u64, Ordering::Relaxed);
                up = c;
                k += 1;
            }
            Ok::<_, anyhow::Error>(())
        }));
    }
    if load == Load::Download {
        let (s, m, sha, file_id) = (
            stop.clone(),
            moved.clone(),
            t.sha.clone(),
            t.file_id.clone(),
        );
        let mut down = BenchClient::login(addr, "down1", PASSWORD).await?;
        loops.push(tokio::spawn(async move {
            let mut id = 10;
            while !s.load(Ordering::Relaxed) {
                let got = download(&mut down, &file_id, &sha, id, true).await?;
                m.fetch_add(got, Ordering::Relaxed);
                id += 1;
            }
            Ok::<_, anyhow::Error>(())
        }));
    }
    let before = proc_stats(pid).unwrap_or_default();
    let generator_before = own_stats();
    let wall = Instant::now();
    let start = tokio::time::Instant::now() + Duration::from_millis(200);
    let expected_each = n as u64 * seconds;
    let mut readers = Vec::new();
    let mut writers = Vec::new();
    for (i, client) in clients.into_iter().enumerate() {
        let offset = Duration::from_secs(1).mul_f64(i as f64 / n as f64);
        readers.push(tokio::spawn(receive(client.reader, expected_each)));
        writers.push(tokio::spawn(send_every_second(
            client.writer,
            start + offset,
            seconds,
        )));
    }
    let got = merge_all(readers).await;
    let elapsed = wall.elapsed();
    let after = proc_stats(pid).unwrap_or_default();
    stop.store(true, Ordering::Relaxed);
    for l in loops {
        // A loop ends after its current transfer.
        l.await??;
    }
    // Writers hold the sessions open until every reader is done.
    for w in writers {
        let _ = w.await;
    }
    let mut r = Report::new(format!(
        "busy room, N = {n}, {seconds} s, {}",
        match load {
            Load::None => "no file transfer",
            Load::Download => "a download of the file running (again and again)",
            Load::Upload => "an upload of the file running (again and again)",
        }
    ));
    r.row("deliveries", loss(expected_each * n as u64, got.messages));
    r.row("latency send → delivery", got.latency.summary());
    r.row(
        "p99",
        format!("{:.2} ms", got.latency.quantile_us(0.99) as f64 / 1000.0),
    );
    r.row("server CPU", cpu_row(before, after, elapsed));
    r.row(
        "generator CPU",
        cpu_row(generator_before, own_stats(), elapsed),
    );
    if load != Load::None {
        let bytes = moved.load(Ordering::Relaxed);
        r.row(
            "file bytes moved meanwhile",
            format!(
                "{:.0} MB ({:.0} MB/s)",
                bytes as f64 / 1e6,
                bytes as f64 / 1e6 / elapsed.as_secs_f64()
            ),
        );
    }
    if got.errors > 0 {
        r.row(
            "error frames",
            format!("{} ({:?})", got.errors, got.first_error),
        );
    }
    Ok(r)
}

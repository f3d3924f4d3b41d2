//! The named scenarios. Each starts a fresh server on its own database.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use futures::stream::{self, StreamExt};
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::{mpsc, watch};
use tokio::time::{sleep_until, timeout};

use tchat::protocol::{now_ms, Role, PING_INTERVAL};
use tchat::server::store::{DbLocation, SqliteStore, Store, PUBLIC_CHAT};

use crate::client::{clock_ns, next_line, BenchClient, LineReader, Received};
use crate::histogram::Histogram;
use crate::report::{loss, Report};
use crate::server_proc::{own_stats, ServerProcess};

pub(crate) const PASSWORD: &str = "bench password";
/// The public room's chat key.
pub(crate) const PUBLIC: &str = "#public";
/// Parallel connection attempts while logging many clients in; more would
/// overflow the listen backlog and add SYN retries to the figures. Below
/// the server's per-address lockout (`LOCKOUT_IP_FAILURES`, 20), which
/// counts logins from the moment they start: 20 in flight from one address
/// lock it out for everyone after them, however they end.
const CONNECT_CONCURRENCY: usize = 16;
/// A receiver gives up after this long without a line.
pub(crate) const QUIET: Duration = Duration::from_secs(10);

pub struct Env {
    server_bin: PathBuf,
    /// `taskset -c` CPUs for every server started; `None`: not pinned.
    pub(crate) server_cpus: Option<String>,
    dir: tempfile::TempDir,
}

impl Env {
    pub fn new(server_bin: PathBuf, server_cpus: Option<String>) -> Result<Env> {
        Ok(Env {
            server_bin,
            server_cpus,
            dir: tempfile::tempdir()?,
        })
    }

    pub(crate) fn db(&self, name: &str) -> PathBuf {
        self.dir.path().join(format!("{name}.db"))
    }

    pub(crate) fn start(&self, db: &Path, cost: u32) -> Result<ServerProcess> {
        self.start_with(db, cost, &[])
    }

    /// A server on `db` as given to `--db` (a path or a URL).
    fn start_at(&self, db: &str, cost: u32, extra: &[&str]) -> Result<ServerProcess> {
        self.start_with(Path::new(db), cost, extra)
    }

    /// Starts the server with `extra` arguments, on the server's CPUs.
    pub(crate) fn start_with(&self, db: &Path, cost: u32, extra: &[&str]) -> Result<ServerProcess> {
        ServerProcess::start_on(
            &self.server_bin,
            db,
            cost,
            extra,
            self.server_cpus.as_deref(),
        )
    }
}

pub(crate) fn user(prefix: &str, i: usize) -> String {
    format!("{prefix}{i}")
}

/// Creates accounts straight in the database, one hash per group: hashing
/// each at the real cost would take minutes and measure nothing.
pub(crate) fn create_accounts(db: &Path, groups: &[(&str, usize, u32)]) -> Result<()> {
    create_accounts_in(&DbLocation::from(db), groups)
}

/// [`create_accounts`] in any database. Runs on a thread of its own: the
/// PostgreSQL client must not run on the generator's async threads.
pub(crate) fn create_accounts_in(db: &DbLocation, groups: &[(&str, usize, u32)]) -> Result<()> {
    std::thread::scope(|s| {
        s.spawn(|| create_accounts_here(db, groups))
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e))
    })
}

fn create_accounts_here(db: &DbLocation, groups: &[(&str, usize, u32)]) -> Result<()> {
    let store = tchat::server::store::open(db)?;
    store.begin()?;
    for (prefix, count, cost) in groups {
        let hash = bcrypt::hash(PASSWORD, *cost)?;
        for i in 0..*count {
            store.create_account(&user(prefix, i), &hash, Role::User, now_ms())?;
        }
    }
    store.commit()?;
    Ok(())
}

pub(crate) async fn login_all(
    addr: SocketAddr,
    prefix: &str,
    n: usize,
) -> Result<Vec<BenchClient>> {
    login_spread(&[addr], prefix, n).await
}

/// Logs `n` clients in, client `i` at `addrs[i % addrs.len()]`.
pub(crate) async fn login_spread(
    addrs: &[SocketAddr],
    prefix: &str,
    n: usize,
) -> Result<Vec<BenchClient>> {
    let prefix = prefix.to_owned();
    let clients: Vec<Result<BenchClient>> = stream::iter(0..n)
        .map(|i| {
            let name = user(&prefix, i);
            let addr = addrs[i % addrs.len()];
            async move { BenchClient::login(addr, &name, PASSWORD).await }
        })
        .buffered(CONNECT_CONCURRENCY)
        .collect()
        .await;
    clients.into_iter().collect()
}

/// Reads until `expected` messages arrived or nothing came for [`QUIET`].
pub(crate) async fn receive(mut reader: LineReader, expected: u64) -> (Received, LineReader) {
    let mut got = Received::default();
    while got.messages < expected {
        match timeout(QUIET, next_line(&mut reader)).await {
            Ok(Ok(line)) => {
                got.note(line);
            }
            _ => break,
        }
    }
    (got, reader)
}

/// Reads from `reader` until one public message has come, counting into
/// `got` and pinging while idle; returns early when the connection ends.
async fn read_one_message(
    reader: &mut LineReader,
    writer: &mut OwnedWriteHalf,
    ping: &mut tokio::time::Interval,
    got: &mut Received,
) {
    let goal = got.messages + 1;
    while got.messages < goal {
        tokio::select! {
            line = next_line(reader) => match line {
                Ok(line) => {
                    got.note(line);
                }
                Err(_) => return,
            },
            _ = ping.tick() => {
                let _ = writer.write_all(b"{\"type\":\"ping\"}\n").await;
            }
        }
    }
}

pub(crate) async fn merge_all(
    tasks: Vec<tokio::task::JoinHandle<(Received, LineReader)>>,
) -> Received {
    let mut all = Received::default();
    for t in tasks {
        if let Ok((r, _)) = t.await {
            all.merge(&r);
        }
    }
    all
}

pub(crate) fn errors_row(report: &mut Report, got: &Received) {
    let first = got.first_error.as_deref().unwrap_or("");
    report.row(
        "error frames",
        if got.errors == 0 {
            "0".to_owned()
        } else {
            format!(
                "{} (first: `{}`)",
                got.errors,
                first.chars().take(120).collect::<String>()
            )
        },
    );
}

/// Sends one timestamped public message per second from `writer`,
/// starting at `first`.
pub(crate) async fn send_every_second(
    writer: OwnedWriteHalf,
    first: tokio::time::Instant,
    seconds: u64,
) -> OwnedWriteHalf {
    send_every(writer, first, seconds, Duration::from_secs(1)).await
}

/// Sends `count` timestamped public messages from `writer`, `period`
/// apart, starting at `first`.
pub(crate) async fn send_every(
    mut writer: OwnedWriteHalf,
    first: tokio::time::Instant,
    count: u64,
    period: Duration,
) -> OwnedWriteHalf {
    for k in 0..count {
        sleep_until(first + period.saturating_mul(k as u32)).await;
        let frame = BenchClient::message_to(PUBLIC);
        if writer.write_all(frame.as_bytes()).await.is_err() {
            break;
        }
    }
    writer
}

/// Sends one timestamped message per second from `writer`, starting at
/// `first`: in second `k` to `chats[k % 2]`.
pub(crate) async fn send_alternating(
    mut writer: OwnedWriteHalf,
    first: tokio::time::Instant,
    seconds: u64,
    chats: [String; 2],
) -> OwnedWriteHalf {
    for k in 0..seconds {
        sleep_until(first + Duration::from_secs(k)).await;
        let frame = BenchClient::message_to(&chats[(k % 2) as usize]);
        if writer.write_all(frame.as_bytes()).await.is_err() {
            break;
        }
    }
    writer
}

/// N clients in #public, each sending one message every `every` seconds
/// (spread evenly over that time), for `seconds`.
pub async fn busy_room(env: &Env, n: usize, seconds: u64, every: u64) -> Result<Report> {
    let every = every.max(1);
    let db = env.db(&format!("busy-{n}"));
    create_accounts(&db, &[("u", n, 4)])?;
    let server = env.start(&db, 4)?;
    let clients = login_all(server.addr, "u", n).await?;
    let before = server.stats();
    let generator_before = own_stats();
    let wall = Instant::now();
    let start = tokio::time::Instant::now() + Duration::from_millis(200);
    let each_sends = seconds / every;
    let expected_each = n as u64 * each_sends;
    let period = Duration::from_secs(every);
    let mut readers = Vec::new();
    let mut writers = Vec::new();
    for (i, client) in clients.into_iter().enumerate() {
        let offset = period.mul_f64(i as f64 / n as f64);
        readers.push(tokio::spawn(receive(client.reader, expected_each)));
        writers.push(tokio::spawn(send_every(
            client.writer,
            start + offset,
            each_sends,
            period,
        )));
    }
    let got = merge_all(readers).await;
    let elapsed = wall.elapsed();
    let after = server.stats();
    drop(writers);
    server.stop()?;
    let rate = if every == 1 {
        String::new()
    } else {
        format!(", one message per client every {every} s")
    };
    let mut r = Report::new(format!("busy room, N = {n}, {seconds} s{rate}"));
    r.row("messages sent", (n as u64 * each_sends).to_string());
    r.row("deliveries", loss(expected_each * n as u64, got.messages));
    r.row(
        "delivery rate",
        format!("{:.0} deliveries/s", got.messages as f64 / seconds as f64),
    );
    r.row("latency send → delivery", got.latency.summary());
    errors_row(&mut r, &got);
    r.costs((before, after), generator_before, elapsed, got.messages);
    Ok(r)
}

pub async fn burst(env: &Env, senders: usize, messages: usize, listeners: usize) -> Result<Report> {
    let db = env.db("burst");
    create_accounts(&db, &[("s", senders, 4), ("l", listeners, 4)])?;
    let server = env.start(&db, 4)?;
    let title =
        format!("burst fan-out, {senders} senders × {messages} messages, {listeners} listeners");
    burst_through(vec![server], senders, messages, listeners, title).await
}

/// The burst through several nodes on one PostgreSQL database (`db`, made
/// empty beforehand), joined by the NATS at `bus` when there are several;
/// senders and listeners are spread over the nodes in turn, so most
/// deliveries cross from one node to another.
pub async fn cluster_burst(
    env: &Env,
    db: &str,
    bus: Option<&str>,
    nodes: usize,
    load: (usize, usize, usize),
) -> Result<Report> {
    let (senders, messages, listeners) = load;
    let location = DbLocation::parse(db)?;
    create_accounts_in(&location, &[("s", senders, 4), ("l", listeners, 4)])?;
    let mut servers = Vec::new();
    for _ in 0..nodes.max(1) {
        let extra: Vec<&str> = match bus {
            Some(bus) => vec!["--bus", bus],
            None => Vec::new(),
        };
        servers.push(env.start_at(db, 4, &extra)?);
    }
    let title = format!(
        "burst through {} node(s) on {location}{}, {senders} senders × {messages} messages, {listeners} listeners",
        servers.len(),
        if bus.is_some() { " + NATS" } else { "" }
    );
    burst_through(servers, senders, messages, listeners, title).await
}

async fn burst_through(
    servers: Vec<ServerProcess>,
    senders: usize,
    messages: usize,
    listeners: usize,
    title: String,
) -> Result<Report> {
    let addrs: Vec<SocketAddr> = servers.iter().map(|s| s.addr).collect();
    let sending = login_spread(&addrs, "s", senders).await?;
    let listening = login_spread(&addrs, "l", listeners).await?;
    let expected_each = (senders * messages) as u64;
    let stats = |servers: &[ServerProcess]| {
        servers.iter().map(ServerProcess::stats).fold(
            Default::default(),
            |all: crate::server_proc::ProcStats, s| crate::server_proc::ProcStats {
                cpu: all.cpu + s.cpu,
                rss_kib: all.rss_kib + s.rss_kib,
                peak_rss_kib: all.peak_rss_kib + s.peak_rss_kib,
            },
        )
    };
    let before = stats(&servers);
    let generator_before = own_stats();
    let wall = Instant::now();
    let start_ns = clock_ns();
    let mut readers = Vec::new();
    let mut writers = Vec::new();
    // Dropping a write half would end the session: keep them until the end.
    let mut idle_writers = Vec::new();
    for client in listening {
        readers.push(tokio::spawn(receive(client.reader, expected_each)));
        idle_writers.push(client.writer);
    }
    for client in sending {
        readers.push(tokio::spawn(receive(client.reader, expected_each)));
        let mut writer = client.writer;
        writers.push(tokio::spawn(async move {
            // Chunks with fresh timestamps: one write per 50 frames keeps
            // the generator cheap while latency stays meaningful.
            let mut sent = 0;
            while sent < messages {
                let chunk = (messages - sent).min(50);
                let mut buf = String::with_capacity(chunk * 80);
                for _ in 0..chunk {
                    buf.push_str(&BenchClient::public_message());
                }
                if writer.write_all(buf.as_bytes()).await.is_err() {
                    break;
                }
                sent += chunk;
            }
            writer
        }));
    }
    let got = merge_all(readers).await;
    let elapsed = wall.elapsed();
    let after = stats(&servers);
    drop(writers);
    drop(idle_writers);
    for server in servers {
        server.stop()?;
    }
    let active = Duration::from_nanos(got.last_at_ns.saturating_sub(start_ns));
    let mut r = Report::new(title);
    r.row("messages sent", expected_each.to_string());
    r.row(
        "deliveries",
        loss(expected_each * (senders + listeners) as u64, got.messages),
    );
    r.throughput(got.messages, active);
    r.row("latency send → delivery", got.latency.summary());
    errors_row(&mut r, &got);
    r.server(before, after, elapsed);
    let cpu = after.cpu.saturating_sub(before.cpu);
    r.row(
        "server CPU per delivery (all nodes)",
        format!(
            "{:.0} ns",
            cpu.as_nanos() as f64 / (got.messages as f64).max(1.0)
        ),
    );
    r.generator(generator_before, own_stats(), elapsed);
    Ok(r)
}

pub async fn idle(env: &Env, sessions: usize, hold: u64) -> Result<Report> {
    let db = env.db("idle");
    create_accounts(&db, &[("i", sessions, 4), ("speaker", 1, 4)])?;
    let server = env.start(&db, 4)?;
    let addr = server.addr;
    let empty = server.stats();
    let began = Instant::now();
    let (drained_tx, mut drained) = mpsc::unbounded_channel();
    let (got_tx, mut got_rx) = mpsc::unbounded_channel();
    let (stop_tx, stop) = watch::channel(false);
    // Each session starts reading as soon as it is in, as a real client
    // would. It reads until a first public message (sent once everyone is
    // in, so behind the whole storm's presence in every queue), says so,
    // then waits idle for the second, the one measured. It stays connected
    // until every session has reported: a session leaving is announced to
    // all the others, and 10 000 leaving while the message is still on its
    // way would be a logout storm racing the message.
    let readers: Vec<Result<_>> = stream::iter(0..sessions)
        .map(|i| {
            let drained_tx = drained_tx.clone();
            let got_tx = got_tx.clone();
            let mut stop = stop.clone();
            async move {
                let client = BenchClient::login(addr, &user("i", i), PASSWORD).await?;
                let BenchClient {
                    mut reader,
                    mut writer,
                } = client;
                Ok(tokio::spawn(async move {
                    // Idle clients ping every 30 s, as the contract asks.
                    let mut ping = tokio::time::interval(PING_INTERVAL);
                    ping.tick().await;
                    let mut backlog = Received::default();
                    read_one_message(&mut reader, &mut writer, &mut ping, &mut backlog).await;
                    let _ = drained_tx.send(());
                    let mut got = Received::default();
                    read_one_message(&mut reader, &mut writer, &mut ping, &mut got).await;
                    got.errors += backlog.errors;
                    got.first_error = backlog.first_error.or(got.first_error);
                    let _ = got_tx.send(got);
                    let _ = stop.wait_for(|s| *s).await;
                    drop(writer);
                    drop(reader);
                }))
            }
        })
        .buffered(CONNECT_CONCURRENCY)
        .collect()
        .await;
    drop((drained_tx, got_tx));
    let readers: Vec<_> = readers.into_iter().collect::<Result<_>>()?;
    let login_took = began.elapsed();
    let mut speaker = BenchClient::login(addr, "speaker0", PASSWORD).await?;
    speaker.send_raw(&BenchClient::public_message()).await?;
    let mut caught_up = 0;
    timeout(Duration::from_secs(600), async {
        while caught_up < sessions && drained.recv().await.is_some() {
            caught_up += 1;
        }
    })
    .await?;
    let drain_took = began.elapsed() - login_took;
    // The hub gives freed memory back one quiet second after a fan-out.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let loaded = server.stats();
    if hold > 0 {
        eprintln!(
            "{sessions} idle sessions on server pid {} for {hold} s",
            server.pid()
        );
        tokio::time::sleep(Duration::from_secs(hold)).await;
    }
    speaker.send_raw(&BenchClient::public_message()).await?;
    let mut got = Received::default();
    timeout(Duration::from_secs(30), async {
        for _ in 0..sessions {
            match got_rx.recv().await {
                Some(one) => got.merge(&one),
                None => break,
            }
        }
    })
    .await?;
    let after = server.stats();
    let _ = stop_tx.send(true);
    for r in readers {
        let _ = r.await;
    }
    server.stop()?;
    let per_session =
        (loaded.rss_kib.saturating_sub(empty.rss_kib)) as f64 * 1024.0 / sessions as f64;
    let mut r = Report::new(format!("idle scale, {sessions} sessions"));
    r.row(
        "server RSS empty",
        format!("{:.1} MiB", empty.rss_kib as f64 / 1024.0),
    );
    r.row(
        "server RSS with sessions",
        format!("{:.1} MiB", loaded.rss_kib as f64 / 1024.0),
    );
    r.row(
        "RSS per session",
        format!("{:.1} KiB", per_session / 1024.0),
    );
    r.row(
        "logging everyone in",
        format!(
            "{:.1} s (each login is announced to every session: N² presence events)",
            login_took.as_secs_f64()
        ),
    );
    r.row(
        "then until every session had read all of it",
        format!("{:.1} s", drain_took.as_secs_f64()),
    );
    r.row(
        "one public message to idle sessions",
        loss(sessions as u64, got.messages),
    );
    r.row(
        "time until all received",
        format!(
            "{:.1} ms (latency {})",
            got.latency.max_us() as f64 / 1000.0,
            got.latency.summary()
        ),
    );
    errors_row(&mut r, &got);
    r.row(
        "server peak RSS",
        format!("{:.1} MiB", after.peak_rss_kib as f64 / 1024.0),
    );
    Ok(r)
}

pub async fn login_storm(
    env: &Env,
    logins: usize,
    room: usize,
    cost: u32,
    seconds: u64,
) -> Result<Report> {
    let db = env.db("storm");
    create_accounts(&db, &[("r", room, 4), ("x", logins, cost)])?;
    let server = env.start(&db, cost)?;
    let addr = server.addr;
    let clients = login_all(addr, "r", room).await?;
    let before = server.stats();
    let generator_before = own_stats();
    let wall = Instant::now();
    let start = tokio::time::Instant::now() + Duration::from_millis(200);
    let storm_from = Arc::new(AtomicU64::new(u64::MAX));
    let storm_to = Arc::new(AtomicU64::new(u64::MAX));
    let expected_each = room as u64 * seconds;
    let mut readers = Vec::new();
    let mut writers = Vec::new();
    for (i, client) in clients.into_iter().enumerate() {
        let offset = Duration::from_secs(1).mul_f64(i as f64 / room as f64);
        let (from, to) = (storm_from.clone(), storm_to.clone());
        let mut reader = client.reader;
        readers.push(tokio::spawn(async move {
            // Latency split by whether the message was sent during the storm.
            let mut calm = Histogram::default();
            let mut stormy = Histogram::default();
            let mut got = Received::default();
            while got.messages < expected_each {
                match timeout(QUIET, next_line(&mut reader)).await {
                    Ok(Ok(line)) => {
                        if let Some((sent, latency)) = got.note(line) {
                            let (f, t) = (from.load(Ordering::Relaxed), to.load(Ordering::Relaxed));
                            if (f..=t).contains(&sent) {
                                stormy.record(latency);
                            } else {
                                calm.record(latency);
                            }
                        }
                    }
                    _ => break,
                }
            }
            (got, calm, stormy)
        }));
        writers.push(tokio::spawn(send_every_second(
            client.writer,
            start + offset,
            seconds,
        )));
    }
    // The storm starts a quarter into the run.
    sleep_until(start + Duration::from_secs(seconds / 4)).await;
    storm_from.store(clock_ns(), Ordering::Relaxed);
    let storm_began = Instant::now();
    let attempts: Vec<_> = (0..logins)
        .map(|i| {
            let name = user("x", i);
            tokio::spawn(async move {
                let mut c = BenchClient::connect(addr).await?;
                let took = c.auth("login", &name, PASSWORD).await?;
                Ok::<_, anyhow::Error>((took, c))
            })
        })
        .collect();
    let mut login_latency = Histogram::default();
    let mut failed = 0;
    let mut storm_clients = Vec::new();
    for a in attempts {
        match a.await {
            Ok(Ok((took, c))) => {
                login_latency.record(took);
                storm_clients.push(c);
            }
            _ => failed += 1,
        }
    }
    let storm_took = storm_began.elapsed();
    storm_to.store(clock_ns(), Ordering::Relaxed);
    let mut got = Received::default();
    let mut calm = Histogram::default();
    let mut stormy = Histogram::default();
    for t in readers {
        if let Ok((g, c, s)) = t.await {
            got.merge(&g);
            calm.merge(&c);
            stormy.merge(&s);
        }
    }
    let elapsed = wall.elapsed();
    let after = server.stats();
    drop(writers);
    drop(storm_clients);
    server.stop()?;
    if failed > 0 {
        bail!("{failed} storm logins failed");
    }
    let mut r = Report::new(format!(
        "login storm, {logins} logins at bcrypt cost {cost} during a busy room of {room}"
    ));
    r.row(
        "logins",
        format!(
            "{logins} in {:.2} s ({:.1} logins/s)",
            storm_took.as_secs_f64(),
            logins as f64 / storm_took.as_secs_f64()
        ),
    );
    r.row("login latency", login_latency.summary());
    r.row(
        "room deliveries",
        loss(expected_each * room as u64, got.messages),
    );
    r.row("room latency, outside the storm", calm.summary());
    r.row("room latency, during the storm", stormy.summary());
    errors_row(&mut r, &got);
    r.server(before, after, elapsed);
    r.generator(generator_before, own_stats(), elapsed);
    Ok(r)
}

pub async fn history(env: &Env, messages: u64, queries: usize) -> Result<Report> {
    let db = env.db("history");
    create_accounts(&db, &[("h", 2, 4)])?;
    let fill = Instant::now();
    {
        let store = SqliteStore::open(&db)?;
        let base_ts = now_ms() - messages as i64;
        let mut id = 1u64;
        while id <= messages {
            store.begin()?;
            let end = (id + 50_000).min(messages + 1);
            for i in id..end {
                let text = format!("message {i}: the quick brown fox jumps over the lazy dog");
                store.insert_message(PUBLIC_CHAT, 1 + (i % 2) as i64, base_ts + i as i64, &text)?;
            }
            store.commit()?;
            id = end;
        }
    }
    let fill_took = fill.elapsed();
    let db_bytes = std::fs::metadata(&db)?.len()
        + std::fs::metadata(db.with_extension("db-wal")).map_or(0, |m| m.len());
    let server = env.start(&db, 4)?;
    let startup = server.startup;
    let mut client = BenchClient::login(server.addr, "h0", PASSWORD).await?;
    let before = server.stats();
    let generator_before = own_stats();
    let wall = Instant::now();
    let mut latency = Histogram::default();
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    for q in 0..queries {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let before_id = 51 + seed % messages.max(52).saturating_sub(51);
        let id = q + 2;
        let frame = format!("{{\"type\":\"history\",\"id\":{id},\"chat\":\"#public\",\"before\":{before_id},\"limit\":50}}\n");
        let sent = Instant::now();
        client.send_raw(&frame).await?;
        loop {
            let line = client.next_line().await?;
            if line.starts_with(br#"{"type":"history""#) {
                break;
            }
            if line.starts_with(br#"{"type":"error""#) {
                bail!("history failed: {}", String::from_utf8_lossy(line));
            }
        }
        latency.record(sent.elapsed());
    }
    let elapsed = wall.elapsed();
    let after = server.stats();
    server.stop()?;
    let mut r = Report::new(format!("history at scale, {messages} stored messages"));
    r.row(
        "database size",
        format!(
            "{:.1} MiB ({:.0} bytes per message, texts of ~60 bytes)",
            db_bytes as f64 / 1048576.0,
            db_bytes as f64 / messages as f64
        ),
    );
    r.row(
        "fill time (generator, batched)",
        format!("{:.1} s", fill_took.as_secs_f64()),
    );
    r.row(
        "server start-up",
        format!(
            "{:.0} ms (spawn to `listening on`)",
            startup.as_secs_f64() * 1000.0
        ),
    );
    r.row("history page of 50, random anchors", latency.summary());
    r.server(before, after, elapsed);
    r.generator(generator_before, own_stats(), elapsed);
    Ok(r)
}

//! Many sessions logging in, spread evenly over a few seconds, each
//! reading everything from its `welcome` on: how long until everyone is
//! in, and until every session has heard of every user who came after it.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use serde::de::IgnoredAny;
use tokio::io::AsyncWriteExt;
use tokio::sync::{mpsc, watch};
use tokio::time::{sleep_until, timeout};

use tchat::protocol::{LOCKOUT_IP_FAILURES, PING_INTERVAL};

use crate::client::{clock_ns, next_line, BenchClient, Received};
use crate::histogram::Histogram;
use crate::report::{loss, Report};
use crate::scenarios::{create_accounts, errors_row, user, Env, PASSWORD, QUIET};
use crate::server_proc::own_stats;

/// Logins from one source address at most. The server refuses a login
/// (`locked_out`) while `LOCKOUT_IP_FAILURES` (20) attempts from its
/// address are counted — failures, and logins whose password is still
/// being checked. Logins that start on schedule do not wait for earlier
/// ones, so whenever the server falls behind more than 20 could be in
/// flight from 127.0.0.1 (500 logins in one second from there: 80 were
/// refused). The sessions therefore connect from many
/// loopback addresses (127.1.x.y, all on `lo`), at most this many from
/// each: however slow the server, no address ever reaches the limit.
/// (The per-address connection limit exempts loopback, and is lifted
/// anyway with `--max-connections-per-ip 0`.)
const LOGINS_PER_ADDRESS: usize = 16;
const _: () = assert!(LOGINS_PER_ADDRESS < LOCKOUT_IP_FAILURES);

/// A login that has no `welcome` after this long counts as failed.
const LOGIN_TIMEOUT: Duration = Duration::from_secs(60);

/// The `a`-th source address.
fn source_address(a: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 1, (a / 250) as u8, (1 + a % 250) as u8))
}

/// How many users `welcome` says are online (the caller included):
/// those listed, and those left out of a long list.
#[derive(serde::Deserialize)]
struct WelcomeOnline {
    online: Vec<IgnoredAny>,
    #[serde(default)]
    more_online: u64,
}

fn online_count(welcome: &[u8]) -> Option<u64> {
    let w: WelcomeOnline = serde_json::from_slice(welcome).ok()?;
    Some(w.online.len() as u64 + w.more_online)
}

/// What one session saw. Times are on the generator's clock ([`clock_ns`]).
#[derive(Default)]
struct Outcome {
    started_ns: u64,
    /// Connect → `welcome`; `None` when the login failed.
    login: Option<Duration>,
    failure: Option<String>,
    welcome_ns: u64,
    /// `presence` frames announcing a user online.
    presence: u64,
    last_presence_ns: u64,
    /// Everything else that counts: error frames.
    other: Received,
}

/// One session: logs in at `at` from `source`, then reads everything,
/// pinging when idle as clients must, until `stop`. It reports on `done`
/// once it has the presence of every user the `welcome` did not list as
/// online (they log in after it), or when nothing came for [`QUIET`].
async fn session(
    addr: SocketAddr,
    source: IpAddr,
    name: String,
    n: u64,
    at: tokio::time::Instant,
    done: mpsc::UnboundedSender<()>,
    mut stop: watch::Receiver<bool>,
) -> Outcome {
    sleep_until(at).await;
    let mut out = Outcome {
        started_ns: clock_ns(),
        ..Outcome::default()
    };
    let began = Instant::now();
    let login = timeout(LOGIN_TIMEOUT, async {
        let mut c = BenchClient::connect_from(addr, source).await?;
        let (_, online) = c.auth_then("login", &name, PASSWORD, online_count).await?;
        Ok::<_, anyhow::Error>((c, online))
    })
    .await;
    let (client, online) = match login {
        Ok(Ok((c, Some(online)))) => (c, online),
        failed => {
            out.failure = Some(match failed {
                Ok(Ok(_)) => format!("{name}: welcome without a readable online list"),
                Ok(Err(e)) => format!("{e:#}"),
                Err(_) => format!("{name}: no welcome within {LOGIN_TIMEOUT:?}"),
            });
            let _ = done.send(());
            return out;
        }
    };
    out.login = Some(began.elapsed());
    out.welcome_ns = clock_ns();
    let BenchClient {
        mut reader,
        mut writer,
    } = client;
    reader.shrink();
    let expected = n.saturating_sub(online);
    let mut reported = false;
    let mut last_line = Instant::now();
    let mut ping = tokio::time::interval(PING_INTERVAL);
    ping.tick().await;
    loop {
        if !reported && (out.presence >= expected || last_line.elapsed() >= QUIET) {
            reported = true;
            let _ = done.send(());
        }
        tokio::select! {
            line = timeout(QUIET, next_line(&mut reader)) => match line {
                Ok(Ok(line)) => {
                    last_line = Instant::now();
                    if line.starts_with(br#"{"type":"presence""#) {
                        if line.windows(14).any(|w| w == br#""online":true,"#) {
                            out.presence += 1;
                            out.last_presence_ns = clock_ns();
                        }
                    } else {
                        out.other.note(line);
                    }
                }
                Ok(Err(e)) => {
                    out.failure = Some(format!("{name}: {e:#} after its welcome"));
                    break;
                }
                Err(_) => {}
            },
            _ = ping.tick() => {
                let _ = writer.write_all(b"{\"type\":\"ping\"}\n").await;
            }
            _ = stop.changed() => break,
        }
    }
    if !reported {
        let _ = done.send(());
    }
    // Wait for the others, so that no session's end reaches them as an
    // offline presence.
    let _ = stop.wait_for(|s| *s).await;
    drop(writer);
    out
}

pub async fn mass_login(env: &Env, n: usize, seconds: u64) -> Result<Report> {
    let addresses = n.div_ceil(LOGINS_PER_ADDRESS);
    if addresses > 250 * 256 {
        bail!("at most {} sessions", 250 * 256 * LOGINS_PER_ADDRESS);
    }
    let db = env.db(&format!("mass-login-{n}"));
    create_accounts(&db, &[("m", n, 4)])?;
    let server = env.start_with(&db, 4, &["--max-connections-per-ip", "0"])?;
    let before = server.stats();
    let generator_before = own_stats();
    let wall = Instant::now();
    let start = tokio::time::Instant::now() + Duration::from_millis(200);
    let (done_tx, mut done) = mpsc::unbounded_channel();
    let (stop_tx, stop) = watch::channel(false);
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let at = start + Duration::from_secs(seconds).mul_f64(i as f64 / n as f64);
            // Round-robin, so that consecutive logins come from different
            // addresses.
            let source = source_address(i % addresses);
            tokio::spawn(session(
                server.addr,
                source,
                user("m", i),
                n as u64,
                at,
                done_tx.clone(),
                stop.clone(),
            ))
        })
        .collect();
    drop(done_tx);
    let mut reported = 0;
    while reported < n && done.recv().await.is_some() {
        reported += 1;
    }
    let elapsed = wall.elapsed();
    let after = server.stats();
    let _ = stop_tx.send(true);
    let mut logins = Histogram::default();
    let mut other = Received::default();
    let (mut ok, mut failed, mut first_failure) = (0u64, 0u64, None);
    let (mut first_start, mut last_welcome, mut last_presence) = (u64::MAX, 0, 0);
    let mut presence = 0;
    for t in tasks {
        let Ok(o) = t.await else {
            failed += 1;
            continue;
        };
        first_start = first_start.min(o.started_ns);
        match o.login {
            Some(took) => {
                ok += 1;
                logins.record(took);
                last_welcome = last_welcome.max(o.welcome_ns);
            }
            None => failed += 1,
        }
        if first_failure.is_none() {
            first_failure = o.failure;
        }
        presence += o.presence;
        last_presence = last_presence.max(o.last_presence_ns);
        other.merge(&o.other);
    }
    server.stop()?;
    let since_start = |ns: u64| {
        format!(
            "{:.2} s",
            Duration::from_nanos(ns.saturating_sub(first_start)).as_secs_f64()
        )
    };
    let mut r = Report::new(format!(
        "mass login, {n} sessions spread over {seconds} s (bcrypt cost 4)"
    ));
    r.row(
        "logins",
        format!(
            "{ok} of {n} in, {failed} failed{} ({:.0} logins/s scheduled, from {addresses} loopback addresses, at most {LOGINS_PER_ADDRESS} each)",
            first_failure
                .map(|f| format!(" (first: `{}`)", f.chars().take(120).collect::<String>()))
                .unwrap_or_default(),
            n as f64 / seconds.max(1) as f64,
        ),
    );
    r.row(
        "first login start → last welcome",
        since_start(last_welcome),
    );
    r.row("login latency connect → welcome", logins.summary());
    // Of two sessions, the later one's login is announced to the earlier,
    // and the earlier is listed in the later one's welcome: one presence
    // frame per pair of users who got in.
    r.row(
        "presence frames (one per pair of sessions)",
        loss(ok * ok.saturating_sub(1) / 2, presence),
    );
    r.row(
        "first login start → settled (last presence frame)",
        since_start(last_presence.max(last_welcome)),
    );
    errors_row(&mut r, &other);
    r.costs((before, after), generator_before, elapsed, presence);
    Ok(r)
}

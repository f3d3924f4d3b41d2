//! The busy room spread over groups (§12): every user is in `#public` and
//! in one group; each sends one message a second, spread evenly over the
//! second, to `#public` in even seconds and to its group in odd ones.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use tokio::time::timeout;

use tchat::protocol::{GroupKind, GroupRole, NameKey};
use tchat::server::store::{self, DbLocation};

use crate::client::{next_line, LineReader, Received};
use crate::report::{loss, Report};
use crate::scenarios::{
    create_accounts, errors_row, login_all, send_alternating, user, Env, PUBLIC, QUIET,
};
use crate::server_proc::own_stats;

/// The chat key of group `g`.
fn group_chat(g: usize) -> String {
    format!("#g{g}")
}

/// How many of `n` users are in group `g` when they fill groups of
/// `size` in order (the last one may be smaller).
fn members_of(g: usize, n: usize, size: usize) -> usize {
    size.min(n - g * size)
}

/// Puts users `u0`… into groups `g0`… of `size`, in order, straight in the
/// database (the first of each owns it), as joining would: each member's
/// read marker at the newest message. Returns how many groups there are.
fn create_groups(db: &Path, n: usize, size: usize) -> Result<usize> {
    let store = store::open(&DbLocation::from(db))?;
    let groups = n.div_ceil(size);
    let last = store.last_msg_id();
    store.begin()?;
    let mut seq = 1;
    for g in 0..groups {
        let chat = store
            .create_group(&group_chat(g)[1..], GroupKind::Open, "")
            .with_context(|| format!("creating {}", group_chat(g)))?;
        for i in g * size..g * size + members_of(g, n, size) {
            let name = user("u", i);
            let account = store
                .account_by_key(&NameKey::of(&name))?
                .with_context(|| format!("no account {name}"))?;
            let role = if i == g * size {
                GroupRole::Owner
            } else {
                GroupRole::Member
            };
            store.add_member(chat, account.id, role, seq)?;
            store.set_read_marker(account.id, chat, last)?;
            seq += 1;
        }
    }
    store.commit()?;
    Ok(groups)
}

/// What one receiver saw, `#public` and its group apart.
#[derive(Default)]
struct Split {
    public: Received,
    group: Received,
}

/// Reads until both kinds of message arrived as often as expected, or
/// nothing came for [`QUIET`]. Anything but a `#public` message (a group
/// message, an error) is counted on the group side.
async fn receive_split(mut reader: LineReader, public: u64, group: u64) -> Split {
    let mut got = Split::default();
    while got.public.messages < public || got.group.messages < group {
        match timeout(QUIET, next_line(&mut reader)).await {
            Ok(Ok(line)) => {
                if line.starts_with(br##"{"type":"message","chat":"#public""##) {
                    got.public.note(line);
                } else {
                    got.group.note(line);
                }
            }
            _ => break,
        }
    }
    got
}

pub async fn groups(env: &Env, n: usize, group_size: usize, seconds: u64) -> Result<Report> {
    if n == 0 || group_size == 0 {
        bail!("--clients and --group-size must be at least 1");
    }
    let db = env.db(&format!("groups-{n}-{group_size}"));
    create_accounts(&db, &[("u", n, 4)])?;
    let groups = create_groups(&db, n, group_size)?;
    let server = env.start(&db, 4)?;
    let clients = login_all(server.addr, "u", n).await?;
    // Second k goes to #public when k is even, to the group when odd.
    let public_seconds = seconds.div_ceil(2);
    let group_seconds = seconds / 2;
    let public_each = n as u64 * public_seconds;
    let before = server.stats();
    let generator_before = own_stats();
    let wall = Instant::now();
    let start = tokio::time::Instant::now() + Duration::from_millis(200);
    let mut readers = Vec::new();
    let mut writers = Vec::new();
    for (i, client) in clients.into_iter().enumerate() {
        let g = i / group_size;
        let group_each = members_of(g, n, group_size) as u64 * group_seconds;
        let offset = Duration::from_secs(1).mul_f64(i as f64 / n as f64);
        readers.push(tokio::spawn(receive_split(
            client.reader,
            public_each,
            group_each,
        )));
        writers.push(tokio::spawn(send_alternating(
            client.writer,
            start + offset,
            seconds,
            [PUBLIC.to_owned(), group_chat(g)],
        )));
    }
    let mut public = Received::default();
    let mut group = Received::default();
    for t in readers {
        if let Ok(got) = t.await {
            public.merge(&got.public);
            group.merge(&got.group);
        }
    }
    let elapsed = wall.elapsed();
    let after = server.stats();
    drop(writers);
    server.stop()?;
    let mut all = public.clone();
    all.merge(&group);
    // Every member receives a group message, its sender too (§12), as
    // everyone in #public does.
    let expected_public = public_each * n as u64;
    let expected_group: u64 = (0..groups)
        .map(|g| (members_of(g, n, group_size) as u64).pow(2) * group_seconds)
        .sum();
    let mut r = Report::new(format!(
        "groups, N = {n} in #public and {groups} groups of {group_size}, {seconds} s \
         (even seconds to #public, odd seconds to the group)"
    ));
    r.row(
        "messages sent",
        format!(
            "{} ({} to #public, {} to groups)",
            n as u64 * seconds,
            n as u64 * public_seconds,
            n as u64 * group_seconds
        ),
    );
    r.row(
        "deliveries",
        loss(expected_public + expected_group, all.messages),
    );
    r.row(
        "deliveries in #public",
        loss(expected_public, public.messages),
    );
    r.row("deliveries in groups", loss(expected_group, group.messages));
    r.row(
        "delivery rate",
        format!("{:.0} deliveries/s", all.messages as f64 / seconds as f64),
    );
    r.row("latency send → delivery, #public", public.latency.summary());
    r.row("latency send → delivery, groups", group.latency.summary());
    errors_row(&mut r, &all);
    r.costs((before, after), generator_before, elapsed, all.messages);
    Ok(r)
}

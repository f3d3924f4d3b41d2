//! `tchat-bench`: the load generator. It starts `tchat-server` (the real
//! binary, as a child process, so its CPU and memory can be read from /proc),
//! runs a named scenario against it over loopback, and prints one Markdown
//! table per scenario: messages sent, deliveries expected and received,
//! latency from send to each delivery, server CPU and peak RSS.
//!
//! Build it in release mode: `cargo run --release --bin tchat-bench -- all`.

mod client;
mod files;
mod groups;
mod histogram;
mod irc;
mod ircd;
mod mass_login;
mod report;
mod scenarios;
mod server_proc;
mod write_floor;

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};

/// Load generator for tchat-server. Every scenario starts its own server on
/// a temporary database with flood control off.
#[derive(Parser, Debug)]
#[command(name = "tchat-bench", version, about)]
struct Cli {
    /// The tchat-server binary to measure [default: next to this one].
    #[arg(long, value_name = "PATH")]
    server_bin: Option<PathBuf>,

    /// CPUs for the server (`taskset -c`, e.g. `0` or `0,1`); the generator
    /// is pinned to every other CPU, so that the server's own cost is what
    /// is measured. `none`: neither is pinned.
    #[arg(long, global = true, default_value = "0", value_name = "LIST")]
    server_cpus: String,

    #[command(subcommand)]
    scenario: Scenario,
}

/// The busy room's sizes and length, the same for tchat and for IRC.
#[derive(clap::Args, Debug, Clone)]
pub struct RoomArgs {
    /// Client counts to run, one after another.
    #[arg(long, value_delimiter = ',', default_value = "100,500,1000,2000,4000")]
    pub clients: Vec<usize>,
    /// Seconds each run lasts.
    #[arg(long, default_value_t = 30)]
    pub seconds: u64,
}

/// The burst's shape, the same for tchat and for IRC.
#[derive(clap::Args, Debug, Clone)]
pub struct BurstArgs {
    /// Clients sending.
    #[arg(long, default_value_t = 50)]
    pub senders: usize,
    /// Messages each sender sends.
    #[arg(long, default_value_t = 1000)]
    pub messages: usize,
    /// Clients only receiving.
    #[arg(long, default_value_t = 50)]
    pub listeners: usize,
}

/// Arguments as clap fills them when none are given.
fn defaults<A: clap::Args>() -> A {
    #[derive(Parser)]
    struct Only<A: clap::Args> {
        #[command(flatten)]
        args: A,
    }
    Only::<A>::parse_from(["tchat-bench"]).args
}

#[derive(Subcommand, Debug, Clone)]
enum Scenario {
    /// N clients in #public, each sending one message per second (or
    /// every --every seconds), spread evenly over that time.
    BusyRoom {
        #[command(flatten)]
        room: RoomArgs,
        /// Each client sends one message every this many seconds.
        #[arg(long, default_value_t = 1)]
        every: u64,
    },
    /// The busy room spread over groups: N clients, all in #public and
    /// each in one group of --group-size (made straight in the database).
    /// Each sends one message per second, spread evenly over the second:
    /// to #public in even seconds, to its group in odd ones.
    Groups {
        #[arg(long, default_value_t = 1000)]
        clients: usize,
        /// Members per group (the last group takes what is left).
        #[arg(long, default_value_t = 10)]
        group_size: usize,
        /// Seconds the run lasts.
        #[arg(long, default_value_t = 30)]
        seconds: u64,
    },
    /// Senders each send a burst of messages as fast as they can while
    /// listeners only receive; every message is persisted.
    Burst {
        #[command(flatten)]
        burst: BurstArgs,
    },
    /// Many logged-in idle sessions: memory per session, and how long one
    /// public message takes to reach them all.
    Idle {
        #[arg(long, default_value_t = 10_000)]
        sessions: usize,
        /// Once memory is measured, keep every session idle this many
        /// seconds more, printing the server's pid, so that its memory
        /// can be looked at (gdb, heaptrack, /proc/PID/smaps).
        #[arg(long, default_value_t = 0)]
        hold: u64,
    },
    /// Logins at a real bcrypt cost, all at once, while a busy room runs.
    LoginStorm {
        #[arg(long, default_value_t = 100)]
        logins: usize,
        #[arg(long, default_value_t = 500)]
        room: usize,
        #[arg(long, default_value_t = 12)]
        cost: u32,
        #[arg(long, default_value_t = 20)]
        seconds: u64,
    },
    /// Sessions logging in (bcrypt cost 4) spread evenly over --seconds,
    /// each from its scheduled time on, staying connected and reading
    /// everything: time until the last welcome, until every session has
    /// the presence of everyone who logged in after it, login latency,
    /// server CPU and peak RSS.
    MassLogin {
        #[arg(long, default_value_t = 10_000)]
        sessions: usize,
        /// Seconds the logins are spread over.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
    /// History pages from a database of many stored messages; database
    /// size per message and server start-up time.
    History {
        #[arg(long, default_value_t = 1_000_000)]
        messages: u64,
        #[arg(long, default_value_t = 2000)]
        queries: usize,
    },
    /// File transfer (§14): upload and download one big file with the
    /// server pinned to CPU 0 and the generator to CPU 1, a slow reader,
    /// and a busy room with and without transfers running.
    Files {
        /// The size of the file, in MiB.
        #[arg(long, default_value_t = 256)]
        size_mib: u64,
        /// Clients in the busy room.
        #[arg(long, default_value_t = 100)]
        room: usize,
        /// Seconds each busy-room run lasts.
        #[arg(long, default_value_t = 20)]
        room_seconds: u64,
        /// The slow reader's rate, in bytes per second.
        #[arg(long, default_value_t = 1_000_000)]
        slow_rate: u64,
        /// How long the slow reader reads.
        #[arg(long, default_value_t = 10)]
        slow_seconds: u64,
    },
    /// The burst through several nodes on one PostgreSQL database, joined
    /// by NATS: make an empty database and start nats-server first (see
    /// docs/benchmarks.md). Senders and listeners alternate between nodes.
    Cluster {
        /// An empty PostgreSQL database: postgres://USER@HOST/DB.
        #[arg(long)]
        db: String,
        /// The NATS server joining the nodes (needed for more than one).
        #[arg(long)]
        bus: Option<String>,
        #[arg(long, default_value_t = 2)]
        nodes: usize,
        #[arg(long, default_value_t = 20)]
        senders: usize,
        #[arg(long, default_value_t = 500)]
        messages: usize,
        #[arg(long, default_value_t = 20)]
        listeners: usize,
    },
    /// The busy room or the burst against an IRC server, for comparison:
    /// starts ngIRCd on a free port with its limits lifted, pinned like
    /// tchat-server (--server-cpus). Clients register (NICK, USER), join
    /// #public and send PRIVMSGs carrying the same timestamps. IRC does not
    /// echo a message to its sender: each reaches every member but one.
    Irc {
        /// The tchat scenario to repeat against IRC.
        #[arg(long, value_enum)]
        scenario: irc::IrcScenario,
        /// The ngIRCd binary.
        #[arg(long, default_value = "/usr/sbin/ngircd", value_name = "PATH")]
        ircd: PathBuf,
        /// For --scenario busy-room.
        #[command(flatten)]
        room: RoomArgs,
        /// For --scenario burst.
        #[command(flatten)]
        burst: BurstArgs,
    },
    /// No chat server: one thread pinned to --server-cpus writes message
    /// frames to N loopback connections, every connection getting 1 000
    /// frames a second, batched --frames to a write; its CPU per write and
    /// per frame is the floor under any server that writes each session
    /// once per round on this machine.
    WriteFloor {
        #[arg(long, default_value_t = 1000)]
        connections: usize,
        /// Frames per write, one run each.
        #[arg(long, value_delimiter = ',', default_value = "10,20,50,100,300")]
        frames: Vec<usize>,
        /// Seconds each run lasts.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
    /// Every scenario with its defaults.
    All,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let server_bin = cli
        .server_bin
        .unwrap_or_else(server_proc::default_server_bin);
    let server_cpus = (cli.server_cpus != "none").then(|| cli.server_cpus.clone());
    if let Some(cpus) = &server_cpus {
        // Before the runtime exists, so its threads inherit the mask.
        pin_away_from(cpus)?;
    }
    let env = scenarios::Env::new(server_bin, server_cpus)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let scenarios = match cli.scenario {
        Scenario::All => vec![
            Scenario::BusyRoom {
                room: defaults(),
                every: 1,
            },
            Scenario::Burst { burst: defaults() },
            Scenario::Idle {
                sessions: 10_000,
                hold: 0,
            },
            Scenario::LoginStorm {
                logins: 100,
                room: 500,
                cost: 12,
                seconds: 20,
            },
            Scenario::History {
                messages: 1_000_000,
                queries: 2000,
            },
        ],
        one => vec![one],
    };
    for scenario in scenarios {
        let reports = runtime.block_on(async {
            match scenario {
                Scenario::BusyRoom { room, every } => {
                    let mut out = Vec::new();
                    for n in room.clients {
                        out.push(scenarios::busy_room(&env, n, room.seconds, every).await?);
                    }
                    Ok::<_, anyhow::Error>(out)
                }
                Scenario::Groups {
                    clients,
                    group_size,
                    seconds,
                } => Ok(vec![
                    groups::groups(&env, clients, group_size, seconds).await?,
                ]),
                Scenario::Burst { burst } => Ok(vec![
                    scenarios::burst(&env, burst.senders, burst.messages, burst.listeners).await?,
                ]),
                Scenario::Idle { sessions, hold } => {
                    Ok(vec![scenarios::idle(&env, sessions, hold).await?])
                }
                Scenario::Cluster {
                    db,
                    bus,
                    nodes,
                    senders,
                    messages,
                    listeners,
                } => {
                    if nodes > 1 && bus.is_none() {
                        anyhow::bail!("--nodes {nodes} needs --bus: nodes meet on NATS");
                    }
                    Ok(vec![
                        scenarios::cluster_burst(
                            &env,
                            &db,
                            bus.as_deref(),
                            nodes,
                            (senders, messages, listeners),
                        )
                        .await?,
                    ])
                }
                Scenario::LoginStorm {
                    logins,
                    room,
                    cost,
                    seconds,
                } => Ok(vec![
                    scenarios::login_storm(&env, logins, room, cost, seconds).await?,
                ]),
                Scenario::MassLogin { sessions, seconds } => {
                    Ok(vec![mass_login::mass_login(&env, sessions, seconds).await?])
                }
                Scenario::History { messages, queries } => {
                    Ok(vec![scenarios::history(&env, messages, queries).await?])
                }
                Scenario::Files {
                    size_mib,
                    room,
                    room_seconds,
                    slow_rate,
                    slow_seconds,
                } => {
                    let run = files::FilesRun {
                        size_mib,
                        room,
                        room_seconds,
                        slow_rate,
                        slow_seconds,
                    };
                    files::files(&env, &run).await
                }
                Scenario::Irc {
                    scenario,
                    ircd,
                    room,
                    burst,
                } => {
                    let run = irc::IrcRun {
                        scenario,
                        room,
                        burst,
                    };
                    irc::irc(&env, &ircd, &run).await
                }
                Scenario::WriteFloor {
                    connections,
                    frames,
                    seconds,
                } => Ok(vec![
                    write_floor::write_floor(
                        connections,
                        &frames,
                        seconds,
                        env.server_cpus.as_deref(),
                    )
                    .await?,
                ]),
                Scenario::All => Ok(Vec::new()),
            }
        })?;
        for r in reports {
            println!("{}", r.render());
        }
    }
    Ok(())
}

/// Pins this thread (and the threads it starts later) to every CPU not in
/// `server_cpus` (a comma-separated list of CPU numbers).
fn pin_away_from(server_cpus: &str) -> Result<()> {
    let server = cpu_list(server_cpus)?;
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let rest: Vec<usize> = (0..cpus).filter(|c| !server.contains(c)).collect();
    if rest.is_empty() {
        anyhow::bail!("no CPU left for the generator besides {server_cpus}");
    }
    pin_to(&rest)
}

/// The CPU numbers of a comma-separated list.
pub fn cpu_list(cpus: &str) -> Result<Vec<usize>> {
    cpus.split(',')
        .map(|c| c.trim().parse())
        .collect::<Result<_, _>>()
        .map_err(|e| anyhow::anyhow!("--server-cpus {cpus:?}: {e}"))
}

/// Pins this thread (and the threads it starts later) to `cpus`.
pub fn pin_to(cpus: &[usize]) -> Result<()> {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; CPU_SET and
    // sched_setaffinity get a pointer to it and its size.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        for &cpu in cpus {
            libc::CPU_SET(cpu, &mut set);
        }
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            anyhow::bail!("sched_setaffinity: {}", std::io::Error::last_os_error());
        }
    }
    Ok(())
}

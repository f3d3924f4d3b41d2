//! `tchat-server`: the tchat chat server, and account administration on its
//! database.

use std::io::{BufRead, IsTerminal, Write};
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use tchat::protocol::Role;
use tchat::server::admin::{format_utc, Admin};
use tchat::server::store::DbLocation;
use tchat::server::{Server, ServerConfig, TlsFiles, DEFAULT_BCRYPT_COST, DEFAULT_LISTEN};

/// The tchat server: public room, private chats that need consent, and
/// everything stored in one SQLite file (or a PostgreSQL database).
///
/// Run it without a subcommand to serve (it prints `listening on ADDR` once
/// it accepts connections; stop it with Ctrl-C or SIGTERM, which tells every
/// client and finishes writing before exiting). Use `user …` to manage
/// accounts on the same database without a running server.
#[derive(Parser, Debug)]
#[command(name = "tchat-server", version, about, long_about, after_help = EXAMPLES)]
struct Cli {
    /// Address to accept connections on (port 0 picks a free port).
    #[arg(long, env = "TCHAT_LISTEN", default_value = DEFAULT_LISTEN, value_name = "ADDR")]
    listen: String,

    /// The database: an SQLite file [default: <data dir>/tchat/tchat.db,
    /// e.g. ~/.local/share/tchat/tchat.db; parent directories are created],
    /// or a PostgreSQL database as postgres://USER[:PASSWORD]@HOST[:PORT]/DB
    /// (also postgresql://; the password is never shown or logged).
    #[arg(
        long,
        env = "TCHAT_DB",
        hide_env_values = true,
        value_name = "PATH|URL",
        global = true
    )]
    db: Option<String>,

    /// bcrypt cost for new password hashes (4–31; each step doubles the
    /// work). Lower it only for tests.
    #[arg(long, default_value_t = DEFAULT_BCRYPT_COST, value_parser = clap::value_parser!(u32).range(4..=31), value_name = "N", global = true)]
    bcrypt_cost: u32,

    /// Message of the day, shown by clients when they connect.
    #[arg(long, value_name = "TEXT")]
    motd: Option<String>,

    /// Frames per second each session may send (bursts of twice that);
    /// 0 turns flood control off, for benchmarks.
    #[arg(long, default_value_t = tchat::protocol::RATE_PER_SEC, value_name = "N")]
    max_msg_rate: u32,

    /// Open connections allowed from one IP address (0: no limit).
    #[arg(long, default_value_t = 32, value_name = "N")]
    max_connections_per_ip: u32,

    /// Sessions one account may have logged in at once (0: no limit).
    #[arg(long, default_value_t = 8, value_name = "N")]
    max_sessions_per_account: u32,

    /// Accounts one IP address may register per hour (0: no limit).
    #[arg(long, default_value_t = 10, value_name = "N")]
    max_registrations_per_hour: u32,

    /// Serve TLS with this certificate chain (PEM); needs --tls-key.
    /// `tchat-server tls gen` makes a self-signed pair.
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    tls_cert: Option<PathBuf>,

    /// The private key (PEM) for --tls-cert.
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    tls_key: Option<PathBuf>,

    /// Apply the per-address limits to loopback (127.0.0.1, ::1) too; by
    /// default local clients, which all share one address, are exempt.
    #[arg(long)]
    limit_loopback: bool,

    /// The largest file users may send, e.g. 100MiB, 2G or a number of
    /// bytes (announced in `hello`).
    #[arg(long, default_value = "100MiB", value_parser = parse_size, value_name = "SIZE")]
    max_file_size: u64,

    /// How much all of one user's posted files may take together.
    #[arg(long, default_value = "1GiB", value_parser = parse_size, value_name = "SIZE")]
    file_quota: u64,

    /// Where file bytes are kept [default: files/ next to the SQLite
    /// database; with PostgreSQL <data dir>/tchat/files].
    #[arg(long, value_name = "DIR")]
    files_dir: Option<PathBuf>,

    /// Join the other nodes serving the same PostgreSQL database through
    /// this NATS server (nats://[USER:PASSWORD@]HOST:PORT; credentials are
    /// never shown or logged). Without it, a second server on the same
    /// database is refused.
    #[arg(long, env = "TCHAT_BUS", value_name = "URL")]
    bus: Option<String>,

    /// A NATS credentials file (JWT and seed) for --bus.
    #[arg(long, value_name = "FILE", requires = "bus")]
    bus_creds: Option<PathBuf>,

    #[command(subcommand)]
    command: Option<Command>,
}

const EXAMPLES: &str = "Examples:
  tchat-server                                   serve on 127.0.0.1:7700
  tchat-server --listen 0.0.0.0:7700 --motd 'Be nice'
  tchat-server user add alice --admin            create an admin (asks for a password)
  echo 'correct horse' | tchat-server user add bob
  tchat-server user list
  tchat-server user ban erin --minutes 60        ends erin's sessions at once on a running server
  tchat-server user unlock bob                   lifts a login lockout
  tchat-server audit --limit 20                  the newest 20 entries of the audit log
  tchat-server --db postgres://tchat@db.example/tchat     store everything in PostgreSQL
  tchat-server migrate --from tchat.db --db postgres://tchat@localhost/tchat
The user commands reach a server running on the same database through its
admin socket (<db>.admin, owner-only) and take effect at once; with no
server running they change the database directly. With PostgreSQL they
always change the database directly, and a running server notices within a
second (bans and new passwords end sessions then).
Logging: set RUST_LOG (e.g. RUST_LOG=debug); logs go to stderr.";

#[derive(Subcommand, Debug)]
enum Command {
    /// Manage accounts (through a running server when there is one).
    User {
        #[command(subcommand)]
        action: UserAction,
    },
    /// Print the audit log, newest first: logins, bans, role changes, …
    Audit {
        /// How many entries.
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=10_000), value_name = "N")]
        limit: u32,
    },
    /// Copy an SQLite database (accounts, chats, groups, messages with
    /// their ids, read markers, audit log, file metadata) into an empty
    /// PostgreSQL database given with --db postgres://…. File bytes stay
    /// where they are: point --files-dir at them.
    Migrate {
        /// The SQLite database to copy.
        #[arg(long, value_name = "PATH")]
        from: PathBuf,
    },
    /// TLS certificates.
    Tls {
        #[command(subcommand)]
        action: TlsAction,
    },
}

#[derive(Subcommand, Debug)]
enum TlsAction {
    /// Write a self-signed certificate and key for HOST and print the
    /// certificate's SHA-256 fingerprint (clients show it on first connect).
    Gen {
        /// The name clients connect to (DNS name or IP address).
        #[arg(long)]
        host: String,
        /// Where to write cert.pem and key.pem [default: <data dir>/tchat/tls].
        /// A directory it creates is readable by the owner only.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// Replace an existing cert.pem and key.pem (clients that trusted
        /// the old certificate will warn about the new one). Without it an
        /// existing file is an error and is left untouched.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Subcommand, Debug)]
enum UserAction {
    /// Create an account. The password is read from stdin, or asked for
    /// twice when stdin is a terminal.
    Add {
        name: String,
        /// Make the account an administrator.
        #[arg(long)]
        admin: bool,
    },
    /// Set a new password (read like `add`).
    Passwd { name: String },
    /// Make an account an administrator or a plain user.
    Role { name: String, role: RoleArg },
    /// List every account.
    List,
    /// Refuse logins to an account, for some minutes or for good.
    Ban {
        name: String,
        /// How long; without it the ban is permanent.
        #[arg(long)]
        minutes: Option<u64>,
    },
    /// Lift a ban (and a login lockout).
    Unban { name: String },
    /// Lift a login lockout (after too many wrong passwords).
    Unlock { name: String },
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum RoleArg {
    Admin,
    User,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Role {
        match r {
            RoleArg::Admin => Role::Admin,
            RoleArg::User => Role::User,
        }
    }
}

fn data_dir() -> Result<PathBuf> {
    let dirs = directories::BaseDirs::new()
        .context("cannot find a data directory (no home directory?); pass --db PATH")?;
    Ok(dirs.data_dir().join("tchat"))
}

fn default_db() -> Result<PathBuf> {
    Ok(data_dir()?.join("tchat.db"))
}

fn run_tls(action: TlsAction) -> Result<()> {
    match action {
        TlsAction::Gen { host, dir, force } => {
            let dir = match dir {
                Some(d) => d,
                None => data_dir()?.join("tls"),
            };
            let existing = if force {
                tchat::tls::Existing::Replace
            } else {
                tchat::tls::Existing::Refuse
            };
            let made = tchat::tls::generate_self_signed_with(&host, &dir, existing)?;
            println!("certificate: {}", made.cert.display());
            println!("key:         {}", made.key.display());
            println!("fingerprint: {}", made.fingerprint);
            println!();
            println!(
                "serve with:  tchat-server --tls-cert {} --tls-key {}",
                made.cert.display(),
                made.key.display()
            );
            println!(
                "Clients show this fingerprint on first connect: tell your users to compare it."
            );
        }
    }
    Ok(())
}

/// A size: a number of bytes, or with a unit (K, M, G, with or without
/// `iB`/`B`; powers of 1024).
fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let digits = s.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = s[digits.len()..].to_ascii_lowercase();
    let n: u64 = digits
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a size (e.g. 100MiB, 2G, 4096)"))?;
    let factor: u64 = match unit.as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return Err(format!("unknown unit in {s:?}: use K, M or G")),
    };
    n.checked_mul(factor)
        .ok_or_else(|| format!("{s:?} is too large"))
}

fn resolve_listen(listen: &str) -> Result<SocketAddr> {
    listen
        .to_socket_addrs()
        .with_context(|| format!("--listen {listen:?} is not an address like 127.0.0.1:7700"))?
        .next()
        .with_context(|| format!("--listen {listen:?} resolves to no address"))
}

fn read_password(confirm: bool) -> Result<String> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ")?;
        if confirm {
            let again = rpassword::prompt_password("Again: ")?;
            if first != again {
                bail!("the passwords differ");
            }
        }
        Ok(first)
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        Ok(line.trim_end_matches(['\r', '\n']).to_owned())
    }
}

fn run_admin(db: DbLocation, cost: u32, action: UserAction) -> Result<()> {
    let admin = Admin::open(db)?;
    match action {
        UserAction::Add {
            name,
            admin: is_admin,
        } => {
            let password = read_password(true)?;
            let role = if is_admin { Role::Admin } else { Role::User };
            let name = admin.add_user(&name, &password, role, cost)?;
            println!("created {} {name}", role.as_str());
        }
        UserAction::Passwd { name } => {
            let password = read_password(true)?;
            admin.set_password(&name, &password, cost)?;
            println!("password of {name} changed");
        }
        UserAction::Role { name, role } => {
            let role = Role::from(role);
            admin.set_role(&name, role)?;
            println!("{name} is now {}", role.as_str());
        }
        UserAction::List => print!("{}", admin.list()?),
        UserAction::Ban { name, minutes } => match admin.ban(&name, minutes)? {
            Some(until) => println!("{name} is banned until {} UTC", format_utc(until)),
            None => println!("{name} is banned permanently"),
        },
        UserAction::Unban { name } => {
            admin.unban(&name)?;
            println!("{name} may log in again");
        }
        UserAction::Unlock { name } => {
            if admin.unlock(&name)? {
                println!("{name} may try to log in again");
            } else if admin.location().is_postgres() {
                println!(
                    "lockouts live in the memory of a running server, which the command line \
                     cannot reach with PostgreSQL; {name}'s lockout, if any, ends by itself \
                     (or when the server restarts)"
                );
            } else {
                println!(
                    "no server is running on this database; lockouts only last while one runs, \
                     so {name} is not locked out"
                );
            }
        }
    }
    Ok(())
}

/// `migrate`: the SQLite database `from` into the PostgreSQL `db`.
fn run_migrate(from: &std::path::Path, db: &DbLocation) -> Result<()> {
    let DbLocation::Postgres(url) = db else {
        bail!("migrate copies into PostgreSQL: give --db postgres://USER@HOST/DATABASE");
    };
    // No server may write to either while the copy is made.
    let _source = tchat::server::lock_database(&DbLocation::Sqlite(from.to_path_buf()))?;
    let _target = tchat::server::lock_database(db)?;
    let report = tchat::server::store::copy_from_sqlite(from, url)
        .with_context(|| format!("cannot copy {} into {url}", from.display()))?;
    println!("copied {} into {url}:", from.display());
    println!("{report}");
    println!("File bytes were not copied: start the server with --files-dir pointing at the");
    println!("files/ directory that was next to {}.", from.display());
    Ok(())
}

async fn serve(cli: Cli, db: DbLocation) -> Result<()> {
    let files_dir = match (&cli.files_dir, &db) {
        (None, DbLocation::Postgres(_)) => Some(
            data_dir()
                .context("with PostgreSQL, pass --files-dir DIR for the file bytes")?
                .join("files"),
        ),
        (dir, _) => dir.clone(),
    };
    let mut config = ServerConfig::new(resolve_listen(&cli.listen)?, db);
    config.bcrypt_cost = cli.bcrypt_cost;
    config.motd = cli.motd;
    config.max_msg_rate = cli.max_msg_rate;
    config.max_connections_per_ip = cli.max_connections_per_ip;
    config.max_sessions_per_account = cli.max_sessions_per_account;
    config.max_registrations_per_ip_hour = cli.max_registrations_per_hour;
    config.limit_loopback = cli.limit_loopback;
    config.max_file_bytes = cli.max_file_size;
    config.file_quota_bytes = cli.file_quota;
    config.files_dir = files_dir;
    config.bus = cli
        .bus
        .clone()
        .map(|url| tchat::server::cluster::bus::BusConfig {
            url,
            creds: cli.bus_creds.clone(),
        });
    if let (Some(cert), Some(key)) = (cli.tls_cert.clone(), cli.tls_key.clone()) {
        config.tls = Some(TlsFiles { cert, key });
    }
    raise_open_file_limit();
    let server = Server::bind(config.clone()).await.context("cannot start")?;
    let shutdown = server.shutdown_handle();
    tokio::spawn(async move {
        let reason = wait_for_signal().await;
        shutdown.shutdown(reason);
    });
    // Shown without a password, like every mention of the database.
    tracing::info!(db = %config.db, "database open");
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "listening on {}", server.local_addr())?;
    stdout.flush()?;
    drop(stdout);
    server.run().await?;
    Ok(())
}

/// Every connection is a file descriptor: raise the soft limit to the hard
/// one so a busy server is not capped at the usual 1024.
fn raise_open_file_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit write to and read from a valid rlimit.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            tracing::warn!("cannot read the open-file limit");
            return;
        }
        if limit.rlim_cur < limit.rlim_max {
            let wanted = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &wanted) == 0 {
                limit = wanted;
            }
        }
    }
    tracing::info!(open_files = limit.rlim_cur, "open-file limit");
}

async fn wait_for_signal() -> String {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return "server shutting down".into();
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "server shutting down (interrupted)".into(),
        _ = term.recv() => "server shutting down".into(),
    }
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // One line with the whole cause chain: no backtrace for an
            // operator's mistake.
            eprintln!("tchat-server: error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let db = match cli.db.as_deref() {
        Some(db) => DbLocation::parse(db)?,
        None => DbLocation::Sqlite(default_db()?),
    };
    match cli.command {
        Some(Command::User { action }) => return run_admin(db, cli.bcrypt_cost, action),
        Some(Command::Tls { action }) => return run_tls(action),
        Some(Command::Audit { limit }) => {
            print!("{}", Admin::open(db)?.audit(limit)?);
            return Ok(());
        }
        Some(Command::Migrate { from }) => return run_migrate(&from, &db),
        None => {}
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(serve(cli, db))
}

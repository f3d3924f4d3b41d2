//! Everything an operator (or a test) can tune about a running server.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::store::DbLocation;
use crate::protocol::{IDLE_TIMEOUT, LOGIN_TIMEOUT, RATE_PER_SEC};

/// The default `--listen` address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7700";
/// The default largest file (100 MiB).
pub const DEFAULT_MAX_FILE_BYTES: u64 = 100 << 20;
/// The default per-user total of posted files (1 GiB).
pub const DEFAULT_FILE_QUOTA_BYTES: u64 = 1 << 30;

/// The default bcrypt cost for new password hashes.
pub const DEFAULT_BCRYPT_COST: u32 = 12;

/// A certificate chain and its private key, both PEM.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Settings for one server instance.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Where to accept connections; port 0 picks a free one.
    pub listen: SocketAddr,
    /// The database: an SQLite file (its parent directories are created)
    /// or a PostgreSQL database.
    pub db: DbLocation,
    /// The bus that ties this server to the other nodes on the same
    /// PostgreSQL database (`--bus`). With one, the database's server lock
    /// is taken shared instead of exclusively (see `instance.rs`); without,
    /// this server must be alone on its database.
    pub bus: Option<super::cluster::bus::BusConfig>,
    /// bcrypt cost (4–31) for new hashes and for the dummy hash that
    /// unknown users are verified against.
    pub bcrypt_cost: u32,
    /// Message of the day, sent in `hello`.
    pub motd: Option<String>,
    /// A connection that has not logged in by then is closed.
    pub login_timeout: Duration,
    /// A connection silent for this long is closed.
    pub idle_timeout: Duration,
    /// Sustained frames per second per session (burst twice that);
    /// 0 turns flood control off, for benchmarks.
    pub max_msg_rate: u32,
    /// Bytes that may wait for one slow reader before it is disconnected
    /// as one that stopped reading.
    pub outgoing_limit_bytes: usize,
    /// How long graceful shutdown waits for sessions to flush.
    pub shutdown_grace: Duration,
    /// Open connections allowed from one IP address (0: no limit).
    pub max_connections_per_ip: u32,
    /// Logged-in sessions allowed for one account at once (0: no limit).
    pub max_sessions_per_account: u32,
    /// Accounts one IP address may register per hour (0: no limit).
    pub max_registrations_per_ip_hour: u32,
    /// Serve TLS with this certificate chain and key (PEM files).
    pub tls: Option<TlsFiles>,
    /// Apply the per-address limits to loopback too. Off by default: on a
    /// shared host every local client comes from 127.0.0.1.
    pub limit_loopback: bool,
    /// The largest file that may be sent (§14's `max_file_bytes`).
    pub max_file_bytes: u64,
    /// The bytes one user's posted files may take in all.
    pub file_quota_bytes: u64,
    /// Where file bytes live; `None`: `files/` next to the SQLite
    /// database, or in the working directory with PostgreSQL (the command
    /// line gives it a better default).
    pub files_dir: Option<PathBuf>,
}

impl ServerConfig {
    /// Where file bytes live.
    pub fn files_dir(&self) -> PathBuf {
        match &self.files_dir {
            Some(dir) => dir.clone(),
            None => self
                .db
                .sqlite_path()
                .and_then(|p| p.parent())
                .map_or_else(|| PathBuf::from("files"), |p| p.join("files")),
        }
    }

    /// Whether per-address limits apply to connections from `ip`.
    pub fn limits_apply_to(&self, ip: std::net::IpAddr) -> bool {
        self.limit_loopback || !super::address_key::limit_key(ip).is_loopback()
    }

    /// The contract's defaults for everything but where to listen and store
    /// (an SQLite path or a [`DbLocation`]).
    pub fn new(listen: SocketAddr, db: impl Into<DbLocation>) -> Self {
        ServerConfig {
            listen,
            db: db.into(),
            bus: None,
            bcrypt_cost: DEFAULT_BCRYPT_COST,
            motd: None,
            login_timeout: LOGIN_TIMEOUT,
            idle_timeout: IDLE_TIMEOUT,
            max_msg_rate: RATE_PER_SEC,
            outgoing_limit_bytes: 8 << 20,
            shutdown_grace: Duration::from_secs(5),
            max_connections_per_ip: 32,
            max_sessions_per_account: 8,
            max_registrations_per_ip_hour: 10,
            limit_loopback: false,
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
            file_quota_bytes: DEFAULT_FILE_QUOTA_BYTES,
            files_dir: None,
            tls: None,
        }
    }
}

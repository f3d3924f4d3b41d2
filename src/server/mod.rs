//! `tchat-server`: accepts connections, runs one task per connection, and
//! routes everything shared through the [`hub`].

pub(crate) mod address_key;
pub mod admin;
pub mod admin_socket;
pub(crate) mod auth;
pub mod cluster;
mod config;
mod conn_limit;
mod feed;
pub(crate) mod files;
mod hash_pool;
mod history;
mod hub;
mod instance;
mod io;
mod limits;
mod link;
mod name_order;
mod outbox;
mod pacing;
mod session;
pub mod store;
mod transfer;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_util::task::TaskTracker;

pub use config::{ServerConfig, TlsFiles, DEFAULT_BCRYPT_COST, DEFAULT_LISTEN};

use crate::protocol::{
    ErrorCode, ErrorFrame, Hello, HelloLimits, ServerFrame, MAX_CLIENT_FRAME_BYTES, MAX_TEXT_BYTES,
    PROTOCOL_VERSION,
};
use auth::PasswordHasher;
use hub::{Hub, HubCommand};
use session::Shared;

/// How often an idle hub looks for changes made by the account command line.
const HUB_TICK: Duration = Duration::from_secs(1);

/// How many hub commands may wait before sessions wait to add more.
const HUB_QUEUE: usize = 16 * 1024;

/// Why the server could not start or stopped abnormally.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("bcrypt cost must be 4 to 31, not {0}")]
    BcryptCost(u32),
    #[error(transparent)]
    Hash(#[from] auth::HashError),
    #[error(transparent)]
    Bus(#[from] cluster::bus::BusError),
    #[error("--bus joins nodes that share a PostgreSQL database; this one is SQLite (use --db postgres://…)")]
    BusNeedsPostgres,
    #[error("the hub stopped unexpectedly")]
    HubGone,
    #[error(transparent)]
    Lock(#[from] instance::LockError),
    #[error("cannot set up TLS")]
    Tls(#[from] crate::tls::TlsError),
    #[error("cannot use {} for files", dir.display())]
    Files {
        dir: std::path::PathBuf,
        source: std::io::Error,
    },
}

/// The one-server lock on a database (see `instance.rs`), held until
/// dropped: for tools that must not run beside a server (`migrate`).
#[derive(Debug)]
pub struct DatabaseLock(#[allow(dead_code)] instance::InstanceLock);

/// Takes the lock a server takes on `db`. Blocks (PostgreSQL): call it off
/// the async threads.
pub fn lock_database(db: &store::DbLocation) -> Result<DatabaseLock, ServerError> {
    Ok(DatabaseLock(instance::InstanceLock::acquire(db, false)?))
}

/// This node's part in a cluster: every server on PostgreSQL keeps the
/// round log (so the account command line's changes and other nodes'
/// rounds reach it); with a bus, other nodes ring it at once.
async fn join_cluster(
    config: &ServerConfig,
    cluster_id: Option<i64>,
    hub: &mpsc::Sender<HubCommand>,
) -> Result<Option<cluster::Cluster>, ServerError> {
    let Some(cluster_id) = cluster_id else {
        return match &config.bus {
            Some(_) => Err(ServerError::BusNeedsPostgres),
            None => Ok(None),
        };
    };
    let node = cluster::Cluster::node_name();
    let bell = match &config.bus {
        Some(bus) => {
            let hub = hub.downgrade();
            let subject = format!("tchat.{cluster_id:016x}.rounds");
            let bell = cluster::bus::join(bus, subject, &node, move || {
                if let Some(hub) = hub.upgrade() {
                    // A full queue means rounds are running: they catch up.
                    let _ = hub.try_send(HubCommand::Remote);
                }
            })
            .await?;
            tracing::info!(%bus, %node, "joined the bus");
            Some(bell)
        }
        None => None,
    };
    Ok(Some(cluster::Cluster::new(node, bell)))
}

/// Asks a running server to shut down gracefully.
#[derive(Clone, Debug)]
pub struct ShutdownHandle {
    tx: Arc<watch::Sender<Option<String>>>,
}

impl ShutdownHandle {
    /// Every session is sent `shutdown` with `reason`, pending work is
    /// committed, and [`Server::run`] returns.
    pub fn shutdown(&self, reason: impl Into<String>) {
        let reason = reason.into();
        self.tx.send_if_modified(|slot| {
            if slot.is_none() {
                *slot = Some(reason);
                true
            } else {
                false
            }
        });
    }
}

/// A bound server, ready to [`run`](Server::run).
pub struct Server {
    _lock: instance::InstanceLock,
    /// The account command line's way in, and its path (removed at exit).
    admin_socket: Option<(tokio::net::UnixListener, std::path::PathBuf)>,
    listener: TcpListener,
    shared: Arc<Shared>,
    hub_thread: std::thread::JoinHandle<()>,
    hub_stopped: oneshot::Receiver<()>,
    shutdown_tx: Arc<watch::Sender<Option<String>>>,
    shutdown_rx: watch::Receiver<Option<String>>,
}

impl Server {
    /// Opens the database, starts the hub and binds the listener.
    pub async fn bind(config: ServerConfig) -> Result<Server, ServerError> {
        if !(4..=31).contains(&config.bcrypt_cost) {
            return Err(ServerError::BcryptCost(config.bcrypt_cost));
        }
        let tls = match &config.tls {
            Some(files) => {
                let (tls_config, fingerprint) = crate::tls::server_config(&files.cert, &files.key)?;
                tracing::info!(%fingerprint, "serving TLS");
                Some(tokio_rustls::TlsAcceptor::from(tls_config))
            }
            None => None,
        };
        // The PostgreSQL client blocks (it runs a runtime of its own), so
        // everything that opens or reads the database here runs on the
        // blocking pool, never on this task's thread.
        let opening = config.clone();
        let (lock, store, stored_costs, cluster_id) = tokio::task::spawn_blocking(move || {
            let lock = instance::InstanceLock::acquire(&opening.db, opening.bus.is_some())?;
            tracing::debug!(lock = %lock.describe(), "database locked");
            let store = store::open(&opening.db)?;
            let costs = store.password_hash_costs()?;
            let cluster_id = store.cluster().map(|log| log.cluster_id()).transpose()?;
            Ok::<_, ServerError>((lock, store, costs, cluster_id))
        })
        .await
        .map_err(|_| ServerError::HubGone)??;
        let files_dir = config.files_dir();
        let files =
            std::sync::Arc::new(transfer::FileStore::open(&files_dir).map_err(|source| {
                ServerError::Files {
                    dir: files_dir.clone(),
                    source,
                }
            })?);
        let (hub_tx, hub_rx) = mpsc::channel(HUB_QUEUE);
        let cluster = join_cluster(&config, cluster_id, &hub_tx).await?;
        let hub = {
            let (config, files) = (config.clone(), files.clone());
            tokio::task::spawn_blocking(move || Hub::new(store, &config, files, cluster))
                .await
                .map_err(|_| ServerError::HubGone)??
        };
        let feed = hub.feed();
        // With PostgreSQL there is no file to put a socket beside: the
        // account command line writes to the database and the hub notices
        // within a tick (`Store::note_outside_change`).
        let admin_socket = config.db.sqlite_path().and_then(admin_socket::bind);
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| ServerError::Bind {
                    addr: config.listen,
                    source,
                })?;
        let hasher = PasswordHasher::new(config.bcrypt_cost).await?;
        hasher.note_stored_costs(&stored_costs).await?;

        let (stopped_tx, hub_stopped) = oneshot::channel();
        let hub_thread = std::thread::Builder::new()
            .name("tchat-hub".into())
            .spawn(move || {
                hub.run(hub_rx);
                let _ = stopped_tx.send(());
            })
            .map_err(|_| ServerError::HubGone)?;

        let hello = ServerFrame::Hello(Hello {
            protocol: PROTOCOL_VERSION,
            server: format!("tchat-server/{}", env!("CARGO_PKG_VERSION")),
            motd: config.motd.clone(),
            features: vec!["groups".into(), "admin".into(), "files".into()],
            limits: HelloLimits {
                max_frame_bytes: MAX_CLIENT_FRAME_BYTES as u64,
                max_text_bytes: MAX_TEXT_BYTES as u64,
                max_file_bytes: Some(config.max_file_bytes),
                file_chunk_bytes: Some(crate::protocol::FILE_CHUNK_BYTES as u64),
            },
        })
        .to_line();
        let (shutdown_tx, shutdown_rx) = watch::channel(None);
        let history = history::HistoryReader::new(&config.db);
        Ok(Server {
            _lock: lock,
            admin_socket,
            listener,
            shared: Arc::new(Shared {
                config,
                hub: hub_tx,
                hasher,
                hello,
                tls,
                history,
                files,
                feed,
            }),
            hub_thread,
            hub_stopped,
            shutdown_tx: Arc::new(shutdown_tx),
            shutdown_rx,
        })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or(self.shared.config.listen)
    }

    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle {
            tx: self.shutdown_tx.clone(),
        }
    }

    /// Accepts connections until shut down, then shuts down gracefully.
    pub async fn run(self) -> Result<(), ServerError> {
        let Server {
            _lock,
            admin_socket,
            listener,
            shared,
            hub_thread,
            mut hub_stopped,
            shutdown_tx: _keep_sender,
            mut shutdown_rx,
        } = self;
        let tracker = TaskTracker::new();
        let admin = admin_socket.map(|(listener, path)| {
            let task = tokio::spawn(admin_socket::serve(
                listener,
                shared.hub.clone(),
                tracker.clone(),
            ));
            (task, path)
        });
        let connections = conn_limit::ConnectionLimit::new(
            shared.config.max_connections_per_ip,
            shared.config.limit_loopback,
        );
        let limit_frame = ServerFrame::Error(
            ErrorFrame::new(
                None,
                ErrorCode::RateLimited,
                format!(
                    "too many connections from your address (at most {}); closing",
                    shared.config.max_connections_per_ip
                ),
            )
            .fatal(),
        )
        .to_line();
        // The hub otherwise sleeps until a session asks something; a tick
        // lets it notice bans and password changes made by the account
        // command line within a second even when nobody is talking.
        let ticker = {
            let hub = shared.hub.clone();
            tokio::spawn(async move {
                let mut every = tokio::time::interval(HUB_TICK);
                every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    every.tick().await;
                    if let Err(mpsc::error::TrySendError::Closed(_)) =
                        hub.try_send(HubCommand::Tick)
                    {
                        break;
                    }
                }
            })
        };
        let next_session = AtomicU64::new(1);
        let mut hub_died = false;
        // A shutdown asked for before run() started counts too.
        shutdown_rx.mark_changed();
        loop {
            tokio::select! {
                changed = shutdown_rx.changed() => {
                    if changed.is_err() || shutdown_rx.borrow().is_some() {
                        break;
                    }
                }
                _ = &mut hub_stopped => { hub_died = true; break; }
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => match connections.admit(peer.ip()) {
                        Some(slot) => {
                            let id = next_session.fetch_add(1, Ordering::Relaxed);
                            let shared = shared.clone();
                            let inner = tracker.clone();
                            tracker.spawn(async move {
                                session::serve(stream, peer, id, shared, inner).await;
                                drop(slot);
                            });
                        }
                        None => {
                            tracing::warn!(%peer, "too many connections from one address; refused");
                            tracker.spawn(session::refuse(stream, limit_frame.clone()));
                        }
                    },
                    Err(e) => {
                        // Out of file descriptors, say: wait a moment rather
                        // than spin, and keep serving the connections we have.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
            }
        }
        drop(listener);
        ticker.abort();
        if let Some((task, path)) = &admin {
            task.abort();
            let _ = std::fs::remove_file(path);
        }
        if hub_died {
            tracing::error!("the hub stopped; shutting down");
            return Err(ServerError::HubGone);
        }
        let reason = shutdown_rx
            .borrow()
            .clone()
            .unwrap_or_else(|| "server shutting down".into());
        tracing::info!(%reason, "shutting down");
        let (done, flushed) = oneshot::channel();
        if shared
            .hub
            .send(HubCommand::Shutdown { reason, done })
            .await
            .is_ok()
        {
            let _ = flushed.await;
        }
        tracker.close();
        if tokio::time::timeout(shared.config.shutdown_grace, tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!("some connections did not finish within the grace period");
        }
        drop(shared);
        let _ = tokio::task::spawn_blocking(move || hub_thread.join()).await;
        Ok(())
    }
}

//! One server per database: a second `tchat-server` on the same file would
//! hand out the same msg_ids twice. The lock is an `flock` on `<db>.lock`,
//! released by the kernel however the process ends, so a crash never leaves
//! a stale lock behind. The lock file and the directories made for it are
//! owner-only (0600, 0700) like the database.
//!
//! With PostgreSQL the lock is a session-level advisory lock, held by a
//! connection kept open for the server's lifetime (PostgreSQL releases it
//! when that connection ends, however the process ends). A server alone
//! takes it exclusively. Nodes of a cluster (`ServerConfig::cluster`, set
//! when a bus ties them together) take it shared: any number of them may
//! run, but never beside a server without a bus, whose in-memory state
//! would go stale behind their backs. msg_ids stay right either way: they
//! come from the `cluster_state` row lock, not from this one.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use super::files::{create_private_dir_all, create_private_file};
use super::store::{DbLocation, PgUrl, StoreError};

/// The advisory lock key of "a tchat-server serves this database".
/// Advisory locks are per database, so one key serves every database.
const SERVER_LOCK: i64 = 0x7463_6874_0000_0001;

/// How long a lock held by someone else is waited for before refusing.
const HELD_PATIENCE: std::time::Duration = std::time::Duration::from_secs(2);

/// How often the lock's connection is checked.
const LOCK_CHECK_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("another tchat-server (pid {pid}) is already serving {db}; stop it first or use another --db")]
    Held { db: String, pid: String },
    #[error("cannot lock {path}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    /// Taking it exclusively failed: any other server holds it.
    #[error("another tchat-server is already serving {db}; without a bus a server must be alone on its database: stop the other one, or start every node with --bus to run several")]
    PgHeld { db: String },
    /// Taking it shared (a cluster node) failed: a server without a bus
    /// holds it exclusively.
    #[error("a tchat-server without a bus is already serving {db}; stop it before starting nodes with --bus")]
    PgHeldAlone { db: String },
    #[error("cannot take the server lock on {db}")]
    Pg { db: String, source: StoreError },
}

/// Held while the server runs; dropping it releases the lock.
#[derive(Debug)]
pub enum InstanceLock {
    File(FileLock),
    Postgres(PgLock),
}

impl InstanceLock {
    /// Takes the lock on `db`: shared with other cluster nodes when
    /// `cluster`, else exclusive. Blocks (PostgreSQL): call it off the
    /// async threads.
    pub fn acquire(db: &DbLocation, cluster: bool) -> Result<InstanceLock, LockError> {
        match db {
            DbLocation::Sqlite(path) => Ok(InstanceLock::File(FileLock::acquire(path)?)),
            DbLocation::Postgres(url) => Ok(InstanceLock::Postgres(PgLock::acquire(url, cluster)?)),
        }
    }

    /// What is locked, for the log.
    pub fn describe(&self) -> String {
        match self {
            InstanceLock::File(f) => f.path().display().to_string(),
            InstanceLock::Postgres(p) => format!("advisory lock on {}", p.db),
        }
    }
}

/// The PostgreSQL lock: a thread owns the connection that holds it, checks
/// now and then that it is still alive (a PostgreSQL restart drops the
/// lock with the connection; it is taken again then), and unlocks and
/// closes it when the lock is dropped. Dropping waits for the unlock, so a
/// server started right after this one ends finds the lock free.
#[derive(Debug)]
pub struct PgLock {
    db: String,
    stop: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl PgLock {
    fn acquire(url: &PgUrl, cluster: bool) -> Result<PgLock, LockError> {
        let db = url.to_string();
        // A server that was just killed holds the lock until PostgreSQL
        // has seen its connection close: a moment, worth waiting for.
        let patience = std::time::Instant::now() + HELD_PATIENCE;
        let mut client = loop {
            match take_pg_lock(url, cluster) {
                Err(LockError::PgHeld { .. } | LockError::PgHeldAlone { .. })
                    if std::time::Instant::now() < patience =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                other => break other?,
            }
        };
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let (thread_url, thread_db) = (url.clone(), db.clone());
        let thread = std::thread::Builder::new()
            .name("tchat-db-lock".into())
            .spawn(move || loop {
                match stopped.recv_timeout(LOCK_CHECK_EVERY) {
                    Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                    _ => {
                        let _ = client.batch_execute("SELECT pg_advisory_unlock_all()");
                        return;
                    }
                }
                if client.is_valid(LOCK_CHECK_EVERY).is_ok() {
                    continue;
                }
                match take_pg_lock(&thread_url, cluster) {
                    Ok(c) => {
                        tracing::warn!(db = %thread_db, "the server lock's connection was lost; the lock is taken again");
                        client = c;
                    }
                    Err(e) => {
                        tracing::error!(db = %thread_db, error = %e, "the server lock's connection was lost and the lock cannot be taken again")
                    }
                }
            })
            .map_err(|e| LockError::Io {
                path: db.clone(),
                source: e,
            })?;
        Ok(PgLock {
            db,
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for PgLock {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A connection holding the advisory lock.
fn take_pg_lock(url: &PgUrl, cluster: bool) -> Result<::postgres::Client, LockError> {
    let db = url.to_string();
    let pg = |source: StoreError| LockError::Pg {
        db: db.clone(),
        source,
    };
    let mut client = url.config().connect(::postgres::NoTls).map_err(|cause| {
        pg(StoreError::PgConnect {
            db: db.clone(),
            cause: super::store::with_causes(&cause),
        })
    })?;
    let sql = if cluster {
        "SELECT pg_try_advisory_lock_shared($1)"
    } else {
        "SELECT pg_try_advisory_lock($1)"
    };
    let taken: bool = client
        .query_one(sql, &[&SERVER_LOCK])
        .map_err(|e| pg(e.into()))?
        .get(0);
    if taken {
        Ok(client)
    } else if cluster {
        Err(LockError::PgHeldAlone { db })
    } else {
        Err(LockError::PgHeld { db })
    }
}

/// The SQLite lock: `flock` on `<db>.lock`.
#[derive(Debug)]
pub struct FileLock {
    _file: File,
    path: PathBuf,
}

impl FileLock {
    pub fn acquire(db: &Path) -> Result<FileLock, LockError> {
        let mut name = db.file_name().map(|n| n.to_os_string()).unwrap_or_default();
        name.push(".lock");
        let path = db.with_file_name(name);
        let io = |source| LockError::Io {
            path: path.display().to_string(),
            source,
        };
        if let Some(parent) = path.parent() {
            create_private_dir_all(parent).map_err(io)?;
        }
        // Owner-only like the database: it sits in the same directory.
        let mut file = create_private_file(&path).map_err(io)?;
        // SAFETY: flock on a descriptor we own; no memory is involved.
        let locked = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0;
        if !locked {
            let mut pid = String::new();
            let _ = file.read_to_string(&mut pid);
            let pid = pid.trim();
            return Err(LockError::Held {
                db: db.display().to_string(),
                pid: if pid.is_empty() {
                    "unknown".into()
                } else {
                    pid.into()
                },
            });
        }
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        write!(file, "{}", std::process::id()).map_err(io)?;
        file.flush().map_err(io)?;
        Ok(FileLock { _file: file, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_same_database_is_refused_with_the_pid() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("x/tchat.db");
        let first = FileLock::acquire(&db).unwrap();
        match FileLock::acquire(&db) {
            Err(LockError::Held { pid, .. }) => assert_eq!(pid, std::process::id().to_string()),
            other => panic!("expected Held, got {other:?}"),
        }
        drop(first);
        assert!(FileLock::acquire(&db).is_ok());
    }

    #[test]
    fn the_lock_file_and_its_new_directory_are_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
        // SAFETY: umask only swaps the process's file-creation mask; 022 is
        // the usual one, and every test that sets it sets that value.
        unsafe { libc::umask(0o022) };
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("new/tchat.db");
        let lock = FileLock::acquire(&db).unwrap();
        assert_eq!(mode(lock.path()), 0o600);
        assert_eq!(mode(&dir.path().join("new")), 0o700);
        let path = lock.path().to_owned();
        drop(lock);
        // A lock file left world-readable by an older version is tightened.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let _lock = FileLock::acquire(&db).unwrap();
        assert_eq!(mode(&path), 0o600);
    }
}

//! One server per database: a second `tchat-server` on the same file would
//! hand out the same msg_ids twice. The lock is an `flock` on `<db>.lock`,
//! released by the kernel however the process ends, so a crash never leaves
//! a stale lock behind. The lock file and the directories made for it are
//! owner-only (0600, 0700) like the database.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use super::files::{create_private_dir_all, create_private_file};

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
}

/// Held while the server runs.
#[derive(Debug)]
pub struct InstanceLock {
    _file: File,
    path: PathBuf,
}

impl InstanceLock {
    pub fn acquire(db: &Path) -> Result<InstanceLock, LockError> {
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
        Ok(InstanceLock { _file: file, path })
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
        let first = InstanceLock::acquire(&db).unwrap();
        match InstanceLock::acquire(&db) {
            Err(LockError::Held { pid, .. }) => assert_eq!(pid, std::process::id().to_string()),
            other => panic!("expected Held, got {other:?}"),
        }
        drop(first);
        assert!(InstanceLock::acquire(&db).is_ok());
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
        let lock = InstanceLock::acquire(&db).unwrap();
        assert_eq!(mode(lock.path()), 0o600);
        assert_eq!(mode(&dir.path().join("new")), 0o700);
        let path = lock.path().to_owned();
        drop(lock);
        // A lock file left world-readable by an older version is tightened.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let _lock = InstanceLock::acquire(&db).unwrap();
        assert_eq!(mode(&path), 0o600);
    }
}

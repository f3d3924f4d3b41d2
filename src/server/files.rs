//! Files and directories the server writes hold private messages, password
//! hashes and keys, so they are owner-only whatever the umask: files 0600,
//! directories 0700.
//!
//! SQLite gives the `-wal`, `-shm` and `-journal` files it creates the mode
//! of the database file, so creating the database file 0600 before SQLite
//! opens it is what keeps those private too ([`prepare_database`]).

use std::fs::{DirBuilder, File, OpenOptions, Permissions};
use std::io::{self, Read};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::store::StoreError;

/// The mode of every file the server creates.
pub(crate) const PRIVATE_FILE_MODE: u32 = 0o600;
/// The mode of every directory the server creates.
pub(crate) const PRIVATE_DIR_MODE: u32 = 0o700;

/// The files SQLite keeps beside a database.
const DATABASE_SIDE_FILES: [&str; 3] = ["-wal", "-shm", "-journal"];

/// `PRAGMA application_id` of a tchat database, as `store` writes it: the
/// header says whether an existing file is ours to tighten.
const TCHAT_APPLICATION_ID: u32 = 0x7463_6874;

/// An `io::Error` that names the path and what was being done to it.
fn context(path: &Path, doing: &str, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("cannot {doing} {}: {e}", path.display()))
}

/// Creates `dir` and its missing parents, each one it creates 0700.
/// Directories that already exist are left as they are: they may be the
/// user's own (`~/.local/share`), not the server's to change.
pub(crate) fn create_private_dir_all(dir: &Path) -> io::Result<()> {
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        create_private_dir_all(parent)?;
    }
    match DirBuilder::new().mode(PRIVATE_DIR_MODE).create(dir) {
        // The umask may have taken bits off the mode asked for.
        Ok(()) => std::fs::set_permissions(dir, Permissions::from_mode(PRIVATE_DIR_MODE))
            .map_err(|e| context(dir, "set the mode of", e)),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
        Err(e) => Err(context(dir, "create the directory", e)),
    }
}

/// Opens `path` for reading and writing. A new file is created 0600; an
/// existing one that others may read or write is tightened to 0600 (and
/// the change logged).
pub(crate) fn create_private_file(path: &Path) -> io::Result<File> {
    let created = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(PRIVATE_FILE_MODE)
        .open(path);
    match created {
        Ok(file) => {
            file.set_permissions(Permissions::from_mode(PRIVATE_FILE_MODE))
                .map_err(|e| context(path, "set the mode of", e))?;
            Ok(file)
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .open(path)
                .map_err(|e| context(path, "open", e))?;
            tighten(path)?;
            Ok(file)
        }
        Err(e) => Err(context(path, "create", e)),
    }
}

/// Makes an existing file 0600 when group or others have any access to it;
/// returns whether it did. A missing file is left missing.
pub(crate) fn tighten(path: &Path) -> io::Result<bool> {
    let mode = match std::fs::metadata(path) {
        Ok(meta) => meta.permissions().mode() & 0o7777,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(context(path, "read the mode of", e)),
    };
    if mode & 0o077 == 0 {
        return Ok(false);
    }
    std::fs::set_permissions(path, Permissions::from_mode(PRIVATE_FILE_MODE))
        .map_err(|e| context(path, "make owner-only", e))?;
    tracing::warn!(
        path = %path.display(),
        was = %format!("{mode:04o}"),
        "file was open to other users; made it owner-only (0600)"
    );
    Ok(true)
}

/// Whether the file at `path` is empty or a SQLite database with tchat's
/// application id: one this server made, so its mode is ours to fix. Any
/// other file is left alone for `Store::open` to refuse.
fn is_tchat_database(path: &Path) -> io::Result<bool> {
    let mut header = Vec::with_capacity(100);
    File::open(path)
        .and_then(|f| f.take(100).read_to_end(&mut header))
        .map_err(|e| context(path, "read", e))?;
    if header.is_empty() {
        return Ok(true);
    }
    if header.len() < 72 || !header.starts_with(b"SQLite format 3\0") {
        return Ok(false);
    }
    let id = u32::from_be_bytes([header[68], header[69], header[70], header[71]]);
    Ok(id == TCHAT_APPLICATION_ID)
}

fn side_file(db: &Path, suffix: &str) -> PathBuf {
    let mut name = db.as_os_str().to_os_string();
    name.push(suffix);
    PathBuf::from(name)
}

/// Run before SQLite opens `db`: creates its missing directories 0700 and
/// the file itself 0600 (so that SQLite's `-wal`/`-shm` get 0600 too), and
/// tightens an existing tchat database and its side files to 0600.
fn prepare_database_files(db: &Path) -> io::Result<()> {
    if let Some(parent) = db.parent() {
        create_private_dir_all(parent)?;
    }
    let created = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(PRIVATE_FILE_MODE)
        .open(db);
    match created {
        Ok(file) => file
            .set_permissions(Permissions::from_mode(PRIVATE_FILE_MODE))
            .map_err(|e| context(db, "set the mode of", e)),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            if !db.is_file() || !is_tchat_database(db)? {
                return Ok(());
            }
            tighten(db)?;
            for suffix in DATABASE_SIDE_FILES {
                tighten(&side_file(db, suffix))?;
            }
            Ok(())
        }
        Err(e) => Err(context(db, "create", e)),
    }
}

/// [`prepare_database_files`] for `Store::open`, with its error type.
pub(crate) fn prepare_database(db: &Path) -> Result<(), StoreError> {
    prepare_database_files(db).map_err(|source| StoreError::CreateDir {
        path: db.display().to_string(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The usual umask, set explicitly so the tests do not depend on the
    /// one they were started with. It is process-wide: every test here sets
    /// the same value.
    fn usual_umask() {
        // SAFETY: umask only swaps the process's file-creation mask.
        unsafe { libc::umask(0o022) };
    }

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn directories_are_created_owner_only_and_existing_ones_left_alone() {
        usual_umask();
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), Permissions::from_mode(0o755)).unwrap();
        let deep = dir.path().join("a/b/c");
        create_private_dir_all(&deep).unwrap();
        for d in ["a", "a/b", "a/b/c"] {
            assert_eq!(mode(&dir.path().join(d)), 0o700, "{d}");
        }
        assert_eq!(mode(dir.path()), 0o755, "not created here, not changed");
        create_private_dir_all(&deep).unwrap();
        create_private_dir_all(Path::new("")).unwrap();
    }

    #[test]
    fn a_new_private_file_is_0600_and_an_existing_loose_one_is_tightened() {
        usual_umask();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.lock");
        drop(create_private_file(&path).unwrap());
        assert_eq!(mode(&path), 0o600);
        std::fs::set_permissions(&path, Permissions::from_mode(0o644)).unwrap();
        drop(create_private_file(&path).unwrap());
        assert_eq!(mode(&path), 0o600);
        // Already private: left as it is.
        std::fs::set_permissions(&path, Permissions::from_mode(0o400)).unwrap();
        assert!(!tighten(&path).unwrap());
        assert_eq!(mode(&path), 0o400);
        assert!(!tighten(&dir.path().join("missing")).unwrap());
    }

    #[test]
    fn a_new_database_and_its_wal_and_shm_are_0600() {
        usual_umask();
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("data/tchat.db");
        let store = crate::server::store::SqliteStore::open(&db).unwrap();
        assert_eq!(mode(&dir.path().join("data")), 0o700);
        for f in ["tchat.db", "tchat.db-wal", "tchat.db-shm"] {
            let path = dir.path().join("data").join(f);
            assert!(path.exists(), "{f} exists while the store is open");
            assert_eq!(mode(&path), 0o600, "{f}");
        }
        drop(store);
    }

    #[test]
    fn an_existing_loose_database_is_tightened_at_open() {
        usual_umask();
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("tchat.db");
        drop(crate::server::store::SqliteStore::open(&db).unwrap());
        let wal = side_file(&db, "-wal");
        std::fs::write(&wal, b"").unwrap();
        for f in [&db, &wal] {
            std::fs::set_permissions(f, Permissions::from_mode(0o644)).unwrap();
        }
        let store = crate::server::store::SqliteStore::open(&db).unwrap();
        for f in [&db, &wal, &side_file(&db, "-shm")] {
            assert_eq!(mode(f), 0o600, "{}", f.display());
        }
        drop(store);
    }

    #[test]
    fn files_that_are_not_tchat_databases_keep_their_mode() {
        usual_umask();
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("junk.db");
        std::fs::write(&junk, b"not a database").unwrap();
        std::fs::set_permissions(&junk, Permissions::from_mode(0o644)).unwrap();
        prepare_database_files(&junk).unwrap();
        assert_eq!(mode(&junk), 0o644);
        let foreign = dir.path().join("foreign.db");
        rusqlite::Connection::open(&foreign)
            .unwrap()
            .execute_batch("CREATE TABLE t (x); PRAGMA application_id = 42;")
            .unwrap();
        std::fs::set_permissions(&foreign, Permissions::from_mode(0o644)).unwrap();
        prepare_database_files(&foreign).unwrap();
        assert_eq!(mode(&foreign), 0o644);
    }
}

//! File bytes on disk: the side path of file transfer (§14).
//!
//! Bytes never pass through the hub or SQLite. An upload is appended to
//! `partial/<file_id>` chunk by chunk by its session; when it is done, the
//! session checks its size and SHA-256, syncs it to disk and links it into
//! `blobs/<sha256>` (one copy of each content however often it is posted)
//! before the hub commits the message that refers to it: so a crash leaves
//! either a resumable partial upload or a complete, listed file, never a
//! message pointing at missing bytes. Everything here is owner-only.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use super::files::{create_private_dir_all, create_private_file};
use crate::protocol::NameKey;

/// An upload in progress, as a session needs it to take its chunks.
#[derive(Debug, Clone)]
pub struct Upload {
    /// Whose it is: only the uploader's sessions may add to it.
    pub owner: NameKey,
    pub size: u64,
    pub sha256: String,
}

/// Where file bytes live, and which uploads are under way.
#[derive(Debug)]
pub struct FileStore {
    partial: PathBuf,
    blobs: PathBuf,
    uploads: Mutex<HashMap<String, Upload>>,
    /// The SHA-256 of each upload's bytes so far, kept as they are
    /// appended, so `finish` need not read the file again (a third of a
    /// 256 MiB upload's time). Missing (after a restart, or when another
    /// connection appended meanwhile) means `finish` reads the file.
    hashing: Mutex<HashMap<String, RunningHash>>,
    /// Contents being linked into `blobs/` whose message is not committed
    /// yet: never removed as unreferenced meanwhile.
    /// By upload (`file_id` → its content), so that settling an upload
    /// twice, or one that was never marked, cannot unmark another's.
    in_flight: Mutex<HashMap<String, String>>,
    /// One lock per upload being written, so that two sessions of one user
    /// cannot interleave chunks of the same upload.
    writing: Mutex<HashMap<String, std::sync::Arc<Mutex<()>>>>,
    /// Transfers give way while chat deliveries are busy.
    pub pacing: super::pacing::TransferPacing,
}

/// The hash of the first `held` bytes of an upload.
struct RunningHash {
    held: u64,
    ctx: ring::digest::Context,
}

impl std::fmt::Debug for RunningHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningHash")
            .field("held", &self.held)
            .finish()
    }
}

/// How long an unreferenced blob must have existed before a sweep removes
/// it (a fresh one may belong to a message about to be committed).
const SWEEP_GRACE: Duration = Duration::from_secs(600);

impl FileStore {
    /// Opens (creating, owner-only) `dir` with its `partial/` and `blobs/`.
    pub fn open(dir: &Path) -> io::Result<FileStore> {
        let partial = dir.join("partial");
        let blobs = dir.join("blobs");
        create_private_dir_all(&partial)?;
        create_private_dir_all(&blobs)?;
        Ok(FileStore {
            partial,
            blobs,
            uploads: Mutex::new(HashMap::new()),
            hashing: Mutex::new(HashMap::new()),
            in_flight: Mutex::new(HashMap::new()),
            writing: Mutex::new(HashMap::new()),
            pacing: Default::default(),
        })
    }

    /// Whether the bytes of this content are stored.
    pub fn has_blob(&self, sha256: &str) -> bool {
        self.blob_path(sha256).is_file()
    }

    pub fn blob_path(&self, sha256: &str) -> PathBuf {
        self.blobs.join(sha256)
    }

    fn partial_path(&self, file_id: &str) -> PathBuf {
        self.partial.join(file_id)
    }

    /// Registers an upload that may take chunks.
    pub fn begin(&self, file_id: &str, upload: Upload) {
        if let Ok(mut u) = self.uploads.lock() {
            u.insert(file_id.to_owned(), upload);
        }
    }

    /// The upload `file_id`, if one is under way.
    pub fn upload(&self, file_id: &str) -> Option<Upload> {
        self.uploads.lock().ok()?.get(file_id).cloned()
    }

    /// Forgets an upload and its bytes (cancelled, failed, expired, done).
    pub fn forget(&self, file_id: &str) {
        if let Ok(mut u) = self.uploads.lock() {
            u.remove(file_id);
        }
        let lock = self.lock_for(file_id);
        let _held = lock.lock();
        self.take_hash(file_id);
        let _ = fs::remove_file(self.partial_path(file_id));
        if let Ok(mut w) = self.writing.lock() {
            w.remove(file_id);
        }
    }

    /// The lock that serializes writes to one upload.
    fn lock_for(&self, file_id: &str) -> std::sync::Arc<Mutex<()>> {
        match self.writing.lock() {
            Ok(mut w) => w.entry(file_id.to_owned()).or_default().clone(),
            Err(_) => std::sync::Arc::default(),
        }
    }

    /// How many bytes of `file_id` are held.
    pub fn received(&self, file_id: &str) -> u64 {
        fs::metadata(self.partial_path(file_id)).map_or(0, |m| m.len())
    }

    /// Appends `data` at `offset`, which must be what is held: `Err(held)`
    /// otherwise.
    pub fn append(&self, file_id: &str, offset: u64, data: &[u8]) -> io::Result<Result<u64, u64>> {
        let lock = self.lock_for(file_id);
        let _held = lock.lock();
        let path = self.partial_path(file_id);
        let mut file = match OpenOptions::new().append(true).open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => create_private_file(&path)?,
            Err(e) => return Err(e),
        };
        let held = file.seek(SeekFrom::End(0))?;
        if held != offset {
            return Ok(Err(held));
        }
        // Taken out while this chunk is written: a second connection
        // appending at the same time finds none and leaves none.
        let running = self.take_hash(file_id);
        file.write_all(data)?;
        let running = match running {
            _ if offset == 0 => Some(RunningHash {
                held: 0,
                ctx: ring::digest::Context::new(&ring::digest::SHA256),
            }),
            Some(r) if r.held == offset => Some(r),
            _ => None,
        };
        if let Some(mut r) = running {
            r.ctx.update(data);
            r.held += data.len() as u64;
            if let Ok(mut h) = self.hashing.lock() {
                h.insert(file_id.to_owned(), r);
            }
        }
        Ok(Ok(held + data.len() as u64))
    }

    fn take_hash(&self, file_id: &str) -> Option<RunningHash> {
        self.hashing.lock().ok()?.remove(file_id)
    }

    /// Checks a finished upload and makes its bytes durable as the blob of
    /// its content: `Ok(false)` when they do not have that SHA-256. The
    /// content is marked in flight until [`FileStore::settled`].
    pub fn finish(&self, file_id: &str, sha256: &str) -> io::Result<bool> {
        let lock = self.lock_for(file_id);
        let _held = lock.lock();
        let path = self.partial_path(file_id);
        if !path.exists() {
            // An empty file takes no chunk.
            create_private_file(&path)?;
        }
        let mut file = File::open(&path)?;
        let len = file.metadata()?.len();
        let actual = match self.take_hash(file_id) {
            // Every byte of the file went through this hash.
            Some(r) if r.held == len => r.ctx.finish().as_ref().to_vec(),
            _ => sha256_of(&mut file)?,
        };
        if hex(&actual) != sha256 {
            return Ok(false);
        }
        file.sync_all()?;
        if let Ok(mut f) = self.in_flight.lock() {
            f.insert(file_id.to_owned(), sha256.to_owned());
        }
        let blob = self.blob_path(sha256);
        if !blob.exists() {
            // A link, not a rename: the partial stays until the message is
            // committed, so a refusal (the chat ended meanwhile) loses
            // nothing and file_done can be sent again.
            match fs::hard_link(&path, &blob) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => {
                    self.settled(file_id);
                    return Err(e);
                }
            }
            File::open(&self.blobs)?.sync_all()?;
        }
        Ok(true)
    }

    /// The hub has answered `file_done` for this upload (posted or
    /// refused): its content is no longer in flight. Harmless for an
    /// upload that was not marked.
    pub fn settled(&self, file_id: &str) {
        if let Ok(mut f) = self.in_flight.lock() {
            f.remove(file_id);
        }
    }

    /// Removes the blob of `sha256` unless `in_use` says a message still
    /// refers to it or an upload of it is being posted.
    pub fn remove_if_unused(&self, sha256: &str, in_use: bool) {
        let Ok(in_flight) = self.in_flight.lock() else {
            return;
        };
        if in_use || in_flight.values().any(|s| s == sha256) {
            return;
        }
        let _ = fs::remove_file(self.blob_path(sha256));
    }

    /// Removes blobs nothing refers to (older than a grace period), and
    /// partial uploads that are no longer under way.
    pub fn sweep(&self, referenced: &std::collections::HashSet<String>) {
        let now = SystemTime::now();
        if let Ok(entries) = fs::read_dir(&self.blobs) {
            let in_flight = self.in_flight.lock().ok();
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let busy = in_flight
                    .as_ref()
                    .is_some_and(|f| f.values().any(|s| *s == name));
                let old = entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| now.duration_since(t).ok())
                    .is_some_and(|age| age > SWEEP_GRACE);
                if !busy && old && !referenced.contains(&name) {
                    let _ = fs::remove_file(entry.path());
                }
            }
        }
        if let Ok(entries) = fs::read_dir(&self.partial) {
            let uploads = self.uploads.lock().ok();
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if uploads.as_ref().is_some_and(|u| !u.contains_key(&name)) {
                    let _ = fs::remove_file(entry.path());
                }
            }
        }
    }
}

/// Reads up to `max` bytes of `path` from `offset`.
pub fn read_chunk(path: &Path, offset: u64, max: usize) -> io::Result<Vec<u8>> {
    let mut file = File::open(path)?;
    file.seek(SeekFrom::Start(offset))?;
    let mut buf = Vec::with_capacity(max);
    file.take(max as u64).read_to_end(&mut buf)?;
    Ok(buf)
}

fn sha256_of(file: &mut File) -> io::Result<Vec<u8>> {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        ctx.update(&buf[..n]);
    }
    Ok(ctx.finish().as_ref().to_vec())
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A new `file_id`: 128 random bits in hex.
pub fn new_file_id() -> String {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 16];
    let _ = ring::rand::SystemRandom::new().fill(&mut bytes);
    hex(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha_hex(data: &[u8]) -> String {
        hex(ring::digest::digest(&ring::digest::SHA256, data).as_ref())
    }

    #[test]
    fn an_upload_settled_twice_or_unmarked_never_unmarks_another() {
        let dir = tempfile::tempdir().unwrap();
        let files = FileStore::open(dir.path()).unwrap();
        let data = b"the same bytes, sent twice";
        let sha = sha_hex(data);
        for id in ["one", "two"] {
            assert_eq!(files.append(id, 0, data).unwrap(), Ok(data.len() as u64));
            assert!(files.finish(id, &sha).unwrap());
        }
        // "one" is answered twice, and an upload never marked is settled:
        // "two" still holds the content in flight.
        files.settled("one");
        files.settled("one");
        files.settled("never-marked");
        files.remove_if_unused(&sha, false);
        assert!(
            files.has_blob(&sha),
            "removed while an upload was in flight"
        );
        files.settled("two");
        files.remove_if_unused(&sha, false);
        assert!(!files.has_blob(&sha));
    }
}

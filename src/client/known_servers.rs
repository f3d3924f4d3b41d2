//! `<config dir>/tchat/known_servers`: the self-signed certificates the
//! user chose to trust, like SSH's `known_hosts`.
//!
//! One line per server, `host:port SHA256:AB:CD:…`; `#` starts a comment
//! and blank lines are ignored. The client only ever adds lines (under a
//! lock, replacing the file atomically), and only
//! after the user said yes (or pinned the fingerprint with
//! `--trust-fingerprint`). It never rewrites or removes a line: when a
//! certificate changes, the user deletes the old line knowingly.
//!
//! A broken line is reported with its number and otherwise skipped, so one
//! bad edit does not lock the user out of every other server.

use std::io::Write;
use std::path::{Path, PathBuf};

/// The file's name inside the config directory.
pub const FILE_NAME: &str = "known_servers";

/// Written at the top of a new file, so someone who opens it knows what it is.
const HEADER: &str =
    "# tchat known servers: one line per trusted certificate, \"host:port SHA256:…\".\n\
# Delete a server's line to forget it (e.g. after it got a new certificate).\n";

/// One remembered server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// `host:port`, host in lower case, IPv6 addresses in brackets.
    pub server: String,
    /// `SHA256:AB:CD:…`, upper-case hex.
    pub fingerprint: String,
    /// 1-based line number in the file (0 for entries added this run and
    /// not saved).
    pub line: usize,
}

impl Entry {
    /// The line as it is written in the file.
    pub fn to_line(&self) -> String {
        format!("{} {}", self.server, self.fingerprint)
    }
}

/// A line that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct LineError {
    pub line: usize,
    pub reason: String,
}

/// Why the file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum KnownServersError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// A fingerprint that is not `SHA256:` and 32 colon-separated hex bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a SHA-256 fingerprint (expected SHA256: and 32 hex bytes like AB:CD:…)")]
pub struct BadFingerprint;

/// Checks a fingerprint and writes it the one way `tchat::tls::fingerprint`
/// does: `SHA256:` and upper-case hex. Lower-case hex, a lower-case
/// `sha256:` or a missing prefix are accepted, since people copy them from
/// different tools.
pub fn normalize_fingerprint(text: &str) -> Result<String, BadFingerprint> {
    let text = text.trim();
    let hex = match text.split_once(':') {
        Some((prefix, rest)) if prefix.eq_ignore_ascii_case("sha256") => rest,
        _ => text,
    };
    let bytes: Vec<&str> = hex.split(':').collect();
    let ok = bytes.len() == 32
        && bytes
            .iter()
            .all(|b| b.len() == 2 && b.chars().all(|c| c.is_ascii_hexdigit()));
    if !ok {
        return Err(BadFingerprint);
    }
    Ok(format!("SHA256:{}", hex.to_ascii_uppercase()))
}

/// The servers read from the file, plus any trusted this run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KnownServers {
    entries: Vec<Entry>,
}

/// What the file says about a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check<'a> {
    /// The server is listed with this fingerprint.
    Known,
    /// The server is not listed.
    Unknown,
    /// The server is listed with another fingerprint.
    Changed(&'a Entry),
}

impl KnownServers {
    /// Reads the file's text. Broken lines are returned, not fatal; for a
    /// server listed twice the first line counts and the second is reported.
    pub fn parse(text: &str) -> (KnownServers, Vec<LineError>) {
        let mut known = KnownServers::default();
        let mut problems = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let content = raw.split('#').next().unwrap_or("").trim();
            if content.is_empty() {
                continue;
            }
            let mut fields = content.split_whitespace();
            let (Some(server), Some(print), None) = (fields.next(), fields.next(), fields.next())
            else {
                problems.push(LineError {
                    line,
                    reason: "expected \"host:port SHA256:…\"".into(),
                });
                continue;
            };
            // Exactly `host:port`: no scheme, no default port.
            let server = match super::address::ServerAddr::parse(server) {
                Ok(addr) if addr.key() == server.to_ascii_lowercase() => addr.key(),
                Ok(_) => {
                    problems.push(LineError {
                        line,
                        reason: format!("expected host:port, not {server:?}"),
                    });
                    continue;
                }
                Err(e) => {
                    problems.push(LineError {
                        line,
                        reason: e.to_string(),
                    });
                    continue;
                }
            };
            let fingerprint = match normalize_fingerprint(print) {
                Ok(f) => f,
                Err(e) => {
                    problems.push(LineError {
                        line,
                        reason: e.to_string(),
                    });
                    continue;
                }
            };
            if let Some(first) = known.get(&server) {
                problems.push(LineError {
                    line,
                    reason: format!("{server} is already listed on line {}", first.line),
                });
                continue;
            }
            known.entries.push(Entry {
                server,
                fingerprint,
                line,
            });
        }
        (known, problems)
    }

    /// Reads `path`; a missing file is an empty list.
    pub fn load(path: &Path) -> Result<(KnownServers, Vec<LineError>), KnownServersError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Ok(KnownServers::parse(&text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Ok((KnownServers::default(), Vec::new()))
            }
            Err(source) => Err(KnownServersError::Read {
                path: path.to_owned(),
                source,
            }),
        }
    }

    /// The entry for `server` (`host:port` as `ServerAddr::key` writes it).
    pub fn get(&self, server: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.server == server)
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Compares a presented fingerprint with the remembered one.
    pub fn check(&self, server: &str, fingerprint: &str) -> Check<'_> {
        match self.get(server) {
            None => Check::Unknown,
            Some(e) if e.fingerprint.eq_ignore_ascii_case(fingerprint) => Check::Known,
            Some(e) => Check::Changed(e),
        }
    }

    /// Remembers `server` in memory (the file is `append`'s job). A server
    /// already listed keeps its entry: a change is never taken silently.
    pub fn add(&mut self, server: &str, fingerprint: &str, line: usize) -> bool {
        if self.get(server).is_some() {
            return false;
        }
        self.entries.push(Entry {
            server: server.to_owned(),
            fingerprint: fingerprint.to_owned(),
            line,
        });
        true
    }

    /// Adds `server fingerprint` to the file at `path`, creating it (and
    /// its directory) if needed. Returns the new line's number. Does nothing
    /// but return the line if the same entry is already there; refuses to
    /// add a second, different line for a listed server.
    ///
    /// Two clients may trust a server at the same moment, and a crash may
    /// come at any time: the read-check-write runs under an exclusive lock
    /// on `<path>.lock`, and the new text goes to a temporary file in the
    /// same directory that is synced and renamed over the old one (then the
    /// directory is synced), so the file is always the old or the new text
    /// and no entry is lost.
    pub fn append(
        path: &Path,
        server: &str,
        fingerprint: &str,
    ) -> Result<usize, KnownServersError> {
        let write_err = |source| KnownServersError::Write {
            path: path.to_owned(),
            source,
        };
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&dir).map_err(write_err)?;
        let _lock = FileLock::exclusive(&lock_path(path)).map_err(write_err)?;
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(source) => {
                return Err(KnownServersError::Read {
                    path: path.to_owned(),
                    source,
                })
            }
        };
        let (known, _) = KnownServers::parse(&text);
        match known.check(server, fingerprint) {
            Check::Known => return Ok(known.get(server).map_or(0, |e| e.line)),
            Check::Changed(e) => {
                return Err(write_err(std::io::Error::other(format!(
                    "{server} is already listed with another fingerprint on line {}",
                    e.line
                ))))
            }
            Check::Unknown => {}
        }
        let mut new_text = text;
        if new_text.trim().is_empty() {
            new_text.clear();
            new_text.push_str(HEADER);
        } else if !new_text.ends_with('\n') {
            new_text.push('\n');
        }
        // Every line so far ends in a newline.
        let line = new_text.lines().count() + 1;
        new_text.push_str(&format!("{server} {fingerprint}\n"));
        replace_file(path, &dir, new_text.as_bytes()).map_err(write_err)?;
        Ok(line)
    }
}

/// The lock file that guards `path`: the file itself is replaced by
/// renaming, so a lock on it would not hold across writers.
fn lock_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    path.with_file_name(name)
}

/// Writes `bytes` to a synced temporary file in `dir` and renames it over
/// `path`, keeping the old file's permissions; then syncs `dir` so the
/// rename itself survives a crash.
fn replace_file(path: &Path, dir: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut tmp = tempfile::Builder::new()
        .prefix(".known_servers.")
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    if let Ok(meta) = std::fs::metadata(path) {
        tmp.as_file().set_permissions(meta.permissions())?;
    }
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    #[cfg(unix)]
    std::fs::File::open(dir)?.sync_all()?;
    Ok(())
}

/// An advisory exclusive lock (`flock`), released when dropped.
struct FileLock {
    _file: std::fs::File,
}

impl FileLock {
    fn exclusive(path: &Path) -> std::io::Result<FileLock> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)?;
        #[cfg(unix)]
        {
            use std::os::unix::io::AsRawFd;
            loop {
                // SAFETY: the descriptor is open and owned by `file`, which
                // outlives the lock; closing it releases the lock.
                if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } == 0 {
                    break;
                }
                let err = std::io::Error::last_os_error();
                if err.kind() != std::io::ErrorKind::Interrupted {
                    return Err(err);
                }
            }
        }
        Ok(FileLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp(byte: u8) -> String {
        let hex: Vec<String> = (0..32).map(|_| format!("{byte:02X}")).collect();
        format!("SHA256:{}", hex.join(":"))
    }

    #[test]
    fn parses_entries_comments_and_blank_lines() {
        let text = format!(
            "# a comment\n\nchat.example.org:7700 {}\n   \n[::1]:7701 {}  # inline comment\nLOCALHOST:7702 {}\n",
            fp(0xAB),
            fp(0x01),
            fp(0x02).to_ascii_lowercase().replace("sha256", "SHA256"),
        );
        let (known, problems) = KnownServers::parse(&text);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(known.entries().len(), 3);
        let e = known.get("chat.example.org:7700").unwrap();
        assert_eq!(e.fingerprint, fp(0xAB));
        assert_eq!(e.line, 3);
        assert_eq!(known.get("[::1]:7701").unwrap().line, 5);
        // Host names compare in lower case; hex is normalized to upper case.
        assert_eq!(known.get("localhost:7702").unwrap().fingerprint, fp(0x02));
    }

    #[test]
    fn match_unknown_and_changed() {
        let (known, _) = KnownServers::parse(&format!("a.example:7700 {}\n", fp(1)));
        assert_eq!(known.check("a.example:7700", &fp(1)), Check::Known);
        assert_eq!(
            known.check("a.example:7700", &fp(1).to_ascii_lowercase()),
            Check::Known
        );
        assert_eq!(known.check("b.example:7700", &fp(1)), Check::Unknown);
        assert_eq!(known.check("a.example:7701", &fp(1)), Check::Unknown);
        match known.check("a.example:7700", &fp(2)) {
            Check::Changed(old) => {
                assert_eq!(old.fingerprint, fp(1));
                assert_eq!(old.line, 1);
            }
            other => panic!("expected a change, got {other:?}"),
        }
    }

    #[test]
    fn broken_lines_are_reported_and_skipped() {
        let text = format!(
            "only-one-field\nhost:7700 SHA256:nothex\nno-port {}\ngood:7700 {}\ngood:7700 {}\nx:1 {} extra\n",
            fp(3),
            fp(4),
            fp(5),
            fp(6)
        );
        let (known, problems) = KnownServers::parse(&text);
        let lines: Vec<usize> = problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, [1, 2, 3, 5, 6]);
        assert!(
            problems[1].to_string().contains("SHA-256"),
            "{}",
            problems[1]
        );
        assert!(
            problems[3].to_string().contains("line 4"),
            "{}",
            problems[3]
        );
        // The good line still counts, and the first of two lines wins.
        assert_eq!(known.entries().len(), 1);
        assert_eq!(known.get("good:7700").unwrap().fingerprint, fp(4));
        // Garbage, however odd, is never a panic.
        let (_, problems) = KnownServers::parse("\u{0}\u{1b}[2J :::: \u{FFFF}\n[\n]:\n:\n");
        assert_eq!(problems.len(), 4);
    }

    #[test]
    fn add_keeps_the_first_entry() {
        let mut known = KnownServers::default();
        assert!(known.add("a:1", &fp(1), 0));
        assert!(!known.add("a:1", &fp(2), 0));
        assert_eq!(known.check("a:1", &fp(1)), Check::Known);
    }

    #[test]
    fn append_creates_the_file_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join(FILE_NAME);
        let line = KnownServers::append(&path, "a.example:7700", &fp(1)).unwrap();
        let line2 = KnownServers::append(&path, "b.example:7700", &fp(2)).unwrap();
        let (known, problems) = KnownServers::load(&path).unwrap();
        assert!(problems.is_empty());
        assert_eq!(known.get("a.example:7700").unwrap().line, line);
        assert_eq!(known.get("b.example:7700").unwrap().line, line2);
        assert_eq!(line2, line + 1);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("# tchat known servers"), "{text}");
        // The same entry again changes nothing; a different one is refused.
        assert_eq!(
            KnownServers::append(&path, "a.example:7700", &fp(1)).unwrap(),
            line
        );
        let err = KnownServers::append(&path, "a.example:7700", &fp(9)).unwrap_err();
        assert!(err.to_string().contains("another fingerprint"), "{err}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    }

    #[test]
    fn append_to_a_file_without_a_final_newline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        std::fs::write(&path, format!("a:1 {}", fp(1))).unwrap();
        assert_eq!(KnownServers::append(&path, "b:2", &fp(2)).unwrap(), 2);
        let (known, problems) = KnownServers::load(&path).unwrap();
        assert!(problems.is_empty());
        assert_eq!(known.entries().len(), 2);
    }

    #[test]
    fn a_missing_file_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let (known, problems) = KnownServers::load(&dir.path().join("none")).unwrap();
        assert!(known.entries().is_empty() && problems.is_empty());
    }

    #[test]
    fn fingerprints_are_normalized_or_refused() {
        let upper = fp(0xAB);
        assert_eq!(normalize_fingerprint(&upper).unwrap(), upper);
        assert_eq!(
            normalize_fingerprint(&upper.to_ascii_lowercase()).unwrap(),
            upper
        );
        assert_eq!(
            normalize_fingerprint(upper.trim_start_matches("SHA256:")).unwrap(),
            upper
        );
        for bad in [
            "",
            "SHA256:",
            "SHA1:AB",
            "SHA256:AB:CD",
            &upper[..upper.len() - 1],
        ] {
            assert!(normalize_fingerprint(bad).is_err(), "{bad}");
        }
        assert!(normalize_fingerprint(&format!("{upper}:00")).is_err());
    }
}

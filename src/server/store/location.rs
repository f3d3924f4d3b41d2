//! Where the server's storage is: an SQLite file, or a PostgreSQL database
//! named by a `postgres://` URL.
//!
//! A URL may carry a password. It is kept only to connect: [`PgUrl`]'s
//! `Display` and `Debug` leave it out, and every error and log line shows
//! the URL through them, so a password given on the command line never ends
//! up in a log, an error message or a test's output.

use std::fmt;
use std::path::{Path, PathBuf};

/// The storage `--db` names. The scheme picks the backend: `postgres://` or
/// `postgresql://` is PostgreSQL, anything else an SQLite file.
#[derive(Clone, PartialEq, Eq)]
pub enum DbLocation {
    Sqlite(PathBuf),
    Postgres(PgUrl),
}

impl DbLocation {
    /// Reads a `--db` value.
    pub fn parse(s: &str) -> Result<DbLocation, PgUrlError> {
        if PgUrl::has_scheme(s) {
            Ok(DbLocation::Postgres(PgUrl::parse(s)?))
        } else {
            Ok(DbLocation::Sqlite(PathBuf::from(s)))
        }
    }

    /// The SQLite file, if that is the backend.
    pub fn sqlite_path(&self) -> Option<&Path> {
        match self {
            DbLocation::Sqlite(p) => Some(p),
            DbLocation::Postgres(_) => None,
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, DbLocation::Postgres(_))
    }
}

impl From<PathBuf> for DbLocation {
    fn from(p: PathBuf) -> Self {
        DbLocation::Sqlite(p)
    }
}

impl From<&Path> for DbLocation {
    fn from(p: &Path) -> Self {
        DbLocation::Sqlite(p.to_path_buf())
    }
}

impl From<&PathBuf> for DbLocation {
    fn from(p: &PathBuf) -> Self {
        DbLocation::Sqlite(p.clone())
    }
}

impl From<PgUrl> for DbLocation {
    fn from(u: PgUrl) -> Self {
        DbLocation::Postgres(u)
    }
}

impl From<&DbLocation> for DbLocation {
    fn from(d: &DbLocation) -> Self {
        d.clone()
    }
}

impl fmt::Display for DbLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DbLocation::Sqlite(p) => write!(f, "{}", p.display()),
            DbLocation::Postgres(u) => u.fmt(f),
        }
    }
}

impl fmt::Debug for DbLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DbLocation::Sqlite(p) => f.debug_tuple("Sqlite").field(p).finish(),
            DbLocation::Postgres(u) => f.debug_tuple("Postgres").field(u).finish(),
        }
    }
}

/// Why a `postgres://` URL was not understood. It never quotes the URL: the
/// URL may hold a password.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PgUrlError {
    #[error("a PostgreSQL URL looks like postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE; {0}")]
    Shape(&'static str),
}

/// Where the server is: a host name or address, or the directory of a Unix
/// socket (written `%2Frun%2Fpostgresql` in the URL, or `?host=/run/...`).
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum PgHost {
    Tcp(String),
    Socket(PathBuf),
}

/// A parsed `postgres://` URL. The password is only handed to the
/// connection; `Display` is `postgres://user@host:port/db` without it.
#[derive(Clone, PartialEq, Eq)]
pub struct PgUrl {
    user: String,
    password: Option<String>,
    host: PgHost,
    port: u16,
    dbname: String,
}

impl PgUrl {
    fn has_scheme(s: &str) -> bool {
        let lower = s.get(..13).unwrap_or(s).to_ascii_lowercase();
        lower.starts_with("postgres://") || lower.starts_with("postgresql://")
    }

    /// `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?host=/socket/dir]`,
    /// with `%XX` escapes in every part. `postgresql://` is the same.
    pub fn parse(s: &str) -> Result<PgUrl, PgUrlError> {
        let shape = PgUrlError::Shape;
        let rest = s
            .split_once("://")
            .filter(|(scheme, _)| {
                scheme.eq_ignore_ascii_case("postgres") || scheme.eq_ignore_ascii_case("postgresql")
            })
            .map(|(_, rest)| rest)
            .ok_or(shape("it must start with postgres:// or postgresql://"))?;
        let (rest, query) = match rest.split_once('?') {
            Some((r, q)) => (r, Some(q)),
            None => (rest, None),
        };
        let (authority, path) = rest
            .split_once('/')
            .ok_or(shape("the database name is missing"))?;
        let dbname = decode(path)?;
        if dbname.is_empty() || dbname.contains('/') {
            return Err(shape("the database name is missing"));
        }
        // The password may contain '@' only escaped; the last '@' ends the
        // user part either way.
        let (userinfo, hostport) = authority
            .rsplit_once('@')
            .ok_or(shape("the user name is missing (USER@HOST)"))?;
        let (user, password) = match userinfo.split_once(':') {
            Some((u, p)) => (decode(u)?, Some(decode(p)?)),
            None => (decode(userinfo)?, None),
        };
        if user.is_empty() {
            return Err(shape("the user name is missing (USER@HOST)"));
        }
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let (addr, after) = v6
                .split_once(']')
                .ok_or(shape("an IPv6 address must be closed with ]"))?;
            (addr.to_owned(), after.strip_prefix(':'))
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (decode(h)?, Some(p)),
                None => (decode(hostport)?, None),
            }
        };
        let port = match port {
            Some(p) => p.parse().map_err(|_| shape("the port is not a number"))?,
            None => 5432,
        };
        let mut host = if host.starts_with('/') {
            PgHost::Socket(PathBuf::from(host))
        } else {
            PgHost::Tcp(host)
        };
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            match k {
                "host" => {
                    let v = decode(v)?;
                    host = if v.starts_with('/') {
                        PgHost::Socket(PathBuf::from(v))
                    } else {
                        PgHost::Tcp(v)
                    };
                }
                // The connection is never encrypted (no TLS library for
                // it): accept only what says so, refuse what asks for TLS.
                "sslmode" if matches!(v, "disable" | "prefer" | "allow") => {}
                "sslmode" => {
                    return Err(shape(
                        "sslmode other than disable is not supported (no TLS to PostgreSQL)",
                    ))
                }
                _ => return Err(shape("the only parameters understood are host and sslmode")),
            }
        }
        if matches!(&host, PgHost::Tcp(h) if h.is_empty()) {
            return Err(shape("the host is missing"));
        }
        Ok(PgUrl {
            user,
            password,
            host,
            port,
            dbname,
        })
    }

    pub fn user(&self) -> &str {
        &self.user
    }

    pub fn dbname(&self) -> &str {
        &self.dbname
    }

    pub fn host(&self) -> &PgHost {
        &self.host
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The same server and user, another database (tests make one each).
    pub fn with_dbname(&self, dbname: &str) -> PgUrl {
        PgUrl {
            dbname: dbname.to_owned(),
            ..self.clone()
        }
    }

    /// The connection settings, password included: for connecting only.
    pub fn config(&self) -> ::postgres::Config {
        let mut c = ::postgres::Config::new();
        c.user(&self.user)
            .dbname(&self.dbname)
            .port(self.port)
            .application_name("tchat-server")
            .connect_timeout(std::time::Duration::from_secs(10));
        match &self.host {
            PgHost::Tcp(h) => c.host(h),
            PgHost::Socket(p) => c.host_path(p),
        };
        if let Some(p) = &self.password {
            c.password(p);
        }
        c
    }
}

impl fmt::Display for PgUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = match &self.host {
            PgHost::Tcp(h) if h.contains(':') => format!("[{h}]"),
            PgHost::Tcp(h) => h.clone(),
            PgHost::Socket(p) => encode(&p.display().to_string()),
        };
        write!(
            f,
            "postgres://{}@{host}:{}/{}",
            encode(&self.user),
            self.port,
            encode(&self.dbname)
        )
    }
}

impl fmt::Debug for PgUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PgUrl({self})")
    }
}

/// Undoes `%XX` escapes.
fn decode(s: &str) -> Result<String, PgUrlError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or(PgUrlError::Shape("a % escape is not two hex digits"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| PgUrlError::Shape("an escape is not UTF-8"))
}

/// Escapes what would not read back as one part of a URL.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scheme_picks_the_backend() {
        assert_eq!(
            DbLocation::parse("/var/lib/tchat/tchat.db").unwrap(),
            DbLocation::Sqlite("/var/lib/tchat/tchat.db".into())
        );
        assert_eq!(
            DbLocation::parse("postgres.db").unwrap(),
            DbLocation::Sqlite("postgres.db".into())
        );
        assert!(DbLocation::parse("postgres://u@h/d").unwrap().is_postgres());
        assert!(DbLocation::parse("postgresql://u@h/d")
            .unwrap()
            .is_postgres());
        assert!(DbLocation::parse("POSTGRES://u@h/d").unwrap().is_postgres());
    }

    #[test]
    fn parts_are_read_with_defaults_and_escapes() {
        let u = PgUrl::parse("postgres://chat%40x:p%3Ass@db.example:6543/tchat").unwrap();
        assert_eq!(u.user(), "chat@x");
        assert_eq!(u.password.as_deref(), Some("p:ss"));
        assert_eq!(u.host(), &PgHost::Tcp("db.example".into()));
        assert_eq!(u.port(), 6543);
        assert_eq!(u.dbname(), "tchat");
        let u = PgUrl::parse("postgresql://me@[::1]/x").unwrap();
        assert_eq!((u.host(), u.port()), (&PgHost::Tcp("::1".into()), 5432));
        let u = PgUrl::parse("postgres://me@%2Frun%2Fpostgresql/x").unwrap();
        assert_eq!(u.host(), &PgHost::Socket("/run/postgresql".into()));
        let u = PgUrl::parse("postgres://me@localhost/x?host=/tmp&sslmode=disable").unwrap();
        assert_eq!(u.host(), &PgHost::Socket("/tmp".into()));
    }

    #[test]
    fn bad_urls_are_refused_without_quoting_them() {
        for bad in [
            "postgres://secret@host",
            "postgres://:secret@host/db",
            "postgres://host/db",
            "postgres://u:secret@host:port/db",
            "postgres://u:secret@host/db?sslmode=require",
            "postgres://u:secret@host/db?password=secret",
            "postgres://u:sec%zzret@host/db",
        ] {
            let e = PgUrl::parse(bad).unwrap_err().to_string();
            assert!(!e.contains("secret"), "{bad}: {e}");
        }
    }

    #[test]
    fn the_password_is_never_shown() {
        let loc = DbLocation::parse("postgres://alice:hunter2@db:5433/chat").unwrap();
        assert_eq!(loc.to_string(), "postgres://alice@db:5433/chat");
        assert!(!format!("{loc:?}").contains("hunter2"));
        let DbLocation::Postgres(u) = &loc else {
            unreachable!()
        };
        assert!(!format!("{u:?}").contains("hunter2"));
        assert!(!format!("{:?}", u.config()).contains("hunter2"));
        assert_eq!(u.config().get_password(), Some(&b"hunter2"[..]));
        assert_eq!(
            PgUrl::parse("postgres://a@h/d").unwrap().to_string(),
            "postgres://a@h:5432/d"
        );
    }
}

//! A throwaway PostgreSQL for tests: one cluster per test binary, started
//! on first use, and a fresh database for every caller, so tests run in
//! parallel without seeing each other's data.
//!
//! The cluster lives in a temporary directory, listens on 127.0.0.1 on a
//! free port (and a Unix socket in that directory), trusts every local
//! connection, and skips every fsync. It ends with the test binary: at a
//! normal exit it is shut down and its directory removed; if the binary is
//! killed, even with SIGKILL, the kernel kills it (`PR_SET_PDEATHSIG`).
//!
//! PostgreSQL refuses to run as root, and CI runs as root: then the
//! directory is given to the `postgres` user (or `nobody`) and initdb and
//! postgres run as that user.
//!
//! No PostgreSQL binaries: every test that asks for a database panics with
//! a message saying what to install. Such tests never pass silently.
#![allow(dead_code)]

use std::ffi::CString;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use tchat::server::store::{DbLocation, PgUrl};

/// The superuser initdb makes; every test connects as it.
const SUPERUSER: &str = "tchat";

struct Cluster {
    port: u16,
    dir: PathBuf,
    /// A connection to the `postgres` database, for CREATE DATABASE.
    admin: Mutex<postgres::Client>,
}

static CLUSTER: OnceLock<Result<Cluster, String>> = OnceLock::new();
static NEXT_DB: AtomicU64 = AtomicU64::new(1);
/// The postmaster's pid, for the shutdown at exit (0: none).
static POSTMASTER: AtomicU32 = AtomicU32::new(0);
static DIR_TO_REMOVE: OnceLock<PathBuf> = OnceLock::new();

/// The URL of a new, empty database on the test cluster.
pub fn fresh_database() -> PgUrl {
    // The postgres client must not run on a thread that drives async
    // tasks (tests call this from inside tokio): use a thread of its own.
    std::thread::spawn(fresh_database_here)
        .join()
        .unwrap_or_else(|e| std::panic::resume_unwind(e))
}

/// [`fresh_database`] as a `--db` location.
pub fn fresh_location() -> DbLocation {
    DbLocation::Postgres(fresh_database())
}

fn fresh_database_here() -> PgUrl {
    let cluster = match CLUSTER.get_or_init(start) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    };
    let name = format!(
        "t_{}_{}",
        NEXT_DB.fetch_add(1, Ordering::Relaxed),
        std::process::id()
    );
    // An identifier cannot be a parameter; this one is made here, of
    // letters, digits and underscores only.
    cluster
        .admin
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap_or_else(|e| panic!("cannot create the test database {name}: {e}"));
    url(cluster.port, &name)
}

fn url(port: u16, db: &str) -> PgUrl {
    PgUrl::parse(&format!("postgres://{SUPERUSER}@127.0.0.1:{port}/{db}")).expect("test URL")
}

/// Where `initdb` and `postgres` are: `TCHAT_PG_BIN`, then `PATH`, then
/// the Debian layout (`/usr/lib/postgresql/<version>/bin`, newest first).
fn find_bin_dir() -> Option<PathBuf> {
    let has_both = |d: &Path| d.join("initdb").is_file() && d.join("postgres").is_file();
    if let Some(d) = std::env::var_os("TCHAT_PG_BIN") {
        let d = PathBuf::from(d);
        return has_both(&d).then_some(d);
    }
    let mut candidates: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    candidates.push("/usr/local/bin".into());
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse().ok()?;
            Some((v, e.path().join("bin")))
        })
        .collect();
    versions.sort_by_key(|v| std::cmp::Reverse(v.0));
    candidates.extend(versions.into_iter().map(|(_, p)| p));
    candidates.into_iter().find(|d| has_both(d))
}

/// The user PostgreSQL runs as when we are root.
fn unprivileged_user() -> Option<(libc::uid_t, libc::gid_t)> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return None;
    }
    for name in ["postgres", "nobody"] {
        let c = CString::new(name).expect("no NUL");
        // SAFETY: getpwnam gets a valid C string; the record it returns is
        // read at once, before any other call that could reuse it.
        let pw = unsafe { libc::getpwnam(c.as_ptr()) };
        if !pw.is_null() {
            // SAFETY: pw is non-null and points to a passwd record.
            let (uid, gid) = unsafe { ((*pw).pw_uid, (*pw).pw_gid) };
            return Some((uid, gid));
        }
    }
    Some((65534, 65534))
}

/// Makes `cmd` run as `user` (when given) and die with this process.
fn confine(cmd: &mut Command, user: Option<(libc::uid_t, libc::gid_t)>, parent: libc::pid_t) {
    // SAFETY: the closure only makes async-signal-safe system calls.
    unsafe {
        cmd.pre_exec(move || {
            if let Some((uid, gid)) = user {
                // Ourselves, in this order, rather than Command::uid/gid:
                // the death signal below must be set after the change of
                // credentials, which clears it.
                if libc::setgroups(0, std::ptr::null()) != 0
                    || libc::setgid(gid) != 0
                    || libc::setuid(uid) != 0
                {
                    return Err(std::io::Error::last_os_error());
                }
            }
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The parent may have gone before the signal was armed.
            if libc::getppid() != parent {
                libc::_exit(1);
            }
            Ok(())
        });
    }
}

fn chown(path: &Path, user: Option<(libc::uid_t, libc::gid_t)>) -> Result<(), String> {
    if let Some((uid, gid)) = user {
        std::os::unix::fs::chown(path, Some(uid), Some(gid))
            .map_err(|e| format!("cannot chown {}: {e}", path.display()))?;
    }
    Ok(())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn start() -> Result<Cluster, String> {
    let dir = std::env::temp_dir().join(format!(
        "tchat-pg-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    ));
    let _ = DIR_TO_REMOVE.set(dir.clone());
    // SAFETY: at_exit is an extern "C" fn that lives as long as the program.
    unsafe { libc::atexit(at_exit) };
    let instance = Instance::create(dir.clone())?;
    let pid = instance.launch()?;
    POSTMASTER.store(pid, Ordering::SeqCst);
    let admin = instance.connect("postgres")?;
    Ok(Cluster {
        port: instance.port,
        dir,
        admin: Mutex::new(admin),
    })
}

/// One initialised PostgreSQL data directory and where it listens.
struct Instance {
    bin: PathBuf,
    data: PathBuf,
    sock: PathBuf,
    log_path: PathBuf,
    user: Option<(libc::uid_t, libc::gid_t)>,
    port: u16,
}

impl Instance {
    /// `initdb` into `dir/data`, as an unprivileged user when we are root.
    fn create(dir: PathBuf) -> Result<Instance, String> {
        let bin = find_bin_dir().ok_or_else(|| {
            "PostgreSQL binaries (initdb, postgres) not found in TCHAT_PG_BIN, PATH, /usr/local/bin \
             or /usr/lib/postgresql/*/bin; install PostgreSQL (apt-get install postgresql) to run \
             the PostgreSQL tests"
                .to_owned()
        })?;
        let user = unprivileged_user();
        let (data, sock) = (dir.join("data"), dir.join("sock"));
        std::fs::create_dir_all(&sock)
            .map_err(|e| format!("cannot create {}: {e}", sock.display()))?;
        chown(&dir, user)?;
        chown(&sock, user)?;
        let log_path = dir.join("postgres.log");
        let log =
            std::fs::File::create(&log_path).map_err(|e| format!("cannot create the log: {e}"))?;
        chown(&log_path, user)?;
        let mut initdb = Command::new(bin.join("initdb"));
        initdb
            .arg("-D")
            .arg(&data)
            .args(["-A", "trust", "-U", SUPERUSER, "--no-sync", "-E", "UTF8"])
            .arg("--locale=C")
            .env("LC_ALL", "C")
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone().map_err(|e| e.to_string())?))
            .stderr(Stdio::from(log));
        // SAFETY: getpid has no preconditions.
        confine(&mut initdb, user, unsafe { libc::getpid() });
        let status = initdb
            .status()
            .map_err(|e| format!("cannot run initdb: {e}"))?;
        if !status.success() {
            return Err(format!(
                "initdb failed ({status}):\n{}",
                std::fs::read_to_string(&log_path).unwrap_or_default()
            ));
        }
        Ok(Instance {
            bin,
            data,
            sock,
            log_path,
            user,
            port: free_port(),
        })
    }

    /// Starts the postmaster; its pid.
    fn launch(&self) -> Result<u32, String> {
        let log = std::fs::OpenOptions::new()
            .append(true)
            .open(&self.log_path)
            .map_err(|e| format!("cannot open the log: {e}"))?;
        let mut postgres = Command::new(self.bin.join("postgres"));
        postgres
            .arg("-D")
            .arg(&self.data)
            .arg("-p")
            .arg(self.port.to_string())
            .arg("-k")
            .arg(&self.sock)
            .args([
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "max_connections=300",
                "-c",
                "shared_buffers=32MB",
            ])
            .env("LC_ALL", "C")
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone().map_err(|e| e.to_string())?))
            .stderr(Stdio::from(log));
        // SAFETY: getpid has no preconditions.
        confine(&mut postgres, self.user, unsafe { libc::getpid() });
        // The death signal fires when the *thread* that forked the child
        // exits, so it is forked by a thread that lives as long as the process.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("pg-support-postmaster".into())
            .spawn(move || match postgres.spawn() {
                Ok(child) => {
                    let _ = tx.send(Ok(child.id()));
                    let _child = child;
                    loop {
                        std::thread::park();
                    }
                }
                Err(e) => {
                    let _ = tx.send(Err(format!("cannot start postgres: {e}")));
                }
            })
            .map_err(|e| e.to_string())?;
        rx.recv().map_err(|e| e.to_string())?
    }

    /// A connection to `db`, once the postmaster accepts them.
    fn connect(&self, db: &str) -> Result<postgres::Client, String> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            match url(self.port, db).config().connect(postgres::NoTls) {
                Ok(c) => return Ok(c),
                Err(e) if Instant::now() > deadline => {
                    return Err(format!(
                        "the test PostgreSQL did not accept connections within a minute ({e}):\n{}",
                        std::fs::read_to_string(&self.log_path).unwrap_or_default()
                    ))
                }
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }
}

/// A PostgreSQL of one test's own, which the test may stop and start again
/// on the same port: the database restarted under traffic.
pub struct OwnPostgres {
    instance: Instance,
    pid: Option<libc::pid_t>,
    _dir: tempfile::TempDir,
}

impl OwnPostgres {
    /// A new cluster with an empty database `tchat`. Blocks: call it off
    /// the async threads (`spawn_blocking`).
    pub fn start() -> OwnPostgres {
        let dir = tempfile::tempdir().expect("temp dir");
        let instance = Instance::create(dir.path().to_path_buf()).unwrap_or_else(|e| panic!("{e}"));
        let mut own = OwnPostgres {
            instance,
            pid: None,
            _dir: dir,
        };
        own.resume();
        own.instance
            .connect("postgres")
            .and_then(|mut c| {
                c.batch_execute("CREATE DATABASE tchat")
                    .map_err(|e| e.to_string())
            })
            .unwrap_or_else(|e| panic!("{e}"));
        own
    }

    pub fn url(&self) -> PgUrl {
        url(self.instance.port, "tchat")
    }

    /// A fast shutdown (SIGINT): connections are cut, what was committed
    /// stays. Returns once the postmaster is gone.
    pub fn stop(&mut self) {
        if let Some(pid) = self.pid.take() {
            // SAFETY: signalling and reaping our own child.
            unsafe {
                libc::kill(pid, libc::SIGINT);
                libc::waitpid(pid, std::ptr::null_mut(), 0);
            }
        }
    }

    /// Starts it again and waits until it accepts connections.
    pub fn resume(&mut self) {
        let pid = self.instance.launch().unwrap_or_else(|e| panic!("{e}"));
        self.pid = Some(pid as libc::pid_t);
        drop(
            self.instance
                .connect("postgres")
                .unwrap_or_else(|e| panic!("{e}")),
        );
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        if let Some(pid) = self.pid.take() {
            // SAFETY: signalling and reaping our own child.
            unsafe {
                libc::kill(pid, libc::SIGQUIT);
                libc::waitpid(pid, std::ptr::null_mut(), 0);
            }
        }
    }
}

/// At a normal exit: an immediate shutdown (SIGQUIT), then the directory.
extern "C" fn at_exit() {
    let pid = POSTMASTER.load(Ordering::SeqCst) as libc::pid_t;
    if pid > 0 {
        // SAFETY: signalling and reaping our own child.
        unsafe {
            libc::kill(pid, libc::SIGQUIT);
            let deadline = Instant::now() + Duration::from_secs(5);
            while libc::waitpid(pid, std::ptr::null_mut(), libc::WNOHANG) == 0
                && Instant::now() < deadline
            {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
    if let Some(dir) = DIR_TO_REMOVE.get() {
        let _ = std::fs::remove_dir_all(dir);
    }
}

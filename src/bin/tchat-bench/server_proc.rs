//! Starting `tchat-server` as a child process and reading its costs from
//! /proc, so the figures are the server's alone, not the generator's.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// A running server started by the generator.
pub struct ServerProcess {
    child: Child,
    pub addr: SocketAddr,
    /// From spawn to `listening on`.
    pub startup: Duration,
}

/// CPU time (user + system) and memory of a process, from /proc.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcStats {
    pub cpu: Duration,
    pub rss_kib: u64,
    pub peak_rss_kib: u64,
}

impl ServerProcess {
    /// Starts the server on `db` (a path or a URL), under `taskset -c cpus`
    /// when `cpus` is given (taskset execs the server, so the child's pid is the server's).
    pub fn start_on(
        bin: &Path,
        db: &Path,
        cost: u32,
        extra: &[&str],
        cpus: Option<&str>,
    ) -> Result<ServerProcess> {
        let began = Instant::now();
        let mut child = pinned_command(bin, cpus)
            .args([
                "--listen",
                "127.0.0.1:0",
                "--bcrypt-cost",
                &cost.to_string(),
                "--max-msg-rate",
                "0",
                "--db",
            ])
            .arg(db)
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        let stdout = child.stdout.take().context("no stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let startup = began.elapsed();
        let Some(addr) = line.trim().strip_prefix("listening on ") else {
            let _ = child.kill();
            bail!("server did not start: {line:?}");
        };
        let addr = addr.parse().context("bad address from server")?;
        Ok(ServerProcess {
            child,
            addr,
            startup,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn stats(&self) -> ProcStats {
        proc_stats(self.child.id()).unwrap_or_default()
    }

    /// SIGTERM and wait, so the database is closed cleanly.
    pub fn stop(mut self) -> Result<()> {
        // SAFETY: plain kill(2) on our own child's pid.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let status = self.child.wait()?;
        if !status.success() {
            bail!("server exited with {status}");
        }
        Ok(())
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A command running `bin` under `taskset -c cpus` when `cpus` is given
/// (taskset execs it, so the child's pid is `bin`'s).
pub fn pinned_command(bin: &Path, cpus: Option<&str>) -> Command {
    match cpus {
        Some(cpus) => {
            let mut c = Command::new("taskset");
            c.args(["-c", cpus]).arg(bin);
            c
        }
        None => Command::new(bin),
    }
}

/// The generator's own CPU time, to show which side a run was limited by.
pub fn own_stats() -> ProcStats {
    proc_stats(std::process::id()).unwrap_or_default()
}

pub fn proc_stats(pid: u32) -> Option<ProcStats> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which may contain spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    let cpu = Duration::from_secs_f64((utime + stime) as f64 / ticks as f64);
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib = |key: &str| {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    Some(ProcStats {
        cpu,
        rss_kib: kib("VmRSS:"),
        peak_rss_kib: kib("VmHWM:"),
    })
}

/// The `tchat-server` next to this executable, where cargo puts it.
pub fn default_server_bin() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("tchat-server")))
        .unwrap_or_else(|| PathBuf::from("tchat-server"))
}

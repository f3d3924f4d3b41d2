//! Starting ngIRCd as a child process, so that tchat can be compared with
//! a plain IRC server on the same machine, pinned the same way, and
//! reading its costs from /proc.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::server_proc::{pinned_command, proc_stats, ProcStats};

/// A running ngIRCd, its configuration and log in a directory of its own.
pub struct IrcServer {
    child: Child,
    pub addr: SocketAddr,
    dir: tempfile::TempDir,
}

/// The configuration: one server on `port` of 127.0.0.1 with every limit
/// the configuration offers lifted. What cannot be lifted (ngIRCd 26):
/// at most 3 commands of a client are handled per pass of its event loop
/// (10 for operators with user mode `F`), a client's unsent output may
/// not exceed 32 KiB (beyond it the client is dropped: "Write buffer
/// space exhausted"), and the listen backlog is 10 connections.
/// `MaxPenaltyTime = 0` turns the flood penalties off: without it a client
/// sending more than 3 commands at once, or 256 bytes in a second, waits
/// a second. `PingTimeout`/`PongTimeout` of 600 s: a client that only
/// listens (and so never answers a PING) is not dropped within 20 minutes.
fn config(dir: &Path, port: u16) -> String {
    let dir = dir.display();
    format!(
        "[Global]
Name = irc.bench
Info = tchat-bench
AdminInfo1 = tchat-bench
AdminInfo2 = loopback
AdminEMail = bench@irc.bench
Listen = 127.0.0.1
Ports = {port}
MotdFile = {dir}/ngircd.motd
PidFile = {dir}/ngircd.pid

[Limits]
MaxConnections = 0
MaxConnectionsIP = 0
MaxJoins = 0
MaxNickLength = 20
MaxPenaltyTime = 0
PingTimeout = 600
PongTimeout = 600

[Options]
PAM = no
Ident = no
DNS = no
IncludeDir = {dir}/conf.d
"
    )
}

/// A port free on 127.0.0.1 a moment ago.
fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

impl IrcServer {
    /// Starts `bin` (ngircd) in the foreground, under `taskset -c cpus`
    /// when `cpus` is given, and waits until it accepts connections.
    pub fn start(bin: &Path, cpus: Option<&str>) -> Result<IrcServer> {
        let dir = tempfile::Builder::new()
            .prefix("tchat-bench-ircd")
            .tempdir()?;
        // Started as root, ngIRCd runs as `nobody` (it will not stay root)
        // and writes its PID file after switching.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777))?;
        std::fs::write(dir.path().join("ngircd.motd"), "tchat-bench\n")?;
        // Its own include directory, so that no snippet of the system's
        // configuration applies.
        std::fs::create_dir(dir.path().join("conf.d"))?;
        let conf = dir.path().join("ngircd.conf");
        let port = free_port()?;
        std::fs::write(&conf, config(dir.path(), port))?;
        let log = File::create(dir.path().join("ngircd.log"))?;
        let child = pinned_command(bin, cpus)
            .arg("--nodaemon")
            .arg("--config")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        let mut server = IrcServer {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            dir,
        };
        server.wait_ready()?;
        Ok(server)
    }

    fn wait_ready(&mut self) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!("ngircd exited with {status}: {}", self.log_tail());
            }
            if std::net::TcpStream::connect(self.addr).is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "ngircd does not accept connections on {}: {}",
                    self.addr,
                    self.log_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The end of ngIRCd's log, to say why it failed.
    fn log_tail(&self) -> String {
        let mut tail = String::new();
        if let Ok(mut f) = File::open(self.dir.path().join("ngircd.log")) {
            let len = f.metadata().map_or(0, |m| m.len());
            let _ = f.seek(SeekFrom::Start(len.saturating_sub(1000)));
            let _ = f.read_to_string(&mut tail);
        }
        tail
    }

    pub fn stats(&self) -> ProcStats {
        proc_stats(self.child.id()).unwrap_or_default()
    }

    /// SIGTERM and wait.
    pub fn stop(mut self) -> Result<()> {
        // SAFETY: plain kill(2) on our own child's pid.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        self.child.wait()?;
        Ok(())
    }
}

impl Drop for IrcServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

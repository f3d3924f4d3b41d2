//! Second security round, the parts outside the hub: invisible-only text
//! (§3), look-alike reserved names (§3), and owner-only permissions on the
//! files the server writes.

mod common;

use std::fs::Permissions;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::*;
use serde_json::json;

#[tokio::test]
async fn text_of_only_invisible_characters_is_invalid_and_not_delivered() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    alice.settle().await;
    let blank = [
        "\u{200b}",
        "\u{200b}\u{200b}\u{200b}\u{200b}",
        "\u{3164}",
        "\u{3164}\u{3164}",
        "\u{200e}",
        "\u{200f}",
        "\u{200e}\u{200f}\u{200e}",
        " ",
        "\n",
        "  \n \n\t ",
        "\u{feff}\u{2060}\u{2800}\u{115f}\u{1160}\u{ffa0}",
    ];
    for text in blank {
        let reply = alice
            .error(
                json!({"type": "send", "chat": "#public", "text": text}),
                "invalid_text",
            )
            .await;
        assert!(reply.get("msg_id").is_none(), "{reply}");
    }
    alice.assert_open().await;
    alice.expect_silence().await;
    bob.expect_silence().await;
    let history = bob
        .request(json!({"type": "history", "chat": "#public"}))
        .await;
    assert_eq!(history["messages"], json!([]), "nothing stored");

    // One visible character is enough, and the invisible one is kept.
    let id = alice.say_id("#public", "a\u{200b}").await;
    for who in [&mut alice, &mut bob] {
        let m = who.expect_message("#public").await;
        assert_eq!(m["msg_id"], json!(id));
        assert_eq!(m["text"], "a\u{200b}", "delivered exactly as sent");
    }
    let history = bob
        .request(json!({"type": "history", "chat": "#public"}))
        .await;
    assert_eq!(history["messages"][0]["text"], "a\u{200b}");
}

#[tokio::test]
async fn names_that_look_like_reserved_ones_cannot_be_registered() {
    let server = TestServer::start().await;
    for name in ["adm1n", "ADM1N", "r00t", "pub1ic", "adrnin", "systern"] {
        let mut c = server.client().await;
        c.error(
            json!({"type": "register", "user": name, "password": PASSWORD}),
            "invalid_name",
        )
        .await;
        // Refused before any account was made: logging in finds nothing.
        c.error(
            json!({"type": "login", "user": name, "password": PASSWORD}),
            "bad_credentials",
        )
        .await;
    }
    // A name that only contains a reserved one is fine.
    server.user("administrator").await;
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o7777
}

/// `tchat-server ARGS` run under the usual umask 022, with its default data
/// directory at `data_home`.
fn server_command(data_home: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg("umask 022; exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_tchat-server"))
        .args(args)
        .env("XDG_DATA_HOME", data_home)
        .env_remove("TCHAT_DB")
        .env_remove("TCHAT_LISTEN")
        .stdin(Stdio::null());
    cmd
}

fn tls_gen(data_home: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["tls", "gen", "--host", "localhost"];
    args.extend_from_slice(extra);
    server_command(data_home, &args)
        .output()
        .expect("tchat-server runs")
}

#[test]
fn tls_gen_refuses_to_replace_without_force_and_always_writes_the_key_0600() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("xdg");
    let dir = tmp.path().join("certs/new");
    let dir_arg = dir.to_str().unwrap();
    let key = dir.join("key.pem");
    let cert = dir.join("cert.pem");

    let first = tls_gen(&home, &["--dir", dir_arg]);
    assert!(first.status.success(), "{first:?}");
    assert_eq!(mode(&key), 0o600);
    assert_eq!(mode(&dir), 0o700, "a directory it creates is owner-only");
    assert_eq!(mode(&tmp.path().join("certs")), 0o700);
    let key_before = std::fs::read(&key).unwrap();
    let cert_before = std::fs::read(&cert).unwrap();

    let again = tls_gen(&home, &["--dir", dir_arg]);
    assert!(!again.status.success(), "{again:?}");
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(
        err.contains(key.to_str().unwrap()) && err.contains("--force"),
        "names the file and the flag: {err}"
    );
    assert_eq!(std::fs::read(&key).unwrap(), key_before, "key untouched");
    assert_eq!(std::fs::read(&cert).unwrap(), cert_before, "cert untouched");

    // An old key left world-readable does not pass its mode on.
    std::fs::set_permissions(&key, Permissions::from_mode(0o644)).unwrap();
    let forced = tls_gen(&home, &["--dir", dir_arg, "--force"]);
    assert!(forced.status.success(), "{forced:?}");
    assert_eq!(mode(&key), 0o600);
    assert_ne!(std::fs::read(&key).unwrap(), key_before, "a new key");
    assert_ne!(std::fs::read(&cert).unwrap(), cert_before, "a new cert");

    // The default directory, <data dir>/tchat/tls, is made owner-only too.
    let default = tls_gen(&home, &[]);
    assert!(default.status.success(), "{default:?}");
    assert_eq!(mode(&home.join("tchat")), 0o700);
    assert_eq!(mode(&home.join("tchat/tls")), 0o700);
    assert_eq!(mode(&home.join("tchat/tls/key.pem")), 0o600);
}

/// A `tchat-server` process, stopped with SIGTERM when dropped.
struct ServerProcess {
    child: Child,
    addr: std::net::SocketAddr,
    stderr: PathBuf,
}

impl ServerProcess {
    fn start(data_home: &Path, stderr: PathBuf) -> ServerProcess {
        let log = std::fs::File::create(&stderr).unwrap();
        let mut child = server_command(
            data_home,
            &["--listen", "127.0.0.1:0", "--bcrypt-cost", "4"],
        )
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .expect("tchat-server starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the server says where it listens");
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .parse()
            .unwrap();
        ServerProcess {
            child,
            addr,
            stderr,
        }
    }

    /// SIGTERM, then waits for a clean exit; returns what it logged.
    fn stop(mut self) -> String {
        self.terminate();
        let status = self.child.wait().unwrap();
        assert!(status.success(), "graceful exit: {status:?}");
        std::fs::read_to_string(&self.stderr).unwrap()
    }

    fn terminate(&self) {
        // SAFETY: kill sends a signal to our own child process.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.terminate();
            let _ = self.child.wait();
        }
    }
}

/// Every file under `dir` (sockets and whatever else, by any name) is
/// 0600 and every directory 0700; returns the names found directly in it.
fn assert_owner_only_tree(dir: &Path, when: &str) -> Vec<String> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let entry = entry.unwrap();
        let path = entry.path();
        names.push(entry.file_name().to_string_lossy().into_owned());
        let meta = std::fs::symlink_metadata(&path).unwrap();
        if meta.is_dir() {
            assert_eq!(mode(&path), 0o700, "{} {when}", path.display());
            assert_owner_only_tree(&path, when);
        } else {
            assert_eq!(
                meta.permissions().mode() & 0o7777,
                0o600,
                "{} {when}",
                path.display()
            );
        }
    }
    names.sort();
    names
}

#[tokio::test]
async fn the_default_database_and_its_files_are_owner_only_under_umask_022() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("xdg");
    let data = home.join("tchat");
    let files = ["tchat.db", "tchat.db-wal", "tchat.db-shm", "tchat.db.lock"];

    let server = ServerProcess::start(&home, tmp.path().join("first.log"));
    let mut alice = TestClient::connect(server.addr).await;
    alice.register("alice").await;
    alice.say("#public", "a private thought").await;
    let mut bob = TestClient::connect(server.addr).await;
    bob.register("bob").await;
    assert_eq!(mode(&home), 0o700, "created by the server");
    assert_eq!(mode(&data), 0o700);
    for f in files {
        assert_eq!(mode(&data.join(f)), 0o600, "{f} while serving");
    }
    // Whatever else the server keeps next to its database (an admin
    // socket, a pid file, ...) is owner-only too, also once the account
    // command line has talked to the running server.
    let found = assert_owner_only_tree(&data, "while serving");
    for f in files {
        assert!(found.contains(&f.to_string()), "{f} among {found:?}");
    }
    let ban = server_command(&home, &["user", "ban", "bob"])
        .output()
        .expect("tchat-server runs");
    assert!(ban.status.success(), "{ban:?}");
    bob.expect_closed().await;
    assert_owner_only_tree(&data, "after the command line acted on the running server");
    alice.logout().await;
    server.stop();

    // Files an older version left world-readable are tightened at start.
    for f in ["tchat.db", "tchat.db.lock"] {
        std::fs::set_permissions(data.join(f), Permissions::from_mode(0o644)).unwrap();
    }
    let server = ServerProcess::start(&home, tmp.path().join("second.log"));
    let mut alice = TestClient::connect(server.addr).await;
    alice.login("alice", PASSWORD).await;
    alice.say("#public", "still private").await;
    for f in files {
        assert_eq!(mode(&data.join(f)), 0o600, "{f} after restart");
    }
    assert_owner_only_tree(&data, "after restart");
    alice.logout().await;
    let log = server.stop();
    assert!(
        log.contains("owner-only") && log.contains("tchat.db"),
        "the tightening is logged: {log}"
    );
}

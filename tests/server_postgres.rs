//! `tchat-server --db postgres://…` as a whole: the real binary serving,
//! killed and restarted, never showing the URL's password; one server per
//! database unless every one is a cluster node; `migrate` from the command
//! line. Runs on the throwaway PostgreSQL of `pg_support` whatever
//! `TCHAT_TEST_DB` says.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use common::{pg_support, TestClient, PASSWORD};
use serde_json::json;
use tchat::server::store::{DbLocation, PgUrl};
use tchat::server::{Server, ServerConfig};

/// The test database's URL with a password in it (the test cluster trusts
/// every local connection, so any password connects).
fn with_password(url: &PgUrl, password: &str) -> String {
    format!(
        "postgres://{}:{password}@127.0.0.1:{}/{}",
        url.user(),
        url.port(),
        url.dbname()
    )
}

fn server_cmd(db: &str, dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tchat-server"));
    cmd.args(["--listen", "127.0.0.1:0", "--bcrypt-cost", "4"])
        .args(["--max-msg-rate", "0", "--db", db])
        .arg("--files-dir")
        .arg(dir.join("files"))
        .env("HOME", dir)
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("RUST_LOG", "debug")
        .env_remove("TCHAT_DB")
        .env_remove("TCHAT_LISTEN");
    cmd
}

/// Starts the binary; returns it and its address. Its log goes to `log`.
fn start(db: &str, dir: &Path, log: &Path) -> (Child, std::net::SocketAddr) {
    let mut child = server_cmd(db, dir)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .expect("start tchat-server");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| {
            panic!(
                "unexpected first line {line:?}; log: {}",
                std::fs::read_to_string(log).unwrap_or_default()
            )
        })
        .parse()
        .unwrap();
    (child, addr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_serves_from_postgres_survives_kill_9_and_never_shows_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let url = pg_support::fresh_database();
    let db = with_password(&url, "s3cret-pw");
    let first_log = dir.path().join("first.log");
    let (mut server, addr) = start(&db, dir.path(), &first_log);
    let mut alice = TestClient::connect(addr).await;
    alice.register("alice").await;
    let first = alice.say_id("#public", "kept across a kill").await;
    let _ = server.kill();
    let _ = server.wait();

    // The lock went with the killed server's connection: a new one starts.
    let second_log = dir.path().join("second.log");
    let (mut server, addr) = start(&db, dir.path(), &second_log);
    let mut alice = TestClient::connect(addr).await;
    alice.login("alice", PASSWORD).await;
    let second = alice.say_id("#public", "after").await;
    assert_eq!(second, first + 1, "msg_ids go on where they were");
    let page = alice
        .request(json!({"type": "history", "chat": "#public", "limit": 10}))
        .await;
    assert_eq!(page["messages"][0]["text"], "kept across a kill");

    // A second server on the same database is refused, and says where
    // without the password.
    let refused = server_cmd(&db, dir.path()).output().unwrap();
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("already serving"), "{err}");
    assert!(err.contains(&url.to_string()), "{err}");
    let _ = server.kill();
    let _ = server.wait();

    for log in [&first_log, &second_log] {
        let text = std::fs::read_to_string(log).unwrap();
        assert!(text.contains("postgres://tchat@127.0.0.1"), "{text}");
        assert!(!text.contains("s3cret-pw"), "{text}");
    }
    assert!(!err.contains("s3cret-pw"), "{err}");
}

async fn bind(db: &DbLocation, dir: &Path, bus: Option<String>) -> Result<Server, String> {
    let mut config = ServerConfig::new("127.0.0.1:0".parse().unwrap(), db.clone());
    config.bcrypt_cost = 4;
    config.bus = bus.map(|url| tchat::server::cluster::bus::BusConfig { url, creds: None });
    config.files_dir = Some(dir.join("files"));
    Server::bind(config).await.map_err(|e| e.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_server_per_database_unless_every_one_is_a_cluster_node() {
    let dir = tempfile::tempdir().unwrap();
    let db = pg_support::fresh_location();
    let bus = common::bus_support::NatsServer::start();
    let alone = bind(&db, dir.path(), None).await.unwrap();
    let e = bind(&db, dir.path(), None).await.err().unwrap();
    assert!(
        e.contains("already serving postgres://tchat@127.0.0.1:"),
        "{e}"
    );
    let e = bind(&db, dir.path(), Some(bus.url())).await.err().unwrap();
    assert!(e.contains("without a bus is already serving"), "{e}");
    drop(alone);
    let node1 = bind(&db, dir.path(), Some(bus.url())).await.unwrap();
    let node2 = bind(&db, dir.path(), Some(bus.url())).await.unwrap();
    let e = bind(&db, dir.path(), None).await.err().unwrap();
    assert!(e.contains("already serving"), "{e}");
    drop((node1, node2));
    bind(&db, dir.path(), None).await.unwrap();
}

#[test]
fn migrate_copies_from_the_command_line_once() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = dir.path().join("old.db");
    let run = |args: &[&str], stdin: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tchat-server"))
            .args(["--bcrypt-cost", "4"])
            .args(args)
            .env("HOME", dir.path())
            .env("XDG_DATA_HOME", dir.path().join("data"))
            .env_remove("TCHAT_DB")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let sqlite_arg = sqlite.to_str().unwrap();
    for name in ["alice", "bob"] {
        let out = run(
            &["--db", sqlite_arg, "user", "add", name],
            "correct horse\n",
        );
        assert!(out.status.success(), "{out:?}");
    }
    assert!(run(&["--db", sqlite_arg, "user", "ban", "bob"], "")
        .status
        .success());
    let url = pg_support::fresh_database();
    let pg = with_password(&url, "hidden-pw");
    let out = run(&["migrate", "--from", sqlite_arg, "--db", &pg], "");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(stdout.contains("accounts:         2"), "{stdout}");
    assert!(stdout.contains("audit entries:    1"), "{stdout}");
    assert!(!stdout.contains("hidden-pw"), "{stdout}");
    let list = run(&["--db", &pg, "user", "list"], "");
    let list = String::from_utf8_lossy(&list.stdout);
    assert!(
        list.contains("alice") && list.contains("permanently"),
        "{list}"
    );
    // Into a database with accounts: refused.
    let again = run(&["migrate", "--from", sqlite_arg, "--db", &pg], "");
    assert!(!again.status.success());
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(err.contains("already has accounts"), "{err}");
    assert!(!err.contains("hidden-pw"), "{err}");
    // Only into PostgreSQL.
    let wrong = run(&["migrate", "--from", sqlite_arg, "--db", "other.db"], "");
    assert!(!wrong.status.success());
}

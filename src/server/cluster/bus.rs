//! The doorbell between nodes: NATS core publish/subscribe of one number,
//! the sequence number of the newest committed round.
//!
//! Nothing travels on the bus that is not also in the database: a node that
//! hears a number newer than what it has applied starts a round, and the
//! round reads what it missed from the round log. So a message dropped by
//! NATS (a slow consumer, a restart) costs at most the one-second tick, and
//! never an event.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use futures::StreamExt;
use tokio::sync::watch;

/// Where the bus is, as given on the command line. The URL may carry a
/// user and password: [`std::fmt::Display`] leaves them out, so it can be
/// logged.
#[derive(Clone)]
pub struct BusConfig {
    pub url: String,
    pub creds: Option<PathBuf>,
}

impl std::fmt::Display for BusConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&redact(&self.url))
    }
}

impl std::fmt::Debug for BusConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BusConfig({self})")
    }
}

/// `scheme://user:secret@host` without `user:secret@`.
pub fn redact(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((s, r)) => (Some(s), r),
        None => (None, url),
    };
    let rest = match rest.rsplit_once('@') {
        Some((_, host)) => host,
        None => rest,
    };
    match scheme {
        Some(s) => format!("{s}://{rest}"),
        None => rest.to_owned(),
    }
}

/// The URL without its credentials, and the credentials: the NATS
/// client takes them as options, not from the URL. `nats://user:pw@host`
/// is a user and password, `nats://token@host` a token; both may be
/// percent-encoded.
fn split_credentials(url: &str) -> Result<(String, Option<Credentials>), String> {
    let mut parsed = url::Url::parse(url).map_err(|e| format!("not a URL ({e})"))?;
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    let user = decode(parsed.username());
    let credentials = match parsed.password() {
        Some(password) => Some(Credentials::UserPassword(user, decode(password))),
        None if !user.is_empty() => Some(Credentials::Token(user)),
        None => None,
    };
    if credentials.is_some() {
        let _ = parsed.set_username("");
        let _ = parsed.set_password(None);
    }
    Ok((parsed.to_string(), credentials))
}

enum Credentials {
    UserPassword(String, String),
    Token(String),
}

/// Why the bus could not be joined.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("cannot read the bus credentials {path}: {source}")]
    Creds {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot connect to the bus at {url}: {message}")]
    Connect { url: String, message: String },
}

/// What the hub and the bus tasks share.
#[derive(Default)]
pub struct Doorbell {
    /// The newest round this node has applied.
    pub applied: AtomicU64,
    /// A wake-up is on its way to the hub: don't send another.
    pub pending: AtomicBool,
}

/// The hub's end: rings the other nodes after a commit.
pub struct Bell {
    newest: watch::Sender<u64>,
    pub shared: Arc<Doorbell>,
}

impl Bell {
    /// A round with this sequence number was committed here.
    pub fn ring(&self, seq: u64) {
        self.newest.send_replace(seq);
    }
}

/// Joins the bus: publishes what this node commits and calls `wake` when
/// another node committed something this one has not applied yet. The
/// tasks end with the runtime.
pub async fn join(
    config: &BusConfig,
    subject: String,
    node: &str,
    wake: impl Fn() + Send + 'static,
) -> Result<Bell, BusError> {
    let mut options = async_nats::ConnectOptions::new()
        .name(format!("tchat-server {node}"))
        // Doorbells are tiny and coalesced; a deep buffer means NATS
        // never drops one for a busy hub, and if it did, the tick catches up.
        .subscription_capacity(64 * 1024);
    if let Some(path) = &config.creds {
        options = options
            .credentials_file(path)
            .await
            .map_err(|source| BusError::Creds {
                path: path.display().to_string(),
                source,
            })?;
    }
    let (address, credentials) =
        split_credentials(&config.url).map_err(|message| BusError::Connect {
            url: config.to_string(),
            message,
        })?;
    options = match credentials {
        Some(Credentials::UserPassword(user, password)) => {
            options.user_and_password(user, password)
        }
        Some(Credentials::Token(token)) => options.token(token),
        None => options,
    };
    let client = options
        .connect(address.as_str())
        .await
        .map_err(|e| BusError::Connect {
            url: config.to_string(),
            message: redact(&e.to_string()),
        })?;
    let mut rounds = client
        .subscribe(subject.clone())
        .await
        .map_err(|e| BusError::Connect {
            url: config.to_string(),
            message: e.to_string(),
        })?;
    let shared = Arc::new(Doorbell::default());
    let (newest, mut committed) = watch::channel(0u64);
    let publisher = client.clone();
    tokio::spawn(async move {
        // Only the newest number matters: rounds committed while a publish
        // was under way are announced by the next one.
        while committed.changed().await.is_ok() {
            let seq = *committed.borrow_and_update();
            if let Err(e) = publisher
                .publish(subject.clone(), seq.to_string().into())
                .await
            {
                tracing::warn!(error = %e, "cannot announce a round on the bus");
            }
        }
    });
    let heard = shared.clone();
    tokio::spawn(async move {
        while let Some(message) = rounds.next().await {
            let Some(seq) = std::str::from_utf8(&message.payload)
                .ok()
                .and_then(|s| s.parse::<u64>().ok())
            else {
                continue;
            };
            if seq > heard.applied.load(Ordering::Acquire)
                && !heard.pending.swap(true, Ordering::AcqRel)
            {
                wake();
            }
        }
    });
    Ok(Bell { newest, shared })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_the_url_are_taken_out_of_it() {
        let (url, creds) = split_credentials("nats://al%40ice:p%3Aw@h:4222").unwrap();
        assert_eq!(url, "nats://h:4222");
        assert!(
            matches!(creds, Some(Credentials::UserPassword(u, p)) if u == "al@ice" && p == "p:w")
        );
        let (url, creds) = split_credentials("nats://t0ken@h").unwrap();
        assert_eq!(url, "nats://h");
        assert!(matches!(creds, Some(Credentials::Token(t)) if t == "t0ken"));
        let (url, creds) = split_credentials("nats://h:1").unwrap();
        assert_eq!(url, "nats://h:1");
        assert!(creds.is_none());
    }

    #[test]
    fn credentials_never_reach_a_log_line() {
        assert_eq!(
            redact("nats://alice:s3cret@bus.example:4222"),
            "nats://bus.example:4222"
        );
        assert_eq!(redact("nats://token@10.0.0.1"), "nats://10.0.0.1");
        assert_eq!(redact("nats://10.0.0.1:4222"), "nats://10.0.0.1:4222");
        let config = BusConfig {
            url: "nats://u:p@h:1".into(),
            creds: None,
        };
        assert_eq!(
            format!("{config} {config:?}"),
            "nats://h:1 BusConfig(nats://h:1)"
        );
    }
}

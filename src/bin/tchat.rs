//! `tchat`: the terminal chat client. Parses flags and config, takes over the
//! terminal and runs the client loop from the library.

use std::io;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Parser;
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;

use tchat::client::address;
use tchat::client::app::{App, Settings};
use tchat::client::config::{self, Config, TimeFormat, DEFAULT_SERVER};
use tchat::client::known_servers;
use tchat::client::login::LoginForm;
use tchat::client::theme::ThemeSet;
use tchat::client::trust::{Pin, TrustSettings};
use tchat::client::{net, remember, terminal, time, Command, Effects, Event};
use tchat::protocol::ClientFrame;

/// A full-screen terminal chat client for tchat-server.
///
/// Environment: TCHAT_SERVER and TCHAT_USER fill in the login form;
/// TCHAT_PASSWORD logs in without asking. TCHAT_PASSWORD is meant for
/// scripts and demos: other local users may be able to read a process's
/// environment, so prefer typing the password.
#[derive(Debug, Parser)]
#[command(name = "tchat", version)]
struct Args {
    /// Server address, host:port or tls://host:port [default: 127.0.0.1:7700];
    /// several separated by commas are tried in turn (failover)
    #[arg(long, env = "TCHAT_SERVER")]
    server: Option<String>,
    /// Connect with TLS (same as writing tls:// before the address)
    #[arg(long)]
    tls: bool,
    /// Also trust certificates signed by this CA (PEM); may be repeated
    #[arg(long, value_name = "PEM")]
    ca: Vec<PathBuf>,
    /// Accept exactly this server certificate (SHA256:AB:CD:…) without
    /// asking, and remember it; for scripts
    #[arg(long, value_name = "FINGERPRINT")]
    trust_fingerprint: Option<String>,
    /// User name to log in as
    #[arg(long, env = "TCHAT_USER")]
    user: Option<String>,
    /// Create the account instead of logging in
    #[arg(long)]
    register: bool,
    /// Colour theme (built in: default, light, high-contrast, solarized)
    #[arg(long)]
    theme: Option<String>,
    /// Config file [default: <config dir>/tchat/config.toml]
    #[arg(long)]
    config: Option<PathBuf>,
}

struct Edges {
    net: net::NetHandle,
    /// Where the last login is remembered.
    last_login: Option<PathBuf>,
}

impl Effects for Edges {
    fn connect(&mut self, creds: tchat::client::Credentials) {
        self.net.send(net::NetCommand::Connect(creds));
    }

    fn send(&mut self, frame: ClientFrame) {
        self.net.send(net::NetCommand::Send(frame));
    }

    fn trust(&mut self, server: String, fingerprint: String) {
        self.net.send(net::NetCommand::Trust {
            server,
            fingerprint,
        });
    }

    fn bell(&mut self) {
        terminal::bell();
    }

    fn file(&mut self, cmd: tchat::client::FileCommand) {
        self.net.send(net::NetCommand::File(cmd));
    }

    fn remember(&mut self, last: remember::LastLogin) {
        // Off the UI thread; a state directory that cannot be written only
        // means the next start is not filled in.
        if let Some(path) = self.last_login.clone() {
            std::thread::spawn(move || {
                let _ = remember::save(&path, &last);
            });
        }
    }
}

fn main() {
    if let Err(e) = run() {
        // The terminal is already restored here (the guard has dropped).
        eprintln!("tchat: {e:#}");
        std::process::exit(1);
    }
    // The input reader may still be blocked on stdin; don't wait for it.
    std::process::exit(0)
}

fn run() -> Result<()> {
    let args = Args::parse();
    // Read before any thread exists: localtime_r consults the environment.
    let utc_offset = time::local_offset_secs();
    let dir = config::config_dir();
    let (cfg_path, must_exist) = match &args.config {
        Some(p) => (p.clone(), true),
        None => (
            dir.as_ref()
                .map(|d| d.join("config.toml"))
                .unwrap_or_else(|| PathBuf::from("config.toml")),
            false,
        ),
    };
    let cfg = Config::load(&cfg_path, must_exist).context("cannot use the config file")?;
    let themes = ThemeSet::load(dir.as_ref().map(|d| d.join("themes")).as_deref())
        .context("reading themes")?;
    let theme_name = args
        .theme
        .clone()
        .or(cfg.theme.clone())
        .unwrap_or_else(|| "default".to_owned());
    let theme = themes.get(&theme_name).context("choosing the theme")?;
    // Flags, environment and config first; what they leave open comes from
    // the last login (never the password).
    let last_login = remember::default_path();
    let last = last_login.as_deref().and_then(remember::load);
    let (mut server, user, remembered) = remember::fill(
        args.server
            .clone()
            .or(cfg.server.as_ref().map(config::ServerList::text)),
        args.user.clone().or(cfg.user.clone()),
        last.as_ref(),
        DEFAULT_SERVER,
    );
    if args.tls {
        server = address::with_tls(&server);
    }
    let trust = trust_settings(&args, &server, dir.as_deref())?;
    let settings = Settings {
        bell: cfg.bell,
        twelve_hour: cfg.time_format == TimeFormat::H12,
        utc_offset,
        known_servers: trust.known_servers.clone(),
        download_dir: tchat::client::app::files::default_download_dir(),
    };
    let mut form = LoginForm::new(&server, &user, args.register);
    form.remembered = remembered;
    let mut initial = Vec::new();
    if let Ok(password) = std::env::var("TCHAT_PASSWORD") {
        if !user.is_empty() && !password.is_empty() {
            form.set_password(&password);
            if let Ok(creds) = form.credentials() {
                form.busy = true;
                initial.push(Command::Connect(creds));
            }
        }
    }
    let mut app = App::new(form, theme, themes, settings);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let result = runtime.block_on(async move {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Event>();
        let guard = terminal::TerminalGuard::enter().context("setting up the terminal")?;
        let mut term = Terminal::new(CrosstermBackend::new(io::stdout()))?;
        let size = term.size()?;
        app.size = (size.width, size.height);
        if !initial.is_empty() {
            app.conn = tchat::client::app::ConnState::Connecting;
        }
        terminal::spawn_input(tx.clone());
        terminal::spawn_signals(tx.clone());
        let mut edges = Edges {
            net: net::spawn_trusting(tx.clone(), net::Timing::default(), trust),
            last_login,
        };
        let result = tchat::client::run(&mut term, &mut app, &mut rx, &mut edges, initial).await;
        drop(guard);
        result.context("tchat stopped")
    });
    // Tasks still waiting (the terminal reader, the socket) are not joined.
    runtime.shutdown_background();
    result
}

/// What the client trusts: the OS roots, `--ca`, `known_servers` in the
/// config directory, and a `--trust-fingerprint` pin for the named server.
fn trust_settings(
    args: &Args,
    server: &str,
    dir: Option<&std::path::Path>,
) -> Result<TrustSettings> {
    let mut ca = Vec::new();
    for path in &args.ca {
        ca.extend(tchat::tls::load_certificates(path).context("cannot use --ca")?);
    }
    let pin = match &args.trust_fingerprint {
        None => None,
        Some(text) => {
            let fingerprint = known_servers::normalize_fingerprint(text)
                .with_context(|| format!("--trust-fingerprint {text:?}"))?;
            let list = address::parse_list(server).context("--trust-fingerprint")?;
            let [addr] = list.as_slice() else {
                anyhow::bail!(
                    "--trust-fingerprint names one server's certificate: give one --server, not {}",
                    list.len()
                );
            };
            if !addr.tls {
                anyhow::bail!(
                    "--trust-fingerprint needs a TLS server: add --tls or write tls://{}",
                    addr.key()
                );
            }
            Some(Pin {
                server: addr.key(),
                fingerprint,
            })
        }
    };
    Ok(TrustSettings {
        system_roots: true,
        ca,
        known_servers: dir.map(|d| d.join(known_servers::FILE_NAME)),
        pin,
    })
}

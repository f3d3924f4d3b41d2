//! The config file, `<config dir>/tchat/config.toml`.
//!
//! Every setting is optional; command-line flags and environment variables
//! override the file. A broken file is reported with its path and the line
//! and column that TOML's parser points at, never a panic.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The server used when neither flag, environment nor config names one.
pub const DEFAULT_SERVER: &str = "127.0.0.1:7700";

/// How clock times are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub enum TimeFormat {
    #[default]
    #[serde(rename = "24h")]
    H24,
    #[serde(rename = "12h")]
    H12,
}

/// One server address, or several (the nodes of one service, tried in
/// turn): `server = "a:7700"` or `server = ["a:7700", "b:7700"]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(untagged)]
pub enum ServerList {
    One(String),
    Several(Vec<String>),
}

impl ServerList {
    /// The list as the login form and `--server` take it: `a:7700,b:7700`.
    pub fn text(&self) -> String {
        match self {
            ServerList::One(s) => s.trim().to_owned(),
            ServerList::Several(list) => list
                .iter()
                .map(|s| s.trim())
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(","),
        }
    }

    /// The list for a file: one address as a string (as older files have
    /// it), several as an array.
    pub fn from_text(text: &str) -> ServerList {
        let list = crate::client::address::split_list(text);
        match list.as_slice() {
            [one] => ServerList::One((*one).to_owned()),
            _ => ServerList::Several(list.into_iter().map(str::to_owned).collect()),
        }
    }
}

/// What the config file may say.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `host:port` of the server, or a list of them (failover).
    pub server: Option<ServerList>,
    /// The user name to fill in (and log in as, with `TCHAT_PASSWORD`).
    pub user: Option<String>,
    /// The theme's name.
    pub theme: Option<String>,
    /// Ring the terminal bell on private messages and mentions.
    #[serde(default = "yes")]
    pub bell: bool,
    /// `"24h"` (default) or `"12h"`.
    #[serde(default)]
    pub time_format: TimeFormat,
}

fn yes() -> bool {
    true
}

impl Default for Config {
    fn default() -> Self {
        Config {
            server: None,
            user: None,
            theme: None,
            bell: true,
            time_format: TimeFormat::H24,
        }
    }
}

/// Why the config could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The TOML error's text already names the line and column and quotes
    /// the line, so it is shown in full rather than chained.
    #[error("{path}: {error}")]
    Parse {
        path: PathBuf,
        error: toml::de::Error,
    },
}

/// `<config dir>/tchat/`, e.g. `~/.config/tchat/` on Linux.
pub fn config_dir() -> Option<PathBuf> {
    directories::BaseDirs::new().map(|d| d.config_dir().join("tchat"))
}

impl Config {
    /// Parses config text; `path` is only used in the error.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        toml::from_str(text).map_err(|error| ConfigError::Parse {
            path: path.to_owned(),
            error,
        })
    }

    /// Reads the file at `path`. A missing file is an empty config unless
    /// `must_exist` (the user named it with `--config`).
    pub fn load(path: &Path, must_exist: bool) -> Result<Config, ConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Config::parse(&text, path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !must_exist => {
                Ok(Config::default())
            }
            Err(source) => Err(ConfigError::Io {
                path: path.to_owned(),
                source,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_config_parses() {
        let c = Config::parse(
            "server = \"chat:7700\"\nuser = \"alice\"\ntheme = \"light\"\nbell = false\ntime_format = \"12h\"\n",
            Path::new("c.toml"),
        )
        .unwrap();
        assert_eq!(c.server.map(|s| s.text()).as_deref(), Some("chat:7700"));
        assert!(!c.bell);
        assert_eq!(c.time_format, TimeFormat::H12);
        assert_eq!(
            Config::parse("", Path::new("c")).unwrap(),
            Config::default()
        );
    }

    #[test]
    fn server_is_one_address_or_a_list() {
        let c = Config::parse(
            "server = [\"a:7700\", \"tls://b:7700\"]\n",
            Path::new("c.toml"),
        )
        .unwrap();
        assert_eq!(
            c.server.map(|s| s.text()).as_deref(),
            Some("a:7700,tls://b:7700")
        );
        assert_eq!(ServerList::from_text("a:1"), ServerList::One("a:1".into()));
        assert_eq!(
            ServerList::from_text("a:1, b:2"),
            ServerList::Several(vec!["a:1".into(), "b:2".into()])
        );
        let err = Config::parse("server = 7\n", Path::new("c"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 1"), "{err}");
    }

    #[test]
    fn broken_config_names_the_line() {
        let err = Config::parse("server = \"x\"\nbell = maybe\n", Path::new("/tmp/c.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("/tmp/c.toml"), "{err}");
        assert!(err.contains("line 2"), "{err}");
        let err = Config::parse("colour = 1\n", Path::new("c"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field"), "{err}");
    }

    #[test]
    fn missing_file_is_empty_unless_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("none.toml");
        assert_eq!(Config::load(&p, false).unwrap(), Config::default());
        assert!(Config::load(&p, true).is_err());
    }
}

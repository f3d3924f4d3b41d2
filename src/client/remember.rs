//! The last server and user name, remembered in the state directory so
//! that a plain `tchat` opens the form filled in. Never the password.
//!
//! `<state dir>/last_login.toml` (on Linux `~/.local/state/tchat/`; where
//! the system has no state directory, the data directory). The file is
//! written anew (a temporary file renamed over the old) after each login
//! as a new user; a missing or broken file is simply not used.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::config::ServerList;

/// What is remembered: the server as the form had it (a list of
/// addresses, for failover, is kept whole) and the user name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastLogin {
    /// `a:7700` or `a:7700,b:7700`.
    pub server: String,
    pub user: String,
}

/// The file's form: `server` a string, or an array when there are several.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    server: ServerList,
    user: String,
}

/// `<state dir>/last_login.toml`, if the system has a home.
pub fn default_path() -> Option<PathBuf> {
    let dirs = directories::ProjectDirs::from("", "", "tchat")?;
    let dir = dirs
        .state_dir()
        .map_or_else(|| dirs.data_dir().to_path_buf(), Path::to_path_buf);
    Some(dir.join("last_login.toml"))
}

/// The remembered login at `path`; `None` if there is none or it cannot
/// be read (nothing to fill in is not an error).
pub fn load(path: &Path) -> Option<LastLogin> {
    let text = std::fs::read_to_string(path).ok()?;
    let file: File = toml::from_str(&text).ok()?;
    let last = LastLogin {
        server: file.server.text(),
        user: file.user,
    };
    (!last.server.trim().is_empty()).then_some(last)
}

/// Writes `last` to `path` (creating its directory): a temporary file
/// beside it, synced and renamed over the old one, so a crash leaves the
/// old or the new file.
pub fn save(path: &Path, last: &LastLogin) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let file = File {
        server: ServerList::from_text(&last.server),
        user: last.user.clone(),
    };
    let text = toml::to_string(&file).map_err(std::io::Error::other)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(format!("# the last login of tchat (never the password)\n{text}").as_bytes())?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Two address lists that say the same (spacing aside).
fn same_list(a: &str, b: &str) -> bool {
    super::address::split_list(a) == super::address::split_list(b)
}

/// What the form starts with: the server and user from flags, environment
/// or config where given; otherwise the remembered ones (the user only
/// with its own server). Returns `(server, user, remembered)`, where
/// `remembered` says that something came from `last`.
pub fn fill(
    server: Option<String>,
    user: Option<String>,
    last: Option<&LastLogin>,
    default_server: &str,
) -> (String, String, bool) {
    let mut remembered = false;
    let server = match (server, last) {
        (Some(s), _) => s,
        (None, Some(l)) => {
            remembered = true;
            l.server.clone()
        }
        (None, None) => default_server.to_owned(),
    };
    let user = match (user, last) {
        (Some(u), _) => u,
        (None, Some(l)) if same_list(&l.server, &server) && !l.user.is_empty() => {
            remembered = true;
            l.user.clone()
        }
        _ => String::new(),
    };
    (server, user, remembered)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn last() -> LastLogin {
        LastLogin {
            server: "tls://chat.example:7700".into(),
            user: "alice".into(),
        }
    }

    #[test]
    fn saved_and_loaded_without_a_password() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/tchat/last_login.toml");
        assert_eq!(load(&path), None);
        save(&path, &last()).unwrap();
        assert_eq!(load(&path), Some(last()));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("password ="), "{text}");
        std::fs::write(&path, "server = ").unwrap();
        assert_eq!(load(&path), None, "a broken file is not used");
    }

    #[test]
    fn a_list_of_servers_is_remembered_as_a_list() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("last_login.toml");
        let last = LastLogin {
            server: "a:7700, tls://b:7700".into(),
            user: "alice".into(),
        };
        save(&path, &last).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains(r#"server = ["a:7700", "tls://b:7700"]"#),
            "{text}"
        );
        let back = load(&path).unwrap();
        assert_eq!(back.server, "a:7700,tls://b:7700");
        // A file from before lists has a string: still read.
        std::fs::write(&path, "server = \"a:1\"\nuser = \"bob\"\n").unwrap();
        assert_eq!(load(&path).unwrap().server, "a:1");
        // The user goes with the same list, however it is spaced.
        assert_eq!(
            fill(None, None, Some(&back), "d"),
            ("a:7700,tls://b:7700".into(), "alice".into(), true)
        );
        assert_eq!(
            fill(Some("a:7700 ,tls://b:7700".into()), None, Some(&back), "d").1,
            "alice"
        );
    }

    #[test]
    fn flags_and_config_win_and_the_user_goes_with_its_server() {
        let l = last();
        assert_eq!(
            fill(None, None, Some(&l), "127.0.0.1:7700"),
            ("tls://chat.example:7700".into(), "alice".into(), true)
        );
        assert_eq!(
            fill(Some("other:1".into()), None, Some(&l), "d"),
            ("other:1".into(), String::new(), false)
        );
        assert_eq!(
            fill(None, Some("bob".into()), Some(&l), "d"),
            ("tls://chat.example:7700".into(), "bob".into(), true)
        );
        assert_eq!(
            fill(None, None, None, "d"),
            ("d".into(), String::new(), false)
        );
    }
}

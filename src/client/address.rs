//! Server addresses: `host:port`, `tls://host:port` or `tcp://host:port`.
//!
//! The scheme picks the transport, so one text field (the login form's,
//! `--server`, the config's `server`) says everything about where and how to
//! connect. Without a scheme the connection is plain TCP, which is meant for
//! loopback; `--tls` adds the scheme for you.

/// The port used when an address names none.
pub const DEFAULT_PORT: u16 = 7700;

/// A parsed server address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerAddr {
    /// Host name or IP address, without brackets.
    pub host: String,
    pub port: u16,
    pub tls: bool,
}

/// Why an address could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddrError {
    #[error("the server address is empty")]
    Empty,
    #[error("unknown scheme {0:?}: use tls:// or tcp:// (or none for plain TCP)")]
    Scheme(String),
    #[error("bad port in {0:?}: expected host:port, e.g. chat.example.org:7700")]
    Port(String),
    #[error("bad host in {0:?}: expected host:port (IPv6 as [addr]:port)")]
    Host(String),
}

impl ServerAddr {
    /// Parses `[scheme://]host[:port]`; the port defaults to 7700.
    pub fn parse(text: &str) -> Result<ServerAddr, AddrError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(AddrError::Empty);
        }
        let (tls, rest) = match text.split_once("://") {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("tls") => (true, rest),
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("tcp") => (false, rest),
            Some((scheme, _)) => return Err(AddrError::Scheme(scheme.to_owned())),
            None => (false, text),
        };
        let (host, port) = if let Some(inner) = rest.strip_prefix('[') {
            let (host, after) = inner
                .split_once(']')
                .ok_or_else(|| AddrError::Host(text.to_owned()))?;
            let port = match after {
                "" => None,
                p => Some(
                    p.strip_prefix(':')
                        .ok_or_else(|| AddrError::Port(text.to_owned()))?,
                ),
            };
            if host.parse::<std::net::Ipv6Addr>().is_err() {
                return Err(AddrError::Host(text.to_owned()));
            }
            (host, port)
        } else {
            match rest.split_once(':') {
                Some((_, p)) if p.contains(':') => return Err(AddrError::Host(text.to_owned())),
                Some((h, p)) => (h, Some(p)),
                None => (rest, None),
            }
        };
        let port = match port {
            None => DEFAULT_PORT,
            Some(p) => match p.parse::<u16>() {
                Ok(n) if n > 0 => n,
                _ => return Err(AddrError::Port(text.to_owned())),
            },
        };
        let host_ok = !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':'));
        if !host_ok {
            return Err(AddrError::Host(text.to_owned()));
        }
        Ok(ServerAddr {
            host: host.to_ascii_lowercase(),
            port,
            tls,
        })
    }

    /// `host:port` as `known_servers` lists it: lower case, IPv6 in brackets.
    pub fn key(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The address with its scheme, as the user would type it.
    pub fn display(&self) -> String {
        if self.tls {
            format!("tls://{}", self.key())
        } else {
            self.key()
        }
    }
}

/// What `--tls` does to an address (or to each of a list): adds `tls://`
/// unless a scheme is there.
pub fn with_tls(server: &str) -> String {
    split_list(server)
        .into_iter()
        .map(|one| {
            if one.contains("://") {
                one.to_owned()
            } else {
                format!("tls://{one}")
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The entries of an address list as typed (`a:7700, b:7700`), trimmed,
/// empty ones left out.
pub fn split_list(text: &str) -> Vec<&str> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}

/// Parses a list of server addresses separated by commas — the servers of
/// one service, tried in turn (failover). One address is a list of one.
/// An entry that cannot be used is named in the error.
pub fn parse_list(text: &str) -> Result<Vec<ServerAddr>, AddrError> {
    let entries = split_list(text);
    if entries.is_empty() {
        return Err(AddrError::Empty);
    }
    entries.into_iter().map(ServerAddr::parse).collect()
}

/// The list written back as one line: `a:7700,tls://b:7700`.
pub fn list_text(addrs: &[ServerAddr]) -> String {
    addrs
        .iter()
        .map(ServerAddr::display)
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(host: &str, port: u16, tls: bool) -> ServerAddr {
        ServerAddr {
            host: host.into(),
            port,
            tls,
        }
    }

    #[test]
    fn schemes_hosts_and_ports() {
        assert_eq!(
            ServerAddr::parse("127.0.0.1:7700"),
            Ok(addr("127.0.0.1", 7700, false))
        );
        assert_eq!(
            ServerAddr::parse("tls://Chat.Example.org:443"),
            Ok(addr("chat.example.org", 443, true))
        );
        assert_eq!(
            ServerAddr::parse("TCP://localhost"),
            Ok(addr("localhost", 7700, false))
        );
        assert_eq!(ServerAddr::parse("tls://[::1]:9"), Ok(addr("::1", 9, true)));
        assert_eq!(ServerAddr::parse("[::1]").unwrap().key(), "[::1]:7700");
        assert_eq!(
            ServerAddr::parse("tls://h:1").unwrap().display(),
            "tls://h:1"
        );
    }

    #[test]
    fn bad_addresses_are_refused() {
        for bad in [
            "",
            "http://h:1",
            "h:0",
            "h:99999",
            "h:x",
            "::1:7700",
            "[nothex]:1",
            "[::1]x",
            "tls://",
            "h h:1",
            "h/path:1",
            "h:1/x",
        ] {
            assert!(ServerAddr::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_tls_flag_adds_a_scheme_once() {
        assert_eq!(with_tls("h:1"), "tls://h:1");
        assert_eq!(with_tls("tls://h:1"), "tls://h:1");
        assert_eq!(with_tls("tcp://h:1"), "tcp://h:1");
        assert_eq!(with_tls("a:1, tcp://b:2"), "tls://a:1,tcp://b:2");
    }

    #[test]
    fn a_list_of_addresses_is_tried_in_turn() {
        let list = parse_list(" a:1 , tls://B:2,,").unwrap();
        assert_eq!(list, [addr("a", 1, false), addr("b", 2, true)]);
        assert_eq!(list_text(&list), "a:1,tls://b:2");
        assert_eq!(parse_list("h:1").unwrap(), [addr("h", 1, false)]);
        assert_eq!(parse_list(" , "), Err(AddrError::Empty));
        assert_eq!(
            parse_list("a:1,b:x"),
            Err(AddrError::Port("b:x".into())),
            "the bad entry is named"
        );
    }
}

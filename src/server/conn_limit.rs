//! Open connections per IP address, counted per [`limit_key`]: an IPv6
//! /64 is one address.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use super::address_key::limit_key;

/// Counts open connections per address and refuses those over the limit.
#[derive(Debug)]
pub struct ConnectionLimit {
    max: u32,
    include_loopback: bool,
    open: Mutex<HashMap<IpAddr, u32>>,
}

/// One admitted connection; dropping it frees the place.
#[derive(Debug)]
pub struct ConnectionSlot {
    limit: Arc<ConnectionLimit>,
    /// The [`limit_key`] it is counted under; `None` when not counted.
    ip: Option<IpAddr>,
}

impl ConnectionLimit {
    /// `max` 0 means no limit.
    pub fn new(max: u32, include_loopback: bool) -> Arc<Self> {
        Arc::new(ConnectionLimit {
            max,
            include_loopback,
            open: Mutex::new(HashMap::new()),
        })
    }

    /// A slot for a new connection from `ip`, or `None` when its address
    /// (its /64 for IPv6) has too many.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<ConnectionSlot> {
        let key = limit_key(ip);
        let loopback = ip.is_loopback() || key.is_loopback();
        if self.max == 0 || (loopback && !self.include_loopback) {
            return Some(ConnectionSlot {
                limit: self.clone(),
                ip: None,
            });
        }
        let mut open = self.open.lock().ok()?;
        let count = open.entry(key).or_insert(0);
        if *count >= self.max {
            return None;
        }
        *count += 1;
        Some(ConnectionSlot {
            limit: self.clone(),
            ip: Some(key),
        })
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let Some(ip) = self.ip else { return };
        if let Ok(mut open) = self.limit.open.lock() {
            if let Some(count) = open.get_mut(&ip) {
                *count -= 1;
                if *count == 0 {
                    open.remove(&ip);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_address_and_frees_on_drop() {
        let limit = ConnectionLimit::new(2, false);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let a = limit.admit(ip).unwrap();
        let _b = limit.admit(ip).unwrap();
        assert!(limit.admit(ip).is_none());
        assert!(limit.admit("192.0.2.2".parse().unwrap()).is_some());
        drop(a);
        assert!(limit.admit(ip).is_some());
        let local: IpAddr = "127.0.0.1".parse().unwrap();
        let held: Vec<_> = (0..10).map(|_| limit.admit(local).unwrap()).collect();
        assert_eq!(held.len(), 10);
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn addresses_in_one_ipv6_64_share_one_count() {
        let limit = ConnectionLimit::new(2, false);
        let a = limit.admit(ip("2001:db8:1:2::1")).unwrap();
        let _b = limit.admit(ip("2001:db8:1:2::2")).unwrap();
        assert!(limit.admit(ip("2001:db8:1:2:dead:beef:0:3")).is_none());
        // Another /64 has its own count.
        assert!(limit.admit(ip("2001:db8:1:3::1")).is_some());
        // Freeing one place in the /64 frees it for any address in it.
        drop(a);
        assert!(limit.admit(ip("2001:db8:1:2:ffff::")).is_some());
    }

    #[test]
    fn an_ipv4_mapped_address_counts_as_its_ipv4_address() {
        let limit = ConnectionLimit::new(2, false);
        let _a = limit.admit(ip("1.2.3.4")).unwrap();
        let _b = limit.admit(ip("::ffff:1.2.3.4")).unwrap();
        assert!(limit.admit(ip("1.2.3.4")).is_none());
        assert!(limit.admit(ip("::ffff:1.2.3.4")).is_none());
        assert!(limit.admit(ip("1.2.3.5")).is_some());
    }

    #[test]
    fn loopback_in_any_spelling_is_exempt_unless_asked() {
        let limit = ConnectionLimit::new(1, false);
        for local in ["127.0.0.1", "::1", "::ffff:127.0.0.1"] {
            let held: Vec<_> = (0..3).map(|_| limit.admit(ip(local)).unwrap()).collect();
            assert_eq!(held.len(), 3, "{local}");
        }
        let strict = ConnectionLimit::new(1, true);
        let _a = strict.admit(ip("::1")).unwrap();
        assert!(strict.admit(ip("::1")).is_none());
    }
}

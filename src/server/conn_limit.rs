//! Open connections per IP address.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

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

    /// A slot for a new connection from `ip`, or `None` when it has too many.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<ConnectionSlot> {
        if self.max == 0 || (ip.is_loopback() && !self.include_loopback) {
            return Some(ConnectionSlot {
                limit: self.clone(),
                ip: None,
            });
        }
        let mut open = self.open.lock().ok()?;
        let count = open.entry(ip).or_insert(0);
        if *count >= self.max {
            return None;
        }
        *count += 1;
        Some(ConnectionSlot {
            limit: self.clone(),
            ip: Some(ip),
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
}

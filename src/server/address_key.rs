//! The key per-address limits count under.
//!
//! An IPv4 address is one key, as it usually is one host or one NAT. An IPv6
//! host, though, typically gets a whole /64 to itself and can pick any of
//! its 2^64 addresses for each connection, so counting exact IPv6 addresses
//! would let one host be "many addresses". Limits are therefore kept per
//! /64 for IPv6. An IPv4-mapped IPv6 address (`::ffff:1.2.3.4`, what a
//! dual-stack socket reports for an IPv4 peer) is the IPv4 address it maps,
//! so the same peer is not counted twice under two spellings.
//!
//! Every per-address limit uses [`limit_key`]: connections per address
//! ([`super::conn_limit`]), and the login lockout and registrations per
//! address, which must key their counts by `limit_key(peer.ip())` as well.

use std::net::{IpAddr, Ipv6Addr};

/// The address a per-address limit counts `ip` under: IPv4 as is, an
/// IPv4-mapped IPv6 address as its IPv4 address, and any other IPv6 address
/// as its /64 network (the low 64 bits zeroed).
pub(crate) fn limit_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from_bits(v6.to_bits() & !u128::from(u64::MAX))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> IpAddr {
        limit_key(s.parse().unwrap())
    }

    #[test]
    fn ipv4_is_kept_as_is() {
        assert_eq!(key("192.0.2.1"), "192.0.2.1".parse::<IpAddr>().unwrap());
        assert_ne!(key("192.0.2.1"), key("192.0.2.2"));
    }

    #[test]
    fn ipv4_mapped_ipv6_is_the_ipv4_address() {
        assert_eq!(key("::ffff:1.2.3.4"), key("1.2.3.4"));
        assert_eq!(key("::ffff:1.2.3.4"), "1.2.3.4".parse::<IpAddr>().unwrap());
        assert_ne!(key("::ffff:1.2.3.4"), key("1.2.3.5"));
    }

    #[test]
    fn ipv6_addresses_in_one_64_share_a_key() {
        assert_eq!(
            key("2001:db8:1:2::1"),
            key("2001:db8:1:2:ffff:ffff:ffff:ffff")
        );
        assert_eq!(key("2001:db8:1:2:abcd::9"), key("2001:db8:1:2::"));
        assert_eq!(
            key("2001:db8:1:2::1"),
            "2001:db8:1:2::".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn ipv6_addresses_in_different_64s_do_not() {
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_ne!(key("2001:db8::1"), key("2001:db9::1"));
        // The IPv4-compatible (not mapped) form is plain IPv6.
        assert_ne!(key("::1.2.3.4"), key("1.2.3.4"));
    }
}

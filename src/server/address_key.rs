//! The key per-address limits count by.

use std::net::{IpAddr, Ipv6Addr};

/// IPv4 addresses count one by one; IPv6 addresses by their /64, since one
/// subscriber usually holds a whole /64 and could otherwise hop addresses
/// to escape every per-address limit. IPv4-mapped IPv6 counts as IPv4.
pub fn limit_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

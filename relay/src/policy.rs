//! Which peers the relay may send to: never loopback, unspecified, private
//! or link-local addresses (nor their IPv4-mapped IPv6 forms), unless an
//! operator allowed a range. Without this a TURN credential would be a
//! ticket into the server's own network.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

/// The peer address policy: the built-in refusals minus the allowed ranges.
#[derive(Debug, Clone, Default)]
pub struct PeerPolicy {
    /// Ranges relayed to even though they are refused by default (tests
    /// allow their own namespaces, a LAN deployment its LAN).
    allowed: Vec<IpNet>,
}

impl PeerPolicy {
    pub fn new(allowed: Vec<IpNet>) -> PeerPolicy {
        PeerPolicy { allowed }
    }

    /// Whether data may be relayed to and from `ip`.
    pub fn permits(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        !refused_by_default(ip) || self.allowed.iter().any(|n| n.contains(&ip))
    }
}

/// IPv4-mapped IPv6 (`::ffff:a.b.c.d`) as the IPv4 address it stands for.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

fn refused_by_default(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => refused_v4(v4),
        IpAddr::V6(v6) => refused_v6(v6),
    }
}

fn refused_v4(ip: Ipv4Addr) -> bool {
    let o = ip.octets();
    ip.is_unspecified()
        || o[0] == 0 // 0.0.0.0/8 "this network"
        || ip.is_loopback() // 127/8
        || ip.is_private() // 10/8, 172.16/12, 192.168/16
        || ip.is_link_local() // 169.254/16
        || ip.is_broadcast()
        || ip.is_multicast()
        || (o[0] == 100 && (o[1] & 0xC0) == 64) // 100.64/10 carrier-grade NAT
}

fn refused_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (s[0] & 0xFE00) == 0xFC00 // fc00::/7 unique local
        || (s[0] & 0xFFC0) == 0xFE80 // fe80::/10 link-local
        || (s[0] & 0xFFC0) == 0xFEC0 // fec0::/10 old site-local
        // ::a.b.c.d (deprecated IPv4-compatible) could reach IPv4 space.
        || (s[..6] == [0; 6])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("address")
    }

    #[test]
    fn internal_addresses_are_refused_by_default() {
        let p = PeerPolicy::default();
        for a in [
            "0.0.0.0",
            "0.1.2.3",
            "127.0.0.1",
            "127.255.0.9",
            "10.0.0.1",
            "10.255.255.255",
            "172.16.0.1",
            "172.31.255.254",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "255.255.255.255",
            "224.0.0.1",
            "::",
            "::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "febf::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.1.2.3",
            "::ffff:169.254.1.1",
            "::127.0.0.1",
        ] {
            assert!(!p.permits(ip(a)), "{a} should be refused");
        }
    }

    #[test]
    fn public_addresses_are_permitted() {
        let p = PeerPolicy::default();
        for a in [
            "8.8.8.8",
            "172.15.255.255",
            "172.32.0.1",
            "192.169.0.1",
            "100.128.0.1",
            "203.0.113.9",
            "2001:db8::1",
            "2a00:1450::1",
            "::ffff:8.8.8.8",
        ] {
            assert!(p.permits(ip(a)), "{a} should be permitted");
        }
    }

    #[test]
    fn allowed_ranges_open_exactly_themselves() {
        let p = PeerPolicy::new(vec![
            "127.0.0.0/8".parse().expect("cidr"),
            "10.99.0.0/16".parse().expect("cidr"),
        ]);
        assert!(p.permits(ip("127.0.0.1")));
        assert!(p.permits(ip("::ffff:127.0.0.1")));
        assert!(p.permits(ip("10.99.3.4")));
        assert!(!p.permits(ip("10.98.3.4")));
        assert!(!p.permits(ip("169.254.1.1")));
        assert!(!p.permits(ip("::1")));
    }
}

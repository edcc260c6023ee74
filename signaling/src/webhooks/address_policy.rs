//! Where deliveries may go: the check against server-side request
//! forgery, on every address a receiver's name resolves to.
//!
//! Refused unless the config allows them: loopback (`allow_loopback`:
//! 127.0.0.0/8 and ::1 only), private ranges (RFC 1918, fc00::/7, CGNAT
//! 100.64.0.0/10; `allow_private` lists the allowed ones), and always:
//! link-local, unspecified, multicast, broadcast and the other special
//! ranges. IPv4-mapped IPv6 addresses are judged as the IPv4 address.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

/// What the server's config allows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressPolicy {
    pub allow_loopback: bool,
    pub allow_private: Vec<IpNet>,
}

/// Why an address is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    Loopback,
    Private,
    LinkLocal,
    Unspecified,
    Multicast,
    Broadcast,
    /// Documentation, benchmarking and reserved ranges.
    Reserved,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Refused::Loopback => "a loopback address (allow it with [webhooks] allow_loopback)",
            Refused::Private => "a private address (allow its range in [webhooks] allow_private)",
            Refused::LinkLocal => "a link-local address",
            Refused::Unspecified => "the unspecified address",
            Refused::Multicast => "a multicast address",
            Refused::Broadcast => "the broadcast address",
            Refused::Reserved => "a reserved address",
        })
    }
}

impl AddressPolicy {
    /// Whether a delivery may connect to `ip`.
    pub fn check(&self, ip: IpAddr) -> Result<(), Refused> {
        let ip = canonical(ip);
        match class(ip) {
            None => Ok(()),
            Some(Refused::Loopback) if self.allow_loopback => Ok(()),
            Some(Refused::Private) if self.allow_private.iter().any(|n| n.contains(&ip)) => Ok(()),
            Some(why) => Err(why),
        }
    }
}

/// IPv4-mapped IPv6 (`::ffff:a.b.c.d`) as the IPv4 address it is.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn class(ip: IpAddr) -> Option<Refused> {
    match ip {
        IpAddr::V4(v4) => class_v4(v4),
        IpAddr::V6(v6) => class_v6(v6),
    }
}

fn class_v4(ip: Ipv4Addr) -> Option<Refused> {
    let [a, b, ..] = ip.octets();
    if ip.is_loopback() {
        Some(Refused::Loopback)
    } else if ip.is_unspecified() || a == 0 {
        Some(Refused::Unspecified)
    } else if ip.is_private() || (a == 100 && (64..128).contains(&b)) {
        Some(Refused::Private)
    } else if ip.is_link_local() {
        Some(Refused::LinkLocal)
    } else if ip.is_broadcast() {
        Some(Refused::Broadcast)
    } else if ip.is_multicast() {
        Some(Refused::Multicast)
    } else if ip.is_documentation() || a >= 240 || (a == 198 && (b & 0xfe) == 18) {
        Some(Refused::Reserved)
    } else {
        None
    }
}

fn class_v6(ip: Ipv6Addr) -> Option<Refused> {
    let first = ip.segments()[0];
    if ip.is_loopback() {
        Some(Refused::Loopback)
    } else if ip.is_unspecified() {
        Some(Refused::Unspecified)
    } else if (first & 0xfe00) == 0xfc00 {
        Some(Refused::Private)
    } else if (first & 0xffc0) == 0xfe80 {
        Some(Refused::LinkLocal)
    } else if ip.is_multicast() {
        Some(Refused::Multicast)
    } else if first == 0x2001 && ip.segments()[1] == 0x0db8 {
        Some(Refused::Reserved)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("address")
    }

    #[test]
    fn public_addresses_pass_and_special_ones_do_not() {
        let p = AddressPolicy::default();
        for ok in [
            "93.184.216.34",
            "2606:2800:220:1::1",
            "100.128.0.1",
            "172.32.0.1",
        ] {
            assert_eq!(p.check(ip(ok)), Ok(()), "{ok}");
        }
        let refused = [
            ("127.0.0.1", Refused::Loopback),
            ("127.9.9.9", Refused::Loopback),
            ("::1", Refused::Loopback),
            ("::ffff:127.0.0.1", Refused::Loopback),
            ("10.1.2.3", Refused::Private),
            ("172.16.0.1", Refused::Private),
            ("192.168.1.1", Refused::Private),
            ("100.64.0.1", Refused::Private),
            ("fd00::1", Refused::Private),
            ("::ffff:10.0.0.1", Refused::Private),
            ("169.254.169.254", Refused::LinkLocal),
            ("fe80::1", Refused::LinkLocal),
            ("0.0.0.0", Refused::Unspecified),
            ("::", Refused::Unspecified),
            ("224.0.0.1", Refused::Multicast),
            ("ff02::1", Refused::Multicast),
            ("255.255.255.255", Refused::Broadcast),
            ("192.0.2.1", Refused::Reserved),
        ];
        for (addr, why) in refused {
            assert_eq!(p.check(ip(addr)), Err(why), "{addr}");
        }
    }

    #[test]
    fn config_allows_loopback_and_listed_private_ranges_only() {
        let p = AddressPolicy {
            allow_loopback: true,
            allow_private: vec!["10.0.0.0/8".parse().expect("net")],
        };
        assert_eq!(p.check(ip("127.0.0.1")), Ok(()));
        assert_eq!(p.check(ip("::1")), Ok(()));
        assert_eq!(p.check(ip("10.20.30.40")), Ok(()));
        assert_eq!(p.check(ip("192.168.1.1")), Err(Refused::Private));
        assert_eq!(p.check(ip("169.254.1.1")), Err(Refused::LinkLocal));
        assert_eq!(p.check(ip("0.0.0.0")), Err(Refused::Unspecified));
    }
}

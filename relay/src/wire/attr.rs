//! STUN and TURN attribute types and the codecs of the structured ones:
//! XOR addresses, ERROR-CODE, 32-bit values.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::{TransactionId, MAGIC_COOKIE};

pub const USERNAME: u16 = 0x0006;
pub const MESSAGE_INTEGRITY: u16 = 0x0008;
pub const ERROR_CODE: u16 = 0x0009;
pub const UNKNOWN_ATTRIBUTES: u16 = 0x000A;
pub const CHANNEL_NUMBER: u16 = 0x000C;
pub const LIFETIME: u16 = 0x000D;
pub const XOR_PEER_ADDRESS: u16 = 0x0012;
pub const DATA: u16 = 0x0013;
pub const REALM: u16 = 0x0014;
pub const NONCE: u16 = 0x0015;
pub const XOR_RELAYED_ADDRESS: u16 = 0x0016;
pub const REQUESTED_ADDRESS_FAMILY: u16 = 0x0017;
pub const EVEN_PORT: u16 = 0x0018;
pub const REQUESTED_TRANSPORT: u16 = 0x0019;
pub const DONT_FRAGMENT: u16 = 0x001A;
pub const XOR_MAPPED_ADDRESS: u16 = 0x0020;
pub const PRIORITY: u16 = 0x0024;
pub const USE_CANDIDATE: u16 = 0x0025;
pub const SOFTWARE: u16 = 0x8022;
pub const FINGERPRINT: u16 = 0x8028;

/// REQUESTED-TRANSPORT value for UDP (the protocol number in the top byte).
pub const TRANSPORT_UDP: u8 = 17;

/// Whether this relay understands a comprehension-required attribute
/// (types below 0x8000). Requests carrying others get 420 (RFC 5389 §7.3.1).
/// DONT-FRAGMENT and EVEN-PORT are accepted and treated as hints.
pub fn understood(typ: u16) -> bool {
    typ >= 0x8000
        || matches!(
            typ,
            USERNAME
                | MESSAGE_INTEGRITY
                | ERROR_CODE
                | UNKNOWN_ATTRIBUTES
                | CHANNEL_NUMBER
                | LIFETIME
                | XOR_PEER_ADDRESS
                | DATA
                | REALM
                | NONCE
                | REQUESTED_ADDRESS_FAMILY
                | EVEN_PORT
                | REQUESTED_TRANSPORT
                | DONT_FRAGMENT
                | PRIORITY
                | USE_CANDIDATE
        )
}

/// Encode an XOR-MAPPED/RELAYED/PEER-ADDRESS value (RFC 5389 §15.2).
pub fn encode_xor_addr(addr: SocketAddr, tx: &TransactionId) -> Vec<u8> {
    let mask = xor_mask(tx);
    let port = addr.port() ^ (MAGIC_COOKIE >> 16) as u16;
    let mut v = Vec::with_capacity(20);
    match addr.ip() {
        IpAddr::V4(ip) => {
            v.extend_from_slice(&[0, 1]);
            v.extend_from_slice(&port.to_be_bytes());
            v.extend(ip.octets().iter().zip(&mask[..4]).map(|(a, m)| a ^ m));
        }
        IpAddr::V6(ip) => {
            v.extend_from_slice(&[0, 2]);
            v.extend_from_slice(&port.to_be_bytes());
            v.extend(ip.octets().iter().zip(&mask).map(|(a, m)| a ^ m));
        }
    }
    v
}

/// Decode an XOR address value; `None` if malformed.
pub fn decode_xor_addr(v: &[u8], tx: &TransactionId) -> Option<SocketAddr> {
    if v.len() < 4 {
        return None;
    }
    let mask = xor_mask(tx);
    let port = u16::from_be_bytes([v[2], v[3]]) ^ (MAGIC_COOKIE >> 16) as u16;
    let ip = match (v[1], v.len()) {
        (1, 8) => {
            let mut o = [0u8; 4];
            for (i, b) in o.iter_mut().enumerate() {
                *b = v[4 + i] ^ mask[i];
            }
            IpAddr::V4(Ipv4Addr::from(o))
        }
        (2, 20) => {
            let mut o = [0u8; 16];
            for (i, b) in o.iter_mut().enumerate() {
                *b = v[4 + i] ^ mask[i];
            }
            IpAddr::V6(Ipv6Addr::from(o))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

/// Magic cookie followed by the transaction id: what addresses are XORed with.
fn xor_mask(tx: &TransactionId) -> [u8; 16] {
    let mut m = [0u8; 16];
    m[..4].copy_from_slice(&MAGIC_COOKIE.to_be_bytes());
    m[4..].copy_from_slice(tx);
    m
}

/// Encode ERROR-CODE: class (hundreds) and number, then the reason.
pub fn encode_error_code(code: u16, reason: &str) -> Vec<u8> {
    let mut v = vec![0, 0, ((code / 100) & 0x07) as u8, (code % 100) as u8];
    v.extend_from_slice(reason.as_bytes());
    v
}

/// Decode ERROR-CODE into the numeric code.
pub fn decode_error_code(v: &[u8]) -> Option<u16> {
    (v.len() >= 4).then(|| u16::from(v[2] & 0x07) * 100 + u16::from(v[3]))
}

/// Decode a 32-bit value (LIFETIME, REQUESTED-TRANSPORT, CHANNEL-NUMBER).
pub fn decode_u32(v: &[u8]) -> Option<u32> {
    (v.len() == 4).then(|| u32::from_be_bytes([v[0], v[1], v[2], v[3]]))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TX: TransactionId = [
        0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae,
    ];

    #[test]
    fn xor_addresses_round_trip() {
        for a in [
            "192.0.2.1:32853",
            "[2001:db8:1234:5678:11:2233:4455:6677]:32853",
        ] {
            let addr: SocketAddr = a.parse().expect("address");
            let v = encode_xor_addr(addr, &TX);
            assert_eq!(decode_xor_addr(&v, &TX), Some(addr));
        }
        // RFC 5769 §2.2: 192.0.2.1 port 32853 XORed with the magic cookie.
        let v = encode_xor_addr("192.0.2.1:32853".parse().expect("address"), &TX);
        assert_eq!(v, [0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43]);
        assert_eq!(decode_xor_addr(&v[..7], &TX), None);
        assert_eq!(decode_xor_addr(&[0, 3, 0, 0, 0, 0, 0, 0], &TX), None);
    }

    #[test]
    fn error_codes() {
        let v = encode_error_code(438, "Stale Nonce");
        assert_eq!(&v[..4], &[0, 0, 4, 38]);
        assert_eq!(decode_error_code(&v), Some(438));
        assert_eq!(decode_error_code(&v[..3]), None);
    }

    #[test]
    fn unknown_required_attributes_are_not_understood() {
        assert!(understood(USERNAME) && understood(SOFTWARE) && understood(0xC001));
        assert!(!understood(0x0022)); // RESERVATION-TOKEN
        assert!(!understood(0x7FFF));
    }
}

//! STUN messages (RFC 5389 §6): the 20-byte header, type-length-value
//! attributes padded to 4 bytes, MESSAGE-INTEGRITY (HMAC-SHA1) and
//! FINGERPRINT (CRC-32).
//!
//! [`Message::decode`] borrows the datagram; [`Builder`] writes a reply.

use hmac::{Hmac, Mac};
use sha1::Sha1;

use super::attr;
use super::WireError;
pub use super::{TransactionId, MAGIC_COOKIE};

/// Bytes in a STUN header.
pub const HEADER_LEN: usize = 20;
/// XORed into the CRC-32 of FINGERPRINT ("STUN").
const FINGERPRINT_XOR: u32 = 0x5354_554E;
/// MESSAGE-INTEGRITY attribute: 4 bytes of header and a 20-byte HMAC-SHA1.
const INTEGRITY_ATTR_LEN: usize = 24;
/// FINGERPRINT attribute: 4 bytes of header and a CRC-32.
const FINGERPRINT_ATTR_LEN: usize = 8;

type HmacSha1 = Hmac<Sha1>;

/// The class of a message: request, indication or one of the responses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Request,
    Indication,
    Success,
    Error,
}

impl Class {
    fn bits(self) -> u16 {
        match self {
            Class::Request => 0b00,
            Class::Indication => 0b01,
            Class::Success => 0b10,
            Class::Error => 0b11,
        }
    }

    fn from_bits(b: u16) -> Class {
        match b & 0b11 {
            0b00 => Class::Request,
            0b01 => Class::Indication,
            0b10 => Class::Success,
            _ => Class::Error,
        }
    }
}

/// A STUN method (12 bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Method(pub u16);

impl Method {
    pub const BINDING: Method = Method(0x001);
    pub const ALLOCATE: Method = Method(0x003);
    pub const REFRESH: Method = Method(0x004);
    pub const SEND: Method = Method(0x006);
    pub const DATA: Method = Method(0x007);
    pub const CREATE_PERMISSION: Method = Method(0x008);
    pub const CHANNEL_BIND: Method = Method(0x009);
}

/// The 14-bit message type interleaves method and class bits (§6).
fn encode_type(method: Method, class: Class) -> u16 {
    let m = method.0 & 0x0FFF;
    let c = class.bits();
    (m & 0x000F) | ((m & 0x0070) << 1) | ((m & 0x0F80) << 2) | ((c & 1) << 4) | ((c & 2) << 7)
}

fn decode_type(t: u16) -> (Method, Class) {
    let m = (t & 0x000F) | ((t & 0x00E0) >> 1) | ((t & 0x3E00) >> 2);
    let c = ((t >> 4) & 1) | ((t >> 7) & 2);
    (Method(m), Class::from_bits(c))
}

/// A decoded message borrowing the bytes it came from.
#[derive(Debug, Clone)]
pub struct Message<'a> {
    pub method: Method,
    pub class: Class,
    pub transaction_id: TransactionId,
    /// Attributes up to and including MESSAGE-INTEGRITY, in order; what
    /// follows MESSAGE-INTEGRITY is ignored as §15.4 requires.
    attrs: Vec<(u16, &'a [u8])>,
    /// The whole message, for checking MESSAGE-INTEGRITY.
    raw: &'a [u8],
    /// Offset of the MESSAGE-INTEGRITY attribute header, if present.
    integrity_at: Option<usize>,
    /// Whether a (valid) FINGERPRINT ended the message; replies mirror it.
    pub has_fingerprint: bool,
}

/// Whether a datagram looks like STUN (first two bits zero, magic cookie).
pub fn is_stun(raw: &[u8]) -> bool {
    raw.len() >= HEADER_LEN && raw[0] & 0xC0 == 0 && be32(&raw[4..8]) == MAGIC_COOKIE
}

impl<'a> Message<'a> {
    /// Decode one whole message; `raw` must hold exactly one.
    pub fn decode(raw: &'a [u8]) -> Result<Message<'a>, WireError> {
        if raw.len() < HEADER_LEN {
            return Err(WireError::Truncated);
        }
        if !is_stun(raw) {
            return Err(WireError::NotStun);
        }
        let length = usize::from(be16(&raw[2..4]));
        if length % 4 != 0 || HEADER_LEN + length != raw.len() {
            return Err(WireError::BadLength);
        }
        let (method, class) = decode_type(be16(&raw[0..2]));
        let mut transaction_id = [0u8; 12];
        transaction_id.copy_from_slice(&raw[8..20]);
        let mut msg = Message {
            method,
            class,
            transaction_id,
            attrs: Vec::new(),
            raw,
            integrity_at: None,
            has_fingerprint: false,
        };
        let mut at = HEADER_LEN;
        while at < raw.len() {
            if raw.len() - at < 4 {
                return Err(WireError::Truncated);
            }
            let typ = be16(&raw[at..at + 2]);
            let len = usize::from(be16(&raw[at + 2..at + 4]));
            let padded = (len + 3) & !3;
            let value_at = at + 4;
            if raw.len() - value_at < padded {
                return Err(WireError::Truncated);
            }
            let value = &raw[value_at..value_at + len];
            if typ == attr::FINGERPRINT {
                if value_at + padded != raw.len() || len != 4 {
                    return Err(WireError::BadFingerprint);
                }
                if crc32(&raw[..at]) ^ FINGERPRINT_XOR != be32(value) {
                    return Err(WireError::BadFingerprint);
                }
                msg.has_fingerprint = true;
            } else if msg.integrity_at.is_none() {
                if typ == attr::MESSAGE_INTEGRITY {
                    if len != 20 {
                        return Err(WireError::BadLength);
                    }
                    msg.integrity_at = Some(at);
                }
                msg.attrs.push((typ, value));
            }
            at = value_at + padded;
        }
        Ok(msg)
    }

    /// The first attribute of this type.
    pub fn get(&self, typ: u16) -> Option<&'a [u8]> {
        self.attrs.iter().find(|(t, _)| *t == typ).map(|(_, v)| *v)
    }

    /// Every attribute of this type, in order (XOR-PEER-ADDRESS may repeat).
    pub fn get_all(&self, typ: u16) -> impl Iterator<Item = &'a [u8]> + '_ {
        self.attrs
            .iter()
            .filter(move |(t, _)| *t == typ)
            .map(|(_, v)| *v)
    }

    /// Types of all attributes up to and including MESSAGE-INTEGRITY.
    pub fn attr_types(&self) -> impl Iterator<Item = u16> + '_ {
        self.attrs.iter().map(|(t, _)| *t)
    }

    /// Every attribute up to and including MESSAGE-INTEGRITY, in order,
    /// as (type, value without padding).
    pub fn attributes(&self) -> &[(u16, &'a [u8])] {
        &self.attrs
    }

    /// Whether the message carries MESSAGE-INTEGRITY.
    pub fn has_integrity(&self) -> bool {
        self.integrity_at.is_some()
    }

    /// Check MESSAGE-INTEGRITY with `key` (constant-time comparison).
    /// False when the attribute is missing.
    pub fn verify_integrity(&self, key: &[u8]) -> bool {
        let Some(at) = self.integrity_at else {
            return false;
        };
        let Ok(mut mac) = HmacSha1::new_from_slice(key) else {
            return false;
        };
        // The HMAC covers the header with its length set as if the message
        // ended right after MESSAGE-INTEGRITY (§15.4).
        let covered_len = (at + INTEGRITY_ATTR_LEN - HEADER_LEN) as u16;
        mac.update(&self.raw[0..2]);
        mac.update(&covered_len.to_be_bytes());
        mac.update(&self.raw[4..at]);
        mac.verify_slice(&self.raw[at + 4..at + INTEGRITY_ATTR_LEN])
            .is_ok()
    }
}

/// Writes one message: header, attributes, then optionally
/// MESSAGE-INTEGRITY and FINGERPRINT.
#[derive(Debug)]
pub struct Builder {
    buf: Vec<u8>,
    transaction_id: TransactionId,
}

impl Builder {
    pub fn new(method: Method, class: Class, transaction_id: TransactionId) -> Builder {
        let mut buf = Vec::with_capacity(128);
        buf.extend_from_slice(&encode_type(method, class).to_be_bytes());
        buf.extend_from_slice(&[0, 0]);
        buf.extend_from_slice(&MAGIC_COOKIE.to_be_bytes());
        buf.extend_from_slice(&transaction_id);
        Builder {
            buf,
            transaction_id,
        }
    }

    /// The transaction id, for attributes XORed with it.
    pub fn transaction_id(&self) -> &TransactionId {
        &self.transaction_id
    }

    /// Append an attribute, zero-padded to 4 bytes. Values longer than
    /// 65535 bytes are the caller's bug; they are cut rather than panic.
    pub fn attr(&mut self, typ: u16, value: &[u8]) -> &mut Builder {
        let value = &value[..value.len().min(usize::from(u16::MAX))];
        self.buf.extend_from_slice(&typ.to_be_bytes());
        self.buf
            .extend_from_slice(&(value.len() as u16).to_be_bytes());
        self.buf.extend_from_slice(value);
        let pad = (4 - value.len() % 4) % 4;
        self.buf.extend_from_slice(&[0u8; 3][..pad]);
        self
    }

    /// Append a 32-bit attribute (LIFETIME).
    pub fn u32(&mut self, typ: u16, v: u32) -> &mut Builder {
        self.attr(typ, &v.to_be_bytes())
    }

    /// Append an XOR-*-ADDRESS attribute.
    pub fn xor_addr(&mut self, typ: u16, addr: std::net::SocketAddr) -> &mut Builder {
        let v = attr::encode_xor_addr(addr, &self.transaction_id);
        self.attr(typ, &v)
    }

    /// Append ERROR-CODE with its reason phrase.
    pub fn error(&mut self, code: u16, reason: &str) -> &mut Builder {
        let v = attr::encode_error_code(code, reason);
        self.attr(attr::ERROR_CODE, &v)
    }

    fn set_length(&mut self, len: usize) {
        let len = len.min(usize::from(u16::MAX)) as u16;
        self.buf[2..4].copy_from_slice(&len.to_be_bytes());
    }

    /// Finish, adding MESSAGE-INTEGRITY with `integrity_key` and a
    /// FINGERPRINT when asked.
    pub fn finish(mut self, integrity_key: Option<&[u8]>, fingerprint: bool) -> Vec<u8> {
        if let Some(key) = integrity_key {
            self.set_length(self.buf.len() - HEADER_LEN + INTEGRITY_ATTR_LEN);
            let mut value = [0u8; 20];
            // HMAC accepts keys of any length, so this cannot fail.
            if let Ok(mut mac) = HmacSha1::new_from_slice(key) {
                mac.update(&self.buf);
                value.copy_from_slice(&mac.finalize().into_bytes());
            }
            self.attr(attr::MESSAGE_INTEGRITY, &value);
        }
        if fingerprint {
            self.set_length(self.buf.len() - HEADER_LEN + FINGERPRINT_ATTR_LEN);
            let crc = crc32(&self.buf) ^ FINGERPRINT_XOR;
            self.attr(attr::FINGERPRINT, &crc.to_be_bytes());
        }
        let len = self.buf.len() - HEADER_LEN;
        self.set_length(len);
        self.buf
    }
}

/// Big-endian u16 of the first two bytes; callers pass at least two.
fn be16(b: &[u8]) -> u16 {
    u16::from_be_bytes([b[0], b[1]])
}

/// Big-endian u32 of the first four bytes; callers pass at least four.
fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// CRC-32 (ISO-HDLC, the one zlib uses), table-driven.
fn crc32(data: &[u8]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut table = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut c = i as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
                k += 1;
            }
            table[i] = c;
            i += 1;
        }
        table
    };
    let mut crc = !0u32;
    for b in data {
        crc = TABLE[((crc ^ u32::from(*b)) & 0xFF) as usize] ^ (crc >> 8);
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    const TX: TransactionId = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];

    #[test]
    fn crc32_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn message_types_interleave_method_and_class() {
        assert_eq!(encode_type(Method::BINDING, Class::Request), 0x0001);
        assert_eq!(encode_type(Method::BINDING, Class::Success), 0x0101);
        assert_eq!(encode_type(Method::ALLOCATE, Class::Error), 0x0113);
        assert_eq!(encode_type(Method::SEND, Class::Indication), 0x0016);
        assert_eq!(encode_type(Method::DATA, Class::Indication), 0x0017);
        for m in [1u16, 3, 4, 6, 7, 8, 9, 0xFFF] {
            for c in [
                Class::Request,
                Class::Indication,
                Class::Success,
                Class::Error,
            ] {
                assert_eq!(decode_type(encode_type(Method(m), c)), (Method(m), c));
            }
        }
    }

    #[test]
    fn round_trip_with_integrity_and_fingerprint() {
        let mut b = Builder::new(Method::ALLOCATE, Class::Request, TX);
        b.attr(attr::USERNAME, b"1700000000:ses_0123")
            .u32(attr::REQUESTED_TRANSPORT, 17 << 24);
        let raw = b.finish(Some(b"key"), true);
        let m = Message::decode(&raw).expect("decodes");
        assert_eq!((m.method, m.class), (Method::ALLOCATE, Class::Request));
        assert_eq!(m.transaction_id, TX);
        assert_eq!(m.get(attr::USERNAME), Some(&b"1700000000:ses_0123"[..]));
        assert!(m.has_fingerprint);
        assert!(m.verify_integrity(b"key"));
        assert!(!m.verify_integrity(b"other key"));
    }

    #[test]
    fn integrity_matches_an_independent_hmac() {
        // HMAC-SHA1 computed with Python's hmac module over the header
        // (length 0x0024) and the 12-byte USERNAME attribute below.
        let mut b = Builder::new(Method::BINDING, Class::Request, TX);
        b.attr(attr::USERNAME, b"abcdefgh");
        let raw = b.finish(Some(b"secret"), false);
        assert_eq!(
            hex::encode(&raw[raw.len() - 20..]),
            "b9e2c7b108e4651bccba33a62df54f3f61e797db"
        );
    }

    #[test]
    fn tampering_is_detected() {
        let mut b = Builder::new(Method::REFRESH, Class::Request, TX);
        b.u32(attr::LIFETIME, 600);
        let mut raw = b.finish(Some(b"key"), false);
        raw[27] ^= 1; // the lifetime value
        let m = Message::decode(&raw).expect("still well formed");
        assert!(!m.verify_integrity(b"key"));
        let mut raw = Builder::new(Method::BINDING, Class::Request, TX).finish(None, true);
        raw[10] ^= 1;
        assert_eq!(Message::decode(&raw).err(), Some(WireError::BadFingerprint));
    }

    #[test]
    fn garbage_is_rejected_without_panicking() {
        let good = Builder::new(Method::BINDING, Class::Request, TX).finish(None, false);
        assert!(Message::decode(&good).is_ok());
        assert_eq!(
            Message::decode(&good[..19]).err(),
            Some(WireError::Truncated)
        );
        let mut bad = good.clone();
        bad[4] = 0; // cookie
        assert_eq!(Message::decode(&bad).err(), Some(WireError::NotStun));
        let mut long = good.clone();
        long[3] = 8; // claims 8 bytes of attributes that are not there
        assert_eq!(Message::decode(&long).err(), Some(WireError::BadLength));
        let mut attr_overrun = good.clone();
        attr_overrun[3] = 4;
        attr_overrun.extend_from_slice(&[0x00, 0x06, 0x00, 0x09]);
        assert_eq!(
            Message::decode(&attr_overrun).err(),
            Some(WireError::Truncated)
        );
        // Every prefix and every single-byte corruption decodes or errs.
        let mut b = Builder::new(Method::ALLOCATE, Class::Request, TX);
        b.attr(attr::USERNAME, b"u").attr(attr::REALM, b"r");
        let raw = b.finish(Some(b"k"), true);
        for n in 0..raw.len() {
            let _ = Message::decode(&raw[..n]);
            for bit in 0..8 {
                let mut c = raw.clone();
                c[n] ^= 1 << bit;
                let _ = Message::decode(&c).map(|m| m.verify_integrity(b"k"));
            }
        }
    }

    #[test]
    fn attributes_after_integrity_are_ignored() {
        let mut b = Builder::new(Method::BINDING, Class::Request, TX);
        b.attr(attr::USERNAME, b"u");
        let mut raw = b.finish(Some(b"k"), false);
        raw.extend_from_slice(&[0x80, 0x22, 0x00, 0x00]); // SOFTWARE, empty
        let len = (raw.len() - HEADER_LEN) as u16;
        raw[2..4].copy_from_slice(&len.to_be_bytes());
        let m = Message::decode(&raw).expect("decodes");
        assert!(m.get(attr::SOFTWARE).is_none());
        assert!(m.verify_integrity(b"k"));
    }
}

//! Property tests of the wire decoders: whatever arrives from the network
//! decodes or errs, never panics; and what the relay writes decodes back
//! to what it wrote. A bounded number of cases per property keeps
//! `cargo test` to a few seconds.

use std::net::SocketAddr;

use meshdesk_protocol::turn_tcp::first_frame;
use proptest::prelude::*;

use super::attr;
use super::channel_data::{is_channel_data, MAX_CHANNEL, MIN_CHANNEL};
use super::message::{is_stun, HEADER_LEN, MAGIC_COOKIE};
use super::{Builder, ChannelData, Class, Message, Method, TransactionId};

/// Cases per property: enough to reach the decoders' branches, few enough
/// for a quick `cargo test`.
const CASES: u32 = 256;

fn class() -> impl Strategy<Value = Class> {
    prop_oneof![
        Just(Class::Request),
        Just(Class::Indication),
        Just(Class::Success),
        Just(Class::Error),
    ]
}

/// An attribute the builder may write anywhere: any type but the two that
/// must come last (MESSAGE-INTEGRITY and FINGERPRINT, added by `finish`).
fn attribute() -> impl Strategy<Value = (u16, Vec<u8>)> {
    (
        any::<u16>().prop_filter("added by finish", |t| {
            *t != attr::MESSAGE_INTEGRITY && *t != attr::FINGERPRINT
        }),
        proptest::collection::vec(any::<u8>(), 0..300),
    )
}

/// A message as the relay would build it.
#[derive(Debug, Clone)]
struct Spec {
    method: Method,
    class: Class,
    transaction_id: TransactionId,
    attrs: Vec<(u16, Vec<u8>)>,
    key: Option<Vec<u8>>,
    fingerprint: bool,
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        0u16..0x1000,
        class(),
        any::<TransactionId>(),
        proptest::collection::vec(attribute(), 0..8),
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..64)),
        any::<bool>(),
    )
        .prop_map(
            |(method, class, transaction_id, attrs, key, fingerprint)| Spec {
                method: Method(method),
                class,
                transaction_id,
                attrs,
                key,
                fingerprint,
            },
        )
}

fn build(s: &Spec) -> Vec<u8> {
    let mut b = Builder::new(s.method, s.class, s.transaction_id);
    for (typ, value) in &s.attrs {
        b.attr(*typ, value);
    }
    b.finish(s.key.as_deref(), s.fingerprint)
}

/// An attribute type, often one the decoder treats specially.
fn any_type() -> impl Strategy<Value = u16> {
    prop_oneof![
        any::<u16>(),
        Just(attr::MESSAGE_INTEGRITY),
        Just(attr::FINGERPRINT),
        Just(attr::XOR_PEER_ADDRESS),
        Just(attr::ERROR_CODE),
        Just(attr::LIFETIME),
    ]
}

/// Type-length-value chunks whose length field is usually right and
/// sometimes a lie, so the decoder's bounds checks are reached.
fn tlv_body() -> impl Strategy<Value = Vec<u8>> {
    let chunk = (
        any_type(),
        // MESSAGE-INTEGRITY takes 20 bytes, FINGERPRINT and LIFETIME 4.
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..40),
            proptest::collection::vec(any::<u8>(), 20),
            proptest::collection::vec(any::<u8>(), 4),
        ],
        proptest::option::weighted(0.2, any::<u16>()),
    );
    proptest::collection::vec(chunk, 0..6).prop_map(|chunks| {
        let mut body = Vec::new();
        for (typ, value, lie) in chunks {
            body.extend_from_slice(&typ.to_be_bytes());
            let len = lie.unwrap_or(value.len() as u16);
            body.extend_from_slice(&len.to_be_bytes());
            body.extend_from_slice(&value);
            body.resize((body.len() + 3) & !3, 0);
        }
        body
    })
}

/// A STUN header with the magic cookie and a length that matches, over a
/// body of attribute-like chunks: random bytes alone almost never get past
/// the header, this reaches the attribute loop.
fn stun_shaped() -> impl Strategy<Value = Vec<u8>> {
    (0u16..0x4000, any::<TransactionId>(), tlv_body()).prop_map(|(typ, tx, body)| {
        let mut raw = Vec::with_capacity(HEADER_LEN + body.len());
        raw.extend_from_slice(&typ.to_be_bytes());
        raw.extend_from_slice(&(body.len() as u16).to_be_bytes());
        raw.extend_from_slice(&MAGIC_COOKIE.to_be_bytes());
        raw.extend_from_slice(&tx);
        raw.extend_from_slice(&body);
        raw
    })
}

/// Everything the relay does with a decoded message, so that a panic in
/// any accessor shows.
fn exercise(m: &Message<'_>) {
    for (typ, value) in m.attributes() {
        let _ = m.get(*typ);
        let _ = m.get_all(*typ).count();
        let _ = attr::decode_xor_addr(value, &m.transaction_id);
        let _ = attr::decode_error_code(value);
        let _ = attr::decode_u32(value);
    }
    let _ = m.attr_types().all(attr::understood);
    let _ = m.verify_integrity(b"key");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn arbitrary_bytes_never_panic(raw in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = is_stun(&raw);
        let _ = is_channel_data(&raw);
        if let Ok(m) = Message::decode(&raw) {
            exercise(&m);
        }
        let _ = ChannelData::decode(&raw);
    }

    #[test]
    fn stun_shaped_bytes_never_panic(raw in stun_shaped()) {
        if let Ok(m) = Message::decode(&raw) {
            exercise(&m);
        }
    }

    #[test]
    fn built_messages_round_trip(s in spec()) {
        let raw = build(&s);
        let m = Message::decode(&raw).expect("what the builder writes decodes");
        prop_assert_eq!(m.method, s.method);
        prop_assert_eq!(m.class, s.class);
        prop_assert_eq!(m.transaction_id, s.transaction_id);
        let got: Vec<(u16, Vec<u8>)> = m
            .attributes()
            .iter()
            .filter(|(t, _)| *t != attr::MESSAGE_INTEGRITY)
            .map(|(t, v)| (*t, v.to_vec()))
            .collect();
        prop_assert_eq!(&got, &s.attrs);
        prop_assert_eq!(m.has_integrity(), s.key.is_some());
        if let Some(key) = &s.key {
            prop_assert!(m.verify_integrity(key));
        }
        prop_assert_eq!(m.has_fingerprint, s.fingerprint);
        // Writing the decoded message again gives the same bytes.
        let again = Spec { attrs: got, ..s.clone() };
        prop_assert_eq!(build(&again), raw.clone());
        // On a TCP stream the message is one frame of its own length.
        let frame = first_frame(&raw).expect("STUN framing").expect("whole");
        prop_assert_eq!(frame.stream_len, raw.len());
    }

    #[test]
    fn corrupted_messages_never_panic(s in spec(), at in any::<usize>(), bit in 0u8..8) {
        let mut raw = build(&s);
        let at = at % raw.len();
        raw[at] ^= 1 << bit;
        if let Ok(m) = Message::decode(&raw) {
            exercise(&m);
            if let Some(key) = &s.key {
                // Every byte before MESSAGE-INTEGRITY's value is covered
                // by it (the length field only as far as it goes).
                if at >= 4 && at < raw.len() - 20 - if s.fingerprint { 8 } else { 0 } {
                    prop_assert!(!m.verify_integrity(key), "flip at {} not detected", at);
                }
            }
        }
    }

    #[test]
    fn xor_addresses_round_trip(addr in any::<SocketAddr>(), tx in any::<TransactionId>()) {
        let addr = SocketAddr::new(addr.ip(), addr.port());
        let v = attr::encode_xor_addr(addr, &tx);
        prop_assert_eq!(attr::decode_xor_addr(&v, &tx), Some(addr));
    }

    #[test]
    fn error_codes_round_trip(class in 0u16..8, number in 0u16..100, reason in ".{0,40}") {
        let code = class * 100 + number;
        let v = attr::encode_error_code(code, &reason);
        prop_assert_eq!(attr::decode_error_code(&v), Some(code));
        prop_assert_eq!(&v[4..], reason.as_bytes());
    }

    #[test]
    fn u32_values_round_trip(n in any::<u32>()) {
        prop_assert_eq!(attr::decode_u32(&n.to_be_bytes()), Some(n));
    }

    #[test]
    fn channel_data_round_trips(
        number in MIN_CHANNEL..=MAX_CHANNEL,
        data in proptest::collection::vec(any::<u8>(), 0..1500),
        pad in any::<bool>(),
    ) {
        let raw = ChannelData::encode(number, &data, pad);
        prop_assert!(is_channel_data(&raw));
        let decoded = ChannelData::decode(&raw).expect("what encode writes decodes");
        prop_assert_eq!(decoded, ChannelData { number, data: &data });
        let frame = first_frame(&raw).expect("ChannelData framing");
        if pad {
            prop_assert_eq!(frame.map(|f| f.stream_len), Some(raw.len()));
        }
        if let Some(f) = frame {
            prop_assert_eq!(f.datagram_len, 4 + data.len());
        }
    }
}

//! Properties of the signaling messages ([`meshdesk_protocol::signal`]),
//! checked for each of the four enums: host to server, server to host,
//! viewer to server, server to viewer.

use std::fmt::Debug;

use meshdesk_protocol::signal::*;
use meshdesk_protocol::{decode, encode, DecodeError, MAX_MESSAGE_BYTES};
use proptest::prelude::*;
use proptest::sample::{select, Index};
use serde::{de::DeserializeOwned, Serialize};
use serde_json::Value;

use crate::json::{
    any_text, other_kind, pick, wire_words, with_raw, with_string, word, wrong_message,
    NOT_INTEGERS, NOT_NUMBERS,
};
use crate::messages::*;
use crate::{assert_every_variant, config};

/// A message of `T` decodes to itself, and its `type` is one of `tags`;
/// unless its text is over the limit, which is then refused as such.
pub fn round_trips<T>(msg: &T, tags: &[&str]) -> Result<(), TestCaseError>
where
    T: DeserializeOwned + Serialize + PartialEq + Debug,
{
    let text = encode(msg);
    let decoded = decode::<T>(&text);
    if text.len() > MAX_MESSAGE_BYTES {
        prop_assert!(
            matches!(decoded, Err(DecodeError::TooLarge { .. })),
            "{:?}",
            decoded
        );
        return Ok(());
    }
    prop_assert_eq!(decoded.as_ref(), Ok(msg), "text: {}", text);
    let tag = serde_json::from_str::<Value>(&text).expect("we wrote JSON")["type"].clone();
    prop_assert!(
        tags.iter().any(|t| tag == *t),
        "tag {} not in {:?}",
        tag,
        tags
    );
    Ok(())
}

/// Any text decodes to a message that round-trips, or is refused; text
/// over the limit is always refused as too large.
pub fn decodes_or_refuses<T>(text: &str, tags: &[&str]) -> Result<(), TestCaseError>
where
    T: DeserializeOwned + Serialize + PartialEq + Debug,
{
    match decode::<T>(text) {
        Ok(msg) => round_trips(&msg, tags)?,
        Err(DecodeError::TooLarge { len, max }) => {
            prop_assert_eq!((len, max), (text.len(), MAX_MESSAGE_BYTES));
            prop_assert!(len > max);
        }
        Err(_) => prop_assert!(text.len() <= MAX_MESSAGE_BYTES),
    }
    Ok(())
}

macro_rules! direction_properties {
    ($name:ident, $ty:ty, $strategy:ident, $variant:ident, $count:expr, $tags:expr) => {
        mod $name {
            use super::*;

            const TAGS: &[&str] = $tags;

            #[test]
            fn every_variant_is_generated() {
                assert_every_variant($strategy(), $count, $variant);
            }

            proptest! {
                #![proptest_config(config(256))]

                #[test]
                fn valid_messages_round_trip(msg in $strategy()) {
                    round_trips(&msg, TAGS)?;
                }

                #[test]
                fn arbitrary_text_is_decoded_or_refused(text in any_text()) {
                    decodes_or_refuses::<$ty>(&text, TAGS)?;
                }

                #[test]
                fn wrong_json_is_decoded_or_refused(text in wrong_message(TAGS)) {
                    decodes_or_refuses::<$ty>(&text, TAGS)?;
                }

                #[test]
                fn a_value_of_another_kind_is_invalid(
                    msg in $strategy(), index in any::<Index>(), choice in any::<Index>(),
                ) {
                    let mut value = serde_json::to_value(&msg).expect("a message is JSON");
                    let Some(slot) = pick(&mut value, &index, |_| true) else {
                        return Ok(());
                    };
                    *slot = other_kind(slot, &choice);
                    let text = value.to_string();
                    let got = decode::<$ty>(&text);
                    prop_assert!(
                        matches!(got, Err(DecodeError::Invalid(_)) | Err(DecodeError::TooLarge { .. })),
                        "{} gave {:?}", text, got
                    );
                }

                #[test]
                fn a_word_in_a_values_place_is_malformed(
                    msg in $strategy(), index in any::<Index>(), word in select(NOT_NUMBERS),
                ) {
                    let value = serde_json::to_value(&msg).expect("a message is JSON");
                    let Some(text) = with_raw(value, &index, |_| true, word) else {
                        return Ok(());
                    };
                    let got = decode::<$ty>(&text);
                    prop_assert!(
                        matches!(got, Err(DecodeError::Malformed(_)) | Err(DecodeError::TooLarge { .. })),
                        "{} gave {:?}", text, got
                    );
                }

                #[test]
                fn an_integer_field_refuses_fractions_and_huge_numbers(
                    msg in $strategy(), index in any::<Index>(), number in select(NOT_INTEGERS),
                ) {
                    let value = serde_json::to_value(&msg).expect("a message is JSON");
                    let integer = |v: &Value| v.is_i64() || v.is_u64();
                    let Some(text) = with_raw(value, &index, integer, number) else {
                        return Ok(());
                    };
                    let got = decode::<$ty>(&text);
                    prop_assert!(
                        matches!(got, Err(DecodeError::Invalid(_)) | Err(DecodeError::TooLarge { .. })),
                        "{} gave {:?}", text, got
                    );
                }

                #[test]
                fn an_unknown_type_is_named(
                    tag in "[a-zA-Z_]{1,24}", fields in proptest::collection::vec(("[a-z_]{1,8}", 0u8..9), 0..4),
                ) {
                    prop_assume!(!TAGS.contains(&tag.as_str()));
                    let mut object: serde_json::Map<String, Value> =
                        fields.into_iter().map(|(k, v)| (k, Value::from(v))).collect();
                    object.insert("type".into(), Value::from(tag.clone()));
                    let text = Value::Object(object).to_string();
                    prop_assert_eq!(decode::<$ty>(&text), Err(DecodeError::UnknownType(tag)));
                }

                #[test]
                fn text_over_the_limit_is_too_large(msg in $strategy(), extra in 1usize..5000) {
                    // Valid JSON, padded with spaces past the limit.
                    let text = encode(&msg);
                    let padded = format!("{text}{}", " ".repeat((MAX_MESSAGE_BYTES + extra).saturating_sub(text.len())));
                    let got = decode::<$ty>(&padded);
                    prop_assert_eq!(
                        got,
                        Err(DecodeError::TooLarge { len: padded.len(), max: MAX_MESSAGE_BYTES })
                    );
                }
            }

            // Each case tries every wire name in one string's place.
            proptest! {
                #![proptest_config(config(64))]

                /// A string is read as written or refused: no alias, no
                /// case folding, no trimming of an enum's name.
                #[test]
                fn a_string_decodes_only_as_itself(
                    msg in $strategy(), index in any::<Index>(), word in word(),
                ) {
                    let value = serde_json::to_value(&msg).expect("JSON");
                    for word in wire_words().into_iter().chain([word]) {
                        let Some(changed) = with_string(value.clone(), &index, word) else {
                            return Ok(());
                        };
                        if let Ok(decoded) = decode::<$ty>(&changed.to_string()) {
                            prop_assert_eq!(serde_json::to_value(&decoded).expect("JSON"), changed);
                        }
                    }
                }
            }
        }
    };
}

direction_properties!(
    host_to_server_msgs,
    HostToServer,
    host_to_server,
    host_to_server_variant,
    HOST_TO_SERVER_VARIANTS,
    &[
        "auth",
        "info",
        "ping",
        "session_accept",
        "session_reject",
        "offer",
        "answer",
        "ice",
        "session_end",
        "consent",
        "file_transfer",
        "shared_file_changed",
    ]
);

direction_properties!(
    server_to_host_msgs,
    ServerToHost,
    server_to_host,
    server_to_host_variant,
    SERVER_TO_HOST_VARIANTS,
    &[
        "challenge",
        "welcome",
        "pong",
        "session_grant",
        "renamed",
        "offer",
        "answer",
        "ice",
        "session_end",
        "restart_ice",
        "error",
    ]
);

direction_properties!(
    viewer_to_server_msgs,
    ViewerToServer,
    viewer_to_server,
    viewer_to_server_variant,
    VIEWER_TO_SERVER_VARIANTS,
    &[
        "ping",
        "session_request",
        "offer",
        "answer",
        "ice",
        "session_end",
        "session_resume",
        "restart_ice",
    ]
);

direction_properties!(
    server_to_viewer_msgs,
    ServerToViewer,
    server_to_viewer,
    server_to_viewer_variant,
    SERVER_TO_VIEWER_VARIANTS,
    &[
        "welcome",
        "pong",
        "presence",
        "event",
        "session_created",
        "session_accepted",
        "session_resumed",
        "offer",
        "answer",
        "ice",
        "session_end",
        "error",
        "consent",
    ]
);

/// The limit is exact: a message of `MAX_MESSAGE_BYTES` decodes, one
/// byte more does not (every length within 100 bytes of the limit).
#[test]
fn the_size_limit_is_exact() {
    let empty = encode(&ViewerToServer::Offer(SdpMsg {
        session_id: "s".into(),
        sdp: String::new(),
    }));
    for len in MAX_MESSAGE_BYTES - 100..MAX_MESSAGE_BYTES + 100 {
        let sdp = "a".repeat(len - empty.len());
        let msg = ViewerToServer::Offer(SdpMsg {
            session_id: "s".into(),
            sdp,
        });
        let text = encode(&msg);
        assert_eq!(text.len(), len);
        let got = decode::<ViewerToServer>(&text);
        if len <= MAX_MESSAGE_BYTES {
            assert_eq!(got, Ok(msg));
        } else {
            assert_eq!(
                got,
                Err(DecodeError::TooLarge {
                    len,
                    max: MAX_MESSAGE_BYTES
                })
            );
        }
    }
}

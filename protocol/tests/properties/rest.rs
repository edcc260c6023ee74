//! Properties of the REST bodies ([`meshdesk_protocol::rest`]) read from
//! outside: the requests the server reads (sign-up and login, enrollment,
//! rename, share) and the replies hosts and viewers read. The crate has no
//! REST decoder of its own; these bodies go through the same serde
//! derives, checked here with [`decode`].

use std::fmt::Debug;

use meshdesk_protocol::rest::*;
use meshdesk_protocol::{decode, encode, DecodeError, MAX_MESSAGE_BYTES};
use proptest::collection::vec;
use proptest::option::of;
use proptest::prelude::*;
use proptest::sample::{select, Index};
use serde::{de::DeserializeOwned, Serialize};

use crate::config;
use crate::json::{any_text, other_kind, pick, value, wire_words, with_string, word};
use crate::messages::{event, ice_server, permission, text};

fn round_trips<T>(body: &T) -> Result<(), TestCaseError>
where
    T: DeserializeOwned + Serialize + PartialEq + Debug,
{
    let text = encode(body);
    let decoded = decode::<T>(&text);
    if text.len() > MAX_MESSAGE_BYTES {
        prop_assert!(
            matches!(decoded, Err(DecodeError::TooLarge { .. })),
            "{:?}",
            decoded
        );
    } else {
        prop_assert_eq!(decoded.as_ref(), Ok(body));
    }
    Ok(())
}

fn decodes_or_refuses<T>(text: &str) -> Result<(), TestCaseError>
where
    T: DeserializeOwned + Serialize + PartialEq + Debug,
{
    if let Ok(body) = decode::<T>(text) {
        round_trips(&body)?;
    }
    Ok(())
}

fn share_permission() -> impl Strategy<Value = SharePermission> {
    select(vec![SharePermission::View, SharePermission::Control])
}

fn credentials() -> impl Strategy<Value = Credentials> {
    (text(), text()).prop_map(|(username, password)| Credentials { username, password })
}

fn enroll_request() -> impl Strategy<Value = EnrollRequest> {
    (text(), text(), text(), text()).prop_map(|(code, public_key, name, os)| EnrollRequest {
        code,
        public_key,
        name,
        os,
    })
}

fn rename_device() -> impl Strategy<Value = RenameDevice> {
    text().prop_map(|name| RenameDevice { name })
}

fn share_request() -> impl Strategy<Value = ShareRequest> {
    (text(), share_permission(), proptest::option::of(text())).prop_map(
        |(username, permission, expires_at)| ShareRequest {
            username,
            permission,
            expires_at,
        },
    )
}

fn enroll_response() -> impl Strategy<Value = EnrollResponse> {
    (text(), text(), text()).prop_map(|(device_id, name, owner)| EnrollResponse {
        device_id,
        name,
        owner,
    })
}

fn login_response() -> impl Strategy<Value = LoginResponse> {
    (text(), text(), any::<i64>()).prop_map(|(token, username, expires_at)| LoginResponse {
        token,
        username,
        expires_at,
    })
}

fn devices() -> impl Strategy<Value = Vec<Device>> {
    let device = (
        (text(), text(), text(), text(), text()),
        (any::<bool>(), permission(), any::<i64>(), of(any::<i64>())),
    )
        .prop_map(
            |((id, name, os, owner, public_key), (online, permission, created_at, last_seen))| {
                Device {
                    id,
                    name,
                    os,
                    owner,
                    online,
                    permission,
                    created_at,
                    last_seen,
                    consent_owner: ConsentPolicy::ALL[created_at.unsigned_abs() as usize % 3],
                    consent_shared: ConsentPolicy::ALL
                        [(created_at.unsigned_abs() >> 8) as usize % 3],
                    public_key,
                    screens: Vec::new(),
                    sound: online,
                    view_may_copy: !online,
                }
            },
        );
    vec(device, 0..4)
}

fn events_page() -> impl Strategy<Value = EventsPage> {
    let gap = (any::<i64>(), any::<i64>()).prop_map(|(after, before)| Gap { after, before });
    (
        vec(event(), 0..4),
        of(any::<i64>()),
        of(any::<i64>()),
        of(gap),
    )
        .prop_map(|(events, next_before, next_since, gap)| EventsPage {
            events,
            next_before,
            next_since,
            gap,
        })
}

fn ice_servers() -> impl Strategy<Value = IceServers> {
    vec(ice_server(), 0..4).prop_map(|ice_servers| IceServers { ice_servers })
}

macro_rules! body_properties {
    ($name:ident, $ty:ty, $strategy:expr) => {
        mod $name {
            use super::*;

            proptest! {
                #![proptest_config(config(128))]

                #[test]
                fn valid_bodies_round_trip(body in $strategy) {
                    round_trips(&body)?;
                }

                #[test]
                fn any_text_or_json_is_decoded_or_refused(
                    text in any_text(), json in value(),
                ) {
                    decodes_or_refuses::<$ty>(&text)?;
                    decodes_or_refuses::<$ty>(&json.to_string())?;
                }

                #[test]
                fn a_value_of_another_kind_is_invalid(
                    body in $strategy, index in any::<Index>(), choice in any::<Index>(),
                ) {
                    let mut json = serde_json::to_value(&body).expect("a body is JSON");
                    let Some(slot) = pick(&mut json, &index, |_| true) else {
                        return Ok(());
                    };
                    *slot = other_kind(slot, &choice);
                    let got = decode::<$ty>(&json.to_string());
                    prop_assert!(
                        matches!(got, Err(DecodeError::Invalid(_)) | Err(DecodeError::TooLarge { .. })),
                        "{} gave {:?}", json, got
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
                    msg in $strategy, index in any::<Index>(), word in word(),
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

body_properties!(credentials_body, Credentials, credentials());
body_properties!(enroll_request_body, EnrollRequest, enroll_request());
body_properties!(rename_device_body, RenameDevice, rename_device());
body_properties!(share_request_body, ShareRequest, share_request());
body_properties!(enroll_response_body, EnrollResponse, enroll_response());
body_properties!(login_response_body, LoginResponse, login_response());
body_properties!(devices_body, Vec<Device>, devices());
body_properties!(events_page_body, EventsPage, events_page());
body_properties!(ice_servers_body, IceServers, ice_servers());

proptest! {
    #![proptest_config(config(128))]

    /// The wire names parse back, and nothing else parses.
    #[test]
    fn permission_and_event_kind_names_parse_back(name in any::<String>(), p in permission()) {
        prop_assert_eq!(Permission::parse(p.as_str()), Some(p));
        for kind in ALL_EVENT_KINDS {
            prop_assert_eq!(EventKind::parse(kind.as_str()), Some(kind));
        }
        if let Some(p) = Permission::parse(&name) {
            prop_assert_eq!(p.as_str(), name.as_str());
        }
        if let Some(kind) = EventKind::parse(&name) {
            prop_assert_eq!(kind.as_str(), name.as_str());
        }
    }
}

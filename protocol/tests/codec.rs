//! Round-trips and rejected input for every message family.

use meshdesk_protocol::input::{ControlMsg, InputMsg, MouseButton};
use meshdesk_protocol::rest::{Event, EventKind, Permission};
use meshdesk_protocol::signal::*;
use meshdesk_protocol::{decode, encode, DecodeError, MAX_MESSAGE_BYTES};

fn roundtrip<T>(msg: T)
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let text = encode(&msg);
    let back: T = decode(&text).expect("decodes what it encoded");
    assert_eq!(back, msg, "round-trip of {text}");
}

#[test]
fn host_messages_round_trip() {
    roundtrip(HostToServer::Auth {
        protocol: 1,
        device_id: "d1".into(),
        signature: "c2ln".into(),
        info: DeviceInfo {
            os: "Debian".into(),
            screens: vec![Screen {
                id: "DP-1".into(),
                name: "DP-1".into(),
                width: 1280,
                height: 720,
                primary: true,
                x: 0,
                y: 0,
            }],
            agent_version: "0.1.0".into(),
        },
    });
    roundtrip(HostToServer::Ping);
    roundtrip(HostToServer::SessionAccept {
        session_id: "s".into(),
    });
    roundtrip(HostToServer::Offer(SdpMsg {
        session_id: "s".into(),
        sdp: "v=0".into(),
    }));
    roundtrip(HostToServer::Ice(IceMsg {
        session_id: "s".into(),
        candidate: IceCandidate {
            candidate: "candidate:1 1 udp 1 1.2.3.4 5 typ host".into(),
            sdp_mid: Some("0".into()),
            sdp_mline_index: Some(0),
            username_fragment: None,
        },
    }));
    roundtrip(HostToServer::SessionEnd(SessionEndMsg::new(
        "s",
        EndReason::HostClosed,
    )));
    roundtrip(ServerToHost::SessionGrant {
        session_id: "s".into(),
        user: "alice".into(),
        permission: Permission::View,
        ice_servers: vec![],
        consent: meshdesk_protocol::rest::ConsentPolicy::Prompt,
        display_name: Some("Alice".into()),
        screen: Some("B".into()),
        sound: false,
        files_only: true,
        view_may_copy: true,
    });
    // A grant from an older server, without `sound`, has it on.
    let old = r#"{"type":"session_grant","session_id":"s","user":"a","permission":"view","ice_servers":[]}"#;
    assert!(matches!(
        meshdesk_protocol::decode::<ServerToHost>(old),
        Ok(ServerToHost::SessionGrant { sound: true, .. })
    ));
    roundtrip(ServerToHost::Error(ErrorMsg {
        code: ErrorCode::Forbidden,
        message: "no".into(),
        session_id: None,
        request_id: None,
    }));
}

#[test]
fn viewer_messages_round_trip() {
    roundtrip(ViewerToServer::SessionRequest {
        device_id: "d".into(),
        request_id: Some("r1".into()),
        screen: None,
        files_only: false,
    });
    roundtrip(ServerToViewer::Presence {
        device_id: "d".into(),
        name: "pc".into(),
        online: true,
    });
    roundtrip(ServerToViewer::Event {
        event: Event {
            id: 3,
            at: 1000,
            kind: EventKind::SessionEnded,
            actor: Some("bob".into()),
            device_id: Some("d".into()),
            device_name: Some("pc".into()),
            target_user: None,
            permission: Some(Permission::Control),
            session_id: Some("s".into()),
            duration_ms: Some(720_000),
            detail: None,
            file: None,
        },
    });
}

#[test]
fn restart_ice_round_trips_with_its_wire_name_both_ways() {
    roundtrip(ViewerToServer::RestartIce {
        session_id: "ses_1".into(),
    });
    roundtrip(ServerToHost::RestartIce {
        session_id: "ses_1".into(),
    });
    assert_eq!(
        encode(&ViewerToServer::RestartIce {
            session_id: "s".into()
        }),
        r#"{"type":"restart_ice","session_id":"s"}"#
    );
    assert!(decode::<ViewerToServer>(r#"{"type":"restart_ice"}"#).is_err());
}

#[test]
fn session_resume_round_trips_with_its_wire_names() {
    roundtrip(ViewerToServer::SessionResume {
        session_id: "ses_1".into(),
        resume_secret: Some("rs_x".into()),
    });
    roundtrip(ServerToViewer::SessionResumed {
        session_id: "ses_1".into(),
        device_id: "dev_1".into(),
        permission: Permission::Control,
    });
    assert_eq!(
        encode(&ViewerToServer::SessionResume {
            session_id: "s".into(),
            resume_secret: None,
        }),
        r#"{"type":"session_resume","session_id":"s"}"#
    );
    let resumed: ServerToViewer = decode(
        r#"{"type":"session_resumed","session_id":"s","device_id":"d","permission":"view"}"#,
    )
    .expect("decodes");
    assert_eq!(
        resumed,
        ServerToViewer::SessionResumed {
            session_id: "s".into(),
            device_id: "d".into(),
            permission: Permission::View,
        }
    );
}

#[test]
fn bad_session_resumes_are_rejected() {
    for bad in [
        r#"{"type":"session_resume"}"#,
        r#"{"type":"session_resume","session_id":7}"#,
        r#"{"type":"session_resume","session_id":null}"#,
        r#"{"type":"session_resume","session_id":["s"]}"#,
    ] {
        let r: Result<ViewerToServer, _> = decode(bad);
        assert!(
            matches!(r, Err(DecodeError::Invalid(_))),
            "{bad} gave {r:?}"
        );
    }
    // Only viewers resume: on the host endpoint it is an unknown type, and
    // a viewer cannot send the server's reply.
    let r: Result<HostToServer, _> = decode(r#"{"type":"session_resume","session_id":"s"}"#);
    assert!(matches!(r, Err(DecodeError::UnknownType(_))), "{r:?}");
    let r: Result<ViewerToServer, _> = decode(
        r#"{"type":"session_resumed","session_id":"s","device_id":"d","permission":"view"}"#,
    );
    assert!(matches!(r, Err(DecodeError::UnknownType(_))), "{r:?}");
    let r: Result<ServerToViewer, _> = decode(
        r#"{"type":"session_resumed","session_id":"s","device_id":"d","permission":"admin"}"#,
    );
    assert!(r.is_err(), "{r:?}");
}

#[test]
fn wire_shape_is_flat_with_type_tag() {
    let text = encode(&ViewerToServer::Offer(SdpMsg {
        session_id: "s".into(),
        sdp: "x".into(),
    }));
    assert_eq!(text, r#"{"type":"offer","session_id":"s","sdp":"x"}"#);
    assert_eq!(encode(&HostToServer::Ping), r#"{"type":"ping"}"#);
}

#[test]
fn malformed_json_is_an_error() {
    for bad in ["", "{", "not json", "{\"type\":", "\u{0}"] {
        let r: Result<ViewerToServer, _> = decode(bad);
        assert!(
            matches!(r, Err(DecodeError::Malformed(_))),
            "{bad:?} gave {r:?}"
        );
    }
}

#[test]
fn unknown_type_is_named() {
    let r: Result<ViewerToServer, _> = decode(r#"{"type":"launch_missiles"}"#);
    assert_eq!(r, Err(DecodeError::UnknownType("launch_missiles".into())));
    // A host-only message sent by a viewer is unknown on the viewer endpoint.
    let r: Result<ViewerToServer, _> = decode(r#"{"type":"session_accept","session_id":"s"}"#);
    assert!(matches!(r, Err(DecodeError::UnknownType(_))), "{r:?}");
}

#[test]
fn wrong_types_and_missing_fields_are_invalid() {
    for bad in [
        r#"{"type":"session_request"}"#,
        r#"{"type":"session_request","device_id":7}"#,
        r#"{"no_type":1}"#,
        r#"[]"#,
        r#"42"#,
    ] {
        let r: Result<ViewerToServer, _> = decode(bad);
        assert!(
            matches!(r, Err(DecodeError::Invalid(_))),
            "{bad} gave {r:?}"
        );
    }
}

#[test]
fn oversized_input_is_rejected_before_parsing() {
    let big = format!(
        r#"{{"type":"offer","session_id":"s","sdp":"{}"}}"#,
        "a".repeat(MAX_MESSAGE_BYTES)
    );
    let r: Result<ViewerToServer, _> = decode(&big);
    assert!(matches!(r, Err(DecodeError::TooLarge { .. })));
}

#[test]
fn deep_nesting_does_not_panic() {
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let r: Result<ViewerToServer, _> = decode(&deep);
    assert!(r.is_err());
}

#[test]
fn input_round_trips_and_validates() {
    for msg in [
        InputMsg::PointerMove { x: 0.5, y: 1.0 },
        InputMsg::PointerButton {
            button: MouseButton::Left,
            down: true,
            x: 0.0,
            y: 0.25,
        },
        InputMsg::Wheel { dx: 0.0, dy: -3.0 },
        InputMsg::Key {
            code: "KeyA".into(),
            down: true,
            text: Some("a".into()),
        },
        InputMsg::ReleaseAll,
    ] {
        assert_eq!(InputMsg::decode(&encode(&msg)), Ok(msg));
    }
    assert_eq!(
        ControlMsg::decode(r#"{"type":"request_keyframe"}"#),
        Ok(ControlMsg::RequestKeyframe)
    );
    assert_eq!(
        ControlMsg::decode(r#"{"type":"rtcp_keyframe_requests","enabled":false}"#),
        Ok(ControlMsg::RtcpKeyframeRequests { enabled: false })
    );
    assert!(ControlMsg::decode(r#"{"type":"rtcp_keyframe_requests"}"#).is_err());
}

#[test]
fn input_out_of_range_is_rejected() {
    for bad in [
        r#"{"type":"pointer_move","x":1.5,"y":0}"#,
        r#"{"type":"pointer_move","x":-0.1,"y":0}"#,
        r#"{"type":"pointer_move","x":1e999,"y":0}"#,
        r#"{"type":"wheel","dx":0,"dy":100000}"#,
        r#"{"type":"key","code":"","down":true}"#,
        r#"{"type":"key","code":"Key A; rm","down":true}"#,
        r#"{"type":"pointer_button","button":"sixth","down":true,"x":0,"y":0}"#,
    ] {
        assert!(InputMsg::decode(bad).is_err(), "{bad} accepted");
    }
    let long = format!(
        r#"{{"type":"key","code":"KeyA","down":true,"text":"{}"}}"#,
        "x".repeat(2000)
    );
    assert!(matches!(
        InputMsg::decode(&long),
        Err(DecodeError::TooLarge { .. })
    ));
}

#[test]
fn a_session_end_carries_words_only_when_there_are_some() {
    let plain = SessionEndMsg::new("s", EndReason::Rejected);
    let text = encode(&ServerToViewer::SessionEnd(plain.clone()));
    assert_eq!(
        text,
        r#"{"type":"session_end","session_id":"s","reason":"rejected"}"#
    );
    let worded = SessionEndMsg {
        detail: Some("too many sessions on this host".into()),
        ..plain
    };
    roundtrip(ServerToViewer::SessionEnd(worded));
}

/// Found by the property tests: serde words an unknown `type` and an
/// unknown name in another enum field alike ("unknown variant"), and both
/// were reported as `unknown_type`, naming the field's value as the type.
#[test]
fn an_unknown_name_in_an_enum_field_is_invalid_not_an_unknown_type() {
    for bad in [
        r#"{"type":"session_end","session_id":"s","reason":"exploded"}"#,
        r#"{"type":"session_end","session_id":"s","reason":{"0":1}}"#,
        r#"{"type":"session_end","session_id":"s","reason":"session_end"}"#,
    ] {
        let r: Result<ViewerToServer, _> = decode(bad);
        assert!(
            matches!(r, Err(DecodeError::Invalid(_))),
            "{bad} gave {r:?}"
        );
    }
    let r =
        InputMsg::decode(r#"{"type":"pointer_button","button":"sixth","down":true,"x":0,"y":0}"#);
    assert!(matches!(r, Err(DecodeError::Invalid(_))), "{r:?}");
    // The type itself is still named when it is the unknown one.
    let r: Result<ViewerToServer, _> = decode(r#"{"type":"exploded","reason":"rejected"}"#);
    assert_eq!(r, Err(DecodeError::UnknownType("exploded".into())));
}

/// Found by the property tests: serde_json's default float parser read
/// some numbers one unit in the last place off (here -933.1620556258276),
/// so a position or wheel delta did not survive encode then decode.
#[test]
fn floats_round_trip_to_the_same_bits() {
    for v in [-933.1620556258275, 0.1 + 0.2, 1.0 - f64::EPSILON, 5e-324] {
        let msg = InputMsg::Wheel { dx: v, dy: 0.0 };
        let Ok(InputMsg::Wheel { dx, .. }) = InputMsg::decode(&encode(&msg)) else {
            panic!("{v} did not decode");
        };
        assert_eq!(dx.to_bits(), v.to_bits(), "{v} came back as {dx}");
    }
}

/// Found by the property tests: serde_json reports an enum read from a
/// number or an array, and a number beyond f64, as a syntax error, so
/// well-formed JSON with a wrong value was called malformed.
#[test]
fn well_formed_json_with_a_wrong_value_is_invalid_not_malformed() {
    use meshdesk_protocol::rest::ShareRequest;
    for bad in [
        r#"{"username":"bob","permission":7}"#,
        r#"{"username":"bob","permission":["view"]}"#,
    ] {
        let r: Result<ShareRequest, _> = decode(bad);
        assert!(
            matches!(r, Err(DecodeError::Invalid(_))),
            "{bad} gave {r:?}"
        );
    }
    let r = InputMsg::decode(r#"{"type":"pointer_move","x":1e400,"y":0}"#);
    assert!(matches!(r, Err(DecodeError::Invalid(_))), "{r:?}");
    let r: Result<ShareRequest, _> = decode(r#"{"username":"bob","permission":"view""#);
    assert!(matches!(r, Err(DecodeError::Malformed(_))), "{r:?}");
}

#[test]
fn file_changes_round_trip_by_wire_name() {
    for c in [
        FileChange::Created,
        FileChange::Modified,
        FileChange::Deleted,
    ] {
        let json = serde_json::to_string(&c).expect("encode");
        assert_eq!(json, format!("\"{}\"", c.as_str()));
        assert_eq!(FileChange::parse(c.as_str()), Some(c));
    }
    assert_eq!(FileChange::parse("renamed"), None);
}

//! Properties of the data-channel messages ([`meshdesk_protocol::input`]):
//! what [`InputMsg::decode`] accepts is exactly what
//! [`InputMsg::validate`] allows, within [`MAX_INPUT_BYTES`].

use meshdesk_protocol::input::{ControlMsg, InputMsg, MouseButton, MAX_INPUT_BYTES};
use meshdesk_protocol::{encode, DecodeError};
use proptest::collection::vec;
use proptest::option::of;
use proptest::prelude::*;
use proptest::sample::{select, Index};

use crate::json::{
    any_text, other_kind, pick, wire_words, with_raw, with_string, word, wrong_message, NOT_NUMBERS,
};
use crate::{assert_every_variant, config};

const INPUT_TAGS: &[&str] = &[
    "pointer_move",
    "pointer_button",
    "wheel",
    "key",
    "release_all",
];
const CONTROL_TAGS: &[&str] = &["request_keyframe", "rtcp_keyframe_requests"];

fn unit() -> impl Strategy<Value = f64> {
    prop_oneof![Just(0.0), Just(1.0), Just(-0.0), 0.0..=1.0f64]
}

fn wheel_delta() -> impl Strategy<Value = f64> {
    prop_oneof![Just(1000.0), Just(-1000.0), -1000.0..=1000.0f64]
}

/// Any `f64`, most of them close to `low` or `high` on either side, and
/// the values JSON cannot write (NaN, infinities).
fn around(low: f64, high: f64) -> impl Strategy<Value = f64> {
    let span = high - low;
    prop_oneof![
        any::<f64>(),
        (low - span)..(high + span),
        (-1e-6..1e-6f64).prop_map(move |d| low + d),
        (-1e-6..1e-6f64).prop_map(move |d| high + d),
        select(vec![
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            low - f64::EPSILON * low.abs().max(1.0),
            high + f64::EPSILON * high.abs().max(1.0),
        ]),
    ]
}

fn button() -> impl Strategy<Value = MouseButton> {
    use MouseButton::*;
    select(vec![Left, Middle, Right, Back, Forward])
}

/// At most `max` bytes of any Unicode.
fn bytes_of_text(max: usize) -> impl Strategy<Value = String> {
    vec(any::<char>(), 0..max).prop_map(move |chars| {
        let mut s = String::new();
        for c in chars {
            if s.len() + c.len_utf8() > max {
                break;
            }
            s.push(c);
        }
        s
    })
}

/// Every valid [`InputMsg`].
fn input_msg() -> impl Strategy<Value = InputMsg> {
    prop_oneof![
        (unit(), unit()).prop_map(|(x, y)| InputMsg::PointerMove { x, y }),
        (button(), any::<bool>(), unit(), unit())
            .prop_map(|(button, down, x, y)| InputMsg::PointerButton { button, down, x, y }),
        (wheel_delta(), wheel_delta()).prop_map(|(dx, dy)| InputMsg::Wheel { dx, dy }),
        ("[A-Za-z0-9]{1,32}", any::<bool>(), of(bytes_of_text(64)))
            .prop_map(|(code, down, text)| InputMsg::Key { code, down, text }),
        Just(InputMsg::ReleaseAll),
        Just(InputMsg::Heartbeat),
    ]
}

fn input_variant(m: &InputMsg) -> usize {
    match m {
        InputMsg::PointerMove { .. } => 0,
        InputMsg::PointerButton { .. } => 1,
        InputMsg::Wheel { .. } => 2,
        InputMsg::Key { .. } => 3,
        InputMsg::ReleaseAll => 4,
        InputMsg::Heartbeat => 5,
    }
}

fn control_msg() -> impl Strategy<Value = ControlMsg> {
    prop_oneof![
        Just(ControlMsg::RequestKeyframe),
        any::<bool>().prop_map(|enabled| ControlMsg::RtcpKeyframeRequests { enabled }),
        "[A-Za-z0-9-]{1,64}".prop_map(|id| ControlMsg::SelectScreen { id }),
        any::<bool>().prop_map(|enabled| ControlMsg::SoundChannel { enabled }),
    ]
}

fn control_variant(m: &ControlMsg) -> usize {
    match m {
        ControlMsg::RequestKeyframe => 0,
        ControlMsg::RtcpKeyframeRequests { .. } => 1,
        ControlMsg::SelectScreen { .. } => 2,
        ControlMsg::SoundChannel { .. } => 3,
    }
}

/// What `InputMsg::decode` gives for any text: a valid message that
/// round-trips, or an error; never anything over the limit.
fn input_decodes_or_refuses(text: &str) -> Result<(), TestCaseError> {
    match InputMsg::decode(text) {
        Ok(msg) => {
            prop_assert!(text.len() <= MAX_INPUT_BYTES);
            prop_assert_eq!(msg.validate(), Ok(()));
            prop_assert_eq!(InputMsg::decode(&encode(&msg)), Ok(msg));
        }
        Err(DecodeError::TooLarge { len, .. }) => prop_assert!(len > MAX_INPUT_BYTES),
        Err(_) => prop_assert!(text.len() <= MAX_INPUT_BYTES),
    }
    Ok(())
}

#[test]
fn every_input_and_control_variant_is_generated() {
    assert_every_variant(input_msg(), 6, input_variant);
    assert_every_variant(control_msg(), 4, control_variant);
}

/// The limit is exact: an input message of `MAX_INPUT_BYTES` decodes as
/// far as size goes, one byte more is too large.
#[test]
fn the_input_size_limit_is_exact() {
    let text = encode(&InputMsg::ReleaseAll);
    for len in MAX_INPUT_BYTES - 20..MAX_INPUT_BYTES + 20 {
        let padded = format!("{text}{}", " ".repeat(len - text.len()));
        let got = InputMsg::decode(&padded);
        if len <= MAX_INPUT_BYTES {
            assert_eq!(got, Ok(InputMsg::ReleaseAll));
        } else {
            let max = MAX_INPUT_BYTES;
            assert_eq!(got, Err(DecodeError::TooLarge { len, max }));
        }
    }
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn valid_input_round_trips(msg in input_msg()) {
        let text = encode(&msg);
        prop_assert!(text.len() <= MAX_INPUT_BYTES, "{} bytes", text.len());
        prop_assert_eq!(InputMsg::decode(&text), Ok(msg));
    }

    #[test]
    fn valid_control_round_trips(msg in control_msg()) {
        prop_assert_eq!(ControlMsg::decode(&encode(&msg)), Ok(msg));
    }

    /// Any `f64`, NaN and infinities included (JSON writes them as null).
    #[test]
    fn a_position_decodes_only_when_finite_and_within_the_screen(
        x in around(0.0, 1.0), y in unit(), button in button(), down in any::<bool>(),
    ) {
        let inside = x.is_finite() && (0.0..=1.0).contains(&x);
        for msg in [InputMsg::PointerMove { x, y }, InputMsg::PointerButton { button, down, x, y }] {
            prop_assert_eq!(msg.validate().is_ok(), inside);
            let got = InputMsg::decode(&encode(&msg));
            if inside {
                prop_assert_eq!(got, Ok(msg));
            } else {
                prop_assert!(matches!(got, Err(DecodeError::Invalid(_))), "{:?}", got);
            }
        }
    }

    #[test]
    fn a_wheel_decodes_only_when_finite_and_at_most_a_thousand_lines(
        dx in around(-1000.0, 1000.0), dy in wheel_delta(),
    ) {
        let msg = InputMsg::Wheel { dx, dy };
        let ok = dx.is_finite() && dx.abs() <= 1000.0;
        prop_assert_eq!(msg.validate().is_ok(), ok);
        let got = InputMsg::decode(&encode(&msg));
        if ok {
            prop_assert_eq!(got, Ok(msg));
        } else {
            prop_assert!(matches!(got, Err(DecodeError::Invalid(_))), "{:?}", got);
        }
    }

    #[test]
    fn a_key_decodes_only_with_a_short_alphanumeric_code_and_short_text(
        code in prop_oneof!["[A-Za-z0-9]{0,40}", any::<String>()],
        text in of(prop_oneof![bytes_of_text(80), any::<String>()]),
        down in any::<bool>(),
    ) {
        let code_ok = (1..=32).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_alphanumeric());
        let text_ok = text.as_ref().is_none_or(|t| t.len() <= 64);
        let msg = InputMsg::Key { code, down, text };
        let wire = encode(&msg);
        let got = InputMsg::decode(&wire);
        if code_ok && text_ok {
            prop_assert_eq!(got, Ok(msg));
        } else if wire.len() > MAX_INPUT_BYTES {
            prop_assert!(matches!(got, Err(DecodeError::TooLarge { .. })), "{:?}", got);
        } else {
            prop_assert!(matches!(got, Err(DecodeError::Invalid(_))), "{:?}", got);
        }
    }

    #[test]
    fn arbitrary_text_is_decoded_or_refused(text in any_text()) {
        input_decodes_or_refuses(&text)?;
        if let Ok(msg) = ControlMsg::decode(&text) {
            prop_assert_eq!(ControlMsg::decode(&encode(&msg)), Ok(msg));
        }
    }

    #[test]
    fn wrong_json_is_decoded_or_refused(
        input in wrong_message(INPUT_TAGS), control in wrong_message(CONTROL_TAGS),
    ) {
        input_decodes_or_refuses(&input)?;
        if let Ok(msg) = ControlMsg::decode(&control) {
            prop_assert_eq!(ControlMsg::decode(&encode(&msg)), Ok(msg));
        }
    }

    #[test]
    fn a_value_of_another_kind_is_invalid(
        msg in input_msg(), index in any::<Index>(), choice in any::<Index>(),
    ) {
        let mut value = serde_json::to_value(&msg).expect("a message is JSON");
        let Some(slot) = pick(&mut value, &index, |_| true) else {
            return Ok(());
        };
        *slot = other_kind(slot, &choice);
        let got = InputMsg::decode(&value.to_string());
        prop_assert!(matches!(got, Err(DecodeError::Invalid(_))), "{} gave {:?}", value, got);
    }

    #[test]
    fn a_word_or_a_huge_number_in_a_values_place_is_refused(
        msg in input_msg(), index in any::<Index>(), word in select(NOT_NUMBERS),
    ) {
        let value = serde_json::to_value(&msg).expect("a message is JSON");
        let Some(text) = with_raw(value, &index, |_| true, word) else {
            return Ok(());
        };
        let got = InputMsg::decode(&text);
        prop_assert!(matches!(got, Err(DecodeError::Malformed(_))), "{} gave {:?}", text, got);
    }

    /// Finite numbers beyond the screen or the wheel's range, in every
    /// number's place.
    #[test]
    fn a_number_out_of_range_is_invalid(
        msg in input_msg(),
        index in any::<Index>(),
        number in prop_oneof![
            select(vec!["1e308", "-1e308", "1e400", "1000.5", "-1000.0001", "18446744073709551616"])
                .prop_map(String::from),
            (1001.0..1e300f64).prop_map(|v| v.to_string()),
        ],
    ) {
        let value = serde_json::to_value(&msg).expect("a message is JSON");
        let Some(text) = with_raw(value, &index, |v| v.is_number(), &number) else {
            return Ok(());
        };
        let got = InputMsg::decode(&text);
        prop_assert!(matches!(got, Err(DecodeError::Invalid(_))), "{} gave {:?}", text, got);
    }

    #[test]
    fn text_over_the_limit_is_too_large(msg in input_msg(), extra in 1usize..2000) {
        let text = encode(&msg);
        let padded = format!("{text}{}", " ".repeat(MAX_INPUT_BYTES + extra - text.len()));
        let want = DecodeError::TooLarge { len: padded.len(), max: MAX_INPUT_BYTES };
        prop_assert_eq!(InputMsg::decode(&padded), Err(want.clone()));
        prop_assert_eq!(ControlMsg::decode(&padded), Err(want));
    }
}

// Each case tries every wire name in one string's place.
proptest! {
    #![proptest_config(config(64))]

    /// A string is read as written or refused: no alias, no case folding,
    /// no trimming of an enum's name.
    #[test]
    fn a_string_decodes_only_as_itself(
        msg in input_msg(), index in any::<Index>(), word in word(),
    ) {
        let value = serde_json::to_value(&msg).expect("JSON");
        for word in wire_words().into_iter().chain([word]) {
            let Some(changed) = with_string(value.clone(), &index, word) else {
                return Ok(());
            };
            if let Ok(decoded) = InputMsg::decode(&changed.to_string()) {
                prop_assert_eq!(serde_json::to_value(&decoded).expect("JSON"), changed);
            }
        }
    }
}

//! Strategies for text that is not a valid message: arbitrary text, JSON
//! of any shape, and valid messages with one value replaced by a value of
//! the wrong kind or by a word that is no JSON number (`NaN`, `0x10`).

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{select, Index};
use serde_json::{Map, Value};

use crate::messages::text;

/// Every field name on the wire, so that generated objects often hit real
/// fields with wrong values.
const FIELD_NAMES: &[&str] = &[
    "type",
    "protocol",
    "device_id",
    "signature",
    "info",
    "os",
    "screens",
    "width",
    "height",
    "agent_version",
    "session_id",
    "reason",
    "sdp",
    "candidate",
    "sdp_mid",
    "sdp_mline_index",
    "username_fragment",
    "detail",
    "nonce",
    "name",
    "heartbeat_secs",
    "user",
    "permission",
    "ice_servers",
    "urls",
    "username",
    "credential",
    "code",
    "message",
    "request_id",
    "resume_secret",
    "resume_grace_secs",
    "device_name",
    "online",
    "event",
    "id",
    "at",
    "kind",
    "actor",
    "target_user",
    "duration_ms",
    "x",
    "y",
    "dx",
    "dy",
    "button",
    "down",
    "text",
    "enabled",
    "password",
    "public_key",
];

/// Words in a value's place that JSON does not allow.
pub const NOT_NUMBERS: &[&str] = &[
    "NaN",
    "-NaN",
    "Infinity",
    "-Infinity",
    "inf",
    "0x10",
    "+1",
    ".5",
    "1.",
    "01",
    "-",
    "1e",
    "1e+",
    "--1",
    "1_000",
    "0b1",
    "١",
    "undefined",
    "'s'",
];

/// Numbers no integer field accepts: fractions, exponents, integers beyond
/// 64 bits either way, and numbers beyond `f64`.
pub const NOT_INTEGERS: &[&str] = &[
    "0.5",
    "1.0",
    "1e3",
    "-2.5E-3",
    "1e400",
    "-1e400",
    "18446744073709551616",
    "-9223372036854775809",
    "340282366920938463463374607431768211456",
];

/// Every name an enum field takes on the wire.
const WIRE_NAMES: &[&str] = &[
    "view",
    "control",
    "owner",
    "viewer_closed",
    "host_closed",
    "rejected",
    "connection_failed",
    "peer_gone",
    "revoked",
    "device_removed",
    "server_shutdown",
    "malformed",
    "too_large",
    "unknown_type",
    "invalid",
    "unauthorized",
    "forbidden",
    "not_found",
    "offline",
    "rate_limited",
    "unsupported_version",
    "internal",
    "left",
    "middle",
    "right",
    "back",
    "forward",
    "account_created",
    "login_failed",
    "device_enrolled",
    "device_online",
    "device_offline",
    "device_renamed",
    "device_removed",
    "share_granted",
    "share_revoked",
    "session_started",
    "session_ended",
];

/// Every wire name and its near misses (other case, camelCase, spaces,
/// dashes), for a string's place: an enum field must take its own names
/// exactly and refuse the rest.
pub fn wire_words() -> Vec<String> {
    let camel = |w: &str| {
        let mut out = String::new();
        let mut up = true;
        for c in w.chars() {
            match c {
                '_' => up = true,
                c if up => {
                    out.extend(c.to_uppercase());
                    up = false;
                }
                c => out.push(c),
            }
        }
        out
    };
    let mut words = vec![String::new()];
    for w in WIRE_NAMES {
        words.extend([
            w.to_string(),
            w.to_uppercase(),
            camel(w),
            format!(" {w}"),
            format!("{w} "),
            w.replace('_', "-"),
        ]);
    }
    words
}

/// Any other string: a word, or any text.
pub fn word() -> impl Strategy<Value = String> {
    prop_oneof!["[a-zA-Z_]{0,12}", text()]
}

/// `message` with a string value, chosen by `index`, replaced by `word`;
/// `None` when it has no string but its `type`.
pub fn with_string(mut message: Value, index: &Index, word: String) -> Option<Value> {
    *pick(&mut message, index, Value::is_string)? = Value::from(word);
    Some(message)
}

/// Arbitrary text, also from arbitrary bytes read as UTF-8 lossily.
pub fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        vec(any::<u8>(), 0..256).prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        value().prop_map(|v| v.to_string()),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![3 => select(FIELD_NAMES).prop_map(String::from), 1 => text()]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from), // NaN and infinities become null
        select(vec![f64::MAX, f64::MIN, f64::MIN_POSITIVE, 1e300, -0.0]).prop_map(Value::from),
        text().prop_map(Value::from),
    ]
}

/// Any JSON value, nested a few levels deep.
pub fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            vec((key(), inner), 0..5).prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// An object whose `type` is one of `tags` (or now and then anything),
/// with arbitrary fields: structured, but mostly wrong.
pub fn wrong_message(tags: &'static [&'static str]) -> impl Strategy<Value = String> {
    let tag = prop_oneof![4 => select(tags).prop_map(Value::from), 1 => leaf()];
    (tag, vec((key(), value()), 0..6)).prop_map(|(tag, fields)| {
        let mut object: Map<String, Value> = fields.into_iter().collect();
        object.insert("type".into(), tag);
        Value::Object(object).to_string()
    })
}

/// A step from a JSON value to one inside it.
#[derive(Debug, Clone)]
enum Step {
    Key(String),
    Item(usize),
}

/// Paths to every non-null value inside `v`, except the message's `type`.
fn paths(v: &Value, here: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
    let mut visit = |step: Step, child: &Value, here: &mut Vec<Step>| {
        if child.is_null() {
            return;
        }
        here.push(step);
        out.push(here.clone());
        paths(child, here, out);
        here.pop();
    };
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                if !(here.is_empty() && k == "type") {
                    visit(Step::Key(k.clone()), child, here);
                }
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                visit(Step::Item(i), child, here);
            }
        }
        _ => {}
    }
}

fn get<'a>(v: &'a Value, path: &[Step]) -> &'a Value {
    path.iter().fold(v, |v, step| match step {
        Step::Key(k) => &v[k.as_str()],
        Step::Item(i) => &v[*i],
    })
}

fn at<'a>(v: &'a mut Value, path: &[Step]) -> &'a mut Value {
    path.iter().fold(v, |v, step| match step {
        Step::Key(k) => &mut v[k.as_str()],
        Step::Item(i) => &mut v[*i],
    })
}

/// One non-null value of `message` (not its `type`) for which `wanted`
/// holds, chosen by `index`; `None` when the message has none (`ping`).
pub fn pick<'a>(
    message: &'a mut Value,
    index: &Index,
    wanted: fn(&Value) -> bool,
) -> Option<&'a mut Value> {
    let mut all = Vec::new();
    paths(message, &mut Vec::new(), &mut all);
    all.retain(|path| wanted(get(message, path)));
    if all.is_empty() {
        return None;
    }
    let path = all.swap_remove(index.index(all.len()));
    Some(at(message, &path))
}

/// A value of another kind than `v`, chosen by `choice`. Never null (an
/// `Option` takes it), never an array in an object's place (serde reads a
/// struct from an array of its fields), never a string in a string's place
/// (an enum's string could name another variant).
pub fn other_kind(v: &Value, choice: &Index) -> Value {
    let object = Value::Object(Map::from_iter([("0".to_string(), Value::from(1))]));
    let candidates = [
        Value::from(7),
        Value::from(-1.5),
        Value::from(true),
        Value::from("7"),
        Value::Array(vec![Value::from(1)]),
        object,
    ];
    let fits = |c: &Value| {
        let same = std::mem::discriminant(c) == std::mem::discriminant(v);
        let struct_as_array = v.is_object() && c.is_array();
        !(same || struct_as_array)
    };
    let others: Vec<Value> = candidates.into_iter().filter(fits).collect();
    others[choice.index(others.len())].clone()
}

/// `message` as text with a value that `wanted` accepts, chosen by
/// `index`, replaced by `raw`, which need not be JSON.
pub fn with_raw(
    mut message: Value,
    index: &Index,
    wanted: fn(&Value) -> bool,
    raw: &str,
) -> Option<String> {
    const MARK: &str = "\u{1}meshdesk-raw\u{1}";
    *pick(&mut message, index, wanted)? = Value::from(MARK);
    Some(
        message
            .to_string()
            .replace(&Value::from(MARK).to_string(), raw),
    )
}

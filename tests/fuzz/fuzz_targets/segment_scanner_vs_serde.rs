//! Differential: the Segment message scanner (`Message::parse`, and `Config::parse`, which
//! also skips the properties and traits no path reaches) against serde_json
//! (`serde_json::Value`, then `Message::from_value`, the path of the Lambda destination's
//! already parsed payload). Also `json_scan::container_end`, the block scanner both the
//! Segment scanner and the Genesys skim step over values with, against serde_json and against
//! its portable (arm64) version.
//!
//! What must agree:
//! * every JSON object serde_json accepts, the scanner accepts (it may accept more: the members
//!   it skips are followed to their end, not validated);
//! * on what both accept, the same message: the same members with the same values (numbers
//!   compared by value: the scanner keeps their text, serde_json an `f64`), and under every
//!   configuration the same mapping outcome (exactly, unless a number is written in a form
//!   whose text an `f64` does not give back, then the same kind of outcome and error field);
//! * the filtered parse maps exactly like the full one, and accepts whatever it accepts;
//! * where a container ends: SSE2 and portable scanners always, serde_json whenever it reads
//!   a value there.

#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use mlpipe_fuzz::segment_configs;
use segment_personalize_core::{MapError, Message, Outcome, Value};
use serde::de::IgnoredAny;

fuzz_target!(|data: &[u8]| {
    containers_end_alike(data);
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let scanned = Message::parse(text);
    let json = serde_json::from_str::<serde_json::Value>(text);
    if let Ok(json) = &json {
        let from_value = Message::from_value(json);
        match (&scanned, &from_value) {
            (Ok(a), Ok(b)) => same_message(a, b),
            (Err(_), Err(_)) => assert!(!json.is_object(), "serde_json's object refused twice"),
            (Err(e), Ok(_)) => panic!("the scanner refuses a message serde_json reads: {e}"),
            (Ok(_), Err(e)) => panic!("from_value refuses a message the scanner reads: {e}"),
        }
        if let (Ok(a), Ok(b)) = (&scanned, &from_value) {
            let exact = !has_inexact_number(a);
            for config in segment_configs() {
                let (x, y) = (config.map(a), config.map(b));
                if exact {
                    assert_eq!(x, y, "the scanner's message maps differently");
                } else {
                    same_kind(&x, &y);
                }
            }
        }
    }
    // The configuration's filtered parse against the full one.
    for config in segment_configs() {
        let filtered = config.parse(text);
        match (&scanned, &filtered) {
            (Ok(full), Ok(kept)) => assert_eq!(config.map(full), config.map(kept)),
            (Ok(_), Err(e)) => panic!("the filtered parse refuses what the full one reads: {e}"),
            (Err(_), _) => {}
        }
    }
});

/// The SSE2 scanner and the portable one find the same end for every container start in the
/// first bytes, and it is where serde_json ends the value when it reads one.
fn containers_end_alike(b: &[u8]) {
    for (i, _) in b
        .iter()
        .enumerate()
        .filter(|(_, c)| matches!(c, b'{' | b'['))
        .take(16)
    {
        let end = json_scan::container_end(b, i);
        assert_eq!(end, json_scan::container_end_portable(b, i), "at {i}");
        let mut values = serde_json::Deserializer::from_slice(&b[i..]).into_iter::<IgnoredAny>();
        if let Some(Ok(_)) = values.next() {
            assert_eq!(end, Some(i + values.byte_offset()), "at {i}");
        }
    }
}

fn same_message(a: &Message, b: &Message) {
    for (x, y) in fields(a).into_iter().zip(fields(b)) {
        let (x, y) = (x.as_ref().map(canonical), y.as_ref().map(canonical));
        let same = match (&x, &y) {
            (Some(x), Some(y)) => same(x, y),
            (None, None) => true,
            _ => false,
        };
        assert!(
            same,
            "the scanner and serde_json read a member differently: {x:?} / {y:?}"
        );
    }
}

/// Every member a message keeps.
fn fields<'m, 'a>(m: &'m Message<'a>) -> [&'m Option<Value<'a>>; 12] {
    [
        &m.kind,
        &m.message_id,
        &m.anonymous_id,
        &m.user_id,
        &m.timestamp,
        &m.original_timestamp,
        &m.sent_at,
        &m.received_at,
        &m.event,
        &m.name,
        &m.properties,
        &m.traits,
    ]
}

/// A value with objects as maps (the last of repeated keys wins, as in both parsers).
#[derive(Debug)]
enum Canonical {
    Null,
    Bool(bool),
    Integer(i128),
    Float(f64),
    Str(String),
    Array(Vec<Canonical>),
    Object(BTreeMap<String, Canonical>),
}

fn canonical(v: &Value) -> Canonical {
    match v {
        Value::Null => Canonical::Null,
        Value::Bool(b) => Canonical::Bool(*b),
        Value::Int(n) => Canonical::Integer(i128::from(*n)),
        Value::UInt(n) => Canonical::Integer(i128::from(*n)),
        Value::Float(x) => Canonical::Float(*x),
        Value::Number(text) => Canonical::Float(text.parse().expect("a JSON number parses")),
        Value::Str(s) => Canonical::Str(s.to_string()),
        Value::Array(items) => Canonical::Array(items.iter().map(canonical).collect()),
        Value::Object(members) => Canonical::Object(
            members
                .iter()
                .map(|(k, v)| (k.to_string(), canonical(v)))
                .collect(),
        ),
    }
}

/// Equal, numbers by value: integers exactly, anything else as `f64` to the last bit but one
/// (serde_json's default float parsing may round the last bit differently from Rust's).
fn same(a: &Canonical, b: &Canonical) -> bool {
    use Canonical as C;
    let close = |x: f64, y: f64| {
        x == y
            || (x.is_finite()
                && y.is_finite()
                && (x - y).abs() <= x.abs().max(y.abs()) * 4.0 * f64::EPSILON)
    };
    match (a, b) {
        (C::Null, C::Null) => true,
        (C::Bool(x), C::Bool(y)) => x == y,
        (C::Integer(x), C::Integer(y)) => x == y,
        (C::Integer(x), C::Float(y)) | (C::Float(y), C::Integer(x)) => close(*x as f64, *y),
        (C::Float(x), C::Float(y)) => close(*x, *y),
        (C::Str(x), C::Str(y)) => x == y,
        (C::Array(x), C::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        (C::Object(x), C::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((kx, x), (ky, y))| kx == ky && same(x, y))
        }
        _ => false,
    }
}

/// A number the scanner keeps as text (a fraction, an exponent, `-0`, beyond 64 bits): its
/// `f64` written back may differ, so ids and strings made from it may too.
fn has_inexact_number(m: &Message) -> bool {
    fn any(v: &Value) -> bool {
        match v {
            Value::Number(_) | Value::Float(_) => true,
            Value::Array(items) => items.iter().any(any),
            Value::Object(members) => members.iter().any(|(_, v)| any(v)),
            _ => false,
        }
    }
    fields(m).into_iter().flatten().any(any)
}

fn same_kind(x: &Result<Outcome, MapError>, y: &Result<Outcome, MapError>) {
    match (x, y) {
        (Err(a), Err(b)) => assert_eq!(a.field, b.field, "{a} / {b}"),
        (Ok(a), Ok(b)) => assert_eq!(
            std::mem::discriminant(a),
            std::mem::discriminant(b),
            "{a:?} / {b:?}"
        ),
        _ => panic!("one maps, the other fails: {x:?} / {y:?}"),
    }
}

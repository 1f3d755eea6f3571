//! A JSON value from the message text, walked with the scanner: strings borrowed (decoded by
//! serde_json only when they have escapes), numbers kept as written when their binary form
//! would not give the same text back ([`Value::Number`]), everything validated.
//!
//! serde_json would turn `12345678901234567890123` or `1.0` into an `f64` whose text differs
//! from what the sender wrote; an id must keep its exact spelling, so numbers are read here.

use std::borrow::Cow;

use crate::error::MapError;
use crate::scan::{self, Span};
use crate::value::Value;

use super::text::{decode_key, json_error, scan_error};

/// Nesting deeper than this is refused (serde_json's default limit), so that no input can
/// exhaust the stack.
const MAX_DEPTH: usize = 128;

/// The value at `span`, validated; errors name `field` and the position, never the text.
pub(crate) fn parse_value<'a>(
    text: &'a str,
    span: Span,
    field: &str,
) -> Result<Value<'a>, MapError> {
    if span.plain_string {
        return Ok(Value::Str(Cow::Borrowed(
            &text[span.start + 1..span.end - 1],
        )));
    }
    value(text, span, field, 0)
}

fn value<'a>(text: &'a str, span: Span, field: &str, depth: usize) -> Result<Value<'a>, MapError> {
    let b = text.as_bytes();
    let raw = &text[span.start..span.end];
    match b[span.start] {
        b'"' if span.plain_string => Ok(Value::Str(Cow::Borrowed(&raw[1..raw.len() - 1]))),
        b'"' => serde_json::from_str::<String>(raw)
            .map(|s| Value::Str(Cow::Owned(s)))
            .map_err(|e| json_error(text, span.start, &e, field)),
        b'{' | b'[' if depth >= MAX_DEPTH => Err(at(
            text,
            span.start,
            field,
            &format!("nested more than {MAX_DEPTH} levels deep"),
        )),
        b'{' => {
            let mut members = Vec::new();
            let end = scan::members(text, span.start, |m| {
                let key = decode_key(text, &m)?;
                members.push((key, value(text, m.span(), field, depth + 1)?));
                Ok(())
            })?
            .map_err(|e| scan_error(text, e, field))?;
            debug_assert_eq!(end, span.end);
            Ok(Value::Object(members))
        }
        b'[' => {
            let mut items = Vec::new();
            let end = scan::elements(text, span.start, |element| {
                items.push(value(text, element, field, depth + 1)?);
                Ok(())
            })?
            .map_err(|e| scan_error(text, e, field))?;
            debug_assert_eq!(end, span.end);
            Ok(Value::Array(items))
        }
        b't' => literal(text, span, "true", Value::Bool(true), field),
        b'f' => literal(text, span, "false", Value::Bool(false), field),
        b'n' => literal(text, span, "null", Value::Null, field),
        b'-' | b'0'..=b'9' => number(raw).ok_or_else(|| {
            let bad = number_error_at(raw.as_bytes());
            at(text, span.start + bad, field, "")
        }),
        _ => Err(at(text, span.start, field, "")),
    }
}

/// `true`, `false` or `null` exactly; the error points at the first byte that differs.
fn literal<'a>(
    text: &'a str,
    span: Span,
    word: &str,
    v: Value<'a>,
    field: &str,
) -> Result<Value<'a>, MapError> {
    let raw = &text.as_bytes()[span.start..span.end];
    if raw == word.as_bytes() {
        return Ok(v);
    }
    let differ = raw
        .iter()
        .zip(word.as_bytes())
        .position(|(a, b)| a != b)
        .unwrap_or(raw.len().min(word.len()));
    Err(at(text, span.start + differ, field, ""))
}

/// A JSON number: an integer that fits 64 bits as `Int`/`UInt`, anything else as its text.
/// `None` when `raw` is not a JSON number.
pub(crate) fn number(raw: &str) -> Option<Value<'_>> {
    let b = raw.as_bytes();
    let end = number_end(b)?;
    if end != b.len() {
        return None;
    }
    let integer = !raw.contains(['.', 'e', 'E']);
    if integer && raw != "-0" {
        if let Ok(n) = raw.parse::<u64>() {
            return Some(Value::UInt(n));
        }
        if let Ok(n) = raw.parse::<i64>() {
            return Some(Value::Int(n));
        }
    }
    Some(Value::Number(Cow::Borrowed(raw)))
}

/// The length of the longest prefix of `b` that is a JSON number
/// (`-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`), or `None` when not even that.
fn number_end(b: &[u8]) -> Option<usize> {
    let digits = |from: usize| from + b[from..].iter().take_while(|c| c.is_ascii_digit()).count();
    let mut i = usize::from(b.first() == Some(&b'-'));
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => i = digits(i),
        _ => return None,
    }
    if b.get(i) == Some(&b'.') {
        let after = digits(i + 1);
        if after == i + 1 {
            return None;
        }
        i = after;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        let mut j = i + 1;
        if matches!(b.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        let after = digits(j);
        if after == j {
            return None;
        }
        i = after;
    }
    Some(i)
}

/// Where a malformed number goes wrong (an offset into it).
fn number_error_at(b: &[u8]) -> usize {
    number_end(b).unwrap_or_else(|| {
        // The sign, or the first byte that cannot continue a number.
        let sign = usize::from(b.first() == Some(&b'-'));
        b[sign..]
            .iter()
            .position(|c| !c.is_ascii_digit())
            .map_or(b.len(), |p| p + sign)
            .min(b.len().saturating_sub(1))
    })
}

/// `field: invalid JSON at line L column C[ (detail)]`.
fn at(text: &str, offset: usize, field: &str, detail: &str) -> MapError {
    let (line, column) = scan::line_column(text, offset);
    let mut reason = format!("invalid JSON at line {line} column {column}");
    if !detail.is_empty() {
        reason.push_str(" (");
        reason.push_str(detail);
        reason.push(')');
    }
    MapError::new(field, reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Value<'_>, String> {
        let (end, plain_string) = scan::value_end(s.as_bytes(), 0).map_err(|_| "end".to_owned())?;
        assert_eq!(end, s.len(), "{s}");
        parse_value(
            s,
            Span {
                start: 0,
                end,
                plain_string,
            },
            "f",
        )
        .map_err(|e| e.to_string())
    }

    #[test]
    fn numbers_keep_their_text_unless_an_integer_says_it_all() {
        assert_eq!(parse("42"), Ok(Value::UInt(42)));
        assert_eq!(parse("-42"), Ok(Value::Int(-42)));
        assert_eq!(parse("18446744073709551615"), Ok(Value::UInt(u64::MAX)));
        for text in [
            "18446744073709551616",
            "-9223372036854775809",
            "12345678901234567890123",
            "1.0",
            "19.990",
            "1e21",
            "1E+21",
            "2.5e-3",
            "-0",
            "-0.0",
            "1e400",
        ] {
            assert_eq!(
                parse(text),
                Ok(Value::Number(Cow::Borrowed(text))),
                "{text}"
            );
        }
        for bad in [
            "01", "1.", ".5", "-", "1e", "1e+", "+1", "0x10", "1.5.2", "--1", "NaN",
        ] {
            let e = parse(bad);
            assert!(
                e.as_ref()
                    .is_err_and(|e| e.starts_with("f: invalid JSON at line 1")),
                "{bad}: {e:?}"
            );
        }
    }

    #[test]
    fn agrees_with_serde_json_on_everything_but_number_spelling() {
        let text = r#"{"a":[1,-2,"x\"y",{"b":null,"c":true,"d":false}],"e":"\u00e9","f":{}}"#;
        let ours = parse(text).unwrap();
        let theirs: Value = serde_json::from_str(text).unwrap();
        assert_eq!(ours, theirs);
        assert!(matches!(
            ours.get("a"),
            Some(Value::Array(items)) if matches!(items[2], Value::Str(Cow::Owned(_)))
        ));
        for bad in [
            r#"{"a":tru}"#,
            r#"{"a":nul}"#,
            r#"{"a":"\x"}"#,
            r#"[1,]"#,
            r#"{"a" 1}"#,
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn deep_nesting_is_refused_not_a_stack_overflow() {
        let deep = "[".repeat(100_000) + &"]".repeat(100_000);
        let e = parse(&deep).unwrap_err();
        assert!(e.contains("nested more than 128 levels deep"), "{e}");
        let ok = "[".repeat(128) + &"]".repeat(128);
        assert!(parse(&ok).is_ok());
    }
}

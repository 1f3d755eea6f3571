//! Parsing a message from JSON text: the scanner walks it; `tree` reads the values kept.

use std::borrow::Cow;

use crate::error::MapError;
use crate::path::Keep;
use crate::scan::{self, Member, ScanError, Span};
use crate::value::Value;

use super::tree::parse_value;
use super::Message;

/// What of `properties` and `traits` to keep; `None`: all.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Wanted<'c> {
    pub properties: &'c Keep,
    pub traits: &'c Keep,
}

/// Parses a message, keeping only the `wanted` members of `properties` and `traits`.
pub(crate) fn parse_with<'a>(
    text: &'a str,
    wanted: Option<Wanted<'_>>,
) -> Result<Message<'a>, MapError> {
    let b = text.as_bytes();
    let open = scan::skip_ws(b, 0);
    match b.get(open) {
        Some(b'{') => {}
        None => return Err(MapError::new("message", "empty")),
        Some(_) => return Err(MapError::new("message", "expected a JSON object")),
    }
    let mut m = Message::default();
    let end = scan::members(text, open, |member| {
        let key = decode_key(text, &member)?;
        let Some(slot) = m.slot(&key) else {
            return Ok(());
        };
        let keep = match (key.as_ref(), wanted) {
            ("properties", Some(w)) => Some(w.properties),
            ("traits", Some(w)) => Some(w.traits),
            _ => None,
        };
        let span = member.span();
        // A repeated member: the last one wins, as in serde_json::Value.
        *slot = Some(match keep {
            Some(keep) if b[member.start] == b'{' => parse_kept(text, span, keep, &key)?,
            _ => parse_value(text, span, &key)?,
        });
        Ok(())
    })?
    .map_err(|e| scan_error(text, e, "message"))?;
    let rest = scan::skip_ws(b, end);
    if rest != b.len() {
        return Err(scan_error(
            text,
            ScanError {
                at: rest,
                eof: false,
            },
            "message",
        ));
    }
    Ok(m)
}

/// The value at `span` with only the parts `keep` names (objects filtered, arrays element by
/// element); the skipped parts are not decoded.
fn parse_kept<'a>(
    text: &'a str,
    span: Span,
    keep: &Keep,
    field: &str,
) -> Result<Value<'a>, MapError> {
    if keep.whole {
        return parse_value(text, span, field);
    }
    match text.as_bytes()[span.start] {
        b'{' => {
            let mut members = Vec::with_capacity(keep.members.len().min(8));
            scan::members(text, span.start, |member| {
                let key = decode_key(text, &member)?;
                if let Some(inner) = keep.get(&key) {
                    members.push((key, parse_kept(text, member.span(), inner, field)?));
                }
                Ok(())
            })?
            .map_err(|e| scan_error(text, e, field))?;
            Ok(Value::Object(members))
        }
        b'[' => {
            let mut items = Vec::new();
            scan::elements(text, span.start, |element| {
                items.push(parse_kept(text, element, keep, field)?);
                Ok(())
            })?
            .map_err(|e| scan_error(text, e, field))?;
            Ok(Value::Array(items))
        }
        _ => parse_value(text, span, field),
    }
}

/// A member's key as text: borrowed unless it has escapes.
pub(super) fn decode_key<'a>(text: &'a str, member: &Member<'a>) -> Result<Cow<'a, str>, MapError> {
    if !member.key_escaped {
        return Ok(Cow::Borrowed(member.key));
    }
    let start = member.key.as_ptr() as usize - text.as_ptr() as usize - 1;
    let quoted = &text[start..start + member.key.len() + 2];
    serde_json::from_str::<String>(quoted)
        .map(Cow::Owned)
        .map_err(|e| json_error(text, start, &e, "message"))
}

/// A structural failure as a value-free [`MapError`].
pub(super) fn scan_error(text: &str, e: ScanError, field: &str) -> MapError {
    let (line, column) = scan::line_column(text, e.at);
    let reason = if e.eof {
        format!("invalid JSON: unexpected end at line {line} column {column}")
    } else {
        format!("invalid JSON at line {line} column {column}")
    };
    MapError::new(field, reason)
}

/// A serde_json failure in `text[offset..]` as a value-free [`MapError`] positioned in `text`.
pub(super) fn json_error(
    text: &str,
    offset: usize,
    e: &serde_json::Error,
    field: &str,
) -> MapError {
    use serde_json::error::Category;
    let (l0, c0) = scan::line_column(text, offset);
    let (line, column) = if e.line() <= 1 {
        (l0, c0 + e.column().saturating_sub(1))
    } else {
        (l0 + e.line() - 1, e.column())
    };
    let reason = match e.classify() {
        Category::Eof => format!("invalid JSON: unexpected end at line {line} column {column}"),
        Category::Syntax | Category::Io => format!("invalid JSON at line {line} column {column}"),
        // Only reachable through from_value with non-string keys, which JSON cannot have.
        Category::Data => "unexpected JSON structure".to_owned(),
    };
    MapError::new(field, reason)
}

//! Reading and checking `sentAt`, `itemId`, `eventValue`, `recommendationId` and `impression`.

use std::borrow::Cow;

use crate::error::{check_len, MapError};
use crate::limits;
use crate::message::Message;
use crate::time::{parse_rfc3339, SentAt};
use crate::value::Value;

/// `sentAt` from `timestamp`, else `originalTimestamp`, `sentAt`, `receivedAt`: the first one
/// present (not null, not empty) is used, and must be valid.
pub(super) fn sent_at(msg: &Message<'_>) -> Result<SentAt, MapError> {
    let candidates = [
        ("timestamp", &msg.timestamp),
        ("originalTimestamp", &msg.original_timestamp),
        ("sentAt", &msg.sent_at),
        ("receivedAt", &msg.received_at),
    ];
    for (field, value) in candidates {
        match value {
            None | Some(Value::Null) => continue,
            Some(Value::Str(s)) if s.is_empty() => continue,
            Some(Value::Str(s)) => {
                return parse_rfc3339(s).ok_or_else(|| {
                    MapError::new(
                        field,
                        "not an RFC 3339 date-time with a time zone (like 2024-05-14T10:15:30.250+02:00)",
                    )
                })
            }
            Some(other) => {
                return Err(MapError::new(
                    field,
                    format!("expected an RFC 3339 date-time string, found {}", other.kind()),
                ))
            }
        }
    }
    Err(MapError::new(
        "timestamp",
        "missing (and no originalTimestamp, sentAt or receivedAt)",
    ))
}

/// An item id: a string or a number; `None` for an empty string.
pub(super) fn item_id<'a>(
    v: &Value<'a>,
    field: impl FnOnce() -> String + Copy,
) -> Result<Option<Cow<'a, str>>, MapError> {
    match v {
        Value::Str(s) if s.is_empty() => Ok(None),
        Value::Str(_) | Value::Int(_) | Value::UInt(_) | Value::Float(_) => {
            let id = v.scalar_text().expect("scalar");
            check_len(field, &id, limits::ITEM_ID)?;
            Ok(Some(id))
        }
        other => Err(MapError::new(
            field(),
            format!("expected a string or a number, found {}", other.kind()),
        )),
    }
}

/// `eventValue`: a JSON number or a numeric string (surrounding spaces allowed), finite and
/// within the `Float` (f32) range of the API. `None` for an empty string.
pub(super) fn number(
    v: &Value<'_>,
    field: impl FnOnce() -> String + Copy,
) -> Result<Option<f32>, MapError> {
    let x = match v {
        Value::Int(n) => *n as f64,
        Value::UInt(n) => *n as f64,
        Value::Float(x) => *x,
        Value::Str(s) if s.trim().is_empty() => return Ok(None),
        Value::Str(s) => s
            .trim()
            .parse::<f64>()
            .map_err(|_| MapError::new(field(), "not a number"))?,
        other => {
            return Err(MapError::new(
                field(),
                format!(
                    "expected a number or a numeric string, found {}",
                    other.kind()
                ),
            ))
        }
    };
    if !x.is_finite() {
        return Err(MapError::new(field(), "not a finite number"));
    }
    let f = x as f32;
    if !f.is_finite() {
        return Err(MapError::new(
            field(),
            "out of range of a 32-bit float (eventValue is a Float)",
        ));
    }
    Ok(Some(f))
}

pub(super) fn recommendation_id<'a>(props: &Value<'a>) -> Result<Option<Cow<'a, str>>, MapError> {
    const FIELD: &str = "properties.recommendationId";
    match props.get("recommendationId") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Str(s)) if s.is_empty() => Ok(None),
        Some(v @ (Value::Str(_) | Value::Int(_) | Value::UInt(_))) => {
            let id = v.scalar_text().expect("scalar");
            check_len(|| FIELD.to_owned(), &id, limits::RECOMMENDATION_ID)?;
            Ok(Some(id))
        }
        Some(other) => Err(MapError::new(
            FIELD,
            format!("expected a string, found {}", other.kind()),
        )),
    }
}

pub(super) fn impression<'a>(props: &Value<'a>) -> Result<Option<Vec<Cow<'a, str>>>, MapError> {
    const FIELD: &str = "properties.impression";
    let items = match props.get("impression") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Array(items)) => items,
        Some(other) => {
            return Err(MapError::new(
                FIELD,
                format!("expected an array of item ids, found {}", other.kind()),
            ))
        }
    };
    if items.is_empty() {
        return Err(MapError::new(FIELD, "0 items, at least 1"));
    }
    if items.len() > limits::IMPRESSION_ITEMS {
        return Err(MapError::new(
            FIELD,
            format!(
                "{} items, at most {}",
                items.len(),
                limits::IMPRESSION_ITEMS
            ),
        ));
    }
    let mut ids = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let field = || format!("{FIELD}[{i}]");
        let id = match item {
            Value::Str(_) | Value::Int(_) | Value::UInt(_) => item.scalar_text().expect("scalar"),
            other => {
                return Err(MapError::new(
                    field(),
                    format!("expected a string, found {}", other.kind()),
                ))
            }
        };
        check_len(field, &id, limits::ITEM_ID)?;
        ids.push(id);
    }
    Ok(Some(ids))
}

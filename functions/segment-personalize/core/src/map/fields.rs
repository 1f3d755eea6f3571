//! Reading and checking `sentAt`, `itemId`, `eventValue`, `recommendationId` and `impression`.
//!
//! What the API requires (`sentAt`) or what makes the interaction (the item id) rejects the
//! message when unusable; the optional fields are left out with a [`MapWarning`] instead.

use std::borrow::Cow;

use crate::error::{check_len, check_utf16_len, warn, MapError, MapWarning};
use crate::limits;
use crate::message::Message;
use crate::time::{parse_timestamp, SentAt};
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
                return parse_timestamp(s).map_err(|e| MapError::new(field, e.reason()))
            }
            Some(other) => {
                return Err(MapError::new(
                    field,
                    format!(
                        "expected an RFC 3339 date-time string, found {}",
                        other.kind()
                    ),
                ))
            }
        }
    }
    Err(MapError::new(
        "timestamp",
        "missing (and no originalTimestamp, sentAt or receivedAt)",
    ))
}

/// An item id: a string or a number (as written); `None` for an empty string. Counted in
/// characters, as the API model counts `itemId`.
pub(super) fn item_id<'a>(
    v: &Value<'a>,
    field: impl FnOnce() -> String + Copy,
) -> Result<Option<Cow<'a, str>>, MapError> {
    match v {
        Value::Str(s) if s.is_empty() => Ok(None),
        Value::Str(_) | Value::Int(_) | Value::UInt(_) | Value::Float(_) | Value::Number(_) => {
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
/// within the `Float` (f32) range of the API. `Ok(None)` for an empty string; an error (which
/// the caller turns into a warning) for anything else.
pub(super) fn number(
    v: &Value<'_>,
    field: impl FnOnce() -> String + Copy,
) -> Result<Option<f32>, MapError> {
    let x = match v {
        Value::Str(s) if s.trim().is_empty() => return Ok(None),
        Value::Str(s) => s
            .trim()
            .parse::<f64>()
            .map_err(|_| MapError::new(field(), "not a number (eventValue is a Float)"))?,
        other => other.as_f64().ok_or_else(|| {
            MapError::new(
                field(),
                format!(
                    "expected a number or a numeric string, found {}",
                    other.kind()
                ),
            )
        })?,
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

/// `properties.recommendationId` (1-40): anything unusable is left out with a warning.
pub(super) fn recommendation_id<'a>(
    props: &Value<'a>,
    warnings: &mut Vec<MapWarning>,
) -> Option<Cow<'a, str>> {
    const FIELD: &str = "properties.recommendationId";
    let checked = match props.get("recommendationId") {
        None | Some(Value::Null) => return None,
        Some(Value::Str(s)) if s.is_empty() => return None,
        Some(
            v @ (Value::Str(_)
            | Value::Int(_)
            | Value::UInt(_)
            | Value::Float(_)
            | Value::Number(_)),
        ) => {
            let id = v.scalar_text().expect("scalar");
            check_utf16_len(|| FIELD.to_owned(), &id, limits::RECOMMENDATION_ID).map(|()| id)
        }
        Some(other) => Err(MapError::new(
            FIELD,
            format!("expected a string, found {}", other.kind()),
        )),
    };
    checked
        .map_err(|e| warn(warnings, MapWarning::left_out(e)))
        .ok()
}

/// `properties.impression`: the first 25 item ids; ids that are not strings or numbers, empty
/// or longer than 256 are left out, each with a warning; `None` when none is left.
pub(super) fn impression<'a>(
    props: &Value<'a>,
    warnings: &mut Vec<MapWarning>,
) -> Option<Vec<Cow<'a, str>>> {
    const FIELD: &str = "properties.impression";
    let items = match props.get("impression") {
        None | Some(Value::Null) => return None,
        Some(Value::Array(items)) => items,
        Some(other) => {
            let e = MapError::new(
                FIELD,
                format!("expected an array of item ids, found {}", other.kind()),
            );
            warn(warnings, MapWarning::left_out(e));
            return None;
        }
    };
    let mut kept = items.as_slice();
    if kept.len() > limits::IMPRESSION_ITEMS {
        kept = &kept[..limits::IMPRESSION_ITEMS];
        warn(
            warnings,
            MapWarning::new(
                FIELD,
                format!(
                    "{} items, at most {}: kept the first {}",
                    items.len(),
                    limits::IMPRESSION_ITEMS,
                    limits::IMPRESSION_ITEMS
                ),
            ),
        );
    }
    let mut ids = Vec::with_capacity(kept.len());
    for (i, item) in kept.iter().enumerate() {
        let field = || format!("{FIELD}[{i}]");
        let id = match item {
            Value::Str(_) | Value::Int(_) | Value::UInt(_) | Value::Float(_) | Value::Number(_) => {
                let id = item.scalar_text().expect("scalar");
                check_utf16_len(field, &id, limits::ITEM_ID).map(|()| id)
            }
            other => Err(MapError::new(
                field(),
                format!("expected a string or a number, found {}", other.kind()),
            )),
        };
        match id {
            Ok(id) => ids.push(id),
            Err(e) => warn(warnings, MapWarning::left_out(e)),
        }
    }
    (!ids.is_empty()).then_some(ids)
}

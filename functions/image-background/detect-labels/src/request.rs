//! Reading and validating a request: the JSON body of a POST, the query string of a GET. Every
//! error names the field and its limit, and never echoes the key.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::Query;
use serde_json::Value;

use crate::{DEFAULT_MAX_LABELS, DEFAULT_MIN_CONFIDENCE, MAX_KEY_BYTES, MAX_LABELS_LIMIT};

const FIELDS: &str = "key, maxLabels or minConfidence";

/// A validated request.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelsRequest {
    pub key: String,
    pub max_labels: u32,
    pub min_confidence: f32,
}

/// A bad field or parameter, displayed `<field>: <problem>`; the problem states the limit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct InvalidRequest {
    pub field: String,
    pub problem: String,
}

/// What a routed request carries, as axum extracted it: the query of a GET, the body of a POST.
#[derive(Debug)]
pub(crate) enum Input {
    Query(Result<Query<Vec<(String, String)>>, QueryRejection>),
    Body(Result<Bytes, BytesRejection>),
}

impl Input {
    /// Reads and validates the request.
    pub(crate) fn parse(self, key_prefix: &str) -> Result<LabelsRequest, InvalidRequest> {
        match self {
            Input::Query(Ok(Query(pairs))) => parse_query(
                pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())),
                key_prefix,
            ),
            Input::Query(Err(e)) => Err(invalid("query", e.body_text())),
            Input::Body(Ok(body)) => parse_body(&body, key_prefix),
            Input::Body(Err(e)) => Err(invalid(
                "body",
                format!("could not be read ({})", e.body_text()),
            )),
        }
    }
}

/// Reads and validates the JSON body of a POST.
pub fn parse_body(body: &[u8], key_prefix: &str) -> Result<LabelsRequest, InvalidRequest> {
    validated(fields_from_body(body)?, key_prefix)
}

/// Reads and validates the query of a GET: its `(name, value)` pairs, decoded, in order.
pub fn parse_query<'a>(
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    key_prefix: &str,
) -> Result<LabelsRequest, InvalidRequest> {
    validated(fields_from_query(pairs)?, key_prefix)
}

fn validated(fields: Fields, key_prefix: &str) -> Result<LabelsRequest, InvalidRequest> {
    let key = validate_key(fields.key, key_prefix)?;
    Ok(LabelsRequest {
        key,
        max_labels: fields.max_labels.unwrap_or(DEFAULT_MAX_LABELS),
        min_confidence: fields.min_confidence.unwrap_or(DEFAULT_MIN_CONFIDENCE),
    })
}

/// Fields as given, each checked on its own.
#[derive(Debug, Default)]
struct Fields {
    key: Option<String>,
    max_labels: Option<u32>,
    min_confidence: Option<f32>,
}

fn invalid(field: &str, problem: impl std::fmt::Display) -> InvalidRequest {
    InvalidRequest {
        field: field.to_owned(),
        problem: problem.to_string(),
    }
}

fn max_labels_limit() -> String {
    format!("must be an integer from 1 to {MAX_LABELS_LIMIT}")
}

const MIN_CONFIDENCE_LIMIT: &str = "must be a number from 0 to 100";

/// A field or parameter name as echoed in messages: at most 64 characters.
fn shown(name: &str) -> String {
    let mut s: String = name.chars().take(64).collect();
    if s.len() < name.len() {
        s.push('…');
    }
    s
}

fn fields_from_body(body: &[u8]) -> Result<Fields, InvalidRequest> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(invalid(
            "body",
            format!("empty, expected a JSON object with {FIELDS}"),
        ));
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| invalid("body", format!("not valid JSON ({e})")))?;
    let Value::Object(map) = value else {
        return Err(invalid(
            "body",
            format!("must be a JSON object with {FIELDS}"),
        ));
    };
    let mut fields = Fields::default();
    for (name, value) in &map {
        match name.as_str() {
            "key" => match value {
                Value::String(s) => fields.key = Some(s.clone()),
                Value::Null => {}
                _ => return Err(invalid("key", "must be a string (an object key)")),
            },
            "maxLabels" => fields.max_labels = max_labels_from_json(value)?,
            "minConfidence" => fields.min_confidence = min_confidence_from_json(value)?,
            other => {
                return Err(invalid(
                    &shown(other),
                    format!("unknown field, expected {FIELDS}"),
                ))
            }
        }
    }
    Ok(fields)
}

fn max_labels_from_json(value: &Value) -> Result<Option<u32>, InvalidRequest> {
    match value {
        Value::Null => Ok(None),
        Value::Number(n) => match n.as_i64() {
            Some(i) => check_max_labels(i).map(Some),
            None if n.is_u64() => Err(invalid(
                "maxLabels",
                format!("{n} is out of range, {}", max_labels_limit()),
            )),
            // `20.0` is 20.
            None if n.as_f64().is_some_and(|f| {
                f.fract() == 0.0 && f.abs() <= f64::from(MAX_LABELS_LIMIT) + 1.0
            }) =>
            {
                check_max_labels(n.as_f64().unwrap_or_default() as i64).map(Some)
            }
            None => Err(invalid(
                "maxLabels",
                format!("{n} is not a whole number, {}", max_labels_limit()),
            )),
        },
        _ => Err(invalid(
            "maxLabels",
            format!("not a number, {}", max_labels_limit()),
        )),
    }
}

fn check_max_labels(v: i64) -> Result<u32, InvalidRequest> {
    match u32::try_from(v) {
        Ok(n) if (1..=MAX_LABELS_LIMIT).contains(&n) => Ok(n),
        _ => Err(invalid(
            "maxLabels",
            format!("{v} is out of range, {}", max_labels_limit()),
        )),
    }
}

fn min_confidence_from_json(value: &Value) -> Result<Option<f32>, InvalidRequest> {
    match value {
        Value::Null => Ok(None),
        Value::Number(n) => match n.as_f64() {
            Some(f) => check_min_confidence(f).map(Some),
            None => Err(invalid(
                "minConfidence",
                format!("not a number, {MIN_CONFIDENCE_LIMIT}"),
            )),
        },
        _ => Err(invalid(
            "minConfidence",
            format!("not a number, {MIN_CONFIDENCE_LIMIT}"),
        )),
    }
}

fn check_min_confidence(v: f64) -> Result<f32, InvalidRequest> {
    if !v.is_finite() {
        return Err(invalid(
            "minConfidence",
            format!("not a number, {MIN_CONFIDENCE_LIMIT}"),
        ));
    }
    if !(0.0..=100.0).contains(&v) {
        return Err(invalid(
            "minConfidence",
            format!("{v} is out of range, {MIN_CONFIDENCE_LIMIT}"),
        ));
    }
    Ok(v as f32)
}

/// Parameters are checked in name order, so the first error is the same whatever the order of
/// the query.
fn fields_from_query<'a>(
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<Fields, InvalidRequest> {
    let mut params: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (name, value) in pairs {
        params.entry(name).or_default().push(value);
    }
    let mut fields = Fields::default();
    for (name, values) in params {
        if !matches!(name, "key" | "maxLabels" | "minConfidence") {
            return Err(invalid(
                &shown(name),
                format!("unknown parameter, expected {FIELDS}"),
            ));
        }
        if values.len() > 1 {
            return Err(invalid(
                name,
                format!("given {} times, must be given once", values.len()),
            ));
        }
        let raw = values.first().copied().unwrap_or_default();
        match name {
            "key" => fields.key = Some(raw.to_owned()),
            "maxLabels" if !raw.trim().is_empty() => {
                let n: i64 = raw.trim().parse().map_err(|_| {
                    invalid(
                        "maxLabels",
                        format!("not an integer, {}", max_labels_limit()),
                    )
                })?;
                fields.max_labels = Some(check_max_labels(n)?);
            }
            "minConfidence" if !raw.trim().is_empty() => {
                let f: f64 = raw.trim().parse().map_err(|_| {
                    invalid(
                        "minConfidence",
                        format!("not a number, {MIN_CONFIDENCE_LIMIT}"),
                    )
                })?;
                fields.min_confidence = Some(check_min_confidence(f)?);
            }
            _ => {}
        }
    }
    Ok(fields)
}

/// Checks the key; messages never echo it.
pub fn validate_key(key: Option<String>, prefix: &str) -> Result<String, InvalidRequest> {
    let under = if prefix.is_empty() {
        "in the upload bucket".to_owned()
    } else {
        format!("under {prefix}")
    };
    let Some(key) = key else {
        return Err(invalid(
            "key",
            format!("missing, the object key of an image {under} is required"),
        ));
    };
    if key.is_empty() {
        return Err(invalid(
            "key",
            format!("empty, must be 1 to {MAX_KEY_BYTES} bytes"),
        ));
    }
    if key.len() > MAX_KEY_BYTES {
        return Err(invalid(
            "key",
            format!("{} bytes, must be at most {MAX_KEY_BYTES} bytes", key.len()),
        ));
    }
    if key.starts_with('/') {
        return Err(invalid(
            "key",
            "starts with '/', must be an object key without a leading slash",
        ));
    }
    if !key.starts_with(prefix) {
        return Err(invalid(
            "key",
            format!("outside the upload prefix, must start with {prefix}"),
        ));
    }
    if key.ends_with('/') {
        return Err(invalid(
            "key",
            "ends with '/' (a folder), must name an image object",
        ));
    }
    Ok(key)
}

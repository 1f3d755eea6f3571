//! A recommendations request: the id, the query parameters, their checks, and the cache key.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use shared_core::PipelineError;

use super::{
    arn_example, is_personalize_arn, RouteKind, Target, CACHE_KEY_VERSION, DEFAULT_NUM_RESULTS,
    MAX_ARN_CHARS, MAX_CONTEXT_ENTRIES, MAX_CONTEXT_KEY_CHARS, MAX_FILTER_KEY_CHARS,
    MAX_FILTER_VALUES, MAX_ID_CHARS, MAX_NUM_RESULTS, MAX_VALUE_CHARS, PARAMETERS,
};

/// A request parameter or id that is not acceptable: `field: problem`, the problem stating the
/// limit. Never carries a value of the request. Answered 400 `InvalidInput`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct InvalidRequest {
    /// The parameter (`numResults`, ...) or the id's field (`userId`, `itemId`).
    pub field: String,
    pub problem: String,
}

impl From<InvalidRequest> for PipelineError {
    fn from(e: InvalidRequest) -> Self {
        PipelineError::invalid_input(e.to_string())
    }
}

fn invalid(field: &str, problem: impl std::fmt::Display) -> InvalidRequest {
    InvalidRequest {
        field: field.to_owned(),
        problem: problem.to_string(),
    }
}

/// A validated request, ready for Personalize.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecommendationRequest {
    pub kind: RouteKind,
    /// The user id (`User`) or item id (`Related`).
    pub id: String,
    pub target: Target,
    pub num_results: u32,
    /// The filter used: the request's, else the function's default filter.
    pub filter_arn: Option<String>,
    pub filter_values: BTreeMap<String, String>,
    pub context: BTreeMap<String, String>,
}

impl RecommendationRequest {
    /// The canonical form of everything that changes the answer: a JSON array (unambiguous
    /// however the strings look), maps sorted by key, empty maps as `null`.
    pub fn canonical(&self) -> String {
        let map = |m: &BTreeMap<String, String>| {
            if m.is_empty() {
                Value::Null
            } else {
                json!(m)
            }
        };
        json!([
            CACHE_KEY_VERSION,
            self.kind.name(),
            self.id,
            self.target.arn,
            self.num_results,
            self.filter_arn,
            map(&self.filter_values),
            map(&self.context),
        ])
        .to_string()
    }

    /// The cache key: SHA-256 of [`Self::canonical`], lowercase hex (64 digits).
    pub fn cache_key(&self) -> String {
        hex(&Sha256::digest(self.canonical().as_bytes()))
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    s
}

/// The validated request of a route: the id (percent-decoded), the query's `(name, value)`
/// pairs (decoded, in order), the route's campaign or recommender and the default filter.
/// Checks the id, then the parameters, then that `filterValues` has a filter.
pub fn parse_request<'a>(
    kind: RouteKind,
    id: String,
    query: impl IntoIterator<Item = (&'a str, &'a str)>,
    target: &Target,
    default_filter_arn: Option<&str>,
) -> Result<RecommendationRequest, InvalidRequest> {
    validate_id(kind, &id)?;
    let query = parse_query(query)?;
    let filter_arn = query
        .filter_arn
        .or_else(|| default_filter_arn.map(str::to_owned));
    if filter_arn.is_none() && !query.filter_values.is_empty() {
        return Err(invalid(
            "filterValues",
            "given without filterArn, values need the filter whose placeholders they fill",
        ));
    }
    Ok(RecommendationRequest {
        kind,
        id,
        target: target.clone(),
        num_results: query.num_results.unwrap_or(DEFAULT_NUM_RESULTS),
        filter_arn,
        filter_values: query.filter_values,
        context: query.context,
    })
}

/// Checks a path id: 1 to 256 characters, no control characters.
pub fn validate_id(kind: RouteKind, id: &str) -> Result<(), InvalidRequest> {
    let chars = id.chars().count();
    if chars == 0 || chars > MAX_ID_CHARS {
        return Err(invalid(
            kind.id_field(),
            format!("{chars} characters, must be 1 to {MAX_ID_CHARS}"),
        ));
    }
    if id.chars().any(char::is_control) {
        return Err(invalid(
            kind.id_field(),
            "contains control characters, which ids cannot hold",
        ));
    }
    Ok(())
}

/// Whether every `%` of a path segment starts an escape of two hex digits (a malformed escape
/// makes the id undecodable, like one that is not UTF-8 once decoded).
pub fn escapes_well_formed(raw: &str) -> bool {
    let bytes = raw.as_bytes();
    bytes.iter().enumerate().all(|(i, &b)| {
        b != b'%'
            || bytes
                .get(i + 1..i + 3)
                .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit))
    })
}

/// Query parameters as given, each checked on its own.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct QueryParams {
    pub num_results: Option<u32>,
    pub filter_arn: Option<String>,
    pub filter_values: BTreeMap<String, String>,
    pub context: BTreeMap<String, String>,
}

/// A field or parameter name as echoed in messages: at most 64 characters.
fn shown(name: &str) -> String {
    let mut s: String = name.chars().take(64).collect();
    if s.len() < name.len() {
        s.push('…');
    }
    s
}

fn num_results_limit() -> String {
    format!("must be an integer from 1 to {MAX_NUM_RESULTS}")
}

/// Reads the query's `(name, value)` pairs (decoded). Names are checked in alphabetical order,
/// so the same query always gets the same error.
pub fn parse_query<'a>(
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<QueryParams, InvalidRequest> {
    let pairs: Vec<(&str, &str)> = pairs.into_iter().collect();
    let mut params = QueryParams::default();
    let mut names: Vec<&str> = pairs.iter().map(|(k, _)| *k).collect();
    names.sort_unstable();
    names.dedup();
    for name in names {
        if !matches!(
            name,
            "numResults" | "filterArn" | "filterValues" | "context"
        ) {
            return Err(invalid(
                &shown(name),
                format!("unknown parameter, expected {PARAMETERS}"),
            ));
        }
        let values: Vec<&str> = pairs
            .iter()
            .filter(|(k, _)| *k == name)
            .map(|(_, v)| *v)
            .collect();
        if values.len() > 1 {
            return Err(invalid(
                name,
                format!("given {} times, must be given once", values.len()),
            ));
        }
        let raw = values.first().copied().unwrap_or_default().trim();
        if raw.is_empty() {
            continue;
        }
        match name {
            "numResults" => params.num_results = Some(parse_num_results(raw)?),
            "filterArn" => {
                if !is_personalize_arn(raw, "filter") {
                    return Err(invalid(
                        "filterArn",
                        format!(
                            "not a filter ARN, must look like {} (at most {MAX_ARN_CHARS} characters)",
                            arn_example("filter")
                        ),
                    ));
                }
                params.filter_arn = Some(raw.to_owned());
            }
            "filterValues" => {
                params.filter_values = parse_string_map(
                    "filterValues",
                    raw,
                    MAX_FILTER_VALUES,
                    MAX_FILTER_KEY_CHARS,
                    r#"{"CATEGORY":"\"shoes\""}"#,
                )?
            }
            "context" => {
                params.context = parse_string_map(
                    "context",
                    raw,
                    MAX_CONTEXT_ENTRIES,
                    MAX_CONTEXT_KEY_CHARS,
                    r#"{"DEVICE":"mobile"}"#,
                )?
            }
            _ => {}
        }
    }
    Ok(params)
}

fn parse_num_results(raw: &str) -> Result<u32, InvalidRequest> {
    let n: i64 = raw.parse().map_err(|_| {
        invalid(
            "numResults",
            format!("not an integer, {}", num_results_limit()),
        )
    })?;
    match u32::try_from(n) {
        Ok(n) if (1..=MAX_NUM_RESULTS).contains(&n) => Ok(n),
        _ => Err(invalid(
            "numResults",
            format!("{n} is out of range, {}", num_results_limit()),
        )),
    }
}

/// A JSON object of strings to strings with Personalize's limits. Messages name keys, never
/// values (which may be personal).
fn parse_string_map(
    field: &str,
    raw: &str,
    max_entries: usize,
    max_key: usize,
    example: &str,
) -> Result<BTreeMap<String, String>, InvalidRequest> {
    let shape = format!(
        "must be a JSON object of at most {max_entries} entries, keys of 1 to {max_key} letters, digits or _, string values of at most {MAX_VALUE_CHARS} characters, like {example}"
    );
    let value: Value = serde_json::from_str(raw)
        .map_err(|_| invalid(field, format!("not valid JSON, {shape}")))?;
    let Value::Object(object) = value else {
        return Err(invalid(field, format!("not a JSON object, {shape}")));
    };
    if object.len() > max_entries {
        return Err(invalid(field, format!("{} entries, {shape}", object.len())));
    }
    let mut map = BTreeMap::new();
    for (key, value) in object {
        let key_ok = !key.is_empty()
            && key.chars().count() <= max_key
            && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !key_ok {
            return Err(invalid(
                field,
                format!("key {:?} is not allowed, {shape}", shown(&key)),
            ));
        }
        let Value::String(value) = value else {
            return Err(invalid(
                field,
                format!("the value of {key} is not a string, {shape}"),
            ));
        };
        if value.chars().count() > MAX_VALUE_CHARS {
            return Err(invalid(
                field,
                format!("the value of {key} is too long, {shape}"),
            ));
        }
        map.insert(key, value);
    }
    Ok(map)
}

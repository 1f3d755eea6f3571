//! Reading request bodies.
//!
//! Two layers, in this order:
//!
//! 1. **AWS's model** ([`super::model::Models::check`]): every constraint botocore's
//!    `personalize-events` / `personalize-runtime` models state (required members, types,
//!    lengths, list and map sizes, ranges, patterns), read from the model files themselves, not
//!    copied here; the answer is the model's validation error (`InvalidInputException`) with
//!    AWS's message, e.g. `2 validation errors detected: Value null at 'sessionId' failed to
//!    satisfy constraint: Member must not be null; Value at 'eventList' failed to satisfy
//!    constraint: Member must have length less than or equal to 10`.
//! 2. **What the model cannot express**, written here and in the operation modules, each from
//!    the API reference's prose (which the model carries as member documentation; tests compare
//!    the limits below with it): `properties` must be JSON text holding an object ("Error
//!    parsing properties json", the service's own words, aws/aws-sdk-js#2773); event
//!    properties may not use the reserved keys; GetRecommendations takes exactly one of
//!    `campaignArn` / `recommenderArn` and a `userId` or an `itemId`; `numResults` and
//!    `inputList` at most 500 (50 with `metadataColumns`); `metadataColumns` only `ITEMS`, at
//!    most 10 columns.
//!
//! A body that is not JSON at all gets an `InvalidInputException` saying so. Values are never
//! echoed.

use serde_json::{Map, Value};

use super::error::ApiError;

/// Parses a request body: a JSON object (an empty body counts as `{}`, as the SDKs may send no
/// body when no member is set).
pub fn parse_body(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::invalid_input(
            "The request body must be a JSON object.",
        )),
        Err(e) => Err(ApiError::invalid_input(format!(
            "The request body is not valid JSON: {e}"
        ))),
    }
}

/// A `properties` member (a string holding JSON, `jsonvalue` in the models) parsed: it must be a
/// JSON object. The service answers "Error parsing properties json" for anything else (a
/// message users have reported verbatim, aws/aws-sdk-js#2773).
pub fn properties_object(path: &str, text: &str) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::invalid_input(format!(
            "Error parsing properties json: {path} must hold a JSON object"
        ))),
        Err(e) => Err(ApiError::invalid_input(format!(
            "Error parsing properties json: {path}: {e}"
        ))),
    }
}

/// A string member of a checked body (absent, `null` or not a string: `None`).
pub fn text<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    map.get(key).and_then(Value::as_str)
}

/// The entries of a list member of a checked body (absent or not a list: none).
pub fn entries<'a>(map: &'a Map<String, Value>, key: &str) -> &'a [Value] {
    map.get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_body_is_an_empty_object() {
        assert!(parse_body(b"").unwrap().is_empty());
        assert!(parse_body(b"[]").is_err());
        assert!(parse_body(b"{").is_err());
    }
}

//! Reading request bodies against the constraints of the service models.
//!
//! The limits come from the botocore models `personalize-events/2018-03-22/service-2.json` and
//! `personalize-runtime/2018-05-22/service-2.json` (the same Smithy models the Rust SDK is
//! generated from). The SDKs check none of them client-side, so the service does; it reports
//! them the way AWS services built on the same framework do, gathered into one message:
//!
//! ```text
//! 2 validation errors detected: Value null at 'sessionId' failed to satisfy constraint: Member
//! must not be null; Value at 'eventList' failed to satisfy constraint: Member must have length
//! less than or equal to 10
//! ```
//!
//! List members are named `eventList.1.member.eventType` (1-based). The emulator never echoes
//! the offending value (most of these members are marked sensitive in the models), and answers
//! them as `InvalidInputException`, the only validation error the models declare (a
//! `ValidationException` would reach SDK users as an unhandled error). A member of the wrong
//! JSON type is reported the same way ("Member must be a string"); a body that is not JSON at
//! all gets an `InvalidInputException` saying so. Unknown members are ignored, as the service
//! ignores them; `null` counts as absent.

use std::fmt::Display;

use serde_json::{Map, Value};

use super::error::ApiError;

/// Pattern of `Arn` in both models.
pub const ARN_PATTERN: &str = r"arn:([a-z\d-]+):personalize:.*:.*:.+";

/// Whether `s` matches [`ARN_PATTERN`] in full: `arn:`, a partition of lowercase letters,
/// digits and dashes, `:personalize:`, then text holding at least two more colons with something
/// after one of them (other than the first).
pub fn is_personalize_arn(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("arn:") else {
        return false;
    };
    let Some((partition, rest)) = rest.split_once(":personalize:") else {
        return false;
    };
    if partition.is_empty()
        || !partition
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return false;
    }
    // `.*:.*:.+`: a first colon, then a later colon that is not the last character.
    let colons: Vec<usize> = rest.match_indices(':').map(|(i, _)| i).collect();
    colons.len() >= 2 && colons[1..].iter().any(|&i| i + 1 < rest.len())
}

/// A map key pattern: how the model writes it, and a matcher.
pub type KeyPattern = (&'static str, fn(&str) -> bool);

/// Length as the service counts it (UTF-16 code units, Java's `String.length`).
pub fn utf16_len(s: &str) -> usize {
    s.encode_utf16().count()
}

/// Constraint violations gathered while reading one request.
#[derive(Debug, Default)]
pub struct Violations(Vec<String>);

impl Violations {
    /// `Value at '<path>' failed to satisfy constraint: <constraint>`.
    pub fn constraint(&mut self, path: &str, constraint: impl Display) {
        self.0.push(format!(
            "Value at '{path}' failed to satisfy constraint: {constraint}"
        ));
    }

    /// A required member is absent.
    pub fn missing(&mut self, path: &str) {
        self.0.push(format!(
            "Value null at '{path}' failed to satisfy constraint: Member must not be null"
        ));
    }

    fn length(&mut self, path: &str, len: usize, min: usize, max: Option<usize>) {
        if len < min {
            self.constraint(
                path,
                format_args!("Member must have length greater than or equal to {min}"),
            );
        }
        if let Some(max) = max.filter(|max| len > *max) {
            self.constraint(
                path,
                format_args!("Member must have length less than or equal to {max}"),
            );
        }
    }

    /// `Ok` if nothing was violated, else the 400 `InvalidInputException` listing everything.
    pub fn into_result(self) -> Result<(), ApiError> {
        match self.0.len() {
            0 => Ok(()),
            1 => Err(ApiError::invalid_input(format!(
                "1 validation error detected: {}",
                self.0[0]
            ))),
            n => Err(ApiError::invalid_input(format!(
                "{n} validation errors detected: {}",
                self.0.join("; ")
            ))),
        }
    }
}

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

/// A JSON object being read; its members are named `<prefix><key>`.
#[derive(Debug, Clone)]
pub struct Obj<'a> {
    map: &'a Map<String, Value>,
    prefix: String,
}

impl<'a> Obj<'a> {
    /// The request body itself.
    pub fn root(map: &'a Map<String, Value>) -> Self {
        Self {
            map,
            prefix: String::new(),
        }
    }

    /// The path of member `key`.
    pub fn path(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    /// Member `key` (not null) and its path; a missing required member is recorded as a
    /// violation.
    fn member(&self, v: &mut Violations, key: &str, required: bool) -> Option<(String, &'a Value)> {
        let path = self.path(key);
        match self.get(key) {
            Some(value) => Some((path, value)),
            None => {
                if required {
                    v.missing(&path);
                }
                None
            }
        }
    }

    /// Whether member `key` is present (and not null).
    pub fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// A string member, `min..=max` UTF-16 units long (`max` `None`: unbounded).
    pub fn string(
        &self,
        v: &mut Violations,
        key: &str,
        required: bool,
        min: usize,
        max: Option<usize>,
    ) -> Option<&'a str> {
        let (path, value) = self.member(v, key, required)?;
        match value {
            Value::String(s) => {
                v.length(&path, utf16_len(s), min, max);
                Some(s)
            }
            _ => {
                v.constraint(&path, "Member must be a string");
                None
            }
        }
    }

    /// An `Arn` member: at most 256 characters matching [`ARN_PATTERN`].
    pub fn arn(&self, v: &mut Violations, key: &str, required: bool) -> Option<&'a str> {
        let s = self.string(v, key, required, 0, Some(256))?;
        if !is_personalize_arn(s) {
            v.constraint(
                &self.path(key),
                format_args!("Member must satisfy regular expression pattern: {ARN_PATTERN}"),
            );
        }
        Some(s)
    }

    /// A number member (`float`, `double`, or a timestamp in epoch seconds).
    pub fn number(&self, v: &mut Violations, key: &str, required: bool) -> Option<f64> {
        let (path, value) = self.member(v, key, required)?;
        match value {
            Value::Number(n) => n.as_f64(),
            _ => {
                v.constraint(&path, "Member must be a number");
                None
            }
        }
    }

    /// An optional integer member within `min..=max`.
    pub fn integer(
        &self,
        v: &mut Violations,
        key: &str,
        min: i64,
        max: Option<i64>,
    ) -> Option<i64> {
        let path = self.path(key);
        let value = self.get(key)?;
        let Some(n) = value.as_i64() else {
            v.constraint(&path, "Member must be an integer");
            return None;
        };
        if n < min {
            v.constraint(
                &path,
                format_args!("Member must have value greater than or equal to {min}"),
            );
        }
        if let Some(max) = max.filter(|max| n > *max) {
            v.constraint(
                &path,
                format_args!("Member must have value less than or equal to {max}"),
            );
        }
        Some(n)
    }

    /// A list member of `min..=max` entries; yields each entry with its path
    /// (`<key>.<n>.member`).
    pub fn list(
        &self,
        v: &mut Violations,
        key: &str,
        required: bool,
        min: usize,
        max: Option<usize>,
    ) -> Option<Vec<(String, &'a Value)>> {
        let (path, value) = self.member(v, key, required)?;
        match value {
            Value::Array(entries) => {
                v.length(&path, entries.len(), min, max);
                Some(
                    entries
                        .iter()
                        .enumerate()
                        .map(|(i, entry)| (format!("{path}.{}.member", i + 1), entry))
                        .collect(),
                )
            }
            _ => {
                v.constraint(&path, "Member must be a list");
                None
            }
        }
    }

    /// A list of strings, each `item_min..=item_max` long.
    #[allow(clippy::too_many_arguments)]
    pub fn strings(
        &self,
        v: &mut Violations,
        key: &str,
        required: bool,
        min: usize,
        max: Option<usize>,
        item_min: usize,
        item_max: Option<usize>,
    ) -> Option<Vec<&'a str>> {
        let entries = self.list(v, key, required, min, max)?;
        let mut out = Vec::with_capacity(entries.len());
        for (path, entry) in entries {
            match entry {
                Value::String(s) => {
                    v.length(&path, utf16_len(s), item_min, item_max);
                    out.push(s.as_str());
                }
                _ => v.constraint(&path, "Member must be a string"),
            }
        }
        Some(out)
    }

    /// A structure member.
    pub fn object(&self, v: &mut Violations, key: &str, required: bool) -> Option<Obj<'a>> {
        let (path, value) = self.member(v, key, required)?;
        Obj::at(v, &path, value)
    }

    /// A structure at `path` (e.g. a list entry); `None` (and a violation) if not an object.
    pub fn at(v: &mut Violations, path: &str, value: &'a Value) -> Option<Obj<'a>> {
        match value {
            Value::Object(map) => Some(Obj {
                map,
                prefix: format!("{path}."),
            }),
            _ => {
                v.constraint(path, "Member must be a structure");
                None
            }
        }
    }

    /// A map of strings to strings: at most `max` entries, keys at most `key_max` long and
    /// matching `key_ok` (described by `key_pattern`), values at most `value_max` long.
    #[allow(clippy::too_many_arguments)]
    pub fn string_map(
        &self,
        v: &mut Violations,
        key: &str,
        max: usize,
        key_max: usize,
        key_pattern: Option<KeyPattern>,
        value_max: usize,
    ) -> Option<Vec<(&'a str, &'a str)>> {
        let path = self.path(key);
        let value = self.get(key)?;
        let Value::Object(map) = value else {
            v.constraint(&path, "Member must be a map");
            return None;
        };
        v.length(&path, map.len(), 0, Some(max));
        let mut out = Vec::with_capacity(map.len());
        for (k, value) in map {
            if utf16_len(k) > key_max {
                v.constraint(
                    &path,
                    format_args!(
                        "Map keys must satisfy constraint: [Member must have length less than or equal to {key_max}]"
                    ),
                );
            }
            if let Some((pattern, ok)) = key_pattern {
                if !ok(k) {
                    v.constraint(
                        &path,
                        format_args!(
                            "Map keys must satisfy constraint: [Member must satisfy regular expression pattern: {pattern}]"
                        ),
                    );
                }
            }
            match value {
                Value::String(s) => {
                    if utf16_len(s) > value_max {
                        v.constraint(
                            &format!("{path}.{k}"),
                            format_args!(
                                "Member must have length less than or equal to {value_max}"
                            ),
                        );
                    }
                    out.push((k.as_str(), s.as_str()));
                }
                _ => v.constraint(&format!("{path}.{k}"), "Member must be a string"),
            }
        }
        Some(out)
    }

    /// The raw value of member `key` (for members read specially).
    pub fn raw(&self, key: &str) -> Option<&'a Value> {
        self.get(key)
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn arn_pattern() {
        for ok in [
            "arn:aws:personalize:us-east-1:123456789012:dataset/group/ITEMS",
            "arn:aws-cn:personalize:cn-north-1:1:campaign/x",
            "arn:aws:personalize:::x",
        ] {
            assert!(is_personalize_arn(ok), "{ok}");
        }
        for bad in [
            "",
            "campaign",
            "arn:aws:s3:us-east-1:1:bucket",
            "arn:AWS:personalize:us-east-1:1:campaign/x",
            "arn:aws:personalize:us-east-1:1:",
            "arn:aws:personalize:us-east-1",
            "arn::personalize:a:b:c",
        ] {
            assert!(!is_personalize_arn(bad), "{bad}");
        }
    }

    #[test]
    fn violations_are_gathered_in_one_message() {
        let body = json!({"eventList": [1, 2], "trackingId": ""});
        let map = body.as_object().unwrap();
        let root = Obj::root(map);
        let mut v = Violations::default();
        root.string(&mut v, "trackingId", true, 1, Some(256));
        root.string(&mut v, "sessionId", true, 1, Some(256));
        root.list(&mut v, "eventList", true, 1, Some(1));
        let message = v.into_result().unwrap_err().message;
        assert_eq!(
            message,
            "3 validation errors detected: \
             Value at 'trackingId' failed to satisfy constraint: Member must have length greater than or equal to 1; \
             Value null at 'sessionId' failed to satisfy constraint: Member must not be null; \
             Value at 'eventList' failed to satisfy constraint: Member must have length less than or equal to 1"
        );
    }

    #[test]
    fn lengths_count_utf16_units() {
        assert_eq!(utf16_len("é😀"), 3);
    }

    #[test]
    fn empty_body_is_an_empty_object() {
        assert!(parse_body(b"").unwrap().is_empty());
        assert!(parse_body(b"[]").is_err());
        assert!(parse_body(b"{").is_err());
    }
}

//! Why a Segment message cannot be forwarded.

use std::fmt;

use shared_core::PipelineError;

/// A message that cannot become a valid Personalize request: the field (a JSON path into the
/// Segment message, such as `properties.impression` or `properties.products[2].product_id`, or
/// the request field `properties` for the built properties string) and what is wrong with it,
/// naming the limit when one was exceeded.
///
/// Never carries a value from the message: only field names, counts and lengths, so it can be
/// logged without personal data. Retrying cannot help: it converts to
/// [`ErrorKind::InvalidInput`](shared_core::ErrorKind::InvalidInput).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapError {
    /// JSON path of the offending field.
    pub field: String,
    /// What is wrong, e.g. `1530 characters, at most 1024`.
    pub reason: String,
}

impl MapError {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn missing(field: impl Into<String>) -> Self {
        Self::new(field, "missing")
    }
}

impl fmt::Display for MapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

impl std::error::Error for MapError {}

impl From<MapError> for PipelineError {
    fn from(e: MapError) -> Self {
        PipelineError::invalid_input(e.to_string())
    }
}

/// Something an interaction was sent without: an optional field (or part of one) the API
/// cannot take, left out rather than losing the interaction. The field (a JSON path, as in
/// [`MapError`]) and what was done, naming the limit; never a value from the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapWarning {
    /// JSON path of the field, e.g. `properties.impression` or `properties.price`.
    pub field: String,
    /// What was left out and why, e.g. `30 items, at most 25: kept the first 25`.
    pub reason: String,
}

impl MapWarning {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// The warning of an error that was not fatal: its field, its reason and `: left out`.
    pub(crate) fn left_out(e: MapError) -> Self {
        Self {
            field: e.field,
            reason: format!("{}: left out", e.reason),
        }
    }
}

impl fmt::Display for MapWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

/// Adds `w` unless the same warning is there already (per-product events repeat them).
pub(crate) fn warn(warnings: &mut Vec<MapWarning>, w: MapWarning) {
    if !warnings.contains(&w) {
        warnings.push(w);
    }
}

/// Length of `s` in Unicode scalar values (characters): what the API model's length
/// constraints count (Smithy's `length` trait on strings; botocore validates with Python's
/// `len`, also code points). Used where a too long value rejects the message, so that nothing
/// the API accepts is refused here.
#[inline]
pub(crate) fn char_len(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        s.chars().count()
    }
}

/// Length of `s` in UTF-16 code units, never fewer than its characters (characters outside the
/// Basic Multilingual Plane count twice). Used where a value is cut to fit (the `properties`
/// strings, impression ids, `recommendationId`), so that what is sent fits whether the service
/// counts characters or UTF-16 units (a Java service's `String.length()`).
#[inline]
pub(crate) fn utf16_len(s: &str) -> usize {
    // UTF-16 units never exceed UTF-8 bytes, and ASCII has one of each.
    if s.is_ascii() {
        s.len()
    } else {
        s.encode_utf16().count()
    }
}

/// Checks a 1..=max string (in characters), naming `field` when it is empty or too long.
#[inline]
pub(crate) fn check_len(
    field: impl FnOnce() -> String,
    s: &str,
    max: usize,
) -> Result<(), MapError> {
    check_counted(field, s, max, char_len, "characters")
}

/// Checks a 1..=max string in UTF-16 code units (the stricter count), for values that are left
/// out rather than rejected.
#[inline]
pub(crate) fn check_utf16_len(
    field: impl FnOnce() -> String,
    s: &str,
    max: usize,
) -> Result<(), MapError> {
    check_counted(field, s, max, utf16_len, "UTF-16 code units")
}

#[inline]
fn check_counted(
    field: impl FnOnce() -> String,
    s: &str,
    max: usize,
    count: fn(&str) -> usize,
    unit: &str,
) -> Result<(), MapError> {
    // Fast path: short strings cannot exceed the limit (neither count exceeds the bytes).
    if !s.is_empty() && s.len() <= max {
        return Ok(());
    }
    if s.is_empty() {
        return Err(MapError::new(field(), "empty, at least 1 character"));
    }
    let len = count(s);
    if len > max {
        return Err(MapError::new(
            field(),
            format!("{len} {unit}, at most {max}"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_count_characters_to_reject_and_utf16_units_to_cut() {
        assert_eq!(utf16_len("abc"), 3);
        assert_eq!(utf16_len("é"), 1);
        assert_eq!(utf16_len("😀"), 2);
        assert_eq!(char_len("😀"), 1);
        assert!(check_len(|| "f".into(), &"é".repeat(256), 256).is_ok());
        // 129 astral characters are 129 characters (what the API model counts) but 258
        // UTF-16 units: not a reason to reject, but too long for a value that is cut to fit.
        assert!(check_len(|| "f".into(), &"😀".repeat(129), 256).is_ok());
        let e = check_len(|| "f".into(), &"😀".repeat(257), 256).unwrap_err();
        assert_eq!(e.to_string(), "f: 257 characters, at most 256");
        let e = check_utf16_len(|| "f".into(), &"😀".repeat(129), 256).unwrap_err();
        assert_eq!(e.to_string(), "f: 258 UTF-16 code units, at most 256");
        let e = check_len(|| "userId".into(), "", 256).unwrap_err();
        assert_eq!(e.to_string(), "userId: empty, at least 1 character");
    }

    #[test]
    fn warnings_name_the_field_and_what_was_done() {
        let w = MapWarning::left_out(MapError::new("properties.price", "not a number"));
        assert_eq!(w.to_string(), "properties.price: not a number: left out");
        let mut all = Vec::new();
        warn(&mut all, w.clone());
        warn(&mut all, w);
        assert_eq!(all.len(), 1, "repeated warnings are kept once");
    }

    #[test]
    fn converts_to_a_permanent_pipeline_error() {
        let e: PipelineError = MapError::new("properties", "1530 characters, at most 1024").into();
        assert_eq!(e.kind, shared_core::ErrorKind::InvalidInput);
        assert!(e
            .message
            .contains("properties: 1530 characters, at most 1024"));
    }
}

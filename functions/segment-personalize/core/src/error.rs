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

    /// `field: N characters, at most MAX`.
    pub(crate) fn too_long(field: impl Into<String>, len: usize, max: usize) -> Self {
        Self::new(field, format!("{len} characters, at most {max}"))
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

/// Length of `s` as the service counts it: UTF-16 code units (never fewer than Unicode
/// characters; characters outside the Basic Multilingual Plane count twice).
#[inline]
pub(crate) fn service_len(s: &str) -> usize {
    // UTF-16 units never exceed UTF-8 bytes, and ASCII has one of each.
    if s.is_ascii() {
        s.len()
    } else {
        s.encode_utf16().count()
    }
}

/// Checks a 1..=max string, naming `field` when it is empty or too long.
#[inline]
pub(crate) fn check_len(
    field: impl FnOnce() -> String,
    s: &str,
    max: usize,
) -> Result<(), MapError> {
    // Fast path: short ASCII/UTF-8 strings cannot exceed the limit.
    if !s.is_empty() && s.len() <= max {
        return Ok(());
    }
    if s.is_empty() {
        return Err(MapError::new(field(), "empty, at least 1 character"));
    }
    let len = service_len(s);
    if len > max {
        return Err(MapError::too_long(field(), len, max));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_count_utf16_units() {
        assert_eq!(service_len("abc"), 3);
        assert_eq!(service_len("é"), 1);
        assert_eq!(service_len("😀"), 2);
        assert!(check_len(|| "f".into(), &"é".repeat(256), 256).is_ok());
        let e = check_len(|| "f".into(), &"😀".repeat(129), 256).unwrap_err();
        assert_eq!(e.to_string(), "f: 258 characters, at most 256");
        let e = check_len(|| "userId".into(), "", 256).unwrap_err();
        assert_eq!(e.to_string(), "userId: empty, at least 1 character");
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

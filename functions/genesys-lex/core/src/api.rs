//! The Genesys Cloud platform API, the pure part: how its answers are classified into
//! [`ErrorKind`]s, how long an access token is trusted, and what a downloaded transcript must
//! look like. The HTTP calls themselves are the fetcher's (`genesys-transcript-fetcher`).

use std::time::Duration;

use serde::de::IgnoredAny;
use shared_core::ErrorKind;

/// How long before its expiry a cached token is replaced.
pub const TOKEN_REFRESH_MARGIN: Duration = Duration::from_secs(60);

/// Lifetime assumed when the token answer has no `expires_in`.
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(300);

/// Longest lifetime trusted from `expires_in` (Genesys allows at most 48 hours).
pub const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(2 * 86_400);

/// Response header with the id Genesys support asks for.
pub const CORRELATION_HEADER: &str = "inin-correlation-id";

/// The lifetime of a token whose answer said `expires_in` (seconds), capped at
/// [`MAX_TOKEN_LIFETIME`].
pub fn token_lifetime(expires_in: Option<u64>) -> Duration {
    expires_in
        .map_or(DEFAULT_TOKEN_LIFETIME, Duration::from_secs)
        .min(MAX_TOKEN_LIFETIME)
}

/// How long after it was issued a token of `lifetime` is replaced: [`TOKEN_REFRESH_MARGIN`]
/// before it expires, or at half its lifetime when that is shorter.
pub fn refresh_after(lifetime: Duration) -> Duration {
    lifetime - TOKEN_REFRESH_MARGIN.min(lifetime / 2)
}

/// The kind of a non-success HTTP status of the transcript URL call or the download (401/403
/// handled by the callers where they differ).
pub fn status_kind(status: u16) -> ErrorKind {
    match status {
        404 | 408 | 429 | 500..=599 => ErrorKind::Retryable,
        401 | 403 => ErrorKind::Misconfigured,
        400..=499 => ErrorKind::InvalidInput,
        _ => ErrorKind::Retryable,
    }
}

/// The kind of a non-success status of the token request. Nothing in the event can make it
/// fail: any 4xx but 408/429 is a settings problem (credentials, login URL).
pub fn token_failure_kind(status: u16) -> ErrorKind {
    match status {
        400..=499 if !matches!(status, 408 | 429) => ErrorKind::Misconfigured,
        _ => status_kind(status),
    }
}

/// A short machine-readable token (error code, id), safe to put in a message.
pub fn is_code(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 100
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':'))
}

/// Checks that `body` is one syntactically valid JSON object, without building it.
pub fn check_json_object(body: &[u8]) -> Result<(), &'static str> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => serde_json::from_slice::<IgnoredAny>(body)
            .map(|_| ())
            .map_err(|_| "the document is not valid JSON"),
        Some(_) => Err("the document is not a JSON object"),
        None => Err("the document is empty"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_classified() {
        let kind = status_kind;
        assert_eq!(kind(404), ErrorKind::Retryable);
        assert_eq!(kind(429), ErrorKind::Retryable);
        assert_eq!(kind(503), ErrorKind::Retryable);
        assert_eq!(kind(408), ErrorKind::Retryable);
        assert_eq!(kind(403), ErrorKind::Misconfigured);
        assert_eq!(kind(400), ErrorKind::InvalidInput);
        assert_eq!(kind(410), ErrorKind::InvalidInput);
    }

    #[test]
    fn token_failures_are_settings_problems_unless_transient() {
        assert_eq!(token_failure_kind(400), ErrorKind::Misconfigured);
        assert_eq!(token_failure_kind(401), ErrorKind::Misconfigured);
        assert_eq!(token_failure_kind(404), ErrorKind::Misconfigured);
        assert_eq!(token_failure_kind(408), ErrorKind::Retryable);
        assert_eq!(token_failure_kind(429), ErrorKind::Retryable);
        assert_eq!(token_failure_kind(502), ErrorKind::Retryable);
    }

    #[test]
    fn tokens_are_replaced_before_they_expire() {
        assert_eq!(token_lifetime(None), DEFAULT_TOKEN_LIFETIME);
        assert_eq!(token_lifetime(Some(86_400)), Duration::from_secs(86_400));
        assert_eq!(token_lifetime(Some(u64::MAX)), MAX_TOKEN_LIFETIME);
        assert_eq!(
            refresh_after(Duration::from_secs(3600)),
            Duration::from_secs(3540)
        );
        assert_eq!(
            refresh_after(Duration::from_secs(30)),
            Duration::from_secs(15)
        );
        assert_eq!(refresh_after(Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn documents_must_be_json_objects() {
        assert!(check_json_object(b" \n{\"a\": [1, 2]}").is_ok());
        assert!(check_json_object(b"\xEF\xBB\xBF{}").is_ok());
        assert_eq!(
            check_json_object(b"[1]"),
            Err("the document is not a JSON object")
        );
        assert_eq!(
            check_json_object(b"<Error/>"),
            Err("the document is not a JSON object")
        );
        assert_eq!(check_json_object(b"  "), Err("the document is empty"));
        assert_eq!(
            check_json_object(b"{\"a\": "),
            Err("the document is not valid JSON")
        );
    }

    #[test]
    fn codes_are_filtered() {
        assert!(is_code("bad.credentials"));
        assert!(is_code("6a2e4c1f-0000-4000-8000-000000000000"));
        assert!(!is_code("Request has expired"));
        assert!(!is_code(""));
    }
}

//! The error type every function returns (pure: the SDK classification is in `shared::error`).
//!
//! Lambda reports a failed invocation as `{"errorType": ..., "errorMessage": ...}`. Step Functions
//! `Retry`/`Catch` match on `errorType`, and async invocations (S3, EventBridge) are retried and
//! then parked in a DLQ with it, so the type names say what the caller should do, not which Rust
//! type failed. They are stable:
//!
//! | errorType      | meaning                                                   | retry? |
//! |----------------|-----------------------------------------------------------|--------|
//! | `Retryable`    | throttling, 5xx, time-outs, data not available yet        | yes    |
//! | `InvalidInput` | the event or the document it points to is malformed       | no     |
//! | `Misconfigured`| missing setting, permission, bucket or credentials        | no     |

use std::fmt;

/// What the caller should do about a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Transient: the same input may succeed later.
    Retryable,
    /// Permanent: the input is wrong; retrying cannot help.
    InvalidInput,
    /// Permanent until an operator fixes configuration, permissions or credentials.
    Misconfigured,
}

impl ErrorKind {
    /// The Lambda `errorType` for this kind.
    pub const fn error_type(self) -> &'static str {
        match self {
            ErrorKind::Retryable => "Retryable",
            ErrorKind::InvalidInput => "InvalidInput",
            ErrorKind::Misconfigured => "Misconfigured",
        }
    }

    pub const fn is_retryable(self) -> bool {
        matches!(self, ErrorKind::Retryable)
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.error_type())
    }
}

/// A failure with its kind and a message that names the field, object or limit involved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineError {
    pub kind: ErrorKind,
    pub message: String,
}

impl PipelineError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    pub fn retryable(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Retryable, message)
    }

    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, message)
    }

    pub fn misconfigured(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Misconfigured, message)
    }

    /// Prefixes the message with what was being done (`"reading s3://b/k: ..."`).
    pub fn context(mut self, what: impl fmt::Display) -> Self {
        self.message = format!("{what}: {}", self.message);
        self
    }
}

/// Classifies an AWS error code and HTTP status.
pub fn classify_code(code: Option<&str>, status: u16) -> ErrorKind {
    const THROTTLING: &[&str] = &[
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "SlowDown",
        "RequestThrottled",
        "InternalError",
        "InternalFailure",
        "ServiceUnavailable",
        "ServiceUnavailableException",
    ];
    const CONFIG: &[&str] = &[
        "AccessDenied",
        "AccessDeniedException",
        "NoSuchBucket",
        "ResourceNotFoundException",
        "UnrecognizedClientException",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "ExpiredTokenException",
        "KMSDisabledException",
        "KMS.DisabledException",
    ];
    if let Some(code) = code {
        if THROTTLING.contains(&code) {
            return ErrorKind::Retryable;
        }
        if CONFIG.contains(&code) {
            return ErrorKind::Misconfigured;
        }
    }
    match status {
        408 | 429 | 500..=599 => ErrorKind::Retryable,
        401 | 403 => ErrorKind::Misconfigured,
        _ => ErrorKind::InvalidInput,
    }
}

impl fmt::Display for PipelineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

impl std::error::Error for PipelineError {}

impl From<crate::config::ConfigError> for PipelineError {
    fn from(e: crate::config::ConfigError) -> Self {
        Self::misconfigured(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_statuses_are_classified() {
        assert_eq!(classify_code(Some("SlowDown"), 503), ErrorKind::Retryable);
        assert_eq!(
            classify_code(Some("ThrottlingException"), 400),
            ErrorKind::Retryable
        );
        assert_eq!(
            classify_code(Some("AccessDenied"), 403),
            ErrorKind::Misconfigured
        );
        assert_eq!(
            classify_code(Some("NoSuchBucket"), 404),
            ErrorKind::Misconfigured
        );
        assert_eq!(classify_code(None, 502), ErrorKind::Retryable);
        assert_eq!(
            classify_code(Some("ValidationException"), 400),
            ErrorKind::InvalidInput
        );
        assert_eq!(classify_code(None, 401), ErrorKind::Misconfigured);
    }

    #[test]
    fn context_prefixes_the_message() {
        let e = PipelineError::invalid_input("missing field").context("s3://b/k");
        assert_eq!(e.to_string(), "InvalidInput: s3://b/k: missing field");
    }
}

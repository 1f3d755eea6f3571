//! The HTTP answers of detection failures.

use lambda_http::http::{header, HeaderValue, StatusCode};
use lambda_http::{Body, Response};
use shared::http::error_response;
use shared::ErrorKind;

use crate::RETRY_AFTER_SECONDS;

/// Why detection failed, classified by what the client should do. Displayed as
/// `<errorType>: <detail>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DetectError {
    /// The image or a parameter was refused (400 `InvalidInput`); `field` is the request field
    /// concerned and `message` the problem, with the service's message.
    #[error("InvalidInput: {field}: {message}")]
    Rejected {
        field: &'static str,
        message: String,
    },
    /// Throttled (429 `Retryable`, `Retry-After`).
    #[error("Retryable: {0}")]
    Throttled(String),
    /// Access denied, bad credentials (500 `Misconfigured`); the detail is logged, not returned.
    #[error("Misconfigured: {0}")]
    Misconfigured(String),
    /// 5xx, time-out, connection failure or anything unexpected (502 `Retryable`); the detail is
    /// logged, not returned.
    #[error("Retryable: {0}")]
    Unavailable(String),
}

impl DetectError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            DetectError::Rejected { .. } => ErrorKind::InvalidInput,
            DetectError::Misconfigured(_) => ErrorKind::Misconfigured,
            DetectError::Throttled(_) | DetectError::Unavailable(_) => ErrorKind::Retryable,
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            DetectError::Rejected { .. } => StatusCode::BAD_REQUEST,
            DetectError::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
            DetectError::Misconfigured(_) => StatusCode::INTERNAL_SERVER_ERROR,
            DetectError::Unavailable(_) => StatusCode::BAD_GATEWAY,
        }
    }

    /// What the client is told.
    pub fn client_message(&self) -> String {
        match self {
            DetectError::Rejected { field, message } => format!("{field}: {message}"),
            DetectError::Throttled(_) => format!(
                "Rekognition is throttling requests, retry after {RETRY_AFTER_SECONDS} second"
            ),
            DetectError::Misconfigured(_) => {
                "the function cannot use Rekognition (permissions or credentials); see its logs"
                    .to_owned()
            }
            DetectError::Unavailable(_) => {
                "Rekognition is unavailable or did not answer, retry later".to_owned()
            }
        }
    }

    /// What is logged.
    pub fn detail(&self) -> String {
        match self {
            DetectError::Rejected { field, message } => format!("{field}: {message}"),
            DetectError::Throttled(d)
            | DetectError::Misconfigured(d)
            | DetectError::Unavailable(d) => d.clone(),
        }
    }

    pub(crate) fn metric(&self) -> &'static str {
        match self {
            DetectError::Throttled(_) => "DetectLabelsThrottled",
            _ => "DetectLabelsFailed",
        }
    }

    pub fn into_response(self) -> Response<Body> {
        let mut response = error_response(
            self.status(),
            self.kind().error_type(),
            &self.client_message(),
        );
        if matches!(self, DetectError::Throttled(_)) {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
        }
        response
    }
}

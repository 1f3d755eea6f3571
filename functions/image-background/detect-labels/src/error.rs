//! Errors: why detection failed ([`DetectError`], the error of the [`crate::LabelDetector`]
//! port) and the error answers of the API ([`ApiError`], one status and body per variant).

use axum::response::{IntoResponse, Response};
use lambda_http::http::{header, HeaderValue, Method, StatusCode};
use shared::http::error_response;
use shared::ErrorKind;

use crate::request::InvalidRequest;
use crate::{RETRY_AFTER_SECONDS, ROUTE};

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

    /// The status of the answer ([`ApiError::status`]).
    pub fn status(&self) -> StatusCode {
        ApiError::from(self.clone()).status()
    }

    /// What the client is told (the message of the [`ApiError`] answer).
    pub fn client_message(&self) -> String {
        ApiError::from(self.clone()).to_string()
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
}

/// An error answer: `{"error": <type>, "message": <the Display text>}` with the variant's
/// status (and header).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// 404 `NotFound`: a path other than [`ROUTE`].
    #[error("path: no such route, use GET or POST {ROUTE}")]
    NoSuchRoute,
    /// 405 `MethodNotAllowed`, with `Allow: GET, POST`: another method on [`ROUTE`], `HEAD`
    /// included.
    #[error("method: {0} is not allowed on {ROUTE}, use GET or POST")]
    MethodNotAllowed(Method),
    /// 400 `InvalidInput`: a bad field or parameter.
    #[error(transparent)]
    InvalidRequest(#[from] InvalidRequest),
    /// 400 `InvalidInput`: Rekognition refused the image or a parameter (its message).
    #[error("{field}: {message}")]
    RejectedByRekognition {
        field: &'static str,
        message: String,
    },
    /// 429 `Retryable`, with `Retry-After`: Rekognition throttles.
    #[error("Rekognition is throttling requests, retry after {RETRY_AFTER_SECONDS} second")]
    Throttled,
    /// 500 `Misconfigured`: access denied, bad credentials.
    #[error("the function cannot use Rekognition (permissions or credentials); see its logs")]
    CannotUseRekognition,
    /// 502 `Retryable`: Rekognition 5xx, time-out, connection failure, anything else.
    #[error("Rekognition is unavailable or did not answer, retry later")]
    Unavailable,
}

impl From<DetectError> for ApiError {
    /// The answer to a detection failure; the details other than a refusal's stay in the logs.
    fn from(err: DetectError) -> Self {
        match err {
            DetectError::Rejected { field, message } => {
                ApiError::RejectedByRekognition { field, message }
            }
            DetectError::Throttled(_) => ApiError::Throttled,
            DetectError::Misconfigured(_) => ApiError::CannotUseRekognition,
            DetectError::Unavailable(_) => ApiError::Unavailable,
        }
    }
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::NoSuchRoute => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::InvalidRequest(_) | ApiError::RejectedByRekognition { .. } => {
                StatusCode::BAD_REQUEST
            }
            ApiError::Throttled => StatusCode::TOO_MANY_REQUESTS,
            ApiError::CannotUseRekognition => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Unavailable => StatusCode::BAD_GATEWAY,
        }
    }

    /// The `error` of the body.
    pub fn error_type(&self) -> &'static str {
        match self {
            ApiError::NoSuchRoute => "NotFound",
            ApiError::MethodNotAllowed(_) => "MethodNotAllowed",
            ApiError::InvalidRequest(_) | ApiError::RejectedByRekognition { .. } => {
                ErrorKind::InvalidInput.error_type()
            }
            ApiError::CannotUseRekognition => ErrorKind::Misconfigured.error_type(),
            ApiError::Throttled | ApiError::Unavailable => ErrorKind::Retryable.error_type(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = error_response(self.status(), self.error_type(), &self.to_string());
        let headers = response.headers_mut();
        match self {
            ApiError::MethodNotAllowed(_) => {
                headers.insert(header::ALLOW, HeaderValue::from_static("GET, POST"));
            }
            ApiError::Throttled => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
            }
            _ => {}
        }
        response.into_response()
    }
}

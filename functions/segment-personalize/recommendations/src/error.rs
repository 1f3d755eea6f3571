//! Errors: why Personalize gave no answer ([`RecommendError`]), a failed cache call
//! ([`CacheError`]), and the error answers of the API ([`ApiError`], one status and body per
//! variant).

use axum::response::{IntoResponse, Response};
use lambda_http::http::{header, HeaderValue, Method, StatusCode};
use segment_personalize_core::recommendations::{InvalidRequest, RouteKind, ROUTES};
use shared::http::error_response;
use shared::ErrorKind;

/// Seconds a client is asked to wait when nothing can be served.
pub const RETRY_AFTER_SECONDS: u32 = 2;

/// Why Personalize gave no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecommendError {
    /// Unreachable, timed out, throttled or 5xx: serve a stale answer if there is one, else 503.
    #[error("Unavailable: {0}")]
    Unavailable(String),
    /// `InvalidInputException` or another 4xx about the request (400).
    #[error("Invalid: {0}")]
    Invalid(String),
    /// `ResourceNotFoundException`: the ARN (or a requested filter) does not exist.
    #[error("NotFound: {0}")]
    NotFound(String),
    /// Access denied, bad credentials (500 `Misconfigured`).
    #[error("Misconfigured: {0}")]
    Misconfigured(String),
}

impl RecommendError {
    /// The service's detail, for logs.
    pub fn detail(&self) -> &str {
        match self {
            RecommendError::Unavailable(d)
            | RecommendError::Invalid(d)
            | RecommendError::NotFound(d)
            | RecommendError::Misconfigured(d) => d,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            RecommendError::Unavailable(_) => "Unavailable",
            RecommendError::Invalid(_) => "Invalid",
            RecommendError::NotFound(_) => "NotFound",
            RecommendError::Misconfigured(_) => "Misconfigured",
        }
    }
}

/// A failed cache read or write (logged and counted, never an error answer).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CacheError(pub String);

/// An error answer: `{"error": <type>, "message": <the Display text>}` with the variant's
/// status (and header).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// 404 `NotFound`: no such route.
    #[error("path: no such route, use {ROUTES}")]
    NoSuchRoute,
    /// 404 `NotConfigured`: the route needs a campaign or recommender the function was not
    /// given (`/related` without `RELATED_CAMPAIGN_ARN` / `RELATED_RECOMMENDER_ARN`).
    #[error(
        "path: {} is not configured: the stack has no related-items campaign or recommender (PersonalizeRelatedCampaignArn)",
        .0.name()
    )]
    NotConfigured(RouteKind),
    /// 405 `MethodNotAllowed`, with `Allow: GET`.
    #[error("method: {0} is not allowed, use {ROUTES}")]
    MethodNotAllowed(Method),
    /// 400 `InvalidInput`: the id is not UTF-8 (or not decodable) once percent-decoded.
    #[error("{}: not valid UTF-8 once percent-decoded", .0.id_field())]
    UndecodableId(RouteKind),
    /// 400 `InvalidInput`: a bad parameter or id.
    #[error(transparent)]
    InvalidRequest(#[from] InvalidRequest),
    /// 400 `InvalidInput`: Personalize refused the request (its message).
    #[error("request: Personalize rejected it: {0}")]
    RejectedByPersonalize(String),
    /// 400 `InvalidInput`: the request's filter does not exist.
    #[error("filterArn: Personalize has no such filter (ResourceNotFoundException)")]
    NoSuchFilter,
    /// 500 `Misconfigured`: the configured campaign or recommender does not exist.
    #[error(
        "configuration {variable}: Personalize has no such {resource} (ResourceNotFoundException); see the function's logs"
    )]
    NoSuchTarget {
        variable: &'static str,
        resource: &'static str,
    },
    /// 500 `Misconfigured`: access denied, bad credentials.
    #[error("the function cannot use Personalize (permissions or credentials); see its logs")]
    CannotUsePersonalize,
    /// 503 `Retryable`, with `Retry-After`: Personalize unavailable and nothing cached.
    #[error(
        "Personalize is unavailable or did not answer in time and no cached answer exists, retry later"
    )]
    Unavailable,
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::NoSuchRoute | ApiError::NotConfigured(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::UndecodableId(_)
            | ApiError::InvalidRequest(_)
            | ApiError::RejectedByPersonalize(_)
            | ApiError::NoSuchFilter => StatusCode::BAD_REQUEST,
            ApiError::NoSuchTarget { .. } | ApiError::CannotUsePersonalize => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The `error` of the body.
    pub fn error_type(&self) -> &'static str {
        match self {
            ApiError::NoSuchRoute => "NotFound",
            ApiError::NotConfigured(_) => "NotConfigured",
            ApiError::MethodNotAllowed(_) => "MethodNotAllowed",
            ApiError::UndecodableId(_)
            | ApiError::InvalidRequest(_)
            | ApiError::RejectedByPersonalize(_)
            | ApiError::NoSuchFilter => ErrorKind::InvalidInput.error_type(),
            ApiError::NoSuchTarget { .. } | ApiError::CannotUsePersonalize => {
                ErrorKind::Misconfigured.error_type()
            }
            ApiError::Unavailable => ErrorKind::Retryable.error_type(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = error_response(self.status(), self.error_type(), &self.to_string());
        let headers = response.headers_mut();
        match self {
            ApiError::MethodNotAllowed(_) => {
                headers.insert(header::ALLOW, HeaderValue::from_static("GET"));
            }
            ApiError::Unavailable => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
            }
            _ => {}
        }
        response.into_response()
    }
}

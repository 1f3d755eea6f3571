//! The AWS restJson1 error answer both emulated AWS services (Bedrock Runtime, Personalize)
//! give: the status, `x-amzn-ErrorType: <Exception>`, a `{"message": "..."}` body and
//! `x-amzn-RequestId`. The SDKs take the error code from that header and the message from the
//! body.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::iam::{AccessDenied, AuthError};

/// An error answer of an emulated AWS service; each service adds its own constructors.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: StatusCode,
    /// The `x-amzn-ErrorType` header: the exception's name.
    pub error_type: &'static str,
    pub message: String,
}

impl ApiError {
    /// The answer, with the request id.
    pub fn to_response(&self, request_id: &str) -> Response {
        error_response(self.status, self.error_type, &self.message, request_id)
    }
}

/// 403 `UnrecognizedClientException` / `MissingAuthenticationTokenException`.
impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        Self {
            status: AuthError::STATUS,
            error_type: error.error_type(),
            message: error.message().to_owned(),
        }
    }
}

/// 403 `AccessDeniedException` (`{"message"}`, as the services model it).
impl From<AccessDenied> for ApiError {
    fn from(denied: AccessDenied) -> Self {
        Self {
            status: AccessDenied::STATUS,
            error_type: AccessDenied::ERROR_TYPE,
            message: denied.message(),
        }
    }
}

/// The error answer; a request id that is not a valid header value is left out.
pub(crate) fn error_response(
    status: StatusCode,
    error_type: &'static str,
    message: &str,
    request_id: &str,
) -> Response {
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        json!({ "message": message }).to_string(),
    )
        .into_response();
    let headers = response.headers_mut();
    headers.insert("x-amzn-ErrorType", HeaderValue::from_static(error_type));
    if let Ok(id) = HeaderValue::from_str(request_id) {
        headers.insert("x-amzn-RequestId", id);
    }
    response
}

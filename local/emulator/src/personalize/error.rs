//! Error answers in the restJson1 shape of Personalize.
//!
//! The SDKs (e.g. `aws-sdk-personalizeevents`' `json_errors::parse_error_metadata`) take the
//! error code from the `x-amzn-ErrorType` header, falling back to a `code` or `__type` member of
//! the body, strip anything after `:` and before `#`, and take the message from `message`. So an
//! error is: the status, `x-amzn-ErrorType: <Exception>` and `{"message": "..."}`, plus
//! `x-amzn-RequestId`.
//!
//! Modelled exceptions (botocore service models): both APIs `InvalidInputException` (400);
//! `PutUsers` / `PutItems` and the Runtime operations also `ResourceNotFoundException` (404);
//! `PutUsers` / `PutItems` `ResourceInUseException` (409). `PutEvents` models only
//! `InvalidInputException`.
//!
//! With IAM enforcement, the 403s of AWS's authentication and authorization layer, none of them
//! modelled by Personalize (so the SDKs surface them as unhandled errors carrying the code, as
//! they do against AWS): `UnrecognizedClientException` "The security token included in the
//! request is invalid." (unknown access key), `MissingAuthenticationTokenException` "Missing
//! Authentication Token" (unsigned request) and `AccessDeniedException` "User: ... is not
//! authorized to perform: ..." (see [`crate::iam::AccessDenied::message`]).
//!
//! Not modelled, hence surfaced by the SDKs as unhandled errors carrying the code:
//! `ThrottlingException` (429; the SDK retry classifier retries it as throttling), the 503
//! `ServiceUnavailableException` of an injected outage (retried as a transient error), and the
//! 404 `ResourceNotFoundException` for an unknown tracking id on `PutEvents` when the emulator is
//! told which ids exist (by default it accepts any).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// The message of an injected throttling error (what AWS rate limiting says).
pub const THROTTLING_MESSAGE: &str = "Rate exceeded";

/// The message of an injected outage.
pub const UNAVAILABLE_MESSAGE: &str = "Service Unavailable";

/// An error answer.
pub use crate::rest_json::ApiError;

impl ApiError {
    /// 400 `InvalidInputException`.
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            error_type: "InvalidInputException",
            message: message.into(),
        }
    }

    /// 404 `ResourceNotFoundException`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            error_type: "ResourceNotFoundException",
            message: message.into(),
        }
    }

    /// 429 `ThrottlingException`.
    pub fn throttling() -> Self {
        Self {
            status: StatusCode::TOO_MANY_REQUESTS,
            error_type: "ThrottlingException",
            message: THROTTLING_MESSAGE.to_owned(),
        }
    }

    /// 503 `ServiceUnavailableException`.
    pub fn service_unavailable() -> Self {
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            error_type: "ServiceUnavailableException",
            message: UNAVAILABLE_MESSAGE.to_owned(),
        }
    }
}

/// A 200 answer: `body` as JSON, or nothing (the Events operations have no output members).
pub fn ok_response(body: Option<String>, request_id: &str) -> Response {
    let mut response = match body {
        Some(body) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response(),
        None => StatusCode::OK.into_response(),
    };
    if let Ok(id) = HeaderValue::from_str(request_id) {
        response.headers_mut().insert("x-amzn-RequestId", id);
    }
    response
}

//! The AWS restJson1 error answer both emulated AWS services (Bedrock Runtime, Personalize)
//! give: the status, `x-amzn-ErrorType: <Exception>`, a `{"message": "..."}` body and
//! `x-amzn-RequestId`. The SDKs take the error code from that header and the message from the
//! body.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

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

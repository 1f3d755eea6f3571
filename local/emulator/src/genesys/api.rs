//! The Genesys Cloud platform API (`https://api.{env}/api/v2/...`) routes the fetcher calls.
//!
//! Errors have the platform's body shape, `{"message","code","status","messageParams",
//! "contextId","details","errors"}`, and every answer carries an `inin-correlation-id` header
//! equal to `contextId`, as the real API does.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::activity::{CallKind, CallTarget};
use super::store::DocKey;
use super::{presign, GenesysService, Inner, ThrottleScope};

/// Response header carrying the request's correlation id.
pub const CORRELATION_HEADER: &str = "inin-correlation-id";

/// `GET /api/v2/speechandtextanalytics/conversations/{conversationId}/communications/{communicationId}/transcripturl`
///
/// Mirrors the real endpoint: with a valid bearer token it answers 200 `{"url": ...}`, a
/// short-lived presigned link to the transcript document; 401 without a valid token; 404 while
/// the transcript is not (yet) available, which for real conversations means transcription has
/// not finished, or that the recording was archived or deleted. Rate limits injected through
/// the admin API answer 429 with `Retry-After` (the platform's rate-limit answer) before
/// anything else is checked; a not-ready countdown only advances on authenticated calls.
pub async fn transcript_url(
    State(service): State<GenesysService>,
    Path((conversation_id, communication_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let path = format!(
        "/api/v2/speechandtextanalytics/conversations/{conversation_id}/communications/{communication_id}/transcripturl"
    );
    let mut inner = service.lock();
    let key = DocKey::new(conversation_id, communication_id);
    let response = answer_transcript_url(&service, &mut inner, &headers, &key);
    let call = CallTarget {
        kind: CallKind::TranscriptUrl,
        method: "GET",
        path: &path,
        conversation_id: Some(&key.conversation_id),
        communication_id: Some(&key.communication_id),
    };
    inner.record(&call, response.status());
    response
}

fn answer_transcript_url(
    service: &GenesysService,
    inner: &mut Inner,
    headers: &HeaderMap,
    key: &DocKey,
) -> Response {
    if let Some(retry_after) = inner.throttle.take(ThrottleScope::Api) {
        return too_many_requests(retry_after);
    }
    if let Err(failure) = authenticate(inner, headers) {
        return failure.into_response();
    }
    let now = inner.clock.now_utc();
    let not_found = || {
        platform_error(
            StatusCode::NOT_FOUND,
            "not.found",
            &format!(
                "Transcript for conversation {} communication {} was not found",
                key.conversation_id, key.communication_id
            ),
        )
    };
    let Some(document) = inner.documents.get_mut(key) else {
        return not_found();
    };
    if document.gone {
        return not_found();
    }
    if document.not_ready_remaining > 0 {
        document.not_ready_remaining -= 1;
        return not_found();
    }
    let url = presign::presign(
        service.signing_key(),
        service.public_url(),
        &document.organization_id,
        key,
        now,
        service.config().url_ttl_secs,
    );
    with_correlation_id(
        Json(json!({ "url": url })).into_response(),
        &crate::ids::uuid_v4(),
    )
}

/// Why a platform API call was not authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AuthFailure {
    /// No `Authorization: Bearer` header.
    Missing,
    /// A token that was never issued, or has expired.
    Invalid,
}

impl IntoResponse for AuthFailure {
    /// Like the platform: no bearer token is `authentication.required`; an unknown or expired
    /// one is `bad.credentials`. Both are 401.
    fn into_response(self) -> Response {
        match self {
            Self::Missing => platform_error(
                StatusCode::UNAUTHORIZED,
                "authentication.required",
                "No authentication bearer token specified in authorization header.",
            ),
            Self::Invalid => platform_error(
                StatusCode::UNAUTHORIZED,
                "bad.credentials",
                "Invalid login credentials.",
            ),
        }
    }
}

/// Checks `Authorization: Bearer <token>` against the unexpired issued tokens.
pub(crate) fn authenticate(inner: &Inner, headers: &HeaderMap) -> Result<(), AuthFailure> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|token| !token.is_empty())
        .ok_or(AuthFailure::Missing)?;
    match inner.tokens.get(token) {
        Some(expires_at) if *expires_at > inner.clock.now() => Ok(()),
        _ => Err(AuthFailure::Invalid),
    }
}

/// 429 with `Retry-After`, as the platform's rate limiter answers.
fn too_many_requests(retry_after: u64) -> Response {
    let mut response = platform_error(
        StatusCode::TOO_MANY_REQUESTS,
        "too.many.requests",
        &format!("Rate limit exceeded the maximum. Retry the request in [{retry_after}] seconds"),
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
    response
}

/// A platform API error body with a fresh correlation id.
pub(crate) fn platform_error(status: StatusCode, code: &str, message: &str) -> Response {
    let context_id = crate::ids::uuid_v4();
    let body = json!({
        "message": message,
        "code": code,
        "status": status.as_u16(),
        "messageParams": {},
        "contextId": context_id,
        "details": [],
        "errors": [],
    });
    with_correlation_id((status, Json(body)).into_response(), &context_id)
}

fn with_correlation_id(mut response: Response, id: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(id) {
        response.headers_mut().insert(CORRELATION_HEADER, value);
    }
    response
}

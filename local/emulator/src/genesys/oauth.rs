//! `POST /oauth/token`: the OAuth 2.0 client-credentials grant of the Genesys Cloud login host
//! (`https://login.{env}/oauth/token`).
//!
//! Like the real service: the client authenticates with HTTP Basic `clientId:clientSecret` (not
//! with body parameters), the form body carries `grant_type=client_credentials`, and the answer
//! is `{"access_token","token_type":"bearer","expires_in"}`. Errors use the RFC 6749 body with
//! Genesys's extra `description` field: bad or missing client credentials are 401
//! `invalid_client`, another grant is 400 `unsupported_grant_type`, a malformed request 400
//! `invalid_request`.

use std::collections::HashMap;
use std::time::Duration;

use axum::extract::rejection::FormRejection;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::json;

use super::activity::{CallKind, CallTarget};
use super::{Config, GenesysService, Inner, ThrottleScope};

/// The only grant the emulated client may use.
pub const CLIENT_CREDENTIALS: &str = "client_credentials";

/// Grants an access token to the configured client.
pub async fn token(
    State(service): State<GenesysService>,
    headers: HeaderMap,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Response {
    let mut inner = service.lock();
    let response = grant(service.config(), &mut inner, &headers, form);
    let call = CallTarget {
        kind: CallKind::Token,
        method: "POST",
        path: "/oauth/token",
        conversation_id: None,
        communication_id: None,
    };
    inner.record(&call, response.status());
    response
}

fn grant(
    config: &Config,
    inner: &mut Inner,
    headers: &HeaderMap,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Response {
    if let Some(retry_after) = inner.throttle.take(ThrottleScope::Oauth) {
        let mut response = oauth_error(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_requests",
            &format!("Rate limit exceeded. Retry the request in {retry_after} seconds."),
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
        return response;
    }

    match basic_credentials(headers) {
        None => return invalid_client("client authentication is required (HTTP Basic)"),
        Some((id, secret)) if id != config.client_id || secret != config.client_secret => {
            return invalid_client("client credentials are invalid");
        }
        Some(_) => {}
    }

    let Ok(Form(form)) = form else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the body must be application/x-www-form-urlencoded",
        );
    };
    match form.get("grant_type").map(String::as_str) {
        Some(CLIENT_CREDENTIALS) => {}
        None | Some("") => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "grant_type is required",
            );
        }
        Some(other) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                &format!("grant type {other:?} is not supported for this client"),
            );
        }
    }

    let now = inner.clock.now();
    inner.tokens.retain(|_, expires_at| *expires_at > now);
    let token = crate::ids::access_token();
    inner.tokens.insert(
        token.clone(),
        now + Duration::from_secs(config.token_ttl_secs),
    );
    (
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::PRAGMA, "no-cache"),
        ],
        Json(json!({
            "access_token": token,
            "token_type": "bearer",
            "expires_in": config.token_ttl_secs,
        })),
    )
        .into_response()
}

/// The client id and secret from an `Authorization: Basic` header, if well-formed.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

fn invalid_client(description: &str) -> Response {
    let mut response = oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", description);
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"oauth\""),
    );
    response
}

/// An OAuth error body: `error`, plus the description under both Genesys's `description` and the
/// RFC 6749 `error_description` key.
fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        Json(json!({
            "error": error,
            "description": description,
            "error_description": description,
        })),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(authorization: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, authorization.parse().unwrap());
        h
    }

    #[test]
    fn parses_basic_credentials() {
        let encoded = STANDARD.encode("id:se:cret");
        assert_eq!(
            basic_credentials(&headers(&format!("Basic {encoded}"))),
            Some(("id".into(), "se:cret".into()))
        );
        assert_eq!(
            basic_credentials(&headers(&format!("basic {encoded}"))),
            Some(("id".into(), "se:cret".into()))
        );
    }

    #[test]
    fn rejects_malformed_basic_credentials() {
        assert_eq!(basic_credentials(&HeaderMap::new()), None);
        assert_eq!(basic_credentials(&headers("Bearer abc")), None);
        assert_eq!(basic_credentials(&headers("Basic !!!")), None);
        let no_colon = STANDARD.encode("idonly");
        assert_eq!(
            basic_credentials(&headers(&format!("Basic {no_colon}"))),
            None
        );
    }
}

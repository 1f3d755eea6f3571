//! HTTP API functions (API Gateway HTTP API, `lambda_http`): serving a handler with the logging
//! context set per request, JSON and error responses, and the answer of a function whose
//! settings are wrong. The HTTP counterpart of [`crate::runtime`].

use std::convert::Infallible;
use std::future::Future;

use lambda_http::http::{header, HeaderValue, StatusCode};
use lambda_http::request::RequestContext;
use lambda_http::{service_fn, Body, Request, RequestExt, Response};
use serde::Serialize;
use serde_json::json;

use crate::{ErrorKind, PipelineError};

/// The request the Lambda runtime builds from an HTTP API (payload 2.0) event, for handler
/// tests that start from JSON fixtures (feature `fakes`).
#[cfg(any(test, feature = "fakes"))]
pub fn request_from_event(event: &serde_json::Value) -> Request {
    lambda_http::request::from_str(&event.to_string()).expect("an HTTP API v2 event")
}

/// A JSON response with `no-store` caching.
pub fn json_response(status: StatusCode, body: &impl Serialize) -> Response<Body> {
    let text = serde_json::to_string(body).unwrap_or_else(|_| "{}".to_owned());
    let mut response = Response::new(Body::from(text));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `{"error": error, "message": message}`.
pub fn error_response(status: StatusCode, error: &str, message: &str) -> Response<Body> {
    json_response(status, &json!({"error": error, "message": message}))
}

/// The answer to every request when the settings are wrong: 500 `Misconfigured`, naming the
/// variable.
pub fn misconfigured_response(err: &PipelineError) -> Response<Body> {
    error_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        ErrorKind::Misconfigured.error_type(),
        &err.message,
    )
}

/// 404 `NotFound` (logged with the method and API Gateway's request id).
pub fn not_found(api_request_id: &str, method: &str, message: &str) -> Response<Body> {
    tracing::warn!(api_request_id, method, status = 404, "no such route");
    error_response(StatusCode::NOT_FOUND, "NotFound", message)
}

/// 405 `MethodNotAllowed` with the `Allow` header (logged like [`not_found`]).
pub fn method_not_allowed(
    api_request_id: &str,
    method: &str,
    message: &str,
    allow: &'static str,
) -> Response<Body> {
    tracing::warn!(api_request_id, method, status = 405, "method not allowed");
    let mut response = error_response(StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed", message);
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    response
}

/// The request's path without the stage prefix API Gateway adds for a named stage.
pub fn route_path(req: &Request) -> String {
    let path = req.uri().path();
    let stage = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.stage.as_deref(),
        _ => None,
    };
    let path = match stage.filter(|s| !s.is_empty() && *s != "$default") {
        Some(stage) => path
            .strip_prefix('/')
            .and_then(|p| p.strip_prefix(stage))
            .filter(|rest| rest.starts_with('/'))
            .unwrap_or(path),
        None => path,
    };
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        "/".to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// API Gateway's request id, for matching access logs.
pub fn api_request_id(req: &Request) -> String {
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.request_id.clone().unwrap_or_default(),
        _ => String::new(),
    }
}

/// Sets the logging context (Lambda request id, function ARN, trace id) for an invocation.
pub fn begin_invocation(req: &Request) {
    if let Some(ctx) = req.lambda_context_ref() {
        crate::logging::begin_invocation(
            &ctx.request_id,
            &ctx.invoked_function_arn,
            ctx.xray_trace_id.as_deref(),
        );
    }
}

/// Serves `handler` under the Lambda runtime until it shuts the process down. The handler
/// answers every request itself (errors are responses), so the runtime never sees a failure.
pub async fn run<F, Fut>(handler: F) -> Result<(), lambda_http::Error>
where
    F: Fn(Request) -> Fut,
    Fut: Future<Output = Response<Body>> + Send,
{
    let handler = &handler;
    lambda_http::run(service_fn(move |req: Request| {
        begin_invocation(&req);
        // Boxed: keeps the runtime's future type shallow.
        let fut = Box::pin(handler(req));
        async move { Ok::<_, Infallible>(fut.await) }
    }))
    .await
}

/// Answers every request with 500 `Misconfigured` naming the bad setting, instead of the process
/// crash-looping during init.
pub async fn serve_error(err: PipelineError) -> Result<(), lambda_http::Error> {
    tracing::error!(
        error_type = err.kind.error_type(),
        "cannot start: {}",
        err.message
    );
    let err = &err;
    run(move |_req: Request| {
        tracing::error!(
            error_type = err.kind.error_type(),
            status = 500,
            "not configured: {}",
            err.message
        );
        let response = misconfigured_response(err);
        async move { response }
    })
    .await
}

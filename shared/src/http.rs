//! HTTP API functions (API Gateway HTTP API, payload 2.0, through `lambda_http`): JSON and error
//! responses, the answer of a function whose settings are wrong, and serving. The HTTP
//! counterpart of [`crate::runtime`].
//!
//! A function is an axum [`Router`] served by [`serve`]. Before routing, each request gets:
//!
//! * the logging context of its invocation (Lambda request id, function ARN, X-Ray trace id:
//!   [`crate::logging::begin_invocation`]) and a span `http_request` with API Gateway's request
//!   id and the method;
//! * its path as routed: without the stage prefix API Gateway puts in front of it for a named
//!   stage (`/prod/recommendations/u1` on stage `prod` is `/recommendations/u1`) and without a
//!   trailing `/` ([`route_path`]). The runtime's own `AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH` is
//!   not enough: it only stops `lambda_http` from adding the stage, and HTTP API events already
//!   carry it in `rawPath`, so the path would keep it. Functions need no setting for this.
//!
//! Answers are the router's, without the `Content-Length` header axum adds (API Gateway sets
//! its own). Every request runs in a span `http_request` with API Gateway's request id and the
//! method, so every log line of the request carries both. Handler tests call
//! the router as the runtime does with [`oneshot`] (feature `fakes`).
//!
//! [`run`] serves a handler from [`Request`] to [`Response`] (the answer of a misconfigured
//! function, [`serve_error`]); [`log_unrouted`] logs what a router's fallbacks answer.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::Router;
use lambda_http::http::uri::PathAndQuery;
use lambda_http::http::{header, HeaderValue, StatusCode, Uri};
use lambda_http::request::RequestContext;
use lambda_http::tower::Service;
use lambda_http::{service_fn, Body, Request, RequestExt, Response};
use serde::Serialize;
use serde_json::json;
use tracing::Instrument;

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

/// Logs a request no route answers: 404 "no such route" or 405 "method not allowed" (the
/// request's span carries API Gateway's request id and the method). For routers' `fallback`
/// and `method_not_allowed_fallback`; the answer itself is the function's.
pub fn log_unrouted(status: StatusCode) {
    let status_code = status.as_u16();
    if status == StatusCode::METHOD_NOT_ALLOWED {
        tracing::warn!(status = status_code, "method not allowed");
    } else {
        tracing::warn!(status = status_code, "no such route");
    }
}

/// The request's path without the stage prefix API Gateway adds for a named stage, and without
/// a trailing `/` (`/` stays `/`).
pub fn route_path(req: &Request) -> String {
    path_without_stage(req.uri().path(), stage(req.request_context_ref()))
}

/// API Gateway's request id, for matching access logs.
pub fn api_request_id(req: &Request) -> String {
    request_id(req.request_context_ref())
}

fn stage(ctx: Option<&RequestContext>) -> Option<&str> {
    match ctx {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.stage.as_deref(),
        _ => None,
    }
}

fn request_id(ctx: Option<&RequestContext>) -> String {
    match ctx {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.request_id.clone().unwrap_or_default(),
        _ => String::new(),
    }
}

fn path_without_stage(path: &str, stage: Option<&str>) -> String {
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

/// Sets the logging context (Lambda request id, function ARN, trace id) for an invocation.
pub fn begin_invocation(req: &Request) {
    begin_invocation_of(req);
}

fn begin_invocation_of<B>(req: &lambda_http::http::Request<B>) {
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

// ---------------------------------------------------------------------------------------------
// Serving an axum Router

/// Serves `router` under the Lambda runtime until it shuts the process down (see the module
/// documentation for what each request gets before routing). Errors are answers, so the runtime
/// never sees a failure.
pub async fn serve(router: Router) -> Result<(), lambda_http::Error> {
    lambda_http::run(app(router)).await
}

/// `router` as [`serve`] runs it: what handler tests call (see [`oneshot`]).
pub fn app<S>(router: S) -> LambdaApp<S> {
    LambdaApp { inner: router }
}

/// A service (an axum [`Router`]) with the per-request context of [`serve`]: made by [`app`].
#[derive(Debug, Clone)]
pub struct LambdaApp<S> {
    inner: S,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, B, RB> Service<lambda_http::http::Request<B>> for LambdaApp<S>
where
    S: Service<lambda_http::http::Request<B>, Response = Response<RB>>,
    S::Future: Send + 'static,
{
    type Response = Response<RB>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Response<RB>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: lambda_http::http::Request<B>) -> Self::Future {
        begin_invocation_of(&req);
        let ctx = req.request_context_ref();
        let span = tracing::info_span!(
            "http_request",
            api_request_id = request_id(ctx),
            method = req.method().as_str(),
        );
        let route = path_without_stage(req.uri().path(), stage(ctx));
        if route != req.uri().path() {
            if let Some(uri) = with_path(req.uri(), &route) {
                *req.uri_mut() = uri;
            }
        }
        let answer = self.inner.call(req);
        Box::pin(
            async move {
                let mut response = answer.await?;
                response.headers_mut().remove(header::CONTENT_LENGTH);
                Ok(response)
            }
            .instrument(span),
        )
    }
}

/// `uri` with another path, the query kept.
fn with_path(uri: &Uri, path: &str) -> Option<Uri> {
    let path_and_query = match uri.query() {
        Some(query) => format!("{path}?{query}"),
        None => path.to_owned(),
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = Some(PathAndQuery::try_from(path_and_query).ok()?);
    Uri::from_parts(parts).ok()
}

/// Calls `router` once as [`serve`] would, with a request from [`request_from_event`], and
/// collects the answer (feature `fakes`).
#[cfg(any(test, feature = "fakes"))]
pub async fn oneshot(router: Router, req: Request) -> Response<bytes::Bytes> {
    use lambda_http::tower::ServiceExt;
    let response = match app(router).oneshot(req).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    let (parts, body) = response.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .expect("a readable body");
    Response::from_parts(parts, body)
}

#[cfg(test)]
mod tests {
    use axum::extract::Path;
    use axum::routing::get;
    use serde_json::Value;

    use super::*;

    fn event(path: &str, query: &str, stage: &str) -> Request {
        request_from_event(&json!({
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": path,
            "rawQueryString": query,
            "headers": {"host": "api.example.com"},
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "api",
                "domainName": "api.example.com",
                "http": {"method": "GET", "path": path, "protocol": "HTTP/1.1",
                         "sourceIp": "203.0.113.10", "userAgent": "test"},
                "requestId": "api-req-1",
                "routeKey": "$default",
                "stage": stage,
                "time": "09/Feb/2025:18:25:02 +0000",
                "timeEpoch": 1739125502113u64
            },
            "isBase64Encoded": false
        }))
    }

    fn router() -> Router {
        Router::new()
            .route(
                "/items/{id}",
                get(|Path(id): Path<String>, uri: Uri| async move {
                    json_response(StatusCode::OK, &json!({"id": id, "uri": uri.to_string()}))
                }),
            )
            .fallback(|| async { error_response(StatusCode::NOT_FOUND, "NotFound", "no") })
    }

    async fn body(req: Request) -> (StatusCode, Value) {
        let response = oneshot(router(), req).await;
        assert!(response.headers().get(header::CONTENT_LENGTH).is_none());
        let status = response.status();
        (status, serde_json::from_slice(response.body()).unwrap())
    }

    #[tokio::test]
    async fn routes_without_the_stage_and_the_trailing_slash_keeping_the_query() {
        for (path, stage) in [
            ("/items/a%20b", "$default"),
            ("/items/a%20b/", "$default"),
            ("/prod/items/a%20b", "prod"),
            // lambda_http puts the stage in front of a path that lacks it: taken off again.
            ("/items/a%20b", "prod"),
        ] {
            let (status, body) = body(event(path, "x=1", stage)).await;
            assert_eq!(status, StatusCode::OK, "{path} on {stage}: {body}");
            assert_eq!(body["id"], "a b", "{path}");
            assert!(
                body["uri"].as_str().unwrap().ends_with("/items/a%20b?x=1"),
                "{body}"
            );
        }
        // Another stage's prefix is part of the path.
        let (status, _) = body(event("/prod/items/a", "", "$default")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }

    #[test]
    fn route_paths() {
        assert_eq!(path_without_stage("/", None), "/");
        assert_eq!(path_without_stage("///", None), "/");
        assert_eq!(path_without_stage("/prod", Some("prod")), "/prod");
        assert_eq!(path_without_stage("/prod/", Some("prod")), "/");
        assert_eq!(
            path_without_stage("/production/x", Some("prod")),
            "/production/x"
        );
        assert_eq!(
            path_without_stage("/$default/x", Some("$default")),
            "/$default/x"
        );
        assert_eq!(route_path(&event("/prod/items/1/", "", "prod")), "/items/1");
        assert_eq!(api_request_id(&event("/", "", "prod")), "api-req-1");
    }
}

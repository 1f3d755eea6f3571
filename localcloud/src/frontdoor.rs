//! The front door: one endpoint (`AWS_ENDPOINT_URL`) that looks like AWS to every client.
//!
//! - `POST /2015-03-31/functions/{FunctionName}/invocations` (Lambda Invoke) goes to the
//!   functions under `cargo lambda watch`, and the answer is put back into the shape the real
//!   Lambda API gives (see [`crate::lambda`]): `200` with `X-Amz-Function-Error: Unhandled` for a
//!   function error, `404 ResourceNotFoundException` for an unknown function,
//!   `202` for `X-Amz-Invocation-Type: Event` (the function then runs in the background),
//!   `204` for `DryRun`.
//! - Everything else is forwarded to moto unchanged: method, path and query, headers (Host and
//!   Authorization included, so S3 virtual-host addressing and SigV4 parsing keep working) and
//!   body; moto's status, headers and body come back the same way.
//!
//! moto itself runs with `MOTO_PORT` set to this server's port, so the Step Functions
//! interpreter inside moto sends its `lambda:invoke` tasks here too.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;

use crate::ids;
use crate::lambda::{self, LambdaClient, Outcome};

/// Settings of the `frontdoor` subcommand.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    /// moto's base URL, e.g. `http://127.0.0.1:4567`.
    pub moto: String,
    /// Base URL of `cargo lambda watch`, e.g. `http://127.0.0.1:9001`.
    pub lambda: String,
    /// Longest a function may run (the function timeout).
    pub invoke_timeout: Duration,
    pub region: String,
    pub account: String,
}

struct AppState {
    config: Config,
    http: reqwest::Client,
    lambda: LambdaClient,
}

/// Serves until the process is stopped.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let http = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let lambda = LambdaClient::new(&config.lambda, config.invoke_timeout)?;
    let listen = config.listen;
    let state = Arc::new(AppState {
        config,
        http,
        lambda,
    });
    let app = Router::new()
        .fallback(handle)
        .layer(DefaultBodyLimit::disable())
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    tracing::info!(
        listen = %listen,
        moto = %state.config.moto,
        lambda = %state.config.lambda,
        "front door ready"
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(crate::shutdown_signal())
        .await?;
    Ok(())
}

async fn handle(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(body) => body,
        Err(e) => {
            return plain(
                StatusCode::BAD_REQUEST,
                format!("reading request body: {e}"),
            )
        }
    };
    if parts.method == Method::POST {
        if let Some(function) = lambda::invoke_path_function(parts.uri.path()) {
            return invoke(&state, &function, &parts.headers, body).await;
        }
    }
    let path_and_query = parts
        .uri
        .path_and_query()
        .map(|pq| pq.as_str())
        .unwrap_or("/");
    proxy(&state, parts.method, path_and_query, &parts.headers, body).await
}

// ------------------------------------------------------------------------------------- Lambda

/// Lambda `Invoke`, mirrored on top of `cargo lambda watch`.
async fn invoke(
    state: &Arc<AppState>,
    function: &str,
    headers: &HeaderMap,
    payload: Bytes,
) -> Response {
    let request_id = ids::uuid_v4();
    let invocation_type = headers
        .get("x-amz-invocation-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("RequestResponse")
        .to_owned();
    let pass_through = pass_through_invoke_headers(headers);

    match invocation_type.as_str() {
        "DryRun" => {
            return with_request_id(StatusCode::NO_CONTENT.into_response(), &request_id);
        }
        "Event" => {
            // Lambda queues the event and answers 202 at once; the function runs later.
            let state = state.clone();
            let function = function.to_owned();
            let id = request_id.clone();
            tokio::spawn(async move {
                let started = std::time::Instant::now();
                let outcome = state.lambda.invoke(&function, payload, &pass_through).await;
                tracing::info!(
                    function = %function,
                    request_id = %id,
                    invocation_type = "Event",
                    outcome = outcome.label(),
                    error_type = outcome.error_type().unwrap_or_default(),
                    duration_ms = started.elapsed().as_millis() as u64,
                    "invoke"
                );
            });
            return with_request_id(StatusCode::ACCEPTED.into_response(), &request_id);
        }
        "RequestResponse" => {}
        other => {
            return aws_error(
                StatusCode::BAD_REQUEST,
                "InvalidParameterValueException",
                &format!("Unsupported invocation type {other}"),
                &request_id,
            );
        }
    }

    let started = std::time::Instant::now();
    let outcome = state.lambda.invoke(function, payload, &pass_through).await;
    tracing::info!(
        function = %function,
        request_id = %request_id,
        invocation_type = "RequestResponse",
        outcome = outcome.label(),
        error_type = outcome.error_type().unwrap_or_default(),
        duration_ms = started.elapsed().as_millis() as u64,
        "invoke"
    );
    match outcome {
        Outcome::Success(body) => lambda_response(body, None, &request_id),
        Outcome::FunctionError { kind, body } => lambda_response(body, Some(&kind), &request_id),
        Outcome::NotFound(_) => {
            let arn = lambda::function_arn(&state.config.region, &state.config.account, function);
            aws_error(
                StatusCode::NOT_FOUND,
                "ResourceNotFoundException",
                &format!("Function not found: {arn}"),
                &request_id,
            )
        }
        Outcome::SystemError(message) => aws_error(
            StatusCode::BAD_GATEWAY,
            "ServiceException",
            &format!("Lambda endpoint {} failed: {message}", state.config.lambda),
            &request_id,
        ),
    }
}

/// Headers of an Invoke request that mean something to the function side.
fn pass_through_invoke_headers(headers: &HeaderMap) -> HeaderMap {
    let mut out = HeaderMap::new();
    for name in ["x-amz-client-context", "x-amz-log-type"] {
        if let Some(value) = headers.get(name) {
            out.insert(HeaderName::from_static(name), value.clone());
        }
    }
    out
}

fn lambda_response(body: Bytes, function_error: Option<&str>, request_id: &str) -> Response {
    let mut response = Response::new(Body::from(body));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(
        "x-amz-executed-version",
        HeaderValue::from_static("$LATEST"),
    );
    if let Some(kind) = function_error {
        if let Ok(value) = HeaderValue::from_str(kind) {
            headers.insert(lambda::FUNCTION_ERROR_HEADER, value);
        }
    }
    with_request_id(response, request_id)
}

/// An error in the REST-JSON shape the Lambda API uses (what the AWS SDKs parse).
fn aws_error(status: StatusCode, error_type: &str, message: &str, request_id: &str) -> Response {
    let body = serde_json::json!({ "Type": "User", "Message": message, "message": message });
    let mut response = (status, body.to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(value) = HeaderValue::from_str(error_type) {
        headers.insert(lambda::ERROR_TYPE_HEADER, value);
    }
    with_request_id(response, request_id)
}

fn with_request_id(mut response: Response, request_id: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(request_id) {
        response.headers_mut().insert("x-amzn-requestid", value);
    }
    response
}

// --------------------------------------------------------------------------------------- moto

/// Hop-by-hop headers (RFC 9110 §7.6.1) belong to one connection and are not forwarded;
/// `content-length` is recomputed from the (buffered) body.
fn is_hop_by_hop(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection"
            | "keep-alive"
            | "proxy-connection"
            | "proxy-authenticate"
            | "proxy-authorization"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
    )
}

async fn proxy(
    state: &AppState,
    method: Method,
    path_and_query: &str,
    headers: &HeaderMap,
    body: Bytes,
) -> Response {
    let url = format!(
        "{}{}",
        state.config.moto.trim_end_matches('/'),
        path_and_query
    );
    let mut forwarded = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        if !is_hop_by_hop(name) && name != header::CONTENT_LENGTH {
            forwarded.append(name.clone(), value.clone());
        }
    }
    let result = state
        .http
        .request(method.clone(), &url)
        .headers(forwarded)
        .body(body)
        .send()
        .await;
    let upstream = match result {
        Ok(upstream) => upstream,
        Err(e) => {
            tracing::warn!(%method, path = %path_and_query, error = %e, "moto unreachable");
            return plain(
                StatusCode::BAD_GATEWAY,
                format!("front door: moto at {url}: {e}"),
            );
        }
    };
    let status = upstream.status();
    let upstream_headers = upstream.headers().clone();
    let body = match upstream.bytes().await {
        Ok(body) => body,
        Err(e) => {
            return plain(
                StatusCode::BAD_GATEWAY,
                format!("front door: reading moto's answer: {e}"),
            )
        }
    };
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    let out = response.headers_mut();
    for (name, value) in &upstream_headers {
        // Keep moto's content-length only for HEAD, whose body is empty by definition.
        if is_hop_by_hop(name) || (name == header::CONTENT_LENGTH && method != Method::HEAD) {
            continue;
        }
        out.append(name.clone(), value.clone());
    }
    response
}

fn plain(status: StatusCode, message: String) -> Response {
    (status, message).into_response()
}

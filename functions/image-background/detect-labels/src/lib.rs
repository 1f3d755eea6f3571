//! `detect-labels`: an HTTP endpoint that runs Amazon Rekognition `DetectLabels` on an image
//! already in the upload bucket and returns its labels with confidence and instance bounding
//! boxes.
//!
//! It sits behind an API Gateway HTTP API (payload format 2.0). Typical use: before writing a job
//! manifest, a client asks which objects the image shows and where, then copies a label name
//! into `image.labels` or an instance's `boundingBox` into `image.maskBoxes`.
//!
//! # Requests
//!
//! * `POST /labels` with a JSON body
//!   `{"key": "uploads/job-1/product.png", "maxLabels": 20, "minConfidence": 70}`;
//! * `GET /labels?key=uploads/job-1/product.png&maxLabels=20&minConfidence=70`.
//!
//! | field           | rule                                                                   |
//! |-----------------|------------------------------------------------------------------------|
//! | `key`           | required; 1 to 1024 bytes; no leading `/`; under `KEY_PREFIX`; not a folder (`/` at the end) |
//! | `maxLabels`     | optional, integer 1 to 1000, default 20                                |
//! | `minConfidence` | optional, number 0 to 100, default 70                                  |
//!
//! Any other body field or query parameter is rejected, so a misspelt option is not silently
//! ignored. Query values are form-decoded (`%2F` is `/`, `+` a space). A path stage prefix
//! (`/prod/labels` on stage `prod`) and a trailing `/` are accepted.
//!
//! The bucket never comes from the request: it is `UPLOAD_BUCKET`, and keys outside
//! `KEY_PREFIX` are refused, so callers cannot probe other objects.
//!
//! # Environment
//!
//! * `UPLOAD_BUCKET` (required): the bucket the images are in.
//! * `KEY_PREFIX` (default `uploads/`): keys must start with it. `/` allows the whole bucket.
//! * `POWERTOOLS_SERVICE_NAME`, `POWERTOOLS_LOG_LEVEL`, `POWERTOOLS_METRICS_NAMESPACE`: logging
//!   and metrics, as in every function of the project.
//!
//! A missing or invalid setting does not crash-loop the function: every request is answered
//! `500 {"error":"Misconfigured","message":"configuration UPLOAD_BUCKET: is not set"}`.
//!
//! # Responses
//!
//! `200`:
//!
//! ```json
//! {"bucket": "mlpipe-uploads", "key": "uploads/job-1/product.png",
//!  "labels": [{"name": "Laptop", "confidence": 99.1, "parents": ["Computer", "Electronics"],
//!              "categories": ["Technology and Computing"],
//!              "instances": [{"confidence": 98.7,
//!                             "boundingBox": {"left": 0.2, "top": 0.1, "width": 0.5, "height": 0.7}}]}],
//!  "labelModelVersion": "3.0"}
//! ```
//!
//! Labels are sorted by confidence, highest first (ties by name). Bounding boxes are fractions of
//! the image with exactly the keys of a job manifest's `maskBoxes`; Rekognition may return boxes
//! that overshoot the image edge, so they are clipped to the image, and instances without a box or
//! with an empty one after clipping are left out. `labelModelVersion` is `null` when Rekognition
//! does not say.
//!
//! Errors are `{"error": <type>, "message": <text>}`, never with a stack trace:
//!
//! | status | error              | when                                                       |
//! |--------|--------------------|------------------------------------------------------------|
//! | 400    | `InvalidInput`     | a bad field (the message starts with the field and states its limit); Rekognition cannot read the object (`InvalidS3ObjectException`), the format is not JPEG/PNG, the image is too large, or Rekognition rejects a parameter |
//! | 404    | `NotFound`         | a path other than `/labels`                                |
//! | 405    | `MethodNotAllowed` | a method other than GET and POST, `HEAD` included (with `Allow: GET, POST`; a `HEAD` answer has no body) |
//! | 429    | `Retryable`        | Rekognition throttling (with `Retry-After: 1`)             |
//! | 500    | `Misconfigured`    | bad settings, access denied to Rekognition, bad credentials |
//! | 502    | `Retryable`        | Rekognition 5xx, time-outs, connection failures, anything else |
//!
//! # IAM
//!
//! The function role needs `rekognition:DetectLabels` (resource `*`) and `s3:GetObject` on
//! `arn:aws:s3:::<UPLOAD_BUCKET>/<KEY_PREFIX>*`: Rekognition reads the object with the caller's
//! permissions, and without `s3:GetObject` it answers `InvalidS3ObjectException` (a 400 here).
//! With SSE-KMS, `kms:Decrypt` on the bucket key as well.
//!
//! # Logs and metrics
//!
//! JSON lines (via [`shared::logging`]) carry the Lambda request id, the API Gateway request id,
//! the key's length (never the key), the limits, the label count and the latency. EMF metrics:
//! `LabelRequests`, `LabelsReturned`, `DetectLabelsLatency`, `InvalidRequests`,
//! `DetectLabelsThrottled`, `DetectLabelsFailed`.
//!
//! # Layout
//!
//! The function is an axum [`Router`] ([`router`]) served by [`shared::http::serve`], which
//! strips the stage prefix and a trailing `/` before routing. [`request`] reads and validates a
//! request, [`error`] holds the detector's error and the error answers (one status and body per
//! variant), [`aws`] is the Rekognition adapter, [`config`] the settings; here are the types,
//! the routes and the handler.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use lambda_http::http::{Method, StatusCode};
use serde::{Deserialize, Serialize};
pub use shared::http::{error_response, json_response, misconfigured_response, serve_error};
use shared::metrics::{Metrics, Unit};

pub mod aws;
pub mod config;
pub mod error;
pub mod request;

pub use aws::{classify_sdk_error, RekognitionDetector};
pub use config::{Config, DEFAULT_KEY_PREFIX};
pub use error::{ApiError, DetectError};
pub use request::{parse_body, parse_query, validate_key, InvalidRequest, LabelsRequest};

use request::Input;

#[cfg(test)]
mod tests;

/// The one route (after any stage prefix).
pub const ROUTE: &str = "/labels";
/// `maxLabels` when the request does not give it.
pub const DEFAULT_MAX_LABELS: u32 = 20;
/// The largest `maxLabels` (Rekognition's limit).
pub const MAX_LABELS_LIMIT: u32 = 1000;
/// `minConfidence` when the request does not give it.
pub const DEFAULT_MIN_CONFIDENCE: f32 = 70.0;
/// The longest S3 key, in bytes.
pub const MAX_KEY_BYTES: usize = 1024;
/// Seconds a throttled client is asked to wait.
pub const RETRY_AFTER_SECONDS: u32 = 1;

/// A box as fractions of the image: the keys of a job manifest's `maskBoxes`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BoundingBox {
    pub left: f64,
    pub top: f64,
    pub width: f64,
    pub height: f64,
}

/// One occurrence of a label in the image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Instance {
    pub confidence: f64,
    pub bounding_box: BoundingBox,
}

/// A detected label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Label {
    pub name: String,
    pub confidence: f64,
    /// Names of the parent labels (`Laptop` -> `Computer`, `Electronics`).
    pub parents: Vec<String>,
    /// Names of the categories (`Technology and Computing`).
    pub categories: Vec<String>,
    pub instances: Vec<Instance>,
}

/// What a detector found.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Detection {
    pub labels: Vec<Label>,
    pub label_model_version: Option<String>,
}

/// Sorts by confidence, highest first, then by name.
pub fn sort_labels(labels: &mut [Label]) {
    labels.sort_by(|a, b| {
        b.confidence
            .total_cmp(&a.confidence)
            .then_with(|| a.name.cmp(&b.name))
    });
}

/// Finds labels in an image of a bucket.
pub trait LabelDetector: Send + Sync {
    fn detect(
        &self,
        bucket: &str,
        key: &str,
        max_labels: u32,
        min_confidence: f32,
    ) -> impl Future<Output = Result<Detection, DetectError>> + Send;
}

/// The 200 body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LabelsResponse {
    pub bucket: String,
    pub key: String,
    pub labels: Vec<Label>,
    pub label_model_version: Option<String>,
}

/// The routes: `GET` and `POST` [`ROUTE`]; 404 elsewhere, 405 (with `Allow: GET, POST`) for
/// another method on it, `HEAD` included. Bodies are read whole, without axum's size limit:
/// API Gateway and Lambda cap them already.
pub fn router<D: LabelDetector + 'static>(handler: Arc<Handler<D>>) -> Router {
    Router::new()
        .route(
            ROUTE,
            get(get_labels::<D>)
                .post(post_labels::<D>)
                .head(method_not_allowed),
        )
        .fallback(no_such_route)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::disable())
        .with_state(handler)
}

/// Serves `handler` under the Lambda runtime until it shuts the process down.
pub async fn run<D: LabelDetector + 'static>(
    handler: Handler<D>,
) -> Result<(), lambda_http::Error> {
    shared::http::serve(router(Arc::new(handler))).await
}

async fn get_labels<D: LabelDetector>(
    State(handler): State<Arc<Handler<D>>>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    handler.answer(Input::Query(query)).await
}

async fn post_labels<D: LabelDetector>(
    State(handler): State<Arc<Handler<D>>>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    handler.answer(Input::Body(body)).await
}

async fn no_such_route() -> ApiError {
    shared::http::log_unrouted(StatusCode::NOT_FOUND);
    ApiError::NoSuchRoute
}

async fn method_not_allowed(method: Method) -> ApiError {
    shared::http::log_unrouted(StatusCode::METHOD_NOT_ALLOWED);
    ApiError::MethodNotAllowed(method)
}

/// The handler: generic over the detector, so tests need no network.
pub struct Handler<D> {
    detector: D,
    config: Config,
}

impl<D: LabelDetector> Handler<D> {
    pub fn new(detector: D, config: Config) -> Self {
        Self { detector, config }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Answers one routed request, recording metrics. Every failure is an answer.
    async fn answer(&self, input: Input) -> Response {
        let mut metrics = Metrics::from_env();
        let response = self
            .respond(input, &mut metrics)
            .await
            .unwrap_or_else(IntoResponse::into_response);
        metrics.flush();
        response
    }

    async fn respond(&self, input: Input, metrics: &mut Metrics) -> Result<Response, ApiError> {
        metrics.count("LabelRequests");
        let request = input.parse(&self.config.key_prefix).inspect_err(|e| {
            metrics.count("InvalidRequests");
            tracing::warn!(status = 400, "invalid request: {e}");
        })?;
        tracing::info!(
            key_len = request.key.len(),
            max_labels = request.max_labels,
            min_confidence = f64::from(request.min_confidence),
            "detecting labels"
        );
        let started = Instant::now();
        let result = self
            .detector
            .detect(
                &self.config.upload_bucket,
                &request.key,
                request.max_labels,
                request.min_confidence,
            )
            .await;
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        metrics.add("DetectLabelsLatency", Unit::Milliseconds, latency_ms);
        let detection = result.map_err(|e| {
            metrics.count(e.metric());
            log_failure(&e, latency_ms);
            ApiError::from(e)
        })?;
        let mut labels = detection.labels;
        sort_labels(&mut labels);
        metrics.add("LabelsReturned", Unit::Count, labels.len() as f64);
        tracing::info!(
            status = 200,
            labels = labels.len(),
            latency_ms,
            "labels detected"
        );
        let body = LabelsResponse {
            bucket: self.config.upload_bucket.clone(),
            key: request.key,
            labels,
            label_model_version: detection.label_model_version,
        };
        Ok(json_response(StatusCode::OK, &body).into_response())
    }
}

/// Logs a detection failure: an error when the answer is a 5xx, else a warning.
fn log_failure(e: &DetectError, latency_ms: f64) {
    let status = e.status().as_u16();
    if status >= 500 {
        tracing::error!(
            status,
            error_type = e.kind().error_type(),
            latency_ms,
            "detection failed: {}",
            e.detail()
        );
    } else {
        tracing::warn!(
            status,
            error_type = e.kind().error_type(),
            latency_ms,
            "detection refused: {}",
            e.detail()
        );
    }
}

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
//! ignored. A path stage prefix (`/prod/labels` on stage `prod`) is accepted.
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
//! | 405    | `MethodNotAllowed` | a method other than GET and POST (with `Allow: GET, POST`) |
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
//! [`request`] reads and validates a request, [`error`] answers failures, [`aws`] is the
//! Rekognition adapter, [`config`] the settings; here are the types, the routing and the handler.

use std::future::Future;
use std::time::Instant;

use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use serde::{Deserialize, Serialize};
pub use shared::http::route_path;
use shared::http::{api_request_id, method_not_allowed, not_found};
pub use shared::http::{error_response, json_response, misconfigured_response, serve_error};
use shared::metrics::{Metrics, Unit};

pub mod aws;
pub mod config;
pub mod error;
pub mod request;

pub use aws::{classify_sdk_error, RekognitionDetector};
pub use config::{Config, DEFAULT_KEY_PREFIX};
pub use error::DetectError;
pub use request::{parse_request, validate_key, LabelsRequest};

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

/// Where a request goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Labels,
    NotFound,
    MethodNotAllowed,
}

pub fn route(req: &Request) -> Route {
    if route_path(req) != ROUTE {
        Route::NotFound
    } else if req.method() == Method::GET || req.method() == Method::POST {
        Route::Labels
    } else {
        Route::MethodNotAllowed
    }
}

/// The handler.
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

    /// Answers one request, recording metrics. Every failure is a response; nothing panics.
    pub async fn handle(&self, req: Request) -> Response<Body> {
        let mut metrics = Metrics::from_env();
        let response = self.respond(req, &mut metrics).await;
        metrics.flush();
        response
    }

    async fn respond(&self, req: Request, metrics: &mut Metrics) -> Response<Body> {
        let api_request_id = api_request_id(&req);
        let method = req.method().as_str().to_owned();
        match route(&req) {
            Route::Labels => {}
            Route::NotFound => {
                return not_found(
                    &api_request_id,
                    &method,
                    &format!("path: no such route, use GET or POST {ROUTE}"),
                );
            }
            Route::MethodNotAllowed => {
                return method_not_allowed(
                    &api_request_id,
                    &method,
                    &format!("method: {method} is not allowed on {ROUTE}, use GET or POST"),
                    "GET, POST",
                );
            }
        }
        metrics.count("LabelRequests");
        let request = match parse_request(&req, &self.config.key_prefix) {
            Ok(r) => r,
            Err(e) => {
                metrics.count("InvalidRequests");
                tracing::warn!(
                    api_request_id,
                    method,
                    status = 400,
                    "invalid request: {}",
                    e.message
                );
                return error_response(StatusCode::BAD_REQUEST, e.kind.error_type(), &e.message);
            }
        };
        drop(req);
        tracing::info!(
            api_request_id,
            method,
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
        match result {
            Ok(detection) => {
                let mut labels = detection.labels;
                sort_labels(&mut labels);
                metrics.add("LabelsReturned", Unit::Count, labels.len() as f64);
                tracing::info!(
                    api_request_id,
                    status = 200,
                    labels = labels.len(),
                    latency_ms,
                    "labels detected"
                );
                json_response(
                    StatusCode::OK,
                    &LabelsResponse {
                        bucket: self.config.upload_bucket.clone(),
                        key: request.key,
                        labels,
                        label_model_version: detection.label_model_version,
                    },
                )
            }
            Err(e) => {
                metrics.count(e.metric());
                let status = e.status().as_u16();
                if status >= 500 {
                    tracing::error!(
                        api_request_id,
                        status,
                        error_type = e.kind().error_type(),
                        latency_ms,
                        "detection failed: {}",
                        e.detail()
                    );
                } else {
                    tracing::warn!(
                        api_request_id,
                        status,
                        error_type = e.kind().error_type(),
                        latency_ms,
                        "detection refused: {}",
                        e.detail()
                    );
                }
                e.into_response()
            }
        }
    }
}

/// Serves `handler` under the Lambda runtime until it shuts the process down.
pub async fn run<D: LabelDetector>(handler: Handler<D>) -> Result<(), lambda_http::Error> {
    shared::http::run(|req| handler.handle(req)).await
}

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

use std::future::Future;
use std::time::Instant;

use aws_sdk_rekognition::config::http::HttpResponse;
use aws_sdk_rekognition::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_rekognition::operation::detect_labels::{DetectLabelsError, DetectLabelsOutput};
use aws_sdk_rekognition::types::{Image, S3Object};
use lambda_http::http::{header, HeaderValue, Method, StatusCode};
use lambda_http::{Body, Request, RequestExt, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shared::config::{prefix_or, required, ConfigError, Source};
pub use shared::http::route_path;
use shared::http::{api_request_id, method_not_allowed, not_found};
pub use shared::http::{error_response, json_response, misconfigured_response, serve_error};
use shared::metrics::{Metrics, Unit};
use shared::{ErrorKind, PipelineError};

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
/// Default of `KEY_PREFIX`.
pub const DEFAULT_KEY_PREFIX: &str = "uploads/";
/// Seconds a throttled client is asked to wait.
pub const RETRY_AFTER_SECONDS: u32 = 1;

const FIELDS: &str = "key, maxLabels or minConfidence";

/// Settings, from environment variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `UPLOAD_BUCKET` (required): the only bucket images are read from.
    pub upload_bucket: String,
    /// `KEY_PREFIX` (default `uploads/`): keys must start with it (`""` when set to `/`).
    pub key_prefix: String,
}

impl Config {
    pub fn from_source(src: &impl Source) -> Result<Self, ConfigError> {
        let upload_bucket = required(src, "UPLOAD_BUCKET")?;
        let key_prefix = prefix_or(src, "KEY_PREFIX", DEFAULT_KEY_PREFIX, true)?;
        Ok(Self {
            upload_bucket,
            key_prefix,
        })
    }
}

/// A validated request.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelsRequest {
    pub key: String,
    pub max_labels: u32,
    pub min_confidence: f32,
}

/// A box as fractions of the image: the keys of a job manifest's `maskBoxes`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BoundingBox {
    pub left: f64,
    pub top: f64,
    pub width: f64,
    pub height: f64,
}

impl BoundingBox {
    /// Rekognition's box clipped to the image; `None` when a value is missing or not finite, or
    /// nothing of the box is inside the image.
    pub fn from_sdk(b: &aws_sdk_rekognition::types::BoundingBox) -> Option<Self> {
        let (left, top) = (widen(b.left?), widen(b.top?));
        let (width, height) = (widen(b.width?), widen(b.height?));
        if ![left, top, width, height].iter().all(|v| v.is_finite()) {
            return None;
        }
        let (left, width) = clip(left, width)?;
        let (top, height) = clip(top, height)?;
        Some(Self {
            left,
            top,
            width,
            height,
        })
    }
}

/// The span `[start, start + len]` clipped to `[0, 1]` as `(start, len)`, `None` when empty.
/// Spans already inside keep their values; clipped ones are rounded to 6 decimals (far below a
/// pixel) so that no arithmetic noise shows (`0.3`, not `0.30000000000000004`).
fn clip(start: f64, len: f64) -> Option<(f64, f64)> {
    if start >= 0.0 && start + len <= 1.0 {
        return (len > 0.0).then_some((start, len));
    }
    let (s, e) = (start.clamp(0.0, 1.0), (start + len).clamp(0.0, 1.0));
    let round = |v: f64| (v * 1e6).round() / 1e6;
    (e > s).then(|| (round(s), round(e - s)))
}

/// The `f32` the SDK gives as the `f64` with the same shortest decimal form (`0.1`, not
/// `0.10000000149011612`).
fn widen(v: f32) -> f64 {
    v.to_string().parse().unwrap_or(f64::from(v))
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

impl Label {
    /// Rekognition's label; `None` without a name.
    pub fn from_sdk(l: &aws_sdk_rekognition::types::Label) -> Option<Self> {
        let name = l.name.as_deref().map(str::trim).filter(|n| !n.is_empty())?;
        let names = |v: Vec<Option<&str>>| v.into_iter().flatten().map(str::to_owned).collect();
        Some(Self {
            name: name.to_owned(),
            confidence: l.confidence.map(widen).unwrap_or(0.0),
            parents: names(l.parents().iter().map(|p| p.name.as_deref()).collect()),
            categories: names(l.categories().iter().map(|c| c.name.as_deref()).collect()),
            instances: l
                .instances()
                .iter()
                .filter_map(|i| {
                    Some(Instance {
                        confidence: i.confidence.map(widen).unwrap_or(0.0),
                        bounding_box: BoundingBox::from_sdk(i.bounding_box.as_ref()?)?,
                    })
                })
                .collect(),
        })
    }
}

/// What a detector found.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Detection {
    pub labels: Vec<Label>,
    pub label_model_version: Option<String>,
}

impl Detection {
    /// Our labels from Rekognition's answer (in Rekognition's order; the handler sorts).
    pub fn from_output(out: &DetectLabelsOutput) -> Self {
        Self {
            labels: out.labels().iter().filter_map(Label::from_sdk).collect(),
            label_model_version: out.label_model_version().map(str::to_owned),
        }
    }
}

/// Sorts by confidence, highest first, then by name.
pub fn sort_labels(labels: &mut [Label]) {
    labels.sort_by(|a, b| {
        b.confidence
            .total_cmp(&a.confidence)
            .then_with(|| a.name.cmp(&b.name))
    });
}

/// Why detection failed, classified by what the client should do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DetectError {
    /// The image or a parameter was refused (400 `InvalidInput`); `field` is the request field
    /// concerned and `message` the problem, with the service's message.
    Rejected {
        field: &'static str,
        message: String,
    },
    /// Throttled (429 `Retryable`, `Retry-After`).
    Throttled(String),
    /// Access denied, bad credentials (500 `Misconfigured`); the detail is logged, not returned.
    Misconfigured(String),
    /// 5xx, time-out, connection failure or anything unexpected (502 `Retryable`); the detail is
    /// logged, not returned.
    Unavailable(String),
}

impl DetectError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            DetectError::Rejected { .. } => ErrorKind::InvalidInput,
            DetectError::Misconfigured(_) => ErrorKind::Misconfigured,
            DetectError::Throttled(_) | DetectError::Unavailable(_) => ErrorKind::Retryable,
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            DetectError::Rejected { .. } => StatusCode::BAD_REQUEST,
            DetectError::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
            DetectError::Misconfigured(_) => StatusCode::INTERNAL_SERVER_ERROR,
            DetectError::Unavailable(_) => StatusCode::BAD_GATEWAY,
        }
    }

    /// What the client is told.
    pub fn client_message(&self) -> String {
        match self {
            DetectError::Rejected { field, message } => format!("{field}: {message}"),
            DetectError::Throttled(_) => format!(
                "Rekognition is throttling requests, retry after {RETRY_AFTER_SECONDS} second"
            ),
            DetectError::Misconfigured(_) => {
                "the function cannot use Rekognition (permissions or credentials); see its logs"
                    .to_owned()
            }
            DetectError::Unavailable(_) => {
                "Rekognition is unavailable or did not answer, retry later".to_owned()
            }
        }
    }

    /// What is logged.
    pub fn detail(&self) -> String {
        match self {
            DetectError::Rejected { field, message } => format!("{field}: {message}"),
            DetectError::Throttled(d)
            | DetectError::Misconfigured(d)
            | DetectError::Unavailable(d) => d.clone(),
        }
    }

    fn metric(&self) -> &'static str {
        match self {
            DetectError::Throttled(_) => "DetectLabelsThrottled",
            _ => "DetectLabelsFailed",
        }
    }

    pub fn into_response(self) -> Response<Body> {
        let mut response = error_response(
            self.status(),
            self.kind().error_type(),
            &self.client_message(),
        );
        if matches!(self, DetectError::Throttled(_)) {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
        }
        response
    }
}

impl std::fmt::Display for DetectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind(), self.detail())
    }
}

impl std::error::Error for DetectError {}

/// Classifies a `DetectLabels` failure.
pub fn classify_sdk_error(err: &SdkError<DetectLabelsError, HttpResponse>) -> DetectError {
    let ctx = match err {
        SdkError::ServiceError(ctx) => ctx,
        SdkError::TimeoutError(_) => {
            return DetectError::Unavailable("DetectLabels: timed out".into())
        }
        SdkError::DispatchFailure(d) => {
            return DetectError::Unavailable(format!("DetectLabels: request not sent: {d:?}"))
        }
        SdkError::ResponseError(_) => {
            return DetectError::Unavailable("DetectLabels: unreadable response".into())
        }
        other => return DetectError::Unavailable(format!("DetectLabels: {other}")),
    };
    let e = ctx.err();
    let status = ctx.raw().status().as_u16();
    let msg = service_message(e).unwrap_or("no message").to_owned();
    let rejected = |problem: &str| DetectError::Rejected {
        field: "key",
        message: format!("{problem}: {msg}"),
    };
    match e {
        DetectLabelsError::InvalidS3ObjectException(_) => {
            rejected("Rekognition cannot read this object from the upload bucket (does it exist?)")
        }
        DetectLabelsError::InvalidImageFormatException(_) => {
            rejected("the image format is not supported, it must be JPEG or PNG")
        }
        DetectLabelsError::ImageTooLargeException(_) => {
            rejected("the image is too large for Rekognition (at most 15 MB from S3)")
        }
        DetectLabelsError::InvalidParameterException(_) => {
            rejected("Rekognition rejected the image or parameters")
        }
        DetectLabelsError::AccessDeniedException(_) => {
            DetectError::Misconfigured(format!("DetectLabels: AccessDeniedException: {msg}"))
        }
        DetectLabelsError::ProvisionedThroughputExceededException(_) => DetectError::Throttled(
            format!("DetectLabels: ProvisionedThroughputExceededException: {msg}"),
        ),
        DetectLabelsError::ThrottlingException(_) => {
            DetectError::Throttled(format!("DetectLabels: ThrottlingException: {msg}"))
        }
        DetectLabelsError::InternalServerError(_) => DetectError::Unavailable(format!(
            "DetectLabels: InternalServerError (HTTP {status}): {msg}"
        )),
        _ => {
            let code = e.code();
            let detail = format!(
                "DetectLabels: {} (HTTP {status}): {msg}",
                code.unwrap_or("unknown error")
            );
            if status == 429
                || matches!(
                    code,
                    Some("Throttling" | "ThrottlingException" | "TooManyRequestsException")
                )
            {
                DetectError::Throttled(detail)
            } else if shared::error::classify_code(code, status) == ErrorKind::Misconfigured {
                DetectError::Misconfigured(detail)
            } else {
                DetectError::Unavailable(detail)
            }
        }
    }
}

/// The service's message: the modelled exception's, else the error metadata's.
fn service_message(e: &DetectLabelsError) -> Option<&str> {
    let modelled = match e {
        DetectLabelsError::AccessDeniedException(x) => x.message(),
        DetectLabelsError::ImageTooLargeException(x) => x.message(),
        DetectLabelsError::InternalServerError(x) => x.message(),
        DetectLabelsError::InvalidImageFormatException(x) => x.message(),
        DetectLabelsError::InvalidParameterException(x) => x.message(),
        DetectLabelsError::InvalidS3ObjectException(x) => x.message(),
        DetectLabelsError::ProvisionedThroughputExceededException(x) => x.message(),
        DetectLabelsError::ThrottlingException(x) => x.message(),
        _ => None,
    };
    modelled
        .or_else(|| ProvideErrorMetadata::message(e))
        .filter(|m| !m.trim().is_empty())
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

/// [`LabelDetector`] over Amazon Rekognition.
#[derive(Debug, Clone)]
pub struct RekognitionDetector {
    client: aws_sdk_rekognition::Client,
}

impl RekognitionDetector {
    pub fn new(client: aws_sdk_rekognition::Client) -> Self {
        Self { client }
    }
}

impl LabelDetector for RekognitionDetector {
    async fn detect(
        &self,
        bucket: &str,
        key: &str,
        max_labels: u32,
        min_confidence: f32,
    ) -> Result<Detection, DetectError> {
        let image = Image::builder()
            .s3_object(S3Object::builder().bucket(bucket).name(key).build())
            .build();
        let out = self
            .client
            .detect_labels()
            .image(image)
            .max_labels(i32::try_from(max_labels).unwrap_or(i32::MAX))
            .min_confidence(min_confidence)
            .send()
            .await
            .map_err(|e| classify_sdk_error(&e))?;
        Ok(Detection::from_output(&out))
    }
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

/// Reads and validates the request: the body for POST, the query string for GET.
pub fn parse_request(req: &Request, key_prefix: &str) -> Result<LabelsRequest, PipelineError> {
    let fields = if req.method() == Method::POST {
        fields_from_body(req.body().as_ref())?
    } else {
        fields_from_query(req)?
    };
    let key = validate_key(fields.key, key_prefix)?;
    Ok(LabelsRequest {
        key,
        max_labels: fields.max_labels.unwrap_or(DEFAULT_MAX_LABELS),
        min_confidence: fields.min_confidence.unwrap_or(DEFAULT_MIN_CONFIDENCE),
    })
}

/// Fields as given, each checked on its own.
#[derive(Debug, Default)]
struct Fields {
    key: Option<String>,
    max_labels: Option<u32>,
    min_confidence: Option<f32>,
}

fn invalid(field: &str, problem: impl std::fmt::Display) -> PipelineError {
    PipelineError::invalid_input(format!("{field}: {problem}"))
}

fn max_labels_limit() -> String {
    format!("must be an integer from 1 to {MAX_LABELS_LIMIT}")
}

const MIN_CONFIDENCE_LIMIT: &str = "must be a number from 0 to 100";

/// A field or parameter name as echoed in messages: at most 64 characters.
fn shown(name: &str) -> String {
    let mut s: String = name.chars().take(64).collect();
    if s.len() < name.len() {
        s.push('…');
    }
    s
}

fn fields_from_body(body: &[u8]) -> Result<Fields, PipelineError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(invalid(
            "body",
            format!("empty, expected a JSON object with {FIELDS}"),
        ));
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| invalid("body", format!("not valid JSON ({e})")))?;
    let Value::Object(map) = value else {
        return Err(invalid(
            "body",
            format!("must be a JSON object with {FIELDS}"),
        ));
    };
    let mut fields = Fields::default();
    for (name, value) in &map {
        match name.as_str() {
            "key" => match value {
                Value::String(s) => fields.key = Some(s.clone()),
                Value::Null => {}
                _ => return Err(invalid("key", "must be a string (an object key)")),
            },
            "maxLabels" => fields.max_labels = max_labels_from_json(value)?,
            "minConfidence" => fields.min_confidence = min_confidence_from_json(value)?,
            other => {
                return Err(invalid(
                    &shown(other),
                    format!("unknown field, expected {FIELDS}"),
                ))
            }
        }
    }
    Ok(fields)
}

fn max_labels_from_json(value: &Value) -> Result<Option<u32>, PipelineError> {
    match value {
        Value::Null => Ok(None),
        Value::Number(n) => match n.as_i64() {
            Some(i) => check_max_labels(i).map(Some),
            None if n.is_u64() => Err(invalid(
                "maxLabels",
                format!("{n} is out of range, {}", max_labels_limit()),
            )),
            // `20.0` is 20.
            None if n.as_f64().is_some_and(|f| {
                f.fract() == 0.0 && f.abs() <= f64::from(MAX_LABELS_LIMIT) + 1.0
            }) =>
            {
                check_max_labels(n.as_f64().unwrap_or_default() as i64).map(Some)
            }
            None => Err(invalid(
                "maxLabels",
                format!("{n} is not a whole number, {}", max_labels_limit()),
            )),
        },
        _ => Err(invalid(
            "maxLabels",
            format!("not a number, {}", max_labels_limit()),
        )),
    }
}

fn check_max_labels(v: i64) -> Result<u32, PipelineError> {
    match u32::try_from(v) {
        Ok(n) if (1..=MAX_LABELS_LIMIT).contains(&n) => Ok(n),
        _ => Err(invalid(
            "maxLabels",
            format!("{v} is out of range, {}", max_labels_limit()),
        )),
    }
}

fn min_confidence_from_json(value: &Value) -> Result<Option<f32>, PipelineError> {
    match value {
        Value::Null => Ok(None),
        Value::Number(n) => match n.as_f64() {
            Some(f) => check_min_confidence(f).map(Some),
            None => Err(invalid(
                "minConfidence",
                format!("not a number, {MIN_CONFIDENCE_LIMIT}"),
            )),
        },
        _ => Err(invalid(
            "minConfidence",
            format!("not a number, {MIN_CONFIDENCE_LIMIT}"),
        )),
    }
}

fn check_min_confidence(v: f64) -> Result<f32, PipelineError> {
    if !v.is_finite() {
        return Err(invalid(
            "minConfidence",
            format!("not a number, {MIN_CONFIDENCE_LIMIT}"),
        ));
    }
    if !(0.0..=100.0).contains(&v) {
        return Err(invalid(
            "minConfidence",
            format!("{v} is out of range, {MIN_CONFIDENCE_LIMIT}"),
        ));
    }
    Ok(v as f32)
}

fn fields_from_query(req: &Request) -> Result<Fields, PipelineError> {
    let mut fields = Fields::default();
    let Some(params) = req.query_string_parameters_ref() else {
        return Ok(fields);
    };
    let mut names: Vec<&str> = params.iter().map(|(k, _)| k).collect();
    names.sort_unstable();
    names.dedup();
    for name in names {
        let values = params.all(name).unwrap_or_default();
        if !matches!(name, "key" | "maxLabels" | "minConfidence") {
            return Err(invalid(
                &shown(name),
                format!("unknown parameter, expected {FIELDS}"),
            ));
        }
        if values.len() > 1 {
            return Err(invalid(
                name,
                format!("given {} times, must be given once", values.len()),
            ));
        }
        let raw = values.first().copied().unwrap_or_default();
        match name {
            "key" => fields.key = Some(raw.to_owned()),
            "maxLabels" if !raw.trim().is_empty() => {
                let n: i64 = raw.trim().parse().map_err(|_| {
                    invalid(
                        "maxLabels",
                        format!("not an integer, {}", max_labels_limit()),
                    )
                })?;
                fields.max_labels = Some(check_max_labels(n)?);
            }
            "minConfidence" if !raw.trim().is_empty() => {
                let f: f64 = raw.trim().parse().map_err(|_| {
                    invalid(
                        "minConfidence",
                        format!("not a number, {MIN_CONFIDENCE_LIMIT}"),
                    )
                })?;
                fields.min_confidence = Some(check_min_confidence(f)?);
            }
            _ => {}
        }
    }
    Ok(fields)
}

/// Checks the key; messages never echo it.
pub fn validate_key(key: Option<String>, prefix: &str) -> Result<String, PipelineError> {
    let under = if prefix.is_empty() {
        "in the upload bucket".to_owned()
    } else {
        format!("under {prefix}")
    };
    let Some(key) = key else {
        return Err(invalid(
            "key",
            format!("missing, the object key of an image {under} is required"),
        ));
    };
    if key.is_empty() {
        return Err(invalid(
            "key",
            format!("empty, must be 1 to {MAX_KEY_BYTES} bytes"),
        ));
    }
    if key.len() > MAX_KEY_BYTES {
        return Err(invalid(
            "key",
            format!("{} bytes, must be at most {MAX_KEY_BYTES} bytes", key.len()),
        ));
    }
    if key.starts_with('/') {
        return Err(invalid(
            "key",
            "starts with '/', must be an object key without a leading slash",
        ));
    }
    if !key.starts_with(prefix) {
        return Err(invalid(
            "key",
            format!("outside the upload prefix, must start with {prefix}"),
        ));
    }
    if key.ends_with('/') {
        return Err(invalid(
            "key",
            "ends with '/' (a folder), must name an image object",
        ));
    }
    Ok(key)
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

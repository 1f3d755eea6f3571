//! The Rekognition adapter: [`LabelDetector`] on `DetectLabels`, Rekognition's labels and boxes
//! as ours, and its failures classified as [`DetectError`]s.

use aws_sdk_rekognition::config::http::HttpResponse;
use aws_sdk_rekognition::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_rekognition::operation::detect_labels::{DetectLabelsError, DetectLabelsOutput};
use aws_sdk_rekognition::types::{Image, S3Object};
use shared::ErrorKind;

use crate::{BoundingBox, DetectError, Detection, Instance, Label, LabelDetector};

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

impl Detection {
    /// Our labels from Rekognition's answer (in Rekognition's order; the handler sorts).
    pub fn from_output(out: &DetectLabelsOutput) -> Self {
        Self {
            labels: out.labels().iter().filter_map(Label::from_sdk).collect(),
            label_model_version: out.label_model_version().map(str::to_owned),
        }
    }
}

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

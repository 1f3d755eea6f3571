//! `generate-background`: the per-image task of the image background Distributed Map.
//!
//! For one image of a job: reads it from `UPLOAD_BUCKET`, builds the OUTPAINTING request with
//! [`shared::image::build_request`] (format and size checks, fitting to a size the model
//! accepts, `maskPrompt` from labels or a `maskImage` drawn from boxes), invokes the model
//! through [`ImageModel`] (Bedrock Runtime InvokeModel; the SDK retries throttling with
//! exponential backoff), and saves every returned image as PNG at
//! `<GENERATED_PREFIX><jobId>/<image key without extension>/<index>.png` in `GENERATED_BUCKET`.
//! Keys depend only on the event, so a retried task overwrites its earlier outputs.
//!
//! The returned payload names the outputs only (state payloads are capped at 256 KiB): image
//! bytes never travel through Step Functions. A model answer with a non-null `error` fails the
//! task with `InvalidInput` (the reference recorded such answers as success).
//!
//! Errors carry the Lambda `errorType` the state machine's Retry/Catch match on: `Retryable`
//! (throttling still failing after the SDK's retries, 5xx, time-outs), `InvalidInput` (bad event,
//! missing or unusable image, request the model rejects, model `error`), `Misconfigured` (access
//! denied, unknown bucket).

use std::future::Future;
use std::time::Instant;

use base64::Engine as _;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shared::config::{optional, parse_or, prefix_or, required, ConfigError, Source};
use shared::image::{build_request, decode, encode_png, sniff_format, ImageFormat, Model};
/// The event: one image of a job (the type lives in `shared::image` because `start-image-job`
/// writes it).
pub use shared::image::{ImageItem, ImageTask as Event, Job, MaskBox, MAX_JOB_ID_CHARS};
use shared::metrics::{Metrics, Unit};
use shared::store::{s3_uri, ObjectStore};
use shared::PipelineError;

#[cfg(test)]
mod tests;

/// The model used when neither `MODEL_ID` nor the event names one.
pub const DEFAULT_MODEL_ID: &str = "amazon.titan-image-generator-v2:0";
/// Default of `BEDROCK_MAX_ATTEMPTS`.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 6;
/// Settings, from environment variables.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// `UPLOAD_BUCKET` (required): where the source images are.
    pub upload_bucket: String,
    /// `GENERATED_BUCKET` (required): where generated images go.
    pub output_bucket: String,
    /// `GENERATED_PREFIX` (default `generated/`).
    pub output_prefix: String,
    /// `MODEL_ID` (default [`DEFAULT_MODEL_ID`]): a model id, inference profile id or ARN of
    /// Titan Image Generator v1/v2 or Nova Canvas. The event's `job.model` overrides it.
    pub model_id: String,
    /// `BEDROCK_MAX_ATTEMPTS` (default 6): attempts of the SDK's standard retry (throttling,
    /// 5xx, time-outs) per InvokeModel.
    pub bedrock_max_attempts: u32,
}

impl Config {
    pub fn from_source(src: &impl Source) -> Result<Self, ConfigError> {
        let upload_bucket = required(src, "UPLOAD_BUCKET")?;
        let output_bucket = required(src, "GENERATED_BUCKET")?;
        let output_prefix = prefix_or(src, "GENERATED_PREFIX", "generated/", true)?;
        let model_id = optional(src, "MODEL_ID").unwrap_or_else(|| DEFAULT_MODEL_ID.to_owned());
        Model::from_id(&model_id).map_err(|e| ConfigError::new("MODEL_ID", e.message))?;
        let bedrock_max_attempts = parse_or(src, "BEDROCK_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS)?;
        if !(1..=20).contains(&bedrock_max_attempts) {
            return Err(ConfigError::new(
                "BEDROCK_MAX_ATTEMPTS",
                format!("{bedrock_max_attempts}, must be 1 to 20"),
            ));
        }
        Ok(Self {
            upload_bucket,
            output_bucket,
            output_prefix,
            model_id,
            bedrock_max_attempts,
        })
    }
}

/// One saved image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Output {
    pub bucket: String,
    pub key: String,
}

/// What the task returns to the state machine: names and sizes, never image bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Generated {
    pub job_id: String,
    pub image_key: String,
    pub model: String,
    pub width: u32,
    pub height: u32,
    pub outputs: Vec<Output>,
}

/// An image model reachable by InvokeModel.
pub trait ImageModel: Send + Sync {
    /// Sends `body` (the request JSON) to `model_id` and returns the response body.
    fn invoke(
        &self,
        model_id: &str,
        body: Vec<u8>,
    ) -> impl Future<Output = Result<Vec<u8>, PipelineError>> + Send;
}

impl ImageModel for aws_sdk_bedrockruntime::Client {
    async fn invoke(&self, model_id: &str, body: Vec<u8>) -> Result<Vec<u8>, PipelineError> {
        let out = self
            .invoke_model()
            .model_id(model_id)
            .content_type("application/json")
            .accept("application/json")
            .body(aws_sdk_bedrockruntime::primitives::Blob::new(body))
            .send()
            .await
            .map_err(|e| PipelineError::from_sdk(format!("invoking {model_id}"), &e))?;
        Ok(out.body.into_inner())
    }
}

/// The model's answer.
#[derive(Debug, Deserialize)]
struct ModelResponse {
    #[serde(default)]
    images: Vec<String>,
    #[serde(default)]
    error: Option<String>,
}

/// `<prefix><jobId>/<image key without extension>/<index>.png`.
pub fn output_key(prefix: &str, job_id: &str, image_key: &str, index: usize) -> String {
    let key = image_key.trim_start_matches('/');
    let stem = match key.rsplit_once('.') {
        Some((stem, ext)) if !ext.contains('/') && !stem.is_empty() && !stem.ends_with('/') => stem,
        _ => key,
    };
    format!("{prefix}{job_id}/{stem}/{index}.png")
}

/// The handler.
pub struct Generator<S, M> {
    store: S,
    model: M,
    config: Config,
}

impl<S: ObjectStore, M: ImageModel> Generator<S, M> {
    pub fn new(store: S, model: M, config: Config) -> Self {
        Self {
            store,
            model,
            config,
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Handles one Distributed Map item, recording metrics.
    pub async fn handle(&self, event: Value) -> Result<Generated, PipelineError> {
        let mut metrics = Metrics::from_env();
        let result = self.generate(event, &mut metrics).await;
        match &result {
            Ok(g) => {
                metrics.add("ImagesGenerated", Unit::Count, g.outputs.len() as f64);
            }
            Err(_) => {
                metrics.count("GenerationFailed");
            }
        }
        metrics.flush();
        result
    }

    async fn generate(
        &self,
        event: Value,
        metrics: &mut Metrics,
    ) -> Result<Generated, PipelineError> {
        let event = Event::parse(event)?;
        let job_id = event.job.job_id.as_str();
        let image_key = event.image.key.as_str();
        let model_id = event
            .job
            .model
            .as_deref()
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .unwrap_or(&self.config.model_id)
            .to_owned();
        let model = Model::from_id(&model_id)
            .map_err(|e| PipelineError::invalid_input(format!("job.{}", e.message)))?;

        let source = self
            .store
            .get(&self.config.upload_bucket, image_key)
            .await?;
        let built = build_request(model, &source, &event.outpainting_job()).map_err(|e| {
            e.context(format!(
                "image {}",
                s3_uri(&self.config.upload_bucket, image_key)
            ))
        })?;
        drop(source);
        let (width, height) = (built.transform.width, built.transform.height);
        let body = built.to_json().into_bytes();
        drop(built);
        tracing::info!(
            job_id,
            image_key,
            model = %model_id,
            width,
            height,
            request_bytes = body.len(),
            "invoking model"
        );

        let started = Instant::now();
        let answer = self.model.invoke(&model_id, body).await;
        metrics.add(
            "BedrockLatency",
            Unit::Milliseconds,
            started.elapsed().as_secs_f64() * 1000.0,
        );
        let answer = answer.map_err(|e| e.context(format!("image {image_key}")))?;
        let images = parse_response(&answer, &model_id)?;
        drop(answer);

        let mut outputs = Vec::with_capacity(images.len());
        for (index, png) in images.into_iter().enumerate() {
            let key = output_key(&self.config.output_prefix, job_id, image_key, index);
            let size = png.len();
            self.store
                .put(
                    &self.config.output_bucket,
                    &key,
                    Bytes::from(png),
                    "image/png",
                )
                .await?;
            tracing::info!(job_id, image_key, output_key = %key, bytes = size, "saved image");
            outputs.push(Output {
                bucket: self.config.output_bucket.clone(),
                key,
            });
        }
        Ok(Generated {
            job_id: job_id.to_owned(),
            image_key: image_key.to_owned(),
            model: model_id,
            width,
            height,
            outputs,
        })
    }
}

/// Reads the model's answer: fails on `error`, decodes every image as PNG (JPEG re-encoded).
fn parse_response(body: &[u8], model_id: &str) -> Result<Vec<Vec<u8>>, PipelineError> {
    let response: ModelResponse = serde_json::from_slice(body)
        .map_err(|e| PipelineError::retryable(format!("{model_id}: unreadable response: {e}")))?;
    if let Some(err) = response.error.filter(|e| !e.trim().is_empty()) {
        return Err(PipelineError::invalid_input(format!(
            "{model_id} returned an error: {err}"
        )));
    }
    if response.images.is_empty() {
        return Err(PipelineError::invalid_input(format!(
            "{model_id} returned no images"
        )));
    }
    let b64 = base64::engine::general_purpose::STANDARD;
    response
        .images
        .iter()
        .enumerate()
        .map(|(i, data)| {
            let bytes = b64.decode(data.trim()).map_err(|e| {
                PipelineError::retryable(format!("{model_id}: images[{i}] is not base64: {e}"))
            })?;
            let format = sniff_format(&bytes).map_err(|e| {
                PipelineError::retryable(format!("{model_id}: images[{i}]: {}", e.message))
            })?;
            match format {
                ImageFormat::Png => Ok(bytes),
                ImageFormat::Jpeg => {
                    let img = decode(&bytes, format).map_err(|e| {
                        PipelineError::retryable(format!("{model_id}: images[{i}]: {}", e.message))
                    })?;
                    encode_png(&img)
                }
            }
        })
        .collect()
}

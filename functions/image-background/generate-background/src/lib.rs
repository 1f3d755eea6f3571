//! `generate-background`: the per-image task of the image background Distributed Map.
//!
//! For one image of a job:
//! 1. reads it from `UPLOAD_BUCKET` (a missing key is `InvalidInput` "not found");
//! 2. works out the mask: `maskBoxes` as given; `labels` resolved to instance boxes with
//!    Rekognition DetectLabels for Stability (a `maskPrompt` for the legacy models); no mask
//!    (or `"mask": "subject"`) keeps the main subject, found by Stable Image Remove Background;
//! 3. builds the request with [`image_background_core::prepare`] (the image as displayed, fitted to what
//!    the model accepts: a 48 MP photo is scaled down, not refused);
//! 4. invokes the model through [`ImageModel`] (Bedrock Runtime InvokeModel; the SDK retries
//!    throttling with exponential backoff): one call for the legacy models, one call per image
//!    for Stability (`numberOfImages` N = N calls with consecutive seeds);
//! 5. brings every image back to the source's size and aspect (the model's frame and padding
//!    bands dropped) and saves it as PNG at `<GENERATED_PREFIX><jobId>/<image key>/<index>.png`
//!    in `GENERATED_BUCKET` ([`image_background_core::keys::output_key`]). Keys depend only on
//!    the event (and keep the source's extension, so `a.png` and `a.jpg` of one job never
//!    collide), so a retried task overwrites its outputs.
//!
//! The returned payload names the outputs only (state payloads are capped at 256 KiB): image
//! bytes never travel through Step Functions. A Titan/Nova `error` or a Stability content-filter
//! finish reason fails the image with `InvalidInput` and the reason; nothing is saved.
//!
//! Errors carry the Lambda `errorType` the state machine's Retry/Catch match on: `Retryable`
//! (throttling still failing after the SDK's retries, 5xx, time-outs, Stability "Inference
//! error"), `InvalidInput` (bad event, missing or unusable image, request the model rejects,
//! filtered content), `Misconfigured` (access denied, unknown bucket).
//!
//! Here: the handler and its ports ([`ImageModel`], [`LabelFinder`]); the settings in
//! [`config`], the SDK adapters in [`aws`]; the pure work in [`image_background_core`].

use std::future::Future;
use std::time::Instant;

use bytes::Bytes;
pub use image_background_core::keys::output_key;
pub use image_background_core::DEFAULT_MODEL_ID;
use image_background_core::{
    boxes_for_labels, encode_png, parse_response, prepare, remove_background_body, restore,
    DetectedLabel, Family, Mask, Model,
};
/// The event: one image of a job (the type lives in `image_background_core` because `start-image-job`
/// writes it).
pub use image_background_core::{
    ImageItem, ImageTask as Event, Job, JobId, MaskBox, MAX_JOB_ID_CHARS,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shared::metrics::{Metrics, Unit};
use shared::store::{s3_uri, ObjectStore};
use shared::PipelineError;
use tracing::Instrument as _;

pub mod aws;
pub mod config;

pub use aws::{DETECT_MAX_LABELS, DETECT_MIN_CONFIDENCE};
pub use config::{Config, DEFAULT_MAX_ATTEMPTS};

#[cfg(test)]
mod tests;

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
    /// The saved images' size: the source's, as displayed.
    pub width: u32,
    pub height: u32,
    /// The size sent to the model.
    pub request_width: u32,
    pub request_height: u32,
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

/// Finds labels with their instance boxes in an image of a bucket.
pub trait LabelFinder: Send + Sync {
    fn labels(
        &self,
        bucket: &str,
        key: &str,
    ) -> impl Future<Output = Result<Vec<DetectedLabel>, PipelineError>> + Send;
}

/// The handler.
pub struct Generator<S, M, L> {
    store: S,
    model: M,
    labels: L,
    config: Config,
}

impl<S: ObjectStore, M: ImageModel, L: LabelFinder> Generator<S, M, L> {
    pub fn new(store: S, model: M, labels: L, config: Config) -> Self {
        Self {
            store,
            model,
            labels,
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

    /// Invokes a model, recording its latency.
    async fn call(
        &self,
        model_id: &str,
        body: String,
        metrics: &mut Metrics,
    ) -> Result<Vec<u8>, PipelineError> {
        let started = Instant::now();
        let answer = self.model.invoke(model_id, body.into_bytes()).await;
        metrics.add(
            "BedrockLatency",
            Unit::Milliseconds,
            started.elapsed().as_secs_f64() * 1000.0,
        );
        answer
    }

    async fn generate(
        &self,
        event: Value,
        metrics: &mut Metrics,
    ) -> Result<Generated, PipelineError> {
        let event = Event::parse(event)?;
        let span = tracing::info_span!(
            "image",
            job_id = %event.job.job_id,
            image_key = %event.image.key
        );
        self.generate_image(event, metrics).instrument(span).await
    }

    /// One valid task, inside its span.
    async fn generate_image(
        &self,
        event: Event,
        metrics: &mut Metrics,
    ) -> Result<Generated, PipelineError> {
        let job_id = event.job.job_id.as_str();
        let image_key = event.image.key.as_str();
        let model = self.config.model;
        let model_id = self.config.model_id.as_str();
        if let Some(asked) = event
            .job
            .model
            .as_deref()
            .map(str::trim)
            .filter(|m| !m.is_empty())
        {
            let asked_model = Model::from_id(asked)
                .map_err(|e| PipelineError::invalid_input(format!("job.{}", e.message)))?;
            if asked_model != model {
                return Err(PipelineError::invalid_input(format!(
                    "job.model: {asked:?} is not the deployed model {model_id} (the stack may invoke only that one; redeploy with ImageModelId to change it)"
                )));
            }
        }
        let source_uri = s3_uri(&self.config.upload_bucket, image_key);
        let in_image = |e: PipelineError| e.context(format!("image {source_uri}"));

        let source = self
            .store
            .get(&self.config.upload_bucket, image_key)
            .await?;
        let mut job = event.edit_job();
        if let (Mask::Labels(wanted), Family::Stability) = (&job.mask, model.family()) {
            let detected = self
                .labels
                .labels(&self.config.upload_bucket, image_key)
                .await?;
            let boxes = boxes_for_labels("image.labels", wanted, &detected).map_err(in_image)?;
            tracing::info!(boxes = boxes.len(), "labels resolved to boxes");
            job.mask = Mask::Boxes(boxes);
        }
        let prepared = prepare(model, &source, &job).map_err(in_image)?;
        drop(source);
        let subject = if job.mask == Mask::Subject {
            let removal_id = self.config.remove_background_model_id();
            let body = remove_background_body(&prepared);
            let answer = self
                .call(&removal_id, body, metrics)
                .await
                .map_err(|e| e.context(format!("image {image_key}")))?;
            let mut images = parse_response(Family::Stability, &removal_id, &answer)?;
            Some(images.swap_remove(0))
        } else {
            None
        };
        let built = prepared
            .finish(&job, subject.as_deref())
            .map_err(in_image)?;
        drop(subject);
        let t = built.transform;
        tracing::info!(
            model = %model_id,
            width = t.width,
            height = t.height,
            calls = built.calls(),
            "invoking model"
        );

        let mut outputs = Vec::new();
        for call in 0..built.calls() {
            let answer = self
                .call(model_id, built.body(call), metrics)
                .await
                .map_err(|e| e.context(format!("image {image_key}")))?;
            let images = parse_response(model.family(), model_id, &answer)?;
            drop(answer);
            for generated in images {
                let restored = restore(&generated, &t).map_err(|e| {
                    PipelineError::retryable(format!("{model_id}: unreadable image: {}", e.message))
                })?;
                drop(generated);
                let png = encode_png(&restored)?;
                drop(restored);
                let key = output_key(&self.config.output_prefix, job_id, image_key, outputs.len());
                let size = png.len();
                self.store
                    .put(
                        &self.config.output_bucket,
                        &key,
                        Bytes::from(png),
                        "image/png",
                    )
                    .await?;
                tracing::info!(output_key = %key, bytes = size, "saved image");
                outputs.push(Output {
                    bucket: self.config.output_bucket.clone(),
                    key,
                });
            }
        }
        Ok(Generated {
            job_id: job_id.to_owned(),
            image_key: image_key.to_owned(),
            model: model_id.to_owned(),
            width: t.source_width,
            height: t.source_height,
            request_width: t.width,
            request_height: t.height,
            outputs,
        })
    }
}

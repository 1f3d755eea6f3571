//! The per-image task of an image job: what `start-image-job` writes into the Distributed Map's
//! items file and `generate-background` receives, one `{"job": {...}, "image": {...}}` each.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{BoundingBox, GenerationOptions, Mask, OutPaintingMode, OutpaintingJob, Quality};
use crate::PipelineError;

/// The longest job id (letters, digits, `-` and `_`).
pub const MAX_JOB_ID_CHARS: usize = 80;

/// The Distributed Map item: the job's settings and one image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImageTask {
    pub job: Job,
    pub image: ImageItem,
}

/// The job's generation settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Job {
    pub job_id: String,
    pub prompt: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub negative_prompt: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<OutPaintingMode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number_of_images: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality: Option<Quality>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cfg_scale: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
}

/// One image of the job and what to keep of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImageItem {
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mask_boxes: Option<Vec<MaskBox>>,
}

/// A box to keep, as fractions of the image (Rekognition's `BoundingBox`, lower-case keys).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaskBox {
    pub left: f64,
    pub top: f64,
    pub width: f64,
    pub height: f64,
}

impl ImageTask {
    /// Parses and validates an event; errors name the field (`job.prompt`, `image.labels`).
    pub fn parse(value: Value) -> Result<Self, PipelineError> {
        let event: ImageTask = serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            if path == "." || path.is_empty() {
                PipelineError::invalid_input(format!("event: {inner}"))
            } else {
                PipelineError::invalid_input(format!("{path}: {inner}"))
            }
        })?;
        event.validate()?;
        Ok(event)
    }

    fn validate(&self) -> Result<(), PipelineError> {
        let id = &self.job.job_id;
        if id.is_empty() || id.chars().count() > MAX_JOB_ID_CHARS {
            return Err(PipelineError::invalid_input(format!(
                "job.jobId: {} characters, must be 1 to {MAX_JOB_ID_CHARS}",
                id.chars().count()
            )));
        }
        if !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(PipelineError::invalid_input(
                "job.jobId: only letters, digits, '-' and '_' are allowed",
            ));
        }
        if self.job.prompt.trim().is_empty() {
            return Err(PipelineError::invalid_input(
                "job.prompt: empty, a prompt is required",
            ));
        }
        let key = &self.image.key;
        if key.trim().is_empty() || key.ends_with('/') {
            return Err(PipelineError::invalid_input(
                "image.key: an object key (not empty, not a folder) is required",
            ));
        }
        match (&self.image.labels, &self.image.mask_boxes) {
            (Some(_), Some(_)) => Err(PipelineError::invalid_input(
                "image.labels, image.maskBoxes: both given, exactly one is allowed",
            )),
            (None, None) => Err(PipelineError::invalid_input(
                "image.labels, image.maskBoxes: neither given, exactly one is required",
            )),
            (Some(labels), None) if labels.iter().all(|l| l.trim().is_empty()) => {
                Err(PipelineError::invalid_input(
                    "image.labels: empty, at least one label to keep is required",
                ))
            }
            (None, Some(boxes)) => {
                if boxes.is_empty() {
                    return Err(PipelineError::invalid_input(
                        "image.maskBoxes: empty, at least one box to keep is required",
                    ));
                }
                for (i, b) in boxes.iter().enumerate() {
                    bounding_box(b)
                        .validate(&format!("image.maskBoxes[{i}]"))
                        .map_err(|e| PipelineError::invalid_input(e.message))?;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// The request builder's job description.
    pub fn outpainting_job(&self) -> OutpaintingJob {
        let defaults = GenerationOptions::default();
        let j = &self.job;
        let mask = match (&self.image.labels, &self.image.mask_boxes) {
            (_, Some(boxes)) => Mask::Boxes(boxes.iter().map(bounding_box).collect()),
            (Some(labels), None) => Mask::Labels(labels.clone()),
            (None, None) => Mask::Labels(Vec::new()),
        };
        OutpaintingJob {
            prompt: j.prompt.clone(),
            negative: j.negative_prompt.clone(),
            mask,
            mode: j.mode.unwrap_or_default(),
            options: GenerationOptions {
                number_of_images: j.number_of_images.unwrap_or(defaults.number_of_images),
                quality: j.quality.unwrap_or(defaults.quality),
                cfg_scale: j.cfg_scale.unwrap_or(defaults.cfg_scale),
                seed: j.seed.unwrap_or(defaults.seed),
            },
        }
    }
}

fn bounding_box(b: &MaskBox) -> BoundingBox {
    BoundingBox {
        left: b.left,
        top: b.top,
        width: b.width,
        height: b.height,
    }
}

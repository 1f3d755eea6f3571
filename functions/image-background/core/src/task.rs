//! The per-image task of an image job: what `start-image-job` writes into the Distributed Map's
//! items file and `generate-background` receives, one `{"job": {...}, "image": {...}}` each.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::job_id::JobId;
use super::{BoundingBox, EditJob, GenerationOptions, Mask, OutPaintingMode, Quality};
use shared_core::PipelineError;

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
    /// Validated when deserialised (`job.jobId: ...`).
    pub job_id: JobId,
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
    /// Stability only: `grow_mask`, 0-20 px.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grow_mask: Option<u32>,
    /// Stability only: `style_preset`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub style_preset: Option<String>,
}

/// One image of the job and what to keep of it: at most one of `labels`, `maskBoxes` and
/// `mask` ("subject"); none means "subject" (the main subject, found by Stable Image Remove
/// Background), which the legacy models do not offer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImageItem {
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mask_boxes: Option<Vec<MaskBox>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mask: Option<MaskSource>,
}

/// `image.mask`: a mask the pipeline finds itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MaskSource {
    /// Keep the main subject (Stable Image Remove Background's alpha).
    Subject,
}

impl ImageItem {
    /// Problems with the mask fields, each naming the field (`prefix` is `image` or
    /// `images[3]`).
    pub fn mask_errors(&self, prefix: &str) -> Vec<String> {
        let mut errors = Vec::new();
        let given = [
            self.labels.is_some(),
            self.mask_boxes.is_some(),
            self.mask.is_some(),
        ]
        .iter()
        .filter(|g| **g)
        .count();
        if given > 1 {
            errors.push(format!(
                "{prefix}.labels, {prefix}.maskBoxes, {prefix}.mask: {given} given, at most one is allowed"
            ));
            return errors;
        }
        if let Some(labels) = &self.labels {
            if labels.iter().all(|l| l.trim().is_empty()) {
                errors.push(format!(
                    "{prefix}.labels: empty, at least one label to keep is required"
                ));
            }
        }
        if let Some(boxes) = &self.mask_boxes {
            if boxes.is_empty() {
                errors.push(format!(
                    "{prefix}.maskBoxes: empty, at least one box to keep is required"
                ));
            }
            for (i, b) in boxes.iter().enumerate() {
                if let Err(e) = bounding_box(b).validate(&format!("{prefix}.maskBoxes[{i}]")) {
                    errors.push(e.message);
                }
            }
        }
        errors
    }

    /// The mask to build.
    pub fn mask(&self) -> Mask {
        match (&self.labels, &self.mask_boxes) {
            (_, Some(boxes)) => Mask::Boxes(boxes.iter().map(bounding_box).collect()),
            (Some(labels), None) => Mask::Labels(labels.clone()),
            (None, None) => Mask::Subject,
        }
    }
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
    /// Parses and validates an event; errors name the field (`job.jobId`, `job.prompt`,
    /// `image.labels`).
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

    /// What serde cannot check (the job id was checked when deserialised).
    fn validate(&self) -> Result<(), PipelineError> {
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
        match self.image.mask_errors("image").into_iter().next() {
            Some(e) => Err(PipelineError::invalid_input(e)),
            None => Ok(()),
        }
    }

    /// The request builder's job description; unset options take the model's defaults.
    pub fn edit_job(&self) -> EditJob {
        let j = &self.job;
        EditJob {
            prompt: j.prompt.clone(),
            negative: j.negative_prompt.clone(),
            mask: self.image.mask(),
            mode: j.mode.unwrap_or_default(),
            options: GenerationOptions {
                number_of_images: j.number_of_images.unwrap_or(1),
                quality: j.quality,
                cfg_scale: j.cfg_scale,
                seed: j.seed.unwrap_or(0),
                grow_mask: j.grow_mask,
                style_preset: j.style_preset.clone(),
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_job_id_is_checked_once_when_the_task_is_read() {
        let task = |id: Value| {
            ImageTask::parse(
                json!({"job": {"jobId": id, "prompt": "p"}, "image": {"key": "k.png"}}),
            )
        };
        let t = task(json!("job-1")).unwrap();
        assert_eq!(t.job.job_id, "job-1");
        assert_eq!(t.image.mask(), Mask::Subject);
        assert_eq!(
            task(json!("x".repeat(81))).unwrap_err().message,
            "job.jobId: 81 characters, must be 1 to 80"
        );
        assert_eq!(
            task(json!("job/../1")).unwrap_err().message,
            "job.jobId: only letters, digits, '-' and '_' are allowed"
        );
        assert!(task(json!(7))
            .unwrap_err()
            .message
            .starts_with("job.jobId: invalid type"));
    }
}

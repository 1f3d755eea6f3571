//! The job manifest (`jobs/<jobId>.json`) and its validation against the deployed model: every
//! problem found, each naming its field (`prompt`, `images[3].labels`) and the limit; a valid
//! manifest becomes the Distributed Map's items, one [`ImageTask`](crate::ImageTask) per image.
//!
//! ```json
//! {"prompt": "a beach at sunset", "negativePrompt": "people", "numberOfImages": 2, "seed": 42,
//!  "images": [{"key": "uploads/a.png"},
//!             {"key": "uploads/b.png", "labels": ["Bottle"]},
//!             {"key": "uploads/c.png", "maskBoxes": [{"left": 0.1, "top": 0.1, "width": 0.5, "height": 0.5}]}]}
//! ```

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::job_id::JobId;
use super::model::Family;
use super::request::{GenerationOptions, OutPaintingMode, Quality};
use super::task::{ImageItem, Job};
use super::{Mask, Model, DEFAULT_MODEL_ID};

#[cfg(test)]
mod tests;

/// At most this many problems are listed in a reason file.
pub const MAX_REPORTED_ERRORS: usize = 100;

/// The uploaded job manifest. `prompt` and `images` are optional here so that their absence
/// is reported like every other field problem.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Manifest {
    #[serde(default)]
    pub prompt: Option<String>,
    #[serde(default)]
    pub negative_prompt: Option<String>,
    #[serde(default)]
    pub mode: Option<OutPaintingMode>,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub number_of_images: Option<u32>,
    #[serde(default)]
    pub quality: Option<Quality>,
    #[serde(default)]
    pub cfg_scale: Option<f64>,
    #[serde(default)]
    pub seed: Option<u64>,
    #[serde(default)]
    pub grow_mask: Option<u32>,
    #[serde(default)]
    pub style_preset: Option<String>,
    #[serde(default)]
    pub images: Option<Vec<ImageItem>>,
}

/// One Distributed Map item: the event `generate-background` takes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Item<'a> {
    pub job: &'a Job,
    pub image: &'a ImageItem,
}

/// A manifest that passed validation.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidJob {
    pub job: Job,
    pub images: Vec<ImageItem>,
}

impl ValidJob {
    /// The items file: a JSON array of `{"job", "image"}` events.
    pub fn items_json(&self) -> Vec<u8> {
        let items: Vec<Item<'_>> = self
            .images
            .iter()
            .map(|image| Item {
                job: &self.job,
                image,
            })
            .collect();
        serde_json::to_vec(&items).expect("items serialise")
    }
}

/// Parses and validates a manifest against the deployed `model` and at most `max_images`
/// images; on failure returns every problem found, each naming its field (`prompt`,
/// `images[3].labels`) and the limit. `job_id` is the id read from the manifest's key, or why
/// it is not one (listed with the other problems).
pub fn validate(
    job_id: Result<JobId, String>,
    body: &[u8],
    model: Model,
    max_images: usize,
) -> Result<ValidJob, Vec<String>> {
    let mut errors = Vec::new();
    let job_id = job_id.map_err(|e| errors.push(e)).ok();
    // A BOM (Windows editors) is not JSON, but not a reason to refuse the manifest either.
    let body = body.strip_prefix("\u{feff}".as_bytes()).unwrap_or(body);
    let value: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            errors.push(format!("manifest: not JSON: {e}"));
            return Err(errors);
        }
    };
    let manifest: Manifest = match serde_path_to_error::deserialize(value) {
        Ok(m) => m,
        Err(e) => {
            let path = e.path().to_string();
            let inner = e.into_inner();
            // A member name the manifest does not know is quoted when it is not a plain
            // name, so the message still starts with the field (`": ": unknown field ...`).
            let plain = path
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '[' | ']'));
            errors.push(if path == "." || path.is_empty() {
                format!("manifest: {inner}")
            } else if plain {
                format!("{path}: {inner}")
            } else {
                format!("{path:?}: {inner}")
            });
            return Err(errors);
        }
    };

    if let Some(id) = manifest.model.as_deref() {
        match Model::from_id(id) {
            Ok(m) if m == model => {}
            Ok(_) => errors.push(format!(
                "model: {id:?} is not the deployed model {} (the stack may invoke only that one; leave model out or redeploy with ImageModelId)",
                model.id()
            )),
            Err(e) => errors.push(e.message),
        }
    }
    let limits = model.limits();
    let max_prompt = limits.max_text_chars;
    match manifest.prompt.as_deref() {
        None => errors.push(format!(
            "prompt: missing, a prompt of 1 to {max_prompt} characters is required"
        )),
        Some(p) if p.trim().is_empty() => errors.push(format!(
            "prompt: empty, must be 1 to {max_prompt} characters"
        )),
        Some(p) if p.chars().count() > max_prompt => errors.push(format!(
            "prompt: {} characters, must be 1 to {max_prompt} for {}",
            p.chars().count(),
            model.id()
        )),
        Some(_) => {}
    }
    if let Some(n) = &manifest.negative_prompt {
        let max = limits.max_negative_chars;
        if n.chars().count() > max {
            errors.push(format!(
                "negativePrompt: {} characters, must be at most {max} for {}",
                n.chars().count(),
                model.id()
            ));
        }
    }
    if manifest.mode.is_some() && !model.is_legacy() {
        errors.push(format!(
            "mode: not used by {} (only by the legacy OUTPAINTING models); remove it",
            model.id()
        ));
    }
    let options = GenerationOptions {
        number_of_images: manifest.number_of_images.unwrap_or(1),
        quality: manifest.quality,
        cfg_scale: manifest.cfg_scale,
        seed: manifest.seed.unwrap_or(0),
        grow_mask: manifest.grow_mask,
        style_preset: manifest.style_preset.clone(),
    };
    if let Err(e) = options.validate(model) {
        errors.push(e.message);
    }

    let images = manifest.images.unwrap_or_default();
    if images.is_empty() || images.len() > max_images {
        errors.push(format!(
            "images: {} given, must be 1 to {max_images}",
            images.len()
        ));
    }
    let mut seen = HashSet::with_capacity(images.len());
    for (i, image) in images.iter().enumerate() {
        image_errors(i, image, model, &mut seen, &mut errors);
        if errors.len() > MAX_REPORTED_ERRORS {
            break;
        }
    }

    let job_id = match job_id {
        Some(id) if errors.is_empty() => id,
        _ => {
            if errors.len() > MAX_REPORTED_ERRORS {
                errors.truncate(MAX_REPORTED_ERRORS);
                errors.push(format!(
                    "(more problems not listed after {MAX_REPORTED_ERRORS})"
                ));
            }
            return Err(errors);
        }
    };
    Ok(ValidJob {
        job: Job {
            job_id,
            prompt: manifest.prompt.unwrap_or_default(),
            negative_prompt: manifest.negative_prompt,
            mode: manifest.mode,
            model: manifest.model,
            number_of_images: manifest.number_of_images,
            quality: manifest.quality,
            cfg_scale: manifest.cfg_scale,
            seed: manifest.seed,
            grow_mask: manifest.grow_mask,
            style_preset: manifest.style_preset,
        },
        images,
    })
}

fn image_errors<'a>(
    i: usize,
    image: &'a ImageItem,
    model: Model,
    seen: &mut HashSet<&'a str>,
    errors: &mut Vec<String>,
) {
    let key = &image.key;
    if key.trim().is_empty() || key.ends_with('/') {
        errors.push(format!(
            "images[{i}].key: an object key (not empty, not a folder) is required"
        ));
    } else if !seen.insert(key.as_str()) {
        errors.push(format!(
            "images[{i}].key: {key:?} appears more than once, keys must be unique"
        ));
    }
    let mask_errors = image.mask_errors(&format!("images[{i}]"));
    if mask_errors.is_empty() && image.mask() == Mask::Subject && model.is_legacy() {
        errors.push(format!(
            "images[{i}]: no labels or maskBoxes; keeping the main subject needs Stable Image Remove Background, which comes with {DEFAULT_MODEL_ID}, not the deployed {}",
            model.id()
        ));
    }
    // The labels become the model's maskPrompt (Titan, Nova Canvas): its length limit is
    // checked here, as generate-background checks it, so no image fails later for it.
    if let (true, Mask::Labels(labels), Family::Outpainting) =
        (mask_errors.is_empty(), image.mask(), model.family())
    {
        if let Err(e) = crate::mask::mask_prompt(&labels, model) {
            errors.push(format!("images[{i}].labels: joined into the {}", e.message));
        }
    }
    errors.extend(mask_errors);
}

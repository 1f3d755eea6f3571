//! The request JSON of each model family, and building it from image bytes.
//!
//! Two steps, so that a mask that needs a model call of its own (Stable Image Remove
//! Background) fits in between: [`prepare`] checks every field, decodes the image as displayed
//! and fits it to the model; [`Prepared::finish`] draws the mask and writes the body.
//! [`build_request`] does both when the mask needs nothing more.

use serde::{Deserialize, Serialize};

use super::fit::Transform;
use super::input::ImageFormat;
use super::mask::Mask;
use super::{Family, Model};
use shared_core::PipelineError;

mod build;

pub use build::{
    build_request, encode_png, encode_png_gray, prepare, remove_background_body, Prepared,
};

#[cfg(test)]
mod tests;

/// `imageGenerationConfig.quality` (legacy models).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Quality {
    #[default]
    Standard,
    Premium,
}

/// `outPaintingParams.outPaintingMode` (legacy models).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum OutPaintingMode {
    /// Blends the kept area with the new background.
    #[default]
    Default,
    /// Keeps the masked area exactly.
    Precise,
}

/// Stable Image services' `style_preset` values (Stability API reference).
pub const STYLE_PRESETS: &[&str] = &[
    "3d-model",
    "analog-film",
    "anime",
    "cinematic",
    "comic-book",
    "digital-art",
    "enhance",
    "fantasy-art",
    "isometric",
    "line-art",
    "low-poly",
    "modeling-compound",
    "neon-punk",
    "origami",
    "photographic",
    "pixel-art",
    "tile-texture",
];

/// Legacy `cfgScale` range (Titan and Nova Canvas).
pub const CFG_SCALE_RANGE: (f64, f64) = (1.1, 10.0);
/// Stability `grow_mask` range, in pixels.
pub const MAX_GROW_MASK: u32 = 20;

/// What the caller chooses beyond the prompt and the mask. `None` takes the model's default;
/// a field the model does not take is refused, never silently dropped.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GenerationOptions {
    /// Images per job image: one call for the legacy models, that many calls for Stability.
    pub number_of_images: u32,
    /// Legacy only.
    pub quality: Option<Quality>,
    /// Legacy only; default [`Model::default_cfg_scale`].
    pub cfg_scale: Option<f64>,
    /// 0: Titan/Nova use 0, Stability picks a random seed.
    pub seed: u64,
    /// Stability only: pixels the repainted area grows into the kept one, blurred.
    pub grow_mask: Option<u32>,
    /// Stability only: one of [`STYLE_PRESETS`].
    pub style_preset: Option<String>,
}

impl GenerationOptions {
    /// One image, every other field the model's default.
    pub fn one() -> Self {
        Self {
            number_of_images: 1,
            ..Self::default()
        }
    }

    /// Checks every field against the model; messages name the manifest field.
    pub fn validate(&self, model: Model) -> Result<(), PipelineError> {
        let l = model.limits();
        let max_images = u32::from(l.max_images);
        if !(1..=max_images).contains(&self.number_of_images) {
            return Err(PipelineError::invalid_input(format!(
                "numberOfImages: {}, must be 1 to {max_images}",
                self.number_of_images
            )));
        }
        if self.seed > u64::from(l.max_seed) {
            return Err(PipelineError::invalid_input(format!(
                "seed: {}, must be 0 to {} for {}",
                self.seed,
                l.max_seed,
                model.id()
            )));
        }
        let not_used = |field: &str, by: &str| {
            PipelineError::invalid_input(format!(
                "{field}: not used by {} (only by {by}); remove it",
                model.id()
            ))
        };
        match model.family() {
            Family::Stability => {
                if self.quality.is_some() {
                    return Err(not_used(
                        "quality",
                        "the legacy Titan and Nova Canvas models",
                    ));
                }
                if self.cfg_scale.is_some() {
                    return Err(not_used(
                        "cfgScale",
                        "the legacy Titan and Nova Canvas models",
                    ));
                }
                if let Some(g) = self.grow_mask {
                    if g > MAX_GROW_MASK {
                        return Err(PipelineError::invalid_input(format!(
                            "growMask: {g}, must be 0 to {MAX_GROW_MASK}"
                        )));
                    }
                }
                if let Some(p) = &self.style_preset {
                    if !STYLE_PRESETS.contains(&p.as_str()) {
                        return Err(PipelineError::invalid_input(format!(
                            "stylePreset: {p:?} is not one of {}",
                            STYLE_PRESETS.join(", ")
                        )));
                    }
                }
            }
            Family::Outpainting => {
                if self.grow_mask.is_some() {
                    return Err(not_used("growMask", DEFAULT_STABILITY));
                }
                if self.style_preset.is_some() {
                    return Err(not_used("stylePreset", DEFAULT_STABILITY));
                }
                if let Some(c) = self.cfg_scale {
                    let (lo, hi) = CFG_SCALE_RANGE;
                    if !c.is_finite() || !(lo..=hi).contains(&c) {
                        return Err(PipelineError::invalid_input(format!(
                            "cfgScale: {c}, must be {lo} to {hi}"
                        )));
                    }
                }
            }
        }
        Ok(())
    }
}

const DEFAULT_STABILITY: &str = "stability.stable-image-inpaint-v1:0";

/// `imageGenerationConfig`, keys in the order of the reference fixture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageGenerationConfig {
    pub number_of_images: u32,
    pub quality: Quality,
    pub height: u32,
    pub width: u32,
    pub cfg_scale: f64,
    pub seed: u64,
}

/// `outPaintingParams`: exactly one of `maskPrompt` / `maskImage`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutPaintingParams {
    /// Base64 PNG of the fitted image.
    pub image: String,
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub negative_text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub mask_prompt: Option<String>,
    /// Base64 PNG, same size as `image`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub mask_image: Option<String>,
    pub out_painting_mode: OutPaintingMode,
}

/// The legacy InvokeModel body (Titan, Nova Canvas).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutpaintingRequest {
    /// Always `OUTPAINTING`.
    pub task_type: String,
    pub out_painting_params: OutPaintingParams,
    pub image_generation_config: ImageGenerationConfig,
}

/// The Stable Image Inpaint InvokeModel body: flat, snake_case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InpaintRequest {
    /// Base64 PNG of the fitted image.
    pub image: String,
    pub prompt: String,
    /// Base64 grayscale PNG, same size as `image`: white repaints, black keeps.
    pub mask: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub negative_prompt: Option<String>,
    pub seed: u64,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub grow_mask: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub style_preset: Option<String>,
    /// Always `png`: lossless, and the result is returned as PNG.
    pub output_format: String,
}

/// The body of either family.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelRequest {
    Outpainting(OutpaintingRequest),
    Inpaint(InpaintRequest),
}

/// What to ask for, apart from the image.
#[derive(Debug, Clone, PartialEq)]
pub struct EditJob {
    pub prompt: String,
    /// Empty or blank means none (the field is omitted).
    pub negative: Option<String>,
    pub mask: Mask,
    /// Legacy only.
    pub mode: OutPaintingMode,
    pub options: GenerationOptions,
}

/// A request and what was done to the image.
#[derive(Debug, Clone)]
pub struct BuiltRequest {
    pub model: Model,
    pub request: ModelRequest,
    pub source_format: ImageFormat,
    pub transform: Transform,
    /// Images asked for (calls for Stability, `numberOfImages` for the legacy models).
    pub number_of_images: u32,
}

impl BuiltRequest {
    /// InvokeModel calls to make: one per image for Stability, one in all for the legacy models.
    pub fn calls(&self) -> u32 {
        match self.request {
            ModelRequest::Outpainting(_) => 1,
            ModelRequest::Inpaint(_) => self.number_of_images,
        }
    }

    /// The body of call `index` (0-based): Stability calls differ by seed (`seed + index`,
    /// wrapping within the model's range; seed 0 stays 0, a random seed per call).
    pub fn body(&self, index: u32) -> String {
        match &self.request {
            ModelRequest::Outpainting(r) => serde_json::to_string(r),
            ModelRequest::Inpaint(r) if index == 0 || r.seed == 0 => serde_json::to_string(r),
            ModelRequest::Inpaint(r) => {
                let range = u64::from(self.model.limits().max_seed) + 1;
                let seed = (r.seed + u64::from(index)) % range;
                serde_json::to_string(&InpaintRequest { seed, ..r.clone() })
            }
        }
        .expect("the request serialises")
    }

    /// Length of the base64 fields (image and mask).
    fn base64_len(&self) -> usize {
        match &self.request {
            ModelRequest::Outpainting(r) => {
                let p = &r.out_painting_params;
                p.image.len() + p.mask_image.as_ref().map_or(0, String::len)
            }
            ModelRequest::Inpaint(r) => r.image.len() + r.mask.len(),
        }
    }

    /// The body of the first call.
    pub fn to_json(&self) -> String {
        self.body(0)
    }
}

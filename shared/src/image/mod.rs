//! Bedrock image OUTPAINTING requests (Titan Image Generator G1 v1/v2, Nova Canvas).
//!
//! Pure functions, no network: the request builder Lambda, the `mlpipe images build-request`
//! command and the benchmarks all go through [`build_request`].
//!
//! * [`Model`] and its [`Limits`]: which model id, what it accepts.
//! * [`input`]: PNG/JPEG check by magic bytes, size limit, decoding with allocation limits.
//! * [`fit`]: choosing an accepted resolution and resizing/padding to it, with the
//!   [`Transform`] that maps original-image coordinates onto the fitted image.
//! * [`mask`]: `maskPrompt` from labels, or a `maskImage` drawn from bounding boxes.
//! * [`request`]: the `imageGenerationConfig` and the request JSON.
//!
//! Limits and their sources (Amazon Bedrock user guide, "Amazon Titan Image Generator G1 models"
//! inference parameters, and the Amazon Nova user guide, "Image generation request and response
//! format"):
//!
//! | limit                | Titan G1 v1 / v2                     | Nova Canvas                               |
//! |----------------------|--------------------------------------|-------------------------------------------|
//! | `text`               | 1-512 characters                     | 1-1024 characters                         |
//! | `negativeText`       | 1-512 characters (omitted if none)   | 1-1024 characters                         |
//! | `maskPrompt`         | 1-512 characters (same as `text`)    | 1-1024 characters                         |
//! | width x height       | fixed list ([`TITAN_RESOLUTIONS`])   | sides 320-4096, multiples of 16, aspect 1:4..4:1, <= 4,194,304 px |
//! | `numberOfImages`     | 1-5                                  | 1-5                                       |
//! | `cfgScale`           | 1.1-10.0                             | 1.1-10.0                                  |
//! | `seed`               | 0-2,147,483,646                      | 0-858,993,459                             |
//! | `quality`            | standard, premium                    | standard, premium                         |
//! | `outPaintingMode`    | DEFAULT, PRECISE                     | DEFAULT, PRECISE                          |
//! | input image          | PNG or JPEG, <= 5 MB                 | PNG or JPEG, <= 10 MB (not verified)      |
//!
//! Exactly one of `maskPrompt` / `maskImage` is sent. In `maskImage` black (0) pixels are
//! *inside* the mask, which for OUTPAINTING is the part that is kept; white (255) pixels are
//! outside the mask and are repainted (Titan user guide, `maskImage`: each pixel is 0 or 255,
//! 0 is inside the mask; Nova Canvas uses the same convention). The exact sentence could not be
//! re-read from the stored documentation when this was written: check it against the user
//! guide, and against the emulator, before relying on it.

pub mod fit;
pub mod input;
pub mod mask;
pub mod request;
pub mod task;

pub use fit::{fit, target_size, Fitted, Transform};
pub use input::{check_input, decode, sniff_format, ImageFormat};
pub use mask::{draw_mask, mask_prompt, BoundingBox, Mask, MASK_KEEP, MASK_REPAINT};
pub use request::{
    build_request, encode_png, BuiltRequest, GenerationOptions, ImageGenerationConfig,
    OutPaintingMode, OutPaintingParams, OutpaintingJob, OutpaintingRequest, Quality,
};
pub use task::{ImageItem, ImageTask, Job, MaskBox, MAX_JOB_ID_CHARS};

use crate::PipelineError;

/// Every width x height Titan Image Generator G1 (v1 and v2) accepts, from the Bedrock user
/// guide's table (1:1, 2:3, 3:2, 3:5, 5:3, 7:9, 9:7, 6:11, 11:6, 5:11, 11:5, 9:5, 16:9).
/// The longest side is at most 1408 px.
pub const TITAN_RESOLUTIONS: &[(u32, u32)] = &[
    (1024, 1024),
    (768, 768),
    (512, 512),
    (768, 1152),
    (384, 576),
    (1152, 768),
    (576, 384),
    (768, 1280),
    (384, 640),
    (1280, 768),
    (640, 384),
    (896, 1152),
    (448, 576),
    (1152, 896),
    (576, 448),
    (768, 1408),
    (384, 704),
    (1408, 768),
    (704, 384),
    (640, 1408),
    (320, 704),
    (1408, 640),
    (704, 320),
    (1152, 640),
    (1173, 640),
];

/// A megabyte as used in the limits and messages (5 MB = 5,242,880 bytes).
pub const MB: usize = 1024 * 1024;

/// The sizes a model accepts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SizeRule {
    /// Only these width x height pairs.
    Fixed(&'static [(u32, u32)]),
    /// Any size within these bounds.
    Free {
        min_side: u32,
        max_side: u32,
        multiple: u32,
        max_pixels: u64,
        /// Longest side / shortest side, at most.
        max_aspect: f64,
    },
}

/// What a model accepts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    pub max_input_bytes: usize,
    pub max_text_chars: usize,
    pub max_negative_chars: usize,
    pub max_mask_prompt_chars: usize,
    pub max_images: u8,
    pub min_cfg_scale: f64,
    pub max_cfg_scale: f64,
    pub max_seed: u32,
    pub sizes: SizeRule,
}

const TITAN_LIMITS: Limits = Limits {
    max_input_bytes: 5 * MB,
    max_text_chars: 512,
    max_negative_chars: 512,
    max_mask_prompt_chars: 512,
    max_images: 5,
    min_cfg_scale: 1.1,
    max_cfg_scale: 10.0,
    max_seed: 2_147_483_646,
    sizes: SizeRule::Fixed(TITAN_RESOLUTIONS),
};

const NOVA_LIMITS: Limits = Limits {
    max_input_bytes: 10 * MB,
    max_text_chars: 1024,
    max_negative_chars: 1024,
    max_mask_prompt_chars: 1024,
    max_images: 5,
    min_cfg_scale: 1.1,
    max_cfg_scale: 10.0,
    max_seed: 858_993_459,
    sizes: SizeRule::Free {
        min_side: 320,
        max_side: 4096,
        multiple: 16,
        max_pixels: 4_194_304,
        max_aspect: 4.0,
    },
};

/// An image model that takes the OUTPAINTING request shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Model {
    /// `amazon.titan-image-generator-v1`
    TitanV1,
    /// `amazon.titan-image-generator-v2:0`
    TitanV2,
    /// `amazon.nova-canvas-v1:0`
    NovaCanvas,
}

impl Model {
    pub const ALL: [Model; 3] = [Model::TitanV1, Model::TitanV2, Model::NovaCanvas];

    /// The base model id.
    pub const fn id(self) -> &'static str {
        match self {
            Model::TitanV1 => "amazon.titan-image-generator-v1",
            Model::TitanV2 => "amazon.titan-image-generator-v2:0",
            Model::NovaCanvas => "amazon.nova-canvas-v1:0",
        }
    }

    pub const fn limits(self) -> &'static Limits {
        match self {
            Model::TitanV1 | Model::TitanV2 => &TITAN_LIMITS,
            Model::NovaCanvas => &NOVA_LIMITS,
        }
    }

    /// Parses a model id, a cross-region inference profile id (`us.amazon.nova-canvas-v1:0`)
    /// or a foundation-model / inference-profile ARN ending in one of those.
    pub fn from_id(id: &str) -> Result<Model, PipelineError> {
        let trimmed = id.trim();
        // ARNs: arn:aws:bedrock:region::foundation-model/<id> or .../inference-profile/<id>.
        let tail = trimmed.rsplit('/').next().unwrap_or(trimmed);
        for model in Model::ALL {
            let base = model.id();
            if tail == base {
                return Ok(model);
            }
            // Region/geography prefix of an inference profile: "us.", "eu.", "apac.", ...
            if let Some(prefix) = tail.strip_suffix(base) {
                if let Some(geo) = prefix.strip_suffix('.') {
                    if !geo.is_empty() && geo.chars().all(|c| c.is_ascii_lowercase()) {
                        return Ok(model);
                    }
                }
            }
        }
        // Titan v1 is also addressed with an explicit ":0" version.
        if tail == "amazon.titan-image-generator-v1:0" {
            return Ok(Model::TitanV1);
        }
        Err(PipelineError::invalid_input(format!(
            "model: {id:?} is not a supported image model (supported: {}, {}, {})",
            Model::TitanV1.id(),
            Model::TitanV2.id(),
            Model::NovaCanvas.id()
        )))
    }
}

impl std::str::FromStr for Model {
    type Err = PipelineError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Model::from_id(s)
    }
}

impl std::fmt::Display for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id())
    }
}

/// `5 MB`, `6.2 MB`, `900 KB`: sizes in messages.
pub(crate) fn human_bytes(n: usize) -> String {
    if n >= MB {
        let mb = n as f64 / MB as f64;
        if (mb - mb.round()).abs() < 0.05 {
            format!("{} MB", mb.round())
        } else {
            format!("{mb:.1} MB")
        }
    } else {
        format!("{} KB", n.div_ceil(1024))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_ids_parse_with_prefixes_and_arns() {
        assert_eq!(
            Model::from_id("amazon.titan-image-generator-v1").unwrap(),
            Model::TitanV1
        );
        assert_eq!(
            Model::from_id("amazon.titan-image-generator-v1:0").unwrap(),
            Model::TitanV1
        );
        assert_eq!(
            Model::from_id("amazon.titan-image-generator-v2:0").unwrap(),
            Model::TitanV2
        );
        assert_eq!(
            Model::from_id("us.amazon.nova-canvas-v1:0").unwrap(),
            Model::NovaCanvas
        );
        assert_eq!(
            Model::from_id("apac.amazon.titan-image-generator-v2:0").unwrap(),
            Model::TitanV2
        );
        assert_eq!(
            Model::from_id(
                "arn:aws:bedrock:eu-west-1::foundation-model/amazon.titan-image-generator-v2:0"
            )
            .unwrap(),
            Model::TitanV2
        );
        for bad in [
            "",
            "amazon.titan-image-generator-v3",
            "anthropic.claude-v2",
            "US.amazon.nova-canvas-v1:0",
            "xamazon.nova-canvas-v1:0",
        ] {
            let e = Model::from_id(bad).unwrap_err();
            assert_eq!(e.kind, crate::ErrorKind::InvalidInput);
            assert!(e.message.starts_with("model:"), "{}", e.message);
        }
    }

    #[test]
    fn limits_differ_per_model() {
        assert_eq!(Model::TitanV1.limits().max_seed, 2_147_483_646);
        assert_eq!(Model::NovaCanvas.limits().max_seed, 858_993_459);
        assert_eq!(Model::TitanV2.limits().max_text_chars, 512);
        assert_eq!(Model::NovaCanvas.limits().max_text_chars, 1024);
        assert_eq!(Model::TitanV1.limits().max_input_bytes, 5 * MB);
    }

    #[test]
    fn titan_resolutions_are_within_documented_bounds() {
        assert_eq!(TITAN_RESOLUTIONS.len(), 25);
        for &(w, h) in TITAN_RESOLUTIONS {
            assert!(w.max(h) <= 1408 && w.min(h) >= 320, "{w}x{h}");
        }
    }

    #[test]
    fn sizes_are_human_readable() {
        assert_eq!(human_bytes(5 * MB), "5 MB");
        assert_eq!(human_bytes(6 * MB + MB / 5), "6.2 MB");
        assert_eq!(human_bytes(1000), "1 KB");
    }
}

//! The image background pipeline, the pure part: Bedrock image-editing requests for Stability
//! AI Stable Image Inpaint (the default) and the legacy OUTPAINTING models (Titan Image
//! Generator G1 v1/v2, Nova Canvas), the job's manifest, tasks, S3 keys and report.
//!
//! Pure functions, no network, no clock (times are arguments): the functions
//! (`start-image-job`, `generate-background`, `image-job-report`), the `mlpipe images` commands
//! and the benchmarks all go through this crate.
//!
//! * [`JobId`]: the job id, parsed once.
//! * [`manifest`]: the uploaded manifest, validated against the deployed model, and the items.
//! * [`task`]: one image of a job, the Distributed Map item `generate-background` receives.
//! * [`keys`]: the S3 key layout (manifests, items, reasons, generated images, reports).
//! * [`report`]: the job report (rows, counts, JSON/CSV/HTML), the items file's image keys, and
//!   the notification's subject and message.
//!
//! * [`Model`] and its [`Limits`]: which model id, what it accepts, which are legacy.
//! * [`input`]: PNG/JPEG check by magic bytes, decoding as displayed (EXIF orientation,
//!   transparency composited) with allocation limits.
//! * [`fit`]: choosing a size the model accepts and resizing/padding to it, with the
//!   [`Transform`] that maps original-image coordinates onto the fitted image and back.
//! * [`mask`]: `maskPrompt` from labels, or a mask image drawn from bounding boxes or taken from
//!   a background-removal alpha channel.
//! * [`request`]: the request JSON of each model family.
//! * [`response`]: reading the model's answer (Titan/Nova `error`, Stability `finish_reasons`)
//!   and returning each image at the input's size.
//! * [`labels`]: labels resolved to instance boxes from Rekognition DetectLabels.
//!
//! Limits and their sources:
//!
//! | limit            | Stable Image Inpaint                      | Titan G1 v1 / v2 (legacy)   | Nova Canvas (legacy)        |
//! |------------------|-------------------------------------------|-----------------------------|-----------------------------|
//! | prompt           | 1-10,000 characters (AWS, verified)       | 1-512 characters            | 1-1024 characters           |
//! | negative prompt  | up to 10,000 characters                   | 1-512 characters            | 1-1024 characters           |
//! | size             | sides >= 64, <= 9,437,184 px, aspect 1:2.5..2.5:1 (assumed) | fixed list ([`TITAN_RESOLUTIONS`]) | sides 320-4096, multiples of 16, aspect 1:4..4:1, <= 4,194,304 px |
//! | images per call  | 1 (`numberOfImages` N = N calls)          | 1-5                         | 1-5                         |
//! | seed             | 0-4,294,967,294 (0 = random)              | 0-2,147,483,646             | 0-858,993,459               |
//! | cfgScale         | not used                                  | 1.1-10.0, default 8.0       | 1.1-10.0, default 6.5       |
//! | grow_mask        | 0-20 px, default 5 (assumed)              | not used                    | not used                    |
//! | request body     | <= 25,000,000 bytes (botocore `Body` shape, verified) for every model |  |  |
//!
//! "Verified" means read from what AWS publishes (the Bedrock user guide's Stability AI Image
//! Services page: the response `{seeds, finish_reasons, images}`, the finish reasons, the prompt
//! limit; botocore's bedrock-runtime service model: the body limit). The Stability size limits
//! and `grow_mask` range come from Stability's own API documentation and third parties: they are
//! assumptions to re-check.
//!
//! Masks: every model takes black (0) as *keep* and white (255) as *repaint* (Stability: "white
//! pixels are inpainted, black pixels are preserved"; Titan/Nova `maskImage`: 0 is inside the
//! mask, which OUTPAINTING keeps).

pub mod fit;
pub mod input;
pub mod job_id;
pub mod keys;
pub mod labels;
pub mod manifest;
pub mod mask;
pub mod report;
pub mod request;
pub mod response;
pub mod task;

pub use fit::{fit, target_size, Fitted, Transform};
pub use input::{check_input, decode, sniff_format, ImageFormat};
pub use job_id::{JobId, JobIdError, MAX_JOB_ID_CHARS};
pub use labels::{boxes_for_labels, DetectedInstance, DetectedLabel};
pub use manifest::{Manifest, ValidJob};
pub use mask::{draw_mask, mask_prompt, subject_mask, BoundingBox, Mask, MASK_KEEP, MASK_REPAINT};
pub use request::{
    build_request, encode_png, prepare, remove_background_body, BuiltRequest, EditJob,
    GenerationOptions, ImageGenerationConfig, InpaintRequest, ModelRequest, OutPaintingMode,
    OutPaintingParams, OutpaintingRequest, Prepared, Quality, STYLE_PRESETS,
};
pub use response::{parse_response, restore};
pub use task::{ImageItem, ImageTask, Job, MaskBox, MaskSource};

use shared_core::PipelineError;

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

/// The largest InvokeModel body (botocore's bedrock-runtime model: `Body`, max 25,000,000).
pub const MAX_BODY_BYTES: usize = 25_000_000;

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
        /// The pixel count sent at most (may be below what the model accepts, see
        /// [`Limits::max_input_pixels`]).
        max_pixels: u64,
        /// Longest side / shortest side, at most.
        max_aspect: f64,
    },
}

/// Which request shape a model takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Stability AI Image Services: flat snake_case body, one image per call, `finish_reasons`.
    Stability,
    /// Titan Image Generator G1 / Nova Canvas: `taskType` OUTPAINTING, `outPaintingParams`.
    Outpainting,
}

/// What a model accepts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Largest source file for the legacy models, which send it close to as-is; `None`: only the
    /// request sent is limited (sources are decoded and scaled down to fit).
    pub max_source_bytes: Option<usize>,
    /// Largest encoded image in the request.
    pub max_input_bytes: usize,
    /// Largest image in the request, in pixels.
    pub max_input_pixels: u64,
    pub max_text_chars: usize,
    pub max_negative_chars: usize,
    pub max_mask_prompt_chars: usize,
    /// `numberOfImages` per job image, at most.
    pub max_images: u8,
    pub max_seed: u32,
    pub sizes: SizeRule,
}

const TITAN_LIMITS: Limits = Limits {
    max_source_bytes: None,
    max_input_bytes: 5 * MB,
    max_input_pixels: 1408 * 768,
    max_text_chars: 512,
    max_negative_chars: 512,
    max_mask_prompt_chars: 512,
    max_images: 5,
    max_seed: 2_147_483_646,
    sizes: SizeRule::Fixed(TITAN_RESOLUTIONS),
};

const NOVA_LIMITS: Limits = Limits {
    max_source_bytes: None,
    max_input_bytes: 10 * MB,
    max_input_pixels: 4_194_304,
    max_text_chars: 1024,
    max_negative_chars: 1024,
    max_mask_prompt_chars: 1024,
    max_images: 5,
    max_seed: 858_993_459,
    sizes: SizeRule::Free {
        min_side: 320,
        max_side: 4096,
        multiple: 16,
        max_pixels: 4_194_304,
        max_aspect: 4.0,
    },
};

/// Stable Image Inpaint. It accepts up to 9,437,184 pixels but answers about 4 megapixels
/// whatever the input, so the builder sends at most 4,194,304 (a smaller, faster request with
/// the same result).
const STABILITY_LIMITS: Limits = Limits {
    max_source_bytes: None,
    max_input_bytes: 18 * MB,
    max_input_pixels: 9_437_184,
    max_text_chars: 10_000,
    max_negative_chars: 10_000,
    max_mask_prompt_chars: 0,
    max_images: 5,
    max_seed: 4_294_967_294,
    sizes: SizeRule::Free {
        min_side: 64,
        max_side: 16_384,
        multiple: 1,
        max_pixels: 4_194_304,
        max_aspect: 2.5,
    },
};

/// An image-editing model the pipeline can call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Model {
    /// `stability.stable-image-inpaint-v1:0` (through the `us.` inference profile): the default.
    StabilityInpaint,
    /// `amazon.titan-image-generator-v1` (legacy: gone from the Bedrock model lists).
    TitanV1,
    /// `amazon.titan-image-generator-v2:0` (legacy: end of life 2026-06-30).
    TitanV2,
    /// `amazon.nova-canvas-v1:0` (legacy from 2026-03-30, end of life 2026-09-30).
    NovaCanvas,
}

/// The model id the stack and the tools use when none is given: Stable Image Inpaint through
/// its US cross-region inference profile.
pub const DEFAULT_MODEL_ID: &str = "us.stability.stable-image-inpaint-v1:0";

/// Base id of Stable Image Remove Background (the "keep the main subject" mask source).
pub const REMOVE_BACKGROUND_BASE_ID: &str = "stability.stable-image-remove-background-v1:0";

/// Every Stable Image Remove Background id for an inpaint model id: the same profile prefix,
/// region or ARN (`us.stability.stable-image-inpaint-v1:0` ->
/// `us.stability.stable-image-remove-background-v1:0`).
pub fn remove_background_model_id(inpaint_model_id: &str) -> String {
    inpaint_model_id
        .trim()
        .replace(Model::StabilityInpaint.id(), REMOVE_BACKGROUND_BASE_ID)
}

impl Model {
    pub const ALL: [Model; 4] = [
        Model::StabilityInpaint,
        Model::TitanV1,
        Model::TitanV2,
        Model::NovaCanvas,
    ];

    /// The base model id.
    pub const fn id(self) -> &'static str {
        match self {
            Model::StabilityInpaint => "stability.stable-image-inpaint-v1:0",
            Model::TitanV1 => "amazon.titan-image-generator-v1",
            Model::TitanV2 => "amazon.titan-image-generator-v2:0",
            Model::NovaCanvas => "amazon.nova-canvas-v1:0",
        }
    }

    pub const fn family(self) -> Family {
        match self {
            Model::StabilityInpaint => Family::Stability,
            _ => Family::Outpainting,
        }
    }

    /// Past or near end of life on Bedrock: kept for accounts that still have access.
    pub const fn is_legacy(self) -> bool {
        !matches!(self, Model::StabilityInpaint)
    }

    pub const fn limits(self) -> &'static Limits {
        match self {
            Model::StabilityInpaint => &STABILITY_LIMITS,
            Model::TitanV1 | Model::TitanV2 => &TITAN_LIMITS,
            Model::NovaCanvas => &NOVA_LIMITS,
        }
    }

    /// `cfgScale` when the job gives none: Titan 8.0, Nova Canvas 6.5 (each model's documented
    /// default); Stability takes none.
    pub const fn default_cfg_scale(self) -> Option<f64> {
        match self {
            Model::StabilityInpaint => None,
            Model::TitanV1 | Model::TitanV2 => Some(8.0),
            Model::NovaCanvas => Some(6.5),
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
                    if !geo.is_empty() && geo.chars().all(|c| c.is_ascii_lowercase() || c == '-') {
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
            "model: {id:?} is not a supported image model (supported: {DEFAULT_MODEL_ID}; legacy: {}, {}, {})",
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
            assert_eq!(e.kind, shared_core::ErrorKind::InvalidInput);
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
        assert_eq!(Model::StabilityInpaint.limits().max_seed, 4_294_967_294);
        assert_eq!(Model::StabilityInpaint.limits().max_text_chars, 10_000);
        assert_eq!(Model::NovaCanvas.default_cfg_scale(), Some(6.5));
        assert_eq!(Model::TitanV2.default_cfg_scale(), Some(8.0));
        assert!(Model::ALL.iter().filter(|m| !m.is_legacy()).count() == 1);
    }

    #[test]
    fn the_default_is_the_stability_profile() {
        assert_eq!(
            Model::from_id(DEFAULT_MODEL_ID).unwrap(),
            Model::StabilityInpaint
        );
        assert_eq!(
            Model::from_id("arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.stability.stable-image-inpaint-v1:0").unwrap(),
            Model::StabilityInpaint
        );
        assert_eq!(
            remove_background_model_id(DEFAULT_MODEL_ID),
            "us.stability.stable-image-remove-background-v1:0"
        );
        assert_eq!(
            remove_background_model_id("stability.stable-image-inpaint-v1:0"),
            REMOVE_BACKGROUND_BASE_ID
        );
        assert!(Model::from_id(REMOVE_BACKGROUND_BASE_ID).is_err());
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

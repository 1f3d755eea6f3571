//! The image models the emulator serves, and their documented request limits.
//!
//! Sources:
//! - Titan Image Generator G1 v1/v2: Bedrock user guide, "Amazon Titan Image Generator G1 models"
//!   (`model-parameters-titan-image`), inference parameters and the supported-sizes table. The
//!   25 sizes below were cross-checked against public clients that copy that table (with its
//!   "price equivalent" labels); the full English page text was not available offline.
//! - Nova Canvas: Nova user guide, "Image generation access and usage" (`image-gen-access`),
//!   request/response format, input images and supported resolutions; the numeric limits below
//!   follow the project brief and that guide as remembered, not a fresh reading.
//!
//! - Stability AI Image Services (Stable Image Inpaint, Stable Image Remove Background): Bedrock
//!   user guide, "Stability AI Image Services" (`stable-image-services`). Verified from that
//!   page: the response `{"seeds": [...], "finish_reasons": [...], "images": [...]}`, the
//!   finish reason values (`"Filter reason: prompt"`, `"Filter reason: output image"`,
//!   `"Filter reason: input image"`, `"Inference error"`, `null` for success) and prompts of up
//!   to 10,000 characters. **Assumptions to re-check** (taken from Stability's own API
//!   documentation for its hosted v2beta edit endpoints and from third-party clients, not from
//!   the Bedrock page): each image side at least 64 px, at most 9,437,184 pixels, an aspect
//!   ratio between 1:2.5 and 2.5:1, `grow_mask` 0..=20 (default 5), `seed` 0..=4,294,967,294
//!   (0: random), the 17 `style_preset` values, Inpaint answering about 4 megapixels whatever
//!   the input size, and Remove Background's limits being the same as Inpaint's.
//!
//! Where a limit could not be confirmed from the published text, the choice is noted next to it.

/// How a model is called: the request schema, the response shape and the limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// Titan Image Generator / Nova Canvas: `taskType` + `outPaintingParams` +
    /// `imageGenerationConfig`, answering `{"images": [...], "error": null}` (the "legacy"
    /// models of the pipeline).
    Legacy(Family),
    /// A Stability AI Image Service: a flat snake_case body, answering
    /// `{"seeds": [...], "finish_reasons": [...], "images": [...]}`.
    Stability(StabilityService),
}

/// The Stability AI Image Services the emulator serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StabilityService {
    /// Stable Image Inpaint: repaints the masked part of an image from a prompt.
    Inpaint,
    /// Stable Image Remove Background: makes everything but the subject transparent.
    RemoveBackground,
}

/// Which request schema and limits a legacy (Titan / Nova) model follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Titan Image Generator G1 (v1 and v2): a fixed list of sizes.
    Titan,
    /// Nova Canvas: any size within bounds, sides divisible by 16.
    NovaCanvas,
}

/// One servable foundation model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Model {
    /// The base model id, e.g. `amazon.titan-image-generator-v1`.
    pub id: &'static str,
    /// Its schema, response shape and limits.
    pub api: Api,
}

impl Model {
    /// The Titan / Nova family of a legacy model.
    pub fn family(self) -> Option<Family> {
        match self.api {
            Api::Legacy(family) => Some(family),
            Api::Stability(_) => None,
        }
    }
}

/// Base id of Stable Image Inpaint (called as the `us.` inference profile).
pub const STABLE_IMAGE_INPAINT: &str = "stability.stable-image-inpaint-v1:0";
/// Base id of Stable Image Remove Background (called as the `us.` inference profile).
pub const STABLE_IMAGE_REMOVE_BACKGROUND: &str = "stability.stable-image-remove-background-v1:0";

/// The models the emulator serves.
pub const MODELS: [Model; 5] = [
    Model {
        id: "amazon.titan-image-generator-v1",
        api: Api::Legacy(Family::Titan),
    },
    Model {
        id: "amazon.titan-image-generator-v2:0",
        api: Api::Legacy(Family::Titan),
    },
    Model {
        id: "amazon.nova-canvas-v1:0",
        api: Api::Legacy(Family::NovaCanvas),
    },
    Model {
        id: STABLE_IMAGE_INPAINT,
        api: Api::Stability(StabilityService::Inpaint),
    },
    Model {
        id: STABLE_IMAGE_REMOVE_BACKGROUND,
        api: Api::Stability(StabilityService::RemoveBackground),
    },
];

/// The regions a `us.` (US geography) cross-region inference profile is called from and routes
/// to. AWS lists each profile's own destinations; the emulator assumes these three for every
/// `us.` profile (the project brief's list for the Stability profiles).
pub const US_PROFILE_REGIONS: [&str; 3] = ["us-east-1", "us-east-2", "us-west-2"];

/// Stability: `prompt` and `negative_prompt`, at most 10,000 characters (Bedrock user guide,
/// verified); `prompt` needs at least 1.
pub const STABILITY_PROMPT_MAX_CHARS: usize = 10_000;
/// Stability: `seed` 0..=4,294,967,294, 0 meaning a random seed (Stability's API documentation;
/// some Bedrock pages print 4,294,967,295 as the maximum: an assumption to re-check).
pub const STABILITY_SEED_MAX: i64 = 4_294_967_294;
/// Stability Inpaint: `grow_mask` range (Stability's API documentation; assumption).
pub const STABILITY_GROW_MASK_MAX: i64 = 20;
/// Stability Inpaint: `grow_mask` when the request has none.
pub const STABILITY_GROW_MASK_DEFAULT: u32 = 5;
/// Stability: each side of an input image at least 64 px (assumption).
pub const STABILITY_MIN_SIDE: u32 = 64;
/// Stability: at most 9,437,184 pixels (3072 x 3072) per input image (assumption).
pub const STABILITY_MAX_PIXELS: u64 = 9_437_184;
/// Stability Inpaint: the output's area, in pixels (about 4 megapixels, 2048 x 2048).
pub const STABILITY_OUTPUT_PIXELS: u64 = 4_194_304;
/// Stability Inpaint: output sides are rounded to multiples of this.
pub const STABILITY_OUTPUT_SIDE_MULTIPLE: u32 = 64;

/// Stability Inpaint: the `style_preset` values (Stability's API documentation; assumption).
pub const STYLE_PRESETS: [&str; 17] = [
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

/// The non-null `finish_reasons` values of the Stability services (Bedrock user guide,
/// verified): a response carrying one has no usable image.
pub const FINISH_REASONS: [&str; 4] = [
    "Filter reason: prompt",
    "Filter reason: input image",
    "Filter reason: output image",
    "Inference error",
];

/// The documented finish reason equal to `text`, as a `'static` string.
pub fn finish_reason(text: &str) -> Option<&'static str> {
    FINISH_REASONS.iter().copied().find(|r| *r == text)
}

/// Why a `width` x `height` input image is refused by the Stability services, if it is: each
/// side at least [`STABILITY_MIN_SIDE`], at most [`STABILITY_MAX_PIXELS`] pixels, aspect ratio
/// between 1:2.5 and 2.5:1 (inclusive).
pub fn stability_size_problem(width: u32, height: u32) -> Option<String> {
    let pixels = u64::from(width) * u64::from(height);
    if pixels > STABILITY_MAX_PIXELS {
        return Some(format!(
            "the image is {width}x{height} ({pixels} pixels); the maximum is {STABILITY_MAX_PIXELS} pixels"
        ));
    }
    if width < STABILITY_MIN_SIDE || height < STABILITY_MIN_SIDE {
        return Some(format!(
            "the image is {width}x{height}; each side must be at least {STABILITY_MIN_SIDE} pixels"
        ));
    }
    // w/h <= 2.5 and h/w <= 2.5, in integers.
    let (w, h) = (u64::from(width), u64::from(height));
    if 2 * w > 5 * h || 2 * h > 5 * w {
        return Some(format!(
            "the image is {width}x{height}; the aspect ratio must be between 1:2.5 and 2.5:1"
        ));
    }
    None
}

/// The size of Stable Image Inpaint's output for a `width` x `height` input: about
/// [`STABILITY_OUTPUT_PIXELS`] with the input's aspect ratio. Each side is
/// `sqrt(4,194,304 * w / h)` (resp. `h / w`) rounded to the nearest multiple of 64 (at least
/// 64), so a square input gives 2048 x 2048 and 3:2 gives 2496 x 1664; the area stays within
/// a few percent of 4 MP and the aspect ratio within about 2.5 % of the input's.
pub fn inpaint_output_size(width: u32, height: u32) -> (u32, u32) {
    let (w, h) = (f64::from(width.max(1)), f64::from(height.max(1)));
    let area = STABILITY_OUTPUT_PIXELS as f64;
    let step = f64::from(STABILITY_OUTPUT_SIDE_MULTIPLE);
    let side = |exact: f64| ((exact / step).round().max(1.0) * step) as u32;
    (side((area * w / h).sqrt()), side((area * h / w).sqrt()))
}

/// Titan G1 sizes (width, height) from the user guide's table; the longest side is 1408.
pub const TITAN_SIZES: [(u32, u32); 25] = [
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

/// Nova Canvas: each side 320..=4096 px.
pub const NOVA_MIN_SIDE: u32 = 320;
/// Nova Canvas: each side 320..=4096 px.
pub const NOVA_MAX_SIDE: u32 = 4096;
/// Nova Canvas: each side divisible by 16.
pub const NOVA_SIDE_MULTIPLE: u32 = 16;
/// Nova Canvas: at most 4,194,304 pixels (2048 x 2048).
pub const NOVA_MAX_PIXELS: u64 = 4_194_304;

/// Request limits of one legacy model family.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Longest `text` (and `negativeText`), in characters; the minimum is 1.
    pub text_max_chars: usize,
    /// Longest `maskPrompt`, in characters.
    pub mask_prompt_max_chars: usize,
    /// Largest `seed`.
    pub seed_max: i64,
    /// `seed` when the request has none.
    pub default_seed: i64,
    /// `cfgScale` range.
    pub cfg_scale: (f64, f64),
    /// `numberOfImages` range.
    pub number_of_images: (i64, i64),
    /// Largest decoded input image, in bytes (`None`: only the pixel limits apply).
    pub max_image_bytes: Option<usize>,
}

impl Family {
    /// The documented limits of this family.
    pub fn limits(self) -> Limits {
        match self {
            // Titan G1: text and negativeText 1-512 characters, numberOfImages 1-5,
            // cfgScale 1.1-10.0 (default 8.0), seed 0-2,147,483,646 (default 42 in the guide's
            // examples). maskPrompt has no maximum in the guide's text: we apply 1024, the Nova
            // limit, rather than reject prompts the service may accept. 5 MB input: from the
            // project brief ("the model's input limit, 5 MB for Titan").
            Family::Titan => Limits {
                text_max_chars: 512,
                mask_prompt_max_chars: 1024,
                seed_max: 2_147_483_646,
                default_seed: 42,
                cfg_scale: (1.1, 10.0),
                number_of_images: (1, 5),
                max_image_bytes: Some(5 * 1024 * 1024),
            },
            // Nova Canvas: text, negativeText and maskPrompt 1-1024 characters, numberOfImages
            // 1-5, cfgScale 1.1-10 (default 6.5), seed 0-858,993,459 (default 12). Sources
            // disagree on the seed: some third-party clients reuse Titan's 2,147,483,646; we
            // follow the Nova guide's 858,993,459.
            Family::NovaCanvas => Limits {
                text_max_chars: 1024,
                mask_prompt_max_chars: 1024,
                seed_max: 858_993_459,
                default_seed: 12,
                cfg_scale: (1.1, 10.0),
                number_of_images: (1, 5),
                max_image_bytes: None,
            },
        }
    }

    /// Why `width` x `height` is not a size this family accepts, if it is not.
    pub fn size_problem(self, width: u32, height: u32) -> Option<String> {
        match self {
            Family::Titan => (!TITAN_SIZES.contains(&(width, height))).then(|| {
                let list: Vec<String> = TITAN_SIZES
                    .iter()
                    .map(|(w, h)| format!("{w}x{h}"))
                    .collect();
                format!(
                    "{width}x{height} is not a supported size; supported sizes (width x height): {}",
                    list.join(", ")
                )
            }),
            Family::NovaCanvas => {
                let sides_ok = [width, height]
                    .iter()
                    .all(|s| (NOVA_MIN_SIDE..=NOVA_MAX_SIDE).contains(s));
                if !sides_ok {
                    return Some(format!(
                        "{width}x{height}: each side must be between {NOVA_MIN_SIDE} and {NOVA_MAX_SIDE} pixels"
                    ));
                }
                if !width.is_multiple_of(NOVA_SIDE_MULTIPLE) || !height.is_multiple_of(NOVA_SIDE_MULTIPLE) {
                    return Some(format!(
                        "{width}x{height}: width and height must be divisible by {NOVA_SIDE_MULTIPLE}"
                    ));
                }
                if width > 4 * height || height > 4 * width {
                    return Some(format!(
                        "{width}x{height}: the aspect ratio must be between 1:4 and 4:1"
                    ));
                }
                if u64::from(width) * u64::from(height) > NOVA_MAX_PIXELS {
                    return Some(format!(
                        "{width}x{height}: the image must have at most {NOVA_MAX_PIXELS} pixels"
                    ));
                }
                None
            }
        }
    }
}

/// The model a `modelId` path parameter names: a base model id, a foundation-model ARN
/// (`arn:aws:bedrock:<region>::foundation-model/<id>`), or a cross-region inference profile id
/// (`us.`, `eu.`, `apac.`, `global.`... followed by the base id, or its ARN).
pub fn resolve(model_id: &str) -> Option<Model> {
    let id = model_id.rsplit('/').next().unwrap_or(model_id);
    let find = |id: &str| MODELS.iter().copied().find(|m| m.id == id);
    find(id).or_else(|| {
        let (prefix, rest) = id.split_once('.')?;
        (!prefix.is_empty() && prefix.chars().all(|c| c.is_ascii_lowercase()))
            .then(|| find(rest))
            .flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_ids_arns_and_profiles() {
        assert_eq!(
            resolve("amazon.titan-image-generator-v1").unwrap().id,
            MODELS[0].id
        );
        assert_eq!(
            resolve(
                "arn:aws:bedrock:eu-west-1::foundation-model/amazon.titan-image-generator-v2:0"
            )
            .unwrap()
            .id,
            MODELS[1].id
        );
        assert_eq!(
            resolve("us.amazon.nova-canvas-v1:0").unwrap().family(),
            Some(Family::NovaCanvas)
        );
        assert_eq!(
            resolve("us.stability.stable-image-inpaint-v1:0")
                .unwrap()
                .api,
            Api::Stability(StabilityService::Inpaint)
        );
        assert_eq!(
            resolve("arn:aws:bedrock:us-west-2:123456789012:inference-profile/us.stability.stable-image-remove-background-v1:0")
                .unwrap()
                .api,
            Api::Stability(StabilityService::RemoveBackground)
        );
        assert_eq!(
            resolve(
                "arn:aws:bedrock:us-west-2::foundation-model/stability.stable-image-inpaint-v1:0"
            )
            .unwrap()
            .id,
            STABLE_IMAGE_INPAINT
        );
        assert!(resolve("stability.stable-image-inpaint-v2:0").is_none());
        assert!(resolve("amazon.titan-image-generator-v3").is_none());
        assert!(resolve("us.amazon").is_none());
    }

    #[test]
    fn nova_sizes() {
        let f = Family::NovaCanvas;
        assert!(f.size_problem(640, 480).is_none());
        assert!(f.size_problem(2048, 2048).is_none());
        assert!(f
            .size_problem(650, 480)
            .unwrap()
            .contains("divisible by 16"));
        assert!(f.size_problem(2064, 2048).unwrap().contains("4194304"));
        assert!(f.size_problem(1600, 320).unwrap().contains("1:4"));
        assert!(f.size_problem(304, 320).unwrap().contains("between 320"));
    }

    #[test]
    fn stability_sizes() {
        assert!(stability_size_problem(64, 64).is_none());
        assert!(stability_size_problem(63, 64)
            .unwrap()
            .contains("at least 64"));
        assert!(stability_size_problem(64, 63)
            .unwrap()
            .contains("at least 64"));
        assert!(stability_size_problem(3072, 3072).is_none());
        // 9,437,185 = 5 x 1,887,437 only: no image of exactly that many pixels passes the
        // side and aspect checks, so the pixel count is checked first and tested on that shape;
        // the smallest realistic refusal is one row more than 3072 x 3072.
        assert!(stability_size_problem(1_887_437, 5)
            .unwrap()
            .contains("(9437185 pixels); the maximum is 9437184"));
        assert!(stability_size_problem(3072, 3073)
            .unwrap()
            .contains("9437184"));
        assert!(stability_size_problem(160, 64).is_none());
        assert!(stability_size_problem(64, 160).is_none());
        assert!(stability_size_problem(161, 64).unwrap().contains("2.5:1"));
        assert!(stability_size_problem(64, 161).unwrap().contains("1:2.5"));
    }

    #[test]
    fn inpaint_output_is_about_four_megapixels_with_the_input_aspect() {
        assert_eq!(inpaint_output_size(64, 64), (2048, 2048));
        assert_eq!(inpaint_output_size(3072, 3072), (2048, 2048));
        assert_eq!(inpaint_output_size(96, 64), (2496, 1664));
        for (w, h) in [(64, 160), (160, 64), (1000, 700), (333, 517), (3072, 1229)] {
            let (ow, oh) = inpaint_output_size(w, h);
            assert!(ow % 64 == 0 && oh % 64 == 0, "{w}x{h} -> {ow}x{oh}");
            let area = f64::from(ow) * f64::from(oh);
            assert!(
                (area / 4_194_304.0 - 1.0).abs() < 0.05,
                "{w}x{h} -> {ow}x{oh}"
            );
            let aspect = (f64::from(ow) / f64::from(oh)) / (f64::from(w) / f64::from(h));
            assert!((aspect - 1.0).abs() < 0.03, "{w}x{h} -> {ow}x{oh}");
        }
    }

    #[test]
    fn finish_reasons_are_the_documented_ones() {
        assert_eq!(finish_reason("Inference error"), Some("Inference error"));
        assert!(finish_reason("Filter reason: everything").is_none());
    }

    #[test]
    fn titan_sizes() {
        assert!(Family::Titan.size_problem(1173, 640).is_none());
        assert!(Family::Titan
            .size_problem(640, 480)
            .unwrap()
            .contains("1024x1024"));
    }
}

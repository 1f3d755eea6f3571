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
//! Where a limit could not be confirmed from the published text, the choice is noted next to it.

/// Which request schema and limits a model follows.
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
    /// Its schema and limits.
    pub family: Family,
}

/// The models the emulator serves.
pub const MODELS: [Model; 3] = [
    Model {
        id: "amazon.titan-image-generator-v1",
        family: Family::Titan,
    },
    Model {
        id: "amazon.titan-image-generator-v2:0",
        family: Family::Titan,
    },
    Model {
        id: "amazon.nova-canvas-v1:0",
        family: Family::NovaCanvas,
    },
];

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

/// Request limits of one model family.
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
            resolve("us.amazon.nova-canvas-v1:0").unwrap().family,
            Family::NovaCanvas
        );
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
    fn titan_sizes() {
        assert!(Family::Titan.size_problem(1173, 640).is_none());
        assert!(Family::Titan
            .size_problem(640, 480)
            .unwrap()
            .contains("1024x1024"));
    }
}

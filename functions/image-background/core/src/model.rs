//! The image-editing models: which [`Model`] an id names, its request [`Family`], whether it is
//! legacy, its default `cfgScale`; the default model id and the Remove Background id.

use crate::limits::{Limits, NOVA_LIMITS, STABILITY_LIMITS, TITAN_LIMITS};
use shared_core::PipelineError;

/// Which request shape a model takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Stability AI Image Services: flat snake_case body, one image per call, `finish_reasons`.
    Stability,
    /// Titan Image Generator G1 / Nova Canvas: `taskType` OUTPAINTING, `outPaintingParams`.
    Outpainting,
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::MB;

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
}

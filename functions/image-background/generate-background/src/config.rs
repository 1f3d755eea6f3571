//! `generate-background`'s settings, from environment variables.

use image_background_core::keys::DEFAULT_GENERATED_PREFIX;
use image_background_core::{remove_background_model_id, Model, DEFAULT_MODEL_ID};
use shared::config::{optional, parse_or, prefix_or, required, ConfigError, Source};

/// Default of `BEDROCK_MAX_ATTEMPTS`.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 6;

/// Settings, from environment variables.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// `UPLOAD_BUCKET` (required): where the source images are.
    pub upload_bucket: String,
    /// `GENERATED_BUCKET` (required): where generated images go.
    pub output_bucket: String,
    /// `GENERATED_PREFIX` (default `generated/`).
    pub output_prefix: String,
    /// `MODEL_ID` (default [`DEFAULT_MODEL_ID`]): the deployed model, a model id, inference
    /// profile id or ARN of Stable Image Inpaint or a legacy model. A job naming another model
    /// is refused (IAM allows this one only).
    pub model_id: String,
    /// The deployed model.
    pub model: Model,
    /// `BEDROCK_MAX_ATTEMPTS` (default 6): attempts of the SDK's standard retry (throttling,
    /// 5xx, time-outs) per InvokeModel.
    pub bedrock_max_attempts: u32,
}

impl Config {
    pub fn from_source(src: &impl Source) -> Result<Self, ConfigError> {
        let upload_bucket = required(src, "UPLOAD_BUCKET")?;
        let output_bucket = required(src, "GENERATED_BUCKET")?;
        let output_prefix = prefix_or(src, "GENERATED_PREFIX", DEFAULT_GENERATED_PREFIX, true)?;
        let model_id = optional(src, "MODEL_ID").unwrap_or_else(|| DEFAULT_MODEL_ID.to_owned());
        let model =
            Model::from_id(&model_id).map_err(|e| ConfigError::new("MODEL_ID", e.message))?;
        let bedrock_max_attempts = parse_or(src, "BEDROCK_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS)?;
        if !(1..=20).contains(&bedrock_max_attempts) {
            return Err(ConfigError::new(
                "BEDROCK_MAX_ATTEMPTS",
                format!("{bedrock_max_attempts}, must be 1 to 20"),
            ));
        }
        Ok(Self {
            upload_bucket,
            output_bucket,
            output_prefix,
            model_id,
            model,
            bedrock_max_attempts,
        })
    }

    /// Stable Image Remove Background, addressed like the deployed model (same profile).
    pub fn remove_background_model_id(&self) -> String {
        remove_background_model_id(&self.model_id)
    }
}

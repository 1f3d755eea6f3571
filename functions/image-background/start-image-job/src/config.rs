//! `start-image-job`'s settings, from environment variables.

use image_background_core::keys::{
    DEFAULT_FAILED_PREFIX, DEFAULT_ITEMS_PREFIX, DEFAULT_JOBS_PREFIX,
};
use image_background_core::{Model, DEFAULT_MODEL_ID};
use shared::config::{optional, parse_or, prefix_or, required, ConfigError, Source};

/// Default of `MAX_IMAGES`.
pub const DEFAULT_MAX_IMAGES: usize = 10_000;
/// Default of `TOLERATED_FAILURE_COUNT`: one bad image does not stop a small job.
pub const DEFAULT_TOLERATED_FAILURE_COUNT: u64 = 1;
/// Default of `TOLERATED_FAILURE_PERCENTAGE`.
pub const DEFAULT_TOLERATED_FAILURE_PERCENTAGE: u64 = 10;

/// Settings, from environment variables.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// `JOBS_TABLE` (required): the DynamoDB table of jobs (partition key `jobId`, S).
    pub jobs_table: String,
    /// `STATE_MACHINE_ARN` (required): the image background state machine.
    pub state_machine_arn: String,
    /// `JOBS_PREFIX` (default `jobs/`): only `.json` objects directly below it are manifests.
    pub jobs_prefix: String,
    /// `ITEMS_PREFIX` (default `items/`): where items files go, in the manifest's bucket.
    pub items_prefix: String,
    /// `FAILED_PREFIX` (default `failed/`): where reason files go, in the manifest's bucket.
    pub failed_prefix: String,
    /// `MAX_IMAGES` (default 10000): images per job, at most.
    pub max_images: usize,
    /// `MODEL_ID` (default [`DEFAULT_MODEL_ID`]): the deployed image model, whose limits and
    /// options a manifest is checked against (a manifest may name it, not another).
    pub model_id: String,
    pub model: Model,
    /// `TOLERATED_FAILURE_COUNT` (default 1) and `TOLERATED_FAILURE_PERCENTAGE` (default 10):
    /// a job's map stops once more images failed than the larger of the count and the
    /// percentage of its images (see [`Config::tolerated_failures`]).
    pub tolerated_failure_count: u64,
    pub tolerated_failure_percentage: u64,
}

impl Config {
    pub fn from_source(src: &impl Source) -> Result<Self, ConfigError> {
        let config = Self {
            jobs_table: required(src, "JOBS_TABLE")?,
            state_machine_arn: required(src, "STATE_MACHINE_ARN")?,
            jobs_prefix: prefix_or(src, "JOBS_PREFIX", DEFAULT_JOBS_PREFIX, true)?,
            items_prefix: prefix_or(src, "ITEMS_PREFIX", DEFAULT_ITEMS_PREFIX, true)?,
            failed_prefix: prefix_or(src, "FAILED_PREFIX", DEFAULT_FAILED_PREFIX, true)?,
            max_images: parse_or(src, "MAX_IMAGES", DEFAULT_MAX_IMAGES)?,
            model_id: optional(src, "MODEL_ID").unwrap_or_else(|| DEFAULT_MODEL_ID.to_owned()),
            model: Model::StabilityInpaint,
            tolerated_failure_count: parse_or(
                src,
                "TOLERATED_FAILURE_COUNT",
                DEFAULT_TOLERATED_FAILURE_COUNT,
            )?,
            tolerated_failure_percentage: parse_or(
                src,
                "TOLERATED_FAILURE_PERCENTAGE",
                DEFAULT_TOLERATED_FAILURE_PERCENTAGE,
            )?,
        };
        let mut config = config;
        config.model = Model::from_id(&config.model_id)
            .map_err(|e| ConfigError::new("MODEL_ID", e.message))?;
        if config.tolerated_failure_percentage > 100 {
            return Err(ConfigError::new(
                "TOLERATED_FAILURE_PERCENTAGE",
                format!("{}, must be 0 to 100", config.tolerated_failure_percentage),
            ));
        }
        if config.max_images == 0 {
            return Err(ConfigError::new("MAX_IMAGES", "0, must be at least 1"));
        }
        if !config.state_machine_arn.contains(":stateMachine:") {
            return Err(ConfigError::new(
                "STATE_MACHINE_ARN",
                format!(
                    "{:?} is not a state machine ARN (arn:aws:states:<region>:<account>:stateMachine:<name>)",
                    config.state_machine_arn
                ),
            ));
        }
        for (name, p) in [
            ("ITEMS_PREFIX", &config.items_prefix),
            ("FAILED_PREFIX", &config.failed_prefix),
        ] {
            if p.is_empty()
                || p.starts_with(&config.jobs_prefix)
                || config.jobs_prefix.starts_with(p.as_str())
            {
                return Err(ConfigError::new(
                    name,
                    format!(
                        "{p:?} must be non-empty and outside JOBS_PREFIX {:?} (or its writes would trigger this function again)",
                        config.jobs_prefix
                    ),
                ));
            }
        }
        Ok(config)
    }

    /// Failed images a job of `images` images tolerates: the larger of the count and the
    /// percentage (rounded down), so small jobs (count) and large ones (percentage) alike
    /// finish despite a few bad images. Passed to the map as one `ToleratedFailureCount`.
    pub fn tolerated_failures(&self, images: usize) -> u64 {
        let by_percentage = images as u64 * self.tolerated_failure_percentage / 100;
        self.tolerated_failure_count.max(by_percentage)
    }

    /// The ARN an execution named `name` gets (deterministic for Standard workflows).
    pub fn execution_arn(&self, name: &str) -> String {
        format!(
            "{}:{name}",
            self.state_machine_arn
                .replacen(":stateMachine:", ":execution:", 1)
        )
    }
}

//! Settings, from environment variables: the mapping's (see [`segment_personalize_core`]) and
//! the function's own.

use std::time::Duration;

use segment_personalize_core as segment;
use shared::config::{optional, parse_or, ConfigError, Source};

/// Default of `PERSONALIZE_TIMEOUT_MS`: the whole call, retries included (Segment waits 5 s).
pub const DEFAULT_TIMEOUT_MS: u64 = 4_000;
/// Default of `PERSONALIZE_MAX_ATTEMPTS`.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;

/// Settings, from environment variables.
#[derive(Debug, Clone)]
pub struct Config {
    /// The mapping: `PERSONALIZE_TRACKING_ID`, `EVENT_TYPE_MAP`, `ITEM_ID_PATHS`, ... (see
    /// [`segment_personalize_core`]).
    pub mapping: segment::Config,
    /// `DEAD_LETTER_QUEUE_URL` (optional): where invalid messages of SQS batches go.
    pub dead_letter_queue_url: Option<String>,
    /// `PERSONALIZE_TIMEOUT_MS` (default 4000, 100-60000): one PutEvents/PutUsers call, retries
    /// included.
    pub timeout: Duration,
    /// `PERSONALIZE_MAX_ATTEMPTS` (default 3, 1-10): attempts of the SDK's standard retry
    /// (throttling, 5xx, time-outs), with exponential backoff.
    pub max_attempts: u32,
}

impl Config {
    pub fn from_source(src: &impl Source) -> Result<Self, ConfigError> {
        let mapping = segment::Config::from_source(src)?;
        let timeout_ms: u64 = parse_or(src, "PERSONALIZE_TIMEOUT_MS", DEFAULT_TIMEOUT_MS)?;
        if !(100..=60_000).contains(&timeout_ms) {
            return Err(ConfigError::new(
                "PERSONALIZE_TIMEOUT_MS",
                format!("{timeout_ms}, must be 100 to 60000"),
            ));
        }
        let max_attempts: u32 = parse_or(src, "PERSONALIZE_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS)?;
        if !(1..=10).contains(&max_attempts) {
            return Err(ConfigError::new(
                "PERSONALIZE_MAX_ATTEMPTS",
                format!("{max_attempts}, must be 1 to 10"),
            ));
        }
        let dead_letter_queue_url = optional(src, "DEAD_LETTER_QUEUE_URL");
        Ok(Self {
            mapping,
            dead_letter_queue_url,
            timeout: Duration::from_millis(timeout_ms),
            max_attempts,
        })
    }
}

//! `image-job-report`'s settings, from environment variables.

use std::time::Duration;

use image_background_core::keys::DEFAULT_REPORT_PREFIX;
use shared::config::{parse_or, prefix_or, required, ConfigError, Source};

/// SigV4's longest presigned URL validity: 7 days.
pub const MAX_URL_EXPIRES_SECONDS: u64 = 604_800;

/// Settings, from environment variables.
#[derive(Debug, Clone)]
pub struct Config {
    /// `STATUS_TABLE` (required).
    pub status_table: String,
    /// `REPORT_BUCKET` (required).
    pub report_bucket: String,
    /// `REPORT_PREFIX` (default `reports/`).
    pub report_prefix: String,
    /// `TOPIC_ARN` (required).
    pub topic_arn: String,
    /// `URL_EXPIRES_SECONDS` (default and maximum 604800).
    pub url_expires: Duration,
}

impl Config {
    pub fn from_source(src: &impl Source) -> Result<Self, ConfigError> {
        let secs = parse_or(src, "URL_EXPIRES_SECONDS", MAX_URL_EXPIRES_SECONDS)?;
        if !(1..=MAX_URL_EXPIRES_SECONDS).contains(&secs) {
            return Err(ConfigError::new(
                "URL_EXPIRES_SECONDS",
                format!(
                    "{secs} is outside 1..={MAX_URL_EXPIRES_SECONDS} (the SigV4 presigning limit)"
                ),
            ));
        }
        Ok(Self {
            status_table: required(src, "STATUS_TABLE")?,
            report_bucket: required(src, "REPORT_BUCKET")?,
            report_prefix: prefix_or(src, "REPORT_PREFIX", DEFAULT_REPORT_PREFIX, true)?,
            topic_arn: required(src, "TOPIC_ARN")?,
            url_expires: Duration::from_secs(secs),
        })
    }
}

//! `detect-labels`' settings, from environment variables.

use shared::config::{prefix_or, required, ConfigError, Source};

/// Default of `KEY_PREFIX`.
pub const DEFAULT_KEY_PREFIX: &str = "uploads/";

/// Settings, from environment variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `UPLOAD_BUCKET` (required): the only bucket images are read from.
    pub upload_bucket: String,
    /// `KEY_PREFIX` (default `uploads/`): keys must start with it (`""` when set to `/`).
    pub key_prefix: String,
}

impl Config {
    pub fn from_source(src: &impl Source) -> Result<Self, ConfigError> {
        let upload_bucket = required(src, "UPLOAD_BUCKET")?;
        let key_prefix = prefix_or(src, "KEY_PREFIX", DEFAULT_KEY_PREFIX, true)?;
        Ok(Self {
            upload_bucket,
            key_prefix,
        })
    }
}

//! The function's settings, read once per cold start.
//!
//! | variable | meaning |
//! |---|---|
//! | `OUTPUT_BUCKET` | bucket the designer files are written to (required) |
//! | `OUTPUT_PREFIX` | key prefix of the designer files, default `lex-designer` (joined with one `/`) |
//! | `RAW_PREFIX` | only `.json` keys below it are converted, default `genesys/` (always ends in `/`) |
//! | `RAW_BUCKET` | the raw bucket: required by the backfill; the converter takes the bucket S3 events name |
//! | `FAILED_PREFIX` | where malformed documents are copied, in their own bucket, default `failed/` |
//! | `SKIPPED_PREFIX` | where reason files of skipped conversations go, in the document's bucket, default `skipped/` |
//! | `REDACT_PII` | `true` replaces personal data with `[PII]`, default `false` |
//! | `DESIGNER_LANGUAGES` | transcript languages kept, comma-separated English tags, default `en-US` |
//! | `BACKFILL_TOPIC_ARN` | the backfill's SNS topic for the report notification (optional: none sent) |
//!
//! `FAILED_PREFIX` and `SKIPPED_PREFIX` must be non-empty and must not overlap `RAW_PREFIX`: the
//! converter's own writes would trigger it again.

use genesys_lex_core::{Languages, Options};
use shared::config::{bool_or, optional, prefix_or, required, ConfigError, Env, Source};

pub const OUTPUT_BUCKET: &str = "OUTPUT_BUCKET";
pub const OUTPUT_PREFIX: &str = "OUTPUT_PREFIX";
pub const RAW_PREFIX: &str = "RAW_PREFIX";
pub const RAW_BUCKET: &str = "RAW_BUCKET";
pub const FAILED_PREFIX: &str = "FAILED_PREFIX";
pub const SKIPPED_PREFIX: &str = "SKIPPED_PREFIX";
pub const REDACT_PII: &str = "REDACT_PII";
pub const DESIGNER_LANGUAGES: &str = "DESIGNER_LANGUAGES";
pub const BACKFILL_TOPIC_ARN: &str = "BACKFILL_TOPIC_ARN";

/// Default of `OUTPUT_PREFIX`.
pub const DEFAULT_OUTPUT_PREFIX: &str = "lex-designer";
/// Default of `RAW_PREFIX`.
pub const DEFAULT_RAW_PREFIX: &str = "genesys/";
/// Default of `FAILED_PREFIX`.
pub const DEFAULT_FAILED_PREFIX: &str = "failed/";
/// Default of `SKIPPED_PREFIX`.
pub const DEFAULT_SKIPPED_PREFIX: &str = "skipped/";

/// Settings, from environment variables.
#[derive(Debug, Clone)]
pub struct Config {
    /// `OUTPUT_BUCKET` (required): where designer files go.
    pub output_bucket: String,
    /// `OUTPUT_PREFIX` (default `lex-designer`).
    pub output_prefix: String,
    /// `RAW_PREFIX` (default `genesys/`): only keys below it are converted.
    pub raw_prefix: String,
    /// `RAW_BUCKET`: the bucket the backfill lists and converts (required there).
    pub raw_bucket: Option<String>,
    /// `FAILED_PREFIX` (default `failed/`), in the bucket of the failed document.
    pub failed_prefix: String,
    /// `SKIPPED_PREFIX` (default `skipped/`), in the bucket of the skipped document.
    pub skipped_prefix: String,
    /// `REDACT_PII` (default false) and `DESIGNER_LANGUAGES` (default `en-US`; `en-XX` tags
    /// only, see [`Languages::parse`]).
    pub options: Options,
    /// `BACKFILL_TOPIC_ARN` (optional): where the backfill's report notification goes.
    pub backfill_topic_arn: Option<String>,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_source(&Env)
    }

    /// Reads any configuration source (tests pass an array of pairs).
    pub fn from_source(src: &impl Source) -> Result<Self, ConfigError> {
        let config = Self {
            output_bucket: required(src, OUTPUT_BUCKET)?,
            output_prefix: prefix_or(src, OUTPUT_PREFIX, DEFAULT_OUTPUT_PREFIX, false)?,
            raw_prefix: prefix_or(src, RAW_PREFIX, DEFAULT_RAW_PREFIX, true)?,
            raw_bucket: optional(src, RAW_BUCKET),
            failed_prefix: prefix_or(src, FAILED_PREFIX, DEFAULT_FAILED_PREFIX, true)?,
            skipped_prefix: prefix_or(src, SKIPPED_PREFIX, DEFAULT_SKIPPED_PREFIX, true)?,
            options: Options {
                redact_pii: bool_or(src, REDACT_PII, false)?,
                languages: match optional(src, DESIGNER_LANGUAGES) {
                    None => Languages::default(),
                    Some(list) => Languages::parse(&list)
                        .map_err(|reason| ConfigError::new(DESIGNER_LANGUAGES, reason))?,
                },
            },
            backfill_topic_arn: optional(src, BACKFILL_TOPIC_ARN),
        };
        for (name, p) in [
            (FAILED_PREFIX, &config.failed_prefix),
            (SKIPPED_PREFIX, &config.skipped_prefix),
        ] {
            if p.is_empty()
                || p.starts_with(&config.raw_prefix)
                || config.raw_prefix.starts_with(p.as_str())
            {
                return Err(ConfigError::new(
                    name,
                    format!("{p:?} must be non-empty and outside RAW_PREFIX {:?} (or its writes would trigger the converter again)", config.raw_prefix),
                ));
            }
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_refuses_prefixes_that_would_retrigger() {
        let err = Config::from_source(
            &[("OUTPUT_BUCKET", "o"), ("FAILED_PREFIX", "genesys/failed/")].as_slice(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("FAILED_PREFIX"), "{err}");
        let err = Config::from_source(&[("RAW_PREFIX", "x")].as_slice()).unwrap_err();
        assert!(err.to_string().contains("OUTPUT_BUCKET"));
        let c = Config::from_source(
            &[
                ("OUTPUT_BUCKET", "mlpipe-lex-transcripts"),
                ("RAW_BUCKET", "mlpipe-genesys-raw"),
                ("REDACT_PII", "true"),
                ("OUTPUT_PREFIX", "/lex/"),
            ]
            .as_slice(),
        )
        .unwrap();
        assert!(c.options.redact_pii);
        assert_eq!(c.output_prefix, "lex");
    }

    #[test]
    fn defaults() {
        let c = Config::from_source(&[("OUTPUT_BUCKET", "o")].as_slice()).unwrap();
        assert_eq!(c.output_bucket, "o");
        assert_eq!(c.output_prefix, "lex-designer");
        assert_eq!(c.raw_prefix, "genesys/");
        assert_eq!(c.raw_bucket, None);
        assert_eq!(c.backfill_topic_arn, None);
        assert_eq!(c.failed_prefix, "failed/");
        assert_eq!(c.skipped_prefix, "skipped/");
        assert!(!c.options.redact_pii);
        assert!(c.options.languages.is_default());
    }

    #[test]
    fn designer_languages_take_english_variants_only() {
        let with = |list: &str| {
            Config::from_source(&[("OUTPUT_BUCKET", "o"), (DESIGNER_LANGUAGES, list)].as_slice())
        };
        let c = with("en-US, en-GB,en_au,EN-IN").unwrap();
        for tag in ["en-US", "en-GB", "en-AU", "en-IN"] {
            assert!(c.options.languages.contains(tag), "{tag}");
        }
        assert!(!c.options.languages.contains("es-US"));
        // Blank: the default.
        assert!(with("  ").unwrap().options.languages.is_default());
        for (list, want) in [
            ("en-US,es-US", "\"es-US\" is not English"),
            ("fr", "\"fr\" is not English"),
            ("en-US,,en-GB", "entry 2 is empty"),
            ("en-US;en-GB", "not a language tag of the form en-XX"),
            ("english", "not a language tag of the form en-XX"),
        ] {
            let err = with(list).unwrap_err();
            assert_eq!(err.name, DESIGNER_LANGUAGES, "{list}");
            assert_eq!(
                shared::PipelineError::from(err.clone()).kind,
                shared::ErrorKind::Misconfigured
            );
            let text = err.to_string();
            assert!(
                text.starts_with("configuration DESIGNER_LANGUAGES: ") && text.contains(want),
                "{list}: {text}"
            );
        }
    }
}

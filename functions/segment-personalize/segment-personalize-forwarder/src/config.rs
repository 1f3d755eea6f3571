//! Settings, from environment variables: the mapping's (see [`segment_personalize_core`]) and
//! the function's own.

use std::time::Duration;

use segment_personalize_core as segment;
use shared::config::{optional, parse_or, ConfigError, Source};

/// Default of `PERSONALIZE_TIMEOUT_MS`: the whole call, retries included (Segment waits 5 s).
pub const DEFAULT_TIMEOUT_MS: u64 = 4_000;
/// Default of `PERSONALIZE_MAX_ATTEMPTS`.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;
/// Default of `SEGMENT_DEADLINE_MS`: Segment waits 5 s per message, invoke and answer included.
pub const DEFAULT_SEGMENT_DEADLINE_MS: u64 = 4_000;
/// Default of `DEADLINE_MARGIN_MS`: kept free before the function's own time-out.
pub const DEFAULT_DEADLINE_MARGIN_MS: u64 = 500;
/// Default of `MIN_CALL_MS`: no call starts with less time left than this.
pub const DEFAULT_MIN_CALL_MS: u64 = 200;

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
    /// `SEGMENT_DEADLINE_MS` (default 4000, 500-4900): a Segment message is answered within
    /// this, counted from the start of the invocation; what is not sent by then fails as
    /// `Retryable`.
    pub segment_deadline: Duration,
    /// `DEADLINE_MARGIN_MS` (default 500, 0-10000): calls stop this long before the function's
    /// own deadline (SQS batches; Segment messages too when the function's time-out is shorter).
    pub deadline_margin: Duration,
    /// `MIN_CALL_MS` (default 200, 0-5000): no call starts with less time than this left.
    pub min_call: Duration,
    /// `USER_TRAITS_TABLE` (optional): the DynamoDB table of each user's last known traits,
    /// merged under an `identify`'s traits before PutUsers. Unset: no merge.
    pub user_traits_table: Option<String>,
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
        let ms = |name: &str, default: u64, min: u64, max: u64| -> Result<Duration, ConfigError> {
            let v: u64 = parse_or(src, name, default)?;
            if !(min..=max).contains(&v) {
                return Err(ConfigError::new(
                    name,
                    format!("{v}, must be {min} to {max}"),
                ));
            }
            Ok(Duration::from_millis(v))
        };
        Ok(Self {
            mapping,
            dead_letter_queue_url,
            timeout: Duration::from_millis(timeout_ms),
            max_attempts,
            segment_deadline: ms(
                "SEGMENT_DEADLINE_MS",
                DEFAULT_SEGMENT_DEADLINE_MS,
                500,
                4_900,
            )?,
            deadline_margin: ms("DEADLINE_MARGIN_MS", DEFAULT_DEADLINE_MARGIN_MS, 0, 10_000)?,
            min_call: ms("MIN_CALL_MS", DEFAULT_MIN_CALL_MS, 0, 5_000)?,
            user_traits_table: optional(src, "USER_TRAITS_TABLE"),
        })
    }
}

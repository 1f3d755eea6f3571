//! Settings, from environment variables (see the README for each one). A missing or invalid
//! setting does not crash-loop the function: every request is then answered `500
//! Misconfigured` naming the variable ([`shared::http::serve_error`]).

use std::time::Duration;

use segment_personalize_core::recommendations::{
    arn_example, is_personalize_arn, RouteKind, Target, TargetKind,
};
use shared::config::{optional, parse_or, required, ConfigError, Source};

/// Default of `CACHE_TTL_SECONDS`.
pub const DEFAULT_CACHE_TTL_SECONDS: u32 = 300;
/// Default of `STALE_TTL_SECONDS`.
pub const DEFAULT_STALE_TTL_SECONDS: u32 = 86_400;
/// Largest `CACHE_TTL_SECONDS` / `STALE_TTL_SECONDS` (30 days).
pub const MAX_TTL_SECONDS: u32 = 2_592_000;
/// Default of `PERSONALIZE_TIMEOUT_MS`.
pub const DEFAULT_PERSONALIZE_TIMEOUT_MS: u64 = 2000;
/// Default of `CACHE_TIMEOUT_MS`.
pub const DEFAULT_CACHE_TIMEOUT_MS: u64 = 1000;

/// Settings, from environment variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `CAMPAIGN_ARN` or `RECOMMENDER_ARN`.
    pub user_target: Target,
    /// `RELATED_CAMPAIGN_ARN` or `RELATED_RECOMMENDER_ARN`: a related-items (Similar-Items,
    /// "More like X") campaign or recommender. Unset: `/related` answers 404 "not configured"
    /// (the user campaign cannot answer it: it needs a `userId`).
    pub related_target: Option<Target>,
    /// `CACHE_TABLE`.
    pub cache_table: String,
    /// `DEFAULT_FILTER_ARN`.
    pub default_filter_arn: Option<String>,
    /// `CACHE_TTL_SECONDS`.
    pub cache_ttl_seconds: u32,
    /// `STALE_TTL_SECONDS`.
    pub stale_ttl_seconds: u32,
    /// `PERSONALIZE_TIMEOUT_MS`.
    pub personalize_timeout: Duration,
    /// `CACHE_TIMEOUT_MS`.
    pub cache_timeout: Duration,
}

impl Config {
    pub fn from_source(src: &impl Source) -> Result<Self, ConfigError> {
        let cache_table = required(src, "CACHE_TABLE")?;
        let user_target = target(src, "CAMPAIGN_ARN", "RECOMMENDER_ARN")?.ok_or_else(|| {
            ConfigError::new(
                "CAMPAIGN_ARN",
                "is not set (set CAMPAIGN_ARN or RECOMMENDER_ARN)",
            )
        })?;
        let related_target = target(src, "RELATED_CAMPAIGN_ARN", "RELATED_RECOMMENDER_ARN")?;
        let default_filter_arn = match optional(src, "DEFAULT_FILTER_ARN") {
            Some(arn) if is_personalize_arn(&arn, "filter") => Some(arn),
            Some(_) => {
                return Err(ConfigError::new(
                    "DEFAULT_FILTER_ARN",
                    format!("not a filter ARN, expected {}", arn_example("filter")),
                ))
            }
            None => None,
        };
        let cache_ttl_seconds = bounded(
            src,
            "CACHE_TTL_SECONDS",
            DEFAULT_CACHE_TTL_SECONDS,
            0,
            MAX_TTL_SECONDS,
        )?;
        let stale_ttl_seconds = bounded(
            src,
            "STALE_TTL_SECONDS",
            DEFAULT_STALE_TTL_SECONDS,
            0,
            MAX_TTL_SECONDS,
        )?;
        let personalize_timeout_ms = bounded(
            src,
            "PERSONALIZE_TIMEOUT_MS",
            DEFAULT_PERSONALIZE_TIMEOUT_MS,
            100,
            30_000,
        )?;
        let cache_timeout_ms = bounded(
            src,
            "CACHE_TIMEOUT_MS",
            DEFAULT_CACHE_TIMEOUT_MS,
            50,
            30_000,
        )?;
        Ok(Self {
            user_target,
            related_target,
            cache_table,
            default_filter_arn,
            cache_ttl_seconds,
            stale_ttl_seconds,
            personalize_timeout: Duration::from_millis(personalize_timeout_ms),
            cache_timeout: Duration::from_millis(cache_timeout_ms),
        })
    }

    /// The campaign or recommender of a route; `None`: the route is not configured.
    pub fn target(&self, kind: RouteKind) -> Option<&Target> {
        match kind {
            RouteKind::User => Some(&self.user_target),
            RouteKind::Related => self.related_target.as_ref(),
        }
    }
}

/// The target set by one of two variables; both set is an error.
fn target(
    src: &impl Source,
    campaign_var: &'static str,
    recommender_var: &'static str,
) -> Result<Option<Target>, ConfigError> {
    let campaign = optional(src, campaign_var);
    let recommender = optional(src, recommender_var);
    let (kind, arn, variable) = match (campaign, recommender) {
        (Some(_), Some(_)) => {
            return Err(ConfigError::new(
                campaign_var,
                format!("both {campaign_var} and {recommender_var} are set, set exactly one"),
            ))
        }
        (Some(arn), None) => (TargetKind::Campaign, arn, campaign_var),
        (None, Some(arn)) => (TargetKind::Recommender, arn, recommender_var),
        (None, None) => return Ok(None),
    };
    if !is_personalize_arn(&arn, kind.resource()) {
        return Err(ConfigError::new(
            variable,
            format!(
                "not a {} ARN, expected {}",
                kind.resource(),
                arn_example(kind.resource())
            ),
        ));
    }
    Ok(Some(Target {
        kind,
        arn,
        variable,
    }))
}

fn bounded<T>(src: &impl Source, name: &str, default: T, min: T, max: T) -> Result<T, ConfigError>
where
    T: std::str::FromStr + PartialOrd + Copy + std::fmt::Display,
    T::Err: std::fmt::Display,
{
    let value = parse_or(src, name, default)?;
    if value < min || value > max {
        return Err(ConfigError::new(
            name,
            format!("{value} is out of range, must be from {min} to {max}"),
        ));
    }
    Ok(value)
}

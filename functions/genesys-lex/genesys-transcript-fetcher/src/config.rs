//! The function's settings, read once per cold start.
//!
//! | variable | meaning |
//! |---|---|
//! | `GENESYS_ENVIRONMENT` | Genesys Cloud region domain, e.g. `mypurecloud.com`; required unless both URLs below are set |
//! | `GENESYS_LOGIN_URL` | OAuth host, default `https://login.{GENESYS_ENVIRONMENT}` |
//! | `GENESYS_API_URL` | platform API host, default `https://api.{GENESYS_ENVIRONMENT}` |
//! | `GENESYS_CREDENTIALS_SECRET_ID` | Secrets Manager id of `{"clientId","clientSecret"}` (required) |
//! | `RAW_BUCKET` | bucket the raw transcript documents are written to (required) |
//! | `RAW_PREFIX` | key prefix in `RAW_BUCKET`, default `genesys/` (always ends in `/`) |
//! | `HTTP_TIMEOUT_MS` | whole-request timeout of every Genesys call, integer milliseconds, default 10000 |
//! | `WAIT_QUEUE_URL` | SQS queue where events wait for their transcript (unset: a transcript that is not ready fails the invocation, as Lambda's retries then decide) |
//! | `PARKED_QUEUE_URL` | SQS queue of events given up on, with the reason (required with `WAIT_QUEUE_URL`) |
//! | `TRANSCRIPT_WAIT_MINUTES` | how long to wait for a transcript, 1 to 20160 (14 days), default 1440 (24 h) |
//! | `WAIT_FIRST_DELAY_SECONDS` | first delay, doubling up to 900 s, 1 to 900, default 60 |

use std::time::Duration;

use shared::config::{optional, parse_or, prefix_or, required, ConfigError, Env, Source};

pub const GENESYS_ENVIRONMENT: &str = "GENESYS_ENVIRONMENT";
pub const GENESYS_LOGIN_URL: &str = "GENESYS_LOGIN_URL";
pub const GENESYS_API_URL: &str = "GENESYS_API_URL";
pub const GENESYS_CREDENTIALS_SECRET_ID: &str = "GENESYS_CREDENTIALS_SECRET_ID";
pub const RAW_BUCKET: &str = "RAW_BUCKET";
pub const RAW_PREFIX: &str = "RAW_PREFIX";
pub const HTTP_TIMEOUT_MS: &str = "HTTP_TIMEOUT_MS";
pub const WAIT_QUEUE_URL: &str = "WAIT_QUEUE_URL";
pub const PARKED_QUEUE_URL: &str = "PARKED_QUEUE_URL";
pub const TRANSCRIPT_WAIT_MINUTES: &str = "TRANSCRIPT_WAIT_MINUTES";
pub const WAIT_FIRST_DELAY_SECONDS: &str = "WAIT_FIRST_DELAY_SECONDS";

/// Default of `RAW_PREFIX`.
pub const DEFAULT_RAW_PREFIX: &str = "genesys/";
/// Default of `HTTP_TIMEOUT_MS`.
pub const DEFAULT_HTTP_TIMEOUT_MS: u64 = 10_000;
/// Default of `TRANSCRIPT_WAIT_MINUTES` (24 hours).
pub const DEFAULT_TRANSCRIPT_WAIT_MINUTES: u32 = 1440;
/// Default of `WAIT_FIRST_DELAY_SECONDS`.
pub const DEFAULT_WAIT_FIRST_DELAY_SECONDS: u32 = 60;

/// Where and how long events wait for their transcript.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    pub wait_queue_url: String,
    pub parked_queue_url: String,
    /// `TRANSCRIPT_WAIT_MINUTES` in seconds.
    pub window_seconds: u32,
    pub first_delay_seconds: u32,
}

/// Validated settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// OAuth base URL, no trailing slash (`https://login.mypurecloud.com`).
    pub login_url: String,
    /// Platform API base URL, no trailing slash (`https://api.mypurecloud.com`).
    pub api_url: String,
    /// Secrets Manager id (name or ARN) of the OAuth client credentials.
    pub credentials_secret_id: String,
    pub raw_bucket: String,
    /// Empty or ending in exactly one `/`.
    pub raw_prefix: String,
    pub http_timeout: Duration,
    /// `None` without `WAIT_QUEUE_URL`.
    pub waiting: Option<Waiting>,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_source(&Env)
    }

    /// Reads any configuration source (tests pass an array of pairs).
    pub fn from_source(src: &impl Source) -> Result<Self, ConfigError> {
        let login = optional(src, GENESYS_LOGIN_URL);
        let api = optional(src, GENESYS_API_URL);
        let environment = if login.is_some() && api.is_some() {
            None
        } else {
            Some(environment(src)?)
        };
        let env_url = |host: &str| {
            format!(
                "https://{host}.{}",
                environment.as_deref().unwrap_or_default()
            )
        };
        let login_url = match login {
            Some(url) => base_url(GENESYS_LOGIN_URL, &url)?,
            None => env_url("login"),
        };
        let api_url = match api {
            Some(url) => base_url(GENESYS_API_URL, &url)?,
            None => env_url("api"),
        };

        let timeout_ms: u64 = parse_or(src, HTTP_TIMEOUT_MS, DEFAULT_HTTP_TIMEOUT_MS)?;
        if timeout_ms == 0 {
            return Err(ConfigError::new(
                HTTP_TIMEOUT_MS,
                "must be at least 1 (milliseconds)",
            ));
        }

        Ok(Self {
            login_url,
            api_url,
            credentials_secret_id: required(src, GENESYS_CREDENTIALS_SECRET_ID)?,
            raw_bucket: required(src, RAW_BUCKET)?,
            raw_prefix: prefix_or(src, RAW_PREFIX, DEFAULT_RAW_PREFIX, true)?,
            http_timeout: Duration::from_millis(timeout_ms),
            waiting: waiting(src)?,
        })
    }
}

/// The waiting settings, if `WAIT_QUEUE_URL` is set.
fn waiting(src: &impl Source) -> Result<Option<Waiting>, ConfigError> {
    let Some(wait_queue_url) = optional(src, WAIT_QUEUE_URL) else {
        return Ok(None);
    };
    let parked_queue_url = required(src, PARKED_QUEUE_URL).map_err(|_| {
        ConfigError::new(
            PARKED_QUEUE_URL,
            format!("is not set (needed with {WAIT_QUEUE_URL})"),
        )
    })?;
    let minutes: u32 = parse_or(
        src,
        TRANSCRIPT_WAIT_MINUTES,
        DEFAULT_TRANSCRIPT_WAIT_MINUTES,
    )?;
    if !(1..=20_160).contains(&minutes) {
        return Err(ConfigError::new(
            TRANSCRIPT_WAIT_MINUTES,
            format!("{minutes}, must be 1 to 20160 (minutes)"),
        ));
    }
    let first: u32 = parse_or(
        src,
        WAIT_FIRST_DELAY_SECONDS,
        DEFAULT_WAIT_FIRST_DELAY_SECONDS,
    )?;
    if !(1..=900).contains(&first) {
        return Err(ConfigError::new(
            WAIT_FIRST_DELAY_SECONDS,
            format!("{first}, must be 1 to 900 (seconds)"),
        ));
    }
    Ok(Some(Waiting {
        wait_queue_url,
        parked_queue_url,
        window_seconds: minutes * 60,
        first_delay_seconds: first,
    }))
}

/// `GENESYS_ENVIRONMENT` as a bare domain (`mypurecloud.com`, `usw2.pure.cloud`).
fn environment(src: &impl Source) -> Result<String, ConfigError> {
    let env = required(src, GENESYS_ENVIRONMENT).map_err(|_| {
        ConfigError::new(
            GENESYS_ENVIRONMENT,
            format!(
                "is not set (needed unless both {GENESYS_LOGIN_URL} and {GENESYS_API_URL} are set)"
            ),
        )
    })?;
    let env = env.trim_end_matches('.').to_ascii_lowercase();
    let valid = env.contains('.')
        && env
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        && !env.starts_with(['.', '-']);
    if valid {
        Ok(env)
    } else {
        Err(ConfigError::new(
            GENESYS_ENVIRONMENT,
            format!("invalid value {env:?}: expected a domain such as mypurecloud.com, without scheme or host prefix"),
        ))
    }
}

/// An `http(s)://host[:port][/path]` base URL without trailing slash.
fn base_url(name: &str, raw: &str) -> Result<String, ConfigError> {
    let url = raw.trim_end_matches('/');
    let host = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    match host {
        Some(rest) if !rest.is_empty() && !rest.contains(['?', '#', ' ']) => Ok(url.to_owned()),
        _ => Err(ConfigError::new(
            name,
            format!("invalid value {raw:?}: expected an http(s) base URL such as https://login.mypurecloud.com"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: [(&str, &str); 3] = [
        (GENESYS_ENVIRONMENT, "mypurecloud.com"),
        (GENESYS_CREDENTIALS_SECRET_ID, "genesys/oauth"),
        (RAW_BUCKET, "raw"),
    ];

    fn with<const N: usize>(
        extra: [(&'static str, &'static str); N],
    ) -> Vec<(&'static str, &'static str)> {
        let mut pairs: Vec<_> = extra.to_vec();
        pairs.extend(
            BASE.iter()
                .filter(|(k, _)| !extra.iter().any(|(e, _)| e == k)),
        );
        pairs
    }

    fn load<const N: usize>(
        extra: [(&'static str, &'static str); N],
    ) -> Result<Config, ConfigError> {
        Config::from_source(&with(extra).as_slice())
    }

    #[test]
    fn waiting_settings() {
        assert_eq!(load([]).unwrap().waiting, None);
        let w = load([
            (WAIT_QUEUE_URL, "https://sqs/wait"),
            (PARKED_QUEUE_URL, "https://sqs/parked"),
        ])
        .unwrap()
        .waiting
        .unwrap();
        assert_eq!(
            (w.window_seconds, w.first_delay_seconds),
            (86_400, 60),
            "24 h, first delay 60 s"
        );
        let w = load([
            (WAIT_QUEUE_URL, "https://sqs/wait"),
            (PARKED_QUEUE_URL, "https://sqs/parked"),
            (TRANSCRIPT_WAIT_MINUTES, "120"),
            (WAIT_FIRST_DELAY_SECONDS, "1"),
        ])
        .unwrap()
        .waiting
        .unwrap();
        assert_eq!((w.window_seconds, w.first_delay_seconds), (7200, 1));
        let err = load([(WAIT_QUEUE_URL, "https://sqs/wait")]).unwrap_err();
        assert_eq!(err.name, PARKED_QUEUE_URL);
        for (var, value) in [
            (TRANSCRIPT_WAIT_MINUTES, "0"),
            (TRANSCRIPT_WAIT_MINUTES, "20161"),
            (WAIT_FIRST_DELAY_SECONDS, "0"),
            (WAIT_FIRST_DELAY_SECONDS, "901"),
        ] {
            let err = load([
                (WAIT_QUEUE_URL, "https://sqs/wait"),
                (PARKED_QUEUE_URL, "https://sqs/parked"),
                (var, value),
            ])
            .unwrap_err();
            assert_eq!(err.name, var, "{value}");
        }
    }

    #[test]
    fn defaults_derive_from_the_environment() {
        let c = Config::from_source(&BASE).unwrap();
        assert_eq!(c.login_url, "https://login.mypurecloud.com");
        assert_eq!(c.api_url, "https://api.mypurecloud.com");
        assert_eq!(c.credentials_secret_id, "genesys/oauth");
        assert_eq!(c.raw_bucket, "raw");
        assert_eq!(c.raw_prefix, "genesys/");
        assert_eq!(c.http_timeout, Duration::from_millis(10_000));
    }

    #[test]
    fn overrides_and_prefix_normalisation() {
        let c = load([
            (GENESYS_LOGIN_URL, "http://127.0.0.1:4568/"),
            (GENESYS_API_URL, "http://127.0.0.1:4568"),
            (RAW_PREFIX, "/landing/genesys"),
            (HTTP_TIMEOUT_MS, "2500"),
        ])
        .unwrap();
        assert_eq!(c.login_url, "http://127.0.0.1:4568");
        assert_eq!(c.api_url, "http://127.0.0.1:4568");
        assert_eq!(c.raw_prefix, "landing/genesys/");
        assert_eq!(c.http_timeout, Duration::from_millis(2500));
    }

    #[test]
    fn environment_is_optional_when_both_urls_are_set() {
        let src = [
            (GENESYS_LOGIN_URL, "https://login.example.test"),
            (GENESYS_API_URL, "https://api.example.test"),
            (GENESYS_CREDENTIALS_SECRET_ID, "s"),
            (RAW_BUCKET, "b"),
        ];
        let c = Config::from_source(&src).unwrap();
        assert_eq!(c.login_url, "https://login.example.test");

        let src = [
            (GENESYS_LOGIN_URL, "https://login.example.test"),
            (GENESYS_CREDENTIALS_SECRET_ID, "s"),
            (RAW_BUCKET, "b"),
        ];
        let err = Config::from_source(&src).unwrap_err();
        assert_eq!(err.name, GENESYS_ENVIRONMENT);
        let c = load([(GENESYS_LOGIN_URL, "http://localhost:1")]).unwrap();
        assert_eq!(c.login_url, "http://localhost:1");
        assert_eq!(c.api_url, "https://api.mypurecloud.com");
    }

    #[test]
    fn invalid_timeout_names_the_variable() {
        let err = load([(HTTP_TIMEOUT_MS, "ten")]).unwrap_err();
        assert_eq!(err.name, HTTP_TIMEOUT_MS);
        assert!(err.to_string().contains("HTTP_TIMEOUT_MS"), "{err}");
        assert!(err.to_string().contains("\"ten\""), "{err}");
        assert_eq!(
            load([(HTTP_TIMEOUT_MS, "0")]).unwrap_err().name,
            HTTP_TIMEOUT_MS
        );
        assert_eq!(
            load([(HTTP_TIMEOUT_MS, "-5")]).unwrap_err().name,
            HTTP_TIMEOUT_MS
        );
    }

    #[test]
    fn required_values_and_bad_urls_are_named() {
        let src = [(GENESYS_ENVIRONMENT, "mypurecloud.com"), (RAW_BUCKET, "b")];
        assert_eq!(
            Config::from_source(&src).unwrap_err().name,
            GENESYS_CREDENTIALS_SECRET_ID
        );
        let src = [
            (GENESYS_ENVIRONMENT, "mypurecloud.com"),
            (GENESYS_CREDENTIALS_SECRET_ID, "s"),
        ];
        assert_eq!(Config::from_source(&src).unwrap_err().name, RAW_BUCKET);
        assert_eq!(
            load([(GENESYS_ENVIRONMENT, "https://mypurecloud.com")])
                .unwrap_err()
                .name,
            GENESYS_ENVIRONMENT
        );
        assert_eq!(
            load([(GENESYS_API_URL, "api.mypurecloud.com")])
                .unwrap_err()
                .name,
            GENESYS_API_URL
        );
        assert_eq!(load([(RAW_PREFIX, "a//b")]).unwrap_err().name, RAW_PREFIX);
    }
}

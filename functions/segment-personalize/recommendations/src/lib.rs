//! `recommendations`: an HTTP endpoint serving Amazon Personalize recommendations through a
//! DynamoDB cache.
//!
//! It sits behind an API Gateway HTTP API (payload format 2.0). A request for a user's
//! recommendations (or items related to an item) is answered from the cache while the cached
//! answer is fresh; otherwise Personalize `GetRecommendations` is called and the answer cached.
//! When Personalize is down, throttled or slow, the last answer is served as *stale* rather than
//! failing, for as long as the cache keeps it.
//!
//! # Requests
//!
//! * `GET /recommendations/{userId}`: `GetRecommendations` with `userId` (USER_PERSONALIZATION
//!   campaigns, "Recommended for you" recommenders);
//! * `GET /related/{itemId}`: `GetRecommendations` with `itemId` (SIMS / similar-items campaigns,
//!   "More like X" recommenders).
//!
//! | parameter      | rule                                                                      |
//! |----------------|---------------------------------------------------------------------------|
//! | path id        | 1 to 256 characters (the `userId`/`itemId` path parameter, percent-decoded) |
//! | `numResults`   | optional, integer 1 to 500, default 25                                     |
//! | `filterArn`    | optional, `arn:aws:personalize:<region>:<account>:filter/<name>`; default `DEFAULT_FILTER_ARN` |
//! | `filterValues` | optional JSON object, at most 5 entries, keys 1 to 50 of `A-Z a-z 0-9 _`, string values of at most 1000 characters, as the API takes them: `{"CATEGORY":"\"shoes\""}`; needs a filter |
//! | `context`      | optional JSON object, at most 150 entries, keys 1 to 150 of `A-Z a-z 0-9 _`, string values of at most 1000 characters: `{"DEVICE":"mobile"}` |
//!
//! Parameters are read from the raw query string (percent-encoded, `+` is a space). Any other
//! parameter is rejected, as is a repeated one, so a misspelt option is not silently ignored. A
//! stage prefix (`/prod/recommendations/u1` on stage `prod`) and a trailing `/` are accepted.
//!
//! # Environment
//!
//! * `CACHE_TABLE` (required): the DynamoDB table (partition key `cacheKey`, type S; TTL
//!   attribute `expiresAt` enabled).
//! * `CAMPAIGN_ARN` or `RECOMMENDER_ARN` (exactly one): what `/recommendations/{userId}` asks.
//! * `RELATED_CAMPAIGN_ARN` or `RELATED_RECOMMENDER_ARN` (at most one): what `/related/{itemId}`
//!   asks; by default the same campaign or recommender as the user route.
//! * `DEFAULT_FILTER_ARN` (optional): the filter applied when a request names none.
//! * `CACHE_TTL_SECONDS` (default 300, 0 to 2592000): how long an answer is fresh.
//! * `STALE_TTL_SECONDS` (default 86400, 0 to 2592000): how long after that it is kept as a
//!   fallback; the item's `expiresAt` is `freshUntil + STALE_TTL_SECONDS` and DynamoDB TTL deletes
//!   it afterwards (entries past `expiresAt` that TTL has not deleted yet are ignored).
//! * `PERSONALIZE_TIMEOUT_MS` (default 2000, 100 to 30000): the whole `GetRecommendations` call,
//!   retries included (standard retry mode, 2 attempts), so an outage falls back quickly.
//! * `CACHE_TIMEOUT_MS` (default 1000, 50 to 30000): each DynamoDB call (2 attempts).
//! * `POWERTOOLS_SERVICE_NAME`, `POWERTOOLS_LOG_LEVEL`, `POWERTOOLS_METRICS_NAMESPACE`: logging
//!   and metrics, as in every function of the project.
//! * `AWS_ENDPOINT_URL_PERSONALIZE_RUNTIME`, `AWS_ENDPOINT_URL_DYNAMODB` (or `AWS_ENDPOINT_URL`):
//!   the standard SDK variables, used by the local cloud.
//!
//! A missing or invalid setting does not crash-loop the function: every request is answered
//! `500 {"error":"Misconfigured","message":"configuration CAMPAIGN_ARN: ..."}`.
//!
//! # Cache
//!
//! The key is the SHA-256 (hex) of a canonical JSON array of everything that changes the answer:
//! a format version, the route (`user`/`related`), the id, the campaign or recommender ARN,
//! `numResults`, the filter ARN actually used, `filterValues` and `context` (sorted by key; an
//! empty object is the same as none). Items hold `cacheKey`, `response` (the 200 body without
//! `cache`/`cachedAt`, as a JSON string), `createdAt`, `freshUntil` and `expiresAt` (epoch
//! seconds, numbers). Answers larger than 350 000 bytes are not cached (DynamoDB's item limit is
//! 400 KB). A failed cache read or write is logged and counted (`CacheErrors`), never fails the
//! request.
//!
//! # Responses
//!
//! `200`:
//!
//! ```json
//! {"userId": "u-42",
//!  "itemList": [{"itemId": "i-1", "score": 0.41}, {"itemId": "i-7", "score": 0.2, "promotionName": "sale"}],
//!  "recommendationId": "RID-...", "cache": "miss", "cachedAt": "2025-02-09T18:22:15Z"}
//! ```
//!
//! (`itemId` instead of `userId` on `/related`). `score`, `promotionName` and `reason` appear when
//! Personalize gives them. `cachedAt` is when Personalize answered. Headers:
//!
//! | `cache` | `X-Cache` | `Cache-Control`                                      | when                     |
//! |---------|-----------|------------------------------------------------------|--------------------------|
//! | `hit`   | `HIT`     | `private, max-age=<seconds the entry stays fresh>`   | a fresh cached answer    |
//! | `miss`  | `MISS`    | `private, max-age=<CACHE_TTL_SECONDS>`               | Personalize answered     |
//! | `stale` | `STALE`   | `no-store`, plus `Warning: 110 - "Response is Stale"` | Personalize unavailable, an older answer served |
//!
//! Errors are `{"error": <type>, "message": <text>}`:
//!
//! | status | error              | when                                                       |
//! |--------|--------------------|------------------------------------------------------------|
//! | 400    | `InvalidInput`     | a bad parameter or id (the message starts with its name and states the limit); Personalize `InvalidInputException`; an unknown `filterArn` |
//! | 404    | `NotFound`         | another path                                               |
//! | 405    | `MethodNotAllowed` | a method other than GET (with `Allow: GET`)                |
//! | 500    | `Misconfigured`    | bad settings; the configured ARN does not exist (`ResourceNotFoundException`); access denied |
//! | 503    | `Retryable`        | Personalize unreachable, throttled, 5xx or too slow, and nothing cached (with `Retry-After: 2`) |
//!
//! # IAM
//!
//! `personalize:GetRecommendations` on the campaign/recommender ARNs (and on the filter ARNs
//! requests may use: the action's resources include `filter`); `dynamodb:GetItem` and
//! `dynamodb:PutItem` on the cache table.
//!
//! # Logs and metrics
//!
//! JSON lines (via [`shared::logging`]) carry the Lambda and API Gateway request ids, the route,
//! the id's length and the first 16 hex digits of the cache key, never an id or a filter value.
//! EMF metrics: `RecommendationRequests`, `InvalidRequests`, `CacheHit`, `CacheMiss`,
//! `CacheStale`, `CacheErrors`, `PersonalizeErrors`, `PersonalizeLatency`, `ItemsReturned`.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::{Duration, Instant};

use lambda_http::http::{header, HeaderValue, Method, StatusCode};
use lambda_http::{Body, Request, RequestExt, Response};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use shared::config::{optional, parse_or, required, ConfigError, Source};
pub use shared::http::route_path;
use shared::http::{api_request_id, method_not_allowed, not_found};
pub use shared::http::{error_response, json_response, misconfigured_response, serve_error};
use shared::metrics::{Metrics, Unit};
use shared::{ErrorKind, PipelineError};

mod sdk;

pub use sdk::{
    classify_personalize_error, dynamodb_config, personalize_config, DynamoCache,
    PersonalizeRecommender,
};

#[cfg(test)]
mod tests;

/// `numResults` when the request does not give it (Personalize's default).
pub const DEFAULT_NUM_RESULTS: u32 = 25;
/// The largest `numResults` Personalize accepts.
pub const MAX_NUM_RESULTS: u32 = 500;
/// The longest user or item id, in characters.
pub const MAX_ID_CHARS: usize = 256;
/// The longest ARN Personalize accepts.
pub const MAX_ARN_CHARS: usize = 256;
/// Most `filterValues` entries (placeholders in one filter expression).
pub const MAX_FILTER_VALUES: usize = 5;
/// The longest `filterValues` key.
pub const MAX_FILTER_KEY_CHARS: usize = 50;
/// Most `context` entries.
pub const MAX_CONTEXT_ENTRIES: usize = 150;
/// The longest `context` key.
pub const MAX_CONTEXT_KEY_CHARS: usize = 150;
/// The longest `filterValues` or `context` value.
pub const MAX_VALUE_CHARS: usize = 1000;
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
/// Attempts per SDK call (standard retry mode).
pub const MAX_ATTEMPTS: u32 = 2;
/// Seconds a client is asked to wait when nothing can be served.
pub const RETRY_AFTER_SECONDS: u32 = 2;
/// Larger answers are not cached (DynamoDB items are at most 400 KB).
pub const MAX_CACHED_RESPONSE_BYTES: usize = 350_000;
/// Version of the cache key's canonical form; change it when the meaning of an entry changes.
pub const CACHE_KEY_VERSION: &str = "recommendations/v1";

const PARAMETERS: &str = "numResults, filterArn, filterValues or context";
const ROUTES: &str = "GET /recommendations/{userId} or GET /related/{itemId}";

// ---------------------------------------------------------------------------------------------
// Configuration

/// What a route asks Personalize.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    Campaign,
    Recommender,
}

impl TargetKind {
    /// The resource type in the ARN (`campaign/<name>`).
    pub const fn resource(self) -> &'static str {
        match self {
            TargetKind::Campaign => "campaign",
            TargetKind::Recommender => "recommender",
        }
    }
}

/// A campaign or recommender ARN and the variable it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub kind: TargetKind,
    pub arn: String,
    /// The environment variable that set it, for error messages.
    pub variable: &'static str,
}

/// Settings, from environment variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `CAMPAIGN_ARN` or `RECOMMENDER_ARN`.
    pub user_target: Target,
    /// `RELATED_CAMPAIGN_ARN` or `RELATED_RECOMMENDER_ARN`, else `user_target`.
    pub related_target: Target,
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
        let related_target = target(src, "RELATED_CAMPAIGN_ARN", "RELATED_RECOMMENDER_ARN")?
            .unwrap_or_else(|| user_target.clone());
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

    /// The campaign or recommender of a route.
    pub fn target(&self, kind: RouteKind) -> &Target {
        match kind {
            RouteKind::User => &self.user_target,
            RouteKind::Related => &self.related_target,
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

fn arn_example(resource: &str) -> String {
    format!("arn:aws:personalize:<region>:<account>:{resource}/<name>")
}

/// Whether `arn` is a Personalize ARN of the resource type: `arn:<aws partition>:personalize:
/// <region>:<12-digit account>:<resource>/<name>`, at most 256 characters.
pub fn is_personalize_arn(arn: &str, resource: &str) -> bool {
    if arn.chars().count() > MAX_ARN_CHARS {
        return false;
    }
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [prefix, partition, service, region, account, rest] = parts.as_slice() else {
        return false;
    };
    let name = rest
        .strip_prefix(resource)
        .and_then(|r| r.strip_prefix('/'))
        .unwrap_or_default();
    *prefix == "arn"
        && partition.starts_with("aws")
        && partition
            .chars()
            .all(|c| c.is_ascii_lowercase() || c == '-')
        && *service == "personalize"
        && !region.is_empty()
        && region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && account.len() == 12
        && account.chars().all(|c| c.is_ascii_digit())
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

// ---------------------------------------------------------------------------------------------
// Requests

/// Which route a request took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteKind {
    /// `/recommendations/{userId}`.
    User,
    /// `/related/{itemId}`.
    Related,
}

impl RouteKind {
    /// The name in the cache key and logs.
    pub const fn name(self) -> &'static str {
        match self {
            RouteKind::User => "user",
            RouteKind::Related => "related",
        }
    }

    /// The path parameter and response field holding the id.
    pub const fn id_field(self) -> &'static str {
        match self {
            RouteKind::User => "userId",
            RouteKind::Related => "itemId",
        }
    }

    /// The first path segment.
    pub const fn path_segment(self) -> &'static str {
        match self {
            RouteKind::User => "recommendations",
            RouteKind::Related => "related",
        }
    }
}

/// A validated request, ready for Personalize.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecommendationRequest {
    pub kind: RouteKind,
    /// The user id (`User`) or item id (`Related`).
    pub id: String,
    pub target: Target,
    pub num_results: u32,
    /// The filter used: the request's, else `DEFAULT_FILTER_ARN`.
    pub filter_arn: Option<String>,
    pub filter_values: BTreeMap<String, String>,
    pub context: BTreeMap<String, String>,
}

impl RecommendationRequest {
    /// The canonical form of everything that changes the answer: a JSON array (unambiguous
    /// however the strings look), maps sorted by key, empty maps as `null`.
    pub fn canonical(&self) -> String {
        let map = |m: &BTreeMap<String, String>| {
            if m.is_empty() {
                Value::Null
            } else {
                json!(m)
            }
        };
        json!([
            CACHE_KEY_VERSION,
            self.kind.name(),
            self.id,
            self.target.arn,
            self.num_results,
            self.filter_arn,
            map(&self.filter_values),
            map(&self.context),
        ])
        .to_string()
    }

    /// The cache key: SHA-256 of [`Self::canonical`], lowercase hex.
    pub fn cache_key(&self) -> String {
        hex(&Sha256::digest(self.canonical().as_bytes()))
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    s
}

/// Query parameters as given, each checked on its own.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct QueryParams {
    pub num_results: Option<u32>,
    pub filter_arn: Option<String>,
    pub filter_values: BTreeMap<String, String>,
    pub context: BTreeMap<String, String>,
}

fn invalid(field: &str, problem: impl std::fmt::Display) -> PipelineError {
    PipelineError::invalid_input(format!("{field}: {problem}"))
}

/// A field or parameter name as echoed in messages: at most 64 characters.
fn shown(name: &str) -> String {
    let mut s: String = name.chars().take(64).collect();
    if s.len() < name.len() {
        s.push('…');
    }
    s
}

fn num_results_limit() -> String {
    format!("must be an integer from 1 to {MAX_NUM_RESULTS}")
}

/// Reads the query string.
pub fn parse_query(req: &Request) -> Result<QueryParams, PipelineError> {
    let mut params = QueryParams::default();
    let Some(query) = req.query_string_parameters_ref() else {
        return Ok(params);
    };
    let mut names: Vec<&str> = query.iter().map(|(k, _)| k).collect();
    names.sort_unstable();
    names.dedup();
    for name in names {
        if !matches!(
            name,
            "numResults" | "filterArn" | "filterValues" | "context"
        ) {
            return Err(invalid(
                &shown(name),
                format!("unknown parameter, expected {PARAMETERS}"),
            ));
        }
        let values = query.all(name).unwrap_or_default();
        if values.len() > 1 {
            return Err(invalid(
                name,
                format!("given {} times, must be given once", values.len()),
            ));
        }
        let raw = values.first().copied().unwrap_or_default().trim();
        if raw.is_empty() {
            continue;
        }
        match name {
            "numResults" => params.num_results = Some(parse_num_results(raw)?),
            "filterArn" => {
                if !is_personalize_arn(raw, "filter") {
                    return Err(invalid(
                        "filterArn",
                        format!(
                            "not a filter ARN, must look like {} (at most {MAX_ARN_CHARS} characters)",
                            arn_example("filter")
                        ),
                    ));
                }
                params.filter_arn = Some(raw.to_owned());
            }
            "filterValues" => {
                params.filter_values = parse_string_map(
                    "filterValues",
                    raw,
                    MAX_FILTER_VALUES,
                    MAX_FILTER_KEY_CHARS,
                    r#"{"CATEGORY":"\"shoes\""}"#,
                )?
            }
            "context" => {
                params.context = parse_string_map(
                    "context",
                    raw,
                    MAX_CONTEXT_ENTRIES,
                    MAX_CONTEXT_KEY_CHARS,
                    r#"{"DEVICE":"mobile"}"#,
                )?
            }
            _ => {}
        }
    }
    Ok(params)
}

fn parse_num_results(raw: &str) -> Result<u32, PipelineError> {
    let n: i64 = raw.parse().map_err(|_| {
        invalid(
            "numResults",
            format!("not an integer, {}", num_results_limit()),
        )
    })?;
    match u32::try_from(n) {
        Ok(n) if (1..=MAX_NUM_RESULTS).contains(&n) => Ok(n),
        _ => Err(invalid(
            "numResults",
            format!("{n} is out of range, {}", num_results_limit()),
        )),
    }
}

/// A JSON object of strings to strings with Personalize's limits. Messages name keys, never
/// values (which may be personal).
fn parse_string_map(
    field: &str,
    raw: &str,
    max_entries: usize,
    max_key: usize,
    example: &str,
) -> Result<BTreeMap<String, String>, PipelineError> {
    let shape = format!(
        "must be a JSON object of at most {max_entries} entries, keys of 1 to {max_key} letters, digits or _, string values of at most {MAX_VALUE_CHARS} characters, like {example}"
    );
    let value: Value = serde_json::from_str(raw)
        .map_err(|_| invalid(field, format!("not valid JSON, {shape}")))?;
    let Value::Object(object) = value else {
        return Err(invalid(field, format!("not a JSON object, {shape}")));
    };
    if object.len() > max_entries {
        return Err(invalid(field, format!("{} entries, {shape}", object.len())));
    }
    let mut map = BTreeMap::new();
    for (key, value) in object {
        let key_ok = !key.is_empty()
            && key.chars().count() <= max_key
            && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !key_ok {
            return Err(invalid(
                field,
                format!("key {:?} is not allowed, {shape}", shown(&key)),
            ));
        }
        let Value::String(value) = value else {
            return Err(invalid(
                field,
                format!("the value of {key} is not a string, {shape}"),
            ));
        };
        if value.chars().count() > MAX_VALUE_CHARS {
            return Err(invalid(
                field,
                format!("the value of {key} is too long, {shape}"),
            ));
        }
        map.insert(key, value);
    }
    Ok(map)
}

/// Checks a path id: 1 to 256 characters.
pub fn validate_id(kind: RouteKind, id: &str) -> Result<(), PipelineError> {
    let chars = id.chars().count();
    if chars == 0 || chars > MAX_ID_CHARS {
        return Err(invalid(
            kind.id_field(),
            format!("{chars} characters, must be 1 to {MAX_ID_CHARS}"),
        ));
    }
    if id.chars().any(char::is_control) {
        return Err(invalid(
            kind.id_field(),
            "contains control characters, which ids cannot hold",
        ));
    }
    Ok(())
}

/// The validated request of a routed HTTP request.
pub fn parse_request(
    req: &Request,
    kind: RouteKind,
    id: String,
    config: &Config,
) -> Result<RecommendationRequest, PipelineError> {
    validate_id(kind, &id)?;
    let query = parse_query(req)?;
    let filter_arn = query
        .filter_arn
        .or_else(|| config.default_filter_arn.clone());
    if filter_arn.is_none() && !query.filter_values.is_empty() {
        return Err(invalid(
            "filterValues",
            "given without filterArn, values need the filter whose placeholders they fill",
        ));
    }
    Ok(RecommendationRequest {
        kind,
        id,
        target: config.target(kind).clone(),
        num_results: query.num_results.unwrap_or(DEFAULT_NUM_RESULTS),
        filter_arn,
        filter_values: query.filter_values,
        context: query.context,
    })
}

// ---------------------------------------------------------------------------------------------
// Routing

/// Where a request goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// A recommendation route with its (decoded) id.
    Recommend(RouteKind, String),
    /// The id is not valid UTF-8 once decoded.
    BadId(RouteKind),
    NotFound,
    MethodNotAllowed,
}

pub fn route(req: &Request) -> Route {
    let path = route_path(req);
    let matched = [RouteKind::User, RouteKind::Related]
        .into_iter()
        .find_map(|kind| {
            let rest = path
                .strip_prefix('/')?
                .strip_prefix(kind.path_segment())?
                .strip_prefix('/')?;
            (!rest.is_empty() && !rest.contains('/')).then_some((kind, rest))
        });
    let Some((kind, raw_id)) = matched else {
        return Route::NotFound;
    };
    if req.method() != Method::GET {
        return Route::MethodNotAllowed;
    }
    // API Gateway's decoded path parameter when the route defines it, else the path segment.
    let from_parameters = req
        .path_parameters_ref()
        .and_then(|p| p.first(kind.id_field()))
        .filter(|id| !id.is_empty())
        .map(str::to_owned);
    match from_parameters {
        Some(id) => Route::Recommend(kind, id),
        None => match percent_decode(raw_id) {
            Some(id) => Route::Recommend(kind, id),
            None => Route::BadId(kind),
        },
    }
}

/// Decodes `%XX` escapes (a `+` stays a `+` in a path); `None` when the result is not UTF-8 or an
/// escape is malformed.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

// ---------------------------------------------------------------------------------------------
// Personalize and the cache, behind traits

/// One recommended item as returned to clients.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecommendedItem {
    pub item_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promotion_name: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reason: Vec<String>,
}

/// Personalize's answer.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Recommendations {
    pub items: Vec<RecommendedItem>,
    pub recommendation_id: Option<String>,
}

/// Why Personalize gave no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecommendError {
    /// Unreachable, timed out, throttled or 5xx: serve a stale answer if there is one, else 503.
    Unavailable(String),
    /// `InvalidInputException` or another 4xx about the request (400).
    Invalid(String),
    /// `ResourceNotFoundException`: the ARN (or a requested filter) does not exist.
    NotFound(String),
    /// Access denied, bad credentials (500 `Misconfigured`).
    Misconfigured(String),
}

impl RecommendError {
    /// The service's detail, for logs.
    pub fn detail(&self) -> &str {
        match self {
            RecommendError::Unavailable(d)
            | RecommendError::Invalid(d)
            | RecommendError::NotFound(d)
            | RecommendError::Misconfigured(d) => d,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            RecommendError::Unavailable(_) => "Unavailable",
            RecommendError::Invalid(_) => "Invalid",
            RecommendError::NotFound(_) => "NotFound",
            RecommendError::Misconfigured(_) => "Misconfigured",
        }
    }
}

impl std::fmt::Display for RecommendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.name(), self.detail())
    }
}

impl std::error::Error for RecommendError {}

/// Gets recommendations (Amazon Personalize Runtime in production).
pub trait Recommender: Send + Sync {
    fn get_recommendations(
        &self,
        request: &RecommendationRequest,
    ) -> impl Future<Output = Result<Recommendations, RecommendError>> + Send;
}

/// A cached answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheEntry {
    pub cache_key: String,
    /// The 200 body without `cache`/`cachedAt`, as JSON.
    pub response: String,
    /// Epoch seconds when Personalize answered.
    pub created_at: i64,
    /// Epoch seconds until which the entry is served without asking Personalize.
    pub fresh_until: i64,
    /// Epoch seconds after which the entry is gone (DynamoDB's TTL attribute).
    pub expires_at: i64,
}

/// A failed cache read or write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheError(pub String);

impl std::fmt::Display for CacheError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CacheError {}

/// Stores answers by key (DynamoDB in production).
pub trait Cache: Send + Sync {
    fn get(&self, key: &str)
        -> impl Future<Output = Result<Option<CacheEntry>, CacheError>> + Send;
    fn put(&self, entry: &CacheEntry) -> impl Future<Output = Result<(), CacheError>> + Send;
}

/// The time, in epoch seconds.
pub trait Clock: Send + Sync {
    fn now(&self) -> i64;
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        time::OffsetDateTime::now_utc().unix_timestamp()
    }
}

// ---------------------------------------------------------------------------------------------
// Responses

/// The subject of an answer: `{"userId": ...}` or `{"itemId": ...}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Subject {
    UserId(String),
    ItemId(String),
}

/// The cached part of a 200 body (what the `response` attribute holds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CachedBody {
    #[serde(flatten)]
    pub subject: Subject,
    pub item_list: Vec<RecommendedItem>,
    pub recommendation_id: Option<String>,
}

/// Where an answer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CacheStatus {
    Hit,
    Miss,
    Stale,
}

impl CacheStatus {
    fn header(self) -> &'static str {
        match self {
            CacheStatus::Hit => "HIT",
            CacheStatus::Miss => "MISS",
            CacheStatus::Stale => "STALE",
        }
    }

    fn metric(self) -> &'static str {
        match self {
            CacheStatus::Hit => "CacheHit",
            CacheStatus::Miss => "CacheMiss",
            CacheStatus::Stale => "CacheStale",
        }
    }
}

/// The 200 body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecommendationsResponse {
    #[serde(flatten)]
    pub body: CachedBody,
    pub cache: CacheStatus,
    /// RFC 3339, UTC.
    pub cached_at: String,
}

fn rfc3339(epoch_seconds: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(epoch_seconds)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

fn answer_response(
    body: CachedBody,
    cache: CacheStatus,
    created_at: i64,
    max_age: Option<i64>,
) -> Response<Body> {
    let mut response = json_response(
        StatusCode::OK,
        &RecommendationsResponse {
            body,
            cache,
            cached_at: rfc3339(created_at),
        },
    );
    let headers = response.headers_mut();
    headers.insert("x-cache", HeaderValue::from_static(cache.header()));
    match max_age {
        Some(seconds) => {
            let value = format!("private, max-age={}", seconds.max(0));
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(header::CACHE_CONTROL, value);
            }
        }
        None => {
            headers.insert(
                header::WARNING,
                HeaderValue::from_static("110 - \"Response is Stale\""),
            );
        }
    }
    response
}

// ---------------------------------------------------------------------------------------------
// The handler

/// The handler: generic over Personalize, the cache and the clock, so tests need no network.
pub struct Handler<R, C, K = SystemClock> {
    recommender: R,
    cache: C,
    clock: K,
    config: Config,
}

impl<R: Recommender, C: Cache> Handler<R, C, SystemClock> {
    pub fn new(recommender: R, cache: C, config: Config) -> Self {
        Self::with_clock(recommender, cache, SystemClock, config)
    }
}

/// A cached entry that is not expired, with its parsed body.
struct Cached {
    entry: CacheEntry,
    body: CachedBody,
}

impl<R: Recommender, C: Cache, K: Clock> Handler<R, C, K> {
    pub fn with_clock(recommender: R, cache: C, clock: K, config: Config) -> Self {
        Self {
            recommender,
            cache,
            clock,
            config,
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Answers one request, recording metrics. Every failure is a response; nothing panics.
    pub async fn handle(&self, req: Request) -> Response<Body> {
        let mut metrics = Metrics::from_env();
        let response = self.respond(req, &mut metrics).await;
        metrics.flush();
        response
    }

    async fn respond(&self, req: Request, metrics: &mut Metrics) -> Response<Body> {
        let api_request_id = api_request_id(&req);
        let method = req.method().as_str().to_owned();
        let (kind, id) = match route(&req) {
            Route::Recommend(kind, id) => (kind, id),
            Route::BadId(kind) => {
                metrics.count("InvalidRequests");
                tracing::warn!(api_request_id, status = 400, "id is not UTF-8");
                return error_response(
                    StatusCode::BAD_REQUEST,
                    ErrorKind::InvalidInput.error_type(),
                    &format!("{}: not valid UTF-8 once percent-decoded", kind.id_field()),
                );
            }
            Route::NotFound => {
                return not_found(
                    &api_request_id,
                    &method,
                    &format!("path: no such route, use {ROUTES}"),
                );
            }
            Route::MethodNotAllowed => {
                return method_not_allowed(
                    &api_request_id,
                    &method,
                    &format!("method: {method} is not allowed, use {ROUTES}"),
                    "GET",
                );
            }
        };
        metrics.count("RecommendationRequests");
        let route_name = kind.name();
        let request = match parse_request(&req, kind, id, &self.config) {
            Ok(r) => r,
            Err(e) => {
                metrics.count("InvalidRequests");
                tracing::warn!(
                    api_request_id,
                    route = route_name,
                    status = 400,
                    "invalid request: {}",
                    e.message
                );
                return error_response(StatusCode::BAD_REQUEST, e.kind.error_type(), &e.message);
            }
        };
        drop(req);
        let key = request.cache_key();
        let key_prefix = &key[..16];
        tracing::info!(
            api_request_id,
            route = route_name,
            id_len = request.id.chars().count(),
            cache_key = key_prefix,
            num_results = request.num_results,
            filtered = request.filter_arn.is_some(),
            filter_values = request.filter_values.len(),
            context_entries = request.context.len(),
            "recommendations requested"
        );

        let now = self.clock.now();
        let cached = self.read_cache(&key, now, &api_request_id, metrics).await;
        if let Some(c) = cached.as_ref().filter(|c| now < c.entry.fresh_until) {
            metrics.count(CacheStatus::Hit.metric());
            metrics.add("ItemsReturned", Unit::Count, c.body.item_list.len() as f64);
            tracing::info!(
                api_request_id,
                route = route_name,
                cache_key = key_prefix,
                status = 200,
                cache = "hit",
                items = c.body.item_list.len(),
                "served from cache"
            );
            return answer_response(
                c.body.clone(),
                CacheStatus::Hit,
                c.entry.created_at,
                Some(c.entry.fresh_until - now),
            );
        }

        let started = Instant::now();
        let result = self.recommender.get_recommendations(&request).await;
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        metrics.add("PersonalizeLatency", Unit::Milliseconds, latency_ms);
        match result {
            Ok(answer) => {
                let body = CachedBody {
                    subject: match kind {
                        RouteKind::User => Subject::UserId(request.id.clone()),
                        RouteKind::Related => Subject::ItemId(request.id.clone()),
                    },
                    item_list: answer.items,
                    recommendation_id: answer.recommendation_id,
                };
                let created_at = self.clock.now();
                self.write_cache(&key, &body, created_at, &api_request_id, metrics)
                    .await;
                metrics.count(CacheStatus::Miss.metric());
                metrics.add("ItemsReturned", Unit::Count, body.item_list.len() as f64);
                tracing::info!(
                    api_request_id,
                    route = route_name,
                    cache_key = key_prefix,
                    status = 200,
                    cache = "miss",
                    items = body.item_list.len(),
                    latency_ms,
                    "recommendations from Personalize"
                );
                answer_response(
                    body,
                    CacheStatus::Miss,
                    created_at,
                    Some(i64::from(self.config.cache_ttl_seconds)),
                )
            }
            Err(err) => {
                metrics.count("PersonalizeErrors");
                self.on_error(err, &request, cached, &api_request_id, latency_ms, metrics)
            }
        }
    }

    /// The cached entry of `key` unless absent, expired or unreadable (logged and counted).
    async fn read_cache(
        &self,
        key: &str,
        now: i64,
        api_request_id: &str,
        metrics: &mut Metrics,
    ) -> Option<Cached> {
        let key_prefix = &key[..16];
        let entry = match self.cache.get(key).await {
            Ok(Some(entry)) => entry,
            Ok(None) => return None,
            Err(e) => {
                metrics.count("CacheErrors");
                tracing::warn!(
                    api_request_id,
                    cache_key = key_prefix,
                    "cache read failed, asking Personalize: {e}"
                );
                return None;
            }
        };
        if now >= entry.expires_at {
            // DynamoDB TTL deletes within days, not at once.
            return None;
        }
        match serde_json::from_str::<CachedBody>(&entry.response) {
            Ok(body) => Some(Cached { entry, body }),
            Err(e) => {
                metrics.count("CacheErrors");
                tracing::warn!(
                    api_request_id,
                    cache_key = key_prefix,
                    "unreadable cache entry ignored: {e}"
                );
                None
            }
        }
    }

    async fn write_cache(
        &self,
        key: &str,
        body: &CachedBody,
        created_at: i64,
        api_request_id: &str,
        metrics: &mut Metrics,
    ) {
        let key_prefix = &key[..16];
        let response = match serde_json::to_string(body) {
            Ok(r) => r,
            Err(e) => {
                metrics.count("CacheErrors");
                tracing::warn!(api_request_id, "answer not cached: {e}");
                return;
            }
        };
        if response.len() > MAX_CACHED_RESPONSE_BYTES {
            tracing::warn!(
                api_request_id,
                cache_key = key_prefix,
                bytes = response.len(),
                "answer too large to cache"
            );
            return;
        }
        let fresh_until = created_at + i64::from(self.config.cache_ttl_seconds);
        let entry = CacheEntry {
            cache_key: key.to_owned(),
            response,
            created_at,
            fresh_until,
            expires_at: fresh_until + i64::from(self.config.stale_ttl_seconds),
        };
        if let Err(e) = self.cache.put(&entry).await {
            metrics.count("CacheErrors");
            tracing::warn!(
                api_request_id,
                cache_key = key_prefix,
                "cache write failed, answering anyway: {e}"
            );
        }
    }

    fn on_error(
        &self,
        err: RecommendError,
        request: &RecommendationRequest,
        cached: Option<Cached>,
        api_request_id: &str,
        latency_ms: f64,
        metrics: &mut Metrics,
    ) -> Response<Body> {
        let route_name = request.kind.name();
        // Personalize may echo the id; logs never carry it.
        let detail = scrub(err.detail(), &request.id);
        match err {
            RecommendError::Unavailable(_) => {
                if let Some(c) = cached {
                    metrics.count(CacheStatus::Stale.metric());
                    metrics.add("ItemsReturned", Unit::Count, c.body.item_list.len() as f64);
                    tracing::warn!(
                        api_request_id,
                        route = route_name,
                        status = 200,
                        cache = "stale",
                        age_seconds = self.clock.now() - c.entry.created_at,
                        latency_ms,
                        "Personalize unavailable, serving a stale answer: {detail}"
                    );
                    return answer_response(c.body, CacheStatus::Stale, c.entry.created_at, None);
                }
                tracing::error!(
                    api_request_id,
                    route = route_name,
                    status = 503,
                    error_type = "Retryable",
                    latency_ms,
                    "Personalize unavailable, nothing cached: {detail}"
                );
                let mut response = error_response(
                    StatusCode::SERVICE_UNAVAILABLE,
                    ErrorKind::Retryable.error_type(),
                    "Personalize is unavailable or did not answer in time and no cached answer exists, retry later",
                );
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
                response
            }
            RecommendError::Invalid(ref message) => {
                tracing::warn!(
                    api_request_id,
                    route = route_name,
                    status = 400,
                    error_type = "InvalidInput",
                    "Personalize rejected the request: {detail}"
                );
                error_response(
                    StatusCode::BAD_REQUEST,
                    ErrorKind::InvalidInput.error_type(),
                    &format!("request: Personalize rejected it: {message}"),
                )
            }
            RecommendError::NotFound(ref message)
                if request.filter_arn.is_some()
                    && message.to_ascii_lowercase().contains("filter") =>
            {
                tracing::warn!(
                    api_request_id,
                    route = route_name,
                    status = 400,
                    error_type = "InvalidInput",
                    "Personalize has no such filter: {detail}"
                );
                error_response(
                    StatusCode::BAD_REQUEST,
                    ErrorKind::InvalidInput.error_type(),
                    "filterArn: Personalize has no such filter (ResourceNotFoundException)",
                )
            }
            RecommendError::NotFound(_) => {
                let target = &request.target;
                tracing::error!(
                    api_request_id,
                    route = route_name,
                    status = 500,
                    error_type = "Misconfigured",
                    variable = target.variable,
                    arn = target.arn,
                    "the configured {} does not exist: {detail}",
                    target.kind.resource()
                );
                error_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    ErrorKind::Misconfigured.error_type(),
                    &format!(
                        "configuration {}: Personalize has no such {} (ResourceNotFoundException); see the function's logs",
                        target.variable,
                        target.kind.resource()
                    ),
                )
            }
            RecommendError::Misconfigured(_) => {
                tracing::error!(
                    api_request_id,
                    route = route_name,
                    status = 500,
                    error_type = "Misconfigured",
                    "the function cannot use Personalize: {detail}"
                );
                error_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    ErrorKind::Misconfigured.error_type(),
                    "the function cannot use Personalize (permissions or credentials); see its logs",
                )
            }
        }
    }
}

/// `text` with every occurrence of `id` replaced by `<id>`.
fn scrub(text: &str, id: &str) -> String {
    if id.is_empty() {
        text.to_owned()
    } else {
        text.replace(id, "<id>")
    }
}

/// Serves `handler` under the Lambda runtime until it shuts the process down.
pub async fn run<R: Recommender, C: Cache, K: Clock>(
    handler: Handler<R, C, K>,
) -> Result<(), lambda_http::Error> {
    shared::http::run(|req| handler.handle(req)).await
}

//! The SDK adapters of the ports: [`Recommender`] on Amazon Personalize Runtime
//! `GetRecommendations`, [`Cache`] on a DynamoDB table, and the client settings that make an
//! outage fall back quickly.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_personalizeruntime::config::http::HttpResponse;
use aws_sdk_personalizeruntime::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_personalizeruntime::operation::get_recommendations::GetRecommendationsError;
use shared::ErrorKind;

use segment_personalize_core::recommendations::{RecommendationRequest, RouteKind, TargetKind};

use crate::error::{CacheError, RecommendError};
use crate::ports::{Cache, CacheEntry, Recommendations, RecommendedItem, Recommender};

/// Attempts per SDK call (standard retry mode).
pub const MAX_ATTEMPTS: u32 = 2;
/// Back-off before the retry (the standard mode's default of 1 s would not fit the time-out).
const INITIAL_BACKOFF: Duration = Duration::from_millis(50);

/// The Personalize Runtime client configuration: the whole call (retries included) bounded by
/// `timeout`, standard retries with [`MAX_ATTEMPTS`] attempts. `builder` comes from the shared
/// SDK configuration (region, credentials, `AWS_ENDPOINT_URL_PERSONALIZE_RUNTIME`).
pub fn personalize_config(
    builder: aws_sdk_personalizeruntime::config::Builder,
    timeout: Duration,
) -> aws_sdk_personalizeruntime::Config {
    use aws_sdk_personalizeruntime::config::retry::RetryConfig;
    use aws_sdk_personalizeruntime::config::timeout::TimeoutConfig;
    builder
        .timeout_config(TimeoutConfig::builder().operation_timeout(timeout).build())
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(MAX_ATTEMPTS)
                .with_initial_backoff(INITIAL_BACKOFF),
        )
        .build()
}

/// The DynamoDB client configuration for the cache: each call bounded by `timeout`, standard
/// retries with [`MAX_ATTEMPTS`] attempts.
pub fn dynamodb_config(
    builder: aws_sdk_dynamodb::config::Builder,
    timeout: Duration,
) -> aws_sdk_dynamodb::Config {
    use aws_sdk_dynamodb::config::retry::RetryConfig;
    use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
    builder
        .timeout_config(TimeoutConfig::builder().operation_timeout(timeout).build())
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(MAX_ATTEMPTS)
                .with_initial_backoff(INITIAL_BACKOFF),
        )
        .build()
}

// ---------------------------------------------------------------------------------------------
// Personalize

/// [`Recommender`] over Amazon Personalize Runtime `GetRecommendations`.
#[derive(Debug, Clone)]
pub struct PersonalizeRecommender {
    client: aws_sdk_personalizeruntime::Client,
}

impl PersonalizeRecommender {
    pub fn new(client: aws_sdk_personalizeruntime::Client) -> Self {
        Self { client }
    }
}

impl Recommender for PersonalizeRecommender {
    async fn get_recommendations(
        &self,
        request: &RecommendationRequest,
    ) -> Result<Recommendations, RecommendError> {
        let mut op = self
            .client
            .get_recommendations()
            .num_results(i32::try_from(request.num_results).unwrap_or(i32::MAX));
        op = match request.target.kind {
            TargetKind::Campaign => op.campaign_arn(&request.target.arn),
            TargetKind::Recommender => op.recommender_arn(&request.target.arn),
        };
        op = match request.kind {
            RouteKind::User => op.user_id(&request.id),
            RouteKind::Related => op.item_id(&request.id),
        };
        if let Some(filter) = &request.filter_arn {
            op = op.filter_arn(filter);
        }
        let map = |m: &std::collections::BTreeMap<String, String>| {
            (!m.is_empty()).then(|| m.clone().into_iter().collect::<HashMap<_, _>>())
        };
        op = op
            .set_filter_values(map(&request.filter_values))
            .set_context(map(&request.context));
        let out = op
            .send()
            .await
            .map_err(|e| classify_personalize_error(&e))?;
        Ok(Recommendations {
            items: out
                .item_list()
                .iter()
                .filter_map(|item| {
                    Some(RecommendedItem {
                        item_id: item.item_id()?.to_owned(),
                        score: item.score().filter(|s| s.is_finite()),
                        promotion_name: item.promotion_name().map(str::to_owned),
                        reason: item.reason().to_vec(),
                    })
                })
                .collect(),
            recommendation_id: out.recommendation_id().map(str::to_owned),
        })
    }
}

/// Classifies a `GetRecommendations` failure: time-outs, connection failures, throttling and
/// 5xx are [`RecommendError::Unavailable`] (a stale answer may be served);
/// `InvalidInputException` is [`RecommendError::Invalid`]; `ResourceNotFoundException`
/// [`RecommendError::NotFound`]; access denied and credential errors
/// [`RecommendError::Misconfigured`].
pub fn classify_personalize_error(
    err: &SdkError<GetRecommendationsError, HttpResponse>,
) -> RecommendError {
    let ctx = match err {
        SdkError::ServiceError(ctx) => ctx,
        SdkError::TimeoutError(_) => {
            return RecommendError::Unavailable("GetRecommendations: timed out".into())
        }
        SdkError::DispatchFailure(d) => {
            return RecommendError::Unavailable(format!(
                "GetRecommendations: request not sent: {d:?}"
            ))
        }
        SdkError::ResponseError(_) => {
            return RecommendError::Unavailable("GetRecommendations: unreadable response".into())
        }
        other => return RecommendError::Unavailable(format!("GetRecommendations: {other}")),
    };
    let e = ctx.err();
    let status = ctx.raw().status().as_u16();
    let msg = e
        .message()
        .filter(|m| !m.trim().is_empty())
        .unwrap_or("no message")
        .to_owned();
    match e {
        GetRecommendationsError::InvalidInputException(_) => RecommendError::Invalid(msg),
        GetRecommendationsError::ResourceNotFoundException(_) => {
            RecommendError::NotFound(format!("ResourceNotFoundException: {msg}"))
        }
        _ => {
            let code = e.code();
            let detail = format!(
                "GetRecommendations: {} (HTTP {status}): {msg}",
                code.unwrap_or("unknown error")
            );
            match shared::error::classify_code(code, status) {
                ErrorKind::Retryable => RecommendError::Unavailable(detail),
                ErrorKind::Misconfigured => RecommendError::Misconfigured(detail),
                ErrorKind::InvalidInput => RecommendError::Invalid(detail),
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// DynamoDB

/// [`Cache`] over a DynamoDB table with partition key `cacheKey` (S) and TTL attribute
/// `expiresAt`.
#[derive(Debug, Clone)]
pub struct DynamoCache {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

/// Attribute names.
pub const ATTR_KEY: &str = "cacheKey";
pub const ATTR_RESPONSE: &str = "response";
pub const ATTR_CREATED_AT: &str = "createdAt";
pub const ATTR_FRESH_UNTIL: &str = "freshUntil";
pub const ATTR_EXPIRES_AT: &str = "expiresAt";

impl DynamoCache {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// The item stored for an entry.
    pub fn item(entry: &CacheEntry) -> HashMap<String, AttributeValue> {
        let n = |v: i64| AttributeValue::N(v.to_string());
        HashMap::from([
            (
                ATTR_KEY.to_owned(),
                AttributeValue::S(entry.cache_key.clone()),
            ),
            (
                ATTR_RESPONSE.to_owned(),
                AttributeValue::S(entry.response.clone()),
            ),
            (ATTR_CREATED_AT.to_owned(), n(entry.created_at)),
            (ATTR_FRESH_UNTIL.to_owned(), n(entry.fresh_until)),
            (ATTR_EXPIRES_AT.to_owned(), n(entry.expires_at)),
        ])
    }

    /// The entry of a stored item.
    pub fn entry(item: &HashMap<String, AttributeValue>) -> Result<CacheEntry, CacheError> {
        let s = |name: &str| match item.get(name) {
            Some(AttributeValue::S(s)) => Ok(s.clone()),
            _ => Err(CacheError(format!(
                "cache item: {name} is missing or not a string"
            ))),
        };
        let n = |name: &str| match item.get(name) {
            Some(AttributeValue::N(n)) => n
                .parse::<i64>()
                .or_else(|_| n.parse::<f64>().map(|f| f as i64))
                .map_err(|_| CacheError(format!("cache item: {name} is not a number"))),
            _ => Err(CacheError(format!(
                "cache item: {name} is missing or not a number"
            ))),
        };
        Ok(CacheEntry {
            cache_key: s(ATTR_KEY)?,
            response: s(ATTR_RESPONSE)?,
            created_at: n(ATTR_CREATED_AT)?,
            fresh_until: n(ATTR_FRESH_UNTIL)?,
            expires_at: n(ATTR_EXPIRES_AT)?,
        })
    }
}

impl Cache for DynamoCache {
    async fn get(&self, key: &str) -> Result<Option<CacheEntry>, CacheError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(ATTR_KEY, AttributeValue::S(key.to_owned()))
            .send()
            .await
            .map_err(|e| CacheError(shared::error::from_sdk("GetItem", &e).to_string()))?;
        out.item.as_ref().map(Self::entry).transpose()
    }

    async fn put(&self, entry: &CacheEntry) -> Result<(), CacheError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(Self::item(entry)))
            .send()
            .await
            .map_err(|e| CacheError(shared::error::from_sdk("PutItem", &e).to_string()))?;
        Ok(())
    }
}

//! What the handler needs from the outside, behind traits so tests need no network:
//! Personalize ([`Recommender`]), the cache ([`Cache`]) and the clock ([`Clock`]). The SDK
//! implementations are in [`crate::aws`].

use std::future::Future;

use segment_personalize_core::recommendations::RecommendationRequest;
use serde::{Deserialize, Serialize};

use crate::error::{CacheError, RecommendError};

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
        shared::clock::unix_seconds()
    }
}

//! The handler's use of the cache: reading an entry (ignoring expired and unreadable ones) and
//! writing an answer with its freshness and expiry. A failed call is logged and counted
//! (`CacheErrors`), never an error answer.

use shared::metrics::Metrics;

use crate::ports::{Cache, CacheEntry, Clock, Recommender};
use crate::response::CachedBody;
use crate::Handler;

/// Larger answers are not cached (DynamoDB items are at most 400 KB).
pub const MAX_CACHED_RESPONSE_BYTES: usize = 350_000;

/// A cached entry that is not expired, with its parsed body.
pub(crate) struct Cached {
    pub entry: CacheEntry,
    pub body: CachedBody,
}

impl<R: Recommender, C: Cache, K: Clock> Handler<R, C, K> {
    /// The cached entry of `key` unless absent, expired or unreadable (logged and counted).
    pub(crate) async fn read_cache(
        &self,
        key: &str,
        now: i64,
        metrics: &mut Metrics,
    ) -> Option<Cached> {
        let key_prefix = &key[..16];
        let entry = match self.cache.get(key).await {
            Ok(Some(entry)) => entry,
            Ok(None) => return None,
            Err(e) => {
                metrics.count("CacheErrors");
                tracing::warn!(
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
                    cache_key = key_prefix,
                    "unreadable cache entry ignored: {e}"
                );
                None
            }
        }
    }

    /// Stores an answer Personalize gave at `created_at`: fresh for `CACHE_TTL_SECONDS`, kept
    /// `STALE_TTL_SECONDS` longer as a fallback.
    pub(crate) async fn write_cache(
        &self,
        key: &str,
        body: &CachedBody,
        created_at: i64,
        metrics: &mut Metrics,
    ) {
        let key_prefix = &key[..16];
        let response = match serde_json::to_string(body) {
            Ok(r) => r,
            Err(e) => {
                metrics.count("CacheErrors");
                tracing::warn!("answer not cached: {e}");
                return;
            }
        };
        if response.len() > MAX_CACHED_RESPONSE_BYTES {
            tracing::warn!(
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
                cache_key = key_prefix,
                "cache write failed, answering anyway: {e}"
            );
        }
    }
}

//! The 200 answer: its body (the part the cache keeps, plus where it came from) and headers.

use axum::response::{IntoResponse, Response};
use lambda_http::http::{header, HeaderValue, StatusCode};
use serde::{Deserialize, Serialize};
use shared::http::json_response;

use crate::ports::RecommendedItem;

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
    /// The `X-Cache` header.
    pub fn header(self) -> &'static str {
        match self {
            CacheStatus::Hit => "HIT",
            CacheStatus::Miss => "MISS",
            CacheStatus::Stale => "STALE",
        }
    }

    /// The metric counting such answers.
    pub fn metric(self) -> &'static str {
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

/// The 200 answer: `X-Cache`, and `Cache-Control: private, max-age=<max_age>` for a fresh
/// answer, or `no-store` and `Warning: 110` for a stale one (`max_age` `None`).
pub fn answer_response(
    body: CachedBody,
    cache: CacheStatus,
    created_at: i64,
    max_age: Option<i64>,
) -> Response {
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
    response.into_response()
}

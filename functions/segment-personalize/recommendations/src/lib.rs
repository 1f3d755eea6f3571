//! `recommendations`: an HTTP endpoint serving Amazon Personalize recommendations through a
//! DynamoDB cache, behind an API Gateway HTTP API (payload format 2.0).
//!
//! `GET /recommendations/{userId}` and `GET /related/{itemId}` are answered from the cache while
//! the cached answer is fresh; otherwise Personalize `GetRecommendations` is called and the
//! answer cached. When Personalize is down, throttled or slow, the last answer is served as
//! *stale* rather than failing, for as long as the cache keeps it. The routes, parameters,
//! answers, errors, settings, IAM, logs and metrics are described in
//! `functions/segment-personalize/README.md`; the request rules and the cache key are
//! [`segment_personalize_core::recommendations`].
//!
//! The function is an axum [`Router`] ([`router`]) served by [`shared::http::serve`], which
//! strips the stage prefix and a trailing `/` before routing. Modules: [`config`] (settings),
//! [`ports`] (Personalize, the cache and the clock behind traits), [`aws`] (their SDK
//! adapters), [`response`] (the 200 answer), [`error`] (error answers, one status and body per
//! variant); the cache flow is in `cache.rs`, what a Personalize failure becomes in
//! `failure.rs`.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use lambda_http::aws_lambda_events::query_map::QueryMap;
use lambda_http::http::request::Parts;
use lambda_http::http::{Method, StatusCode};
use lambda_http::RequestExt;
use shared::metrics::{Metrics, Unit};

pub mod aws;
mod cache;
pub mod config;
pub mod error;
mod failure;
pub mod ports;
pub mod response;

pub use aws::{
    classify_personalize_error, dynamodb_config, personalize_config, DynamoCache,
    PersonalizeRecommender, MAX_ATTEMPTS,
};
pub use cache::MAX_CACHED_RESPONSE_BYTES;
pub use config::*;
pub use error::{ApiError, CacheError, RecommendError, RETRY_AFTER_SECONDS};
pub use ports::{
    Cache, CacheEntry, Clock, Recommendations, RecommendedItem, Recommender, SystemClock,
};
pub use response::{CacheStatus, CachedBody, RecommendationsResponse, Subject};
pub use segment_personalize_core::recommendations::*;
pub use shared::http::{error_response, json_response, misconfigured_response, serve_error};

use response::answer_response;

#[cfg(test)]
mod tests;

/// The query's `(name, value)` pairs, decoded, or why they could not be read.
type QueryPairs = Result<Query<Vec<(String, String)>>, QueryRejection>;

/// The routes: `GET /recommendations/{userId}`, `GET /related/{itemId}`; 404 elsewhere, 405
/// (with `Allow: GET`) for another method on a route, `HEAD` included.
pub fn router<R, C, K>(handler: Arc<Handler<R, C, K>>) -> Router
where
    R: Recommender + 'static,
    C: Cache + 'static,
    K: Clock + 'static,
{
    let path = |kind: RouteKind| format!("/{}/{{{}}}", kind.path_segment(), kind.id_field());
    Router::new()
        .route(
            &path(RouteKind::User),
            get(user::<R, C, K>).head(method_not_allowed),
        )
        .route(
            &path(RouteKind::Related),
            get(related::<R, C, K>).head(method_not_allowed),
        )
        .fallback(no_such_route)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(handler)
}

/// Serves `handler` under the Lambda runtime until it shuts the process down.
pub async fn run<R, C, K>(handler: Handler<R, C, K>) -> Result<(), lambda_http::Error>
where
    R: Recommender + 'static,
    C: Cache + 'static,
    K: Clock + 'static,
{
    shared::http::serve(router(Arc::new(handler))).await
}

async fn user<R: Recommender, C: Cache, K: Clock>(
    State(handler): State<Arc<Handler<R, C, K>>>,
    id: RouteId,
    query: QueryPairs,
) -> Response {
    let kind = RouteKind::User;
    handler.answer(kind, id.id(kind), query).await
}

async fn related<R: Recommender, C: Cache, K: Clock>(
    State(handler): State<Arc<Handler<R, C, K>>>,
    id: RouteId,
    query: QueryPairs,
) -> Response {
    let kind = RouteKind::Related;
    handler.answer(kind, id.id(kind), query).await
}

async fn no_such_route() -> ApiError {
    shared::http::log_unrouted(StatusCode::NOT_FOUND);
    ApiError::NoSuchRoute
}

async fn method_not_allowed(method: Method) -> ApiError {
    shared::http::log_unrouted(StatusCode::METHOD_NOT_ALLOWED);
    ApiError::MethodNotAllowed(method)
}

/// The route's id: API Gateway's path parameter when its route defines one (it is decoded
/// already), else the path segment percent-decoded (a `+` stays a `+`). The decoded segment is
/// `None` when it cannot be decoded: a malformed `%` escape, or not UTF-8 once decoded.
struct RouteId {
    api_gateway: Option<QueryMap>,
    decoded: Option<String>,
}

impl RouteId {
    fn id(self, kind: RouteKind) -> Option<String> {
        self.api_gateway
            .as_ref()
            .and_then(|p| p.first(kind.id_field()))
            .filter(|id| !id.is_empty())
            .map(str::to_owned)
            .or(self.decoded)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RouteId {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let api_gateway = parts.path_parameters_ref().cloned();
        // The id is the last segment of the routed path (`/<route>/<id>`).
        let raw = parts.uri.path().rsplit('/').next().unwrap_or_default();
        let well_formed = escapes_well_formed(raw);
        let decoded = Path::<String>::from_request_parts(parts, state)
            .await
            .ok()
            .map(|Path(id)| id)
            .filter(|_| well_formed);
        Ok(Self {
            api_gateway,
            decoded,
        })
    }
}

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

    /// Answers one routed request, recording metrics. Every failure is an answer.
    async fn answer(&self, kind: RouteKind, id: Option<String>, query: QueryPairs) -> Response {
        let mut metrics = Metrics::from_env();
        let response = self
            .respond(kind, id, query, &mut metrics)
            .await
            .unwrap_or_else(IntoResponse::into_response);
        metrics.flush();
        response
    }

    async fn respond(
        &self,
        kind: RouteKind,
        id: Option<String>,
        query: QueryPairs,
        metrics: &mut Metrics,
    ) -> Result<Response, ApiError> {
        let Some(id) = id else {
            metrics.count("InvalidRequests");
            tracing::warn!(status = 400, "id is not UTF-8");
            return Err(ApiError::UndecodableId(kind));
        };
        metrics.count("RecommendationRequests");
        let route_name = kind.name();
        let Some(target) = self.config.target(kind) else {
            tracing::warn!(route = route_name, status = 404, "route not configured");
            return Err(ApiError::NotConfigured(kind));
        };
        let parsed = query
            .map_err(|e| InvalidRequest {
                field: "query".into(),
                problem: e.body_text(),
            })
            .and_then(|Query(pairs)| {
                parse_request(
                    kind,
                    id,
                    pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())),
                    target,
                    self.config.default_filter_arn.as_deref(),
                )
            });
        let request = parsed.inspect_err(|e| {
            metrics.count("InvalidRequests");
            tracing::warn!(route = route_name, status = 400, "invalid request: {e}");
        })?;
        let key = request.cache_key();
        let key_prefix = &key[..16];
        tracing::info!(
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
        let cached = self.read_cache(&key, now, metrics).await;
        if let Some(c) = cached.as_ref().filter(|c| now < c.entry.fresh_until) {
            metrics.count(CacheStatus::Hit.metric());
            metrics.add("ItemsReturned", Unit::Count, c.body.item_list.len() as f64);
            tracing::info!(
                route = route_name,
                cache_key = key_prefix,
                status = 200,
                cache = "hit",
                items = c.body.item_list.len(),
                "served from cache"
            );
            return Ok(answer_response(
                c.body.clone(),
                CacheStatus::Hit,
                c.entry.created_at,
                Some(c.entry.fresh_until - now),
            ));
        }

        let started = Instant::now();
        let result = self.recommender.get_recommendations(&request).await;
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        metrics.add("PersonalizeLatency", Unit::Milliseconds, latency_ms);
        let answer = match result {
            Ok(answer) => answer,
            Err(err) => {
                metrics.count("PersonalizeErrors");
                return self.on_error(err, &request, cached, latency_ms, metrics);
            }
        };
        let body = CachedBody {
            subject: match kind {
                RouteKind::User => Subject::UserId(request.id.clone()),
                RouteKind::Related => Subject::ItemId(request.id.clone()),
            },
            item_list: answer.items,
            recommendation_id: answer.recommendation_id,
        };
        let created_at = self.clock.now();
        self.write_cache(&key, &body, created_at, metrics).await;
        metrics.count(CacheStatus::Miss.metric());
        metrics.add("ItemsReturned", Unit::Count, body.item_list.len() as f64);
        tracing::info!(
            route = route_name,
            cache_key = key_prefix,
            status = 200,
            cache = "miss",
            items = body.item_list.len(),
            latency_ms,
            "recommendations from Personalize"
        );
        Ok(answer_response(
            body,
            CacheStatus::Miss,
            created_at,
            Some(i64::from(self.config.cache_ttl_seconds)),
        ))
    }
}

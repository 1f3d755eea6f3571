//! What a Personalize failure becomes: the stale answer when Personalize is unavailable and one
//! is cached, else an error answer. Logged with Personalize's detail, the id scrubbed from it.

use axum::response::Response;
use segment_personalize_core::recommendations::RecommendationRequest;
use shared::metrics::{Metrics, Unit};

use crate::cache::Cached;
use crate::error::{ApiError, RecommendError};
use crate::ports::{Cache, Clock, Recommender};
use crate::response::{answer_response, CacheStatus};
use crate::Handler;

impl<R: Recommender, C: Cache, K: Clock> Handler<R, C, K> {
    /// Personalize failed: a stale answer when it is unavailable and one is cached, else the
    /// error answer (logged, the id scrubbed from Personalize's detail).
    pub(crate) fn on_error(
        &self,
        err: RecommendError,
        request: &RecommendationRequest,
        cached: Option<Cached>,
        latency_ms: f64,
        metrics: &mut Metrics,
    ) -> Result<Response, ApiError> {
        let route = request.kind.name();
        // Personalize may echo the id; logs never carry it.
        let detail = scrub(err.detail(), &request.id);
        match err {
            RecommendError::Unavailable(_) => {
                let Some(c) = cached else {
                    tracing::error!(
                        route,
                        status = 503,
                        error_type = "Retryable",
                        latency_ms,
                        "Personalize unavailable, nothing cached: {detail}"
                    );
                    return Err(ApiError::Unavailable);
                };
                metrics.count(CacheStatus::Stale.metric());
                metrics.add("ItemsReturned", Unit::Count, c.body.item_list.len() as f64);
                tracing::warn!(
                    route,
                    status = 200,
                    cache = "stale",
                    age_seconds = self.clock.now() - c.entry.created_at,
                    latency_ms,
                    "Personalize unavailable, serving a stale answer: {detail}"
                );
                Ok(answer_response(
                    c.body,
                    CacheStatus::Stale,
                    c.entry.created_at,
                    None,
                ))
            }
            RecommendError::Invalid(message) => {
                tracing::warn!(
                    route,
                    status = 400,
                    error_type = "InvalidInput",
                    "Personalize rejected the request: {detail}"
                );
                Err(ApiError::RejectedByPersonalize(message))
            }
            RecommendError::NotFound(ref message)
                if request.filter_arn.is_some()
                    && message.to_ascii_lowercase().contains("filter") =>
            {
                tracing::warn!(
                    route,
                    status = 400,
                    error_type = "InvalidInput",
                    "Personalize has no such filter: {detail}"
                );
                Err(ApiError::NoSuchFilter)
            }
            RecommendError::NotFound(_) => {
                let target = &request.target;
                tracing::error!(
                    route,
                    status = 500,
                    error_type = "Misconfigured",
                    variable = target.variable,
                    arn = target.arn,
                    "the configured {} does not exist: {detail}",
                    target.kind.resource()
                );
                Err(ApiError::NoSuchTarget {
                    variable: target.variable,
                    resource: target.kind.resource(),
                })
            }
            RecommendError::Misconfigured(_) => {
                tracing::error!(
                    route,
                    status = 500,
                    error_type = "Misconfigured",
                    "the function cannot use Personalize: {detail}"
                );
                Err(ApiError::CannotUsePersonalize)
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

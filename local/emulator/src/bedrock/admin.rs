//! Controls for tests and the demo, under `/_emulator/bedrock` (no authentication).
//!
//! | route | effect |
//! |---|---|
//! | `POST /throttle?count=N` | the next N invocations answer 429 ThrottlingException (`count=0` cancels) |
//! | `POST /finish-reason?reason=R&count=N` | the next N Stability invocations (Inpaint, Remove Background) that pass validation answer 200 `{"finish_reasons": ["R"]}` with no image; `R` (URL-encoded) is one of `Filter reason: prompt`, `Filter reason: input image`, `Filter reason: output image`, `Inference error`; `count=0` cancels (then `reason` may be left out); replaces any pending injection |
//! | `GET /requests` | counters and log of invocations (model, status, error, `finishReason`; never images or prompts) |
//! | `POST /reset` | no pending throttling or finish reason, empty log |
//!
//! A finish reason for one Stable Image Inpaint call can also be asked for in its prompt:
//! `[emulator finish reason: <R>]`, e.g. `a beach [emulator finish reason: Filter reason: output
//! image]` (an unknown `R` is a 400 ValidationException). A pending injection from
//! `POST /finish-reason` is used (and counted down) before a prompt marker is looked at.

use crate::admin::AdminQuery;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::models::{self, FINISH_REASONS};
use super::{BedrockService, Inner};

/// The admin routes, relative to `/_emulator/bedrock`.
pub fn router() -> Router<BedrockService> {
    Router::new()
        .route("/throttle", post(throttle))
        .route("/finish-reason", post(finish_reason))
        .route("/requests", get(requests))
        .route("/reset", post(reset))
}

/// Query of `POST /throttle`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThrottleParams {
    /// How many of the next invocations answer 429.
    pub count: u32,
}

/// Replaces any pending injection: the next `count` invocations answer 429.
async fn throttle(
    State(service): State<BedrockService>,
    AdminQuery(params): AdminQuery<ThrottleParams>,
) -> Response {
    service.lock().throttle_remaining = params.count;
    Json(json!({ "throttleRemaining": params.count })).into_response()
}

/// Query of `POST /finish-reason`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FinishReasonParams {
    /// One of [`FINISH_REASONS`]; required unless `count` is 0.
    pub reason: Option<String>,
    /// How many of the next Stability invocations that pass validation end with it.
    pub count: u32,
}

/// Replaces any pending finish-reason injection.
async fn finish_reason(
    State(service): State<BedrockService>,
    AdminQuery(params): AdminQuery<FinishReasonParams>,
) -> Response {
    let reason = match params.reason.as_deref() {
        _ if params.count == 0 => None,
        Some(text) => match models::finish_reason(text) {
            Some(reason) => Some(reason),
            None => {
                return crate::admin::error(
                    StatusCode::BAD_REQUEST,
                    &format!(
                        "reason {text:?} is not a documented finish reason; use one of: {}",
                        FINISH_REASONS.join(", ")
                    ),
                )
            }
        },
        None => {
            return crate::admin::error(
                StatusCode::BAD_REQUEST,
                &format!(
                    "reason is required when count is not 0; use one of: {}",
                    FINISH_REASONS.join(", ")
                ),
            )
        }
    };
    let mut inner = service.lock();
    inner.finish_reason = reason;
    inner.finish_reason_remaining = params.count;
    Json(json!({
        "finishReason": reason,
        "finishReasonRemaining": params.count,
    }))
    .into_response()
}

/// Counters and the invocation log.
async fn requests(State(service): State<BedrockService>) -> Response {
    let inner = service.lock();
    Json(json!({
        "invocations": inner.invocations,
        "succeeded": inner.succeeded,
        "rejected": inner.rejected,
        "throttled": inner.throttled,
        "throttleRemaining": inner.throttle_remaining,
        "withFinishReason": inner.with_finish_reason,
        "finishReason": inner.finish_reason,
        "finishReasonRemaining": inner.finish_reason_remaining,
        "log": inner.log,
    }))
    .into_response()
}

/// Back to the state right after start.
async fn reset(State(service): State<BedrockService>) -> Response {
    *service.lock() = Inner::default();
    Json(json!({ "reset": true })).into_response()
}

//! Controls for tests and the demo, under `/_emulator/bedrock` (no authentication).
//!
//! | route | effect |
//! |---|---|
//! | `POST /throttle?count=N` | the next N invocations answer 429 ThrottlingException (`count=0` cancels) |
//! | `GET /requests` | counters and log of invocations (model, status, error; never images or prompts) |
//! | `POST /reset` | no pending throttling, empty log |

use crate::admin::AdminQuery;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::{BedrockService, Inner};

/// The admin routes, relative to `/_emulator/bedrock`.
pub fn router() -> Router<BedrockService> {
    Router::new()
        .route("/throttle", post(throttle))
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

/// Counters and the invocation log.
async fn requests(State(service): State<BedrockService>) -> Response {
    let inner = service.lock();
    Json(json!({
        "invocations": inner.invocations,
        "succeeded": inner.succeeded,
        "rejected": inner.rejected,
        "throttled": inner.throttled,
        "throttleRemaining": inner.throttle_remaining,
        "log": inner.log,
    }))
    .into_response()
}

/// Back to the state right after start.
async fn reset(State(service): State<BedrockService>) -> Response {
    *service.lock() = Inner::default();
    Json(json!({ "reset": true })).into_response()
}

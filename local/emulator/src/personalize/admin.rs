//! Controls for tests and the demo, under `/_emulator/personalize` (no authentication, JSON).
//!
//! | route | effect |
//! |---|---|
//! | `POST /throttle?count=N[&scope=all\|events\|runtime]` | the next N data-plane requests (of that API; default both) answer 429 `ThrottlingException`; replaces a pending injection, `count=0` cancels |
//! | `POST /unavailable?seconds=N[&scope=all\|events\|runtime]` | for N seconds, data-plane requests (default both APIs) answer 503 `ServiceUnavailableException`; `seconds=0` ends it |
//! | `GET /events[?trackingId=T]` | every accepted PutEvents request, in order: the JSON as sent plus `seq` and `receivedAt` |
//! | `GET /interactions` | what the recommendation model uses: one entry per event (repeated event ids left out) |
//! | `GET /users`, `GET /items` | what PutUsers / PutItems stored, one entry per (datasetArn, id), properties parsed |
//! | `GET /recommendations` | answered GetRecommendations / GetPersonalizedRanking requests and the item ids returned |
//! | `GET /requests` | per-operation counters, pending injections and the request log (never bodies) |
//! | `GET /models` | the service models requests are checked against: `{events, runtime}`, each `{serviceId, apiVersion, source}` (the botocore file) |
//! | `GET /config`, `PUT /config` | the settings in force (see [`super::Config`], camelCase JSON); `PUT` replaces them (absent keys take their defaults) |
//! | `POST /reset` | back to the state at start: start-up settings, no data, no injections, empty logs |

use std::time::{Duration, Instant};

use crate::admin::{self, AdminQuery};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{Config, DatasetRecord, PersonalizeService, Scope};

/// The admin routes, relative to `/_emulator/personalize`.
pub fn router() -> Router<PersonalizeService> {
    Router::new()
        .route("/throttle", post(throttle))
        .route("/unavailable", post(unavailable))
        .route("/events", get(events))
        .route("/interactions", get(interactions))
        .route("/users", get(users))
        .route("/items", get(items))
        .route("/recommendations", get(recommendations))
        .route("/requests", get(requests))
        .route("/models", get(models))
        .route("/config", get(get_config).put(put_config))
        .route("/reset", post(reset))
}

/// Query of `POST /throttle`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThrottleParams {
    /// How many of the next requests answer 429.
    pub count: u32,
    /// Which API they belong to.
    #[serde(default)]
    pub scope: Scope,
}

async fn models(State(service): State<PersonalizeService>) -> Response {
    Json(service.models().describe()).into_response()
}

async fn throttle(
    State(service): State<PersonalizeService>,
    AdminQuery(params): AdminQuery<ThrottleParams>,
) -> Response {
    let mut inner = service.lock();
    inner.throttle_remaining = params.count;
    inner.throttle_scope = params.scope;
    Json(json!({ "throttleRemaining": params.count, "scope": params.scope })).into_response()
}

/// Query of `POST /unavailable`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnavailableParams {
    /// How long the outage lasts from now (0 ends it).
    pub seconds: u64,
    /// Which API is down.
    #[serde(default)]
    pub scope: Scope,
}

async fn unavailable(
    State(service): State<PersonalizeService>,
    AdminQuery(params): AdminQuery<UnavailableParams>,
) -> Response {
    let mut inner = service.lock();
    inner.outage_until = (params.seconds > 0)
        .then(|| Instant::now().checked_add(Duration::from_secs(params.seconds)))
        .flatten();
    inner.outage_scope = params.scope;
    Json(json!({ "unavailableForSeconds": params.seconds, "scope": params.scope })).into_response()
}

/// Query of `GET /events`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EventsParams {
    /// Only requests with this tracking id.
    pub tracking_id: Option<String>,
}

async fn events(
    State(service): State<PersonalizeService>,
    AdminQuery(params): AdminQuery<EventsParams>,
) -> Response {
    let inner = service.lock();
    let events: Vec<Value> = inner
        .events
        .iter()
        .filter(|r| match &params.tracking_id {
            Some(id) => r.request.get("trackingId").and_then(Value::as_str) == Some(id),
            None => true,
        })
        .map(|r| {
            let mut entry = r.request.clone();
            if let Value::Object(map) = &mut entry {
                map.insert("seq".to_owned(), json!(r.seq));
                map.insert("receivedAt".to_owned(), json!(r.received_at));
            }
            entry
        })
        .collect();
    Json(json!({ "count": events.len(), "events": events })).into_response()
}

async fn interactions(State(service): State<PersonalizeService>) -> Response {
    let inner = service.lock();
    let interactions: Vec<&super::recommend::Interaction> = inner.interactions().collect();
    Json(json!({ "count": interactions.len(), "interactions": interactions })).into_response()
}

fn records_json(records: &[DatasetRecord], id_key: &str) -> Vec<Value> {
    records
        .iter()
        .map(|r| {
            let mut entry = json!({
                "datasetArn": r.dataset_arn,
                id_key: r.id,
                "receivedAt": r.received_at,
                "puts": r.puts,
            });
            if let Some(properties) = &r.properties {
                entry["properties"] = Value::Object(properties.clone());
            }
            entry
        })
        .collect()
}

async fn users(State(service): State<PersonalizeService>) -> Response {
    let inner = service.lock();
    let users = records_json(&inner.users.entries, "userId");
    Json(json!({ "count": users.len(), "users": users })).into_response()
}

async fn items(State(service): State<PersonalizeService>) -> Response {
    let inner = service.lock();
    let items = records_json(&inner.items.entries, "itemId");
    Json(json!({ "count": items.len(), "items": items })).into_response()
}

async fn recommendations(State(service): State<PersonalizeService>) -> Response {
    let inner = service.lock();
    Json(json!({
        "count": inner.recommendations.len(),
        "recommendations": inner.recommendations,
    }))
    .into_response()
}

async fn requests(State(service): State<PersonalizeService>) -> Response {
    let mut inner = service.lock();
    let now = Instant::now();
    if inner.outage_until.is_some_and(|until| until <= now) {
        inner.outage_until = None;
    }
    let operations: serde_json::Map<String, Value> = inner
        .stats
        .iter()
        .map(|(op, stats)| (op.name().to_owned(), json!(stats)))
        .collect();
    Json(json!({
        "operations": operations,
        "throttleRemaining": inner.throttle_remaining,
        "throttleScope": inner.throttle_scope,
        "unavailableForSeconds": inner.outage_until.map(|until| until.duration_since(now).as_secs_f64()),
        "unavailableScope": inner.outage_scope,
        "log": inner.log,
    }))
    .into_response()
}

async fn get_config(State(service): State<PersonalizeService>) -> Response {
    Json(json!(service.lock().config)).into_response()
}

async fn put_config(State(service): State<PersonalizeService>, body: Bytes) -> Response {
    let config: Config = match serde_json::from_slice(&body) {
        Ok(config) => config,
        Err(e) => return admin::error(StatusCode::BAD_REQUEST, &e.to_string()),
    };
    let mut inner = service.lock();
    inner.config = config;
    Json(json!(inner.config)).into_response()
}

async fn reset(State(service): State<PersonalizeService>) -> Response {
    service.reset();
    Json(json!({ "reset": true })).into_response()
}

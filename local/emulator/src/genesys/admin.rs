//! Controls for tests and the demo, under `/_emulator/genesys` (no authentication).
//!
//! Nothing here exists in Genesys Cloud: these routes register documents, inject the failures a
//! real org produces (transcripts that lag the end of a call, archived recordings, rate limits,
//! expired tokens), move the emulated clock, and report what clients did.
//!
//! | route | effect |
//! |---|---|
//! | `GET /conversations` | list served documents and their state |
//! | `PUT /conversations/{c}/communications/{m}[?notReadyFor=N][&gone=true]` | register or replace a document (JSON body) |
//! | `GET /conversations/{c}/communications/{m}` | one document's state |
//! | `DELETE /conversations/{c}/communications/{m}` | stop serving it |
//! | `GET /requests` | counters and log of client calls |
//! | `POST /tokens/expire` | expire every issued token |
//! | `POST /throttle?count=N[&retryAfter=S][&scope=api\|oauth\|all]` | next N calls answer 429 |
//! | `POST /clock/advance?seconds=N` | move the emulated clock forward |
//! | `POST /reset` | back to the fixtures, no tokens, empty log |

use crate::admin::{self, AdminQuery};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;

use super::store::{self, DocKey, Document, Origin};
use super::{GenesysService, ThrottleScope};

/// The admin routes, relative to `/_emulator/genesys`.
pub fn router() -> Router<GenesysService> {
    Router::new()
        .route("/conversations", get(list_documents))
        .route(
            "/conversations/{conversation_id}/communications/{communication_id}",
            get(get_document).put(put_document).delete(delete_document),
        )
        .route("/requests", get(requests))
        .route("/tokens/expire", post(expire_tokens))
        .route("/throttle", post(throttle))
        .route("/clock/advance", post(advance_clock))
        .route("/reset", post(reset))
}

/// Query of `PUT .../conversations/{c}/communications/{m}`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PutParams {
    /// The first N `transcripturl` calls answer 404, as while transcription is still running.
    #[serde(default)]
    pub not_ready_for: u32,
    /// Every `transcripturl` call answers 404, as for an archived recording.
    #[serde(default)]
    pub gone: bool,
}

/// Registers or replaces the document served for a conversation/communication. The body must be
/// JSON; if it names its own `conversationId`/`communicationId` they must match the path. Answers
/// 201 for a new document, 200 for a replaced one.
async fn put_document(
    State(service): State<GenesysService>,
    Path((conversation_id, communication_id)): Path<(String, String)>,
    AdminQuery(params): AdminQuery<PutParams>,
    body: Bytes,
) -> Response {
    let ids = match store::declared_ids(&body) {
        Ok(ids) => ids,
        Err(message) => return admin::error(StatusCode::BAD_REQUEST, &message),
    };
    for (field, declared, path) in [
        ("conversationId", &ids.conversation_id, &conversation_id),
        ("communicationId", &ids.communication_id, &communication_id),
    ] {
        if declared.as_ref().is_some_and(|declared| declared != path) {
            return admin::error(
                StatusCode::BAD_REQUEST,
                &format!("the document's {field} {declared:?} differs from the path's {path:?}"),
            );
        }
    }
    let key = DocKey::new(conversation_id, communication_id);
    let document = Document {
        organization_id: ids
            .organization_id
            .unwrap_or_else(|| store::DEFAULT_ORGANIZATION_ID.to_owned()),
        body,
        not_ready_remaining: params.not_ready_for,
        gone: params.gone,
        origin: Origin::Admin,
    };
    let view = document_view(&key, &document);
    let replaced = service.lock().documents.insert(key, document).is_some();
    let status = if replaced {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    (status, Json(view)).into_response()
}

/// The state of one document (not its contents).
async fn get_document(
    State(service): State<GenesysService>,
    Path((conversation_id, communication_id)): Path<(String, String)>,
) -> Response {
    let key = DocKey::new(conversation_id, communication_id);
    match service.lock().documents.get(&key) {
        Some(document) => Json(document_view(&key, document)).into_response(),
        None => admin::error(StatusCode::NOT_FOUND, &format!("no document for {key}")),
    }
}

/// Stops serving a document: 204, or 404 if there was none.
async fn delete_document(
    State(service): State<GenesysService>,
    Path((conversation_id, communication_id)): Path<(String, String)>,
) -> Response {
    let key = DocKey::new(conversation_id, communication_id);
    match service.lock().documents.remove(&key) {
        Some(_) => StatusCode::NO_CONTENT.into_response(),
        None => admin::error(StatusCode::NOT_FOUND, &format!("no document for {key}")),
    }
}

/// Every served document's state, ordered by conversation and communication id.
async fn list_documents(State(service): State<GenesysService>) -> Json<Value> {
    let inner = service.lock();
    let documents: Vec<Value> = inner
        .documents
        .iter()
        .map(|(key, document)| document_view(key, document))
        .collect();
    Json(json!({ "documents": documents }))
}

/// Counters and log of client calls; see [`super::activity::Activity`].
async fn requests(State(service): State<GenesysService>) -> Response {
    Json(&service.lock().activity).into_response()
}

/// Expires every issued token, as when tokens are revoked or reach their lifetime: the next API
/// call with one answers 401 `bad.credentials`. Answers how many were still valid.
async fn expire_tokens(State(service): State<GenesysService>) -> Json<Value> {
    let mut inner = service.lock();
    let now = inner.clock.now();
    let valid = inner.tokens.values().filter(|exp| **exp > now).count();
    inner.tokens.clear();
    Json(json!({ "expired": valid }))
}

/// Query of `POST /throttle`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ThrottleParams {
    /// How many calls answer 429; 0 cancels a pending injection.
    pub count: u32,
    /// `Retry-After` seconds to send (default 1).
    #[serde(default = "default_retry_after")]
    pub retry_after: u64,
    /// Which calls: `api` (default), `oauth` or `all`.
    #[serde(default)]
    pub scope: ThrottleScope,
}

fn default_retry_after() -> u64 {
    1
}

/// Makes the next `count` calls in `scope` answer 429 with `Retry-After`, replacing any pending
/// injection.
async fn throttle(
    State(service): State<GenesysService>,
    AdminQuery(params): AdminQuery<ThrottleParams>,
) -> Response {
    let mut inner = service.lock();
    inner.throttle.remaining = params.count;
    inner.throttle.retry_after_secs = params.retry_after;
    inner.throttle.scope = params.scope;
    Json(json!({
        "remaining": params.count,
        "retryAfter": params.retry_after,
        "scope": params.scope,
    }))
    .into_response()
}

/// Query of `POST /clock/advance`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdvanceParams {
    pub seconds: u64,
}

/// Moves the emulated clock forward (tokens and links expire by it; it also stamps new links).
/// Answers the total offset and the emulated time.
async fn advance_clock(
    State(service): State<GenesysService>,
    AdminQuery(params): AdminQuery<AdvanceParams>,
) -> Response {
    let mut inner = service.lock();
    inner
        .clock
        .advance(std::time::Duration::from_secs(params.seconds));
    Json(json!({
        "offsetSeconds": inner.clock.offset().as_secs(),
        "now": inner.clock.now_utc().format(&Rfc3339).unwrap_or_default(),
    }))
    .into_response()
}

/// Back to the state right after start: the fixtures (admin registrations and countdowns
/// dropped), no tokens (clients holding one get 401 and must fetch another), no pending 429s,
/// an empty request log, the clock in step with the wall clock.
async fn reset(State(service): State<GenesysService>) -> Json<Value> {
    let mut inner = service.lock();
    inner.reset();
    Json(json!({ "documents": inner.documents.len() }))
}

fn document_view(key: &DocKey, document: &Document) -> Value {
    let (source, fixture) = match &document.origin {
        Origin::Fixture(path) => ("fixture", Some(path.display().to_string())),
        Origin::Admin => ("admin", None),
    };
    json!({
        "conversationId": key.conversation_id,
        "communicationId": key.communication_id,
        "organizationId": document.organization_id,
        "notReadyRemaining": document.not_ready_remaining,
        "gone": document.gone,
        "bytes": document.body.len(),
        "source": source,
        "fixture": fixture,
    })
}

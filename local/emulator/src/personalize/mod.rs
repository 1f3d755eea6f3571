//! Amazon Personalize: the Events API (`PutEvents`, `PutUsers`, `PutItems`) and the Runtime API
//! (`GetRecommendations`, `GetPersonalizedRanking`), both restJson1 as the official SDKs speak
//! them, so `aws-sdk-personalizeevents` / `aws-sdk-personalizeruntime` (or boto3) run unchanged
//! when pointed here (`AWS_ENDPOINT_URL_PERSONALIZE_EVENTS`,
//! `AWS_ENDPOINT_URL_PERSONALIZE_RUNTIME`, or `endpoint_url`).
//!
//! Every request body is checked against AWS's own service models, botocore's
//! `personalize-events` and `personalize-runtime` as the project's `.venv` has them (see
//! [`model`] and [`crate::botocore`]), then against what only the API reference states (see
//! [`validate`]); errors use the restJson1 shape the SDKs parse: the status, an
//! `x-amzn-ErrorType` header naming the exception and a `{"message": ...}` body (see [`error`]).
//!
//! Recommendations follow the events received (see [`recommend`]): popularity for a user,
//! co-occurrence for an item, so a demo shows its clicks changing what comes back.
//!
//! With IAM enforcement ([`PersonalizeService::with_iam`]), every data-plane request needs a
//! known caller, and the caller's policies must allow the operation on its resources (see
//! [`events`] and [`runtime`]): checked once the request is valid (the resource ARNs are in
//! the body), before the resources' existence.
//!
//! | route | mirrors |
//! |---|---|
//! | `POST /events` | [`events::put_events`] |
//! | `POST /users` | [`events::put_users`] |
//! | `POST /items` | [`events::put_items`] |
//! | `POST /recommendations` | [`runtime::get_recommendations`] |
//! | `POST /personalize-ranking` | [`runtime::get_personalized_ranking`] |
//! | `/_emulator/personalize/...` | test and demo controls, see [`admin`] |

pub mod admin;
pub mod error;
pub mod events;
pub mod model;
mod operation;
pub mod recommend;
pub mod runtime;
pub mod validate;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use serde::Serialize;
use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::access::Access;
use crate::iam::Principals;
use error::ApiError;
pub use model::Models;
pub use operation::{Api, Operation, Scope};

/// How many entries the request log keeps.
pub const LOG_CAPACITY: usize = 10_000;

/// How many accepted `PutEvents` requests are kept (the oldest are dropped, and stop counting
/// towards recommendations).
pub const EVENTS_CAPACITY: usize = 100_000;

/// Settings of the Personalize emulator. Everything here can also be changed at run time with
/// `PUT /_emulator/personalize/config`; `POST /_emulator/personalize/reset` comes back to it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct Config {
    /// Tracking ids `PutEvents` accepts; `None`: any. Others answer 404
    /// `ResourceNotFoundException`.
    pub tracking_ids: Option<BTreeSet<String>>,
    /// Dataset ARNs `PutUsers` / `PutItems` accept; `None`: any. Others answer 404
    /// `ResourceNotFoundException`.
    pub dataset_arns: Option<BTreeSet<String>>,
    /// Campaign and recommender ARNs the Runtime accepts; `None`: any. Others answer 404
    /// `ResourceNotFoundException`.
    pub solution_arns: Option<BTreeSet<String>>,
    /// Items every recommendation may return even before any event or `PutItems` names them.
    pub seed_items: Vec<String>,
    /// Weight of an event of each type in popularity; types not listed weigh 1. Negative weights
    /// count as 0.
    pub event_type_weights: BTreeMap<String, f64>,
}

/// Shared state of the Personalize emulator; cheap to clone.
#[derive(Clone)]
pub struct PersonalizeService {
    shared: Arc<Shared>,
}

struct Shared {
    /// The settings given at start (what `reset` restores).
    initial: Config,
    /// IAM enforcement; `None`: every request is allowed, signed or not.
    iam: Option<Arc<Principals>>,
    /// AWS's models every request body is checked against.
    models: Arc<Models>,
    inner: Mutex<Inner>,
}

/// Mutable state, behind one lock (never held across an await).
pub(crate) struct Inner {
    /// The settings in force.
    pub(crate) config: Config,
    /// The next N data-plane requests (in `throttle_scope`) answer 429 ThrottlingException.
    pub(crate) throttle_remaining: u32,
    pub(crate) throttle_scope: Scope,
    /// Until then, data-plane requests in `outage_scope` answer 503.
    pub(crate) outage_until: Option<Instant>,
    pub(crate) outage_scope: Scope,
    /// Accepted `PutEvents` requests, oldest first.
    pub(crate) events: VecDeque<RecordedEvents>,
    /// Event ids already seen (a repeated id is logged but, as in Personalize, not used).
    pub(crate) event_ids: HashSet<String>,
    /// `PutUsers` records, one per (datasetArn, userId), in first-seen order.
    pub(crate) users: Records,
    /// `PutItems` records, one per (datasetArn, itemId), in first-seen order.
    pub(crate) items: Records,
    /// Answered recommendation requests (`GetRecommendations`, `GetPersonalizedRanking`).
    pub(crate) recommendations: VecDeque<Value>,
    pub(crate) next_seq: u64,
    /// Accepted `PutEvents` requests so far (the `seq` of the last one).
    pub(crate) events_received: u64,
    pub(crate) next_recommendation: u64,
    pub(crate) log: VecDeque<LogEntry>,
    pub(crate) stats: BTreeMap<Operation, OperationStats>,
}

/// One accepted `PutEvents` request.
#[derive(Debug, Clone)]
pub(crate) struct RecordedEvents {
    pub(crate) seq: u64,
    pub(crate) received_at: String,
    /// The JSON body as sent.
    pub(crate) request: Value,
    /// What the recommendation model uses of it (duplicate event ids left out).
    pub(crate) interactions: Vec<recommend::Interaction>,
}

/// `PutUsers` / `PutItems` records keyed by (datasetArn, id), in first-seen order.
#[derive(Debug, Default)]
pub(crate) struct Records {
    pub(crate) entries: Vec<DatasetRecord>,
    index: HashMap<(String, String), usize>,
}

/// One user or item as last put.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DatasetRecord {
    pub dataset_arn: String,
    pub id: String,
    /// The properties, parsed (a JSON object), if given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub properties: Option<Map<String, Value>>,
    /// When it was last put (RFC 3339, UTC).
    pub received_at: String,
    /// How many times it was put.
    pub puts: u32,
}

impl Records {
    /// Inserts or replaces (as PutUsers/PutItems do for an existing id).
    pub(crate) fn upsert(&mut self, record: DatasetRecord) {
        let key = (record.dataset_arn.clone(), record.id.clone());
        match self.index.get(&key) {
            Some(&i) => {
                let puts = self.entries[i].puts + 1;
                self.entries[i] = DatasetRecord { puts, ..record };
            }
            None => {
                self.index.insert(key, self.entries.len());
                self.entries.push(DatasetRecord { puts: 1, ..record });
            }
        }
    }
}

/// Per-operation counters.
#[derive(Debug, Clone, Copy, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OperationStats {
    pub requests: u64,
    pub succeeded: u64,
    /// 4xx answers other than throttling.
    pub rejected: u64,
    pub throttled: u64,
    /// 503 answers during an injected outage.
    pub unavailable: u64,
}

/// One logged data-plane request (never bodies).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogEntry {
    pub seq: u64,
    pub operation: Operation,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    pub request_id: String,
    /// When it was answered (RFC 3339, UTC).
    pub at: String,
}

impl Inner {
    fn new(config: Config) -> Self {
        Self {
            config,
            throttle_remaining: 0,
            throttle_scope: Scope::All,
            outage_until: None,
            outage_scope: Scope::All,
            events: VecDeque::new(),
            event_ids: HashSet::new(),
            users: Records::default(),
            items: Records::default(),
            recommendations: VecDeque::new(),
            next_seq: 0,
            events_received: 0,
            next_recommendation: 0,
            log: VecDeque::new(),
            stats: Operation::ALL
                .iter()
                .map(|op| (*op, OperationStats::default()))
                .collect(),
        }
    }

    /// The fault injected for the next request of `operation`, if any (consumes one throttle).
    fn injected_fault(&mut self, operation: Operation) -> Option<ApiError> {
        let api = operation.api();
        if let Some(until) = self.outage_until {
            if Instant::now() >= until {
                self.outage_until = None;
            } else if self.outage_scope.covers(api) {
                return Some(ApiError::service_unavailable());
            }
        }
        if self.throttle_remaining > 0 && self.throttle_scope.covers(api) {
            self.throttle_remaining -= 1;
            return Some(ApiError::throttling());
        }
        None
    }

    /// Counts and logs an answered request, dropping the oldest log entry beyond
    /// [`LOG_CAPACITY`].
    fn record(&mut self, operation: Operation, request_id: &str, outcome: Result<(), &ApiError>) {
        let stats = self.stats.entry(operation).or_default();
        stats.requests += 1;
        let (status, error_type, message) = match outcome {
            Ok(()) => {
                stats.succeeded += 1;
                (200, None, None)
            }
            Err(error) => {
                match error.status.as_u16() {
                    429 => stats.throttled += 1,
                    503 => stats.unavailable += 1,
                    _ => stats.rejected += 1,
                }
                (
                    error.status.as_u16(),
                    Some(error.error_type),
                    Some(error.message.clone()),
                )
            }
        };
        self.next_seq += 1;
        if self.log.len() == LOG_CAPACITY {
            self.log.pop_front();
        }
        self.log.push_back(LogEntry {
            seq: self.next_seq,
            operation,
            status,
            error_type,
            message,
            request_id: request_id.to_owned(),
            at: now_rfc3339(),
        });
    }

    /// Every interaction the model uses, oldest first.
    pub(crate) fn interactions(&self) -> impl Iterator<Item = &recommend::Interaction> {
        self.events.iter().flat_map(|r| r.interactions.iter())
    }

    /// Items known without events: the seed catalogue and every `PutItems` item.
    pub(crate) fn catalogue(&self) -> BTreeSet<String> {
        self.config
            .seed_items
            .iter()
            .cloned()
            .chain(self.items.entries.iter().map(|r| r.id.clone()))
            .collect()
    }

    /// The next recommendation id: `RID-` and a UUID-shaped hash of a counter, so a fresh
    /// emulator hands out the same ids in the same order (40 characters, the limit of
    /// `recommendationId` in PutEvents).
    pub(crate) fn next_recommendation_id(&mut self) -> String {
        use sha2::{Digest, Sha256};
        self.next_recommendation += 1;
        let digest = Sha256::digest(format!(
            "mlpipe-personalize-recommendation-{}",
            self.next_recommendation
        ));
        let h = crate::ids::hex(&digest[..16]);
        format!(
            "RID-{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        )
    }
}

impl PersonalizeService {
    /// A service with `config` checking requests against `models`, enforcing no IAM.
    pub fn new(config: Config, models: Arc<Models>) -> Self {
        Self::with_iam(config, None, models)
    }

    /// A service with `config` checking requests against `models` that, given `iam`, answers
    /// only requests signed with a known access key and evaluates each operation against the
    /// caller's policies.
    pub fn with_iam(config: Config, iam: Option<Arc<Principals>>, models: Arc<Models>) -> Self {
        Self {
            shared: Arc::new(Shared {
                initial: config.clone(),
                iam,
                models,
                inner: Mutex::new(Inner::new(config)),
            }),
        }
    }

    /// The service models requests are checked against.
    pub fn models(&self) -> &Models {
        &self.shared.models
    }

    /// The principals it enforces IAM for, if it does.
    pub fn iam(&self) -> Option<&Arc<Principals>> {
        self.shared.iam.as_ref()
    }

    /// The settings the service started with.
    pub fn initial_config(&self) -> &Config {
        &self.shared.initial
    }

    /// Locks the mutable state (a poisoned lock is taken over, as in the other modules).
    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.shared
            .inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Back to the state right after start.
    pub(crate) fn reset(&self) {
        *self.lock() = Inner::new(self.shared.initial.clone());
    }
}

/// Answers one data-plane request: 403 for an unknown caller (with IAM enforcement), else an
/// injected fault if one is pending, else, for a body that is JSON and passes AWS's model for
/// `operation` (else 400), `handle`'s answer (`Ok(Some(json))`, `Ok(None)` for an empty 200,
/// or an error; `handle` gets the parsed body and checks the caller's permissions with the
/// [`Access`] it is given), counted and logged.
pub(crate) fn answer(
    service: &PersonalizeService,
    operation: Operation,
    headers: &HeaderMap,
    uri: &Uri,
    body: &[u8],
    handle: impl FnOnce(&mut Inner, &Access, Map<String, Value>) -> Result<Option<String>, ApiError>,
) -> Response {
    let request_id = crate::ids::uuid_v4();
    // Before taking the lock: authenticating may re-read the principals file, and checking the
    // body against the model needs no state.
    let access = Access::of_request(service.iam(), headers, uri);
    let request = validate::parse_body(body).and_then(|request| {
        service.models().check(operation, &request)?;
        Ok(request)
    });
    let outcome = {
        let mut inner = service.lock();
        let outcome = match access {
            Err(error) => Err(ApiError::from(error)),
            Ok(access) => match inner.injected_fault(operation) {
                Some(fault) => Err(fault),
                None => request.and_then(|request| handle(&mut inner, &access, request)),
            },
        };
        inner.record(operation, &request_id, outcome.as_ref().map(|_| ()));
        outcome
    };
    match outcome {
        Ok(body) => error::ok_response(body, &request_id),
        Err(error) => error.to_response(&request_id),
    }
}

/// The current time, RFC 3339 UTC.
pub(crate) fn now_rfc3339() -> String {
    OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// The Personalize Events and Runtime routes, with the admin API nested under
/// `/_emulator/personalize`.
pub fn router(service: PersonalizeService) -> Router {
    let mut router = Router::new();
    for op in Operation::ALL {
        router = router.route(
            op.route(),
            match op {
                Operation::PutEvents => post(events::put_events),
                Operation::PutUsers => post(events::put_users),
                Operation::PutItems => post(events::put_items),
                Operation::GetRecommendations => post(runtime::get_recommendations),
                Operation::GetPersonalizedRanking => post(runtime::get_personalized_ranking),
            },
        );
    }
    router
        .nest("/_emulator/personalize", admin::router())
        .with_state(service)
}

/// The models found the usual way (see [`crate::botocore::locate_data`]), loaded once for the
/// unit tests.
#[cfg(test)]
pub(crate) fn test_models() -> Arc<Models> {
    static MODELS: std::sync::OnceLock<Arc<Models>> = std::sync::OnceLock::new();
    MODELS
        .get_or_init(|| {
            Arc::new(Models::locate(None).expect("botocore models (run scripts/setup.sh)"))
        })
        .clone()
}

//! Amazon Bedrock Runtime: `InvokeModel` for the image models the background-replacement
//! pipeline calls:
//!
//! - legacy: Titan Image Generator G1 v1/v2 and Nova Canvas, OUTPAINTING task only;
//! - Stability AI Image Services: Stable Image Inpaint (`stability.stable-image-inpaint-v1:0`)
//!   and Stable Image Remove Background (`stability.stable-image-remove-background-v1:0`),
//!   called as the US cross-region inference profiles `us.stability....` (base ids and
//!   foundation-model / inference-profile ARNs work too).
//!
//! Requests are validated as the real service does (see [`validate`] and [`models`] for the
//! limits and their sources) and answered with real images (see [`paint`]: Inpaint answers
//! about 4 megapixels with the input's aspect ratio, the kept pixels being the resized input's;
//! Remove Background answers an RGBA image of the input's size). Errors use the Bedrock
//! REST-JSON shape: the status, an `x-amzn-ErrorType` header naming the exception and a
//! `{"message": ...}` body, which the AWS SDKs turn into typed errors.
//!
//! Stability finish reasons: a Stability invocation that passes validation can be made to end
//! with a non-null finish reason (200 `{"finish_reasons": ["<reason>"]}`, no image), either for
//! the next N Stability invocations with `POST /_emulator/bedrock/finish-reason?reason=..&count=N`
//! ([`admin`]) or for one Inpaint call whose prompt contains
//! `[emulator finish reason: <reason>]` ([`validate::finish_marker`]). The reasons are the four
//! documented ones ([`models::FINISH_REASONS`]). The admin injection wins over a marker.
//!
//! With IAM enforcement ([`BedrockService::with_iam`]), `InvokeModel` needs a known caller and
//! `bedrock:InvokeModel` on the model's resources ([`api::model_resource_arns`]: the model or
//! profile, plus, for a `us.` profile, the foundation model in each US destination region).
//!
//! | route | mirrors |
//! |---|---|
//! | `POST /model/{modelId}/invoke` | [`api::invoke_model`] |
//! | `/_emulator/bedrock/...` | test and demo controls, see [`admin`] |

pub mod admin;
pub mod api;
pub mod models;
pub mod paint;
pub mod validate;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::DefaultBodyLimit;
use axum::routing::post;
use axum::Router;
use serde::Serialize;

use crate::iam::Principals;

/// Largest InvokeModel body accepted. The service's own limit is 25,000,000 bytes per request
/// body (InvokeModel API reference, `body` length constraint); larger bodies get a 400
/// ValidationException rather than axum's default 2 MB cut-off.
pub const MAX_BODY_BYTES: usize = 25_000_000;

/// How many invocations the request log keeps.
pub const LOG_CAPACITY: usize = 10_000;

/// Settings of the Bedrock Runtime emulator.
#[derive(Debug, Clone, Default)]
pub struct Config {}

/// Shared state of the Bedrock emulator; cheap to clone.
#[derive(Clone)]
pub struct BedrockService {
    shared: Arc<Shared>,
}

struct Shared {
    config: Config,
    /// IAM enforcement; `None`: every request is allowed, signed or not.
    iam: Option<Arc<Principals>>,
    inner: Mutex<Inner>,
}

/// Mutable state, behind one lock (never held across an await or while painting).
#[derive(Default)]
pub(crate) struct Inner {
    /// The next N invocations answer 429 ThrottlingException.
    pub(crate) throttle_remaining: u32,
    /// The finish reason the next [`Inner::finish_reason_remaining`] Stability invocations that
    /// pass validation end with.
    pub(crate) finish_reason: Option<&'static str>,
    pub(crate) finish_reason_remaining: u32,
    pub(crate) next_seq: u64,
    pub(crate) log: VecDeque<Invocation>,
    pub(crate) invocations: u64,
    pub(crate) throttled: u64,
    pub(crate) rejected: u64,
    pub(crate) succeeded: u64,
    /// 200 answers with a non-null finish reason (also counted in `succeeded`).
    pub(crate) with_finish_reason: u64,
}

/// One logged invocation (never the images or prompts).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Invocation {
    pub seq: u64,
    /// The `modelId` as the client sent it (decoded).
    pub model_id: String,
    /// The base model it resolved to, if any.
    pub model: Option<&'static str>,
    pub status: u16,
    /// `x-amzn-ErrorType` of an error answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Images returned (0 on error or with a finish reason).
    pub images: u32,
    /// Size of the returned images.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// The non-null finish reason of a Stability answer (200, no image).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<&'static str>,
    pub request_bytes: usize,
    pub request_id: String,
    /// When it was answered (RFC 3339, UTC).
    pub at: String,
}

impl BedrockService {
    /// A service with `config`, enforcing no IAM.
    pub fn new(config: Config) -> Self {
        Self::with_iam(config, None)
    }

    /// A service with `config` that, given `iam`, answers only requests signed with a known
    /// access key and evaluates `bedrock:InvokeModel` against the caller's policies.
    pub fn with_iam(config: Config, iam: Option<Arc<Principals>>) -> Self {
        Self {
            shared: Arc::new(Shared {
                config,
                iam,
                inner: Mutex::new(Inner::default()),
            }),
        }
    }

    /// The principals it enforces IAM for, if it does.
    pub fn iam(&self) -> Option<&Arc<Principals>> {
        self.shared.iam.as_ref()
    }

    /// The settings this service runs with.
    pub fn config(&self) -> &Config {
        &self.shared.config
    }

    /// The pending injected finish reason, counting it down; `None` when none is pending.
    pub(crate) fn take_finish_reason(&self) -> Option<&'static str> {
        let mut inner = self.lock();
        if inner.finish_reason_remaining == 0 {
            return None;
        }
        inner.finish_reason_remaining -= 1;
        let reason = inner.finish_reason;
        if inner.finish_reason_remaining == 0 {
            inner.finish_reason = None;
        }
        reason
    }

    /// Locks the mutable state (a poisoned lock is taken over, as in the Genesys module).
    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.shared
            .inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Inner {
    /// Appends an invocation to the log, dropping the oldest beyond [`LOG_CAPACITY`].
    pub(crate) fn record(&mut self, mut entry: Invocation) {
        self.invocations += 1;
        match entry.status {
            200 => {
                self.succeeded += 1;
                if entry.finish_reason.is_some() {
                    self.with_finish_reason += 1;
                }
            }
            429 => self.throttled += 1,
            _ => self.rejected += 1,
        }
        self.next_seq += 1;
        entry.seq = self.next_seq;
        if self.log.len() == LOG_CAPACITY {
            self.log.pop_front();
        }
        self.log.push_back(entry);
    }
}

/// The Bedrock Runtime routes, with the admin API nested under `/_emulator/bedrock`.
pub fn router(service: BedrockService) -> Router {
    Router::new()
        .route("/model/{model_id}/invoke", post(api::invoke_model))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .nest("/_emulator/bedrock", admin::router())
        .with_state(service)
}

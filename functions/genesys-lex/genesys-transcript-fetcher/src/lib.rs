//! Genesys Cloud transcript fetcher.
//!
//! Target of an EventBridge rule on the Genesys Cloud partner bus, receiving
//! `v2.conversations.{id}.transcription` events. For an event whose
//! `detail.eventBody.status.status` is `SESSION_ENDED` it
//!
//! 1. reads the OAuth client credentials from Secrets Manager (cached across warm invocations),
//! 2. gets an access token (client credentials grant, cached until shortly before it expires),
//! 3. asks the Speech and Text Analytics API for the transcript's presigned URL and downloads the
//!    document from it (see [`genesys`] for how each HTTP answer is classified), and
//! 4. stores the document unchanged at `{RAW_PREFIX}{conversationId}/{communicationId}.json` in
//!    `RAW_BUCKET`, so a redelivered event overwrites the same object.
//!
//! It answers `{"action":"stored","bucket","key","bytes"}`. Any other event (session ongoing,
//! no status, no event body, another detail type) is answered `{"action":"ignored","reason"}`
//! and is never an error (the rules are [`genesys_lex_core::event`]). A transcript that is not
//! available yet (and throttling, network trouble: any `Retryable` failure) puts the event on
//! the wait queue, which brings it back with growing delays until the waiting window has passed,
//! then it is parked with the reason ([`waiting`]). Other failures are [`PipelineError`]s: a
//! `SESSION_ENDED` event without valid ids is `InvalidInput`; bad settings, credentials or
//! permissions are `Misconfigured` (Lambda retries the asynchronous invocation, then the
//! on-failure destination keeps the event with the error).
//!
//! Layout: `main.rs` wiring, this file the handler and its ports ([`SecretSource`],
//! [`TranscriptSource`]), [`config`] the settings, [`aws`] the Secrets Manager adapter,
//! [`genesys`] the Genesys Cloud HTTP adapter. The pure rules live in `genesys-lex-core`.
//!
//! Logs carry ids, keys and sizes, never transcript text, tokens or secrets; the lines of one
//! fetch are in a `transcript` span with the conversation and communication ids. Metrics (EMF):
//! `TranscriptsFetched`, `EventsIgnored`, `FetchFailed`, `TranscriptBytes`, and for waiting
//! `TranscriptsWaiting`, `TranscriptsParked`, `TranscriptWaitMinutes`.

pub mod aws;
pub mod config;
pub mod genesys;
pub mod waiting;

use std::future::Future;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use bytes::Bytes;
use genesys_lex_core::event::{self, Request};
use genesys_lex_core::keys;
use serde::Serialize;
use serde_json::Value;
use shared::metrics::{Metrics, Unit};
use shared::store::ObjectStore;
use shared::{ErrorKind, PipelineError};
use tokio::sync::Mutex;
use tracing::Instrument;

pub use config::Config;
pub use genesys::GenesysClient;
pub use genesys_lex_core::credentials::Credentials;
pub use genesys_lex_core::event::{SESSION_ENDED, TRANSCRIPTION_DETAIL_TYPE};
pub use waiting::{Answer, Invocation, NoWaitQueue, WaitQueue};

/// Reads secret strings (port; Secrets Manager in production, see [`aws`]).
pub trait SecretSource: Send + Sync {
    /// The `SecretString` of `secret_id`. Missing secrets and denied access are
    /// `Misconfigured`; throttling and network failures `Retryable`.
    fn secret_string(
        &self,
        secret_id: &str,
    ) -> impl Future<Output = Result<String, PipelineError>> + Send;
}

/// Fetches raw transcript documents (port; [`GenesysClient`] in production).
pub trait TranscriptSource: Send + Sync {
    /// The transcript document of one communication, as the bytes Genesys serves (a JSON object).
    fn fetch_transcript(
        &self,
        credentials: &Credentials,
        conversation_id: &str,
        communication_id: &str,
    ) -> impl Future<Output = Result<Bytes, PipelineError>> + Send;
}

/// The event this function receives.
pub type TranscriptionEvent = EventBridgeEvent<Value>;

/// Content type of the stored documents.
pub const CONTENT_TYPE: &str = "application/json";

/// Metric: a transcript was fetched and stored.
pub const METRIC_TRANSCRIPTS_FETCHED: &str = "TranscriptsFetched";
/// Metric: an event did not ask for a fetch.
pub const METRIC_EVENTS_IGNORED: &str = "EventsIgnored";
/// Metric: an invocation failed.
pub const METRIC_FETCH_FAILED: &str = "FetchFailed";
/// Metric: bytes of the stored documents.
pub const METRIC_TRANSCRIPT_BYTES: &str = "TranscriptBytes";

/// What an invocation did; the function's response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "lowercase")]
pub enum Outcome {
    /// The transcript document was written to `s3://{bucket}/{key}`.
    Stored {
        bucket: String,
        key: String,
        bytes: u64,
    },
    /// The event does not ask for a fetch.
    Ignored { reason: String },
    /// The transcript is not ready: the event is on the wait queue, back after the delay.
    Waiting {
        attempts: u32,
        #[serde(rename = "delaySeconds")]
        delay_seconds: u32,
    },
}

/// The metrics of an outcome.
pub(crate) fn count(outcome: &Outcome, metrics: &mut Metrics) {
    match outcome {
        Outcome::Stored { bytes, .. } => {
            metrics.count(METRIC_TRANSCRIPTS_FETCHED).add(
                METRIC_TRANSCRIPT_BYTES,
                Unit::Bytes,
                *bytes as f64,
            );
        }
        Outcome::Ignored { .. } => {
            metrics.count(METRIC_EVENTS_IGNORED);
        }
        // Counted where the event is queued.
        Outcome::Waiting { .. } => {}
    }
}

/// The function's handler: build once per cold start, call
/// [`handle_invocation`](Self::handle_invocation) per invocation.
pub struct TranscriptFetcher<S, K, T, W = NoWaitQueue> {
    config: Config,
    store: S,
    secrets: K,
    source: T,
    queue: W,
    clock: fn() -> i64,
    credentials: Mutex<Option<Credentials>>,
}

impl<S, K, T> TranscriptFetcher<S, K, T, NoWaitQueue> {
    /// A handler writing to `store`, reading the credentials secret from `secrets` and the
    /// transcripts from `source` (a [`GenesysClient`] in production), without a wait queue.
    pub fn new(config: Config, store: S, secrets: K, source: T) -> Self {
        Self {
            config,
            store,
            secrets,
            source,
            queue: NoWaitQueue,
            clock: shared::clock::unix_seconds,
            credentials: Mutex::new(None),
        }
    }
}

impl<S, K, T, W> TranscriptFetcher<S, K, T, W> {
    /// The same handler with `queue` as its wait and parked queues (used when the settings
    /// name a wait queue).
    pub fn with_wait_queue<Q: WaitQueue>(self, queue: Q) -> TranscriptFetcher<S, K, T, Q> {
        TranscriptFetcher {
            config: self.config,
            store: self.store,
            secrets: self.secrets,
            source: self.source,
            queue,
            clock: self.clock,
            credentials: self.credentials,
        }
    }

    /// The same handler reading the time (Unix seconds) from `clock` (tests).
    pub fn with_clock(mut self, clock: fn() -> i64) -> Self {
        self.clock = clock;
        self
    }

    pub fn queue(&self) -> &W {
        &self.queue
    }
}

impl<S, K, T, W> TranscriptFetcher<S, K, T, W>
where
    S: ObjectStore,
    K: SecretSource,
    T: TranscriptSource,
    W: WaitQueue,
{
    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    pub fn secrets(&self) -> &K {
        &self.secrets
    }

    pub fn source(&self) -> &T {
        &self.source
    }

    /// The object key of a communication's raw transcript ([`keys::raw_key`]).
    pub fn raw_key(&self, conversation_id: &str, communication_id: &str) -> String {
        keys::raw_key(&self.config.raw_prefix, conversation_id, communication_id)
    }

    /// Handles one EventBridge event and flushes the invocation's metrics. A transcript that
    /// is not ready (any retryable failure) puts the event on the wait queue when there is one.
    pub async fn handle(&self, event: TranscriptionEvent) -> Result<Outcome, PipelineError> {
        let mut metrics = Metrics::from_env();
        let result = match self.process(&event).await {
            Err(e) if e.kind == ErrorKind::Retryable => {
                self.start_waiting(&event, e, &mut metrics).await
            }
            other => other,
        };
        match &result {
            Ok(outcome) => count(outcome, &mut metrics),
            Err(_) => {
                metrics.count(METRIC_FETCH_FAILED);
            }
        }
        metrics.flush();
        result
    }

    pub(crate) async fn process(
        &self,
        event: &TranscriptionEvent,
    ) -> Result<Outcome, PipelineError> {
        match event::request(&event.detail_type, &event.detail)? {
            Request::Fetch {
                conversation_id,
                communication_id,
            } => {
                let span = tracing::info_span!("transcript", conversation_id, communication_id);
                self.fetch(conversation_id, communication_id)
                    .instrument(span)
                    .await
            }
            Request::Ignore { reason } => {
                tracing::info!(
                    detail_type = %event.detail_type,
                    conversation_id = event::conversation_id(&event.detail),
                    reason = %reason,
                    "event ignored"
                );
                Ok(Outcome::Ignored { reason })
            }
        }
    }

    /// Fetches one communication's transcript and stores it raw.
    async fn fetch(
        &self,
        conversation_id: &str,
        communication_id: &str,
    ) -> Result<Outcome, PipelineError> {
        tracing::info!("fetching transcript");
        let credentials = self.credentials().await?;
        let document = match self
            .source
            .fetch_transcript(&credentials, conversation_id, communication_id)
            .await
        {
            Ok(document) => document,
            Err(err) => {
                if err.kind == ErrorKind::Misconfigured {
                    // The secret may have been rotated: read it again next time.
                    *self.credentials.lock().await = None;
                }
                return Err(err);
            }
        };

        let bucket = &self.config.raw_bucket;
        let key = self.raw_key(conversation_id, communication_id);
        let bytes = document.len() as u64;
        self.store.put(bucket, &key, document, CONTENT_TYPE).await?;
        // The key holds both ids; the span carries them too.
        tracing::info!(bucket = %bucket, key = %key, bytes, "transcript stored");
        Ok(Outcome::Stored {
            bucket: bucket.clone(),
            key,
            bytes,
        })
    }

    /// The OAuth client credentials, read from Secrets Manager on first use.
    async fn credentials(&self) -> Result<Credentials, PipelineError> {
        let mut cached = self.credentials.lock().await;
        if let Some(credentials) = cached.as_ref() {
            return Ok(credentials.clone());
        }
        let secret_id = &self.config.credentials_secret_id;
        let json = self.secrets.secret_string(secret_id).await?;
        let credentials = Credentials::from_secret_json(secret_id, &json)?;
        *cached = Some(credentials.clone());
        Ok(credentials)
    }
}

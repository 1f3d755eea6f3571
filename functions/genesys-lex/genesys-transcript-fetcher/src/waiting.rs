//! Waiting durably for transcripts that are not ready yet (the rules are
//! [`genesys_lex_core::wait`]): the [`WaitQueue`] port, what the function is invoked with
//! ([`Invocation`]: an EventBridge event or a batch of the wait queue) and what it answers.

use std::future::Future;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse};
use genesys_lex_core::wait::{after_failure, Next, Parked, Waiting};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shared::metrics::{Metrics, Unit};
use shared::sqs_event::SqsBatch;
use shared::store::ObjectStore;
use shared::{ErrorKind, PipelineError};
use tracing::Instrument;

use crate::{
    count, Outcome, SecretSource, TranscriptFetcher, TranscriptSource, TranscriptionEvent,
    METRIC_FETCH_FAILED,
};

/// Metric: an event was put (back) on the wait queue.
pub const METRIC_TRANSCRIPTS_WAITING: &str = "TranscriptsWaiting";
/// Metric: an event was parked.
pub const METRIC_TRANSCRIPTS_PARKED: &str = "TranscriptsParked";
/// Metric: minutes since the first attempt, at each attempt from the wait queue (the stack's
/// alarm watches its maximum).
pub const METRIC_TRANSCRIPT_WAIT_MINUTES: &str = "TranscriptWaitMinutes";

/// The wait queue and the parked queue (port; SQS in production, see [`crate::aws`]).
pub trait WaitQueue: Send + Sync {
    /// Sends `body` to the wait queue, delivered after `delay_seconds` (at most 900).
    fn wait(
        &self,
        body: String,
        delay_seconds: u32,
    ) -> impl Future<Output = Result<(), PipelineError>> + Send;

    /// Sends `body` to the parked queue.
    fn park(&self, body: String) -> impl Future<Output = Result<(), PipelineError>> + Send;
}

/// No queues (`WAIT_QUEUE_URL` unset): a transcript that is not ready fails the invocation.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoWaitQueue;

impl WaitQueue for NoWaitQueue {
    async fn wait(&self, _: String, _: u32) -> Result<(), PipelineError> {
        Err(PipelineError::misconfigured("WAIT_QUEUE_URL is not set"))
    }

    async fn park(&self, _: String) -> Result<(), PipelineError> {
        Err(PipelineError::misconfigured("PARKED_QUEUE_URL is not set"))
    }
}

/// One invocation's event, told apart by its shape.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Invocation {
    /// A batch of the wait queue: events whose transcript was not ready before.
    Waited(SqsBatch),
    /// The EventBridge rule's event.
    Event(Box<TranscriptionEvent>),
}

/// What an invocation answers.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Answer {
    /// To SQS: the messages to redeliver (only those whose next step could not be queued).
    Batch(SqsBatchResponse),
    /// To EventBridge (asynchronous: only logged).
    Event(Outcome),
}

fn to_body<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("serialising a JSON value")
}

impl<S, K, T, W> TranscriptFetcher<S, K, T, W>
where
    S: ObjectStore,
    K: SecretSource,
    T: TranscriptSource,
    W: WaitQueue,
{
    /// Handles one invocation: an EventBridge event or a batch of the wait queue.
    pub async fn handle_invocation(&self, invocation: Invocation) -> Result<Answer, PipelineError> {
        match invocation {
            Invocation::Event(event) => self.handle(*event).await.map(Answer::Event),
            Invocation::Waited(SqsBatch(batch)) => {
                let span = tracing::info_span!("wait_queue", records = batch.records.len());
                let mut response = SqsBatchResponse::default();
                for record in &batch.records {
                    let body = record.body.as_deref().unwrap_or_default();
                    if let Err(e) = self.retry_waiting(body).instrument(span.clone()).await {
                        let id = record.message_id.clone().unwrap_or_default();
                        tracing::error!(parent: &span, message_id = %id, error = %e.message,
                            "could not queue the event's next step: SQS will redeliver it");
                        let mut failure = BatchItemFailure::default();
                        failure.item_identifier = id;
                        response.batch_item_failures.push(failure);
                    }
                }
                Ok(Answer::Batch(response))
            }
        }
    }

    /// After a retryable failure of an event from EventBridge: put it on the wait queue.
    /// Without a wait queue, or if sending fails, the original error stands (Lambda retries).
    pub(crate) async fn start_waiting(
        &self,
        event: &TranscriptionEvent,
        error: PipelineError,
        metrics: &mut Metrics,
    ) -> Result<Outcome, PipelineError> {
        let Some(waiting) = &self.config.waiting else {
            return Err(error);
        };
        let now = (self.clock)();
        let event = serde_json::to_value(event).expect("an event serialises");
        let Next::Wait(w, delay) = after_failure(
            event,
            0,
            now,
            now,
            &error.message,
            waiting.window_seconds,
            waiting.first_delay_seconds,
        ) else {
            return Err(error); // a window of 0: not configurable, but never lose the event
        };
        if let Err(e) = self.queue.wait(to_body(&w), delay).await {
            tracing::error!(error = %e.message, "could not put the event on the wait queue");
            return Err(error);
        }
        tracing::info!(delay_seconds = delay, reason = %error.message, "transcript not ready: waiting");
        metrics.count(METRIC_TRANSCRIPTS_WAITING);
        Ok(Outcome::Waiting {
            attempts: w.attempts,
            delay_seconds: delay,
        })
    }

    /// One message of the wait queue: try again; on a retryable failure wait again or park,
    /// on any other failure park with the reason. `Err` only when the next step could not be
    /// queued (the message is then redelivered).
    async fn retry_waiting(&self, body: &str) -> Result<(), PipelineError> {
        let mut metrics = Metrics::from_env();
        let result = self.retry_waiting_with(body, &mut metrics).await;
        metrics.flush();
        result
    }

    async fn retry_waiting_with(
        &self,
        body: &str,
        metrics: &mut Metrics,
    ) -> Result<(), PipelineError> {
        let now = (self.clock)();
        let parked = |reason: String, event: Value, attempts: u32, first: i64| Parked {
            reason,
            event,
            attempts,
            first_attempt_at: first,
        };
        let waiting: Waiting = match serde_json::from_str(body) {
            Ok(w) => w,
            Err(e) => {
                let reason = format!("not a wait queue message: {e}");
                return self
                    .park(parked(reason, Value::String(body.into()), 0, now), metrics)
                    .await;
            }
        };
        let event: TranscriptionEvent = match serde_json::from_value(waiting.event.clone()) {
            Ok(event) => event,
            Err(e) => {
                let reason = format!("event: not an EventBridge event: {e}");
                let p = parked(
                    reason,
                    waiting.event,
                    waiting.attempts,
                    waiting.first_attempt_at,
                );
                return self.park(p, metrics).await;
            }
        };
        let waited_minutes = now.saturating_sub(waiting.first_attempt_at) as f64 / 60.0;
        metrics.add(METRIC_TRANSCRIPT_WAIT_MINUTES, Unit::Count, waited_minutes);
        match self.process(&event).await {
            Ok(outcome) => {
                count(&outcome, metrics);
                Ok(())
            }
            Err(e) if e.kind == ErrorKind::Retryable => {
                let Some(cfg) = &self.config.waiting else {
                    return Err(e);
                };
                match after_failure(
                    waiting.event,
                    waiting.attempts,
                    waiting.first_attempt_at,
                    now,
                    &e.message,
                    cfg.window_seconds,
                    cfg.first_delay_seconds,
                ) {
                    Next::Wait(w, delay) => {
                        self.queue.wait(to_body(&w), delay).await?;
                        tracing::info!(
                            attempts = w.attempts,
                            delay_seconds = delay,
                            reason = %e.message,
                            "transcript still not ready: waiting"
                        );
                        metrics.count(METRIC_TRANSCRIPTS_WAITING);
                        Ok(())
                    }
                    Next::Park(p) => self.park(p, metrics).await,
                }
            }
            Err(e) => {
                metrics.count(METRIC_FETCH_FAILED);
                let reason = format!("{}: {}", e.kind.error_type(), e.message);
                let p = parked(
                    reason,
                    waiting.event,
                    waiting.attempts + 1,
                    waiting.first_attempt_at,
                );
                self.park(p, metrics).await
            }
        }
    }

    async fn park(&self, parked: Parked, metrics: &mut Metrics) -> Result<(), PipelineError> {
        self.queue.park(to_body(&parked)).await?;
        tracing::warn!(attempts = parked.attempts, reason = %parked.reason, "event parked");
        metrics.count(METRIC_TRANSCRIPTS_PARKED);
        Ok(())
    }
}

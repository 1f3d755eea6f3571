//! `segment-personalize-forwarder`: Segment messages -> Amazon Personalize.
//!
//! Two ways in, told apart by the event's shape ([`Invocation`]):
//!
//! * **Segment's AWS Lambda destination** invokes the function with one Segment message (`track`,
//!   `page`, `screen`, `identify`, `alias`, `group`). The answer is
//!   `{"status": "forwarded", "events", "users", "putEventsCalls"}`, `{"status": "ignored",
//!   "reason"}` or `{"status": "rejected", "error"}`. A message Personalize can never accept is
//!   *rejected* without an error (Segment would retry it forever): logged without its properties
//!   and counted (`MessagesInvalid`). Throttling, 5xx and time-outs fail the invocation as
//!   `Retryable`, so Segment retries; a permission or configuration error (AccessDenied, an
//!   unknown tracker) fails it as `Misconfigured`, naming the error. The Personalize client gives up after
//!   `PERSONALIZE_TIMEOUT_MS` (default 4000) in all, inside Segment's 5-second limit.
//! * **SQS** (an event source mapping with `ReportBatchItemFailures`): a batch of messages, one
//!   per record body. Invalid messages go to `DEAD_LETTER_QUEUE_URL` unchanged with the reason in
//!   the message attribute `reason` (so a redrive after fixing the configuration works) and count
//!   as handled; messages of a call that failed with a retryable error are reported in
//!   `batchItemFailures`, so SQS redelivers exactly those. When Personalize refuses a PutEvents
//!   call that carries several messages, the call is sent again as one call per message, so
//!   only the refused message is parked and the others go through. Without `DEAD_LETTER_QUEUE_URL`,
//!   invalid messages are reported as failures too and reach the queue's own dead-letter queue
//!   through its redrive policy (without the reason).
//!
//! Mapping, batching (10 events per PutEvents call, grouped by session) and every limit:
//! [`segment_personalize_core`]. Event ids derive from the Segment `messageId`, so a redelivered message
//! sends the same events again.
//!
//! Modules: [`config`] (settings), [`invocation`] (the event and the answer), [`ports`] (where
//! messages go, behind traits), [`aws`] (the SDK adapters), [`error`] (why an invocation
//! fails). The flow, the settings and what happens to each kind of failure are described in
//! `functions/segment-personalize/README.md`.

use std::collections::BTreeSet;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use segment_personalize_core::{plan, Message, Plan};
use serde_json::Value;
use shared::metrics::{Metrics, Unit};
use shared::{ErrorKind, PipelineError};
use tracing::Instrument;

pub mod aws;
pub mod config;
pub mod error;
pub mod invocation;
pub mod ports;

pub use aws::{sdk_time, PersonalizeSink, SqsDeadLetters};
pub use config::{Config, DEFAULT_MAX_ATTEMPTS, DEFAULT_TIMEOUT_MS};
pub use error::ForwardError;
pub use invocation::{Answer, Invocation, MessageAnswer, SqsBatch};
pub use ports::{DeadLetters, EventSink};

#[cfg(test)]
mod tests;

/// The handler.
pub struct Forwarder<S, D> {
    sink: S,
    dead_letters: Option<D>,
    config: Config,
}

/// What happened to the messages of a batch, by index.
#[derive(Debug, Default)]
struct Results {
    /// Retryable failures: reported to SQS.
    failed: BTreeSet<usize>,
    /// The first failure that was the stack's configuration (e.g. AccessDenied), not
    /// Personalize's availability: the invocation then fails as `Misconfigured`, naming it.
    misconfigured: Option<String>,
    /// Permanent failures, with the reason.
    rejected: Vec<(usize, String)>,
    events: usize,
    users: usize,
    put_events_calls: usize,
    /// Refused PutEvents calls sent again one call per message.
    split_calls: usize,
}

impl<S: EventSink, D: DeadLetters> Forwarder<S, D> {
    pub fn new(sink: S, dead_letters: Option<D>, config: Config) -> Self {
        Self {
            sink,
            dead_letters,
            config,
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// One invocation: an SQS batch or one Segment message, in a span `invocation` naming the
    /// source (and the batch's size).
    pub async fn handle(&self, invocation: Invocation) -> Result<Answer, PipelineError> {
        match invocation {
            Invocation::Sqs(SqsBatch(event)) => {
                let span = tracing::info_span!(
                    "invocation",
                    source = "sqs",
                    records = event.records.len()
                );
                Ok(Answer::Batch(
                    self.handle_batch(&event).instrument(span).await,
                ))
            }
            Invocation::Segment(message) => {
                let span = tracing::info_span!("invocation", source = "segment");
                self.handle_message(&message)
                    .instrument(span)
                    .await
                    .map(Answer::Message)
            }
        }
    }

    /// Segment's Lambda destination: one message.
    pub async fn handle_message(&self, event: &Value) -> Result<MessageAnswer, PipelineError> {
        let mut metrics = Metrics::from_env();
        metrics.add("MessagesReceived", Unit::Count, 1.0);
        let outcome = Message::from_value(event).and_then(|m| self.config.mapping.map(&m));
        let plan = plan(&self.config.mapping, [outcome]);
        if let Some((_, reason)) = plan.ignored.first() {
            tracing::info!(reason = %reason, "message ignored");
            metrics.add("MessagesIgnored", Unit::Count, 1.0);
            metrics.flush();
            return Ok(MessageAnswer::Ignored {
                reason: reason.to_string(),
            });
        }
        let results = self.send(&plan).await;
        let rejected = plan
            .invalid
            .first()
            .map(|(_, e)| e.to_string())
            .or_else(|| results.rejected.first().map(|(_, r)| r.clone()));
        record(&mut metrics, &results, plan.invalid.len());
        if let Some(reason) = rejected {
            // Never retried: Segment would send it again and again.
            tracing::warn!(reason = %reason, "message rejected (not retried)");
            metrics.flush();
            return Ok(MessageAnswer::Rejected { error: reason });
        }
        if !results.failed.is_empty() {
            metrics.flush();
            return Err(results_error(&results).into());
        }
        metrics.flush();
        Ok(MessageAnswer::Forwarded {
            events: results.events,
            users: results.users,
            put_events_calls: results.put_events_calls,
        })
    }

    /// An SQS batch: partial batch failure response.
    pub async fn handle_batch(&self, event: &SqsEvent) -> SqsBatchResponse {
        let mut metrics = Metrics::from_env();
        let records = &event.records;
        metrics.add("MessagesReceived", Unit::Count, records.len() as f64);
        let bodies: Vec<&str> = records
            .iter()
            .map(|r| r.body.as_deref().unwrap_or(""))
            .collect();
        let outcomes: Vec<_> = bodies
            .iter()
            .map(|body| self.config.mapping.map_str(body))
            .collect();
        let plan = plan(&self.config.mapping, outcomes);
        let mut results = self.send(&plan).await;
        for (i, e) in &plan.invalid {
            results.rejected.push((*i, e.to_string()));
        }
        metrics.add("MessagesIgnored", Unit::Count, plan.ignored.len() as f64);
        record(&mut metrics, &results, plan.invalid.len());

        for (i, reason) in &results.rejected {
            let id = records[*i].message_id.as_deref().unwrap_or("");
            tracing::warn!(message_id = id, reason = %reason, "message rejected (not retried)");
            match &self.dead_letters {
                Some(dl) => {
                    if let Err(e) = dl.send(bodies[*i], reason, id).await {
                        tracing::error!(message_id = id, error = %e.message, "could not park the rejected message: SQS will redeliver it");
                        results.failed.insert(*i);
                    }
                }
                // The queue's redrive policy parks it after maxReceiveCount.
                None => {
                    results.failed.insert(*i);
                }
            }
        }
        metrics.add(
            "BatchItemFailures",
            Unit::Count,
            results.failed.len() as f64,
        );
        metrics.flush();
        let mut response = SqsBatchResponse::default();
        for i in &results.failed {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = records[*i].message_id.clone().unwrap_or_default();
            response.batch_item_failures.push(failure);
        }
        response
    }

    /// Makes every call of the plan; classifies the messages of failed calls.
    async fn send(&self, plan: &Plan<'_>) -> Results {
        let mut results = Results::default();
        for call in &plan.put_events {
            results.put_events_calls += 1;
            match self.sink.put_events(&call.request).await {
                Ok(()) => results.events += call.request.event_list.len(),
                // Refused as a whole for one message's sake: find which one.
                Err(e) if e.kind == ErrorKind::InvalidInput && call.messages.len() > 1 => {
                    tracing::warn!(
                        messages = call.messages.len(),
                        "PutEvents refused: {}; sending again one call per message",
                        e.message
                    );
                    results.split_calls += 1;
                    for part in call.split_by_message() {
                        results.put_events_calls += 1;
                        match self.sink.put_events(&part.request).await {
                            Ok(()) => results.events += part.request.event_list.len(),
                            Err(e) => classify(&mut results, &part.messages, "PutEvents", e),
                        }
                    }
                }
                Err(e) => classify(&mut results, &call.messages, "PutEvents", e),
            }
        }
        for call in &plan.put_users {
            match self.sink.put_users(&call.request).await {
                Ok(()) => results.users += call.request.users.len(),
                Err(e) => classify(&mut results, &call.messages, "PutUsers", e),
            }
        }
        results
    }
}

fn classify(results: &mut Results, messages: &[usize], what: &str, e: PipelineError) {
    tracing::error!(
        error_type = e.kind.error_type(),
        messages = messages.len(),
        "{what} failed: {}",
        e.message
    );
    match e.kind {
        // Personalize refused the request itself: sending it again cannot help.
        ErrorKind::InvalidInput => {
            for m in messages {
                results
                    .rejected
                    .push((*m, format!("{what} rejected by Personalize: {}", e.message)));
            }
        }
        ErrorKind::Misconfigured => {
            results
                .misconfigured
                .get_or_insert_with(|| format!("{what}: {}", e.message));
            results.failed.extend(messages.iter().copied());
        }
        _ => results.failed.extend(messages.iter().copied()),
    }
}

fn record(metrics: &mut Metrics, results: &Results, invalid: usize) {
    metrics.add("EventsSent", Unit::Count, results.events as f64);
    metrics.add("UsersSent", Unit::Count, results.users as f64);
    metrics.add(
        "PutEventsCalls",
        Unit::Count,
        results.put_events_calls as f64,
    );
    if results.split_calls > 0 {
        metrics.add(
            "PutEventsCallsSplit",
            Unit::Count,
            results.split_calls as f64,
        );
    }
    metrics.add(
        "MessagesInvalid",
        Unit::Count,
        (invalid + results.rejected.len()) as f64,
    );
}

fn results_error(results: &Results) -> ForwardError {
    let failed = results.failed.len();
    match &results.misconfigured {
        Some(cause) => ForwardError::Misconfigured {
            failed,
            cause: cause.clone(),
        },
        None => ForwardError::Unavailable { failed },
    }
}

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
//!   unknown tracker) fails it as `Misconfigured`, naming the error. The invocation answers
//!   within `SEGMENT_DEADLINE_MS` (default 4000), inside Segment's 5-second limit: what is not
//!   sent by then fails it as `Retryable` ([`deadline`]).
//! * **SQS** (an event source mapping with `ReportBatchItemFailures`): a batch of messages, one
//!   per record body. Invalid messages go to `DEAD_LETTER_QUEUE_URL` unchanged with the reason in
//!   the message attribute `reason` (so a redrive after fixing the configuration works) and count
//!   as handled; messages of a call that failed with a retryable error are reported in
//!   `batchItemFailures`, so SQS redelivers exactly those. When Personalize refuses a PutEvents
//!   call that carries several messages, the call is sent again as one call per message, so
//!   only the refused message is parked and the others go through. Without `DEAD_LETTER_QUEUE_URL`,
//!   invalid messages are reported as failures too and reach the queue's own dead-letter queue
//!   through its redrive policy (without the reason). Calls stop `DEADLINE_MARGIN_MS` before the
//!   function's own deadline: the messages not sent by then are reported in
//!   `batchItemFailures`, the others are done.
//!
//! With `USER_TRAITS_TABLE`, an `identify` is merged with the user's last known traits before
//! PutUsers (which replaces the whole user), so partial traits do not wipe the others
//! ([`traits`] has the rules, [`merge`] the flow).
//!
//! Mapping, batching (10 events per PutEvents call, grouped by session) and every limit:
//! [`segment_personalize_core`]. Event ids derive from the Segment `messageId`, so a redelivered message
//! sends the same events again.
//!
//! Modules: [`config`] (settings), [`invocation`] (the event and the answer), [`ports`] (where
//! messages go, behind traits), [`aws`] (the SDK adapters), [`error`] (why an invocation
//! fails), [`deadline`] (when calls stop), [`traits`] and [`merge`] (partial traits), `send`
//! (the calls of a plan). The flow, the settings and what happens to each kind of failure are described in
//! `functions/segment-personalize/README.md`.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use segment_personalize_core::{plan, Ignored, MapError, Message, MessageKind, Outcome};
use serde_json::Value;
use shared::metrics::{Metrics, Unit};
use shared::PipelineError;
use tokio::time::Instant;
use tracing::Instrument;

pub mod aws;
pub mod config;
pub mod deadline;
pub mod error;
pub mod invocation;
pub mod merge;
pub mod ports;
mod send;

pub use aws::{sdk_time, DynamoTraitStore, PersonalizeSink, SqsDeadLetters};
pub use config::{
    Config, DEFAULT_DEADLINE_MARGIN_MS, DEFAULT_MAX_ATTEMPTS, DEFAULT_MIN_CALL_MS,
    DEFAULT_SEGMENT_DEADLINE_MS, DEFAULT_TIMEOUT_MS,
};
pub use deadline::Deadline;
pub use error::ForwardError;
pub use invocation::{Answer, Invocation, MessageAnswer, SqsBatch};
pub use ports::{DeadLetters, EventSink, NoTraitStore, Saved, StoredTraits, TraitStore};

use send::{record, results_error};

#[cfg(test)]
mod tests;

/// Stands in for the outcome of a message that is not mapped because its user's stored traits
/// could not be read (the message fails; it is not counted as ignored).
const NOT_MERGED: &str = "stored traits not read";

/// The handler.
pub struct Forwarder<S, D, T = NoTraitStore> {
    sink: S,
    dead_letters: Option<D>,
    traits: Option<T>,
    /// What of `traits` the `USER_TRAITS` selectors read (what the trait store keeps).
    reach: segment_personalize_core::traits::Reach,
    config: Config,
}

impl<S, D> Forwarder<S, D> {
    /// A forwarder without a trait store (no merge of partial traits).
    pub fn new(sink: S, dead_letters: Option<D>, config: Config) -> Self {
        Self {
            sink,
            dead_letters,
            traits: None,
            reach: segment_personalize_core::traits::Reach::of(config.mapping.user_traits()),
            config,
        }
    }
}

impl<S, D, T> Forwarder<S, D, T> {
    /// The same forwarder merging `identify` traits with those kept in `store` (`None`: no
    /// merge).
    pub fn with_trait_store<U>(self, store: Option<U>) -> Forwarder<S, D, U> {
        Forwarder {
            sink: self.sink,
            dead_letters: self.dead_letters,
            traits: store,
            reach: self.reach,
            config: self.config,
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }
}

impl<S: EventSink, D: DeadLetters, T: TraitStore> Forwarder<S, D, T> {
    /// One invocation: an SQS batch or one Segment message, in a span `invocation` naming the
    /// source (and the batch's size). `function_deadline`: the Lambda context's deadline (calls
    /// stop `DEADLINE_MARGIN_MS` before it); `None` when there is none.
    pub async fn handle(
        &self,
        invocation: Invocation,
        function_deadline: Option<Instant>,
    ) -> Result<Answer, PipelineError> {
        let started = Instant::now();
        match invocation {
            Invocation::Sqs(SqsBatch(event)) => {
                let span = tracing::info_span!(
                    "invocation",
                    source = "sqs",
                    records = event.records.len()
                );
                let deadline = Deadline::for_batch(&self.config, started, function_deadline);
                Ok(Answer::Batch(
                    self.handle_batch(&event, &deadline).instrument(span).await,
                ))
            }
            Invocation::Segment(message) => {
                let span = tracing::info_span!("invocation", source = "segment");
                let deadline = Deadline::for_segment(&self.config, started, function_deadline);
                self.handle_message(&message, &deadline)
                    .instrument(span)
                    .await
                    .map(Answer::Message)
            }
        }
    }

    /// Segment's Lambda destination: one message.
    pub async fn handle_message(
        &self,
        event: &Value,
        deadline: &Deadline,
    ) -> Result<MessageAnswer, PipelineError> {
        let mut metrics = Metrics::from_env();
        metrics.add("MessagesReceived", Unit::Count, 1.0);
        let mut messages = vec![Message::from_value(event)];
        let mut merges = self.merge_traits(&mut messages, deadline).await;
        let outcomes = self.map_all(&messages, &merges);
        let mut plan = plan(&self.config.mapping, outcomes);
        plan.ignored.retain(|(i, _)| !merges.is_failed(*i));
        left_out(&plan.warnings, |_| "", &mut metrics);
        if let Some((_, reason)) = plan.ignored.first() {
            tracing::info!(reason = %reason, "message ignored");
            metrics.add("MessagesIgnored", Unit::Count, 1.0);
            metrics.flush();
            return Ok(MessageAnswer::Ignored {
                reason: reason.to_string(),
            });
        }
        let results = self.send(&plan, &messages, &mut merges, deadline).await;
        let rejected = plan
            .invalid
            .first()
            .map(|(_, e)| e.to_string())
            .or_else(|| results.rejected.first().map(|(_, r)| r.clone()));
        record(
            &mut metrics,
            &results,
            plan.invalid.len(),
            &merges,
            deadline,
        );
        if let Some(reason) = rejected {
            // Never retried: Segment would send it again and again.
            tracing::warn!(reason = %reason, "message rejected (not retried)");
            metrics.flush();
            return Ok(MessageAnswer::Rejected { error: reason });
        }
        if !results.failed.is_empty() {
            metrics.flush();
            return Err(results_error(&results, deadline).into());
        }
        metrics.flush();
        Ok(MessageAnswer::Forwarded {
            events: results.events,
            users: results.users,
            put_events_calls: results.put_events_calls,
        })
    }

    /// An SQS batch: partial batch failure response.
    pub async fn handle_batch(&self, event: &SqsEvent, deadline: &Deadline) -> SqsBatchResponse {
        let mut metrics = Metrics::from_env();
        let records = &event.records;
        metrics.add("MessagesReceived", Unit::Count, records.len() as f64);
        let bodies: Vec<&str> = records
            .iter()
            .map(|r| r.body.as_deref().unwrap_or(""))
            .collect();
        let mut messages: Vec<_> = bodies
            .iter()
            .map(|body| self.config.mapping.parse(body))
            .collect();
        let mut merges = self.merge_traits(&mut messages, deadline).await;
        let outcomes = self.map_all(&messages, &merges);
        let mut plan = plan(&self.config.mapping, outcomes);
        plan.ignored.retain(|(i, _)| !merges.is_failed(*i));
        left_out(
            &plan.warnings,
            |i| records[i].message_id.as_deref().unwrap_or(""),
            &mut metrics,
        );
        let mut results = self.send(&plan, &messages, &mut merges, deadline).await;
        for (i, e) in &plan.invalid {
            results.rejected.push((*i, e.to_string()));
        }
        metrics.add("MessagesIgnored", Unit::Count, plan.ignored.len() as f64);

        for (i, reason) in &results.rejected {
            let id = records[*i].message_id.as_deref().unwrap_or("");
            tracing::warn!(message_id = id, reason = %reason, "message rejected (not retried)");
            match &self.dead_letters {
                Some(dl) => {
                    let parked = deadline
                        .run(
                            "parking a rejected message",
                            dl.send(bodies[*i], reason, id),
                        )
                        .await;
                    if let Err(e) = parked {
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
        // plan.invalid is in results.rejected already.
        record(&mut metrics, &results, 0, &merges, deadline);
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

    /// Maps every message (with its merged traits); a message whose stored traits could not be
    /// read is not mapped.
    fn map_all<'a>(
        &'a self,
        messages: &[Result<Message<'a>, MapError>],
        merges: &merge::Merges,
    ) -> Vec<Result<Outcome<'a>, MapError>> {
        messages
            .iter()
            .enumerate()
            .map(|(i, m)| {
                if merges.is_failed(i) {
                    return Ok(Outcome::Ignored(Ignored {
                        kind: MessageKind::Identify,
                        reason: NOT_MERGED,
                    }));
                }
                let outcome = self.config.mapping.map(m.as_ref().map_err(Clone::clone)?)?;
                Ok(merges.adjust(i, outcome))
            })
            .collect()
    }
}

/// Logs each optional field left out of an interaction that is still sent (the field and the
/// limit, never the value) and counts them in `FieldsLeftOut`.
fn left_out<'a>(
    warnings: &[(usize, segment_personalize_core::MapWarning)],
    message_id: impl Fn(usize) -> &'a str,
    metrics: &mut Metrics,
) {
    for (i, warning) in warnings {
        tracing::warn!(message_id = message_id(*i), field = %warning.field, "field left out: {warning}");
    }
    if !warnings.is_empty() {
        metrics.add("FieldsLeftOut", Unit::Count, warnings.len() as f64);
    }
}

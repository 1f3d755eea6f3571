//! `segment-personalize-forwarder`: Segment messages -> Amazon Personalize.
//!
//! Two ways in, told apart by the event's shape:
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

use std::collections::BTreeSet;
use std::future::Future;
use std::time::Duration;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use segment_personalize_core::{
    self as segment, plan, Message, Plan, PutEventsRequest, PutUsersRequest,
};
use serde_json::{json, Value};
use shared::config::{optional, parse_or, ConfigError, Source};
use shared::metrics::{Metrics, Unit};
use shared::{ErrorKind, PipelineError};

#[cfg(test)]
mod tests;

/// Default of `PERSONALIZE_TIMEOUT_MS`: the whole call, retries included (Segment waits 5 s).
pub const DEFAULT_TIMEOUT_MS: u64 = 4_000;
/// Default of `PERSONALIZE_MAX_ATTEMPTS`.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;

/// Settings, from environment variables.
#[derive(Debug, Clone)]
pub struct Config {
    /// The mapping: `PERSONALIZE_TRACKING_ID`, `EVENT_TYPE_MAP`, `ITEM_ID_PATHS`, ... (see
    /// [`segment_personalize_core`]).
    pub mapping: segment::Config,
    /// `DEAD_LETTER_QUEUE_URL` (optional): where invalid messages of SQS batches go.
    pub dead_letter_queue_url: Option<String>,
    /// `PERSONALIZE_TIMEOUT_MS` (default 4000, 100-60000): one PutEvents/PutUsers call, retries
    /// included.
    pub timeout: Duration,
    /// `PERSONALIZE_MAX_ATTEMPTS` (default 3, 1-10): attempts of the SDK's standard retry
    /// (throttling, 5xx, time-outs), with exponential backoff.
    pub max_attempts: u32,
}

impl Config {
    pub fn from_source(src: &impl Source) -> Result<Self, ConfigError> {
        let mapping = segment::Config::from_source(src)?;
        let timeout_ms: u64 = parse_or(src, "PERSONALIZE_TIMEOUT_MS", DEFAULT_TIMEOUT_MS)?;
        if !(100..=60_000).contains(&timeout_ms) {
            return Err(ConfigError::new(
                "PERSONALIZE_TIMEOUT_MS",
                format!("{timeout_ms}, must be 100 to 60000"),
            ));
        }
        let max_attempts: u32 = parse_or(src, "PERSONALIZE_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS)?;
        if !(1..=10).contains(&max_attempts) {
            return Err(ConfigError::new(
                "PERSONALIZE_MAX_ATTEMPTS",
                format!("{max_attempts}, must be 1 to 10"),
            ));
        }
        let dead_letter_queue_url = optional(src, "DEAD_LETTER_QUEUE_URL");
        Ok(Self {
            mapping,
            dead_letter_queue_url,
            timeout: Duration::from_millis(timeout_ms),
            max_attempts,
        })
    }
}

/// Where requests go: Personalize Events.
pub trait EventSink: Send + Sync {
    fn put_events(
        &self,
        request: &PutEventsRequest<'_>,
    ) -> impl Future<Output = Result<(), PipelineError>> + Send;

    fn put_users(
        &self,
        request: &PutUsersRequest<'_>,
    ) -> impl Future<Output = Result<(), PipelineError>> + Send;
}

/// Where invalid messages of SQS batches go, unchanged, with the reason.
pub trait DeadLetters: Send + Sync {
    fn send(
        &self,
        body: &str,
        reason: &str,
        source_message_id: &str,
    ) -> impl Future<Output = Result<(), PipelineError>> + Send;
}

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

    /// One invocation: an SQS event (`Records` from `aws:sqs`) or one Segment message.
    pub async fn handle(&self, event: Value) -> Result<Value, PipelineError> {
        if is_sqs_event(&event) {
            let sqs: SqsEvent = serde_json::from_value(event)
                .map_err(|e| PipelineError::invalid_input(format!("SQS event: {e}")))?;
            let response = self.handle_batch(&sqs).await;
            return serde_json::to_value(response)
                .map_err(|e| PipelineError::invalid_input(format!("batch response: {e}")));
        }
        self.handle_message(&event).await
    }

    /// Segment's Lambda destination: one message.
    pub async fn handle_message(&self, event: &Value) -> Result<Value, PipelineError> {
        let mut metrics = Metrics::from_env();
        metrics.add("MessagesReceived", Unit::Count, 1.0);
        let outcome = Message::from_value(event).and_then(|m| self.config.mapping.map(&m));
        let plan = plan(&self.config.mapping, [outcome]);
        if let Some((_, reason)) = plan.ignored.first() {
            tracing::info!(reason = %reason, "message ignored");
            metrics.add("MessagesIgnored", Unit::Count, 1.0);
            metrics.flush();
            return Ok(json!({"status": "ignored", "reason": reason.to_string()}));
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
            return Ok(json!({"status": "rejected", "error": reason}));
        }
        if !results.failed.is_empty() {
            metrics.flush();
            return Err(results_error(&results));
        }
        metrics.flush();
        Ok(json!({
            "status": "forwarded",
            "events": results.events,
            "users": results.users,
            "putEventsCalls": results.put_events_calls,
        }))
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

fn results_error(results: &Results) -> PipelineError {
    match &results.misconfigured {
        Some(error) => PipelineError::misconfigured(format!(
            "{} message(s) not forwarded: {error}",
            results.failed.len()
        )),
        None => PipelineError::retryable(format!(
            "{} message(s) not forwarded: Personalize did not answer or was throttled (see the log)",
            results.failed.len()
        )),
    }
}

/// Does the event look like an SQS event source mapping's?
pub fn is_sqs_event(event: &Value) -> bool {
    match event.get("Records").and_then(Value::as_array) {
        Some(records) => records
            .first()
            .is_none_or(|r| r.get("eventSource").and_then(Value::as_str) == Some("aws:sqs")),
        None => false,
    }
}

/// [`EventSink`] on Amazon Personalize Events.
#[derive(Clone, Debug)]
pub struct PersonalizeSink {
    client: aws_sdk_personalizeevents::Client,
}

impl PersonalizeSink {
    /// A client with the configured time-out and retry attempts (honours
    /// `AWS_ENDPOINT_URL_PERSONALIZE_EVENTS`).
    pub fn new(sdk: &aws_config::SdkConfig, config: &Config) -> Self {
        use aws_sdk_personalizeevents::config::retry::RetryConfig;
        use aws_sdk_personalizeevents::config::timeout::TimeoutConfig;
        let conf = aws_sdk_personalizeevents::config::Builder::from(sdk)
            .retry_config(RetryConfig::standard().with_max_attempts(config.max_attempts))
            .timeout_config(
                TimeoutConfig::builder()
                    .operation_timeout(config.timeout)
                    .build(),
            )
            .build();
        Self::from_client(aws_sdk_personalizeevents::Client::from_conf(conf))
    }

    pub fn from_client(client: aws_sdk_personalizeevents::Client) -> Self {
        Self { client }
    }
}

impl EventSink for PersonalizeSink {
    async fn put_events(&self, request: &PutEventsRequest<'_>) -> Result<(), PipelineError> {
        use aws_sdk_personalizeevents::types::Event;
        let mut events = Vec::with_capacity(request.event_list.len());
        for e in &request.event_list {
            let event = Event::builder()
                .event_type(e.event_type.as_ref())
                .sent_at(sdk_time(e.sent_at))
                .set_event_id(e.event_id.as_ref().map(|s| s.to_string()))
                .set_event_value(e.event_value)
                .set_item_id(e.item_id.as_ref().map(|s| s.to_string()))
                .set_properties(e.properties.clone())
                .set_recommendation_id(e.recommendation_id.as_ref().map(|s| s.to_string()))
                .set_impression(
                    e.impression
                        .as_ref()
                        .map(|ids| ids.iter().map(|s| s.to_string()).collect()),
                )
                .build()
                .map_err(|err| PipelineError::invalid_input(format!("event: {err}")))?;
            events.push(event);
        }
        self.client
            .put_events()
            .tracking_id(request.tracking_id.as_ref())
            .session_id(request.session_id.as_ref())
            .set_user_id(request.user_id.as_ref().map(|s| s.to_string()))
            .set_event_list(Some(events))
            .send()
            .await
            .map_err(|e| shared::error::from_sdk("PutEvents", &e))?;
        Ok(())
    }

    async fn put_users(&self, request: &PutUsersRequest<'_>) -> Result<(), PipelineError> {
        use aws_sdk_personalizeevents::types::User;
        let mut users = Vec::with_capacity(request.users.len());
        for u in &request.users {
            users.push(
                User::builder()
                    .user_id(u.user_id.as_ref())
                    .set_properties(u.properties.clone())
                    .build()
                    .map_err(|err| PipelineError::invalid_input(format!("user: {err}")))?,
            );
        }
        self.client
            .put_users()
            .dataset_arn(request.dataset_arn.as_ref())
            .set_users(Some(users))
            .send()
            .await
            .map_err(|e| shared::error::from_sdk("PutUsers", &e))?;
        Ok(())
    }
}

/// [`DeadLetters`] on an SQS queue: the body unchanged, the reason and the source message id as
/// message attributes.
#[derive(Clone, Debug)]
pub struct SqsDeadLetters {
    client: aws_sdk_sqs::Client,
    queue_url: String,
}

impl SqsDeadLetters {
    pub fn new(client: aws_sdk_sqs::Client, queue_url: String) -> Self {
        Self { client, queue_url }
    }
}

impl DeadLetters for SqsDeadLetters {
    async fn send(
        &self,
        body: &str,
        reason: &str,
        source_message_id: &str,
    ) -> Result<(), PipelineError> {
        use aws_sdk_sqs::types::MessageAttributeValue;
        let attr = |v: &str| {
            MessageAttributeValue::builder()
                .data_type("String")
                .string_value(v)
                .build()
                .map_err(|e| PipelineError::invalid_input(format!("message attribute: {e}")))
        };
        // SQS attribute values are at most 256 KiB with the body; reasons are short.
        let reason: String = reason.chars().take(1000).collect();
        let mut send = self
            .client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(if body.is_empty() { "(empty)" } else { body })
            .message_attributes("reason", attr(&reason)?);
        if !source_message_id.is_empty() {
            send = send.message_attributes("sourceMessageId", attr(source_message_id)?);
        }
        send.send()
            .await
            .map_err(|e| shared::error::from_sdk("parking a rejected message", &e))?;
        Ok(())
    }
}

/// The SDK timestamp of a `sentAt`, exact to the nanosecond (no trip through `f64`).
pub fn sdk_time(t: segment_personalize_core::SentAt) -> aws_smithy_types::DateTime {
    aws_smithy_types::DateTime::from_secs_and_nanos(t.secs, t.nanos)
}

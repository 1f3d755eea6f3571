//! The relay: makes event sources behave as in AWS on top of moto.
//!
//! moto delivers S3 notifications and EventBridge rule matches to SQS queues, but cannot run a
//! function. The relay long-polls those queues and invokes the routed function through the
//! Lambda Invoke API, in one of two modes (see [`crate::config::Mode`]):
//!
//! - **async**, what S3 and EventBridge do in AWS (Lambda *asynchronous invocation*): the
//!   message body is the event, passed on unchanged (bar the moto repairs of
//!   [`crate::fixups`]). A function error is retried `maximumRetryAttempts` times (AWS default
//!   2) after `retryDelaysMs`; then the on-failure destination receives the record Lambda
//!   writes (`condition: RetriesExhausted`). Errors that never reached the function (endpoint
//!   down, function not served yet) are retried with backoff without counting, until the event
//!   is `maximumEventAgeSeconds` old (`condition: EventAgeExceeded`).
//! - **sqs**, a Lambda *event source mapping* on the queue: batches of up to `batchSize`
//!   messages are delivered as an SQS event; on success the batch is deleted, except the
//!   messages named in `{"batchItemFailures":[...]}`; on error nothing is deleted, so the
//!   messages come back after the queue's visibility timeout and, past the queue's
//!   `maxReceiveCount`, SQS itself (its redrive policy) moves them to the dead-letter queue.
//!
//! A message is deleted only after the function succeeded or the failure record was written:
//! if the relay stops, whatever was in flight reappears on the queue and is delivered again.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use aws_sdk_sqs::types::{
    DeleteMessageBatchRequestEntry, Message, MessageSystemAttributeName, QueueAttributeName,
};
use axum::body::Bytes;
use axum::http::HeaderMap;
use base64::Engine as _;
use serde_json::{json, Value};
use tokio::sync::Semaphore;
use tokio::time::{sleep, Instant};

use crate::config::{Mode, Route, Routes};
use crate::fixups;
use crate::ids;
use crate::lambda::{self, LambdaClient, Outcome};

/// Long-poll wait of one ReceiveMessage call.
const WAIT_SECONDS: i32 = 10;
/// Visibility given to an async-mode message while the relay holds it; renewed by a heartbeat.
const HOLD_SECONDS: i32 = 30;
const HEARTBEAT: Duration = Duration::from_secs(10);

/// Something that can invoke a function (the Lambda API client, or a fake in tests).
pub trait Invoke: Send + Sync {
    fn invoke(&self, function: &str, payload: Bytes) -> impl Future<Output = Outcome> + Send;
}

impl Invoke for LambdaClient {
    async fn invoke(&self, function: &str, payload: Bytes) -> Outcome {
        LambdaClient::invoke(self, function, payload, &HeaderMap::new()).await
    }
}

/// Runs every route until the process is stopped.
pub async fn run(
    routes: Routes,
    sqs: aws_sdk_sqs::Client,
    invoke_endpoint: &str,
) -> anyhow::Result<()> {
    routes.validate()?;
    let mut tasks = tokio::task::JoinSet::new();
    for route in routes.routes {
        let lambda =
            LambdaClient::new(invoke_endpoint, Duration::from_secs(route.timeout_seconds))?;
        let ctx = RouteContext::resolve(
            route,
            sqs.clone(),
            lambda,
            &routes.region,
            &routes.account_id,
        )
        .await?;
        tracing::info!(
            route = ctx.route.label(),
            queue = %ctx.route.queue,
            function = %ctx.route.function,
            mode = ?ctx.route.mode,
            on_failure = ctx.route.on_failure.as_deref().unwrap_or("-"),
            "route ready"
        );
        let ctx = Arc::new(ctx);
        match ctx.route.mode {
            Mode::Async => tasks.spawn(poll_async(ctx)),
            Mode::Sqs => tasks.spawn(poll_sqs(ctx)),
        };
    }
    tracing::info!(invoke_endpoint, routes = tasks.len(), "relay ready");
    tokio::select! {
        _ = crate::shutdown_signal() => {
            tracing::info!("relay stopping; messages in flight stay on their queues");
        }
        Some(result) = tasks.join_next() => {
            result.context("a route poller stopped")?;
        }
    }
    Ok(())
}

/// A route with its queue URLs and ARNs looked up.
struct RouteContext {
    route: Route,
    sqs: aws_sdk_sqs::Client,
    lambda: LambdaClient,
    queue_url: String,
    queue_arn: String,
    on_failure_url: Option<String>,
    region: String,
    account: String,
}

impl RouteContext {
    async fn resolve(
        route: Route,
        sqs: aws_sdk_sqs::Client,
        lambda: LambdaClient,
        region: &str,
        account: &str,
    ) -> anyhow::Result<Self> {
        let queue_url = wait_for_queue(&sqs, &route.queue).await;
        let queue_arn = sqs
            .get_queue_attributes()
            .queue_url(&queue_url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .ok()
            .and_then(|out| {
                out.attributes()
                    .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
            })
            .unwrap_or_else(|| format!("arn:aws:sqs:{region}:{account}:{}", route.queue));
        let on_failure_url = match &route.on_failure {
            Some(name) => Some(wait_for_queue(&sqs, name).await),
            None => None,
        };
        Ok(Self {
            route,
            sqs,
            lambda,
            queue_url,
            queue_arn,
            on_failure_url,
            region: region.to_owned(),
            account: account.to_owned(),
        })
    }

    fn function_arn(&self) -> String {
        lambda::function_arn(&self.region, &self.account, &self.route.function)
    }

    async fn delete(&self, receipt_handle: &str) {
        if let Err(e) = self
            .sqs
            .delete_message()
            .queue_url(&self.queue_url)
            .receipt_handle(receipt_handle)
            .send()
            .await
        {
            tracing::warn!(route = self.route.label(), error = %e, "delete failed; the message will be delivered again");
        }
    }
}

/// The queue's URL, waiting (and saying so) until it exists.
async fn wait_for_queue(sqs: &aws_sdk_sqs::Client, name: &str) -> String {
    let mut warned = false;
    loop {
        match sqs.get_queue_url().queue_name(name).send().await {
            Ok(out) if out.queue_url().is_some() => {
                return out.queue_url().unwrap_or_default().to_owned()
            }
            result => {
                if !warned {
                    let why = result.err().map(|e| format!("{e:?}")).unwrap_or_default();
                    tracing::warn!(queue = name, error = %why.chars().take(200).collect::<String>(), "waiting for queue (run `localcloud deploy`)");
                    warned = true;
                }
                sleep(Duration::from_secs(2)).await;
            }
        }
    }
}

// ---------------------------------------------------------------------------------- async mode

async fn poll_async(ctx: Arc<RouteContext>) {
    let slots = Arc::new(Semaphore::new(ctx.route.concurrency));
    loop {
        let Ok(first) = slots.clone().acquire_owned().await else {
            return;
        };
        let room = (1 + slots.available_permits()).min(10) as i32;
        let received = ctx
            .sqs
            .receive_message()
            .queue_url(&ctx.queue_url)
            .max_number_of_messages(room)
            .wait_time_seconds(WAIT_SECONDS)
            .visibility_timeout(HOLD_SECONDS)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await;
        let messages = match received {
            Ok(out) => out.messages.unwrap_or_default(),
            Err(e) => {
                tracing::warn!(route = ctx.route.label(), error = %e, "receive failed; retrying");
                sleep(Duration::from_secs(2)).await;
                continue;
            }
        };
        let mut permit = Some(first);
        for message in messages {
            let slot = match permit.take() {
                Some(slot) => slot,
                None => match slots.clone().acquire_owned().await {
                    Ok(slot) => slot,
                    Err(_) => return,
                },
            };
            let ctx = ctx.clone();
            tokio::spawn(async move {
                handle_async_message(&ctx, message).await;
                drop(slot);
            });
        }
    }
}

async fn handle_async_message(ctx: &RouteContext, message: Message) {
    let Some(receipt) = message.receipt_handle().map(str::to_owned) else {
        return;
    };
    let body = message.body().unwrap_or_default();
    let mut event: Value =
        serde_json::from_str(body).unwrap_or_else(|_| Value::String(body.to_owned()));
    if fixups::is_s3_test_event(&event) {
        tracing::info!(route = ctx.route.label(), function = %ctx.route.function, outcome = "skipped_s3_test_event", "delivery");
        ctx.delete(&receipt).await;
        return;
    }
    let repairs = fixups::repair(&mut event, &ctx.account);
    if !repairs.is_empty() {
        tracing::debug!(route = ctx.route.label(), ?repairs, "repaired moto event");
    }

    let _heartbeat = Heartbeat::start(ctx.sqs.clone(), ctx.queue_url.clone(), receipt.clone());
    let age = message_age(&message);
    let max_age = Duration::from_secs(ctx.route.maximum_event_age_seconds);
    let deadline = Instant::now() + max_age.saturating_sub(age);
    let payload = Bytes::from(event.to_string());
    let request_id = ids::uuid_v4();

    let delivery = deliver_async(&ctx.lambda, &ctx.route, payload, deadline, &request_id).await;
    match delivery.failure {
        None => ctx.delete(&receipt).await,
        Some(failure) => {
            let record = failure_record(
                &request_id,
                &ctx.function_arn(),
                &failure,
                delivery.invoke_count,
                event,
            );
            match &ctx.on_failure_url {
                Some(url) => {
                    let sent = ctx
                        .sqs
                        .send_message()
                        .queue_url(url)
                        .message_body(record.to_string())
                        .send()
                        .await;
                    match sent {
                        Ok(_) => {
                            tracing::warn!(
                                route = ctx.route.label(),
                                function = %ctx.route.function,
                                attempts = delivery.invoke_count,
                                outcome = "sent_to_on_failure_destination",
                                condition = failure.condition,
                                destination = ctx.route.on_failure.as_deref().unwrap_or_default(),
                                "delivery"
                            );
                            ctx.delete(&receipt).await;
                        }
                        Err(e) => tracing::error!(
                            route = ctx.route.label(),
                            error = %e,
                            "writing the on-failure record failed; the event stays on the queue"
                        ),
                    }
                }
                None => {
                    tracing::warn!(
                        route = ctx.route.label(),
                        function = %ctx.route.function,
                        attempts = delivery.invoke_count,
                        outcome = "discarded_no_destination",
                        condition = failure.condition,
                        record = %record,
                        "delivery"
                    );
                    ctx.delete(&receipt).await;
                }
            }
        }
    }
}

/// How long ago SQS received the message (its `SentTimestamp`).
fn message_age(message: &Message) -> Duration {
    let sent_ms = message
        .attributes()
        .and_then(|a| a.get(&MessageSystemAttributeName::SentTimestamp))
        .and_then(|v| v.parse::<u128>().ok());
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    match sent_ms {
        Some(sent) if now_ms > sent => Duration::from_millis((now_ms - sent) as u64),
        _ => Duration::ZERO,
    }
}

/// Why an async event was given up on.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// `RetriesExhausted` or `EventAgeExceeded`, as in Lambda's destination records.
    pub condition: &'static str,
    /// The last answer, if the function ran and failed.
    pub last_error: Option<(String, Bytes)>,
}

/// The result of delivering one async event.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// Invocations that reached the function.
    pub invoke_count: u32,
    pub failure: Option<Failure>,
}

/// Lambda's asynchronous invocation: invoke, retry function errors after the route's delays,
/// retry errors that never reached the function with backoff, give up at `deadline`.
/// Logs one line per attempt.
pub async fn deliver_async<I: Invoke>(
    invoker: &I,
    route: &Route,
    payload: Bytes,
    deadline: Instant,
    request_id: &str,
) -> Delivery {
    let mut invoke_count = 0u32;
    let mut attempt = 0u32;
    let mut system_errors = 0u32;
    let mut last_error = None;
    let attempts_allowed = route.maximum_retry_attempts + 1;
    loop {
        if Instant::now() >= deadline {
            return Delivery {
                invoke_count,
                failure: Some(Failure {
                    condition: "EventAgeExceeded",
                    last_error,
                }),
            };
        }
        attempt += 1;
        let started = std::time::Instant::now();
        let outcome = invoker.invoke(&route.function, payload.clone()).await;
        let duration_ms = started.elapsed().as_millis() as u64;
        let detail = match &outcome {
            Outcome::NotFound(m) | Outcome::SystemError(m) => m.chars().take(200).collect(),
            other => other.error_type().unwrap_or_default(),
        };
        tracing::info!(
            route = route.label(),
            function = %route.function,
            request_id,
            attempt,
            invocation = invoke_count + u32::from(matches!(outcome, Outcome::Success(_) | Outcome::FunctionError { .. })),
            of = attempts_allowed,
            outcome = outcome.label(),
            detail = %detail,
            duration_ms,
            "delivery"
        );
        let wait = match outcome {
            Outcome::Success(_) => {
                return Delivery {
                    invoke_count: invoke_count + 1,
                    failure: None,
                };
            }
            Outcome::FunctionError { kind, body } => {
                invoke_count += 1;
                last_error = Some((kind, body));
                if invoke_count >= attempts_allowed {
                    return Delivery {
                        invoke_count,
                        failure: Some(Failure {
                            condition: "RetriesExhausted",
                            last_error,
                        }),
                    };
                }
                route.retry_delay(invoke_count)
            }
            Outcome::NotFound(_) | Outcome::SystemError(_) => {
                system_errors += 1;
                Duration::from_millis(250u64 << (system_errors - 1).min(7))
                    .min(Duration::from_secs(30))
            }
        };
        let remaining = deadline.saturating_duration_since(Instant::now());
        sleep(wait.min(remaining)).await;
    }
}

/// The record Lambda sends to an asynchronous invocation's on-failure destination.
pub fn failure_record(
    request_id: &str,
    function_arn: &str,
    failure: &Failure,
    invoke_count: u32,
    event: Value,
) -> Value {
    let mut record = json!({
        "version": "1.0",
        "timestamp": ids::timestamp_millis(time::OffsetDateTime::now_utc()),
        "requestContext": {
            "requestId": request_id,
            "functionArn": function_arn,
            "condition": failure.condition,
            "approximateInvokeCount": invoke_count,
        },
        "requestPayload": event,
    });
    if let Some((kind, body)) = &failure.last_error {
        let payload = serde_json::from_slice::<Value>(body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()));
        record["responseContext"] = json!({
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": kind,
        });
        record["responsePayload"] = payload;
    }
    record
}

/// Keeps a held message invisible while it is being worked on (retry delays can be minutes).
struct Heartbeat(tokio::task::JoinHandle<()>);

impl Heartbeat {
    fn start(sqs: aws_sdk_sqs::Client, queue_url: String, receipt: String) -> Self {
        Self(tokio::spawn(async move {
            loop {
                sleep(HEARTBEAT).await;
                let _ = sqs
                    .change_message_visibility()
                    .queue_url(&queue_url)
                    .receipt_handle(&receipt)
                    .visibility_timeout(HOLD_SECONDS)
                    .send()
                    .await;
            }
        }))
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.0.abort();
    }
}

// ------------------------------------------------------------------------------------ sqs mode

async fn poll_sqs(ctx: Arc<RouteContext>) {
    loop {
        let received = ctx
            .sqs
            .receive_message()
            .queue_url(&ctx.queue_url)
            .max_number_of_messages(ctx.route.batch_size)
            .wait_time_seconds(WAIT_SECONDS)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send()
            .await;
        let messages = match received {
            Ok(out) => out.messages.unwrap_or_default(),
            Err(e) => {
                tracing::warn!(route = ctx.route.label(), error = %e, "receive failed; retrying");
                sleep(Duration::from_secs(2)).await;
                continue;
            }
        };
        if messages.is_empty() {
            continue;
        }
        deliver_batch(&ctx, &messages).await;
    }
}

async fn deliver_batch(ctx: &RouteContext, messages: &[Message]) {
    let event = sqs_event(messages, &ctx.queue_arn, &ctx.region);
    let started = std::time::Instant::now();
    let outcome = ctx
        .lambda
        .invoke(
            &ctx.route.function,
            Bytes::from(event.to_string()),
            &HeaderMap::new(),
        )
        .await;
    let ids: Vec<&str> = messages.iter().filter_map(|m| m.message_id()).collect();
    let keep: HashSet<String> = match &outcome {
        Outcome::Success(body) if ctx.route.report_batch_item_failures => {
            match batch_item_failures(body, &ids) {
                Ok(failed) => failed,
                Err(why) => {
                    tracing::warn!(
                        route = ctx.route.label(),
                        why,
                        "invalid batchItemFailures: the whole batch failed"
                    );
                    ids.iter().map(|s| s.to_string()).collect()
                }
            }
        }
        Outcome::Success(_) => HashSet::new(),
        _ => ids.iter().map(|s| s.to_string()).collect(),
    };
    tracing::info!(
        route = ctx.route.label(),
        function = %ctx.route.function,
        batch = messages.len(),
        failed_items = keep.len(),
        outcome = outcome.label(),
        detail = %outcome.error_type().unwrap_or_default(),
        duration_ms = started.elapsed().as_millis() as u64,
        "delivery"
    );
    let entries: Vec<DeleteMessageBatchRequestEntry> = messages
        .iter()
        .enumerate()
        .filter(|(_, m)| !keep.contains(m.message_id().unwrap_or_default()))
        .filter_map(|(i, m)| {
            DeleteMessageBatchRequestEntry::builder()
                .id(format!("m{i}"))
                .set_receipt_handle(m.receipt_handle().map(str::to_owned))
                .build()
                .ok()
        })
        .collect();
    if !entries.is_empty() {
        if let Err(e) = ctx
            .sqs
            .delete_message_batch()
            .queue_url(&ctx.queue_url)
            .set_entries(Some(entries))
            .send()
            .await
        {
            tracing::warn!(route = ctx.route.label(), error = %e, "delete failed; messages will be delivered again");
        }
    }
    if matches!(outcome, Outcome::NotFound(_) | Outcome::SystemError(_)) {
        sleep(Duration::from_secs(2)).await;
    }
}

/// The SQS event an event source mapping hands to a function.
pub fn sqs_event(messages: &[Message], queue_arn: &str, region: &str) -> Value {
    let records: Vec<Value> = messages
        .iter()
        .map(|m| {
            let attributes: HashMap<&str, &str> = m
                .attributes()
                .map(|a| a.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect())
                .unwrap_or_default();
            let message_attributes: serde_json::Map<String, Value> = m
                .message_attributes()
                .map(|a| {
                    a.iter()
                        .map(|(name, v)| {
                            let binary = v.binary_value().map(|b| {
                                base64::engine::general_purpose::STANDARD.encode(b.as_ref())
                            });
                            (
                                name.clone(),
                                json!({
                                    "stringValue": v.string_value(),
                                    "binaryValue": binary,
                                    "stringListValues": [],
                                    "binaryListValues": [],
                                    "dataType": v.data_type(),
                                }),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            json!({
                "messageId": m.message_id(),
                "receiptHandle": m.receipt_handle(),
                "body": m.body(),
                "attributes": attributes,
                "messageAttributes": message_attributes,
                "md5OfBody": m.md5_of_body(),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            })
        })
        .collect();
    json!({ "Records": records })
}

/// The message ids a function reported as failed (`ReportBatchItemFailures`). As in Lambda,
/// an item id that is empty or not in the batch fails the whole batch.
pub fn batch_item_failures(body: &[u8], batch: &[&str]) -> Result<HashSet<String>, &'static str> {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return Ok(HashSet::new());
    };
    let Some(items) = value.get("batchItemFailures") else {
        return Ok(HashSet::new());
    };
    let Some(items) = items.as_array() else {
        return if items.is_null() {
            Ok(HashSet::new())
        } else {
            Err("not a list")
        };
    };
    let mut failed = HashSet::new();
    for item in items {
        match item.get("itemIdentifier").and_then(Value::as_str) {
            Some(id) if batch.contains(&id) => {
                failed.insert(id.to_owned());
            }
            _ => return Err("itemIdentifier missing, empty or not in the batch"),
        }
    }
    Ok(failed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// Answers with the scripted outcomes in order, then success.
    struct Scripted(Mutex<Vec<Outcome>>, Mutex<u32>);

    impl Scripted {
        fn new(mut outcomes: Vec<Outcome>) -> Self {
            outcomes.reverse();
            Self(Mutex::new(outcomes), Mutex::new(0))
        }
        fn calls(&self) -> u32 {
            *self.1.lock().unwrap()
        }
    }

    impl Invoke for Scripted {
        fn invoke(&self, _: &str, _: Bytes) -> impl Future<Output = Outcome> + Send {
            *self.1.lock().unwrap() += 1;
            let next = self
                .0
                .lock()
                .unwrap()
                .pop()
                .unwrap_or(Outcome::Success(Bytes::new()));
            async move { next }
        }
    }

    fn route(retries: u32) -> Route {
        serde_json::from_value(json!({"queue": "q", "function": "f",
            "maximumRetryAttempts": retries, "retryDelaysMs": [100, 200]}))
        .unwrap()
    }

    fn function_error() -> Outcome {
        Outcome::FunctionError {
            kind: "Unhandled".into(),
            body: Bytes::from(r#"{"errorType":"Boom","errorMessage":"no"}"#),
        }
    }

    fn far() -> Instant {
        Instant::now() + Duration::from_secs(3600)
    }

    #[tokio::test]
    async fn success_first_time() {
        let fake = Scripted::new(vec![]);
        let d = deliver_async(&fake, &route(2), Bytes::new(), far(), "r").await;
        assert_eq!(
            d,
            Delivery {
                invoke_count: 1,
                failure: None
            }
        );
    }

    #[tokio::test]
    async fn retries_then_succeeds_after_the_delays() {
        let fake = Scripted::new(vec![function_error(), function_error()]);
        let start = Instant::now();
        let d = deliver_async(&fake, &route(2), Bytes::new(), far(), "r").await;
        assert_eq!(d.invoke_count, 3);
        assert!(d.failure.is_none());
        let waited = start.elapsed();
        assert!(
            waited >= Duration::from_millis(300) && waited < Duration::from_millis(1000),
            "{waited:?}"
        );
    }

    #[tokio::test]
    async fn retries_exhausted() {
        let fake = Scripted::new(vec![function_error(), function_error(), function_error()]);
        let d = deliver_async(&fake, &route(2), Bytes::new(), far(), "r").await;
        assert_eq!(d.invoke_count, 3);
        assert_eq!(fake.calls(), 3);
        let failure = d.failure.unwrap();
        assert_eq!(failure.condition, "RetriesExhausted");
        let record = failure_record("rid", "arn:f", &failure, 3, json!({"a": 1}));
        assert_eq!(record["version"], "1.0");
        assert_eq!(record["requestContext"]["condition"], "RetriesExhausted");
        assert_eq!(record["requestContext"]["approximateInvokeCount"], 3);
        assert_eq!(record["requestPayload"], json!({"a": 1}));
        assert_eq!(record["responseContext"]["functionError"], "Unhandled");
        assert_eq!(record["responseContext"]["statusCode"], 200);
        assert_eq!(record["responsePayload"]["errorType"], "Boom");
    }

    #[tokio::test]
    async fn zero_retries() {
        let fake = Scripted::new(vec![function_error()]);
        let d = deliver_async(&fake, &route(0), Bytes::new(), far(), "r").await;
        assert_eq!(d.invoke_count, 1);
        assert_eq!(d.failure.unwrap().condition, "RetriesExhausted");
    }

    #[tokio::test]
    async fn system_errors_do_not_count_but_age_out() {
        let fake = Scripted::new(vec![
            Outcome::SystemError("down".into()),
            Outcome::NotFound("x".into()),
        ]);
        let d = deliver_async(&fake, &route(0), Bytes::new(), far(), "r").await;
        assert_eq!(
            d,
            Delivery {
                invoke_count: 1,
                failure: None
            }
        );

        let down: Vec<Outcome> = (0..1000)
            .map(|_| Outcome::SystemError("down".into()))
            .collect();
        let fake = Scripted::new(down);
        let deadline = Instant::now() + Duration::from_millis(1200);
        let d = deliver_async(&fake, &route(2), Bytes::new(), deadline, "r").await;
        assert_eq!(d.invoke_count, 0);
        let failure = d.failure.unwrap();
        assert_eq!(failure.condition, "EventAgeExceeded");
        let record = failure_record("rid", "arn:f", &failure, 0, json!({}));
        assert!(record.get("responseContext").is_none());
    }

    #[test]
    fn batch_item_failures_rules() {
        let batch = ["a", "b"];
        assert!(batch_item_failures(b"null", &batch).unwrap().is_empty());
        assert!(batch_item_failures(br#"{"batchItemFailures":[]}"#, &batch)
            .unwrap()
            .is_empty());
        let failed =
            batch_item_failures(br#"{"batchItemFailures":[{"itemIdentifier":"b"}]}"#, &batch)
                .unwrap();
        assert_eq!(failed, HashSet::from(["b".to_owned()]));
        assert!(
            batch_item_failures(br#"{"batchItemFailures":[{"itemIdentifier":""}]}"#, &batch)
                .is_err()
        );
        assert!(batch_item_failures(
            br#"{"batchItemFailures":[{"itemIdentifier":"zz"}]}"#,
            &batch
        )
        .is_err());
    }

    #[test]
    fn sqs_event_shape() {
        let m = Message::builder()
            .message_id("id-1")
            .receipt_handle("rh")
            .body("hello")
            .md5_of_body("5d41402abc4b2a76b9719d911017c592")
            .attributes(MessageSystemAttributeName::ApproximateReceiveCount, "1")
            .build();
        let event = sqs_event(&[m], "arn:aws:sqs:us-east-1:123456789012:q", "us-east-1");
        let r = &event["Records"][0];
        assert_eq!(r["messageId"], "id-1");
        assert_eq!(r["body"], "hello");
        assert_eq!(r["eventSource"], "aws:sqs");
        assert_eq!(r["eventSourceARN"], "arn:aws:sqs:us-east-1:123456789012:q");
        assert_eq!(r["attributes"]["ApproximateReceiveCount"], "1");
        assert!(r["messageAttributes"].as_object().unwrap().is_empty());
    }
}

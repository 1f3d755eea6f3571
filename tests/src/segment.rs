//! The Segment -> Personalize pipeline: resource names (from the deployed stack),
//! Segment messages, direct invocations as Segment's Lambda destination makes them, the SQS
//! path, the recommendations endpoint, and the emulated Personalize's admin API.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_sqs::types::{MessageSystemAttributeName, SendMessageBatchRequestEntry};
use serde_json::{json, Value};

use crate::poll::eventually;
use crate::{repo_root, sqs, stack, LocalCloud};

/// The forwarder function (Segment's Lambda destination).
pub fn forwarder() -> &'static str {
    stack().physical_id("SegmentPersonalizeForwarder")
}
/// The recommendations function.
pub fn recommendations() -> &'static str {
    stack().physical_id("Recommendations")
}
/// The SQS way in (event source mapping with partial batch responses).
pub fn events_queue() -> &'static str {
    stack().queue_name("SegmentEventsQueue")
}
/// Redrive target of the queue, and where invalid messages go with their reason.
pub fn dlq() -> &'static str {
    stack().queue_name("SegmentEventsDLQ")
}
/// The recommendations cache.
pub fn cache_table() -> &'static str {
    stack().physical_id("RecommendationsCacheTable")
}
/// The event tracker's tracking id (a stack parameter).
pub fn tracking_id() -> &'static str {
    stack().parameter("PersonalizeTrackingId")
}

/// A message parked in the dead-letter queue.
#[derive(Debug, Clone)]
pub struct Parked {
    pub body: String,
    pub attributes: HashMap<String, String>,
}

/// An HTTP answer of the recommendations function.
#[derive(Debug, Clone)]
pub struct HttpAnswer {
    pub status: u64,
    pub headers: Value,
    pub body: Value,
}

#[derive(Clone, Debug)]
pub struct SegmentPipeline {
    pub cloud: LocalCloud,
    pub dynamodb: aws_sdk_dynamodb::Client,
}

impl SegmentPipeline {
    pub async fn connect() -> Result<Self> {
        let cloud = LocalCloud::connect().await?;
        cloud.require_queues(&[events_queue(), dlq()]).await?;
        let dynamodb = aws_sdk_dynamodb::Client::new(&cloud.config);
        Ok(Self { cloud, dynamodb })
    }

    /// Invokes a function synchronously through the Lambda Invoke API (as Segment's destination
    /// does); returns the function error (errorType) if any, and the payload.
    pub async fn invoke(&self, function: &str, payload: &Value) -> Result<(Option<String>, Value)> {
        let r = crate::lambda::invoke(&self.cloud, function, payload).await?;
        if !(200..300).contains(&r.status) {
            bail!("Invoke {function}: HTTP {}: {}", r.status, r.payload);
        }
        let error = r.function_error.map(|_| {
            r.payload["errorType"]
                .as_str()
                .unwrap_or("Unhandled")
                .to_owned()
        });
        let body = r.payload;
        Ok((error, body))
    }

    /// Sends the bodies to the events queue in one SendMessageBatch (at most 10).
    pub async fn send_batch(&self, bodies: &[String]) -> Result<()> {
        let url = sqs::queue_url(&self.cloud.sqs, events_queue()).await?;
        let entries = bodies
            .iter()
            .enumerate()
            .map(|(i, b)| {
                SendMessageBatchRequestEntry::builder()
                    .id(format!("e{i}"))
                    .message_body(b)
                    .build()
            })
            .collect::<Result<Vec<_>, _>>()?;
        let out = self
            .cloud
            .sqs
            .send_message_batch()
            .queue_url(&url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "SendMessageBatch: {}",
                    aws_sdk_sqs::error::DisplayErrorContext(&e)
                )
            })?;
        if !out.failed().is_empty() {
            bail!("SendMessageBatch failed entries: {:?}", out.failed());
        }
        Ok(())
    }

    /// Waits for a parked message whose body contains `needle`, deletes it and returns it with
    /// its message attributes.
    pub async fn wait_parked(&self, needle: &str, timeout: Duration) -> Result<Parked> {
        let url = sqs::queue_url(&self.cloud.sqs, dlq()).await?;
        eventually(
            format!("a message with {needle:?} in {}", dlq()),
            timeout,
            || async {
                let out = self
                    .cloud
                    .sqs
                    .receive_message()
                    .queue_url(&url)
                    .max_number_of_messages(10)
                    .visibility_timeout(2)
                    .message_attribute_names("All")
                    .message_system_attribute_names(MessageSystemAttributeName::All)
                    .send()
                    .await
                    .map_err(|e| {
                        anyhow::anyhow!(
                            "ReceiveMessage: {}",
                            aws_sdk_sqs::error::DisplayErrorContext(&e)
                        )
                    })?;
                for m in out.messages() {
                    let body = m.body().unwrap_or_default();
                    if !body.contains(needle) {
                        continue;
                    }
                    if let Some(handle) = m.receipt_handle() {
                        let _ = self
                            .cloud
                            .sqs
                            .delete_message()
                            .queue_url(&url)
                            .receipt_handle(handle)
                            .send()
                            .await;
                    }
                    let attributes = m
                        .message_attributes()
                        .map(|a| {
                            a.iter()
                                .map(|(k, v)| {
                                    (k.clone(), v.string_value().unwrap_or("").to_owned())
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    return Ok(Some(Parked {
                        body: body.to_owned(),
                        attributes,
                    }));
                }
                Ok(None)
            },
        )
        .await
    }

    /// Everything the emulated Personalize received by PutEvents for `session_id`.
    pub async fn received_events(&self, session_id: &str) -> Result<Vec<Value>> {
        let url = format!(
            "{}/_emulator/personalize/events?trackingId={}",
            self.cloud.emulator_url,
            tracking_id()
        );
        let all: Value = self.cloud.http.get(&url).send().await?.json().await?;
        // `{"count", "events": [<PutEvents body as sent, plus seq and receivedAt>]}`.
        let list = all["events"]
            .as_array()
            .with_context(|| format!("unexpected admin answer: {all}"))?;
        Ok(list
            .iter()
            .filter(|r| r["sessionId"] == session_id)
            .cloned()
            .collect())
    }

    /// Waits until PutEvents for the session has carried `count` events in all.
    pub async fn wait_events(
        &self,
        session_id: &str,
        count: usize,
        timeout: Duration,
    ) -> Result<Vec<Value>> {
        eventually(
            format!("{count} event(s) of session {session_id} at the emulated Personalize"),
            timeout,
            || async {
                let requests = self.received_events(session_id).await?;
                let events: Vec<Value> = requests.iter().flat_map(event_list).collect();
                Ok((events.len() >= count).then_some(events))
            },
        )
        .await
    }

    /// Makes the emulated Personalize Runtime answer 503 for `seconds` (0 ends it).
    pub async fn runtime_unavailable(&self, seconds: u64) -> Result<()> {
        let url = format!(
            "{}/_emulator/personalize/unavailable?seconds={seconds}&scope=runtime",
            self.cloud.emulator_url
        );
        let r = self.cloud.http.post(&url).send().await?;
        if !r.status().is_success() {
            bail!("POST {url}: {}", r.status());
        }
        Ok(())
    }

    /// `GET /recommendations/{userId}` (or `/related/{itemId}` with `related`) through the
    /// function, with an API Gateway HTTP API event.
    pub async fn recommendations(
        &self,
        related: bool,
        id: &str,
        query: &[(&str, &str)],
    ) -> Result<HttpAnswer> {
        let event = http_event(related, id, query)?;
        let (error, response) = self.invoke(recommendations(), &event).await?;
        if let Some(e) = error {
            bail!("recommendations failed with {e}: {response}");
        }
        let body = match response["body"].as_str() {
            Some(text) => serde_json::from_str(text).unwrap_or(Value::String(text.into())),
            None => Value::Null,
        };
        Ok(HttpAnswer {
            status: response["statusCode"].as_u64().context("statusCode")?,
            headers: response["headers"].clone(),
            body,
        })
    }

    /// Marks every cache entry whose stored answer mentions `needle` as past its fresh time
    /// (what the passing of CACHE_TTL_SECONDS does), without removing it.
    pub async fn age_cache_entries(&self, needle: &str) -> Result<usize> {
        let out = self
            .dynamodb
            .scan()
            .table_name(cache_table())
            .send()
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "Scan {}: {}",
                    cache_table(),
                    aws_sdk_dynamodb::error::DisplayErrorContext(&e)
                )
            })?;
        let mut aged = 0;
        for item in out.items() {
            let mentions = item
                .values()
                .any(|v| matches!(v, AttributeValue::S(s) if s.contains(needle)));
            let Some(key) = item.get("cacheKey") else {
                continue;
            };
            if !mentions {
                continue;
            }
            self.dynamodb
                .update_item()
                .table_name(cache_table())
                .key("cacheKey", key.clone())
                .update_expression("SET freshUntil = :past")
                .expression_attribute_values(":past", AttributeValue::N("0".into()))
                .send()
                .await
                .map_err(|e| {
                    anyhow::anyhow!(
                        "UpdateItem {}: {}",
                        cache_table(),
                        aws_sdk_dynamodb::error::DisplayErrorContext(&e)
                    )
                })?;
            aged += 1;
        }
        Ok(aged)
    }
}

/// The events of a recorded PutEvents request.
pub fn event_list(request: &Value) -> Vec<Value> {
    request["eventList"].as_array().cloned().unwrap_or_default()
}

/// A Segment `track` message.
pub fn track(
    message_id: &str,
    anonymous_id: &str,
    user_id: &str,
    event: &str,
    product: &str,
) -> Value {
    json!({
        "type": "track",
        "event": event,
        "messageId": message_id,
        "anonymousId": anonymous_id,
        "userId": user_id,
        "timestamp": "2026-11-24T10:00:00.125Z",
        "properties": {"productId": product, "price": 12.5, "category": "games"},
        "context": {"library": {"name": "analytics.js", "version": "4.1.0"}},
    })
}

/// The API Gateway HTTP API event of `GET /recommendations/{id}` or `GET /related/{id}`.
pub fn http_event(related: bool, id: &str, query: &[(&str, &str)]) -> Result<Value> {
    let fixture = repo_root().join("events/apigw/recommendations-user.json");
    let mut event: Value = serde_json::from_slice(&std::fs::read(&fixture)?)?;
    let (route, param, path) = if related {
        ("GET /related/{itemId}", "itemId", format!("/related/{id}"))
    } else {
        (
            "GET /recommendations/{userId}",
            "userId",
            format!("/recommendations/{id}"),
        )
    };
    event["routeKey"] = json!(route);
    event["requestContext"]["routeKey"] = json!(route);
    event["rawPath"] = json!(path);
    event["requestContext"]["http"]["path"] = json!(path);
    event["pathParameters"] = json!({ param: id });
    let raw: Vec<String> = query
        .iter()
        .map(|(k, v)| format!("{k}={}", urlencoding::encode(v)))
        .collect();
    event["rawQueryString"] = json!(raw.join("&"));
    if query.is_empty() {
        event
            .as_object_mut()
            .unwrap()
            .remove("queryStringParameters");
    } else {
        let q: serde_json::Map<String, Value> = query
            .iter()
            .map(|(k, v)| ((*k).to_owned(), json!(v)))
            .collect();
        event["queryStringParameters"] = Value::Object(q);
    }
    Ok(event)
}

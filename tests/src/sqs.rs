//! SQS operations: queue URLs, finding records (on-failure records, DLQ messages) among other
//! tests' messages, and waiting for queues to drain.
//!
//! Queues are shared by tests running at the same time, so nothing here purges a queue or
//! deletes a message it did not match: non-matching messages are received with a short
//! visibility timeout and reappear by themselves.

use std::time::Duration;

use anyhow::{Context, Result};
use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::QueueAttributeName;
use aws_sdk_sqs::Client;
use serde_json::Value;

use crate::poll::eventually;

/// How long a message received by [`find`] stays hidden from other receivers.
const PEEK_VISIBILITY_SECS: i32 = 2;

/// The URL of a queue by name.
pub async fn queue_url(sqs: &Client, name: &str) -> Result<String> {
    let out = sqs
        .get_queue_url()
        .queue_name(name)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("queue {name}: {}", DisplayErrorContext(&e)))?;
    out.queue_url()
        .map(str::to_owned)
        .with_context(|| format!("queue {name}: GetQueueUrl answered no URL"))
}

/// Message counts of a queue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub visible: u64,
    /// Received and not yet deleted (being processed, e.g. by the relay).
    pub in_flight: u64,
    pub delayed: u64,
}

impl Counts {
    pub fn is_empty(&self) -> bool {
        self.visible == 0 && self.in_flight == 0 && self.delayed == 0
    }
}

/// The queue's approximate message counts.
pub async fn counts(sqs: &Client, url: &str) -> Result<Counts> {
    let out = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesDelayed)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("GetQueueAttributes {url}: {}", DisplayErrorContext(&e)))?;
    let attrs = out.attributes();
    let get = |name: QueueAttributeName| -> u64 {
        attrs
            .and_then(|a| a.get(&name))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    Ok(Counts {
        visible: get(QueueAttributeName::ApproximateNumberOfMessages),
        in_flight: get(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
        delayed: get(QueueAttributeName::ApproximateNumberOfMessagesDelayed),
    })
}

/// Waits until every queue is empty, nothing in flight, on two checks in a row: every message
/// put so far has been delivered (the relay deletes a message only after the function
/// succeeded or the on-failure record was written).
pub async fn wait_until_drained(sqs: &Client, queues: &[&str], timeout: Duration) -> Result<()> {
    let mut urls = Vec::new();
    for q in queues {
        urls.push(queue_url(sqs, q).await?);
    }
    let quiet = std::cell::Cell::new(0u32);
    let (urls, quiet) = (&urls, &quiet);
    eventually(
        format!("queues {} to drain", queues.join(", ")),
        timeout,
        || async move {
            let mut all_empty = true;
            for url in urls {
                all_empty &= counts(sqs, url).await?.is_empty();
            }
            quiet.set(if all_empty { quiet.get() + 1 } else { 0 });
            Ok((quiet.get() >= 2).then_some(()))
        },
    )
    .await
}

/// A received message.
#[derive(Debug, Clone)]
pub struct Record {
    pub message_id: String,
    pub receipt_handle: String,
    /// The body as JSON (a JSON string if it is not JSON).
    pub body: Value,
}

/// Receives what the queue holds now and returns the messages whose body matches; deletes the
/// matches when `delete` is set. Others' messages are only hidden for a couple of seconds.
pub async fn find(
    sqs: &Client,
    url: &str,
    matches: impl Fn(&Value) -> bool,
    delete: bool,
) -> Result<Vec<Record>> {
    let mut found = Vec::new();
    // Bounded: a receive hides what it returns, so the sweep ends when the queue has nothing
    // visible left (or after 50 batches).
    for _ in 0..50 {
        let out = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .visibility_timeout(PEEK_VISIBILITY_SECS)
            .wait_time_seconds(0)
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("ReceiveMessage {url}: {}", DisplayErrorContext(&e)))?;
        let messages = out.messages();
        if messages.is_empty() {
            break;
        }
        for m in messages {
            let text = m.body().unwrap_or_default();
            let body = serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.into()));
            if !matches(&body) {
                continue;
            }
            let record = Record {
                message_id: m.message_id().unwrap_or_default().to_owned(),
                receipt_handle: m.receipt_handle().unwrap_or_default().to_owned(),
                body,
            };
            if delete {
                sqs.delete_message()
                    .queue_url(url)
                    .receipt_handle(&record.receipt_handle)
                    .send()
                    .await
                    .map_err(|e| {
                        anyhow::anyhow!("DeleteMessage {url}: {}", DisplayErrorContext(&e))
                    })?;
            }
            found.push(record);
        }
    }
    Ok(found)
}

/// Waits for a message whose body matches, deletes it (it is the caller's) and returns its body.
pub async fn wait_for_record(
    sqs: &Client,
    queue: &str,
    what: &str,
    timeout: Duration,
    matches: impl Fn(&Value) -> bool,
) -> Result<Value> {
    let url = queue_url(sqs, queue).await?;
    eventually(format!("{what} in queue {queue}"), timeout, || async {
        let found = find(sqs, &url, &matches, true).await?;
        Ok(found.into_iter().next().map(|r| r.body))
    })
    .await
}

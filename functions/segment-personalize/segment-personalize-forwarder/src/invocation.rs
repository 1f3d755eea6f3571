//! What the function is invoked with ([`Invocation`]: an SQS batch or one Segment message) and
//! what it answers ([`Answer`]).

use aws_lambda_events::event::sqs::SqsBatchResponse;
use serde::{Deserialize, Serialize};
use serde_json::Value;
pub use shared::sqs_event::SqsBatch;

/// One invocation's event, told apart by its shape.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Invocation {
    /// An SQS event source mapping's batch: `Records`, the first one from `aws:sqs` (or none).
    Sqs(SqsBatch),
    /// Anything else: one Segment message (Segment's Lambda destination). Whether it is a
    /// valid one is the mapping's to say: an invalid message is rejected, not an error.
    Segment(Value),
}

/// What an invocation answers.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Answer {
    /// To SQS: `{"batchItemFailures": [{"itemIdentifier": <messageId>}, ...]}`, the messages
    /// to redeliver.
    Batch(SqsBatchResponse),
    /// To Segment.
    Message(MessageAnswer),
}

/// What became of one Segment message: `{"status": "forwarded" | "ignored" | "rejected", ...}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum MessageAnswer {
    /// Sent: how many events and users, in how many PutEvents calls.
    Forwarded {
        events: usize,
        users: usize,
        #[serde(rename = "putEventsCalls")]
        put_events_calls: usize,
    },
    /// Deliberately not forwarded (`alias`, `group`, an event type mapped to `null`, ...).
    Ignored { reason: String },
    /// Personalize can never accept it: answered rather than failed, so Segment does not retry
    /// it forever.
    Rejected { error: String },
}

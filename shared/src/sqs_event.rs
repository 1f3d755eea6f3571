//! SQS event source mapping batches, as Lambda delivers them: told apart from other events by
//! their shape, for functions invoked both by a queue and by something else.

use aws_lambda_events::event::sqs::SqsEvent;
use serde::Deserialize;

/// An SQS event whose records come from SQS (`eventSource` `aws:sqs`); an event with other
/// `Records` (an S3 notification, say) is not one, and neither is an event without `Records`.
/// Put it first in an `#[serde(untagged)]` enum of the shapes a function takes.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "SqsEvent")]
pub struct SqsBatch(pub SqsEvent);

impl TryFrom<SqsEvent> for SqsBatch {
    type Error = &'static str;

    fn try_from(event: SqsEvent) -> Result<Self, Self::Error> {
        match event.records.first() {
            Some(r) if r.event_source.as_deref() != Some("aws:sqs") => {
                Err("Records whose eventSource is not aws:sqs")
            }
            _ => Ok(Self(event)),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn only_sqs_records_make_a_batch() {
        let sqs = json!({"Records": [{"messageId": "m1", "body": "{}", "eventSource": "aws:sqs"}]});
        let batch: SqsBatch = serde_json::from_value(sqs).unwrap();
        assert_eq!(batch.0.records[0].message_id.as_deref(), Some("m1"));
        let s3 = json!({"Records": [{"eventSource": "aws:s3", "s3": {}}]});
        assert!(serde_json::from_value::<SqsBatch>(s3).is_err());
        let eventbridge = json!({"detail-type": "x", "source": "y", "detail": {}});
        assert!(serde_json::from_value::<SqsBatch>(eventbridge).is_err());
    }
}

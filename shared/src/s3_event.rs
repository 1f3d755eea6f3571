//! S3 event notifications, as S3 delivers them to Lambda: parsing, and each record's bucket,
//! decoded key and whether it reports a created object.

use aws_lambda_events::s3::{S3Event, S3EventRecord};
use serde_json::Value;

use crate::store::decode_event_key;
use crate::PipelineError;

/// One record's object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventObject<'a> {
    /// `eventName`, e.g. `ObjectCreated:Put` (empty if absent).
    pub event_name: &'a str,
    pub bucket: &'a str,
    /// The key, URL-decoded.
    pub key: String,
}

impl EventObject<'_> {
    /// Whether the record reports a created object.
    pub fn is_created(&self) -> bool {
        self.event_name.starts_with("ObjectCreated")
    }
}

/// Parses an S3 notification; the error says the event is not one.
pub fn parse(event: Value) -> Result<S3Event, PipelineError> {
    serde_json::from_value(event)
        .map_err(|e| PipelineError::invalid_input(format!("event: not an S3 notification: {e}")))
}

/// The object of record `index`; the error names the missing or undecodable field.
pub fn object(index: usize, record: &S3EventRecord) -> Result<EventObject<'_>, PipelineError> {
    let (Some(bucket), Some(key)) = (
        record.s3.bucket.name.as_deref(),
        record.s3.object.key.as_deref(),
    ) else {
        return Err(PipelineError::invalid_input(format!(
            "Records[{index}].s3: bucket.name and object.key are required"
        )));
    };
    let key =
        decode_event_key(key).map_err(|e| e.context(format!("Records[{index}].s3.object.key")))?;
    Ok(EventObject {
        event_name: record.event_name.as_deref().unwrap_or_default(),
        bucket,
        key,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn event(key: Value) -> Value {
        json!({"Records": [{
            "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
            "eventTime": "2025-06-03T14:20:11.123Z", "eventName": "ObjectCreated:Put",
            "userIdentity": {"principalId": "p"}, "requestParameters": {"sourceIPAddress": "10.0.0.1"},
            "responseElements": {},
            "s3": {"s3SchemaVersion": "1.0", "bucket": {"name": "b"}, "object": {"key": key}}
        }]})
    }

    #[test]
    fn records_give_bucket_and_decoded_key() {
        let e = parse(event(json!("a/b+c%C3%A9.json"))).unwrap();
        let o = object(0, &e.records[0]).unwrap();
        assert_eq!(
            (o.bucket, o.key.as_str(), o.is_created()),
            ("b", "a/b cé.json", true)
        );
    }

    #[test]
    fn problems_name_the_field() {
        let e = parse(event(Value::Null)).unwrap();
        assert!(object(0, &e.records[0])
            .unwrap_err()
            .message
            .starts_with("Records[0].s3:"));
        let e = parse(event(json!("%FF"))).unwrap();
        assert!(object(0, &e.records[0])
            .unwrap_err()
            .message
            .starts_with("Records[0].s3.object.key:"));
        assert!(parse(json!({"Records": 1}))
            .unwrap_err()
            .message
            .starts_with("event: not an S3 notification"));
    }
}

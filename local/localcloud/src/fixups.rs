//! Repairs for the events moto 5.2 puts on SQS, so that functions receive what AWS sends.
//!
//! Found by comparing moto's messages with the documented event structures (and with what
//! `aws_lambda_events` requires to deserialize):
//! - S3 notification records lack `userIdentity`, `requestParameters`, `responseElements`,
//!   `s3.bucket.ownerIdentity` and `s3.object.sequencer`. `aws_lambda_events::s3::S3Event`
//!   cannot deserialize a record without `userIdentity` and `requestParameters`, so without
//!   this repair a correct Rust function would fail on every local S3 event.
//! - moto encodes the object key with Python's `quote_plus`, which also escapes `/` as `%2F`;
//!   S3 leaves `/` as is (`genesys/a b.json` arrives as `genesys/a+b.json`). Both decode to the
//!   same key, so the repair only turns `%2F` back into `/`.
//! - EventBridge events delivered to SQS lack the `account` field.
//!
//! Every repair only *adds* what is missing; fields that are present are never changed
//! (except the `%2F` above).

use serde_json::{json, Map, Value};

/// Is this S3's `s3:TestEvent`, sent when a notification configuration is saved?
/// It is not an event Lambda would ever be invoked with.
pub fn is_s3_test_event(event: &Value) -> bool {
    event.get("Event").and_then(Value::as_str) == Some("s3:TestEvent")
}

/// Applies every repair that fits `event`. Returns the names of the repairs made.
pub fn repair(event: &mut Value, account: &str) -> Vec<&'static str> {
    let mut done = Vec::new();
    if is_s3_event(event) {
        repair_s3(event, &mut done);
    } else if is_eventbridge_event(event) {
        repair_eventbridge(event, account, &mut done);
    }
    done
}

fn is_s3_event(event: &Value) -> bool {
    event
        .get("Records")
        .and_then(Value::as_array)
        .and_then(|records| records.first())
        .and_then(|r| r.get("eventSource"))
        .and_then(Value::as_str)
        == Some("aws:s3")
}

fn is_eventbridge_event(event: &Value) -> bool {
    event.get("detail-type").is_some()
        && event.get("source").is_some()
        && event.get("detail").is_some()
}

fn insert_missing(object: &mut Map<String, Value>, key: &str, value: Value, done: &mut bool) {
    if !object.contains_key(key) {
        object.insert(key.to_owned(), value);
        *done = true;
    }
}

fn repair_s3(event: &mut Value, done: &mut Vec<&'static str>) {
    let Some(records) = event.get_mut("Records").and_then(Value::as_array_mut) else {
        return;
    };
    let mut added = false;
    let mut unescaped = false;
    for record in records.iter_mut().filter_map(Value::as_object_mut) {
        insert_missing(
            record,
            "userIdentity",
            json!({"principalId": "AWS:LOCALCLOUD"}),
            &mut added,
        );
        insert_missing(
            record,
            "requestParameters",
            json!({"sourceIPAddress": "127.0.0.1"}),
            &mut added,
        );
        let request_id: String = crate::ids::uuid_v4().replace('-', "")[..16].to_uppercase();
        insert_missing(
            record,
            "responseElements",
            json!({"x-amz-request-id": request_id, "x-amz-id-2": "localcloud"}),
            &mut added,
        );
        let Some(s3) = record.get_mut("s3").and_then(Value::as_object_mut) else {
            continue;
        };
        if let Some(bucket) = s3.get_mut("bucket").and_then(Value::as_object_mut) {
            insert_missing(
                bucket,
                "ownerIdentity",
                json!({"principalId": "LOCALCLOUD"}),
                &mut added,
            );
        }
        if let Some(object) = s3.get_mut("object").and_then(Value::as_object_mut) {
            let sequencer = format!("{:016X}", now_nanos());
            insert_missing(object, "sequencer", json!(sequencer), &mut added);
            if let Some(key) = object.get_mut("key") {
                if let Some(text) = key
                    .as_str()
                    .filter(|k| k.contains("%2F") || k.contains("%2f"))
                {
                    *key = json!(text.replace("%2F", "/").replace("%2f", "/"));
                    unescaped = true;
                }
            }
        }
    }
    if added {
        done.push("s3-record-fields");
    }
    if unescaped {
        done.push("s3-key-slashes");
    }
}

fn repair_eventbridge(event: &mut Value, account: &str, done: &mut Vec<&'static str>) {
    if let Some(object) = event.as_object_mut() {
        let mut added = false;
        insert_missing(object, "account", json!(account), &mut added);
        insert_missing(object, "version", json!("0"), &mut added);
        insert_missing(object, "resources", json!([]), &mut added);
        if added {
            done.push("eventbridge-account");
        }
    }
}

fn now_nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record exactly as moto 5.2.5 sends it.
    fn moto_s3_event() -> Value {
        json!({"Records": [{"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
            "eventTime": "2026-11-24T16:59:16.760Z", "eventName": "ObjectCreated:Put",
            "s3": {"s3SchemaVersion": "1.0", "configurationId": "raw",
                "bucket": {"name": "mlpipe-genesys-raw", "arn": "arn:aws:s3:::mlpipe-genesys-raw"},
                "object": {"key": "genesys%2Fsub%2Fa+b.json", "size": 2, "eTag": "99914b932bd37a50b983c5e7c90ae93b"}}}]})
    }

    #[test]
    fn s3_records_get_the_fields_aws_sends() {
        let mut event = moto_s3_event();
        let done = repair(&mut event, "123456789012");
        assert_eq!(done, ["s3-record-fields", "s3-key-slashes"]);
        let record = &event["Records"][0];
        assert_eq!(record["s3"]["object"]["key"], "genesys/sub/a+b.json");
        assert!(record["userIdentity"]["principalId"].is_string());
        assert!(record["requestParameters"]["sourceIPAddress"].is_string());
        assert!(record["responseElements"]["x-amz-request-id"].is_string());
        assert!(record["s3"]["object"]["sequencer"].is_string());
        assert_eq!(
            record["s3"]["object"]["eTag"],
            "99914b932bd37a50b983c5e7c90ae93b"
        );
        // A second pass changes nothing.
        let again = event.clone();
        assert!(repair(&mut event, "123456789012").is_empty());
        assert_eq!(event, again);
    }

    #[test]
    fn eventbridge_gets_account() {
        let mut event = json!({"version": "0", "id": "x", "detail-type": "t", "source": "s",
            "time": "2026-11-24T16:59:16Z", "region": "us-east-1", "resources": [], "detail": {}});
        assert_eq!(repair(&mut event, "123456789012"), ["eventbridge-account"]);
        assert_eq!(event["account"], "123456789012");
    }

    #[test]
    fn other_events_untouched_and_test_event_recognised() {
        let mut event = json!({"hello": 1});
        assert!(repair(&mut event, "1").is_empty());
        assert!(is_s3_test_event(
            &json!({"Service": "Amazon S3", "Event": "s3:TestEvent"})
        ));
        assert!(!is_s3_test_event(&moto_s3_event()));
    }
}

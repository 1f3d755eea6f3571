//! The DynamoDB trait store with the real SDK client over a fake HTTP connection: the requests
//! it makes (DynamoDB JSON protocol) and how it reads the answers.

use std::collections::VecDeque;
use std::sync::Arc;

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_smithy_runtime_api::client::http::{
    http_client_fn, HttpConnector, HttpConnectorFuture, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_types::body::SdkBody;

use crate::aws::DynamoTraitStore;
use crate::ports::{Saved, StoredTraits};
use segment_personalize_core::traits::TraitState;

use super::*;

const TABLE: &str = "mlpipe-SegmentUserTraitsTable-1A2B3C";

/// Answers with the scripted (status, body) replies in order; records (target, body).
#[derive(Debug, Clone, Default)]
struct FakeHttp {
    replies: Arc<Mutex<VecDeque<(u16, String)>>>,
    sent: Arc<Mutex<Vec<(String, Value)>>>,
}

impl HttpConnector for FakeHttp {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let body: Value = serde_json::from_slice(request.body().bytes().unwrap_or_default())
            .unwrap_or(Value::Null);
        let target = request
            .headers()
            .get("x-amz-target")
            .unwrap_or_default()
            .to_owned();
        self.sent.lock().unwrap().push((target, body));
        let (status, body) = self
            .replies
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or((500, String::new()));
        HttpConnectorFuture::ready(Ok(HttpResponse::new(
            status.try_into().unwrap(),
            SdkBody::from(body),
        )))
    }
}

fn store(replies: Vec<(u16, Value)>) -> (DynamoTraitStore, FakeHttp) {
    use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
    let fake = FakeHttp {
        replies: Arc::new(Mutex::new(
            replies
                .into_iter()
                .map(|(s, b)| (s, b.to_string()))
                .collect(),
        )),
        ..Default::default()
    };
    let connector = SharedHttpConnector::new(fake.clone());
    let builder = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKID", "secret", None, None, "test"))
        .http_client(http_client_fn(move |_, _| connector.clone()));
    let client = aws_sdk_dynamodb::Client::from_conf(aws::dynamodb_config(builder));
    (DynamoTraitStore::from_client(client, TABLE), fake)
}

fn error(code: &str) -> Value {
    json!({"__type": format!("com.amazonaws.dynamodb.v20120810#{code}"), "message": code})
}

fn state() -> TraitState {
    TraitState::from_json(r#"{"plan":{"value":"premium","at":"1795161600.395000000"}}"#).unwrap()
}

#[tokio::test]
async fn load_reads_the_user_consistently() {
    let item = json!({"Item": {
        "userId": {"S": "u-4f2a9c"},
        "traits": {"S": state().to_json()},
        "version": {"N": "3"},
        "updatedAt": {"S": "2026-11-20T08:00:01Z"}
    }});
    let (s, fake) = store(vec![(200, item), (200, json!({}))]);
    let got = s.load("u-4f2a9c").await.unwrap();
    assert_eq!(
        got,
        Some(StoredTraits {
            traits: state(),
            version: 3
        })
    );
    assert_eq!(s.load("u-new").await.unwrap(), None, "no item");
    let sent = fake.sent.lock().unwrap().clone();
    assert_eq!(sent[0].0, "DynamoDB_20120810.GetItem");
    assert_eq!(
        sent[0].1,
        json!({"TableName": TABLE, "Key": {"userId": {"S": "u-4f2a9c"}}, "ConsistentRead": true})
    );
}

#[tokio::test]
async fn save_is_conditional_on_the_version_read() {
    let (s, fake) = store(vec![(200, json!({})), (200, json!({}))]);
    assert_eq!(s.save("u-1", &state(), None).await.unwrap(), Saved::Written);
    assert_eq!(
        s.save("u-1", &state(), Some(7)).await.unwrap(),
        Saved::Written
    );
    let sent = fake.sent.lock().unwrap().clone();
    assert_eq!(sent[0].0, "DynamoDB_20120810.PutItem");
    let first = &sent[0].1;
    assert_eq!(first["TableName"], TABLE);
    assert_eq!(first["ConditionExpression"], "attribute_not_exists(#u)");
    assert_eq!(first["ExpressionAttributeNames"], json!({"#u": "userId"}));
    assert_eq!(first["Item"]["userId"], json!({"S": "u-1"}));
    assert_eq!(first["Item"]["version"], json!({"N": "1"}));
    assert_eq!(first["Item"]["traits"], json!({"S": state().to_json()}));
    assert!(first["Item"]["updatedAt"]["S"]
        .as_str()
        .unwrap()
        .ends_with('Z'));
    let second = &sent[1].1;
    assert_eq!(
        second["ConditionExpression"],
        "attribute_exists(#u) AND #v = :expected"
    );
    assert_eq!(
        second["ExpressionAttributeNames"],
        json!({"#u": "userId", "#v": "version"})
    );
    assert_eq!(
        second["ExpressionAttributeValues"],
        json!({":expected": {"N": "7"}})
    );
    assert_eq!(second["Item"]["version"], json!({"N": "8"}));
}

#[tokio::test]
async fn a_failed_condition_is_a_conflict_and_other_errors_are_classified() {
    let (s, _) = store(vec![
        (400, error("ConditionalCheckFailedException")),
        (400, error("AccessDeniedException")),
        (400, error("ResourceNotFoundException")),
    ]);
    assert_eq!(
        s.save("u-1", &state(), Some(1)).await.unwrap(),
        Saved::Conflict
    );
    let e = s.save("u-1", &state(), Some(1)).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Misconfigured, "{}", e.message);
    assert!(
        e.message.starts_with("PutItem on USER_TRAITS_TABLE"),
        "{}",
        e.message
    );
    let e = s.load("u-1").await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Misconfigured, "{}", e.message);
}

/// An item whose traits cannot be read starts afresh (the next write replaces it, on its
/// version); one without a version is not ours.
#[tokio::test]
async fn unreadable_items() {
    let (s, _) = store(vec![
        (
            200,
            json!({"Item": {"userId": {"S": "u"}, "traits": {"S": "{oops"}, "version": {"N": "2"}}}),
        ),
        (200, json!({"Item": {"userId": {"S": "u"}}})),
    ]);
    assert_eq!(
        s.load("u").await.unwrap(),
        Some(StoredTraits {
            traits: TraitState::default(),
            version: 2
        })
    );
    assert_eq!(
        s.load("u").await.unwrap_err().kind,
        ErrorKind::Misconfigured
    );
}

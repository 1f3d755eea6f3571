//! The SDK adapters against a fake HTTP connection.

use std::collections::VecDeque;
use std::time::Instant;

use aws_sdk_personalizeruntime::config::http::HttpResponse;
use aws_smithy_runtime_api::client::http::{
    http_client_fn, HttpConnector, HttpConnectorFuture, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_types::body::SdkBody;

use super::*;

#[derive(Debug, Clone)]
enum Reply {
    Status(u16, String),
    Hang,
    Refuse,
}

#[derive(Debug, Clone)]
struct Sent {
    uri: String,
    target: Option<String>,
    body: Value,
}

/// Answers with the scripted replies in order, repeating the last one.
#[derive(Debug, Clone, Default)]
struct FakeHttp {
    replies: Arc<Mutex<VecDeque<Reply>>>,
    sent: Arc<Mutex<Vec<Sent>>>,
}

impl FakeHttp {
    fn new(replies: Vec<Reply>) -> Self {
        Self {
            replies: Arc::new(Mutex::new(replies.into())),
            sent: Arc::default(),
        }
    }

    fn sent(&self) -> Vec<Sent> {
        self.sent.lock().unwrap().clone()
    }
}

impl HttpConnector for FakeHttp {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let body: Value = serde_json::from_slice(request.body().bytes().unwrap_or_default())
            .unwrap_or(Value::Null);
        self.sent.lock().unwrap().push(Sent {
            uri: request.uri().to_owned(),
            target: request.headers().get("x-amz-target").map(str::to_owned),
            body,
        });
        let reply = {
            let mut replies = self.replies.lock().unwrap();
            if replies.len() > 1 {
                replies.pop_front()
            } else {
                replies.front().cloned()
            }
        };
        match reply.unwrap_or(Reply::Status(500, String::new())) {
            Reply::Status(status, body) => HttpConnectorFuture::ready(Ok(HttpResponse::new(
                status.try_into().unwrap(),
                SdkBody::from(body),
            ))),
            Reply::Hang => HttpConnectorFuture::new(std::future::pending()),
            Reply::Refuse => {
                HttpConnectorFuture::ready(Err(ConnectorError::io("connection refused".into())))
            }
        }
    }
}

fn personalize(fake: &FakeHttp, timeout_ms: u64) -> PersonalizeRecommender {
    use aws_sdk_personalizeruntime::config::{BehaviorVersion, Credentials, Region};
    let connector = SharedHttpConnector::new(fake.clone());
    let builder = aws_sdk_personalizeruntime::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "AKIDEXAMPLE",
            "secret",
            None,
            None,
            "test",
        ))
        .http_client(http_client_fn(move |_, _| connector.clone()));
    PersonalizeRecommender::new(aws_sdk_personalizeruntime::Client::from_conf(
        personalize_config(builder, Duration::from_millis(timeout_ms)),
    ))
}

fn dynamo(fake: &FakeHttp) -> DynamoCache {
    use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
    let connector = SharedHttpConnector::new(fake.clone());
    let builder = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "AKIDEXAMPLE",
            "secret",
            None,
            None,
            "test",
        ))
        .http_client(http_client_fn(move |_, _| connector.clone()));
    DynamoCache::new(
        aws_sdk_dynamodb::Client::from_conf(dynamodb_config(builder, Duration::from_secs(1))),
        TABLE,
    )
}

fn personalize_ok() -> Reply {
    Reply::Status(
        200,
        json!({
            "itemList": [
                {"itemId": "i-1", "score": 0.4137},
                {"itemId": "i-7", "score": 0.2, "promotionName": "summer-sale"},
                {"itemId": "i-9", "reason": ["Promoted item"]}
            ],
            "recommendationId": "RID-1d2e3f"
        })
        .to_string(),
    )
}

fn personalize_error(status: u16, code: &str) -> Reply {
    Reply::Status(
        status,
        json!({"__type": code, "message": format!("{code} happened")}).to_string(),
    )
}

#[tokio::test]
async fn personalize_recommender_sends_the_campaign_user_and_filter() {
    let fake = FakeHttp::new(vec![personalize_ok()]);
    let (h, _) = handler_with(personalize(&fake, 2000), config(&[]));
    let (status, _, body) = call(&h, user_fixture()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let sent = fake.sent();
    assert_eq!(sent.len(), 1);
    assert!(sent[0].uri.ends_with("/recommendations"), "{}", sent[0].uri);
    assert!(
        sent[0]
            .uri
            .starts_with("https://personalize-runtime.us-east-1.amazonaws.com"),
        "{}",
        sent[0].uri
    );
    assert_eq!(
        sent[0].body,
        json!({
            "campaignArn": CAMPAIGN,
            "userId": USER,
            "numResults": 10,
            "filterArn": FILTER,
            "filterValues": {"CATEGORY": "\"shoes\""}
        })
    );
    assert_eq!(
        body,
        json!({
            "userId": USER,
            "itemList": [
                {"itemId": "i-1", "score": 0.4137},
                {"itemId": "i-7", "score": 0.2, "promotionName": "summer-sale"},
                {"itemId": "i-9", "reason": ["Promoted item"]}
            ],
            "recommendationId": "RID-1d2e3f",
            "cache": "miss",
            "cachedAt": "2025-02-09T18:25:02Z"
        })
    );
}

#[tokio::test]
async fn personalize_recommender_sends_the_recommender_item_and_context() {
    let fake = FakeHttp::new(vec![personalize_ok()]);
    let more_like_x = "arn:aws:personalize:us-east-1:123456789012:recommender/more-like-x";
    let (h, _) = handler_with(
        personalize(&fake, 2000),
        config(&[("RELATED_RECOMMENDER_ARN", more_like_x)]),
    );
    let req = get(
        &format!("/related/{ITEM}"),
        &format!("numResults=3&context={}", enc(r#"{"DEVICE":"mobile"}"#)),
    );
    let (status, _, body) = call(&h, req).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        fake.sent()[0].body,
        json!({
            "recommenderArn": more_like_x,
            "itemId": ITEM,
            "numResults": 3,
            "context": {"DEVICE": "mobile"}
        })
    );
    assert_eq!(body["itemId"], ITEM);
}

#[tokio::test]
async fn personalize_errors_from_the_wire_are_classified() {
    let cases: Vec<(Reply, &str, usize)> = vec![
        (
            personalize_error(400, "InvalidInputException"),
            "Invalid",
            1,
        ),
        (
            personalize_error(404, "ResourceNotFoundException"),
            "NotFound",
            1,
        ),
        (
            personalize_error(403, "AccessDeniedException"),
            "Misconfigured",
            1,
        ),
        (
            personalize_error(400, "UnrecognizedClientException"),
            "Misconfigured",
            1,
        ),
        // Throttling and 5xx are retried once (2 attempts), then reported unavailable.
        (
            personalize_error(429, "ThrottlingException"),
            "Unavailable",
            2,
        ),
        (
            personalize_error(400, "ThrottlingException"),
            "Unavailable",
            2,
        ),
        (personalize_error(500, "InternalFailure"), "Unavailable", 2),
        (Reply::Status(503, String::new()), "Unavailable", 2),
        (Reply::Refuse, "Unavailable", 2),
    ];
    let req = fixture_request();
    for (reply, expected, attempts) in cases {
        let fake = FakeHttp::new(vec![reply.clone()]);
        let err = personalize(&fake, 2000)
            .get_recommendations(&req)
            .await
            .unwrap_err();
        assert_eq!(err.name(), expected, "{reply:?}: {err}");
        assert_eq!(fake.sent().len(), attempts, "{reply:?}");
        if expected == "Invalid" {
            assert_eq!(err.detail(), "InvalidInputException happened");
        }
    }
}

#[tokio::test]
async fn a_hanging_personalize_falls_back_to_the_stale_answer_within_the_timeout() {
    // A first answer fills the cache; then Personalize hangs.
    let fake = FakeHttp::new(vec![personalize_ok(), Reply::Hang]);
    let (h, clock) = handler_with(personalize(&fake, 300), config(&[]));
    let (_, headers, _) = call(&h, user_fixture()).await;
    assert_eq!(headers["x-cache"], "MISS");
    clock.advance(301);
    let started = Instant::now();
    let (status, headers, body) = call(&h, user_fixture()).await;
    let elapsed = started.elapsed();
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(headers["x-cache"], "STALE");
    assert_eq!(body["cache"], "stale");
    assert!(
        elapsed >= Duration::from_millis(300) && elapsed < Duration::from_millis(1500),
        "{elapsed:?}"
    );

    // Without an entry: 503 in the same time.
    let fake = FakeHttp::new(vec![Reply::Hang]);
    let (h, _) = handler_with(personalize(&fake, 300), config(&[]));
    let started = Instant::now();
    let (status, _, body) = call(&h, user_fixture()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(started.elapsed() < Duration::from_millis(1500));
}

fn dynamo_ok(body: Value) -> Reply {
    Reply::Status(200, body.to_string())
}

fn sample_entry() -> CacheEntry {
    CacheEntry {
        cache_key: "ab".repeat(32),
        response: json!({"userId": USER, "itemList": [{"itemId": "i-1", "score": 0.5}], "recommendationId": "RID-1"}).to_string(),
        created_at: T0,
        fresh_until: T0 + 300,
        expires_at: T0 + 300 + 86_400,
    }
}

#[tokio::test]
async fn dynamo_cache_writes_the_item_with_its_ttl() {
    let fake = FakeHttp::new(vec![dynamo_ok(json!({}))]);
    let entry = sample_entry();
    dynamo(&fake).put(&entry).await.unwrap();
    let sent = fake.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].target.as_deref(), Some("DynamoDB_20120810.PutItem"));
    assert_eq!(
        sent[0].body,
        json!({
            "TableName": TABLE,
            "Item": {
                "cacheKey": {"S": entry.cache_key},
                "response": {"S": entry.response},
                "createdAt": {"N": T0.to_string()},
                "freshUntil": {"N": (T0 + 300).to_string()},
                "expiresAt": {"N": (T0 + 86_700).to_string()}
            }
        })
    );
}

#[tokio::test]
async fn dynamo_cache_reads_items_and_reports_bad_ones() {
    let entry = sample_entry();
    let item = json!({
        "cacheKey": {"S": entry.cache_key},
        "response": {"S": entry.response},
        "createdAt": {"N": T0.to_string()},
        "freshUntil": {"N": (T0 + 300).to_string()},
        "expiresAt": {"N": (T0 + 86_700).to_string()}
    });
    let fake = FakeHttp::new(vec![dynamo_ok(json!({"Item": item}))]);
    let got = dynamo(&fake).get(&entry.cache_key).await.unwrap();
    assert_eq!(got, Some(entry.clone()));
    let sent = fake.sent();
    assert_eq!(sent[0].target.as_deref(), Some("DynamoDB_20120810.GetItem"));
    assert_eq!(
        sent[0].body,
        json!({"TableName": TABLE, "Key": {"cacheKey": {"S": entry.cache_key}}})
    );

    let fake = FakeHttp::new(vec![dynamo_ok(json!({}))]);
    assert_eq!(dynamo(&fake).get("k").await.unwrap(), None);

    let mut bad = item.clone();
    bad.as_object_mut().unwrap().remove("freshUntil");
    let fake = FakeHttp::new(vec![dynamo_ok(json!({"Item": bad}))]);
    let err = dynamo(&fake).get("k").await.unwrap_err();
    assert!(err.0.contains("freshUntil"), "{err}");

    let fake = FakeHttp::new(vec![Reply::Status(
        400,
        json!({"__type": "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException", "message": "Requested resource not found"}).to_string(),
    )]);
    let err = dynamo(&fake).get("k").await.unwrap_err();
    assert!(err.0.contains("ResourceNotFoundException"), "{err}");
    let err = dynamo(&fake).put(&entry).await.unwrap_err();
    assert!(err.0.starts_with("Misconfigured: PutItem"), "{err}");
}

#[tokio::test]
async fn sdk_cache_and_personalize_together() {
    let personalize_http = FakeHttp::new(vec![personalize_ok()]);
    let dynamo_http = FakeHttp::new(vec![dynamo_ok(json!({})), dynamo_ok(json!({}))]);
    let clock = FakeClock(Arc::new(AtomicI64::new(T0)));
    let h = Arc::new(Handler::with_clock(
        personalize(&personalize_http, 2000),
        dynamo(&dynamo_http),
        clock,
        config(&[]),
    ));
    let (status, headers, _) = call(&h, user_fixture()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["x-cache"], "MISS");
    let sent = dynamo_http.sent();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].target.as_deref(), Some("DynamoDB_20120810.GetItem"));
    assert_eq!(sent[1].target.as_deref(), Some("DynamoDB_20120810.PutItem"));
    let item = &sent[1].body["Item"];
    assert_eq!(item["cacheKey"], sent[0].body["Key"]["cacheKey"]);
    assert_eq!(item["freshUntil"]["N"], (T0 + 300).to_string());
    assert_eq!(item["expiresAt"]["N"], (T0 + 86_700).to_string());
    let stored: Value = serde_json::from_str(item["response"]["S"].as_str().unwrap()).unwrap();
    assert_eq!(stored["userId"], USER);
    assert_eq!(stored["recommendationId"], "RID-1d2e3f");
    assert!(stored.get("cache").is_none() && stored.get("cachedAt").is_none());
}

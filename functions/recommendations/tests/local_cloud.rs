//! The production clients against the local cloud: DynamoDB in moto, Personalize Runtime in the
//! project's emulator, both reached through the standard `AWS_ENDPOINT_URL_*` variables exactly
//! as the deployed function is configured. Ignored by default; with the servers running:
//!
//! ```sh
//! AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test \
//! AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:4567 \
//! AWS_ENDPOINT_URL_PERSONALIZE_RUNTIME=http://127.0.0.1:4568 \
//! cargo test -p recommendations --test local_cloud -- --ignored
//! ```
//!
//! The cache table is created if missing (`RECOMMENDATIONS_TEST_TABLE`, default
//! `recommendations-cache-test`); Personalize outages are injected with the emulator's admin API
//! (`POST /_emulator/personalize/unavailable`).

use std::io::{Read, Write};
use std::net::TcpStream;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};
use lambda_http::http::StatusCode;
use recommendations::{Config, DynamoCache, Handler, PersonalizeRecommender};
use serde_json::{json, Value};

const CAMPAIGN: &str = "arn:aws:personalize:us-east-1:123456789012:campaign/local-test";

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} must be set for this test"))
}

/// A bare HTTP/1.1 request to the emulator's admin API; the status code.
fn admin(method: &str, path: &str, body: &str) -> u16 {
    let url = env("AWS_ENDPOINT_URL_PERSONALIZE_RUNTIME");
    let host = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let mut stream = TcpStream::connect(&host).expect("emulator reachable");
    write!(
        stream,
        "{method} /_emulator/personalize{path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

fn event(path: &str, query: &str) -> lambda_http::Request {
    let e = json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": {"host": "localhost"},
        "requestContext": {
            "accountId": "123456789012", "apiId": "local", "domainName": "localhost",
            "http": {"method": "GET", "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "test"},
            "requestId": "local-cloud", "routeKey": "$default", "stage": "$default",
            "time": "09/Feb/2025:18:25:02 +0000", "timeEpoch": 1739125502113u64
        },
        "isBase64Encoded": false
    });
    lambda_http::request::from_str(&e.to_string()).unwrap()
}

async fn call<R, C, K>(h: &Handler<R, C, K>, path: &str, query: &str) -> (StatusCode, Value)
where
    R: recommendations::Recommender,
    C: recommendations::Cache,
    K: recommendations::Clock,
{
    let response = h.handle(event(path, query)).await;
    let status = response.status();
    (
        status,
        serde_json::from_slice(response.body().as_ref()).unwrap(),
    )
}

#[tokio::test]
#[ignore = "needs moto and the emulator (see the file's documentation)"]
async fn miss_hit_and_stale_against_the_local_cloud() {
    let table = std::env::var("RECOMMENDATIONS_TEST_TABLE")
        .unwrap_or_else(|_| "recommendations-cache-test".into());
    let config = Config::from_source(&[
        ("CACHE_TABLE", table.as_str()),
        ("CAMPAIGN_ARN", CAMPAIGN),
        ("CACHE_TTL_SECONDS", "0"),
        ("PERSONALIZE_TIMEOUT_MS", "1000"),
    ])
    .unwrap();
    let sdk = shared::aws::sdk_config().await;
    let dynamodb = aws_sdk_dynamodb::Client::from_conf(recommendations::dynamodb_config(
        aws_sdk_dynamodb::config::Builder::from(&sdk),
        config.cache_timeout,
    ));
    if dynamodb
        .describe_table()
        .table_name(&table)
        .send()
        .await
        .is_err()
    {
        dynamodb
            .create_table()
            .table_name(&table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name("cacheKey")
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .unwrap(),
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name("cacheKey")
                    .key_type(KeyType::Hash)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .expect("cache table created");
    }
    let personalize =
        aws_sdk_personalizeruntime::Client::from_conf(recommendations::personalize_config(
            aws_sdk_personalizeruntime::config::Builder::from(&sdk),
            config.personalize_timeout,
        ));
    assert_eq!(admin("POST", "/reset", ""), 200);
    assert_eq!(
        admin(
            "PUT",
            "/config",
            &json!({"seedItems": ["i-1", "i-2", "i-3"]}).to_string()
        ),
        200
    );
    let h = Handler::new(
        PersonalizeRecommender::new(personalize),
        DynamoCache::new(dynamodb.clone(), table.clone()),
        config,
    );
    let user = format!("local-user-{}", std::process::id());
    let path = format!("/recommendations/{user}");
    let filter = "filterArn=arn%3Aaws%3Apersonalize%3Aus-east-1%3A123456789012%3Afilter%2Fx&filterValues=%7B%22CATEGORY%22%3A%22%5C%22shoes%5C%22%22%7D";

    let (status, body) = call(&h, &path, &format!("numResults=2&{filter}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["cache"], "miss");
    assert_eq!(body["userId"], user.as_str());
    assert_eq!(body["itemList"].as_array().unwrap().len(), 2, "{body}");
    assert!(body["recommendationId"]
        .as_str()
        .unwrap()
        .starts_with("RID-"));

    // Personalize down: the entry (fresh for 0 s, kept a day) is served stale.
    assert_eq!(
        admin("POST", "/unavailable?seconds=30&scope=runtime", ""),
        200
    );
    let (status, stale) = call(&h, &path, &format!("numResults=2&{filter}")).await;
    assert_eq!(status, StatusCode::OK, "{stale}");
    assert_eq!(stale["cache"], "stale");
    assert_eq!(stale["itemList"], body["itemList"]);
    // Nothing cached for other parameters: 503.
    let (status, error) = call(&h, &path, "numResults=3").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{error}");
    assert_eq!(error["error"], "Retryable");
    assert_eq!(
        admin("POST", "/unavailable?seconds=0&scope=runtime", ""),
        200
    );

    // An unknown campaign: 500 Misconfigured naming the variable.
    assert_eq!(
        admin(
            "PUT",
            "/config",
            &json!({"solutionArns": ["arn:aws:personalize:us-east-1:123456789012:campaign/other"]})
                .to_string()
        ),
        200
    );
    let (status, error) = call(&h, &path, "numResults=4").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{error}");
    assert_eq!(error["error"], "Misconfigured");
    assert!(error["message"]
        .as_str()
        .unwrap()
        .starts_with("configuration CAMPAIGN_ARN:"));
    admin("POST", "/reset", "");
}

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use aws_sdk_personalizeruntime::config::http::HttpResponse;
use aws_smithy_runtime_api::client::http::{
    http_client_fn, HttpConnector, HttpConnectorFuture, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_types::body::SdkBody;
use lambda_http::http::HeaderMap;
use serde_json::{json, Value};
use shared::http::request_from_event as request;

use super::*;

const TABLE: &str = "mlpipe-recommendations-cache";
const CAMPAIGN: &str = "arn:aws:personalize:us-east-1:123456789012:campaign/user-personalization";
const RELATED_CAMPAIGN: &str = "arn:aws:personalize:us-east-1:123456789012:campaign/similar-items";
const RECOMMENDER: &str =
    "arn:aws:personalize:us-east-1:123456789012:recommender/recommended-for-you";
const FILTER: &str = "arn:aws:personalize:us-east-1:123456789012:filter/in-category";
const USER: &str = "user-42";
const ITEM: &str = "item-1001";
const T0: i64 = 1_739_125_502;
const USER_EVENT: &str = include_str!("../../../../events/apigw/recommendations-user.json");
const RELATED_EVENT: &str = include_str!("../../../../events/apigw/recommendations-related.json");

// ---------------------------------------------------------------------------------------------
// Fakes and helpers

#[derive(Debug)]
struct FakeRecommender {
    answer: Mutex<Result<Recommendations, RecommendError>>,
    calls: Mutex<Vec<RecommendationRequest>>,
}

impl FakeRecommender {
    fn new(answer: Result<Recommendations, RecommendError>) -> Self {
        Self {
            answer: Mutex::new(answer),
            calls: Mutex::new(Vec::new()),
        }
    }
}

impl Recommender for FakeRecommender {
    async fn get_recommendations(
        &self,
        request: &RecommendationRequest,
    ) -> Result<Recommendations, RecommendError> {
        self.calls.lock().unwrap().push(request.clone());
        self.answer.lock().unwrap().clone()
    }
}

#[derive(Debug, Default)]
struct MemoryCache {
    entries: Mutex<HashMap<String, CacheEntry>>,
    fail_get: AtomicBool,
    fail_put: AtomicBool,
    gets: Mutex<Vec<String>>,
}

impl Cache for MemoryCache {
    async fn get(&self, key: &str) -> Result<Option<CacheEntry>, CacheError> {
        self.gets.lock().unwrap().push(key.to_owned());
        if self.fail_get.load(Ordering::SeqCst) {
            return Err(CacheError("GetItem: ServiceUnavailable".into()));
        }
        Ok(self.entries.lock().unwrap().get(key).cloned())
    }

    async fn put(&self, entry: &CacheEntry) -> Result<(), CacheError> {
        if self.fail_put.load(Ordering::SeqCst) {
            return Err(CacheError(
                "PutItem: ProvisionedThroughputExceededException".into(),
            ));
        }
        self.entries
            .lock()
            .unwrap()
            .insert(entry.cache_key.clone(), entry.clone());
        Ok(())
    }
}

#[derive(Debug, Clone)]
struct FakeClock(Arc<AtomicI64>);

impl FakeClock {
    fn advance(&self, seconds: i64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }
}

impl Clock for FakeClock {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

type TestHandler<R = FakeRecommender> = Handler<R, MemoryCache, FakeClock>;

fn config(extra: &[(&str, &str)]) -> Config {
    logs();
    let mut vars = vec![("CACHE_TABLE", TABLE), ("CAMPAIGN_ARN", CAMPAIGN)];
    for (k, v) in extra {
        vars.retain(|(name, _)| name != k);
        vars.push((k, v));
    }
    Config::from_source(&vars.as_slice()).unwrap()
}

fn answer(ids: &[&str]) -> Recommendations {
    Recommendations {
        items: ids
            .iter()
            .enumerate()
            .map(|(i, id)| RecommendedItem {
                item_id: (*id).to_owned(),
                score: Some(0.5 / (i as f64 + 1.0)),
                promotion_name: None,
                reason: vec![],
            })
            .collect(),
        recommendation_id: Some("RID-7f0b".into()),
    }
}

fn handler_with<R: Recommender>(recommender: R, config: Config) -> (TestHandler<R>, FakeClock) {
    let clock = FakeClock(Arc::new(AtomicI64::new(T0)));
    (
        Handler::with_clock(recommender, MemoryCache::default(), clock.clone(), config),
        clock,
    )
}

fn handler(answer: Result<Recommendations, RecommendError>) -> (TestHandler, FakeClock) {
    handler_with(FakeRecommender::new(answer), config(&[]))
}

fn calls(h: &TestHandler) -> Vec<RecommendationRequest> {
    h.recommender.calls.lock().unwrap().clone()
}

fn set_answer(h: &TestHandler, answer: Result<Recommendations, RecommendError>) {
    *h.recommender.answer.lock().unwrap() = answer;
}

fn entries<R>(h: &TestHandler<R>) -> HashMap<String, CacheEntry> {
    h.cache.entries.lock().unwrap().clone()
}

fn event(fixture: &str) -> Value {
    serde_json::from_str(fixture).expect("fixture is JSON")
}

/// Percent-encodes everything but unreserved characters.
fn enc(s: &str) -> String {
    urlencoding::encode(s).into_owned()
}

/// The user fixture with another method, path and query string, on the `$default` route (no
/// path parameters, as API Gateway sends for a catch-all route).
fn with_route(method: &str, path: &str, query: &str, stage: &str) -> Request {
    let mut e = event(USER_EVENT);
    e["rawPath"] = Value::from(path);
    e["rawQueryString"] = Value::from(query);
    e["routeKey"] = Value::from("$default");
    let obj = e.as_object_mut().unwrap();
    obj.remove("queryStringParameters");
    obj.remove("pathParameters");
    e["requestContext"]["routeKey"] = Value::from("$default");
    e["requestContext"]["http"]["method"] = Value::from(method);
    e["requestContext"]["http"]["path"] = Value::from(path);
    e["requestContext"]["stage"] = Value::from(stage);
    request(&e)
}

fn get(path: &str, query: &str) -> Request {
    with_route("GET", path, query, "$default")
}

/// `GET /recommendations/user-42` with a query string.
fn user_get(query: &str) -> Request {
    get(&format!("/recommendations/{USER}"), query)
}

async fn call<R: Recommender>(h: &TestHandler<R>, req: Request) -> (StatusCode, HeaderMap, Value) {
    let response = h.handle(req).await;
    let status = response.status();
    let headers = response.headers().clone();
    let body: Value = serde_json::from_slice(response.body().as_ref()).expect("JSON body");
    (status, headers, body)
}

fn assert_error(body: &Value, error: &str) -> String {
    assert_eq!(body["error"], error, "{body}");
    assert_eq!(body.as_object().unwrap().len(), 2, "{body}");
    body["message"].as_str().unwrap().to_owned()
}

fn user_fixture() -> Request {
    request(&event(USER_EVENT))
}

// ---------------------------------------------------------------------------------------------
// Configuration

#[test]
fn config_defaults_and_targets() {
    let c = config(&[]);
    assert_eq!(c.cache_table, TABLE);
    assert_eq!(
        c.user_target,
        Target {
            kind: TargetKind::Campaign,
            arn: CAMPAIGN.into(),
            variable: "CAMPAIGN_ARN"
        }
    );
    // The related route asks the same campaign unless told otherwise.
    assert_eq!(c.related_target, c.user_target);
    assert_eq!(c.default_filter_arn, None);
    assert_eq!(c.cache_ttl_seconds, 300);
    assert_eq!(c.stale_ttl_seconds, 86_400);
    assert_eq!(c.personalize_timeout, Duration::from_millis(2000));
    assert_eq!(c.cache_timeout, Duration::from_millis(1000));

    let c = config(&[
        ("RELATED_CAMPAIGN_ARN", RELATED_CAMPAIGN),
        ("DEFAULT_FILTER_ARN", FILTER),
        ("CACHE_TTL_SECONDS", "60"),
        ("STALE_TTL_SECONDS", "0"),
        ("PERSONALIZE_TIMEOUT_MS", "500"),
        ("CACHE_TIMEOUT_MS", "200"),
    ]);
    assert_eq!(c.related_target.arn, RELATED_CAMPAIGN);
    assert_eq!(c.related_target.variable, "RELATED_CAMPAIGN_ARN");
    assert_eq!(c.default_filter_arn.as_deref(), Some(FILTER));
    assert_eq!((c.cache_ttl_seconds, c.stale_ttl_seconds), (60, 0));
    assert_eq!(c.personalize_timeout, Duration::from_millis(500));
    assert_eq!(c.cache_timeout, Duration::from_millis(200));

    let vars = [("CACHE_TABLE", TABLE), ("RECOMMENDER_ARN", RECOMMENDER)];
    let c = Config::from_source(&vars).unwrap();
    assert_eq!(c.user_target.kind, TargetKind::Recommender);
    assert_eq!(c.user_target.variable, "RECOMMENDER_ARN");
    let more_like_x = "arn:aws:personalize:us-east-1:123456789012:recommender/more-like-x";
    let vars = [
        ("CACHE_TABLE", TABLE),
        ("RECOMMENDER_ARN", RECOMMENDER),
        ("RELATED_RECOMMENDER_ARN", more_like_x),
    ];
    let c = Config::from_source(&vars).unwrap();
    assert_eq!(c.related_target.kind, TargetKind::Recommender);
    assert_eq!(c.related_target.arn, more_like_x);
}

#[test]
fn config_errors_name_the_variable() {
    type Vars<'a> = Vec<(&'a str, &'a str)>;
    let cases: Vec<(Vars, &str, &str)> = vec![
        (
            vec![("CAMPAIGN_ARN", CAMPAIGN)],
            "CACHE_TABLE",
            "is not set",
        ),
        (
            vec![("CACHE_TABLE", TABLE)],
            "CAMPAIGN_ARN",
            "set CAMPAIGN_ARN or RECOMMENDER_ARN",
        ),
        (
            vec![("CACHE_TABLE", TABLE), ("CAMPAIGN_ARN", "  ")],
            "CAMPAIGN_ARN",
            "is not set",
        ),
        (
            vec![
                ("CACHE_TABLE", TABLE),
                ("CAMPAIGN_ARN", CAMPAIGN),
                ("RECOMMENDER_ARN", RECOMMENDER),
            ],
            "CAMPAIGN_ARN",
            "set exactly one",
        ),
        (
            vec![
                ("CACHE_TABLE", TABLE),
                ("CAMPAIGN_ARN", CAMPAIGN),
                ("RELATED_CAMPAIGN_ARN", RELATED_CAMPAIGN),
                ("RELATED_RECOMMENDER_ARN", RECOMMENDER),
            ],
            "RELATED_CAMPAIGN_ARN",
            "set exactly one",
        ),
        (
            // A recommender ARN in the campaign variable.
            vec![("CACHE_TABLE", TABLE), ("CAMPAIGN_ARN", RECOMMENDER)],
            "CAMPAIGN_ARN",
            "not a campaign ARN",
        ),
        (
            vec![
                ("CACHE_TABLE", TABLE),
                ("RECOMMENDER_ARN", "recommended-for-you"),
            ],
            "RECOMMENDER_ARN",
            "not a recommender ARN",
        ),
        (
            vec![
                ("CACHE_TABLE", TABLE),
                ("CAMPAIGN_ARN", CAMPAIGN),
                ("DEFAULT_FILTER_ARN", CAMPAIGN),
            ],
            "DEFAULT_FILTER_ARN",
            "not a filter ARN",
        ),
        (
            vec![
                ("CACHE_TABLE", TABLE),
                ("CAMPAIGN_ARN", CAMPAIGN),
                ("CACHE_TTL_SECONDS", "-5"),
            ],
            "CACHE_TTL_SECONDS",
            "invalid value",
        ),
        (
            vec![
                ("CACHE_TABLE", TABLE),
                ("CAMPAIGN_ARN", CAMPAIGN),
                ("STALE_TTL_SECONDS", "9999999"),
            ],
            "STALE_TTL_SECONDS",
            "must be from 0 to 2592000",
        ),
        (
            vec![
                ("CACHE_TABLE", TABLE),
                ("CAMPAIGN_ARN", CAMPAIGN),
                ("PERSONALIZE_TIMEOUT_MS", "10"),
            ],
            "PERSONALIZE_TIMEOUT_MS",
            "must be from 100 to 30000",
        ),
    ];
    for (vars, name, reason) in cases {
        let err = Config::from_source(&vars.as_slice()).unwrap_err();
        assert_eq!(err.name, name, "{vars:?}: {err}");
        assert!(err.reason.contains(reason), "{vars:?}: {err}");
    }
}

#[test]
fn bad_configuration_answers_500_misconfigured_naming_the_variable() {
    let err: PipelineError = Config::from_source(&[("CACHE_TABLE", TABLE)])
        .unwrap_err()
        .into();
    let response = misconfigured_response(&err);
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
    let body: Value = serde_json::from_slice(response.body().as_ref()).unwrap();
    let message = assert_error(&body, "Misconfigured");
    assert_eq!(
        message,
        "configuration CAMPAIGN_ARN: is not set (set CAMPAIGN_ARN or RECOMMENDER_ARN)"
    );
}

#[test]
fn personalize_arns_are_checked() {
    assert!(is_personalize_arn(CAMPAIGN, "campaign"));
    assert!(is_personalize_arn(FILTER, "filter"));
    assert!(is_personalize_arn(
        "arn:aws-cn:personalize:cn-north-1:123456789012:filter/f_1",
        "filter"
    ));
    for bad in [
        "",
        "filter/in-category",
        "arn:aws:personalize:us-east-1:123456789012:filter/",
        "arn:aws:personalize:us-east-1:123456789012:filter/-x",
        "arn:aws:personalize:us-east-1:123456789012:campaign/x",
        "arn:aws:s3:us-east-1:123456789012:filter/x",
        "arn:aws:personalize:us-east-1:1234:filter/x",
        "arn:aws:personalize::123456789012:filter/x",
        "arn:aws:personalize:us-east-1:123456789012:filter/x/y",
        "arn:gcp:personalize:us-east-1:123456789012:filter/x",
    ] {
        assert!(!is_personalize_arn(bad, "filter"), "{bad}");
    }
    let long = format!("{FILTER}{}", "x".repeat(MAX_ARN_CHARS));
    assert!(!is_personalize_arn(&long, "filter"));
}

// ---------------------------------------------------------------------------------------------
// Cache flow

#[tokio::test]
async fn miss_then_hit_then_refresh_after_the_ttl() {
    let (h, clock) = handler(Ok(answer(&["i-1", "i-2"])));

    // Miss: Personalize is asked with the fixture's parameters and the answer cached.
    let (status, headers, body) = call(&h, user_fixture()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(headers["x-cache"], "MISS");
    assert_eq!(headers[header::CACHE_CONTROL], "private, max-age=300");
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    assert!(headers.get(header::WARNING).is_none());
    assert_eq!(
        body,
        json!({
            "userId": USER,
            "itemList": [{"itemId": "i-1", "score": 0.5}, {"itemId": "i-2", "score": 0.25}],
            "recommendationId": "RID-7f0b",
            "cache": "miss",
            "cachedAt": "2025-02-09T18:25:02Z"
        })
    );
    let sent = calls(&h);
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0],
        RecommendationRequest {
            kind: RouteKind::User,
            id: USER.into(),
            target: config(&[]).user_target,
            num_results: 10,
            filter_arn: Some(FILTER.into()),
            filter_values: BTreeMap::from([("CATEGORY".into(), "\"shoes\"".into())]),
            context: BTreeMap::new(),
        }
    );
    let stored = entries(&h);
    assert_eq!(stored.len(), 1);
    let entry = stored.values().next().unwrap();
    assert_eq!(entry.cache_key, sent[0].cache_key());
    assert_eq!(entry.cache_key.len(), 64);
    assert!(entry.cache_key.chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(entry.created_at, T0);
    assert_eq!(entry.fresh_until, T0 + 300);
    assert_eq!(entry.expires_at, T0 + 300 + 86_400);
    let mut without_flags = body.clone();
    without_flags.as_object_mut().unwrap().remove("cache");
    without_flags.as_object_mut().unwrap().remove("cachedAt");
    assert_eq!(
        serde_json::from_str::<Value>(&entry.response).unwrap(),
        without_flags
    );

    // Hit: served from the cache, Personalize not asked.
    clock.advance(100);
    let (status, headers, hit) = call(&h, user_fixture()).await;
    assert_eq!(status, StatusCode::OK, "{hit}");
    assert_eq!(headers["x-cache"], "HIT");
    assert_eq!(headers[header::CACHE_CONTROL], "private, max-age=200");
    assert_eq!(hit["cache"], "hit");
    assert_eq!(hit["cachedAt"], "2025-02-09T18:25:02Z");
    assert_eq!(hit["itemList"], body["itemList"]);
    assert_eq!(hit["recommendationId"], body["recommendationId"]);
    assert_eq!(calls(&h).len(), 1);

    // Fresh until T0 + 300 exclusive: then Personalize is asked again and the entry replaced.
    clock.advance(200);
    set_answer(&h, Ok(answer(&["i-9"])));
    let (status, headers, refreshed) = call(&h, user_fixture()).await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    assert_eq!(headers["x-cache"], "MISS");
    assert_eq!(refreshed["cache"], "miss");
    assert_eq!(refreshed["cachedAt"], "2025-02-09T18:30:02Z");
    assert_eq!(
        refreshed["itemList"],
        json!([{"itemId": "i-9", "score": 0.5}])
    );
    assert_eq!(calls(&h).len(), 2);
    let stored = entries(&h);
    assert_eq!(stored.len(), 1);
    assert_eq!(stored.values().next().unwrap().fresh_until, T0 + 600);

    // The parsed body is the documented type.
    let parsed: RecommendationsResponse = serde_json::from_value(refreshed).unwrap();
    assert_eq!(parsed.body.subject, Subject::UserId(USER.into()));
    assert_eq!(parsed.cache, CacheStatus::Miss);
}

#[tokio::test]
async fn personalize_down_with_an_old_entry_serves_it_stale() {
    let (h, clock) = handler(Ok(answer(&["i-1", "i-2"])));
    let (_, _, fresh) = call(&h, user_fixture()).await;

    clock.advance(3600);
    set_answer(
        &h,
        Err(RecommendError::Unavailable(
            "GetRecommendations: timed out".into(),
        )),
    );
    let (status, headers, body) = call(&h, user_fixture()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(headers["x-cache"], "STALE");
    assert_eq!(headers[header::WARNING], "110 - \"Response is Stale\"");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    assert_eq!(body["cache"], "stale");
    assert_eq!(body["cachedAt"], fresh["cachedAt"]);
    assert_eq!(body["itemList"], fresh["itemList"]);
    assert_eq!(body["userId"], USER);
    assert_eq!(calls(&h).len(), 2);
    // The stale entry is left as it was.
    assert_eq!(entries(&h).values().next().unwrap().created_at, T0);
}

#[tokio::test]
async fn personalize_down_without_an_entry_is_503_retryable() {
    let (h, clock) = handler(Err(RecommendError::Unavailable(
        "GetRecommendations: ThrottlingException (HTTP 400): Rate exceeded".into(),
    )));
    let (status, headers, body) = call(&h, user_fixture()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(headers[header::RETRY_AFTER], "2");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    let message = assert_error(&body, "Retryable");
    assert!(message.contains("retry later"), "{message}");
    assert!(entries(&h).is_empty());

    // An entry past expiresAt (not yet deleted by DynamoDB TTL) is not served either.
    set_answer(&h, Ok(answer(&["i-1"])));
    call(&h, user_fixture()).await;
    clock.advance(300 + 86_400);
    set_answer(
        &h,
        Err(RecommendError::Unavailable("request not sent".into())),
    );
    let (status, _, body) = call(&h, user_fixture()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(entries(&h).len(), 1);
    // One second earlier it would have been.
    clock.advance(-1);
    let (status, _, body) = call(&h, user_fixture()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["cache"], "stale");
}

#[tokio::test]
async fn cache_failures_never_fail_the_request() {
    let (h, _) = handler(Ok(answer(&["i-1"])));
    h.cache.fail_get.store(true, Ordering::SeqCst);
    h.cache.fail_put.store(true, Ordering::SeqCst);
    let (status, headers, body) = call(&h, user_fixture()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(headers["x-cache"], "MISS");
    assert_eq!(body["itemList"], json!([{"itemId": "i-1", "score": 0.5}]));
    assert!(entries(&h).is_empty());
    assert_eq!(calls(&h).len(), 1);
}

#[tokio::test]
async fn unreadable_entries_are_ignored() {
    let (h, _) = handler(Ok(answer(&["i-1"])));
    call(&h, user_fixture()).await;
    for entry in h.cache.entries.lock().unwrap().values_mut() {
        entry.response = "{\"not\": \"a body\"}".into();
    }
    let (status, headers, body) = call(&h, user_fixture()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(headers["x-cache"], "MISS");
    assert_eq!(calls(&h).len(), 2);
    // And replaced by a good one.
    let (_, headers, _) = call(&h, user_fixture()).await;
    assert_eq!(headers["x-cache"], "HIT");
}

#[tokio::test]
async fn a_zero_ttl_always_asks_but_keeps_a_fallback() {
    let (h, _) = handler_with(
        FakeRecommender::new(Ok(answer(&["i-1"]))),
        config(&[("CACHE_TTL_SECONDS", "0")]),
    );
    let (_, headers, _) = call(&h, user_fixture()).await;
    assert_eq!(headers[header::CACHE_CONTROL], "private, max-age=0");
    let (_, headers, _) = call(&h, user_fixture()).await;
    assert_eq!(headers["x-cache"], "MISS");
    assert_eq!(h.recommender.calls.lock().unwrap().len(), 2);
    *h.recommender.answer.lock().unwrap() = Err(RecommendError::Unavailable("timed out".into()));
    let (_, headers, _) = call(&h, user_fixture()).await;
    assert_eq!(headers["x-cache"], "STALE");
}

#[tokio::test]
async fn related_fixture_asks_with_the_item_id() {
    let (h, _) = handler(Ok(answer(&["item-2002"])));
    let (status, headers, body) = call(&h, request(&event(RELATED_EVENT))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(headers["x-cache"], "MISS");
    assert_eq!(
        body,
        json!({
            "itemId": ITEM,
            "itemList": [{"itemId": "item-2002", "score": 0.5}],
            "recommendationId": "RID-7f0b",
            "cache": "miss",
            "cachedAt": "2025-02-09T18:25:02Z"
        })
    );
    let sent = calls(&h);
    assert_eq!(sent[0].kind, RouteKind::Related);
    assert_eq!(sent[0].id, ITEM);
    assert_eq!(sent[0].num_results, 5);
    assert_eq!(sent[0].target.arn, CAMPAIGN);
    assert_eq!(sent[0].filter_arn, None);

    let (h, _) = handler_with(
        FakeRecommender::new(Ok(answer(&[]))),
        config(&[("RELATED_CAMPAIGN_ARN", RELATED_CAMPAIGN)]),
    );
    let (status, _, body) = call(&h, request(&event(RELATED_EVENT))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["itemList"], json!([]));
    assert_eq!(calls(&h)[0].target.arn, RELATED_CAMPAIGN);
    // The user route keeps its campaign.
    call(&h, user_fixture()).await;
    assert_eq!(calls(&h)[1].target.arn, CAMPAIGN);
}

#[tokio::test]
async fn defaults_and_the_default_filter() {
    let (h, _) = handler(Ok(answer(&["i-1"])));
    let (status, _, body) = call(&h, user_get("")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let sent = &calls(&h)[0];
    assert_eq!(sent.num_results, DEFAULT_NUM_RESULTS);
    assert_eq!(sent.filter_arn, None);
    assert!(sent.filter_values.is_empty() && sent.context.is_empty());

    let other = "arn:aws:personalize:us-east-1:123456789012:filter/not-purchased";
    let (h, _) = handler_with(
        FakeRecommender::new(Ok(answer(&["i-1"]))),
        config(&[("DEFAULT_FILTER_ARN", other)]),
    );
    // Values without a filterArn fill the default filter.
    let query = format!("filterValues={}", enc(r#"{"CATEGORY":"\"shoes\""}"#));
    let (status, _, body) = call(&h, user_get(&query)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // A request's filter replaces the default.
    call(&h, user_fixture()).await;
    let sent = calls(&h);
    assert_eq!(sent[0].filter_arn.as_deref(), Some(other));
    assert_eq!(sent[0].filter_values.len(), 1);
    assert_eq!(sent[1].filter_arn.as_deref(), Some(FILTER));
}

#[tokio::test]
async fn bounds_are_accepted_and_context_is_passed() {
    let max_id = "u".repeat(MAX_ID_CHARS);
    let context = enc(r#"{"DEVICE":"mobile","LOCATION":"FR"}"#);
    let five: String = enc(
        &serde_json::to_string(&json!({"A": "\"1\"", "B": "\"2\"", "C": "\"3\"", "D": "\"4\"", "E": "x".repeat(MAX_VALUE_CHARS)})).unwrap(),
    );
    let cases = [
        (
            format!("/recommendations/{max_id}"),
            "numResults=1".to_owned(),
        ),
        (
            format!("/recommendations/{USER}"),
            "numResults=500".to_owned(),
        ),
        (
            format!("/recommendations/{USER}"),
            format!("context={context}"),
        ),
        (
            format!("/recommendations/{USER}"),
            format!("filterArn={}&filterValues={five}", enc(FILTER)),
        ),
    ];
    for (path, query) in cases {
        let (h, _) = handler(Ok(answer(&["i-1"])));
        let (status, _, body) = call(&h, get(&path, &query)).await;
        assert_eq!(status, StatusCode::OK, "{path}?{query}: {body}");
    }
    let (h, _) = handler(Ok(answer(&["i-1"])));
    call(&h, user_get(&format!("context={context}"))).await;
    assert_eq!(
        calls(&h)[0].context,
        BTreeMap::from([
            ("DEVICE".into(), "mobile".into()),
            ("LOCATION".into(), "FR".into())
        ])
    );
}

// ---------------------------------------------------------------------------------------------
// Cache keys

fn key_of(query: &str) -> String {
    let cfg = config(&[]);
    let req = user_get(query);
    parse_request(&req, RouteKind::User, USER.into(), &cfg)
        .unwrap()
        .cache_key()
}

#[tokio::test]
async fn cache_keys_cover_everything_that_changes_the_answer() {
    let filter = enc(FILTER);
    let fv = |json: &str| format!("filterArn={filter}&filterValues={}", enc(json));
    let a = key_of(&fv(r#"{"CATEGORY":"\"shoes\"","BRAND":"\"acme\""}"#));
    let same_other_order = key_of(&fv(r#"{"BRAND":"\"acme\"","CATEGORY":"\"shoes\""}"#));
    let same_spaced = key_of(&fv(r#"{ "BRAND" : "\"acme\"", "CATEGORY" : "\"shoes\"" }"#));
    assert_eq!(a, same_other_order);
    assert_eq!(a, same_spaced);
    let different = [
        key_of(&fv(r#"{"CATEGORY":"\"boots\"","BRAND":"\"acme\""}"#)),
        key_of(&fv(r#"{"CATEGORY":"\"shoes\""}"#)),
        key_of(&fv(
            r#"{"CATEGORY":"\"shoes\"","BRAND":"\"acme\"","SIZE":"\"42\""}"#,
        )),
        key_of(&format!("filterArn={filter}")),
        key_of(""),
        key_of("numResults=10"),
        key_of(&format!("context={}", enc(r#"{"DEVICE":"mobile"}"#))),
    ];
    let mut all = vec![a.clone()];
    all.extend(different.iter().cloned());
    let unique: std::collections::HashSet<_> = all.iter().collect();
    assert_eq!(unique.len(), all.len(), "{all:?}");

    // The default numResults and an explicit 25 are the same answer, as are `{}` and nothing.
    assert_eq!(key_of(""), key_of("numResults=25"));
    assert_eq!(key_of(""), key_of(&format!("context={}", enc("{}"))));
    // Context entries in another order: the same key.
    assert_eq!(
        key_of(&format!(
            "context={}",
            enc(r#"{"DEVICE":"mobile","LOCATION":"FR"}"#)
        )),
        key_of(&format!(
            "context={}",
            enc(r#"{"LOCATION":"FR","DEVICE":"mobile"}"#)
        ))
    );

    // Route, id and ARN are part of the key; field boundaries cannot be shifted.
    let base = parse_request(&user_get(""), RouteKind::User, USER.into(), &config(&[])).unwrap();
    let mut related = base.clone();
    related.kind = RouteKind::Related;
    let mut other_id = base.clone();
    other_id.id = "user-43".into();
    let mut other_arn = base.clone();
    other_arn.target.arn = RELATED_CAMPAIGN.into();
    let mut tricky = base.clone();
    tricky.id = format!("{USER}\",\"{CAMPAIGN}");
    for other in [related, other_id, other_arn, tricky] {
        assert_ne!(base.cache_key(), other.cache_key(), "{other:?}");
    }
    assert_eq!(
        base.canonical(),
        format!(r#"["recommendations/v1","user","{USER}","{CAMPAIGN}",25,null,null,null]"#)
    );
}

#[tokio::test]
async fn requests_with_other_filter_values_use_other_entries() {
    let (h, _) = handler(Ok(answer(&["i-1"])));
    let filter = enc(FILTER);
    let q1 = format!(
        "filterArn={filter}&filterValues={}",
        enc(r#"{"A":"\"1\"","B":"\"2\""}"#)
    );
    let q2 = format!(
        "filterValues={}&filterArn={filter}",
        enc(r#"{"B":"\"2\"","A":"\"1\""}"#)
    );
    let q3 = format!(
        "filterArn={filter}&filterValues={}",
        enc(r#"{"A":"\"9\""}"#)
    );
    let (_, headers, _) = call(&h, user_get(&q1)).await;
    assert_eq!(headers["x-cache"], "MISS");
    let (_, headers, _) = call(&h, user_get(&q2)).await;
    assert_eq!(headers["x-cache"], "HIT");
    let (_, headers, _) = call(&h, user_get(&q3)).await;
    assert_eq!(headers["x-cache"], "MISS");
    assert_eq!(entries(&h).len(), 2);
    let gets = h.cache.gets.lock().unwrap().clone();
    assert_eq!(gets[0], gets[1]);
    assert_ne!(gets[0], gets[2]);
}

// ---------------------------------------------------------------------------------------------
// Invalid requests

#[tokio::test]
async fn every_bad_parameter_is_a_400_naming_it_and_its_limit() {
    let filter = enc(FILTER);
    let fv = |json: &str| format!("filterArn={filter}&filterValues={}", enc(json));
    let six = r#"{"A":"1","B":"2","C":"3","D":"4","E":"5","F":"6"}"#;
    let long_key = format!(r#"{{"{}":"1"}}"#, "K".repeat(51));
    let long_value = format!(r#"{{"K":"{}"}}"#, "v".repeat(1001));
    let cases: Vec<(&str, Request, &str, &str)> = vec![
        (
            "numResults 0",
            user_get("numResults=0"),
            "numResults",
            "1 to 500",
        ),
        (
            "numResults 501",
            user_get("numResults=501"),
            "numResults",
            "1 to 500",
        ),
        (
            "numResults abc",
            user_get("numResults=abc"),
            "numResults",
            "1 to 500",
        ),
        (
            "numResults -1",
            user_get("numResults=-1"),
            "numResults",
            "1 to 500",
        ),
        (
            "numResults 2.5",
            user_get("numResults=2.5"),
            "numResults",
            "1 to 500",
        ),
        (
            "numResults huge",
            user_get("numResults=99999999999999999999"),
            "numResults",
            "1 to 500",
        ),
        (
            "filterArn not an ARN",
            user_get("filterArn=in-category"),
            "filterArn",
            "arn:aws:personalize:<region>:<account>:filter/<name>",
        ),
        (
            "filterArn of a campaign",
            user_get(&format!("filterArn={}", enc(CAMPAIGN))),
            "filterArn",
            "not a filter ARN",
        ),
        (
            "filterValues not JSON",
            user_get(&fv("CATEGORY=shoes")),
            "filterValues",
            "not valid JSON",
        ),
        (
            "filterValues array",
            user_get(&fv(r#"["shoes"]"#)),
            "filterValues",
            "not a JSON object",
        ),
        (
            "filterValues six entries",
            user_get(&fv(six)),
            "filterValues",
            "at most 5 entries",
        ),
        (
            "filterValues long key",
            user_get(&fv(&long_key)),
            "filterValues",
            "1 to 50",
        ),
        (
            "filterValues bad key",
            user_get(&fv(r#"{"CATE GORY":"1"}"#)),
            "filterValues",
            "letters, digits or _",
        ),
        (
            "filterValues number value",
            user_get(&fv(r#"{"CATEGORY":5}"#)),
            "filterValues",
            "not a string",
        ),
        (
            "filterValues long value",
            user_get(&fv(&long_value)),
            "filterValues",
            "at most 1000 characters",
        ),
        (
            "filterValues without a filter",
            user_get(&format!("filterValues={}", enc(r#"{"A":"1"}"#))),
            "filterValues",
            "without filterArn",
        ),
        (
            "context not JSON",
            user_get("context=mobile"),
            "context",
            "not valid JSON",
        ),
        (
            "context nested",
            user_get(&format!("context={}", enc(r#"{"DEVICE":{"a":1}}"#))),
            "context",
            "not a string",
        ),
        (
            "unknown parameter",
            user_get("numresults=5"),
            "numresults",
            "unknown parameter, expected numResults, filterArn, filterValues or context",
        ),
        (
            "repeated parameter",
            user_get("numResults=5&numResults=6"),
            "numResults",
            "given 2 times",
        ),
        (
            "id too long",
            get(&format!("/recommendations/{}", "u".repeat(257)), ""),
            "userId",
            "must be 1 to 256",
        ),
        (
            "item id too long",
            get(&format!("/related/{}", "i".repeat(257)), ""),
            "itemId",
            "must be 1 to 256",
        ),
        (
            "id not UTF-8",
            get("/recommendations/%FF%FE", ""),
            "userId",
            "not valid UTF-8",
        ),
        (
            "id with a control character",
            get("/recommendations/a%0Ab", ""),
            "userId",
            "control characters",
        ),
    ];
    for (what, req, field, limit) in cases {
        let (h, _) = handler(Ok(answer(&["i-1"])));
        let (status, headers, body) = call(&h, req).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {body}");
        assert_eq!(headers[header::CONTENT_TYPE], "application/json");
        let message = assert_error(&body, "InvalidInput");
        assert!(
            message.starts_with(&format!("{field}: ")),
            "{what}: {message}"
        );
        assert!(message.contains(limit), "{what}: {message}");
        assert!(calls(&h).is_empty(), "{what}: Personalize was called");
        assert!(
            h.cache.gets.lock().unwrap().is_empty(),
            "{what}: the cache was read"
        );
    }
}

#[tokio::test]
async fn filter_value_errors_do_not_echo_values() {
    let (h, _) = handler(Ok(answer(&["i-1"])));
    let q = format!(
        "filterArn={}&filterValues={}",
        enc(FILTER),
        enc(&format!(
            r#"{{"EMAIL":"{}"}}"#,
            "jane.doe@example.com".repeat(60)
        ))
    );
    let (status, _, body) = call(&h, user_get(&q)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(!body.to_string().contains("jane.doe"), "{body}");
}

// ---------------------------------------------------------------------------------------------
// Routing

#[tokio::test]
async fn unknown_paths_are_404_and_other_methods_405() {
    let (h, _) = handler(Ok(answer(&["i-1"])));
    for path in [
        "/",
        "/recommendations",
        "/recommendations/",
        "/recommendations/a/b",
        "/related",
        "/users/u1",
        "/prod/recommendations/u1",
    ] {
        let (status, _, body) = call(&h, get(path, "")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
        let message = assert_error(&body, "NotFound");
        assert!(
            message.contains("GET /recommendations/{userId} or GET /related/{itemId}"),
            "{message}"
        );
    }
    for method in ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"] {
        for path in ["/recommendations/u1", "/related/i1"] {
            let (status, headers, body) = call(&h, with_route(method, path, "", "$default")).await;
            assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
            assert_eq!(headers[header::ALLOW], "GET");
            let message = assert_error(&body, "MethodNotAllowed");
            assert!(message.starts_with("method: "), "{message}");
        }
    }
    assert!(calls(&h).is_empty());
}

#[tokio::test]
async fn stage_prefixes_trailing_slashes_and_encoded_ids() {
    let cases = [
        ("/prod/recommendations/u1", "prod", "u1"),
        ("/recommendations/u1/", "$default", "u1"),
        ("/recommendations/jane%20doe%2B1", "$default", "jane doe+1"),
        ("/recommendations/a+b", "$default", "a+b"),
        ("/recommendations/%C3%A9l%C3%A8ve", "$default", "élève"),
    ];
    for (path, stage, id) in cases {
        let (h, _) = handler(Ok(answer(&["i-1"])));
        let (status, _, body) = call(&h, with_route("GET", path, "", stage)).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        assert_eq!(calls(&h)[0].id, id, "{path}");
        assert_eq!(body["userId"], id);
    }
}

#[tokio::test]
async fn path_parameters_win_when_api_gateway_gives_them() {
    let mut e = event(USER_EVENT);
    e["rawPath"] = Value::from("/recommendations/jane%2Fdoe");
    e["pathParameters"]["userId"] = Value::from("jane/doe");
    let (h, _) = handler(Ok(answer(&["i-1"])));
    let (status, _, body) = call(&h, request(&e)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(calls(&h)[0].id, "jane/doe");
}

// ---------------------------------------------------------------------------------------------
// Personalize errors

#[tokio::test]
async fn each_personalize_error_has_its_status_and_type() {
    let cases = [
        (
            RecommendError::Invalid("numResults must be less than or equal to 500.".into()),
            StatusCode::BAD_REQUEST,
            "InvalidInput",
            "request: Personalize rejected it: numResults must be less than or equal to 500.",
        ),
        (
            RecommendError::NotFound(
                "ResourceNotFoundException: Campaign arn:aws:personalize:us-east-1:123456789012:campaign/user-personalization does not exist."
                    .into(),
            ),
            StatusCode::INTERNAL_SERVER_ERROR,
            "Misconfigured",
            "configuration CAMPAIGN_ARN: Personalize has no such campaign (ResourceNotFoundException); see the function's logs",
        ),
        (
            RecommendError::NotFound(
                "ResourceNotFoundException: Filter arn:aws:personalize:us-east-1:123456789012:filter/in-category does not exist."
                    .into(),
            ),
            StatusCode::BAD_REQUEST,
            "InvalidInput",
            "filterArn: Personalize has no such filter (ResourceNotFoundException)",
        ),
        (
            RecommendError::Misconfigured(
                "GetRecommendations: AccessDeniedException (HTTP 403): User: arn:aws:sts::123456789012:assumed-role/x is not authorized"
                    .into(),
            ),
            StatusCode::INTERNAL_SERVER_ERROR,
            "Misconfigured",
            "the function cannot use Personalize (permissions or credentials); see its logs",
        ),
    ];
    for (err, status, error_type, expected) in cases {
        let (h, clock) = handler(Ok(answer(&["i-1"])));
        // A stale entry exists: these errors are not outages and are not hidden by it.
        call(&h, user_fixture()).await;
        clock.advance(1000);
        set_answer(&h, Err(err.clone()));
        let (got, headers, body) = call(&h, user_fixture()).await;
        assert_eq!(got, status, "{err:?}: {body}");
        let message = assert_error(&body, error_type);
        assert_eq!(message, expected);
        assert!(headers.get(header::RETRY_AFTER).is_none());
        assert!(headers.get("x-cache").is_none());
    }
}

// ---------------------------------------------------------------------------------------------
// The SDK implementations against a fake HTTP connection

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
    let req = parse_request(&user_fixture(), RouteKind::User, USER.into(), &config(&[])).unwrap();
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
    let h = Handler::with_clock(
        personalize(&personalize_http, 2000),
        dynamo(&dynamo_http),
        clock,
        config(&[]),
    );
    let response = h.handle(user_fixture()).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["x-cache"], "MISS");
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

// ---------------------------------------------------------------------------------------------
// Logs

/// Installs the global log capture (see [`config`]).
fn logs() {
    shared::logging::capture::global_json();
}

/// The logged events of one API Gateway request id.
fn log_lines(api_request_id: &str) -> Vec<Value> {
    shared::logging::capture::json_lines_with("api_request_id", api_request_id)
}

#[tokio::test]
async fn logs_carry_lengths_and_key_hashes_never_ids() {
    let secret = "jane.doe-7781";
    let (h, clock) = handler(Ok(answer(&["i-1"])));
    let with_id = |request_id: &str| {
        let mut e = event(USER_EVENT);
        e["rawPath"] = Value::from(format!("/recommendations/{secret}"));
        e["pathParameters"]["userId"] = Value::from(secret);
        e["requestContext"]["requestId"] = Value::from(request_id);
        request(&e)
    };
    call(&h, with_id("log-miss")).await;
    call(&h, with_id("log-hit")).await;
    clock.advance(1000);
    set_answer(
        &h,
        Err(RecommendError::Unavailable(format!(
            "GetRecommendations: InternalFailure (HTTP 500): failed for user {secret}"
        ))),
    );
    call(&h, with_id("log-stale")).await;
    set_answer(
        &h,
        Err(RecommendError::Invalid(format!(
            "Value '{secret}' at 'userId' failed to satisfy constraint"
        ))),
    );
    let (_, _, body) = call(&h, with_id("log-invalid")).await;
    // The caller gets Personalize's message back (its own id).
    assert!(body["message"].as_str().unwrap().contains(secret));

    let key = entries(&h).keys().next().unwrap().clone();
    let mut all = Vec::new();
    for id in ["log-miss", "log-hit", "log-stale", "log-invalid"] {
        let lines = log_lines(id);
        assert!(!lines.is_empty(), "no log lines for {id}");
        for line in &lines {
            let text = line.to_string();
            assert!(!text.contains(secret), "{text}");
            assert!(!text.contains("shoes"), "{text}");
        }
        all.extend(lines);
    }
    let requested = all
        .iter()
        .find(|l| l["fields"]["message"] == "recommendations requested")
        .unwrap();
    assert_eq!(requested["fields"]["id_len"], secret.len());
    assert_eq!(requested["fields"]["cache_key"], key[..16]);
    assert_eq!(requested["fields"]["route"], "user");
    assert!(all
        .iter()
        .any(|l| l["fields"]["cache"] == "hit" && l["fields"]["status"] == 200));
    assert!(all
        .iter()
        .any(|l| l["fields"]["cache"] == "stale" && l["level"] == "WARN"));
    assert!(all.iter().any(|l| l["fields"]["status"] == 400
        && l["fields"]["message"]
            .as_str()
            .unwrap()
            .contains("Value '<id>' at 'userId'")));
}

#[test]
fn metrics_names_are_the_documented_ones() {
    assert_eq!(CacheStatus::Hit.metric(), "CacheHit");
    assert_eq!(CacheStatus::Miss.metric(), "CacheMiss");
    assert_eq!(CacheStatus::Stale.metric(), "CacheStale");
}

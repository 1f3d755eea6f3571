//! Handler tests: the router called as the Lambda runtime calls it
//! ([`shared::http::oneshot`]), with requests from the API Gateway fixtures in events/apigw,
//! a fake Personalize, an in-memory cache and a fake clock; the SDK adapters against a fake
//! HTTP connection.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lambda_http::http::{header, HeaderMap, StatusCode};
use lambda_http::Request;
use serde_json::{json, Value};
use shared::http::request_from_event as request;
use shared::PipelineError;

use super::*;

mod aws;
mod cache_flow;
mod config;
mod logs;
mod personalize;
mod requests;

const TABLE: &str = "mlpipe-recommendations-cache";
const CAMPAIGN: &str = "arn:aws:personalize:us-east-1:123456789012:campaign/user-personalization";
const RELATED_CAMPAIGN: &str = "arn:aws:personalize:us-east-1:123456789012:campaign/similar-items";
const RECOMMENDER: &str =
    "arn:aws:personalize:us-east-1:123456789012:recommender/recommended-for-you";
const FILTER: &str = "arn:aws:personalize:us-east-1:123456789012:filter/in-category";
const USER: &str = "user-42";
const ITEM: &str = "item-1001";
const T0: i64 = 1_739_125_502;
const USER_EVENT: &str = include_str!("../../../../../events/apigw/recommendations-user.json");
const RELATED_EVENT: &str =
    include_str!("../../../../../events/apigw/recommendations-related.json");

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

fn handler_with<R: Recommender>(
    recommender: R,
    config: Config,
) -> (Arc<TestHandler<R>>, FakeClock) {
    let clock = FakeClock(Arc::new(AtomicI64::new(T0)));
    (
        Arc::new(Handler::with_clock(
            recommender,
            MemoryCache::default(),
            clock.clone(),
            config,
        )),
        clock,
    )
}

fn handler(answer: Result<Recommendations, RecommendError>) -> (Arc<TestHandler>, FakeClock) {
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

/// Calls the router once, as the Lambda runtime would.
async fn call<R: Recommender + 'static, C: Cache + 'static>(
    h: &Arc<Handler<R, C, FakeClock>>,
    req: Request,
) -> (StatusCode, HeaderMap, Value) {
    let response = shared::http::oneshot(router(Arc::clone(h)), req).await;
    let status = response.status();
    let headers = response.headers().clone();
    let body: Value = serde_json::from_slice(response.body()).expect("JSON body");
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

/// The request the user fixture makes, as Personalize gets it.
fn fixture_request() -> RecommendationRequest {
    let config = config(&[]);
    let query = [
        ("numResults", "10"),
        ("filterArn", FILTER),
        ("filterValues", r#"{"CATEGORY":"\"shoes\""}"#),
    ];
    parse_request(
        RouteKind::User,
        USER.into(),
        query,
        config.target(RouteKind::User).unwrap(),
        None,
    )
    .unwrap()
}

/// Installs the global log capture (see [`config`]).
fn logs() {
    shared::logging::capture::global_json();
}

/// The logged events of one API Gateway request id: the events in its `http_request` span
/// (which carries the id), or carrying the id themselves.
fn log_lines(api_request_id: &str) -> Vec<Value> {
    shared::logging::capture::json_lines_with("api_request_id", api_request_id)
}

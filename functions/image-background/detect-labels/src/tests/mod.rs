//! Handler tests: the router called as the Lambda runtime calls it
//! ([`shared::http::oneshot`]), with requests from the API Gateway fixtures in events/apigw and
//! a fake detector; the Rekognition adapter against a fake HTTP connection.

use std::sync::{Arc, Mutex};

use lambda_http::http::{header, HeaderMap, StatusCode};
use lambda_http::Request;
use serde_json::{json, Value};
use shared::http::request_from_event as request;
use shared::PipelineError;

use super::*;

mod aws;
mod detector;
mod logs;
mod requests;

const UPLOAD: &str = "mlpipe-uploads";
const KEY: &str = "uploads/job-1/product.png";
const POST_EVENT: &str = include_str!("../../../../../events/apigw/detect-labels-post.json");
const GET_EVENT: &str = include_str!("../../../../../events/apigw/detect-labels-get.json");

// ---------------------------------------------------------------------------------------------
// Fakes and helpers

type Call = (String, String, u32, f32);

#[derive(Debug)]
struct FakeDetector {
    answer: Result<Detection, DetectError>,
    calls: Mutex<Vec<Call>>,
}

impl FakeDetector {
    fn new(answer: Result<Detection, DetectError>) -> Self {
        Self {
            answer,
            calls: Mutex::new(Vec::new()),
        }
    }
}

impl LabelDetector for FakeDetector {
    async fn detect(
        &self,
        bucket: &str,
        key: &str,
        max_labels: u32,
        min_confidence: f32,
    ) -> Result<Detection, DetectError> {
        self.calls.lock().unwrap().push((
            bucket.to_owned(),
            key.to_owned(),
            max_labels,
            min_confidence,
        ));
        self.answer.clone()
    }
}

fn label(name: &str, confidence: f64) -> Label {
    Label {
        name: name.to_owned(),
        confidence,
        parents: vec![],
        categories: vec![],
        instances: vec![],
    }
}

fn detection() -> Detection {
    Detection {
        labels: vec![
            label("Table", 81.25),
            Label {
                name: "Laptop".into(),
                confidence: 99.5,
                parents: vec!["Computer".into(), "Electronics".into()],
                categories: vec!["Technology and Computing".into()],
                instances: vec![Instance {
                    confidence: 98.75,
                    bounding_box: BoundingBox {
                        left: 0.25,
                        top: 0.2,
                        width: 0.5,
                        height: 0.6,
                    },
                }],
            },
            label("Computer", 99.5),
            label("Furniture", 90.0),
        ],
        label_model_version: Some("3.0".into()),
    }
}

fn config(extra: &[(&str, &str)]) -> Config {
    logs();
    let mut vars = vec![("UPLOAD_BUCKET", UPLOAD)];
    vars.extend_from_slice(extra);
    Config::from_source(&vars.as_slice()).unwrap()
}

fn handler(answer: Result<Detection, DetectError>) -> Arc<Handler<FakeDetector>> {
    Arc::new(Handler::new(FakeDetector::new(answer), config(&[])))
}

fn calls(h: &Handler<FakeDetector>) -> Vec<Call> {
    h.detector.calls.lock().unwrap().clone()
}

fn event(fixture: &str) -> Value {
    serde_json::from_str(fixture).expect("fixture is JSON")
}

/// The POST fixture with another body.
fn post(body: &str) -> Request {
    let mut e = event(POST_EVENT);
    e["body"] = Value::from(body);
    request(&e)
}

fn post_json(body: Value) -> Request {
    post(&body.to_string())
}

/// The GET fixture with another query string.
fn get(query: &str) -> Request {
    let mut e = event(GET_EVENT);
    e["rawQueryString"] = Value::from(query);
    e.as_object_mut().unwrap().remove("queryStringParameters");
    request(&e)
}

/// The POST fixture with another method and path.
fn with_route(method: &str, path: &str, stage: &str) -> Request {
    let mut e = event(POST_EVENT);
    e["rawPath"] = Value::from(path);
    e["routeKey"] = Value::from("$default");
    e["requestContext"]["routeKey"] = Value::from("$default");
    e["requestContext"]["http"]["method"] = Value::from(method);
    e["requestContext"]["http"]["path"] = Value::from(path);
    e["requestContext"]["stage"] = Value::from(stage);
    request(&e)
}

/// Calls the router once, as the Lambda runtime would.
async fn call<D: LabelDetector + 'static>(
    h: &Arc<Handler<D>>,
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

// ---------------------------------------------------------------------------------------------
// Configuration

#[test]
fn config_defaults_and_names_variables() {
    let c = config(&[]);
    assert_eq!(c.upload_bucket, UPLOAD);
    assert_eq!(c.key_prefix, "uploads/");
    assert_eq!(config(&[("KEY_PREFIX", "/images")]).key_prefix, "images/");
    assert_eq!(config(&[("KEY_PREFIX", "/")]).key_prefix, "");

    let err = Config::from_source(&[("KEY_PREFIX", "uploads/")]).unwrap_err();
    assert_eq!(err.name, "UPLOAD_BUCKET");
    let err = Config::from_source(&[("UPLOAD_BUCKET", "b"), ("KEY_PREFIX", "a//b")]).unwrap_err();
    assert_eq!(err.name, "KEY_PREFIX");
}

#[test]
fn bad_configuration_answers_500_misconfigured_naming_the_variable() {
    let err: PipelineError = Config::from_source(&[("KEY_PREFIX", "x")])
        .unwrap_err()
        .into();
    let response = misconfigured_response(&err);
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
    let body: Value = serde_json::from_slice(response.body().as_ref()).unwrap();
    let message = assert_error(&body, "Misconfigured");
    assert_eq!(message, "configuration UPLOAD_BUCKET: is not set");
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

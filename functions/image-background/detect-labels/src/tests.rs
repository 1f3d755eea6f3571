use std::sync::{Arc, Mutex};

use aws_sdk_rekognition::config::http::HttpResponse;
use aws_sdk_rekognition::error::{ConnectorError, ErrorMetadata, SdkError};
use aws_sdk_rekognition::operation::detect_labels::{DetectLabelsError, DetectLabelsOutput};
use aws_sdk_rekognition::types as sdk;
use aws_sdk_rekognition::types::error as sdk_err;
use aws_smithy_runtime_api::client::http::{
    http_client_fn, HttpConnector, HttpConnectorFuture, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_types::body::SdkBody;
use lambda_http::http::{header, HeaderMap};
use serde_json::{json, Value};
use shared::http::request_from_event as request;
use shared::{ErrorKind, PipelineError};

use super::*;

const UPLOAD: &str = "mlpipe-uploads";
const KEY: &str = "uploads/job-1/product.png";
const POST_EVENT: &str = include_str!("../../../../events/apigw/detect-labels-post.json");
const GET_EVENT: &str = include_str!("../../../../events/apigw/detect-labels-get.json");

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

fn handler(answer: Result<Detection, DetectError>) -> Handler<FakeDetector> {
    Handler::new(FakeDetector::new(answer), config(&[]))
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

async fn call<D: LabelDetector>(h: &Handler<D>, req: Request) -> (StatusCode, HeaderMap, Value) {
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

// ---------------------------------------------------------------------------------------------
// Valid requests

#[tokio::test]
async fn post_fixture_detects_labels_in_the_configured_bucket() {
    let h = handler(Ok(detection()));
    let (status, headers, body) = call(&h, request(&event(POST_EVENT))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    assert_eq!(calls(&h), vec![(UPLOAD.into(), KEY.into(), 20, 70.0)]);
    assert_eq!(body["bucket"], UPLOAD);
    assert_eq!(body["key"], KEY);
    assert_eq!(body["labelModelVersion"], "3.0");
    let laptop = body["labels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == "Laptop")
        .unwrap();
    assert_eq!(
        laptop,
        &json!({
            "name": "Laptop",
            "confidence": 99.5,
            "parents": ["Computer", "Electronics"],
            "categories": ["Technology and Computing"],
            "instances": [{
                "confidence": 98.75,
                "boundingBox": {"left": 0.25, "top": 0.2, "width": 0.5, "height": 0.6}
            }]
        })
    );
    let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["bucket", "key", "labelModelVersion", "labels"]);
    // The body deserialises into the documented type.
    let parsed: LabelsResponse = serde_json::from_value(body).unwrap();
    assert_eq!(parsed.labels.len(), 4);
}

#[tokio::test]
async fn get_fixture_reads_the_decoded_query_string() {
    let h = handler(Ok(Detection::default()));
    let (status, _, body) = call(&h, request(&event(GET_EVENT))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(calls(&h), vec![(UPLOAD.into(), KEY.into(), 5, 85.5)]);
    assert_eq!(
        body,
        json!({"bucket": UPLOAD, "key": KEY, "labels": [], "labelModelVersion": null})
    );
}

#[tokio::test]
async fn defaults_apply_when_limits_are_absent_null_or_empty() {
    let requests = [
        post_json(json!({"key": KEY})),
        post_json(json!({"key": KEY, "maxLabels": null, "minConfidence": null})),
        get("key=uploads/job-1/product.png"),
        get("key=uploads%2Fjob-1%2Fproduct.png&maxLabels=&minConfidence="),
    ];
    for req in requests {
        let h = handler(Ok(Detection::default()));
        let (status, _, body) = call(&h, req).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(
            calls(&h),
            vec![(
                UPLOAD.into(),
                KEY.into(),
                DEFAULT_MAX_LABELS,
                DEFAULT_MIN_CONFIDENCE
            )]
        );
    }
}

#[tokio::test]
async fn limits_accept_their_bounds() {
    let long_key = format!("uploads/{}", "k".repeat(MAX_KEY_BYTES - "uploads/".len()));
    let cases = [
        (
            json!({"key": KEY, "maxLabels": 1, "minConfidence": 0}),
            KEY.to_owned(),
            1,
            0.0,
        ),
        (
            json!({"key": KEY, "maxLabels": 1000, "minConfidence": 100}),
            KEY.to_owned(),
            1000,
            100.0,
        ),
        (
            json!({"key": KEY, "maxLabels": 7, "minConfidence": 55.5}),
            KEY.to_owned(),
            7,
            55.5,
        ),
        (json!({"key": long_key}), long_key.clone(), 20, 70.0),
    ];
    for (body, key, max, min) in cases {
        let h = handler(Ok(Detection::default()));
        let (status, _, response) = call(&h, post_json(body)).await;
        assert_eq!(status, StatusCode::OK, "{response}");
        assert_eq!(calls(&h), vec![(UPLOAD.into(), key, max, min)]);
    }
}

#[tokio::test]
async fn base64_bodies_are_decoded() {
    let mut e = event(POST_EVENT);
    // {"key":"uploads/job-1/product.png"}
    e["body"] = Value::from("eyJrZXkiOiJ1cGxvYWRzL2pvYi0xL3Byb2R1Y3QucG5nIn0=");
    e["isBase64Encoded"] = Value::from(true);
    let h = handler(Ok(Detection::default()));
    let (status, _, body) = call(&h, request(&e)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(calls(&h)[0].1, KEY);
}

#[tokio::test]
async fn a_custom_prefix_or_the_whole_bucket() {
    let h = Handler::new(
        FakeDetector::new(Ok(Detection::default())),
        config(&[("KEY_PREFIX", "images")]),
    );
    let (status, _, _) = call(&h, post_json(json!({"key": "images/a.jpg"}))).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, body) = call(&h, post_json(json!({"key": KEY}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["message"],
        "key: outside the upload prefix, must start with images/"
    );

    let h = Handler::new(
        FakeDetector::new(Ok(Detection::default())),
        config(&[("KEY_PREFIX", "/")]),
    );
    let (status, _, _) = call(&h, post_json(json!({"key": "anything/x.png"}))).await;
    assert_eq!(status, StatusCode::OK);
}

// ---------------------------------------------------------------------------------------------
// Invalid requests

#[tokio::test]
async fn every_bad_field_is_a_400_naming_the_field_and_its_limit() {
    let long_key = format!("uploads/{}", "k".repeat(MAX_KEY_BYTES));
    let cases: Vec<(&str, Request, &str, &str)> = vec![
        ("empty body", post(""), "body", "expected a JSON object"),
        ("blank body", post("  \n"), "body", "expected a JSON object"),
        ("not JSON", post("key=x"), "body", "not valid JSON"),
        ("array", post("[1]"), "body", "must be a JSON object"),
        (
            "no key",
            post_json(json!({"maxLabels": 5})),
            "key",
            "is required",
        ),
        (
            "null key",
            post_json(json!({"key": null})),
            "key",
            "is required",
        ),
        (
            "number key",
            post_json(json!({"key": 5})),
            "key",
            "must be a string",
        ),
        (
            "empty key",
            post_json(json!({"key": ""})),
            "key",
            "must be 1 to 1024 bytes",
        ),
        (
            "long key",
            post_json(json!({"key": long_key})),
            "key",
            "must be at most 1024 bytes",
        ),
        (
            "leading slash",
            post_json(json!({"key": "/uploads/a.png"})),
            "key",
            "without a leading slash",
        ),
        (
            "outside prefix",
            post_json(json!({"key": "private/payroll.png"})),
            "key",
            "must start with uploads/",
        ),
        (
            "folder",
            post_json(json!({"key": "uploads/job-1/"})),
            "key",
            "must name an image object",
        ),
        (
            "maxLabels 0",
            post_json(json!({"key": KEY, "maxLabels": 0})),
            "maxLabels",
            "must be an integer from 1 to 1000",
        ),
        (
            "maxLabels 1001",
            post_json(json!({"key": KEY, "maxLabels": 1001})),
            "maxLabels",
            "must be an integer from 1 to 1000",
        ),
        (
            "maxLabels negative",
            post_json(json!({"key": KEY, "maxLabels": -3})),
            "maxLabels",
            "must be an integer from 1 to 1000",
        ),
        (
            "maxLabels huge",
            post("{\"key\": \"uploads/a.png\", \"maxLabels\": 18446744073709551615}"),
            "maxLabels",
            "must be an integer from 1 to 1000",
        ),
        (
            "maxLabels fraction",
            post_json(json!({"key": KEY, "maxLabels": 2.5})),
            "maxLabels",
            "must be an integer from 1 to 1000",
        ),
        (
            "maxLabels string",
            post_json(json!({"key": KEY, "maxLabels": "20"})),
            "maxLabels",
            "must be an integer from 1 to 1000",
        ),
        (
            "minConfidence negative",
            post_json(json!({"key": KEY, "minConfidence": -0.5})),
            "minConfidence",
            "must be a number from 0 to 100",
        ),
        (
            "minConfidence above 100",
            post_json(json!({"key": KEY, "minConfidence": 100.5})),
            "minConfidence",
            "must be a number from 0 to 100",
        ),
        (
            "minConfidence string",
            post_json(json!({"key": KEY, "minConfidence": "high"})),
            "minConfidence",
            "must be a number from 0 to 100",
        ),
        (
            "unknown field",
            post_json(json!({"key": KEY, "maxlabels": 5})),
            "maxlabels",
            "unknown field, expected key, maxLabels or minConfidence",
        ),
        ("GET without key", get("maxLabels=5"), "key", "is required"),
        (
            "GET empty key",
            get("key="),
            "key",
            "must be 1 to 1024 bytes",
        ),
        (
            "GET key outside prefix",
            get("key=other%2Fa.png"),
            "key",
            "must start with uploads/",
        ),
        (
            "GET maxLabels not a number",
            get("key=uploads/a.png&maxLabels=ten"),
            "maxLabels",
            "must be an integer from 1 to 1000",
        ),
        (
            "GET maxLabels fraction",
            get("key=uploads/a.png&maxLabels=2.5"),
            "maxLabels",
            "must be an integer from 1 to 1000",
        ),
        (
            "GET maxLabels 2000",
            get("key=uploads/a.png&maxLabels=2000"),
            "maxLabels",
            "must be an integer from 1 to 1000",
        ),
        (
            "GET minConfidence NaN",
            get("key=uploads/a.png&minConfidence=NaN"),
            "minConfidence",
            "must be a number from 0 to 100",
        ),
        (
            "GET minConfidence 101",
            get("key=uploads/a.png&minConfidence=101"),
            "minConfidence",
            "must be a number from 0 to 100",
        ),
        (
            "GET repeated key",
            get("key=uploads/a.png&key=uploads/b.png"),
            "key",
            "given 2 times, must be given once",
        ),
        (
            "GET unknown parameter",
            get("key=uploads/a.png&bucket=other"),
            "bucket",
            "unknown parameter, expected key, maxLabels or minConfidence",
        ),
    ];
    for (what, req, field, limit) in cases {
        let h = handler(Ok(detection()));
        let (status, headers, body) = call(&h, req).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {body}");
        assert_eq!(headers[header::CONTENT_TYPE], "application/json");
        let message = assert_error(&body, "InvalidInput");
        assert!(
            message.starts_with(&format!("{field}: ")),
            "{what}: {message}"
        );
        assert!(message.contains(limit), "{what}: {message}");
        assert!(calls(&h).is_empty(), "{what}: the detector was called");
    }
}

#[tokio::test]
async fn key_errors_do_not_echo_the_key() {
    let h = handler(Ok(detection()));
    for key in ["private/payroll-2025.png", "/uploads/payroll-2025.png"] {
        let (_, _, body) = call(&h, post_json(json!({"key": key}))).await;
        assert!(!body.to_string().contains("payroll"), "{body}");
    }
}

// ---------------------------------------------------------------------------------------------
// Routing

#[tokio::test]
async fn unknown_paths_are_404_and_other_methods_405() {
    let h = handler(Ok(detection()));
    for path in ["/", "/label", "/labels/extra", "/prod/labels"] {
        let (status, _, body) = call(&h, with_route("POST", path, "$default")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        let message = assert_error(&body, "NotFound");
        assert!(message.contains("/labels"), "{message}");
    }
    for method in ["PUT", "DELETE", "PATCH", "OPTIONS"] {
        let (status, headers, body) = call(&h, with_route(method, "/labels", "$default")).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
        assert_eq!(headers[header::ALLOW], "GET, POST");
        let message = assert_error(&body, "MethodNotAllowed");
        assert!(message.starts_with("method: "), "{message}");
    }
    assert!(calls(&h).is_empty());
}

#[tokio::test]
async fn stage_prefixes_and_trailing_slashes_are_accepted() {
    for (path, stage) in [("/prod/labels", "prod"), ("/labels/", "$default")] {
        let h = handler(Ok(detection()));
        let (status, _, body) = call(&h, with_route("POST", path, stage)).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        assert_eq!(calls(&h).len(), 1);
    }
}

// ---------------------------------------------------------------------------------------------
// Detector failures

#[tokio::test]
async fn each_detector_error_has_its_status_and_type() {
    let cases = [
        (
            DetectError::Rejected {
                field: "key",
                message: "the image format is not supported, it must be JPEG or PNG: Request has invalid image format".into(),
            },
            StatusCode::BAD_REQUEST,
            "InvalidInput",
        ),
        (
            DetectError::Throttled("DetectLabels: ThrottlingException: slow down".into()),
            StatusCode::TOO_MANY_REQUESTS,
            "Retryable",
        ),
        (
            DetectError::Misconfigured(
                "DetectLabels: AccessDeniedException: arn:aws:sts::123456789012:assumed-role/x is not authorized".into(),
            ),
            StatusCode::INTERNAL_SERVER_ERROR,
            "Misconfigured",
        ),
        (
            DetectError::Unavailable("DetectLabels: request not sent: io error 10.0.0.1".into()),
            StatusCode::BAD_GATEWAY,
            "Retryable",
        ),
    ];
    for (err, status, error_type) in cases {
        let h = handler(Err(err.clone()));
        let (got, headers, body) = call(&h, request(&event(POST_EVENT))).await;
        assert_eq!(got, status, "{err:?}");
        let message = assert_error(&body, error_type);
        assert_eq!(calls(&h).len(), 1);
        match err {
            DetectError::Rejected { .. } => {
                assert!(message.starts_with("key: the image format is not supported"));
                assert!(message.ends_with("Request has invalid image format"));
            }
            DetectError::Throttled(_) => {
                assert_eq!(headers[header::RETRY_AFTER], "1");
                assert!(message.contains("retry"), "{message}");
            }
            DetectError::Misconfigured(_) | DetectError::Unavailable(_) => {
                // Internal details (role ARNs, addresses) stay in the logs.
                assert!(!message.contains("arn:"), "{message}");
                assert!(!message.contains("10.0.0.1"), "{message}");
            }
        }
        if status != StatusCode::TOO_MANY_REQUESTS {
            assert!(headers.get(header::RETRY_AFTER).is_none());
        }
    }
}

fn raw(status: u16) -> HttpResponse {
    HttpResponse::new(status.try_into().unwrap(), SdkBody::empty())
}

fn service_error(err: DetectLabelsError, status: u16) -> SdkError<DetectLabelsError, HttpResponse> {
    SdkError::service_error(err, raw(status))
}

#[test]
fn sdk_errors_are_classified() {
    let rejected = |e: DetectError| match e {
        DetectError::Rejected { field, message } => (field, message),
        other => panic!("expected Rejected, got {other:?}"),
    };

    let (field, message) = rejected(classify_sdk_error(&service_error(
        DetectLabelsError::InvalidS3ObjectException(
            sdk_err::InvalidS3ObjectException::builder()
                .message("Unable to get object metadata from S3. Check object key, region and/or access permissions.")
                .build(),
        ),
        400,
    )));
    assert_eq!(field, "key");
    assert!(message.starts_with("Rekognition cannot read this object"));
    assert!(message.ends_with("Check object key, region and/or access permissions."));

    let (field, message) = rejected(classify_sdk_error(&service_error(
        DetectLabelsError::InvalidImageFormatException(
            sdk_err::InvalidImageFormatException::builder()
                .message("Request has invalid image format")
                .build(),
        ),
        400,
    )));
    assert_eq!(field, "key");
    assert!(message.contains("JPEG or PNG"));
    assert!(message.ends_with("Request has invalid image format"));

    let (field, message) = rejected(classify_sdk_error(&service_error(
        DetectLabelsError::ImageTooLargeException(
            sdk_err::ImageTooLargeException::builder()
                .message("Image size is too large.")
                .build(),
        ),
        400,
    )));
    assert_eq!(field, "key");
    assert!(message.contains("too large"));
    assert!(message.contains("15 MB"));

    let (field, message) = rejected(classify_sdk_error(&service_error(
        DetectLabelsError::InvalidParameterException(
            sdk_err::InvalidParameterException::builder()
                .message("Request has invalid parameters")
                .build(),
        ),
        400,
    )));
    assert_eq!(field, "key");
    assert!(message.ends_with("Request has invalid parameters"));

    let e = classify_sdk_error(&service_error(
        DetectLabelsError::AccessDeniedException(
            sdk_err::AccessDeniedException::builder()
                .message("not authorized")
                .build(),
        ),
        400,
    ));
    assert!(
        matches!(e, DetectError::Misconfigured(ref d) if d.contains("not authorized")),
        "{e:?}"
    );

    for err in [
        DetectLabelsError::ProvisionedThroughputExceededException(
            sdk_err::ProvisionedThroughputExceededException::builder().build(),
        ),
        DetectLabelsError::ThrottlingException(sdk_err::ThrottlingException::builder().build()),
    ] {
        let e = classify_sdk_error(&service_error(err, 400));
        assert!(matches!(e, DetectError::Throttled(_)), "{e:?}");
        assert_eq!(e.status(), StatusCode::TOO_MANY_REQUESTS);
    }

    let e = classify_sdk_error(&service_error(
        DetectLabelsError::InternalServerError(sdk_err::InternalServerError::builder().build()),
        500,
    ));
    assert!(matches!(e, DetectError::Unavailable(_)), "{e:?}");

    // Codes the model does not list.
    let unhandled = |code: &str| {
        DetectLabelsError::generic(ErrorMetadata::builder().code(code).message("m").build())
    };
    let e = classify_sdk_error(&service_error(unhandled("ExpiredTokenException"), 400));
    assert!(matches!(e, DetectError::Misconfigured(_)), "{e:?}");
    let e = classify_sdk_error(&service_error(
        unhandled("UnrecognizedClientException"),
        400,
    ));
    assert!(matches!(e, DetectError::Misconfigured(_)), "{e:?}");
    let e = classify_sdk_error(&service_error(unhandled("TooManyRequestsException"), 400));
    assert!(matches!(e, DetectError::Throttled(_)), "{e:?}");
    let e = classify_sdk_error(&service_error(unhandled("SomethingNew"), 429));
    assert!(matches!(e, DetectError::Throttled(_)), "{e:?}");
    let e = classify_sdk_error(&service_error(unhandled("ServiceUnavailable"), 503));
    assert!(matches!(e, DetectError::Unavailable(_)), "{e:?}");
    let e = classify_sdk_error(&service_error(unhandled("SomethingNew"), 400));
    assert!(matches!(e, DetectError::Unavailable(_)), "{e:?}");

    // Transport failures.
    let e = classify_sdk_error(&SdkError::timeout_error("read timed out"));
    assert!(
        matches!(e, DetectError::Unavailable(ref d) if d.contains("timed out")),
        "{e:?}"
    );
    let e = classify_sdk_error(&SdkError::dispatch_failure(ConnectorError::io(
        "connection refused".into(),
    )));
    assert!(
        matches!(e, DetectError::Unavailable(ref d) if d.contains("not sent")),
        "{e:?}"
    );
    let e = classify_sdk_error(&SdkError::response_error("truncated", raw(200)));
    assert!(matches!(e, DetectError::Unavailable(_)), "{e:?}");
    let e = classify_sdk_error(&SdkError::construction_failure("bad input"));
    assert!(matches!(e, DetectError::Unavailable(_)), "{e:?}");
    assert_eq!(e.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(e.kind(), ErrorKind::Retryable);
}

// ---------------------------------------------------------------------------------------------
// Labels

#[tokio::test]
async fn labels_are_sorted_by_confidence_then_name() {
    let h = handler(Ok(detection()));
    let (_, _, body) = call(&h, request(&event(POST_EVENT))).await;
    let names: Vec<&str> = body["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Computer", "Laptop", "Furniture", "Table"]);
    let confidences: Vec<f64> = body["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["confidence"].as_f64().unwrap())
        .collect();
    assert_eq!(confidences, [99.5, 99.5, 90.0, 81.25]);
}

fn sdk_box(left: f32, top: f32, width: f32, height: f32) -> sdk::BoundingBox {
    sdk::BoundingBox::builder()
        .left(left)
        .top(top)
        .width(width)
        .height(height)
        .build()
}

fn sdk_output() -> DetectLabelsOutput {
    DetectLabelsOutput::builder()
        .labels(
            sdk::Label::builder()
                .name("Chair")
                .confidence(87.3)
                .parents(sdk::Parent::builder().name("Furniture").build())
                .categories(
                    sdk::LabelCategory::builder()
                        .name("Furniture and Furnishings")
                        .build(),
                )
                .instances(
                    sdk::Instance::builder()
                        .confidence(85.1)
                        // Overshoots the left and bottom edges, as Rekognition boxes can.
                        .bounding_box(sdk_box(-0.02, 0.5, 0.3, 0.6))
                        .build(),
                )
                .build(),
        )
        .labels(
            sdk::Label::builder()
                .name("Laptop")
                .confidence(99.1)
                .parents(sdk::Parent::builder().name("Computer").build())
                .parents(sdk::Parent::builder().name("Electronics").build())
                .categories(
                    sdk::LabelCategory::builder()
                        .name("Technology and Computing")
                        .build(),
                )
                .aliases(sdk::LabelAlias::builder().name("Notebook").build())
                .instances(
                    sdk::Instance::builder()
                        .confidence(98.7)
                        .bounding_box(sdk_box(0.1, 0.2, 0.5, 0.4))
                        .dominant_colors(sdk::DominantColor::builder().red(10).build())
                        .build(),
                )
                .instances(
                    sdk::Instance::builder()
                        .confidence(90.5)
                        .bounding_box(sdk_box(0.65, 0.25, 0.3, 0.3))
                        .build(),
                )
                // No box: left out.
                .instances(sdk::Instance::builder().confidence(50.0).build())
                // Entirely outside the image: left out.
                .instances(
                    sdk::Instance::builder()
                        .confidence(40.0)
                        .bounding_box(sdk_box(1.2, 0.1, 0.1, 0.1))
                        .build(),
                )
                .build(),
        )
        .labels(
            sdk::Label::builder()
                .name("Indoors")
                .confidence(95.0)
                .build(),
        )
        // No name: left out.
        .labels(sdk::Label::builder().confidence(80.0).build())
        .label_model_version("3.0")
        .build()
}

#[test]
fn sdk_output_becomes_our_labels() {
    let d = Detection::from_output(&sdk_output());
    assert_eq!(d.label_model_version.as_deref(), Some("3.0"));
    assert_eq!(d.labels.len(), 3);

    let chair = &d.labels[0];
    assert_eq!(chair.name, "Chair");
    assert_eq!(chair.confidence, 87.3);
    assert_eq!(chair.parents, ["Furniture"]);
    assert_eq!(chair.categories, ["Furniture and Furnishings"]);
    assert_eq!(chair.instances.len(), 1);
    let b = chair.instances[0].bounding_box;
    assert_eq!(chair.instances[0].confidence, 85.1);
    assert_eq!((b.left, b.top), (0.0, 0.5));
    assert!((b.width - 0.28).abs() < 1e-9, "{b:?}");
    assert!((b.height - 0.5).abs() < 1e-9, "{b:?}");

    let laptop = &d.labels[1];
    assert_eq!(laptop.name, "Laptop");
    assert_eq!(laptop.confidence, 99.1);
    assert_eq!(laptop.parents, ["Computer", "Electronics"]);
    assert_eq!(laptop.categories, ["Technology and Computing"]);
    assert_eq!(
        laptop.instances,
        [
            Instance {
                confidence: 98.7,
                // The f32 values keep their short decimal form.
                bounding_box: BoundingBox {
                    left: 0.1,
                    top: 0.2,
                    width: 0.5,
                    height: 0.4
                },
            },
            Instance {
                confidence: 90.5,
                bounding_box: BoundingBox {
                    left: 0.65,
                    top: 0.25,
                    width: 0.3,
                    height: 0.3
                },
            },
        ]
    );

    let indoors = &d.labels[2];
    assert_eq!(indoors.name, "Indoors");
    assert!(indoors.parents.is_empty() && indoors.categories.is_empty());
    assert!(indoors.instances.is_empty());

    let empty = Detection::from_output(&DetectLabelsOutput::builder().build());
    assert_eq!(empty, Detection::default());
}

#[test]
fn bounding_boxes_paste_into_a_job_manifest() {
    let d = Detection::from_output(&sdk_output());
    let boxes: Vec<Value> = d
        .labels
        .iter()
        .flat_map(|l| &l.instances)
        .map(|i| serde_json::to_value(i.bounding_box).unwrap())
        .collect();
    assert_eq!(boxes.len(), 3);
    assert_eq!(
        boxes[1],
        json!({"left": 0.1, "top": 0.2, "width": 0.5, "height": 0.4})
    );
    // The image task type start-image-job writes and generate-background reads: unknown keys
    // are refused and every box must lie within the image.
    let task = json!({
        "job": {"jobId": "job-1", "prompt": "a product on a marble counter"},
        "image": {"key": KEY, "maskBoxes": boxes}
    });
    let parsed = image_background_core::ImageTask::parse(task).expect("boxes are valid maskBoxes");
    assert_eq!(parsed.image.mask_boxes.unwrap().len(), 3);
}

// ---------------------------------------------------------------------------------------------
// The Rekognition detector against a fake HTTP connection

/// The `X-Amz-Target` header and JSON body of each request sent.
type Sent = Arc<Mutex<Vec<(Option<String>, Value)>>>;

#[derive(Debug, Clone)]
struct FakeRekognition {
    status: u16,
    body: String,
    requests: Sent,
}

impl HttpConnector for FakeRekognition {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let target = request.headers().get("x-amz-target").map(str::to_owned);
        let body: Value = serde_json::from_slice(request.body().bytes().unwrap_or_default())
            .unwrap_or(Value::Null);
        self.requests.lock().unwrap().push((target, body));
        let response = HttpResponse::new(
            self.status.try_into().unwrap(),
            SdkBody::from(self.body.clone()),
        );
        HttpConnectorFuture::ready(Ok(response))
    }
}

fn rekognition(status: u16, body: Value) -> (RekognitionDetector, FakeRekognition) {
    let fake = FakeRekognition {
        status,
        body: body.to_string(),
        requests: Arc::default(),
    };
    let connector = SharedHttpConnector::new(fake.clone());
    let conf = aws_sdk_rekognition::Config::builder()
        .behavior_version(aws_sdk_rekognition::config::BehaviorVersion::latest())
        .region(aws_sdk_rekognition::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_rekognition::config::Credentials::new(
            "AKIDEXAMPLE",
            "secret",
            None,
            None,
            "test",
        ))
        .retry_config(aws_sdk_rekognition::config::retry::RetryConfig::disabled())
        .http_client(http_client_fn(move |_, _| connector.clone()))
        .build();
    (
        RekognitionDetector::new(aws_sdk_rekognition::Client::from_conf(conf)),
        fake,
    )
}

#[tokio::test]
async fn rekognition_detector_sends_the_s3_object_and_limits() {
    let (detector, fake) = rekognition(
        200,
        json!({
            "Labels": [{
                "Name": "Laptop", "Confidence": 99.1,
                "Instances": [{"BoundingBox": {"Width": 0.5, "Height": 0.4, "Left": 0.1, "Top": 0.2}, "Confidence": 98.7}],
                "Parents": [{"Name": "Computer"}],
                "Aliases": [],
                "Categories": [{"Name": "Technology and Computing"}]
            }],
            "LabelModelVersion": "3.0"
        }),
    );
    let h = Handler::new(detector, config(&[]));
    let (status, _, body) = call(&h, request(&event(GET_EVENT))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let requests = fake.requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 1);
    let (target, sent) = &requests[0];
    assert_eq!(target.as_deref(), Some("RekognitionService.DetectLabels"));
    assert_eq!(
        sent,
        &json!({
            "Image": {"S3Object": {"Bucket": UPLOAD, "Name": KEY}},
            "MaxLabels": 5,
            "MinConfidence": 85.5
        })
    );
    assert_eq!(
        body,
        json!({
            "bucket": UPLOAD,
            "key": KEY,
            "labels": [{
                "name": "Laptop", "confidence": 99.1,
                "parents": ["Computer"], "categories": ["Technology and Computing"],
                "instances": [{"confidence": 98.7, "boundingBox": {"left": 0.1, "top": 0.2, "width": 0.5, "height": 0.4}}]
            }],
            "labelModelVersion": "3.0"
        })
    );
}

#[tokio::test]
async fn rekognition_errors_from_the_wire_are_mapped() {
    let cases = [
        (
            400,
            "InvalidS3ObjectException",
            StatusCode::BAD_REQUEST,
            "InvalidInput",
        ),
        (
            400,
            "InvalidImageFormatException",
            StatusCode::BAD_REQUEST,
            "InvalidInput",
        ),
        (
            400,
            "ImageTooLargeException",
            StatusCode::BAD_REQUEST,
            "InvalidInput",
        ),
        (
            400,
            "InvalidParameterException",
            StatusCode::BAD_REQUEST,
            "InvalidInput",
        ),
        (
            400,
            "AccessDeniedException",
            StatusCode::INTERNAL_SERVER_ERROR,
            "Misconfigured",
        ),
        (
            400,
            "ProvisionedThroughputExceededException",
            StatusCode::TOO_MANY_REQUESTS,
            "Retryable",
        ),
        (
            400,
            "ThrottlingException",
            StatusCode::TOO_MANY_REQUESTS,
            "Retryable",
        ),
        (
            500,
            "InternalServerError",
            StatusCode::BAD_GATEWAY,
            "Retryable",
        ),
        (
            503,
            "ServiceUnavailableException",
            StatusCode::BAD_GATEWAY,
            "Retryable",
        ),
    ];
    for (wire_status, code, status, error_type) in cases {
        let (detector, _) = rekognition(
            wire_status,
            json!({"__type": format!("com.amazonaws.rekognition#{code}"), "Message": format!("{code} happened")}),
        );
        let h = Handler::new(detector, config(&[]));
        let (got, headers, body) = call(&h, request(&event(POST_EVENT))).await;
        assert_eq!(got, status, "{code}: {body}");
        let message = assert_error(&body, error_type);
        if status == StatusCode::BAD_REQUEST {
            assert!(message.starts_with("key: "), "{message}");
            assert!(message.ends_with(&format!("{code} happened")), "{message}");
        }
        if status == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(headers[header::RETRY_AFTER], "1");
        }
    }
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
async fn logs_carry_the_key_length_not_the_key() {
    let h = handler(Ok(detection()));
    let mut ok = event(POST_EVENT);
    ok["requestContext"]["requestId"] = Value::from("log-test-ok");
    call(&h, request(&ok)).await;
    let mut bad = event(POST_EVENT);
    bad["requestContext"]["requestId"] = Value::from("log-test-bad");
    bad["body"] = Value::from(json!({"key": "private/payroll.png"}).to_string());
    call(&h, request(&bad)).await;

    let ok_lines = log_lines("log-test-ok");
    let bad_lines = log_lines("log-test-bad");
    for line in ok_lines.iter().chain(&bad_lines) {
        let text = line.to_string();
        assert!(!text.contains("product.png"), "{text}");
        assert!(!text.contains("payroll"), "{text}");
    }
    let detecting = ok_lines
        .iter()
        .find(|l| l["fields"]["message"] == "detecting labels")
        .unwrap_or_else(|| panic!("no detecting line in {ok_lines:?}"));
    assert_eq!(detecting["level"], "INFO");
    assert_eq!(detecting["fields"]["key_len"], KEY.len());
    assert_eq!(detecting["fields"]["max_labels"], 20);
    assert!(ok_lines
        .iter()
        .any(|l| l["fields"]["message"] == "labels detected" && l["fields"]["labels"] == 4));
    assert!(
        bad_lines
            .iter()
            .any(|l| l["level"] == "WARN" && l["fields"]["status"] == 400),
        "{bad_lines:?}"
    );
}

//! The Rekognition adapter: SDK errors classified, SDK output as our labels, and the detector
//! against a fake HTTP connection.

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
use shared::ErrorKind;

use super::*;

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
    let h = Arc::new(Handler::new(detector, config(&[])));
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
        let h = Arc::new(Handler::new(detector, config(&[])));
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

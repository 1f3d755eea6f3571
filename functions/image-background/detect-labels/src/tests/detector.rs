//! Detector answers: each failure's status, body and headers; labels sorted.

use super::*;

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

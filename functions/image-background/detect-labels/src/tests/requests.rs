//! Requests over HTTP: valid and invalid ones, routing; status, body and headers.

use super::*;

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
    let h = Arc::new(Handler::new(
        FakeDetector::new(Ok(Detection::default())),
        config(&[("KEY_PREFIX", "images")]),
    ));
    let (status, _, _) = call(&h, post_json(json!({"key": "images/a.jpg"}))).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, body) = call(&h, post_json(json!({"key": KEY}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["message"],
        "key: outside the upload prefix, must start with images/"
    );

    let h = Arc::new(Handler::new(
        FakeDetector::new(Ok(Detection::default())),
        config(&[("KEY_PREFIX", "/")]),
    ));
    let (status, _, _) = call(&h, post_json(json!({"key": "anything/x.png"}))).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn query_values_are_form_decoded() {
    for (query, key) in [
        ("key=uploads/a+b.png", "uploads/a b.png"),
        ("key=uploads/a%2Bb.png", "uploads/a+b.png"),
        ("key=uploads%2F%C3%A9t%C3%A9.png", "uploads/été.png"),
        ("&&key=uploads/a.png&", "uploads/a.png"),
    ] {
        let h = handler(Ok(Detection::default()));
        let (status, _, body) = call(&h, get(query)).await;
        assert_eq!(status, StatusCode::OK, "{query}: {body}");
        assert_eq!(calls(&h)[0].1, key, "{query}");
        assert_eq!(body["key"], key);
    }
    let h = handler(Ok(Detection::default()));
    let (status, _, _) = call(&h, get("key=uploads/a.png&maxLabels=+7+&minConfidence=+5+")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        calls(&h),
        vec![(UPLOAD.into(), "uploads/a.png".into(), 7, 5.0)]
    );
}

#[tokio::test]
async fn get_reads_only_the_query_and_post_only_the_body() {
    let mut e = event(GET_EVENT);
    e["body"] = Value::from(r#"{"key": "uploads/from-the-body.png"}"#);
    let h = handler(Ok(Detection::default()));
    let (status, _, body) = call(&h, request(&e)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(calls(&h), vec![(UPLOAD.into(), KEY.into(), 5, 85.5)]);

    let mut e = event(POST_EVENT);
    e["rawQueryString"] = Value::from("key=uploads/from-the-query.png&bucket=x");
    let h = handler(Ok(Detection::default()));
    let (status, _, body) = call(&h, request(&e)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(calls(&h), vec![(UPLOAD.into(), KEY.into(), 20, 70.0)]);
}

#[tokio::test]
async fn bodies_are_read_whole_beyond_axums_default_limit() {
    // 3 MiB: axum's default limit is 2 MiB; API Gateway and Lambda cap bodies themselves.
    let padding = " ".repeat(3 << 20);
    let h = handler(Ok(Detection::default()));
    let (status, _, body) = call(&h, post(&format!(r#"{{"key": "{KEY}"{padding}}}"#))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(calls(&h)[0].1, KEY);

    let long = format!(r#"{{"key": "uploads/{}"}}"#, "k".repeat(3 << 20));
    let (status, _, body) = call(&h, post(&long)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let message = assert_error(&body, "InvalidInput");
    assert_eq!(message, "key: 3145736 bytes, must be at most 1024 bytes");
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
async fn query_errors_come_in_parameter_name_order() {
    for (query, message) in [
        (
            "zzz=1&maxLabels=x",
            "maxLabels: not an integer, must be an integer from 1 to 1000",
        ),
        (
            "maxLabels=x&aaa=1",
            "aaa: unknown parameter, expected key, maxLabels or minConfidence",
        ),
        (
            "minConfidence=1&minConfidence=2&key=uploads/a.png&key=uploads/b.png",
            "key: given 2 times, must be given once",
        ),
    ] {
        let h = handler(Ok(detection()));
        let (status, _, body) = call(&h, get(query)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(assert_error(&body, "InvalidInput"), message, "{query}");
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
        // Any method: a path other than /labels is a 404, not a 405.
        for method in ["POST", "GET", "PUT"] {
            let (status, headers, body) = call(&h, with_route(method, path, "$default")).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}");
            assert!(headers.get(header::ALLOW).is_none());
            let message = assert_error(&body, "NotFound");
            assert_eq!(message, "path: no such route, use GET or POST /labels");
        }
    }
    for method in ["PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"] {
        let (status, headers, body) = call(&h, with_route(method, "/labels", "$default")).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
        assert_eq!(headers[header::ALLOW], "GET, POST");
        assert_eq!(headers[header::CONTENT_TYPE], "application/json");
        let message = assert_error(&body, "MethodNotAllowed");
        assert!(message.starts_with("method: "), "{message}");
        assert_eq!(
            message,
            format!("method: {method} is not allowed on /labels, use GET or POST")
        );
    }
    assert!(calls(&h).is_empty());
}

#[tokio::test]
async fn head_is_405_on_the_route_and_404_elsewhere_without_a_body() {
    let h = handler(Ok(detection()));
    for (path, status) in [
        ("/labels", StatusCode::METHOD_NOT_ALLOWED),
        ("/labels/", StatusCode::METHOD_NOT_ALLOWED),
        ("/other", StatusCode::NOT_FOUND),
    ] {
        let response =
            shared::http::oneshot(router(Arc::clone(&h)), with_route("HEAD", path, "$default"))
                .await;
        assert_eq!(response.status(), status, "{path}");
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        assert_eq!(
            response.headers().get(header::ALLOW).is_some(),
            status == StatusCode::METHOD_NOT_ALLOWED,
            "{path}"
        );
        // A HEAD answer has no body.
        assert!(response.body().is_empty(), "{path}");
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

//! Invalid requests and routing: status, body and headers over HTTP.

use super::*;

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
        let (h, _) = handler_with(
            FakeRecommender::new(Ok(answer(&["i-1"]))),
            config(&[("RELATED_CAMPAIGN_ARN", RELATED_CAMPAIGN)]),
        );
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

#[tokio::test]
async fn head_is_405_like_every_method_but_get() {
    let (h, _) = handler(Ok(answer(&["i-1"])));
    for path in ["/recommendations/u1", "/related/i1"] {
        let response = shared::http::oneshot(
            router(Arc::clone(&h)),
            with_route("HEAD", path, "", "$default"),
        )
        .await;
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED, "{path}");
        assert_eq!(response.headers()[header::ALLOW], "GET");
        // A HEAD answer has no body.
        assert!(response.body().is_empty());
    }
    assert!(calls(&h).is_empty());
}

#[tokio::test]
async fn query_values_are_form_decoded_and_trimmed() {
    let (h, _) = handler(Ok(answer(&["i-1"])));
    let query = "numResults=+7+&context=%7B%22DEVICE%22%3A%22a+b%22%7D";
    let (status, _, body) = call(&h, user_get(query)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let sent = &calls(&h)[0];
    assert_eq!(sent.num_results, 7);
    assert_eq!(
        sent.context,
        BTreeMap::from([("DEVICE".into(), "a b".into())])
    );
}

#[tokio::test]
async fn malformed_escapes_in_the_id_are_400_unless_api_gateway_decoded_it() {
    let (h, _) = handler(Ok(answer(&["i-1"])));
    let (status, _, body) = call(&h, get("/recommendations/a%zz", "")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let message = assert_error(&body, "InvalidInput");
    assert_eq!(message, "userId: not valid UTF-8 once percent-decoded");
    assert!(calls(&h).is_empty());

    let mut e = event(USER_EVENT);
    e["rawPath"] = Value::from("/recommendations/a%zz");
    e["pathParameters"]["userId"] = Value::from("a%zz");
    let (status, _, body) = call(&h, request(&e)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(calls(&h)[0].id, "a%zz");
}

//! The cache flow: hits, misses, refreshes, stale answers and cache failures.

use super::*;

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
async fn related_without_a_related_items_campaign_is_not_configured() {
    // The user-personalization campaign cannot answer /related: it requires a userId.
    let (h, _) = handler(Ok(answer(&["item-2002"])));
    let (status, headers, body) = call(&h, request(&event(RELATED_EVENT))).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["error"], "NotConfigured");
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("related"), "{message}");
    assert!(
        message.contains("PersonalizeRelatedCampaignArn"),
        "{message}"
    );
    assert!(headers.get("x-cache").is_none());
    assert!(calls(&h).is_empty(), "Personalize must not be called");
    // The user route still answers.
    let (status, _, _) = call(&h, user_fixture()).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn related_fixture_asks_the_related_campaign_with_the_item_id() {
    let (h, _) = handler_with(
        FakeRecommender::new(Ok(answer(&["item-2002"]))),
        config(&[("RELATED_CAMPAIGN_ARN", RELATED_CAMPAIGN)]),
    );
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
    assert_eq!(sent[0].target.arn, RELATED_CAMPAIGN);
    assert_eq!(sent[0].filter_arn, None);
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

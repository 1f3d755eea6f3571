//! Logs and metrics.

use super::*;

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

//! Segment -> Personalize end to end in the local cloud: Segment messages sent as Segment's
//! Lambda destination does (synchronous Invoke) and through the SQS queue (event source mapping
//! with partial batch responses), recorded by the emulated Personalize; the recommendations
//! endpoint answering from Personalize, then from its DynamoDB cache, then stale while
//! Personalize is unreachable.
//!
//! Needs `scripts/localcloud.sh up` (scripts/test.sh does it).

use anyhow::{ensure, Result};
use integration_tests::segment::{self, forwarder, SegmentPipeline};
use integration_tests::{pipeline_timeout, sqs, uuid_v4};
use serde_json::json;

fn ids(label: &str) -> (String, String) {
    let id = uuid_v4();
    (format!("anon-{label}-{id}"), format!("user-{label}-{id}"))
}

#[tokio::test]
async fn a_direct_invocation_reaches_personalize_with_the_mapped_fields() -> Result<()> {
    let p = SegmentPipeline::connect().await?;
    let (anon, user) = ids("direct");
    let message = segment::track("msg-direct-1", &anon, &user, "Product Viewed", "sku-1");
    let (error, out) = p.invoke(forwarder(), &message).await?;
    ensure!(error.is_none(), "{error:?} {out}");
    ensure!(out["status"] == "forwarded", "{out}");
    let requests = p.received_events(&anon).await?;
    ensure!(requests.len() == 1, "{requests:?}");
    let r = &requests[0];
    ensure!(r["trackingId"] == segment::tracking_id(), "{r}");
    ensure!(r["userId"] == user.as_str(), "{r}");
    let e = &segment::event_list(r)[0];
    ensure!(e["eventType"] == "View", "EVENT_TYPE_MAP applied: {e}");
    ensure!(e["itemId"] == "sku-1", "{e}");
    ensure!(e["eventId"] == "msg-direct-1", "{e}");
    ensure!(e["eventValue"] == 12.5, "{e}");
    ensure!(e["sentAt"].as_f64() == Some(1_795_514_400.125), "{e}");
    Ok(())
}

#[tokio::test]
async fn an_invalid_message_is_rejected_not_retried() -> Result<()> {
    let p = SegmentPipeline::connect().await?;
    let (anon, user) = ids("invalid");
    let mut message = segment::track("msg-invalid", &anon, &user, "Product Viewed", "sku-1");
    // A local time (no UTC offset) is ambiguous: the message can never be sent.
    message["timestamp"] = json!("2024-05-14T10:15:30");
    let (error, out) = p.invoke(forwarder(), &message).await?;
    ensure!(
        error.is_none(),
        "not an error, Segment would retry: {error:?}"
    );
    ensure!(out["status"] == "rejected", "{out}");
    ensure!(
        out["error"].as_str().unwrap_or("").contains("timestamp"),
        "{out}"
    );
    ensure!(p.received_events(&anon).await?.is_empty());
    Ok(())
}

#[tokio::test]
async fn an_sqs_batch_with_one_bad_message_parks_exactly_that_one() -> Result<()> {
    let p = SegmentPipeline::connect().await?;
    let (anon, user) = ids("batch");
    let bad_marker = format!("bad-{anon}");
    let bodies = vec![
        segment::track("b-0", &anon, &user, "Product Viewed", "sku-1").to_string(),
        // No timestamp of any kind: Personalize requires sentAt.
        json!({"type": "track", "event": "Product Viewed", "anonymousId": bad_marker,
               "messageId": "b-1", "properties": {"productId": "sku-2"}})
        .to_string(),
        segment::track("b-2", &anon, &user, "Order Completed", "sku-3").to_string(),
    ];
    p.send_batch(&bodies).await?;

    let parked = p.wait_parked(&bad_marker, pipeline_timeout()).await?;
    ensure!(
        parked.body == bodies[1],
        "parked unchanged: {}",
        parked.body
    );
    let reason = parked.attributes.get("reason").cloned().unwrap_or_default();
    ensure!(
        reason.contains("timestamp"),
        "the reason names the field: {reason}"
    );

    let events = p.wait_events(&anon, 2, pipeline_timeout()).await?;
    let types: Vec<&str> = events
        .iter()
        .map(|e| e["eventType"].as_str().unwrap_or(""))
        .collect();
    ensure!(types == ["View", "Purchase"], "{types:?}");
    // The good messages are not redelivered: the queue drains, the DLQ holds nothing of theirs.
    sqs::wait_until_drained(&p.cloud.sqs, &[segment::events_queue()], pipeline_timeout()).await?;
    ensure!(
        p.received_events(&anon).await?.len() == 1,
        "one PutEvents call"
    );
    Ok(())
}

#[tokio::test]
async fn recommendations_miss_then_hit_then_stale_while_personalize_is_down() -> Result<()> {
    let p = SegmentPipeline::connect().await?;
    // Some interactions so the emulated Personalize has popular items to answer with.
    let (anon, user) = ids("recs");
    for (i, item) in ["sku-r1", "sku-r2", "sku-r1"].iter().enumerate() {
        let m = segment::track(&format!("r-{i}"), &anon, &user, "Product Viewed", item);
        let (error, _) = p.invoke(forwarder(), &m).await?;
        ensure!(error.is_none());
    }
    let (_, reader) = ids("reader");
    let query = [("numResults", "5")];

    let first = p.recommendations(false, &reader, &query).await?;
    ensure!(first.status == 200, "{first:?}");
    ensure!(first.body["cache"] == "miss", "{first:?}");
    let items: Vec<&str> = first.body["itemList"]
        .as_array()
        .map(|l| l.iter().filter_map(|i| i["itemId"].as_str()).collect())
        .unwrap_or_default();
    ensure!(
        !items.is_empty(),
        "recommendations from the events seen: {first:?}"
    );
    ensure!(items.len() <= 5, "numResults: {items:?}");

    let second = p.recommendations(false, &reader, &query).await?;
    ensure!(second.body["cache"] == "hit", "{second:?}");
    ensure!(
        second.body["itemList"] == first.body["itemList"],
        "{second:?}"
    );

    // Past its fresh time, with Personalize unreachable: the stored answer, flagged stale.
    ensure!(p.age_cache_entries(&reader).await? >= 1, "the cache entry");
    p.runtime_unavailable(60).await?;
    let third = p.recommendations(false, &reader, &query).await;
    p.runtime_unavailable(0).await?;
    let third = third?;
    ensure!(third.status == 200, "{third:?}");
    ensure!(third.body["cache"] == "stale", "{third:?}");
    ensure!(
        third.body["itemList"] == first.body["itemList"],
        "{third:?}"
    );

    // Other parameters are another cache entry: a miss, answered by Personalize again.
    let fourth = p
        .recommendations(false, &reader, &[("numResults", "2")])
        .await?;
    ensure!(fourth.body["cache"] == "miss", "{fourth:?}");
    let related = p.recommendations(true, "sku-r1", &[]).await?;
    ensure!(related.status == 200, "{related:?}");
    let bad = p
        .recommendations(false, &reader, &[("numResults", "501")])
        .await?;
    ensure!(bad.status == 400, "{bad:?}");
    ensure!(
        bad.body.to_string().contains("numResults"),
        "names the field: {:?}",
        bad.body
    );
    Ok(())
}

/// An identify with some traits does not wipe the user: PutUsers replaces a whole user, so the
/// forwarder merges the traits with the last known ones, kept in the stack's
/// SegmentUserTraitsTable (under the forwarder's own role, IAM enforced).
#[tokio::test]
async fn a_partial_identify_keeps_the_users_other_traits() -> Result<()> {
    let p = SegmentPipeline::connect().await?;
    let (anon, user) = ids("traits");
    let identify = |id: &str, traits: serde_json::Value, at: &str| {
        json!({"type": "identify", "messageId": id, "anonymousId": anon, "userId": user,
               "timestamp": at, "traits": traits,
               "context": {"library": {"name": "analytics.js", "version": "4.1.0"}}})
    };
    // Signed up on the web: every trait the mapping reads.
    let first = identify(
        "t-1",
        json!({"plan": "pro", "logins": 3, "address": {"country": "NZ", "city": "Wellington"}}),
        "2026-11-24T10:00:00.000Z",
    );
    // Later, a new device: only the login count.
    let second = identify("t-2", json!({"logins": 4}), "2026-11-25T08:30:00.000Z");
    for message in [&first, &second] {
        let (error, out) = p.invoke(forwarder(), message).await?;
        ensure!(
            error.is_none() && out["status"] == "forwarded",
            "{error:?} {out}"
        );
    }
    let url = format!("{}/_emulator/personalize/users", p.cloud.emulator_url);
    let all: serde_json::Value = p.cloud.http.get(&url).send().await?.json().await?;
    let record = all["users"]
        .as_array()
        .and_then(|users| users.iter().find(|u| u["userId"] == user.as_str()).cloned())
        .ok_or_else(|| anyhow::anyhow!("no user {user} in {all}"))?;
    ensure!(record["puts"] == 2, "two PutUsers calls: {record}");
    assert_eq!(
        record["properties"],
        json!({"plan": "pro", "logins": "4", "country": "NZ"}),
        "the second call kept plan and country"
    );
    Ok(())
}

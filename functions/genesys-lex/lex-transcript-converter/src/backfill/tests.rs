//! The backfill's steps against an in-memory store: plan, batches, a failed batch, report,
//! a retry of what failed.

use serde_json::json;
use shared::notify::RecordingNotifier;
use shared::store::MemoryStore;

use super::*;

const RAW: &str = "mlpipe-genesys-raw";
const OUT: &str = "mlpipe-lex-transcripts";
const ORDER: &str = include_str!("../../../../../events/genesys/transcripts/01-order-status.json");
const ORDER_KEY: &str =
    "genesys/e88b7591-31db-4e32-98dc-b35f94c662cd/5bd21b6a-ec89-47a6-8a0a-c984f71ab247.json";
const ORDER_OUT: &str =
    "lex-designer/e88b7591-31db-4e32-98dc-b35f94c662cd_analysis_2025-06-03T14:12:00Z.json";

type TestBackfiller = Backfiller<MemoryStore, RecordingNotifier>;

fn backfiller() -> TestBackfiller {
    let config =
        Config::from_source(&[("OUTPUT_BUCKET", OUT), ("RAW_BUCKET", RAW)].as_slice()).unwrap();
    Backfiller::new(
        MemoryStore::new(),
        config,
        Some(RecordingNotifier::default()),
    )
    .unwrap()
}

/// A small conversation in the fetcher's layout, one communication.
fn doc(conversation: &str, text: &str) -> String {
    json!({"conversationId": conversation, "communicationId": format!("{conversation}-comm"),
           "conversationStartTime": 1_700_000_000_000_i64,
           "transcripts": [{"transcriptId": "t", "language": "en-US", "phrases": [
               {"phraseIndex": 0, "participantPurpose": "external", "text": text, "startTimeMs": 1_700_000_001_000_i64}]}]})
    .to_string()
}

fn read(b: &TestBackfiller, key: &str) -> Value {
    let body = b
        .store()
        .object(RAW, key)
        .unwrap_or_else(|| panic!("no {key}; have {:?}", b.store().keys()));
    serde_json::from_slice(&body).unwrap()
}

/// Runs plan, every batch and the report, as the state machine does when nothing fails.
async fn run(b: &TestBackfiller, run_id: &str, input: Value) -> Value {
    let plan = b
        .handle(json!({"backfillPlan": {"runId": run_id, "input": input}}))
        .await
        .unwrap();
    let items = read(b, plan["itemsKey"].as_str().unwrap());
    for item in items.as_array().unwrap() {
        b.handle(json!({ "backfillBatch": item })).await.unwrap();
    }
    b.handle(json!({"backfillReport": {"runId": run_id}}))
        .await
        .unwrap()
}

#[tokio::test]
async fn a_prefix_is_converted_in_batches_with_a_report_and_a_notification() {
    let b = backfiller();
    b.store().insert(RAW, ORDER_KEY, ORDER);
    for i in 0..5 {
        let id = format!("conv-{i}");
        b.store()
            .insert(RAW, &format!("genesys/{id}/a.json"), doc(&id, "hello"));
    }
    b.store()
        .insert(RAW, "genesys/conv-bad/x.json", "{\"conversationId\": 7}");
    b.store()
        .insert(RAW, "genesys/loose.json", doc("conv-loose", "hi"));
    b.store().insert(RAW, "genesys/notes.txt", "not a document");

    let plan = b
        .handle(json!({"backfillPlan": {"runId": "run-1", "input": {"batchSize": 3}}}))
        .await
        .unwrap();
    assert_eq!(plan["conversations"], 8);
    assert_eq!(plan["batches"], 3);
    assert_eq!(plan["itemsKey"], "backfills/run-1/items.json");

    let out = run(&b, "run-1", json!({"batchSize": 3})).await;
    assert_eq!(out["converted"], 7, "{out}");
    assert_eq!(out["failed"], 1);
    assert_eq!(out["skipped"], 0);
    assert_eq!(
        out["reportKeys"],
        json!(["backfills/run-1/report.json", "backfills/run-1/report.csv"])
    );
    // The outputs are the converter's: the same key and bytes as on an S3 event.
    assert!(b.store().object(OUT, ORDER_OUT).is_some());
    assert!(b
        .store()
        .object(RAW, "failed/genesys/conv-bad/x.json.error.json")
        .is_some());
    let report = read(&b, "backfills/run-1/report.json");
    assert_eq!(report["sources"], 8);
    assert_eq!(
        report["notConverted"][0]["source"],
        "genesys/conv-bad/x.json"
    );
    assert!(
        report["notConverted"][0]["reason"]
            .as_str()
            .unwrap()
            .starts_with("conversationId"),
        "{report}"
    );
    let csv = String::from_utf8(
        b.store()
            .object(RAW, "backfills/run-1/report.csv")
            .unwrap()
            .to_vec(),
    )
    .unwrap();
    assert_eq!(csv.lines().count(), 9, "{csv}");
    let sent = b.notifier.as_ref().unwrap().sent();
    assert_eq!(sent.len(), 1);
    assert!(sent[0].0.contains("7 converted, 1 failed"), "{}", sent[0].0);
}

#[tokio::test]
async fn a_second_run_writes_the_same_bytes() {
    let b = backfiller();
    for i in 0..4 {
        let id = format!("conv-{i}");
        b.store()
            .insert(RAW, &format!("genesys/{id}/a.json"), doc(&id, "same"));
    }
    run(&b, "first", json!({})).await;
    let first: Vec<_> = b
        .store()
        .keys()
        .into_iter()
        .filter(|(bucket, _)| bucket == OUT)
        .map(|(bucket, key)| (key.clone(), b.store().object(&bucket, &key).unwrap()))
        .collect();
    let puts = b.store().put_count();
    run(&b, "second", json!({})).await;
    for (key, body) in &first {
        assert_eq!(&b.store().object(OUT, key).unwrap(), body, "{key}");
    }
    assert!(b.store().put_count() > puts);
    // Apart from the run id, the reports are the same too.
    let mut one = read(&b, "backfills/first/report.json");
    let mut two = read(&b, "backfills/second/report.json");
    for r in [&mut one, &mut two] {
        r["runId"] = json!("");
        r["csvKey"] = json!("");
    }
    assert_eq!(one, two);
}

#[tokio::test]
async fn a_failed_batch_and_a_stopped_map_are_reported_and_can_be_retried() {
    let b = backfiller();
    for i in 0..4 {
        let id = format!("conv-{i}");
        b.store()
            .insert(RAW, &format!("genesys/{id}/a.json"), doc(&id, "text"));
    }
    b.handle(json!({"backfillPlan": {"runId": "r1", "input": {"batchSize": 2}}}))
        .await
        .unwrap();
    let items = read(&b, "backfills/r1/items.json");
    // Batch 0 fails after its retries; batch 1 never runs (the map stopped).
    b.handle(json!({"backfillBatchFailed": {
        "item": items[0], "error": "Retryable", "cause": "reading s3://...: SlowDown"
    }}))
    .await
    .unwrap();
    let out = b
        .handle(json!({"backfillReport": {"runId": "r1", "mapFailure": {
            "Error": "States.ExceedToleratedFailureThreshold", "Cause": "The specified tolerated failure threshold was exceeded"
        }}}))
        .await
        .unwrap();
    assert_eq!(out["failed"], 4);
    assert_eq!(out["batchesNotRun"], 1);
    let report = read(&b, "backfills/r1/report.json");
    assert_eq!(
        report["notConverted"][0]["reason"],
        "Retryable: reading s3://...: SlowDown"
    );
    assert_eq!(report["notConverted"][2]["reason"], backfill::NOT_RUN);
    assert!(report["mapFailure"]
        .as_str()
        .unwrap()
        .starts_with("States.ExceedToleratedFailureThreshold"));
    assert!(b.store().keys().iter().all(|(bucket, _)| bucket != OUT));

    // Retrying what failed converts exactly those four.
    let plan = b
        .handle(json!({"backfillPlan": {"runId": "r2", "input": {"retryFailedOf": "r1"}}}))
        .await
        .unwrap();
    assert_eq!(plan["conversations"], 4);
    let out = run(&b, "r3", json!({"retryFailedOf": "r1"})).await;
    assert_eq!(out["converted"], 4);
    assert_eq!(out["failed"], 0);
    // A retry of a clean run has nothing to do.
    let plan = b
        .handle(json!({"backfillPlan": {"runId": "r4", "input": {"retryFailedOf": "r3"}}}))
        .await
        .unwrap();
    assert_eq!(plan["conversations"], 0);
    assert_eq!(read(&b, "backfills/r4/items.json"), json!([]));
}

#[tokio::test]
async fn since_leaves_out_conversations_written_before_it() {
    let b = backfiller();
    for (id, at) in [("old", 1_700_000_000), ("new", 1_800_000_000)] {
        let key = format!("genesys/{id}/a.json");
        b.store().insert(RAW, &key, doc(id, "text"));
        b.store().set_modified(RAW, &key, at);
    }
    let plan = b
        .handle(json!({"backfillPlan": {"runId": "s1", "input": {"since": "2026-01-01"}}}))
        .await
        .unwrap();
    assert_eq!(plan["conversations"], 1);
    let items = read(&b, "backfills/s1/items.json");
    assert_eq!(items[0]["sources"], json!(["genesys/new/"]));
    assert_eq!(read(&b, "backfills/s1/plan.json")["since"], "2026-01-01");
}

#[tokio::test]
async fn bad_requests_name_the_field_and_the_limit() {
    let b = backfiller();
    for (input, want) in [
        (
            json!({"prefix": "elsewhere/"}),
            "input.prefix: \"elsewhere/\" is not under RAW_PREFIX",
        ),
        (
            json!({"batchSize": 101}),
            "input.batchSize: must be 1 to 100",
        ),
        (json!({"since": "last week"}), "input.since: must be a date"),
        (
            json!({"retryFailedOf": "nope"}),
            "input.retryFailedOf: no report at s3://mlpipe-genesys-raw/backfills/nope/report.json",
        ),
        (
            json!({"retryFailedOf": "r", "since": "2026-01-01"}),
            "input.since: cannot be combined with retryFailedOf",
        ),
    ] {
        let err = b
            .handle(json!({"backfillPlan": {"runId": "x", "input": input}}))
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidInput);
        assert!(err.message.starts_with(want), "{input}: {err}");
    }
    let err = b
        .handle(json!({"backfillPlan": {"runId": "a/b"}}))
        .await
        .unwrap_err();
    assert!(err.message.starts_with("runId: must be 1 to 80"), "{err}");
    let err = b
        .handle(
            json!({"backfillBatch": {"runId": "x", "bucket": "other", "batch": 0, "sources": []}}),
        )
        .await
        .unwrap_err();
    assert!(
        err.message
            .starts_with("backfillBatch.bucket: must be RAW_BUCKET"),
        "{err}"
    );
    // A report of a run that was never planned.
    let err = b
        .handle(json!({"backfillReport": {"runId": "never"}}))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput);
    // RAW_BUCKET is required.
    let config = Config::from_source(&[("OUTPUT_BUCKET", OUT)].as_slice()).unwrap();
    let err = TestBackfiller::new(MemoryStore::new(), config, None)
        .err()
        .unwrap();
    assert_eq!(err.kind, ErrorKind::Misconfigured);
    assert!(err.message.contains("RAW_BUCKET"), "{err}");
}

#[tokio::test]
async fn storage_failures_fail_the_batch_as_retryable() {
    let b = backfiller();
    b.store()
        .insert(RAW, "genesys/c1/a.json", doc("c1", "text"));
    b.handle(json!({"backfillPlan": {"runId": "t1"}}))
        .await
        .unwrap();
    let items = read(&b, "backfills/t1/items.json");
    b.store()
        .fail_puts_with(PipelineError::retryable("writing: SlowDown"));
    let err = b
        .handle(json!({ "backfillBatch": items[0] }))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Retryable);
}

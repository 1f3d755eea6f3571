use std::collections::BTreeMap;
use std::sync::Mutex;

use serde_json::{json, Value};
use shared::store::MemoryStore;
use shared::ErrorKind;

use super::*;

const BUCKET: &str = "mlpipe-image-uploads";
const SM: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:image-background";
const EVENT: &str = include_str!("../../../../events/s3/job-manifest-created.json");
const SAMPLE: &str = include_str!("../../../../events/images/jobs/sample-job.json");
const SAMPLE_KEY: &str = "jobs/sample-job.json";

#[derive(Default)]
struct FakeTable {
    rows: Mutex<BTreeMap<String, JobRecord>>,
    fail: Mutex<Option<PipelineError>>,
}

impl JobTable for FakeTable {
    async fn record_job(&self, r: &JobRecord) -> Result<Recorded, PipelineError> {
        if let Some(e) = self.fail.lock().unwrap().clone() {
            return Err(e);
        }
        let mut rows = self.rows.lock().unwrap();
        if rows.contains_key(r.job_id.as_str()) {
            return Ok(Recorded::AlreadyRecorded);
        }
        rows.insert(r.job_id.to_string(), r.clone());
        Ok(Recorded::New)
    }
}

#[derive(Default)]
struct FakeExecutions {
    started: Mutex<Vec<(String, String, Value)>>,
}

impl Executions for FakeExecutions {
    async fn start(&self, sm: &str, name: &str, input: &Value) -> Result<Started, PipelineError> {
        let mut started = self.started.lock().unwrap();
        if started.iter().any(|(s, n, _)| s == sm && n == name) {
            return Ok(Started::AlreadyExists);
        }
        started.push((sm.to_owned(), name.to_owned(), input.clone()));
        Ok(Started::Started {
            execution_arn: format!("{}:{name}", sm.replace(":stateMachine:", ":execution:")),
        })
    }
}

type TestStarter = Starter<MemoryStore, FakeTable, FakeExecutions>;

fn config(extra: &[(&str, &str)]) -> Config {
    let mut vars = vec![("JOBS_TABLE", "image-jobs"), ("STATE_MACHINE_ARN", SM)];
    vars.extend_from_slice(extra);
    Config::from_source(&vars.as_slice()).unwrap()
}

fn starter() -> TestStarter {
    Starter::new(
        MemoryStore::new(),
        FakeTable::default(),
        FakeExecutions::default(),
        config(&[]),
    )
}

/// The fixture event, pointing at `key` (given URL-encoded, as S3 sends it).
fn event(key: &str) -> Value {
    let mut e: Value = serde_json::from_str(EVENT).unwrap();
    e["Records"][0]["s3"]["object"]["key"] = json!(key);
    e
}

fn json_at(store: &MemoryStore, key: &str) -> Value {
    let body = store
        .object(BUCKET, key)
        .unwrap_or_else(|| panic!("no s3://{BUCKET}/{key}; have {:?}", store.keys()));
    serde_json::from_slice(&body).unwrap()
}

fn manifest() -> Value {
    json!({
        "prompt": "a beach at sunset",
        "images": [
            {"key": "uploads/a.png", "labels": ["Bottle"]},
            {"key": "uploads/b.jpg", "maskBoxes": [{"left": 0.1, "top": 0.1, "width": 0.5, "height": 0.5}]}
        ]
    })
}

async fn rejected(s: &TestStarter, key: &str, body: &[u8]) -> Vec<String> {
    s.store.insert(BUCKET, key, body.to_vec());
    let out = s.handle(event(key)).await.unwrap();
    assert_eq!(out["action"], "rejected", "{out}");
    let reason = json_at(&s.store, &format!("failed/{key}.error.json"));
    assert_eq!(reason["errorType"], "InvalidInput");
    assert_eq!(reason["source"], format!("s3://{BUCKET}/{key}"));
    assert_eq!(reason["errors"], out["errors"]);
    // The manifest stays, nothing is started or recorded.
    assert!(s.store.object(BUCKET, key).is_some());
    assert!(s.executions.started.lock().unwrap().is_empty());
    assert!(s.table.rows.lock().unwrap().is_empty());
    serde_json::from_value(reason["errors"].clone()).unwrap()
}

fn assert_names(errors: &[String], field: &str) {
    assert!(
        errors.iter().any(|e| e.starts_with(field)),
        "no error names {field:?}: {errors:?}"
    );
}

#[tokio::test]
async fn valid_manifest_starts_one_execution_named_by_the_job_id() {
    let s = starter();
    s.store.insert(BUCKET, SAMPLE_KEY, SAMPLE);
    let out = s
        .handle(serde_json::from_str(EVENT).unwrap())
        .await
        .unwrap();
    let arn = "arn:aws:states:us-east-1:123456789012:execution:image-background:sample-job";
    assert_eq!(
        out,
        json!({"source": format!("s3://{BUCKET}/{SAMPLE_KEY}"), "action": "started", "jobId": "sample-job", "executionArn": arn})
    );

    // Items file: one generate-background event per image.
    let items = json_at(&s.store, "items/sample-job.json");
    let items = items.as_array().unwrap();
    assert_eq!(items.len(), 3);
    for item in items {
        let e = generate_background::Event::parse(item.clone()).unwrap();
        assert_eq!(e.job.job_id, "sample-job");
        assert_eq!(e.job.number_of_images, Some(2));
        assert_eq!(e.job.seed, Some(42));
        assert_eq!(e.job.mode, None);
    }
    // no mask: keep the main subject
    assert_eq!(
        items[0]["image"],
        json!({"key": "uploads/sample-job/product-640x480.png"})
    );
    assert!(items[2]["image"]["maskBoxes"].is_array());
    assert!(items[0]["image"].get("maskBoxes").is_none());
    assert_eq!(
        s.store
            .content_type(BUCKET, "items/sample-job.json")
            .as_deref(),
        Some("application/json")
    );

    // Job row.
    let rows = s.table.rows.lock().unwrap();
    let row = &rows["sample-job"];
    assert_eq!(row.manifest_key, SAMPLE_KEY);
    assert_eq!(row.bucket, BUCKET);
    assert_eq!(row.image_count, 3);
    assert_eq!(row.execution_arn, arn);
    assert!(time::OffsetDateTime::parse(
        &row.created_at,
        &time::format_description::well_known::Rfc3339
    )
    .is_ok());

    // Execution.
    let started = s.executions.started.lock().unwrap();
    assert_eq!(started.len(), 1);
    assert_eq!(started[0].0, SM);
    assert_eq!(started[0].1, "sample-job");
    assert_eq!(
        started[0].2,
        json!({"jobId": "sample-job", "bucket": BUCKET, "itemsKey": "items/sample-job.json", "imageCount": 3, "toleratedFailureCount": 1})
    );
}

#[tokio::test]
async fn a_second_trigger_is_a_duplicate_and_starts_nothing() {
    let s = starter();
    s.store.insert(BUCKET, SAMPLE_KEY, SAMPLE);
    let first = s.handle(event(SAMPLE_KEY)).await.unwrap();
    assert_eq!(first["action"], "started");
    let items = s.store.object(BUCKET, "items/sample-job.json").unwrap();
    let second = s.handle(event(SAMPLE_KEY)).await.unwrap();
    assert_eq!(second["action"], "duplicate");
    assert_eq!(second["jobId"], "sample-job");
    assert_eq!(second["executionArn"], first["executionArn"]);
    assert_eq!(s.executions.started.lock().unwrap().len(), 1);
    assert_eq!(s.table.rows.lock().unwrap().len(), 1);
    assert_eq!(
        s.store.object(BUCKET, "items/sample-job.json").unwrap(),
        items
    );

    // A changed manifest for the recorded job does not replace the running job's items.
    let mut changed: Value = serde_json::from_str(SAMPLE).unwrap();
    changed["prompt"] = json!("a snowy mountain");
    s.store.insert(BUCKET, SAMPLE_KEY, changed.to_string());
    let third = s.handle(event(SAMPLE_KEY)).await.unwrap();
    assert_eq!(third["action"], "duplicate");
    assert_eq!(
        s.store.object(BUCKET, "items/sample-job.json").unwrap(),
        items
    );
    assert_eq!(s.executions.started.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_recorded_job_whose_start_failed_is_started_on_retry() {
    let s = starter();
    s.store
        .insert(BUCKET, "jobs/j1.json", manifest().to_string());
    s.table.rows.lock().unwrap().insert(
        "j1".into(),
        JobRecord {
            job_id: JobId::parse("j1").unwrap(),
            manifest_key: "jobs/j1.json".into(),
            bucket: BUCKET.into(),
            image_count: 2,
            created_at: "2026-01-01T00:00:00Z".into(),
            execution_arn: config(&[]).execution_arn("j1"),
        },
    );
    let out = s.handle(event("jobs/j1.json")).await.unwrap();
    assert_eq!(out["action"], "started");
    assert_eq!(s.executions.started.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn table_failures_fail_the_invocation_with_their_kind() {
    let s = starter();
    s.store
        .insert(BUCKET, "jobs/j1.json", manifest().to_string());
    *s.table.fail.lock().unwrap() = Some(PipelineError::retryable("ThrottlingException"));
    let err = s.handle(event("jobs/j1.json")).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Retryable);
    assert!(s.executions.started.lock().unwrap().is_empty());
}

#[tokio::test]
async fn url_encoded_keys_are_decoded() {
    let s = starter();
    s.store
        .insert(BUCKET, "jobs/job_2-b.json", manifest().to_string());
    let out = s.handle(event("jobs/job_2%2Db.json")).await.unwrap();
    assert_eq!(out["action"], "started");
    assert_eq!(out["jobId"], "job_2-b");
    // `+` is a space, which a job id may not contain.
    s.store
        .insert(BUCKET, "jobs/my job.json", manifest().to_string());
    let out = s.handle(event("jobs/my+job.json")).await.unwrap();
    assert_eq!(out["action"], "rejected");
}

#[tokio::test]
async fn missing_prompt_is_rejected() {
    let s = starter();
    let mut m = manifest();
    m.as_object_mut().unwrap().remove("prompt");
    let errors = rejected(&s, "jobs/j1.json", m.to_string().as_bytes()).await;
    assert_names(&errors, "prompt: missing");
}

#[tokio::test]
async fn long_prompt_is_rejected_with_its_limit() {
    // The deployed model's limit: 10,000 characters for Stable Image Inpaint.
    let s = starter();
    let mut m = manifest();
    m["prompt"] = json!("x".repeat(10_001));
    let errors = rejected(&s, "jobs/j1.json", m.to_string().as_bytes()).await;
    assert_names(
        &errors,
        "prompt: 10001 characters, must be 1 to 10000 for stability.stable-image-inpaint-v1:0",
    );
    m["prompt"] = json!("x".repeat(10_000));
    s.store.insert(BUCKET, "jobs/j2.json", m.to_string());
    assert_eq!(
        s.handle(event("jobs/j2.json")).await.unwrap()["action"],
        "started"
    );
    // Titan's 512 when Titan is deployed.
    let s = legacy_starter();
    m["prompt"] = json!("x".repeat(513));
    let errors = rejected(&s, "jobs/j3.json", m.to_string().as_bytes()).await;
    assert_names(&errors, "prompt: 513 characters, must be 1 to 512");
    m["prompt"] = json!("x".repeat(512));
    s.store.insert(BUCKET, "jobs/j4.json", m.to_string());
    assert_eq!(
        s.handle(event("jobs/j4.json")).await.unwrap()["action"],
        "started"
    );
}

fn legacy_starter() -> TestStarter {
    Starter::new(
        MemoryStore::new(),
        FakeTable::default(),
        FakeExecutions::default(),
        config(&[("MODEL_ID", "amazon.titan-image-generator-v2:0")]),
    )
}

#[tokio::test]
async fn the_manifest_is_checked_against_the_deployed_model() {
    let s = starter();
    let mut m = manifest();
    m["model"] = json!("amazon.titan-image-generator-v2:0");
    m["cfgScale"] = json!(7.5);
    m["mode"] = json!("PRECISE");
    m["growMask"] = json!(25);
    let errors = rejected(&s, "jobs/j1.json", m.to_string().as_bytes()).await;
    assert_names(&errors, "model: \"amazon.titan-image-generator-v2:0\" is not the deployed model stability.stable-image-inpaint-v1:0");
    assert_names(
        &errors,
        "mode: not used by stability.stable-image-inpaint-v1:0",
    );
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with("cfgScale: not used") || e.starts_with("growMask: 25")),
        "{errors:?}"
    );
    // Naming the deployed model (any of its ids) is fine; Stability options pass.
    let mut m = manifest();
    m["model"] = json!("us.stability.stable-image-inpaint-v1:0");
    m["growMask"] = json!(10);
    m["stylePreset"] = json!("photographic");
    s.store.insert(BUCKET, "jobs/j2.json", m.to_string());
    assert_eq!(
        s.handle(event("jobs/j2.json")).await.unwrap()["action"],
        "started"
    );
    // A legacy deployment: its options pass, an image without a mask cannot be kept.
    let s = legacy_starter();
    let mut m = manifest();
    m["cfgScale"] = json!(7.5);
    m["images"][0] = json!({"key": "uploads/c.png"});
    let errors = rejected(&s, "jobs/j3.json", m.to_string().as_bytes()).await;
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_names(&errors, "images[0]: no labels or maskBoxes; keeping the main subject needs Stable Image Remove Background");
}

#[tokio::test]
async fn tolerated_failures_take_the_larger_of_count_and_percentage() {
    let c = config(&[]);
    assert_eq!(c.tolerated_failures(3), 1, "one bad image of three");
    assert_eq!(c.tolerated_failures(1), 1);
    assert_eq!(c.tolerated_failures(100), 10);
    assert_eq!(c.tolerated_failures(10_000), 1000);
    let c = config(&[
        ("TOLERATED_FAILURE_COUNT", "0"),
        ("TOLERATED_FAILURE_PERCENTAGE", "0"),
    ]);
    assert_eq!(c.tolerated_failures(50), 0);
    let c = config(&[
        ("TOLERATED_FAILURE_COUNT", "5"),
        ("TOLERATED_FAILURE_PERCENTAGE", "20"),
    ]);
    assert_eq!(c.tolerated_failures(10), 5);
    assert_eq!(c.tolerated_failures(100), 20);
    let e = Config::from_source(&[
        ("JOBS_TABLE", "t"),
        ("STATE_MACHINE_ARN", SM),
        ("TOLERATED_FAILURE_PERCENTAGE", "101"),
    ])
    .unwrap_err();
    assert_eq!(e.name, "TOLERATED_FAILURE_PERCENTAGE");
    let e = Config::from_source(&[
        ("JOBS_TABLE", "t"),
        ("STATE_MACHINE_ARN", SM),
        ("MODEL_ID", "x"),
    ])
    .unwrap_err();
    assert_eq!(e.name, "MODEL_ID");
}

#[tokio::test]
async fn a_bom_prefixed_manifest_is_read() {
    let s = starter();
    let mut body = "\u{feff}".as_bytes().to_vec();
    body.extend_from_slice(manifest().to_string().as_bytes());
    s.store.insert(BUCKET, "jobs/bom.json", body);
    assert_eq!(
        s.handle(event("jobs/bom.json")).await.unwrap()["action"],
        "started"
    );
}

#[tokio::test]
async fn labels_and_mask_boxes_together_are_rejected() {
    let s = starter();
    let mut m = manifest();
    m["images"][1]["labels"] = json!(["Person"]);
    let errors = rejected(&s, "jobs/j1.json", m.to_string().as_bytes()).await;
    assert_names(
        &errors,
        "images[1].labels, images[1].maskBoxes, images[1].mask: 2 given, at most one is allowed",
    );
}

#[tokio::test]
async fn zero_images_are_rejected() {
    let s = starter();
    let mut m = manifest();
    m["images"] = json!([]);
    let errors = rejected(&s, "jobs/j1.json", m.to_string().as_bytes()).await;
    assert_names(&errors, "images: 0 given, must be 1 to 10000");
}

#[tokio::test]
async fn too_many_images_are_rejected() {
    let s = Starter::new(
        MemoryStore::new(),
        FakeTable::default(),
        FakeExecutions::default(),
        config(&[("MAX_IMAGES", "1")]),
    );
    let errors = rejected(&s, "jobs/j1.json", manifest().to_string().as_bytes()).await;
    assert_names(&errors, "images: 2 given, must be 1 to 1");
}

#[tokio::test]
async fn bad_job_id_in_the_key_is_rejected() {
    let s = starter();
    let errors = rejected(&s, "jobs/bad.id!.json", manifest().to_string().as_bytes()).await;
    assert_names(&errors, "jobId:");
    let long = format!("jobs/{}.json", "a".repeat(81));
    let errors = rejected(&s, &long, manifest().to_string().as_bytes()).await;
    assert_names(&errors, "jobId:");
}

#[tokio::test]
async fn not_json_is_rejected() {
    let s = starter();
    let errors = rejected(&s, "jobs/j1.json", b"prompt: beach").await;
    assert_names(&errors, "manifest: not JSON");
}

#[tokio::test]
async fn type_errors_name_the_path() {
    let s = starter();
    let mut m = manifest();
    m["images"][0]["labels"] = json!("Bottle");
    let errors = rejected(&s, "jobs/j1.json", m.to_string().as_bytes()).await;
    assert_names(&errors, "images[0].labels:");
    let mut m = manifest();
    m["mode"] = json!("FAST");
    let errors = rejected(&s, "jobs/j2.json", m.to_string().as_bytes()).await;
    assert_names(&errors, "mode:");
    let mut m = manifest();
    m["colour"] = json!("red");
    let errors = rejected(&s, "jobs/j3.json", m.to_string().as_bytes()).await;
    assert!(errors[0].contains("colour"), "{errors:?}");
}

#[tokio::test]
async fn every_problem_is_listed() {
    let s = starter();
    let m = json!({
        "prompt": "",
        "model": "stability.sd3",
        "numberOfImages": 9,
        "images": [
            {"key": "a.png", "labels": ["x"]},
            {"key": "a.png", "labels": ["y"], "mask": "subject"},
            {"key": "", "maskBoxes": [{"left": 0.5, "top": 0.5, "width": 0.9, "height": 0.2}]}
        ]
    });
    let errors = rejected(&s, "jobs/j1.json", m.to_string().as_bytes()).await;
    assert!(
        errors
            .iter()
            .any(|e| e.contains("\"stability.sd3\" is not a supported image model")),
        "{errors:?}"
    );
    assert_names(&errors, "prompt: empty");
    assert_names(&errors, "numberOfImages: 9, must be 1 to 5");
    assert_names(&errors, "images[1].key: \"a.png\" appears more than once");
    assert_names(
        &errors,
        "images[1].labels, images[1].maskBoxes, images[1].mask: 2 given, at most one is allowed",
    );
    assert_names(&errors, "images[2].key:");
    assert_names(&errors, "images[2].maskBoxes[0]:");
}

#[tokio::test]
async fn other_objects_are_ignored() {
    let s = starter();
    for key in [
        "jobs/j1.txt",
        "uploads/j1.json",
        "items/j1.json",
        "failed/jobs/j1.json.error.json",
        "jobs/sub/j1.json",
    ] {
        s.store.insert(BUCKET, key, manifest().to_string());
        let out = s.handle(event(key)).await.unwrap();
        assert_eq!(out["action"], "ignored", "{key}: {out}");
    }
    let mut e = event("jobs/j1.json");
    e["Records"][0]["eventName"] = json!("ObjectRemoved:Delete");
    assert_eq!(s.handle(e).await.unwrap()["action"], "ignored");
    assert!(s.executions.started.lock().unwrap().is_empty());
    assert_eq!(s.store.put_count(), 0);
}

#[tokio::test]
async fn a_missing_manifest_is_invalid_input() {
    let s = starter();
    let err = s.handle(event("jobs/gone.json")).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput);
}

#[test]
fn config_defaults_and_checks() {
    let c = config(&[]);
    assert_eq!(c.jobs_prefix, "jobs/");
    assert_eq!(c.items_prefix, "items/");
    assert_eq!(c.failed_prefix, "failed/");
    assert_eq!(c.max_images, 10_000);
    assert!(Config::from_source(&[("STATE_MACHINE_ARN", SM)])
        .unwrap_err()
        .to_string()
        .contains("JOBS_TABLE"));
    assert!(Config::from_source(&[("JOBS_TABLE", "t")])
        .unwrap_err()
        .to_string()
        .contains("STATE_MACHINE_ARN"));
    let bad = |extra: &[(&str, &str)]| {
        // Extras first: the first match wins.
        let mut vars = extra.to_vec();
        vars.extend_from_slice(&[("JOBS_TABLE", "t"), ("STATE_MACHINE_ARN", SM)]);
        Config::from_source(&vars.as_slice()).unwrap_err().name
    };
    assert_eq!(bad(&[("ITEMS_PREFIX", "jobs/items")]), "ITEMS_PREFIX");
    assert_eq!(bad(&[("MAX_IMAGES", "0")]), "MAX_IMAGES");
    assert_eq!(bad(&[("STATE_MACHINE_ARN", "nope")]), "STATE_MACHINE_ARN");
}

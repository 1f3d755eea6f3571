use std::collections::BTreeMap;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::types::AttributeValue;

use serde_json::json;
use shared::notify::RecordingNotifier;
use shared::store::MemoryStore;
use shared::ErrorKind;

use super::*;

const BUCKET: &str = "mlpipe-reports";
const UPLOADS: &str = "mlpipe-image-uploads";
/// 2026-01-01T00:00:00Z, the fake clock.
const NOW_SECS: u64 = 1_767_225_600;

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(NOW_SECS)
}

fn hours(h: u64) -> Duration {
    Duration::from_secs(h * 3600)
}
const TOPIC: &str = "arn:aws:sns:eu-west-1:123456789012:image-jobs";

fn config(extra: &[(&str, &str)]) -> Config {
    let mut vars = vec![
        ("STATUS_TABLE", "image-status"),
        ("REPORT_BUCKET", BUCKET),
        ("TOPIC_ARN", TOPIC),
    ];
    vars.extend_from_slice(extra);
    Config::from_source(&vars.as_slice()).unwrap()
}

/// Rows of one job served in fixed-size pages, in image key order, as DynamoDB does.
#[derive(Default)]
struct FakeRows {
    jobs: BTreeMap<String, Vec<StatusRow>>,
    page_size: usize,
    calls: Mutex<Vec<Option<String>>>,
}

impl StatusRows for FakeRows {
    async fn page(
        &self,
        job_id: &str,
        start_key: Option<String>,
    ) -> Result<(Vec<StatusRow>, Option<String>), PipelineError> {
        self.calls.lock().unwrap().push(start_key.clone());
        let mut all = self.jobs.get(job_id).cloned().unwrap_or_default();
        all.sort_by(|a, b| a.image_key.cmp(&b.image_key));
        let rest: Vec<_> = all
            .into_iter()
            .filter(|r| {
                start_key
                    .as_deref()
                    .is_none_or(|s| r.image_key.as_str() > s)
            })
            .collect();
        let page: Vec<_> = rest.iter().take(self.page_size).cloned().collect();
        let next = (rest.len() > self.page_size).then(|| page.last().unwrap().image_key.clone());
        Ok((page, next))
    }
}

/// Signs at the fake clock's time with credentials expiring at `credentials_expiry`.
#[derive(Default)]
struct FakePresigner {
    credentials_expiry: Option<SystemTime>,
    temporary: bool,
}

impl Presigner for FakePresigner {
    async fn presign_get(
        &self,
        bucket: &str,
        key: &str,
        expires: Duration,
    ) -> Result<PresignedUrl, PipelineError> {
        let expiry = effective_expiry(now(), expires, self.credentials_expiry, self.temporary)?;
        Ok(PresignedUrl {
            url: format!(
                "https://{bucket}.s3.amazonaws.com/{key}?X-Amz-Expires={}",
                expiry.valid_for.as_secs()
            ),
            expiry,
        })
    }
}

type TestReporter = Reporter<FakeRows, RecordingNotifier, FakePresigner, MemoryStore>;

fn reporter(job: &str, rows: Vec<StatusRow>, page_size: usize) -> TestReporter {
    let fake = FakeRows {
        jobs: BTreeMap::from([(job.to_owned(), rows)]),
        page_size,
        ..Default::default()
    };
    Reporter::new(
        fake,
        RecordingNotifier::default(),
        FakePresigner::default(),
        MemoryStore::new(),
        config(&[]),
    )
}

/// A reporter whose upload bucket holds `items/<job>.json` with one item per key.
fn reporter_with_items(job: &str, keys: &[&str], rows: Vec<StatusRow>) -> TestReporter {
    let r = reporter(job, rows, 3);
    r.store
        .insert(UPLOADS, &items_key(job), items_file(job, keys).to_string());
    r
}

fn items_key(job: &str) -> String {
    format!("items/{job}.json")
}

/// An items file as start-image-job writes it.
fn items_file(job: &str, keys: &[&str]) -> Value {
    Value::Array(
        keys.iter()
            .map(|k| {
                json!({
                    "job": {"jobId": job, "prompt": "a beach", "numberOfImages": 1},
                    "image": {"key": k, "labels": ["person"]},
                })
            })
            .collect(),
    )
}

fn event(job: &str) -> Value {
    json!({"jobId": job, "bucket": UPLOADS, "itemsKey": items_key(job)})
}

fn json_object(r: &TestReporter, key: &str) -> Value {
    serde_json::from_slice(&r.store.object(BUCKET, key).unwrap()).unwrap()
}

fn text_object(r: &TestReporter, key: &str) -> String {
    String::from_utf8(r.store.object(BUCKET, key).unwrap().to_vec()).unwrap()
}

fn sample_rows() -> Vec<StatusRow> {
    vec![
        StatusRow::succeeded("images/e.png", vec!["generated/e/0.png".into()]),
        StatusRow::failed(
            "images/b.jpg",
            "ValidationException",
            "unsupported size 3000x3000",
        ),
        StatusRow::succeeded("images/a.png", vec!["generated/a/0.png".into()]),
        StatusRow::succeeded(
            "images/g.png",
            vec!["generated/g/0.png".into(), "generated/g/1.png".into()],
        ),
        StatusRow::failed("images/d.png", "ModelError", "<script>alert(1)</script>"),
        StatusRow::succeeded("images/c.png", vec!["generated/c/0.png".into()]),
        StatusRow::succeeded("images/f.png", vec![]),
    ]
}

// ---- DynamoDB rows and configuration ----

#[test]
fn items_map_to_rows() {
    let item = HashMap::from([
        ("jobId".to_owned(), AttributeValue::S("j".into())),
        ("imageKey".to_owned(), AttributeValue::S("a.png".into())),
        ("status".to_owned(), AttributeValue::S("Succeeded".into())),
        (
            "outputs".to_owned(),
            AttributeValue::L(vec![AttributeValue::S("o/a.png".into())]),
        ),
        (
            "updatedAt".to_owned(),
            AttributeValue::S("2026-01-01T00:00:00Z".into()),
        ),
    ]);
    let row = row_from_item(&item).unwrap();
    assert_eq!(row.status, Status::Succeeded);
    assert_eq!(row.outputs, ["o/a.png"]);
    assert_eq!(row.updated_at.as_deref(), Some("2026-01-01T00:00:00Z"));

    let odd = HashMap::from([
        ("imageKey".to_owned(), AttributeValue::S("b.png".into())),
        ("status".to_owned(), AttributeValue::S("Running".into())),
    ]);
    let row = row_from_item(&odd).unwrap();
    assert_eq!(row.status, Status::Failed);
    assert!(row.reason().contains("Running"));

    let bad = HashMap::from([("status".to_owned(), AttributeValue::S("Failed".into()))]);
    assert_eq!(
        row_from_item(&bad).unwrap_err().kind,
        ErrorKind::InvalidInput
    );
}

#[test]
fn config_defaults_and_limits() {
    let c = config(&[]);
    assert_eq!(c.report_prefix, "reports/");
    assert_eq!(c.url_expires, Duration::from_secs(604_800));
    assert_eq!(config(&[("REPORT_PREFIX", "/out")]).report_prefix, "out/");
    let vars = [
        ("STATUS_TABLE", "t"),
        ("REPORT_BUCKET", "b"),
        ("TOPIC_ARN", "a"),
        ("URL_EXPIRES_SECONDS", "604801"),
    ];
    let err = Config::from_source(&vars).unwrap_err();
    assert_eq!(err.name, "URL_EXPIRES_SECONDS");
    let err = Config::from_source(&[("STATUS_TABLE", "t"), ("REPORT_BUCKET", "b")]).unwrap_err();
    assert_eq!(err.name, "TOPIC_ARN");
}

// ---- handler with fakes ----

#[tokio::test]
async fn three_pages_are_all_reported() {
    let job = "job-42";
    let r = reporter(job, sample_rows(), 3);
    let out = r
        .handle(json!({"jobId": job, "mapResult": {"ignored": true}}))
        .await
        .unwrap();

    // 7 rows in pages of 3: three queries, the last two continuing after the previous page.
    let calls = r.rows.calls.lock().unwrap().clone();
    assert_eq!(
        calls,
        [
            None,
            Some("images/c.png".to_owned()),
            Some("images/f.png".to_owned())
        ]
    );
    assert_eq!((out.total, out.succeeded, out.failed), (7, 5, 2));

    let keys = [
        "reports/job-42/report.json",
        "reports/job-42/report.csv",
        "reports/job-42/report.html",
    ];
    assert_eq!(out.report_keys, keys);
    assert_eq!(r.store.put_count(), 3);
    for (key, ct) in keys.iter().zip([
        "application/json",
        "text/csv; charset=utf-8",
        "text/html; charset=utf-8",
    ]) {
        assert_eq!(r.store.content_type(BUCKET, key).as_deref(), Some(ct));
    }
    let doc: Value = serde_json::from_slice(&r.store.object(BUCKET, keys[0]).unwrap()).unwrap();
    assert_eq!(doc["rows"].as_array().unwrap().len(), 7);
    let csv = r.store.object(BUCKET, keys[1]).unwrap();
    assert_eq!(std::str::from_utf8(&csv).unwrap().lines().count(), 8);

    assert_eq!(
        out.report_url,
        "https://mlpipe-reports.s3.amazonaws.com/reports/job-42/report.html?X-Amz-Expires=604800"
    );
    assert_eq!(out.report_url_valid_until, "2026-01-08T00:00:00Z");
    let sent = r.notifier.sent();
    assert_eq!(sent.len(), 1);
    let (subject, body) = &sent[0];
    assert_eq!(subject, "Image job job-42: 5 succeeded, 2 failed");
    assert!(body.contains(&out.report_url), "{body}");
    assert!(body.contains("Total: 7"));
    assert!(body.contains("- images/b.jpg: ValidationException: unsupported size 3000x3000"));
    assert!(body.contains("- images/d.png: ModelError: <script>alert(1)</script>"));

    let v = serde_json::to_value(&out).unwrap();
    assert_eq!(
        v,
        json!({
            "jobId": job, "total": 7, "succeeded": 5, "failed": 2, "notRun": 0,
            "reportUrl": out.report_url, "reportUrlValidUntil": "2026-01-08T00:00:00Z",
            "reportKeys": keys,
        })
    );
}

#[tokio::test]
async fn an_empty_job_gets_an_empty_report() {
    let r = reporter("other-job", sample_rows(), 3);
    let out = r.handle(json!({"jobId": "empty_job"})).await.unwrap();
    assert_eq!((out.total, out.succeeded, out.failed), (0, 0, 0));
    assert_eq!(r.store.put_count(), 3);
    let doc: Value = serde_json::from_slice(
        &r.store
            .object(BUCKET, "reports/empty_job/report.json")
            .unwrap(),
    )
    .unwrap();
    assert_eq!(doc["rows"], json!([]));
    let sent = r.notifier.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, "Image job empty_job: 0 succeeded, 0 failed");
    assert!(!sent[0].1.contains("Failed images"));
}

#[tokio::test]
async fn invalid_job_ids_are_rejected() {
    for event in [
        json!({"jobId": "../etc"}),
        json!({"jobId": ""}),
        json!({"jobId": "a b"}),
        json!({"jobId": "x".repeat(81)}),
        json!({"jobId": 7}),
        json!({}),
    ] {
        let r = reporter("job", sample_rows(), 3);
        let err = r.handle(event.clone()).await.unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidInput, "{event}");
        assert!(err.message.starts_with("jobId"), "{}", err.message);
        assert_eq!(r.store.put_count(), 0);
        assert!(r.notifier.sent().is_empty());
        assert!(r.rows.calls.lock().unwrap().is_empty());
    }
    assert!(job_id(&json!({"jobId": "x".repeat(80)})).is_ok());
}

#[tokio::test]
async fn a_failing_write_fails_before_notifying() {
    let r = reporter("job", sample_rows(), 3);
    r.store
        .fail_puts_with(PipelineError::retryable("writing: SlowDown"));
    let err = r.handle(json!({"jobId": "job"})).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Retryable);
    assert!(r.notifier.sent().is_empty());
}

/// An offline S3 presigner whose credentials provider serves `credentials`, at the fake clock.
fn s3_presigner(credentials: aws_sdk_s3::config::Credentials) -> S3Presigner {
    let provider = aws_sdk_s3::config::SharedCredentialsProvider::new(credentials);
    let conf = aws_sdk_s3::config::Builder::new()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new("eu-west-1"))
        .credentials_provider(provider.clone())
        .build();
    S3Presigner::with_clock(aws_sdk_s3::Client::from_conf(conf), Some(provider), now)
}

#[tokio::test]
async fn s3_presigner_signs_offline() {
    // Static keys: no session token, no expiry: the configured validity applies.
    let p = s3_presigner(aws_sdk_s3::config::Credentials::new(
        "AKIDEXAMPLE",
        "secret",
        None,
        None,
        "test",
    ));
    let signed = p
        .presign_get(
            BUCKET,
            "reports/j/report.html",
            Duration::from_secs(604_800),
        )
        .await
        .unwrap();
    let url = &signed.url;
    assert!(url.starts_with("https://"), "{url}");
    assert!(url.contains("reports/j/report.html"), "{url}");
    assert!(url.contains("X-Amz-Expires=604800"), "{url}");
    assert!(url.contains("X-Amz-Date=20260101T000000Z"), "{url}");
    assert!(url.contains("X-Amz-Signature="), "{url}");
    assert_eq!(
        signed.expiry,
        LinkExpiry {
            signed_at: now(),
            valid_for: Duration::from_secs(604_800),
            limit: ExpiryLimit::Configured,
        }
    );
}

#[tokio::test]
async fn s3_presigner_stops_at_the_credentials_expiry() {
    // Role credentials expiring in 2 h 30 min 10.5 s: the URL says (and lasts) 9010 s.
    let expiry = now() + Duration::from_millis(9_010_500);
    let p = s3_presigner(aws_sdk_s3::config::Credentials::new(
        "ASIAEXAMPLE",
        "secret",
        Some("session-token".into()),
        Some(expiry),
        "test",
    ));
    let signed = p
        .presign_get(
            BUCKET,
            "reports/j/report.html",
            Duration::from_secs(604_800),
        )
        .await
        .unwrap();
    assert!(signed.url.contains("X-Amz-Expires=9010"), "{}", signed.url);
    assert!(
        signed.url.contains("X-Amz-Security-Token=session-token"),
        "signed with exactly those credentials: {}",
        signed.url
    );
    assert_eq!(signed.expiry.limit, ExpiryLimit::Credentials);
    assert_eq!(signed.expiry.valid_for, Duration::from_secs(9010));
    assert_eq!(rfc3339(signed.expiry.expires_at()), "2026-01-01T02:30:10Z");

    // Temporary credentials that do not say when they expire (Lambda's environment).
    let p = s3_presigner(aws_sdk_s3::config::Credentials::new(
        "ASIAEXAMPLE",
        "secret",
        Some("session-token".into()),
        None,
        "test",
    ));
    let signed = p
        .presign_get(BUCKET, "k", Duration::from_secs(3600))
        .await
        .unwrap();
    assert!(signed.url.contains("X-Amz-Expires=3600"), "{}", signed.url);
    assert_eq!(
        signed.expiry.limit,
        ExpiryLimit::ConfiguredUnlessCredentialsExpire
    );

    // Credentials about to expire: no link that is already dead, a retry gets fresh ones.
    let p = s3_presigner(aws_sdk_s3::config::Credentials::new(
        "ASIAEXAMPLE",
        "secret",
        Some("t".into()),
        Some(now() + Duration::from_secs(20)),
        "test",
    ));
    let err = p
        .presign_get(BUCKET, "k", Duration::from_secs(3600))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Retryable);
    assert!(
        err.message.starts_with("presigning s3://"),
        "{}",
        err.message
    );

    // No credentials provider at all.
    let conf = aws_sdk_s3::config::Builder::new()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new("eu-west-1"))
        .build();
    let p = S3Presigner::new(aws_sdk_s3::Client::from_conf(conf), None);
    let err = p
        .presign_get(BUCKET, "k", Duration::from_secs(3600))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Misconfigured);
}

#[test]
fn credentials_errors_are_classified() {
    use aws_credential_types::provider::error::CredentialsError;
    let e = credentials_error("presigning", &CredentialsError::not_loaded("no env vars"));
    assert_eq!(e.kind, ErrorKind::Misconfigured);
    assert!(e.message.contains("no env vars"), "{}", e.message);
    let e = credentials_error(
        "presigning",
        &CredentialsError::provider_timed_out(Duration::from_secs(5)),
    );
    assert_eq!(e.kind, ErrorKind::Retryable);
}

// ---- the link's real expiry ----

#[tokio::test]
async fn the_message_and_report_say_when_the_link_really_expires() {
    let job = "job-creds";
    let mut r = reporter_with_items(job, &["a.png"], vec![StatusRow::succeeded("a.png", vec![])]);
    r.presigner = FakePresigner {
        credentials_expiry: Some(now() + hours(6)),
        temporary: true,
    };
    let out = r.handle(event(job)).await.unwrap();
    assert!(
        out.report_url.contains("X-Amz-Expires=21600"),
        "{}",
        out.report_url
    );
    assert_eq!(out.report_url_valid_until, "2026-01-01T06:00:00Z");

    let body = r.notifier.sent()[0].1.clone();
    assert!(
        body.contains("valid until 2026-01-01 06:00:00 UTC (about 6 hours)"),
        "{body}"
    );
    assert!(body.contains("temporary credentials"), "{body}");
    assert!(
        body.contains("aws s3 presign s3://mlpipe-reports/reports/job-creds/report.html"),
        "{body}"
    );
    assert!(!body.contains("7 days)"), "{body}");

    let doc = json_object(&r, "reports/job-creds/report.json");
    assert_eq!(doc["link"]["validUntil"], "2026-01-01T06:00:00Z");
    assert_eq!(doc["link"]["validForSeconds"], 21_600);
    assert_eq!(doc["link"]["limitedBy"], "credentials");
    let html = text_object(&r, "reports/job-creds/report.html");
    assert!(
        html.contains("valid until 2026-01-01 06:00:00 UTC (about 6 hours)"),
        "{html}"
    );
    assert!(
        html.contains("<code>aws s3 presign s3://mlpipe-reports/reports/job-creds/report.html --expires-in 604800</code>"),
        "{html}"
    );
}

#[tokio::test]
async fn credentials_about_to_expire_fail_before_writing() {
    let job = "job-late";
    let mut r = reporter_with_items(job, &["a.png"], vec![]);
    r.presigner = FakePresigner {
        credentials_expiry: Some(now() + Duration::from_secs(10)),
        temporary: true,
    };
    let err = r.handle(event(job)).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Retryable);
    assert_eq!(r.store.put_count(), 0);
    assert!(r.notifier.sent().is_empty());
}

// ---- every image of the items file ----

#[tokio::test]
async fn every_image_is_listed_when_some_have_no_row() {
    let job = "job-aborted";
    let keys = [
        "images/a.png",
        "images/b.jpg",
        "images/c.png",
        "images/d.png",
        "images/e.png",
    ];
    let rows = vec![
        StatusRow::succeeded("images/a.png", vec!["generated/a/0.png".into()]),
        StatusRow::failed("images/b.jpg", "ValidationException", "too big"),
        StatusRow::failed("images/d.png", "ModelError", "blocked"),
    ];
    let r = reporter_with_items(job, &keys, rows);
    let out = r.handle(event(job)).await.unwrap();
    assert_eq!(
        (out.total, out.succeeded, out.failed, out.not_run),
        (5, 1, 2, 2)
    );
    let v = serde_json::to_value(&out).unwrap();
    assert_eq!(v["notRun"], 2);

    let doc = json_object(&r, "reports/job-aborted/report.json");
    assert_eq!(
        (
            &doc["total"],
            &doc["succeeded"],
            &doc["failed"],
            &doc["notRun"]
        ),
        (&json!(5), &json!(1), &json!(2), &json!(2))
    );
    assert!(doc.get("rowsNotInItems").is_none(), "{doc}");
    let statuses: Vec<(&str, &str)> = doc["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["imageKey"].as_str().unwrap(),
                r["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [
            ("images/a.png", "Succeeded"),
            ("images/b.jpg", "Failed"),
            ("images/c.png", "NotRun"),
            ("images/d.png", "Failed"),
            ("images/e.png", "NotRun"),
        ]
    );

    let csv = text_object(&r, "reports/job-aborted/report.csv");
    assert_eq!(csv.lines().count(), 6, "{csv}");
    assert!(csv.contains("images/c.png,NotRun,,,,\r\n"), "{csv}");

    let html = text_object(&r, "reports/job-aborted/report.html");
    assert!(html.contains("Not run: 2"), "{html}");
    assert!(html.contains("<h2>Not run</h2>"), "{html}");
    assert!(html.contains(report::NOT_RUN_REASON), "{html}");
    assert_eq!(html.matches(">Not run</td>").count(), 2, "{html}");

    let (subject, body) = r.notifier.sent()[0].clone();
    assert_eq!(
        subject,
        "Image job job-aborted: 1 succeeded, 2 failed, 2 not run"
    );
    assert!(
        body.starts_with("Image job job-aborted stopped before every image ran."),
        "{body}"
    );
    assert!(body.contains("Total: 5\n"), "{body}");
    assert!(body.contains("Not run: 2\n"), "{body}");
    assert!(body.contains("- images/c.png\n- images/e.png\n"), "{body}");
    assert!(
        body.contains("- images/b.jpg: ValidationException: too big"),
        "{body}"
    );
}

#[tokio::test]
async fn a_complete_job_reads_the_items_file_and_has_nothing_not_run() {
    let job = "job-ok";
    let r = reporter_with_items(
        job,
        &["x.png", "y.png"],
        vec![
            StatusRow::succeeded("x.png", vec![]),
            StatusRow::succeeded("y.png", vec![]),
        ],
    );
    let out = r.handle(event(job)).await.unwrap();
    assert_eq!(
        (out.total, out.succeeded, out.failed, out.not_run),
        (2, 2, 0, 0)
    );
    let (subject, body) = r.notifier.sent()[0].clone();
    assert_eq!(subject, "Image job job-ok: 2 succeeded, 0 failed");
    assert!(body.starts_with("Image job job-ok finished."), "{body}");
    assert!(!body.contains("Not run"), "{body}");
    let html = text_object(&r, "reports/job-ok/report.html");
    assert!(!html.contains("Not run"), "{html}");
}

#[tokio::test]
async fn many_not_run_images_are_capped_in_the_message() {
    let job = "job-big";
    let keys: Vec<String> = (0..10_000).map(|i| format!("images/{i:05}.png")).collect();
    let key_refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    let rows = (0..7)
        .map(|i| StatusRow::failed(format!("images/{i:05}.png"), "E", "boom"))
        .collect();
    let r = reporter_with_items(job, &key_refs, rows);
    let out = r.handle(event(job)).await.unwrap();
    assert_eq!(
        (out.total, out.succeeded, out.failed, out.not_run),
        (10_000, 0, 7, 9_993)
    );
    let body = r.notifier.sent()[0].1.clone();
    assert!(body.contains("- images/00026.png\n"), "{body}");
    assert!(!body.contains("images/00027.png"), "{body}");
    assert!(body.contains(&format!("... and {} more", 9_993 - MAX_LISTED_NOT_RUN)));
    assert!(body.len() < 256 * 1024);
    let doc = json_object(&r, "reports/job-big/report.json");
    assert_eq!(doc["rows"].as_array().unwrap().len(), 10_000);
}

#[tokio::test]
async fn stray_rows_are_still_listed() {
    let job = "job-stray";
    let rows = vec![
        StatusRow::succeeded("a.png", vec![]),
        StatusRow::failed("zz-not-in-items.png", "E", "why"),
    ];
    let r = reporter_with_items(job, &["a.png", "b.png"], rows);
    let out = r.handle(event(job)).await.unwrap();
    assert_eq!(
        (out.total, out.succeeded, out.failed, out.not_run),
        (3, 1, 1, 1)
    );
    let doc = json_object(&r, "reports/job-stray/report.json");
    assert_eq!(doc["rowsNotInItems"], 1);
    let keys: Vec<_> = doc["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["imageKey"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["a.png", "b.png", "zz-not-in-items.png"]);
    let html = text_object(&r, "reports/job-stray/report.html");
    assert!(html.contains("not in the job's items file"), "{html}");
}

#[tokio::test]
async fn the_old_input_builds_the_report_from_the_rows_alone() {
    let job = "job-old";
    // An items file exists, but the old input does not name it: it is not read.
    let r = reporter_with_items(
        job,
        &["a.png", "b.png", "c.png"],
        vec![StatusRow::succeeded("a.png", vec![])],
    );
    let out = r.handle(json!({"jobId": job})).await.unwrap();
    assert_eq!(
        (out.total, out.succeeded, out.failed, out.not_run),
        (1, 1, 0, 0)
    );
    let doc = json_object(&r, "reports/job-old/report.json");
    assert_eq!(doc["notRun"], 0);
    assert_eq!(doc["rows"].as_array().unwrap().len(), 1);
    let (subject, body) = r.notifier.sent()[0].clone();
    assert_eq!(subject, "Image job job-old: 1 succeeded, 0 failed");
    assert!(body.starts_with("Image job job-old finished."), "{body}");
}

#[tokio::test]
async fn a_missing_items_file_is_invalid_input_naming_the_key() {
    let r = reporter("job-gone", sample_rows(), 3);
    let err = r.handle(event("job-gone")).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput);
    assert!(err.message.starts_with("itemsKey: "), "{}", err.message);
    assert!(
        err.message
            .contains("s3://mlpipe-image-uploads/items/job-gone.json"),
        "{}",
        err.message
    );
    assert_eq!(r.store.put_count(), 0);
    assert!(r.notifier.sent().is_empty());
    assert!(
        r.rows.calls.lock().unwrap().is_empty(),
        "no query before the items file is read"
    );
}

#[tokio::test]
async fn a_malformed_items_file_is_invalid_input_naming_the_item() {
    let job = "job-bad";
    let good = |k: &str| {
        json!({"job": {"jobId": job, "prompt": "p"}, "image": {"key": k, "labels": ["x"]}})
            .to_string()
    };
    let cases: Vec<(String, &str)> = vec![
        (
            json!({"not": "an array"}).to_string(),
            "not a JSON array of items",
        ),
        ("".to_owned(), "not a JSON array of items"),
        (format!("[{}] [] ", good("a")), "not a JSON array of items"),
        (
            format!(
                "[{},{},{},{{\"job\":{{\"jobId\":\"{job}\"}},\"image\":{{}}}}]",
                good("a"),
                good("b"),
                good("c")
            ),
            "items[3].image.key: missing",
        ),
        (
            format!("[{},7]", good("a")),
            "items[1]: a number, an object is expected",
        ),
        (
            format!("[{},{{\"job\":{{}}}}]", good("a")),
            "items[1].image: missing",
        ),
        (
            format!("[{},{{\"image\":[]}}]", good("a")),
            "items[1].image: an array, an object is expected",
        ),
        (
            format!("[{},{{\"image\":{{\"key\":5}}}}]", good("a")),
            "items[1].image.key: a number, a string is expected",
        ),
        (
            r#"[{"image":{"key":"  "}}]"#.to_owned(),
            "items[0].image.key: empty",
        ),
        (
            format!(
                "[{},{{\"job\":{{\"jobId\":\"other-job\"}},\"image\":{{\"key\":\"b\"}}}}]",
                good("a")
            ),
            "items[1].job.jobId: \"other-job\" is not the reported job \"job-bad\"",
        ),
        (
            format!("[{},{{\"job\":3,\"image\":{{\"key\":\"b\"}}}}]", good("a")),
            "items[1].job: a number",
        ),
        // Truncated mid-item.
        (
            format!("[{},{{\"image\":{{\"key\":\"b", good("a")),
            "items[1]: not valid JSON",
        ),
        (format!("[{},]", good("a")), "items[1]: not valid JSON"),
    ];
    for (body, expected) in cases {
        let r = reporter(job, vec![], 3);
        r.store.insert(UPLOADS, &items_key(job), body.clone());
        let err = r.handle(event(job)).await.unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidInput, "{body}");
        assert!(
            err.message
                .starts_with("itemsKey: items file s3://mlpipe-image-uploads/items/job-bad.json: "),
            "{}",
            err.message
        );
        assert!(
            err.message.contains(expected),
            "{body}\n{}\nshould contain {expected:?}",
            err.message
        );
        assert_eq!(r.store.put_count(), 0);
    }

    // An item without job, and an empty array, are fine.
    assert_eq!(
        items::image_keys(br#"[{"image":{"key":"k"}}]"#, job).unwrap(),
        ["k"]
    );
    assert!(items::image_keys(b" [ ] \n", job).unwrap().is_empty());
}

#[tokio::test]
async fn bucket_and_items_key_are_validated() {
    let cases = [
        (
            json!({"jobId": "j", "bucket": UPLOADS}),
            "itemsKey: missing",
        ),
        (
            json!({"jobId": "j", "itemsKey": "items/j.json"}),
            "bucket: missing",
        ),
        (
            json!({"jobId": "j", "bucket": 7, "itemsKey": "items/j.json"}),
            "bucket: must be a string",
        ),
        (
            json!({"jobId": "j", "bucket": UPLOADS, "itemsKey": null}),
            "itemsKey: must be a string",
        ),
        (
            json!({"jobId": "j", "bucket": "Bad_Bucket", "itemsKey": "items/j.json"}),
            "bucket: \"Bad_Bucket\"",
        ),
        (
            json!({"jobId": "j", "bucket": "ab", "itemsKey": "items/j.json"}),
            "bucket: ",
        ),
        (
            json!({"jobId": "j", "bucket": "-abc", "itemsKey": "items/j.json"}),
            "bucket: ",
        ),
        (
            json!({"jobId": "j", "bucket": UPLOADS, "itemsKey": ""}),
            "itemsKey: \"\" empty",
        ),
        (
            json!({"jobId": "j", "bucket": UPLOADS, "itemsKey": "items/"}),
            "itemsKey: \"items/\" is a folder",
        ),
        (
            json!({"jobId": "j", "bucket": UPLOADS, "itemsKey": "a\nb"}),
            "itemsKey: ",
        ),
        (
            json!({"jobId": "j", "bucket": UPLOADS, "itemsKey": "k".repeat(1025)}),
            "itemsKey: ",
        ),
        // jobId is checked first.
        (
            json!({"jobId": "../x", "bucket": UPLOADS, "itemsKey": "items/j.json"}),
            "jobId: ",
        ),
    ];
    for (event, expected) in cases {
        let r = reporter("j", sample_rows(), 3);
        let err = r.handle(event.clone()).await.unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidInput, "{event}");
        assert!(
            err.message.starts_with(expected),
            "{event}: {}",
            err.message
        );
        assert!(r.rows.calls.lock().unwrap().is_empty(), "{event}");
        assert_eq!(r.store.put_count(), 0);
    }
    let input = parse_input(&event("j")).unwrap();
    assert_eq!(
        input.items,
        Some(ItemsFile {
            bucket: UPLOADS.into(),
            key: "items/j.json".into()
        })
    );
    assert!(parse_input(&json!({"jobId": "j", "bucket": "my.bucket-1", "itemsKey": "k"})).is_ok());
}

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde_json::json;
use shared::store::MemoryStore;
use shared::ErrorKind;

use super::report::{csv_field, html_escape};
use super::*;

const BUCKET: &str = "mlpipe-reports";
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

#[derive(Default)]
struct FakeNotifier {
    sent: Mutex<Vec<(String, String)>>,
}

impl Notifier for FakeNotifier {
    async fn publish(&self, subject: &str, body: &str) -> Result<(), PipelineError> {
        self.sent
            .lock()
            .unwrap()
            .push((subject.to_owned(), body.to_owned()));
        Ok(())
    }
}

struct FakePresigner;

impl Presigner for FakePresigner {
    async fn presign_get(
        &self,
        bucket: &str,
        key: &str,
        expires: Duration,
    ) -> Result<String, PipelineError> {
        Ok(format!(
            "https://{bucket}.s3.amazonaws.com/{key}?X-Amz-Expires={}",
            expires.as_secs()
        ))
    }
}

type TestReporter = Reporter<FakeRows, FakeNotifier, FakePresigner, MemoryStore>;

fn reporter(job: &str, rows: Vec<StatusRow>, page_size: usize) -> TestReporter {
    let fake = FakeRows {
        jobs: BTreeMap::from([(job.to_owned(), rows)]),
        page_size,
        ..Default::default()
    };
    Reporter::new(
        fake,
        FakeNotifier::default(),
        FakePresigner,
        MemoryStore::new(),
        config(&[]),
    )
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

// ---- pure report building ----

#[test]
fn report_counts_and_sorts() {
    let r = build_report("job-1", sample_rows());
    assert_eq!((r.total, r.succeeded, r.failed), (7, 5, 2));
    let keys: Vec<_> = r.rows.iter().map(|r| r.image_key.as_str()).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    let failures: Vec<_> = r.failures().map(|r| r.image_key.as_str()).collect();
    assert_eq!(failures, ["images/b.jpg", "images/d.png"]);
}

#[test]
fn json_report_round_trips() {
    let r = build_report("job-1", sample_rows());
    let v: Value = serde_json::from_str(&r.to_json()).unwrap();
    assert_eq!(v["jobId"], "job-1");
    assert_eq!(v["total"], 7);
    assert_eq!(v["failed"], 2);
    assert_eq!(v["rows"][1]["imageKey"], "images/b.jpg");
    assert_eq!(v["rows"][1]["status"], "Failed");
    assert_eq!(v["rows"][1]["cause"], "unsupported size 3000x3000");
    assert_eq!(v["rows"][6]["outputs"][1], "generated/g/1.png");
}

#[test]
fn csv_quotes_per_rfc_4180() {
    assert_eq!(csv_field("plain"), "plain");
    assert_eq!(csv_field("a,b"), "\"a,b\"");
    assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
    assert_eq!(csv_field("cr\rhere"), "\"cr\rhere\"");
    assert_eq!(csv_field(""), "");

    let rows = vec![
        StatusRow::failed("img,1.png", "Bad \"input\"", "line one\nline two"),
        StatusRow::succeeded("img2.png", vec!["o/1.png".into(), "o/2.png".into()]),
    ];
    let csv = build_report("j", rows).to_csv();
    assert_eq!(
        csv,
        "imageKey,status,error,cause,outputs,updatedAt\r\n\
         \"img,1.png\",Failed,\"Bad \"\"input\"\"\",\"line one\nline two\",,\r\n\
         img2.png,Succeeded,,,o/1.png;o/2.png,\r\n"
    );
}

#[test]
fn html_escapes_errors() {
    let html = build_report("job-1", sample_rows()).to_html();
    assert!(!html.contains("<script>"), "{html}");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("Failed: 2"));
    assert!(html.contains("Succeeded: 5"));
    assert!(html.contains("ValidationException"));
    assert!(html.contains("unsupported size 3000x3000"));
    assert_eq!(html_escape(r#"a&b"c'd"#), "a&amp;b&quot;c&#39;d");
}

#[test]
fn empty_report_is_a_report() {
    let r = build_report("job-0", vec![]);
    assert_eq!((r.total, r.succeeded, r.failed), (0, 0, 0));
    assert_eq!(
        r.to_csv(),
        "imageKey,status,error,cause,outputs,updatedAt\r\n"
    );
    assert!(r.to_html().contains("No status rows"));
}

#[test]
fn subject_stays_under_100_chars() {
    let r = build_report("job-1", sample_rows());
    assert_eq!(subject(&r), "Image job job-1: 5 succeeded, 2 failed");
    let long = "x".repeat(80);
    let mut r = build_report(&long, vec![]);
    r.succeeded = 123_456;
    r.failed = 7_890;
    let s = subject(&r);
    assert!(s.len() < 100, "{} chars: {s}", s.len());
    assert!(s.ends_with(": 123456 succeeded, 7890 failed"));
    assert!(s.starts_with("Image job xxx"));
}

#[test]
fn message_caps_the_failure_list() {
    let rows: Vec<_> = (0..120)
        .map(|i| StatusRow::failed(format!("img-{i:03}.png"), "E", "x".repeat(2000)))
        .collect();
    let r = build_report("big", rows);
    let m = message(&r, "https://u", Duration::from_secs(3600));
    assert!(m.contains("Failed: 120"));
    assert!(m.contains("- img-049.png: E: xxx"));
    assert!(!m.contains("img-050.png"));
    assert!(m.contains("... and 70 more"));
    assert!(m.contains("https://u"));
    assert!(m.len() < 256 * 1024);
    assert!(m
        .lines()
        .all(|l| l.chars().count() <= MAX_REASON_CHARS + 20));
}

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
    let sent = r.notifier.sent.lock().unwrap().clone();
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
            "jobId": job, "total": 7, "succeeded": 5, "failed": 2,
            "reportUrl": out.report_url, "reportKeys": keys,
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
    let sent = r.notifier.sent.lock().unwrap().clone();
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
        assert!(r.notifier.sent.lock().unwrap().is_empty());
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
    assert!(r.notifier.sent.lock().unwrap().is_empty());
}

#[tokio::test]
async fn s3_presigner_signs_offline() {
    let conf = aws_sdk_s3::config::Builder::new()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new("eu-west-1"))
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "AKIDEXAMPLE",
            "secret",
            None,
            None,
            "test",
        ))
        .build();
    let p = S3Presigner::new(aws_sdk_s3::Client::from_conf(conf));
    let url = p
        .presign_get(
            BUCKET,
            "reports/j/report.html",
            Duration::from_secs(604_800),
        )
        .await
        .unwrap();
    assert!(url.starts_with("https://"), "{url}");
    assert!(url.contains("reports/j/report.html"), "{url}");
    assert!(url.contains("X-Amz-Expires=604800"), "{url}");
    assert!(url.contains("X-Amz-Signature="), "{url}");
}

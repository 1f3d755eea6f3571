//! The report model, its renderings and the notification text, with a fixed clock.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use shared_core::ErrorKind;

use super::notice::{MAX_REASON_CHARS, MIN_LINK_SECONDS};
use super::*;

const BUCKET: &str = "mlpipe-reports";
/// 2026-01-01T00:00:00Z, the fake clock.
const NOW_SECS: u64 = 1_767_225_600;

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(NOW_SECS)
}

fn hours(h: u64) -> Duration {
    Duration::from_secs(h * 3600)
}

fn link(limit: ExpiryLimit, valid_for: Duration) -> LinkNote {
    link_note(
        &LinkExpiry {
            signed_at: now(),
            valid_for,
            limit,
        },
        BUCKET,
        "reports/j/report.html",
        Duration::from_secs(604_800),
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
    let m = message(&r, "https://u", &link(ExpiryLimit::Configured, hours(1)));
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
fn effective_expiry_is_the_earlier_of_configuration_and_credentials() {
    let week = Duration::from_secs(604_800);

    // Static keys (no expiry, no session token): the configured value.
    let e = effective_expiry(now(), week, None, false).unwrap();
    assert_eq!((e.valid_for, e.limit), (week, ExpiryLimit::Configured));
    assert_eq!(e.signed_at, now());
    assert_eq!(rfc3339(e.expires_at()), "2026-01-08T00:00:00Z");

    // Temporary credentials without an expiry: the configured value, flagged as an upper bound.
    let e = effective_expiry(now(), week, None, true).unwrap();
    assert_eq!(
        (e.valid_for, e.limit),
        (week, ExpiryLimit::ConfiguredUnlessCredentialsExpire)
    );

    // Credentials expiring in 6 h: 6 h, not 7 days.
    let e = effective_expiry(now(), week, Some(now() + hours(6)), true).unwrap();
    assert_eq!((e.valid_for, e.limit), (hours(6), ExpiryLimit::Credentials));
    assert_eq!(rfc3339(e.expires_at()), "2026-01-01T06:00:00Z");

    // Fractions of a second are dropped (X-Amz-Expires is whole seconds).
    let e = effective_expiry(
        now() + Duration::from_millis(250),
        week,
        Some(now() + hours(1)),
        true,
    )
    .unwrap();
    assert_eq!(e.valid_for, Duration::from_secs(3599));

    // Credentials outliving the configured value: the configured value.
    let e = effective_expiry(now(), hours(1), Some(now() + hours(12)), true).unwrap();
    assert_eq!((e.valid_for, e.limit), (hours(1), ExpiryLimit::Configured));
    // Exactly equal: the configuration's.
    let e = effective_expiry(now(), hours(1), Some(now() + hours(1)), true).unwrap();
    assert_eq!((e.valid_for, e.limit), (hours(1), ExpiryLimit::Configured));

    // A short configured value stays allowed even below the minimum.
    let e = effective_expiry(now(), Duration::from_secs(30), Some(now() + hours(1)), true).unwrap();
    assert_eq!(e.valid_for, Duration::from_secs(30));

    // Just over the minimum: allowed.
    let e = effective_expiry(
        now(),
        week,
        Some(now() + Duration::from_secs(MIN_LINK_SECONDS)),
        true,
    )
    .unwrap();
    assert_eq!(e.valid_for, Duration::from_secs(MIN_LINK_SECONDS));

    // About to expire, or expired: Retryable.
    for left in [
        Some(now() + Duration::from_secs(MIN_LINK_SECONDS - 1)),
        Some(now()),
        Some(now() - hours(1)),
    ] {
        let err = effective_expiry(now(), week, left, true).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Retryable, "{left:?}");
        assert!(err.message.contains("expire"), "{}", err.message);
    }
}

#[test]
fn link_notes_say_until_when_and_how_to_renew() {
    let n = link(ExpiryLimit::Credentials, hours(6));
    assert_eq!(n.valid_until, "2026-01-01T06:00:00Z");
    assert_eq!(n.valid_for_seconds, 21_600);
    assert_eq!(n.limited_by, "credentials");
    assert!(
        n.text
            .starts_with("is valid until 2026-01-01 06:00:00 UTC (about 6 hours)"),
        "{}",
        n.text
    );
    assert!(n.text.contains("temporary credentials"), "{}", n.text);
    assert!(
        n.text.contains("before the configured 7 days"),
        "{}",
        n.text
    );
    assert!(
        n.renew.contains(
            "aws s3 presign s3://mlpipe-reports/reports/j/report.html --expires-in 604800"
        ),
        "{}",
        n.renew
    );

    let n = link(ExpiryLimit::ConfiguredUnlessCredentialsExpire, hours(168));
    assert!(
        n.text
            .starts_with("is valid until 2026-01-08 00:00:00 UTC at the latest (about 7 days)"),
        "{}",
        n.text
    );
    assert!(n.text.contains("possibly sooner"), "{}", n.text);

    let n = link(ExpiryLimit::Configured, Duration::from_secs(1800));
    assert_eq!(
        n.text,
        "is valid until 2026-01-01 00:30:00 UTC (about 30 minutes)."
    );

    assert_eq!(about(Duration::from_secs(20)), "about 1 minute");
    assert_eq!(about(Duration::from_secs(89 * 60)), "about 89 minutes");
    assert_eq!(about(Duration::from_secs(90 * 60)), "about 2 hours");
    assert_eq!(about(hours(2) + Duration::from_secs(1700)), "about 2 hours");
    assert_eq!(about(hours(1)), "about 60 minutes");
    assert_eq!(about(hours(47)), "about 47 hours");
    assert_eq!(about(hours(48)), "about 2 days");
    assert_eq!(human_utc(now()), "2026-01-01 00:00:00 UTC");
}

#[test]
fn job_reports_merge_items_and_rows() {
    // A key listed twice is one image; counts add up.
    let r = build_job_report(
        "j",
        vec!["b".into(), "a".into(), "b".into(), "c".into()],
        vec![
            StatusRow::succeeded("a", vec![]),
            StatusRow::failed("stray", "E", "x"),
        ],
    );
    assert_eq!(
        (
            r.total,
            r.succeeded,
            r.failed,
            r.not_run,
            r.rows_not_in_items
        ),
        (4, 1, 1, 2, 1)
    );
    assert_eq!(r.total, r.succeeded + r.failed + r.not_run);
    let keys: Vec<_> = r.rows.iter().map(|r| r.image_key.as_str()).collect();
    assert_eq!(keys, ["a", "b", "c", "stray"]);
    assert_eq!(r.rows[1].reason(), NOT_RUN_REASON);
    assert_eq!(r.not_run_rows().count(), 2);

    // No items and no rows: an empty report.
    let r = build_job_report("j", vec![], vec![]);
    assert_eq!((r.total, r.not_run), (0, 0));
}

#[test]
fn times_are_rfc3339_utc_whole_seconds() {
    let at = |secs: i64| {
        if secs >= 0 {
            UNIX_EPOCH + Duration::from_secs(secs as u64)
        } else {
            UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs())
        }
    };
    assert_eq!(rfc3339(at(0)), "1970-01-01T00:00:00Z");
    assert_eq!(rfc3339(now()), "2026-01-01T00:00:00Z");
    assert_eq!(rfc3339(at(951_868_800)), "2000-03-01T00:00:00Z");
    assert_eq!(rfc3339(at(1_709_164_800 + 86_399)), "2024-02-29T23:59:59Z");
    assert_eq!(rfc3339(at(4_102_444_800)), "2100-01-01T00:00:00Z");
    assert_eq!(rfc3339(at(-1)), "1969-12-31T23:59:59Z");
    assert_eq!(
        rfc3339(now() + Duration::from_millis(999)),
        "2026-01-01T00:00:00Z"
    );
    assert_eq!(human_utc(at(1_709_164_800)), "2024-02-29 00:00:00 UTC");
}

#[test]
fn items_files_give_their_image_keys_in_order() {
    let body = json!([
        {"job": {"jobId": "j", "prompt": "p"}, "image": {"key": "b.png", "labels": ["x"]}},
        {"image": {"key": "a.png"}}
    ]);
    assert_eq!(
        items::image_keys(body.to_string().as_bytes(), "j").unwrap(),
        ["b.png", "a.png"]
    );
    let e = items::image_keys(body.to_string().as_bytes(), "other").unwrap_err();
    assert!(
        e.starts_with("items[0].job.jobId: \"j\" is not the reported job"),
        "{e}"
    );
}

#[test]
fn the_input_names_its_fields() {
    let input =
        parse_input(&json!({"jobId": "j-1", "bucket": "b-1", "itemsKey": "items/j-1.json"}))
            .unwrap();
    assert_eq!(input.job_id, "j-1");
    assert_eq!(
        input.items,
        Some(ItemsFile {
            bucket: "b-1".into(),
            key: "items/j-1.json".into()
        })
    );
    assert_eq!(parse_input(&json!({"jobId": "j"})).unwrap().items, None);
    let e = parse_input(&json!({"jobId": "a b"})).unwrap_err();
    assert_eq!(
        e.message,
        "jobId: \"a b\": only letters, digits, '-' and '_' are allowed"
    );
    let e = parse_input(&json!({"jobId": "x".repeat(81)})).unwrap_err();
    assert!(
        e.message.ends_with(": 81 characters, must be 1 to 80"),
        "{}",
        e.message
    );
}

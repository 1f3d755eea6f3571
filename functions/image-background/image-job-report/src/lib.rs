//! `image-job-report`: the image background state machine's last step, after the Distributed Map.
//!
//! Input `{"jobId": "...", "bucket": "...", "itemsKey": "items/<jobId>.json"}` (other fields
//! ignored; `bucket` and `itemsKey` go together and may both be left out, see below). The
//! function
//! 1. reads the job's items file `s3://<bucket>/<itemsKey>` (the Distributed Map's items, see
//!    [`items`]) and keeps its image keys;
//! 2. queries every status row of the job in `STATUS_TABLE` (partition key `jobId`, sort key
//!    `imageKey`), following `LastEvaluatedKey` through every page;
//! 3. builds the report: one row per image of the items file, its status row or
//!    [`Status::NotRun`] when it has none (the map stopped before it ran), plus any status row of
//!    an image not in the items file; counts; rows sorted by image key (see [`report`]);
//! 4. presigns a GET URL for `report.html`, valid `URL_EXPIRES_SECONDS` or until the signing
//!    credentials expire, whichever comes first (see [`effective_expiry`]);
//! 5. writes `<REPORT_PREFIX><jobId>/report.json`, `report.csv` and `report.html` to
//!    `REPORT_BUCKET`;
//! 6. publishes one SNS message to `TOPIC_ARN` with the counts, the failed images with their
//!    reasons (the first [`MAX_LISTED_FAILURES`]), the images not run (the first
//!    [`MAX_LISTED_NOT_RUN`]) and the link with its real expiry;
//!
//! and returns `{"jobId", "total", "succeeded", "failed", "notRun", "reportUrl",
//! "reportUrlValidUntil", "reportKeys"}`.
//!
//! The old input `{"jobId": "..."}` still works: the report is then built from the status rows
//! alone (`notRun` is 0). A job with no rows and no items gives an empty report, not an error.
//! Errors: a bad `jobId`, `bucket` or `itemsKey`, a missing items file or a malformed item are
//! `InvalidInput` (naming the field, the key or the item index); DynamoDB, S3 and SNS failures
//! are classified by [`PipelineError::from_sdk`].
//!
//! A presigned URL stops working when the credentials that signed it expire: signed with the
//! Lambda role's temporary credentials, it lasts at most as long as the role session, whatever
//! `URL_EXPIRES_SECONDS` says. [`S3Presigner`] signs with credentials whose expiry it knows and
//! returns the effective expiry; the message and the report say until when the link works and
//! how to get a fresh one.

use std::collections::HashMap;
use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_dynamodb::types::AttributeValue;
use bytes::Bytes;
use serde::Serialize;
use serde_json::Value;
use shared::config::{parse_or, prefix_or, required, ConfigError, Source};
use shared::metrics::{Metrics, Unit};
use shared::store::ObjectStore;
use shared::{ErrorKind, PipelineError};

pub mod items;
pub mod report;

pub use report::{build_job_report, build_report, LinkNote, Report, Status, StatusRow};

/// SigV4's longest presigned URL validity: 7 days.
pub const MAX_URL_EXPIRES_SECONDS: u64 = 604_800;
/// Failed images listed in the SNS message; the rest are counted ("and K more").
pub const MAX_LISTED_FAILURES: usize = 50;
/// Images not run listed in the SNS message; the rest are counted ("and K more").
pub const MAX_LISTED_NOT_RUN: usize = 20;
/// Shortest useful link: when the signing credentials expire sooner, the report step fails as
/// `Retryable` (a retry gets fresh credentials) rather than mailing a link that is already dead.
pub const MIN_LINK_SECONDS: u64 = 60;
/// Longest object key (S3's limit, in bytes).
pub const MAX_KEY_BYTES: usize = 1024;
/// Longest reason quoted per failed image in the SNS message.
pub const MAX_REASON_CHARS: usize = 500;
/// SNS subjects must be shorter than 100 characters.
pub const MAX_SUBJECT_CHARS: usize = 99;
/// Longest job id.
pub const MAX_JOB_ID_CHARS: usize = 80;

/// Settings, from environment variables.
#[derive(Debug, Clone)]
pub struct Config {
    /// `STATUS_TABLE` (required).
    pub status_table: String,
    /// `REPORT_BUCKET` (required).
    pub report_bucket: String,
    /// `REPORT_PREFIX` (default `reports/`).
    pub report_prefix: String,
    /// `TOPIC_ARN` (required).
    pub topic_arn: String,
    /// `URL_EXPIRES_SECONDS` (default and maximum 604800).
    pub url_expires: Duration,
}

impl Config {
    pub fn from_source(src: &impl Source) -> Result<Self, ConfigError> {
        let secs = parse_or(src, "URL_EXPIRES_SECONDS", MAX_URL_EXPIRES_SECONDS)?;
        if !(1..=MAX_URL_EXPIRES_SECONDS).contains(&secs) {
            return Err(ConfigError::new(
                "URL_EXPIRES_SECONDS",
                format!(
                    "{secs} is outside 1..={MAX_URL_EXPIRES_SECONDS} (the SigV4 presigning limit)"
                ),
            ));
        }
        Ok(Self {
            status_table: required(src, "STATUS_TABLE")?,
            report_bucket: required(src, "REPORT_BUCKET")?,
            report_prefix: prefix_or(src, "REPORT_PREFIX", "reports/", true)?,
            topic_arn: required(src, "TOPIC_ARN")?,
            url_expires: Duration::from_secs(secs),
        })
    }
}

/// The status rows of a job, a page at a time.
pub trait StatusRows: Send + Sync {
    /// One page of rows of `job_id`, starting after the image key `start_key` (`None`: the
    /// first page). Returns the rows and the image key to continue after, `None` on the last
    /// page.
    fn page(
        &self,
        job_id: &str,
        start_key: Option<String>,
    ) -> impl Future<Output = Result<(Vec<StatusRow>, Option<String>), PipelineError>> + Send;
}

/// Sends the notification.
pub trait Notifier: Send + Sync {
    fn publish(
        &self,
        subject: &str,
        body: &str,
    ) -> impl Future<Output = Result<(), PipelineError>> + Send;
}

/// Presigns GET URLs.
pub trait Presigner: Send + Sync {
    /// A GET URL for `s3://bucket/key`, valid `expires` at most: less when the signing
    /// credentials expire sooner. The returned [`LinkExpiry`] says how long it really works.
    fn presign_get(
        &self,
        bucket: &str,
        key: &str,
        expires: Duration,
    ) -> impl Future<Output = Result<PresignedUrl, PipelineError>> + Send;
}

/// A presigned URL and how long it really works.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresignedUrl {
    pub url: String,
    pub expiry: LinkExpiry,
}

/// What ends a presigned URL first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpiryLimit {
    /// `URL_EXPIRES_SECONDS`: the credentials outlive it, or never expire (static keys).
    Configured,
    /// The signing credentials expire before `URL_EXPIRES_SECONDS` is over.
    Credentials,
    /// Temporary credentials (with a session token) that do not tell when they expire (the
    /// Lambda runtime's environment credentials): `URL_EXPIRES_SECONDS` at most, possibly less.
    ConfiguredUnlessCredentialsExpire,
}

impl ExpiryLimit {
    pub const fn as_str(self) -> &'static str {
        match self {
            ExpiryLimit::Configured => "configuration",
            ExpiryLimit::Credentials => "credentials",
            ExpiryLimit::ConfiguredUnlessCredentialsExpire => {
                "configuration, credentials expiry unknown"
            }
        }
    }
}

/// When a presigned URL was signed and how long it works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkExpiry {
    pub signed_at: SystemTime,
    /// Whole seconds (what `X-Amz-Expires` says).
    pub valid_for: Duration,
    pub limit: ExpiryLimit,
}

impl LinkExpiry {
    /// When the URL stops working.
    pub fn expires_at(&self) -> SystemTime {
        self.signed_at + self.valid_for
    }
}

/// The effective validity of a URL signed at `now` for `configured`, with credentials expiring
/// at `credentials_expiry` (`None`: they do not say; `temporary`: they have a session token, so
/// they do expire, at an unknown time): the shorter of the two, in whole seconds. Credentials
/// that expire in less than [`MIN_LINK_SECONDS`] (or have expired) are a `Retryable` error.
pub fn effective_expiry(
    now: SystemTime,
    configured: Duration,
    credentials_expiry: Option<SystemTime>,
    temporary: bool,
) -> Result<LinkExpiry, PipelineError> {
    let configured = Duration::from_secs(configured.as_secs());
    let (valid_for, limit) = match credentials_expiry {
        Some(expiry) => {
            let left = Duration::from_secs(
                expiry
                    .duration_since(now)
                    .unwrap_or(Duration::ZERO)
                    .as_secs(),
            );
            if left >= configured {
                (configured, ExpiryLimit::Configured)
            } else if left.as_secs() < MIN_LINK_SECONDS {
                return Err(PipelineError::retryable(format!(
                    "the signing credentials expire at {} (in {} s): too soon for a useful link; a retry gets fresh credentials",
                    rfc3339(expiry),
                    left.as_secs()
                )));
            } else {
                (left, ExpiryLimit::Credentials)
            }
        }
        None if temporary => (configured, ExpiryLimit::ConfiguredUnlessCredentialsExpire),
        None => (configured, ExpiryLimit::Configured),
    };
    Ok(LinkExpiry {
        signed_at: now,
        valid_for,
        limit,
    })
}

/// What the function returns to the state machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Output {
    pub job_id: String,
    pub total: usize,
    pub succeeded: usize,
    pub failed: usize,
    pub not_run: usize,
    pub report_url: String,
    /// When `report_url` stops working, RFC 3339 UTC.
    pub report_url_valid_until: String,
    pub report_keys: Vec<String>,
}

/// The validated input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    pub job_id: String,
    /// The items file, `None` with the old input (`{"jobId"}` only).
    pub items: Option<ItemsFile>,
}

/// Where the job's items file is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemsFile {
    pub bucket: String,
    pub key: String,
}

/// The handler.
pub struct Reporter<R, N, P, S> {
    rows: R,
    notifier: N,
    presigner: P,
    store: S,
    config: Config,
}

impl<R: StatusRows, N: Notifier, P: Presigner, S: ObjectStore> Reporter<R, N, P, S> {
    pub fn new(rows: R, notifier: N, presigner: P, store: S, config: Config) -> Self {
        Self {
            rows,
            notifier,
            presigner,
            store,
            config,
        }
    }

    /// Handles `{"jobId", "bucket", "itemsKey"}` (or the old `{"jobId"}`).
    pub async fn handle(&self, event: Value) -> Result<Output, PipelineError> {
        let input = parse_input(&event)?;
        let job_id = input.job_id;
        // The items file first: a missing or malformed one fails before any query.
        let item_keys = match &input.items {
            Some(items) => Some(self.item_keys(&job_id, items).await?),
            None => None,
        };
        let rows = self.all_rows(&job_id).await?;
        let mut report = match item_keys {
            Some(keys) => build_job_report(&job_id, keys, rows),
            None => build_report(&job_id, rows),
        };
        if report.rows_not_in_items > 0 {
            tracing::warn!(
                job_id = %job_id,
                rows = report.rows_not_in_items,
                "status rows of images that are not in the items file (listed anyway)"
            );
        }
        tracing::info!(
            job_id = %job_id,
            total = report.total,
            succeeded = report.succeeded,
            failed = report.failed,
            not_run = report.not_run,
            items_file = input.items.is_some(),
            "report built"
        );

        // Signed first, so the report files can say until when the link works.
        let base = format!("{}{job_id}/", self.config.report_prefix);
        let html_key = format!("{base}report.html");
        let link = self
            .presigner
            .presign_get(
                &self.config.report_bucket,
                &html_key,
                self.config.url_expires,
            )
            .await?;
        let note = link_note(
            &link.expiry,
            &self.config.report_bucket,
            &html_key,
            self.config.url_expires,
        );
        tracing::info!(
            job_id = %job_id,
            valid_until = %note.valid_until,
            limited_by = note.limited_by,
            "report link signed"
        );
        report.link = Some(note.clone());

        let files = [
            ("report.json", "application/json", report.to_json()),
            ("report.csv", "text/csv; charset=utf-8", report.to_csv()),
            ("report.html", "text/html; charset=utf-8", report.to_html()),
        ];
        let mut report_keys = Vec::with_capacity(files.len());
        for (name, content_type, body) in files {
            let key = format!("{base}{name}");
            self.store
                .put(
                    &self.config.report_bucket,
                    &key,
                    Bytes::from(body),
                    content_type,
                )
                .await?;
            report_keys.push(key);
        }

        self.notifier
            .publish(&subject(&report), &message(&report, &link.url, &note))
            .await?;
        tracing::info!(job_id = %job_id, "report published");

        let mut metrics = Metrics::from_env();
        metrics
            .count("ReportsBuilt")
            .add("ImagesSucceeded", Unit::Count, report.succeeded as f64)
            .add("ImagesFailed", Unit::Count, report.failed as f64)
            .add("ImagesNotRun", Unit::Count, report.not_run as f64);
        metrics.flush();

        Ok(Output {
            job_id,
            total: report.total,
            succeeded: report.succeeded,
            failed: report.failed,
            not_run: report.not_run,
            report_url: link.url,
            report_url_valid_until: note.valid_until,
            report_keys,
        })
    }

    /// The image keys of the job's items file.
    async fn item_keys(
        &self,
        job_id: &str,
        items: &ItemsFile,
    ) -> Result<Vec<String>, PipelineError> {
        let uri = shared::store::s3_uri(&items.bucket, &items.key);
        let bytes = self
            .store
            .get(&items.bucket, &items.key)
            .await
            .map_err(|e| match e.kind {
                ErrorKind::InvalidInput => PipelineError::invalid_input(format!(
                    "itemsKey: the items file could not be read: {}",
                    e.message
                )),
                ErrorKind::Misconfigured => PipelineError::misconfigured(format!(
                    "itemsKey: the items file could not be read: {} (without s3:ListBucket, a missing object also reads as AccessDenied)",
                    e.message
                )),
                ErrorKind::Retryable => e.context("itemsKey"),
            })?;
        let keys = items::image_keys(&bytes, job_id).map_err(|msg| {
            PipelineError::invalid_input(format!("itemsKey: items file {uri}: {msg}"))
        })?;
        tracing::info!(job_id, items = keys.len(), "items file read");
        Ok(keys)
    }

    /// Every row of the job, across all pages.
    async fn all_rows(&self, job_id: &str) -> Result<Vec<StatusRow>, PipelineError> {
        let mut rows = Vec::new();
        let mut start: Option<String> = None;
        let mut pages = 0usize;
        loop {
            let (page, next) = self.rows.page(job_id, start.clone()).await?;
            pages += 1;
            rows.extend(page);
            match next {
                None => break,
                Some(next) if start.as_deref() == Some(next.as_str()) => {
                    return Err(PipelineError::retryable(format!(
                        "querying status rows of job {job_id}: pagination did not advance past {next:?}"
                    )));
                }
                Some(next) => start = Some(next),
            }
        }
        tracing::info!(job_id, pages, rows = rows.len(), "status rows read");
        Ok(rows)
    }
}

/// The validated input: `jobId`, and `bucket` with `itemsKey` (both or neither).
pub fn parse_input(event: &Value) -> Result<Input, PipelineError> {
    let job_id = job_id(event)?;
    let bucket = optional_string(event, "bucket")?;
    let key = optional_string(event, "itemsKey")?;
    let items = match (bucket, key) {
        (None, None) => None,
        (Some(_), None) => {
            return Err(PipelineError::invalid_input(
                "itemsKey: missing (bucket is given; pass both or neither)",
            ))
        }
        (None, Some(_)) => {
            return Err(PipelineError::invalid_input(
                "bucket: missing (itemsKey is given; pass both or neither)",
            ))
        }
        (Some(bucket), Some(key)) => {
            validate_bucket(&bucket)?;
            validate_items_key(&key)?;
            Some(ItemsFile { bucket, key })
        }
    };
    Ok(Input { job_id, items })
}

fn optional_string(event: &Value, field: &str) -> Result<Option<String>, PipelineError> {
    match event.get(field) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(PipelineError::invalid_input(format!(
            "{field}: must be a string"
        ))),
    }
}

/// An S3 bucket name: 3-63 lower-case letters, digits, `.` and `-`, starting and ending with a
/// letter or digit.
fn validate_bucket(bucket: &str) -> Result<(), PipelineError> {
    let b = bucket.as_bytes();
    let ok = (3..=63).contains(&b.len())
        && b.iter()
            .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'.' || c == b'-')
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric();
    if ok {
        Ok(())
    } else {
        let shown: String = bucket.chars().take(64).collect();
        Err(PipelineError::invalid_input(format!(
            "bucket: {shown:?} is not an S3 bucket name (3-63 lower-case letters, digits, '.' or '-')"
        )))
    }
}

/// An object key: 1-1024 bytes, no control characters, not a folder.
fn validate_items_key(key: &str) -> Result<(), PipelineError> {
    let problem = if key.trim().is_empty() {
        Some("empty")
    } else if key.len() > MAX_KEY_BYTES {
        Some("longer than 1024 bytes")
    } else if key.chars().any(char::is_control) {
        Some("has control characters")
    } else if key.ends_with('/') {
        Some("is a folder, not an object")
    } else {
        None
    };
    match problem {
        None => Ok(()),
        Some(p) => {
            let shown: String = key.chars().take(100).collect();
            Err(PipelineError::invalid_input(format!(
                "itemsKey: {shown:?} {p}"
            )))
        }
    }
}

/// The validated `jobId` of the event.
pub fn job_id(event: &Value) -> Result<String, PipelineError> {
    let id = match event.get("jobId") {
        Some(Value::String(s)) => s,
        Some(_) => return Err(PipelineError::invalid_input("jobId: must be a string")),
        None => return Err(PipelineError::invalid_input("jobId: missing")),
    };
    let ok = !id.is_empty()
        && id.len() <= MAX_JOB_ID_CHARS
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !ok {
        let shown: String = id.chars().take(MAX_JOB_ID_CHARS + 1).collect();
        return Err(PipelineError::invalid_input(format!(
            "jobId: {shown:?} must be 1-{MAX_JOB_ID_CHARS} letters, digits, '-' or '_'"
        )));
    }
    Ok(id.clone())
}

/// `Image job <id>: N succeeded, M failed[, K not run]`, shortened (ASCII `...`) to stay under
/// 100 chars.
pub fn subject(report: &Report) -> String {
    let mut tail = format!(": {} succeeded, {} failed", report.succeeded, report.failed);
    if report.not_run > 0 {
        tail.push_str(&format!(", {} not run", report.not_run));
    }
    let full = format!("Image job {}{tail}", report.job_id);
    if full.len() <= MAX_SUBJECT_CHARS {
        return full;
    }
    let room = MAX_SUBJECT_CHARS
        .saturating_sub("Image job ...".len() + tail.len())
        .min(report.job_id.len());
    // job ids are ASCII (validated), so byte slicing is safe.
    format!("Image job {}...{tail}", &report.job_id[..room])
}

/// The SNS message body: counts, failures with reasons (capped), images not run (capped), and
/// the link with until when it works and how to get a fresh one.
pub fn message(report: &Report, url: &str, link: &LinkNote) -> String {
    let how = if report.not_run > 0 {
        "stopped before every image ran"
    } else {
        "finished"
    };
    let mut m = format!(
        "Image job {} {how}.\n\nTotal: {}\nSucceeded: {}\nFailed: {}\n",
        report.job_id, report.total, report.succeeded, report.failed
    );
    if report.not_run > 0 {
        m.push_str(&format!("Not run: {}\n", report.not_run));
    }
    if report.failed > 0 {
        m.push_str("\nFailed images:\n");
        for r in report.failures().take(MAX_LISTED_FAILURES) {
            m.push_str(&format!(
                "- {}: {}\n",
                r.image_key,
                one_line(&r.reason(), MAX_REASON_CHARS)
            ));
        }
        if report.failed > MAX_LISTED_FAILURES {
            m.push_str(&format!(
                "... and {} more (see the report)\n",
                report.failed - MAX_LISTED_FAILURES
            ));
        }
    }
    if report.not_run > 0 {
        m.push_str("\nNot run (the job stopped before these images were processed; they have no result):\n");
        for r in report.not_run_rows().take(MAX_LISTED_NOT_RUN) {
            m.push_str(&format!("- {}\n", r.image_key));
        }
        if report.not_run > MAX_LISTED_NOT_RUN {
            m.push_str(&format!(
                "... and {} more (see the report)\n",
                report.not_run - MAX_LISTED_NOT_RUN
            ));
        }
    }
    m.push_str(&format!(
        "\nReport: {url}\nThe link {}\n{}\n",
        link.text, link.renew
    ));
    m
}

/// Says until when the link to `s3://bucket/key` works, why, and how to get a fresh one.
pub fn link_note(expiry: &LinkExpiry, bucket: &str, key: &str, configured: Duration) -> LinkNote {
    let until = human_utc(expiry.expires_at());
    let about = about(expiry.valid_for);
    let text = match expiry.limit {
        ExpiryLimit::Configured => format!("is valid until {until} ({about})."),
        ExpiryLimit::Credentials => format!(
            "is valid until {until} ({about}): it expires with the report function's temporary credentials, before the configured {}.",
            self::about(configured).trim_start_matches("about ")
        ),
        ExpiryLimit::ConfiguredUnlessCredentialsExpire => format!(
            "is valid until {until} at the latest ({about}): it expires with the report function's temporary credentials, possibly sooner."
        ),
    };
    let uri = shared::store::s3_uri(bucket, key);
    let renew = format!(
        "For a fresh link, run `aws s3 presign {uri} --expires-in {}` with your own credentials, or download {uri} from the bucket.",
        configured.as_secs()
    );
    LinkNote {
        valid_until: rfc3339(expiry.expires_at()),
        valid_for_seconds: expiry.valid_for.as_secs(),
        limited_by: expiry.limit.as_str().to_owned(),
        text,
        renew,
    }
}

/// `about N minutes|hours|days`, rounded.
pub fn about(d: Duration) -> String {
    let secs = d.as_secs();
    let round = |unit: u64| (secs + unit / 2) / unit;
    let (n, unit) = if secs < 90 * 60 {
        (round(60).max(1), "minute")
    } else if secs < 48 * 3600 {
        (round(3600), "hour")
    } else {
        (round(86_400), "day")
    };
    format!("about {n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// RFC 3339 UTC, whole seconds: `2026-01-01T06:00:00Z`.
pub fn rfc3339(t: SystemTime) -> String {
    let secs = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    };
    aws_sdk_s3::primitives::DateTime::from_secs(secs)
        .fmt(aws_sdk_s3::primitives::DateTimeFormat::DateTime)
        .unwrap_or_else(|_| format!("{secs} s after 1970-01-01T00:00:00Z"))
}

/// For people: `2026-01-01 06:00:00 UTC`.
pub fn human_utc(t: SystemTime) -> String {
    let s = rfc3339(t);
    match s.strip_suffix('Z') {
        Some(s) => format!("{} UTC", s.replacen('T', " ", 1)),
        None => s,
    }
}

/// `text` on one line (whitespace runs collapsed), at most `max` chars (with `...`).
fn one_line(text: &str, max: usize) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        flat
    } else {
        let mut s: String = flat.chars().take(max.saturating_sub(3)).collect();
        s.push_str("...");
        s
    }
}

/// [`StatusRows`] on DynamoDB: a strongly consistent Query on the partition key.
#[derive(Clone, Debug)]
pub struct DynamoStatusRows {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoStatusRows {
    pub fn new(client: aws_sdk_dynamodb::Client, table: &str) -> Self {
        Self {
            client,
            table: table.to_owned(),
        }
    }
}

impl StatusRows for DynamoStatusRows {
    async fn page(
        &self,
        job_id: &str,
        start_key: Option<String>,
    ) -> Result<(Vec<StatusRow>, Option<String>), PipelineError> {
        let start = start_key.map(|image_key| {
            HashMap::from([
                ("jobId".to_owned(), AttributeValue::S(job_id.to_owned())),
                ("imageKey".to_owned(), AttributeValue::S(image_key)),
            ])
        });
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#j = :j")
            .expression_attribute_names("#j", "jobId")
            .expression_attribute_values(":j", AttributeValue::S(job_id.to_owned()))
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| {
                shared::error::from_sdk(format!("querying {} for job {job_id}", self.table), &e)
            })?;
        let rows = out
            .items()
            .iter()
            .map(row_from_item)
            .collect::<Result<_, _>>()?;
        let next = match out.last_evaluated_key() {
            None => None,
            Some(k) => match k.get("imageKey") {
                Some(AttributeValue::S(s)) => Some(s.clone()),
                _ => {
                    return Err(PipelineError::misconfigured(format!(
                        "querying {}: LastEvaluatedKey has no string imageKey (is the sort key imageKey S?)",
                        self.table
                    )))
                }
            },
        };
        Ok((rows, next))
    }
}

/// A status row from a DynamoDB item. A status other than Succeeded/Failed counts as Failed,
/// with the unexpected value as the reason, so nothing unknown is reported as a success.
pub fn row_from_item(item: &HashMap<String, AttributeValue>) -> Result<StatusRow, PipelineError> {
    let s = |name: &str| match item.get(name) {
        Some(AttributeValue::S(v)) => Some(v.clone()),
        _ => None,
    };
    let image_key = s("imageKey")
        .ok_or_else(|| PipelineError::invalid_input("status row without a string imageKey"))?;
    let mut error = s("error");
    let mut cause = s("cause");
    let status = match s("status").as_deref() {
        Some("Succeeded") => Status::Succeeded,
        Some("Failed") => Status::Failed,
        other => {
            error.get_or_insert_with(|| "UnknownStatus".to_owned());
            cause.get_or_insert_with(|| match other {
                Some(v) => format!("status {v:?} is neither Succeeded nor Failed"),
                None => "no status recorded".to_owned(),
            });
            Status::Failed
        }
    };
    let outputs = match item.get("outputs") {
        Some(AttributeValue::L(list)) => list
            .iter()
            .filter_map(|v| match v {
                AttributeValue::S(s) => Some(s.clone()),
                _ => None,
            })
            .collect(),
        Some(AttributeValue::Ss(list)) => list.clone(),
        _ => Vec::new(),
    };
    Ok(StatusRow {
        image_key,
        status,
        error,
        cause,
        outputs,
        updated_at: s("updatedAt"),
    })
}

/// [`Notifier`] on SNS.
#[derive(Clone, Debug)]
pub struct SnsNotifier {
    client: aws_sdk_sns::Client,
    topic_arn: String,
}

impl SnsNotifier {
    pub fn new(client: aws_sdk_sns::Client, topic_arn: &str) -> Self {
        Self {
            client,
            topic_arn: topic_arn.to_owned(),
        }
    }
}

impl Notifier for SnsNotifier {
    async fn publish(&self, subject: &str, body: &str) -> Result<(), PipelineError> {
        self.client
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(subject)
            .message(body)
            .send()
            .await
            .map_err(|e| {
                shared::error::from_sdk(format!("publishing to {}", self.topic_arn), &e)
            })?;
        Ok(())
    }
}

/// [`Presigner`] on S3. Loads the credentials from the SDK config's credentials provider (the
/// S3 client's own config no longer exposes it), signs with exactly those, and limits the URL's
/// validity to their expiry ([`effective_expiry`]).
#[derive(Clone, Debug)]
pub struct S3Presigner {
    client: aws_sdk_s3::Client,
    credentials: Option<SharedCredentialsProvider>,
    now: fn() -> SystemTime,
}

impl S3Presigner {
    /// `credentials`: `SdkConfig::credentials_provider()` of the config the client was built
    /// from.
    pub fn new(client: aws_sdk_s3::Client, credentials: Option<SharedCredentialsProvider>) -> Self {
        Self::with_clock(client, credentials, SystemTime::now)
    }

    /// With another clock (tests).
    pub fn with_clock(
        client: aws_sdk_s3::Client,
        credentials: Option<SharedCredentialsProvider>,
        now: fn() -> SystemTime,
    ) -> Self {
        Self {
            client,
            credentials,
            now,
        }
    }
}

impl Presigner for S3Presigner {
    async fn presign_get(
        &self,
        bucket: &str,
        key: &str,
        expires: Duration,
    ) -> Result<PresignedUrl, PipelineError> {
        use aws_sdk_s3::config::ProvideCredentials;

        let what = format!("presigning {}", shared::store::s3_uri(bucket, key));
        let provider = self.credentials.as_ref().ok_or_else(|| {
            PipelineError::misconfigured(format!("{what}: no credentials provider is configured"))
        })?;
        let credentials = provider
            .provide_credentials()
            .await
            .map_err(|e| credentials_error(&what, &e))?;
        let now = (self.now)();
        let expiry = effective_expiry(
            now,
            expires,
            credentials.expiry(),
            credentials.session_token().is_some(),
        )
        .map_err(|e| e.context(&what))?;
        let config = aws_sdk_s3::presigning::PresigningConfig::builder()
            .start_time(now)
            .expires_in(expiry.valid_for)
            .build()
            .map_err(|e| PipelineError::misconfigured(format!("{what}: {e}")))?;
        let req = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .customize()
            // Exactly the credentials whose expiry was read, not whatever the cache holds.
            .config_override(
                aws_sdk_s3::config::Builder::default().credentials_provider(credentials),
            )
            .presigned(config)
            .await
            .map_err(|e| shared::error::from_sdk(&what, &e))?;
        Ok(PresignedUrl {
            url: req.uri().to_owned(),
            expiry,
        })
    }
}

/// Missing or badly configured credentials are `Misconfigured`; a provider that timed out or
/// failed is `Retryable`.
pub fn credentials_error(what: &str, err: &CredentialsError) -> PipelineError {
    let kind = match err {
        CredentialsError::CredentialsNotLoaded(_) | CredentialsError::InvalidConfiguration(_) => {
            ErrorKind::Misconfigured
        }
        _ => ErrorKind::Retryable,
    };
    // The variant's text, then its causes ("the credential provider was not enabled: ...").
    let mut detail = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        detail.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    PipelineError::new(
        kind,
        format!("{what}: loading the signing credentials: {detail}"),
    )
}

#[cfg(test)]
mod tests;

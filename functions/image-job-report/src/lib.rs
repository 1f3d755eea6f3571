//! `image-job-report`: the image background state machine's last step, after the Distributed Map.
//!
//! Input `{"jobId": "..."}` (other fields ignored). The function
//! 1. queries every status row of the job in `STATUS_TABLE` (partition key `jobId`, sort key
//!    `imageKey`), following `LastEvaluatedKey` through every page;
//! 2. builds the report (counts, rows sorted by image key; see [`report`]);
//! 3. writes `<REPORT_PREFIX><jobId>/report.json`, `report.csv` and `report.html` to
//!    `REPORT_BUCKET`;
//! 4. presigns a GET URL for `report.html`, valid `URL_EXPIRES_SECONDS`;
//! 5. publishes one SNS message to `TOPIC_ARN` with the counts, the failed images with their
//!    reasons (the first [`MAX_LISTED_FAILURES`]) and the link;
//!
//! and returns `{"jobId", "total", "succeeded", "failed", "reportUrl", "reportKeys"}`.
//!
//! A job with no rows gives an empty report, not an error. Errors: a bad `jobId` is
//! `InvalidInput`; DynamoDB, S3 and SNS failures are classified by [`PipelineError::from_sdk`].
//!
//! A presigned URL stops working when the credentials that signed it expire: signed with the
//! Lambda role's temporary credentials, it lasts at most as long as the role session, whatever
//! `URL_EXPIRES_SECONDS` says.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use bytes::Bytes;
use serde::Serialize;
use serde_json::Value;
use shared::config::{parse_or, prefix_or, required, ConfigError, Source};
use shared::metrics::{Metrics, Unit};
use shared::store::ObjectStore;
use shared::PipelineError;

pub mod report;

pub use report::{build_report, Report, Status, StatusRow};

/// SigV4's longest presigned URL validity: 7 days.
pub const MAX_URL_EXPIRES_SECONDS: u64 = 604_800;
/// Failed images listed in the SNS message; the rest are counted ("and K more").
pub const MAX_LISTED_FAILURES: usize = 50;
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
    fn presign_get(
        &self,
        bucket: &str,
        key: &str,
        expires: Duration,
    ) -> impl Future<Output = Result<String, PipelineError>> + Send;
}

/// What the function returns to the state machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Output {
    pub job_id: String,
    pub total: usize,
    pub succeeded: usize,
    pub failed: usize,
    pub report_url: String,
    pub report_keys: Vec<String>,
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

    /// Handles `{"jobId": "..."}`.
    pub async fn handle(&self, event: Value) -> Result<Output, PipelineError> {
        let job_id = job_id(&event)?;
        let rows = self.all_rows(&job_id).await?;
        let report = build_report(&job_id, rows);
        tracing::info!(
            job_id = %job_id,
            total = report.total,
            succeeded = report.succeeded,
            failed = report.failed,
            "report built"
        );

        let base = format!("{}{job_id}/", self.config.report_prefix);
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
        let html_key = format!("{base}report.html");
        let report_url = self
            .presigner
            .presign_get(
                &self.config.report_bucket,
                &html_key,
                self.config.url_expires,
            )
            .await?;

        self.notifier
            .publish(
                &subject(&report),
                &message(&report, &report_url, self.config.url_expires),
            )
            .await?;
        tracing::info!(job_id = %job_id, "report published");

        let mut metrics = Metrics::from_env();
        metrics
            .count("ReportsBuilt")
            .add("ImagesSucceeded", Unit::Count, report.succeeded as f64)
            .add("ImagesFailed", Unit::Count, report.failed as f64);
        metrics.flush();

        Ok(Output {
            job_id,
            total: report.total,
            succeeded: report.succeeded,
            failed: report.failed,
            report_url,
            report_keys,
        })
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

/// `Image job <id>: N succeeded, M failed`, shortened (ASCII `...`) to stay under 100 chars.
pub fn subject(report: &Report) -> String {
    let tail = format!(": {} succeeded, {} failed", report.succeeded, report.failed);
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

/// The SNS message body: counts, failures with reasons (capped), and the link.
pub fn message(report: &Report, url: &str, expires: Duration) -> String {
    let mut m = format!(
        "Image job {} finished.\n\nTotal: {}\nSucceeded: {}\nFailed: {}\n",
        report.job_id, report.total, report.succeeded, report.failed
    );
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
    let hours = expires.as_secs() / 3600;
    m.push_str(&format!(
        "\nReport (link valid for {}):\n{url}\n",
        if hours >= 1 {
            format!("{hours} h")
        } else {
            format!("{} s", expires.as_secs())
        }
    ));
    m
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
                PipelineError::from_sdk(format!("querying {} for job {job_id}", self.table), &e)
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
                PipelineError::from_sdk(format!("publishing to {}", self.topic_arn), &e)
            })?;
        Ok(())
    }
}

/// [`Presigner`] on S3.
#[derive(Clone, Debug)]
pub struct S3Presigner {
    client: aws_sdk_s3::Client,
}

impl S3Presigner {
    pub fn new(client: aws_sdk_s3::Client) -> Self {
        Self { client }
    }
}

impl Presigner for S3Presigner {
    async fn presign_get(
        &self,
        bucket: &str,
        key: &str,
        expires: Duration,
    ) -> Result<String, PipelineError> {
        let what = format!("presigning {}", shared::store::s3_uri(bucket, key));
        let config = aws_sdk_s3::presigning::PresigningConfig::expires_in(expires)
            .map_err(|e| PipelineError::misconfigured(format!("{what}: {e}")))?;
        let req = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .presigned(config)
            .await
            .map_err(|e| PipelineError::from_sdk(&what, &e))?;
        Ok(req.uri().to_owned())
    }
}

#[cfg(test)]
mod tests;

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
//! are classified by `shared::error::from_sdk`.
//!
//! A presigned URL stops working when the credentials that signed it expire: signed with the
//! Lambda role's temporary credentials, it lasts at most as long as the role session, whatever
//! `URL_EXPIRES_SECONDS` says. [`S3Presigner`] signs with credentials whose expiry it knows and
//! returns the effective expiry; the message and the report say until when the link works and
//! how to get a fresh one.
//!
//! Here: the handler and its ports ([`StatusRows`], [`Notifier`], [`Presigner`]); the settings
//! in [`config`], the SDK adapters in [`aws`]. The report itself (input, items file, rows,
//! counts, renderings, subject, message, link validity) is pure and lives in
//! [`image_background_core::report`].

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use image_background_core::keys::{self, s3_uri, REPORT_FILES};
pub use image_background_core::report::notice::{
    MAX_LISTED_FAILURES, MAX_LISTED_NOT_RUN, MAX_REASON_CHARS, MAX_SUBJECT_CHARS, MIN_LINK_SECONDS,
};
pub use image_background_core::report::{
    self, about, build_job_report, build_report, effective_expiry, human_utc, input::job_id, items,
    link_note, message, parse_input, rfc3339, subject, ExpiryLimit, Input, ItemsFile, LinkExpiry,
    LinkNote, Report, Status, StatusRow,
};
pub use image_background_core::{JobId, MAX_JOB_ID_CHARS};
use serde::Serialize;
use serde_json::Value;
use shared::metrics::{Metrics, Unit};
use shared::store::ObjectStore;
use shared::{ErrorKind, PipelineError};
use tracing::Instrument as _;

pub mod aws;
pub mod config;

pub use aws::{credentials_error, row_from_item, DynamoStatusRows, S3Presigner};
pub use config::{Config, MAX_URL_EXPIRES_SECONDS};
pub use shared::notify::{Notifier, SnsNotifier};

#[cfg(test)]
mod tests;

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

/// What the function returns to the state machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Output {
    pub job_id: JobId,
    pub total: usize,
    pub succeeded: usize,
    pub failed: usize,
    pub not_run: usize,
    pub report_url: String,
    /// When `report_url` stops working, RFC 3339 UTC.
    pub report_url_valid_until: String,
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

    /// Handles `{"jobId", "bucket", "itemsKey"}` (or the old `{"jobId"}`), in a span carrying
    /// the job id.
    pub async fn handle(&self, event: Value) -> Result<Output, PipelineError> {
        let input = parse_input(&event)?;
        let span = tracing::info_span!("report", job_id = %input.job_id);
        self.report(input).instrument(span).await
    }

    async fn report(&self, input: Input) -> Result<Output, PipelineError> {
        let job_id = input.job_id;
        // The items file first: a missing or malformed one fails before any query.
        let item_keys = match &input.items {
            Some(items) => Some(self.item_keys(job_id.as_str(), items).await?),
            None => None,
        };
        let rows = self.all_rows(job_id.as_str()).await?;
        let mut report = match item_keys {
            Some(keys) => build_job_report(job_id.as_str(), keys, rows),
            None => build_report(job_id.as_str(), rows),
        };
        if report.rows_not_in_items > 0 {
            tracing::warn!(
                rows = report.rows_not_in_items,
                "status rows of images that are not in the items file (listed anyway)"
            );
        }
        tracing::info!(
            total = report.total,
            succeeded = report.succeeded,
            failed = report.failed,
            not_run = report.not_run,
            items_file = input.items.is_some(),
            "report built"
        );

        // Signed first, so the report files can say until when the link works.
        let prefix = self.config.report_prefix.as_str();
        let [json_file, csv_file, html_file] = REPORT_FILES;
        let html_key = keys::report_key(prefix, job_id.as_str(), html_file);
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
            valid_until = %note.valid_until,
            limited_by = note.limited_by,
            "report link signed"
        );
        report.link = Some(note.clone());

        let files = [
            (json_file, "application/json", report.to_json()),
            (csv_file, "text/csv; charset=utf-8", report.to_csv()),
            (html_file, "text/html; charset=utf-8", report.to_html()),
        ];
        let mut report_keys = Vec::with_capacity(files.len());
        for (name, content_type, body) in files {
            let key = keys::report_key(prefix, job_id.as_str(), name);
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
        tracing::info!("report published");

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
        let uri = s3_uri(&items.bucket, &items.key);
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
        tracing::info!(items = keys.len(), "items file read");
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
        tracing::info!(pages, rows = rows.len(), "status rows read");
        Ok(rows)
    }
}

//! Backfills on Step Functions, the pure part: which conversations a run converts and in which
//! batches (the plan), what happened to each (rows), and the report.
//!
//! A run is one execution of the backfill state machine; its execution name is the run id.
//! Its objects, in the raw bucket:
//!
//! | object | key |
//! |---|---|
//! | what the run was asked and found | `backfills/<runId>/plan.json` |
//! | the Distributed Map's items, one batch of sources each | `backfills/<runId>/items.json` |
//! | the rows of one batch | `backfills/<runId>/batches/<batch>.json` |
//! | the report | `backfills/<runId>/report.json`, `backfills/<runId>/report.csv` |
//!
//! A *source* is what one conversation's documents are found by: a conversation folder
//! `<RAW_PREFIX><conversationId>/` (the fetcher's layout) or a loose document key.

mod report;

use serde::{Deserialize, Serialize};

pub use report::{build_report, notification, retry_sources, LeftOut, Report, NOT_RUN};

/// Where the runs' objects are kept in the raw bucket (never under `RAW_PREFIX`: the template
/// refuses a `RawPrefix` of `backfills/`).
pub const BACKFILL_PREFIX: &str = "backfills/";
/// Sources per batch (one Lambda invocation) unless the request says otherwise.
pub const DEFAULT_BATCH_SIZE: usize = 20;
/// The most sources one batch may hold: at tens of milliseconds per S3 request and a few
/// requests per conversation, 100 conversations take seconds, far inside the function's time.
pub const MAX_BATCH_SIZE: usize = 100;
/// The longest run id (a Step Functions execution name has at most 80 characters).
pub const MAX_RUN_ID_LEN: usize = 80;

/// What the execution's input may ask for; every member optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Request {
    /// Key prefix to backfill, under `RAW_PREFIX` (default `RAW_PREFIX`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// Only conversations with a document written at or after this time: `YYYY-MM-DD` (UTC
    /// midnight) or an RFC 3339 date-time with its offset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// Only what failed (or did not run) in that earlier run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_failed_of: Option<String>,
    /// Sources per batch, 1 to [`MAX_BATCH_SIZE`] (default [`DEFAULT_BATCH_SIZE`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_size: Option<usize>,
}

/// What a run converts: where, since when, or what failed in which earlier run. The plan and
/// the report both start with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Run {
    pub run_id: String,
    pub bucket: String,
    pub prefix: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_failed_of: Option<String>,
}

/// What a run was asked and found: written by the plan step, read by the report step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    #[serde(flatten)]
    pub run: Run,
    pub batch_size: usize,
    /// Sources (conversation folders and loose documents) planned.
    pub conversations: usize,
    pub batches: usize,
    pub items_key: String,
}

/// One item of the Distributed Map: the sources one invocation converts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BatchItem {
    pub run_id: String,
    pub bucket: String,
    pub batch: usize,
    pub sources: Vec<String>,
}

/// What happened to one conversation (or one document that could not be read).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Converted,
    Skipped,
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Converted => "converted",
            Status::Skipped => "skipped",
            Status::Failed => "failed",
        }
    }
}

/// One row of a batch's result and of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Row {
    /// The conversation folder or loose document; for a document that could not be read, its key.
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<String>,
    pub status: Status,
    /// `s3://` URI of the designer file written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub left_out_languages: Vec<String>,
}

/// The rows of one batch, as the batch step writes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchResult {
    pub run_id: String,
    pub batch: usize,
    pub rows: Vec<Row>,
}

impl BatchResult {
    /// A batch that failed as a whole (after the state machine's retries): every source
    /// failed with `reason`.
    pub fn failed(item: &BatchItem, reason: &str) -> Self {
        Self {
            run_id: item.run_id.clone(),
            batch: item.batch,
            rows: item
                .sources
                .iter()
                .map(|s| Row {
                    source: s.clone(),
                    conversation_id: None,
                    status: Status::Failed,
                    output: None,
                    reason: Some(reason.to_owned()),
                    left_out_languages: Vec::new(),
                })
                .collect(),
        }
    }
}

/// `backfills/<runId>/`.
pub fn run_prefix(run_id: &str) -> String {
    format!("{BACKFILL_PREFIX}{run_id}/")
}

pub fn plan_key(run_id: &str) -> String {
    format!("{}plan.json", run_prefix(run_id))
}

pub fn items_key(run_id: &str) -> String {
    format!("{}items.json", run_prefix(run_id))
}

/// `backfills/<runId>/batches/000042.json`: zero-padded so a listing is in batch order.
pub fn batch_key(run_id: &str, batch: usize) -> String {
    format!("{}batches/{batch:06}.json", run_prefix(run_id))
}

pub fn report_json_key(run_id: &str) -> String {
    format!("{}report.json", run_prefix(run_id))
}

pub fn report_csv_key(run_id: &str) -> String {
    format!("{}report.csv", run_prefix(run_id))
}

/// A run id must be usable in a key: 1 to 80 of `A-Z a-z 0-9 . _ -` (Step Functions execution
/// names allow more; name the execution within these).
pub fn check_run_id(field: &str, id: &str) -> Result<(), String> {
    let ok = !id.is_empty()
        && id.len() <= MAX_RUN_ID_LEN
        && !id.starts_with('.')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{field}: must be 1 to {MAX_RUN_ID_LEN} of A-Z, a-z, 0-9, '.', '_', '-' (not starting with '.')"
        ))
    }
}

/// The batch size a request asks for, checked.
pub fn batch_size(request: &Request) -> Result<usize, String> {
    match request.batch_size {
        None => Ok(DEFAULT_BATCH_SIZE),
        Some(n) if (1..=MAX_BATCH_SIZE).contains(&n) => Ok(n),
        Some(_) => Err(format!("batchSize: must be 1 to {MAX_BATCH_SIZE}")),
    }
}

/// `since` as seconds since the Unix epoch: `YYYY-MM-DD` is midnight UTC; otherwise an RFC 3339
/// date-time with its offset (`2026-01-31T08:00:00Z`, `...+02:00`).
pub fn parse_since(text: &str) -> Result<i64, String> {
    let text = text.trim();
    let err = || {
        "since: must be a date (YYYY-MM-DD, UTC) or an RFC 3339 date-time with offset (2026-01-31T08:00:00Z)"
            .to_owned()
    };
    if text.len() == 10 {
        let format = time::macros::format_description!("[year]-[month]-[day]");
        let date = time::Date::parse(text, format).map_err(|_| err())?;
        return Ok(date.midnight().assume_utc().unix_timestamp());
    }
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map(|t| t.unix_timestamp())
        .map_err(|_| err())
}

/// The sources under a listing: each conversation folder `<raw_prefix><id>/` holding `.json`
/// documents directly, and each other `.json` key (a loose document) on its own; in key order.
/// With `since`, only sources with a document modified at or after it (or of unknown time).
pub fn sources(
    raw_prefix: &str,
    listed: impl IntoIterator<Item = (String, Option<i64>)>,
    since: Option<i64>,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (key, modified) in listed {
        if !key.ends_with(".json") {
            continue;
        }
        if since.is_some_and(|s| modified.is_some_and(|m| m < s)) {
            continue;
        }
        out.push(crate::keys::source_of(raw_prefix, &key));
    }
    out.sort();
    out.dedup();
    out
}

/// The sources in batches of `size`, numbered from 0.
pub fn batches(run_id: &str, bucket: &str, sources: Vec<String>, size: usize) -> Vec<BatchItem> {
    sources
        .chunks(size.max(1))
        .enumerate()
        .map(|(batch, chunk)| BatchItem {
            run_id: run_id.to_owned(),
            bucket: bucket.to_owned(),
            batch,
            sources: chunk.to_vec(),
        })
        .collect()
}

#[cfg(test)]
mod tests;

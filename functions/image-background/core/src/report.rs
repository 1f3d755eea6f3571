//! The job report, built from the images of the job's items file and the status rows: counts,
//! one row per image sorted by image key (an image without a status row is [`Status::NotRun`]),
//! and its JSON, CSV (RFC 4180) and HTML renderings ([`render`]). The same items, rows and
//! [`LinkNote`] always give the same bytes; a rerun of the report step only changes the link's
//! expiry time.
//!
//! * [`input`]: the report step's input (`jobId`, `bucket`, `itemsKey`), validated.
//! * [`items`]: the image keys of the job's items file.
//! * [`notice`]: the SNS subject and message, and the link's real validity (the time is an
//!   argument: nothing here reads a clock).

pub mod input;
pub mod items;
pub mod notice;
pub mod render;

#[cfg(test)]
mod tests;

pub use input::{parse_input, Input, ItemsFile};
pub use notice::{
    about, effective_expiry, human_utc, link_note, message, rfc3339, subject, ExpiryLimit,
    LinkExpiry,
};
pub use render::{csv_field, html_escape};

use std::collections::HashMap;

use serde::Serialize;

/// What [`StatusRow::reason`] says of an image that never ran.
pub const NOT_RUN_REASON: &str = "not run: the job stopped before this image was processed";

/// How one image ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Status {
    Succeeded,
    Failed,
    /// In the items file but without a status row: the map stopped (too many failures) before
    /// this image ran.
    NotRun,
}

impl Status {
    pub const fn as_str(self) -> &'static str {
        match self {
            Status::Succeeded => "Succeeded",
            Status::Failed => "Failed",
            Status::NotRun => "NotRun",
        }
    }

    /// For people: `Not run` rather than `NotRun`.
    pub const fn label(self) -> &'static str {
        match self {
            Status::Succeeded => "Succeeded",
            Status::Failed => "Failed",
            Status::NotRun => "Not run",
        }
    }
}

/// One status row of the job (one image).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusRow {
    pub image_key: String,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub outputs: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
}

impl StatusRow {
    pub fn succeeded(image_key: impl Into<String>, outputs: Vec<String>) -> Self {
        Self {
            image_key: image_key.into(),
            status: Status::Succeeded,
            error: None,
            cause: None,
            outputs,
            updated_at: None,
        }
    }

    pub fn failed(
        image_key: impl Into<String>,
        error: impl Into<String>,
        cause: impl Into<String>,
    ) -> Self {
        Self {
            image_key: image_key.into(),
            status: Status::Failed,
            error: Some(error.into()),
            cause: Some(cause.into()),
            outputs: Vec::new(),
            updated_at: None,
        }
    }

    /// An image of the items file that has no status row.
    pub fn not_run(image_key: impl Into<String>) -> Self {
        Self {
            image_key: image_key.into(),
            status: Status::NotRun,
            error: None,
            cause: None,
            outputs: Vec::new(),
            updated_at: None,
        }
    }

    /// `error: cause`, or whichever of them is set, or [`NOT_RUN_REASON`] for an image that
    /// never ran, or `unknown reason`.
    pub fn reason(&self) -> String {
        match (self.error.as_deref(), self.cause.as_deref()) {
            (None, None) if self.status == Status::NotRun => NOT_RUN_REASON.to_owned(),
            (Some(e), Some(c)) if !c.is_empty() => format!("{e}: {c}"),
            (Some(e), _) => e.to_owned(),
            (None, Some(c)) => c.to_owned(),
            (None, None) => "unknown reason".to_owned(),
        }
    }
}

/// How long the e-mailed link to `report.html` works, and how to get a fresh one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LinkNote {
    /// RFC 3339, UTC (`2026-01-01T06:00:00Z`).
    pub valid_until: String,
    pub valid_for_seconds: u64,
    /// `configuration` (URL_EXPIRES_SECONDS), `credentials` (the signing credentials expire
    /// first) or `configuration, credentials expiry unknown` (temporary credentials that do not
    /// tell when they expire: the link may die sooner).
    pub limited_by: String,
    /// One sentence for people: until when, and why.
    pub text: String,
    /// How to get a fresh link (`aws s3 presign ...`).
    pub renew: String,
}

/// The report of one job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub job_id: String,
    /// Images of the items file (plus status rows of images not in it); with the old input
    /// (no items file), the status rows.
    pub total: usize,
    pub succeeded: usize,
    pub failed: usize,
    /// Images of the items file without a status row.
    pub not_run: usize,
    /// Status rows whose image is not in the items file (should not happen); listed anyway.
    #[serde(skip_serializing_if = "is_zero")]
    pub rows_not_in_items: usize,
    /// The e-mailed link's validity, set by the handler once the link is signed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<LinkNote>,
    /// Sorted by image key.
    pub rows: Vec<StatusRow>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Builds the report from the status rows alone (the old input, without an items file):
/// counts and rows sorted by image key.
pub fn build_report(job_id: &str, mut rows: Vec<StatusRow>) -> Report {
    rows.sort_by(|a, b| a.image_key.cmp(&b.image_key));
    let count = |s: Status| rows.iter().filter(|r| r.status == s).count();
    let (succeeded, failed, not_run) = (
        count(Status::Succeeded),
        count(Status::Failed),
        count(Status::NotRun),
    );
    Report {
        job_id: job_id.to_owned(),
        total: rows.len(),
        succeeded,
        failed,
        not_run,
        rows_not_in_items: 0,
        link: None,
        rows,
    }
}

/// Builds the report of a job from the image keys of its items file and its status rows: one
/// row per image (its status row, or [`Status::NotRun`] without one; a key listed twice is one
/// image), plus the status rows whose image is not in the items file.
pub fn build_job_report(job_id: &str, mut item_keys: Vec<String>, rows: Vec<StatusRow>) -> Report {
    item_keys.sort_unstable();
    item_keys.dedup();
    let mut by_key: HashMap<String, StatusRow> =
        rows.into_iter().map(|r| (r.image_key.clone(), r)).collect();
    let mut all = Vec::with_capacity(item_keys.len() + by_key.len());
    for key in item_keys {
        match by_key.remove(&key) {
            Some(row) => all.push(row),
            None => all.push(StatusRow::not_run(key)),
        }
    }
    let stray = by_key.len();
    all.extend(by_key.into_values());
    let mut report = build_report(job_id, all);
    report.rows_not_in_items = stray;
    report
}

impl Report {
    /// The failed rows, in image key order.
    pub fn failures(&self) -> impl Iterator<Item = &StatusRow> {
        self.rows.iter().filter(|r| r.status == Status::Failed)
    }

    /// The images that never ran, in image key order.
    pub fn not_run_rows(&self) -> impl Iterator<Item = &StatusRow> {
        self.rows.iter().filter(|r| r.status == Status::NotRun)
    }
}

//! The job report, built from the images of the job's items file and the status rows: counts,
//! one row per image sorted by image key (an image without a status row is [`Status::NotRun`]),
//! and its JSON, CSV (RFC 4180) and HTML renderings. The same items, rows and [`LinkNote`] always
//! give the same bytes; a rerun of the report step only changes the link's expiry time.

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

const CSV_HEADER: [&str; 6] = [
    "imageKey",
    "status",
    "error",
    "cause",
    "outputs",
    "updatedAt",
];

impl Report {
    /// The failed rows, in image key order.
    pub fn failures(&self) -> impl Iterator<Item = &StatusRow> {
        self.rows.iter().filter(|r| r.status == Status::Failed)
    }

    /// The images that never ran, in image key order.
    pub fn not_run_rows(&self) -> impl Iterator<Item = &StatusRow> {
        self.rows.iter().filter(|r| r.status == Status::NotRun)
    }

    /// Pretty-printed JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report always serializes")
    }

    /// CSV per RFC 4180: CRLF line ends, a header row, fields holding a comma, quote, CR or LF
    /// quoted with quotes doubled. Several outputs of one image are joined with `;`.
    pub fn to_csv(&self) -> String {
        let mut out = String::new();
        push_csv_record(&mut out, CSV_HEADER.iter().copied());
        for r in &self.rows {
            let outputs = r.outputs.join(";");
            push_csv_record(
                &mut out,
                [
                    r.image_key.as_str(),
                    r.status.as_str(),
                    r.error.as_deref().unwrap_or(""),
                    r.cause.as_deref().unwrap_or(""),
                    outputs.as_str(),
                    r.updated_at.as_deref().unwrap_or(""),
                ],
            );
        }
        out
    }

    /// A self-contained HTML page: summary, failures with reasons, then every image.
    pub fn to_html(&self) -> String {
        let id = html_escape(&self.job_id);
        let mut h = String::new();
        h.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        h.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
        h.push_str(&format!("<title>Image job {id} report</title>\n"));
        h.push_str(
            "<style>\n\
             body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#222}\n\
             table{border-collapse:collapse;width:100%;margin-bottom:2rem}\n\
             th,td{border:1px solid #ccc;padding:.4rem .6rem;text-align:left;vertical-align:top}\n\
             th{background:#f3f3f3}\n\
             .ok{color:#1a7f37;font-weight:600}.bad{color:#cf222e;font-weight:600}\n\
             .skip{color:#6e7781;font-weight:600}\n\
             .summary span{display:inline-block;margin-right:2rem;font-size:1.2rem}\n\
             pre{white-space:pre-wrap;margin:0;font-family:inherit}\n\
             </style>\n</head>\n<body>\n",
        );
        h.push_str(&format!("<h1>Image job <code>{id}</code></h1>\n"));
        let not_run = if self.not_run > 0 {
            format!("<span class=\"skip\">Not run: {}</span>", self.not_run)
        } else {
            String::new()
        };
        h.push_str(&format!(
            "<p class=\"summary\"><span>Total: <b>{}</b></span><span class=\"ok\">Succeeded: {}</span><span class=\"bad\">Failed: {}</span>{not_run}</p>\n",
            self.total, self.succeeded, self.failed
        ));
        if let Some(link) = &self.link {
            h.push_str(&format!(
                "<p class=\"link\">The e-mailed link to this page {} {}</p>\n",
                html_escape(&link.text),
                code_spans(&html_escape(&link.renew))
            ));
        }
        if self.failed > 0 {
            h.push_str("<h2>Failures</h2>\n<table>\n<thead><tr><th>Image</th><th>Error</th><th>Cause</th></tr></thead>\n<tbody>\n");
            for r in self.failures() {
                h.push_str(&format!(
                    "<tr><td>{}</td><td>{}</td><td><pre>{}</pre></td></tr>\n",
                    html_escape(&r.image_key),
                    html_escape(r.error.as_deref().unwrap_or("")),
                    html_escape(r.cause.as_deref().unwrap_or("")),
                ));
            }
            h.push_str("</tbody>\n</table>\n");
        }
        if self.not_run > 0 {
            h.push_str(&format!(
                "<h2>Not run</h2>\n<p>{} image(s) of the job were not run: the job stopped (too many failed images) before processing them, so they have no result. They are marked <span class=\"skip\">Not run</span> below; submit them again in a new job.</p>\n",
                self.not_run
            ));
        }
        if self.rows_not_in_items > 0 {
            h.push_str(&format!(
                "<p>{} status row(s) belong to images that are not in the job's items file; they are listed below anyway.</p>\n",
                self.rows_not_in_items
            ));
        }
        h.push_str("<h2>All images</h2>\n");
        if self.rows.is_empty() {
            h.push_str("<p>No status rows were recorded for this job.</p>\n");
        } else {
            h.push_str("<table>\n<thead><tr><th>Image</th><th>Status</th><th>Outputs</th><th>Updated</th></tr></thead>\n<tbody>\n");
            for r in &self.rows {
                let (class, title) = match r.status {
                    Status::Succeeded => ("ok", String::new()),
                    Status::Failed => ("bad", String::new()),
                    Status::NotRun => ("skip", format!(" title=\"{NOT_RUN_REASON}\"")),
                };
                let outputs: Vec<String> = r.outputs.iter().map(|o| html_escape(o)).collect();
                h.push_str(&format!(
                    "<tr><td>{}</td><td class=\"{class}\"{title}>{}</td><td>{}</td><td>{}</td></tr>\n",
                    html_escape(&r.image_key),
                    r.status.label(),
                    outputs.join("<br>"),
                    html_escape(r.updated_at.as_deref().unwrap_or("")),
                ));
            }
            h.push_str("</tbody>\n</table>\n");
        }
        h.push_str("</body>\n</html>\n");
        h
    }
}

fn push_csv_record<'a>(out: &mut String, fields: impl IntoIterator<Item = &'a str>) {
    for (i, f) in fields.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&csv_field(f));
    }
    out.push_str("\r\n");
}

/// One CSV field, quoted (quotes doubled) when it holds a comma, quote, CR or LF.
pub fn csv_field(field: &str) -> String {
    if field.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}

/// Escaped text with `` `command` `` spans as `<code>command</code>`.
fn code_spans(escaped: &str) -> String {
    let mut out = String::with_capacity(escaped.len() + 16);
    for (i, part) in escaped.split('`').enumerate() {
        if i > 0 {
            out.push_str(if i % 2 == 1 { "<code>" } else { "</code>" });
        }
        out.push_str(part);
    }
    if escaped.matches('`').count() % 2 == 1 {
        out.push_str("</code>");
    }
    out
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

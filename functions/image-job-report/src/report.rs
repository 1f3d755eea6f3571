//! The job report, built purely from the status rows: counts, rows sorted by image key, and
//! its JSON, CSV (RFC 4180) and HTML renderings. The same rows always give the same bytes, so a
//! rerun of the report step rewrites identical objects.

use serde::Serialize;

/// How one image ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Status {
    Succeeded,
    Failed,
}

impl Status {
    pub const fn as_str(self) -> &'static str {
        match self {
            Status::Succeeded => "Succeeded",
            Status::Failed => "Failed",
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

    /// `error: cause`, or whichever of them is set, or `unknown reason`.
    pub fn reason(&self) -> String {
        match (self.error.as_deref(), self.cause.as_deref()) {
            (Some(e), Some(c)) if !c.is_empty() => format!("{e}: {c}"),
            (Some(e), _) => e.to_owned(),
            (None, Some(c)) => c.to_owned(),
            (None, None) => "unknown reason".to_owned(),
        }
    }
}

/// The report of one job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub job_id: String,
    pub total: usize,
    pub succeeded: usize,
    pub failed: usize,
    /// Sorted by image key.
    pub rows: Vec<StatusRow>,
}

/// Builds the report: counts and rows sorted by image key.
pub fn build_report(job_id: &str, mut rows: Vec<StatusRow>) -> Report {
    rows.sort_by(|a, b| a.image_key.cmp(&b.image_key));
    let succeeded = rows
        .iter()
        .filter(|r| r.status == Status::Succeeded)
        .count();
    Report {
        job_id: job_id.to_owned(),
        total: rows.len(),
        succeeded,
        failed: rows.len() - succeeded,
        rows,
    }
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
             .summary span{display:inline-block;margin-right:2rem;font-size:1.2rem}\n\
             pre{white-space:pre-wrap;margin:0;font-family:inherit}\n\
             </style>\n</head>\n<body>\n",
        );
        h.push_str(&format!("<h1>Image job <code>{id}</code></h1>\n"));
        h.push_str(&format!(
            "<p class=\"summary\"><span>Total: <b>{}</b></span><span class=\"ok\">Succeeded: {}</span><span class=\"bad\">Failed: {}</span></p>\n",
            self.total, self.succeeded, self.failed
        ));
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
        h.push_str("<h2>All images</h2>\n");
        if self.rows.is_empty() {
            h.push_str("<p>No status rows were recorded for this job.</p>\n");
        } else {
            h.push_str("<table>\n<thead><tr><th>Image</th><th>Status</th><th>Outputs</th><th>Updated</th></tr></thead>\n<tbody>\n");
            for r in &self.rows {
                let class = match r.status {
                    Status::Succeeded => "ok",
                    Status::Failed => "bad",
                };
                let outputs: Vec<String> = r.outputs.iter().map(|o| html_escape(o)).collect();
                h.push_str(&format!(
                    "<tr><td>{}</td><td class=\"{class}\">{}</td><td>{}</td><td>{}</td></tr>\n",
                    html_escape(&r.image_key),
                    r.status.as_str(),
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

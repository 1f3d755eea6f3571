//! The report's renderings: pretty JSON, CSV per RFC 4180 and a self-contained HTML page.

pub use shared_core::csv::field as csv_field;
use shared_core::csv::push_record as push_csv_record;

use super::{Report, Status, NOT_RUN_REASON};

const CSV_HEADER: [&str; 6] = [
    "imageKey",
    "status",
    "error",
    "cause",
    "outputs",
    "updatedAt",
];

impl Report {
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

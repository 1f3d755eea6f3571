//! The report of a run: counts, every conversation that was not converted with its reason (in
//! `report.json`), every row (in `report.csv`), and the notification.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use shared_core::csv::push_record;

use super::{report_csv_key, report_json_key, BatchItem, BatchResult, Plan, Row, Run, Status};

/// Reason of the rows of a batch that has no result (the map stopped before it ran).
pub const NOT_RUN: &str = "not run: the map stopped before this batch (see mapFailure)";
/// Failures listed in the notification; the rest are in the report.
const NOTIFIED_FAILURES: usize = 20;

/// `report.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    #[serde(flatten)]
    pub run: Run,
    /// Sources planned (conversation folders and loose documents).
    pub sources: usize,
    pub batches: usize,
    pub batches_not_run: usize,
    /// Conversations converted and skipped; documents and sources failed.
    pub converted: usize,
    pub skipped: usize,
    pub failed: usize,
    /// Why the map stopped, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub map_failure: Option<String>,
    /// Every row that is not `converted`, in batch order.
    pub not_converted: Vec<Row>,
    /// Converted conversations with transcripts in other languages left out.
    pub left_out: Vec<LeftOut>,
    /// Where every row is, as CSV.
    pub csv_key: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeftOut {
    pub conversation_id: String,
    pub languages: Vec<String>,
}

const CSV_HEADER: [&str; 6] = [
    "source",
    "conversationId",
    "status",
    "output",
    "reason",
    "leftOutLanguages",
];

/// The report of `plan` from the map's items and each batch's result (`None`: no result, the
/// batch did not run), and the CSV of every row. The same inputs give the same bytes.
pub fn build_report(
    plan: &Plan,
    items: &[BatchItem],
    mut result: impl FnMut(usize) -> Option<BatchResult>,
    map_failure: Option<String>,
) -> (Report, String) {
    let mut report = Report {
        run: plan.run.clone(),
        sources: plan.conversations,
        batches: items.len(),
        batches_not_run: 0,
        converted: 0,
        skipped: 0,
        failed: 0,
        map_failure,
        not_converted: Vec::new(),
        left_out: Vec::new(),
        csv_key: report_csv_key(&plan.run.run_id),
    };
    let mut csv = String::new();
    push_record(&mut csv, CSV_HEADER);
    for item in items {
        let rows = match result(item.batch) {
            Some(r) => r.rows,
            None => {
                report.batches_not_run += 1;
                BatchResult::failed(item, NOT_RUN).rows
            }
        };
        for row in rows {
            let languages = row.left_out_languages.join(";");
            push_record(
                &mut csv,
                [
                    row.source.as_str(),
                    row.conversation_id.as_deref().unwrap_or(""),
                    row.status.as_str(),
                    row.output.as_deref().unwrap_or(""),
                    row.reason.as_deref().unwrap_or(""),
                    languages.as_str(),
                ],
            );
            match row.status {
                Status::Converted => {
                    report.converted += 1;
                    if let (Some(id), false) =
                        (&row.conversation_id, row.left_out_languages.is_empty())
                    {
                        report.left_out.push(LeftOut {
                            conversation_id: id.clone(),
                            languages: row.left_out_languages.clone(),
                        });
                    }
                }
                Status::Skipped => report.skipped += 1,
                Status::Failed => report.failed += 1,
            }
            if row.status != Status::Converted {
                report.not_converted.push(row);
            }
        }
    }
    (report, csv)
}

impl Report {
    /// Pretty JSON with a final newline.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(self).expect("the report serialises");
        out.push(b'\n');
        out
    }
}

/// The sources to convert again after `report`: those of every failed row (a document that
/// could not be read stands for its conversation folder), sorted, once each.
pub fn retry_sources(raw_prefix: &str, report: &Report) -> Vec<String> {
    let sources: BTreeSet<String> = report
        .not_converted
        .iter()
        .filter(|r| r.status == Status::Failed)
        .map(|r| {
            if r.source.ends_with('/') {
                r.source.clone()
            } else {
                crate::keys::source_of(raw_prefix, &r.source)
            }
        })
        .collect();
    sources.into_iter().collect()
}

/// The notification's subject (ASCII, under SNS's 100 characters) and body.
pub fn notification(report: &Report) -> (String, String) {
    let outcome = if report.map_failure.is_some() {
        "stopped"
    } else if report.failed > 0 {
        "finished with failures"
    } else {
        "finished"
    };
    let mut subject = format!(
        "mlpipe transcript backfill {outcome}: {} converted, {} failed",
        report.converted, report.failed
    );
    subject.truncate(99);
    let mut body = String::new();
    let _ = writeln!(body, "Transcript backfill {} {outcome}.", report.run.run_id);
    let _ = writeln!(
        body,
        "Prefix: s3://{}/{}",
        report.run.bucket, report.run.prefix
    );
    if let Some(since) = &report.run.since {
        let _ = writeln!(body, "Since: {since}");
    }
    if let Some(run) = &report.run.retry_failed_of {
        let _ = writeln!(body, "Retrying what failed in: {run}");
    }
    let _ = writeln!(
        body,
        "\nSources: {}  converted: {}  skipped: {}  failed: {}  (batches: {}, not run: {})",
        report.sources,
        report.converted,
        report.skipped,
        report.failed,
        report.batches,
        report.batches_not_run
    );
    if let Some(failure) = &report.map_failure {
        let _ = writeln!(body, "The map stopped: {failure}");
    }
    let failed: Vec<&Row> = report
        .not_converted
        .iter()
        .filter(|r| r.status == Status::Failed)
        .collect();
    if !failed.is_empty() {
        let _ = writeln!(body, "\nFailed:");
        for row in failed.iter().take(NOTIFIED_FAILURES) {
            let _ = writeln!(
                body,
                "  {}: {}",
                row.source,
                row.reason.as_deref().unwrap_or("")
            );
        }
        if failed.len() > NOTIFIED_FAILURES {
            let _ = writeln!(
                body,
                "  ... and {} more (see the report)",
                failed.len() - NOTIFIED_FAILURES
            );
        }
        let _ = writeln!(
            body,
            "\nConvert them again once fixed: mlpipe transcripts backfill --retry-failed-of {}",
            report.run.run_id
        );
    }
    let _ = writeln!(
        body,
        "\nReport: s3://{}/{}\nEvery row: s3://{}/{}",
        report.run.bucket,
        report_json_key(&report.run.run_id),
        report.run.bucket,
        report.csv_key
    );
    (subject, body)
}

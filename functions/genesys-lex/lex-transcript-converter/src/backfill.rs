//! `lex-transcript-backfill`: the steps of the backfill state machine
//! (`statemachines/genesys-backfill.asl.json`), which converts the raw documents already in the
//! bucket, at any size:
//!
//! 1. **plan** (`backfillPlan`): list the prefix (or read an earlier run's report for what
//!    failed), group the documents into sources (conversation folders, loose documents), write
//!    the Distributed Map's items (`backfills/<runId>/items.json`, batches of `batchSize`
//!    sources) and the plan;
//! 2. **batch** (`backfillBatch`, one per map item, `MaxConcurrency` at once): convert each
//!    source exactly as the converter does on an S3 event (same outputs, quarantine, reason
//!    files), write the batch's rows (`backfills/<runId>/batches/<batch>.json`);
//!    **batchFailed** (`backfillBatchFailed`): a batch that failed after its retries gets rows
//!    naming the error, then counts against the map's tolerated failures;
//! 3. **report** (`backfillReport`): read every batch's rows (a batch without rows did not
//!    run), write `report.json` and `report.csv`, publish the counts to `BACKFILL_TOPIC_ARN`.
//!
//! Every step is idempotent: a retried step rewrites the same objects with the same bytes.
//! The pure rules (sources, batches, report) are `genesys_lex_core::backfill`.

use bytes::Bytes;
use futures_util::StreamExt as _;
use genesys_lex_core::backfill::{
    self, build_report, notification, BatchItem, BatchResult, Plan, Report, Request, Row, Run,
    Status,
};
use genesys_lex_core::keys;
use serde_json::{json, Value};
use shared::metrics::Metrics;
use shared::notify::Notifier;
use shared::store::{s3_uri, ObjectStore};
use shared::{ErrorKind, PipelineError};
use tracing::Instrument as _;

use crate::event::BackfillStep;
use crate::{config, to_bytes, Action, Config, Converter, CONTENT_TYPE};

/// Batch results read at once by the report step.
const REPORT_READ_CONCURRENCY: usize = 16;
/// Conversations of a batch converted at once: each waits on a few S3 round trips.
const BATCH_CONCURRENCY: usize = 8;

/// The backfill's handler.
pub struct Backfiller<S, N> {
    converter: Converter<S>,
    notifier: Option<N>,
    bucket: String,
}

impl<S: ObjectStore, N: Notifier> Backfiller<S, N> {
    /// `RAW_BUCKET` is required; `notifier` publishes the report (none: no notification).
    pub fn new(store: S, config: Config, notifier: Option<N>) -> Result<Self, PipelineError> {
        let bucket = config.raw_bucket.clone().ok_or_else(|| {
            PipelineError::from(shared::config::ConfigError::new(
                config::RAW_BUCKET,
                "required by the backfill (the bucket it lists and converts)",
            ))
        })?;
        Ok(Self {
            converter: Converter::new(store, config),
            notifier,
            bucket,
        })
    }

    fn store(&self) -> &S {
        &self.converter.store
    }

    fn raw_prefix(&self) -> &str {
        &self.converter.config.raw_prefix
    }

    /// Handles one step of the state machine and flushes the invocation's metrics.
    pub async fn handle(&self, event: Value) -> Result<Value, PipelineError> {
        let step = BackfillStep::try_from(event)?;
        let mut metrics = Metrics::from_env();
        let result = match step {
            BackfillStep::Plan { run_id, request } => {
                let span = tracing::info_span!("backfill", run_id, step = "plan");
                self.plan(&run_id, request).instrument(span).await
            }
            BackfillStep::Batch(item) => {
                let span = tracing::info_span!(
                    "backfill",
                    run_id = item.run_id,
                    step = "batch",
                    batch = item.batch
                );
                self.batch(&item, &mut metrics).instrument(span).await
            }
            BackfillStep::BatchFailed { item, error, cause } => {
                let span = tracing::info_span!(
                    "backfill",
                    run_id = item.run_id,
                    step = "batchFailed",
                    batch = item.batch
                );
                self.batch_failed(&item, &error, &cause)
                    .instrument(span)
                    .await
            }
            BackfillStep::Report {
                run_id,
                map_failure,
            } => {
                let span = tracing::info_span!("backfill", run_id, step = "report");
                self.report(&run_id, map_failure, &mut metrics)
                    .instrument(span)
                    .await
            }
        };
        if let Err(e) = &result {
            tracing::error!(
                error_type = e.kind.error_type(),
                "backfill step failed: {}",
                e.message
            );
        }
        metrics.flush();
        result
    }

    async fn plan(&self, run_id: &str, request: Request) -> Result<Value, PipelineError> {
        let invalid = |m: String| PipelineError::invalid_input(m);
        backfill::check_run_id("runId", run_id).map_err(invalid)?;
        let batch_size =
            backfill::batch_size(&request).map_err(|e| invalid(format!("input.{e}")))?;
        let raw_prefix = self.raw_prefix();
        let prefix = request
            .prefix
            .clone()
            .unwrap_or_else(|| raw_prefix.to_owned());
        if !prefix.starts_with(raw_prefix) {
            return Err(invalid(format!(
                "input.prefix: {prefix:?} is not under RAW_PREFIX {raw_prefix:?}"
            )));
        }
        let since = match &request.since {
            Some(text) => {
                Some(backfill::parse_since(text).map_err(|e| invalid(format!("input.{e}")))?)
            }
            None => None,
        };
        let sources = match &request.retry_failed_of {
            Some(earlier) => {
                if since.is_some() {
                    return Err(invalid(
                        "input.since: cannot be combined with retryFailedOf (a retry converts \
                         what failed, whenever it was written)"
                            .to_owned(),
                    ));
                }
                backfill::check_run_id("input.retryFailedOf", earlier).map_err(invalid)?;
                let report = self.earlier_report(earlier).await?;
                backfill::retry_sources(raw_prefix, &report)
                    .into_iter()
                    .filter(|s| s.starts_with(&prefix))
                    .collect()
            }
            None => {
                let listed = self.store().list_objects(&self.bucket, &prefix).await?;
                backfill::sources(
                    raw_prefix,
                    listed.into_iter().map(|o| (o.key, o.modified)),
                    since,
                )
            }
        };
        let conversations = sources.len();
        let items = backfill::batches(run_id, &self.bucket, sources, batch_size);
        let plan = Plan {
            run: Run {
                run_id: run_id.to_owned(),
                bucket: self.bucket.clone(),
                prefix,
                since: request.since.clone(),
                retry_failed_of: request.retry_failed_of.clone(),
            },
            batch_size,
            conversations,
            batches: items.len(),
            items_key: backfill::items_key(run_id),
        };
        let items_body = serde_json::to_vec(&items).expect("items serialise");
        self.store()
            .put(
                &self.bucket,
                &plan.items_key,
                Bytes::from(items_body),
                CONTENT_TYPE,
            )
            .await?;
        self.store()
            .put(
                &self.bucket,
                &backfill::plan_key(run_id),
                to_bytes(&plan),
                CONTENT_TYPE,
            )
            .await?;
        tracing::info!(
            conversations,
            batches = plan.batches,
            prefix = %plan.run.prefix,
            "backfill planned"
        );
        Ok(json!({
            "runId": run_id,
            "bucket": self.bucket,
            "itemsKey": plan.items_key,
            "conversations": conversations,
            "batches": plan.batches,
        }))
    }

    async fn earlier_report(&self, run_id: &str) -> Result<Report, PipelineError> {
        let key = backfill::report_json_key(run_id);
        let body = match self.store().get(&self.bucket, &key).await {
            Ok(body) => body,
            Err(e) if e.kind == ErrorKind::InvalidInput => {
                return Err(PipelineError::invalid_input(format!(
                    "input.retryFailedOf: no report at {} (did that run finish?)",
                    s3_uri(&self.bucket, &key)
                )))
            }
            Err(e) => return Err(e),
        };
        serde_json::from_slice(&body).map_err(|e| {
            PipelineError::invalid_input(format!(
                "input.retryFailedOf: {} is not a backfill report: {e}",
                s3_uri(&self.bucket, &key)
            ))
        })
    }

    fn check_item(&self, item: &BatchItem) -> Result<(), PipelineError> {
        backfill::check_run_id("backfillBatch.runId", &item.run_id)
            .map_err(PipelineError::invalid_input)?;
        if item.bucket != self.bucket {
            return Err(PipelineError::invalid_input(format!(
                "backfillBatch.bucket: must be RAW_BUCKET {:?}",
                self.bucket
            )));
        }
        if item.sources.len() > backfill::MAX_BATCH_SIZE {
            return Err(PipelineError::invalid_input(format!(
                "backfillBatch.sources: at most {} per batch",
                backfill::MAX_BATCH_SIZE
            )));
        }
        Ok(())
    }

    async fn batch(&self, item: &BatchItem, metrics: &mut Metrics) -> Result<Value, PipelineError> {
        self.check_item(item)?;
        let converted = futures_util::stream::iter(item.sources.clone())
            .map(|source| self.convert_source_alone(source))
            .buffered(BATCH_CONCURRENCY)
            .collect::<Vec<_>>()
            .await;
        let mut rows = Vec::new();
        let mut first_error = None;
        for (result, part) in converted {
            metrics.absorb(part);
            match result {
                Ok(r) => rows.extend(r),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        // Every source was attempted; a retry redoes the converted ones with the same bytes.
        if let Some(e) = first_error {
            return Err(e);
        }
        let result = BatchResult {
            run_id: item.run_id.clone(),
            batch: item.batch,
            rows,
        };
        self.write_batch(&result).await?;
        let count = |s: Status| result.rows.iter().filter(|r| r.status == s).count();
        let (converted, skipped, failed) = (
            count(Status::Converted),
            count(Status::Skipped),
            count(Status::Failed),
        );
        tracing::info!(converted, skipped, failed, "batch converted");
        Ok(json!({
            "batch": item.batch,
            "converted": converted,
            "skipped": skipped,
            "failed": failed,
        }))
    }

    async fn batch_failed(
        &self,
        item: &BatchItem,
        error: &str,
        cause: &str,
    ) -> Result<Value, PipelineError> {
        self.check_item(item)?;
        let reason = match (error.is_empty(), cause.is_empty()) {
            (false, false) => format!("{error}: {cause}"),
            (false, true) => error.to_owned(),
            (true, false) => cause.to_owned(),
            (true, true) => "the batch failed without a reason".to_owned(),
        };
        tracing::warn!(reason = %reason, "batch failed after its retries");
        self.write_batch(&BatchResult::failed(item, &reason))
            .await?;
        Ok(json!({"batch": item.batch, "failed": item.sources.len()}))
    }

    async fn write_batch(&self, result: &BatchResult) -> Result<(), PipelineError> {
        self.store()
            .put(
                &self.bucket,
                &backfill::batch_key(&result.run_id, result.batch),
                to_bytes(result),
                CONTENT_TYPE,
            )
            .await
    }

    /// [`Self::convert_source`] with metrics of its own, so sources convert concurrently.
    async fn convert_source_alone(
        &self,
        source: String,
    ) -> (Result<Vec<Row>, PipelineError>, Metrics) {
        let mut metrics = Metrics::new("", "");
        let rows = self.convert_source(&source, &mut metrics).await;
        (rows, metrics)
    }

    /// Converts one source (a conversation folder or a loose document) as the converter does
    /// on an S3 event, and says what happened to each conversation (or unreadable document).
    async fn convert_source(
        &self,
        source: &str,
        metrics: &mut Metrics,
    ) -> Result<Vec<Row>, PipelineError> {
        let row = |status, reason: &str| Row {
            source: source.to_owned(),
            conversation_id: None,
            status,
            output: None,
            reason: Some(reason.to_owned()),
            left_out_languages: Vec::new(),
        };
        if !source.starts_with(self.raw_prefix()) {
            return Ok(vec![row(Status::Failed, "not under RAW_PREFIX")]);
        }
        let keys = if source.ends_with('/') {
            keys::folder_members(source, self.store().list(&self.bucket, source).await?)
        } else {
            vec![source.to_owned()]
        };
        let actions = self
            .converter
            .convert_keys(&self.bucket, &keys, None, metrics)
            .await?;
        let mut rows: Vec<Row> = Vec::new();
        for (key, action) in actions {
            let next = match action {
                Action::Converted {
                    conversation_id,
                    output,
                    left_out_languages,
                    ..
                } => Row {
                    source: source.to_owned(),
                    conversation_id: Some(conversation_id),
                    status: Status::Converted,
                    output: Some(output),
                    reason: None,
                    left_out_languages,
                },
                Action::Skipped {
                    conversation_id,
                    reason,
                    left_out_languages,
                } => Row {
                    source: source.to_owned(),
                    conversation_id: Some(conversation_id),
                    status: Status::Skipped,
                    output: None,
                    reason: Some(reason),
                    left_out_languages,
                },
                Action::Quarantined { reason } => Row {
                    source: key,
                    conversation_id: None,
                    status: Status::Failed,
                    output: None,
                    reason: Some(reason),
                    left_out_languages: Vec::new(),
                },
                Action::Ignored { .. } => continue,
            };
            // The documents of one skipped conversation share its row.
            if !rows.contains(&next) {
                rows.push(next);
            }
        }
        if rows.is_empty() {
            rows.push(row(
                Status::Skipped,
                "no .json document any more (deleted since the plan)",
            ));
        }
        Ok(rows)
    }

    async fn report(
        &self,
        run_id: &str,
        map_failure: Option<String>,
        metrics: &mut Metrics,
    ) -> Result<Value, PipelineError> {
        backfill::check_run_id("backfillReport.runId", run_id)
            .map_err(PipelineError::invalid_input)?;
        let plan: Plan = self.read_json(&backfill::plan_key(run_id)).await?;
        let items: Vec<BatchItem> = self.read_json(&plan.items_key).await?;
        let keys: Vec<String> = items
            .iter()
            .map(|item| backfill::batch_key(run_id, item.batch))
            .collect();
        let reads = futures_util::stream::iter(keys)
            .map(|key| self.read_batch(key))
            .buffered(REPORT_READ_CONCURRENCY)
            .collect::<Vec<_>>()
            .await;
        let mut results = Vec::with_capacity(reads.len());
        for read in reads {
            results.push(read?);
        }
        let (report, csv) = build_report(
            &plan,
            &items,
            |batch| results.get_mut(batch).and_then(Option::take),
            map_failure,
        );
        let json_key = backfill::report_json_key(run_id);
        self.store()
            .put(
                &self.bucket,
                &json_key,
                Bytes::from(report.to_json()),
                CONTENT_TYPE,
            )
            .await?;
        self.store()
            .put(
                &self.bucket,
                &report.csv_key,
                Bytes::from(csv),
                "text/csv; charset=utf-8",
            )
            .await?;
        if let Some(notifier) = &self.notifier {
            let (subject, body) = notification(&report);
            notifier.publish(&subject, &body).await?;
        }
        metrics.add(
            "BackfillConversionsFailed",
            shared::metrics::Unit::Count,
            report.failed as f64,
        );
        tracing::info!(
            converted = report.converted,
            skipped = report.skipped,
            failed = report.failed,
            batches_not_run = report.batches_not_run,
            "backfill reported"
        );
        Ok(json!({
            "runId": run_id,
            "converted": report.converted,
            "skipped": report.skipped,
            "failed": report.failed,
            "batchesNotRun": report.batches_not_run,
            "reportKeys": [json_key, report.csv_key],
        }))
    }

    /// A batch's rows; `None` when it has none (it did not run).
    async fn read_batch(&self, key: String) -> Result<Option<BatchResult>, PipelineError> {
        match self.store().get(&self.bucket, &key).await {
            Ok(body) => serde_json::from_slice(&body).map(Some).map_err(|e| {
                PipelineError::invalid_input(format!(
                    "{}: not a batch result: {e}",
                    s3_uri(&self.bucket, &key)
                ))
            }),
            Err(e) if e.kind == ErrorKind::InvalidInput => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn read_json<T: serde::de::DeserializeOwned>(
        &self,
        key: &str,
    ) -> Result<T, PipelineError> {
        let body = self.store().get(&self.bucket, key).await?;
        serde_json::from_slice(&body).map_err(|e| {
            PipelineError::invalid_input(format!("{}: {e}", s3_uri(&self.bucket, key)))
        })
    }
}

#[cfg(test)]
mod tests;

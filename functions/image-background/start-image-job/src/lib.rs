//! `start-image-job`: starts the image background workflow for a job manifest.
//!
//! Triggered by S3 `ObjectCreated` on `<JOBS_PREFIX><job-id>.json` in the upload bucket. The
//! manifest is validated with an error per field that names the field and its limit. Then:
//!
//! 1. the Distributed Map items file `<ITEMS_PREFIX><jobId>.json` is written in the same bucket:
//!    a JSON array with one `{"job": {...}, "image": {...}}` event per image, the exact event of
//!    `generate-background` (so images never travel through state payloads);
//! 2. the job is recorded in `JOBS_TABLE` (status `STARTED`) with a conditional put, so a repeated
//!    trigger never overwrites it;
//! 3. one Step Functions execution is started, **named by the job id**: a second trigger for the
//!    same job gets `ExecutionAlreadyExists` and is reported as `duplicate`, never a second run.
//!
//! A bad manifest stays where it is; `<FAILED_PREFIX><key>.error.json` explains every problem,
//! and the invocation succeeds with action `rejected` (retrying cannot fix it). S3, DynamoDB and
//! Step Functions failures fail the invocation with their errorType (`Retryable` for throttling
//! and 5xx), and every step is idempotent, so Lambda's asynchronous retries are safe.
//!
//! The manifest, its validation and the items are pure and live in
//! [`image_background_core::manifest`]; here are the handler and its ports ([`JobTable`],
//! [`Executions`]), the settings ([`config`]) and the SDK adapters ([`aws`]).

use std::future::Future;

use bytes::Bytes;
use image_background_core::keys::{self, s3_uri};
pub use image_background_core::manifest::{validate, ValidJob, MAX_REPORTED_ERRORS};
/// The items this function writes are `generate-background` events; the types are shared.
pub use image_background_core::{ImageItem, Job, MaskBox};
pub use image_background_core::{JobId, MAX_JOB_ID_CHARS};
use serde_json::{json, Value};
use shared::metrics::Metrics;
use shared::store::ObjectStore;
use shared::PipelineError;
use tracing::Instrument as _;

pub mod aws;
pub mod config;

pub use aws::{DynamoJobTable, SfnExecutions, IDEMPOTENT_START_SLACK_SECS};
pub use config::{
    Config, DEFAULT_MAX_IMAGES, DEFAULT_TOLERATED_FAILURE_COUNT,
    DEFAULT_TOLERATED_FAILURE_PERCENTAGE,
};

#[cfg(test)]
mod tests;

/// A job row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRecord {
    pub job_id: JobId,
    pub manifest_key: String,
    pub bucket: String,
    pub image_count: usize,
    /// ISO-8601 (RFC 3339), UTC.
    pub created_at: String,
    pub execution_arn: String,
}

/// Whether the conditional put wrote the row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    New,
    AlreadyRecorded,
}

/// The jobs table.
pub trait JobTable: Send + Sync {
    /// Puts the row with `status = STARTED` unless a row with this `jobId` exists.
    fn record_job(
        &self,
        record: &JobRecord,
    ) -> impl Future<Output = Result<Recorded, PipelineError>> + Send;
}

/// What starting an execution did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Started {
    Started { execution_arn: String },
    AlreadyExists,
}

/// Step Functions executions.
pub trait Executions: Send + Sync {
    fn start(
        &self,
        state_machine_arn: &str,
        name: &str,
        input: &Value,
    ) -> impl Future<Output = Result<Started, PipelineError>> + Send;
}

/// What happened to one S3 record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Started {
        job_id: JobId,
        execution_arn: String,
    },
    Duplicate {
        job_id: JobId,
        execution_arn: String,
    },
    Rejected {
        job_id: Option<JobId>,
        errors: Vec<String>,
    },
    Ignored {
        reason: String,
    },
}

impl Action {
    /// `{"action", "jobId", "executionArn"?}` (plus `errors` / `reason`).
    pub fn to_json(&self, source: &str) -> Value {
        match self {
            Action::Started {
                job_id,
                execution_arn,
            } => {
                json!({"source": source, "action": "started", "jobId": job_id, "executionArn": execution_arn})
            }
            Action::Duplicate {
                job_id,
                execution_arn,
            } => {
                json!({"source": source, "action": "duplicate", "jobId": job_id, "executionArn": execution_arn})
            }
            Action::Rejected { job_id, errors } => {
                json!({"source": source, "action": "rejected", "jobId": job_id, "errors": errors})
            }
            Action::Ignored { reason } => {
                json!({"source": source, "action": "ignored", "reason": reason})
            }
        }
    }
}

/// The handler.
pub struct Starter<S, T, X> {
    pub store: S,
    pub table: T,
    pub executions: X,
    pub config: Config,
}

impl<S: ObjectStore, T: JobTable, X: Executions> Starter<S, T, X> {
    pub fn new(store: S, table: T, executions: X, config: Config) -> Self {
        Self {
            store,
            table,
            executions,
            config,
        }
    }

    /// Handles an S3 notification. With one record the result is that record's
    /// `{"action", "jobId", "executionArn"?}`; with several, `{"results": [...]}`.
    pub async fn handle(&self, event: Value) -> Result<Value, PipelineError> {
        let mut metrics = Metrics::from_env();
        let result = self.handle_s3(event, &mut metrics).await;
        metrics.flush();
        result
    }

    async fn handle_s3(&self, event: Value, metrics: &mut Metrics) -> Result<Value, PipelineError> {
        let event = shared::s3_event::parse(event)?;
        let mut results = Vec::with_capacity(event.records.len());
        let mut first_error = None;
        for (i, record) in event.records.iter().enumerate() {
            let object = shared::s3_event::object(i, record)?;
            let (bucket, key) = (object.bucket, object.key.as_str());
            let action = if !object.is_created() {
                Ok(Action::Ignored {
                    reason: format!("event {:?} is not ObjectCreated", object.event_name),
                })
            } else {
                self.on_manifest(bucket, key, metrics).await
            };
            match action {
                Ok(a) => results.push(a.to_json(&s3_uri(bucket, key))),
                Err(e) => {
                    tracing::error!(key = %key, error_type = e.kind.error_type(), "job start failed: {}", e.message);
                    metrics.count("JobStartErrors");
                    first_error.get_or_insert(e);
                }
            }
        }
        // Every record was attempted; a retry redoes the others idempotently.
        match first_error {
            Some(e) => Err(e),
            None if results.len() == 1 => Ok(results.remove(0)),
            None => Ok(json!({ "results": results })),
        }
    }

    /// Validates one manifest and starts its job, in a span carrying the key and, once read
    /// from it, the job id.
    pub async fn on_manifest(
        &self,
        bucket: &str,
        key: &str,
        metrics: &mut Metrics,
    ) -> Result<Action, PipelineError> {
        let span = tracing::info_span!("manifest", key, job_id = tracing::field::Empty);
        self.start_job(bucket, key, metrics).instrument(span).await
    }

    async fn start_job(
        &self,
        bucket: &str,
        key: &str,
        metrics: &mut Metrics,
    ) -> Result<Action, PipelineError> {
        let jobs_prefix = self.config.jobs_prefix.as_str();
        let Some(rest) = key
            .strip_prefix(jobs_prefix)
            .filter(|_| key.ends_with(".json"))
        else {
            tracing::info!("ignored: not a .json object under JOBS_PREFIX");
            return Ok(Action::Ignored {
                reason: format!("not a .json object under {jobs_prefix:?}"),
            });
        };
        if rest.contains('/') {
            tracing::info!("ignored: in a folder below JOBS_PREFIX");
            return Ok(Action::Ignored {
                reason: format!("not directly under {jobs_prefix:?}"),
            });
        }
        let job_id = keys::job_id_from_manifest_key(jobs_prefix, key);
        if let Ok(id) = &job_id {
            tracing::Span::current().record("job_id", id.as_str());
        }
        let body = self.store.get(bucket, key).await?;
        let valid = match validate(
            job_id.clone(),
            &body,
            self.config.model,
            self.config.max_images,
        ) {
            Ok(v) => v,
            Err(errors) => {
                self.reject(bucket, key, &errors).await?;
                metrics.count("JobsRejected");
                return Ok(Action::Rejected {
                    job_id: job_id.ok(),
                    errors,
                });
            }
        };
        let job_id = valid.job.job_id.clone();
        let image_count = valid.images.len();

        let items_key = keys::items_key(&self.config.items_prefix, &job_id);
        let execution_arn = self.config.execution_arn(job_id.as_str());
        let record = JobRecord {
            job_id: job_id.clone(),
            manifest_key: key.to_owned(),
            bucket: bucket.to_owned(),
            image_count,
            created_at: now_iso8601(),
            execution_arn: execution_arn.clone(),
        };
        // Recorded first: the items file of a job that is already recorded (and may be running)
        // is never replaced, so a re-uploaded manifest cannot change a running map's items.
        let items_written = match self.table.record_job(&record).await? {
            Recorded::New => false,
            Recorded::AlreadyRecorded => {
                let exists = self
                    .store
                    .list(bucket, &items_key)
                    .await?
                    .contains(&items_key);
                tracing::info!(
                    items_exist = exists,
                    "job already recorded; starting its execution if missing"
                );
                exists
            }
        };
        if !items_written {
            self.store
                .put(
                    bucket,
                    &items_key,
                    Bytes::from(valid.items_json()),
                    "application/json",
                )
                .await?;
        }

        let input = json!({
            "jobId": job_id,
            "bucket": bucket,
            "itemsKey": items_key,
            "imageCount": image_count,
            "toleratedFailureCount": self.config.tolerated_failures(image_count),
        });
        match self
            .executions
            .start(&self.config.state_machine_arn, job_id.as_str(), &input)
            .await?
        {
            Started::Started { execution_arn } => {
                tracing::info!(image_count, execution_arn, "execution started");
                metrics.count("JobsStarted");
                Ok(Action::Started {
                    job_id,
                    execution_arn,
                })
            }
            Started::AlreadyExists => {
                tracing::warn!(
                    execution_arn,
                    "duplicate trigger: an execution for this job already exists"
                );
                metrics.count("JobsDuplicate");
                Ok(Action::Duplicate {
                    job_id,
                    execution_arn,
                })
            }
        }
    }

    /// Writes `<FAILED_PREFIX><key>.error.json`; the manifest stays where it is.
    async fn reject(
        &self,
        bucket: &str,
        key: &str,
        errors: &[String],
    ) -> Result<(), PipelineError> {
        let reason = json!({
            "source": s3_uri(bucket, key),
            "errorType": shared::ErrorKind::InvalidInput.error_type(),
            "errors": errors,
        });
        let reason_key = keys::reason_key(&self.config.failed_prefix, key);
        let mut body = serde_json::to_vec_pretty(&reason).expect("JSON values serialise");
        body.push(b'\n');
        self.store
            .put(bucket, &reason_key, Bytes::from(body), "application/json")
            .await?;
        tracing::warn!(
            key,
            ?errors,
            "manifest rejected, reasons at {}",
            s3_uri(bucket, &reason_key)
        );
        Ok(())
    }
}

fn now_iso8601() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

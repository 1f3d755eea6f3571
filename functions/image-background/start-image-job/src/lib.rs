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

use std::collections::HashSet;
use std::future::Future;

use bytes::Bytes;
use image_background_core::{
    GenerationOptions, Mask, Model, OutPaintingMode, Quality, DEFAULT_MODEL_ID,
};
/// The items this function writes are `generate-background` events; the types are shared.
pub use image_background_core::{ImageItem, Job, MaskBox};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use shared::config::{optional, parse_or, prefix_or, required, ConfigError, Source};
use shared::metrics::Metrics;
use shared::store::{s3_uri, ObjectStore};
use shared::PipelineError;

#[cfg(test)]
mod tests;

/// Longest accepted job id (the Step Functions execution name limit is 80).
pub const MAX_JOB_ID_CHARS: usize = 80;
/// Default of `MAX_IMAGES`.
pub const DEFAULT_MAX_IMAGES: usize = 10_000;
/// Default of `TOLERATED_FAILURE_COUNT`: one bad image does not stop a small job.
pub const DEFAULT_TOLERATED_FAILURE_COUNT: u64 = 1;
/// Default of `TOLERATED_FAILURE_PERCENTAGE`.
pub const DEFAULT_TOLERATED_FAILURE_PERCENTAGE: u64 = 10;
/// At most this many problems are listed in a reason file.
pub const MAX_REPORTED_ERRORS: usize = 100;

/// Settings, from environment variables.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// `JOBS_TABLE` (required): the DynamoDB table of jobs (partition key `jobId`, S).
    pub jobs_table: String,
    /// `STATE_MACHINE_ARN` (required): the image background state machine.
    pub state_machine_arn: String,
    /// `JOBS_PREFIX` (default `jobs/`): only `.json` objects directly below it are manifests.
    pub jobs_prefix: String,
    /// `ITEMS_PREFIX` (default `items/`): where items files go, in the manifest's bucket.
    pub items_prefix: String,
    /// `FAILED_PREFIX` (default `failed/`): where reason files go, in the manifest's bucket.
    pub failed_prefix: String,
    /// `MAX_IMAGES` (default 10000): images per job, at most.
    pub max_images: usize,
    /// `MODEL_ID` (default [`DEFAULT_MODEL_ID`]): the deployed image model, whose limits and
    /// options a manifest is checked against (a manifest may name it, not another).
    pub model_id: String,
    pub model: Model,
    /// `TOLERATED_FAILURE_COUNT` (default 1) and `TOLERATED_FAILURE_PERCENTAGE` (default 10):
    /// a job's map stops once more images failed than the larger of the count and the
    /// percentage of its images (see [`Config::tolerated_failures`]).
    pub tolerated_failure_count: u64,
    pub tolerated_failure_percentage: u64,
}

impl Config {
    pub fn from_source(src: &impl Source) -> Result<Self, ConfigError> {
        let config = Self {
            jobs_table: required(src, "JOBS_TABLE")?,
            state_machine_arn: required(src, "STATE_MACHINE_ARN")?,
            jobs_prefix: prefix_or(src, "JOBS_PREFIX", "jobs/", true)?,
            items_prefix: prefix_or(src, "ITEMS_PREFIX", "items/", true)?,
            failed_prefix: prefix_or(src, "FAILED_PREFIX", "failed/", true)?,
            max_images: parse_or(src, "MAX_IMAGES", DEFAULT_MAX_IMAGES)?,
            model_id: optional(src, "MODEL_ID").unwrap_or_else(|| DEFAULT_MODEL_ID.to_owned()),
            model: Model::StabilityInpaint,
            tolerated_failure_count: parse_or(
                src,
                "TOLERATED_FAILURE_COUNT",
                DEFAULT_TOLERATED_FAILURE_COUNT,
            )?,
            tolerated_failure_percentage: parse_or(
                src,
                "TOLERATED_FAILURE_PERCENTAGE",
                DEFAULT_TOLERATED_FAILURE_PERCENTAGE,
            )?,
        };
        let mut config = config;
        config.model = Model::from_id(&config.model_id)
            .map_err(|e| ConfigError::new("MODEL_ID", e.message))?;
        if config.tolerated_failure_percentage > 100 {
            return Err(ConfigError::new(
                "TOLERATED_FAILURE_PERCENTAGE",
                format!("{}, must be 0 to 100", config.tolerated_failure_percentage),
            ));
        }
        if config.max_images == 0 {
            return Err(ConfigError::new("MAX_IMAGES", "0, must be at least 1"));
        }
        if !config.state_machine_arn.contains(":stateMachine:") {
            return Err(ConfigError::new(
                "STATE_MACHINE_ARN",
                format!(
                    "{:?} is not a state machine ARN (arn:aws:states:<region>:<account>:stateMachine:<name>)",
                    config.state_machine_arn
                ),
            ));
        }
        for (name, p) in [
            ("ITEMS_PREFIX", &config.items_prefix),
            ("FAILED_PREFIX", &config.failed_prefix),
        ] {
            if p.is_empty()
                || p.starts_with(&config.jobs_prefix)
                || config.jobs_prefix.starts_with(p.as_str())
            {
                return Err(ConfigError::new(
                    name,
                    format!(
                        "{p:?} must be non-empty and outside JOBS_PREFIX {:?} (or its writes would trigger this function again)",
                        config.jobs_prefix
                    ),
                ));
            }
        }
        Ok(config)
    }

    /// Failed images a job of `images` images tolerates: the larger of the count and the
    /// percentage (rounded down), so small jobs (count) and large ones (percentage) alike
    /// finish despite a few bad images. Passed to the map as one `ToleratedFailureCount`.
    pub fn tolerated_failures(&self, images: usize) -> u64 {
        let by_percentage = images as u64 * self.tolerated_failure_percentage / 100;
        self.tolerated_failure_count.max(by_percentage)
    }

    /// The ARN an execution named `name` gets (deterministic for Standard workflows).
    pub fn execution_arn(&self, name: &str) -> String {
        format!(
            "{}:{name}",
            self.state_machine_arn
                .replacen(":stateMachine:", ":execution:", 1)
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Manifest and items
// ---------------------------------------------------------------------------------------------

/// The uploaded job manifest. `prompt` and `images` are optional here so that their absence
/// is reported like every other field problem.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Manifest {
    #[serde(default)]
    pub prompt: Option<String>,
    #[serde(default)]
    pub negative_prompt: Option<String>,
    #[serde(default)]
    pub mode: Option<OutPaintingMode>,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub number_of_images: Option<u32>,
    #[serde(default)]
    pub quality: Option<Quality>,
    #[serde(default)]
    pub cfg_scale: Option<f64>,
    #[serde(default)]
    pub seed: Option<u64>,
    #[serde(default)]
    pub grow_mask: Option<u32>,
    #[serde(default)]
    pub style_preset: Option<String>,
    #[serde(default)]
    pub images: Option<Vec<ImageItem>>,
}

/// One Distributed Map item: the event `generate-background` takes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Item<'a> {
    pub job: &'a Job,
    pub image: &'a ImageItem,
}

/// A manifest that passed validation.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidJob {
    pub job: Job,
    pub images: Vec<ImageItem>,
}

impl ValidJob {
    /// The items file: a JSON array of `{"job", "image"}` events.
    pub fn items_json(&self) -> Bytes {
        let items: Vec<Item<'_>> = self
            .images
            .iter()
            .map(|image| Item {
                job: &self.job,
                image,
            })
            .collect();
        Bytes::from(serde_json::to_vec(&items).expect("items serialise"))
    }
}

/// The job id of a manifest key `<jobs_prefix><id>.json`, validated.
pub fn job_id_from_key(jobs_prefix: &str, key: &str) -> Result<String, String> {
    let id = key
        .strip_prefix(jobs_prefix)
        .and_then(|r| r.strip_suffix(".json"))
        .ok_or_else(|| format!("jobId: key {key:?} is not {jobs_prefix}<job-id>.json"))?;
    let n = id.chars().count();
    if n == 0 || n > MAX_JOB_ID_CHARS {
        return Err(format!(
            "jobId: {id:?} from the key has {n} characters, must be 1 to {MAX_JOB_ID_CHARS}"
        ));
    }
    if !id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(format!(
            "jobId: {id:?} from the key may contain only letters, digits, '-' and '_'"
        ));
    }
    Ok(id.to_owned())
}

/// Parses and validates a manifest against the deployed `model`; on failure returns every
/// problem found, each naming its field (`prompt`, `images[3].labels`) and the limit.
pub fn validate(
    job_id: Result<String, String>,
    body: &[u8],
    model: Model,
    max_images: usize,
) -> Result<ValidJob, Vec<String>> {
    let mut errors = Vec::new();
    let job_id = job_id.unwrap_or_else(|e| {
        errors.push(e);
        String::new()
    });
    // A BOM (Windows editors) is not JSON, but not a reason to refuse the manifest either.
    let body = body.strip_prefix("\u{feff}".as_bytes()).unwrap_or(body);
    let value: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            errors.push(format!("manifest: not JSON: {e}"));
            return Err(errors);
        }
    };
    let manifest: Manifest = match serde_path_to_error::deserialize(value) {
        Ok(m) => m,
        Err(e) => {
            let path = e.path().to_string();
            let inner = e.into_inner();
            errors.push(if path == "." || path.is_empty() {
                format!("manifest: {inner}")
            } else {
                format!("{path}: {inner}")
            });
            return Err(errors);
        }
    };

    if let Some(id) = manifest.model.as_deref() {
        match Model::from_id(id) {
            Ok(m) if m == model => {}
            Ok(_) => errors.push(format!(
                "model: {id:?} is not the deployed model {} (the stack may invoke only that one; leave model out or redeploy with ImageModelId)",
                model.id()
            )),
            Err(e) => errors.push(e.message),
        }
    }
    let limits = model.limits();
    let max_prompt = limits.max_text_chars;
    match manifest.prompt.as_deref() {
        None => errors.push(format!(
            "prompt: missing, a prompt of 1 to {max_prompt} characters is required"
        )),
        Some(p) if p.trim().is_empty() => errors.push(format!(
            "prompt: empty, must be 1 to {max_prompt} characters"
        )),
        Some(p) if p.chars().count() > max_prompt => errors.push(format!(
            "prompt: {} characters, must be 1 to {max_prompt} for {}",
            p.chars().count(),
            model.id()
        )),
        Some(_) => {}
    }
    if let Some(n) = &manifest.negative_prompt {
        let max = limits.max_negative_chars;
        if n.chars().count() > max {
            errors.push(format!(
                "negativePrompt: {} characters, must be at most {max} for {}",
                n.chars().count(),
                model.id()
            ));
        }
    }
    if manifest.mode.is_some() && !model.is_legacy() {
        errors.push(format!(
            "mode: not used by {} (only by the legacy OUTPAINTING models); remove it",
            model.id()
        ));
    }
    let options = GenerationOptions {
        number_of_images: manifest.number_of_images.unwrap_or(1),
        quality: manifest.quality,
        cfg_scale: manifest.cfg_scale,
        seed: manifest.seed.unwrap_or(0),
        grow_mask: manifest.grow_mask,
        style_preset: manifest.style_preset.clone(),
    };
    if let Err(e) = options.validate(model) {
        errors.push(e.message);
    }

    let images = manifest.images.unwrap_or_default();
    if images.is_empty() || images.len() > max_images {
        errors.push(format!(
            "images: {} given, must be 1 to {max_images}",
            images.len()
        ));
    }
    let mut seen = HashSet::with_capacity(images.len());
    for (i, image) in images.iter().enumerate() {
        image_errors(i, image, model, &mut seen, &mut errors);
        if errors.len() > MAX_REPORTED_ERRORS {
            break;
        }
    }

    if !errors.is_empty() {
        if errors.len() > MAX_REPORTED_ERRORS {
            errors.truncate(MAX_REPORTED_ERRORS);
            errors.push(format!(
                "(more problems not listed after {MAX_REPORTED_ERRORS})"
            ));
        }
        return Err(errors);
    }
    Ok(ValidJob {
        job: Job {
            job_id,
            prompt: manifest.prompt.unwrap_or_default(),
            negative_prompt: manifest.negative_prompt,
            mode: manifest.mode,
            model: manifest.model,
            number_of_images: manifest.number_of_images,
            quality: manifest.quality,
            cfg_scale: manifest.cfg_scale,
            seed: manifest.seed,
            grow_mask: manifest.grow_mask,
            style_preset: manifest.style_preset,
        },
        images,
    })
}

fn image_errors<'a>(
    i: usize,
    image: &'a ImageItem,
    model: Model,
    seen: &mut HashSet<&'a str>,
    errors: &mut Vec<String>,
) {
    let key = &image.key;
    if key.trim().is_empty() || key.ends_with('/') {
        errors.push(format!(
            "images[{i}].key: an object key (not empty, not a folder) is required"
        ));
    } else if !seen.insert(key.as_str()) {
        errors.push(format!(
            "images[{i}].key: {key:?} appears more than once, keys must be unique"
        ));
    }
    let mask_errors = image.mask_errors(&format!("images[{i}]"));
    if mask_errors.is_empty() && image.mask() == Mask::Subject && model.is_legacy() {
        errors.push(format!(
            "images[{i}]: no labels or maskBoxes; keeping the main subject needs Stable Image Remove Background, which comes with {DEFAULT_MODEL_ID}, not the deployed {}",
            model.id()
        ));
    }
    errors.extend(mask_errors);
}

// ---------------------------------------------------------------------------------------------
// DynamoDB and Step Functions behind small traits
// ---------------------------------------------------------------------------------------------

/// A job row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRecord {
    pub job_id: String,
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

/// [`JobTable`] on DynamoDB.
#[derive(Debug, Clone)]
pub struct DynamoJobTable {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoJobTable {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

impl JobTable for DynamoJobTable {
    async fn record_job(&self, r: &JobRecord) -> Result<Recorded, PipelineError> {
        use aws_sdk_dynamodb::types::AttributeValue as A;
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("jobId", A::S(r.job_id.clone()))
            .item("status", A::S("STARTED".into()))
            .item("manifestKey", A::S(r.manifest_key.clone()))
            .item("bucket", A::S(r.bucket.clone()))
            .item("imageCount", A::N(r.image_count.to_string()))
            .item("createdAt", A::S(r.created_at.clone()))
            .item("executionArn", A::S(r.execution_arn.clone()))
            .condition_expression("attribute_not_exists(jobId)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(Recorded::New),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(Recorded::AlreadyRecorded)
            }
            Err(e) => Err(shared::error::from_sdk(
                format!("recording job {} in {}", r.job_id, self.table),
                &e,
            )),
        }
    }
}

/// An execution returned by StartExecution that started more than this many seconds before the
/// request is an existing one (Step Functions' idempotent answer), not a new one.
pub const IDEMPOTENT_START_SLACK_SECS: i64 = 10;

/// [`Executions`] on Step Functions.
#[derive(Debug, Clone)]
pub struct SfnExecutions {
    client: aws_sdk_sfn::Client,
}

impl SfnExecutions {
    pub fn new(client: aws_sdk_sfn::Client) -> Self {
        Self { client }
    }
}

impl Executions for SfnExecutions {
    async fn start(
        &self,
        state_machine_arn: &str,
        name: &str,
        input: &Value,
    ) -> Result<Started, PipelineError> {
        let requested =
            aws_sdk_sfn::primitives::DateTime::from(std::time::SystemTime::now()).secs();
        let result = self
            .client
            .start_execution()
            .state_machine_arn(state_machine_arn)
            .name(name)
            .input(input.to_string())
            .send()
            .await;
        match result {
            // Step Functions answers a repeated StartExecution (same name and input, execution
            // still running) with the existing execution instead of ExecutionAlreadyExists:
            // an execution that began well before this request is that duplicate.
            Ok(out) if out.start_date().secs() + IDEMPOTENT_START_SLACK_SECS < requested => {
                Ok(Started::AlreadyExists)
            }
            Ok(out) => Ok(Started::Started {
                execution_arn: out.execution_arn().to_owned(),
            }),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_execution_already_exists()) =>
            {
                Ok(Started::AlreadyExists)
            }
            Err(e) => Err(shared::error::from_sdk(
                format!("starting execution {name} of {state_machine_arn}"),
                &e,
            )),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Handler
// ---------------------------------------------------------------------------------------------

/// What happened to one S3 record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Started {
        job_id: String,
        execution_arn: String,
    },
    Duplicate {
        job_id: String,
        execution_arn: String,
    },
    Rejected {
        job_id: Option<String>,
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

    /// Validates one manifest and starts its job.
    pub async fn on_manifest(
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
            tracing::info!(key, "ignored: not a .json object under JOBS_PREFIX");
            return Ok(Action::Ignored {
                reason: format!("not a .json object under {jobs_prefix:?}"),
            });
        };
        if rest.contains('/') {
            tracing::info!(key, "ignored: in a folder below JOBS_PREFIX");
            return Ok(Action::Ignored {
                reason: format!("not directly under {jobs_prefix:?}"),
            });
        }
        let job_id = job_id_from_key(jobs_prefix, key);
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

        let items_key = format!("{}{job_id}.json", self.config.items_prefix);
        let execution_arn = self.config.execution_arn(&job_id);
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
                    job_id,
                    items_exist = exists,
                    "job already recorded; starting its execution if missing"
                );
                exists
            }
        };
        if !items_written {
            self.store
                .put(bucket, &items_key, valid.items_json(), "application/json")
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
            .start(&self.config.state_machine_arn, &job_id, &input)
            .await?
        {
            Started::Started { execution_arn } => {
                tracing::info!(job_id, image_count, execution_arn, "execution started");
                metrics.count("JobsStarted");
                Ok(Action::Started {
                    job_id,
                    execution_arn,
                })
            }
            Started::AlreadyExists => {
                tracing::warn!(
                    job_id,
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
        let reason_key = format!("{}{key}.error.json", self.config.failed_prefix);
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

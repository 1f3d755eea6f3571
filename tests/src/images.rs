//! The image background pipeline: resource names (from the deployed stack), the sample images, job manifests, and waits on the state machine, the status
//! table, the report and its SNS message.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_sfn::types::ExecutionStatus;
use serde_json::{json, Value};

use crate::poll::eventually;
use crate::{s3, sqs, stack, LocalCloud};

/// Images and job manifests are uploaded here; `jobs/*.json` starts `start-image-job`.
pub fn upload_bucket() -> &'static str {
    stack().output("ImageUploadBucketName")
}
/// Generated images, reports and Distributed Map results.
pub fn output_bucket() -> &'static str {
    stack().output("ImageOutputBucketName")
}
pub const JOBS_PREFIX: &str = "jobs/";
pub const ITEMS_PREFIX: &str = "items/";
pub const FAILED_PREFIX: &str = "failed/";
pub const GENERATED_PREFIX: &str = "generated/";
pub const REPORT_PREFIX: &str = "reports/";
/// One row per job.
pub fn jobs_table() -> &'static str {
    stack().output("ImageJobsTableName")
}
/// One row per image.
pub fn status_table() -> &'static str {
    stack().output("ImageStatusTableName")
}
/// The image background state machine.
pub fn state_machine_arn() -> &'static str {
    stack().output("ImageBackgroundStateMachineArn")
}
/// The report topic's inbox queue (what its e-mail subscribers would get).
pub fn reports_queue() -> &'static str {
    stack().inbox("ImageReportsTopic")
}
/// Where the upload bucket notifies `start-image-job` of manifests.
pub fn manifests_queue() -> &'static str {
    stack().relay_queue("StartImageJob")
}
/// On-failure destination of `start-image-job`.
pub fn start_dlq() -> &'static str {
    stack().queue_name("StartImageJobFailureQueue")
}
/// The sample images.
pub const SAMPLES_DIR: &str = "events/images";
pub const SAMPLE_IMAGES: [&str; 3] = [
    "product-640x480.png",
    "portrait-600x900.jpg",
    "panorama-1200x300.png",
];

/// The image pipeline's clients: the local cloud plus DynamoDB and Step Functions.
#[derive(Clone, Debug)]
pub struct ImagePipeline {
    pub cloud: LocalCloud,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sfn: aws_sdk_sfn::Client,
}

/// How an execution ended.
#[derive(Debug, Clone)]
pub struct Finished {
    pub status: ExecutionStatus,
    pub error: Option<String>,
    pub cause: Option<String>,
}

/// One status row.
#[derive(Debug, Clone)]
pub struct StatusRow {
    pub image_key: String,
    pub status: String,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub outputs: Vec<String>,
}

impl ImagePipeline {
    /// Connects and checks that the pipeline's resources were bootstrapped.
    pub async fn connect() -> Result<Self> {
        let cloud = LocalCloud::connect().await?;
        cloud
            .require_buckets(&[upload_bucket(), output_bucket()])
            .await?;
        cloud
            .require_queues(&[manifests_queue(), start_dlq(), reports_queue()])
            .await?;
        let dynamodb = aws_sdk_dynamodb::Client::new(&cloud.config);
        let sfn = aws_sdk_sfn::Client::new(&cloud.config);
        Ok(Self {
            cloud,
            dynamodb,
            sfn,
        })
    }

    pub fn s3(&self) -> &aws_sdk_s3::Client {
        &self.cloud.s3
    }

    /// A fresh job id (unique per run, so tests never see each other's rows).
    pub fn new_job_id(label: &str) -> String {
        let id = crate::uuid_v4();
        format!("{label}-{}", &id[..8])
    }

    /// The key an image of `job_id` is uploaded under.
    pub fn image_key(job_id: &str, file: &str) -> String {
        format!("uploads/{job_id}/{file}")
    }

    /// Uploads `bytes` as image `file` of the job; returns the key.
    pub async fn upload_image(&self, job_id: &str, file: &str, bytes: Vec<u8>) -> Result<String> {
        let key = Self::image_key(job_id, file);
        s3::put(self.s3(), upload_bucket(), &key, bytes).await?;
        Ok(key)
    }

    /// Uploads a sample image (from events/images) for the job; returns the key.
    pub async fn upload_sample(&self, job_id: &str, file: &str) -> Result<String> {
        let bytes = std::fs::read(sample_path(file))
            .with_context(|| format!("reading the sample image {file}"))?;
        self.upload_image(job_id, file, bytes).await
    }

    /// Uploads the manifest `jobs/<jobId>.json` (this starts the job).
    pub async fn put_manifest(&self, job_id: &str, manifest: &Value) -> Result<String> {
        let key = format!("{JOBS_PREFIX}{job_id}.json");
        s3::put(
            self.s3(),
            upload_bucket(),
            &key,
            serde_json::to_vec_pretty(manifest)?,
        )
        .await?;
        Ok(key)
    }

    /// The execution of a job (named by its id).
    pub fn execution_arn(job_id: &str) -> String {
        let name = state_machine_arn().replace(":stateMachine:", ":execution:");
        format!("{name}:{job_id}")
    }

    /// Waits until the job's execution exists and has ended.
    pub async fn wait_finished(&self, job_id: &str, timeout: Duration) -> Result<Finished> {
        let arn = Self::execution_arn(job_id);
        eventually(format!("execution {arn} to end"), timeout, || async {
            let out = match self
                .sfn
                .describe_execution()
                .execution_arn(&arn)
                .send()
                .await
            {
                Ok(out) => out,
                Err(e) => bail!(
                    "DescribeExecution: {}",
                    aws_sdk_sfn::error::DisplayErrorContext(&e)
                ),
            };
            if out.status() == &ExecutionStatus::Running {
                return Ok(None);
            }
            Ok(Some(Finished {
                status: out.status().clone(),
                error: out.error().map(str::to_owned),
                cause: out.cause().map(str::to_owned),
            }))
        })
        .await
    }

    /// The executions of the state machine named `job_id` (ListExecutions, every page).
    pub async fn executions_named(&self, job_id: &str) -> Result<usize> {
        let mut count = 0;
        let mut next: Option<String> = None;
        loop {
            let out = self
                .sfn
                .list_executions()
                .state_machine_arn(state_machine_arn())
                .set_next_token(next.clone())
                .send()
                .await
                .map_err(|e| {
                    anyhow::anyhow!(
                        "ListExecutions: {}",
                        aws_sdk_sfn::error::DisplayErrorContext(&e)
                    )
                })?;
            count += out
                .executions()
                .iter()
                .filter(|e| e.name() == job_id)
                .count();
            next = out.next_token().map(str::to_owned);
            if next.is_none() {
                return Ok(count);
            }
        }
    }

    /// Every status row of the job, sorted by image key.
    pub async fn status_rows(&self, job_id: &str) -> Result<Vec<StatusRow>> {
        let out = self
            .dynamodb
            .query()
            .table_name(status_table())
            .key_condition_expression("jobId = :j")
            .expression_attribute_values(":j", AttributeValue::S(job_id.to_owned()))
            .send()
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "Query {}: {}",
                    status_table(),
                    aws_sdk_dynamodb::error::DisplayErrorContext(&e)
                )
            })?;
        let mut rows: Vec<StatusRow> = out.items().iter().map(status_row).collect();
        rows.sort_by(|a, b| a.image_key.cmp(&b.image_key));
        Ok(rows)
    }

    /// The job's row in the jobs table, as attribute name -> string value.
    pub async fn job_row(&self, job_id: &str) -> Result<HashMap<String, String>> {
        let out = self
            .dynamodb
            .get_item()
            .table_name(jobs_table())
            .key("jobId", AttributeValue::S(job_id.to_owned()))
            .send()
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "GetItem {}: {}",
                    jobs_table(),
                    aws_sdk_dynamodb::error::DisplayErrorContext(&e)
                )
            })?;
        let item = out
            .item()
            .with_context(|| format!("no row for job {job_id} in {}", jobs_table()))?;
        Ok(item
            .iter()
            .filter_map(|(k, v)| match v {
                AttributeValue::S(s) | AttributeValue::N(s) => Some((k.clone(), s.clone())),
                _ => None,
            })
            .collect())
    }

    /// The generated image keys of the job.
    pub async fn generated(&self, job_id: &str) -> Result<Vec<String>> {
        s3::list(
            self.s3(),
            output_bucket(),
            &format!("{GENERATED_PREFIX}{job_id}/"),
        )
        .await
    }

    /// `reports/<jobId>/report.{json,csv,html}`.
    pub fn report_keys(job_id: &str) -> [String; 3] {
        ["json", "csv", "html"].map(|ext| format!("{REPORT_PREFIX}{job_id}/report.{ext}"))
    }

    /// The reason file of a rejected manifest.
    pub fn rejection_key(job_id: &str) -> String {
        format!("{FAILED_PREFIX}{JOBS_PREFIX}{job_id}.json.error.json")
    }

    /// Waits for the job's SNS message (in the topic's SQS subscription) and returns the SNS
    /// envelope (`Subject`, `Message`, ...). Deletes it.
    pub async fn wait_report_message(&self, job_id: &str, timeout: Duration) -> Result<Value> {
        let needle = format!("Image job {job_id}:");
        sqs::wait_for_record(
            &self.cloud.sqs,
            reports_queue(),
            &format!("the SNS report of job {job_id}"),
            timeout,
            move |body| {
                body["Subject"]
                    .as_str()
                    .is_some_and(|s| s.starts_with(&needle))
            },
        )
        .await
    }

    /// How many more SNS messages of the job are waiting (after [`Self::wait_report_message`]).
    pub async fn more_report_messages(&self, job_id: &str) -> Result<usize> {
        let url = sqs::queue_url(&self.cloud.sqs, reports_queue()).await?;
        let needle = format!("Image job {job_id}:");
        let found = sqs::find(
            &self.cloud.sqs,
            &url,
            |body| {
                body["Subject"]
                    .as_str()
                    .is_some_and(|s| s.starts_with(&needle))
            },
            false,
        )
        .await?;
        Ok(found.len())
    }

    /// Makes the emulated Bedrock answer the next `count` InvokeModel calls with
    /// ThrottlingException.
    pub async fn throttle_bedrock(&self, count: u32) -> Result<()> {
        let url = format!(
            "{}/_emulator/bedrock/throttle?count={count}",
            self.cloud.emulator_url
        );
        let r = self.cloud.http.post(&url).send().await?;
        if !r.status().is_success() {
            bail!("POST {url}: {}", r.status());
        }
        Ok(())
    }

    /// The emulated Bedrock's request log (`{"invocations", "log": [{status, ...}]}`).
    pub async fn bedrock_requests(&self) -> Result<Value> {
        let url = format!("{}/_emulator/bedrock/requests", self.cloud.emulator_url);
        Ok(self.cloud.http.get(&url).send().await?.json().await?)
    }
}

/// The label the local cloud's Rekognition (moto) finds in every image, with one instance box.
pub const LOCAL_REKOGNITION_LABEL: &str = "Mobile Phone";

/// A manifest for `keys` with the settings the tests use (the deployed model, 2 images per
/// input, fixed seed); every image keeps what Rekognition finds for
/// [`LOCAL_REKOGNITION_LABEL`] (labels resolved to instance boxes, as on AWS).
pub fn manifest(keys: &[String]) -> Value {
    json!({
        "prompt": "a sunlit marble kitchen counter, soft morning light",
        "negativePrompt": "people, text, watermark",
        "numberOfImages": 2,
        "seed": 42,
        "images": keys.iter().map(|k| json!({"key": k, "labels": [LOCAL_REKOGNITION_LABEL]})).collect::<Vec<_>>(),
    })
}

/// The path of a sample image.
pub fn sample_path(file: &str) -> PathBuf {
    crate::repo_root().join(SAMPLES_DIR).join(file)
}

fn status_row(item: &HashMap<String, AttributeValue>) -> StatusRow {
    let s = |name: &str| match item.get(name) {
        Some(AttributeValue::S(v)) => Some(v.clone()),
        _ => None,
    };
    let outputs = match item.get("outputs") {
        Some(AttributeValue::Ss(v)) => v.clone(),
        Some(AttributeValue::L(v)) => v.iter().filter_map(|x| x.as_s().ok().cloned()).collect(),
        _ => Vec::new(),
    };
    StatusRow {
        image_key: s("imageKey").unwrap_or_default(),
        status: s("status").unwrap_or_default(),
        error: s("error"),
        cause: s("cause"),
        outputs,
    }
}

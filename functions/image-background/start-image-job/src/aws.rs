//! The SDK adapters of [`JobTable`] (DynamoDB) and [`Executions`] (Step Functions).

use serde_json::Value;
use shared::PipelineError;

use crate::{Executions, JobRecord, JobTable, Recorded, Started};

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
            .item("jobId", A::S(r.job_id.to_string()))
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

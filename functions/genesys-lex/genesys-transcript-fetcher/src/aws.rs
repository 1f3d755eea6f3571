//! The AWS SDK adapters of the function's ports: Secrets Manager as a [`SecretSource`], SQS as
//! the [`WaitQueue`]. (S3 is `shared::store::S3Store`.)

use shared::PipelineError;

use crate::{SecretSource, WaitQueue};

impl SecretSource for aws_sdk_secretsmanager::Client {
    async fn secret_string(&self, secret_id: &str) -> Result<String, PipelineError> {
        let what = format!("reading secret {secret_id}");
        let out = self
            .get_secret_value()
            .secret_id(secret_id)
            .send()
            .await
            .map_err(|e| shared::error::from_sdk(&what, &e))?;
        out.secret_string.ok_or_else(|| {
            PipelineError::misconfigured(format!(
                "{what}: the secret has no SecretString (binary secrets are not supported)"
            ))
        })
    }
}

/// The wait and parked queues on SQS.
#[derive(Debug, Clone)]
pub struct SqsWaitQueue {
    pub client: aws_sdk_sqs::Client,
    pub wait_queue_url: String,
    pub parked_queue_url: String,
}

impl SqsWaitQueue {
    async fn send(&self, url: &str, body: String, delay: u32) -> Result<(), PipelineError> {
        let what = format!("sending to queue {url}");
        self.client
            .send_message()
            .queue_url(url)
            .message_body(body)
            .delay_seconds(delay.min(900) as i32)
            .send()
            .await
            .map_err(|e| shared::error::from_sdk(&what, &e))?;
        Ok(())
    }
}

impl WaitQueue for SqsWaitQueue {
    async fn wait(&self, body: String, delay_seconds: u32) -> Result<(), PipelineError> {
        self.send(&self.wait_queue_url, body, delay_seconds).await
    }

    async fn park(&self, body: String) -> Result<(), PipelineError> {
        self.send(&self.parked_queue_url, body, 0).await
    }
}

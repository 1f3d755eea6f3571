//! The AWS SDK adapters of the function's ports: Secrets Manager as a [`SecretSource`]. (S3 is
//! `shared::store::S3Store`.)

use shared::PipelineError;

use crate::SecretSource;

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

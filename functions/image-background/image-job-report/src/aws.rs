//! The SDK adapters of the ports: [`StatusRows`] on DynamoDB, [`Notifier`] on SNS and
//! [`Presigner`] on S3 (with the signing credentials' real expiry).

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_dynamodb::types::AttributeValue;
use image_background_core::report::{effective_expiry, Status, StatusRow};
use shared::{ErrorKind, PipelineError};

use crate::{PresignedUrl, Presigner, StatusRows};

/// [`StatusRows`] on DynamoDB: a strongly consistent Query on the partition key.
#[derive(Clone, Debug)]
pub struct DynamoStatusRows {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoStatusRows {
    pub fn new(client: aws_sdk_dynamodb::Client, table: &str) -> Self {
        Self {
            client,
            table: table.to_owned(),
        }
    }
}

impl StatusRows for DynamoStatusRows {
    async fn page(
        &self,
        job_id: &str,
        start_key: Option<String>,
    ) -> Result<(Vec<StatusRow>, Option<String>), PipelineError> {
        let start = start_key.map(|image_key| {
            HashMap::from([
                ("jobId".to_owned(), AttributeValue::S(job_id.to_owned())),
                ("imageKey".to_owned(), AttributeValue::S(image_key)),
            ])
        });
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#j = :j")
            .expression_attribute_names("#j", "jobId")
            .expression_attribute_values(":j", AttributeValue::S(job_id.to_owned()))
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| {
                shared::error::from_sdk(format!("querying {} for job {job_id}", self.table), &e)
            })?;
        let rows = out
            .items()
            .iter()
            .map(row_from_item)
            .collect::<Result<_, _>>()?;
        let next = match out.last_evaluated_key() {
            None => None,
            Some(k) => match k.get("imageKey") {
                Some(AttributeValue::S(s)) => Some(s.clone()),
                _ => {
                    return Err(PipelineError::misconfigured(format!(
                        "querying {}: LastEvaluatedKey has no string imageKey (is the sort key imageKey S?)",
                        self.table
                    )))
                }
            },
        };
        Ok((rows, next))
    }
}

/// A status row from a DynamoDB item. A status other than Succeeded/Failed counts as Failed,
/// with the unexpected value as the reason, so nothing unknown is reported as a success.
pub fn row_from_item(item: &HashMap<String, AttributeValue>) -> Result<StatusRow, PipelineError> {
    let s = |name: &str| match item.get(name) {
        Some(AttributeValue::S(v)) => Some(v.clone()),
        _ => None,
    };
    let image_key = s("imageKey")
        .ok_or_else(|| PipelineError::invalid_input("status row without a string imageKey"))?;
    let mut error = s("error");
    let mut cause = s("cause");
    let status = match s("status").as_deref() {
        Some("Succeeded") => Status::Succeeded,
        Some("Failed") => Status::Failed,
        other => {
            error.get_or_insert_with(|| "UnknownStatus".to_owned());
            cause.get_or_insert_with(|| match other {
                Some(v) => format!("status {v:?} is neither Succeeded nor Failed"),
                None => "no status recorded".to_owned(),
            });
            Status::Failed
        }
    };
    let outputs = match item.get("outputs") {
        Some(AttributeValue::L(list)) => list
            .iter()
            .filter_map(|v| match v {
                AttributeValue::S(s) => Some(s.clone()),
                _ => None,
            })
            .collect(),
        Some(AttributeValue::Ss(list)) => list.clone(),
        _ => Vec::new(),
    };
    Ok(StatusRow {
        image_key,
        status,
        error,
        cause,
        outputs,
        updated_at: s("updatedAt"),
    })
}

/// [`Presigner`] on S3. Loads the credentials from the SDK config's credentials provider (the
/// S3 client's own config no longer exposes it), signs with exactly those, and limits the URL's
/// validity to their expiry ([`effective_expiry`]).
#[derive(Clone, Debug)]
pub struct S3Presigner {
    client: aws_sdk_s3::Client,
    credentials: Option<SharedCredentialsProvider>,
    now: fn() -> SystemTime,
}

impl S3Presigner {
    /// `credentials`: `SdkConfig::credentials_provider()` of the config the client was built
    /// from.
    pub fn new(client: aws_sdk_s3::Client, credentials: Option<SharedCredentialsProvider>) -> Self {
        Self::with_clock(client, credentials, SystemTime::now)
    }

    /// With another clock (tests).
    pub fn with_clock(
        client: aws_sdk_s3::Client,
        credentials: Option<SharedCredentialsProvider>,
        now: fn() -> SystemTime,
    ) -> Self {
        Self {
            client,
            credentials,
            now,
        }
    }
}

impl Presigner for S3Presigner {
    async fn presign_get(
        &self,
        bucket: &str,
        key: &str,
        expires: Duration,
    ) -> Result<PresignedUrl, PipelineError> {
        use aws_sdk_s3::config::ProvideCredentials;

        let what = format!("presigning {}", shared::store::s3_uri(bucket, key));
        let provider = self.credentials.as_ref().ok_or_else(|| {
            PipelineError::misconfigured(format!("{what}: no credentials provider is configured"))
        })?;
        let credentials = provider
            .provide_credentials()
            .await
            .map_err(|e| credentials_error(&what, &e))?;
        let now = (self.now)();
        let expiry = effective_expiry(
            now,
            expires,
            credentials.expiry(),
            credentials.session_token().is_some(),
        )
        .map_err(|e| e.context(&what))?;
        let config = aws_sdk_s3::presigning::PresigningConfig::builder()
            .start_time(now)
            .expires_in(expiry.valid_for)
            .build()
            .map_err(|e| PipelineError::misconfigured(format!("{what}: {e}")))?;
        let req = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .customize()
            // Exactly the credentials whose expiry was read, not whatever the cache holds.
            .config_override(
                aws_sdk_s3::config::Builder::default().credentials_provider(credentials),
            )
            .presigned(config)
            .await
            .map_err(|e| shared::error::from_sdk(&what, &e))?;
        Ok(PresignedUrl {
            url: req.uri().to_owned(),
            expiry,
        })
    }
}

/// Missing or badly configured credentials are `Misconfigured`; a provider that timed out or
/// failed is `Retryable`.
pub fn credentials_error(what: &str, err: &CredentialsError) -> PipelineError {
    let kind = match err {
        CredentialsError::CredentialsNotLoaded(_) | CredentialsError::InvalidConfiguration(_) => {
            ErrorKind::Misconfigured
        }
        _ => ErrorKind::Retryable,
    };
    // The variant's text, then its causes ("the credential provider was not enabled: ...").
    let mut detail = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        detail.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    PipelineError::new(
        kind,
        format!("{what}: loading the signing credentials: {detail}"),
    )
}

//! Lambda entry point: builds the DynamoDB, S3 and SNS clients once, then serves
//! `{"jobId", "bucket", "itemsKey"}` events from the state machine with
//! [`image_job_report::Reporter`]. The presigner gets the SDK config's credentials provider, to
//! know when the signing credentials expire.

use image_job_report::{Config, DynamoStatusRows, Reporter, S3Presigner, SnsNotifier};
use shared::config::Env;
use shared::store::S3Store;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::logging::init_lambda();
    let config = match Config::from_source(&Env) {
        Ok(config) => config,
        Err(err) => return shared::runtime::serve_error(err.into()).await,
    };
    let sdk = shared::aws::sdk_config().await;
    let s3 = shared::aws::s3_client(&sdk);
    let reporter = Reporter::new(
        DynamoStatusRows::new(aws_sdk_dynamodb::Client::new(&sdk), &config.status_table),
        SnsNotifier::new(aws_sdk_sns::Client::new(&sdk), &config.topic_arn),
        S3Presigner::new(s3.clone(), sdk.credentials_provider()),
        S3Store::new(s3),
        config,
    );
    shared::runtime::run(|event| reporter.handle(event)).await
}

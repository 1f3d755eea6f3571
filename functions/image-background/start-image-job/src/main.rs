//! Lambda entry point: builds the S3, DynamoDB and Step Functions clients once, then serves S3
//! ObjectCreated events on job manifests with [`start_image_job::Starter`].

use shared::config::Env;
use shared::store::S3Store;
use start_image_job::{Config, DynamoJobTable, SfnExecutions, Starter};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::logging::init_lambda();
    let config = match Config::from_source(&Env) {
        Ok(config) => config,
        Err(err) => return shared::runtime::serve_error(err.into()).await,
    };
    let sdk = shared::aws::sdk_config().await;
    let starter = Starter::new(
        S3Store::new(shared::aws::s3_client(&sdk)),
        DynamoJobTable::new(aws_sdk_dynamodb::Client::new(&sdk), &config.jobs_table),
        SfnExecutions::new(aws_sdk_sfn::Client::new(&sdk)),
        config,
    );
    shared::runtime::run(|event| starter.handle(event)).await
}

//! Lambda entry point: builds the S3, Bedrock Runtime and Rekognition clients once, then serves Distributed
//! Map items with [`generate_background::Generator`].

use aws_sdk_bedrockruntime::config::retry::RetryConfig;
use generate_background::{Config, Generator};
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
    let bedrock_conf = aws_sdk_bedrockruntime::config::Builder::from(&sdk)
        .retry_config(RetryConfig::standard().with_max_attempts(config.bedrock_max_attempts))
        .build();
    let bedrock = aws_sdk_bedrockruntime::Client::from_conf(bedrock_conf);
    let store = S3Store::new(shared::aws::s3_client(&sdk));
    let labels = detect_labels::RekognitionDetector::new(aws_sdk_rekognition::Client::new(&sdk));
    let generator = Generator::new(store, bedrock, labels, config);
    shared::runtime::run(|event| generator.handle(event)).await
}

//! Lambda entry point: builds the Rekognition client once, then answers API Gateway HTTP API
//! requests (`GET`/`POST /labels`) with [`detect_labels::router`].

use detect_labels::{Config, Handler, RekognitionDetector};
use shared::config::Env;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::logging::init_lambda();
    let config = match Config::from_source(&Env) {
        Ok(config) => config,
        Err(err) => return detect_labels::serve_error(err.into()).await,
    };
    let sdk = shared::aws::sdk_config().await;
    let detector = RekognitionDetector::new(aws_sdk_rekognition::Client::new(&sdk));
    detect_labels::run(Handler::new(detector, config)).await
}

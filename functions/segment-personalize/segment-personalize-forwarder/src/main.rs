//! Lambda entry point: builds the Personalize Events and SQS clients once, then serves Segment
//! messages (Segment's Lambda destination) and SQS batches of them with
//! [`segment_personalize_forwarder::Forwarder`].

use segment_personalize_forwarder::{
    Config, Forwarder, Invocation, PersonalizeSink, SqsDeadLetters,
};
use shared::config::Env;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::logging::init_lambda();
    let config = match Config::from_source(&Env) {
        Ok(config) => config,
        Err(err) => return shared::runtime::serve_error(err.into()).await,
    };
    let sdk = shared::aws::sdk_config().await;
    let sink = PersonalizeSink::new(&sdk, &config);
    let dead_letters = config
        .dead_letter_queue_url
        .clone()
        .map(|url| SqsDeadLetters::new(aws_sdk_sqs::Client::new(&sdk), url));
    let forwarder = Forwarder::new(sink, dead_letters, config);
    shared::runtime::run(|event: Invocation| forwarder.handle(event)).await
}

//! Lambda entry point: builds the Personalize Events, SQS and DynamoDB clients once, then serves
//! Segment messages (Segment's Lambda destination) and SQS batches of them with
//! [`segment_personalize_forwarder::Forwarder`], passing each invocation's deadline.

use segment_personalize_forwarder::{
    deadline, Config, DynamoTraitStore, Forwarder, Invocation, PersonalizeSink, SqsDeadLetters,
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
    let traits = config
        .user_traits_table
        .clone()
        .map(|table| DynamoTraitStore::new(&sdk, table));
    if traits.is_none() && config.mapping.users_dataset_arn().is_some() {
        tracing::warn!(
            "USER_TRAITS_TABLE is not set: identify messages are not merged with the user's last known traits, so an identify carrying some traits replaces the whole user in Personalize"
        );
    }
    let forwarder = Forwarder::new(sink, dead_letters, config).with_trait_store(traits);
    let forwarder = &forwarder;
    shared::runtime::run_with_context(|invocation: Invocation, ctx| {
        forwarder.handle(invocation, deadline::from_epoch_millis(ctx.deadline))
    })
    .await
}

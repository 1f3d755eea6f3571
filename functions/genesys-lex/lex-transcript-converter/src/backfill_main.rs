//! Lambda entry point of `lex-transcript-backfill`: reads the settings (`RAW_BUCKET` required,
//! `BACKFILL_TOPIC_ARN` optional), builds the S3 and SNS clients once, then serves the steps of
//! the backfill state machine with [`lex_transcript_converter::Backfiller`].

use lex_transcript_converter::{Backfiller, Config};
use shared::notify::SnsNotifier;
use shared::store::S3Store;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::logging::init_lambda();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(err) => return shared::runtime::serve_error(err.into()).await,
    };
    let sdk = shared::aws::sdk_config().await;
    let notifier = config
        .backfill_topic_arn
        .as_deref()
        .map(|arn| SnsNotifier::new(aws_sdk_sns::Client::new(&sdk), arn));
    let store = S3Store::new(shared::aws::s3_client(&sdk));
    let backfiller = match Backfiller::new(store, config, notifier) {
        Ok(b) => b,
        Err(err) => return shared::runtime::serve_error(err).await,
    };
    shared::runtime::run(|event| backfiller.handle(event)).await
}

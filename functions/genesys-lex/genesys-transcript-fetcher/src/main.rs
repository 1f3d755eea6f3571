//! Lambda entry point of the Genesys transcript fetcher; see the library crate for behaviour.

use genesys_transcript_fetcher::aws::SqsWaitQueue;
use genesys_transcript_fetcher::{Config, GenesysClient, TranscriptFetcher};
use shared::store::S3Store;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::logging::init_lambda();

    let config = match Config::from_env() {
        Ok(config) => config,
        Err(err) => return shared::runtime::serve_error(err.into()).await,
    };
    let source = match GenesysClient::from_config(&config) {
        Ok(source) => source,
        Err(err) => return shared::runtime::serve_error(err).await,
    };
    let sdk = shared::aws::sdk_config().await;
    let waiting = config.waiting.clone();
    let handler = TranscriptFetcher::new(
        config,
        S3Store::new(shared::aws::s3_client(&sdk)),
        aws_sdk_secretsmanager::Client::new(&sdk),
        source,
    );
    match waiting {
        Some(w) => {
            let handler = handler.with_wait_queue(SqsWaitQueue {
                client: aws_sdk_sqs::Client::new(&sdk),
                wait_queue_url: w.wait_queue_url,
                parked_queue_url: w.parked_queue_url,
            });
            shared::runtime::run(|invocation| handler.handle_invocation(invocation)).await
        }
        None => {
            tracing::warn!(
                "WAIT_QUEUE_URL is not set: a transcript that is not ready fails the invocation"
            );
            shared::runtime::run(|invocation| handler.handle_invocation(invocation)).await
        }
    }
}

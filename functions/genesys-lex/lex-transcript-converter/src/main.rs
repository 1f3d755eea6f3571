//! Lambda entry point: reads the settings, builds the S3 client once, then serves S3
//! ObjectCreated events (and backfill requests) with [`lex_transcript_converter::Converter`].
//! The payload is taken as JSON and parsed by the handler ([`lex_transcript_converter::Input`]),
//! so a payload of neither shape fails as `InvalidInput` with both shapes named.

use lex_transcript_converter::{Config, Converter};
use shared::store::S3Store;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::logging::init_lambda();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(err) => return shared::runtime::serve_error(err.into()).await,
    };
    let sdk = shared::aws::sdk_config().await;
    let converter = Converter::new(S3Store::new(shared::aws::s3_client(&sdk)), config);
    shared::runtime::run(|event| converter.handle(event)).await
}

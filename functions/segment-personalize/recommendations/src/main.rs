//! Lambda entry point: builds the Personalize Runtime and DynamoDB clients once, then serves the
//! API Gateway HTTP API routes (`GET /recommendations/{userId}`, `GET /related/{itemId}`) with
//! [`recommendations::router`].

use recommendations::{Config, DynamoCache, Handler, PersonalizeRecommender};
use shared::config::Env;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::logging::init_lambda();
    let config = match Config::from_source(&Env) {
        Ok(config) => config,
        Err(err) => return shared::http::serve_error(err.into()).await,
    };
    let sdk = shared::aws::sdk_config().await;
    let personalize =
        aws_sdk_personalizeruntime::Client::from_conf(recommendations::personalize_config(
            aws_sdk_personalizeruntime::config::Builder::from(&sdk),
            config.personalize_timeout,
        ));
    let dynamodb = aws_sdk_dynamodb::Client::from_conf(recommendations::dynamodb_config(
        aws_sdk_dynamodb::config::Builder::from(&sdk),
        config.cache_timeout,
    ));
    let recommender = PersonalizeRecommender::new(personalize);
    let cache = DynamoCache::new(dynamodb, config.cache_table.clone());
    recommendations::run(Handler::new(recommender, cache, config)).await
}

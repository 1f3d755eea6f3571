//! AWS SDK configuration and clients.
//!
//! Built once per cold start from the default provider chain, so region, credentials and
//! endpoints come from the standard places: `AWS_REGION`, the Lambda role, and
//! `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_<SERVICE>` (which is how the local cloud points the
//! unchanged production clients at moto and the emulator).

use aws_config::{BehaviorVersion, SdkConfig};

use crate::config::{bool_or, Env};

/// Loads the shared SDK configuration from the environment.
pub async fn sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

/// An S3 client. Path-style addressing is used when `S3_FORCE_PATH_STYLE` is true (needed for
/// S3-compatible endpoints on `127.0.0.1`, which have no per-bucket host names).
pub fn s3_client(config: &SdkConfig) -> aws_sdk_s3::Client {
    let path_style = bool_or(&Env, "S3_FORCE_PATH_STYLE", false).unwrap_or(false);
    let conf = aws_sdk_s3::config::Builder::from(config)
        .force_path_style(path_style)
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

//! Code shared by the mlpipe Lambda functions, the `mlpipe` CLI and the local cloud.
//!
//! * [`config`]: configuration from environment variables, with errors that name the variable.
//! * [`aws`]: SDK configuration and clients, built once per cold start, honouring
//!   `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_<SERVICE>`.
//! * [`logging`]: JSON logs with Powertools-style keys, no personal data.
//! * [`metrics`]: CloudWatch Embedded Metric Format.
//! * [`error`]: the error type whose Lambda `errorType` tells retryable from permanent failures.
//! * [`store`]: object storage (S3) behind a small trait, so handlers test without a network.
//! * [`s3_event`]: S3 event notifications: the bucket and decoded key of each record.
//! * [`runtime`]: runs a handler under the Lambda runtime with logging context and error mapping.
//! * [`transcript`]: Genesys Cloud transcript -> Lex V2 automated chatbot designer conversion.
//! * `image` (cargo feature `images`): Bedrock Titan / Nova Canvas OUTPAINTING requests: input
//!   checks, size fitting, masks, validation.

pub mod aws;
pub mod config;
#[cfg(any(test, feature = "fakes"))]
pub mod damage;
pub mod error;
#[cfg(feature = "http")]
pub mod http;
#[cfg(feature = "images")]
pub mod image;
mod json_scan;
pub mod logging;
pub mod metrics;
pub mod runtime;
pub mod s3_event;
#[cfg(feature = "segment")]
pub mod segment;
pub mod store;
pub mod transcript;

pub use error::{ErrorKind, PipelineError};

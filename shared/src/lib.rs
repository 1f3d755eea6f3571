//! The Lambda kit every mlpipe pipeline uses. It names no pipeline: the pipelines' domain code
//! is in their `core` crates (`functions/<pipeline>/core`).
//!
//! * [`config`]: configuration from environment variables, with errors that name the variable.
//! * [`aws`]: SDK configuration and clients, built once per cold start, honouring
//!   `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_<SERVICE>`.
//! * [`error`]: the error type whose Lambda `errorType` tells retryable from permanent failures,
//!   and the classification of AWS SDK errors.
//! * [`logging`]: JSON logs with Powertools-style keys, no personal data.
//! * [`clock`]: seconds since the Unix epoch.
//! * [`metrics`]: CloudWatch Embedded Metric Format.
//! * [`runtime`]: runs an event handler under the Lambda runtime with logging context and error
//!   mapping.
//! * [`http`] (feature `http`): serving HTTP API functions, JSON and error responses.
//! * [`store`]: object storage (S3) behind a small trait, so handlers test without a network
//!   (`MemoryStore` with the feature `fakes`).
//! * `notify` (feature `sns`): notifications on SNS behind a small trait.
//! * [`s3_event`]: S3 event notifications: the bucket and decoded key of each record.
//! * [`sqs_event`]: SQS batches told apart from other events ([`sqs_event::SqsBatch`]).
//! * [`config`], `damage`: re-exported from the pure `shared_core`.

pub mod aws;
pub mod clock;
pub mod error;
#[cfg(feature = "http")]
pub mod http;
pub mod logging;
pub mod metrics;
#[cfg(feature = "sns")]
pub mod notify;
pub mod runtime;
pub mod s3_event;
pub mod sqs_event;
pub mod store;

pub use error::{ErrorKind, PipelineError};
pub use shared_core::config;
#[cfg(any(test, feature = "fakes"))]
pub use shared_core::damage;

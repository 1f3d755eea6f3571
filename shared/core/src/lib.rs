//! The pure part of the mlpipe Lambda kit: no AWS SDK, no async runtime, no logging, no clock.
//! The pipelines' `core` crates build on it; the `shared` kit re-exports all of it.
//!
//! * [`error`]: [`PipelineError`] and [`ErrorKind`], whose Lambda `errorType` tells retryable
//!   from permanent failures (the SDK error classification is `shared::error::from_sdk`).
//! * [`config`]: configuration values from a [`config::Source`] (the environment in production),
//!   with errors that name the variable.
//! * [`csv`]: RFC 4180 records for the reports.
//! * `damage` (feature `fakes` or tests): every truncated and byte-damaged copy of an input, for
//!   "never panics" tests.

pub mod config;
pub mod csv;
#[cfg(any(test, feature = "fakes"))]
pub mod damage;
pub mod error;

pub use error::{ErrorKind, PipelineError};

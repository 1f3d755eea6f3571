//! The error type every function returns, and how AWS SDK errors map onto it.
//!
//! [`PipelineError`] and [`ErrorKind`] live in the pure `shared_core` (the core crates use them
//! without the SDK); this module adds [`from_sdk`], which classifies an SDK error by its code,
//! HTTP status and failure mode.

use std::fmt;

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

pub use shared_core::error::{classify_code, ErrorKind, PipelineError};

/// Classifies an AWS SDK error: throttling, 5xx, time-outs and connection failures are
/// retryable; access denied and missing resources are configuration problems; other 4xx answers
/// are treated as invalid input. The message is `"<what>: <code>: <service message>"`.
pub fn from_sdk<E>(what: impl fmt::Display, err: &SdkError<E, HttpResponse>) -> PipelineError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let kind = classify_sdk(err);
    let detail = match err {
        SdkError::ServiceError(ctx) => {
            let e = ctx.err();
            match (e.code(), e.message()) {
                (Some(c), Some(m)) => format!("{c}: {m}"),
                (Some(c), None) => c.to_owned(),
                _ => e.to_string(),
            }
        }
        SdkError::TimeoutError(_) => "timed out".to_owned(),
        SdkError::DispatchFailure(d) => format!("request not sent: {d:?}"),
        other => other.to_string(),
    };
    PipelineError::new(kind, format!("{what}: {detail}"))
}

fn classify_sdk<E>(err: &SdkError<E, HttpResponse>) -> ErrorKind
where
    E: ProvideErrorMetadata,
{
    match err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            ErrorKind::Retryable
        }
        SdkError::ServiceError(ctx) => {
            let status = ctx.raw().status().as_u16();
            classify_code(ctx.err().code(), status)
        }
        _ => ErrorKind::Retryable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diagnostic_carries_a_stable_error_type() {
        let d = crate::runtime::diagnostic(PipelineError::retryable("later"));
        assert_eq!(d.error_type, "Retryable");
        assert_eq!(d.error_message, "later");
        let d = crate::runtime::diagnostic(PipelineError::invalid_input("bad"));
        assert_eq!(d.error_type, "InvalidInput");
    }
}

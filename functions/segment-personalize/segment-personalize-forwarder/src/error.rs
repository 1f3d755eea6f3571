//! Why an invocation fails (and so is retried: by Segment, or by SQS through
//! `batchItemFailures`).

use shared::{ErrorKind, PipelineError};

/// Messages that could not be forwarded and may go through later.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ForwardError {
    /// A call failed because of the stack's configuration (AccessDenied, an unknown tracker),
    /// not Personalize's availability: `Misconfigured`, naming the first such error.
    #[error("{failed} message(s) not forwarded: {cause}")]
    Misconfigured { failed: usize, cause: String },
    /// Throttling, 5xx, time-outs: `Retryable`.
    #[error(
        "{failed} message(s) not forwarded: Personalize did not answer or was throttled (see the log)"
    )]
    Unavailable { failed: usize },
    /// The invocation's deadline came first (Segment's 5 s, the function's time-out): calls
    /// not started or abandoned. `Retryable`.
    #[error(
        "{failed} message(s) not forwarded: out of time before the invocation's deadline (SEGMENT_DEADLINE_MS, or the function's time-out less DEADLINE_MARGIN_MS)"
    )]
    OutOfTime { failed: usize },
}

impl From<ForwardError> for PipelineError {
    fn from(e: ForwardError) -> Self {
        let kind = match e {
            ForwardError::Misconfigured { .. } => ErrorKind::Misconfigured,
            ForwardError::Unavailable { .. } | ForwardError::OutOfTime { .. } => {
                ErrorKind::Retryable
            }
        };
        PipelineError::new(kind, e.to_string())
    }
}

//! When an invocation must stop calling out, and the guard every call goes through.
//!
//! Segment's AWS Lambda destination waits 5 seconds for an answer ("your Lambda can't take more
//! than 5 seconds to run per message"; past that Segment logs `Operation timedout` and retries).
//! An SQS batch has the function's own time-out. Either way, an invocation that runs out of time
//! must not be killed half-done: what could not be sent is reported as retryable (an error to
//! Segment, `batchItemFailures` to SQS) while there is still time to answer.
//!
//! So every call (Personalize, DynamoDB, the dead-letter queue) runs through
//! [`Deadline::run`]: it is not started when less than `MIN_CALL_MS` is left, and it is
//! abandoned (the future dropped, the SDK's own retries with it) at the deadline. The SDK's
//! operation time-out (`PERSONALIZE_TIMEOUT_MS`) still bounds each call on its own.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use shared::PipelineError;
use tokio::time::Instant;

use crate::config::Config;

/// Where an invocation has no deadline of its own (no Lambda context, e.g. a test), the
/// longest a Lambda function can run.
const NO_DEADLINE: Duration = Duration::from_secs(900);

/// The instant by which an invocation stops starting or waiting for calls.
#[derive(Debug)]
pub struct Deadline {
    at: Instant,
    min_call: Duration,
    /// Calls not started or abandoned because of the deadline.
    stops: AtomicUsize,
}

impl Deadline {
    /// A deadline at `at`; calls need at least `min_call` left to start.
    pub fn new(at: Instant, min_call: Duration) -> Self {
        Self {
            at,
            min_call,
            stops: AtomicUsize::new(0),
        }
    }

    /// One Segment message: `SEGMENT_DEADLINE_MS` after `started`, or `DEADLINE_MARGIN_MS`
    /// before the function's own deadline if that comes first.
    pub fn for_segment(config: &Config, started: Instant, function: Option<Instant>) -> Self {
        let segment = started + config.segment_deadline;
        let at = match function_end(config, started, function) {
            Some(end) => segment.min(end),
            None => segment,
        };
        Self::new(at, config.min_call)
    }

    /// An SQS batch: `DEADLINE_MARGIN_MS` before the function's own deadline.
    pub fn for_batch(config: &Config, started: Instant, function: Option<Instant>) -> Self {
        let at = function_end(config, started, function).unwrap_or(started + NO_DEADLINE);
        Self::new(at, config.min_call)
    }

    pub fn at(&self) -> Instant {
        self.at
    }

    /// Time left before the deadline (zero once it has passed).
    pub fn remaining(&self) -> Duration {
        self.at.saturating_duration_since(Instant::now())
    }

    /// How many calls were not started, or were abandoned, because of the deadline.
    pub fn stops(&self) -> usize {
        self.stops.load(Ordering::Relaxed)
    }

    /// Runs one call within the deadline. Not started (a `Retryable` error) when less than the
    /// minimum is left; abandoned (a `Retryable` error) when the deadline arrives first. The
    /// error names the call, never its content.
    pub async fn run<T>(
        &self,
        what: &str,
        call: impl Future<Output = Result<T, PipelineError>>,
    ) -> Result<T, PipelineError> {
        let left = self.remaining();
        if left < self.min_call {
            self.stops.fetch_add(1, Ordering::Relaxed);
            return Err(PipelineError::retryable(format!(
                "{what}: not started, {} ms left before the invocation's deadline (MIN_CALL_MS {})",
                left.as_millis(),
                self.min_call.as_millis()
            )));
        }
        match tokio::time::timeout_at(self.at, call).await {
            Ok(result) => result,
            Err(_) => {
                self.stops.fetch_add(1, Ordering::Relaxed);
                Err(PipelineError::retryable(format!(
                    "{what}: abandoned at the invocation's deadline after {} ms",
                    left.as_millis()
                )))
            }
        }
    }
}

/// `DEADLINE_MARGIN_MS` before the function's deadline (not before `started`).
fn function_end(config: &Config, started: Instant, function: Option<Instant>) -> Option<Instant> {
    function.map(|end| {
        end.checked_sub(config.deadline_margin)
            .unwrap_or(started)
            .max(started)
    })
}

/// The function's deadline as a [`tokio::time::Instant`], from the Lambda context's wall-clock
/// deadline (`lambda-runtime-deadline-ms`). `None` when the runtime gave none (0).
pub fn from_epoch_millis(deadline_ms: u64) -> Option<Instant> {
    if deadline_ms == 0 {
        return None;
    }
    let deadline = std::time::UNIX_EPOCH + Duration::from_millis(deadline_ms);
    let left = deadline
        .duration_since(std::time::SystemTime::now())
        .unwrap_or_default();
    Some(Instant::now() + left)
}

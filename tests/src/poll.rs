//! Waiting for the pipeline: poll a check until it yields a value or the deadline passes.

use std::fmt::Display;
use std::future::Future;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};

use crate::LOGS_HINT;

/// Runs `check` until it returns `Ok(Some(value))`, or fails after `timeout` with `what` in the
/// message, the last error `check` returned (errors count as "not yet": the local cloud may be
/// busy), and where to look.
///
/// Polls quickly at first (100 ms) and backs off to once a second.
pub async fn eventually<T, F, Fut>(what: impl Display, timeout: Duration, mut check: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>>>,
{
    let started = Instant::now();
    let mut interval = Duration::from_millis(100);
    let mut last_error = None;
    loop {
        match check().await {
            Ok(Some(value)) => return Ok(value),
            Ok(None) => {}
            Err(e) => last_error = Some(e),
        }
        let elapsed = started.elapsed();
        if elapsed >= timeout {
            let last = last_error
                .map(|e| format!(" (last error: {e:#})"))
                .unwrap_or_default();
            return Err(anyhow!(
                "timed out after {:.1} s waiting for {what}{last}; {LOGS_HINT}",
                elapsed.as_secs_f64()
            ));
        }
        tokio::time::sleep(interval.min(timeout - elapsed)).await;
        interval = (interval * 2).min(Duration::from_secs(1));
    }
}

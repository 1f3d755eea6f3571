//! Runs a handler under the Lambda runtime: logging context per invocation, error logging and
//! the mapping of [`PipelineError`] to the `errorType` Lambda reports.

use std::future::Future;

use lambda_runtime::{service_fn, Context, Diagnostic, LambdaEvent};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::PipelineError;
use crate::logging;

/// Serves `handler` until the runtime shuts the process down.
pub async fn run<E, R, F, Fut>(handler: F) -> Result<(), lambda_runtime::Error>
where
    E: DeserializeOwned + Send + 'static,
    R: Serialize + Send + 'static,
    F: Fn(E) -> Fut,
    Fut: Future<Output = Result<R, PipelineError>> + Send,
{
    run_with_context(|event, _| handler(event)).await
}

/// [`run`] for handlers that need the invocation's [`Context`] too (its deadline, say).
pub async fn run_with_context<E, R, F, Fut>(handler: F) -> Result<(), lambda_runtime::Error>
where
    E: DeserializeOwned + Send + 'static,
    R: Serialize + Send + 'static,
    F: Fn(E, Context) -> Fut,
    Fut: Future<Output = Result<R, PipelineError>> + Send,
{
    let handler = &handler;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<E>| {
        let ctx = event.context;
        logging::begin_invocation(
            &ctx.request_id,
            &ctx.invoked_function_arn,
            ctx.xray_trace_id.as_deref(),
        );
        // Boxed: keeps the runtime's future type shallow, whatever the handler's depth.
        let fut = Box::pin(handler(event.payload, ctx));
        async move {
            fut.await.map_err(|e| {
                tracing::error!(
                    error_type = e.kind.error_type(),
                    "invocation failed: {}",
                    e.message
                );
                diagnostic(e)
            })
        }
    }))
    .await
}

/// Fails every invocation with `err`. For start-up failures (a missing or invalid setting): the
/// error shows on each invocation as its errorType with the variable named, and events are
/// retried then parked, instead of the process crash-looping during init.
pub async fn serve_error(err: PipelineError) -> Result<(), lambda_runtime::Error> {
    tracing::error!(
        error_type = err.kind.error_type(),
        "cannot start: {}",
        err.message
    );
    run(move |_: serde_json::Value| {
        let err = err.clone();
        async move { Err::<(), _>(err) }
    })
    .await
}

/// The `{errorType, errorMessage}` Lambda reports for an error: the kind's stable name.
pub fn diagnostic(e: PipelineError) -> Diagnostic {
    Diagnostic {
        error_type: e.kind.error_type().to_owned(),
        error_message: e.message,
    }
}

//! Where the handler sends things, behind traits so tests need no network: Personalize Events
//! ([`EventSink`]) and the dead-letter queue ([`DeadLetters`]). The SDK adapters are in
//! [`crate::aws`].

use std::future::Future;

use segment_personalize_core::{PutEventsRequest, PutUsersRequest};
use shared::PipelineError;

/// Where requests go: Personalize Events.
pub trait EventSink: Send + Sync {
    fn put_events(
        &self,
        request: &PutEventsRequest<'_>,
    ) -> impl Future<Output = Result<(), PipelineError>> + Send;

    fn put_users(
        &self,
        request: &PutUsersRequest<'_>,
    ) -> impl Future<Output = Result<(), PipelineError>> + Send;
}

/// Where invalid messages of SQS batches go, unchanged, with the reason.
pub trait DeadLetters: Send + Sync {
    fn send(
        &self,
        body: &str,
        reason: &str,
        source_message_id: &str,
    ) -> impl Future<Output = Result<(), PipelineError>> + Send;
}

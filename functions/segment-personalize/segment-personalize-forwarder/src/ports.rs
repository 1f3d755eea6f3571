//! Where the handler sends things, behind traits so tests need no network: Personalize Events
//! ([`EventSink`]), the dead-letter queue ([`DeadLetters`]) and the users' last known traits
//! ([`TraitStore`]). The SDK adapters are in [`crate::aws`].

use std::future::Future;

use segment_personalize_core::{PutEventsRequest, PutUsersRequest};
use shared::PipelineError;

use segment_personalize_core::traits::TraitState;

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

/// A user's traits as stored, and the version they were stored as (for the conditional write).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredTraits {
    pub traits: TraitState,
    /// Incremented by every write; 1 for the first.
    pub version: u64,
}

/// What a conditional write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Saved {
    Written,
    /// Someone else wrote the user since it was read: read again and merge again.
    Conflict,
}

/// The users' last known traits (only those `USER_TRAITS` reads), so that an `identify` with
/// some traits does not wipe the others (PutUsers replaces the whole user).
pub trait TraitStore: Send + Sync {
    /// The user's stored traits (a strongly consistent read), `None` if there are none.
    fn load(
        &self,
        user_id: &str,
    ) -> impl Future<Output = Result<Option<StoredTraits>, PipelineError>> + Send;

    /// Stores `traits` as version `expected + 1` (1 when `expected` is `None`), only if the
    /// stored version is still `expected` (`None`: nothing stored); otherwise nothing is
    /// written and the answer is [`Saved::Conflict`].
    fn save(
        &self,
        user_id: &str,
        traits: &TraitState,
        expected: Option<u64>,
    ) -> impl Future<Output = Result<Saved, PipelineError>> + Send;
}

/// The trait store of a forwarder without `USER_TRAITS_TABLE`: never called.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoTraitStore;

impl TraitStore for NoTraitStore {
    async fn load(&self, _: &str) -> Result<Option<StoredTraits>, PipelineError> {
        Ok(None)
    }

    async fn save(&self, _: &str, _: &TraitState, _: Option<u64>) -> Result<Saved, PipelineError> {
        Ok(Saved::Written)
    }
}

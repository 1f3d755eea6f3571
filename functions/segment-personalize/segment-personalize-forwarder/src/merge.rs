//! The trait merge around PutUsers (the rules are in [`crate::traits`]).
//!
//! Per invocation: every user with an `identify` that carries selected traits is read once
//! from the [`TraitStore`] (before mapping), the invocation's `identify`s of that user are
//! merged into the stored traits in message order, and every such message is mapped with the
//! merged traits. After PutUsers has sent the user, the merged traits are written back with a
//! conditional write on the version read. When someone else wrote the user in between (two
//! `identify`s of one user at once), the write is refused: the user is read again, merged again
//! and, if that changes the user, sent again before the next write, up to
//! [`TRAIT_WRITE_ATTEMPTS`] writes. Since each writer sends before it writes, the last write
//! is made by a writer whose PutUsers carried every trait stored before it and came after
//! every other writer's PutUsers finished, so no trait is lost; a writer that gives up fails its
//! messages as retryable, and their redelivery merges again.

use std::borrow::Cow;
use std::collections::HashMap;

use segment_personalize_core::{
    MapError, Message, MessageKind, Outcome, PutUsersRequest, SentAt, User,
};
use shared::{ErrorKind, PipelineError};

use crate::deadline::Deadline;
use crate::ports::{DeadLetters, EventSink, Saved, StoredTraits, TraitStore};
use crate::Forwarder;
use segment_personalize_core::traits::{self, user_key, TraitState, TraitUpdate};

/// Conditional writes of one user per invocation before giving up (retryable).
pub const TRAIT_WRITE_ATTEMPTS: usize = 3;

/// A user identified in this invocation whose traits are merged.
#[derive(Debug)]
pub(crate) struct UserMerge {
    pub user_id: String,
    /// The stored version last read (`None`: nothing stored).
    version: Option<u64>,
    /// Whether the traits last read had a value.
    had_values: bool,
    /// This invocation's updates, in message order.
    updates: Vec<TraitUpdate>,
    pub merged: TraitState,
    /// The messages of this user, ascending.
    pub messages: Vec<usize>,
}

impl UserMerge {
    /// Starts again from what is stored.
    fn reset(&mut self, stored: Option<StoredTraits>, reach: &traits::Reach) {
        let (mut merged, version) = match stored {
            Some(s) => (s.traits.selected(reach), Some(s.version)),
            None => (TraitState::default(), None),
        };
        self.had_values = merged.has_values();
        self.version = version;
        for update in &self.updates {
            merged.apply(update);
        }
        self.merged = merged;
    }

    /// Removing the user's last trait leaves nothing to map, but the user must still be sent
    /// (without properties) or Personalize keeps the removed values.
    fn wiped(&self) -> bool {
        self.had_values && !self.merged.has_values()
    }
}

/// The merges of one invocation.
#[derive(Debug, Default)]
pub(crate) struct Merges {
    pub users: Vec<UserMerge>,
    by_message: HashMap<usize, usize>,
    /// Messages whose user's stored traits could not be read: not mapped (sending them would
    /// wipe the other traits), failed with the error.
    pub failed: Vec<(usize, PipelineError)>,
    /// Conditional writes refused because someone else wrote the user first.
    pub conflicts: usize,
}

impl Merges {
    /// The user (index into `users`) whose merge message `i` is part of.
    pub fn user_of(&self, i: usize) -> Option<usize> {
        self.by_message.get(&i).copied()
    }

    pub fn is_failed(&self, i: usize) -> bool {
        self.failed.iter().any(|(m, _)| *m == i)
    }

    /// The outcome of message `i`, adjusted for a user whose last trait was removed.
    pub fn adjust<'a>(&self, i: usize, outcome: Outcome<'a>) -> Outcome<'a> {
        match (self.user_of(i).map(|u| &self.users[u]), outcome) {
            (Some(u), Outcome::Ignored(ig)) if ig.kind == MessageKind::Identify && u.wiped() => {
                Outcome::User(User {
                    user_id: Cow::Owned(u.user_id.clone()),
                    properties: None,
                })
            }
            (_, outcome) => outcome,
        }
    }
}

/// A trait store failure: a refused request (DynamoDB `ValidationException`: the table is not
/// the one described) is the stack's configuration, not the message's fault.
fn store_error(e: PipelineError) -> PipelineError {
    match e.kind {
        ErrorKind::InvalidInput => PipelineError::new(ErrorKind::Misconfigured, e.message),
        _ => e,
    }
}

impl<S: EventSink, D: DeadLetters, T: TraitStore> Forwarder<S, D, T> {
    /// Reads the stored traits of every user identified (with selected traits) in `messages`
    /// and puts the merged traits into those messages. Nothing without a trait store, a users
    /// dataset or `USER_TRAITS`.
    pub(crate) async fn merge_traits(
        &self,
        messages: &mut [Result<Message<'_>, MapError>],
        deadline: &Deadline,
    ) -> Merges {
        let mut merges = Merges::default();
        let Some(store) = &self.traits else {
            return merges;
        };
        if self.config.mapping.users_dataset_arn().is_none() || self.reach.is_empty() {
            return merges;
        }
        let now = now();
        let mut by_user: HashMap<String, usize> = HashMap::new();
        for (i, m) in messages.iter().enumerate() {
            let Ok(msg) = m else { continue };
            let Some(user_id) = user_key(msg) else {
                continue;
            };
            let Some(update) = TraitUpdate::of(msg, &self.reach, now) else {
                continue;
            };
            let u = *by_user.entry(user_id.clone()).or_insert_with(|| {
                merges.users.push(UserMerge {
                    user_id,
                    version: None,
                    had_values: false,
                    updates: Vec::new(),
                    merged: TraitState::default(),
                    messages: Vec::new(),
                });
                merges.users.len() - 1
            });
            merges.users[u].updates.push(update);
            merges.users[u].messages.push(i);
            merges.by_message.insert(i, u);
        }
        for u in &mut merges.users {
            let read = deadline
                .run("reading the user's stored traits", store.load(&u.user_id))
                .await;
            match read {
                Ok(stored) => {
                    u.reset(stored, &self.reach);
                    let merged = u.merged.traits();
                    for &m in &u.messages {
                        if let Ok(msg) = &mut messages[m] {
                            msg.traits = Some(merged.clone());
                        }
                    }
                }
                Err(e) => {
                    let e = store_error(e);
                    merges
                        .failed
                        .extend(u.messages.iter().map(|&m| (m, e.clone())));
                }
            }
        }
        if !merges.users.is_empty() {
            tracing::info!(
                users = merges.users.len(),
                unread = merges.failed.len(),
                "stored traits merged"
            );
        }
        merges
    }

    /// After PutUsers sent user `u` with `sent` as its properties: writes the merged traits
    /// back; on a conflict reads, merges and (if the user changed) sends again, then retries.
    pub(crate) async fn store_traits(
        &self,
        merges: &mut Merges,
        u: usize,
        sent: Option<&str>,
        messages: &[Result<Message<'_>, MapError>],
        deadline: &Deadline,
    ) -> Result<(), PipelineError> {
        let Some(store) = &self.traits else {
            return Ok(());
        };
        let mut sent = sent.map(str::to_owned);
        for attempt in 1..=TRAIT_WRITE_ATTEMPTS {
            let user = &merges.users[u];
            let saved = deadline
                .run(
                    "storing the user's traits",
                    store.save(&user.user_id, &user.merged, user.version),
                )
                .await
                .map_err(store_error)?;
            if saved == Saved::Written {
                return Ok(());
            }
            merges.conflicts += 1;
            tracing::info!(
                attempt,
                "the user's traits were written meanwhile: merging again"
            );
            if attempt == TRAIT_WRITE_ATTEMPTS {
                break;
            }
            let stored = deadline
                .run(
                    "reading the user's stored traits",
                    store.load(&merges.users[u].user_id),
                )
                .await
                .map_err(store_error)?;
            merges.users[u].reset(stored, &self.reach);
            let properties = self.user_properties(&merges.users[u], messages)?;
            if properties != sent {
                let arn = self.config.mapping.users_dataset_arn().unwrap_or_default();
                let request = PutUsersRequest {
                    dataset_arn: Cow::Borrowed(arn),
                    users: vec![User {
                        user_id: Cow::Borrowed(&merges.users[u].user_id),
                        properties: properties.clone(),
                    }],
                };
                deadline
                    .run("PutUsers", self.sink.put_users(&request))
                    .await?;
                sent = properties;
            }
        }
        Err(PipelineError::retryable(format!(
            "storing the user's traits: {TRAIT_WRITE_ATTEMPTS} conflicting writes in a row"
        )))
    }

    /// The user's `properties` mapped from the merged traits (with the user's last message).
    fn user_properties(
        &self,
        user: &UserMerge,
        messages: &[Result<Message<'_>, MapError>],
    ) -> Result<Option<String>, PipelineError> {
        let last = user
            .messages
            .last()
            .and_then(|&m| messages[m].as_ref().ok());
        let Some(msg) = last else {
            return Ok(None);
        };
        let mut msg = msg.clone();
        msg.traits = Some(user.merged.traits());
        match self.config.mapping.map(&msg) {
            Ok(Outcome::User(mapped)) => Ok(mapped.properties),
            Ok(_) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

/// The wall clock as a [`SentAt`].
fn now() -> SentAt {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    SentAt {
        secs: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        nanos: d.subsec_nanos(),
    }
}

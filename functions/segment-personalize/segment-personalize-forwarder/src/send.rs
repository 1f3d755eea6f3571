//! Making the calls of a plan within the deadline, and what became of each message.

use std::collections::BTreeSet;

use segment_personalize_core::{MapError, Message, Plan};
use shared::metrics::{Metrics, Unit};
use shared::{ErrorKind, PipelineError};

use crate::deadline::Deadline;
use crate::error::ForwardError;
use crate::merge::Merges;
use crate::ports::{DeadLetters, EventSink, TraitStore};
use crate::Forwarder;

/// What happened to the messages of an invocation, by index.
#[derive(Debug, Default)]
pub(crate) struct Results {
    /// Retryable failures: reported to SQS.
    pub failed: BTreeSet<usize>,
    /// The first failure that was the stack's configuration (e.g. AccessDenied), not
    /// Personalize's availability: the invocation then fails as `Misconfigured`, naming it.
    pub misconfigured: Option<String>,
    /// Permanent failures, with the reason.
    pub rejected: Vec<(usize, String)>,
    pub events: usize,
    pub users: usize,
    pub put_events_calls: usize,
    /// Refused PutEvents calls sent again one call per message.
    pub split_calls: usize,
}

impl<S: EventSink, D: DeadLetters, T: TraitStore> Forwarder<S, D, T> {
    /// Makes every call of the plan within the deadline; classifies the messages of failed
    /// calls (and of calls not made in time). Users are written back to the trait store after
    /// PutUsers sent them.
    pub(crate) async fn send(
        &self,
        plan: &Plan<'_>,
        messages: &[Result<Message<'_>, MapError>],
        merges: &mut Merges,
        deadline: &Deadline,
    ) -> Results {
        let mut results = Results::default();
        for (i, e) in &merges.failed {
            classify(&mut results, &[*i], "reading stored traits", e.clone());
        }
        for call in &plan.put_events {
            results.put_events_calls += 1;
            match deadline
                .run("PutEvents", self.sink.put_events(&call.request))
                .await
            {
                Ok(()) => results.events += call.request.event_list.len(),
                // Refused as a whole for one message's sake: find which one.
                Err(e) if e.kind == ErrorKind::InvalidInput && call.messages.len() > 1 => {
                    tracing::warn!(
                        messages = call.messages.len(),
                        "PutEvents refused: {}; sending again one call per message",
                        e.message
                    );
                    results.split_calls += 1;
                    for part in call.split_by_message() {
                        results.put_events_calls += 1;
                        match deadline
                            .run("PutEvents", self.sink.put_events(&part.request))
                            .await
                        {
                            Ok(()) => results.events += part.request.event_list.len(),
                            Err(e) => classify(&mut results, &part.messages, "PutEvents", e),
                        }
                    }
                }
                Err(e) => classify(&mut results, &call.messages, "PutEvents", e),
            }
        }
        for call in &plan.put_users {
            if let Err(e) = deadline
                .run("PutUsers", self.sink.put_users(&call.request))
                .await
            {
                classify(&mut results, &call.messages, "PutUsers", e);
                continue;
            }
            results.users += call.request.users.len();
            for (j, origin) in call.origins.iter().enumerate() {
                let Some(u) = merges.user_of(*origin) else {
                    continue;
                };
                let sent = call.request.users[j].properties.as_deref();
                if let Err(e) = self.store_traits(merges, u, sent, messages, deadline).await {
                    let of_user = merges.users[u].messages.clone();
                    classify(&mut results, &of_user, "PutUsers", e);
                }
            }
        }
        results
    }
}

pub(crate) fn classify(results: &mut Results, messages: &[usize], what: &str, e: PipelineError) {
    tracing::error!(
        error_type = e.kind.error_type(),
        messages = messages.len(),
        "{what} failed: {}",
        e.message
    );
    match e.kind {
        // Personalize refused the request itself: sending it again cannot help.
        ErrorKind::InvalidInput => {
            for m in messages {
                results
                    .rejected
                    .push((*m, format!("{what} rejected by Personalize: {}", e.message)));
            }
        }
        ErrorKind::Misconfigured => {
            results
                .misconfigured
                .get_or_insert_with(|| format!("{what}: {}", e.message));
            results.failed.extend(messages.iter().copied());
        }
        _ => results.failed.extend(messages.iter().copied()),
    }
}

pub(crate) fn record(
    metrics: &mut Metrics,
    results: &Results,
    invalid: usize,
    merges: &Merges,
    deadline: &Deadline,
) {
    metrics.add("EventsSent", Unit::Count, results.events as f64);
    metrics.add("UsersSent", Unit::Count, results.users as f64);
    metrics.add(
        "PutEventsCalls",
        Unit::Count,
        results.put_events_calls as f64,
    );
    if results.split_calls > 0 {
        metrics.add(
            "PutEventsCallsSplit",
            Unit::Count,
            results.split_calls as f64,
        );
    }
    metrics.add(
        "MessagesInvalid",
        Unit::Count,
        (invalid + results.rejected.len()) as f64,
    );
    let merged = merges
        .users
        .iter()
        .filter(|u| !u.messages.iter().any(|&m| merges.is_failed(m)))
        .count();
    if merged > 0 {
        metrics.add("UserTraitsMerged", Unit::Count, merged as f64);
    }
    if merges.conflicts > 0 {
        metrics.add("UserTraitsConflicts", Unit::Count, merges.conflicts as f64);
    }
    if deadline.stops() > 0 {
        tracing::warn!(
            calls = deadline.stops(),
            "calls not started or abandoned at the invocation's deadline: their messages are retried"
        );
        metrics.add("DeadlineStops", Unit::Count, deadline.stops() as f64);
    }
}

/// Why an invocation with failed messages fails: the stack's configuration first, then the
/// deadline, then Personalize's availability.
pub(crate) fn results_error(results: &Results, deadline: &Deadline) -> ForwardError {
    let failed = results.failed.len();
    match &results.misconfigured {
        Some(cause) => ForwardError::Misconfigured {
            failed,
            cause: cause.clone(),
        },
        None if deadline.stops() > 0 => ForwardError::OutOfTime { failed },
        None => ForwardError::Unavailable { failed },
    }
}

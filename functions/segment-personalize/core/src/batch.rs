//! Many messages -> the PutEvents and PutUsers calls to make.
//!
//! Events are grouped by session (the `sessionId`, `userId` pair: one PutEvents request has one of
//! each), in order of each session's first message, and keep message order within a session.
//! Each session's events go out in requests of at most 10 events, and a message's events stay in
//! one request when they fit in one: a message that would straddle two requests starts the next
//! one instead (see [`call_sizes`]). Only a message of more than 10 events (an order of many
//! products) spans requests. So when Personalize refuses a request, every message in it was
//! refused whole, and sending it again one message per call finds the culprit. Users go out in PutUsers requests of at most 10; a user identified twice in one batch
//! is sent once, with the last message's traits (PutUsers replaces the whole record).
//!
//! Every request lists the indexes of the messages it carries, so a caller handling an SQS batch
//! can report exactly the messages of a failed call as failed (partial batch response).

use std::borrow::Cow;
use std::collections::HashMap;

use super::config::Config;
use super::error::{MapError, MapWarning};
use super::limits;
use super::map::{Ignored, Outcome};
use super::request::{Event, PutEventsRequest, PutUsersRequest, User};

/// A request and the (0-based, ascending, distinct) indexes of the messages it carries.
#[derive(Debug, Clone, PartialEq)]
pub struct Call<T> {
    pub request: T,
    pub messages: Vec<usize>,
    /// The message each item of the request came from, in the request's order: for PutEvents
    /// the message of each event; for PutUsers the message whose identify gave the user (the
    /// last one of that user).
    pub origins: Vec<usize>,
}

impl<'a> Call<PutEventsRequest<'a>> {
    /// One call per message, each with only that message's events of this call (same session
    /// and user), in message order: to find which message of a call Personalize refused.
    pub fn split_by_message(&self) -> Vec<Call<PutEventsRequest<'a>>> {
        self.messages
            .iter()
            .map(|&m| {
                let event_list: Vec<Event<'a>> = self
                    .request
                    .event_list
                    .iter()
                    .zip(&self.origins)
                    .filter(|(_, &o)| o == m)
                    .map(|(e, _)| e.clone())
                    .collect();
                Call {
                    origins: vec![m; event_list.len()],
                    request: PutEventsRequest {
                        tracking_id: self.request.tracking_id.clone(),
                        session_id: self.request.session_id.clone(),
                        user_id: self.request.user_id.clone(),
                        event_list,
                    },
                    messages: vec![m],
                }
            })
            .collect()
    }
}

/// Everything to do for a batch of messages.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan<'a> {
    pub put_events: Vec<Call<PutEventsRequest<'a>>>,
    pub put_users: Vec<Call<PutUsersRequest<'a>>>,
    /// Messages deliberately not forwarded, by index.
    pub ignored: Vec<(usize, Ignored)>,
    /// Messages that cannot be forwarded, by index (do not retry them).
    pub invalid: Vec<(usize, MapError)>,
    /// Array elements without an item id skipped across the batch (see
    /// [`Interactions::skipped_elements`](super::Interactions::skipped_elements)).
    pub skipped_elements: usize,
    /// Optional fields left out of interactions that are still sent, by message index (see
    /// [`Interactions::warnings`](super::Interactions::warnings)): to log and count.
    pub warnings: Vec<(usize, MapWarning)>,
}

impl Plan<'_> {
    /// Number of events across all PutEvents requests.
    pub fn event_count(&self) -> usize {
        self.put_events
            .iter()
            .map(|c| c.request.event_list.len())
            .sum()
    }
}

/// Number of PutEvents calls for sessions of the given sizes when every message has one event
/// (the fewest possible): `ceil(n / 10)` each.
pub fn put_events_calls(session_sizes: impl IntoIterator<Item = usize>) -> usize {
    session_sizes
        .into_iter()
        .map(|n| n.div_ceil(limits::EVENTS_PER_CALL))
        .sum()
}

/// The sizes of the PutEvents calls for one session whose messages have these numbers of
/// events, in order. Calls fill up to 10 events; a message that fits in a call but not in what
/// is left of the current one starts the next call; a message of more than 10 events fills the
/// current call and whole calls after it.
pub fn call_sizes(message_sizes: impl IntoIterator<Item = usize>) -> Vec<usize> {
    let max = limits::EVENTS_PER_CALL;
    let mut calls = Vec::new();
    let mut open = 0; // events in the call being filled
    for mut n in message_sizes {
        if open > 0 && open + n > max && n <= max {
            calls.push(open);
            open = 0;
        }
        while open + n > max {
            n -= max - open;
            calls.push(max);
            open = 0;
        }
        open += n;
    }
    if open > 0 {
        calls.push(open);
    }
    calls
}

/// Number of PutEvents calls [`plan`] makes for these outcomes (grouping by session as it does).
pub fn count_put_events_calls(outcomes: &[Outcome<'_>]) -> usize {
    let mut sessions: HashMap<(&str, Option<&str>), Vec<usize>> = HashMap::new();
    for o in outcomes {
        if let Outcome::Interactions(i) = o {
            sessions
                .entry((&i.session_id, i.user_id.as_deref()))
                .or_default()
                .push(i.events.len());
        }
    }
    sessions.into_values().map(|m| call_sizes(m).len()).sum()
}

/// Groups the outcomes of a batch (message `i` is the `i`-th item) into requests.
pub fn plan<'a>(
    config: &'a Config,
    outcomes: impl IntoIterator<Item = Result<Outcome<'a>, MapError>>,
) -> Plan<'a> {
    let outcomes: Vec<_> = outcomes.into_iter().collect();

    // Pass 1, borrowing: which session / user slot each message goes to.
    let mut slot = vec![usize::MAX; outcomes.len()];
    let (mut sessions, mut users) = (0usize, Vec::new());
    {
        let mut session_ids: HashMap<(&str, Option<&str>), usize> = HashMap::new();
        let mut user_ids: HashMap<&str, usize> = HashMap::new();
        for (i, o) in outcomes.iter().enumerate() {
            match o {
                Ok(Outcome::Interactions(x)) => {
                    let next = session_ids.len();
                    slot[i] = *session_ids
                        .entry((&x.session_id, x.user_id.as_deref()))
                        .or_insert(next);
                    sessions = session_ids.len();
                }
                Ok(Outcome::User(u)) => {
                    let next = user_ids.len();
                    let s = *user_ids.entry(&u.user_id).or_insert(next);
                    if s == users.len() {
                        users.push(Vec::new());
                    }
                    users[s].push(i);
                    slot[i] = s;
                }
                _ => {}
            }
        }
    }

    // Pass 2, consuming.
    struct Session<'a> {
        session_id: Cow<'a, str>,
        user_id: Option<Cow<'a, str>>,
        events: Vec<(Event<'a>, usize)>,
    }
    let mut by_session: Vec<Option<Session<'a>>> = (0..sessions).map(|_| None).collect();
    let mut by_user: Vec<Option<User<'a>>> = (0..users.len()).map(|_| None).collect();
    let mut out = Plan::default();
    for (i, o) in outcomes.into_iter().enumerate() {
        match o {
            Err(e) => out.invalid.push((i, e)),
            Ok(Outcome::Ignored(r)) => out.ignored.push((i, r)),
            Ok(Outcome::Interactions(x)) => {
                out.skipped_elements += x.skipped_elements;
                out.warnings.extend(x.warnings.into_iter().map(|w| (i, w)));
                let s = by_session[slot[i]].get_or_insert_with(|| Session {
                    session_id: x.session_id,
                    user_id: x.user_id,
                    events: Vec::new(),
                });
                s.events.extend(x.events.into_iter().map(|e| (e, i)));
            }
            // The last identify of a user wins.
            Ok(Outcome::User(u)) => by_user[slot[i]] = Some(u),
        }
    }

    for s in by_session.into_iter().flatten() {
        // A message's events are contiguous: their runs of equal origin are the messages.
        let message_sizes = s
            .events
            .chunk_by(|a, b| a.1 == b.1)
            .map(<[_]>::len)
            .collect::<Vec<_>>();
        let mut events = s.events.into_iter();
        for size in call_sizes(message_sizes) {
            let chunk: Vec<(Event<'a>, usize)> = events.by_ref().take(size).collect();
            let origins: Vec<usize> = chunk.iter().map(|(_, i)| *i).collect();
            let mut messages = origins.clone();
            messages.dedup();
            out.put_events.push(Call {
                request: PutEventsRequest {
                    tracking_id: Cow::Borrowed(&config.tracking_id),
                    session_id: s.session_id.clone(),
                    user_id: s.user_id.clone(),
                    event_list: chunk.into_iter().map(|(e, _)| e).collect(),
                },
                messages,
                origins,
            });
        }
    }

    if let Some(arn) = &config.users_dataset_arn {
        let mut all = by_user
            .into_iter()
            .zip(users)
            .filter_map(|(u, m)| u.map(|u| (u, m)))
            .peekable();
        while all.peek().is_some() {
            let chunk: Vec<(User<'a>, Vec<usize>)> =
                all.by_ref().take(limits::USERS_PER_CALL).collect();
            let origins: Vec<usize> = chunk
                .iter()
                .map(|(_, m)| *m.last().expect("a user comes from a message"))
                .collect();
            let mut messages: Vec<usize> =
                chunk.iter().flat_map(|(_, m)| m.iter().copied()).collect();
            messages.sort_unstable();
            out.put_users.push(Call {
                request: PutUsersRequest {
                    dataset_arn: Cow::Borrowed(arn),
                    users: chunk.into_iter().map(|(u, _)| u).collect(),
                },
                messages,
                origins,
            });
        }
    }
    out
}

//! Waiting for a transcript that is not ready yet, outside Lambda's retry budget.
//!
//! Genesys Cloud publishes `SESSION_ENDED` when the transcription session ends; the transcript
//! itself appears "within minutes", sometimes hours later. Lambda retries a failed asynchronous
//! invocation only twice (about three minutes), so the fetcher instead puts the event on a wait
//! queue with a growing delay (SQS `DelaySeconds`, at most 15 minutes) and tries again when it
//! comes back, until the waiting window (default 24 hours) has passed since the first attempt;
//! then the event is parked with the reason, to be replayed (`mlpipe transcripts redrive`) once
//! the cause is fixed.
//!
//! This module is the pure part: the message on the wait queue ([`Waiting`]), the delay of each
//! attempt ([`delay_seconds`]), what to do after a retryable failure ([`after_failure`]), and
//! the parked message ([`Parked`]) with how to read an event back from any parked shape
//! ([`parked_event`]). Times are Unix seconds, passed in.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Largest delay SQS takes (`DelaySeconds`, 15 minutes).
pub const MAX_DELAY_SECONDS: u32 = 900;

/// A waiting event, the body of a wait queue message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Waiting {
    /// The EventBridge transcription event, as received.
    pub event: Value,
    /// Attempts made so far (1 after the first failure).
    pub attempts: u32,
    /// When the first attempt was made (Unix seconds).
    pub first_attempt_at: i64,
    /// The last attempt's error.
    pub last_error: String,
}

/// A parked event, the body of a message on the parked queue (besides Lambda's own on-failure
/// records and EventBridge's dead letters, which [`parked_event`] reads too).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Parked {
    /// Why it was parked.
    pub reason: String,
    /// The EventBridge transcription event, as received.
    pub event: Value,
    pub attempts: u32,
    pub first_attempt_at: i64,
}

/// The delay before attempt `attempts + 1`: `first` seconds, doubling, at most 15 minutes.
pub fn delay_seconds(first: u32, attempts: u32) -> u32 {
    let doublings = attempts.saturating_sub(1).min(31);
    first
        .max(1)
        .saturating_mul(1u32 << doublings)
        .min(MAX_DELAY_SECONDS)
}

/// What to do with an event whose fetch just failed with a retryable error.
#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    /// Put it back on the wait queue with this delay.
    Wait(Waiting, u32),
    /// The window has passed: park it.
    Park(Parked),
}

/// After a retryable failure at `now` of an event first tried at `first_attempt_at` and tried
/// `attempts` times before this one: wait again (with the next delay, never past the window's
/// end by more than one delay) or park once `window_seconds` have passed.
pub fn after_failure(
    event: Value,
    attempts_before: u32,
    first_attempt_at: i64,
    now: i64,
    error: &str,
    window_seconds: u32,
    first_delay: u32,
) -> Next {
    let attempts = attempts_before.saturating_add(1);
    let waited = now.saturating_sub(first_attempt_at);
    if waited >= i64::from(window_seconds) {
        let window = if window_seconds.is_multiple_of(3600) {
            format!("{} h", window_seconds / 3600)
        } else {
            format!("{} min", window_seconds.div_ceil(60))
        };
        return Next::Park(Parked {
            reason: format!(
                "transcript still not available after waiting {window} ({attempts} attempts): {error}"
            ),
            event,
            attempts,
            first_attempt_at,
        });
    }
    let delay = delay_seconds(first_delay, attempts);
    Next::Wait(
        Waiting {
            event,
            attempts,
            first_attempt_at,
            last_error: error.to_owned(),
        },
        delay,
    )
}

/// The transcription event inside a parked message body, whichever way it was parked: a
/// [`Parked`] body, Lambda's on-failure destination record (`requestPayload`, which for an
/// event from the wait queue is an SQS event whose records hold [`Waiting`] bodies), a
/// [`Waiting`] body, or the EventBridge event itself (the rule's dead-letter queue). `None`
/// when the body is none of these.
pub fn parked_event(body: &str) -> Option<Vec<Value>> {
    let value: Value = serde_json::from_str(body.trim_start_matches('\u{feff}')).ok()?;
    events_in(&value)
}

fn events_in(value: &Value) -> Option<Vec<Value>> {
    if is_event(value) {
        return Some(vec![value.clone()]);
    }
    if let Some(event) = value.get("event").filter(|e| is_event(e)) {
        return Some(vec![event.clone()]);
    }
    if let Some(payload) = value.get("requestPayload") {
        return events_in(payload);
    }
    if let Some(records) = value.get("Records").and_then(Value::as_array) {
        let mut events = Vec::new();
        for record in records {
            let body = record.get("body").and_then(Value::as_str)?;
            events.extend(parked_event(body)?);
        }
        return (!events.is_empty()).then_some(events);
    }
    None
}

fn is_event(value: &Value) -> bool {
    value.get("detail-type").is_some_and(Value::is_string) && value.get("detail").is_some()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn event() -> Value {
        json!({"version": "0", "id": "e1", "detail-type": "v2.conversations.{id}.transcription",
               "source": "aws.partner/genesys.com/cloud/org/bus", "time": "2025-03-01T10:00:00Z",
               "detail": {"eventBody": {"conversationId": "c1"}}})
    }

    #[test]
    fn delays_double_from_the_first_up_to_fifteen_minutes() {
        let delays: Vec<u32> = (1..=8).map(|a| delay_seconds(60, a)).collect();
        assert_eq!(delays, [60, 120, 240, 480, 900, 900, 900, 900]);
        assert_eq!(delay_seconds(1, 1), 1);
        assert_eq!(
            delay_seconds(0, 1),
            1,
            "never 0: SQS would redeliver at once"
        );
        assert_eq!(delay_seconds(60, u32::MAX), 900);
        assert_eq!(delay_seconds(u32::MAX, 3), 900);
    }

    #[test]
    fn waits_within_the_window_then_parks_with_the_reason() {
        let day = 86_400;
        let t0 = 1_740_823_200;
        let Next::Wait(w, delay) = after_failure(event(), 0, t0, t0, "404 not yet", day, 60) else {
            panic!("first failure waits")
        };
        assert_eq!((w.attempts, w.first_attempt_at, delay), (1, t0, 60));
        assert_eq!(w.last_error, "404 not yet");
        let Next::Wait(w, delay) = after_failure(event(), 5, t0, t0 + 3600, "404", day, 60) else {
            panic!("an hour in still waits")
        };
        assert_eq!((w.attempts, delay), (6, 900));
        let Next::Park(p) =
            after_failure(event(), 99, t0, t0 + i64::from(day), "404 not yet", day, 60)
        else {
            panic!("parks once the window has passed")
        };
        assert_eq!(p.attempts, 100);
        assert_eq!(p.event, event());
        assert!(p.reason.contains("24 h"), "{}", p.reason);
        assert!(p.reason.contains("100 attempts"), "{}", p.reason);
        assert!(p.reason.ends_with("404 not yet"), "{}", p.reason);
    }

    /// How many attempts a day of waiting costs with the default schedule.
    #[test]
    fn a_day_of_waiting_is_about_a_hundred_attempts() {
        let (mut t, mut attempts) = (0i64, 0u32);
        while let Next::Wait(w, delay) = after_failure(event(), attempts, 0, t, "x", 86_400, 60) {
            attempts = w.attempts;
            t += i64::from(delay);
        }
        assert!((90..=105).contains(&attempts), "{attempts}");
    }

    #[test]
    fn the_event_is_read_back_from_every_parked_shape() {
        let e = event();
        let parked = serde_json::to_string(&Parked {
            reason: "r".into(),
            event: e.clone(),
            attempts: 3,
            first_attempt_at: 0,
        })
        .unwrap();
        let waiting = serde_json::to_string(&Waiting {
            event: e.clone(),
            attempts: 2,
            first_attempt_at: 0,
            last_error: "x".into(),
        })
        .unwrap();
        // Lambda's on-failure record of an asynchronous invocation (EventBridge) ...
        let async_record = json!({"version": "1.0", "requestContext": {"condition": "RetriesExhausted"},
                                  "requestPayload": e, "responsePayload": {"errorType": "Retryable"}});
        // ... and of an invocation by the wait queue (an SQS event).
        let sqs_record =
            json!({"requestPayload": {"Records": [{"messageId": "m", "body": waiting}]}});
        for body in [
            parked.clone(),
            format!("\u{feff}{parked}"),
            waiting.clone(),
            e.to_string(),
            async_record.to_string(),
            sqs_record.to_string(),
        ] {
            assert_eq!(parked_event(&body), Some(vec![e.clone()]), "{body}");
        }
        for body in [
            "",
            "{}",
            "[1]",
            r#"{"requestPayload": {"x": 1}}"#,
            r#"{"Records": [{"body": "{}"}]}"#,
        ] {
            assert_eq!(parked_event(body), None, "{body}");
        }
    }
}

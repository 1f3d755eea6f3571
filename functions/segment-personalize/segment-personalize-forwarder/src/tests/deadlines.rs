//! Deadlines, with a slow fake Personalize on tokio's paused clock: the clock only moves when
//! every task waits, so "4 s" here is the handler's own timing, exactly, without waiting.

use tokio::time::Instant;

use super::*;

fn slow(delay_ms: u64) -> Recorder {
    Recorder {
        delay: Duration::from_millis(delay_ms),
        ..Default::default()
    }
}

/// Segment waits 5 s per message (its Lambda destination documentation: "your Lambda can't
/// take more than 5 seconds to run per message"). A Personalize that takes 10 s must not make
/// the invocation time out: it fails as Retryable within SEGMENT_DEADLINE_MS, so Segment
/// retries.
#[tokio::test(start_paused = true)]
async fn a_segment_message_answers_before_five_seconds_with_a_retryable_error() {
    let f = forwarder(slow(10_000), None);
    let start = Instant::now();
    let err = handle(&f, fixture("segment_track_order_completed.json"))
        .await
        .unwrap_err();
    let took = start.elapsed();
    assert_eq!(err.kind, ErrorKind::Retryable, "{}", err.message);
    assert!(err.message.contains("out of time"), "{}", err.message);
    assert!(took < Duration::from_secs(5), "answered after {took:?}");
    assert_eq!(took, Duration::from_millis(DEFAULT_SEGMENT_DEADLINE_MS));
    assert!(
        f.sink.events.lock().unwrap().is_empty(),
        "the call was abandoned"
    );
}

/// The function's own deadline counts too when it comes first (a function time-out shorter
/// than Segment's wait): DEADLINE_MARGIN_MS before it.
#[tokio::test(start_paused = true)]
async fn a_segment_message_stops_before_the_functions_own_deadline() {
    let f = forwarder(slow(10_000), None);
    let start = Instant::now();
    let err = handle_until(
        &f,
        fixture("segment_track_order_completed.json"),
        Some(start + Duration::from_secs(3)),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Retryable);
    assert_eq!(
        start.elapsed(),
        Duration::from_secs(3) - Duration::from_millis(DEFAULT_DEADLINE_MARGIN_MS)
    );
}

/// A Personalize that answers in time is not cut short.
#[tokio::test(start_paused = true)]
async fn calls_that_finish_in_time_are_sent() {
    let f = forwarder(slow(3_900), None);
    let out = handle(&f, fixture("segment_track_order_completed.json"))
        .await
        .unwrap();
    assert_eq!(out["status"], "forwarded", "{out}");
}

/// Five messages in four sessions: four PutEvents calls of 1 s each, and the function's deadline
/// 3 s away (calls stop at 2.5 s). The first two calls are done; the third is abandoned at
/// 2.5 s, the fourth never starts: exactly their messages are reported, and the answer comes
/// before the function's deadline.
#[tokio::test(start_paused = true)]
async fn an_sqs_batch_reports_exactly_the_messages_not_sent_by_the_deadline() {
    let f = forwarder(slow(1_000), Some(Parked::default()));
    let bodies: Vec<String> = [
        ("m0", "anon-a"),
        ("m1", "anon-a"),
        ("m2", "anon-b"),
        ("m3", "anon-c"),
        ("m4", "anon-d"),
    ]
    .iter()
    .map(|(id, anon)| track(id, anon, &format!("p-{id}")).to_string())
    .collect();
    let start = Instant::now();
    let out = handle_until(&f, sqs_event(&bodies), Some(start + Duration::from_secs(3)))
        .await
        .unwrap();
    assert_eq!(start.elapsed(), Duration::from_millis(2_500));
    assert_eq!(failures(&out), ["m-3", "m-4"], "{out}");
    let sent: Vec<String> = f
        .sink
        .events
        .lock()
        .unwrap()
        .iter()
        .flat_map(|c| c["eventList"].as_array().unwrap().clone())
        .map(|e| e["eventId"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(sent, ["m0", "m1", "m2"]);
    assert_eq!(
        f.sink.started.load(Ordering::SeqCst),
        3,
        "the fourth call was not started"
    );
    assert!(parked(&f).is_empty(), "nothing is invalid");
}

/// No call starts with less than MIN_CALL_MS left: a call that could not finish anyway is not
/// sent half-way.
#[tokio::test(start_paused = true)]
async fn no_call_starts_with_less_than_the_minimum_left() {
    let f = Forwarder::new(
        slow(1_000),
        Some(Parked::default()),
        config(&[("MIN_CALL_MS", "600"), ("DEADLINE_MARGIN_MS", "0")]),
    );
    let bodies: Vec<String> = ["anon-a", "anon-b"]
        .iter()
        .enumerate()
        .map(|(i, anon)| track(&format!("m{i}"), anon, "p").to_string())
        .collect();
    let start = Instant::now();
    // After the first call (1 s) 0.5 s are left: less than 600 ms.
    let out = handle_until(
        &f,
        sqs_event(&bodies),
        Some(start + Duration::from_millis(1_500)),
    )
    .await
    .unwrap();
    assert_eq!(failures(&out), ["m-1"]);
    assert_eq!(f.sink.started.load(Ordering::SeqCst), 1);
    assert_eq!(start.elapsed(), Duration::from_secs(1), "answered at once");
}

/// Parking a rejected message is a call like the others: past the deadline the message stays
/// with SQS (reported) instead of the invocation timing out.
#[tokio::test(start_paused = true)]
async fn a_rejected_message_not_parked_in_time_stays_with_sqs() {
    let f = forwarder(slow(2_000), Some(Parked::default()));
    let mut bad = track("m1", "anon-b", "p");
    bad.as_object_mut().unwrap().remove("timestamp");
    let bad = bad.to_string();
    let bodies = vec![track("m0", "anon-a", "p").to_string(), bad];
    let start = Instant::now();
    let out = handle_until(
        &f,
        sqs_event(&bodies),
        Some(start + Duration::from_millis(2_600)),
    )
    .await
    .unwrap();
    // PutEvents takes 2 s; 100 ms are left before 2.1 s: below MIN_CALL_MS (200).
    assert_eq!(failures(&out), ["m-1"]);
    assert!(parked(&f).is_empty());
    assert_eq!(f.sink.events.lock().unwrap().len(), 1);
}

#[test]
fn the_deadline_settings_are_checked() {
    let c = config(&[]);
    assert_eq!(
        c.segment_deadline,
        Duration::from_millis(DEFAULT_SEGMENT_DEADLINE_MS)
    );
    assert_eq!(
        c.deadline_margin,
        Duration::from_millis(DEFAULT_DEADLINE_MARGIN_MS)
    );
    assert_eq!(c.min_call, Duration::from_millis(DEFAULT_MIN_CALL_MS));
    for (name, bad) in [
        ("SEGMENT_DEADLINE_MS", "5000"),
        ("SEGMENT_DEADLINE_MS", "499"),
        ("DEADLINE_MARGIN_MS", "10001"),
        ("MIN_CALL_MS", "5001"),
        ("MIN_CALL_MS", "soon"),
    ] {
        let err = Config::from_source(&[("PERSONALIZE_TRACKING_ID", "t"), (name, bad)].as_slice())
            .unwrap_err();
        assert_eq!(err.name, name, "{bad}");
    }
}

#[test]
fn the_lambda_deadline_converts_from_epoch_milliseconds() {
    assert_eq!(deadline::from_epoch_millis(0), None);
    let in_ten = std::time::SystemTime::now() + Duration::from_secs(10);
    let ms = in_ten
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let at = deadline::from_epoch_millis(ms).unwrap();
    let left = at.saturating_duration_since(Instant::now());
    assert!(
        left > Duration::from_secs(9) && left <= Duration::from_secs(10),
        "{left:?}"
    );
    // A deadline already past leaves no time.
    let past = deadline::from_epoch_millis(1).unwrap();
    assert!(past <= Instant::now());
}

//! Waiting for a transcript that is not ready yet: the event goes to the wait queue with a
//! growing delay, comes back from it, and is parked with the reason once the window has
//! passed. In-memory fakes, a fixed clock: no network, no sleeping.

use std::cell::Cell;
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use genesys_lex_core::wait::{Parked, Waiting};
use genesys_transcript_fetcher::config::Waiting as WaitSettings;
use genesys_transcript_fetcher::{
    Answer, Config, Credentials, Invocation, Outcome, SecretSource, TranscriptFetcher,
    TranscriptSource, WaitQueue,
};
use serde_json::{json, Value};
use shared::store::MemoryStore;
use shared::{ErrorKind, PipelineError};

const BUCKET: &str = "raw-bucket";
const KEY: &str = "genesys/test-conversation-id-2/test-communication-id-2.json";
/// 2025-03-01T10:00:00Z.
const T0: i64 = 1_740_823_200;
const DAY: i64 = 86_400;

// Per test thread: `#[tokio::test]` runs each test on its own thread.
thread_local! {
    static NOW: Cell<i64> = const { Cell::new(T0) };
}

fn clock() -> i64 {
    NOW.with(Cell::get)
}

fn set_now(t: i64) {
    NOW.with(|n| n.set(t));
}

fn events_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../events/genesys")
}

fn ended_event() -> Value {
    let path = events_dir().join("eventbridge/genesys_eb_transcription_session_ended.json");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn config() -> Config {
    Config {
        login_url: "https://login.example.test".into(),
        api_url: "https://api.example.test".into(),
        credentials_secret_id: "genesys/oauth".into(),
        raw_bucket: BUCKET.into(),
        raw_prefix: "genesys/".into(),
        http_timeout: Duration::from_secs(1),
        waiting: Some(WaitSettings {
            wait_queue_url: "https://sqs.example/wait".into(),
            parked_queue_url: "https://sqs.example/parked".into(),
            window_seconds: DAY as u32,
            first_delay_seconds: 60,
        }),
    }
}

struct Secrets;

impl SecretSource for Secrets {
    async fn secret_string(&self, _: &str) -> Result<String, PipelineError> {
        Ok(r#"{"clientId":"id","clientSecret":"secret"}"#.into())
    }
}

/// Fails with the queued errors, then serves a document.
#[derive(Default)]
struct Source {
    failures: Mutex<VecDeque<PipelineError>>,
}

impl Source {
    fn failing(errors: impl IntoIterator<Item = PipelineError>) -> Self {
        Self {
            failures: Mutex::new(errors.into_iter().collect()),
        }
    }
}

impl TranscriptSource for Source {
    async fn fetch_transcript(
        &self,
        _: &Credentials,
        _: &str,
        _: &str,
    ) -> Result<Bytes, PipelineError> {
        match self.failures.lock().unwrap().pop_front() {
            Some(e) => Err(e),
            None => Ok(Bytes::from_static(
                br#"{"conversationId":"test-conversation-id-2"}"#,
            )),
        }
    }
}

/// Records what is sent; fails the next send when told to.
#[derive(Default)]
struct Queue {
    waiting: Mutex<Vec<(String, u32)>>,
    parked: Mutex<Vec<String>>,
    fail_next: Mutex<bool>,
}

impl Queue {
    fn take_waiting(&self) -> Vec<(Waiting, u32)> {
        let sent = std::mem::take(&mut *self.waiting.lock().unwrap());
        sent.into_iter()
            .map(|(body, delay)| (serde_json::from_str(&body).unwrap(), delay))
            .collect()
    }

    fn take_parked(&self) -> Vec<Parked> {
        let sent = std::mem::take(&mut *self.parked.lock().unwrap());
        sent.iter()
            .map(|b| serde_json::from_str(b).unwrap())
            .collect()
    }

    fn check(&self) -> Result<(), PipelineError> {
        if std::mem::take(&mut *self.fail_next.lock().unwrap()) {
            return Err(PipelineError::retryable("SQS unavailable"));
        }
        Ok(())
    }
}

impl WaitQueue for Queue {
    async fn wait(&self, body: String, delay_seconds: u32) -> Result<(), PipelineError> {
        self.check()?;
        self.waiting.lock().unwrap().push((body, delay_seconds));
        Ok(())
    }

    async fn park(&self, body: String) -> Result<(), PipelineError> {
        self.check()?;
        self.parked.lock().unwrap().push(body);
        Ok(())
    }
}

type Fetcher = TranscriptFetcher<MemoryStore, Secrets, Source, Queue>;

fn fetcher(source: Source) -> Fetcher {
    TranscriptFetcher::new(config(), MemoryStore::new(), Secrets, source)
        .with_wait_queue(Queue::default())
        .with_clock(clock)
}

fn not_ready() -> PipelineError {
    PipelineError::retryable("transcript URL: the transcript is not available yet (404)")
}

/// The wait queue's event source mapping delivering `body`.
fn from_wait_queue(body: &str) -> Invocation {
    serde_json::from_value(json!({"Records": [{
        "messageId": "m-1", "receiptHandle": "r", "body": body,
        "attributes": {}, "messageAttributes": {}, "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:wait", "awsRegion": "us-east-1"
    }]}))
    .unwrap()
}

async fn run(f: &Fetcher, invocation: Invocation) -> Answer {
    f.handle_invocation(invocation).await.unwrap()
}

fn failures(answer: &Answer) -> Vec<String> {
    let Answer::Batch(batch) = answer else {
        panic!("expected a batch answer, got {answer:?}")
    };
    batch
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect()
}

#[tokio::test]
async fn a_late_transcript_waits_with_growing_delays_and_is_stored_when_ready() {
    set_now(T0);
    // Not ready at the event and at the next two attempts, then ready.
    let f = fetcher(Source::failing([not_ready(), not_ready(), not_ready()]));
    let event: Invocation = serde_json::from_value(ended_event()).unwrap();
    let answer = run(&f, event).await;
    assert_eq!(
        serde_json::to_value(&answer).unwrap(),
        json!({"action": "waiting", "attempts": 1, "delaySeconds": 60})
    );
    let mut sent = f.queue().take_waiting();
    assert_eq!(sent.len(), 1);
    let (w, delay) = sent.remove(0);
    assert_eq!((w.attempts, w.first_attempt_at, delay), (1, T0, 60));
    assert_eq!(w.event, ended_event(), "the event is kept as received");
    assert!(
        w.last_error.contains("not available yet"),
        "{}",
        w.last_error
    );

    let mut body = serde_json::to_string(&w).unwrap();
    for (minutes, attempts, delay) in [(1, 2, 120), (3, 3, 240)] {
        set_now(T0 + minutes * 60);
        let answer = run(&f, from_wait_queue(&body)).await;
        assert!(failures(&answer).is_empty());
        let (w, d) = f.queue().take_waiting().remove(0);
        assert_eq!((w.attempts, w.first_attempt_at, d), (attempts, T0, delay));
        body = serde_json::to_string(&w).unwrap();
    }
    set_now(T0 + 7 * 60);
    let answer = run(&f, from_wait_queue(&body)).await;
    assert!(failures(&answer).is_empty());
    assert!(f.queue().take_waiting().is_empty());
    assert!(f.queue().take_parked().is_empty());
    assert!(f.store().object(BUCKET, KEY).is_some(), "stored at last");
}

#[tokio::test]
async fn after_the_window_the_event_is_parked_with_the_reason() {
    let f = fetcher(Source::failing([not_ready()]));
    let waiting = Waiting {
        event: ended_event(),
        attempts: 97,
        first_attempt_at: T0,
        last_error: "404".into(),
    };
    set_now(T0 + DAY + 1);
    let answer = run(
        &f,
        from_wait_queue(&serde_json::to_string(&waiting).unwrap()),
    )
    .await;
    assert!(failures(&answer).is_empty());
    assert!(f.queue().take_waiting().is_empty());
    let parked = f.queue().take_parked();
    assert_eq!(parked.len(), 1);
    assert_eq!(parked[0].event, ended_event());
    assert_eq!(parked[0].attempts, 98);
    assert!(parked[0].reason.contains("24 h"), "{}", parked[0].reason);
    assert!(
        parked[0].reason.contains("not available yet"),
        "{}",
        parked[0].reason
    );
}

#[tokio::test]
async fn a_permanent_failure_parks_at_once_and_says_which() {
    set_now(T0 + 60);
    let f = fetcher(Source::failing([PipelineError::misconfigured(
        "token: 401 invalid client",
    )]));
    let waiting = Waiting {
        event: ended_event(),
        attempts: 1,
        first_attempt_at: T0,
        last_error: "404".into(),
    };
    run(
        &f,
        from_wait_queue(&serde_json::to_string(&waiting).unwrap()),
    )
    .await;
    let parked = f.queue().take_parked();
    assert_eq!(parked.len(), 1);
    assert!(
        parked[0].reason.starts_with("Misconfigured: token: 401"),
        "{}",
        parked[0].reason
    );
    assert!(f.queue().take_waiting().is_empty());
}

#[tokio::test]
async fn an_unreadable_message_is_parked_not_retried_forever() {
    let f = fetcher(Source::default());
    run(&f, from_wait_queue("not json")).await;
    let parked = f.queue().take_parked();
    assert_eq!(parked.len(), 1);
    assert!(
        parked[0].reason.starts_with("not a wait queue message"),
        "{}",
        parked[0].reason
    );
    assert_eq!(parked[0].event, json!("not json"), "the body is kept");
}

#[tokio::test]
async fn when_the_next_step_cannot_be_queued_sqs_redelivers_the_message() {
    set_now(T0 + 60);
    let f = fetcher(Source::failing([not_ready()]));
    *f.queue().fail_next.lock().unwrap() = true;
    let waiting = Waiting {
        event: ended_event(),
        attempts: 1,
        first_attempt_at: T0,
        last_error: "404".into(),
    };
    let answer = run(
        &f,
        from_wait_queue(&serde_json::to_string(&waiting).unwrap()),
    )
    .await;
    assert_eq!(failures(&answer), ["m-1"]);
}

#[tokio::test]
async fn from_eventbridge_a_failed_enqueue_keeps_the_original_error_for_lambda_to_retry() {
    let f = fetcher(Source::failing([not_ready()]));
    *f.queue().fail_next.lock().unwrap() = true;
    let event: Invocation = serde_json::from_value(ended_event()).unwrap();
    let err = f.handle_invocation(event).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Retryable);
    assert!(err.message.contains("not available yet"), "{}", err.message);
}

#[tokio::test]
async fn without_a_wait_queue_a_late_transcript_fails_as_before() {
    let mut settings = config();
    settings.waiting = None;
    let f = TranscriptFetcher::new(
        settings,
        MemoryStore::new(),
        Secrets,
        Source::failing([not_ready()]),
    );
    let event: Invocation = serde_json::from_value(ended_event()).unwrap();
    let err = f.handle_invocation(event).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Retryable);
    let _: Outcome = f
        .handle(serde_json::from_value(ended_event()).unwrap())
        .await
        .unwrap();
}

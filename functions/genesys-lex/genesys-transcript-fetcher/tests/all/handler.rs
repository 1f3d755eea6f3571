//! The handler with in-memory fakes: no network.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use genesys_transcript_fetcher::{
    Config, Credentials, Outcome, SecretSource, TranscriptFetcher, TranscriptSource,
    TranscriptionEvent,
};
use serde_json::{json, Value};
use shared::store::MemoryStore;
use shared::{ErrorKind, PipelineError};

const BUCKET: &str = "raw-bucket";
const SECRET_ID: &str = "genesys/oauth";
const ENDED_KEY: &str = "genesys/test-conversation-id-2/test-communication-id-2.json";

fn events_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../events/genesys")
}

fn fixture_event(name: &str) -> TranscriptionEvent {
    let path = events_dir().join("eventbridge").join(name);
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn ended_event() -> TranscriptionEvent {
    fixture_event("genesys_eb_transcription_session_ended.json")
}

fn document() -> Bytes {
    std::fs::read(events_dir().join("fixtures/transcript_document_example.json"))
        .unwrap()
        .into()
}

fn config() -> Config {
    Config {
        login_url: "https://login.example.test".into(),
        api_url: "https://api.example.test".into(),
        credentials_secret_id: SECRET_ID.into(),
        raw_bucket: BUCKET.into(),
        raw_prefix: "genesys/".into(),
        http_timeout: Duration::from_secs(1),
        waiting: None,
    }
}

/// Serves one secret string and counts reads.
struct FakeSecrets {
    secret: String,
    reads: AtomicUsize,
}

impl FakeSecrets {
    fn new(secret: &str) -> Self {
        Self {
            secret: secret.to_owned(),
            reads: AtomicUsize::new(0),
        }
    }

    fn valid() -> Self {
        Self::new(r#"{"clientId":"id","clientSecret":"secret"}"#)
    }
}

impl SecretSource for FakeSecrets {
    async fn secret_string(&self, secret_id: &str) -> Result<String, PipelineError> {
        assert_eq!(secret_id, SECRET_ID);
        self.reads.fetch_add(1, Ordering::SeqCst);
        Ok(self.secret.clone())
    }
}

/// Answers from a queue, then with the document; records the calls.
struct FakeSource {
    document: Bytes,
    queued: Mutex<VecDeque<PipelineError>>,
    calls: Mutex<Vec<(String, String, String)>>,
}

impl FakeSource {
    fn new() -> Self {
        Self {
            document: document(),
            queued: Mutex::default(),
            calls: Mutex::default(),
        }
    }

    fn failing_once(err: PipelineError) -> Self {
        let source = Self::new();
        source.queued.lock().unwrap().push_back(err);
        source
    }

    fn calls(&self) -> Vec<(String, String, String)> {
        self.calls.lock().unwrap().clone()
    }
}

impl TranscriptSource for FakeSource {
    async fn fetch_transcript(
        &self,
        credentials: &Credentials,
        conversation_id: &str,
        communication_id: &str,
    ) -> Result<Bytes, PipelineError> {
        self.calls.lock().unwrap().push((
            credentials.client_id.clone(),
            conversation_id.to_owned(),
            communication_id.to_owned(),
        ));
        match self.queued.lock().unwrap().pop_front() {
            Some(err) => Err(err),
            None => Ok(self.document.clone()),
        }
    }
}

type Fetcher = TranscriptFetcher<MemoryStore, FakeSecrets, FakeSource>;

fn fetcher(secrets: FakeSecrets, source: FakeSource) -> Fetcher {
    TranscriptFetcher::new(config(), MemoryStore::new(), secrets, source)
}

#[tokio::test]
async fn session_ended_stores_the_document_at_the_deterministic_key() {
    let f = fetcher(FakeSecrets::valid(), FakeSource::new());
    let outcome = f.handle(ended_event()).await.unwrap();
    let doc = document();
    assert_eq!(
        outcome,
        Outcome::Stored {
            bucket: BUCKET.into(),
            key: ENDED_KEY.into(),
            bytes: doc.len() as u64,
        }
    );
    assert_eq!(
        serde_json::to_value(&outcome).unwrap(),
        json!({"action": "stored", "bucket": BUCKET, "key": ENDED_KEY, "bytes": doc.len()})
    );
    let s = f.store();
    assert_eq!(s.object(BUCKET, ENDED_KEY), Some(doc));
    assert_eq!(
        s.content_type(BUCKET, ENDED_KEY).as_deref(),
        Some("application/json")
    );
    assert_eq!(
        f.source().calls(),
        vec![(
            "id".to_owned(),
            "test-conversation-id-2".to_owned(),
            "test-communication-id-2".to_owned()
        )]
    );
}

#[tokio::test]
async fn a_redelivered_event_overwrites_the_same_key() {
    let f = fetcher(FakeSecrets::valid(), FakeSource::new());
    let first = f.handle(ended_event()).await.unwrap();
    let second = f.handle(ended_event()).await.unwrap();
    assert_eq!(first, second);
    let s = f.store();
    assert_eq!(s.keys(), vec![(BUCKET.to_owned(), ENDED_KEY.to_owned())]);
    assert_eq!(s.put_count(), 2);
    assert_eq!(s.object(BUCKET, ENDED_KEY), Some(document()));
    // The secret is read once per cold start.
    assert_eq!(f.secrets().reads.load(Ordering::SeqCst), 1);
}

async fn assert_ignored(event: TranscriptionEvent, reason_part: &str) {
    let f = fetcher(FakeSecrets::valid(), FakeSource::new());
    let outcome = f.handle(event).await.unwrap();
    let Outcome::Ignored { reason } = &outcome else {
        panic!("expected ignored, got {outcome:?}");
    };
    assert!(reason.contains(reason_part), "{reason}");
    let json = serde_json::to_value(&outcome).unwrap();
    assert_eq!(json["action"], "ignored");
    assert_eq!(json["reason"], Value::from(reason.clone()));
    assert!(f.store().keys().is_empty());
    assert!(f.source().calls().is_empty());
    assert_eq!(f.secrets().reads.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn ongoing_sessions_are_ignored() {
    assert_ignored(
        fixture_event("genesys_eb_transcription_session_ongoing.json"),
        "SESSION_ONGOING",
    )
    .await;
}

#[tokio::test]
async fn events_without_status_are_ignored() {
    let mut event = ended_event();
    event.detail["eventBody"]
        .as_object_mut()
        .unwrap()
        .remove("status");
    assert_ignored(event, "status is missing").await;
}

#[tokio::test]
async fn events_without_body_or_of_another_type_are_ignored() {
    let mut event = ended_event();
    event.detail = json!({"topicName": "x"});
    assert_ignored(event, "eventBody is missing").await;

    let mut event = ended_event();
    event.detail_type = "v2.users.{id}.presence".into();
    assert_ignored(event, "not a conversation transcription event").await;

    let event: TranscriptionEvent = serde_json::from_value(json!({
        "detail-type": "v2.conversations.{id}.transcription",
        "source": "aws.partner/genesys.com/x",
        "detail": null
    }))
    .unwrap();
    assert_ignored(event, "eventBody is missing").await;
}

#[tokio::test]
async fn not_found_at_the_source_is_retryable() {
    let source = FakeSource::failing_once(PipelineError::retryable(
        "requesting the transcript URL: the transcript is not available yet (HTTP 404)",
    ));
    let f = fetcher(FakeSecrets::valid(), source);
    let err = f.handle(ended_event()).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Retryable);
    assert!(f.store().keys().is_empty());
    // The redelivery succeeds.
    f.handle(ended_event()).await.unwrap();
    assert_eq!(f.store().object(BUCKET, ENDED_KEY), Some(document()));
}

#[tokio::test]
async fn missing_communication_id_is_invalid_input() {
    let mut event = ended_event();
    event.detail["eventBody"]
        .as_object_mut()
        .unwrap()
        .remove("communicationId");
    let f = fetcher(FakeSecrets::valid(), FakeSource::new());
    let err = f.handle(event).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput);
    assert_eq!(err.message, "detail.eventBody.communicationId: missing");
    assert!(f.source().calls().is_empty());
}

#[tokio::test]
async fn unsafe_ids_are_invalid_input() {
    let mut event = ended_event();
    event.detail["eventBody"]["conversationId"] = json!("../../etc");
    let f = fetcher(FakeSecrets::valid(), FakeSource::new());
    let err = f.handle(event).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput);
    assert!(
        err.message.starts_with("detail.eventBody.conversationId:"),
        "{err}"
    );
    assert!(f.store().keys().is_empty());
}

#[tokio::test]
async fn a_secret_without_client_secret_is_misconfigured() {
    let f = fetcher(FakeSecrets::new(r#"{"clientId":"id"}"#), FakeSource::new());
    let err = f.handle(ended_event()).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Misconfigured);
    assert!(err.message.contains("clientSecret"), "{err}");
    assert!(err.message.contains(SECRET_ID), "{err}");
    assert!(f.source().calls().is_empty());
}

#[tokio::test]
async fn rejected_credentials_are_read_again_next_time() {
    let source = FakeSource::failing_once(PipelineError::misconfigured(
        "Genesys rejected the client credentials (HTTP 401)",
    ));
    let f = fetcher(FakeSecrets::valid(), source);
    assert_eq!(
        f.handle(ended_event()).await.unwrap_err().kind,
        ErrorKind::Misconfigured
    );
    f.handle(ended_event()).await.unwrap();
    assert_eq!(f.secrets().reads.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn store_failures_propagate() {
    let f = fetcher(FakeSecrets::valid(), FakeSource::new());
    f.store().fail_puts_with(PipelineError::retryable(
        "writing s3://raw-bucket/x: SlowDown",
    ));
    let err = f.handle(ended_event()).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Retryable);
    assert!(err.message.contains("SlowDown"));
}

#[tokio::test]
async fn the_lines_of_a_fetch_carry_its_ids_in_a_span() {
    let capture = shared::logging::capture::global_json();
    let mut event = ended_event();
    event.detail["eventBody"]["conversationId"] = json!("span-test-conversation");
    let f = fetcher(FakeSecrets::valid(), FakeSource::new());
    f.handle(event).await.unwrap();
    let lines: Vec<Value> = capture
        .text()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("JSON log line"))
        .filter(|l| l["span"]["conversation_id"] == "span-test-conversation")
        .collect();
    let messages: Vec<&str> = lines
        .iter()
        .map(|l| l["fields"]["message"].as_str().unwrap())
        .collect();
    assert_eq!(messages, ["fetching transcript", "transcript stored"]);
    for line in &lines {
        assert_eq!(line["span"]["name"], "transcript");
        assert_eq!(line["span"]["communication_id"], "test-communication-id-2");
    }
}

//! The real Genesys client, and the handler end to end, against the project's Genesys Cloud
//! emulator started in-process on 127.0.0.1.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use genesys_transcript_fetcher::{
    Config, Credentials, GenesysClient, Outcome, SecretSource, TranscriptFetcher, TranscriptSource,
    TranscriptionEvent,
};
use mlpipe_emulator::{genesys, RunningEmulator};
use serde_json::Value;
use shared::store::MemoryStore;
use shared::{ErrorKind, PipelineError};

/// `01-order-status.json`.
const CONV_1: &str = "e88b7591-31db-4e32-98dc-b35f94c662cd";
const COMM_1: &str = "5bd21b6a-ec89-47a6-8a0a-c984f71ab247";
/// `02-card-replacement-pii.json`.
const CONV_2: &str = "780c4b16-a510-49fa-a2b2-bbd1c38dbe31";
const COMM_2: &str = "322b7d97-32b5-4bc3-9f81-475368d0ef1c";

fn events_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../events/genesys")
}

fn sample(name: &str) -> Vec<u8> {
    std::fs::read(events_dir().join("transcripts").join(name)).unwrap()
}

fn credentials() -> Credentials {
    Credentials::new(genesys::DEFAULT_CLIENT_ID, genesys::DEFAULT_CLIENT_SECRET)
}

struct Harness {
    emulator: RunningEmulator,
    admin: reqwest::Client,
}

impl Harness {
    async fn start() -> Self {
        let config = mlpipe_emulator::Config {
            public_url: None,
            genesys: genesys::Config {
                fixtures_dir: Some(events_dir().join("transcripts")),
                ..genesys::Config::default()
            },
        };
        Self {
            emulator: mlpipe_emulator::spawn(config).await.unwrap(),
            admin: reqwest::Client::new(),
        }
    }

    fn base(&self) -> &str {
        self.emulator.base_url()
    }

    fn client(&self) -> GenesysClient {
        GenesysClient::new(self.base(), self.base(), Duration::from_secs(5)).unwrap()
    }

    fn admin_url(&self, path: &str) -> String {
        format!("{}/_emulator/genesys{path}", self.base())
    }

    async fn requests(&self) -> Value {
        let response = self
            .admin
            .get(self.admin_url("/requests"))
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success());
        response.json().await.unwrap()
    }

    async fn admin_post(&self, path_and_query: &str) {
        let response = self
            .admin
            .post(self.admin_url(path_and_query))
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "{path_and_query}: {}",
            response.status()
        );
    }

    async fn put_document(
        &self,
        conversation: &str,
        communication: &str,
        query: &str,
        body: Vec<u8>,
    ) {
        let response = self
            .admin
            .put(self.admin_url(&format!(
                "/conversations/{conversation}/communications/{communication}{query}"
            )))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "PUT document: {}",
            response.status()
        );
    }
}

#[tokio::test]
async fn the_token_is_fetched_once_and_reused() {
    let h = Harness::start().await;
    let client = h.client();
    let first = client
        .fetch_transcript(&credentials(), CONV_1, COMM_1)
        .await
        .unwrap();
    let second = client
        .fetch_transcript(&credentials(), CONV_2, COMM_2)
        .await
        .unwrap();
    assert_eq!(first.as_ref(), sample("01-order-status.json").as_slice());
    assert_eq!(
        second.as_ref(),
        sample("02-card-replacement-pii.json").as_slice()
    );

    let requests = h.requests().await;
    assert_eq!(requests["tokenRequests"], 1, "{requests}");
    assert_eq!(requests["transcriptUrlRequests"], 2, "{requests}");
    assert_eq!(requests["downloads"], 2, "{requests}");
}

#[tokio::test]
async fn an_expired_token_is_replaced_after_a_401() {
    let h = Harness::start().await;
    let client = h.client();
    client
        .fetch_transcript(&credentials(), CONV_1, COMM_1)
        .await
        .unwrap();
    h.admin_post("/tokens/expire").await;
    let body = client
        .fetch_transcript(&credentials(), CONV_1, COMM_1)
        .await
        .unwrap();
    assert_eq!(body.as_ref(), sample("01-order-status.json").as_slice());

    let requests = h.requests().await;
    assert_eq!(requests["tokenRequests"], 2, "{requests}");
    assert_eq!(
        requests["conversations"][CONV_1]["transcriptUrl"],
        serde_json::json!([200, 401, 200]),
        "{requests}"
    );
}

#[tokio::test]
async fn an_unknown_conversation_is_retryable() {
    let h = Harness::start().await;
    let err = h
        .client()
        .fetch_transcript(
            &credentials(),
            "no-such-conversation",
            "no-such-communication",
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Retryable, "{err}");
    assert!(err.message.contains("not available yet"), "{err}");
    assert!(err.message.contains("HTTP 404"), "{err}");
}

#[tokio::test]
async fn a_transcript_that_is_not_ready_is_retryable_until_it_is() {
    let h = Harness::start().await;
    let document = sample("03-appointment-booking.json");
    let (conversation, communication) = (
        "bd8ec9a1-f803-45ed-bd7c-9ec7081ab44d",
        "90f26b82-fe91-4329-9785-7e0831e5554e",
    );
    h.put_document(
        conversation,
        communication,
        "?notReadyFor=1",
        document.clone(),
    )
    .await;
    let client = h.client();
    let err = client
        .fetch_transcript(&credentials(), conversation, communication)
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Retryable, "{err}");
    let body = client
        .fetch_transcript(&credentials(), conversation, communication)
        .await
        .unwrap();
    assert_eq!(body.as_ref(), document.as_slice());
}

#[tokio::test]
async fn wrong_credentials_are_misconfigured() {
    let h = Harness::start().await;
    let err = h
        .client()
        .fetch_transcript(
            &Credentials::new("local-client-id", "wrong"),
            CONV_1,
            COMM_1,
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Misconfigured, "{err}");
    assert!(
        err.message.contains("rejected the client credentials"),
        "{err}"
    );
    assert!(!err.message.contains("wrong"), "the secret leaked: {err}");
}

#[tokio::test]
async fn throttling_is_retryable() {
    let h = Harness::start().await;
    let client = h.client();
    h.admin_post("/throttle?count=1&retryAfter=2").await;
    let err = client
        .fetch_transcript(&credentials(), CONV_1, COMM_1)
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Retryable, "{err}");
    assert!(err.message.contains("HTTP 429"), "{err}");
    assert!(err.message.contains("retry after 2 s"), "{err}");

    h.admin_post("/throttle?count=1&scope=oauth").await;
    let fresh = h.client();
    let err = fresh
        .fetch_transcript(&credentials(), CONV_1, COMM_1)
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Retryable, "{err}");
    assert!(err.message.contains("access token"), "{err}");

    client
        .fetch_transcript(&credentials(), CONV_1, COMM_1)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_closed_port_is_retryable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let client = GenesysClient::new(&base, &base, Duration::from_secs(2)).unwrap();
    let err = client
        .fetch_transcript(&credentials(), CONV_1, COMM_1)
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Retryable, "{err}");
}

/// Serves the emulator's client credentials as the secret JSON, counting reads.
#[derive(Default)]
struct LocalSecret {
    client_secret: Option<&'static str>,
    reads: AtomicUsize,
}

impl SecretSource for LocalSecret {
    async fn secret_string(&self, _secret_id: &str) -> Result<String, PipelineError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        Ok(serde_json::json!({
            "clientId": genesys::DEFAULT_CLIENT_ID,
            "clientSecret": self.client_secret.unwrap_or(genesys::DEFAULT_CLIENT_SECRET),
        })
        .to_string())
    }
}

fn handler(
    h: &Harness,
    secret: LocalSecret,
) -> TranscriptFetcher<MemoryStore, LocalSecret, GenesysClient> {
    let src = [
        ("GENESYS_LOGIN_URL", h.base()),
        ("GENESYS_API_URL", h.base()),
        ("GENESYS_CREDENTIALS_SECRET_ID", "genesys/oauth"),
        ("RAW_BUCKET", "raw"),
        ("RAW_PREFIX", "landing/genesys"),
        ("HTTP_TIMEOUT_MS", "5000"),
    ];
    let config = Config::from_source(&src).unwrap();
    let client = GenesysClient::from_config(&config).unwrap();
    TranscriptFetcher::new(config, MemoryStore::new(), secret, client)
}

fn ended_event() -> TranscriptionEvent {
    let path = events_dir().join("eventbridge/genesys_eb_transcription_session_ended.json");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// The example document, re-labelled with the ids of the SESSION_ENDED fixture event.
fn ended_document() -> Vec<u8> {
    let raw =
        std::fs::read(events_dir().join("fixtures/transcript_document_example.json")).unwrap();
    let mut doc: Value = serde_json::from_slice(&raw).unwrap();
    doc["conversationId"] = "test-conversation-id-2".into();
    doc["communicationId"] = "test-communication-id-2".into();
    serde_json::to_vec_pretty(&doc).unwrap()
}

#[tokio::test]
async fn the_handler_stores_what_the_emulator_serves() {
    let h = Harness::start().await;
    let document = ended_document();
    h.put_document(
        "test-conversation-id-2",
        "test-communication-id-2",
        "",
        document.clone(),
    )
    .await;
    let f = handler(&h, LocalSecret::default());
    let key = "landing/genesys/test-conversation-id-2/test-communication-id-2.json";
    for _ in 0..2 {
        let outcome = f.handle(ended_event()).await.unwrap();
        assert_eq!(
            outcome,
            Outcome::Stored {
                bucket: "raw".into(),
                key: key.into(),
                bytes: document.len() as u64
            }
        );
    }
    assert_eq!(f.store().keys(), vec![("raw".to_owned(), key.to_owned())]);
    assert_eq!(
        f.store().object("raw", key).unwrap().as_ref(),
        document.as_slice()
    );
    assert_eq!(f.secrets().reads.load(Ordering::SeqCst), 1);
    assert_eq!(h.requests().await["tokenRequests"], 1);
}

#[tokio::test]
async fn the_handler_reports_rejected_credentials_and_rereads_the_secret() {
    let h = Harness::start().await;
    h.put_document(
        "test-conversation-id-2",
        "test-communication-id-2",
        "",
        ended_document(),
    )
    .await;
    let f = handler(
        &h,
        LocalSecret {
            client_secret: Some("stale"),
            ..LocalSecret::default()
        },
    );
    for _ in 0..2 {
        let err = f.handle(ended_event()).await.unwrap_err();
        assert_eq!(err.kind, ErrorKind::Misconfigured, "{err}");
    }
    assert_eq!(f.secrets().reads.load(Ordering::SeqCst), 2);
    assert!(f.store().keys().is_empty());
}

//! The real Genesys client against a scripted local server, for answers the emulator cannot be
//! made to give on demand: expired presigned links, server errors, slow answers, odd bodies.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use genesys_transcript_fetcher::{Credentials, GenesysClient, TranscriptSource};
use serde_json::json;
use shared::ErrorKind;

const DOCUMENT: &str = r#"{"conversationId":"c","communicationId":"m","transcripts":[]}"#;

/// Queued statuses per route (200 once the queue is empty) and a log of the calls.
#[derive(Default)]
struct Script {
    base_url: String,
    token_statuses: VecDeque<u16>,
    link_statuses: VecDeque<u16>,
    download_statuses: VecDeque<u16>,
    download_body: Option<&'static str>,
    expires_in: u64,
    delay: Duration,
    tokens_issued: usize,
    links_issued: usize,
    log: Vec<String>,
}

type Shared = Arc<Mutex<Script>>;

async fn token(State(s): State<Shared>, headers: HeaderMap) -> Response {
    let mut s = s.lock().unwrap();
    let basic = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    s.log
        .push(format!("token {}", basic.split(' ').next().unwrap_or("")));
    match s.token_statuses.pop_front() {
        Some(status) => (
            StatusCode::from_u16(status).unwrap(),
            Json(json!({"error": "invalid_client", "description": "client secret is wrong: hunter2"})),
        )
            .into_response(),
        None => {
            s.tokens_issued += 1;
            Json(json!({
                "access_token": format!("tok-{}", s.tokens_issued),
                "token_type": "bearer",
                "expires_in": s.expires_in,
            }))
            .into_response()
        }
    }
}

async fn link(
    State(s): State<Shared>,
    Path((c, m)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let delay = s.lock().unwrap().delay;
    tokio::time::sleep(delay).await;
    let mut s = s.lock().unwrap();
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    s.log.push(format!("link {c}/{m} {auth}"));
    match s.link_statuses.pop_front() {
        Some(status) => {
            let mut response = (
                StatusCode::from_u16(status).unwrap(),
                Json(json!({"message": "Free text that is not quoted", "code": "scripted.error", "status": status})),
            )
                .into_response();
            response
                .headers_mut()
                .insert("inin-correlation-id", "corr-123".parse().unwrap());
            response
        }
        None => {
            s.links_issued += 1;
            Json(json!({"url": format!("{}/download/{}?X-Amz-Signature=sig", s.base_url, s.links_issued)})).into_response()
        }
    }
}

async fn download(State(s): State<Shared>, Path(n): Path<usize>, headers: HeaderMap) -> Response {
    let mut s = s.lock().unwrap();
    let auth = if headers.contains_key("authorization") {
        "auth"
    } else {
        "no-auth"
    };
    s.log.push(format!("download {n} {auth}"));
    match s.download_statuses.pop_front() {
        Some(status) => (
            StatusCode::from_u16(status).unwrap(),
            "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>",
        )
            .into_response(),
        None => s.download_body.unwrap_or(DOCUMENT).into_response(),
    }
}

struct Server {
    script: Shared,
    base_url: String,
    _task: tokio::task::JoinHandle<()>,
}

impl Server {
    async fn start(adjust: impl FnOnce(&mut Script)) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let mut script = Script {
            base_url: base_url.clone(),
            expires_in: 86_400,
            ..Script::default()
        };
        adjust(&mut script);
        let script = Arc::new(Mutex::new(script));
        let app = Router::new()
            .route("/oauth/token", post(token))
            .route(
                "/api/v2/speechandtextanalytics/conversations/{c}/communications/{m}/transcripturl",
                get(link),
            )
            .route("/download/{n}", get(download))
            .with_state(script.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self {
            script,
            base_url,
            _task: task,
        }
    }

    fn client(&self) -> GenesysClient {
        self.client_with_timeout(Duration::from_secs(5))
    }

    fn client_with_timeout(&self, timeout: Duration) -> GenesysClient {
        GenesysClient::new(&self.base_url, &self.base_url, timeout).unwrap()
    }

    fn log(&self) -> Vec<String> {
        self.script.lock().unwrap().log.clone()
    }
}

fn creds() -> Credentials {
    Credentials::new("id", "secret")
}

#[tokio::test]
async fn the_download_carries_no_authorization_and_the_body_is_kept_as_is() {
    let server = Server::start(|_| {}).await;
    let body = server
        .client()
        .fetch_transcript(&creds(), "c", "m")
        .await
        .unwrap();
    assert_eq!(body.as_ref(), DOCUMENT.as_bytes());
    assert_eq!(
        server.log(),
        vec!["token Basic", "link c/m Bearer tok-1", "download 1 no-auth"]
    );
}

#[tokio::test]
async fn an_expired_link_is_requested_again_once() {
    let server = Server::start(|s| s.download_statuses = [403].into()).await;
    let body = server
        .client()
        .fetch_transcript(&creds(), "c", "m")
        .await
        .unwrap();
    assert_eq!(body.as_ref(), DOCUMENT.as_bytes());
    assert_eq!(
        server.log(),
        vec![
            "token Basic",
            "link c/m Bearer tok-1",
            "download 1 no-auth",
            "link c/m Bearer tok-1",
            "download 2 no-auth",
        ]
    );
}

#[tokio::test]
async fn links_refused_twice_are_retryable() {
    let server = Server::start(|s| s.download_statuses = [403, 403].into()).await;
    let err = server
        .client()
        .fetch_transcript(&creds(), "c", "m")
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Retryable, "{err}");
    assert!(!err.message.contains("X-Amz-Signature"), "{err}");
    assert_eq!(server.log().len(), 5);
}

#[tokio::test]
async fn a_second_401_is_misconfigured() {
    let server = Server::start(|s| s.link_statuses = [401, 401].into()).await;
    let err = server
        .client()
        .fetch_transcript(&creds(), "c", "m")
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Misconfigured, "{err}");
    assert_eq!(
        server.log(),
        vec![
            "token Basic",
            "link c/m Bearer tok-1",
            "token Basic",
            "link c/m Bearer tok-2"
        ]
    );
}

#[tokio::test]
async fn api_statuses_are_classified() {
    for (status, kind) in [
        (403, ErrorKind::Misconfigured),
        (404, ErrorKind::Retryable),
        (400, ErrorKind::InvalidInput),
        (429, ErrorKind::Retryable),
        (500, ErrorKind::Retryable),
        (503, ErrorKind::Retryable),
    ] {
        let server = Server::start(|s| s.link_statuses = [status].into()).await;
        let err = server
            .client()
            .fetch_transcript(&creds(), "c", "m")
            .await
            .unwrap_err();
        assert_eq!(err.kind, kind, "{status}: {err}");
        assert!(
            err.message
                .contains(&format!("HTTP {status} scripted.error")),
            "{err}"
        );
        assert!(err.message.contains("correlation id corr-123"), "{err}");
        assert!(!err.message.contains("Free text"), "{err}");
    }
}

#[tokio::test]
async fn token_statuses_are_classified() {
    for (status, kind) in [
        (400, ErrorKind::Misconfigured),
        (401, ErrorKind::Misconfigured),
        (404, ErrorKind::Misconfigured),
        (429, ErrorKind::Retryable),
        (502, ErrorKind::Retryable),
    ] {
        let server = Server::start(|s| s.token_statuses = [status].into()).await;
        let err = server
            .client()
            .fetch_transcript(&creds(), "c", "m")
            .await
            .unwrap_err();
        assert_eq!(err.kind, kind, "{status}: {err}");
        assert!(!err.message.contains("hunter2"), "{err}");
        if status == 401 {
            assert!(
                err.message
                    .contains("Genesys rejected the client credentials"),
                "{err}"
            );
            assert!(err.message.contains("invalid_client"), "{err}");
        }
    }
}

#[tokio::test]
async fn download_statuses_and_bodies_are_classified() {
    let server = Server::start(|s| s.download_statuses = [404].into()).await;
    let err = server
        .client()
        .fetch_transcript(&creds(), "c", "m")
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Retryable, "{err}");

    let server = Server::start(|s| s.download_statuses = [400].into()).await;
    let err = server
        .client()
        .fetch_transcript(&creds(), "c", "m")
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput, "{err}");

    let server = Server::start(|s| s.download_body = Some("[1, 2]")).await;
    let err = server
        .client()
        .fetch_transcript(&creds(), "c", "m")
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput, "{err}");
    assert!(err.message.contains("not a JSON object"), "{err}");
}

#[tokio::test]
async fn slow_answers_time_out_as_retryable() {
    let server = Server::start(|s| s.delay = Duration::from_millis(1500)).await;
    let err = server
        .client_with_timeout(Duration::from_millis(200))
        .fetch_transcript(&creds(), "c", "m")
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Retryable, "{err}");
    assert!(err.message.contains("timed out"), "{err}");
}

#[tokio::test]
async fn short_lived_tokens_are_not_reused() {
    let server = Server::start(|s| s.expires_in = 0).await;
    let client = server.client();
    client.fetch_transcript(&creds(), "c", "m").await.unwrap();
    client.fetch_transcript(&creds(), "c", "m").await.unwrap();
    let tokens = server
        .log()
        .iter()
        .filter(|l| l.starts_with("token"))
        .count();
    assert_eq!(tokens, 2);
}

#[tokio::test]
async fn another_client_id_gets_its_own_token() {
    let server = Server::start(|_| {}).await;
    let client = server.client();
    client.fetch_transcript(&creds(), "c", "m").await.unwrap();
    client.fetch_transcript(&creds(), "c", "m").await.unwrap();
    client
        .fetch_transcript(&Credentials::new("rotated", "s"), "c", "m")
        .await
        .unwrap();
    let tokens = server
        .log()
        .iter()
        .filter(|l| l.starts_with("token"))
        .count();
    assert_eq!(tokens, 2);
}

//! The Genesys Cloud emulator over real HTTP, started in-process on an ephemeral port.

use std::path::{Path, PathBuf};

use mlpipe_emulator::{genesys, Config, RunningEmulator};
use reqwest::{header, Client, StatusCode};
use serde_json::{json, Value};

const CONVERSATION: &str = "conv-1";
const COMMUNICATION: &str = "session-1";
const ORGANIZATION: &str = "00000000-0000-0000-0000-000000000001";

/// A small fixture in the shape of the published example document.
fn fixture_document() -> Value {
    json!({
        "organizationId": ORGANIZATION,
        "conversationId": CONVERSATION,
        "communicationId": COMMUNICATION,
        "mediaType": "call",
        "conversationStartTime": 1_749_243_600_000_u64,
        "transcripts": [{
            "transcriptId": "t1",
            "language": "en-US",
            "phrases": [
                {"phraseIndex": 0, "participantPurpose": "internal", "text": "i'm an ivr",
                 "startTimeMs": 1_749_243_600_000_u64},
                {"phraseIndex": 1, "participantPurpose": "external", "text": "i'm a customer",
                 "startTimeMs": 1_749_243_605_000_u64}
            ]
        }]
    })
}

fn samples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events/genesys/transcripts")
}

struct Harness {
    emulator: RunningEmulator,
    http: Client,
    _fixtures: tempfile::TempDir,
    fixture_bytes: Vec<u8>,
}

impl Harness {
    async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    async fn start_with(adjust: impl FnOnce(&mut Config)) -> Self {
        let fixtures = tempfile::tempdir().unwrap();
        let fixture_bytes = serde_json::to_vec_pretty(&fixture_document()).unwrap();
        std::fs::write(fixtures.path().join("conv-1.json"), &fixture_bytes).unwrap();
        let mut config = Config {
            public_url: None,
            genesys: genesys::Config {
                fixtures_dir: Some(fixtures.path().to_owned()),
                ..genesys::Config::default()
            },
        };
        adjust(&mut config);
        let emulator = mlpipe_emulator::spawn(config).await.unwrap();
        Self {
            emulator,
            http: Client::builder().no_proxy().build().unwrap(),
            _fixtures: fixtures,
            fixture_bytes,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.emulator.base_url())
    }

    async fn token_response(&self, id: &str, secret: &str, grant: &str) -> reqwest::Response {
        self.http
            .post(self.url("/oauth/token"))
            .basic_auth(id, Some(secret))
            .form(&[("grant_type", grant)])
            .send()
            .await
            .unwrap()
    }

    async fn token(&self) -> String {
        let response = self
            .token_response(
                genesys::DEFAULT_CLIENT_ID,
                genesys::DEFAULT_CLIENT_SECRET,
                "client_credentials",
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }

    async fn transcript_url(
        &self,
        conversation: &str,
        communication: &str,
        token: Option<&str>,
    ) -> reqwest::Response {
        let mut request = self.http.get(self.url(&format!(
            "/api/v2/speechandtextanalytics/conversations/{conversation}/communications/{communication}/transcripturl"
        )));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap()
    }

    /// The `url` of a successful transcripturl call.
    async fn link(&self, token: &str) -> String {
        let response = self
            .transcript_url(CONVERSATION, COMMUNICATION, Some(token))
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        body["url"].as_str().unwrap().to_owned()
    }

    async fn admin(&self, method: reqwest::Method, path: &str) -> reqwest::Response {
        self.http
            .request(method, self.url(&format!("/_emulator/genesys{path}")))
            .send()
            .await
            .unwrap()
    }

    async fn admin_json(&self, method: reqwest::Method, path: &str) -> Value {
        let response = self.admin(method, path).await;
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        response.json().await.unwrap()
    }

    async fn put_document(
        &self,
        conversation: &str,
        communication: &str,
        query: &str,
        body: &Value,
    ) -> reqwest::Response {
        self.http
            .put(self.url(&format!(
                "/_emulator/genesys/conversations/{conversation}/communications/{communication}{query}"
            )))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    async fn requests(&self) -> Value {
        self.admin_json(reqwest::Method::GET, "/requests").await
    }
}

fn document_for(conversation: &str, communication: &str) -> Value {
    let mut doc = fixture_document();
    doc["conversationId"] = json!(conversation);
    doc["communicationId"] = json!(communication);
    doc
}

async fn assert_platform_error(response: reqwest::Response, status: StatusCode, code: &str) {
    assert_eq!(response.status(), status);
    let correlation = response
        .headers()
        .get("inin-correlation-id")
        .expect("correlation header")
        .to_str()
        .unwrap()
        .to_owned();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], status.as_u16());
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert_eq!(body["contextId"], correlation.as_str());
    assert_eq!(body["details"], json!([]));
    assert_eq!(body["errors"], json!([]));
}

async fn s3_error_code(response: reqwest::Response) -> (StatusCode, String) {
    let status = response.status();
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "application/xml",
        "S3 errors are XML"
    );
    (status, response.text().await.unwrap())
}

// ---------------------------------------------------------------- OAuth

#[tokio::test]
async fn token_is_granted_for_the_configured_client() {
    let h = Harness::start().await;
    let response = h
        .token_response(
            "local-client-id",
            "local-client-secret",
            "client_credentials",
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 86_400);
    assert!(body["access_token"].as_str().unwrap().len() >= 32);
    assert_ne!(h.token().await, body["access_token"].as_str().unwrap());
}

#[tokio::test]
async fn token_honours_configured_credentials_and_ttl() {
    let h = Harness::start_with(|c| {
        c.genesys.client_id = "other-id".into();
        c.genesys.client_secret = "other-secret".into();
        c.genesys.token_ttl_secs = 3600;
    })
    .await;
    let response = h
        .token_response("other-id", "other-secret", "client_credentials")
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["expires_in"], 3600);
    let defaults = h
        .token_response(
            "local-client-id",
            "local-client-secret",
            "client_credentials",
        )
        .await;
    assert_eq!(defaults.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn bad_or_missing_client_credentials_are_invalid_client() {
    let h = Harness::start().await;
    for (id, secret) in [
        ("local-client-id", "wrong"),
        ("unknown", "local-client-secret"),
    ] {
        let response = h.token_response(id, secret, "client_credentials").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(response.headers().contains_key(header::WWW_AUTHENTICATE));
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "invalid_client");
        assert!(body["description"].as_str().is_some());
    }

    // Genesys takes client credentials only from HTTP Basic, not from the body.
    let response = h
        .http
        .post(h.url("/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "local-client-id"),
            ("client_secret", "local-client-secret"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");

    assert_eq!(h.requests().await["tokensIssued"], 0);
    assert_eq!(h.requests().await["tokenRequests"], 3);
}

#[tokio::test]
async fn other_grants_and_malformed_bodies_are_rejected() {
    let h = Harness::start().await;
    let response = h
        .token_response("local-client-id", "local-client-secret", "password")
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "unsupported_grant_type");

    let response = h
        .http
        .post(h.url("/oauth/token"))
        .basic_auth("local-client-id", Some("local-client-secret"))
        .form(&[("scope", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");

    let response = h
        .http
        .post(h.url("/oauth/token"))
        .basic_auth("local-client-id", Some("local-client-secret"))
        .json(&json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
}

#[tokio::test]
async fn tokens_expire_after_their_lifetime() {
    let h = Harness::start_with(|c| c.genesys.token_ttl_secs = 120).await;
    let token = h.token().await;
    assert_eq!(
        h.transcript_url(CONVERSATION, COMMUNICATION, Some(&token))
            .await
            .status(),
        StatusCode::OK
    );
    h.admin_json(reqwest::Method::POST, "/clock/advance?seconds=119")
        .await;
    assert_eq!(
        h.transcript_url(CONVERSATION, COMMUNICATION, Some(&token))
            .await
            .status(),
        StatusCode::OK
    );
    h.admin_json(reqwest::Method::POST, "/clock/advance?seconds=2")
        .await;
    assert_platform_error(
        h.transcript_url(CONVERSATION, COMMUNICATION, Some(&token))
            .await,
        StatusCode::UNAUTHORIZED,
        "bad.credentials",
    )
    .await;
    let fresh = h.token().await;
    assert_eq!(
        h.transcript_url(CONVERSATION, COMMUNICATION, Some(&fresh))
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn admin_can_expire_every_token() {
    let h = Harness::start().await;
    let first = h.token().await;
    let second = h.token().await;
    let body = h.admin_json(reqwest::Method::POST, "/tokens/expire").await;
    assert_eq!(body["expired"], 2);
    for token in [first, second] {
        assert_platform_error(
            h.transcript_url(CONVERSATION, COMMUNICATION, Some(&token))
                .await,
            StatusCode::UNAUTHORIZED,
            "bad.credentials",
        )
        .await;
    }
}

// ---------------------------------------------------------------- transcripturl

#[tokio::test]
async fn transcript_url_requires_a_bearer_token() {
    let h = Harness::start().await;
    assert_platform_error(
        h.transcript_url(CONVERSATION, COMMUNICATION, None).await,
        StatusCode::UNAUTHORIZED,
        "authentication.required",
    )
    .await;
    assert_platform_error(
        h.transcript_url(CONVERSATION, COMMUNICATION, Some("not-a-token"))
            .await,
        StatusCode::UNAUTHORIZED,
        "bad.credentials",
    )
    .await;
    // Basic credentials are not a bearer token.
    let response = h
        .http
        .get(h.url(&format!(
            "/api/v2/speechandtextanalytics/conversations/{CONVERSATION}/communications/{COMMUNICATION}/transcripturl"
        )))
        .basic_auth("local-client-id", Some("local-client-secret"))
        .send()
        .await
        .unwrap();
    assert_platform_error(
        response,
        StatusCode::UNAUTHORIZED,
        "authentication.required",
    )
    .await;
}

#[tokio::test]
async fn unknown_transcripts_are_not_found() {
    let h = Harness::start().await;
    let token = h.token().await;
    assert_platform_error(
        h.transcript_url("no-such-conversation", COMMUNICATION, Some(&token))
            .await,
        StatusCode::NOT_FOUND,
        "not.found",
    )
    .await;
    assert_platform_error(
        h.transcript_url(CONVERSATION, "no-such-communication", Some(&token))
            .await,
        StatusCode::NOT_FOUND,
        "not.found",
    )
    .await;
}

#[tokio::test]
async fn transcript_url_links_to_the_document() {
    let h = Harness::start().await;
    let token = h.token().await;
    let link = h.link(&token).await;

    let prefix = format!(
        "{}/transcriptsCache/{ORGANIZATION}/{CONVERSATION}/{COMMUNICATION}-transcripts?",
        h.emulator.base_url()
    );
    assert!(link.starts_with(&prefix), "{link}");
    for param in [
        "X-Amz-Algorithm=AWS4-HMAC-SHA256",
        "X-Amz-Expires=600",
        "X-Amz-SignedHeaders=host",
        "X-Amz-Date=",
        "X-Amz-Credential=",
        "X-Amz-Signature=",
    ] {
        assert!(link.contains(param), "{param} missing from {link}");
    }

    // The link works without any Authorization header, like a presigned S3 URL.
    let response = h.http.get(&link).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
    assert_eq!(response.bytes().await.unwrap().as_ref(), h.fixture_bytes);

    let head = h.http.head(&link).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::OK);

    let log = h.requests().await;
    assert_eq!(log["downloads"], 2);
    assert_eq!(
        log["conversations"][CONVERSATION]["transcriptUrl"],
        json!([200])
    );
}

#[tokio::test]
async fn url_lifetime_and_public_url_are_configurable() {
    let h = Harness::start_with(|c| {
        c.genesys.url_ttl_secs = 30;
        c.public_url = Some("http://emulator.test:9999/".into());
    })
    .await;
    let token = h.token().await;
    let link = h.link(&token).await;
    assert!(
        link.starts_with("http://emulator.test:9999/transcriptsCache/"),
        "{link}"
    );
    assert!(link.contains("X-Amz-Expires=30&"), "{link}");
}

#[tokio::test]
async fn links_expire() {
    let h = Harness::start().await;
    let token = h.token().await;
    let link = h.link(&token).await;
    // X-Amz-Date has whole seconds, so stay a second clear of the boundary either way.
    h.admin_json(reqwest::Method::POST, "/clock/advance?seconds=598")
        .await;
    assert_eq!(
        h.http.get(&link).send().await.unwrap().status(),
        StatusCode::OK
    );
    h.admin_json(reqwest::Method::POST, "/clock/advance?seconds=3")
        .await;
    let (status, body) = s3_error_code(h.http.get(&link).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("<Code>AccessDenied</Code>"), "{body}");
    assert!(
        body.contains("<Message>Request has expired</Message>"),
        "{body}"
    );
    assert!(
        body.contains("<X-Amz-Expires>600</X-Amz-Expires>"),
        "{body}"
    );

    // A fresh call hands out a fresh link.
    let fresh = h.link(&token).await;
    assert_eq!(
        h.http.get(&fresh).send().await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(
        h.requests().await["conversations"][CONVERSATION]["downloads"],
        json!([200, 403, 200])
    );
}

#[tokio::test]
async fn tampered_links_are_refused() {
    let h = Harness::start().await;
    let token = h.token().await;
    let link = h.link(&token).await;

    let longer = link.replace("X-Amz-Expires=600", "X-Amz-Expires=604800");
    let (status, body) = s3_error_code(h.http.get(&longer).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        body.contains("<Code>SignatureDoesNotMatch</Code>"),
        "{body}"
    );

    let (base, signature) = link.split_once("X-Amz-Signature=").unwrap();
    let flipped = if signature.starts_with('0') { "1" } else { "0" };
    let forged = format!("{base}X-Amz-Signature={flipped}{}", &signature[1..]);
    let (status, body) = s3_error_code(h.http.get(&forged).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("SignatureDoesNotMatch"), "{body}");

    // The signature covers the path: it cannot be reused for another conversation.
    h.put_document(
        "conv-2",
        COMMUNICATION,
        "",
        &document_for("conv-2", COMMUNICATION),
    )
    .await;
    let other = link.replace("/conv-1/", "/conv-2/");
    let (status, _) = s3_error_code(h.http.get(&other).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (unsigned, _) = link.split_once('?').unwrap();
    let (status, body) = s3_error_code(h.http.get(unsigned).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("<Code>AccessDenied</Code>"), "{body}");
}

#[tokio::test]
async fn deleted_documents_are_no_such_key_for_outstanding_links() {
    let h = Harness::start().await;
    let token = h.token().await;
    let link = h.link(&token).await;
    let response = h
        .admin(
            reqwest::Method::DELETE,
            &format!("/conversations/{CONVERSATION}/communications/{COMMUNICATION}"),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let (status, body) = s3_error_code(h.http.get(&link).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("<Code>NoSuchKey</Code>"), "{body}");
    assert_platform_error(
        h.transcript_url(CONVERSATION, COMMUNICATION, Some(&token))
            .await,
        StatusCode::NOT_FOUND,
        "not.found",
    )
    .await;
    let again = h
        .admin(
            reqwest::Method::DELETE,
            &format!("/conversations/{CONVERSATION}/communications/{COMMUNICATION}"),
        )
        .await;
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
}

// ---------------------------------------------------------------- availability and rate limits

#[tokio::test]
async fn not_ready_counts_down_then_serves() {
    let h = Harness::start().await;
    let doc = document_for("conv-late", "comm-late");
    let response = h
        .put_document("conv-late", "comm-late", "?notReadyFor=2", &doc)
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let view: Value = response.json().await.unwrap();
    assert_eq!(view["notReadyRemaining"], 2);

    let token = h.token().await;
    for _ in 0..2 {
        assert_platform_error(
            h.transcript_url("conv-late", "comm-late", Some(&token))
                .await,
            StatusCode::NOT_FOUND,
            "not.found",
        )
        .await;
    }
    let response = h
        .transcript_url("conv-late", "comm-late", Some(&token))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let url: Value = response.json().await.unwrap();
    let served: Value = h
        .http
        .get(url["url"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(served, doc);

    let log = h.requests().await;
    assert_eq!(
        log["conversations"]["conv-late"]["transcriptUrl"],
        json!([404, 404, 200])
    );
    // One token served every call.
    assert_eq!(log["tokensIssued"], 1);
    assert_eq!(log["transcriptUrlRequests"], 3);
    let state = h
        .admin_json(
            reqwest::Method::GET,
            "/conversations/conv-late/communications/comm-late",
        )
        .await;
    assert_eq!(state["notReadyRemaining"], 0);
    assert_eq!(state["source"], "admin");
}

#[tokio::test]
async fn gone_transcripts_stay_not_found() {
    let h = Harness::start().await;
    let response = h
        .put_document(
            CONVERSATION,
            COMMUNICATION,
            "?gone=true",
            &fixture_document(),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK, "replacing a fixture");
    let token = h.token().await;
    for _ in 0..3 {
        assert_platform_error(
            h.transcript_url(CONVERSATION, COMMUNICATION, Some(&token))
                .await,
            StatusCode::NOT_FOUND,
            "not.found",
        )
        .await;
    }
}

#[tokio::test]
async fn throttle_answers_429_with_retry_after() {
    let h = Harness::start().await;
    let token = h.token().await;
    let body = h
        .admin_json(reqwest::Method::POST, "/throttle?count=2&retryAfter=7")
        .await;
    assert_eq!(body["remaining"], 2);
    for _ in 0..2 {
        let response = h
            .transcript_url(CONVERSATION, COMMUNICATION, Some(&token))
            .await;
        assert_eq!(response.headers()[header::RETRY_AFTER], "7");
        assert_platform_error(response, StatusCode::TOO_MANY_REQUESTS, "too.many.requests").await;
    }
    // The token endpoint is not throttled by the default (api) scope.
    let _ = h.token().await;
    assert_eq!(
        h.transcript_url(CONVERSATION, COMMUNICATION, Some(&token))
            .await
            .status(),
        StatusCode::OK
    );
    let log = h.requests().await;
    assert_eq!(log["throttled"], 2);
    assert_eq!(
        log["conversations"][CONVERSATION]["transcriptUrl"],
        json!([429, 429, 200])
    );
}

#[tokio::test]
async fn throttle_can_target_the_token_endpoint() {
    let h = Harness::start().await;
    h.admin_json(reqwest::Method::POST, "/throttle?count=1&scope=oauth")
        .await;
    let response = h
        .token_response(
            "local-client-id",
            "local-client-secret",
            "client_credentials",
        )
        .await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()[header::RETRY_AFTER], "1");
    let token = h.token().await;
    assert_eq!(
        h.transcript_url(CONVERSATION, COMMUNICATION, Some(&token))
            .await
            .status(),
        StatusCode::OK
    );
    let bad = h
        .admin(reqwest::Method::POST, "/throttle?count=1&scope=nowhere")
        .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
}

// ---------------------------------------------------------------- admin

#[tokio::test]
async fn admin_validates_registered_documents() {
    let h = Harness::start().await;
    let mismatched = h
        .put_document("conv-a", "comm-a", "", &document_for("conv-b", "comm-a"))
        .await;
    assert_eq!(mismatched.status(), StatusCode::BAD_REQUEST);
    let body: Value = mismatched.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("conversationId"));

    let not_json = h
        .http
        .put(h.url("/_emulator/genesys/conversations/c/communications/m"))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), StatusCode::BAD_REQUEST);

    let bad_query = h
        .put_document("c", "m", "?notReadyFor=soon", &document_for("c", "m"))
        .await;
    assert_eq!(bad_query.status(), StatusCode::BAD_REQUEST);

    // A document without ids is served for the path it was registered under.
    let anonymous = json!({"transcripts": []});
    let response = h.put_document("c", "m", "", &anonymous).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let view: Value = response.json().await.unwrap();
    assert_eq!(
        view["organizationId"],
        "00000000-0000-0000-0000-000000000000"
    );
}

#[tokio::test]
async fn reset_restores_the_fixtures() {
    let h = Harness::start().await;
    let token = h.token().await;
    h.put_document("conv-x", "comm-x", "", &document_for("conv-x", "comm-x"))
        .await;
    h.put_document(
        CONVERSATION,
        COMMUNICATION,
        "?gone=true",
        &fixture_document(),
    )
    .await;
    h.admin_json(reqwest::Method::POST, "/throttle?count=5")
        .await;
    h.admin_json(reqwest::Method::POST, "/clock/advance?seconds=1000")
        .await;

    let body = h.admin_json(reqwest::Method::POST, "/reset").await;
    assert_eq!(body["documents"], 1);
    let listed = h.admin_json(reqwest::Method::GET, "/conversations").await;
    let documents = listed["documents"].as_array().unwrap();
    assert_eq!(documents.len(), 1);
    assert_eq!(documents[0]["conversationId"], CONVERSATION);
    assert_eq!(documents[0]["source"], "fixture");
    assert_eq!(documents[0]["gone"], false);
    assert_eq!(h.requests().await["log"], json!([]));

    // Tokens are gone too; a new one works and nothing is throttled.
    assert_eq!(
        h.transcript_url(CONVERSATION, COMMUNICATION, Some(&token))
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let fresh = h.token().await;
    assert_eq!(
        h.transcript_url(CONVERSATION, COMMUNICATION, Some(&fresh))
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn request_log_records_calls_without_queries() {
    let h = Harness::start().await;
    let token = h.token().await;
    let link = h.link(&token).await;
    h.http.get(&link).send().await.unwrap();
    let log = h.requests().await;
    let entries = log["log"].as_array().unwrap();
    let kinds: Vec<&str> = entries
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["token", "transcriptUrl", "download"]);
    assert_eq!(entries[1]["conversationId"], CONVERSATION);
    assert_eq!(entries[1]["communicationId"], COMMUNICATION);
    assert_eq!(entries[2]["status"], 200);
    for entry in entries {
        assert!(!entry["path"].as_str().unwrap().contains('?'));
        assert!(entry["at"].as_str().is_some());
    }
}

#[tokio::test]
async fn unknown_routes_are_json_404() {
    let h = Harness::start().await;
    let response = h.http.get(h.url("/nope")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], 404);
}

// ---------------------------------------------------------------- fixtures

#[tokio::test]
async fn sample_documents_are_loaded_and_served() {
    let emulator = mlpipe_emulator::spawn(Config {
        public_url: None,
        genesys: genesys::Config {
            fixtures_dir: Some(samples_dir()),
            ..genesys::Config::default()
        },
    })
    .await
    .unwrap();
    let http = Client::builder().no_proxy().build().unwrap();
    let base = emulator.base_url().to_owned();

    let listed: Value = http
        .get(format!("{base}/_emulator/genesys/conversations"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let documents = listed["documents"].as_array().unwrap();
    assert_eq!(documents.len(), 4, "{listed}");

    let token: Value = http
        .post(format!("{base}/oauth/token"))
        .basic_auth("local-client-id", Some("local-client-secret"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["access_token"].as_str().unwrap();

    for entry in documents {
        let conversation = entry["conversationId"].as_str().unwrap();
        let communication = entry["communicationId"].as_str().unwrap();
        let file = entry["fixture"].as_str().unwrap();
        let url: Value = http
            .get(format!(
                "{base}/api/v2/speechandtextanalytics/conversations/{conversation}/communications/{communication}/transcripturl"
            ))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let url = url["url"].as_str().unwrap();
        assert!(url.contains(entry["organizationId"].as_str().unwrap()));
        let served = http.get(url).send().await.unwrap().bytes().await.unwrap();
        assert_eq!(served.as_ref(), std::fs::read(file).unwrap(), "{file}");
    }
    emulator.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_broken_fixture_fails_start_up_with_its_name() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("broken.json"), "{").unwrap();
    let err = mlpipe_emulator::spawn(Config {
        public_url: None,
        genesys: genesys::Config {
            fixtures_dir: Some(dir.path().to_owned()),
            ..genesys::Config::default()
        },
    })
    .await
    .unwrap_err();
    assert!(format!("{err:#}").contains("broken.json"), "{err:#}");

    let missing = mlpipe_emulator::spawn(Config {
        public_url: None,
        genesys: genesys::Config {
            fixtures_dir: Some(dir.path().join("does-not-exist")),
            ..genesys::Config::default()
        },
    })
    .await;
    assert!(missing.is_err());
}

//! The Genesys Cloud calls: OAuth client credentials, the Speech and Text Analytics
//! `transcripturl` API and the download of the presigned link it returns.
//!
//! [`GenesysClient`] caches its access token across warm invocations until 60 seconds before it
//! expires (or half its lifetime, when that is shorter). How answers map to [`ErrorKind`]:
//!
//! | call | answer | result |
//! |---|---|---|
//! | `POST {login}/oauth/token` | 400, 401 | `Misconfigured`: Genesys rejected the client credentials |
//! | | other 4xx (wrong login URL, ...) | `Misconfigured` |
//! | `GET {api}/.../transcripturl` | 401 | cached token dropped, new token, one more try; 401 again: `Misconfigured` |
//! | | 403 | `Misconfigured` (the OAuth client's role lacks a permission) |
//! | | 404 | `Retryable`: transcript not available yet (or archived) |
//! | | other 4xx | `InvalidInput` |
//! | presigned download | 403 (link expired) | one fresh `transcripturl`, then `Retryable` |
//! | | 404 | `Retryable` |
//! | | other 4xx, body not a JSON object | `InvalidInput` |
//! | any | 408, 429, 5xx, time-out, connection failure | `Retryable` |
//!
//! Messages carry ids, status codes, Genesys error codes and correlation ids; never tokens,
//! secrets, presigned query strings or document content.

use std::fmt;
use std::future::Future;
use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::{StatusCode, Url};
use serde::de::IgnoredAny;
use serde::Deserialize;
use shared::{ErrorKind, PipelineError};
use tokio::sync::Mutex;

use crate::config::Config;
use crate::secrets::Credentials;

/// How long before its expiry a cached token is replaced.
pub const TOKEN_REFRESH_MARGIN: Duration = Duration::from_secs(60);

/// Lifetime assumed when the token answer has no `expires_in`.
const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(300);

/// Longest lifetime trusted from `expires_in` (Genesys allows at most 48 hours).
const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(2 * 86_400);

/// Response header with the id Genesys support asks for.
const CORRELATION_HEADER: &str = "inin-correlation-id";

/// Fetches raw transcript documents.
pub trait TranscriptSource: Send + Sync {
    /// The transcript document of one communication, as the bytes Genesys serves (a JSON object).
    fn fetch_transcript(
        &self,
        credentials: &Credentials,
        conversation_id: &str,
        communication_id: &str,
    ) -> impl Future<Output = Result<Bytes, PipelineError>> + Send;
}

/// [`TranscriptSource`] on the Genesys Cloud platform API.
pub struct GenesysClient {
    http: reqwest::Client,
    token_url: Url,
    api_url: Url,
    token: Mutex<Option<CachedToken>>,
}

struct CachedToken {
    client_id: String,
    access_token: String,
    refresh_at: Instant,
}

impl fmt::Debug for GenesysClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GenesysClient")
            .field("token_url", &self.token_url.as_str())
            .field("api_url", &self.api_url.as_str())
            .finish_non_exhaustive()
    }
}

/// Outcome of one `transcripturl` call.
enum LinkAnswer {
    Url(String),
    Unauthorized,
}

/// Outcome of one presigned download.
enum Download {
    Document(Bytes),
    LinkExpired,
}

impl GenesysClient {
    /// A client for `config`'s URLs with its HTTP timeout.
    pub fn from_config(config: &Config) -> Result<Self, PipelineError> {
        Self::new(&config.login_url, &config.api_url, config.http_timeout)
    }

    /// A client for the given login and API base URLs; `timeout` bounds each whole request.
    pub fn new(login_url: &str, api_url: &str, timeout: Duration) -> Result<Self, PipelineError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .user_agent(concat!(
                "mlpipe-",
                env!("CARGO_PKG_NAME"),
                "/",
                env!("CARGO_PKG_VERSION")
            ))
            .build()
            .map_err(|e| {
                PipelineError::misconfigured(format!(
                    "building the HTTP client: {}",
                    error_chain(&e)
                ))
            })?;
        Self::with_http_client(http, login_url, api_url)
    }

    /// A client on a prepared `reqwest::Client` (its timeouts apply).
    pub fn with_http_client(
        http: reqwest::Client,
        login_url: &str,
        api_url: &str,
    ) -> Result<Self, PipelineError> {
        let token_url = join(login_url, &["oauth", "token"])?;
        let api_url = parse_base(api_url)?;
        Ok(Self {
            http,
            token_url,
            api_url,
            token: Mutex::new(None),
        })
    }

    /// A valid access token for `credentials`, from the cache when possible.
    async fn access_token(&self, credentials: &Credentials) -> Result<String, PipelineError> {
        let mut cache = self.token.lock().await;
        if let Some(token) = cache.as_ref() {
            if token.client_id == credentials.client_id && Instant::now() < token.refresh_at {
                return Ok(token.access_token.clone());
            }
        }
        let fresh = self.request_token(credentials).await?;
        let access_token = fresh.access_token.clone();
        *cache = Some(fresh);
        Ok(access_token)
    }

    /// Drops `rejected` from the cache (unless another call already replaced it).
    async fn forget_token(&self, rejected: &str) {
        let mut cache = self.token.lock().await;
        if cache.as_ref().is_some_and(|t| t.access_token == rejected) {
            *cache = None;
        }
    }

    async fn request_token(&self, credentials: &Credentials) -> Result<CachedToken, PipelineError> {
        const WHAT: &str = "requesting a Genesys access token";
        let response = self
            .http
            .post(self.token_url.clone())
            .basic_auth(&credentials.client_id, Some(&credentials.client_secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .map_err(|e| transport(WHAT, e))?;
        let status = response.status();
        if !status.is_success() {
            let detail = failure_detail(response, "error").await;
            let message = match status.as_u16() {
                400 | 401 => format!("{WHAT}: Genesys rejected the client credentials ({detail})"),
                _ => format!("{WHAT}: {detail}"),
            };
            // Nothing in the event can make the token request fail: any 4xx but 408/429 is
            // a settings problem (credentials, login URL).
            let kind = match status.as_u16() {
                400..=499 if !matches!(status.as_u16(), 408 | 429) => ErrorKind::Misconfigured,
                _ => status_kind(status),
            };
            return Err(PipelineError::new(kind, message));
        }

        #[derive(Deserialize)]
        struct TokenAnswer {
            access_token: String,
            #[serde(default)]
            expires_in: Option<u64>,
        }
        let body = response.bytes().await.map_err(|e| transport(WHAT, e))?;
        let answer: TokenAnswer = serde_json::from_slice(&body).map_err(|_| {
            PipelineError::retryable(format!("{WHAT}: the answer has no access_token"))
        })?;
        if answer.access_token.is_empty() {
            return Err(PipelineError::retryable(format!(
                "{WHAT}: the access_token is empty"
            )));
        }
        let lifetime = answer
            .expires_in
            .map_or(DEFAULT_TOKEN_LIFETIME, Duration::from_secs)
            .min(MAX_TOKEN_LIFETIME);
        let margin = TOKEN_REFRESH_MARGIN.min(lifetime / 2);
        tracing::info!(
            expires_in_s = lifetime.as_secs(),
            "obtained a Genesys access token"
        );
        Ok(CachedToken {
            client_id: credentials.client_id.clone(),
            access_token: answer.access_token,
            refresh_at: Instant::now() + lifetime - margin,
        })
    }

    /// The presigned transcript link, renewing the access token once if Genesys rejects it.
    async fn transcript_link(
        &self,
        credentials: &Credentials,
        conversation_id: &str,
        communication_id: &str,
    ) -> Result<String, PipelineError> {
        let token = self.access_token(credentials).await?;
        match self
            .request_link(&token, conversation_id, communication_id)
            .await?
        {
            LinkAnswer::Url(url) => return Ok(url),
            LinkAnswer::Unauthorized => {
                tracing::warn!("Genesys rejected the cached access token; requesting a new one");
                self.forget_token(&token).await;
            }
        }
        let token = self.access_token(credentials).await?;
        match self
            .request_link(&token, conversation_id, communication_id)
            .await?
        {
            LinkAnswer::Url(url) => Ok(url),
            LinkAnswer::Unauthorized => {
                self.forget_token(&token).await;
                Err(PipelineError::misconfigured(format!(
                    "{}: Genesys rejected a freshly issued access token (HTTP 401)",
                    link_what(conversation_id, communication_id)
                )))
            }
        }
    }

    async fn request_link(
        &self,
        token: &str,
        conversation_id: &str,
        communication_id: &str,
    ) -> Result<LinkAnswer, PipelineError> {
        let what = link_what(conversation_id, communication_id);
        let url = join(
            self.api_url.as_str(),
            &[
                "api",
                "v2",
                "speechandtextanalytics",
                "conversations",
                conversation_id,
                "communications",
                communication_id,
                "transcripturl",
            ],
        )?;
        let response = self
            .http
            .get(url)
            .bearer_auth(token)
            .send()
            .await
            .map_err(|e| transport(&what, e))?;
        let status = response.status();
        if status == StatusCode::UNAUTHORIZED {
            return Ok(LinkAnswer::Unauthorized);
        }
        if !status.is_success() {
            let detail = failure_detail(response, "code").await;
            let message = match status.as_u16() {
                403 => format!(
                    "{what}: the OAuth client is not allowed to read transcripts ({detail})"
                ),
                404 => format!(
                    "{what}: the transcript is not available yet, or was archived ({detail})"
                ),
                _ => format!("{what}: {detail}"),
            };
            return Err(PipelineError::new(status_kind(status), message));
        }

        #[derive(Deserialize)]
        struct LinkBody {
            url: String,
        }
        let body = response.bytes().await.map_err(|e| transport(&what, e))?;
        let link: LinkBody = serde_json::from_slice(&body)
            .map_err(|_| PipelineError::retryable(format!("{what}: the answer has no url")))?;
        Ok(LinkAnswer::Url(link.url))
    }

    /// Downloads a presigned link, without credentials of ours.
    async fn download(
        &self,
        link: &str,
        conversation_id: &str,
        communication_id: &str,
    ) -> Result<Download, PipelineError> {
        let what = format!("downloading the transcript of conversation {conversation_id} communication {communication_id}");
        let url = Url::parse(link)
            .ok()
            .filter(|u| matches!(u.scheme(), "https" | "http"))
            .ok_or_else(|| {
                PipelineError::retryable(format!(
                    "{what}: Genesys returned an invalid transcript URL"
                ))
            })?;
        let response = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| transport(&what, e))?;
        let status = response.status();
        if status == StatusCode::FORBIDDEN {
            return Ok(Download::LinkExpired);
        }
        if !status.is_success() {
            let detail = failure_detail(response, "").await;
            let message = match status.as_u16() {
                404 => format!("{what}: the document is not available yet ({detail})"),
                _ => format!("{what}: {detail}"),
            };
            return Err(PipelineError::new(status_kind(status), message));
        }
        let body = response.bytes().await.map_err(|e| transport(&what, e))?;
        check_json_object(&body)
            .map_err(|reason| PipelineError::invalid_input(format!("{what}: {reason}")))?;
        Ok(Download::Document(body))
    }
}

impl TranscriptSource for GenesysClient {
    async fn fetch_transcript(
        &self,
        credentials: &Credentials,
        conversation_id: &str,
        communication_id: &str,
    ) -> Result<Bytes, PipelineError> {
        let link = self
            .transcript_link(credentials, conversation_id, communication_id)
            .await?;
        if let Download::Document(body) = self
            .download(&link, conversation_id, communication_id)
            .await?
        {
            return Ok(body);
        }
        tracing::warn!(
            "the transcript link was refused (HTTP 403, probably expired); requesting a new one"
        );
        let link = self
            .transcript_link(credentials, conversation_id, communication_id)
            .await?;
        match self.download(&link, conversation_id, communication_id).await? {
            Download::Document(body) => Ok(body),
            Download::LinkExpired => Err(PipelineError::retryable(format!(
                "downloading the transcript of conversation {conversation_id} communication {communication_id}: \
                 two fresh transcript links were refused (HTTP 403)"
            ))),
        }
    }
}

fn link_what(conversation_id: &str, communication_id: &str) -> String {
    format!("requesting the transcript URL of conversation {conversation_id} communication {communication_id}")
}

/// The kind of a non-success status (401/403 handled by the callers where they differ).
fn status_kind(status: StatusCode) -> ErrorKind {
    match status.as_u16() {
        404 | 408 | 429 | 500..=599 => ErrorKind::Retryable,
        401 | 403 => ErrorKind::Misconfigured,
        400..=499 => ErrorKind::InvalidInput,
        _ => ErrorKind::Retryable,
    }
}

/// `HTTP 404 not.found, correlation id ...`, from the status, the JSON body's `code_field` and
/// the correlation header. Reads at most the error body, never quotes free text.
async fn failure_detail(response: reqwest::Response, code_field: &str) -> String {
    let status = response.status().as_u16();
    let mut detail = format!("HTTP {status}");
    let correlation = response
        .headers()
        .get(CORRELATION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if !code_field.is_empty() {
        if let Ok(body) = response.bytes().await {
            let code = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v.get(code_field)?.as_str().map(str::to_owned));
            if let Some(code) = code.filter(|c| is_code(c)) {
                detail.push(' ');
                detail.push_str(&code);
            }
        }
    }
    if let Some(id) = correlation.filter(|c| is_code(c)) {
        detail.push_str(&format!(", correlation id {id}"));
    }
    if let Some(secs) = retry_after.filter(|c| is_code(c)) {
        detail.push_str(&format!(", retry after {secs} s"));
    }
    detail
}

/// A short machine-readable token (error code, id), safe to put in a message.
fn is_code(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 100
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':'))
}

/// Classifies a transport failure; the URL (which may carry a presigned query) is dropped.
fn transport(what: &str, err: reqwest::Error) -> PipelineError {
    let err = err.without_url();
    if err.is_builder() {
        return PipelineError::misconfigured(format!("{what}: {}", error_chain(&err)));
    }
    let detail = if err.is_timeout() {
        "timed out".to_owned()
    } else {
        error_chain(&err)
    };
    PipelineError::retryable(format!("{what}: {detail}"))
}

fn error_chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        out.push_str(": ");
        out.push_str(&e.to_string());
        source = e.source();
    }
    out
}

/// Checks that `body` is one syntactically valid JSON object, without building it.
pub fn check_json_object(body: &[u8]) -> Result<(), &'static str> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => serde_json::from_slice::<IgnoredAny>(body)
            .map(|_| ())
            .map_err(|_| "the document is not valid JSON"),
        Some(_) => Err("the document is not a JSON object"),
        None => Err("the document is empty"),
    }
}

fn parse_base(base: &str) -> Result<Url, PipelineError> {
    Url::parse(base)
        .ok()
        .filter(|u| matches!(u.scheme(), "https" | "http") && !u.cannot_be_a_base())
        .ok_or_else(|| PipelineError::misconfigured(format!("invalid Genesys base URL {base:?}")))
}

/// `base` with `segments` appended, each percent-encoded as one path segment.
fn join(base: &str, segments: &[&str]) -> Result<Url, PipelineError> {
    let mut url = parse_base(base)?;
    url.path_segments_mut()
        .map_err(|()| PipelineError::misconfigured(format!("invalid Genesys base URL {base:?}")))?
        .pop_if_empty()
        .extend(segments);
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_classified() {
        let kind = |s: u16| status_kind(StatusCode::from_u16(s).unwrap());
        assert_eq!(kind(404), ErrorKind::Retryable);
        assert_eq!(kind(429), ErrorKind::Retryable);
        assert_eq!(kind(503), ErrorKind::Retryable);
        assert_eq!(kind(408), ErrorKind::Retryable);
        assert_eq!(kind(403), ErrorKind::Misconfigured);
        assert_eq!(kind(400), ErrorKind::InvalidInput);
        assert_eq!(kind(410), ErrorKind::InvalidInput);
    }

    #[test]
    fn urls_join_with_encoded_segments() {
        let u = join("https://api.mypurecloud.com/", &["api", "v2", "a b/c"]).unwrap();
        assert_eq!(u.as_str(), "https://api.mypurecloud.com/api/v2/a%20b%2Fc");
        let u = join("http://127.0.0.1:4568/prefix", &["oauth", "token"]).unwrap();
        assert_eq!(u.as_str(), "http://127.0.0.1:4568/prefix/oauth/token");
        assert!(join("ftp://x", &["a"]).is_err());
        assert!(join("not a url", &["a"]).is_err());
    }

    #[test]
    fn documents_must_be_json_objects() {
        assert!(check_json_object(b" \n{\"a\": [1, 2]}").is_ok());
        assert!(check_json_object(b"\xEF\xBB\xBF{}").is_ok());
        assert_eq!(
            check_json_object(b"[1]"),
            Err("the document is not a JSON object")
        );
        assert_eq!(
            check_json_object(b"<Error/>"),
            Err("the document is not a JSON object")
        );
        assert_eq!(check_json_object(b"  "), Err("the document is empty"));
        assert_eq!(
            check_json_object(b"{\"a\": "),
            Err("the document is not valid JSON")
        );
    }

    #[test]
    fn codes_are_filtered() {
        assert!(is_code("bad.credentials"));
        assert!(is_code("6a2e4c1f-0000-4000-8000-000000000000"));
        assert!(!is_code("Request has expired"));
        assert!(!is_code(""));
    }
}

//! The Genesys Cloud calls: OAuth client credentials, the Speech and Text Analytics
//! `transcripturl` API and the download of the presigned link it returns.
//!
//! [`GenesysClient`] caches its access token across warm invocations until 60 seconds before it
//! expires (or half its lifetime, when that is shorter). How answers map to
//! [`ErrorKind`](shared::ErrorKind) (the pure classification is [`genesys_lex_core::api`]):
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
use std::time::{Duration, Instant};

use bytes::Bytes;
use genesys_lex_core::api::{self, check_json_object, status_kind};
use genesys_lex_core::credentials::Credentials;
use reqwest::{StatusCode, Url};
use serde::Deserialize;
use shared::PipelineError;
use tokio::sync::Mutex;

use crate::config::Config;
use crate::TranscriptSource;

mod http;

use http::{error_chain, failure_detail, join, parse_base, transport};

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
            let kind = api::token_failure_kind(status.as_u16());
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
        let lifetime = api::token_lifetime(answer.expires_in);
        tracing::info!(
            expires_in_s = lifetime.as_secs(),
            "obtained a Genesys access token"
        );
        Ok(CachedToken {
            client_id: credentials.client_id.clone(),
            access_token: answer.access_token,
            refresh_at: Instant::now() + api::refresh_after(lifetime),
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
            return Err(PipelineError::new(status_kind(status.as_u16()), message));
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
            return Err(PipelineError::new(status_kind(status.as_u16()), message));
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

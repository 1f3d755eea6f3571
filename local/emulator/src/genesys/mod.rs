//! Genesys Cloud: the OAuth client-credentials grant and the Speech and Text Analytics transcript
//! URL API, as the transcript fetcher uses them.
//!
//! In production the login host (`https://login.{env}`) and the API host (`https://api.{env}`)
//! differ; here one server answers both paths, so a client is configured with the emulator's base
//! URL for both. Transcript documents are handed out through presigned-looking links on this same
//! server that expire like the real S3 links do.
//!
//! | route | mirrors |
//! |---|---|
//! | `POST /oauth/token` | [`oauth::token`] |
//! | `GET /api/v2/speechandtextanalytics/conversations/{c}/communications/{m}/transcripturl` | [`api::transcript_url`] |
//! | `GET /transcriptsCache/{org}/{c}/{m}-transcripts?X-Amz-...` | [`presign::download`] |
//! | `/_emulator/genesys/...` | test and demo controls, see [`admin`] |

pub mod activity;
pub mod admin;
pub mod api;
pub mod oauth;
pub mod presign;
pub mod store;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use axum::routing::{get, post};
use axum::Router;

use crate::clock::Clock;
use activity::Activity;
use store::{DocKey, Document};

/// Default OAuth client id of the emulated org.
pub const DEFAULT_CLIENT_ID: &str = "local-client-id";
/// Default OAuth client secret of the emulated org.
pub const DEFAULT_CLIENT_SECRET: &str = "local-client-secret";
/// Lifetime of an access token; Genesys Cloud's default for client-credentials clients is one day.
pub const DEFAULT_TOKEN_TTL_SECS: u64 = 86_400;
/// Lifetime of a transcript URL; Genesys documents 10 minutes.
pub const DEFAULT_URL_TTL_SECS: u64 = 600;
/// Longest presigned-URL lifetime S3 accepts (7 days).
pub const MAX_URL_TTL_SECS: u64 = 604_800;

/// Settings of the Genesys Cloud emulator.
#[derive(Debug, Clone)]
pub struct Config {
    /// Directory whose `*.json` transcript documents are served from the start (and restored by
    /// the admin reset). `None`: start empty.
    pub fixtures_dir: Option<PathBuf>,
    /// The one OAuth client the emulated org knows.
    pub client_id: String,
    /// That client's secret.
    pub client_secret: String,
    /// Access-token lifetime in seconds, returned as `expires_in`.
    pub token_ttl_secs: u64,
    /// Transcript-URL lifetime in seconds (`X-Amz-Expires`).
    pub url_ttl_secs: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            fixtures_dir: None,
            client_id: DEFAULT_CLIENT_ID.to_owned(),
            client_secret: DEFAULT_CLIENT_SECRET.to_owned(),
            token_ttl_secs: DEFAULT_TOKEN_TTL_SECS,
            url_ttl_secs: DEFAULT_URL_TTL_SECS,
        }
    }
}

/// Where the sample documents shipped with the project live, if they can be found: first
/// `events/genesys/transcripts` under the current directory, then the same folder in the source
/// tree this binary was built from.
pub fn default_fixtures_dir() -> Option<PathBuf> {
    let relative = Path::new("events").join("genesys").join("transcripts");
    let source_tree = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(&relative);
    [relative, source_tree].into_iter().find(|dir| dir.is_dir())
}

/// Shared state of the Genesys Cloud emulator; cheap to clone.
#[derive(Clone)]
pub struct GenesysService {
    shared: Arc<Shared>,
}

struct Shared {
    config: Config,
    /// Base URL of this server, for the transcript links.
    public_url: String,
    /// Key of the HMAC that signs transcript links; random per process.
    signing_key: [u8; 32],
    inner: Mutex<Inner>,
}

/// Mutable state, behind one lock (requests are short and never await while holding it).
pub(crate) struct Inner {
    pub(crate) clock: Clock,
    /// Documents loaded at start, restored by reset.
    pub(crate) fixtures: BTreeMap<DocKey, Document>,
    /// Documents currently served.
    pub(crate) documents: BTreeMap<DocKey, Document>,
    /// Issued access tokens and when each expires.
    pub(crate) tokens: HashMap<String, SystemTime>,
    pub(crate) throttle: Throttle,
    pub(crate) activity: Activity,
}

impl GenesysService {
    /// Validates `config`, loads its fixtures and prepares a service reachable at `public_url`.
    pub fn new(config: Config, public_url: &str) -> anyhow::Result<Self> {
        anyhow::ensure!(
            config.token_ttl_secs >= 1,
            "the token lifetime must be at least 1 second"
        );
        anyhow::ensure!(
            (1..=MAX_URL_TTL_SECS).contains(&config.url_ttl_secs),
            "the transcript URL lifetime must be 1..={MAX_URL_TTL_SECS} seconds, as S3 requires"
        );
        let fixtures = match &config.fixtures_dir {
            Some(dir) => store::load_fixtures(dir)?,
            None => BTreeMap::new(),
        };
        if let Some(dir) = &config.fixtures_dir {
            tracing::info!(
                documents = fixtures.len(),
                dir = %dir.display(),
                "Genesys transcript fixtures loaded"
            );
        }
        let inner = Inner {
            clock: Clock::default(),
            documents: fixtures.clone(),
            fixtures,
            tokens: HashMap::new(),
            throttle: Throttle::default(),
            activity: Activity::default(),
        };
        Ok(Self {
            shared: Arc::new(Shared {
                config,
                public_url: public_url.trim_end_matches('/').to_owned(),
                signing_key: crate::ids::random_bytes(),
                inner: Mutex::new(inner),
            }),
        })
    }

    /// The settings this service runs with.
    pub fn config(&self) -> &Config {
        &self.shared.config
    }

    pub(crate) fn public_url(&self) -> &str {
        &self.shared.public_url
    }

    pub(crate) fn signing_key(&self) -> &[u8] {
        &self.shared.signing_key
    }

    /// Locks the mutable state. A panic in another request cannot leave it half-updated in a way
    /// that matters for an emulator, so a poisoned lock is simply taken over.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.shared
            .inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Inner {
    /// Adds a call and its answer to the request log, stamped with the emulated time.
    pub(crate) fn record(
        &mut self,
        call: &activity::CallTarget<'_>,
        status: axum::http::StatusCode,
    ) {
        let at = self.clock.now_utc();
        self.activity.record(at, call, status.as_u16());
    }

    /// Back to the state right after start: fixtures only, no tokens, no injected failures, an
    /// empty request log and the clock back in step with the wall clock.
    pub(crate) fn reset(&mut self) {
        self.clock = Clock::default();
        self.documents = self.fixtures.clone();
        self.tokens.clear();
        self.throttle = Throttle::default();
        self.activity = Activity::default();
    }
}

/// Which calls an injected rate limit applies to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ThrottleScope {
    /// `/api/v2/...` calls (the API host).
    #[default]
    Api,
    /// `POST /oauth/token` (the login host).
    Oauth,
    /// Both.
    All,
}

/// A pending rate-limit injection: the next `remaining` matching calls answer 429.
#[derive(Debug, Default)]
pub(crate) struct Throttle {
    pub(crate) remaining: u32,
    pub(crate) retry_after_secs: u64,
    pub(crate) scope: ThrottleScope,
}

impl Throttle {
    /// Consumes one injected 429 if it applies to a call on `scope`'s host, returning the
    /// `Retry-After` seconds to send.
    pub(crate) fn take(&mut self, call: ThrottleScope) -> Option<u64> {
        let applies = self.scope == ThrottleScope::All || self.scope == call;
        if self.remaining == 0 || !applies {
            return None;
        }
        self.remaining -= 1;
        Some(self.retry_after_secs)
    }
}

/// The Genesys routes, with the admin API nested under `/_emulator/genesys`.
pub fn router(service: GenesysService) -> Router {
    Router::new()
        .route("/oauth/token", post(oauth::token))
        .route(
            "/api/v2/speechandtextanalytics/conversations/{conversation_id}/communications/{communication_id}/transcripturl",
            get(api::transcript_url),
        )
        .route(
            "/transcriptsCache/{organization_id}/{conversation_id}/{object}",
            get(presign::download),
        )
        .nest("/_emulator/genesys", admin::router())
        .with_state(service)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttle_counts_down_only_for_its_scope() {
        let mut t = Throttle {
            remaining: 2,
            retry_after_secs: 3,
            scope: ThrottleScope::Api,
        };
        assert_eq!(t.take(ThrottleScope::Oauth), None);
        assert_eq!(t.take(ThrottleScope::Api), Some(3));
        assert_eq!(t.take(ThrottleScope::Api), Some(3));
        assert_eq!(t.take(ThrottleScope::Api), None);
    }

    #[test]
    fn throttle_all_applies_to_both_hosts() {
        let mut t = Throttle {
            remaining: 2,
            retry_after_secs: 1,
            scope: ThrottleScope::All,
        };
        assert!(t.take(ThrottleScope::Oauth).is_some());
        assert!(t.take(ThrottleScope::Api).is_some());
        assert!(t.take(ThrottleScope::Api).is_none());
    }

    #[test]
    fn rejects_url_ttl_beyond_s3_limit() {
        let config = Config {
            url_ttl_secs: MAX_URL_TTL_SECS + 1,
            ..Config::default()
        };
        assert!(GenesysService::new(config, "http://127.0.0.1:1").is_err());
    }
}

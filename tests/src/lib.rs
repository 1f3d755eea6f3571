//! Helpers for the end-to-end tests and demos that run against the local cloud
//! (`scripts/localcloud.sh up`: moto + front door on 127.0.0.1:4566, the event relay, the
//! emulator on 4568 and the functions run by the front door), deployed from template.yaml; every
//! name comes from the deployed stack ([`stack`]).
//!
//! * [`LocalCloud`]: connects (and says clearly how to start the local cloud when it is not
//!   there), holds the SDK clients and an HTTP client for the emulator.
//! * [`poll::eventually`]: waits for a condition with a deadline and a useful message.
//! * [`s3`], [`sqs`], [`events`]: small, reusable operations (objects, queues, DLQ records,
//!   queue drain, PutEvents).
//! * [`genesys`]: the Genesys -> Lex pipeline: resource names, the emulator's admin API,
//!   EventBridge events built from the fixture, sample transcripts with fresh ids.
//! * [`lex`]: the Lex automated chatbot designer output contract.
//!
//! Further pipelines (images via Step Functions, Segment -> Personalize) add a module beside
//! [`genesys`] and reuse the rest.
//!
//! Safety: the tests write and delete objects and messages, so [`LocalCloud::connect`] refuses an
//! `AWS_ENDPOINT_URL` that is not a loopback address.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use aws_config::{BehaviorVersion, Region, SdkConfig};

pub mod events;
pub mod genesys;
pub mod images;
pub mod lambda;
pub mod lex;
pub mod poll;
pub mod s3;
pub mod segment;
pub mod sqs;
pub mod stack;

pub use poll::eventually;
pub use stack::stack;

/// Where the local cloud's front door listens unless `AWS_ENDPOINT_URL` says otherwise.
pub const DEFAULT_ENDPOINT: &str = "http://127.0.0.1:4566";
/// Where the emulator listens unless `LOCALCLOUD_EMULATOR_URL` says otherwise.
pub const DEFAULT_EMULATOR_URL: &str = "http://127.0.0.1:4568";
/// The region of the local stack.
pub const REGION: &str = "us-east-1";

/// What to tell someone whose local cloud is not running.
pub const START_HINT: &str =
    "start it with `scripts/localcloud.sh up` (then `source <(scripts/localcloud.sh env)`), \
     or run everything with `scripts/test.sh`";
/// Where to look when the pipeline does not produce what a test waits for.
pub const LOGS_HINT: &str = "see `scripts/localcloud.sh status` and the logs in .localcloud/ \
     (functions.log: the functions' own output; relay.log: deliveries, retries, on-failure records; \
     emulator.log: Genesys calls)";

/// The repository root (the workspace directory).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lives in the workspace root")
        .to_path_buf()
}

/// The `mlpipe` binary of this build: beside the directory of the test binaries (`deps/`).
/// `scripts/test.sh` builds it before the integration tests run.
pub fn mlpipe_bin() -> Result<PathBuf> {
    let exe = std::env::current_exe().context("where this test binary is")?;
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .context("the test binary is not in <target>/<profile>/deps")?;
    let bin = dir.join(format!("mlpipe{}", std::env::consts::EXE_SUFFIX));
    if !bin.is_file() {
        bail!(
            "{} is missing: build it with `cargo build -p mlpipe --bin mlpipe` (scripts/test.sh does)",
            bin.display()
        );
    }
    Ok(bin)
}

/// How long a test waits for the pipeline to produce something: `INTEGRATION_TIMEOUT_SECS`,
/// default 60 s (a function's first invocation may have to start its process).
pub fn pipeline_timeout() -> Duration {
    let secs = std::env::var("INTEGRATION_TIMEOUT_SECS")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|s| *s > 0)
        .unwrap_or(60);
    Duration::from_secs(secs)
}

/// A fresh random UUID (version 4), as Genesys uses for conversation and communication ids.
pub fn uuid_v4() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Parses `bytes` (the object or message named `what`) as JSON; the error quotes its start.
pub fn json(bytes: &[u8], what: &str) -> Result<serde_json::Value> {
    serde_json::from_slice(bytes).with_context(|| {
        format!(
            "{what} is not JSON: {}",
            String::from_utf8_lossy(&bytes[..bytes.len().min(300)])
        )
    })
}

/// The running local cloud: SDK clients pointed at the front door, and the emulator.
#[derive(Clone)]
pub struct LocalCloud {
    /// The AWS endpoint (the front door).
    pub endpoint: String,
    /// The emulator's base URL.
    pub emulator_url: String,
    pub config: SdkConfig,
    pub s3: aws_sdk_s3::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub events: aws_sdk_eventbridge::Client,
    /// For the emulator's admin API and other plain HTTP.
    pub http: reqwest::Client,
}

impl fmt::Debug for LocalCloud {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalCloud")
            .field("endpoint", &self.endpoint)
            .field("emulator_url", &self.emulator_url)
            .finish_non_exhaustive()
    }
}

impl LocalCloud {
    /// Connects to the local cloud and checks that it answers: the front door (moto behind it)
    /// and the emulator. Fails with a message saying how to start it otherwise.
    ///
    /// The endpoint comes from the environment that `scripts/localcloud.sh env` exports
    /// (`AWS_ENDPOINT_URL`, test credentials, region; read by `shared::aws::sdk_config`, as the
    /// functions do); without it, `http://127.0.0.1:4566` with the test credentials.
    pub async fn connect() -> Result<Self> {
        let from_env = std::env::var("AWS_ENDPOINT_URL")
            .ok()
            .filter(|v| !v.trim().is_empty());
        let endpoint = from_env
            .clone()
            .unwrap_or_else(|| DEFAULT_ENDPOINT.to_owned());
        let endpoint = endpoint.trim_end_matches('/').to_owned();
        if !is_loopback_url(&endpoint) {
            bail!(
                "refusing to run against AWS_ENDPOINT_URL={endpoint}: these tests write and delete \
                 objects and messages, and only run against the local cloud on 127.0.0.1 \
                 ({START_HINT})"
            );
        }
        let emulator_url = std::env::var("LOCALCLOUD_EMULATOR_URL")
            .ok()
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_EMULATOR_URL.to_owned())
            .trim_end_matches('/')
            .to_owned();

        let config = match from_env {
            Some(_) => shared::aws::sdk_config().await,
            None => {
                aws_config::defaults(BehaviorVersion::latest())
                    .endpoint_url(&endpoint)
                    .region(Region::new(REGION))
                    .credentials_provider(aws_sdk_s3::config::Credentials::new(
                        "test",
                        "test",
                        None,
                        None,
                        "localcloud",
                    ))
                    .load()
                    .await
            }
        };
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&config)
                // moto on 127.0.0.1 has no per-bucket host names.
                .force_path_style(true)
                .build(),
        );
        let sqs = aws_sdk_sqs::Client::new(&config);
        let events = aws_sdk_eventbridge::Client::new(&config);
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .context("building the HTTP client")?;

        let cloud = Self {
            endpoint,
            emulator_url,
            config,
            s3,
            sqs,
            events,
            http,
        };
        cloud.check_reachable().await?;
        Ok(cloud)
    }

    async fn check_reachable(&self) -> Result<()> {
        let probe = format!("{}/moto-api/", self.endpoint);
        if let Err(e) = self
            .http
            .get(&probe)
            .timeout(Duration::from_secs(3))
            .send()
            .await
        {
            bail!(
                "the local cloud is not running: nothing answers at {} ({e}); {START_HINT}",
                self.endpoint
            );
        }
        let probe = format!("{}/_emulator/genesys/conversations", self.emulator_url);
        match self
            .http
            .get(&probe)
            .timeout(Duration::from_secs(3))
            .send()
            .await
        {
            Ok(r) if r.status().is_success() => Ok(()),
            Ok(r) => bail!(
                "the emulator at {} answered {} to {probe}: is it mlpipe-emulator? {START_HINT}",
                self.emulator_url,
                r.status()
            ),
            Err(e) => bail!(
                "the local cloud's emulator is not running: nothing answers at {} ({e}); {START_HINT}",
                self.emulator_url
            ),
        }
    }

    /// Fails unless every bucket exists (the local cloud was bootstrapped).
    pub async fn require_buckets(&self, buckets: &[&str]) -> Result<()> {
        for bucket in buckets {
            if let Err(e) = self.s3.head_bucket().bucket(*bucket).send().await {
                bail!(
                    "bucket {bucket} is missing in the local cloud ({}): the stack was not \
                     deployed; {START_HINT}",
                    aws_sdk_s3::error::DisplayErrorContext(&e)
                );
            }
        }
        Ok(())
    }

    /// Fails unless every queue exists.
    pub async fn require_queues(&self, queues: &[&str]) -> Result<()> {
        for queue in queues {
            sqs::queue_url(&self.sqs, queue)
                .await
                .with_context(|| format!("the local cloud was not bootstrapped; {START_HINT}"))?;
        }
        Ok(())
    }
}

/// Is the URL's host 127.x.x.x, `localhost` or `[::1]`?
pub fn is_loopback_url(url: &str) -> bool {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let authority = authority.rsplit('@').next().unwrap_or_default();
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        authority.split(':').next().unwrap_or_default()
    };
    host.eq_ignore_ascii_case("localhost")
        || host == "::1"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_urls() {
        assert!(is_loopback_url("http://127.0.0.1:4566"));
        assert!(is_loopback_url("http://localhost:4566/"));
        assert!(is_loopback_url("http://[::1]:4566"));
        assert!(is_loopback_url("http://127.1.2.3"));
        assert!(!is_loopback_url("https://s3.us-east-1.amazonaws.com"));
        assert!(!is_loopback_url("http://127.0.0.1.example.com:4566"));
        assert!(!is_loopback_url("http://10.0.0.1:4566"));
    }

    #[test]
    fn uuids_are_v4_and_differ() {
        let a = uuid_v4();
        let b = uuid_v4();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"));
    }
}

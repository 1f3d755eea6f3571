//! Local emulator for the services moto does not provide.
//!
//! One HTTP server, one module per emulated service, each contributing an axum [`Router`] that
//! [`build_app`] merges into the application. Today it serves:
//!
//! - [`genesys`]: the Genesys Cloud OAuth client-credentials grant, the Speech and Text Analytics
//!   `transcripturl` endpoint and the presigned transcript downloads it hands out, plus an admin
//!   API under `/_emulator/genesys` for tests and the demo.
//! - [`bedrock`]: Bedrock Runtime `InvokeModel` for Stability AI Stable Image Inpaint and Remove
//!   Background, and the legacy Titan Image Generator G1 (v1, v2) and Nova Canvas OUTPAINTING
//!   task, validating requests as the service does and answering real images, plus an admin API
//!   under `/_emulator/bedrock`.
//! - [`personalize`]: Amazon Personalize Events (`PutEvents`, `PutUsers`, `PutItems`) and Runtime
//!   (`GetRecommendations`, `GetPersonalizedRanking`), validating requests against AWS's own
//!   service models (botocore's, from the project's `.venv`: see [`botocore`]) and recommending from the events received, plus an admin API under
//!   `/_emulator/personalize`.
//!
//! The server speaks the real wire protocols so production clients run unchanged, pointed at it
//! by endpoint URL. Every request is logged as one structured line (method, path, status,
//! latency); request and response bodies never are.
//!
//! Start it in-process with [`spawn`] (tests) or [`serve`] / [`serve_with_shutdown`] on a
//! listener you bound yourself (the `mlpipe-emulator` binary); the `_with` variants also take
//! [`Options`].
//!
//! # IAM
//!
//! Given an IAM principals file ([`Options::iam`], `--iam-principals`), the emulated AWS
//! services (Bedrock Runtime, Personalize) enforce IAM as AWS does for the local cloud's role
//! sessions: a data-plane request must be SigV4-signed with an access key the file lists
//! (else 403 `UnrecognizedClientException`, or `MissingAuthenticationTokenException` when
//! unsigned), and the principal's identity-based policies must allow the operation on its
//! resources (else 403 `AccessDeniedException` with AWS's message); admin principals may do
//! everything. Signatures are not verified. See [`iam`] for the evaluation and the file. The
//! admin APIs (`/_emulator/...`) and the Genesys emulator (its own OAuth) are never checked.
//! Without a principals file nothing is checked, as before.

mod access;
mod admin;
pub mod bedrock;
pub mod botocore;
pub mod clock;
pub mod genesys;
pub mod iam;
mod ids;
pub mod personalize;
mod rest_json;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use axum::extract::Request;
use axum::http::{Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Configuration of the whole emulator.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Base URL clients use to reach this server (scheme, host and port, no trailing slash),
    /// used in the presigned links it hands out. `None`: derived from the listener's address.
    pub public_url: Option<String>,
    /// Genesys Cloud settings.
    pub genesys: genesys::Config,
}

/// Settings beyond [`Config`], kept apart because a new field there would break the struct
/// literals other crates' tests build it with.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// IAM enforcement for Bedrock Runtime and Personalize (see the crate documentation);
    /// `None`: every request is allowed, signed or not.
    pub iam: Option<Arc<iam::Principals>>,
    /// botocore's data directory, whose Personalize models requests are checked against;
    /// `None`: `MLPIPE_BOTOCORE_DATA`, else the project's `.venv` (see
    /// [`botocore::locate_data`]). Not found: building the application fails, saying to run
    /// `scripts/setup.sh`.
    pub botocore_data: Option<PathBuf>,
}

/// Builds the application router for a server reachable at `public_url`, enforcing no IAM; see
/// [`build_app_with`].
pub fn build_app(config: &Config, public_url: &str) -> anyhow::Result<Router> {
    build_app_with(config, &Options::default(), public_url)
}

/// Builds the application router for a server reachable at `public_url`.
///
/// Loads the fixtures named in `config`, so a bad fixture fails here, before anything listens.
/// Bedrock runs with [`bedrock::Config::default`]: it has no settings yet, and adding a field to
/// [`Config`] would break the struct literals other crates' tests build it with. Personalize
/// likewise starts from [`personalize::Config::default`] (accept any tracking id, dataset or
/// campaign; no seed items); its admin API (`PUT /_emulator/personalize/config`) changes that.
/// Both enforce IAM when `options.iam` is set. Personalize checks requests against botocore's
/// models, found as [`Options::botocore_data`] says: without them this fails.
pub fn build_app_with(
    config: &Config,
    options: &Options,
    public_url: &str,
) -> anyhow::Result<Router> {
    let genesys = genesys::GenesysService::new(config.genesys.clone(), public_url)
        .context("starting the Genesys Cloud emulator")?;
    let bedrock =
        bedrock::BedrockService::with_iam(bedrock::Config::default(), options.iam.clone());
    let models = personalize::Models::locate(options.botocore_data.as_deref())
        .context("loading the Personalize service models")?;
    tracing::info!(
        events = %models.events,
        runtime = %models.runtime,
        "Personalize requests are checked against these service models"
    );
    let personalize = personalize::PersonalizeService::with_iam(
        personalize::Config::default(),
        options.iam.clone(),
        Arc::new(models),
    );
    Ok(Router::new()
        .merge(genesys::router(genesys))
        .merge(bedrock::router(bedrock))
        .merge(personalize::router(personalize))
        .fallback(no_route)
        .layer(middleware::from_fn(log_request)))
}

/// The public URL for a server whose listener is bound to `addr`: `config.public_url` when set,
/// else `http://{addr}`, with an unspecified address (0.0.0.0, ::) replaced by loopback.
pub fn public_url_for(config: &Config, addr: SocketAddr) -> String {
    if let Some(url) = &config.public_url {
        return url.trim_end_matches('/').to_owned();
    }
    let mut addr = addr;
    if addr.ip().is_unspecified() {
        addr.set_ip(if addr.is_ipv4() {
            std::net::Ipv4Addr::LOCALHOST.into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        });
    }
    format!("http://{addr}")
}

/// Serves on `listener` until the process ends.
pub async fn serve(listener: TcpListener, config: Config) -> anyhow::Result<()> {
    serve_with_shutdown(listener, config, std::future::pending()).await
}

/// Serves on `listener` until `shutdown` completes, then drains in-flight requests.
pub async fn serve_with_shutdown(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    serve_with(listener, config, Options::default(), shutdown).await
}

/// [`serve_with_shutdown`] with `options`.
pub async fn serve_with(
    listener: TcpListener,
    config: Config,
    options: Options,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let addr = listener
        .local_addr()
        .context("reading the listener's address")?;
    let public_url = public_url_for(&config, addr);
    let app = build_app_with(&config, &options, &public_url)?;
    tracing::info!(
        listen = %addr,
        public_url = %public_url,
        iam = options.iam.is_some(),
        "emulator listening"
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .context("serving HTTP")
}

/// An emulator running in the background of the current tokio runtime; see [`spawn`].
///
/// Dropping it stops the server.
#[derive(Debug)]
pub struct RunningEmulator {
    addr: SocketAddr,
    base_url: String,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

impl RunningEmulator {
    /// The socket address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Base URL the server is reachable at, e.g. `http://127.0.0.1:40123` (no trailing slash),
    /// whatever `Config::public_url` says.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Stops the server gracefully and waits for it.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match self.task.take() {
            Some(task) => task.await.context("emulator task panicked")?,
            None => Ok(()),
        }
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Starts an emulator on an ephemeral loopback port in the background (for tests).
///
/// Fixture errors are returned here rather than from the background task.
pub async fn spawn(config: Config) -> anyhow::Result<RunningEmulator> {
    spawn_with(config, Options::default()).await
}

/// [`spawn`] with `options` (e.g. IAM enforcement).
pub async fn spawn_with(config: Config, options: Options) -> anyhow::Result<RunningEmulator> {
    let listener = TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0))
        .await
        .context("binding an ephemeral loopback port")?;
    let addr = listener.local_addr()?;
    let base_url = format!("http://{addr}");
    let app = build_app_with(&config, &options, &public_url_for(&config, addr))?;
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await
            .context("serving HTTP")
    });
    Ok(RunningEmulator {
        addr,
        base_url,
        shutdown: Some(tx),
        task: Some(task),
    })
}

/// One structured log line per request: method, path (never the query, which carries
/// signatures), status and latency.
async fn log_request(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16();
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    tracing::info!(
        target: "mlpipe_emulator::access",
        method = %method,
        path = %path,
        status,
        latency_ms = (latency_ms * 1000.0).round() / 1000.0,
        "request"
    );
    response
}

/// Answer for a path no emulated service serves.
async fn no_route(method: Method, uri: Uri) -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({
            "message": format!("the emulator has no route for {method} {}", uri.path()),
            "code": "not.found",
            "status": 404,
        })),
    )
        .into_response()
}

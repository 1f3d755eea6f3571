//! `mlpipe-emulator`: serves the emulated services on one address until interrupted.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Parser, ValueEnum};
use mlpipe_emulator::{genesys, iam, Config, Options};
use tracing_subscriber::EnvFilter;

/// Local emulator for the services moto lacks (Genesys Cloud, Bedrock Runtime, Personalize).
#[derive(Debug, Parser)]
#[command(name = "mlpipe-emulator", version, about)]
struct Cli {
    /// Address to listen on.
    #[arg(long, env = "MLPIPE_EMULATOR_LISTEN", default_value = "127.0.0.1:4568")]
    listen: String,

    /// Base URL clients reach this server at, used in the transcript links it hands out
    /// [default: http://<listen address>].
    #[arg(long, env = "MLPIPE_EMULATOR_PUBLIC_URL")]
    public_url: Option<String>,

    /// Directory of Genesys transcript documents (*.json) to serve
    /// [default: events/genesys/transcripts of the project, if found].
    #[arg(long, env = "MLPIPE_EMULATOR_GENESYS_FIXTURES")]
    genesys_fixtures: Option<PathBuf>,

    /// OAuth client id the emulated Genesys org accepts.
    #[arg(long, env = "MLPIPE_EMULATOR_GENESYS_CLIENT_ID", default_value = genesys::DEFAULT_CLIENT_ID)]
    genesys_client_id: String,

    /// OAuth client secret the emulated Genesys org accepts.
    #[arg(
        long,
        env = "MLPIPE_EMULATOR_GENESYS_CLIENT_SECRET",
        default_value = genesys::DEFAULT_CLIENT_SECRET,
        hide_env_values = true
    )]
    genesys_client_secret: String,

    /// Lifetime of Genesys access tokens, in seconds.
    #[arg(long, env = "MLPIPE_EMULATOR_GENESYS_TOKEN_TTL_SECS", default_value_t = genesys::DEFAULT_TOKEN_TTL_SECS)]
    genesys_token_ttl_secs: u64,

    /// Lifetime of transcript links, in seconds (1..=604800).
    #[arg(long, env = "MLPIPE_EMULATOR_GENESYS_URL_TTL_SECS", default_value_t = genesys::DEFAULT_URL_TTL_SECS)]
    genesys_url_ttl_secs: u64,

    /// IAM principals file (JSON, rewritten by the local cloud as it assumes roles): Bedrock
    /// Runtime and Personalize then answer only requests signed with a listed access key, and
    /// only what its policies allow. Absent: no IAM enforcement. A file that does not exist yet
    /// is read when it appears.
    #[arg(long, env = "EMULATOR_IAM_PRINCIPALS")]
    iam_principals: Option<PathBuf>,

    /// botocore's data directory (or the botocore package, or a folder of
    /// <service>/<version>/service-2.json[.gz]): Personalize requests are checked against its
    /// personalize-events / personalize-runtime models [default: the project's .venv, which
    /// scripts/setup.sh creates].
    #[arg(long, env = "MLPIPE_BOTOCORE_DATA")]
    botocore_data: Option<PathBuf>,

    /// Log line format (filter with RUST_LOG, default info).
    #[arg(long, env = "MLPIPE_EMULATOR_LOG_FORMAT", value_enum, default_value_t = LogFormat::Json)]
    log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    /// One JSON object per line.
    Json,
    /// Human-readable lines.
    Text,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_logging(cli.log_format);

    let fixtures_dir = cli.genesys_fixtures.or_else(|| {
        let found = genesys::default_fixtures_dir();
        if found.is_none() {
            tracing::warn!("no Genesys fixtures directory given or found; serving no transcripts");
        }
        found
    });
    let config = Config {
        public_url: cli.public_url,
        genesys: genesys::Config {
            fixtures_dir,
            client_id: cli.genesys_client_id,
            client_secret: cli.genesys_client_secret,
            token_ttl_secs: cli.genesys_token_ttl_secs,
            url_ttl_secs: cli.genesys_url_ttl_secs,
        },
    };

    let iam = match &cli.iam_principals {
        None => None,
        Some(path) => {
            let principals = iam::Principals::open(path)?;
            tracing::info!(
                path = %path.display(),
                principals = principals.len(),
                "enforcing IAM for Bedrock Runtime and Personalize"
            );
            Some(Arc::new(principals))
        }
    };

    let listener = tokio::net::TcpListener::bind(&cli.listen)
        .await
        .with_context(|| format!("binding {}", cli.listen))?;
    let options = Options {
        iam,
        botocore_data: cli.botocore_data,
    };
    mlpipe_emulator::serve_with(listener, config, options, shutdown_signal()).await
}

fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .init(),
        LogFormat::Text => builder.init(),
    }
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}

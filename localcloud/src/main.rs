//! `localcloud`: the glue that makes moto + `cargo lambda watch` behave like one AWS account.
//!
//! - `frontdoor`: the single endpoint clients use (`AWS_ENDPOINT_URL`); Lambda Invoke goes to
//!   the functions, everything else to moto.
//! - `relay`: event sources (S3 notifications, EventBridge rules, SQS event source mappings)
//!   delivered from moto's queues to the functions with Lambda's semantics.
//! - `bootstrap`: creates the stack's resources in moto.
//!
//! `scripts/localcloud.sh up` starts all of it; see that script for ports and logs.

mod bootstrap;
mod config;
mod fixups;
mod frontdoor;
mod ids;
mod lambda;
mod relay;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

#[derive(Debug, Parser)]
#[command(
    name = "localcloud",
    version,
    about = "Local AWS glue: front door, event relay, bootstrap"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the AWS endpoint: Lambda Invoke -> cargo lambda watch, everything else -> moto.
    Frontdoor {
        /// Address to listen on.
        #[arg(
            long,
            env = "LOCALCLOUD_FRONTDOOR_LISTEN",
            default_value = "127.0.0.1:4566"
        )]
        listen: SocketAddr,
        /// moto's base URL.
        #[arg(
            long,
            env = "LOCALCLOUD_MOTO_URL",
            default_value = "http://127.0.0.1:4567"
        )]
        moto: String,
        /// Base URL of the Lambda Invoke endpoint of `cargo lambda watch`.
        #[arg(
            long,
            env = "LOCALCLOUD_LAMBDA_URL",
            default_value = "http://127.0.0.1:9001"
        )]
        lambda: String,
        /// Longest one invocation may run, in seconds (Lambda's maximum is 900).
        #[arg(long, env = "LOCALCLOUD_INVOKE_TIMEOUT_SECS", default_value_t = 900)]
        invoke_timeout_secs: u64,
        /// Region written into ARNs.
        #[arg(long, env = "AWS_REGION", default_value = "us-east-1")]
        region: String,
        /// Account written into ARNs.
        #[arg(long, default_value = lambda::DEFAULT_ACCOUNT_ID)]
        account: String,
    },
    /// Drain the routed queues into the functions (Lambda async invocation / SQS event source).
    Relay {
        /// The routes file.
        #[arg(long, default_value = "localcloud/routes.json")]
        config: PathBuf,
        /// Where the Lambda Invoke API is [default: $AWS_ENDPOINT_URL, the front door].
        #[arg(long, env = "LOCALCLOUD_INVOKE_ENDPOINT")]
        invoke_endpoint: Option<String>,
    },
    /// Create the stack's local resources in moto (idempotent).
    Bootstrap {
        /// The resources file.
        #[arg(long, default_value = "localcloud/resources.json")]
        resources: PathBuf,
        /// Account that owns partner event sources.
        #[arg(long, default_value = lambda::DEFAULT_ACCOUNT_ID)]
        account: String,
    },
}

/// The endpoint every AWS client here uses unless told otherwise.
const DEFAULT_ENDPOINT: &str = "http://127.0.0.1:4566";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,aws_config=warn,aws_smithy_runtime=warn")),
        )
        .with_target(false)
        .with_writer(std::io::stderr)
        .init();

    match cli.command {
        Command::Frontdoor {
            listen,
            moto,
            lambda,
            invoke_timeout_secs,
            region,
            account,
        } => {
            frontdoor::run(frontdoor::Config {
                listen,
                moto,
                lambda,
                invoke_timeout: Duration::from_secs(invoke_timeout_secs),
                region,
                account,
            })
            .await
        }
        Command::Relay {
            config,
            invoke_endpoint,
        } => {
            let routes: config::Routes = config::load(&config)?;
            let sdk = sdk_config().await;
            let endpoint = invoke_endpoint
                .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok())
                .unwrap_or_else(|| DEFAULT_ENDPOINT.into());
            relay::run(routes, aws_sdk_sqs::Client::new(&sdk), &endpoint).await
        }
        Command::Bootstrap { resources, account } => {
            let resources_path = resources;
            let resources: config::Resources = config::load(&resources_path)?;
            let sdk = sdk_config().await;
            println!(
                "bootstrapping {} at {}",
                resources_summary(&resources),
                sdk.endpoint_url().unwrap_or("(AWS default endpoints)")
            );
            let dir = resources_path_dir(&resources_path);
            bootstrap::run(&resources, &bootstrap::Clients::new(&sdk), &account, &dir).await?;
            println!("bootstrap done");
            Ok(())
        }
    }
}

/// The SDK configuration from the environment (`AWS_ENDPOINT_URL`, `AWS_REGION`, credentials),
/// with the local defaults filled in where the environment says nothing.
async fn sdk_config() -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if std::env::var_os("AWS_ENDPOINT_URL").is_none() {
        loader = loader.endpoint_url(DEFAULT_ENDPOINT);
    }
    if std::env::var_os("AWS_REGION").is_none() && std::env::var_os("AWS_DEFAULT_REGION").is_none()
    {
        loader = loader.region(aws_config::Region::new("us-east-1"));
    }
    if std::env::var_os("AWS_ACCESS_KEY_ID").is_none() {
        loader = loader.credentials_provider(aws_sdk_sqs::config::Credentials::new(
            "test",
            "test",
            None,
            None,
            "localcloud",
        ));
    }
    loader.load().await
}

fn resources_summary(r: &config::Resources) -> String {
    format!(
        "{} queue(s), {} bucket(s), {} event bus(es), {} secret(s), {} table(s), {} topic(s), {} state machine(s)",
        r.queues.len(),
        r.buckets.len(),
        r.event_buses.len(),
        r.secrets.len(),
        r.tables.len(),
        r.topics.len(),
        r.state_machines.len()
    )
}

/// Resolves on Ctrl-C or SIGTERM.
pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
}

/// The directory of `resources.json` (relative paths in it start there).
fn resources_path_dir(path: &std::path::Path) -> std::path::PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    }
}

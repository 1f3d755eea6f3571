//! `localcloud`: one AWS account on 127.0.0.1, made from `template.yaml` itself.
//!
//! - `deploy`: creates the expanded template's resources in moto (IAM roles and policies
//!   included) and writes `.localcloud/stack.json`: outputs, physical ids, functions, routes.
//! - `frontdoor`: the single endpoint clients use (`AWS_ENDPOINT_URL`). It is the Lambda
//!   service: it runs each function's binary under the Runtime API with the function's own
//!   environment and role credentials and checks `lambda:InvokeFunction`; everything else goes
//!   to moto (the Step Functions interpreter's calls signed again with the state machine's role).
//! - `relay`: event sources (S3 notifications, EventBridge rules, SQS event source mappings)
//!   delivered to the functions with Lambda's semantics.
//!
//! `scripts/localcloud.sh up` starts all of it; see that script for ports and logs.

mod bootstrap;
mod config;
mod deploy;
mod fixups;
mod frontdoor;
mod functions;
mod iam_query;
mod ids;
mod lambda;
mod relay;
mod sigv4;
mod stack;
mod template;

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
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
    /// Serve the AWS endpoint: the Lambda service for the deployed stack, moto for the rest.
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
        /// The emulator's base URL.
        #[arg(long, default_value = "http://127.0.0.1:4568")]
        emulator: String,
        /// The deployed stack.
        #[arg(long, default_value = ".localcloud/stack.json")]
        stack: PathBuf,
        /// Where role sessions are recorded for the emulator.
        #[arg(long, default_value = ".localcloud/iam-principals.json")]
        principals: PathBuf,
        /// The directory of the function binaries.
        #[arg(long, default_value = "target/debug")]
        bin_dir: PathBuf,
        /// Where the functions' output goes.
        #[arg(long, default_value = ".localcloud/functions.log")]
        log: PathBuf,
    },
    /// Drain the routed queues into the functions (Lambda async invocation / SQS event source).
    Relay {
        /// The deployed stack (its `routes`).
        #[arg(long, default_value = ".localcloud/stack.json")]
        stack: PathBuf,
        /// Where the Lambda Invoke API is [default: $AWS_ENDPOINT_URL, the front door].
        #[arg(long, env = "LOCALCLOUD_INVOKE_ENDPOINT")]
        invoke_endpoint: Option<String>,
    },
    /// Deploy the expanded template into moto (idempotent) and write the stack file.
    Deploy {
        /// The expanded template (scripts/lib/expand_template.py).
        #[arg(long)]
        template: PathBuf,
        /// Parameter values (JSON object).
        #[arg(long, default_value = "local/localcloud/parameters.json")]
        parameters: PathBuf,
        #[arg(long, default_value = "mlpipe-local")]
        stack_name: String,
        /// Secret values stored after deploying, as LOGICAL_ID=VALUE (the README's
        /// put-secret-value step).
        #[arg(long = "secret-value")]
        secret_values: Vec<String>,
        /// Where to write the deployed stack.
        #[arg(long, default_value = ".localcloud/stack.json")]
        out: PathBuf,
        /// Account of the stack (moto's default account).
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
            emulator,
            stack,
            principals,
            bin_dir,
            log,
        } => {
            frontdoor::run(frontdoor::Config {
                listen,
                moto,
                emulator,
                stack,
                principals,
                bin_dir,
                log,
            })
            .await
        }
        Command::Relay {
            stack,
            invoke_endpoint,
        } => {
            let stack = stack::Stack::load(&stack)?;
            let sdk = sdk_config(Some(&stack.admin)).await;
            let endpoint = invoke_endpoint
                .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok())
                .unwrap_or_else(|| DEFAULT_ENDPOINT.into());
            relay::run(stack.routes, aws_sdk_sqs::Client::new(&sdk), &endpoint).await
        }
        Command::Deploy {
            template,
            parameters,
            stack_name,
            secret_values,
            out,
            account,
        } => {
            let endpoint =
                std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| DEFAULT_ENDPOINT.into());
            let region = std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into());
            let previous = stack::Stack::load(&out).ok().map(|s| s.admin);
            let admin = deploy::admin(&endpoint, &region, previous.as_ref()).await?;
            let sdk = sdk_config(Some(&admin)).await;
            let secret_values = secret_values
                .iter()
                .map(|kv| {
                    kv.split_once('=')
                        .map(|(k, v)| (k.to_owned(), v.to_owned()))
                        .with_context(|| {
                            format!("--secret-value {kv:?}: expected LOGICAL_ID=VALUE")
                        })
                })
                .collect::<anyhow::Result<_>>()?;
            let options = deploy::Options {
                template,
                parameters,
                stack_name,
                region,
                account_id: account,
                root: std::env::current_dir()?,
                secret_values,
                out,
            };
            deploy::run(&options, &sdk, &endpoint, admin)
                .await
                .map(|_| ())
        }
    }
}

/// The SDK configuration from the environment (`AWS_ENDPOINT_URL`, `AWS_REGION`, credentials),
/// with the local defaults filled in where the environment says nothing.
async fn sdk_config(admin: Option<&stack::AdminCredentials>) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if std::env::var_os("AWS_ENDPOINT_URL").is_none() {
        loader = loader.endpoint_url(DEFAULT_ENDPOINT);
    }
    if std::env::var_os("AWS_REGION").is_none() && std::env::var_os("AWS_DEFAULT_REGION").is_none()
    {
        loader = loader.region(aws_config::Region::new("us-east-1"));
    }
    if let Some(admin) = admin {
        loader = loader.credentials_provider(aws_sdk_sqs::config::Credentials::new(
            &admin.access_key_id,
            &admin.secret_access_key,
            None,
            None,
            "localcloud-admin",
        ));
    } else if std::env::var_os("AWS_ACCESS_KEY_ID").is_none() {
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

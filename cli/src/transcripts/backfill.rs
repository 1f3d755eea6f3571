//! `mlpipe transcripts backfill`: starts the deployed (or local) transcript backfill state
//! machine on a prefix of the raw bucket and follows it to its report.
//!
//! The execution is named by the run id, so its objects are under `backfills/<run id>/` in the
//! raw bucket; the input is what the flags say (`{"prefix", "since", "retryFailedOf",
//! "batchSize"}`, each only when given), checked here with the same rules the plan step
//! applies, so a mistake is reported before anything starts.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use aws_sdk_sfn::error::DisplayErrorContext;
use aws_sdk_sfn::types::ExecutionStatus;
use clap::Args;
use genesys_lex_core::backfill::{self, report_json_key, Request};
use serde_json::Value;

#[derive(Debug, Args)]
pub struct BackfillArgs {
    /// Key prefix in the raw bucket to convert, under RawPrefix [default: RawPrefix, everything]
    #[arg(long, value_name = "PREFIX")]
    prefix: Option<String>,

    /// Only conversations with a document written at or after this time: YYYY-MM-DD (UTC) or
    /// an RFC 3339 date-time with offset
    #[arg(long, value_name = "DATE")]
    since: Option<String>,

    /// Convert again only what failed (or did not run) in this earlier run
    #[arg(long, value_name = "RUN_ID", conflicts_with = "since")]
    retry_failed_of: Option<String>,

    /// Conversations per batch (one Lambda invocation), 1 to 100 [default: 20]
    #[arg(long, value_name = "N")]
    batch_size: Option<usize>,

    /// Run id, the execution's name: letters, digits, '.', '_', '-', at most 80
    /// [default: backfill-<UTC time>]
    #[arg(long, value_name = "ID")]
    run_id: Option<String>,

    /// State machine: the stack's output GenesysBackfillStateMachineArn
    /// (`scripts/localcloud.sh env` exports the local stack's)
    #[arg(long, env = "MLPIPE_BACKFILL_STATE_MACHINE_ARN")]
    state_machine_arn: String,

    /// Start the run and return without waiting for it
    #[arg(long)]
    no_wait: bool,

    /// How long to wait for the run, in seconds
    #[arg(long, value_name = "SECONDS", default_value_t = 3600)]
    timeout: u64,
}

impl BackfillArgs {
    /// The execution's input, checked as the plan step checks it.
    fn input(&self) -> anyhow::Result<Request> {
        let request = Request {
            prefix: self.prefix.clone(),
            since: self.since.clone(),
            retry_failed_of: self.retry_failed_of.clone(),
            batch_size: self.batch_size,
        };
        backfill::batch_size(&request).map_err(|e| anyhow::anyhow!("--{}", flag(&e)))?;
        if let Some(since) = &request.since {
            backfill::parse_since(since).map_err(|e| anyhow::anyhow!("--{}", flag(&e)))?;
        }
        if let Some(run) = &request.retry_failed_of {
            backfill::check_run_id("--retry-failed-of", run).map_err(anyhow::Error::msg)?;
        }
        Ok(request)
    }
}

/// `batchSize: ...` -> `batch-size: ...`: the core's messages name the input member.
fn flag(message: &str) -> String {
    let (member, rest) = message.split_once(':').unwrap_or((message, ""));
    let mut name = String::new();
    for c in member.chars() {
        if c.is_ascii_uppercase() {
            name.push('-');
            name.push(c.to_ascii_lowercase());
        } else {
            name.push(c);
        }
    }
    format!("{name}:{rest}")
}

fn default_run_id() -> String {
    let now = time::OffsetDateTime::now_utc();
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    format!(
        "backfill-{}",
        now.format(format)
            .unwrap_or_else(|_| now.unix_timestamp().to_string())
    )
}

pub fn run(args: BackfillArgs) -> anyhow::Result<ExitCode> {
    let input = args.input()?;
    let run_id = args.run_id.clone().unwrap_or_else(default_run_id);
    backfill::check_run_id("--run-id", &run_id).map_err(anyhow::Error::msg)?;
    let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    rt.block_on(async {
        let config = shared::aws::sdk_config().await;
        let sfn = aws_sdk_sfn::Client::new(&config);
        follow(&sfn, &args, &run_id, &input).await
    })
}

async fn follow(
    sfn: &aws_sdk_sfn::Client,
    args: &BackfillArgs,
    run_id: &str,
    input: &Request,
) -> anyhow::Result<ExitCode> {
    let started = sfn
        .start_execution()
        .state_machine_arn(&args.state_machine_arn)
        .name(run_id)
        .input(serde_json::to_string(input)?)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("StartExecution: {}", DisplayErrorContext(&e)))?;
    let execution_arn = started.execution_arn().to_owned();
    eprintln!("started   {execution_arn}");
    if args.no_wait {
        println!("run {run_id} started; its report will be backfills/{run_id}/report.json in the raw bucket");
        return Ok(ExitCode::SUCCESS);
    }
    let deadline = Instant::now() + Duration::from_secs(args.timeout);
    let done = loop {
        let d = sfn
            .describe_execution()
            .execution_arn(&execution_arn)
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("DescribeExecution: {}", DisplayErrorContext(&e)))?;
        if d.status() != &ExecutionStatus::Running {
            break d;
        }
        if Instant::now() >= deadline {
            bail!(
                "run {run_id} did not finish within {} s; it goes on (execution {execution_arn})",
                args.timeout
            );
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    };
    eprintln!("finished  {execution_arn}: {}", done.status().as_str());
    let output: Value = done
        .output()
        .and_then(|o| serde_json::from_str(o).ok())
        .unwrap_or(Value::Null);
    print!(
        "{}",
        summary(run_id, done.status(), &output, done.error(), done.cause())
    );
    let clean = done.status() == &ExecutionStatus::Succeeded
        && output["report"]["failed"].as_u64() == Some(0);
    Ok(if clean {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// What the user reads: the counts and where the report is, or why the run stopped.
fn summary(
    run_id: &str,
    status: &ExecutionStatus,
    output: &Value,
    error: Option<&str>,
    cause: Option<&str>,
) -> String {
    let mut s = String::new();
    let report = &output["report"];
    if report.is_object() {
        s.push_str(&format!(
            "converted: {}  skipped: {}  failed: {}  ({} conversation folders or documents, {} batches)\n",
            report["converted"], report["skipped"], report["failed"], output["conversations"], output["batches"]
        ));
        if let (Some(bucket), Some(keys)) =
            (output["bucket"].as_str(), report["reportKeys"].as_array())
        {
            for key in keys.iter().filter_map(Value::as_str) {
                s.push_str(&format!("report: s3://{bucket}/{key}\n"));
            }
        }
        if report["failed"].as_u64().is_some_and(|n| n > 0) {
            s.push_str(&format!(
                "convert what failed again, once fixed: mlpipe transcripts backfill --retry-failed-of {run_id}\n"
            ));
        }
    } else {
        s.push_str(&format!(
            "run {run_id} {}: {}{}\n",
            status.as_str(),
            error.unwrap_or("no error given"),
            cause.map(|c| format!(" ({c})")).unwrap_or_default()
        ));
        s.push_str(&format!(
            "report (when the map ran): {} in the raw bucket (stack output RawBucketName)\n",
            report_json_key(run_id)
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn args(extra: &[&str]) -> BackfillArgs {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            args: BackfillArgs,
        }
        let mut argv = vec![
            "mlpipe",
            "--state-machine-arn",
            "arn:aws:states:us-east-1:1:stateMachine:x",
        ];
        argv.extend_from_slice(extra);
        Cli::try_parse_from(argv).unwrap().args
    }

    #[test]
    fn the_input_holds_only_what_was_given() {
        let input = args(&["--prefix", "genesys/2026", "--since", "2026-01-01"])
            .input()
            .unwrap();
        assert_eq!(
            serde_json::to_value(&input).unwrap(),
            json!({"prefix": "genesys/2026", "since": "2026-01-01"})
        );
        let input = args(&[]).input().unwrap();
        assert_eq!(serde_json::to_value(&input).unwrap(), json!({}));
    }

    #[test]
    fn mistakes_are_reported_by_flag_before_anything_starts() {
        let err = args(&["--batch-size", "0"]).input().unwrap_err();
        assert_eq!(err.to_string(), "--batch-size: must be 1 to 100");
        let err = args(&["--since", "yesterday"]).input().unwrap_err();
        assert!(
            err.to_string().starts_with("--since: must be a date"),
            "{err}"
        );
        let err = args(&["--retry-failed-of", "a/b"]).input().unwrap_err();
        assert!(
            err.to_string()
                .starts_with("--retry-failed-of: must be 1 to 80"),
            "{err}"
        );
        assert!(default_run_id().starts_with("backfill-20"));
        assert!(backfill::check_run_id("--run-id", &default_run_id()).is_ok());
    }

    #[test]
    fn the_summary_gives_counts_and_the_report_or_the_reason() {
        let output = json!({"bucket": "raw", "conversations": 500, "batches": 25,
            "report": {"converted": 497, "skipped": 0, "failed": 3, "batchesNotRun": 0,
                       "reportKeys": ["backfills/r1/report.json", "backfills/r1/report.csv"]}});
        let text = summary("r1", &ExecutionStatus::Succeeded, &output, None, None);
        assert_eq!(
            text,
            "converted: 497  skipped: 0  failed: 3  (500 conversation folders or documents, 25 batches)\n\
             report: s3://raw/backfills/r1/report.json\nreport: s3://raw/backfills/r1/report.csv\n\
             convert what failed again, once fixed: mlpipe transcripts backfill --retry-failed-of r1\n"
        );
        let text = summary(
            "r2",
            &ExecutionStatus::Failed,
            &Value::Null,
            Some("InvalidInput"),
            Some("input.prefix: not under RAW_PREFIX"),
        );
        assert!(
            text.starts_with("run r2 FAILED: InvalidInput (input.prefix"),
            "{text}"
        );
    }
}

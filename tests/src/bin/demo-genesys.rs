//! The Genesys -> Lex part of `scripts/demo.sh`, against the running local cloud: publishes a
//! SESSION_ENDED event for every sample conversation of events/genesys/transcripts, waits for
//! each outcome (designer file, or skipped with a reason), downloads the results and says where
//! everything is.
//!
//! ```sh
//! scripts/localcloud.sh up && source <(scripts/localcloud.sh env)
//! cargo run -p integration-tests --bin demo-genesys -- [--out DIR] [--timeout SECS]
//! ```
//!
//! Results of earlier runs for the sample conversations are deleted first, so that what is
//! shown was made by this run.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use integration_tests::genesys::{
    failed_keys, fetcher_dlq, output_bucket, raw_bucket, skipped_key, Pipeline, Serve, Transcript,
};
use integration_tests::{eventually, lex, repo_root, s3, sqs};
use serde_json::Value;

struct Args {
    out: PathBuf,
    timeout: Duration,
}

fn parse_args() -> Result<Args> {
    let mut args = Args {
        out: repo_root().join("out/demo/genesys-lex"),
        timeout: Duration::from_secs(120),
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--out" => args.out = PathBuf::from(it.next().context("--out needs a directory")?),
            "--timeout" => {
                let secs: u64 = it
                    .next()
                    .context("--timeout needs seconds")?
                    .parse()
                    .context("--timeout needs a whole number of seconds")?;
                args.timeout = Duration::from_secs(secs);
            }
            "-h" | "--help" => {
                println!(
                    "demo-genesys [--out DIR (default out/demo/genesys-lex)] [--timeout SECS (default 120)]"
                );
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?} (try --help)"),
        }
    }
    Ok(args)
}

/// How one conversation ended up.
enum Outcome {
    Converted { key: String, doc: Value },
    Skipped { key: String, reason: String },
    Failed { key: String, error: String },
    Parked { error: String },
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("demo-genesys: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<bool> {
    let args = parse_args()?;
    let p = Pipeline::connect().await?;
    let samples = Transcript::samples()?;
    let root = repo_root();

    println!(
        "Genesys Cloud -> Lex designer: {} sample conversations",
        samples.len()
    );
    let dlq = sqs::queue_url(p.sqs(), fetcher_dlq()).await?;
    for t in &samples {
        // The emulator serves the samples from its fixtures; this puts back any that were
        // removed or replaced.
        p.emulator.register(t, Serve::default()).await?;
        // Clear what earlier runs left for these conversations.
        let raw = t.raw_key();
        let (copy, error) = failed_keys(&raw);
        s3::delete(
            p.s3(),
            raw_bucket(),
            &[raw.clone(), skipped_key(&raw), copy, error],
        )
        .await?;
        let outputs = p.output_keys(&t.conversation_id).await?;
        s3::delete(p.s3(), output_bucket(), &outputs).await?;
        sqs::find(
            p.sqs(),
            &dlq,
            |r| integration_tests::genesys::mentions_conversation(r, &t.conversation_id),
            true,
        )
        .await?;
    }

    let started = Instant::now();
    for t in &samples {
        let id = p.publish_session_ended(t).await?;
        println!(
            "  published SESSION_ENDED for {} ({}), event {id}",
            t.conversation_id,
            t.label()
        );
    }

    println!(
        "waiting for the pipeline (up to {} s)...",
        args.timeout.as_secs()
    );
    let mut outcomes = Vec::new();
    for t in &samples {
        let outcome = wait_for_outcome(&p, t, args.timeout).await;
        if let Ok(o) = &outcome {
            let what = match o {
                Outcome::Converted { .. } => "converted",
                Outcome::Skipped { .. } => "skipped",
                Outcome::Failed { .. } => "failed",
                Outcome::Parked { .. } => "parked in the dlq()",
            };
            println!(
                "  {} {what} after {:.1} s",
                t.label(),
                started.elapsed().as_secs_f64()
            );
        }
        outcomes.push(outcome);
    }

    if args.out.exists() {
        std::fs::remove_dir_all(&args.out)
            .with_context(|| format!("clearing {}", args.out.display()))?;
    }
    let mut ok = true;
    println!();
    println!(
        "Results (local cloud S3 at {}; downloaded under {}):",
        p.cloud.endpoint,
        shown(&args.out, &root)
    );
    for (t, outcome) in samples.iter().zip(outcomes) {
        println!();
        println!("{} ({})", t.label(), t.conversation_id);
        let raw_dir = args.out.join(raw_bucket());
        for path in s3::download_prefix(
            p.s3(),
            raw_bucket(),
            &format!("genesys/{}/", t.conversation_id),
            &raw_dir,
        )
        .await?
        {
            println!("  raw transcript   {}", s3::uri(raw_bucket(), &t.raw_key()));
            println!("                   {}", shown(&path, &root));
        }
        match outcome {
            Ok(Outcome::Converted { key, doc }) => {
                let path = args.out.join(output_bucket()).join(&key);
                download(&p, output_bucket(), &key, &path).await?;
                let turns = doc["Transcript"].as_array().map_or(0, Vec::len);
                let roles: Vec<&str> = doc["Participants"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|p| p["ParticipantId"].as_str())
                    .collect();
                println!("  designer file    {}", s3::uri(output_bucket(), &key));
                println!("                   {}", shown(&path, &root));
                println!(
                    "                   {turns} turns, participants {}, Output {}",
                    roles.join("+"),
                    doc["ContentMetadata"]["Output"].as_str().unwrap_or("?")
                );
                if !t.is_english_us() {
                    println!(
                        "  UNEXPECTED: a {} conversation was converted",
                        t.languages.join(",")
                    );
                    ok = false;
                }
            }
            Ok(Outcome::Skipped { key, reason }) => {
                let path = args.out.join(raw_bucket()).join(&key);
                download(&p, raw_bucket(), &key, &path).await?;
                println!("  SKIPPED          {reason}");
                println!("  reason file      {}", s3::uri(raw_bucket(), &key));
                println!("                   {}", shown(&path, &root));
                if t.is_english_us() {
                    println!("  UNEXPECTED: an en-US conversation was skipped");
                    ok = false;
                }
            }
            Ok(Outcome::Failed { key, error }) => {
                println!("  FAILED           {error}");
                println!("  error file       {}", s3::uri(raw_bucket(), &key));
                ok = false;
            }
            Ok(Outcome::Parked { error }) => {
                println!(
                    "  FAILED (fetcher on-failure record in {}): {error}",
                    fetcher_dlq()
                );
                ok = false;
            }
            Err(e) => {
                println!("  NO RESULT        {e:#}");
                ok = false;
            }
        }
    }
    println!();
    Ok(ok)
}

async fn download(p: &Pipeline, bucket: &str, key: &str, path: &Path) -> Result<()> {
    let bytes = s3::get(p.s3(), bucket, key)
        .await?
        .with_context(|| format!("{} disappeared", s3::uri(bucket, key)))?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

/// A path relative to the repository root when it is inside it.
fn shown(path: &Path, root: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Waits for whichever comes first: the designer file, the skipped reason, the failed/ error
/// file, or a fetcher on-failure record.
async fn wait_for_outcome(p: &Pipeline, t: &Transcript, timeout: Duration) -> Result<Outcome> {
    let output_key = t.output_key()?;
    let raw = t.raw_key();
    let skipped = skipped_key(&raw);
    let (_, error_key) = failed_keys(&raw);
    let dlq = sqs::queue_url(p.sqs(), fetcher_dlq()).await?;
    eventually(format!("the outcome of {}", t.label()), timeout, || async {
        if let Some(bytes) = s3::get(p.s3(), output_bucket(), &output_key).await? {
            let doc = lex::check_document(&bytes, &t.conversation_id).with_context(|| {
                format!(
                    "{} breaks the contract",
                    s3::uri(output_bucket(), &output_key)
                )
            })?;
            return Ok(Some(Outcome::Converted {
                key: output_key.clone(),
                doc,
            }));
        }
        if let Some(bytes) = s3::get(p.s3(), raw_bucket(), &skipped).await? {
            let v: Value = serde_json::from_slice(&bytes).unwrap_or_default();
            let reason = v["reason"]
                .as_str()
                .unwrap_or("(no reason given)")
                .to_owned();
            return Ok(Some(Outcome::Skipped {
                key: skipped.clone(),
                reason,
            }));
        }
        if let Some(bytes) = s3::get(p.s3(), raw_bucket(), &error_key).await? {
            let v: Value = serde_json::from_slice(&bytes).unwrap_or_default();
            let error = format!(
                "{}: {}",
                v["errorType"].as_str().unwrap_or("?"),
                v["error"].as_str().unwrap_or("?")
            );
            return Ok(Some(Outcome::Failed {
                key: error_key.clone(),
                error,
            }));
        }
        let parked = sqs::find(
            p.sqs(),
            &dlq,
            |r| integration_tests::genesys::mentions_conversation(r, &t.conversation_id),
            false,
        )
        .await?;
        if let Some(r) = parked.first() {
            return Ok(Some(Outcome::Parked {
                error: r.body["responsePayload"].to_string(),
            }));
        }
        Ok(None)
    })
    .await
}

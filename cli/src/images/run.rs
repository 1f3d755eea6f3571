//! `mlpipe images run`: one whole image job through the deployed (or local) pipeline.
//!
//! Uploads the folder's images to `uploads/<job-id>/` of the upload bucket, writes the manifest
//! `jobs/<job-id>.json` (which starts the job), follows the execution named by the job id, then
//! downloads the generated images and the report into the output folder. A rejected manifest
//! is reported from its `failed/jobs/<job-id>.json.error.json` reason file.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use aws_sdk_sfn::types::ExecutionStatus;
use bytes::Bytes;
use clap::Args;
use image_background_core::keys::{
    self, DEFAULT_FAILED_PREFIX, DEFAULT_GENERATED_PREFIX, DEFAULT_JOBS_PREFIX,
    DEFAULT_REPORT_PREFIX, DEFAULT_UPLOADS_PREFIX, REPORT_FILES,
};
use image_background_core::JobId;
use serde_json::Value;
use shared::store::{s3_uri, ObjectStore, S3Store};

use super::options::GenerationArgs;

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Folder with the PNG and JPEG images of the job (*.png, *.jpg, *.jpeg; not recursive)
    #[arg(value_name = "DIR")]
    dir: PathBuf,

    #[command(flatten)]
    generation: GenerationArgs,

    /// Job id: letters, digits, '-' and '_', at most 80 [default: folder name and a timestamp]
    #[arg(long = "job-id", value_name = "ID")]
    job_id: Option<String>,

    /// Where the generated images and the report go [default: out/images/<job-id>]
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,

    /// Upload bucket: the stack's output ImageUploadBucketName (`scripts/localcloud.sh env`
    /// exports the local stack's)
    #[arg(long, env = "MLPIPE_UPLOAD_BUCKET")]
    upload_bucket: String,

    /// Output bucket: the stack's output ImageOutputBucketName
    #[arg(long, env = "MLPIPE_OUTPUT_BUCKET")]
    output_bucket: String,

    /// State machine: the stack's output ImageBackgroundStateMachineArn
    #[arg(long, env = "MLPIPE_STATE_MACHINE_ARN")]
    state_machine_arn: String,

    /// How long to wait for the job, in seconds
    #[arg(long, value_name = "SECONDS", default_value_t = 900)]
    timeout: u64,
}

pub fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    // Everything that can be checked offline is checked before anything is uploaded. Without
    // --model the stack's deployed model (unknown here) checks the options.
    let model = args.generation.model()?;
    args.generation.boxes()?;
    if args.generation.model_given() {
        args.generation.check(model)?;
    }
    let images = list_images(&args.dir)?;
    let job_id = match &args.job_id {
        Some(id) => id.clone(),
        None => default_job_id(&args.dir),
    };
    let job_id = check_job_id(&job_id)?;
    if !args.state_machine_arn.contains(":stateMachine:") {
        bail!(
            "--state-machine-arn: {:?} is not a state machine ARN",
            args.state_machine_arn
        );
    }
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("out/images").join(job_id.as_str()));

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(run_job(&args, &job_id, &images, &out))
}

async fn run_job(
    args: &RunArgs,
    job_id: &JobId,
    images: &[PathBuf],
    out: &Path,
) -> anyhow::Result<ExitCode> {
    let config = shared::aws::sdk_config().await;
    let store = S3Store::new(shared::aws::s3_client(&config));
    let sfn = aws_sdk_sfn::Client::new(&config);

    let mut keys = Vec::with_capacity(images.len());
    for path in images {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .with_context(|| format!("{}: the file name is not UTF-8", path.display()))?;
        let key = keys::upload_key(DEFAULT_UPLOADS_PREFIX, job_id, name);
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        store
            .put(
                &args.upload_bucket,
                &key,
                Bytes::from(bytes),
                content_type(name),
            )
            .await?;
        eprintln!("uploaded  {}", s3_uri(&args.upload_bucket, &key));
        keys.push(key);
    }
    let manifest = args.generation.manifest(&keys)?;
    let manifest_key = keys::manifest_key(DEFAULT_JOBS_PREFIX, job_id);
    store
        .put(
            &args.upload_bucket,
            &manifest_key,
            Bytes::from(serde_json::to_vec_pretty(&manifest)?),
            "application/json",
        )
        .await?;
    eprintln!(
        "started   {} ({} image(s))",
        s3_uri(&args.upload_bucket, &manifest_key),
        keys.len()
    );

    let execution_arn = format!(
        "{}:{job_id}",
        args.state_machine_arn
            .replacen(":stateMachine:", ":execution:", 1)
    );
    let rejection_key = keys::reason_key(DEFAULT_FAILED_PREFIX, &manifest_key);
    let deadline = Instant::now() + Duration::from_secs(args.timeout);
    let (status, error, cause) = loop {
        match sfn
            .describe_execution()
            .execution_arn(&execution_arn)
            .send()
            .await
        {
            Ok(d) if d.status() != &ExecutionStatus::Running => {
                break (
                    d.status().clone(),
                    d.error().map(str::to_owned),
                    d.cause().map(str::to_owned),
                );
            }
            Ok(_) => {}
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_execution_does_not_exist()) =>
            {
                // Not started (yet): a rejected manifest has a reason file instead.
                if let Ok(reason) = store.get(&args.upload_bucket, &rejection_key).await {
                    eprintln!("rejected  {}", s3_uri(&args.upload_bucket, &rejection_key));
                    print_rejection(&reason);
                    return Ok(ExitCode::FAILURE);
                }
            }
            Err(e) => {
                return Err(anyhow::anyhow!(
                    "DescribeExecution {execution_arn}: {}",
                    aws_sdk_sfn::error::DisplayErrorContext(&e)
                ))
            }
        }
        if Instant::now() >= deadline {
            bail!(
                "job {job_id} did not finish within {} s (execution {execution_arn})",
                args.timeout
            );
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    eprintln!("finished  {execution_arn}: {}", status.as_str());

    // Generated images: generated/<job>/<image key>/<i>.png ->
    // <out>/<image file stem>/<i>.png.
    let generated_prefix = keys::job_folder(DEFAULT_GENERATED_PREFIX, job_id.as_str());
    let uploads_prefix = keys::job_folder(DEFAULT_UPLOADS_PREFIX, job_id.as_str());
    let mut written = 0;
    for key in store.list(&args.output_bucket, &generated_prefix).await? {
        let relative = key[generated_prefix.len()..].trim_start_matches(&uploads_prefix);
        let path = out.join(relative);
        let body = store.get(&args.output_bucket, &key).await?;
        write_file(&path, &body)?;
        written += 1;
    }
    let mut report = None;
    for file in REPORT_FILES {
        let key = keys::report_key(DEFAULT_REPORT_PREFIX, job_id.as_str(), file);
        match store.get(&args.output_bucket, &key).await {
            Ok(body) => {
                write_file(&out.join(file), &body)?;
                if file == "report.json" {
                    report = serde_json::from_slice::<Value>(&body).ok();
                }
            }
            Err(e) => eprintln!(
                "warning: no {}: {}",
                s3_uri(&args.output_bucket, &key),
                e.message
            ),
        }
    }

    println!("job        {job_id}");
    println!("execution  {} ({execution_arn})", status.as_str());
    if let Some(error) = &error {
        println!("error      {error}: {}", cause.as_deref().unwrap_or(""));
    }
    let mut failed = 0;
    if let Some(r) = &report {
        failed = r["failed"].as_u64().unwrap_or(0);
        println!(
            "images     {} total, {} succeeded, {} failed",
            r["total"], r["succeeded"], r["failed"]
        );
        for row in r["rows"].as_array().into_iter().flatten() {
            if row["status"] == "Failed" {
                println!(
                    "  failed   {}: {} {}",
                    row["imageKey"].as_str().unwrap_or(""),
                    row["error"].as_str().unwrap_or(""),
                    row["cause"].as_str().unwrap_or("")
                );
            }
        }
    }
    println!("generated  {written} image(s) in {}", out.display());
    println!("report     {}", out.join("report.html").display());
    let ok = status == ExecutionStatus::Succeeded && failed == 0 && report.is_some();
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The images of the folder, by name.
fn list_images(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot read folder {}", dir.display()))?;
    let mut images = Vec::new();
    for entry in entries {
        let path = entry?.path();
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        if path.is_file() && matches!(ext.as_deref(), Some("png" | "jpg" | "jpeg")) {
            images.push(path);
        }
    }
    images.sort();
    if images.is_empty() {
        bail!(
            "{}: no *.png, *.jpg or *.jpeg images in this folder",
            dir.display()
        );
    }
    Ok(images)
}

/// `<folder name>-<unix seconds>`, keeping only the characters a job id may have.
fn default_job_id(dir: &Path) -> String {
    let name: String = dir
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "images".into())
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .take(60)
        .collect();
    format!("{name}-{}", shared::clock::unix_seconds())
}

/// The job id, or an error naming `--job-id`.
fn check_job_id(id: &str) -> anyhow::Result<JobId> {
    JobId::parse(id).map_err(|e| anyhow::anyhow!("--job-id: {e}"))
}

fn content_type(name: &str) -> &'static str {
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".png") {
        "image/png"
    } else {
        "image/jpeg"
    }
}

fn write_file(path: &Path, body: &[u8]) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    std::fs::write(path, body).with_context(|| format!("writing {}", path.display()))
}

fn print_rejection(reason: &[u8]) {
    match serde_json::from_slice::<Value>(reason) {
        Ok(v) => {
            let errors = v["errors"].as_array().cloned().unwrap_or_default();
            if errors.is_empty() {
                eprintln!("  {v}");
            }
            for e in errors {
                match e.as_str() {
                    Some(s) => eprintln!("  {s}"),
                    None => eprintln!("  {e}"),
                }
            }
        }
        Err(_) => eprintln!("  {}", String::from_utf8_lossy(reason)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_ids_are_checked() {
        assert!(check_job_id("shoes-2026_11").is_ok());
        assert!(check_job_id("").is_err());
        assert!(check_job_id("a b").is_err());
        assert!(check_job_id(&"x".repeat(81)).is_err());
        let id = default_job_id(Path::new("/nonexistent/my photos"));
        assert!(id.starts_with("images-"), "{id}");
        check_job_id(&id).unwrap();
    }

    #[test]
    fn only_images_are_listed() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["b.PNG", "a.jpg", "c.jpeg", "notes.txt"] {
            std::fs::write(dir.path().join(name), b"x").unwrap();
        }
        let names: Vec<String> = list_images(dir.path())
            .unwrap()
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["a.jpg", "b.PNG", "c.jpeg"]);
        let empty = tempfile::tempdir().unwrap();
        let err = list_images(empty.path()).unwrap_err().to_string();
        assert!(err.contains("no *.png"), "{err}");
    }
}

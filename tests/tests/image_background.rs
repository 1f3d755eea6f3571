//! The image background pipeline end to end in the local cloud: a manifest uploaded to S3 ->
//! start-image-job -> the state machine in statemachines/ (executed by moto: Distributed Map
//! over the items file, generate-background through the front door, status rows, report) ->
//! generated images, report files and one SNS message.
//!
//! Needs `scripts/localcloud.sh up` (scripts/test.sh does it). The tests take turns (one lock):
//! the emulated Bedrock's throttling switch is global.

use std::time::Duration;

use anyhow::{ensure, Context, Result};
use aws_sdk_sfn::types::ExecutionStatus;
use integration_tests::images::{self, upload_bucket, ImagePipeline, SAMPLE_IMAGES};
use integration_tests::{pipeline_timeout, s3, sqs};
use serde_json::{json, Value};
use tokio::sync::Mutex;

static TURN: Mutex<()> = Mutex::const_new(());

/// A job runs several invocations one after another (map, images, report): more than one
/// pipeline step's time.
fn job_timeout() -> Duration {
    pipeline_timeout() * 3
}

#[tokio::test]
async fn three_image_job_with_one_failing_image_is_reported() -> Result<()> {
    let _turn = TURN.lock().await;
    let p = ImagePipeline::connect().await?;
    let job = ImagePipeline::new_job_id("three");
    let mut keys = Vec::new();
    for file in &SAMPLE_IMAGES[..2] {
        keys.push(p.upload_sample(&job, file).await?);
    }
    // Not an image: the request builder rejects it (InvalidInput, not retried).
    let bad = p
        .upload_image(&job, "notes.png", b"these are not image bytes".to_vec())
        .await?;
    keys.push(bad.clone());
    p.put_manifest(&job, &images::manifest(&keys)).await?;

    let finished = p.wait_finished(&job, job_timeout()).await?;
    ensure!(
        finished.status == ExecutionStatus::Succeeded,
        "execution ended {:?}: {:?} {:?}",
        finished.status,
        finished.error,
        finished.cause
    );

    // Two generated sets of 2 images each, PNG.
    let generated = p.generated(&job).await?;
    ensure!(generated.len() == 4, "generated: {generated:?}");
    for key in &generated {
        ensure!(key.ends_with(".png"), "{key}");
        let bytes = s3::get(p.s3(), images::output_bucket(), key)
            .await?
            .context("listed but missing")?;
        ensure!(
            bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
            "{key} is not a PNG"
        );
    }
    ensure!(
        !generated.iter().any(|k| k.contains("notes")),
        "{generated:?}"
    );

    // Status rows: 2 Succeeded with their outputs, 1 Failed with the error and its reason.
    let rows = p.status_rows(&job).await?;
    ensure!(rows.len() == 3, "rows: {rows:?}");
    let failed: Vec<_> = rows.iter().filter(|r| r.status == "Failed").collect();
    let succeeded: Vec<_> = rows.iter().filter(|r| r.status == "Succeeded").collect();
    ensure!(failed.len() == 1 && succeeded.len() == 2, "rows: {rows:?}");
    let f = failed[0];
    ensure!(f.image_key == bad, "{f:?}");
    ensure!(f.error.as_deref() == Some("InvalidInput"), "{f:?}");
    let cause = f.cause.clone().unwrap_or_default();
    ensure!(
        cause.contains("PNG") || cause.contains("JPEG") || cause.contains("image"),
        "the cause names the problem: {cause}"
    );
    for r in &succeeded {
        ensure!(r.outputs.len() == 2, "{r:?}");
        ensure!(r.outputs.iter().all(|o| generated.contains(o)), "{r:?}");
    }

    // Report files, with the same counts.
    let [json_key, csv_key, html_key] = ImagePipeline::report_keys(&job);
    let report: Value = serde_json::from_slice(
        &s3::get(p.s3(), images::output_bucket(), &json_key)
            .await?
            .with_context(|| format!("{json_key} missing"))?,
    )?;
    ensure!(report["total"] == 3, "{report}");
    ensure!(report["succeeded"] == 2, "{report}");
    ensure!(report["failed"] == 1, "{report}");
    let csv = String::from_utf8(
        s3::get(p.s3(), images::output_bucket(), &csv_key)
            .await?
            .with_context(|| format!("{csv_key} missing"))?,
    )?;
    ensure!(csv.lines().count() == 4, "header + 3 rows: {csv}");
    ensure!(csv.contains(&bad) && csv.contains("InvalidInput"), "{csv}");
    ensure!(
        s3::head(p.s3(), images::output_bucket(), &html_key)
            .await?
            .is_some(),
        "{html_key} missing"
    );

    // One SNS message with the counts, the failed image and its reason, and the link.
    let envelope = p.wait_report_message(&job, pipeline_timeout()).await?;
    let subject = envelope["Subject"].as_str().unwrap_or_default();
    ensure!(
        subject.contains("2 succeeded") && subject.contains("1 failed"),
        "{subject}"
    );
    let message = envelope["Message"].as_str().unwrap_or_default();
    ensure!(
        message.contains(&bad),
        "the failed image is listed: {message}"
    );
    ensure!(message.contains("InvalidInput"), "{message}");
    ensure!(message.contains("report.html"), "the link: {message}");
    ensure!(
        p.more_report_messages(&job).await? == 0,
        "exactly one SNS message per job"
    );

    // The job row says how it ended.
    let row = p.job_row(&job).await?;
    ensure!(
        row.get("status").map(String::as_str) == Some("COMPLETED"),
        "{row:?}"
    );
    ensure!(
        row.get("succeeded").map(String::as_str) == Some("2"),
        "{row:?}"
    );
    ensure!(
        row.get("failed").map(String::as_str) == Some("1"),
        "{row:?}"
    );
    Ok(())
}

#[tokio::test]
async fn the_same_manifest_uploaded_twice_starts_one_execution() -> Result<()> {
    let _turn = TURN.lock().await;
    let p = ImagePipeline::connect().await?;
    let job = ImagePipeline::new_job_id("twice");
    let key = p.upload_sample(&job, SAMPLE_IMAGES[0]).await?;
    let manifest = images::manifest(&[key]);
    p.put_manifest(&job, &manifest).await?;
    let first = p.wait_finished(&job, job_timeout()).await?;
    ensure!(first.status == ExecutionStatus::Succeeded, "{first:?}");

    // The second notification for the same job: start-image-job sees the execution exists.
    p.put_manifest(&job, &manifest).await?;
    sqs::wait_until_drained(
        &p.cloud.sqs,
        &[images::manifests_queue()],
        pipeline_timeout(),
    )
    .await?;
    // Handled without an error (nothing parked in the on-failure queue for this job).
    let dlq = sqs::queue_url(&p.cloud.sqs, images::start_dlq()).await?;
    let parked = sqs::find(
        &p.cloud.sqs,
        &dlq,
        |body| body.to_string().contains(&job),
        false,
    )
    .await?;
    ensure!(parked.is_empty(), "parked: {parked:?}");
    ensure!(
        p.executions_named(&job).await? == 1,
        "one execution per job id"
    );
    ensure!(p.status_rows(&job).await?.len() == 1);
    let _ = p.wait_report_message(&job, pipeline_timeout()).await?;
    ensure!(
        p.more_report_messages(&job).await? == 0,
        "one report for the job"
    );
    Ok(())
}

#[tokio::test]
async fn bedrock_throttling_is_retried_until_the_image_succeeds() -> Result<()> {
    let _turn = TURN.lock().await;
    let p = ImagePipeline::connect().await?;
    let job = ImagePipeline::new_job_id("throttled");
    let key = p.upload_sample(&job, SAMPLE_IMAGES[2]).await?;
    let before = p.bedrock_requests().await?["log"]
        .as_array()
        .map_or(0, Vec::len);
    // The function's SDK retry makes BEDROCK_MAX_ATTEMPTS attempts per invocation (the
    // template's value): one throttled call more can only pass through the state machine's
    // Retry on `Retryable`.
    let attempts: u32 = integration_tests::stack()
        .function_environment("GenerateBackground", "BEDROCK_MAX_ATTEMPTS")
        .context("GenerateBackground has no BEDROCK_MAX_ATTEMPTS")?
        .parse()?;
    let throttles = attempts + 1;
    p.throttle_bedrock(throttles).await?;
    p.put_manifest(&job, &images::manifest(&[key])).await?;
    let finished = p.wait_finished(&job, job_timeout()).await?;
    ensure!(
        finished.status == ExecutionStatus::Succeeded,
        "{finished:?}"
    );
    let rows = p.status_rows(&job).await?;
    ensure!(rows.len() == 1 && rows[0].status == "Succeeded", "{rows:?}");
    let log = p.bedrock_requests().await?;
    let calls: Vec<&Value> = log["log"]
        .as_array()
        .context("log")?
        .iter()
        .skip(before)
        .collect();
    let throttled = calls.iter().filter(|c| c["status"] == 429).count();
    let ok = calls.iter().filter(|c| c["status"] == 200).count();
    // Stability: one call per image asked for (numberOfImages 2).
    ensure!(
        throttled == throttles as usize && ok == 2,
        "calls since the throttle ({throttles} throttled expected): {calls:?}"
    );
    let _ = p.wait_report_message(&job, pipeline_timeout()).await?;
    Ok(())
}

#[tokio::test]
async fn a_bad_manifest_is_rejected_with_its_reasons() -> Result<()> {
    let _turn = TURN.lock().await;
    let p = ImagePipeline::connect().await?;
    let job = ImagePipeline::new_job_id("bad");
    let manifest = json!({
        "prompt": "",
        "numberOfImages": 9,
        "images": [{"key": format!("uploads/{job}/a.png"), "labels": ["Cup"], "mask": "subject"}],
    });
    let key = p.put_manifest(&job, &manifest).await?;
    let reason_key = ImagePipeline::rejection_key(&job);
    let reason =
        s3::wait_for_object(p.s3(), upload_bucket(), &reason_key, pipeline_timeout()).await?;
    let reason: Value = serde_json::from_slice(&reason)?;
    let text = reason.to_string();
    for field in ["prompt", "numberOfImages", "images[0].labels"] {
        ensure!(text.contains(field), "the reason names {field}: {text}");
    }
    ensure!(
        text.contains('5'),
        "the numberOfImages limit is named: {text}"
    );
    // The manifest stays; no execution, no rows.
    ensure!(s3::head(p.s3(), upload_bucket(), &key).await?.is_some());
    ensure!(p.executions_named(&job).await? == 0);
    ensure!(p.status_rows(&job).await?.is_empty());
    Ok(())
}

/// The saved result has the input's size, and the kept object's pixels are the input's.
#[tokio::test]
async fn the_kept_object_is_intact_in_a_result_at_the_input_size() -> Result<()> {
    let _turn = TURN.lock().await;
    let p = ImagePipeline::connect().await?;
    let job = ImagePipeline::new_job_id("kept");
    let key = p.upload_sample(&job, SAMPLE_IMAGES[0]).await?;
    // The product sample: a disc in the middle of 640x480; keep its central square.
    let manifest = json!({
        "prompt": "a wooden table in a garden",
        "numberOfImages": 1,
        "images": [{"key": key, "maskBoxes": [{"left": 0.35, "top": 0.35, "width": 0.3, "height": 0.3}]}],
    });
    p.put_manifest(&job, &manifest).await?;
    let finished = p.wait_finished(&job, job_timeout()).await?;
    ensure!(
        finished.status == ExecutionStatus::Succeeded,
        "{finished:?}"
    );
    let generated = p.generated(&job).await?;
    ensure!(generated.len() == 1, "{generated:?}");
    let saved = s3::get(p.s3(), images::output_bucket(), &generated[0])
        .await?
        .context("missing")?;
    let saved = image::load_from_memory(&saved)?.to_rgb8();
    let source = image::open(images::sample_path(SAMPLE_IMAGES[0]))?.to_rgb8();
    ensure!(
        saved.dimensions() == source.dimensions(),
        "saved {:?}, input {:?}",
        saved.dimensions(),
        source.dimensions()
    );
    // Inside the kept square (a margin for resampling at its edge): the input's pixels.
    let (mut diff, mut n) = (0u64, 0u64);
    for y in 180..300 {
        for x in 236..404 {
            let (a, b) = (source.get_pixel(x, y).0, saved.get_pixel(x, y).0);
            diff += (0..3).map(|c| u64::from(a[c].abs_diff(b[c]))).sum::<u64>();
            n += 3;
        }
    }
    let mean = diff as f64 / n as f64;
    ensure!(mean < 4.0, "kept pixels changed by {mean:.2} on average");
    // Outside, the background was repainted.
    let corner = (source.get_pixel(5, 5).0, saved.get_pixel(5, 5).0);
    ensure!(
        corner.0 != corner.1,
        "the corner was not repainted: {corner:?}"
    );
    let _ = p.wait_report_message(&job, pipeline_timeout()).await?;
    Ok(())
}

/// A content-filter finish reason fails that image with the reason; nothing is saved for it.
#[tokio::test]
async fn a_filtered_image_fails_with_the_finish_reason() -> Result<()> {
    let _turn = TURN.lock().await;
    let p = ImagePipeline::connect().await?;
    let job = ImagePipeline::new_job_id("filtered");
    let key = p.upload_sample(&job, SAMPLE_IMAGES[1]).await?;
    let mut manifest = images::manifest(std::slice::from_ref(&key));
    manifest["prompt"] = json!("a beach [emulator finish reason: Filter reason: output image]");
    p.put_manifest(&job, &manifest).await?;
    let finished = p.wait_finished(&job, job_timeout()).await?;
    ensure!(
        finished.status == ExecutionStatus::Succeeded,
        "{finished:?}"
    );
    let rows = p.status_rows(&job).await?;
    ensure!(rows.len() == 1 && rows[0].status == "Failed", "{rows:?}");
    let cause = rows[0].cause.clone().unwrap_or_default();
    ensure!(cause.contains("Filter reason: output image"), "{cause}");
    ensure!(rows[0].error.as_deref() == Some("InvalidInput"), "{rows:?}");
    ensure!(p.generated(&job).await?.is_empty());
    let _ = p.wait_report_message(&job, pipeline_timeout()).await?;
    Ok(())
}

/// Every image of the manifest is in the report, each failure with its reason; a key nobody
/// uploaded is "not found", not a configuration error. (moto records a Map's tolerated failures
/// but does not stop the map on them, so the stopped-job path, with images never run, is
/// covered by image-job-report's unit tests, not here.)
#[tokio::test]
async fn every_failed_image_is_reported_a_missing_key_as_not_found() -> Result<()> {
    let _turn = TURN.lock().await;
    let p = ImagePipeline::connect().await?;
    let job = ImagePipeline::new_job_id("failing");
    let mut keys = Vec::new();
    for i in 0..3 {
        keys.push(
            p.upload_image(&job, &format!("bad-{i}.png"), b"not an image".to_vec())
                .await?,
        );
    }
    let missing = ImagePipeline::image_key(&job, "missing.png");
    keys.push(missing.clone());
    p.put_manifest(&job, &images::manifest(&keys)).await?;
    let _ = p.wait_finished(&job, job_timeout()).await?;
    let report = s3::wait_for_object(
        p.s3(),
        images::output_bucket(),
        &ImagePipeline::report_keys(&job)[0],
        pipeline_timeout(),
    )
    .await?;
    let report: Value = serde_json::from_slice(&report)?;
    ensure!(
        report["total"] == 4,
        "every image of the manifest: {report}"
    );
    ensure!(report["succeeded"] == 0, "{report}");
    let failed = report["failed"].as_u64().unwrap_or(0);
    let not_run = report["notRun"].as_u64().unwrap_or(0);
    ensure!(failed + not_run == 4, "{report}");
    let rows = p.status_rows(&job).await?;
    let row = rows
        .iter()
        .find(|r| r.image_key == missing)
        .with_context(|| format!("no row for {missing}: {rows:?}"))?;
    let cause = row.cause.clone().unwrap_or_default();
    ensure!(
        row.error.as_deref() == Some("InvalidInput") && cause.contains("not found"),
        "{row:?}"
    );
    Ok(())
}

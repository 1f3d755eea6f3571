//! IAM is enforced as on AWS. These tests run against a local cloud deployed from
//! template.yaml *without* three policy statements, one per enforcement point, and show that
//! each pipeline then fails with AccessDenied where AWS would refuse it:
//!
//! | statement removed | of | enforced by |
//! |---|---|---|
//! | `WriteRawTranscripts` (s3:PutObject on the raw prefix) | the Genesys fetcher's role | moto (S3, resource level) |
//! | `PutEventsOnTheTracker` (personalize:PutEvents) | the Segment forwarder's role | the emulator (Personalize) |
//! | `InvokeThePipelineFunctions` (lambda:InvokeFunction) | the state machine's role | the front door (Lambda) |
//!
//! `scripts/test.sh` (stage `iam`) starts that second local cloud with
//! `LOCALCLOUD_WITHOUT_STATEMENTS="WriteRawTranscripts PutEventsOnTheTracker InvokeThePipelineFunctions"`
//! and runs them with `--ignored`; against the complete stack they are skipped (ignored).

use std::time::Duration;

use anyhow::{ensure, Context, Result};
use integration_tests::genesys::{fetcher_dlq, mentions_conversation, Pipeline, Serve, Transcript};
use integration_tests::images::{self, ImagePipeline, SAMPLE_IMAGES};
use integration_tests::segment::{self, forwarder, SegmentPipeline};
use integration_tests::{pipeline_timeout, sqs, stack, uuid_v4};

fn require_removed(sid: &str) -> Result<()> {
    ensure!(
        !stack().has_statement(sid),
        "the local stack still has the statement {sid}: deploy it with \
         LOCALCLOUD_WITHOUT_STATEMENTS (scripts/test.sh, stage iam)"
    );
    Ok(())
}

#[tokio::test]
#[ignore = "needs the stack deployed without the statements (scripts/test.sh, stage iam)"]
async fn the_fetcher_without_write_access_parks_the_event_with_access_denied() -> Result<()> {
    require_removed("WriteRawTranscripts")?;
    let p = Pipeline::connect().await?;
    let t = Transcript::sample("01")?.with_fresh_ids();
    p.emulator.register(&t, Serve::default()).await?;
    p.publish_session_ended(&t).await?;

    let timeout = pipeline_timeout().max(Duration::from_secs(45));
    let c = t.conversation_id.clone();
    let record = sqs::wait_for_record(
        p.sqs(),
        fetcher_dlq(),
        "the fetcher's on-failure record",
        timeout,
        |r| mentions_conversation(r, &c),
    )
    .await?;
    let error = record["responsePayload"].to_string();
    ensure!(
        error.contains("AccessDenied"),
        "the fetcher failed otherwise: {error}"
    );
    ensure!(
        p.raw_keys(&t.conversation_id).await?.is_empty(),
        "the raw transcript was written although the role may not"
    );
    Ok(())
}

#[tokio::test]
#[ignore = "needs the stack deployed without the statements (scripts/test.sh, stage iam)"]
async fn the_forwarder_without_put_events_is_refused_by_personalize() -> Result<()> {
    require_removed("PutEventsOnTheTracker")?;
    let p = SegmentPipeline::connect().await?;
    let id = uuid_v4();
    let anon = format!("anon-iam-{id}");
    let message = segment::track(
        "msg-iam-1",
        &anon,
        &format!("user-iam-{id}"),
        "Product Viewed",
        "sku-1",
    );
    let (error, out) = p.invoke(forwarder(), &message).await?;
    ensure!(
        error.is_some(),
        "the forwarder succeeded without personalize:PutEvents: {out}"
    );
    ensure!(
        out.to_string().contains("AccessDenied"),
        "refused otherwise: {out}"
    );
    ensure!(
        p.received_events(&anon).await?.is_empty(),
        "Personalize got the events"
    );
    Ok(())
}

#[tokio::test]
#[ignore = "needs the stack deployed without the statements (scripts/test.sh, stage iam)"]
async fn the_state_machine_without_invoke_permission_records_access_denied() -> Result<()> {
    require_removed("InvokeThePipelineFunctions")?;
    let p = ImagePipeline::connect().await?;
    let job = ImagePipeline::new_job_id("iam");
    let key = p.upload_sample(&job, SAMPLE_IMAGES[0]).await?;
    p.put_manifest(&job, &images::manifest(std::slice::from_ref(&key)))
        .await?;
    let finished = p.wait_finished(&job, pipeline_timeout() * 3).await?;
    let rows = p.status_rows(&job).await?;
    let denied = rows
        .iter()
        .find(|r| r.image_key == key)
        .with_context(|| format!("no status row for {key}; execution {finished:?}"))?;
    ensure!(denied.status == "Failed", "{denied:?}");
    let said = format!("{:?} {:?}", denied.error, denied.cause);
    ensure!(said.contains("AccessDenied"), "failed otherwise: {said}");
    ensure!(p.generated(&job).await?.is_empty(), "images were generated");
    Ok(())
}

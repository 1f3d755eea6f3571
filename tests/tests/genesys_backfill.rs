//! The Genesys transcript backfill on Step Functions, end to end against the running local
//! cloud: `mlpipe transcripts backfill` -> GenesysBackfillStateMachine (plan, Distributed Map
//! over batches of conversations in lex-transcript-backfill, report) -> designer files, report
//! and SNS notification.
//!
//! Its own test binary: its 500 conversations are put into the raw bucket, and each put also
//! notifies the converter, as on AWS. Cargo runs test binaries one after another, so that
//! flood does not slow the other Genesys tests, and the test waits for it to drain before it
//! ends.
//!
//! Start the local cloud first (`scripts/localcloud.sh up`), or run `scripts/test.sh`.

use std::time::Duration;

use anyhow::{ensure, Context, Result};
use genesys_lex_core::{self as transcript, Options, Outcome};
use integration_tests::genesys::{
    self, failed_keys, output_bucket, raw_bucket, Pipeline, Transcript,
};
use integration_tests::{json, mlpipe_bin, pipeline_timeout, s3, sqs, uuid_v4};
use serde_json::Value;

/// The transcript backfill on Step Functions, through the CLI: 500 conversations (some with a
/// transferred second leg, some Spanish, five malformed documents) under a prefix of the raw
/// bucket; `mlpipe transcripts backfill` starts GenesysBackfillStateMachine (plan, a
/// Distributed Map over batches of 20 conversations, report) and exits 1 because five
/// documents failed. Every designer file has the bytes of the shared conversion; the report
/// (JSON and CSV) counts and names every conversation not converted with its reason; the SNS
/// topic gets the counts; once the documents are fixed, `--retry-failed-of` converts exactly
/// those five.
#[tokio::test]
async fn backfill_state_machine_converts_a_prefix_of_500_conversations() -> Result<()> {
    const CONVERSATIONS: usize = 500;
    const MALFORMED: [usize; 5] = [18, 123, 250, 377, 499];
    let p = Pipeline::connect().await?;
    let run = format!("bf{}", &uuid_v4()[..8]);
    let samples = Transcript::samples()?;

    // Documents per conversation; the expected outputs from the shared conversion.
    let mut documents: Vec<(String, Vec<u8>)> = Vec::new();
    let mut expected: Vec<(String, Vec<u8>)> = Vec::new();
    let (mut converted, mut skipped) = (0, 0);
    let mut malformed_keys = Vec::new();
    for i in 0..CONVERSATIONS {
        let id = format!("{run}-{i:04}");
        let mut legs = vec![samples[i % samples.len()].with_ids(&id, &format!("{id}-a"))];
        if i % 7 == 3 {
            legs.push(samples[(i + 1) % samples.len()].with_ids(&id, &format!("{id}-b")));
        }
        if MALFORMED.contains(&i) {
            let key = legs[0].raw_key();
            let broken = format!("{{\"conversationId\": \"{id}\", \"transcripts\": 7}}");
            documents.push((key.clone(), broken.into_bytes()));
            malformed_keys.push(key);
            continue;
        }
        let parsed = legs
            .iter()
            .map(|t| transcript::parse_with(&t.bytes, Options::default()))
            .collect::<Result<Vec<_>, _>>()?;
        match transcript::convert_documents(&parsed, Options::default())? {
            Outcome::Converted(c) => {
                converted += 1;
                expected.push((format!("{}{}", genesys::OUTPUT_PREFIX, c.file_name), c.body));
            }
            Outcome::Skipped { .. } => skipped += 1,
        }
        documents.extend(legs.iter().map(|t| (t.raw_key(), t.bytes.clone())));
    }
    expected.sort();
    put_all(&p, &documents).await?;

    let mlpipe = |extra: &[&str]| -> Result<(Option<i32>, String)> {
        let out = std::process::Command::new(mlpipe_bin()?)
            .args(["transcripts", "backfill", "--timeout", "600"])
            .args(extra)
            .arg("--state-machine-arn")
            .arg(integration_tests::stack::stack().output("GenesysBackfillStateMachineArn"))
            .env("AWS_ENDPOINT_URL", &p.cloud.endpoint)
            .env("AWS_REGION", integration_tests::REGION)
            .env_remove("AWS_PROFILE")
            .output()
            .context("running mlpipe")?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        Ok((out.status.code(), text))
    };
    let prefix = format!("{}{run}-", genesys::RAW_PREFIX);
    let (code, text) = mlpipe(&["--prefix", &prefix, "--run-id", &run])?;
    let counts = format!("converted: {converted}  skipped: {skipped}  failed: 5  ({CONVERSATIONS} conversation folders or documents, 25 batches)");
    ensure!(
        code == Some(1) && text.contains(&counts),
        "five documents failed, so exit 1 with {counts:?}; got {code:?}:\n{text}"
    );

    // Every designer file, byte for byte.
    let keys = s3::list(
        p.s3(),
        output_bucket(),
        &format!("{}{run}-", genesys::OUTPUT_PREFIX),
    )
    .await?;
    let mut written = get_all(&p, output_bucket(), keys).await?;
    written.sort();
    ensure!(
        written.len() == expected.len(),
        "{} designer files, expected {}",
        written.len(),
        expected.len()
    );
    assert!(
        written == expected,
        "designer files differ from the conversion's bytes"
    );

    // The report: counts, and every conversation not converted with its reason.
    let report_key = format!("backfills/{run}/report.json");
    let report = json(
        &s3::get(p.s3(), raw_bucket(), &report_key)
            .await?
            .with_context(|| format!("no {report_key}"))?,
        &report_key,
    )?;
    assert_eq!(report["converted"], converted);
    assert_eq!(report["skipped"], skipped);
    assert_eq!(report["failed"], 5);
    assert_eq!(report["batchesNotRun"], 0);
    let failed: Vec<&Value> = report["notConverted"]
        .as_array()
        .context("notConverted")?
        .iter()
        .filter(|r| r["status"] == "failed")
        .collect();
    let failed_sources: Vec<&str> = failed.iter().filter_map(|r| r["source"].as_str()).collect();
    assert_eq!(failed_sources, malformed_keys);
    for row in &failed {
        let reason = row["reason"].as_str().unwrap_or_default();
        ensure!(
            reason.starts_with("transcripts"),
            "the reason names the field: {row}"
        );
    }
    for key in &malformed_keys {
        let (copy, _) = failed_keys(key);
        ensure!(
            s3::get(p.s3(), raw_bucket(), &copy).await?.is_some(),
            "the malformed {key} is quarantined at {copy}"
        );
    }
    let csv = s3::get(p.s3(), raw_bucket(), &format!("backfills/{run}/report.csv"))
        .await?
        .context("no report.csv")?;
    assert_eq!(
        String::from_utf8_lossy(&csv).lines().count(),
        1 + converted + skipped + 5,
        "a header and one row per conversation (or failed document)"
    );
    let note = sqs::wait_for_record(
        p.sqs(),
        integration_tests::stack::stack().inbox("GenesysBackfillTopic"),
        "the backfill notification",
        pipeline_timeout(),
        |body| body["Message"].as_str().is_some_and(|m| m.contains(&run)),
    )
    .await?;
    ensure!(
        note["Subject"]
            .as_str()
            .is_some_and(|s| s.contains(&format!("{converted} converted, 5 failed"))),
        "subject: {note}"
    );

    // Fixed documents, then only what failed.
    let fixed: Vec<(String, Vec<u8>)> = MALFORMED
        .iter()
        .zip(&malformed_keys)
        .map(|(i, key)| {
            let id = format!("{run}-{i:04}");
            (
                key.clone(),
                samples[0].with_ids(&id, &format!("{id}-a")).bytes,
            )
        })
        .collect();
    put_all(&p, &fixed).await?;
    let retry = format!("{run}-retry");
    let (code, text) = mlpipe(&["--retry-failed-of", &run, "--run-id", &retry])?;
    ensure!(
        code == Some(0) && text.contains("converted: 5  skipped: 0  failed: 0  (5 conversation folders or documents, 1 batches)"),
        "the retry converts exactly the five: {code:?}\n{text}"
    );

    // The converter's share of the puts (each put notifies it, as on AWS) is done before the
    // next test binary starts.
    p.wait_until_idle(Duration::from_secs(600)).await?;
    s3::delete_prefix(p.s3(), raw_bucket(), &prefix).await?;
    s3::delete_prefix(
        p.s3(),
        output_bucket(),
        &format!("{}{run}-", genesys::OUTPUT_PREFIX),
    )
    .await?;
    Ok(())
}

/// Reads the objects, 16 at a time.
async fn get_all(
    p: &Pipeline,
    bucket: &'static str,
    keys: Vec<String>,
) -> Result<Vec<(String, Vec<u8>)>> {
    let mut set = tokio::task::JoinSet::new();
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    for key in keys {
        if set.len() >= 16 {
            out.push(set.join_next().await.context("join")???);
        }
        let s3 = p.s3().clone();
        set.spawn(async move {
            let body = s3::get(&s3, bucket, &key).await?.unwrap_or_default();
            anyhow::Ok((key, body))
        });
    }
    while let Some(done) = set.join_next().await {
        out.push(done??);
    }
    Ok(out)
}

/// Puts the objects into the raw bucket, 16 at a time.
async fn put_all(p: &Pipeline, objects: &[(String, Vec<u8>)]) -> Result<()> {
    let mut set = tokio::task::JoinSet::new();
    for (key, body) in objects.iter().cloned() {
        if set.len() >= 16 {
            set.join_next().await.context("join")???;
        }
        let s3 = p.s3().clone();
        set.spawn(async move { s3::put(&s3, raw_bucket(), &key, body).await });
    }
    while let Some(done) = set.join_next().await {
        done??;
    }
    Ok(())
}

//! Genesys Cloud -> Lex designer, end to end, against the running local cloud:
//! EventBridge partner event -> rule -> SQS -> relay -> genesys-transcript-fetcher -> emulated
//! Genesys -> raw bucket -> S3 notification -> relay -> lex-transcript-converter -> output bucket.
//!
//! Also the CLI's backfill from the raw bucket to the output bucket (`mlpipe transcripts
//! convert s3://... --out s3://...`); the backfill state machine is `genesys_backfill.rs`.
//!
//! Start the local cloud first (`scripts/localcloud.sh up`), or run `scripts/test.sh`. Without
//! it every test fails, saying so.
//!
//! Every test owns its conversations: it registers sample documents under fresh ids with the
//! emulator, so the tests run in parallel and leave the default samples alone.

use std::time::Duration;

use anyhow::{ensure, Context, Result};
use genesys_lex_core::{self as transcript, Options, Outcome};
use integration_tests::genesys::{
    self, failed_keys, fetcher_dlq, output_bucket, raw_bucket, raw_key, skipped_key, Pipeline,
    Serve, Transcript, TranscriptionEvent,
};
use integration_tests::{json, lex, mlpipe_bin, pipeline_timeout, s3, sqs, uuid_v4};
use serde_json::Value;

/// Waits for the designer file; on time-out, says what the local cloud shows instead.
async fn output_of(p: &Pipeline, t: &Transcript) -> Result<Vec<u8>> {
    match p.wait_for_output(t, pipeline_timeout()).await {
        Ok(bytes) => Ok(bytes),
        Err(e) => Err(p.explain(&t.conversation_id, e).await),
    }
}

/// Waits for the raw object; on time-out, says what the local cloud shows instead.
async fn raw_of(p: &Pipeline, t: &Transcript) -> Result<Vec<u8>> {
    match p.wait_for_raw(t, pipeline_timeout()).await {
        Ok(bytes) => Ok(bytes),
        Err(e) => Err(p.explain(&t.conversation_id, e).await),
    }
}

/// (a) SESSION_ENDED: the emulator's document lands in the raw bucket byte for byte, and the
/// designer file appears under the Contact Lens key of the conversation's start time, meeting
/// the contract, identical to what the shared conversion (the CLI's) makes of the raw document.
#[tokio::test]
async fn session_ended_event_produces_the_raw_transcript_and_the_designer_file() -> Result<()> {
    let p = Pipeline::connect().await?;
    let t = Transcript::sample("01")?.with_fresh_ids();
    p.emulator.register(&t, Serve::default()).await?;

    p.publish_session_ended(&t).await?;

    let raw = raw_of(&p, &t).await?;
    let raw_bucket_value = raw_bucket();
    ensure!(
        raw == t.bytes,
        "s3://{raw_bucket_value}/{} differs from the document the emulator served ({} vs {} bytes)",
        t.raw_key(),
        raw.len(),
        t.bytes.len()
    );

    let out = output_of(&p, &t).await?;
    let expected_key = t.output_key()?;
    assert_eq!(
        p.output_keys(&t.conversation_id).await?,
        vec![expected_key.clone()],
        "exactly one designer file, named after the conversation start (2025-06-03T14:12:00Z)"
    );
    let doc = lex::check_document(&out, &t.conversation_id).with_context(|| {
        format!(
            "s3://{}/{expected_key} breaks the contract",
            output_bucket()
        )
    })?;
    assert_eq!(doc["ContentMetadata"]["Output"], "Raw");
    let mut roles: Vec<&str> = doc["Participants"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["ParticipantId"].as_str())
        .collect();
    roles.sort_unstable();
    assert_eq!(
        roles,
        ["AGENT", "CUSTOMER"],
        "sample 01 has an agent and a customer"
    );

    match genesys_lex_core::convert(&raw, Options::default())? {
        Outcome::Converted(c) => {
            assert_eq!(
                format!("lex-designer/{}", c.file_name),
                expected_key,
                "the function's key and the shared conversion's differ"
            );
            ensure!(
                c.body == out,
                "the function's output differs from genesys_lex_core::convert of the raw \
                 document (what `mlpipe transcripts convert` writes)"
            );
        }
        other => panic!("the shared conversion did not convert sample 01: {other:?}"),
    }

    let calls = p.emulator.calls(&t.conversation_id).await?;
    ensure!(
        calls.transcript_url.contains(&200) && calls.downloads.contains(&200),
        "the emulator did not serve this conversation: {calls:?}"
    );
    Ok(())
}

/// (b) SESSION_ONGOING and status-less events are ignored: no Genesys call, no raw object, no
/// on-failure record. The SESSION_ENDED event published after them is handled to the end
/// first, so they have been delivered by the time the test looks.
#[tokio::test]
async fn ongoing_and_statusless_events_are_ignored() -> Result<()> {
    let p = Pipeline::connect().await?;
    let sample = Transcript::sample("01")?;
    let ongoing = sample.with_fresh_ids();
    let statusless = sample.with_fresh_ids();
    let marker = Transcript::sample("03")?.with_fresh_ids();
    for t in [&ongoing, &statusless, &marker] {
        // Registered, so that a fetcher that wrongly acted on them would succeed and show.
        p.emulator.register(t, Serve::default()).await?;
    }

    TranscriptionEvent::ongoing(&ongoing.conversation_id, &ongoing.communication_id)?
        .publish(&p.cloud)
        .await?;
    TranscriptionEvent::for_transcript(&statusless)?
        .with_status(None)
        .publish(&p.cloud)
        .await?;
    p.publish_session_ended(&marker).await?;

    output_of(&p, &marker).await?;
    // And every event published so far has been handled (queues empty, nothing in flight).
    p.wait_until_idle(pipeline_timeout()).await?;

    for (what, t) in [("SESSION_ONGOING", &ongoing), ("status-less", &statusless)] {
        let c = &t.conversation_id;
        assert_eq!(
            p.raw_keys(c).await?,
            Vec::<String>::new(),
            "the {what} event's conversation was fetched"
        );
        let calls = p.emulator.calls(c).await?;
        assert!(
            calls.transcript_url.is_empty(),
            "the fetcher called Genesys for the {what} event: {calls:?}"
        );
        let failures = p.fetcher_failures(c).await?;
        assert!(
            failures.is_empty(),
            "the {what} event failed instead of being ignored: {failures:?}"
        );
    }
    Ok(())
}

/// (c) A conversation Genesys does not know (404), and one whose recording is gone (404
/// forever): no invocation fails; the fetcher puts each event on the wait queue and tries
/// again with growing delays (the local stack: 1 s, doubling), storing nothing.
#[tokio::test]
async fn unknown_and_gone_transcripts_wait_on_the_wait_queue() -> Result<()> {
    let p = Pipeline::connect().await?;
    let unknown = (uuid_v4(), uuid_v4());
    let gone = Transcript::sample("03")?.with_fresh_ids();
    p.emulator
        .register(
            &gone,
            Serve {
                gone: true,
                ..Serve::default()
            },
        )
        .await?;

    TranscriptionEvent::session_ended(&unknown.0, &unknown.1)?
        .publish(&p.cloud)
        .await?;
    p.publish_session_ended(&gone).await?;

    // Attempts at about 0, 1, 3 and 7 s.
    for c in [&unknown.0, &gone.conversation_id] {
        let calls = integration_tests::poll::eventually(
            format!("three attempts for conversation {c}"),
            pipeline_timeout(),
            || async {
                let calls = p.emulator.calls(c).await?;
                Ok((calls.transcript_url.len() >= 3).then_some(calls))
            },
        )
        .await;
        let calls = match calls {
            Ok(calls) => calls,
            Err(e) => return Err(p.explain(c, e).await),
        };
        ensure!(
            calls.transcript_url.iter().all(|s| *s == 404),
            "{c}: every attempt answered 404: {calls:?}"
        );
        assert_eq!(
            p.raw_keys(c).await?,
            Vec::<String>::new(),
            "{c}: nothing stored"
        );
        let failures = p.fetcher_failures(c).await?;
        ensure!(
            failures.is_empty(),
            "{c}: waiting, not failed or parked: {failures:?}"
        );
    }
    Ok(())
}

/// (c') Once the waiting window has passed (a wait queue message whose first attempt was two
/// hours ago; the local window is one minute), the next attempt that still finds no
/// transcript parks the event in the fetcher's failure queue with the reason.
#[tokio::test]
async fn after_the_waiting_window_the_event_is_parked_with_the_reason() -> Result<()> {
    let p = Pipeline::connect().await?;
    let (c, m) = (uuid_v4(), uuid_v4());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs() as i64;
    let waiting = serde_json::json!({
        "event": TranscriptionEvent::session_ended(&c, &m)?.envelope,
        "attempts": 5, "firstAttemptAt": now - 7200, "lastError": "404"
    });
    let wait_queue = sqs::queue_url(p.sqs(), genesys::wait_queue()).await?;
    p.sqs()
        .send_message()
        .queue_url(&wait_queue)
        .message_body(waiting.to_string())
        .send()
        .await
        .context("sending to the wait queue")?;

    let found = sqs::wait_for_record(
        p.sqs(),
        fetcher_dlq(),
        "the parked event",
        pipeline_timeout(),
        |r| genesys::mentions_conversation(r, &c),
    )
    .await;
    let record = match found {
        Ok(record) => record,
        Err(e) => return Err(p.explain(&c, e).await),
    };
    let reason = record["reason"].as_str().unwrap_or_default();
    ensure!(
        reason.starts_with("transcript still not available after waiting 1 min (6 attempts)"),
        "the reason: {record}"
    );
    ensure!(reason.contains("404"), "the last error: {reason}");
    assert_eq!(
        record["event"]["detail"]["eventBody"]["conversationId"],
        c.as_str()
    );
    assert_eq!(record["attempts"], 6);
    let calls = p.emulator.calls(&c).await?;
    assert_eq!(calls.transcript_url, [404], "one more attempt, then parked");
    Ok(())
}

/// (c'') A parked event is replayed by `mlpipe transcripts redrive` once its transcript exists:
/// the message leaves the parked queue, the event goes round the wait queue, the transcript is
/// fetched and converted. Parked messages of other conversations stay where they are.
#[tokio::test]
async fn a_parked_event_is_replayed_by_the_redrive_command() -> Result<()> {
    let p = Pipeline::connect().await?;
    let t = Transcript::sample("01")?.with_fresh_ids();
    p.emulator.register(&t, Serve::default()).await?;
    let other = uuid_v4();
    // Parked as the fetcher parks (the event as EventBridge delivered it) and, for another
    // conversation, as Lambda's on-failure destination records it.
    let event = |c: &str, m: &str| -> Result<Value> {
        Ok(TranscriptionEvent::session_ended(c, m)?.envelope)
    };
    let parked = serde_json::json!({"reason": "transcript still not available after waiting 24 h (97 attempts): 404",
        "event": event(&t.conversation_id, &t.communication_id)?, "attempts": 97, "firstAttemptAt": 0});
    let record = serde_json::json!({"requestContext": {"condition": "RetriesExhausted"},
        "requestPayload": event(&other, &uuid_v4())?});
    let from = sqs::queue_url(p.sqs(), fetcher_dlq()).await?;
    let to = sqs::queue_url(p.sqs(), genesys::wait_queue()).await?;
    for body in [&parked, &record] {
        p.sqs()
            .send_message()
            .queue_url(&from)
            .message_body(body.to_string())
            .send()
            .await
            .context("parking a test message")?;
    }

    // Other tests peek at the same queue, hiding its messages for a moment: run the command
    // until it has seen this conversation's message (a run that sees nothing changes nothing).
    let redrive = || -> Result<(String, String)> {
        let out = std::process::Command::new(mlpipe_bin()?)
            .args(["transcripts", "redrive", "--from", &from, "--to", &to])
            .args(["--conversation-id", &t.conversation_id])
            .env("AWS_ENDPOINT_URL", &p.cloud.endpoint)
            .env("AWS_REGION", integration_tests::REGION)
            .env_remove("AWS_PROFILE")
            .output()
            .context("running mlpipe")?;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        ensure!(out.status.success(), "{:?}\n{stdout}\n{stderr}", out.status);
        Ok((stdout, stderr))
    };
    integration_tests::poll::eventually(
        "the redrive of the parked event",
        pipeline_timeout(),
        || async {
            let (stdout, stderr) = redrive()?;
            if stdout.contains("replayed: 0 message(s)") {
                return Ok(None);
            }
            ensure!(
                stdout.contains("replayed: 1 message(s), 1 event(s)"),
                "summary: {stdout}\n{stderr}"
            );
            Ok(Some(()))
        },
    )
    .await?;

    let raw = raw_of(&p, &t).await?;
    ensure!(
        raw == t.bytes,
        "the raw object differs from the served document"
    );
    output_of(&p, &t).await?;
    let still_parked = p.fetcher_failures(&t.conversation_id).await?;
    ensure!(
        still_parked.is_empty(),
        "replayed, so no longer parked: {still_parked:?}"
    );
    // The other conversation's record stays, and is removed here to leave the queue clean.
    let left = sqs::wait_for_record(
        p.sqs(),
        fetcher_dlq(),
        "the other record",
        pipeline_timeout(),
        |r| genesys::mentions_conversation(r, &other),
    )
    .await?;
    assert_eq!(left["requestContext"]["condition"], "RetriesExhausted");
    Ok(())
}

/// (d) Documents that are not transcripts, put straight into the raw bucket: the original stays,
/// a copy goes to failed/ with `.error.json` naming the field, and the invocation succeeds (no
/// retry, no on-failure record).
#[tokio::test]
async fn malformed_raw_documents_are_copied_to_failed_with_the_reason() -> Result<()> {
    let p = Pipeline::connect().await?;
    let cases: [(&[u8], Option<&str>); 2] = [
        (br#"{"conversationId": 7}"#, Some("conversationId")),
        (b"not json", None),
    ];

    let check = |body: &'static [u8], field: Option<&'static str>| {
        let p = &p;
        async move {
            let (c, m) = (uuid_v4(), uuid_v4());
            let key = raw_key(&c, &m);
            s3::put(p.s3(), raw_bucket(), &key, body).await?;

            let (copy_key, error_key) = failed_keys(&key);
            let error =
                match s3::wait_for_object(p.s3(), raw_bucket(), &error_key, pipeline_timeout())
                    .await
                {
                    Ok(bytes) => bytes,
                    Err(e) => return Err(p.explain(&c, e).await),
                };
            let error = json(&error, &error_key)?;
            assert_eq!(error["source"], s3::uri(raw_bucket(), &key), "{error_key}");
            assert_eq!(error["errorType"], "InvalidInput", "{error_key}: {error}");
            let message = error["error"].as_str().unwrap_or_default();
            ensure!(
                !message.is_empty(),
                "{error_key}: no error message: {error}"
            );
            if let Some(field) = field {
                ensure!(
                    message.contains(field),
                    "{error_key}: the message does not name {field}: {message:?}"
                );
            }

            let copy = s3::get(p.s3(), raw_bucket(), &copy_key).await?;
            assert_eq!(
                copy.as_deref(),
                Some(body),
                "s3://{}/{copy_key}: the failed/ copy",
                raw_bucket()
            );
            let original = s3::get(p.s3(), raw_bucket(), &key).await?;
            assert_eq!(original.as_deref(), Some(body), "the original must stay");
            assert_eq!(p.output_keys(&c).await?, Vec::<String>::new());
            // Had the invocation failed, its on-failure record is written before the queue
            // empties.
            p.wait_until_idle(pipeline_timeout()).await?;
            let failures = p.converter_failures(&key).await?;
            assert!(
                failures.is_empty(),
                "bad input must not be retried into the dlq(): {failures:?}"
            );
            anyhow::Ok(())
        }
    };
    let (a, b) = tokio::join!(check(cases[0].0, cases[0].1), check(cases[1].0, cases[1].1));
    a.context("document {\"conversationId\": 7}")?;
    b.context("document `not json`")?;
    Ok(())
}

/// (e) The same SESSION_ENDED event twice: one raw object, one designer file, the same bytes
/// after the second delivery as after the first.
#[tokio::test]
async fn duplicate_delivery_leaves_one_raw_object_and_one_identical_output() -> Result<()> {
    let p = Pipeline::connect().await?;
    let t = Transcript::sample("02")?.with_fresh_ids();
    p.emulator.register(&t, Serve::default()).await?;
    let event = TranscriptionEvent::for_transcript(&t)?;

    event.publish(&p.cloud).await?;
    let raw_first = raw_of(&p, &t).await?;
    let out_first = output_of(&p, &t).await?;
    let calls_first = p.emulator.calls(&t.conversation_id).await?;

    // A second later, so that any rewrite shows in LastModified (whole seconds in S3).
    tokio::time::sleep(Duration::from_millis(1100)).await;
    event.publish(&p.cloud).await?;
    // Both routes' queues empty: the second delivery (and the conversion it may trigger) is done.
    p.wait_until_idle(pipeline_timeout())
        .await
        .context("waiting for the second delivery to be handled")?;

    assert_eq!(p.raw_keys(&t.conversation_id).await?, vec![t.raw_key()]);
    assert_eq!(
        p.output_keys(&t.conversation_id).await?,
        vec![t.output_key()?]
    );
    let raw_second = s3::get(p.s3(), raw_bucket(), &t.raw_key()).await?;
    ensure!(
        raw_second.as_deref() == Some(&raw_first[..]),
        "the raw object changed"
    );
    let out_second = s3::get(p.s3(), output_bucket(), &t.output_key()?).await?;
    ensure!(
        out_second.as_deref() == Some(&out_first[..]),
        "the designer file changed after the second delivery"
    );
    let failures = p.fetcher_failures(&t.conversation_id).await?;
    assert!(failures.is_empty(), "{failures:?}");
    let calls = p.emulator.calls(&t.conversation_id).await?;
    eprintln!(
        "duplicate delivery: Genesys calls after the first delivery {calls_first:?}, after the second {calls:?}"
    );
    Ok(())
}

/// (f) A Spanish (es-US) conversation: the designer reads en-US only, so no designer file, and
/// the reason is written to skipped/<raw key>.reason.json in the raw bucket.
#[tokio::test]
async fn spanish_conversation_is_skipped_with_a_reason() -> Result<()> {
    let p = Pipeline::connect().await?;
    let t = Transcript::sample("04")?.with_fresh_ids();
    ensure!(t.languages == ["es-US"], "sample 04 is the es-US one");
    p.emulator.register(&t, Serve::default()).await?;

    p.publish_session_ended(&t).await?;

    let key = skipped_key(&t.raw_key());
    let reason = match s3::wait_for_object(p.s3(), raw_bucket(), &key, pipeline_timeout()).await {
        Ok(bytes) => bytes,
        Err(e) => return Err(p.explain(&t.conversation_id, e).await),
    };
    let reason = json(&reason, &key)?;
    assert_eq!(
        reason["source"],
        s3::uri(raw_bucket(), &t.raw_key()),
        "{key}"
    );
    assert_eq!(
        reason["conversationId"],
        t.conversation_id.as_str(),
        "{key}"
    );
    let why = reason["reason"].as_str().unwrap_or_default();
    ensure!(
        why.contains("es-US") && why.contains("not supported"),
        "{key}: the reason should say es-US is not supported: {why:?}"
    );
    ensure!(
        s3::head(p.s3(), raw_bucket(), &t.raw_key())
            .await?
            .is_some(),
        "the raw transcript must stay"
    );
    assert_eq!(
        p.output_keys(&t.conversation_id).await?,
        Vec::<String>::new(),
        "no designer file for a Spanish conversation"
    );
    Ok(())
}

/// A transcript that is not ready when the session ends (Genesys answers 404 once) is fetched
/// when the event comes back from the wait queue: nothing lost, nothing parked, no failed
/// invocation.
#[tokio::test]
async fn transcript_not_ready_yet_is_fetched_on_retry() -> Result<()> {
    let p = Pipeline::connect().await?;
    let t = Transcript::sample("03")?.with_fresh_ids();
    p.emulator
        .register(
            &t,
            Serve {
                not_ready_for: 1,
                ..Serve::default()
            },
        )
        .await?;

    p.publish_session_ended(&t).await?;

    let raw = raw_of(&p, &t).await?;
    ensure!(
        raw == t.bytes,
        "the raw object differs from the served document"
    );
    output_of(&p, &t).await?;
    let calls = p.emulator.calls(&t.conversation_id).await?;
    ensure!(
        calls.transcript_url.first() == Some(&404) && calls.transcript_url.contains(&200),
        "expected a 404 and then a 200 for the transcript URL: {calls:?}"
    );
    let failures = p.fetcher_failures(&t.conversation_id).await?;
    assert!(failures.is_empty(), "{failures:?}");
    Ok(())
}

/// The backfill path of the CLI, S3 to S3: `mlpipe transcripts convert s3://<raw>/<prefix>
/// --out s3://<output>/<prefix>` reads every `.json` key below the prefix (nested too, other
/// keys left alone), writes one designer file per conversation with the bytes the converter
/// writes, reports the skipped and the failed, exits 1 because one document failed, and a
/// second run writes the same bytes.
#[tokio::test]
async fn cli_backfill_from_s3_to_s3() -> Result<()> {
    let p = Pipeline::connect().await?;
    let run = format!("cli-backfill-{}", uuid_v4());
    let input = format!("{run}/in/");
    let output = format!("{run}/out");

    let mut expected: Vec<(String, Vec<u8>)> = Vec::new();
    for (i, t) in Transcript::samples()?.iter().enumerate() {
        let t = t.with_fresh_ids();
        // Half of them one folder deeper: everything below the prefix counts.
        let key = match i % 2 {
            0 => format!("{input}{}.json", t.conversation_id),
            _ => format!("{input}2025/06/{}.json", t.conversation_id),
        };
        s3::put(p.s3(), raw_bucket(), &key, t.bytes.clone()).await?;
        if let Outcome::Converted(c) = transcript::convert(&t.bytes, Options::default())? {
            expected.push((format!("{output}/{}", c.file_name), c.body));
        }
    }
    expected.sort();
    ensure!(expected.len() == 3, "three English samples, one Spanish");
    for (name, body) in [
        ("broken.json", &b"{\"conversationId\": "[..]),
        ("notes.txt", b"not a transcript"),
    ] {
        s3::put(p.s3(), raw_bucket(), &format!("{input}{name}"), body).await?;
    }

    let (raw_bucket_value, output_bucket_value) = (raw_bucket(), output_bucket());
    let mlpipe = || -> Result<std::process::Output> {
        std::process::Command::new(mlpipe_bin()?)
            .args(["transcripts", "convert"])
            .arg(format!("s3://{raw_bucket_value}/{input}"))
            .arg("--out")
            .arg(format!("s3://{output_bucket_value}/{output}"))
            .env("AWS_ENDPOINT_URL", &p.cloud.endpoint)
            .env("AWS_REGION", integration_tests::REGION)
            .env_remove("AWS_PROFILE")
            .output()
            .context("running mlpipe")
    };
    let mut written: Vec<Vec<(String, Vec<u8>)>> = Vec::new();
    for _ in 0..2 {
        let out = mlpipe()?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        ensure!(
            out.status.code() == Some(1),
            "one document failed, so exit 1; got {:?}\n{stdout}\n{stderr}",
            out.status
        );
        ensure!(
            stdout.contains("converted: 3  skipped: 1  failed: 1  (5 input documents)"),
            "summary: {stdout}\n{stderr}"
        );
        ensure!(stdout.contains("es-US"), "the skipped reason: {stdout}");
        ensure!(
            format!("{stdout}{stderr}").contains("broken.json"),
            "the failed file is named: {stdout}\n{stderr}"
        );
        let mut files = Vec::new();
        for key in s3::list(p.s3(), output_bucket(), &format!("{output}/")).await? {
            let body = s3::get(p.s3(), output_bucket(), &key)
                .await?
                .unwrap_or_default();
            files.push((key, body));
        }
        files.sort();
        written.push(files);
    }
    let names =
        |files: &[(String, Vec<u8>)]| files.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>();
    assert_eq!(names(&written[0]), names(&expected));
    assert!(
        written[0] == expected,
        "the CLI's designer files differ from the conversion's bytes"
    );
    assert!(
        written[1] == written[0],
        "a second run wrote different bytes"
    );
    for (key, body) in &written[0] {
        let name = key.rsplit('/').next().unwrap_or_default();
        let conversation_id = name.split("_analysis_").next().unwrap_or_default();
        lex::check_document(body, conversation_id).with_context(|| key.clone())?;
    }
    s3::delete_prefix(p.s3(), raw_bucket(), &format!("{run}/")).await?;
    s3::delete_prefix(p.s3(), output_bucket(), &format!("{run}/")).await?;
    Ok(())
}

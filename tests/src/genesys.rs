//! The Genesys Cloud -> Lex designer pipeline: resource names (from the deployed stack), sample
//! transcripts, EventBridge transcription events, the emulator's admin API,
//! and waits on the pipeline's outputs.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, ensure, Context, Result};
use serde_json::Value;

use crate::{lex, s3, sqs, stack, LocalCloud};

/// The partner event bus Genesys publishes to (the rule lives on it): the stack parameter.
pub fn partner_bus() -> &'static str {
    stack().parameter("GenesysEventBusName")
}
/// Raw transcripts, written by the fetcher.
pub fn raw_bucket() -> &'static str {
    stack().output("RawBucketName")
}
/// Designer files, written by the converter.
pub fn output_bucket() -> &'static str {
    stack().output("TransformedBucketName")
}
pub const RAW_PREFIX: &str = "genesys/";
pub const OUTPUT_PREFIX: &str = "lex-designer/";
/// In the raw bucket: copies of documents that could not be converted, with `.error.json`.
pub const FAILED_PREFIX: &str = "failed/";
/// In the raw bucket: why a document was not converted (`<raw key>.json`).
pub const SKIPPED_PREFIX: &str = "skipped/";
/// Where the rule delivers transcription events for the fetcher.
pub fn events_queue() -> &'static str {
    stack().relay_queue("GenesysTranscriptFetcher")
}
/// Where the raw bucket notifies the converter.
pub fn raw_created_queue() -> &'static str {
    stack().relay_queue("LexTranscriptConverter")
}
/// On-failure destination of the fetcher.
pub fn fetcher_dlq() -> &'static str {
    stack().queue_name("GenesysFetcherFailureQueue")
}
/// Where the fetcher puts events whose transcript is not ready yet.
pub fn wait_queue() -> &'static str {
    stack().queue_name("GenesysTranscriptWaitQueue")
}
/// On-failure destination of the converter.
pub fn converter_dlq() -> &'static str {
    stack().queue_name("LexConverterFailureQueue")
}
/// The fetcher function.
pub fn fetcher() -> &'static str {
    stack().physical_id("GenesysTranscriptFetcher")
}
/// The converter function.
pub fn converter() -> &'static str {
    stack().physical_id("LexTranscriptConverter")
}
/// The sample transcripts the emulator serves by default.
pub const SAMPLES_DIR: &str = "events/genesys/transcripts";
/// The SESSION_ENDED event the tests' events are built from.
pub const EVENT_FIXTURE: &str =
    "events/genesys/eventbridge/genesys_eb_transcription_session_ended.json";
/// A SESSION_ONGOING event (partial transcripts, as Genesys sends during the call).
pub const ONGOING_EVENT_FIXTURE: &str =
    "events/genesys/eventbridge/genesys_eb_transcription_session_ongoing.json";

/// `genesys/<conversationId>/<communicationId>.json`.
pub fn raw_key(conversation_id: &str, communication_id: &str) -> String {
    format!("{RAW_PREFIX}{conversation_id}/{communication_id}.json")
}

/// `failed/<raw key>` (the copy) and `failed/<raw key>.error.json` (the reason).
pub fn failed_keys(raw_key: &str) -> (String, String) {
    let copy = format!("{FAILED_PREFIX}{raw_key}");
    let error = format!("{copy}.error.json");
    (copy, error)
}

/// `skipped/<raw key>.reason.json`.
pub fn skipped_key(raw_key: &str) -> String {
    format!("{SKIPPED_PREFIX}{raw_key}.reason.json")
}

/// A Genesys transcript document (as the emulator serves it and the fetcher stores it).
#[derive(Debug, Clone)]
pub struct Transcript {
    pub conversation_id: String,
    pub communication_id: String,
    /// `conversationStartTime` (else `startTime`), epoch ms.
    pub start_time_ms: Option<i64>,
    /// The transcripts' `language`s, in order, duplicates removed.
    pub languages: Vec<String>,
    pub bytes: Vec<u8>,
    /// The file it was read from, if any.
    pub path: Option<PathBuf>,
}

impl Transcript {
    /// Parses a document's ids, start time and languages.
    pub fn from_bytes(bytes: Vec<u8>, path: Option<PathBuf>) -> Result<Self> {
        let doc: Value = serde_json::from_slice(&bytes).context("not a JSON document")?;
        let id = |field: &str| -> Result<String> {
            doc[field]
                .as_str()
                .map(str::to_owned)
                .with_context(|| format!("{field} missing or not a string"))
        };
        let mut languages: Vec<String> = Vec::new();
        for t in doc["transcripts"].as_array().into_iter().flatten() {
            if let Some(l) = t["language"].as_str() {
                if !languages.iter().any(|x| x == l) {
                    languages.push(l.to_owned());
                }
            }
        }
        Ok(Self {
            conversation_id: id("conversationId")?,
            communication_id: id("communicationId")?,
            start_time_ms: doc["conversationStartTime"]
                .as_i64()
                .or_else(|| doc["startTime"].as_i64()),
            languages,
            bytes,
            path,
        })
    }

    /// Reads a document file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        Self::from_bytes(bytes, Some(path.to_path_buf()))
            .with_context(|| format!("{}", path.display()))
    }

    /// The samples of events/genesys/transcripts, by file name.
    pub fn samples() -> Result<Vec<Self>> {
        let dir = crate::repo_root().join(SAMPLES_DIR);
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .with_context(|| format!("reading {}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        files.iter().map(Self::load).collect()
    }

    /// The sample whose file name starts with `prefix` (`"01"`, `"04"`, ...).
    pub fn sample(prefix: &str) -> Result<Self> {
        Self::samples()?
            .into_iter()
            .find(|t| {
                t.path
                    .as_deref()
                    .and_then(Path::file_name)
                    .is_some_and(|n| n.to_string_lossy().starts_with(prefix))
            })
            .with_context(|| format!("no sample {prefix}* in {SAMPLES_DIR}"))
    }

    /// The same document under new ids (every occurrence of the old ids is replaced, so the
    /// rest of the bytes stay as they are).
    pub fn with_ids(&self, conversation_id: &str, communication_id: &str) -> Self {
        let text = String::from_utf8_lossy(&self.bytes)
            .replace(
                &format!("\"{}\"", self.conversation_id),
                &format!("\"{conversation_id}\""),
            )
            .replace(
                &format!("\"{}\"", self.communication_id),
                &format!("\"{communication_id}\""),
            );
        Self {
            conversation_id: conversation_id.to_owned(),
            communication_id: communication_id.to_owned(),
            bytes: text.into_bytes(),
            path: None,
            ..self.clone()
        }
    }

    /// The same document under fresh random ids, so that a test owns its conversation.
    pub fn with_fresh_ids(&self) -> Self {
        self.with_ids(&crate::uuid_v4(), &crate::uuid_v4())
    }

    /// Where the fetcher stores it.
    pub fn raw_key(&self) -> String {
        raw_key(&self.conversation_id, &self.communication_id)
    }

    /// Where the converter writes its designer file.
    pub fn output_key(&self) -> Result<String> {
        let start = self
            .start_time_ms
            .context("the document has no conversationStartTime/startTime")?;
        Ok(format!(
            "{OUTPUT_PREFIX}{}",
            lex::file_name(&self.conversation_id, start)?
        ))
    }

    /// Does the designer read it (some transcript in en-US, or no language given)?
    pub fn is_english_us(&self) -> bool {
        self.languages.is_empty()
            || self
                .languages
                .iter()
                .any(|l| l.eq_ignore_ascii_case("en-US"))
    }

    /// The file name, or the conversation id.
    pub fn label(&self) -> String {
        self.path
            .as_deref()
            .and_then(Path::file_name)
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| self.conversation_id.clone())
    }
}

/// A `v2.conversations.{id}.transcription` event, built from the fixture.
#[derive(Debug, Clone)]
pub struct TranscriptionEvent {
    pub envelope: Value,
}

impl TranscriptionEvent {
    /// A SESSION_ENDED event for the conversation/communication.
    pub fn session_ended(conversation_id: &str, communication_id: &str) -> Result<Self> {
        let mut event = Self::from_fixture(EVENT_FIXTURE, conversation_id, communication_id)?;
        event.envelope["detail"]["eventBody"]["status"]["status"] =
            Value::String("SESSION_ENDED".to_owned());
        Ok(event)
    }

    /// The SESSION_ONGOING fixture (with partial transcripts in the event) for the
    /// conversation/communication.
    pub fn ongoing(conversation_id: &str, communication_id: &str) -> Result<Self> {
        Self::from_fixture(ONGOING_EVENT_FIXTURE, conversation_id, communication_id)
    }

    /// An event fixture (relative to the repository root) with the conversation and
    /// communication ids (and the topic name, and a fresh event id) replaced.
    pub fn from_fixture(
        fixture: &str,
        conversation_id: &str,
        communication_id: &str,
    ) -> Result<Self> {
        let path = crate::repo_root().join(fixture);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let mut envelope: Value =
            serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        ensure!(
            envelope["detail"]["eventBody"].is_object(),
            "{fixture}: no detail.eventBody"
        );
        envelope["id"] = Value::String(crate::uuid_v4());
        let detail = &mut envelope["detail"];
        detail["topicName"] =
            Value::String(format!("v2.conversations.{conversation_id}.transcription"));
        detail["eventBody"]["conversationId"] = Value::String(conversation_id.to_owned());
        detail["eventBody"]["communicationId"] = Value::String(communication_id.to_owned());
        Ok(Self { envelope })
    }

    /// A SESSION_ENDED event for the transcript.
    pub fn for_transcript(t: &Transcript) -> Result<Self> {
        Self::session_ended(&t.conversation_id, &t.communication_id)
    }

    /// The same event with another `status.status` (`SESSION_ONGOING`, ...), or with no `status`
    /// at all for `None`.
    pub fn with_status(mut self, status: Option<&str>) -> Self {
        let body = &mut self.envelope["detail"]["eventBody"];
        match status {
            Some(s) => body["status"]["status"] = Value::String(s.to_owned()),
            None => {
                if let Some(o) = body.as_object_mut() {
                    o.remove("status");
                }
            }
        }
        self
    }

    pub fn conversation_id(&self) -> &str {
        self.envelope["detail"]["eventBody"]["conversationId"]
            .as_str()
            .unwrap_or_default()
    }

    /// Puts it on the partner bus; returns the EventBridge event id.
    pub async fn publish(&self, cloud: &LocalCloud) -> Result<String> {
        crate::events::put_envelope(&cloud.events, partner_bus(), &self.envelope).await
    }
}

/// What the emulator should answer for a registered document.
#[derive(Debug, Clone, Copy, Default)]
pub struct Serve {
    /// The first N transcript URL requests answer 404 (transcription still running).
    pub not_ready_for: u32,
    /// Every transcript URL request answers 404 (archived recording).
    pub gone: bool,
}

/// Status codes the emulator answered for one conversation, in call order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Calls {
    pub transcript_url: Vec<u16>,
    pub downloads: Vec<u16>,
}

/// The Genesys emulator's admin API (`/_emulator/genesys`).
#[derive(Debug, Clone)]
pub struct Emulator {
    http: reqwest::Client,
    base: String,
}

impl Emulator {
    pub fn new(cloud: &LocalCloud) -> Self {
        Self {
            http: cloud.http.clone(),
            base: format!("{}/_emulator/genesys", cloud.emulator_url),
        }
    }

    fn document_url(&self, conversation_id: &str, communication_id: &str) -> String {
        format!(
            "{}/conversations/{}/communications/{}",
            self.base,
            encode_segment(conversation_id),
            encode_segment(communication_id)
        )
    }

    /// Registers (or replaces) the document the emulator serves for its ids.
    pub async fn register(&self, t: &Transcript, serve: Serve) -> Result<()> {
        let mut request = self
            .http
            .put(self.document_url(&t.conversation_id, &t.communication_id))
            .header("content-type", "application/json")
            .body(t.bytes.clone());
        if serve.not_ready_for > 0 {
            request = request.query(&[("notReadyFor", serve.not_ready_for.to_string())]);
        }
        if serve.gone {
            request = request.query(&[("gone", "true")]);
        }
        let response = request
            .send()
            .await
            .context("registering a document with the emulator")?;
        let status = response.status();
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            bail!(
                "the emulator refused the document {}/{}: {status} {body}",
                t.conversation_id,
                t.communication_id
            );
        }
        Ok(())
    }

    /// Stops serving a document (fine if it was not served).
    pub async fn remove(&self, conversation_id: &str, communication_id: &str) -> Result<()> {
        let response = self
            .http
            .delete(self.document_url(conversation_id, communication_id))
            .send()
            .await
            .context("removing a document from the emulator")?;
        let status = response.status().as_u16();
        ensure!(
            status == 204 || status == 404,
            "the emulator answered {status} to DELETE"
        );
        Ok(())
    }

    /// `GET /requests`: counters and the call log.
    pub async fn requests(&self) -> Result<Value> {
        let response = self
            .http
            .get(format!("{}/requests", self.base))
            .send()
            .await
            .context("reading the emulator's request log")?
            .error_for_status()?;
        Ok(response.json().await?)
    }

    /// What the emulator answered for one conversation so far.
    pub async fn calls(&self, conversation_id: &str) -> Result<Calls> {
        let all = self.requests().await?;
        let c = &all["conversations"][conversation_id];
        let statuses = |v: &Value| -> Vec<u16> {
            v.as_array()
                .into_iter()
                .flatten()
                .filter_map(|s| s.as_u64().map(|s| s as u16))
                .collect()
        };
        Ok(Calls {
            transcript_url: statuses(&c["transcriptUrl"]),
            downloads: statuses(&c["downloads"]),
        })
    }
}

/// Percent-encodes a path segment (ids are UUIDs in practice; this keeps odd test ids safe).
fn encode_segment(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The pipeline as the tests and the demo drive it.
#[derive(Debug, Clone)]
pub struct Pipeline {
    pub cloud: LocalCloud,
    pub emulator: Emulator,
}

impl Pipeline {
    /// Connects and checks the pipeline's buckets and queues exist.
    pub async fn connect() -> Result<Self> {
        let cloud = LocalCloud::connect().await?;
        cloud
            .require_buckets(&[raw_bucket(), output_bucket()])
            .await?;
        cloud
            .require_queues(&[
                events_queue(),
                raw_created_queue(),
                fetcher_dlq(),
                converter_dlq(),
            ])
            .await?;
        let emulator = Emulator::new(&cloud);
        Ok(Self { cloud, emulator })
    }

    pub fn s3(&self) -> &aws_sdk_s3::Client {
        &self.cloud.s3
    }

    pub fn sqs(&self) -> &aws_sdk_sqs::Client {
        &self.cloud.sqs
    }

    /// Publishes a SESSION_ENDED event for the transcript.
    pub async fn publish_session_ended(&self, t: &Transcript) -> Result<String> {
        TranscriptionEvent::for_transcript(t)?
            .publish(&self.cloud)
            .await
    }

    /// Waits for the fetcher's raw object and returns its bytes.
    pub async fn wait_for_raw(&self, t: &Transcript, timeout: Duration) -> Result<Vec<u8>> {
        s3::wait_for_object(self.s3(), raw_bucket(), &t.raw_key(), timeout).await
    }

    /// Waits for the converter's designer file and returns its bytes.
    pub async fn wait_for_output(&self, t: &Transcript, timeout: Duration) -> Result<Vec<u8>> {
        s3::wait_for_object(self.s3(), output_bucket(), &t.output_key()?, timeout).await
    }

    /// Raw objects of a conversation (`genesys/<c>/`).
    pub async fn raw_keys(&self, conversation_id: &str) -> Result<Vec<String>> {
        s3::list(
            self.s3(),
            raw_bucket(),
            &format!("{RAW_PREFIX}{conversation_id}/"),
        )
        .await
    }

    /// Designer files of a conversation (`lex-designer/<c>_`).
    pub async fn output_keys(&self, conversation_id: &str) -> Result<Vec<String>> {
        s3::list(
            self.s3(),
            output_bucket(),
            &format!("{OUTPUT_PREFIX}{conversation_id}_"),
        )
        .await
    }

    /// On-failure records of the fetcher that are about this conversation (left in the queue).
    pub async fn fetcher_failures(&self, conversation_id: &str) -> Result<Vec<Value>> {
        let url = sqs::queue_url(self.sqs(), fetcher_dlq()).await?;
        let found = sqs::find(
            self.sqs(),
            &url,
            |r| mentions_conversation(r, conversation_id),
            false,
        )
        .await?;
        Ok(found.into_iter().map(|r| r.body).collect())
    }

    /// On-failure records of the converter that mention this text (e.g. a raw key), left in the
    /// queue.
    pub async fn converter_failures(&self, needle: &str) -> Result<Vec<Value>> {
        let url = sqs::queue_url(self.sqs(), converter_dlq()).await?;
        let found = sqs::find(self.sqs(), &url, |r| r.to_string().contains(needle), false).await?;
        Ok(found.into_iter().map(|r| r.body).collect())
    }

    /// What the local cloud knows about a conversation, for a failing test's message: the
    /// objects under its keys, the emulator's answers, on-failure records, and the functions'
    /// log lines that mention it.
    pub async fn diagnose(&self, conversation_id: &str) -> String {
        let mut out =
            format!("--- what the local cloud shows for conversation {conversation_id}:\n");
        let raw = s3::list(self.s3(), raw_bucket(), "").await.map(|keys| {
            keys.into_iter()
                .filter(|k| k.contains(conversation_id))
                .collect::<Vec<_>>()
        });
        out += &format!("raw bucket keys: {raw:?}\n");
        out += &format!(
            "output keys: {:?}\n",
            self.output_keys(conversation_id).await
        );
        out += &format!(
            "emulator calls: {:?}\n",
            self.emulator.calls(conversation_id).await
        );
        let failures = self.fetcher_failures(conversation_id).await.map(|f| {
            f.iter()
                .map(|r| r["responsePayload"].to_string())
                .collect::<Vec<_>>()
        });
        out += &format!("fetcher on-failure records: {failures:?}\n");
        out += &format!(
            "converter on-failure records: {:?}\n",
            self.converter_failures(conversation_id)
                .await
                .map(|f| f.len())
        );
        for queue in [events_queue(), raw_created_queue()] {
            let counts = match sqs::queue_url(self.sqs(), queue).await {
                Ok(url) => sqs::counts(self.sqs(), &url).await,
                Err(e) => Err(e),
            };
            out += &match counts {
                Ok(c) => format!(
                    "queue {queue}: {} waiting, {} in flight{}\n",
                    c.visible,
                    c.in_flight,
                    if c.visible > 0 {
                        " (is the relay running? scripts/localcloud.sh status)"
                    } else {
                        ""
                    }
                ),
                Err(e) => format!("queue {queue}: {e:#}\n"),
            };
        }
        let log = crate::repo_root().join(".localcloud/functions.log");
        match std::fs::read_to_string(&log) {
            Ok(text) => {
                let lines: Vec<&str> = text
                    .lines()
                    .filter(|l| l.contains(conversation_id))
                    .collect();
                out += &format!(
                    "{} line(s) of .localcloud/functions.log mention it{}\n",
                    lines.len(),
                    if lines.is_empty() {
                        ""
                    } else {
                        "; the last ones:"
                    }
                );
                for l in lines.iter().rev().take(10).rev() {
                    out += &format!("  {}\n", l.chars().take(400).collect::<String>());
                }
            }
            Err(e) => out += &format!("(no {}: {e})\n", log.display()),
        }
        out
    }

    /// `error` followed by [`Pipeline::diagnose`] of the conversation: for a test that timed out.
    pub async fn explain(&self, conversation_id: &str, error: anyhow::Error) -> anyhow::Error {
        anyhow::anyhow!("{error:#}\n{}", self.diagnose(conversation_id).await)
    }

    /// Waits until both routes' queues are empty with nothing in flight (every event put so
    /// far has been handled, by this test and by the others).
    pub async fn wait_until_idle(&self, timeout: Duration) -> Result<()> {
        sqs::wait_until_drained(self.sqs(), &[events_queue(), raw_created_queue()], timeout).await
    }
}

/// Is this on-failure record's event about the conversation?
pub fn mentions_conversation(record: &Value, conversation_id: &str) -> bool {
    record["requestPayload"]["detail"]["eventBody"]["conversationId"] == conversation_id
        || record["event"]["detail"]["eventBody"]["conversationId"] == conversation_id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        assert_eq!(raw_key("c", "m"), "genesys/c/m.json");
        assert_eq!(
            failed_keys("genesys/c/m.json"),
            (
                "failed/genesys/c/m.json".to_owned(),
                "failed/genesys/c/m.json.error.json".to_owned()
            )
        );
        assert_eq!(
            skipped_key("genesys/c/m.json"),
            "skipped/genesys/c/m.json.reason.json"
        );
    }

    #[test]
    fn samples_and_fresh_ids() {
        let samples = Transcript::samples().unwrap();
        assert_eq!(samples.len(), 4);
        let first = &samples[0];
        assert_eq!(
            first.conversation_id,
            "e88b7591-31db-4e32-98dc-b35f94c662cd"
        );
        assert_eq!(
            first.output_key().unwrap(),
            "lex-designer/e88b7591-31db-4e32-98dc-b35f94c662cd_analysis_2025-06-03T14:12:00Z.json"
        );
        assert!(first.is_english_us());
        assert!(!samples[3].is_english_us());

        let fresh = first.with_fresh_ids();
        assert_ne!(fresh.conversation_id, first.conversation_id);
        let reparsed = Transcript::from_bytes(fresh.bytes.clone(), None).unwrap();
        assert_eq!(reparsed.conversation_id, fresh.conversation_id);
        assert_eq!(reparsed.communication_id, fresh.communication_id);
        assert_eq!(reparsed.start_time_ms, first.start_time_ms);
        assert_eq!(fresh.bytes.len(), first.bytes.len());
    }

    #[test]
    fn events_from_the_fixture() {
        let e = TranscriptionEvent::session_ended("c1", "m1").unwrap();
        assert_eq!(e.conversation_id(), "c1");
        let body = &e.envelope["detail"]["eventBody"];
        assert_eq!(body["communicationId"], "m1");
        assert_eq!(body["status"]["status"], "SESSION_ENDED");
        assert!(e.envelope["source"]
            .as_str()
            .unwrap()
            .starts_with("aws.partner/genesys.com"));
        assert_eq!(
            e.envelope["detail-type"],
            "v2.conversations.{id}.transcription"
        );
        let ongoing = TranscriptionEvent::ongoing("c2", "m2").unwrap();
        assert_eq!(ongoing.conversation_id(), "c2");
        assert_eq!(
            ongoing.envelope["detail"]["eventBody"]["status"]["status"],
            "SESSION_ONGOING"
        );
        assert_eq!(
            ongoing.envelope["detail"]["topicName"],
            "v2.conversations.c2.transcription"
        );
        let none = e.clone().with_status(None);
        assert!(none.envelope["detail"]["eventBody"].get("status").is_none());
        let ongoing = e.with_status(Some("SESSION_ONGOING"));
        assert_eq!(
            ongoing.envelope["detail"]["eventBody"]["status"]["status"],
            "SESSION_ONGOING"
        );
    }
}

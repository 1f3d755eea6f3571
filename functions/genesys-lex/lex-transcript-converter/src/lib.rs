//! `lex-transcript-converter`: raw Genesys Cloud transcripts -> Lex V2 automated chatbot
//! designer files.
//!
//! Triggered by S3 `ObjectCreated` on the raw bucket (keys `<RAW_PREFIX><conversationId>/<communicationId>.json`,
//! written by `genesys-transcript-fetcher`). A conversation can have several communications, so
//! the converter reads every raw document of the conversation's folder and writes one designer
//! file for the conversation: `<OUTPUT_PREFIX>/<conversationId>_analysis_<YYYY-MM-DDTHH:MM:SSZ>.json`
//! in `OUTPUT_BUCKET`. The output depends only on the raw documents, so redelivered events and
//! reruns rewrite the same bytes.
//!
//! Nothing is lost, and bad documents are not retried forever:
//! * a malformed document stays where it is; a copy goes to `<FAILED_PREFIX><key>` with
//!   `<FAILED_PREFIX><key>.error.json` naming the field and the problem;
//! * a conversation the designer cannot read (not en-US, no text) gets a reason file at
//!   `<SKIPPED_PREFIX><key>.reason.json`;
//! * S3 failures (throttling, 5xx, time-outs) fail the invocation with errorType `Retryable`, so
//!   Lambda's asynchronous retries and the on-failure destination take over.
//!
//! Backfill: invoke with `{"backfill": {"bucket": "...", "prefix": "genesys/"}}` (both optional,
//! defaulting to `RAW_BUCKET` and `RAW_PREFIX`) to convert every conversation under a prefix.

use std::collections::BTreeMap;

use aws_lambda_events::s3::S3Event;
use bytes::Bytes;
use genesys_lex_core::{self as transcript, ConvertError, Options, Outcome};
use serde::Deserialize;
use serde_json::{json, Value};
use shared::config::{bool_or, optional, prefix_or, required, ConfigError, Source};
use shared::metrics::{Metrics, Unit};
use shared::store::{s3_uri, ObjectStore};
use shared::PipelineError;

/// Settings, from environment variables.
#[derive(Debug, Clone)]
pub struct Config {
    /// `OUTPUT_BUCKET` (required): where designer files go.
    pub output_bucket: String,
    /// `OUTPUT_PREFIX` (default `lex-designer`).
    pub output_prefix: String,
    /// `RAW_PREFIX` (default `genesys/`): only keys below it are converted.
    pub raw_prefix: String,
    /// `RAW_BUCKET` (optional): the default bucket of backfill requests.
    pub raw_bucket: Option<String>,
    /// `FAILED_PREFIX` (default `failed/`), in the bucket of the failed document.
    pub failed_prefix: String,
    /// `SKIPPED_PREFIX` (default `skipped/`), in the bucket of the skipped document.
    pub skipped_prefix: String,
    /// `REDACT_PII` (default false).
    pub options: Options,
}

impl Config {
    pub fn from_source(src: &impl Source) -> Result<Self, ConfigError> {
        let config = Self {
            output_bucket: required(src, "OUTPUT_BUCKET")?,
            output_prefix: prefix_or(src, "OUTPUT_PREFIX", "lex-designer", false)?,
            raw_prefix: prefix_or(src, "RAW_PREFIX", "genesys/", true)?,
            raw_bucket: optional(src, "RAW_BUCKET"),
            failed_prefix: prefix_or(src, "FAILED_PREFIX", "failed/", true)?,
            skipped_prefix: prefix_or(src, "SKIPPED_PREFIX", "skipped/", true)?,
            options: Options {
                redact_pii: bool_or(src, "REDACT_PII", false)?,
            },
        };
        for (name, p) in [
            ("FAILED_PREFIX", &config.failed_prefix),
            ("SKIPPED_PREFIX", &config.skipped_prefix),
        ] {
            if p.is_empty()
                || p.starts_with(&config.raw_prefix)
                || config.raw_prefix.starts_with(p.as_str())
            {
                return Err(ConfigError::new(
                    name,
                    format!("{p:?} must be non-empty and outside RAW_PREFIX {:?} (or its writes would trigger the converter again)", config.raw_prefix),
                ));
            }
        }
        Ok(config)
    }
}

/// A backfill request.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Backfill {
    pub bucket: Option<String>,
    pub prefix: Option<String>,
}

/// What happened to one conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Converted {
        output: String,
        turns: usize,
    },
    Skipped {
        reason: String,
    },
    /// Malformed: copied to the failed prefix with the reason.
    Quarantined {
        reason: String,
    },
    Ignored {
        reason: String,
    },
}

/// The handler.
pub struct Converter<S> {
    store: S,
    config: Config,
}

impl<S: ObjectStore> Converter<S> {
    pub fn new(store: S, config: Config) -> Self {
        Self { store, config }
    }

    /// Handles an S3 notification or a backfill request.
    pub async fn handle(&self, event: Value) -> Result<Value, PipelineError> {
        let mut metrics = Metrics::from_env();
        let result = if event.get("Records").is_some() {
            let event = shared::s3_event::parse(event)?;
            self.handle_s3(event, &mut metrics).await
        } else if let Some(b) = event.get("backfill") {
            let b: Backfill = serde_json::from_value(b.clone())
                .map_err(|e| PipelineError::invalid_input(format!("backfill: {e}")))?;
            self.backfill(b, &mut metrics).await
        } else {
            Err(PipelineError::invalid_input(
                "event: neither an S3 notification (Records) nor a backfill request (backfill)",
            ))
        };
        metrics.flush();
        result
    }

    async fn handle_s3(
        &self,
        event: S3Event,
        metrics: &mut Metrics,
    ) -> Result<Value, PipelineError> {
        let mut results = Vec::with_capacity(event.records.len());
        let mut first_error = None;
        for (i, record) in event.records.iter().enumerate() {
            let object = shared::s3_event::object(i, record)?;
            let (bucket, key) = (object.bucket, object.key.as_str());
            let action = if !object.is_created() {
                Ok(Action::Ignored {
                    reason: format!("event {:?} is not ObjectCreated", object.event_name),
                })
            } else {
                self.on_object(bucket, key, metrics).await
            };
            match action {
                Ok(a) => results.push(report(bucket, key, &a)),
                Err(e) => {
                    tracing::error!(key = %key, error_type = e.kind.error_type(), "conversion failed: {}", e.message);
                    metrics.count("ConversionErrors");
                    first_error.get_or_insert(e);
                }
            }
        }
        // Every record was attempted; a retry redoes the successful ones with the same bytes.
        match first_error {
            Some(e) => Err(e),
            None => Ok(json!({ "results": results })),
        }
    }

    /// Converts the conversation a newly created raw object belongs to.
    async fn on_object(
        &self,
        bucket: &str,
        key: &str,
        metrics: &mut Metrics,
    ) -> Result<Action, PipelineError> {
        let Some(rest) = key
            .strip_prefix(self.config.raw_prefix.as_str())
            .filter(|_| key.ends_with(".json"))
        else {
            tracing::info!(key, "ignored: not a .json object under RAW_PREFIX");
            return Ok(Action::Ignored {
                reason: format!("not a .json object under {:?}", self.config.raw_prefix),
            });
        };
        // `<conversationId>/<communicationId>.json`: read the whole conversation folder.
        let keys = match rest.split_once('/') {
            Some((conversation, _)) if !conversation.is_empty() => {
                let folder = format!("{}{conversation}/", self.config.raw_prefix);
                let mut keys: Vec<String> = self
                    .store
                    .list(bucket, &folder)
                    .await?
                    .into_iter()
                    .filter(|k| k.ends_with(".json") && !k[folder.len()..].contains('/'))
                    .collect();
                if !keys.iter().any(|k| k == key) {
                    // Not listed yet (or deleted since): convert what the event names.
                    keys.push(key.to_owned());
                    keys.sort();
                }
                keys
            }
            _ => vec![key.to_owned()],
        };
        let mut actions = self.convert_keys(bucket, &keys, Some(key), metrics).await?;
        Ok(actions.remove(key).unwrap_or(Action::Ignored {
            reason: "no conversation".to_owned(),
        }))
    }

    async fn backfill(
        &self,
        request: Backfill,
        metrics: &mut Metrics,
    ) -> Result<Value, PipelineError> {
        let bucket = request
            .bucket
            .or_else(|| self.config.raw_bucket.clone())
            .ok_or_else(|| {
                PipelineError::invalid_input("backfill.bucket: missing and RAW_BUCKET is not set")
            })?;
        let prefix = request
            .prefix
            .unwrap_or_else(|| self.config.raw_prefix.clone());
        if !prefix.starts_with(self.config.raw_prefix.as_str()) {
            return Err(PipelineError::invalid_input(format!(
                "backfill.prefix: {prefix:?} is not under RAW_PREFIX {:?}",
                self.config.raw_prefix
            )));
        }
        let keys = self.store.list(&bucket, &prefix).await?;
        // Group by conversation folder; loose files stand alone.
        let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for key in keys.into_iter().filter(|k| k.ends_with(".json")) {
            let rest = &key[self.config.raw_prefix.len()..];
            let group = match rest.split_once('/') {
                Some((c, m)) if !c.is_empty() && !m.contains('/') => c.to_owned(),
                _ => key.clone(),
            };
            groups.entry(group).or_default().push(key);
        }
        let (mut converted, mut skipped, mut failed) = (0, 0, 0);
        for keys in groups.values() {
            for action in self
                .convert_keys(&bucket, keys, None, metrics)
                .await?
                .into_values()
            {
                match action {
                    Action::Converted { .. } => converted += 1,
                    Action::Skipped { .. } => skipped += 1,
                    Action::Quarantined { .. } => failed += 1,
                    Action::Ignored { .. } => {}
                }
            }
        }
        Ok(json!({
            "bucket": bucket,
            "prefix": prefix,
            "conversations": groups.len(),
            "converted": converted,
            "skipped": skipped,
            "failed": failed,
        }))
    }

    /// Reads, parses and converts the raw documents of one conversation folder. Malformed
    /// documents are quarantined. Returns the action per key: all keys of a converted
    /// conversation map to the same action (deduplicated for backfill counts by `trigger`).
    async fn convert_keys(
        &self,
        bucket: &str,
        keys: &[String],
        trigger: Option<&str>,
        metrics: &mut Metrics,
    ) -> Result<BTreeMap<String, Action>, PipelineError> {
        let mut bodies: Vec<(&str, Bytes)> = Vec::with_capacity(keys.len());
        for key in keys {
            match self.store.get(bucket, key).await {
                Ok(b) => bodies.push((key, b)),
                // Deleted since it was listed: another event will say so, or nobody cares.
                Err(e)
                    if e.kind == shared::ErrorKind::InvalidInput
                        && trigger != Some(key.as_str()) =>
                {
                    tracing::warn!(key = %key, "raw document vanished before it was read");
                }
                Err(e) => return Err(e),
            }
        }
        metrics.add(
            "InputBytes",
            Unit::Bytes,
            bodies.iter().map(|(_, b)| b.len() as f64).sum(),
        );

        let mut actions = BTreeMap::new();
        // Conversation id -> parsed documents, in key order.
        let mut conversations: BTreeMap<String, Vec<(&str, transcript::genesys::Document)>> =
            BTreeMap::new();
        // Unused members (word-level detail, analytics) are removed before parsing; quarantine
        // keeps the original bytes.
        let skimmed: Vec<Bytes> = bodies
            .iter()
            .map(|(_, b)| transcript::skim::strip_unused_bytes(b.clone()))
            .collect();
        for ((key, body), skimmed) in bodies.iter().zip(&skimmed) {
            match transcript::parse(skimmed) {
                Ok(doc) => {
                    let id = doc
                        .conversation_id
                        .as_deref()
                        .unwrap_or_default()
                        .to_owned();
                    conversations.entry(id).or_default().push((key, doc));
                }
                Err(err) => {
                    self.quarantine(bucket, key, body, &err).await?;
                    metrics.count("TranscriptsFailed");
                    actions.insert(
                        (*key).to_owned(),
                        Action::Quarantined {
                            reason: err.to_string(),
                        },
                    );
                }
            }
        }

        for (conversation_id, docs) in conversations {
            // Documents filed under another conversation's folder are converted separately
            // when their own event arrives; with a trigger, only its conversation matters.
            if let Some(t) = trigger {
                if !docs.iter().any(|(k, _)| *k == t) {
                    tracing::warn!(
                        conversation_id,
                        "raw folder holds a document of another conversation"
                    );
                    continue;
                }
            }
            let keys: Vec<&str> = docs.iter().map(|(k, _)| *k).collect();
            let parsed: Vec<_> = docs.into_iter().map(|(_, d)| d).collect();
            let action = match transcript::convert_documents(&parsed, self.config.options) {
                Ok(Outcome::Converted(c)) => {
                    let key = transcript::output_key(&self.config.output_prefix, &c.file_name);
                    self.store
                        .put(
                            &self.config.output_bucket,
                            &key,
                            Bytes::from(c.body),
                            "application/json",
                        )
                        .await?;
                    tracing::info!(
                        conversation_id,
                        documents = keys.len(),
                        turns = c.turns,
                        output = %s3_uri(&self.config.output_bucket, &key),
                        skipped_languages = ?c.skipped_languages,
                        "converted"
                    );
                    metrics.count("TranscriptsConverted");
                    metrics.add("Turns", Unit::Count, c.turns as f64);
                    Action::Converted {
                        output: s3_uri(&self.config.output_bucket, &key),
                        turns: c.turns,
                    }
                }
                Ok(Outcome::Skipped { reason, .. }) => {
                    for key in &keys {
                        let note = json!({
                            "source": s3_uri(bucket, key),
                            "conversationId": conversation_id,
                            "reason": reason,
                        });
                        let note_key = format!("{}{key}.reason.json", self.config.skipped_prefix);
                        self.store
                            .put(bucket, &note_key, to_bytes(&note), "application/json")
                            .await?;
                    }
                    tracing::info!(conversation_id, reason = %reason, "skipped");
                    metrics.count("TranscriptsSkipped");
                    Action::Skipped { reason }
                }
                Err(err) => {
                    // Conversation-level problems (e.g. no usable start time).
                    for key in &keys {
                        if let Some((_, body)) = bodies.iter().find(|(k, _)| k == key) {
                            self.quarantine(bucket, key, body, &err).await?;
                        }
                    }
                    metrics.count("TranscriptsFailed");
                    Action::Quarantined {
                        reason: err.to_string(),
                    }
                }
            };
            for key in keys {
                actions.insert(key.to_owned(), action.clone());
            }
        }
        if trigger.is_none() {
            // Backfill counts conversations, not documents.
            let mut seen = std::collections::BTreeSet::new();
            actions.retain(|_, a| match a {
                Action::Converted { output, .. } => seen.insert(output.clone()),
                _ => true,
            });
        }
        Ok(actions)
    }

    /// Copies a malformed document to the failed prefix, with the reason next to it.
    async fn quarantine(
        &self,
        bucket: &str,
        key: &str,
        body: &Bytes,
        err: &ConvertError,
    ) -> Result<(), PipelineError> {
        let copy = format!("{}{key}", self.config.failed_prefix);
        self.store
            .put(bucket, &copy, body.clone(), "application/json")
            .await?;
        let reason = json!({
            "source": s3_uri(bucket, key),
            "errorType": shared::ErrorKind::InvalidInput.error_type(),
            "field": err.field,
            "error": err.to_string(),
        });
        self.store
            .put(
                bucket,
                &format!("{copy}.error.json"),
                to_bytes(&reason),
                "application/json",
            )
            .await?;
        tracing::warn!(key, field = %err.field, "malformed transcript quarantined at {}", s3_uri(bucket, &copy));
        Ok(())
    }
}

fn report(bucket: &str, key: &str, action: &Action) -> Value {
    let source = s3_uri(bucket, key);
    match action {
        Action::Converted { output, turns } => {
            json!({"source": source, "action": "converted", "output": output, "turns": turns})
        }
        Action::Skipped { reason } => {
            json!({"source": source, "action": "skipped", "reason": reason})
        }
        Action::Quarantined { reason } => {
            json!({"source": source, "action": "quarantined", "reason": reason})
        }
        Action::Ignored { reason } => {
            json!({"source": source, "action": "ignored", "reason": reason})
        }
    }
}

fn to_bytes(v: &Value) -> Bytes {
    let mut out = serde_json::to_vec_pretty(v).expect("JSON values serialise");
    out.push(b'\n');
    Bytes::from(out)
}

#[cfg(test)]
mod tests;

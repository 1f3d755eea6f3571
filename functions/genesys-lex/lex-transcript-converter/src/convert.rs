//! Converting the raw documents of one conversation folder: read, skim, parse, group by
//! conversation, convert, write; malformed documents are quarantined and conversations the
//! designer cannot read get reason files.

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use genesys_lex_core::group::{self, Conversation};
use genesys_lex_core::{self as transcript, keys, ConvertError, Outcome};
use serde_json::json;
use shared::metrics::{Metrics, Unit};
use shared::store::{s3_uri, ObjectStore};
use shared::{ErrorKind, PipelineError};
use tracing::Instrument;

use crate::{to_bytes, Action, Converter, CONTENT_TYPE};

impl<S: ObjectStore> Converter<S> {
    /// Reads, parses and converts the raw documents of one conversation folder. Malformed
    /// documents are quarantined. Returns the action per key: all keys of a converted
    /// conversation map to the same action (deduplicated for backfill counts when there is no
    /// `trigger`, the key an S3 event named).
    pub(crate) async fn convert_keys(
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
                Err(e) if e.kind == ErrorKind::InvalidInput && trigger != Some(key.as_str()) => {
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
        // Unused members (word-level detail, analytics) are removed before parsing; quarantine
        // keeps the original bytes.
        let skimmed: Vec<Bytes> = bodies
            .iter()
            .map(|(_, b)| transcript::skim::strip_unused_bytes(b.clone()))
            .collect();
        let mut parsed = Vec::with_capacity(bodies.len());
        for ((key, body), skimmed) in bodies.iter().zip(&skimmed) {
            // A byte-order mark is ignored; a phrase without a time only matters where the
            // settings would use it.
            match transcript::parse_with(skimmed, self.config.options) {
                Ok(doc) => parsed.push((*key, doc)),
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

        for conversation in group::by_conversation(parsed) {
            // Documents filed under another conversation's folder are converted separately
            // when their own event arrives; with a trigger, only its conversation matters.
            if let Some(t) = trigger {
                if !conversation.members.contains(&t) {
                    tracing::warn!(
                        conversation_id = conversation.conversation_id,
                        "raw folder holds a document of another conversation"
                    );
                    continue;
                }
            }
            let span = tracing::info_span!(
                "conversation",
                conversation_id = conversation.conversation_id
            );
            let keys = conversation.members.clone();
            let action = self
                .convert_conversation(bucket, conversation, &bodies, metrics)
                .instrument(span)
                .await?;
            for key in keys {
                actions.insert(key.to_owned(), action.clone());
            }
        }
        if trigger.is_none() {
            // Backfill counts conversations, not documents.
            let mut seen = BTreeSet::new();
            actions.retain(|_, a| match a {
                Action::Converted { output, .. } => seen.insert(output.clone()),
                _ => true,
            });
        }
        Ok(actions)
    }

    /// Converts one conversation's parsed documents and writes the designer file, the reason
    /// files of a skipped conversation, or the quarantine copies of a conversation that cannot
    /// be converted.
    async fn convert_conversation(
        &self,
        bucket: &str,
        conversation: Conversation<'_, &str>,
        bodies: &[(&str, Bytes)],
        metrics: &mut Metrics,
    ) -> Result<Action, PipelineError> {
        let Conversation {
            conversation_id,
            members: keys,
            documents,
        } = conversation;
        let action = match transcript::convert_documents(&documents, self.config.options) {
            Ok(Outcome::Converted(c)) => {
                let key = keys::output_key(&self.config.output_prefix, &c.file_name);
                let output = s3_uri(&self.config.output_bucket, &key);
                self.store
                    .put(
                        &self.config.output_bucket,
                        &key,
                        Bytes::from(c.body),
                        CONTENT_TYPE,
                    )
                    .await?;
                let left_out = c.skipped_languages.join(", ");
                tracing::info!(
                    documents = keys.len(),
                    turns = c.turns,
                    output = %output,
                    left_out_languages = %left_out,
                    "converted"
                );
                if !c.skipped_languages.is_empty() {
                    tracing::info!(
                        conversation_id,
                        languages = %left_out,
                        "transcripts left out: language not in DESIGNER_LANGUAGES"
                    );
                    metrics.count("ConversationsPartlyLeftOut");
                }
                metrics.count("TranscriptsConverted");
                metrics.add("Turns", Unit::Count, c.turns as f64);
                Action::Converted {
                    conversation_id,
                    output,
                    turns: c.turns,
                    left_out_languages: c.skipped_languages,
                }
            }
            Ok(Outcome::Skipped {
                reason,
                left_out_languages,
                ..
            }) => {
                for key in &keys {
                    let note = json!({
                        "source": s3_uri(bucket, key),
                        "conversationId": conversation_id,
                        "reason": reason,
                    });
                    let note_key = keys::skipped_reason_key(&self.config.skipped_prefix, key);
                    self.store
                        .put(bucket, &note_key, to_bytes(&note), CONTENT_TYPE)
                        .await?;
                }
                tracing::info!(
                    conversation_id,
                    reason = %reason,
                    left_out_languages = %left_out_languages.join(", "),
                    "skipped"
                );
                metrics.count("TranscriptsSkipped");
                Action::Skipped {
                    conversation_id,
                    reason,
                    left_out_languages,
                }
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
        Ok(action)
    }

    /// Copies a malformed document to the failed prefix, with the reason next to it.
    async fn quarantine(
        &self,
        bucket: &str,
        key: &str,
        body: &Bytes,
        err: &ConvertError,
    ) -> Result<(), PipelineError> {
        let copy = keys::failed_copy_key(&self.config.failed_prefix, key);
        self.store
            .put(bucket, &copy, body.clone(), CONTENT_TYPE)
            .await?;
        let reason = json!({
            "source": s3_uri(bucket, key),
            "errorType": ErrorKind::InvalidInput.error_type(),
            "field": err.field,
            "error": err.to_string(),
        });
        self.store
            .put(
                bucket,
                &keys::failed_reason_key(&self.config.failed_prefix, key),
                to_bytes(&reason),
                CONTENT_TYPE,
            )
            .await?;
        tracing::warn!(key, field = %err.field, "malformed transcript quarantined at {}", s3_uri(bucket, &copy));
        Ok(())
    }
}

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
//! * a conversation the designer cannot read (not in `DESIGNER_LANGUAGES`, no text, no
//!   transcripts) gets a reason file at `<SKIPPED_PREFIX><key>.reason.json`;
//! * transcripts left out of a converted conversation (another language) are named in the
//!   answer (`leftOutLanguages`) and the log;
//! * S3 failures (throttling, 5xx, time-outs) fail the invocation with errorType `Retryable`, so
//!   Lambda's asynchronous retries and the on-failure destination take over.
//!
//! Backfill: the raw documents already in the bucket are converted by the backfill state
//! machine (`statemachines/genesys-backfill.asl.json`), whose steps the second binary of this
//! crate, `lex-transcript-backfill`, runs ([`backfill`]); one invocation of the converter only
//! handles the S3 notifications it is given.
//!
//! Layout: `main.rs` and `bin/backfill.rs` wiring, this file the converter's handler,
//! [`backfill`] the backfill's, [`config`] the settings, [`event`] the inputs, `convert.rs` the
//! conversion of one folder. The key layout, the grouping by
//! conversation and the conversion itself are `genesys-lex-core`'s. Log lines of one S3 record
//! are in an `object` span (bucket, key), those of one conversation in a `conversation` span.

pub mod backfill;
pub mod config;
mod convert;
pub mod event;

use aws_lambda_events::s3::S3Event;
use bytes::Bytes;
use genesys_lex_core::keys;
use serde_json::{json, Value};
use shared::metrics::Metrics;
use shared::store::{s3_uri, ObjectStore};
use shared::PipelineError;
use tracing::Instrument;

pub use backfill::Backfiller;
pub use config::Config;
pub use event::BackfillStep;

/// Content type of every object the converter writes.
pub const CONTENT_TYPE: &str = "application/json";

/// What happened to one conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Converted {
        conversation_id: String,
        output: String,
        turns: usize,
        /// Languages of the transcripts left out, e.g. `["es-US"]`.
        left_out_languages: Vec<String>,
    },
    Skipped {
        conversation_id: String,
        reason: String,
        left_out_languages: Vec<String>,
    },
    /// Malformed: copied to the failed prefix with the reason.
    Quarantined {
        reason: String,
    },
    Ignored {
        reason: String,
    },
}

/// How many times one event converts its conversation while the folder keeps changing.
const MAX_CONVERSION_ROUNDS: u32 = 4;

/// The handler.
pub struct Converter<S> {
    store: S,
    config: Config,
}

impl<S: ObjectStore> Converter<S> {
    pub fn new(store: S, config: Config) -> Self {
        Self { store, config }
    }

    /// Handles a Lambda payload: an S3 notification ([`event::parse_s3`]), and flushes the
    /// invocation's metrics.
    pub async fn handle(&self, event: Value) -> Result<Value, PipelineError> {
        let event = event::parse_s3(event)?;
        let mut metrics = Metrics::from_env();
        let result = self.handle_s3(event, &mut metrics).await;
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
            let span = tracing::info_span!("object", bucket, key);
            let action = async {
                if !object.is_created() {
                    return Ok(Action::Ignored {
                        reason: format!("event {:?} is not ObjectCreated", object.event_name),
                    });
                }
                let action = self.on_object(bucket, key, metrics).await;
                if let Err(e) = &action {
                    tracing::error!(
                        error_type = e.kind.error_type(),
                        "conversion failed: {}",
                        e.message
                    );
                    metrics.count("ConversionErrors");
                }
                action
            }
            .instrument(span)
            .await;
            match action {
                Ok(a) => results.push(report(bucket, key, &a)),
                Err(e) => {
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
        let raw_prefix = self.config.raw_prefix.as_str();
        if !keys::is_raw_document(raw_prefix, key) {
            tracing::info!("ignored: not a .json object under RAW_PREFIX");
            return Ok(Action::Ignored {
                reason: format!("not a .json object under {raw_prefix:?}"),
            });
        }
        // `<conversationId>/<communicationId>.json`: read the whole conversation folder.
        let Some(folder) = keys::conversation_folder(raw_prefix, key) else {
            let mut actions = self
                .convert_keys(bucket, &[key.to_owned()], Some(key), metrics)
                .await?;
            return Ok(actions.remove(key).unwrap_or(Action::Ignored {
                reason: "no conversation".to_owned(),
            }));
        };
        // The legs of a transferred call arrive as separate objects, each with its own event:
        // invocations running at once may each see only some of them, and the last to write
        // wins. So after writing, the folder is listed again: if a document arrived meanwhile,
        // the conversation is converted again. The last writer has then seen every document
        // that existed when it wrote, and a later document brings its own event (S3 listings
        // are strongly consistent).
        let mut listed =
            keys::folder_documents(&folder, self.store.list(bucket, &folder).await?, key);
        for round in 1..=MAX_CONVERSION_ROUNDS {
            let mut actions = self
                .convert_keys(bucket, &listed, Some(key), metrics)
                .await?;
            let action = actions.remove(key).unwrap_or(Action::Ignored {
                reason: "no conversation".to_owned(),
            });
            let now = keys::folder_documents(&folder, self.store.list(bucket, &folder).await?, key);
            if now == listed {
                return Ok(action);
            }
            tracing::info!(
                round,
                documents_before = listed.len(),
                documents_now = now.len(),
                "the conversation folder changed while converting: converting again"
            );
            metrics.count("ConversionsRepeated");
            listed = now;
        }
        Err(PipelineError::retryable(format!(
            "the conversation folder {folder} kept changing during {MAX_CONVERSION_ROUNDS} conversions"
        )))
    }
}

fn report(bucket: &str, key: &str, action: &Action) -> Value {
    let source = s3_uri(bucket, key);
    match action {
        Action::Converted {
            conversation_id,
            output,
            turns,
            left_out_languages,
        } => json!({
            "source": source,
            "action": "converted",
            "conversationId": conversation_id,
            "output": output,
            "turns": turns,
            "leftOutLanguages": left_out_languages,
        }),
        Action::Skipped {
            conversation_id,
            reason,
            left_out_languages,
        } => json!({
            "source": source,
            "action": "skipped",
            "conversationId": conversation_id,
            "reason": reason,
            "leftOutLanguages": left_out_languages,
        }),
        Action::Quarantined { reason } => {
            json!({"source": source, "action": "quarantined", "reason": reason})
        }
        Action::Ignored { reason } => {
            json!({"source": source, "action": "ignored", "reason": reason})
        }
    }
}

fn to_bytes(v: &impl serde::Serialize) -> Bytes {
    let mut out = serde_json::to_vec_pretty(v).expect("JSON values serialise");
    out.push(b'\n');
    Bytes::from(out)
}

#[cfg(test)]
mod tests;

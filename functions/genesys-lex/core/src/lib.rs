//! Genesys Cloud transcript documents -> the Lex V2 automated chatbot designer input format
//! (Contact Lens analysis style).
//!
//! The conversion is pure: bytes in, bytes out, no clock, no randomness, so the same input
//! always gives the same output bytes and the same output key.
//!
//! * Participants: one per distinct role, in order of first appearance. `external`/`customer`
//!   speak as `CUSTOMER`; `internal`, `agent`, `ivr`, `acd` and any other purpose as `AGENT`.
//!   The role is the participant id, so the designer sees exactly two speakers at most.
//! * Turns: every phrase with non-blank text (`decoratedText`, else `text`) of every transcript,
//!   in time order across all transcripts (stable on ties), with offsets from the conversation
//!   start and an `Id` built from the transcript id and phrase index.
//! * Languages: the designer reads English (US) only; transcripts in other languages are left
//!   out (and named in [`Converted::skipped_languages`]), and a conversation with nothing left is
//!   [`Outcome::Skipped`] with the reason. Other English variants can be chosen
//!   ([`Options::languages`], [`language`]); a transcript without a language is kept.
//! * Nothing to convert is not an error: a document without `transcripts` (a caller who hung up
//!   in the IVR) is skipped like one with `"transcripts": []`; a phrase without a time is refused
//!   only when it would be used (it has text and its transcript's language is kept).
//! * A UTF-8 byte-order mark before the document is ignored.
//! * Output key: `<conversationId>_analysis_<YYYY-MM-DDTHH:MM:SSZ>.json` from the conversation's
//!   start time in UTC, as Contact Lens names its files (the designer filters on that date).
//!
//! Around the conversion, the rest of the pipeline's pure logic:
//!
//! * [`group`]: documents grouped by conversation (the Lambda converter and the CLI);
//! * [`keys`]: the S3 key layout (raw, designer, failed and skipped objects);
//! * [`event`]: which Genesys transcription events ask for a fetch, and which ids are safe;
//! * [`credentials`]: the OAuth client credentials secret;
//! * [`api`]: the classification of Genesys API answers and the token lifetime;
//! * [`wait`]: waiting durably for a transcript that is not ready yet, and parking;
//! * [`backfill`]: backfills on Step Functions: plan, batches, rows, report;
//! * [`genesys`] (the document model), [`skim`] (dropping unused members before parsing) and
//!   [`redact`] (PII).

pub mod api;
pub mod backfill;
mod convert;
pub mod credentials;
mod designer;
pub mod event;
pub mod genesys;
pub mod group;
pub mod keys;
pub mod language;
pub mod redact;
pub mod skim;
pub mod wait;

use std::borrow::Cow;

pub use convert::convert_documents;
pub use designer::{file_name, role};
use genesys::{Document, Phrase, Transcript};
pub use keys::output_key;
pub use language::{is_english_us, Languages};
use shared_core::PipelineError;

/// The designer input format version.
pub const VERSION: &str = "1.1.0";
/// The only language the designer is documented to read, and the default of
/// [`Options::languages`].
pub const LANGUAGE: &str = "en-US";

/// The UTF-8 byte-order mark some Windows tools write before a document; ignored.
pub const BYTE_ORDER_MARK: &[u8] = b"\xEF\xBB\xBF";

/// Conversion settings.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Replace personal data in the text with `[PII]` and mark the output `Redacted`.
    pub redact_pii: bool,
    /// The transcript languages kept (default `en-US`); transcripts in others are left out.
    pub languages: Languages,
}

/// Why a document could not be converted: the field (as a JSON path) and the problem.
///
/// Displayed as `<field>: <problem>`, or the problem alone when no field applies.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", render(.field, .problem))]
pub struct ConvertError {
    pub field: String,
    pub problem: String,
}

impl ConvertError {
    fn new(field: impl Into<String>, problem: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            problem: problem.into(),
        }
    }
}

fn render(field: &str, problem: &str) -> String {
    if field.is_empty() || field == "." {
        problem.to_owned()
    } else {
        format!("{field}: {problem}")
    }
}

impl From<ConvertError> for PipelineError {
    fn from(e: ConvertError) -> Self {
        PipelineError::invalid_input(e.to_string())
    }
}

/// The result of converting one conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Converted(Converted),
    /// Nothing the designer can use; the reason says why (language, no text, no transcripts).
    Skipped {
        conversation_id: String,
        reason: String,
        /// Languages of the transcripts left out, e.g. `["es-US"]` (empty when the reason is not
        /// the language).
        left_out_languages: Vec<String>,
    },
}

/// A converted conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Converted {
    pub conversation_id: String,
    /// `<conversationId>_analysis_<YYYY-MM-DDTHH:MM:SSZ>.json`; put it under the output prefix.
    pub file_name: String,
    /// The designer JSON.
    pub body: Vec<u8>,
    pub turns: usize,
    /// Transcripts left out because of their language, e.g. `["es-US"]`.
    pub skipped_languages: Vec<String>,
}

/// Parses a Genesys transcript document for the default [`Options`], naming the offending field
/// on failure. See [`parse_with`].
pub fn parse(bytes: &[u8]) -> Result<Document<'_>, ConvertError> {
    parse_with(bytes, Options::default())
}

/// Parses a Genesys transcript document, naming the offending field on failure, and checks
/// what `options` would use of it (a phrase with text in a transcript whose language is kept
/// must have a time).
///
/// A UTF-8 byte-order mark before the document is ignored. Only the modelled fields are
/// decoded; the rest is skipped without being materialised. Pass the document through
/// [`skim::strip_unused`] first to skip word-level detail and the like without even decoding
/// it (as [`convert`] does). A document that does not parse is parsed again, more slowly, to
/// learn the path of the field that failed.
pub fn parse_with(bytes: &[u8], options: Options) -> Result<Document<'_>, ConvertError> {
    let bytes = bytes.strip_prefix(BYTE_ORDER_MARK).unwrap_or(bytes);
    // Validating the UTF-8 once, up front, is cheaper than the parser checking every string
    // it borrows; invalid bytes take the slow path below, which names the field.
    let parsed = match std::str::from_utf8(bytes) {
        Ok(text) => serde_json::from_str::<Document>(text),
        Err(_) => serde_json::from_slice::<Document>(bytes),
    };
    let doc = match parsed {
        Ok(doc) => doc,
        Err(first) => {
            let mut de = serde_json::Deserializer::from_slice(bytes);
            return Err(
                match serde_path_to_error::deserialize::<_, Document>(&mut de) {
                    Err(e) => ConvertError::new(e.path().to_string(), e.into_inner().to_string()),
                    Ok(_) => ConvertError::new("", first.to_string()),
                },
            );
        }
    };
    validate(&doc, options)?;
    Ok(doc)
}

fn validate(doc: &Document, options: Options) -> Result<(), ConvertError> {
    let id = doc
        .conversation_id
        .as_deref()
        .ok_or_else(|| ConvertError::new("conversationId", "missing"))?;
    if id.trim().is_empty() {
        return Err(ConvertError::new("conversationId", "must not be empty"));
    }
    if id.len() > 128 {
        return Err(ConvertError::new(
            "conversationId",
            format!("{} characters, the limit is 128", id.len()),
        ));
    }
    if let Some(c) = id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Err(ConvertError::new(
            "conversationId",
            format!("character {c:?} not allowed (letters, digits, '-', '_' and '.' only)"),
        ));
    }
    // No `transcripts` (a caller who hung up in the IVR) is nothing to convert, not an error.
    for (t, tr) in doc.transcripts.iter().flatten().enumerate() {
        if kept_language(tr, &options.languages).is_err() {
            continue;
        }
        for (p, ph) in tr.phrases.iter().flatten().enumerate() {
            if untimed(ph) && content(ph).is_some() {
                return Err(untimed_error(format!("transcripts[{t}].phrases[{p}]")));
            }
        }
    }
    Ok(())
}

/// Whether the transcript's language is kept: `Err` with the language when it is left out. A
/// missing or blank language is kept.
fn kept_language<'t>(tr: &'t Transcript, languages: &Languages) -> Result<(), &'t str> {
    match tr.language.as_deref().map(str::trim) {
        Some(lang) if !lang.is_empty() && !languages.contains(lang) => Err(lang),
        _ => Ok(()),
    }
}

/// The phrase's text: `decoratedText`, else `text`, if not blank.
fn content<'p, 'a>(ph: &'p Phrase<'a>) -> Option<&'p Cow<'a, str>> {
    let decorated = ph.decorated_text.as_ref().filter(|s| !s.trim().is_empty());
    decorated
        .or(ph.text.as_ref())
        .filter(|s| !s.trim().is_empty())
}

/// Neither `startTimeMs` nor `offset.milliseconds`.
fn untimed(ph: &Phrase) -> bool {
    ph.start_time_ms.is_none() && ph.offset.and_then(|o| o.milliseconds).is_none()
}

fn untimed_error(phrase: String) -> ConvertError {
    ConvertError::new(
        format!("{phrase}.startTimeMs"),
        "missing (and no offset.milliseconds either)",
    )
}

/// Converts one document.
pub fn convert(bytes: &[u8], options: Options) -> Result<Outcome, ConvertError> {
    let skimmed = skim::strip_unused(bytes);
    let doc = parse_with(&skimmed, options)?;
    convert_documents(std::slice::from_ref(&doc), options)
}

#[cfg(test)]
mod tests;

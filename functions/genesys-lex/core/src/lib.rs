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
//!   out and a document with none left is [`Outcome::Skipped`] with the reason.
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
//! * [`genesys`] (the document model), [`skim`] (dropping unused members before parsing) and
//!   [`redact`] (PII).

pub mod api;
pub mod credentials;
mod designer;
pub mod event;
pub mod genesys;
pub mod group;
pub mod keys;
pub mod redact;
pub mod skim;

use std::borrow::Cow;

pub use designer::{file_name, role};
use designer::{ContentMetadata, CustomerMetadata, LexDocument, Participant, Turn};
use genesys::Document;
pub use keys::output_key;
use shared_core::PipelineError;

/// The designer input format version.
pub const VERSION: &str = "1.1.0";
/// The only language the designer reads.
pub const LANGUAGE: &str = "en-US";

/// Conversion settings.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Replace personal data in the text with `[PII]` and mark the output `Redacted`.
    pub redact_pii: bool,
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
    /// Nothing the designer can use; the reason says why (language, no text).
    Skipped {
        conversation_id: String,
        reason: String,
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

/// Parses a Genesys transcript document, naming the offending field on failure.
///
/// Only the modelled fields are decoded; the rest is skipped without being materialised. Pass
/// the document through [`skim::strip_unused`] first to skip word-level detail and the like
/// without even decoding it (as [`convert`] does). A document that does not parse is parsed
/// again, more slowly, to learn the path of the field that failed.
pub fn parse(bytes: &[u8]) -> Result<Document<'_>, ConvertError> {
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
    validate(&doc)?;
    Ok(doc)
}

fn validate(doc: &Document) -> Result<(), ConvertError> {
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
    if doc.transcripts.is_none() {
        return Err(ConvertError::new("transcripts", "missing"));
    }
    for (t, tr) in doc.transcripts.iter().flatten().enumerate() {
        for (p, ph) in tr.phrases.iter().flatten().enumerate() {
            if ph.start_time_ms.is_none() && ph.offset.and_then(|o| o.milliseconds).is_none() {
                return Err(ConvertError::new(
                    format!("transcripts[{t}].phrases[{p}].startTimeMs"),
                    "missing (and no offset.milliseconds either)",
                ));
            }
        }
    }
    Ok(())
}

/// Converts one document.
pub fn convert(bytes: &[u8], options: Options) -> Result<Outcome, ConvertError> {
    let skimmed = skim::strip_unused(bytes);
    let doc = parse(&skimmed)?;
    convert_documents(std::slice::from_ref(&doc), options)
}

/// Converts the documents of one conversation (one per communication) into one designer file.
/// Pass them in a stable order (e.g. by key) for reproducible ids on id-less transcripts.
pub fn convert_documents(docs: &[Document<'_>], options: Options) -> Result<Outcome, ConvertError> {
    let first = docs
        .first()
        .ok_or_else(|| ConvertError::new("", "no documents"))?;
    let conversation_id = first.conversation_id.as_deref().unwrap_or_default();
    for (i, d) in docs.iter().enumerate().skip(1) {
        if d.conversation_id.as_deref() != Some(conversation_id) {
            return Err(ConvertError::new(
                format!("[{i}].conversationId"),
                format!(
                    "{:?} differs from {conversation_id:?}",
                    d.conversation_id.as_deref().unwrap_or_default()
                ),
            ));
        }
    }

    // The conversation start: the earliest conversationStartTime, else startTime, else the
    // earliest phrase.
    let start = docs
        .iter()
        .filter_map(|d| d.conversation_start_time)
        .min()
        .or_else(|| docs.iter().filter_map(|d| d.start_time).min())
        .or_else(|| {
            all_phrases(docs)
                .filter_map(|(_, _, _, p)| p.start_time_ms)
                .min()
        })
        .ok_or_else(|| {
            ConvertError::new(
                "conversationStartTime",
                "missing, and no startTime or phrase time to use",
            )
        })?;
    let file_name = file_name(conversation_id, start)?;

    let mut skipped_languages: Vec<String> = Vec::new();
    let mut turns: Vec<Turn> = Vec::new();
    let mut any_english = false;
    for (d, doc) in docs.iter().enumerate() {
        for (t, tr) in doc.transcripts.iter().flatten().enumerate() {
            if let Some(lang) = tr.language.as_deref().filter(|l| !is_english_us(l)) {
                if !skipped_languages.iter().any(|s| s == lang) {
                    skipped_languages.push(lang.to_owned());
                }
                continue;
            }
            any_english = true;
            let phrases = tr.phrases.as_deref().unwrap_or_default();
            let transcript_end = tr
                .start_time
                .zip(tr.duration.and_then(|x| x.milliseconds))
                .map(|(s, len)| s + len - start);
            let first_turn = turns.len();
            for (p, ph) in phrases.iter().enumerate() {
                let content = match ph
                    .decorated_text
                    .as_deref()
                    .filter(|s| !s.trim().is_empty())
                {
                    Some(_) => ph.decorated_text.as_ref(),
                    None => ph.text.as_ref(),
                };
                let Some(content) = content.filter(|s| !s.trim().is_empty()) else {
                    continue;
                };
                let begin = match (ph.start_time_ms, ph.offset.and_then(|o| o.milliseconds)) {
                    (Some(abs), _) => abs - start,
                    (None, Some(off)) => off,
                    (None, None) => unreachable!("validated"),
                }
                .max(0);
                let end = ph
                    .duration
                    .and_then(|x| x.milliseconds)
                    .map(|len| begin + len.max(0));
                let id = match (&tr.transcript_id, ph.phrase_index) {
                    (Some(tid), Some(ix)) => format!("{tid}-{ix}"),
                    (Some(tid), None) => format!("{tid}-p{p}"),
                    (None, Some(ix)) => format!("c{d}-t{t}-{ix}"),
                    (None, None) => format!("c{d}-t{t}-p{p}"),
                };
                let content = trim_cow(content);
                let redacted = match options.redact_pii {
                    true => match redact::redact(&content) {
                        Cow::Owned(s) => Some(s),
                        Cow::Borrowed(_) => None,
                    },
                    false => None,
                };
                let content = redacted.map(Cow::Owned).unwrap_or(content);
                turns.push(Turn {
                    participant_id: role(ph.participant_purpose.as_deref()),
                    id,
                    content,
                    begin_offset_millis: begin,
                    end_offset_millis: end.unwrap_or(i64::MIN),
                });
            }
            // Phrases without a duration end where the next phrase of the same transcript
            // begins (or the transcript ends).
            let own = &mut turns[first_turn..];
            own.sort_by_key(|t| t.begin_offset_millis);
            for i in 0..own.len() {
                if own[i].end_offset_millis == i64::MIN {
                    let next = own
                        .get(i + 1)
                        .map(|n| n.begin_offset_millis)
                        .or(transcript_end);
                    own[i].end_offset_millis = next
                        .unwrap_or(own[i].begin_offset_millis)
                        .max(own[i].begin_offset_millis);
                }
            }
        }
    }

    if !any_english && !skipped_languages.is_empty() {
        return Ok(Outcome::Skipped {
            conversation_id: conversation_id.to_owned(),
            reason: format!(
                "language {} is not supported by the Lex automated chatbot designer (en-US only)",
                skipped_languages.join(", ")
            ),
        });
    }
    if turns.is_empty() {
        return Ok(Outcome::Skipped {
            conversation_id: conversation_id.to_owned(),
            reason: "no phrase with text".to_owned(),
        });
    }

    // Time order across all transcripts; ties keep document order.
    turns.sort_by_key(|t| t.begin_offset_millis);

    let mut participants: Vec<Participant> = Vec::with_capacity(2);
    for t in &turns {
        if !participants
            .iter()
            .any(|p| p.participant_id == t.participant_id)
        {
            participants.push(Participant {
                participant_id: t.participant_id,
                participant_role: t.participant_id,
            });
        }
    }

    let out = LexDocument {
        participants,
        version: VERSION,
        content_metadata: ContentMetadata {
            redaction_types: ["PII"],
            output: if options.redact_pii {
                "Redacted"
            } else {
                "Raw"
            },
        },
        customer_metadata: CustomerMetadata {
            contact_id: conversation_id,
        },
        transcript: &turns,
    };
    let mut body =
        Vec::with_capacity(128 + turns.iter().map(|t| t.content.len() + 160).sum::<usize>());
    serde_json::to_writer(&mut body, &out).expect("serialising to memory cannot fail");
    body.push(b'\n');
    Ok(Outcome::Converted(Converted {
        conversation_id: conversation_id.to_owned(),
        file_name,
        body,
        turns: turns.len(),
        skipped_languages,
    }))
}

fn all_phrases<'d, 'a>(
    docs: &'d [Document<'a>],
) -> impl Iterator<Item = (usize, usize, usize, &'d genesys::Phrase<'a>)> + 'd {
    docs.iter().enumerate().flat_map(|(d, doc)| {
        doc.transcripts
            .iter()
            .flatten()
            .enumerate()
            .flat_map(move |(t, tr)| {
                tr.phrases
                    .iter()
                    .flatten()
                    .enumerate()
                    .map(move |(p, ph)| (d, t, p, ph))
            })
    })
}

fn trim_cow<'a>(s: &Cow<'a, str>) -> Cow<'a, str> {
    match s {
        Cow::Borrowed(b) => Cow::Borrowed(b.trim()),
        Cow::Owned(o) => Cow::Owned(o.trim().to_owned()),
    }
}

/// `en-US`, case-insensitive, `_` accepted for `-`.
pub fn is_english_us(lang: &str) -> bool {
    let l = lang.trim();
    l.len() == 5
        && l[..2].eq_ignore_ascii_case("en")
        && matches!(&l[2..3], "-" | "_")
        && l[3..].eq_ignore_ascii_case("us")
}

#[cfg(test)]
mod tests;

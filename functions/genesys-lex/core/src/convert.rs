//! The conversion of one conversation's parsed documents into one designer file.

use std::borrow::Cow;
use std::collections::HashSet;

use crate::designer::{
    file_name, role, ContentMetadata, CustomerMetadata, LexDocument, Participant, Turn,
};
use crate::genesys::Document;
use crate::{
    content, kept_language, redact, untimed_error, ConvertError, Converted, Options, Outcome,
    VERSION,
};

/// Converts the documents of one conversation (one per communication) into one designer file.
/// Pass them in a stable order (e.g. by key) for reproducible ids on id-less transcripts.
///
/// Transcripts whose language `options` does not keep are left out and named in
/// [`Converted::skipped_languages`]; a conversation with no phrase left (no transcripts, only
/// other languages, no text) is [`Outcome::Skipped`]. A phrase that would be used without a
/// time is an error naming it (`[<document>].` first when there are several documents).
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
    // earliest phrase. Without one, nothing can be placed in time, which only matters when
    // there is something to convert (checked below).
    let start = docs
        .iter()
        .filter_map(|d| d.conversation_start_time)
        .min()
        .or_else(|| docs.iter().filter_map(|d| d.start_time).min())
        .or_else(|| {
            docs.iter()
                .flat_map(|d| d.transcripts.iter().flatten())
                .flat_map(|t| t.phrases.iter().flatten())
                .filter_map(|p| p.start_time_ms)
                .min()
        });
    let origin = start.unwrap_or(0);

    // Left-out languages in order of first appearance, each once (the set keeps this linear
    // however many transcripts and languages a document has).
    let mut skipped_languages: Vec<String> = Vec::new();
    let mut seen_languages: HashSet<&str> = HashSet::new();
    let mut turns: Vec<Turn> = Vec::new();
    for (d, doc) in docs.iter().enumerate() {
        for (t, tr) in doc.transcripts.iter().flatten().enumerate() {
            if let Err(lang) = kept_language(tr, &options.languages) {
                if seen_languages.insert(lang) {
                    skipped_languages.push(lang.to_owned());
                }
                continue;
            }
            let phrases = tr.phrases.as_deref().unwrap_or_default();
            let transcript_end = tr
                .start_time
                .zip(tr.duration.and_then(|x| x.milliseconds))
                .map(|(s, len)| s + len - origin);
            let first_turn = turns.len();
            for (p, ph) in phrases.iter().enumerate() {
                let Some(content) = content(ph) else {
                    continue;
                };
                let begin = match (ph.start_time_ms, ph.offset.and_then(|o| o.milliseconds)) {
                    (Some(abs), _) => abs - origin,
                    (None, Some(off)) => off,
                    (None, None) => {
                        let at = format!("transcripts[{t}].phrases[{p}]");
                        return Err(untimed_error(if docs.len() > 1 {
                            format!("[{d}].{at}")
                        } else {
                            at
                        }));
                    }
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

    if turns.is_empty() {
        let no_transcripts = docs
            .iter()
            .all(|d| d.transcripts.as_ref().is_none_or(Vec::is_empty));
        let reason = if !skipped_languages.is_empty() {
            format!(
                "language {} is not supported by the Lex automated chatbot designer ({} only)",
                skipped_languages.join(", "),
                options.languages
            )
        } else if no_transcripts {
            "no transcripts".to_owned()
        } else {
            "no phrase with text".to_owned()
        };
        return Ok(Outcome::Skipped {
            conversation_id: conversation_id.to_owned(),
            reason,
            left_out_languages: skipped_languages,
        });
    }
    let start = start.ok_or_else(|| {
        ConvertError::new(
            "conversationStartTime",
            "missing, and no startTime or phrase time to use",
        )
    })?;
    let file_name = file_name(conversation_id, start)?;

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

fn trim_cow<'a>(s: &Cow<'a, str>) -> Cow<'a, str> {
    match s {
        Cow::Borrowed(b) => Cow::Borrowed(b.trim()),
        Cow::Owned(o) => Cow::Owned(o.trim().to_owned()),
    }
}

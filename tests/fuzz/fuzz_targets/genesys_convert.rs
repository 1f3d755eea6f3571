//! Genesys transcript documents -> the Lex designer file, as `lex-transcript-converter` and the
//! CLI convert them: every input is one or more documents (cut at the record separator byte
//! 0x1E), each converted alone (`convert`: skim, parse, convert) and all of them grouped by
//! conversation (`group::by_conversation`, `convert_documents`), with redaction off or on
//! under each `DESIGNER_LANGUAGES` value (the input's length picks the setting). Also the CLI's head scanner
//! (`skim::conversation_id`): whenever the parser accepts a document, it finds the same id.
//!
//! Fails on a panic, and on an answer that breaks what the conversion promises: a designer
//! file that is not JSON, turns out of time order or with negative offsets, more than the two
//! designer roles, a wrong contact id or file name, redacted text that still holds something
//! the redactor would replace, a language named twice.

#![no_main]

use std::borrow::Cow;
use std::collections::HashSet;

use genesys_lex_core::skim::{self, IdScan};
use genesys_lex_core::{
    convert, convert_documents, group, parse_with, redact, Converted, Options, Outcome,
};
use libfuzzer_sys::fuzz_target;
use mlpipe_fuzz::{documents, genesys_options};
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let docs = documents(data);
    // One setting per input, chosen by its length: every setting across the run, at the cost
    // of one conversion per input.
    let settings = genesys_options();
    let options = settings[data.len() % settings.len()];
    {
        // One document at a time, as the converter's S3 trigger does.
        for doc in &docs {
            check_outcome(convert(doc, options), options, None);
            head_scanner_agrees(doc, options);
        }
        // The documents of each conversation together (a transfer: several communications).
        let skimmed: Vec<Cow<[u8]>> = docs.iter().map(|d| skim::strip_unused(d)).collect();
        let parsed = skimmed
            .iter()
            .enumerate()
            .filter_map(|(i, s)| parse_with(s, options).ok().map(|d| (i, d)));
        let groups = group::by_conversation(parsed);
        let mut all = Vec::new();
        for g in groups {
            assert_eq!(g.members.len(), g.documents.len());
            for d in &g.documents {
                assert_eq!(
                    d.conversation_id.as_deref().unwrap_or_default(),
                    g.conversation_id
                );
            }
            check_outcome(
                convert_documents(&g.documents, options),
                options,
                Some(&g.conversation_id),
            );
            all.extend(g.documents);
        }
        // Documents of different conversations together are refused, naming the field.
        let ids: HashSet<_> = all.iter().map(|d| d.conversation_id.clone()).collect();
        let mixed = convert_documents(&all, options);
        match (ids.len(), &mixed) {
            (0, r) => assert!(r.is_err(), "no documents must be an error"),
            (1, _) => {}
            (_, Err(e)) => assert!(e.field.ends_with("].conversationId"), "{e}"),
            (_, Ok(_)) => panic!("documents of {} conversations converted as one", ids.len()),
        }
    }
});

/// Whenever the parser accepts a document, the CLI's head scanner gives its conversation id,
/// and no head of it says the id is absent.
fn head_scanner_agrees(doc: &[u8], options: Options) {
    let Ok(parsed) = parse_with(doc, options) else {
        return;
    };
    let want = parsed.conversation_id.as_deref();
    assert_eq!(skim::conversation_id(doc).as_deref(), want);
    for end in [doc.len() / 3, doc.len() / 2, doc.len().saturating_sub(1)] {
        match skim::scan_conversation_id(&doc[..end]) {
            IdScan::Found(id) => assert_eq!(Some(id.as_str()), want),
            IdScan::Truncated => {}
            IdScan::Absent => panic!("a head of an accepted document is Absent ({end} bytes)"),
        }
    }
}

fn check_outcome(
    outcome: Result<Outcome, genesys_lex_core::ConvertError>,
    options: Options,
    conversation: Option<&str>,
) {
    match outcome {
        Err(e) => assert!(!e.problem.is_empty(), "an error without a problem: {e:?}"),
        Ok(Outcome::Skipped {
            conversation_id,
            reason,
            left_out_languages,
        }) => {
            assert!(!reason.is_empty());
            if let Some(id) = conversation {
                assert_eq!(conversation_id, id);
            }
            distinct(&left_out_languages);
        }
        Ok(Outcome::Converted(c)) => check_converted(&c, options, conversation),
    }
}

fn check_converted(c: &Converted, options: Options, conversation: Option<&str>) {
    if let Some(id) = conversation {
        assert_eq!(c.conversation_id, id);
    }
    distinct(&c.skipped_languages);
    assert!(
        c.file_name
            .starts_with(&format!("{}_analysis_", c.conversation_id))
            && c.file_name.ends_with("Z.json"),
        "file name {:?}",
        c.file_name
    );
    assert_eq!(c.body.last(), Some(&b'\n'));
    let doc: Value = serde_json::from_slice(&c.body).expect("the designer file is JSON");
    assert_eq!(doc["Version"], genesys_lex_core::VERSION);
    assert_eq!(
        doc["CustomerMetadata"]["ContactId"].as_str(),
        Some(c.conversation_id.as_str())
    );
    let output = if options.redact_pii {
        "Redacted"
    } else {
        "Raw"
    };
    assert_eq!(doc["ContentMetadata"]["Output"], output);
    let participants = doc["Participants"].as_array().expect("Participants");
    assert!((1..=2).contains(&participants.len()), "{participants:?}");
    let turns = doc["Transcript"].as_array().expect("Transcript");
    assert_eq!(turns.len(), c.turns);
    assert!(c.turns > 0, "a converted conversation has turns");
    let mut previous = 0;
    for t in turns {
        let begin = t["BeginOffsetMillis"].as_i64().expect("BeginOffsetMillis");
        let end = t["EndOffsetMillis"].as_i64().expect("EndOffsetMillis");
        assert!(begin >= 0 && end >= begin, "offsets {begin}..{end}");
        assert!(begin >= previous, "turns out of time order");
        previous = begin;
        let role = t["ParticipantId"].as_str().expect("ParticipantId");
        assert!(matches!(role, "CUSTOMER" | "AGENT"), "{role}");
        assert!(participants.iter().any(|p| p["ParticipantId"] == role));
        let content = t["Content"].as_str().expect("Content");
        assert!(!content.trim().is_empty(), "a turn without text");
        if options.redact_pii {
            assert_eq!(
                redact::redact(content),
                content,
                "redacted text still holds something to redact"
            );
        }
        assert!(t["Id"].as_str().is_some_and(|id| !id.is_empty()), "Id");
    }
}

fn distinct(languages: &[String]) {
    let set: HashSet<&String> = languages.iter().collect();
    assert_eq!(set.len(), languages.len(), "a language named twice");
}

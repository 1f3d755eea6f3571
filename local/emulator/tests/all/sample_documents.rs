//! The sample transcripts in `events/genesys/transcripts` are well-formed Genesys transcript
//! documents and cover what the demo needs: interleaved transcripts, PII, a non-English call.

use std::collections::HashSet;
use std::path::Path;

use serde_json::Value;

const PURPOSES: [&str; 6] = ["internal", "external", "agent", "customer", "ivr", "acd"];

fn samples() -> Vec<(String, Value)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events/genesys/transcripts");
    let mut samples: Vec<(String, Value)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let doc = serde_json::from_slice(&std::fs::read(&path).unwrap())
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            (name, doc)
        })
        .collect();
    samples.sort_by(|a, b| a.0.cmp(&b.0));
    samples
}

fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit() && !c.is_ascii_uppercase(),
        })
}

fn ms(value: &Value) -> u64 {
    value["milliseconds"]
        .as_u64()
        .expect("{\"milliseconds\": N}")
}

fn phrases(doc: &Value) -> impl Iterator<Item = &Value> {
    doc["transcripts"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| t["phrases"].as_array().unwrap())
}

fn all_text(doc: &Value) -> String {
    phrases(doc)
        .map(|p| {
            p["decoratedText"].as_str().unwrap().to_owned() + "\n" + p["text"].as_str().unwrap()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn samples_are_well_formed_transcript_documents() {
    let samples = samples();
    assert!((3..=4).contains(&samples.len()), "3-4 samples");
    let mut keys = HashSet::new();
    for (name, doc) in &samples {
        let conversation = doc["conversationId"].as_str().unwrap();
        let communication = doc["communicationId"].as_str().unwrap();
        assert!(is_uuid(conversation) && is_uuid(communication), "{name}");
        assert!(is_uuid(doc["organizationId"].as_str().unwrap()), "{name}");
        assert!(
            keys.insert(conversation.to_owned()),
            "{name}: duplicate conversation"
        );
        let start = doc["conversationStartTime"].as_u64().unwrap();
        assert!(
            start > 1_600_000_000_000,
            "{name}: milliseconds since the epoch"
        );
        assert_eq!(doc["mediaType"], "call");

        let participants: HashSet<&str> = doc["participants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["participantPurpose"].as_str().unwrap())
            .collect();
        for purpose in ["ivr", "agent", "customer"] {
            assert!(
                participants.contains(purpose),
                "{name}: no {purpose} participant"
            );
        }

        let count = phrases(doc).count();
        assert!((15..=40).contains(&count), "{name}: {count} phrases");

        for transcript in doc["transcripts"].as_array().unwrap() {
            assert!(is_uuid(transcript["transcriptId"].as_str().unwrap()));
            assert!(transcript["language"].as_str().is_some());
            let analytics = &transcript["analytics"];
            assert!(
                !analytics["sentiment"].as_array().unwrap().is_empty(),
                "{name}"
            );
            assert!(
                !analytics["topics"].as_array().unwrap().is_empty(),
                "{name}"
            );
            let phrases = transcript["phrases"].as_array().unwrap();
            let mut previous_end = 0;
            for (index, phrase) in phrases.iter().enumerate() {
                assert_eq!(phrase["phraseIndex"], index, "{name}");
                let purpose = phrase["participantPurpose"].as_str().unwrap();
                assert!(PURPOSES.contains(&purpose), "{name}: {purpose}");
                let begin = phrase["startTimeMs"].as_u64().unwrap();
                assert!(
                    begin >= start && begin >= previous_end,
                    "{name}: phrase {index} order"
                );
                previous_end = begin + ms(&phrase["duration"]);
                for field in ["stability", "confidence"] {
                    let v = phrase[field].as_f64().unwrap();
                    assert!((0.0..=1.0).contains(&v), "{name}: {field}");
                }
                assert!(!phrase["decoratedText"].as_str().unwrap().is_empty());
                let words = phrase["words"].as_array().unwrap();
                let joined: Vec<&str> = words.iter().map(|w| w["word"].as_str().unwrap()).collect();
                assert_eq!(phrase["text"].as_str().unwrap(), joined.join(" "), "{name}");
                let mut word_time = begin;
                for word in words {
                    let at = word["startTimeMs"].as_u64().unwrap();
                    assert!(at >= word_time, "{name}: word order");
                    word_time = at + ms(&word["duration"]);
                    assert!((0.0..=1.0).contains(&word["confidence"].as_f64().unwrap()));
                }
                assert!(
                    word_time <= previous_end,
                    "{name}: words past the phrase's end"
                );
            }
        }
    }
}

#[test]
fn one_sample_interleaves_two_transcripts() {
    let samples = samples();
    let interleaved = samples.iter().any(|(_, doc)| {
        let transcripts = doc["transcripts"].as_array().unwrap();
        if transcripts.len() < 2 {
            return false;
        }
        let mut timeline: Vec<(u64, usize)> = transcripts
            .iter()
            .enumerate()
            .flat_map(|(i, t)| {
                t["phrases"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(move |p| (p["startTimeMs"].as_u64().unwrap(), i))
            })
            .collect();
        timeline.sort();
        let switches = timeline.windows(2).filter(|w| w[0].1 != w[1].1).count();
        switches >= 4
    });
    assert!(interleaved);
}

#[test]
fn one_sample_contains_pii() {
    let samples = samples();
    let pii = samples.iter().any(|(_, doc)| {
        let text = all_text(doc);
        text.contains("4111 1111 1111 1111")
            && text.contains("@example.com")
            && text.contains("555-010-4477")
    });
    assert!(pii);
}

#[test]
fn one_sample_is_spanish_and_the_rest_english() {
    let samples = samples();
    let languages: Vec<&str> = samples
        .iter()
        .flat_map(|(_, doc)| doc["transcripts"].as_array().unwrap())
        .map(|t| t["language"].as_str().unwrap())
        .collect();
    assert_eq!(languages.iter().filter(|l| **l == "es-US").count(), 1);
    assert!(languages.iter().all(|l| *l == "es-US" || *l == "en-US"));
}

use serde_json::{json, Value};

use super::super::*;

const BOM_EXPORT: &[u8] =
    include_bytes!("../../../../../events/genesys/fixtures/transcript_windows_export_bom.json");
const IVR_HANGUP: &str = include_str!(
    "../../../../../events/genesys/fixtures/transcript_ivr_hangup_no_transcripts.json"
);
const SWITCH_TO_SPANISH: &str =
    include_str!("../../../../../events/genesys/fixtures/transcript_language_switch_en_es.json");
const EN_GB: &str = include_str!("../../../../../events/genesys/fixtures/transcript_en_gb.json");
const SPOKEN_PII: &str =
    include_str!("../../../../../events/genesys/fixtures/transcript_spoken_pii.json");

fn converted(outcome: Result<Outcome, ConvertError>) -> Converted {
    match outcome.expect("converts") {
        Outcome::Converted(c) => c,
        other => panic!("expected a conversion, got {other:?}"),
    }
}

fn skipped(outcome: Result<Outcome, ConvertError>) -> (String, Vec<String>) {
    match outcome.expect("no error") {
        Outcome::Skipped {
            reason,
            left_out_languages,
            ..
        } => (reason, left_out_languages),
        other => panic!("expected a skip, got {other:?}"),
    }
}

fn contents(c: &Converted) -> Vec<String> {
    let v: Value = serde_json::from_slice(&c.body).unwrap();
    v["Transcript"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["Content"].as_str().unwrap().to_owned())
        .collect()
}

fn options(languages: &str) -> Options {
    Options {
        languages: Languages::parse(languages).unwrap(),
        ..Options::default()
    }
}

#[test]
fn a_byte_order_mark_is_ignored() {
    assert!(
        BOM_EXPORT.starts_with(BYTE_ORDER_MARK),
        "the fixture has one"
    );
    let without = &BOM_EXPORT[BYTE_ORDER_MARK.len()..];
    for options in [
        Options::default(),
        Options {
            redact_pii: true,
            ..Options::default()
        },
    ] {
        let with_mark = converted(convert(BOM_EXPORT, options));
        let without_mark = converted(convert(without, options));
        assert_eq!(with_mark, without_mark);
        assert_eq!(with_mark.body, without_mark.body, "byte-equal outputs");
        assert!(String::from_utf8(with_mark.body)
            .unwrap()
            .contains("my café order"));
    }
    // The parse alone, skimmed or not, and its errors.
    assert_eq!(
        format!("{:?}", parse(BOM_EXPORT).unwrap()),
        format!("{:?}", parse(without).unwrap())
    );
    let mut bad = BYTE_ORDER_MARK.to_vec();
    bad.extend_from_slice(br#"{"conversationId": 7}"#);
    assert_eq!(
        convert(&bad, Options::default()).unwrap_err(),
        convert(br#"{"conversationId": 7}"#, Options::default()).unwrap_err()
    );
    // Only one mark, only at the start.
    let mut twice = BYTE_ORDER_MARK.to_vec();
    twice.extend_from_slice(BOM_EXPORT);
    assert!(convert(&twice, Options::default()).is_err());
}

#[test]
fn a_document_without_transcripts_is_skipped_like_an_empty_list() {
    let doc: Value = serde_json::from_str(IVR_HANGUP).unwrap();
    assert!(doc.get("transcripts").is_none(), "the fixture has none");
    let (reason, languages) = skipped(convert(IVR_HANGUP.as_bytes(), Options::default()));
    assert_eq!(reason, "no transcripts");
    assert!(languages.is_empty());

    let mut empty = doc.clone();
    empty["transcripts"] = json!([]);
    let (reason_empty, _) = skipped(convert(empty.to_string().as_bytes(), Options::default()));
    assert_eq!(reason_empty, reason);

    // Even without any time to place the conversation.
    let bare = json!({"conversationId": "3e9a5c17-8f2d-4b6a-a1e4-7c0d9b2f5e81"}).to_string();
    assert_eq!(
        skipped(convert(bare.as_bytes(), Options::default())).0,
        "no transcripts"
    );
    // Next to a document of the same conversation that has text, it adds nothing.
    let other_leg = json!({"conversationId": "3e9a5c17-8f2d-4b6a-a1e4-7c0d9b2f5e81",
        "conversationStartTime": 1_751_367_600_000_i64,
        "transcripts": [{"transcriptId": "t", "language": "en-US", "phrases": [
            {"phraseIndex": 0, "participantPurpose": "external", "text": "hello", "startTimeMs": 1_751_367_601_000_i64}]}]})
    .to_string();
    let docs = [
        parse(IVR_HANGUP.as_bytes()).unwrap(),
        parse(other_leg.as_bytes()).unwrap(),
    ];
    assert_eq!(
        converted(convert_documents(&docs, Options::default())).turns,
        1
    );
}

#[test]
fn untimed_phrases_matter_only_where_they_would_be_used() {
    // The Spanish transcript's untimed phrase and the English transcript's blank untimed
    // phrase are left out anyway: the conversation converts.
    let c = converted(convert(SWITCH_TO_SPANISH.as_bytes(), Options::default()));
    assert_eq!(c.turns, 2);
    assert_eq!(
        contents(&c),
        [
            "Thank you for calling Northwind Outfitters.",
            "Hi, I need to change my delivery address."
        ]
    );

    // An untimed phrase with text in a kept transcript is still refused, naming the field.
    let mut doc: Value = serde_json::from_str(SWITCH_TO_SPANISH).unwrap();
    doc["transcripts"][0]["phrases"][2]["decoratedText"] = json!("Anything else?");
    let err = convert(doc.to_string().as_bytes(), Options::default()).unwrap_err();
    assert_eq!(err.field, "transcripts[0].phrases[2].startTimeMs");
    assert_eq!(
        err.to_string(),
        "transcripts[0].phrases[2].startTimeMs: missing (and no offset.milliseconds either)"
    );
    // The Spanish transcript with its language blanked is kept (as if absent), so its untimed
    // phrase is used and refused.
    let mut doc: Value = serde_json::from_str(SWITCH_TO_SPANISH).unwrap();
    doc["transcripts"][1]["language"] = json!(" ");
    let err = convert(doc.to_string().as_bytes(), Options::default()).unwrap_err();
    assert_eq!(err.field, "transcripts[1].phrases[2].startTimeMs");

    // Several documents: the error says which one.
    let other = json!({"conversationId": "9c4e2a7b-1f5d-4c8e-b3a6-0d7f2e9c1b58",
        "transcripts": [{"phrases": [{"text": "untimed"}]}]})
    .to_string();
    let plain = parse(SWITCH_TO_SPANISH.as_bytes()).unwrap();
    assert!(
        parse_with(other.as_bytes(), options("en-GB")).is_err(),
        "no language: kept whatever the setting, so checked"
    );
    // Built without `parse`'s check, as a caller could.
    let other_doc = serde_json::from_str::<Document>(&other).unwrap();
    let err = convert_documents(&[plain, other_doc], Options::default()).unwrap_err();
    assert_eq!(err.field, "[1].transcripts[0].phrases[0].startTimeMs");
}

#[test]
fn a_language_switch_keeps_the_english_part_and_names_the_rest() {
    let c = converted(convert(SWITCH_TO_SPANISH.as_bytes(), Options::default()));
    assert_eq!(c.skipped_languages, ["es-US"]);
    assert!(contents(&c).iter().all(|t| !t.contains("español")));
    let v: Value = serde_json::from_slice(&c.body).unwrap();
    assert_eq!(
        v["Participants"],
        json!([{"ParticipantId": "AGENT", "ParticipantRole": "AGENT"},
               {"ParticipantId": "CUSTOMER", "ParticipantRole": "CUSTOMER"}])
    );
}

#[test]
fn english_variants_are_a_setting() {
    // Default: en-US only, so a UK conversation is skipped, naming its language.
    let (reason, languages) = skipped(convert(EN_GB.as_bytes(), Options::default()));
    assert_eq!(languages, ["en-GB"]);
    assert_eq!(
        reason,
        "language en-GB is not supported by the Lex automated chatbot designer (en-US only)"
    );
    // Opted in: converted.
    let c = converted(convert(EN_GB.as_bytes(), options("en-US,en-GB")));
    assert_eq!(c.turns, 3);
    assert!(c.skipped_languages.is_empty());
    // Any case, `_` for `-`, in the document too.
    let lower = EN_GB.replace("\"en-GB\"", "\"EN_gb\"");
    assert_eq!(
        converted(convert(lower.as_bytes(), options("en-gb"))).body,
        c.body
    );
    // Opting in to en-GB alone leaves en-US out.
    let (reason, languages) = skipped(convert(SWITCH_TO_SPANISH.as_bytes(), options("en-GB")));
    assert_eq!(languages, ["en-US", "es-US"]);
    assert!(reason.ends_with("(en-GB only)"), "{reason}");
}

#[test]
fn a_blank_language_counts_as_absent() {
    let with = |language: Value| {
        json!({"conversationId": "c", "conversationStartTime": 1_751_374_800_000_i64,
            "transcripts": [{"transcriptId": "t", "language": language, "phrases": [
                {"phraseIndex": 0, "participantPurpose": "external", "text": "hello", "startTimeMs": 1_751_374_801_000_i64}]}]})
        .to_string()
    };
    let absent = converted(convert(with(Value::Null).as_bytes(), Options::default()));
    for blank in ["", "  "] {
        let c = converted(convert(with(json!(blank)).as_bytes(), Options::default()));
        assert_eq!(c, absent, "{blank:?}");
    }
    assert!(absent.skipped_languages.is_empty());
}

#[test]
fn spoken_personal_data_is_redacted_and_dates_stay() {
    let redacted = Options {
        redact_pii: true,
        ..Options::default()
    };
    let raw = converted(convert(SPOKEN_PII.as_bytes(), Options::default()));
    let red = converted(convert(SPOKEN_PII.as_bytes(), redacted));
    assert_eq!(
        contents(&red),
        [
            "My number is [PII].",
            "And the last four of your social?",
            "It's [PII].",
            "The card is [PII].",
            "Email [PII].",
            "Or [PII].",
            "Your appointment is March 3 2024 at 10 30.",
            "The order shipped on 2024-03-03.",
        ]
    );
    assert!(contents(&raw).iter().all(|t| !t.contains("[PII]")));
    let v: Value = serde_json::from_slice(&red.body).unwrap();
    assert_eq!(v["ContentMetadata"]["Output"], "Redacted");
}

/// The new shapes never panic either: every truncation and single-byte damage of a marked,
/// transcript-less document, and redaction of every prefix of text mixing spoken data, digit
/// groups and multi-byte characters.
#[test]
fn damaged_new_shapes_never_panic() {
    let mut marked = BYTE_ORDER_MARK.to_vec();
    marked.extend_from_slice(IVR_HANGUP.as_bytes());
    let languages = options("en-US,en-GB");
    shared_core::damage::each_damaged_copy(&marked, shared_core::damage::JSON_BREAKERS, |input| {
        let _ = convert(input, languages);
    });
    let text = "Café +1 5 5 5 0 1 0 4 4 7 7 — jane dot doe at exämple dot com, 4111 1111 1111 1111 \
                03 27 é 1 2 3 4 5 6 7 8 9 j a n e at x dot co dot uk 2024-03-03 10 30 (555) 555-0147";
    for (end, _) in text.char_indices() {
        let _ = redact::redact(&text[..end]);
    }
    assert_eq!(
        redact::redact(text),
        // Digits spelled one by one before "j a n e at ..." read as the address's local part.
        "Café [PII] — jane dot doe at exämple dot com, [PII] 03 27 é [PII] 2024-03-03 10 30 [PII]"
    );
}

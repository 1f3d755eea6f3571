//! Conversion tests; `real_inputs` holds those built from the unusual documents of
//! `events/genesys/fixtures/` (byte-order mark, no transcripts, language switches, English
//! variants, spoken personal data).

mod real_inputs;

use serde_json::{json, Value};

use super::*;

const EXAMPLE: &str =
    include_str!("../../../../events/genesys/fixtures/transcript_document_example.json");
const ORDER_STATUS: &str =
    include_str!("../../../../events/genesys/transcripts/01-order-status.json");
const CARD_PII: &str =
    include_str!("../../../../events/genesys/transcripts/02-card-replacement-pii.json");
const SPANISH: &str =
    include_str!("../../../../events/genesys/transcripts/04-address-change-es-us.json");

fn converted(input: &str, options: Options) -> (Converted, Value) {
    match convert(input.as_bytes(), options).expect("converts") {
        Outcome::Converted(c) => {
            let v = serde_json::from_slice(&c.body).expect("output is JSON");
            (c, v)
        }
        other => panic!("expected a conversion, got {other:?}"),
    }
}

fn doc(transcripts: Value) -> String {
    json!({
        "conversationId": "conv-1",
        "communicationId": "comm-1",
        "conversationStartTime": 1_749_243_600_000_i64,
        "transcripts": transcripts,
    })
    .to_string()
}

#[test]
fn published_example_converts_to_the_designer_format() {
    let (c, v) = converted(EXAMPLE, Options::default());
    assert_eq!(c.file_name, "conv-1_analysis_2025-06-06T21:00:00Z.json");
    assert_eq!(
        v,
        json!({
            "Participants": [
                {"ParticipantId": "AGENT", "ParticipantRole": "AGENT"},
                {"ParticipantId": "CUSTOMER", "ParticipantRole": "CUSTOMER"}
            ],
            "Version": "1.1.0",
            "ContentMetadata": {"RedactionTypes": ["PII"], "Output": "Raw"},
            "CustomerMetadata": {"ContactId": "conv-1"},
            "Transcript": [
                {"ParticipantId": "AGENT", "Id": "t1-0", "Content": "I'm an IVR", "BeginOffsetMillis": 0, "EndOffsetMillis": 5000},
                {"ParticipantId": "CUSTOMER", "Id": "t1-1", "Content": "I'm a customer", "BeginOffsetMillis": 5000, "EndOffsetMillis": 5000}
            ]
        })
    );
}

#[test]
fn output_matches_the_published_schema_keys() {
    let schema: Value = serde_json::from_str(include_str!(
        "../../../../events/genesys/fixtures/lex_chatbot_designer_input_schema.json"
    ))
    .unwrap();
    let (_, v) = converted(ORDER_STATUS, Options::default());
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    let mut want = keys(&schema);
    want.sort();
    let mut got = keys(&v);
    got.sort();
    assert_eq!(got, want);
    for turn in v["Transcript"].as_array().unwrap() {
        for k in keys(&schema["Transcript"][0]) {
            assert!(turn.get(&k).is_some(), "turn lacks {k}");
        }
    }
}

#[test]
fn interleaved_transcripts_come_out_in_time_order_with_two_participants() {
    let (c, v) = converted(ORDER_STATUS, Options::default());
    assert_eq!(c.conversation_id, "e88b7591-31db-4e32-98dc-b35f94c662cd");
    assert_eq!(
        c.file_name,
        "e88b7591-31db-4e32-98dc-b35f94c662cd_analysis_2025-06-03T14:12:00Z.json"
    );
    let turns = v["Transcript"].as_array().unwrap();
    assert_eq!(turns.len(), c.turns);
    let begins: Vec<i64> = turns
        .iter()
        .map(|t| t["BeginOffsetMillis"].as_i64().unwrap())
        .collect();
    assert!(
        begins.windows(2).all(|w| w[0] <= w[1]),
        "not in time order: {begins:?}"
    );
    assert!(turns
        .iter()
        .all(|t| t["EndOffsetMillis"].as_i64() >= t["BeginOffsetMillis"].as_i64()));
    assert_eq!(v["Participants"].as_array().unwrap().len(), 2);
    let roles: std::collections::BTreeSet<&str> = turns
        .iter()
        .map(|t| t["ParticipantId"].as_str().unwrap())
        .collect();
    assert_eq!(roles.into_iter().collect::<Vec<_>>(), ["AGENT", "CUSTOMER"]);
    let ids: std::collections::BTreeSet<&str> =
        turns.iter().map(|t| t["Id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), turns.len(), "ids are unique");
}

#[test]
fn conversion_is_byte_for_byte_deterministic() {
    let a = convert(ORDER_STATUS.as_bytes(), Options::default()).unwrap();
    let b = convert(ORDER_STATUS.as_bytes(), Options::default()).unwrap();
    assert_eq!(a, b);
}

#[test]
fn roles_follow_the_participant_purpose() {
    for (purpose, want) in [
        ("internal", "AGENT"),
        ("agent", "AGENT"),
        ("ivr", "AGENT"),
        ("acd", "AGENT"),
        ("workflow", "AGENT"),
        ("external", "CUSTOMER"),
        ("customer", "CUSTOMER"),
        ("Customer", "CUSTOMER"),
    ] {
        assert_eq!(role(Some(purpose)), want, "{purpose}");
    }
    assert_eq!(role(None), "AGENT");
}

#[test]
fn agent_is_never_a_customer_and_participants_are_not_duplicated() {
    let input = doc(
        json!([{ "transcriptId": "t", "language": "en-US", "phrases": [
            {"phraseIndex": 0, "participantPurpose": "agent", "text": "hello", "startTimeMs": 1_749_243_600_100_i64},
            {"phraseIndex": 1, "participantPurpose": "agent", "text": "anyone there", "startTimeMs": 1_749_243_600_200_i64},
            {"phraseIndex": 2, "participantPurpose": "ivr", "text": "goodbye", "startTimeMs": 1_749_243_600_300_i64}
        ]}]),
    );
    let (_, v) = converted(&input, Options::default());
    assert_eq!(
        v["Participants"],
        json!([{"ParticipantId": "AGENT", "ParticipantRole": "AGENT"}])
    );
}

#[test]
fn blank_phrases_are_dropped_and_text_is_the_fallback() {
    let input = doc(json!([{ "transcriptId": "t", "phrases": [
        {"phraseIndex": 0, "participantPurpose": "external", "text": "  ", "decoratedText": "", "startTimeMs": 1_749_243_600_000_i64},
        {"phraseIndex": 1, "participantPurpose": "external", "text": "plain words", "decoratedText": " ", "startTimeMs": 1_749_243_601_000_i64},
        {"phraseIndex": 2, "participantPurpose": "external", "startTimeMs": 1_749_243_602_000_i64},
        {"phraseIndex": 3, "participantPurpose": "internal", "text": "raw", "decoratedText": " Decorated. ", "startTimeMs": 1_749_243_603_000_i64, "duration": {"milliseconds": 700}}
    ]}]));
    let (c, v) = converted(&input, Options::default());
    assert_eq!(c.turns, 2);
    assert_eq!(v["Transcript"][0]["Content"], "plain words");
    assert_eq!(v["Transcript"][0]["Id"], "t-1");
    assert_eq!(v["Transcript"][1]["Content"], "Decorated.");
    assert_eq!(v["Transcript"][1]["BeginOffsetMillis"], 3000);
    assert_eq!(v["Transcript"][1]["EndOffsetMillis"], 3700);
    // Without a duration, a phrase ends where the next phrase of its transcript starts.
    assert_eq!(v["Transcript"][0]["EndOffsetMillis"], 3000);
}

#[test]
fn offsets_fall_back_to_the_relative_offset_and_never_go_negative() {
    let input = doc(json!([{ "transcriptId": "t", "phrases": [
        {"phraseIndex": 0, "participantPurpose": "external", "text": "early", "startTimeMs": 1_749_243_599_000_i64},
        {"phraseIndex": 1, "participantPurpose": "internal", "text": "relative", "offset": {"milliseconds": 4200}, "duration": {"milliseconds": 100}}
    ]}]));
    let (_, v) = converted(&input, Options::default());
    assert_eq!(v["Transcript"][0]["BeginOffsetMillis"], 0);
    assert_eq!(v["Transcript"][1]["BeginOffsetMillis"], 4200);
    assert_eq!(v["Transcript"][1]["EndOffsetMillis"], 4300);
}

#[test]
fn start_time_falls_back_and_accepts_rfc3339() {
    let input = json!({
        "conversationId": "c2",
        "startTime": "2025-01-31T23:59:59.900Z",
        "transcripts": [{"phrases": [{"participantPurpose": "external", "text": "hi", "startTimeMs": "2025-02-01T00:00:01Z"}]}]
    })
    .to_string();
    let (c, v) = converted(&input, Options::default());
    assert_eq!(c.file_name, "c2_analysis_2025-01-31T23:59:59Z.json");
    assert_eq!(v["Transcript"][0]["BeginOffsetMillis"], 1100);
    assert_eq!(v["Transcript"][0]["Id"], "c0-t0-p0");
}

#[test]
fn non_english_documents_are_skipped_with_the_reason() {
    match convert(SPANISH.as_bytes(), Options::default()).unwrap() {
        Outcome::Skipped {
            conversation_id,
            reason,
            left_out_languages,
        } => {
            assert_eq!(left_out_languages, ["es-US"]);
            assert_eq!(conversation_id, "e4039782-67e5-43c9-ae73-35a01662e2ce");
            assert!(
                reason.contains("es-US") && reason.contains("en-US only"),
                "{reason}"
            );
        }
        other => panic!("expected skip, got {other:?}"),
    }
}

#[test]
fn mixed_language_documents_keep_the_english_transcripts() {
    let input = doc(json!([
        {"transcriptId": "en", "language": "en-us", "phrases": [{"participantPurpose": "external", "text": "hello", "startTimeMs": 1_749_243_600_000_i64}]},
        {"transcriptId": "es", "language": "es-US", "phrases": [{"participantPurpose": "internal", "text": "hola", "startTimeMs": 1_749_243_600_000_i64}]}
    ]));
    let (c, v) = converted(&input, Options::default());
    assert_eq!(c.skipped_languages, vec!["es-US".to_owned()]);
    assert_eq!(v["Transcript"].as_array().unwrap().len(), 1);
    assert!(is_english_us("EN_us"));
    assert!(!is_english_us("en-GB"));
}

#[test]
fn documents_without_text_are_skipped() {
    let input = doc(json!([{"transcriptId": "t", "phrases": []}]));
    assert!(
        matches!(convert(input.as_bytes(), Options::default()).unwrap(), Outcome::Skipped { reason, .. } if reason == "no phrase with text")
    );
    let input = doc(json!([]));
    assert!(matches!(
        convert(input.as_bytes(), Options::default()).unwrap(),
        Outcome::Skipped { .. }
    ));
}

#[test]
fn pii_redaction_marks_the_output_redacted() {
    let (_, raw) = converted(CARD_PII, Options::default());
    let (_, red) = converted(
        CARD_PII,
        Options {
            redact_pii: true,
            ..Options::default()
        },
    );
    assert_eq!(raw["ContentMetadata"]["Output"], "Raw");
    assert_eq!(red["ContentMetadata"]["Output"], "Redacted");
    let text = |v: &Value| {
        v["Transcript"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["Content"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(text(&red).contains("[PII]"));
    assert!(!text(&raw).contains("[PII]"));
    assert_eq!(
        raw["Transcript"].as_array().unwrap().len(),
        red["Transcript"].as_array().unwrap().len()
    );
}

#[test]
fn malformed_documents_name_the_field() {
    let cases: &[(&str, &str)] = &[
        ("not json", ""),
        ("[]", ""),
        (r#"{"transcripts": []}"#, "conversationId"),
        (
            r#"{"conversationId": "", "transcripts": []}"#,
            "conversationId",
        ),
        (
            r#"{"conversationId": "a/b", "transcripts": []}"#,
            "conversationId",
        ),
        (
            r#"{"conversationId": 7, "transcripts": []}"#,
            "conversationId",
        ),
        (
            r#"{"conversationId": "c", "conversationStartTime": "yesterday", "transcripts": []}"#,
            "conversationStartTime",
        ),
        (
            r#"{"conversationId": "c", "transcripts": [{"phrases": [{"text": "x", "startTimeMs": 1}, {"text": 5}]}]}"#,
            "transcripts[0].phrases[1].text",
        ),
        (
            r#"{"conversationId": "c", "transcripts": [{"phrases": [{"text": "x"}]}]}"#,
            "transcripts[0].phrases[0].startTimeMs",
        ),
        (
            r#"{"conversationId": "c", "transcripts": [{"phrases": [{"text": "x", "startTimeMs": 1.5}]}]}"#,
            "transcripts[0].phrases[0].startTimeMs",
        ),
        (
            r#"{"conversationId": "c", "conversationStartTime": 253402300800000, "transcripts": []}"#,
            "conversationStartTime",
        ),
        (
            r#"{"conversationId": "c", "transcripts": [{"phrases": [{"text": "x", "startTimeMs": 1, "duration": {"milliseconds": -9223372036854775808}}]}]}"#,
            "transcripts[0].phrases[0].duration.milliseconds",
        ),
    ];
    for (input, field) in cases {
        let err = convert(input.as_bytes(), Options::default()).expect_err(input);
        assert!(
            err.field.starts_with(field),
            "{input}: got field {:?} ({err})",
            err.field
        );
        assert!(!err.problem.is_empty());
    }
}

#[test]
fn invalid_utf8_names_the_string_it_is_in() {
    let mut input = doc(json!([{"phrases": [
        {"text": "fine", "startTimeMs": 1_749_243_600_000_i64},
        {"text": "caf\u{e9}", "startTimeMs": 1_749_243_601_000_i64}
    ]}]))
    .into_bytes();
    // "café" with its UTF-8 é (c3 a9) cut to a lone c3 byte.
    let at = input.windows(2).position(|w| w == [0xc3, 0xa9]).unwrap();
    input[at + 1] = b'!';
    let err = convert(&input, Options::default()).expect_err("invalid UTF-8");
    assert_eq!(err.field, "transcripts[0].phrases[1].text", "{err}");
    assert!(err.problem.contains("unicode"), "{err}");
    // Valid UTF-8 everywhere else still converts the same, with the fast path.
    let (c, _) = converted(
        &doc(json!([{"phrases": [{"text": "caf\u{e9} \u{1f600}", "startTimeMs": 1}]}])),
        Options::default(),
    );
    assert!(String::from_utf8(c.body).unwrap().contains("café 😀"));
}

#[test]
fn documents_of_one_conversation_merge_and_others_are_refused() {
    let a = doc(
        json!([{"transcriptId": "a", "phrases": [{"participantPurpose": "external", "text": "second", "startTimeMs": 1_749_243_605_000_i64}]}]),
    );
    let b = doc(
        json!([{"transcriptId": "b", "phrases": [{"participantPurpose": "agent", "text": "first", "startTimeMs": 1_749_243_601_000_i64}]}]),
    );
    let docs = [parse(a.as_bytes()).unwrap(), parse(b.as_bytes()).unwrap()];
    let Outcome::Converted(c) = convert_documents(&docs, Options::default()).unwrap() else {
        panic!()
    };
    let v: Value = serde_json::from_slice(&c.body).unwrap();
    assert_eq!(v["Transcript"][0]["Content"], "first");
    assert_eq!(v["Transcript"][1]["Content"], "second");

    let other = json!({"conversationId": "conv-2", "transcripts": []}).to_string();
    let docs = [
        parse(a.as_bytes()).unwrap(),
        parse(other.as_bytes()).unwrap(),
    ];
    let err = convert_documents(&docs, Options::default()).unwrap_err();
    assert_eq!(err.field, "[1].conversationId");
}

#[test]
fn escaped_strings_are_decoded() {
    let input = doc(
        json!([{"transcriptId": "t\"1", "phrases": [{"participantPurpose": "external", "text": "caf\u{e9} \"quoted\"\n", "startTimeMs": 1_749_243_600_000_i64}]}]),
    );
    let (_, v) = converted(&input, Options::default());
    assert_eq!(v["Transcript"][0]["Content"], "café \"quoted\"");
    assert_eq!(v["Transcript"][0]["Id"], "t\"1-p0");
}

/// Whatever arrives in the raw bucket, the conversion answers with an outcome or an error naming
/// a field, never a panic: every truncation and single-byte damage of the published example,
/// and extreme numbers where times are added and subtracted.
#[test]
fn damaged_documents_never_panic() {
    let check = |input: &[u8]| {
        if let Ok(Outcome::Converted(c)) = convert(
            input,
            Options {
                redact_pii: true,
                ..Options::default()
            },
        ) {
            serde_json::from_slice::<Value>(&c.body).expect("output is JSON");
        }
    };
    shared_core::damage::each_damaged_copy(
        EXAMPLE.as_bytes(),
        shared_core::damage::JSON_BREAKERS,
        check,
    );
    for n in [
        "9223372036854775807",
        "-9223372036854775808",
        "9223372036854775",
        "-1",
        "0",
    ] {
        for m in ["9223372036854775807", "-9223372036854775808", "1"] {
            let doc = format!(
                r#"{{"conversationId": "c", "conversationStartTime": {m}, "transcripts": [
                    {{"startTime": {n}, "duration": {{"milliseconds": {n}}}, "phrases": [
                        {{"text": "a", "startTimeMs": {n}, "duration": {{"milliseconds": {n}}}}},
                        {{"text": "b", "offset": {{"milliseconds": {n}}}}},
                        {{"text": "c", "startTimeMs": {m}}}]}}]}}"#
            );
            check(doc.as_bytes());
        }
    }
}

/// Fuzzing found (issue 14): a 5-byte language with a two-byte character (`"en" + "Ӫ" + "S"`)
/// panicked where the tag was sliced by bytes. Every such value is simply another language.
#[test]
fn a_language_with_multi_byte_characters_is_left_out_not_a_panic() {
    for lang in [
        "enӪS",
        "eӪ-S",
        "en-Ӫ",
        "Ӫn-US",
        "en-U\u{301}",
        "€n-US",
        "en-€",
    ] {
        let input = doc(json!([
            {"language": lang, "phrases": [{"text": "hola", "startTimeMs": 1_700_000_000_000_i64}]},
            {"language": "en-US", "phrases": [{"text": "hello", "startTimeMs": 1_700_000_001_000_i64}]}
        ]));
        let (c, _) = converted(&input, Options::default());
        assert_eq!(c.skipped_languages, vec![lang.to_owned()], "{lang:?}");
        assert!(!is_english_us(lang));
    }
}

/// Fuzzing found (issue 14): the left-out languages of a conversation were de-duplicated with a
/// linear search per transcript, quadratic in the number of transcripts. 20,000 transcripts in
/// 10,000 languages are left out once each, in order of first appearance (a set now; the old
/// search made about 10^8 comparisons here).
#[test]
fn many_transcripts_in_many_languages_are_left_out_once_each() {
    let mut transcripts: Vec<Value> = (0..20_000)
        .map(|i| json!({"language": format!("x{}", i % 10_000), "phrases": []}))
        .collect();
    transcripts.push(
        json!({"language": "en-US", "phrases": [{"text": "hello", "startTimeMs": 1_700_000_000_000_i64}]}),
    );
    let (c, _) = converted(&doc(Value::Array(transcripts)), Options::default());
    assert_eq!(c.skipped_languages.len(), 10_000);
    assert_eq!(c.skipped_languages[0], "x0");
    assert_eq!(c.skipped_languages[9_999], "x9999");
}

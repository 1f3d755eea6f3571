use serde_json::{json, Value};
use shared::store::MemoryStore;

use super::{config, event, json_at, OUT, RAW};
use crate::Converter;

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

const BOM_KEY: &str =
    "genesys/0b7c2e91-4d3a-4f6e-8a15-c93d7e2f1a08/a41e9d7c-2b58-4c3f-9e06-7d1b5f8c2e93.json";
const BOM_OUT: &str =
    "lex-designer/0b7c2e91-4d3a-4f6e-8a15-c93d7e2f1a08_analysis_2025-07-01T10:00:00Z.json";
const HANGUP_KEY: &str =
    "genesys/3e9a5c17-8f2d-4b6a-a1e4-7c0d9b2f5e81/b62d0f4e-9a1c-4e7b-8d35-2f6a1c9e7b04.json";
const SWITCH_ID: &str = "9c4e2a7b-1f5d-4c8e-b3a6-0d7f2e9c1b58";
const SWITCH_KEY: &str =
    "genesys/9c4e2a7b-1f5d-4c8e-b3a6-0d7f2e9c1b58/f07b3d9e-5c2a-4e1f-a8d4-6b9c0e2f7a13.json";
const SWITCH_OUT: &str =
    "lex-designer/9c4e2a7b-1f5d-4c8e-b3a6-0d7f2e9c1b58_analysis_2025-07-01T12:00:00Z.json";
const EN_GB_KEY: &str =
    "genesys/5a1d8f3e-2c7b-4e9d-b6a0-8f3c1e5d7b42/c9e4b2a7-6d1f-4a3c-8e57-0b2d9f6c4a18.json";
const SPOKEN_KEY: &str =
    "genesys/7f2b9d4c-3a6e-4b1f-9c85-1e0a7d3f6b29/d83a1f6c-4e9b-4d2a-b7e0-5c1f8a3d9e62.json";

fn converter_with(extra: &[(&str, &str)]) -> Converter<MemoryStore> {
    Converter::new(MemoryStore::new(), config(extra))
}

fn nothing_quarantined(store: &MemoryStore) {
    let failed: Vec<_> = store
        .keys()
        .into_iter()
        .filter(|(_, k)| k.starts_with("failed/"))
        .collect();
    assert!(failed.is_empty(), "quarantined: {failed:?}");
}

#[tokio::test]
async fn a_byte_order_mark_gives_the_same_bytes_as_without() {
    let c = converter_with(&[]);
    c.store.insert(RAW, BOM_KEY, BOM_EXPORT);
    let out = c.handle(event(BOM_KEY)).await.unwrap();
    assert_eq!(out["results"][0]["action"], "converted", "{out}");
    let with_mark = c.store.object(OUT, BOM_OUT).unwrap();

    let plain = converter_with(&[]);
    plain.store.insert(RAW, BOM_KEY, &BOM_EXPORT[3..]);
    plain.handle(event(BOM_KEY)).await.unwrap();
    assert_eq!(plain.store.object(OUT, BOM_OUT).unwrap(), with_mark);
    nothing_quarantined(&c.store);
    // The raw document stays as it was stored, mark included.
    assert_eq!(c.store.object(RAW, BOM_KEY).unwrap(), BOM_EXPORT);
}

#[tokio::test]
async fn a_document_without_transcripts_is_skipped_not_quarantined() {
    let c = converter_with(&[]);
    c.store.insert(RAW, HANGUP_KEY, IVR_HANGUP);
    let out = c.handle(event(HANGUP_KEY)).await.unwrap();
    assert_eq!(out["results"][0]["action"], "skipped", "{out}");
    assert_eq!(out["results"][0]["reason"], "no transcripts");
    let note = json_at(&c.store, RAW, &format!("skipped/{HANGUP_KEY}.reason.json"));
    assert_eq!(note["reason"], "no transcripts");
    assert_eq!(
        note["conversationId"],
        "3e9a5c17-8f2d-4b6a-a1e4-7c0d9b2f5e81"
    );
    nothing_quarantined(&c.store);
    assert!(c.store.keys().iter().all(|(b, _)| b != OUT));
}

#[tokio::test]
async fn a_language_switch_keeps_the_english_part_and_reports_the_rest() {
    let capture = shared::logging::capture::global_json();
    let c = converter_with(&[]);
    c.store.insert(RAW, SWITCH_KEY, SWITCH_TO_SPANISH);
    let out = c.handle(event(SWITCH_KEY)).await.unwrap();
    // The Spanish transcript's untimed phrase did not reject the conversation.
    assert_eq!(
        out["results"][0],
        json!({
            "source": format!("s3://{RAW}/{SWITCH_KEY}"),
            "action": "converted",
            "conversationId": SWITCH_ID,
            "output": format!("s3://{OUT}/{SWITCH_OUT}"),
            "turns": 2,
            "leftOutLanguages": ["es-US"],
        })
    );
    let doc = json_at(&c.store, OUT, SWITCH_OUT);
    assert_eq!(doc["Transcript"].as_array().unwrap().len(), 2);
    nothing_quarantined(&c.store);

    let lines = shared::logging::capture::json_lines_with("conversation_id", SWITCH_ID);
    let left_out = lines
        .iter()
        .find(|l| l["fields"]["languages"] == "es-US")
        .unwrap_or_else(|| panic!("no left-out line in {}", capture.text()));
    assert_eq!(left_out["fields"]["conversation_id"], SWITCH_ID);
    assert!(lines
        .iter()
        .any(|l| l["fields"]["message"] == "converted"
            && l["fields"]["left_out_languages"] == "es-US"));
}

#[tokio::test]
async fn designer_languages_opt_in_to_english_variants() {
    // Default: en-US only; the UK conversation is skipped, its language named.
    let c = converter_with(&[]);
    c.store.insert(RAW, EN_GB_KEY, EN_GB);
    let out = c.handle(event(EN_GB_KEY)).await.unwrap();
    assert_eq!(out["results"][0]["action"], "skipped");
    assert_eq!(out["results"][0]["leftOutLanguages"], json!(["en-GB"]));
    assert!(out["results"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("en-GB is not supported"));

    let c = converter_with(&[("DESIGNER_LANGUAGES", "en-US,en-GB")]);
    c.store.insert(RAW, EN_GB_KEY, EN_GB);
    let out = c.handle(event(EN_GB_KEY)).await.unwrap();
    assert_eq!(out["results"][0]["action"], "converted", "{out}");
    assert_eq!(out["results"][0]["turns"], 3);
    assert_eq!(out["results"][0]["leftOutLanguages"], json!([]));
}

#[tokio::test]
async fn spoken_personal_data_is_redacted() {
    let c = converter_with(&[("REDACT_PII", "true")]);
    c.store.insert(RAW, SPOKEN_KEY, SPOKEN_PII);
    let out = c.handle(event(SPOKEN_KEY)).await.unwrap();
    let output = out["results"][0]["output"].as_str().unwrap();
    let key = output.strip_prefix(&format!("s3://{OUT}/")).unwrap();
    let doc: Value = json_at(&c.store, OUT, key);
    assert_eq!(doc["ContentMetadata"]["Output"], "Redacted");
    let text: Vec<&str> = doc["Transcript"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["Content"].as_str().unwrap())
        .collect();
    assert_eq!(text[0], "My number is [PII].");
    assert_eq!(text[4], "Email [PII].");
    assert_eq!(text[6], "Your appointment is March 3 2024 at 10 30.");
}

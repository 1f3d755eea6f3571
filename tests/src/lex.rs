//! The Lex V2 automated chatbot designer input contract, checked independently of the
//! converter's code.

use std::collections::HashSet;

use anyhow::{bail, ensure, Context, Result};
use serde_json::Value;

/// The designer format version.
pub const VERSION: &str = "1.1.0";

/// `<conversationId>_analysis_<YYYY-MM-DDTHH:MM:SSZ>.json` for a conversation start in epoch
/// milliseconds (UTC, whole seconds), as Contact Lens names its files.
pub fn file_name(conversation_id: &str, start_ms: i64) -> Result<String> {
    let t = time::OffsetDateTime::from_unix_timestamp(start_ms.div_euclid(1000))
        .with_context(|| format!("start time {start_ms} ms is out of range"))?;
    Ok(format!(
        "{conversation_id}_analysis_{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z.json",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    ))
}

/// Checks a designer document against the contract and returns it parsed:
///
/// * `Version` "1.1.0"; `ContentMetadata` {`RedactionTypes` ["PII"], `Output` "Raw" or
///   "Redacted"}; `CustomerMetadata.ContactId` = the conversation id;
/// * `Participants`: AGENT/CUSTOMER only, each once, `ParticipantRole` = `ParticipantId`;
/// * `Transcript`: at least one turn, each with a known `ParticipantId`, a unique non-empty
///   `Id`, non-empty `Content`, `0 <= BeginOffsetMillis <= EndOffsetMillis`, in time order.
pub fn check_document(bytes: &[u8], conversation_id: &str) -> Result<Value> {
    let doc: Value = serde_json::from_slice(bytes).context("the output is not JSON")?;
    ensure!(
        doc["Version"] == VERSION,
        "Version is {} (expected {VERSION:?})",
        doc["Version"]
    );
    ensure!(
        doc["CustomerMetadata"]["ContactId"] == conversation_id,
        "CustomerMetadata.ContactId is {} (expected the conversation id {conversation_id:?})",
        doc["CustomerMetadata"]["ContactId"]
    );
    let meta = &doc["ContentMetadata"];
    ensure!(
        meta["RedactionTypes"] == serde_json::json!(["PII"]),
        "ContentMetadata.RedactionTypes is {} (expected [\"PII\"])",
        meta["RedactionTypes"]
    );
    ensure!(
        meta["Output"] == "Raw" || meta["Output"] == "Redacted",
        "ContentMetadata.Output is {} (expected \"Raw\" or \"Redacted\")",
        meta["Output"]
    );

    let participants = doc["Participants"]
        .as_array()
        .context("Participants is not an array")?;
    let mut roles = HashSet::new();
    for (i, p) in participants.iter().enumerate() {
        let id = p["ParticipantId"].as_str().unwrap_or_default();
        ensure!(
            id == "AGENT" || id == "CUSTOMER",
            "Participants[{i}].ParticipantId is {:?} (expected AGENT or CUSTOMER)",
            p["ParticipantId"]
        );
        ensure!(
            p["ParticipantRole"] == id,
            "Participants[{i}].ParticipantRole is {} (expected {id:?})",
            p["ParticipantRole"]
        );
        ensure!(
            roles.insert(id.to_owned()),
            "Participants[{i}]: {id} appears twice"
        );
    }

    let turns = doc["Transcript"]
        .as_array()
        .context("Transcript is not an array")?;
    ensure!(!turns.is_empty(), "Transcript is empty");
    let mut ids = HashSet::new();
    let mut previous_begin = i64::MIN;
    for (i, t) in turns.iter().enumerate() {
        let who = t["ParticipantId"].as_str().unwrap_or_default();
        ensure!(
            roles.contains(who),
            "Transcript[{i}].ParticipantId {:?} is not among the Participants",
            t["ParticipantId"]
        );
        let id = t["Id"].as_str().unwrap_or_default();
        ensure!(!id.is_empty(), "Transcript[{i}].Id is missing or empty");
        ensure!(
            ids.insert(id.to_owned()),
            "Transcript[{i}].Id {id:?} is not unique"
        );
        ensure!(
            t["Content"].as_str().is_some_and(|c| !c.trim().is_empty()),
            "Transcript[{i}].Content is missing or blank"
        );
        let (Some(begin), Some(end)) = (
            t["BeginOffsetMillis"].as_i64(),
            t["EndOffsetMillis"].as_i64(),
        ) else {
            bail!("Transcript[{i}]: BeginOffsetMillis/EndOffsetMillis missing or not integers");
        };
        ensure!(
            0 <= begin && begin <= end,
            "Transcript[{i}]: offsets {begin}..{end} (expected 0 <= begin <= end)"
        );
        ensure!(
            begin >= previous_begin,
            "Transcript[{i}] begins at {begin} ms, before the turn before it ({previous_begin} ms): not in time order"
        );
        previous_begin = begin;
    }
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_use_the_utc_start_time() {
        assert_eq!(
            file_name("e88b7591-31db-4e32-98dc-b35f94c662cd", 1_748_959_920_000).unwrap(),
            "e88b7591-31db-4e32-98dc-b35f94c662cd_analysis_2025-06-03T14:12:00Z.json"
        );
        assert_eq!(
            file_name("c", 1_748_959_920_999).unwrap(),
            "c_analysis_2025-06-03T14:12:00Z.json"
        );
    }

    #[test]
    fn the_contract_catches_the_reference_defects() {
        let good = serde_json::json!({
            "Participants": [
                {"ParticipantId": "CUSTOMER", "ParticipantRole": "CUSTOMER"},
                {"ParticipantId": "AGENT", "ParticipantRole": "AGENT"}
            ],
            "Version": "1.1.0",
            "ContentMetadata": {"RedactionTypes": ["PII"], "Output": "Raw"},
            "CustomerMetadata": {"ContactId": "c1"},
            "Transcript": [
                {"ParticipantId": "CUSTOMER", "Id": "t-0", "Content": "hi", "BeginOffsetMillis": 0, "EndOffsetMillis": 10},
                {"ParticipantId": "AGENT", "Id": "t-1", "Content": "hello", "BeginOffsetMillis": 10, "EndOffsetMillis": 20}
            ]
        });
        check_document(good.to_string().as_bytes(), "c1").unwrap();
        assert!(check_document(good.to_string().as_bytes(), "other").is_err());

        let mut misspelled = good.clone();
        misspelled["ContentMetadata"] =
            serde_json::json!({"RedactionType": ["PII"], "Output": "Raw"});
        assert!(check_document(misspelled.to_string().as_bytes(), "c1").is_err());

        let mut duplicated = good.clone();
        duplicated["Participants"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({"ParticipantId": "AGENT", "ParticipantRole": "AGENT"}));
        assert!(check_document(duplicated.to_string().as_bytes(), "c1").is_err());

        let mut unordered = good.clone();
        unordered["Transcript"][1]["BeginOffsetMillis"] = serde_json::json!(-1);
        assert!(check_document(unordered.to_string().as_bytes(), "c1").is_err());
    }
}

//! The Lex V2 automated chatbot designer document (the Contact Lens analysis layout) as the
//! conversion writes it: its file name, its participant roles and its JSON shape.

use std::borrow::Cow;

use serde::Serialize;

use crate::ConvertError;

/// The designer role of a Genesys participant purpose.
pub fn role(purpose: Option<&str>) -> &'static str {
    match purpose {
        Some(p) if p.eq_ignore_ascii_case("external") || p.eq_ignore_ascii_case("customer") => {
            "CUSTOMER"
        }
        _ => "AGENT",
    }
}

/// `<conversationId>_analysis_<YYYY-MM-DDTHH:MM:SSZ>.json` for a start time in epoch milliseconds.
pub fn file_name(conversation_id: &str, start_ms: i64) -> Result<String, ConvertError> {
    let t = time::OffsetDateTime::from_unix_timestamp(start_ms.div_euclid(1000)).map_err(|_| {
        ConvertError::new(
            "conversationStartTime",
            format!("{start_ms} is out of range"),
        )
    })?;
    let stamp = t
        .format(time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
        ))
        .map_err(|e| ConvertError::new("conversationStartTime", e.to_string()))?;
    Ok(format!("{conversation_id}_analysis_{stamp}.json"))
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct LexDocument<'a> {
    pub(crate) participants: Vec<Participant>,
    pub(crate) version: &'static str,
    pub(crate) content_metadata: ContentMetadata,
    pub(crate) customer_metadata: CustomerMetadata<'a>,
    pub(crate) transcript: &'a [Turn<'a>],
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Participant {
    pub(crate) participant_id: &'static str,
    pub(crate) participant_role: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ContentMetadata {
    pub(crate) redaction_types: [&'static str; 1],
    pub(crate) output: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct CustomerMetadata<'a> {
    pub(crate) contact_id: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Turn<'a> {
    pub(crate) participant_id: &'static str,
    pub(crate) id: String,
    pub(crate) content: Cow<'a, str>,
    pub(crate) begin_offset_millis: i64,
    pub(crate) end_offset_millis: i64,
}

//! Reading the Genesys Cloud transcription event, leniently.
//!
//! The event's `detail` stays a `serde_json::Value`, so any shape of detail deserializes; this
//! module decides whether the event asks for a fetch. Only a conversation transcription event
//! whose `detail.eventBody.status.status` is `SESSION_ENDED` does; everything else (ongoing
//! sessions, missing status or body, other detail types) is ignored with a reason. A
//! `SESSION_ENDED` event without usable ids is invalid input: the ids become one S3 key segment
//! each (see [`crate::keys::raw_key`]), so they must pass [`is_safe_id`].

use serde_json::Value;
use shared_core::PipelineError;

/// The detail-type Genesys Cloud gives transcription events on the partner bus.
pub const TRANSCRIPTION_DETAIL_TYPE: &str = "v2.conversations.{id}.transcription";

/// The transcription status that means the transcript is complete.
pub const SESSION_ENDED: &str = "SESSION_ENDED";

/// Longest id accepted.
pub const MAX_ID_LEN: usize = 256;

/// What an event asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request<'a> {
    /// Fetch and store this communication's transcript.
    Fetch {
        conversation_id: &'a str,
        communication_id: &'a str,
    },
    /// Nothing to do, and why.
    Ignore { reason: String },
}

/// Decides what an event with this `detail-type` and `detail` asks for.
pub fn request<'a>(detail_type: &str, detail: &'a Value) -> Result<Request<'a>, PipelineError> {
    let ignore = |reason: String| Ok(Request::Ignore { reason });
    if !is_transcription(detail_type) {
        return ignore(format!(
            "detail-type {:?} is not a conversation transcription event",
            shorten(detail_type)
        ));
    }
    let Some(body) = detail.get("eventBody").filter(|b| b.is_object()) else {
        return ignore("detail.eventBody is missing".to_owned());
    };
    let status = match body.get("status") {
        None | Some(Value::Null) => return ignore("detail.eventBody.status is missing".to_owned()),
        Some(status) => status.get("status").and_then(Value::as_str),
    };
    match status {
        Some(SESSION_ENDED) => {}
        Some(other) => {
            return ignore(format!(
                "transcription status is {:?}, not {SESSION_ENDED}",
                shorten(other)
            ))
        }
        None => return ignore("detail.eventBody.status.status is missing".to_owned()),
    }
    Ok(Request::Fetch {
        conversation_id: id(body, "conversationId")?,
        communication_id: id(body, "communicationId")?,
    })
}

/// The conversation id of an event that is ignored, when it has a safe one: for the log line.
pub fn conversation_id(detail: &Value) -> Option<&str> {
    detail
        .pointer("/eventBody/conversationId")
        .and_then(Value::as_str)
        .filter(|id| is_safe_id(id))
}

/// `v2.conversations.{id}.transcription`, also with the id filled in.
fn is_transcription(detail_type: &str) -> bool {
    detail_type == TRANSCRIPTION_DETAIL_TYPE
        || (detail_type.starts_with("v2.conversations.") && detail_type.ends_with(".transcription"))
}

/// A required id of the event body, safe as one S3 key segment.
fn id<'a>(body: &'a Value, field: &str) -> Result<&'a str, PipelineError> {
    let path = format!("detail.eventBody.{field}");
    let value = match body.get(field) {
        None | Some(Value::Null) => {
            return Err(PipelineError::invalid_input(format!("{path}: missing")))
        }
        Some(Value::String(s)) => s.as_str(),
        Some(_) => {
            return Err(PipelineError::invalid_input(format!(
                "{path}: not a string"
            )))
        }
    };
    if value.is_empty() {
        return Err(PipelineError::invalid_input(format!("{path}: empty")));
    }
    if !is_safe_id(value) {
        return Err(PipelineError::invalid_input(format!(
            "{path}: {:?} is not a valid id (at most {MAX_ID_LEN} letters, digits, '-', '_' or '.')",
            shorten(value)
        )));
    }
    Ok(value)
}

/// Letters, digits, `-`, `_`, `.`; not `.` or `..`; at most [`MAX_ID_LEN`] characters.
pub fn is_safe_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id != "."
        && id != ".."
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// At most 80 characters of a value from the event, for messages.
fn shorten(s: &str) -> &str {
    match s.char_indices().nth(80) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use shared_core::ErrorKind;

    use super::*;

    /// A transcription event's detail with this event body.
    fn body(body: Value) -> Value {
        json!({ "eventBody": body })
    }

    fn reason(detail_type: &str, detail: &Value) -> String {
        match request(detail_type, detail).unwrap() {
            Request::Ignore { reason } => reason,
            other => panic!("expected ignore, got {other:?}"),
        }
    }

    fn ignored(b: Value) -> String {
        reason(TRANSCRIPTION_DETAIL_TYPE, &body(b))
    }

    #[test]
    fn session_ended_asks_for_a_fetch() {
        let d = body(
            json!({"conversationId": "c-1", "communicationId": "m_1.x", "status": {"status": "SESSION_ENDED"}}),
        );
        assert_eq!(
            request(TRANSCRIPTION_DETAIL_TYPE, &d).unwrap(),
            Request::Fetch {
                conversation_id: "c-1",
                communication_id: "m_1.x"
            }
        );
        let d = json!({"eventBody": {"conversationId": "c-1", "communicationId": "m", "status": {"status": "SESSION_ENDED"}}});
        assert!(matches!(
            request("v2.conversations.c-1.transcription", &d).unwrap(),
            Request::Fetch { .. }
        ));
    }

    #[test]
    fn everything_else_is_ignored() {
        assert!(ignored(json!({"conversationId": "c"})).contains("status is missing"));
        assert!(ignored(json!({"status": null})).contains("status is missing"));
        assert!(ignored(json!({"status": {"offsetMs": 1}})).contains("status.status is missing"));
        assert!(ignored(json!({"status": "SESSION_ENDED"})).contains("status.status is missing"));
        assert!(
            ignored(json!({"status": {"status": "SESSION_ONGOING"}})).contains("SESSION_ONGOING")
        );
        assert!(reason(TRANSCRIPTION_DETAIL_TYPE, &json!({})).contains("eventBody is missing"));
        assert!(reason(TRANSCRIPTION_DETAIL_TYPE, &json!("text")).contains("eventBody is missing"));
        assert!(reason("Object Created", &json!({})).contains("not a conversation transcription"));
    }

    #[test]
    fn bad_ids_are_invalid_input() {
        let ended = |extra: Value| {
            let mut b = json!({"conversationId": "c", "communicationId": "m", "status": {"status": "SESSION_ENDED"}});
            for (k, v) in extra.as_object().unwrap() {
                b[k] = v.clone();
            }
            request(TRANSCRIPTION_DETAIL_TYPE, &body(b)).unwrap_err()
        };
        let err = ended(json!({"communicationId": null}));
        assert_eq!(err.kind, ErrorKind::InvalidInput);
        assert_eq!(err.message, "detail.eventBody.communicationId: missing");
        assert_eq!(
            ended(json!({"conversationId": 7})).message,
            "detail.eventBody.conversationId: not a string"
        );
        assert_eq!(
            ended(json!({"conversationId": ""})).message,
            "detail.eventBody.conversationId: empty"
        );
        for bad in ["../x", "a/b", "..", "a b", "ü"] {
            let err = ended(json!({ "conversationId": bad }));
            assert_eq!(err.kind, ErrorKind::InvalidInput, "{bad}");
            assert!(
                err.message.starts_with("detail.eventBody.conversationId: "),
                "{err}"
            );
        }
        assert!(!is_safe_id(&"a".repeat(257)));
        assert!(is_safe_id("97b9dcb3-c182-4d1f-8123-76a4b5cf1f5a"));
    }

    #[test]
    fn ignored_events_name_their_conversation_only_when_it_is_safe() {
        assert_eq!(
            conversation_id(&body(json!({"conversationId": "c-1"}))),
            Some("c-1")
        );
        assert_eq!(
            conversation_id(&body(json!({"conversationId": "../x"}))),
            None
        );
        assert_eq!(conversation_id(&body(json!({"conversationId": 7}))), None);
        assert_eq!(conversation_id(&json!("text")), None);
    }
}

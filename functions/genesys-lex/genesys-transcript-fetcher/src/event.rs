//! Reading the Genesys Cloud transcription event, leniently.
//!
//! The event's `detail` stays a `serde_json::Value`, so any shape of detail deserializes; this
//! module decides whether the event asks for a fetch. Only a conversation transcription event
//! whose `detail.eventBody.status.status` is `SESSION_ENDED` does; everything else (ongoing
//! sessions, missing status or body, other detail types) is ignored with a reason. A
//! `SESSION_ENDED` event without usable ids is invalid input.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use serde_json::Value;
use shared::PipelineError;

/// The detail-type Genesys Cloud gives transcription events on the partner bus.
pub const TRANSCRIPTION_DETAIL_TYPE: &str = "v2.conversations.{id}.transcription";

/// The transcription status that means the transcript is complete.
pub const SESSION_ENDED: &str = "SESSION_ENDED";

/// Longest id accepted.
const MAX_ID_LEN: usize = 256;

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

/// Decides what `event` asks for.
pub fn request(event: &EventBridgeEvent<Value>) -> Result<Request<'_>, PipelineError> {
    let ignore = |reason: String| Ok(Request::Ignore { reason });
    if !is_transcription(&event.detail_type) {
        return ignore(format!(
            "detail-type {:?} is not a conversation transcription event",
            shorten(&event.detail_type)
        ));
    }
    let Some(body) = event.detail.get("eventBody").filter(|b| b.is_object()) else {
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
    use shared::ErrorKind;

    use super::*;

    fn event(detail_type: &str, detail: Value) -> EventBridgeEvent<Value> {
        serde_json::from_value(json!({
            "version": "0",
            "id": "e",
            "detail-type": detail_type,
            "source": "aws.partner/genesys.com/cloud/org/x",
            "account": "123456789012",
            "time": "2025-12-10T08:45:01Z",
            "region": "us-east-1",
            "resources": [],
            "detail": detail,
        }))
        .unwrap()
    }

    fn body(body: Value) -> EventBridgeEvent<Value> {
        event(TRANSCRIPTION_DETAIL_TYPE, json!({ "eventBody": body }))
    }

    fn reason(e: &EventBridgeEvent<Value>) -> String {
        match request(e).unwrap() {
            Request::Ignore { reason } => reason,
            other => panic!("expected ignore, got {other:?}"),
        }
    }

    #[test]
    fn session_ended_asks_for_a_fetch() {
        let e = body(
            json!({"conversationId": "c-1", "communicationId": "m_1.x", "status": {"status": "SESSION_ENDED"}}),
        );
        assert_eq!(
            request(&e).unwrap(),
            Request::Fetch {
                conversation_id: "c-1",
                communication_id: "m_1.x"
            }
        );
        let e = event(
            "v2.conversations.c-1.transcription",
            json!({"eventBody": {"conversationId": "c-1", "communicationId": "m", "status": {"status": "SESSION_ENDED"}}}),
        );
        assert!(matches!(request(&e).unwrap(), Request::Fetch { .. }));
    }

    #[test]
    fn everything_else_is_ignored() {
        assert!(reason(&body(json!({"conversationId": "c"}))).contains("status is missing"));
        assert!(reason(&body(json!({"status": null}))).contains("status is missing"));
        assert!(
            reason(&body(json!({"status": {"offsetMs": 1}}))).contains("status.status is missing")
        );
        assert!(
            reason(&body(json!({"status": "SESSION_ENDED"}))).contains("status.status is missing")
        );
        assert!(
            reason(&body(json!({"status": {"status": "SESSION_ONGOING"}})))
                .contains("SESSION_ONGOING")
        );
        assert!(
            reason(&event(TRANSCRIPTION_DETAIL_TYPE, json!({}))).contains("eventBody is missing")
        );
        assert!(reason(&event(TRANSCRIPTION_DETAIL_TYPE, json!("text")))
            .contains("eventBody is missing"));
        assert!(reason(&event("Object Created", json!({})))
            .contains("not a conversation transcription"));
    }

    #[test]
    fn bad_ids_are_invalid_input() {
        let ended = |extra: Value| {
            let mut b = json!({"conversationId": "c", "communicationId": "m", "status": {"status": "SESSION_ENDED"}});
            for (k, v) in extra.as_object().unwrap() {
                b[k] = v.clone();
            }
            request(&body(b)).unwrap_err()
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
}

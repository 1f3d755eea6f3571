//! A Segment message (Segment Spec common fields), parsed without copying its strings.
//!
//! Only the fields the mapping reads are kept. The top-level object is walked by
//! the `scan` module: `context`, `integrations` and every other member the mapping does not read
//! are jumped over (their structure is checked, their content is not decoded); the members it
//! reads are parsed and validated by serde_json into [`Value`]s borrowing from the text. Fields
//! are kept as raw JSON values and type-checked by the mapping, so that a wrongly typed field is
//! reported with its name (and never its value) instead of as a generic parse error.
//!
//! [`Config::parse`](super::Config::parse) goes further and keeps only the members of
//! `properties` and `traits` that the configuration's paths can reach.
//!
//! The message and its fields are here; `text` parses JSON text with the scanner, `tree` reads
//! the values it keeps (numbers as written, see [`Value::Number`]) and `de` reads an already
//! parsed `serde_json::Value` ([`Message::from_value`]).

mod de;
mod text;
mod tree;

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;

use super::error::MapError;
use super::value::Value;

use text::json_error;
pub(crate) use text::{parse_with, Wanted};

/// Segment message types (`type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageKind {
    Track,
    Page,
    Screen,
    Identify,
    Alias,
    Group,
}

impl MessageKind {
    /// Parses `type` (ASCII case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "track" => return Some(MessageKind::Track),
            "page" => return Some(MessageKind::Page),
            "identify" => return Some(MessageKind::Identify),
            "screen" => return Some(MessageKind::Screen),
            _ => {}
        }
        const ALL: [(&str, MessageKind); 6] = [
            ("track", MessageKind::Track),
            ("page", MessageKind::Page),
            ("screen", MessageKind::Screen),
            ("identify", MessageKind::Identify),
            ("alias", MessageKind::Alias),
            ("group", MessageKind::Group),
        ];
        ALL.iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(s))
            .map(|(_, k)| *k)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Track => "track",
            MessageKind::Page => "page",
            MessageKind::Screen => "screen",
            MessageKind::Identify => "identify",
            MessageKind::Alias => "alias",
            MessageKind::Group => "group",
        }
    }
}

impl fmt::Display for MessageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The fields of a Segment message the forwarder reads, borrowing from the input text.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Message<'a> {
    /// `type`
    pub kind: Option<Value<'a>>,
    pub message_id: Option<Value<'a>>,
    pub anonymous_id: Option<Value<'a>>,
    pub user_id: Option<Value<'a>>,
    pub timestamp: Option<Value<'a>>,
    pub original_timestamp: Option<Value<'a>>,
    pub sent_at: Option<Value<'a>>,
    pub received_at: Option<Value<'a>>,
    /// `track`: the event name.
    pub event: Option<Value<'a>>,
    /// `page`/`screen`: the page or screen name.
    pub name: Option<Value<'a>>,
    pub properties: Option<Value<'a>>,
    /// `identify`/`group`
    pub traits: Option<Value<'a>>,
}

impl<'a> Message<'a> {
    /// The field a message member is read into, by the member's name; `None` for the members
    /// the mapping never reads.
    fn slot(&mut self, key: &str) -> Option<&mut Option<Value<'a>>> {
        Some(match key {
            "type" => &mut self.kind,
            "messageId" => &mut self.message_id,
            "anonymousId" => &mut self.anonymous_id,
            "userId" => &mut self.user_id,
            "timestamp" => &mut self.timestamp,
            "originalTimestamp" => &mut self.original_timestamp,
            "sentAt" => &mut self.sent_at,
            "receivedAt" => &mut self.received_at,
            "event" => &mut self.event,
            "name" => &mut self.name,
            "properties" => &mut self.properties,
            "traits" => &mut self.traits,
            _ => return None,
        })
    }

    /// Parses one message from JSON text. Errors say where the JSON is broken (line and column)
    /// or that the text is not an object, and never quote the text.
    pub fn parse(text: &'a str) -> Result<Self, MapError> {
        parse_with(text, None)
    }

    /// Reads a message from an already parsed JSON value (the Lambda runtime hands the function
    /// a `serde_json::Value`); strings are borrowed from `value`.
    pub fn from_value(value: &'a serde_json::Value) -> Result<Self, MapError> {
        if !value.is_object() {
            return Err(MapError::new("message", "expected a JSON object"));
        }
        Message::deserialize(value).map_err(|e| json_error("", 0, &e, "message"))
    }

    /// `type`, checked.
    pub fn kind(&self) -> Result<MessageKind, MapError> {
        match &self.kind {
            None | Some(Value::Null) => Err(MapError::missing("type")),
            Some(Value::Str(s)) => MessageKind::parse(s).ok_or_else(|| {
                MapError::new(
                    "type",
                    "unsupported message type (expected track, page, screen, identify, alias or group)",
                )
            }),
            Some(other) => Err(MapError::new(
                "type",
                format!("expected a string, found {}", other.kind()),
            )),
        }
    }
}

/// An identifier field (`messageId`, `userId`, `anonymousId`): a string, or a number that some
/// libraries send (analytics.js and analytics-node pass a numeric `userId` through), as the
/// text it was written with. `None` when missing, null or empty.
pub(crate) fn id_field<'a>(
    value: &Option<Value<'a>>,
    field: &str,
) -> Result<Option<Cow<'a, str>>, MapError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Str(s)) if s.is_empty() => Ok(None),
        Some(
            v @ (Value::Str(_)
            | Value::Int(_)
            | Value::UInt(_)
            | Value::Float(_)
            | Value::Number(_)),
        ) => Ok(v.scalar_text()),
        Some(other) => Err(MapError::new(
            field,
            format!("expected a string, found {}", other.kind()),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_spec_fields_and_skips_the_rest() {
        let text = include_str!("../../../../events/segment/segment_track_spec_full_example.json");
        let m = Message::parse(text).unwrap();
        assert_eq!(m.kind().unwrap(), MessageKind::Track);
        assert_eq!(
            m.event.as_ref().and_then(Value::as_str),
            Some("Course Clicked")
        );
        assert_eq!(
            m.user_id.as_ref().and_then(Value::as_str),
            Some("AiUGstSDIg")
        );
        assert_eq!(
            m.original_timestamp.as_ref().and_then(Value::as_str),
            Some("2015-12-12T19:11:01.152Z")
        );
        assert!(m.traits.is_none());
        assert!(matches!(m.message_id, Some(Value::Str(Cow::Borrowed(_)))));
    }

    #[test]
    fn parse_errors_name_the_position_not_the_text() {
        let e = Message::parse(r#"{"userId": "secret@example.com""#).unwrap_err();
        assert_eq!(e.field, "message");
        assert!(e.reason.starts_with("invalid JSON: unexpected end"), "{e}");
        assert!(!e.to_string().contains("secret"));
        let e = Message::parse(r#"{"userId": secret}"#).unwrap_err();
        assert!(e.reason.starts_with("invalid JSON at line 1 column"), "{e}");
        assert!(!e.to_string().contains("secret"));
        let e = Message::parse(r#""secret@example.com""#).unwrap_err();
        assert_eq!(e.to_string(), "message: expected a JSON object");
        assert_eq!(
            Message::parse("  ").unwrap_err().to_string(),
            "message: empty"
        );
        let e = Message::parse(r#"{"a":1} {"b":2}"#).unwrap_err();
        assert!(e.reason.starts_with("invalid JSON"), "{e}");
    }

    #[test]
    fn type_is_checked() {
        let kind = |t: &str| Message::parse(t).unwrap().kind().map_err(|e| e.to_string());
        assert_eq!(kind(r#"{"type":"Track"}"#), Ok(MessageKind::Track));
        assert_eq!(kind(r#"{}"#), Err("type: missing".to_owned()));
        assert_eq!(kind(r#"{"type":null}"#), Err("type: missing".to_owned()));
        assert!(kind(r#"{"type":"bogus"}"#)
            .unwrap_err()
            .starts_with("type: unsupported"));
        assert_eq!(
            kind(r#"{"type":7}"#),
            Err("type: expected a string, found a number".to_owned())
        );
    }

    #[test]
    fn from_a_serde_json_value() {
        let v: serde_json::Value = serde_json::from_str(include_str!(
            "../../../../events/segment/segment_identify_spec_full_example.json"
        ))
        .unwrap();
        let m = Message::from_value(&v).unwrap();
        assert_eq!(m.kind().unwrap(), MessageKind::Identify);
        assert!(matches!(
            m.user_id,
            Some(Value::Str(Cow::Borrowed("97980cfea0067")))
        ));
        let not_object = serde_json::json!(["x"]);
        assert!(Message::from_value(&not_object).is_err());
    }

    #[test]
    fn escaped_keys_repeated_members_and_skipped_content() {
        let m = Message::parse(
            r#"{"\u0074ype":"track","userId":"a","userId":"b","context":{"x":[1,{"y":"]"}]}}"#,
        )
        .unwrap();
        assert_eq!(m.kind().unwrap(), MessageKind::Track);
        assert_eq!(
            m.user_id.as_ref().and_then(Value::as_str),
            Some("b"),
            "last wins"
        );
        // Members the mapping never reads are followed to their end, not decoded.
        assert!(Message::parse(r#"{"type":"track","context":{"n":01,"t":tru}}"#).is_ok());
        // Read members are validated, and the error names them and their position.
        let e = Message::parse("{\"type\":\"track\",\n \"properties\": {\"a\": tru}}").unwrap_err();
        assert_eq!(
            e.to_string(),
            "properties: invalid JSON at line 2 column 25"
        );
        let e = Message::parse("{\"type\":\"tr\u{1}ck\"}").unwrap_err();
        assert_eq!(e.to_string(), "message: invalid JSON at line 1 column 12");
        let e = Message::parse(r#"{"type":"track"} x"#).unwrap_err();
        assert_eq!(e.to_string(), "message: invalid JSON at line 1 column 18");
        let e = Message::parse(r#"{"type":"track","context":{"a":[}"#).unwrap_err();
        assert!(e.reason.starts_with("invalid JSON: unexpected end"), "{e}");
    }

    #[test]
    fn escaped_strings_are_decoded() {
        let m =
            Message::parse(r#"{"event":"Caf\u00e9 \"Viewed\"","userId":"\ud83d\ude00"}"#).unwrap();
        assert_eq!(
            m.event.as_ref().and_then(Value::as_str),
            Some("Café \"Viewed\"")
        );
        assert_eq!(m.user_id.as_ref().and_then(Value::as_str), Some("😀"));
    }

    #[test]
    fn a_configuration_keeps_only_what_its_paths_reach() {
        let config = crate::Config::from_source(&[
            ("PERSONALIZE_TRACKING_ID", "t"),
            ("EVENT_PROPERTIES", "brand=details.brand"),
        ])
        .unwrap();
        let text = r#"{"type":"track","properties":{"title":"x","sku":"s","details":{"brand":"b","size":"L"},"products":[{"product_id":"p","name":"n"},{"name":"m"}],"impression":["i"]},"traits":{"email":"e"}}"#;
        let m = config.parse(text).unwrap();
        let props = m.properties.as_ref().unwrap();
        let keys = |v: &Value| match v {
            Value::Object(members) => members
                .iter()
                .map(|(k, _)| k.to_string())
                .collect::<Vec<_>>(),
            _ => panic!("object expected"),
        };
        assert_eq!(keys(props), ["sku", "details", "products", "impression"]);
        assert_eq!(keys(props.get("details").unwrap()), ["brand"]);
        let Some(Value::Array(products)) = props.get("products") else {
            panic!("array expected")
        };
        assert_eq!(keys(&products[0]), ["product_id"]);
        assert_eq!(keys(&products[1]), Vec::<String>::new());
        assert_eq!(keys(m.traits.as_ref().unwrap()), Vec::<String>::new());
        // Without a configuration everything is kept.
        let all = Message::parse(text).unwrap();
        assert_eq!(keys(all.properties.as_ref().unwrap()).len(), 5);
    }

    #[test]
    fn ids_accept_strings_and_integers() {
        let m = Message::parse(r#"{"userId":42,"anonymousId":"","messageId":{"x":1}}"#).unwrap();
        assert_eq!(
            id_field(&m.user_id, "userId").unwrap().as_deref(),
            Some("42")
        );
        assert_eq!(id_field(&m.anonymous_id, "anonymousId").unwrap(), None);
        assert_eq!(
            id_field(&m.message_id, "messageId")
                .unwrap_err()
                .to_string(),
            "messageId: expected a string, found an object"
        );
    }
}

//! One Segment message -> interactions (PutEvents events), a user (PutUsers), or an explicit
//! "ignored" outcome.

use std::borrow::Cow;
use std::fmt;

use super::config::{Config, EventTypeLookup, USERS_DATASET_ARN};
use super::error::{check_len, service_len, MapError};
use super::limits;
use super::message::{id_field, parse_with, Message, MessageKind, Wanted};
use super::path::{Element, PropertyPath, Resolved, Selector};
use super::request::{Event, User};
use super::scan;
use super::time::{parse_rfc3339, SentAt};
use super::value::Value;

/// The event name a `page` message is looked up under in `EVENT_TYPE_MAP` (and sent as when
/// unmapped).
pub const PAGE_EVENT: &str = "Page Viewed";
/// The event name a `screen` message is looked up under in `EVENT_TYPE_MAP` (and sent as when
/// unmapped).
pub const SCREEN_EVENT: &str = "Screen Viewed";

static EMPTY_OBJECT: Value<'static> = Value::Object(Vec::new());

/// What one message becomes.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome<'a> {
    /// `track`, `page`, `screen`: events for one session, in message order.
    Interactions(Interactions<'a>),
    /// `identify` with a users dataset configured: one user for PutUsers.
    User(User<'a>),
    /// Nothing to send, on purpose (not an error).
    Ignored(Ignored),
}

/// The events of one message and the session they belong to.
#[derive(Debug, Clone, PartialEq)]
pub struct Interactions<'a> {
    pub session_id: Cow<'a, str>,
    pub user_id: Option<Cow<'a, str>>,
    /// One event, or one per element of an item id array (`products[].product_id`).
    pub events: Vec<Event<'a>>,
    /// Elements of that array skipped because they had no item id.
    pub skipped_elements: usize,
}

impl Outcome<'_> {
    /// Detaches the outcome from the message text and configuration.
    pub fn into_owned(self) -> Outcome<'static> {
        match self {
            Outcome::Interactions(i) => Outcome::Interactions(i.into_owned()),
            Outcome::User(u) => Outcome::User(u.into_owned()),
            Outcome::Ignored(r) => Outcome::Ignored(r),
        }
    }
}

impl Interactions<'_> {
    /// Detaches the events from the message text and configuration.
    pub fn into_owned(self) -> Interactions<'static> {
        Interactions {
            session_id: Cow::Owned(self.session_id.into_owned()),
            user_id: self.user_id.map(|u| Cow::Owned(u.into_owned())),
            events: self.events.into_iter().map(Event::into_owned).collect(),
            skipped_elements: self.skipped_elements,
        }
    }
}

/// A message deliberately not forwarded, and why (no personal data).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ignored {
    pub kind: MessageKind,
    pub reason: &'static str,
}

impl fmt::Display for Ignored {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.reason)
    }
}

/// Reason given for `alias` messages.
pub const IGNORED_ALIAS: &str = "alias messages are not interactions";
/// Reason given for `group` messages.
pub const IGNORED_GROUP: &str = "group messages are not interactions";
/// Reason given for `identify` without a users dataset.
pub const IGNORED_NO_USERS_DATASET: &str =
    "no users dataset configured (PERSONALIZE_USERS_DATASET_ARN)";
/// Reason given for `identify` carrying none of the selected traits.
pub const IGNORED_NO_TRAITS: &str = "none of the USER_TRAITS is present";
/// Reason given for events mapped to null in `EVENT_TYPE_MAP`.
pub const IGNORED_DROPPED_EVENT: &str = "EVENT_TYPE_MAP maps this event to null";

/// The fields every event of a message shares.
struct Common<'a> {
    event_type: Cow<'a, str>,
    event_id: Option<Cow<'a, str>>,
    sent_at: SentAt,
    recommendation_id: Option<Cow<'a, str>>,
    impression: Option<Vec<Cow<'a, str>>>,
}

impl Config {
    /// Parses and maps one message from JSON text.
    pub fn map_str<'a>(&'a self, text: &'a str) -> Result<Outcome<'a>, MapError> {
        self.map(&self.parse(text)?)
    }

    /// Parses one message like [`Message::parse`], keeping only the members of `properties` and
    /// `traits` this configuration reads (faster: the others are skipped, not decoded).
    pub fn parse<'a>(&self, text: &'a str) -> Result<Message<'a>, MapError> {
        parse_with(
            text,
            Some(Wanted {
                properties: &self.keep_properties,
                traits: &self.keep_traits,
            }),
        )
    }

    /// Maps one parsed message. Every limit Personalize enforces on the fields set here is
    /// checked, so a request built from the outcome is valid unless the service changes its
    /// limits.
    pub fn map<'a>(&'a self, msg: &Message<'a>) -> Result<Outcome<'a>, MapError> {
        let kind = msg.kind()?;
        match kind {
            MessageKind::Track | MessageKind::Page | MessageKind::Screen => {
                self.map_interaction(kind, msg)
            }
            MessageKind::Identify => self.map_identify(msg),
            MessageKind::Alias => Ok(Outcome::Ignored(Ignored {
                kind,
                reason: IGNORED_ALIAS,
            })),
            MessageKind::Group => Ok(Outcome::Ignored(Ignored {
                kind,
                reason: IGNORED_GROUP,
            })),
        }
    }

    fn map_interaction<'a>(
        &'a self,
        kind: MessageKind,
        msg: &Message<'a>,
    ) -> Result<Outcome<'a>, MapError> {
        let name: Cow<'a, str> = match kind {
            MessageKind::Page => Cow::Borrowed(PAGE_EVENT),
            MessageKind::Screen => Cow::Borrowed(SCREEN_EVENT),
            _ => match &msg.event {
                None | Some(Value::Null) => return Err(MapError::missing("event")),
                Some(Value::Str(s)) => s.clone(),
                Some(other) => {
                    return Err(MapError::new(
                        "event",
                        format!("expected a string, found {}", other.kind()),
                    ))
                }
            },
        };
        let event_type = match self.event_types.lookup(&name) {
            EventTypeLookup::Mapped(t) => Cow::Borrowed(t),
            EventTypeLookup::PassThrough => {
                check_len(|| "event".to_owned(), &name, limits::EVENT_TYPE)?;
                name
            }
            EventTypeLookup::Dropped => {
                return Ok(Outcome::Ignored(Ignored {
                    kind,
                    reason: IGNORED_DROPPED_EVENT,
                }))
            }
        };

        let user_id = id_field(&msg.user_id, "userId")?;
        if let Some(u) = &user_id {
            check_len(|| "userId".to_owned(), u, limits::USER_ID)?;
        }
        let session_id = match id_field(&msg.anonymous_id, "anonymousId")? {
            Some(a) => {
                check_len(|| "anonymousId".to_owned(), &a, limits::SESSION_ID)?;
                a
            }
            None => match &user_id {
                Some(u) => Cow::Owned(derive_session_id(&self.session_id_prefix, u)),
                None => {
                    return Err(MapError::new(
                        "anonymousId",
                        "missing, and no userId to derive a session id from",
                    ))
                }
            },
        };
        let sent_at = sent_at(msg)?;
        let event_id = id_field(&msg.message_id, "messageId")?;
        if let Some(id) = &event_id {
            check_len(|| "messageId".to_owned(), id, limits::EVENT_ID)?;
        }

        let props = match &msg.properties {
            None | Some(Value::Null) => &EMPTY_OBJECT,
            Some(v @ Value::Object(_)) => v,
            Some(other) => {
                return Err(MapError::new(
                    "properties",
                    format!("expected an object, found {}", other.kind()),
                ))
            }
        };
        let common = Common {
            event_type,
            event_id,
            sent_at,
            recommendation_id: recommendation_id(props)?,
            impression: impression(props)?,
        };

        let mut events = Vec::new();
        let mut skipped_elements = 0;
        for path in &self.item_id_paths {
            if !path.is_each() {
                let Some(v) = path.get(props) else { continue };
                let Some(id) = item_id(v, || path.field("properties", None))? else {
                    continue;
                };
                events.push(self.event(&common, props, None, Some(id))?);
                break;
            }
            let items = path.array_of(props).map_err(|found| {
                MapError::new(
                    path.array_field("properties"),
                    format!("expected an array, found {found}"),
                )
            })?;
            let Some(items) = items else { continue };
            let array = path.array().expect("[] path");
            let mut skipped = 0;
            for (index, el) in items.iter().enumerate() {
                let id = match path.element_value(el) {
                    Some(v) => item_id(v, || path.field("properties", Some(index)))?,
                    None => None,
                };
                let Some(id) = id else {
                    skipped += 1;
                    continue;
                };
                let element = Element {
                    array,
                    index,
                    value: el,
                };
                events.push(self.event(&common, props, Some(&element), Some(id))?);
            }
            if !events.is_empty() {
                skipped_elements = skipped;
                break;
            }
        }
        if events.is_empty() {
            events.push(self.event(&common, props, None, None)?);
        }

        Ok(Outcome::Interactions(Interactions {
            session_id,
            user_id,
            events,
            skipped_elements,
        }))
    }

    fn event<'a>(
        &self,
        common: &Common<'a>,
        props: &Value<'a>,
        element: Option<&Element<'_, '_, 'a>>,
        item_id: Option<Cow<'a, str>>,
    ) -> Result<Event<'a>, MapError> {
        let event_id = match (&common.event_id, element) {
            (Some(id), Some(el)) => {
                // One event per element: distinct, deterministic ids (Personalize drops
                // events whose eventId it has seen).
                let id = format!("{id}-{}", el.index);
                if service_len(&id) > limits::EVENT_ID {
                    return Err(MapError::new(
                        "messageId",
                        format!(
                            "{} characters with the per-item suffix -{}, at most {}",
                            service_len(&id),
                            el.index,
                            limits::EVENT_ID
                        ),
                    ));
                }
                Some(Cow::Owned(id))
            }
            (id, _) => id.clone(),
        };
        Ok(Event {
            event_id,
            event_type: common.event_type.clone(),
            event_value: self.event_value(props, element)?,
            item_id,
            properties: properties_string(&self.event_properties, props, "properties", element)?
                .map(|p| check_properties(p, "properties", limits::EVENT_PROPERTIES))
                .transpose()?,
            sent_at: common.sent_at,
            recommendation_id: common.recommendation_id.clone(),
            impression: common.impression.clone(),
        })
    }

    fn event_value(
        &self,
        props: &Value<'_>,
        element: Option<&Element<'_, '_, '_>>,
    ) -> Result<Option<f32>, MapError> {
        for path in &self.event_value_paths {
            if let Resolved::One(Some(v), index) = path.resolve(props, element) {
                if let Some(x) = number(v, || path.field("properties", index))? {
                    return Ok(Some(x));
                }
            }
        }
        Ok(None)
    }

    fn map_identify<'a>(&'a self, msg: &Message<'a>) -> Result<Outcome<'a>, MapError> {
        if self.users_dataset_arn.is_none() {
            return Ok(Outcome::Ignored(Ignored {
                kind: MessageKind::Identify,
                reason: IGNORED_NO_USERS_DATASET,
            }));
        }
        let user_id = id_field(&msg.user_id, "userId")?.ok_or_else(|| {
            MapError::new(
                "userId",
                format!("missing (identify updates the users dataset {USERS_DATASET_ARN}, which is keyed by userId)"),
            )
        })?;
        check_len(|| "userId".to_owned(), &user_id, limits::USER_ID)?;
        let traits = match &msg.traits {
            None | Some(Value::Null) => &EMPTY_OBJECT,
            Some(v @ Value::Object(_)) => v,
            Some(other) => {
                return Err(MapError::new(
                    "traits",
                    format!("expected an object, found {}", other.kind()),
                ))
            }
        };
        let Some(properties) = properties_string(&self.user_traits, traits, "traits", None)? else {
            return Ok(Outcome::Ignored(Ignored {
                kind: MessageKind::Identify,
                reason: IGNORED_NO_TRAITS,
            }));
        };
        let len = service_len(&properties);
        if len > limits::USER_PROPERTIES {
            return Err(MapError::new(
                "traits",
                format!(
                    "{len} characters as user properties, at most {}",
                    limits::USER_PROPERTIES
                ),
            ));
        }
        Ok(Outcome::User(User {
            user_id,
            properties: Some(properties),
        }))
    }
}

/// `sessionId` for a message without `anonymousId`: `prefix` followed by the 128-bit FNV-1a hash
/// of the user id in 32 lowercase hex digits. Stable across deliveries, processes and versions
/// (FNV-1a is fully specified), so all of a user's events without an anonymous id share one
/// session; it never exceeds the 256-character limit whatever the user id's length.
pub fn derive_session_id(prefix: &str, user_id: &str) -> String {
    const OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;
    let mut h = OFFSET;
    for &b in user_id.as_bytes() {
        h ^= u128::from(b);
        h = h.wrapping_mul(PRIME);
    }
    let mut out = String::with_capacity(prefix.len() + 32);
    out.push_str(prefix);
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for i in (0..32).rev() {
        out.push(HEX[((h >> (i * 4)) & 0xf) as usize] as char);
    }
    out
}

/// `sentAt` from `timestamp`, else `originalTimestamp`, `sentAt`, `receivedAt`: the first one
/// present (not null, not empty) is used, and must be valid.
fn sent_at(msg: &Message<'_>) -> Result<SentAt, MapError> {
    let candidates = [
        ("timestamp", &msg.timestamp),
        ("originalTimestamp", &msg.original_timestamp),
        ("sentAt", &msg.sent_at),
        ("receivedAt", &msg.received_at),
    ];
    for (field, value) in candidates {
        match value {
            None | Some(Value::Null) => continue,
            Some(Value::Str(s)) if s.is_empty() => continue,
            Some(Value::Str(s)) => {
                return parse_rfc3339(s).ok_or_else(|| {
                    MapError::new(
                        field,
                        "not an RFC 3339 date-time with a time zone (like 2024-05-14T10:15:30.250+02:00)",
                    )
                })
            }
            Some(other) => {
                return Err(MapError::new(
                    field,
                    format!("expected an RFC 3339 date-time string, found {}", other.kind()),
                ))
            }
        }
    }
    Err(MapError::new(
        "timestamp",
        "missing (and no originalTimestamp, sentAt or receivedAt)",
    ))
}

/// An item id: a string or a number; `None` for an empty string.
fn item_id<'a>(
    v: &Value<'a>,
    field: impl FnOnce() -> String + Copy,
) -> Result<Option<Cow<'a, str>>, MapError> {
    match v {
        Value::Str(s) if s.is_empty() => Ok(None),
        Value::Str(_) | Value::Int(_) | Value::UInt(_) | Value::Float(_) => {
            let id = v.scalar_text().expect("scalar");
            check_len(field, &id, limits::ITEM_ID)?;
            Ok(Some(id))
        }
        other => Err(MapError::new(
            field(),
            format!("expected a string or a number, found {}", other.kind()),
        )),
    }
}

/// `eventValue`: a JSON number or a numeric string (surrounding spaces allowed), finite and
/// within the `Float` (f32) range of the API. `None` for an empty string.
fn number(v: &Value<'_>, field: impl FnOnce() -> String + Copy) -> Result<Option<f32>, MapError> {
    let x = match v {
        Value::Int(n) => *n as f64,
        Value::UInt(n) => *n as f64,
        Value::Float(x) => *x,
        Value::Str(s) if s.trim().is_empty() => return Ok(None),
        Value::Str(s) => s
            .trim()
            .parse::<f64>()
            .map_err(|_| MapError::new(field(), "not a number"))?,
        other => {
            return Err(MapError::new(
                field(),
                format!(
                    "expected a number or a numeric string, found {}",
                    other.kind()
                ),
            ))
        }
    };
    if !x.is_finite() {
        return Err(MapError::new(field(), "not a finite number"));
    }
    let f = x as f32;
    if !f.is_finite() {
        return Err(MapError::new(
            field(),
            "out of range of a 32-bit float (eventValue is a Float)",
        ));
    }
    Ok(Some(f))
}

fn recommendation_id<'a>(props: &Value<'a>) -> Result<Option<Cow<'a, str>>, MapError> {
    const FIELD: &str = "properties.recommendationId";
    match props.get("recommendationId") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Str(s)) if s.is_empty() => Ok(None),
        Some(v @ (Value::Str(_) | Value::Int(_) | Value::UInt(_))) => {
            let id = v.scalar_text().expect("scalar");
            check_len(|| FIELD.to_owned(), &id, limits::RECOMMENDATION_ID)?;
            Ok(Some(id))
        }
        Some(other) => Err(MapError::new(
            FIELD,
            format!("expected a string, found {}", other.kind()),
        )),
    }
}

fn impression<'a>(props: &Value<'a>) -> Result<Option<Vec<Cow<'a, str>>>, MapError> {
    const FIELD: &str = "properties.impression";
    let items = match props.get("impression") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Array(items)) => items,
        Some(other) => {
            return Err(MapError::new(
                FIELD,
                format!("expected an array of item ids, found {}", other.kind()),
            ))
        }
    };
    if items.is_empty() {
        return Err(MapError::new(FIELD, "0 items, at least 1"));
    }
    if items.len() > limits::IMPRESSION_ITEMS {
        return Err(MapError::new(
            FIELD,
            format!(
                "{} items, at most {}",
                items.len(),
                limits::IMPRESSION_ITEMS
            ),
        ));
    }
    let mut ids = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let field = || format!("{FIELD}[{i}]");
        let id = match item {
            Value::Str(_) | Value::Int(_) | Value::UInt(_) => item.scalar_text().expect("scalar"),
            other => {
                return Err(MapError::new(
                    field(),
                    format!("expected a string, found {}", other.kind()),
                ))
            }
        };
        check_len(field, &id, limits::ITEM_ID)?;
        ids.push(id);
    }
    Ok(Some(ids))
}

fn check_properties(p: String, field: &str, max: usize) -> Result<String, MapError> {
    let len = service_len(&p);
    if len > max {
        return Err(MapError::too_long(field, len, max));
    }
    Ok(p)
}

/// Builds the JSON object string of the selected values: `{"key":"value",...}`, string values
/// only (Personalize's properties are a string map): numbers in decimal, booleans as
/// `true`/`false`, arrays joined with `|`. `None` when no selector finds a value.
fn properties_string(
    selectors: &[Selector],
    root: &Value<'_>,
    root_name: &str,
    element: Option<&Element<'_, '_, '_>>,
) -> Result<Option<String>, MapError> {
    if selectors.is_empty() {
        return Ok(None);
    }
    let mut out = String::with_capacity(64);
    out.push('{');
    for sel in selectors {
        for path in &sel.paths {
            let mark = out.len();
            if mark > 1 {
                out.push(',');
            }
            push_json_string(&mut out, &sel.key);
            out.push_str(":\"");
            let found = match path.resolve(root, element) {
                Resolved::One(None, _) => false,
                Resolved::One(Some(v), index) => {
                    property_text(v, &mut out, || path.field(root_name, index))?
                }
                Resolved::Each => join_elements(path, root, root_name, &mut out)?,
            };
            if found {
                out.push('"');
                break;
            }
            out.truncate(mark);
        }
    }
    if out.len() == 1 {
        return Ok(None);
    }
    out.push('}');
    Ok(Some(out))
}

/// Appends the values of an `[]` path over all elements, joined with `|` (escaped for a JSON
/// string); `false` when none has one.
fn join_elements(
    path: &PropertyPath,
    root: &Value<'_>,
    root_name: &str,
    out: &mut String,
) -> Result<bool, MapError> {
    let items = path.array_of(root).map_err(|found| {
        MapError::new(
            path.array_field(root_name),
            format!("expected an array, found {found}"),
        )
    })?;
    let mut any = false;
    for (index, el) in items.unwrap_or(&[]).iter().enumerate() {
        let Some(v) = path.element_value(el) else {
            continue;
        };
        let mark = out.len();
        if any {
            out.push('|');
        }
        if property_text(v, out, || path.field(root_name, Some(index)))? {
            any = true;
        } else {
            out.truncate(mark);
        }
    }
    Ok(any)
}

/// Appends the text form of a property value, escaped for a JSON string; `false` for nothing
/// (an empty array).
fn property_text(
    v: &Value<'_>,
    out: &mut String,
    field: impl FnOnce() -> String + Copy,
) -> Result<bool, MapError> {
    use std::fmt::Write as _;
    match v {
        Value::Null => return Ok(false),
        Value::Str(s) => push_escaped(out, s),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(n) => write!(out, "{n}").expect("write to String"),
        Value::UInt(n) => write!(out, "{n}").expect("write to String"),
        Value::Float(x) => write!(out, "{x}").expect("write to String"),
        Value::Array(items) => {
            let mut any = false;
            for item in items {
                if matches!(item, Value::Array(_) | Value::Object(_)) {
                    return Err(MapError::new(
                        field(),
                        "expected a string, number, boolean or an array of them, found nested arrays or objects",
                    ));
                }
                if item.is_null() {
                    continue;
                }
                if any {
                    out.push('|');
                }
                property_text(item, out, field)?;
                any = true;
            }
            return Ok(any);
        }
        Value::Object(_) => {
            return Err(MapError::new(
                field(),
                "expected a string, number, boolean or an array of them, found an object",
            ))
        }
    }
    Ok(true)
}

/// Appends `s` as a JSON string literal.
fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    push_escaped(out, s);
    out.push('"');
}

/// Appends `s` escaped for the inside of a JSON string literal (as serde_json escapes).
fn push_escaped(out: &mut String, s: &str) {
    let bytes = s.as_bytes();
    let mut start = 0;
    while let Some(i) = scan::special(bytes, start) {
        out.push_str(&s[start..i]);
        let b = bytes[i];
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x08 => out.push_str("\\b"),
            0x0c => out.push_str("\\f"),
            _ => {
                use std::fmt::Write as _;
                write!(out, "\\u{b:04x}").expect("write to String");
            }
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_are_escaped_like_serde_json() {
        for s in [
            "plain",
            "quote \" and \\ back",
            "line\nfeed\ttab\r",
            "\u{1}\u{1f}\u{7f}",
            "é😀",
            "",
        ] {
            let mut out = String::new();
            push_json_string(&mut out, s);
            assert_eq!(out, serde_json::to_string(s).unwrap(), "{s:?}");
        }
    }

    #[test]
    fn derived_session_ids_are_stable_and_bounded() {
        let a = derive_session_id("user-", "97980cfea0067");
        assert_eq!(a, derive_session_id("user-", "97980cfea0067"));
        assert_ne!(a, derive_session_id("user-", "97980cfea0068"));
        assert!(a.starts_with("user-"));
        assert_eq!(a.len(), 5 + 32);
        assert!(a[5..]
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        // FNV-1a 128 of the empty input is its offset basis.
        assert_eq!(
            derive_session_id("", ""),
            "6c62272e07bb014262b821756295c58d"
        );
        // Published FNV-1a 128-bit test vector for "a".
        assert_eq!(
            derive_session_id("", "a"),
            "d228cb696f1a8caf78912b704e4a8964"
        );
        assert_eq!(derive_session_id("p", &"x".repeat(10_000)).len(), 33);
    }
}

//! A user's last known traits and how an `identify` merges into them (pure: the forwarder's
//! `merge` module holds the flow around the trait store, and the clock).
//!
//! `PutUsers` replaces the whole user record, and an `identify` may carry only some traits (a
//! new device, a cleared browser storage, a server-side library sending what it just learnt).
//! So the forwarder keeps, per user, the traits the `USER_TRAITS` selectors read and merges each
//! `identify` into them before mapping:
//!
//! * **What is kept**: only the top-level trait keys the selectors name (`plan` for `plan`,
//!   `address` for `address.city`), each pruned to what the selectors' paths reach
//!   (`{"address": {"city": ...}}`, not the street): [`Reach`]. Keys no selector names any more
//!   are dropped when the user is next written.
//! * **Merge**: the message's values win over the stored ones; a trait the message does not
//!   carry keeps its stored value; a trait the message sets to `null` is removed.
//! * **Order**: each kept trait remembers the timestamp of the `identify` that set (or removed)
//!   it, and a message's value for a trait applies only if the message is at least as recent
//!   (`timestamp`, else `originalTimestamp`, `sentAt`, `receivedAt`; the time of processing for
//!   a message with none). An older `identify` delivered late fills in traits the newer ones did
//!   not set, and changes nothing else. At equal timestamps the message processed last wins, so
//!   a redelivered `identify` changes nothing.

use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::{limits, parse_rfc3339, Message, MessageKind, Selector, SentAt, Value};

/// What of `traits` the `USER_TRAITS` selectors read: the top-level keys and, under each, the
/// members their paths reach (arrays are transparent: a path's members apply to each element).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reach {
    /// Keep the whole value.
    whole: bool,
    members: BTreeMap<String, Reach>,
}

impl Reach {
    pub fn of(selectors: &[Selector]) -> Self {
        let mut root = Reach::default();
        for selector in selectors {
            for path in &selector.paths {
                root.add(path.segments());
            }
        }
        root
    }

    fn add(&mut self, segments: &[String]) {
        if self.whole {
            return;
        }
        match segments.split_first() {
            None => {
                self.whole = true;
                self.members.clear();
            }
            Some((first, rest)) => self.members.entry(first.clone()).or_default().add(rest),
        }
    }

    /// Whether any trait is read at all.
    pub fn is_empty(&self) -> bool {
        !self.whole && self.members.is_empty()
    }

    /// The part of `value` this reach covers, detached from the message. A scalar where
    /// members were expected holds nothing the selectors read: `null`.
    fn prune(&self, value: &Value<'_>) -> Value<'static> {
        if self.whole {
            return owned(value);
        }
        match value {
            Value::Object(members) => Value::Object(
                members
                    .iter()
                    .filter_map(|(k, v)| {
                        let reach = self.members.get(k.as_ref())?;
                        Some((Cow::Owned(k.to_string()), reach.prune(v)))
                    })
                    .collect(),
            ),
            Value::Array(items) => Value::Array(items.iter().map(|v| self.prune(v)).collect()),
            _ => Value::Null,
        }
    }
}

/// The traits an `identify` brings: the selected top-level keys it carries (pruned; `null`
/// removes) and when it happened.
#[derive(Debug, Clone, PartialEq)]
pub struct TraitUpdate {
    pub at: SentAt,
    pub values: Vec<(String, Value<'static>)>,
}

impl TraitUpdate {
    /// The update of one message: `None` when it carries none of the selected keys (nothing to
    /// merge: the message is mapped as it is). `now` stands in for a missing timestamp.
    pub fn of(msg: &Message<'_>, reach: &Reach, now: SentAt) -> Option<Self> {
        let Some(traits @ Value::Object(_)) = &msg.traits else {
            return None;
        };
        let values: Vec<(String, Value<'static>)> = reach
            .members
            .iter()
            .filter_map(|(key, r)| Some((key.clone(), r.prune(traits.get(key)?))))
            .collect();
        (!values.is_empty()).then(|| Self {
            at: message_time(msg).unwrap_or(now),
            values,
        })
    }
}

/// One kept trait: its value (`null`: removed) and the time of the `identify` that set it.
#[derive(Debug, Clone, PartialEq)]
pub struct TraitEntry {
    pub value: Value<'static>,
    pub at: SentAt,
}

/// A user's kept traits, by top-level key. Stored as JSON:
/// `{"plan": {"value": "pro", "at": "1795510800.250000000"}, "company": {"value": null, ...}}`
/// (`at`: seconds and nanoseconds since the epoch, exact). Numbers keep the text they were
/// sent with.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TraitState(pub BTreeMap<String, TraitEntry>);

impl TraitState {
    /// Reads the stored JSON (with the mapping's parser, so numbers keep their text). Errors
    /// name the position, never a value.
    pub fn from_json(text: &str) -> Result<Self, String> {
        let wrapped = format!("{{\"traits\":{text}}}");
        let msg = Message::parse(&wrapped).map_err(|e| format!("stored traits: {e}"))?;
        let Some(Value::Object(members)) = &msg.traits else {
            return Err("stored traits: expected an object".to_owned());
        };
        let mut out = BTreeMap::new();
        for (key, entry) in members {
            let value = entry
                .get("value")
                .ok_or_else(|| "stored traits: an entry without value".to_owned())?;
            let at = entry
                .get("at")
                .and_then(Value::as_str)
                .and_then(parse_stamp)
                .ok_or_else(|| "stored traits: an entry without a valid at".to_owned())?;
            out.insert(
                key.to_string(),
                TraitEntry {
                    value: owned(value),
                    at,
                },
            );
        }
        Ok(Self(out))
    }

    pub fn to_json(&self) -> String {
        let mut out = String::from("{");
        for (i, (key, entry)) in self.0.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            write_str(key, &mut out);
            out.push_str(":{\"value\":");
            write_json(&entry.value, &mut out);
            out.push_str(&format!(
                ",\"at\":\"{}.{:09}\"}}",
                entry.at.secs, entry.at.nanos
            ));
        }
        out.push('}');
        out
    }

    /// Only what `reach` reads now (the selectors may have changed since it was stored).
    pub fn selected(mut self, reach: &Reach) -> Self {
        self.0.retain(|key, entry| match reach.members.get(key) {
            Some(r) => {
                entry.value = r.prune(&entry.value);
                true
            }
            None => false,
        });
        self
    }

    /// Merges `update` in: each of its values replaces the kept one unless that one is newer.
    pub fn apply(&mut self, update: &TraitUpdate) {
        for (key, value) in &update.values {
            if self.0.get(key).is_some_and(|kept| kept.at > update.at) {
                continue;
            }
            self.0.insert(
                key.clone(),
                TraitEntry {
                    value: value.clone(),
                    at: update.at,
                },
            );
        }
    }

    /// Whether any trait has a value (not removed).
    pub fn has_values(&self) -> bool {
        self.0.values().any(|e| !e.value.is_null())
    }

    /// The traits object to map: every kept trait with a value.
    pub fn traits(&self) -> Value<'static> {
        Value::Object(
            self.0
                .iter()
                .filter(|(_, e)| !e.value.is_null())
                .map(|(k, e)| (Cow::Owned(k.clone()), e.value.clone()))
                .collect(),
        )
    }
}

/// The user id an `identify` is kept under: `userId` as the mapping reads it (a string, or an
/// integer in decimal). `None` when missing, empty, of another type or longer than the API
/// allows (the mapping then reports or ignores the message itself).
pub fn user_key(msg: &Message<'_>) -> Option<String> {
    if !matches!(msg.kind(), Ok(MessageKind::Identify)) {
        return None;
    }
    let id = match &msg.user_id {
        Some(Value::Str(s)) if !s.is_empty() => s.to_string(),
        Some(v @ (Value::Int(_) | Value::UInt(_))) => v.scalar_text()?.into_owned(),
        _ => return None,
    };
    (id.encode_utf16().count() <= limits::USER_ID).then_some(id)
}

/// When the message happened: the first of `timestamp`, `originalTimestamp`, `sentAt`,
/// `receivedAt` that is a valid RFC 3339 time.
pub fn message_time(msg: &Message<'_>) -> Option<SentAt> {
    [
        &msg.timestamp,
        &msg.original_timestamp,
        &msg.sent_at,
        &msg.received_at,
    ]
    .into_iter()
    .find_map(|v| v.as_ref().and_then(Value::as_str).and_then(parse_rfc3339))
}

/// `value` detached from the text it was parsed from.
fn owned(value: &Value<'_>) -> Value<'static> {
    match value {
        Value::Null => Value::Null,
        Value::Bool(b) => Value::Bool(*b),
        Value::Int(n) => Value::Int(*n),
        Value::UInt(n) => Value::UInt(*n),
        Value::Float(x) => Value::Float(*x),
        Value::Number(t) => Value::Number(Cow::Owned(t.to_string())),
        Value::Str(s) => Value::Str(Cow::Owned(s.to_string())),
        Value::Array(items) => Value::Array(items.iter().map(owned).collect()),
        Value::Object(members) => Value::Object(
            members
                .iter()
                .map(|(k, v)| (Cow::Owned(k.to_string()), owned(v)))
                .collect(),
        ),
    }
}

/// Writes `value` as JSON text: a number kept as text verbatim, a float in the form the
/// mapping writes it (shortest, no exponent), so a stored value maps as the original did.
fn write_json(value: &Value<'_>, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(n) => out.push_str(&n.to_string()),
        Value::UInt(n) => out.push_str(&n.to_string()),
        Value::Float(x) if x.is_finite() => out.push_str(&x.to_string()),
        Value::Float(_) => out.push_str("null"),
        Value::Number(t) => out.push_str(t),
        Value::Str(s) => write_str(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(v, out);
            }
            out.push(']');
        }
        Value::Object(members) => {
            out.push('{');
            for (i, (k, v)) in members.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_str(k, out);
                out.push(':');
                write_json(v, out);
            }
            out.push('}');
        }
    }
}

fn write_str(s: &str, out: &mut String) {
    out.push_str(&serde_json::to_string(s).expect("a string serialises"));
}

/// `"<seconds>.<fraction>"` (0 to 9 fraction digits) as a [`SentAt`].
fn parse_stamp(text: &str) -> Option<SentAt> {
    let (secs, fraction) = text.split_once('.').unwrap_or((text, ""));
    if fraction.len() > 9 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(SentAt {
        secs: secs.parse().ok()?,
        nanos: format!("{fraction:0<9}").parse().ok()?,
    })
}

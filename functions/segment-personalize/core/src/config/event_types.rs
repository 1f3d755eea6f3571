//! `EVENT_TYPE_MAP`: Segment event name -> Personalize event type, with its `"*"` fallback.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::limits;

/// FNV-1a (64-bit): the event type map is looked up once per message with short keys that come
/// from the configuration, where SipHash's flooding resistance buys nothing.
#[derive(Debug, Clone, Copy)]
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// Segment event name -> Personalize event type.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventTypeMap {
    map: HashMap<String, Option<String>, BuildHasherDefault<Fnv>>,
    /// The `"*"` entry: what unmapped names become (`None` entry = pass through).
    fallback: Option<Option<String>>,
}

/// What [`EventTypeMap::lookup`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventTypeLookup<'c> {
    /// Send with this event type.
    Mapped(&'c str),
    /// Not in the map: send with the Segment name.
    PassThrough,
    /// Mapped to null: do not forward.
    Dropped,
}

impl EventTypeMap {
    /// Parses the JSON object form, e.g. `{"Product Viewed":"View","Signed In":null,"*":null}`.
    pub fn parse(json: &str) -> Result<Self, String> {
        let value: serde_json::Value =
            serde_json::from_str(json).map_err(|e| format!("not valid JSON: {e}"))?;
        let serde_json::Value::Object(entries) = value else {
            return Err("expected a JSON object of event name -> event type".to_owned());
        };
        let mut out = Self::default();
        for (name, target) in entries {
            if name.is_empty() {
                return Err("empty event name".to_owned());
            }
            let target = match target {
                serde_json::Value::Null => None,
                serde_json::Value::String(t) => {
                    if t.is_empty() || t.chars().count() > limits::EVENT_TYPE {
                        return Err(format!(
                            "{name:?}: event type must be 1-{} characters",
                            limits::EVENT_TYPE
                        ));
                    }
                    Some(t)
                }
                _ => return Err(format!("{name:?}: expected a string or null")),
            };
            if name == "*" {
                out.fallback = Some(target);
            } else {
                out.map.insert(name, target);
            }
        }
        Ok(out)
    }

    /// Adds or replaces one entry (`None` drops the event).
    pub fn insert(&mut self, name: impl Into<String>, event_type: Option<String>) {
        self.map.insert(name.into(), event_type);
    }

    pub fn lookup(&self, name: &str) -> EventTypeLookup<'_> {
        let entry = match self.map.get(name) {
            Some(e) => e,
            None => match &self.fallback {
                Some(e) => e,
                None => return EventTypeLookup::PassThrough,
            },
        };
        match entry {
            Some(t) => EventTypeLookup::Mapped(t),
            None => EventTypeLookup::Dropped,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty() && self.fallback.is_none()
    }
}

//! [`Message`] as a serde `Deserialize`, for an already parsed `serde_json::Value`.

use std::fmt;

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};

use crate::value::Str;

use super::Message;

impl<'de> Deserialize<'de> for Message<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(MessageVisitor)
    }
}

struct MessageVisitor;

impl<'de> Visitor<'de> for MessageVisitor {
    type Value = Message<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a Segment message object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut m = Message::default();
        while let Some(Str(key)) = map.next_key::<Str<'de>>()? {
            let Some(slot) = m.slot(&key) else {
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            // A repeated member: the last one wins, as in serde_json::Value.
            *slot = Some(map.next_value()?);
        }
        Ok(m)
    }
}

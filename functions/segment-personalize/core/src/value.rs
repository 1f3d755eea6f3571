//! A JSON value that borrows its strings from the input where it can.
//!
//! `serde_json::Value` copies every string and key into a `String` and every object into a
//! `BTreeMap`; Segment properties and traits are small objects read once, so this tree keeps
//! objects as vectors of pairs and strings as `Cow::Borrowed` slices of the input (owned only when
//! the JSON string contains escapes).

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// A parsed JSON value borrowing from the input (`'a`).
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    Null,
    Bool(bool),
    /// An integer that fits `i64` (negative) ...
    Int(i64),
    /// ... or `u64` (non-negative).
    UInt(u64),
    /// Any other number, from an already parsed `serde_json::Value` (always finite: JSON has no
    /// infinities, and serde_json rejects numbers out of the `f64` range).
    Float(f64),
    /// A number kept as written in the JSON text, when `Int`/`UInt`/`Float` would not give the
    /// same text back: a fraction or an exponent (`19.0`, `1e21`), `-0`, or an integer beyond
    /// 64 bits (`12345678901234567890123`). Made by the text parser only, so that a numeric id
    /// becomes a string with exactly the digits the sender wrote; its numeric value is read with
    /// [`Value::as_f64`].
    Number(Cow<'a, str>),
    Str(Cow<'a, str>),
    Array(Vec<Value<'a>>),
    /// Members in input order; with duplicate keys the last one wins, as in `serde_json::Value`.
    Object(Vec<(Cow<'a, str>, Value<'a>)>),
}

impl<'a> Value<'a> {
    /// The member `key` of an object (the last one if repeated); `None` for other values.
    pub fn get(&self, key: &str) -> Option<&Value<'a>> {
        match self {
            Value::Object(members) => members
                .iter()
                .rev()
                .find(|(k, _)| super::path::same_key(k, key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// A string as is, or a number as text: the forms an identifier can take. A number read
    /// from JSON text keeps the text it was written with ([`Value::Number`]; integers have only
    /// one spelling); a `Float` from an already parsed value is written in its shortest form.
    /// `None` for null, booleans, arrays and objects.
    pub fn scalar_text(&self) -> Option<Cow<'a, str>> {
        match self {
            Value::Str(s) | Value::Number(s) => Some(s.clone()),
            Value::Int(n) => Some(Cow::Owned(n.to_string())),
            Value::UInt(n) => Some(Cow::Owned(n.to_string())),
            Value::Float(x) => Some(Cow::Owned(x.to_string())),
            _ => None,
        }
    }

    /// Whether this is a JSON number (of any representation).
    pub fn is_number(&self) -> bool {
        matches!(
            self,
            Value::Int(_) | Value::UInt(_) | Value::Float(_) | Value::Number(_)
        )
    }

    /// The value of a number (`None` for other values). A [`Value::Number`] beyond the `f64`
    /// range is infinite.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(n) => Some(*n as f64),
            Value::UInt(n) => Some(*n as f64),
            Value::Float(x) => Some(*x),
            Value::Number(t) => t.parse().ok(),
            _ => None,
        }
    }

    /// What kind of JSON value this is, for error messages (never the value itself).
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) | Value::UInt(_) | Value::Float(_) | Value::Number(_) => "a number",
            Value::Str(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object(_) => "an object",
        }
    }
}

impl<'de> Deserialize<'de> for Value<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        Deserialize::deserialize(d)
    }

    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(if v >= 0 {
            Value::UInt(v as u64)
        } else {
            Value::Int(v)
        })
    }

    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Value::UInt(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Value::Float(v))
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Value::Str(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Value::Str(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Value::Str(Cow::Owned(v)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(4).min(64));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut members = Vec::with_capacity(map.size_hint().unwrap_or(8).min(64));
        while let Some(key) = map.next_key::<Str<'de>>()? {
            let value = map.next_value()?;
            members.push((key.0, value));
        }
        Ok(Value::Object(members))
    }
}

/// A JSON string, borrowed from the input when it has no escapes. Used for object keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Str<'a>(pub Cow<'a, str>);

impl<'de> Deserialize<'de> for Str<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StrVisitor;

        impl<'de> Visitor<'de> for StrVisitor {
            type Value = Str<'de>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }

            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Str(Cow::Borrowed(v)))
            }

            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Str(Cow::Owned(v.to_owned())))
            }

            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Str(Cow::Owned(v)))
            }

            // Keys are always strings in JSON; anything else is reported without its value.
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Err(E::custom("expected a string"))
            }

            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Err(E::custom("expected a string"))
            }

            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Err(E::custom("expected a string"))
            }

            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Err(E::custom("expected a string"))
            }
        }

        deserializer.deserialize_str(StrVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn borrows_unescaped_strings_and_keeps_member_order() {
        let text = r#"{"a":"x","b\n":"y\"","n":[1,-2,2.5,null,true],"a":"z"}"#;
        let v: Value = serde_json::from_str(text).unwrap();
        let Value::Object(members) = &v else {
            panic!("object expected")
        };
        assert!(matches!(members[0].0, Cow::Borrowed("a")));
        assert!(matches!(members[0].1, Value::Str(Cow::Borrowed("x"))));
        assert!(matches!(&members[1].0, Cow::Owned(k) if k == "b\n"));
        assert!(matches!(&members[1].1, Value::Str(Cow::Owned(s)) if s == "y\""));
        assert_eq!(v.get("a").and_then(Value::as_str), Some("z"), "last wins");
        assert_eq!(
            v.get("n"),
            Some(&Value::Array(vec![
                Value::UInt(1),
                Value::Int(-2),
                Value::Float(2.5),
                Value::Null,
                Value::Bool(true)
            ]))
        );
    }

    #[test]
    fn scalar_text_of_numbers() {
        assert_eq!(Value::UInt(507).scalar_text().unwrap(), "507");
        assert_eq!(Value::Int(-3).scalar_text().unwrap(), "-3");
        assert_eq!(Value::Float(1.5).scalar_text().unwrap(), "1.5");
        assert_eq!(Value::Number("1.0".into()).scalar_text().unwrap(), "1.0");
        assert_eq!(Value::Number("1e21".into()).as_f64(), Some(1e21));
        assert_eq!(Value::Number("1e400".into()).as_f64(), Some(f64::INFINITY));
        assert!(Value::Number("-0".into()).is_number());
        assert_eq!(Value::Bool(true).scalar_text(), None);
        assert_eq!(Value::Null.scalar_text(), None);
    }

    #[test]
    fn deserialises_from_a_serde_json_value_borrowing_its_strings() {
        let owned: serde_json::Value = serde_json::json!({"k": "v"});
        let v = Value::deserialize(&owned).unwrap();
        assert!(matches!(v.get("k"), Some(Value::Str(Cow::Borrowed("v")))));
    }
}

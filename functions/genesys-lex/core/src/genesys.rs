//! The Genesys Cloud speech-and-text-analytics transcript document, as far as the conversion
//! reads it.
//!
//! Only the fields the conversion uses are modelled; everything else (word-level detail,
//! alternatives, analytics, participant details) is skipped by the parser without being
//! materialised. Strings borrow from the input buffer where they contain no escapes.

use std::borrow::Cow;

use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer};
use time::format_description::well_known::Rfc3339;

/// A whole transcript document: one communication of one conversation.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Document<'a> {
    #[serde(borrow, default, deserialize_with = "opt_cow")]
    pub conversation_id: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "opt_cow")]
    pub communication_id: Option<Cow<'a, str>>,
    /// Start of the conversation, epoch milliseconds (an ISO-8601 string is accepted too).
    #[serde(default, deserialize_with = "millis")]
    pub conversation_start_time: Option<i64>,
    /// Start of this communication.
    #[serde(default, deserialize_with = "millis")]
    pub start_time: Option<i64>,
    #[serde(borrow, default)]
    pub transcripts: Option<Vec<Transcript<'a>>>,
}

/// One transcript (one channel / speaker stream) of the communication.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Transcript<'a> {
    #[serde(borrow, default, deserialize_with = "opt_cow")]
    pub transcript_id: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "opt_cow")]
    pub language: Option<Cow<'a, str>>,
    #[serde(default, deserialize_with = "millis")]
    pub start_time: Option<i64>,
    #[serde(default)]
    pub duration: Option<Duration>,
    #[serde(borrow, default)]
    pub phrases: Option<Vec<Phrase<'a>>>,
}

/// One recognised phrase.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Phrase<'a> {
    #[serde(default)]
    pub phrase_index: Option<i64>,
    #[serde(borrow, default, deserialize_with = "opt_cow")]
    pub participant_purpose: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "opt_cow")]
    pub text: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "opt_cow")]
    pub decorated_text: Option<Cow<'a, str>>,
    /// Absolute start, epoch milliseconds.
    #[serde(default, deserialize_with = "millis")]
    pub start_time_ms: Option<i64>,
    /// Start relative to the conversation start.
    #[serde(default)]
    pub offset: Option<Duration>,
    #[serde(default)]
    pub duration: Option<Duration>,
}

/// `{"milliseconds": n}`.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct Duration {
    #[serde(default, deserialize_with = "millis")]
    pub milliseconds: Option<i64>,
}

/// An optional string that borrows from the input unless it contains escapes. (serde's own
/// `Option<Cow<str>>` always allocates.)
fn opt_cow<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Cow<'de, str>>, D::Error> {
    d.deserialize_option(OptCow)
}

struct OptCow;

impl<'de> Visitor<'de> for OptCow {
    type Value = Option<Cow<'de, str>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(v)))
    }
}

/// The largest time or duration accepted, in milliseconds: 9999-12-31T23:59:59.999Z. Within
/// it, sums and differences of a few times cannot overflow.
pub const MAX_MILLIS: i64 = 253_402_300_799_999;

/// Epoch (or duration) milliseconds: an integer, a float with no fraction, or an RFC 3339 string,
/// at most [`MAX_MILLIS`] either side of zero.
fn millis<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    d.deserialize_option(OptMillis)
}

fn in_range<E: de::Error>(v: i64) -> Result<Option<i64>, E> {
    if v.checked_abs().is_some_and(|a| a <= MAX_MILLIS) {
        Ok(Some(v))
    } else {
        Err(E::custom(format!(
            "{v} milliseconds is out of range (at most {MAX_MILLIS}, the end of year 9999)"
        )))
    }
}

struct OptMillis;

impl<'de> Visitor<'de> for OptMillis {
    type Value = Option<i64>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("epoch milliseconds or an RFC 3339 time")
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        in_range(v)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        in_range(i64::try_from(v).unwrap_or(i64::MAX))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        if v.fract() == 0.0 && v.abs() < 9.0e15 {
            in_range(v as i64)
        } else {
            Err(E::custom(format!("expected whole milliseconds, got {v}")))
        }
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
        let t = time::OffsetDateTime::parse(s, &Rfc3339).map_err(|_| {
            E::custom(format!(
                "expected epoch milliseconds or an RFC 3339 time, got {s:?}"
            ))
        })?;
        in_range((t.unix_timestamp_nanos() / 1_000_000) as i64)
    }
}

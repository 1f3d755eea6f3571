//! One Segment message -> interactions (PutEvents events), a user (PutUsers), or an explicit
//! "ignored" outcome.
//!
//! The outcome types and the entry points ([`Config::map_str`], [`Config::parse`],
//! [`Config::map`]) are here; `interactions` turns `track`, `page` and `screen` into events,
//! `identify` turns `identify` into a user, `fields` reads and checks the single fields
//! (`sentAt`, `itemId`, `eventValue`, `recommendationId`, `impression`) and `properties` builds
//! the `properties` strings.

mod fields;
mod identify;
mod interactions;
mod properties;

use std::borrow::Cow;
use std::fmt;

use super::config::Config;
use super::error::{MapError, MapWarning};
use super::message::{parse_with, Message, MessageKind, Wanted};
use super::request::{Event, User};
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
    /// Elements of that array skipped because they had no (usable) item id.
    pub skipped_elements: usize,
    /// Optional fields the events are sent without (an impression list cut to 25, a price that
    /// is not a number, properties members that do not fit...), for the caller to log and
    /// count. Never values from the message.
    pub warnings: Vec<MapWarning>,
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
            warnings: self.warnings,
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
/// Reason given for `identify` without `userId` (valid per the Identify spec with an
/// `anonymousId` alone).
pub const IGNORED_NO_USER_ID: &str =
    "no userId (an anonymous identify): the users dataset is keyed by userId";
/// Reason given for `identify` carrying none of the selected traits.
pub const IGNORED_NO_TRAITS: &str = "none of the USER_TRAITS is present";
/// Reason given for events mapped to null in `EVENT_TYPE_MAP`.
pub const IGNORED_DROPPED_EVENT: &str = "EVENT_TYPE_MAP maps this event to null";
/// Reason given for events a configured `EVENT_TYPE_MAP` does not name (and no `"*"` entry).
pub const IGNORED_NOT_MAPPED: &str = "event type not in EVENT_TYPE_MAP";
/// Reason given for events the built-in mapping does not name (`EVENT_TYPE_MAP` unset).
pub const IGNORED_NOT_IN_BUILTIN_MAP: &str =
    "event type not in the built-in e-commerce mapping (EVENT_TYPE_MAP unset)";
/// Reason given for a product list view that only the `"*"` entry would map.
pub const IGNORED_LIST_VIEW: &str =
    "a product list view is not an interaction (the EVENT_TYPE_MAP \"*\" entry leaves list views out)";
/// Reason given for an event without an item id that `EVENT_TYPE_MAP` does not name (the
/// built-in mapping or the `"*"` entry mapped it).
pub const IGNORED_NO_ITEM: &str = "no item id (ITEM_ID_PATHS), and EVENT_TYPE_MAP does not name this event: only the events it names are sent without an item";

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

#[cfg(test)]
mod tests {
    use super::*;

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

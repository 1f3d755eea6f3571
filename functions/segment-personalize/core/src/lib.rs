//! Twilio Segment messages -> Amazon Personalize `PutEvents` / `PutUsers` requests, and the
//! request rules and cache key of the `recommendations` HTTP API ([`recommendations`]).
//!
//! Pure functions, no network: the forwarder Lambda, the `mlpipe segment map` command and the
//! benchmark all go through [`Config::map_str`] / [`Config::map`] (one message) and [`plan`]
//! (a batch).
//!
//! ```text
//! let config = Config::from_source(&shared::config::Env)?;        // once per cold start
//! let outcome = config.map_str(&body);                            // text: parse + map
//! // or: Message::from_value(&json).and_then(|m| config.map(&m))  // an already parsed payload
//! let plan = plan(&config, [outcome]);                            // or many messages
//! for call in &plan.put_events { /* client.put_events() ... */ }  // call.messages: which inputs
//! for call in &plan.put_users  { /* client.put_users() ... */ }
//! // plan.invalid: (index, MapError) -> permanent failures; plan.ignored: (index, Ignored)
//! ```
//!
//! Parsing borrows every string it can from the input and decodes only what the mapping reads:
//! [`Config::parse`] walks the message with a structural scanner, skips `context`,
//! `integrations` and the properties and traits no configured path reaches, and hands the rest
//! to serde_json (see `message` and `scan`).
//!
//! The request types mirror the API field for field (serde camelCase gives the API's JSON), so
//! the SDK calls are mechanical: `Event::builder().event_type(&e.event_type)
//! .sent_at(sdk_time(e.sent_at)).set_event_id(e.event_id.map(Into::into))
//! .set_event_value(e.event_value).set_item_id(..).set_properties(e.properties)
//! .set_recommendation_id(..).set_impression(..)`.
//!
//! # Mapping
//!
//! | Segment                     | Personalize                                                        |
//! |-----------------------------|--------------------------------------------------------------------|
//! | `track`, `page`, `screen`   | PutEvents events (below)                                           |
//! | `identify`                  | PutUsers user, only with `PERSONALIZE_USERS_DATASET_ARN` set; else ignored |
//! | `alias`, `group`            | ignored (an [`Ignored`] outcome with the reason, not an error)     |
//! | any other `type`            | error `type: unsupported message type ...`                         |
//!
//! For interactions:
//!
//! * `trackingId`: `PERSONALIZE_TRACKING_ID`.
//! * `sessionId`: `anonymousId`; without one, derived from `userId` by
//!   [`derive_session_id`]: `SESSION_ID_PREFIX` (default `user-`) + the 128-bit FNV-1a hash of the
//!   user id in 32 hex digits, so it is stable and at most 256 characters. Neither present: error.
//! * `userId`: `userId` when present. Ids may be strings or integers; empty strings count as
//!   absent.
//! * `eventType`: the Segment event name (`event` for `track`; [`PAGE_EVENT`] `Page Viewed` for
//!   `page`; [`SCREEN_EVENT`] `Screen Viewed` for `screen`) looked up in `EVENT_TYPE_MAP`; names
//!   not in the map pass through unchanged (or take the map's `"*"` entry when it has one); a name
//!   mapped to `null` is not forwarded (ignored outcome).
//! * `sentAt`: the first present of `timestamp`, `originalTimestamp`, `sentAt`, `receivedAt`
//!   (RFC 3339 with any offset and any fraction digits; [`parse_rfc3339`]), as epoch seconds
//!   with the fraction. An unparsable first-present field is an error naming it (no silent
//!   fallback to a later one); none present is an error naming `timestamp`.
//! * `eventId`: `messageId` (omitted if absent; Personalize then generates one). Events made
//!   per array element get `<messageId>-<element index>`, so they stay distinct and a
//!   redelivered message produces the same ids.
//! * `itemId`: the first of `ITEM_ID_PATHS` (default `productId,product_id,sku,products[].product_id`)
//!   that yields an id (string or number; an empty string does not count). An `[]` path
//!   (`products[].product_id`, Segment's e-commerce spec) makes **one event per array element
//!   that has an id**; elements without one are skipped and counted in
//!   [`Interactions::skipped_elements`] (they cannot be interactions with an item). If no path
//!   yields an id, one event without `itemId` is sent.
//! * `eventValue`: the first of `EVENT_VALUE_PATH` (comma list, none by default) present: a
//!   number or numeric string, finite and within `f32` (the API's `Float`). An `[]` path such
//!   as `products[].price` reads the element an event was made for.
//! * `properties`: a JSON object *string* of the `EVENT_PROPERTIES` selectors
//!   (`key=path|path`, key defaulting to the camelCase of the last path member), values as
//!   strings (numbers in decimal, booleans `true`/`false`, arrays joined with `|`); omitted when
//!   none is present; at most 1024 characters or the message is invalid. The keys Personalize
//!   reserves (`userId`, `sessionId`, `eventType`, `timestamp`, `recommendationId`, `impression`)
//!   are refused in the configuration.
//! * `recommendationId`: `properties.recommendationId` (1-40 characters).
//! * `impression`: `properties.impression`, an array of 1-25 item ids (strings or numbers, each
//!   1-256 characters).
//!
//! For `identify`: `userId` is required (error otherwise); the user's `properties` string holds
//! the `USER_TRAITS` selectors read from `traits` (same rules; at most 24000 characters). An
//! identify with none of them is ignored rather than sent, because PutUsers replaces the user's
//! record and would erase the traits an earlier identify set.
//!
//! # Configuration
//!
//! | variable                        | default                                      | meaning |
//! |---------------------------------|----------------------------------------------|---------|
//! | `PERSONALIZE_TRACKING_ID`       | required                                     | event tracker's tracking id (1-256 characters) |
//! | `PERSONALIZE_USERS_DATASET_ARN` | unset: identify ignored                      | Users dataset ARN for PutUsers |
//! | `EVENT_TYPE_MAP`                | `{}` (pass through)                          | JSON object, event name -> event type or `null` (drop); `"*"` for the rest |
//! | `ITEM_ID_PATHS`                 | `productId,product_id,sku,products[].product_id` | property paths for `itemId`, first match wins |
//! | `EVENT_VALUE_PATH`              | unset: no `eventValue`                       | property paths for `eventValue`, first present wins |
//! | `EVENT_PROPERTIES`              | unset: no `properties`                       | `key=path\|path` selectors for `properties` |
//! | `USER_TRAITS`                   | unset (required with a users dataset)        | `key=path\|path` selectors over `traits` |
//! | `SESSION_ID_PREFIX`             | `user-`                                      | prefix of derived session ids (at most 224 characters) |
//!
//! Lists are comma separated. Property path syntax: [`path`]. The same names are the keys of
//! the JSON configuration file read by [`Config::from_json`] (lists may be JSON arrays and
//! `EVENT_TYPE_MAP` an object).
//!
//! # Limits
//!
//! From the Amazon Personalize API reference (`PutEvents`, `Event`, `PutUsers`, `User`); see
//! [`limits`]. Lengths are counted in UTF-16 code units, which is never less than the number of
//! characters, so nothing accepted here can be too long for the service.
//!
//! # Errors
//!
//! [`MapError`]: the JSON path of the field (`properties.impression`,
//! `properties.products[2].product_id`, or `properties` for the built string) and the reason
//! with the limit (`1530 characters, at most 1024`). Errors never contain values from the
//! message, so they can be logged.

pub mod batch;
pub mod config;
pub mod error;
pub mod input;
pub mod map;
pub mod message;
pub mod path;
pub mod recommendations;
pub mod request;
mod scan;
pub mod time;
pub mod value;

pub use batch::{call_sizes, count_put_events_calls, plan, put_events_calls, Call, Plan};
pub use config::{Config, EventTypeLookup, EventTypeMap};
pub use error::MapError;
pub use input::{split_messages, Layout, RawMessage};
pub use map::{derive_session_id, Ignored, Interactions, Outcome, PAGE_EVENT, SCREEN_EVENT};
pub use message::{Message, MessageKind};
pub use path::{PropertyPath, Selector};
pub use request::{Event, PutEventsRequest, PutUsersRequest, User};
pub use time::{parse_rfc3339, SentAt};
pub use value::Value;

/// Amazon Personalize Events API limits (API reference: `PutEvents`, `Event`, `PutUsers`,
/// `User`).
pub mod limits {
    /// `trackingId` length.
    pub const TRACKING_ID: usize = 256;
    /// `sessionId` length.
    pub const SESSION_ID: usize = 256;
    /// `userId` length (PutEvents and User).
    pub const USER_ID: usize = 256;
    /// `eventType` length.
    pub const EVENT_TYPE: usize = 256;
    /// `eventId` length.
    pub const EVENT_ID: usize = 256;
    /// `itemId` length, and each `impression` entry.
    pub const ITEM_ID: usize = 256;
    /// Event `properties` string length.
    pub const EVENT_PROPERTIES: usize = 1024;
    /// `recommendationId` length.
    pub const RECOMMENDATION_ID: usize = 40;
    /// `impression` entries (at least 1).
    pub const IMPRESSION_ITEMS: usize = 25;
    /// `eventList` entries per PutEvents call (at least 1).
    pub const EVENTS_PER_CALL: usize = 10;
    /// `users` entries per PutUsers call (at least 1).
    pub const USERS_PER_CALL: usize = 10;
    /// User `properties` string length.
    pub const USER_PROPERTIES: usize = 24_000;
    /// `datasetArn` length.
    pub const DATASET_ARN: usize = 256;
}

#[cfg(test)]
mod tests;

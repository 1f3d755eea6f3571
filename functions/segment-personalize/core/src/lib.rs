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
//! // plan.warnings: (index, MapWarning) -> optional fields left out of events still sent
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
//! * `eventType`: the Segment event name (`event` for `track`; [`PAGE_EVENT`] `Page Viewed` for
//!   `page`; [`SCREEN_EVENT`] `Screen Viewed` for `screen`) looked up in `EVENT_TYPE_MAP`. **Only
//!   the names it maps are forwarded**; the others are ignored with a reason naming the setting
//!   ([`map::IGNORED_NOT_MAPPED`]), a name mapped to `null` too. `"*"` maps every other name to
//!   one event type (an explicit opt-in). Unset or `{}`: the built-in mapping of Segment's
//!   e-commerce spec, [`config::BUILTIN_EVENT_TYPES`]:
//!
//!   | Segment event (V2, and the v1 name it aliases)       | event type      |
//!   |------------------------------------------------------|-----------------|
//!   | Product Viewed (Viewed Product)                      | `View`          |
//!   | Product Clicked (Clicked Product)                    | `Click`         |
//!   | Product Added (Added Product), Wishlist Product Added to Cart | `AddToCart` |
//!   | Product Added to Wishlist                            | `AddToWishlist` |
//!   | Product Shared                                       | `Share`         |
//!   | Order Completed                                      | `Purchase`      |
//!
//!   Not forwarded by it: product lists and the cart (shown, not chosen), Product Removed, Order
//!   Refunded/Cancelled (negative), searches, promotions, checkout steps, coupons, pages and
//!   screens. `View` and `Purchase` are the names Personalize's ECOMMERCE domain requires.
//! * List views ([`config::LIST_VIEW_EVENTS`]: Product List Viewed, Viewed Product Category,
//!   Product List Filtered, Cart Viewed; ignoring case, spaces, `_`, `-`) are never
//!   interactions: mapping one to an event type is a configuration error naming it; `"*"` leaves
//!   them out ([`map::IGNORED_LIST_VIEW`]).
//! * At most 10 distinct event types, and at most 10 event types and `EVENT_PROPERTIES` keys
//!   together (each key is a metadata column; at most 5): Personalize's quotas per Item
//!   interactions dataset. More is a configuration error naming `EVENT_TYPE_MAP` (or
//!   `EVENT_PROPERTIES`) and the limit.
//! * `itemId`: from `ITEM_ID_PATHS` (default
//!   `productId,product_id,sku,products[].product_id,products[].sku`), the first path that
//!   yields an id (a string, or a number as written: `12345678901234567890123`, `1.0`; an empty
//!   string does not count). `[]` paths (Segment's e-commerce `products`) make **one event per
//!   array element that has an id**; the `[]` paths over one array are alternatives per element,
//!   so a product without `product_id` is identified by its `sku`. Elements with neither are
//!   skipped and counted in [`Interactions::skipped_elements`]; an element whose id is unusable
//!   (an object, over 256 characters) is skipped with a warning. A plain path's unusable id
//!   rejects the message (the interaction would not be the one that happened).
//! * No item id: the event is sent without `itemId` only when `EVENT_TYPE_MAP` names it (a
//!   page view mapped on purpose); through the built-in mapping (all about one product) or
//!   `"*"`, it is ignored ([`map::IGNORED_NO_ITEM`]).
//! * `trackingId`: `PERSONALIZE_TRACKING_ID`.
//! * `sessionId`: `anonymousId`; without one, derived from `userId` by
//!   [`derive_session_id`]: `SESSION_ID_PREFIX` (default `user-`) + the 128-bit FNV-1a hash of the
//!   user id in 32 hex digits, so it is stable and at most 256 characters. Neither present: error.
//! * `userId`: `userId` when present. Ids may be strings or numbers (analytics.js and
//!   analytics-node pass numbers through), sent as the text they were written with; empty
//!   strings count as absent.
//! * `sentAt`: the first present of `timestamp`, `originalTimestamp`, `sentAt`, `receivedAt`
//!   (RFC 3339 with any offset and any fraction digits; [`parse_timestamp`]), as epoch seconds
//!   with every fraction digit (analytics-java and analytics-python send microseconds; the SDK
//!   sends nanoseconds). An unusable first-present field is an error naming it, a date-time
//!   without `Z` or `±hh:mm` included (`timestamp: no UTC offset ...`: a local time is
//!   ambiguous); no silent fallback to a later one; none present is an error naming
//!   `timestamp`.
//! * `eventId`: `messageId` (omitted if absent; Personalize then generates one). Events made
//!   per array element get `<messageId>-<element index>`, so they stay distinct and a
//!   redelivered message produces the same ids.
//!
//! Optional fields never drop an interaction: what the API cannot take is left out and
//! reported in [`Interactions::warnings`] (and [`Plan::warnings`]), naming the field and the
//! limit:
//!
//! * `eventValue`: the first of `EVENT_VALUE_PATH` (comma list, none by default) holding a
//!   number or numeric string, finite and within `f32` (the API's `Float`); one that is not
//!   (`"$19.99"`) is left out with a warning and the next path is tried. An `[]` path such as
//!   `products[].price` reads the element an event was made for.
//! * `properties`: a JSON object *string* of the `EVENT_PROPERTIES` selectors
//!   (`key=path|path`, key defaulting to the camelCase of the last path member), values as
//!   strings (numbers as written, booleans `true`/`false`, arrays joined with `|`); omitted when
//!   none is present. A value that cannot be a string (an object) is left out; over 1024
//!   UTF-16 code units, the largest members are left out until it fits (one warning naming
//!   their keys). The keys Personalize reserves (`userId`, `sessionId`, `eventType`,
//!   `timestamp`, `recommendationId`, `impression`) are refused in the configuration.
//! * `recommendationId`: `properties.recommendationId`, left out when over 40.
//! * `impression`: `properties.impression`, the first 25 item ids (strings or numbers); ids
//!   that are empty, over 256 or not strings or numbers are left out; an empty list is omitted.
//!
//! For `identify`: without `userId` (an anonymous identify, valid per the Identify spec) it is
//! ignored ([`map::IGNORED_NO_USER_ID`]); the user's `properties` string holds the
//! `USER_TRAITS` selectors read from `traits` (at most 24000 UTF-16 code units, else an error).
//! An identify with none of them is ignored rather than sent, because PutUsers replaces the
//! user's record and would erase the traits an earlier identify set. For the same reason the
//! forwarder merges an identify with the user's last known traits first: the rules (what is
//! kept, newest wins, `null` removes) are in [`traits`].
//!
//! # Configuration
//!
//! | variable                        | default                                      | meaning |
//! |---------------------------------|----------------------------------------------|---------|
//! | `PERSONALIZE_TRACKING_ID`       | required                                     | event tracker's tracking id (1-256 characters) |
//! | `PERSONALIZE_USERS_DATASET_ARN` | unset: identify ignored                      | Users dataset ARN for PutUsers |
//! | `EVENT_TYPE_MAP`                | unset or `{}`: the built-in e-commerce mapping | JSON object, event name -> event type or `null` (drop); `"*"` for the rest; at most 10 event types |
//! | `ITEM_ID_PATHS`                 | `productId,product_id,sku,products[].product_id,products[].sku` | property paths for `itemId`, first match wins |
//! | `EVENT_VALUE_PATH`              | unset: no `eventValue`                       | property paths for `eventValue`, first usable wins |
//! | `EVENT_PROPERTIES`              | unset: no `properties`                       | `key=path\|path` selectors for `properties`, at most 5 |
//! | `USER_TRAITS`                   | unset (required with a users dataset)        | `key=path\|path` selectors over `traits` |
//! | `SESSION_ID_PREFIX`             | `user-`                                      | prefix of derived session ids (at most 224 characters) |
//!
//! Lists are comma separated. Property path syntax: [`path`]. The same names are the keys of
//! the JSON configuration file read by [`Config::from_json`] (lists may be JSON arrays and
//! `EVENT_TYPE_MAP` an object).
//!
//! # Limits
//!
//! From the Amazon Personalize API (botocore's `personalize-events` service model and the API
//! reference: `PutEvents`, `Event`, `PutUsers`, `User`); see [`limits`]. The model's string
//! lengths are Smithy `length` constraints, which count Unicode characters (botocore validates
//! them with Python's `len`): a value that would **reject** the message (`userId`,
//! `anonymousId`, `messageId`, an item id) is refused only when longer than the limit in
//! characters, so nothing the API takes is refused here. A value that is **cut** to fit
//! (`properties`, impression ids, `recommendationId`) is measured in UTF-16 code units, never
//! fewer than its characters, so what is sent fits even if the service counts Java `char`s.
//! `sentAt` is a `timestamp`, sent as epoch seconds: every fraction digit is kept.
//!
//! Numbers keep their text only when the message is parsed from text ([`Config::map_str`]: SQS
//! bodies, the CLI). A payload the Lambda runtime has already parsed ([`Message::from_value`])
//! keeps integers exactly; other numbers arrive as `f64` and are written in their shortest
//! form.
//!
//! # Errors
//!
//! [`MapError`]: the JSON path of the field (`properties.impression`,
//! `properties.products[2].product_id`, or `properties` for the built string) and the reason
//! with the limit (`257 characters, at most 256`). Errors and warnings ([`MapWarning`]) never
//! contain values from the message, so they can be logged.

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
pub mod traits;
pub mod value;

pub use batch::{call_sizes, count_put_events_calls, plan, put_events_calls, Call, Plan};
pub use config::{Config, EventTypeLookup, EventTypeMap};
pub use error::{MapError, MapWarning};
pub use input::{split_messages, Layout, RawMessage};
pub use map::{derive_session_id, Ignored, Interactions, Outcome, PAGE_EVENT, SCREEN_EVENT};
pub use message::{Message, MessageKind};
pub use path::{PropertyPath, Selector};
pub use request::{Event, PutEventsRequest, PutUsersRequest, User};
pub use time::{parse_rfc3339, parse_timestamp, SentAt, TimeError};
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

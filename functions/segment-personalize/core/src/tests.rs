//! Mapping tests on the Segment fixtures (events/segment/) and edge cases.

use std::borrow::Cow;

use serde_json::{json, Value as Json};

use super::config::{
    EVENT_PROPERTIES, EVENT_TYPE_MAP, EVENT_VALUE_PATH, ITEM_ID_PATHS, TRACKING_ID,
    USERS_DATASET_ARN, USER_TRAITS,
};
use super::error::utf16_len;
use super::*;

mod real_inputs;

const WORKSHOP: &str =
    include_str!("../../../../events/segment/segment_track_workshop_test_event.json");
const TRACK_SPEC: &str =
    include_str!("../../../../events/segment/segment_track_spec_full_example.json");
const PAGE_SPEC: &str =
    include_str!("../../../../events/segment/segment_page_spec_full_example.json");
const IDENTIFY_SPEC: &str =
    include_str!("../../../../events/segment/segment_identify_spec_full_example.json");
const SCREEN: &str = include_str!("../../../../events/segment/segment_screen_example.json");
const ALIAS: &str = include_str!("../../../../events/segment/segment_alias_example.json");
const GROUP: &str = include_str!("../../../../events/segment/segment_group_example.json");
const ORDER: &str = include_str!("../../../../events/segment/segment_track_order_completed.json");
const VIEWED: &str =
    include_str!("../../../../events/segment/segment_track_product_viewed_recommended.json");
const PUTEVENTS_EXAMPLE: &str =
    include_str!("../../../../events/segment/personalize_putevents_request_example.json");
const CONFIG_FILE: &str = include_str!("../../../../events/segment/config.json");

const ARN: &str = "arn:aws:personalize:us-east-1:123456789012:dataset/shop/USERS";

/// The event names the tests send, named in `EVENT_TYPE_MAP` (so that their events are sent
/// with or without an item id).
const TEST_MAP: &str = r#"{"Product Viewed":"View","Order Completed":"Purchase","Page Viewed":"Page Viewed","Screen Viewed":"Screen Viewed","Other":"Other"}"#;

/// A configuration with `extra` settings, `EVENT_TYPE_MAP` [`TEST_MAP`] unless set.
fn config(extra: &[(&str, &str)]) -> Config {
    let mut vars = vec![(TRACKING_ID, "tid")];
    if !extra.iter().any(|(k, _)| *k == EVENT_TYPE_MAP) {
        vars.push((EVENT_TYPE_MAP, TEST_MAP));
    }
    vars.extend_from_slice(extra);
    Config::from_source(&vars.as_slice()).unwrap()
}

/// Only a tracking id: every default, the built-in event type mapping included.
fn default_config() -> Config {
    Config::from_source(&[(TRACKING_ID, "tid")]).unwrap()
}

fn ignored(c: &Config, text: &str) -> &'static str {
    match c.map_str(text) {
        Ok(Outcome::Ignored(i)) => i.reason,
        other => panic!("expected ignored, got {other:?}"),
    }
}

/// The warnings of a message's interactions, as text.
fn warnings(c: &Config, text: &str) -> Vec<String> {
    interactions(c, text)
        .warnings
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn file_config() -> Config {
    Config::from_json(CONFIG_FILE).unwrap()
}

fn interactions(c: &Config, text: &str) -> Interactions<'static> {
    match c.map_str(text) {
        Ok(Outcome::Interactions(i)) => i.into_owned(),
        other => panic!("expected interactions, got {other:?}"),
    }
}

fn one_event(c: &Config, text: &str) -> Event<'static> {
    let mut i = interactions(c, text);
    assert_eq!(i.events.len(), 1);
    i.events.remove(0)
}

fn error(c: &Config, text: &str) -> String {
    match c.map_str(text) {
        Err(e) => e.to_string(),
        other => panic!("expected an error, got {other:?}"),
    }
}

/// A track message with these properties (and the fields every test needs).
fn track(properties: Json) -> String {
    json!({
        "type": "track",
        "event": "Product Viewed",
        "messageId": "m-1",
        "anonymousId": "anon-1",
        "userId": "u-1",
        "timestamp": "2024-05-14T08:15:30.250Z",
        "properties": properties,
    })
    .to_string()
}

fn with(mut base: Json, patch: Json) -> String {
    for (k, v) in patch.as_object().unwrap() {
        if v.is_null() {
            base.as_object_mut().unwrap().remove(k);
        } else {
            base[k] = v.clone();
        }
    }
    base.to_string()
}

fn base() -> Json {
    serde_json::from_str(&track(json!({"productId": "p-1"}))).unwrap()
}

/// The JSON text a value serialises to, parsed back (through text, so that `f32` event values
/// read as their shortest decimal form, as the text has them).
fn to_json<T: serde::Serialize>(v: &T) -> Json {
    serde_json::from_str(&serde_json::to_string(v).unwrap()).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Fixtures

#[test]
fn workshop_event_becomes_the_documented_request() {
    // The built-in mapping: Product Clicked is a Click.
    let c = default_config();
    let p = plan(&c, [c.map_str(WORKSHOP)]);
    assert_eq!(p.put_events.len(), 1);
    assert_eq!(p.put_events[0].messages, [0]);
    let got = to_json(&p.put_events[0].request);
    assert_eq!(
        got,
        json!({
            "trackingId": "tid",
            "userId": "2941404340",
            "sessionId": "2941404340-anon",
            "eventList": [{
                "eventId": "test-message-33dlvn",
                "sentAt": 1551110105.905,
                "eventType": "Click",
                "itemId": "ocean-blue-shirt"
            }]
        })
    );
    // Same ids as the published example; that example passes the Segment event name through
    // as the event type (the built-in mapping sends Click), truncates sentAt to whole seconds
    // and puts itemId inside properties (an old tutorial style): the API reference has itemId
    // as an Event field, and milliseconds are kept here.
    let example: Json = serde_json::from_str(PUTEVENTS_EXAMPLE).unwrap();
    for key in ["userId", "sessionId"] {
        assert_eq!(got[key], example[key], "{key}");
    }
    let (g, e) = (&got["eventList"][0], &example["eventList"][0]);
    assert_eq!(g["eventId"], e["eventId"]);
    assert_eq!(e["eventType"], "Product Clicked");
    assert_eq!(
        g["sentAt"].as_f64().unwrap().trunc(),
        e["sentAt"].as_f64().unwrap()
    );
    assert_eq!(
        serde_json::from_str::<Json>(e["properties"].as_str().unwrap()).unwrap()["itemId"],
        g["itemId"]
    );
}

#[test]
fn track_spec_example_is_sent_only_when_named() {
    // "Course Clicked" is not an e-commerce interaction: the built-in mapping leaves it out.
    assert_eq!(
        ignored(&default_config(), TRACK_SPEC),
        map::IGNORED_NOT_IN_BUILTIN_MAP
    );
    let c = config(&[(EVENT_TYPE_MAP, r#"{"Course Clicked":"Course Clicked"}"#)]);
    let Ok(Outcome::Interactions(i)) = c.map_str(TRACK_SPEC) else {
        panic!("interactions expected")
    };
    assert_eq!(i.session_id, "23adfd82-aa0f-45a7-a756-24f2a7a4c895");
    assert_eq!(i.user_id.as_deref(), Some("AiUGstSDIg"));
    let e = &i.events[0];
    assert_eq!(e.event_type, "Course Clicked");
    assert_eq!(
        e.event_id.as_deref(),
        Some("ajs-f8ca1e4de5024d9430b3928bd8ac6b96")
    );
    // `timestamp` (19:11:01.249) wins over originalTimestamp/sentAt/receivedAt.
    assert_eq!(
        e.sent_at,
        parse_rfc3339("2015-12-12T19:11:01.249Z").unwrap()
    );
    assert_eq!(e.item_id, None);
    assert_eq!(e.properties, None);
    // Strings come straight from the input and the configuration, not copied.
    assert!(matches!(e.event_type, Cow::Borrowed(_)));
    assert!(matches!(i.session_id, Cow::Borrowed(_)));
}

#[test]
fn page_is_page_viewed_and_mappable() {
    let c = config(&[]);
    assert_eq!(one_event(&c, PAGE_SPEC).event_type, "Page Viewed");
    let c = config(&[(EVENT_TYPE_MAP, r#"{"Page Viewed":"View"}"#)]);
    assert_eq!(one_event(&c, PAGE_SPEC).event_type, "View");
    let c = config(&[(EVENT_PROPERTIES, "title,url")]);
    assert_eq!(
        one_event(&c, PAGE_SPEC).properties.as_deref(),
        Some(r#"{"title":"Welcome | Initech","url":"http://www.example.com"}"#)
    );
}

#[test]
fn screen_without_user_or_timestamp_uses_anonymous_id_and_original_timestamp() {
    let c = config(&[]);
    let i = interactions(&c, SCREEN);
    assert_eq!(i.session_id, "3a12eab0-bca7-11e4-8dfc-aa07a5b093db");
    assert_eq!(i.user_id, None);
    let e = &i.events[0];
    assert_eq!(e.event_type, "Screen Viewed");
    assert_eq!(e.item_id.as_deref(), Some("505bd76785ebb509fc183733"));
    assert_eq!(
        e.sent_at,
        parse_rfc3339("2024-05-14T08:19:59.498Z").unwrap()
    );
    let p = plan(&c, [c.map_str(SCREEN)]);
    assert!(to_json(&p.put_events[0].request).get("userId").is_none());
}

#[test]
fn identify_updates_users_only_with_a_users_dataset() {
    let c = config(&[]);
    assert_eq!(
        c.map_str(IDENTIFY_SPEC).unwrap(),
        Outcome::Ignored(Ignored {
            kind: MessageKind::Identify,
            reason: map::IGNORED_NO_USERS_DATASET
        })
    );
    let c = file_config();
    let Outcome::User(u) = c.map_str(IDENTIFY_SPEC).unwrap() else {
        panic!("user expected")
    };
    assert_eq!(u.user_id, "97980cfea0067");
    assert_eq!(
        u.properties.as_deref(),
        Some(r#"{"plan":"premium","logins":"5","country":"USA"}"#)
    );
    let p = plan(&c, [c.map_str(IDENTIFY_SPEC)]);
    assert!(p.put_events.is_empty());
    assert_eq!(
        to_json(&p.put_users[0].request),
        json!({"datasetArn": ARN, "users": [{
            "userId": "97980cfea0067",
            "properties": "{\"plan\":\"premium\",\"logins\":\"5\",\"country\":\"USA\"}"
        }]})
    );
}

#[test]
fn identify_without_user_id_or_traits_is_ignored() {
    let c = config(&[(USERS_DATASET_ARN, ARN), (USER_TRAITS, "plan")]);
    let msg: Json = serde_json::from_str(IDENTIFY_SPEC).unwrap();
    // Valid per the Identify spec (an anonymousId is enough): nothing to update, not invalid.
    for no_user in [json!({"userId": null}), json!({"userId": ""})] {
        assert_eq!(
            c.map_str(&with(msg.clone(), no_user)).unwrap(),
            Outcome::Ignored(Ignored {
                kind: MessageKind::Identify,
                reason: map::IGNORED_NO_USER_ID
            })
        );
    }
    assert_eq!(
        c.map_str(&with(
            msg.clone(),
            json!({"traits": {"email": "x@example.com"}})
        ))
        .unwrap(),
        Outcome::Ignored(Ignored {
            kind: MessageKind::Identify,
            reason: map::IGNORED_NO_TRAITS
        })
    );
    let e = error(&c, &with(msg.clone(), json!({"traits": "premium"})));
    assert_eq!(e, "traits: expected an object, found a string");
    let big = "x".repeat(24_100);
    let e = error(&c, &with(msg, json!({"traits": {"plan": big}})));
    assert_eq!(
        e,
        "traits: 24111 characters as user properties, at most 24000"
    );
}

#[test]
fn alias_and_group_are_ignored_with_a_reason() {
    let c = file_config();
    for (text, kind) in [(ALIAS, MessageKind::Alias), (GROUP, MessageKind::Group)] {
        let Outcome::Ignored(r) = c.map_str(text).unwrap() else {
            panic!("ignored expected")
        };
        assert_eq!(r.kind, kind);
        assert!(
            r.to_string().ends_with("messages are not interactions"),
            "{r}"
        );
    }
}

#[test]
fn order_completed_makes_one_event_per_product_with_an_id() {
    let c = file_config();
    let i = interactions(&c, ORDER);
    assert_eq!(i.skipped_elements, 1, "the gift wrap has no product_id");
    assert_eq!(i.user_id.as_deref(), Some("user-1234"));
    let got: Vec<Json> = i.events.iter().map(to_json).collect();
    // 10:15:30.250+02:00 = 08:15:30.250Z
    let sent_at = 1_715_674_530.25;
    assert_eq!(
        got,
        [
            json!({
                "eventId": "ajs-next-8c1f3b0e5d2a4f6b9e7c-0",
                "eventType": "Purchase",
                "eventValue": 19.0,
                "itemId": "507f1f77bcf86cd799439011",
                "properties": "{\"category\":\"Games\",\"discount\":\"2.5\"}",
                "sentAt": sent_at,
            }),
            json!({
                "eventId": "ajs-next-8c1f3b0e5d2a4f6b9e7c-1",
                "eventType": "Purchase",
                "eventValue": 3.5,
                "itemId": "505bd76785ebb509fc183733",
                "properties": "{\"category\":\"Games\",\"discount\":\"2.5\"}",
                "sentAt": sent_at,
            }),
        ]
    );
}

#[test]
fn product_viewed_carries_recommendation_and_impression() {
    let c = file_config();
    let e = one_event(&c, VIEWED);
    assert_eq!(
        to_json(&e),
        json!({
            "eventId": "ajs-next-1d9e0c7b2a3f4e5d6c7b",
            "eventType": "View",
            "eventValue": 18.99,
            "itemId": "507f1f77bcf86cd799439011",
            "properties": "{\"category\":\"Games\"}",
            "sentAt": 1_715_674_442.125,
            "recommendationId": "RID-3c1a9f2e-77b4-4d",
            "impression": [
                "507f1f77bcf86cd799439011",
                "505bd76785ebb509fc183733",
                "5b2c3f9e1a7d4e0c8b6a2d11"
            ]
        })
    );
    assert_eq!(e.event_value, Some(18.99_f32));
}

#[test]
fn from_a_lambda_payload_value() {
    let c = default_config();
    let v: Json = serde_json::from_str(WORKSHOP).unwrap();
    let m = Message::from_value(&v).unwrap();
    let Outcome::Interactions(i) = c.map(&m).unwrap() else {
        panic!()
    };
    assert_eq!(i.events[0].item_id.as_deref(), Some("ocean-blue-shirt"));
    assert!(matches!(i.events[0].item_id, Some(Cow::Borrowed(_))));
}

// ---------------------------------------------------------------------------------------------
// Sessions and users

#[test]
fn missing_user_id_keeps_the_anonymous_session() {
    let c = config(&[]);
    let i = interactions(&c, &with(base(), json!({"userId": null})));
    assert_eq!(i.session_id, "anon-1");
    assert_eq!(i.user_id, None);
}

#[test]
fn missing_anonymous_id_derives_a_stable_session_from_the_user() {
    let c = config(&[]);
    let a = interactions(&c, &with(base(), json!({"anonymousId": null}))).session_id;
    let b = interactions(
        &c,
        &with(
            base(),
            json!({"anonymousId": "", "messageId": "m-2", "event": "Other"}),
        ),
    )
    .session_id;
    assert_eq!(a, b);
    assert_eq!(a, derive_session_id("user-", "u-1"));
    let other = interactions(
        &c,
        &with(base(), json!({"anonymousId": null, "userId": "u-2"})),
    );
    assert_ne!(other.session_id, a);
    let c = config(&[("SESSION_ID_PREFIX", "seg:")]);
    let s = interactions(&c, &with(base(), json!({"anonymousId": null}))).session_id;
    assert!(s.starts_with("seg:") && s.len() == 4 + 32, "{s}");
}

#[test]
fn numeric_ids_are_accepted() {
    let c = config(&[]);
    let i = interactions(&c, &with(base(), json!({"userId": 42, "anonymousId": 7})));
    assert_eq!(i.user_id.as_deref(), Some("42"));
    assert_eq!(i.session_id, "7");
}

#[test]
fn neither_anonymous_nor_user_id_is_invalid() {
    let c = config(&[]);
    let e = error(
        &c,
        &with(base(), json!({"anonymousId": null, "userId": null})),
    );
    assert_eq!(
        e,
        "anonymousId: missing, and no userId to derive a session id from"
    );
}

#[test]
fn id_lengths_are_checked() {
    let c = config(&[]);
    let long = "u".repeat(257);
    // Counted in characters, as the API model counts them (not UTF-16 units).
    let emoji = "😀".repeat(256);
    assert_eq!(
        interactions(&c, &with(base(), json!({"userId": emoji})))
            .user_id
            .as_deref(),
        Some(emoji.as_str())
    );
    assert_eq!(
        error(&c, &with(base(), json!({"userId": long}))),
        "userId: 257 characters, at most 256"
    );
    assert_eq!(
        error(&c, &with(base(), json!({"anonymousId": long}))),
        "anonymousId: 257 characters, at most 256"
    );
    assert_eq!(
        error(&c, &with(base(), json!({"messageId": long}))),
        "messageId: 257 characters, at most 256"
    );
    assert_eq!(
        error(&c, &track(json!({"productId": long}))),
        "properties.productId: 257 characters, at most 256"
    );
    // An event name is only looked up (the event type comes from EVENT_TYPE_MAP): a long one
    // is not in the map, whatever its length.
    let name = "E".repeat(257);
    assert_eq!(
        ignored(&c, &with(base(), json!({"event": name}))),
        map::IGNORED_NOT_MAPPED
    );
    assert_eq!(
        error(&c, &with(base(), json!({"userId": true}))),
        "userId: expected a string, found a boolean"
    );
    // The per-item suffix must fit too.
    let id = "m".repeat(255);
    let e = error(
        &c,
        &with(
            base(),
            json!({"messageId": id, "properties": {"products": [{"product_id": "a"}]}}),
        ),
    );
    assert_eq!(
        e,
        "messageId: 257 characters with the per-item suffix -0, at most 256"
    );
}

// ---------------------------------------------------------------------------------------------
// Event types

#[test]
fn unknown_event_types_are_ignored_and_mapped_ones_are_renamed() {
    let c = config(&[(
        EVENT_TYPE_MAP,
        r#"{"Product Viewed":"View","Signed In":null}"#,
    )]);
    assert_eq!(one_event(&c, &base().to_string()).event_type, "View");
    assert_eq!(
        ignored(
            &c,
            &with(base(), json!({"event": "Wishlist Product Added"}))
        ),
        map::IGNORED_NOT_MAPPED
    );
    assert_eq!(
        c.map_str(&with(base(), json!({"event": "Signed In"})))
            .unwrap(),
        Outcome::Ignored(Ignored {
            kind: MessageKind::Track,
            reason: map::IGNORED_DROPPED_EVENT
        })
    );
    let c = config(&[(EVENT_TYPE_MAP, r#"{"Product Viewed":"View","*":null}"#)]);
    assert!(matches!(
        c.map_str(&with(base(), json!({"event": "Other"}))).unwrap(),
        Outcome::Ignored(_)
    ));
}

#[test]
fn track_needs_an_event_name() {
    let c = config(&[]);
    assert_eq!(
        error(&c, &with(base(), json!({"event": null}))),
        "event: missing"
    );
    assert_eq!(
        error(&c, &with(base(), json!({"event": ""}))),
        "event: empty, at least 1 character"
    );
    assert_eq!(
        error(&c, &with(base(), json!({"event": 3}))),
        "event: expected a string, found a number"
    );
}

#[test]
fn unsupported_or_missing_type_is_invalid() {
    let c = config(&[]);
    let e = error(&c, &with(base(), json!({"type": "purchase"})));
    assert!(e.starts_with("type: unsupported message type"), "{e}");
    assert!(!e.contains("purchase"));
    assert_eq!(
        error(&c, &with(base(), json!({"type": null}))),
        "type: missing"
    );
}

// ---------------------------------------------------------------------------------------------
// Timestamps

#[test]
fn timestamps_with_offsets_and_milliseconds() {
    let c = config(&[]);
    let e = one_event(
        &c,
        &with(
            base(),
            json!({"timestamp": "2024-05-14T10:15:30.250+02:00"}),
        ),
    );
    assert_eq!(
        e.sent_at,
        SentAt {
            secs: 1_715_674_530,
            nanos: 250_000_000
        }
    );
    assert_eq!(to_json(&e)["sentAt"], json!(1_715_674_530.25));
    let e = one_event(
        &c,
        &with(
            base(),
            json!({"timestamp": "2024-05-13T23:15:30.001-09:00"}),
        ),
    );
    assert_eq!(e.sent_at.as_millis(), 1_715_674_530_001);
}

#[test]
fn timestamp_fallback_order() {
    let c = config(&[]);
    let all = json!({
        "timestamp": null,
        "originalTimestamp": "2024-01-01T00:00:01Z",
        "sentAt": "2024-01-01T00:00:02Z",
        "receivedAt": "2024-01-01T00:00:03Z"
    });
    let e = one_event(&c, &with(base(), all.clone()));
    assert_eq!(e.sent_at.secs % 60, 1);
    let e = one_event(
        &c,
        &with(
            serde_json::from_str(&with(base(), all.clone())).unwrap(),
            json!({"originalTimestamp": null}),
        ),
    );
    assert_eq!(e.sent_at.secs % 60, 2);
    let e = one_event(
        &c,
        &with(
            serde_json::from_str(&with(base(), all)).unwrap(),
            json!({"originalTimestamp": null, "sentAt": ""}),
        ),
    );
    assert_eq!(e.sent_at.secs % 60, 3);
}

#[test]
fn missing_or_invalid_timestamps_are_named() {
    let c = config(&[]);
    assert_eq!(
        error(&c, &with(base(), json!({"timestamp": null}))),
        "timestamp: missing (and no originalTimestamp, sentAt or receivedAt)"
    );
    let e = error(
        &c,
        &with(
            base(),
            json!({"timestamp": "yesterday", "sentAt": "2024-01-01T00:00:00Z"}),
        ),
    );
    assert!(e.starts_with("timestamp: not an RFC 3339 date-time"), "{e}");
    let e = error(
        &c,
        &with(
            base(),
            json!({"timestamp": null, "originalTimestamp": "2024-05-14T10:15:30"}),
        ),
    );
    assert_eq!(
        e,
        "originalTimestamp: no UTC offset (Z or +hh:mm): a local time is ambiguous (like 2024-05-14T10:15:30.250+02:00)"
    );
    assert_eq!(
        error(&c, &with(base(), json!({"timestamp": 1715674530}))),
        "timestamp: expected an RFC 3339 date-time string, found a number"
    );
}

// ---------------------------------------------------------------------------------------------
// Items and products

#[test]
fn item_id_paths_in_order() {
    let c = config(&[]);
    let id = |props: Json| one_event(&c, &track(props)).item_id.map(Cow::into_owned);
    assert_eq!(id(json!({"sku": "s", "product_id": "p"})), Some("p".into()));
    assert_eq!(
        id(json!({"sku": "s", "productId": ""})),
        Some("s".into()),
        "empty skipped"
    );
    assert_eq!(id(json!({"productId": 507})), Some("507".into()));
    assert_eq!(id(json!({"title": "x"})), None);
    assert_eq!(id(json!({"products": []})), None);
    let c = config(&[(ITEM_ID_PATHS, "item.id")]);
    let e = one_event(&c, &track(json!({"item": {"id": "nested"}})));
    assert_eq!(e.item_id.as_deref(), Some("nested"));
    let c = config(&[]);
    assert_eq!(
        error(&c, &track(json!({"productId": {"id": 1}}))),
        "properties.productId: expected a string or a number, found an object"
    );
}

#[test]
fn products_without_an_id_are_skipped_and_counted() {
    let c = config(&[]);
    let i = interactions(
        &c,
        &track(
            json!({"products": [{"name": "a"}, {"product_id": "p1"}, {"product_id": ""}, {"product_id": 9}]}),
        ),
    );
    let ids: Vec<_> = i
        .events
        .iter()
        .map(|e| e.item_id.as_deref().unwrap())
        .collect();
    assert_eq!(ids, ["p1", "9"]);
    let eids: Vec<_> = i
        .events
        .iter()
        .map(|e| e.event_id.as_deref().unwrap())
        .collect();
    assert_eq!(eids, ["m-1-1", "m-1-3"], "suffix is the element index");
    assert_eq!(i.skipped_elements, 2);
    // No product has an id: one event without an item.
    let i = interactions(&c, &track(json!({"products": [{"name": "a"}]})));
    assert_eq!(i.events.len(), 1);
    assert_eq!(i.events[0].item_id, None);
    assert_eq!(i.events[0].event_id.as_deref(), Some("m-1"));
    assert_eq!(
        error(&c, &track(json!({"products": {"product_id": "x"}}))),
        "properties.products: expected an array, found an object"
    );
    // An unusable id skips its product (with a warning), not the order; its sku stands in
    // when it has one.
    let msg = track(
        json!({"products": [{"product_id": "x"}, {"product_id": [1]}, {"product_id": {}, "sku": "S-3"}]}),
    );
    let i = interactions(&c, &msg);
    let ids: Vec<_> = i
        .events
        .iter()
        .map(|e| e.item_id.as_deref().unwrap())
        .collect();
    assert_eq!(ids, ["x", "S-3"]);
    assert_eq!(i.skipped_elements, 1);
    assert_eq!(
        warnings(&c, &msg),
        [
            "properties.products[1].product_id: expected a string or a number, found an array: left out",
            "properties.products[2].product_id: expected a string or a number, found an object: left out",
        ]
    );
}

#[test]
fn per_product_values_and_properties() {
    let c = config(&[
        (EVENT_VALUE_PATH, "revenue,products[].price"),
        (
            EVENT_PROPERTIES,
            "category=products[].category,currency,tags",
        ),
    ]);
    let i = interactions(
        &c,
        &track(json!({
            "currency": "EUR",
            "tags": ["a", 1, true, null],
            "products": [
                {"product_id": "p1", "price": "2.5", "category": "Games"},
                {"product_id": "p2", "price": 4}
            ]
        })),
    );
    let vals: Vec<_> = i.events.iter().map(|e| e.event_value).collect();
    assert_eq!(vals, [Some(2.5), Some(4.0)]);
    let props: Vec<_> = i.events.iter().map(|e| e.properties.as_deref()).collect();
    assert_eq!(
        props,
        [
            Some(r#"{"category":"Games","currency":"EUR","tags":"a|1|true"}"#),
            Some(r#"{"currency":"EUR","tags":"a|1|true"}"#)
        ]
    );
    // A message-level value wins for every product when present.
    let i = interactions(
        &c,
        &track(json!({"revenue": 10, "products": [{"product_id": "p1", "price": 1}]})),
    );
    assert_eq!(i.events[0].event_value, Some(10.0));
    // Outside a per-product event an [] property joins all elements.
    let c = config(&[
        (ITEM_ID_PATHS, "sku"),
        (EVENT_PROPERTIES, "categories=products[].category"),
    ]);
    let e = one_event(
        &c,
        &track(json!({"sku": "s", "products": [{"category": "A"}, {}, {"category": "B"}]})),
    );
    assert_eq!(e.properties.as_deref(), Some(r#"{"categories":"A|B"}"#));
}

// ---------------------------------------------------------------------------------------------
// eventValue

#[test]
fn event_values_from_numbers_and_numeric_strings() {
    let c = config(&[(EVENT_VALUE_PATH, "price")]);
    let v = |p: Json| one_event(&c, &track(p)).event_value;
    assert_eq!(v(json!({"price": 19.99})), Some(19.99));
    assert_eq!(v(json!({"price": " 19.99 "})), Some(19.99));
    assert_eq!(v(json!({"price": "1e3"})), Some(1000.0));
    assert_eq!(v(json!({"price": -3})), Some(-3.0));
    assert_eq!(v(json!({"price": ""})), None);
    assert_eq!(v(json!({"price": null})), None);
    assert_eq!(v(json!({})), None);
}

#[test]
fn event_values_that_are_not_finite_numbers_are_left_out_with_a_warning() {
    let c = config(&[(EVENT_VALUE_PATH, "price")]);
    let left_out = |price: Json| {
        let text = track(json!({"productId": "p-1", "price": price}));
        assert_eq!(one_event(&c, &text).event_value, None, "{text}");
        warnings(&c, &text)
    };
    for bad in ["NaN", "inf", "-Infinity", "1e400"] {
        assert_eq!(
            left_out(json!(bad)),
            ["properties.price: not a finite number: left out"],
            "{bad}"
        );
    }
    // A JSON number beyond the f64 range, as written (serde_json would refuse the message).
    let text = track(json!({"productId": "p-1"}))
        .replace(r#""productId""#, r#""price":1e400,"productId""#);
    assert_eq!(
        warnings(&c, &text),
        ["properties.price: not a finite number: left out"]
    );
    assert_eq!(
        left_out(json!("12 EUR")),
        ["properties.price: not a number (eventValue is a Float): left out"]
    );
    assert_eq!(
        left_out(json!(1e39)),
        ["properties.price: out of range of a 32-bit float (eventValue is a Float): left out"]
    );
    assert_eq!(
        left_out(json!(true)),
        ["properties.price: expected a number or a numeric string, found a boolean: left out"]
    );
    // The next path is tried.
    let c = config(&[(EVENT_VALUE_PATH, "price,revenue")]);
    let text = track(json!({"productId": "p-1", "price": "$19.99", "revenue": 25}));
    assert_eq!(one_event(&c, &text).event_value, Some(25.0));
}

// ---------------------------------------------------------------------------------------------
// properties, recommendationId, impression

#[test]
fn oversize_properties_leave_out_their_largest_members() {
    let c = config(&[(EVENT_PROPERTIES, "description,brand,category")]);
    let text = "d".repeat(900);
    let e = one_event(&c, &track(json!({"description": text, "brand": "Hasbro"})));
    assert_eq!(utf16_len(e.properties.as_deref().unwrap()), 935);
    let text = "d".repeat(1512);
    let msg = track(json!({"description": text, "brand": "Hasbro", "category": "Games"}));
    let e = one_event(&c, &msg);
    assert_eq!(
        e.properties.as_deref(),
        Some(r#"{"brand":"Hasbro","category":"Games"}"#)
    );
    assert_eq!(
        warnings(&c, &msg),
        ["properties: 1566 UTF-16 code units, at most 1024: left out description"]
    );
    // Escapes and astral characters count as a UTF-16 service would count them: 505 emoji
    // are 1010 units, 1028 with the rest; the only member goes, and properties with it.
    let msg = track(json!({"description": "😀".repeat(505)}));
    assert_eq!(one_event(&c, &msg).properties, None);
    assert_eq!(
        warnings(&c, &msg),
        ["properties: 1028 UTF-16 code units, at most 1024: left out description"]
    );
    // Two large members: the largest goes first, then the next until it fits.
    let msg = track(
        json!({"description": "d".repeat(700), "brand": "b".repeat(600), "category": "Games"}),
    );
    assert_eq!(
        one_event(&c, &msg).properties.as_deref(),
        Some(format!(r#"{{"brand":"{}","category":"Games"}}"#, "b".repeat(600)).as_str())
    );
}

#[test]
fn properties_are_a_json_string_of_strings() {
    let c = config(&[(
        EVENT_PROPERTIES,
        "number_of_ratings,inStock,note,Category,missing",
    )]);
    let e = one_event(
        &c,
        &track(
            json!({"number_of_ratings": 12, "inStock": false, "note": "say \"hi\"\n", "Category": ["a", "b"]}),
        ),
    );
    let p = e.properties.unwrap();
    let parsed: Json = serde_json::from_str(&p).unwrap();
    assert_eq!(
        parsed,
        json!({"numberOfRatings": "12", "inStock": "false", "note": "say \"hi\"\n", "category": "a|b"})
    );
    // A value that cannot be a string is left out, not the event.
    let msg = track(json!({"note": {"x": 1}, "inStock": true}));
    assert_eq!(
        one_event(&c, &msg).properties.as_deref(),
        Some(r#"{"inStock":"true"}"#)
    );
    assert_eq!(
        warnings(&c, &msg),
        ["properties.note: expected a string, number, boolean or an array of them, found an object: left out"]
    );
    assert_eq!(
        error(&c, &with(base(), json!({"properties": ["x"]}))),
        "properties: expected an object, found an array"
    );
}

#[test]
fn impression_keeps_the_first_25_usable_ids() {
    let c = config(&[]);
    let ids = |n: usize| (0..n).map(|i| format!("i{i}")).collect::<Vec<_>>();
    let e = one_event(
        &c,
        &track(json!({"impression": ids(25), "recommendationId": "r"})),
    );
    assert_eq!(e.impression.as_ref().map(Vec::len), Some(25));
    assert_eq!(e.recommendation_id.as_deref(), Some("r"));
    let msg = track(json!({"impression": ids(30)}));
    assert_eq!(
        one_event(&c, &msg).impression,
        Some(ids(25).into_iter().map(Cow::from).collect())
    );
    assert_eq!(
        warnings(&c, &msg),
        ["properties.impression: 30 items, at most 25: kept the first 25"]
    );
    // Nothing to send: no impression, nothing lost.
    let msg = track(json!({"impression": []}));
    assert_eq!(one_event(&c, &msg).impression, None);
    assert!(warnings(&c, &msg).is_empty());
    let msg = track(json!({"impression": ["a", {"id": 1}, "", "i".repeat(257), "b"]}));
    assert_eq!(
        one_event(&c, &msg).impression,
        Some(vec![Cow::from("a"), Cow::from("b")])
    );
    assert_eq!(
        warnings(&c, &msg),
        [
            "properties.impression[1]: expected a string or a number, found an object: left out",
            "properties.impression[2]: empty, at least 1 character: left out",
            "properties.impression[3]: 257 UTF-16 code units, at most 256: left out",
        ]
    );
    let msg = track(json!({"impression": "a|b"}));
    assert_eq!(one_event(&c, &msg).impression, None);
    assert_eq!(
        warnings(&c, &msg),
        ["properties.impression: expected an array of item ids, found a string: left out"]
    );
    let e = one_event(&c, &track(json!({"impression": [1, 2]})));
    assert_eq!(e.impression, Some(vec![Cow::from("1"), Cow::from("2")]));
}

#[test]
fn recommendation_id_over_40_is_left_out() {
    let c = config(&[]);
    let ok = "r".repeat(40);
    assert!(one_event(&c, &track(json!({"recommendationId": ok})))
        .recommendation_id
        .is_some());
    let long = track(json!({"recommendationId": "r".repeat(41)}));
    assert_eq!(one_event(&c, &long).recommendation_id, None);
    assert_eq!(
        warnings(&c, &long),
        ["properties.recommendationId: 41 UTF-16 code units, at most 40: left out"]
    );
    let array = track(json!({"recommendationId": ["r"]}));
    assert_eq!(one_event(&c, &array).recommendation_id, None);
    assert_eq!(
        warnings(&c, &array),
        ["properties.recommendationId: expected a string, found an array: left out"]
    );
}

#[test]
fn errors_never_contain_values() {
    const SECRET: &str = "jane.doe@example.com";
    let c = config(&[
        (EVENT_VALUE_PATH, "price"),
        (EVENT_PROPERTIES, "email"),
        (USERS_DATASET_ARN, ARN),
        (USER_TRAITS, "email"),
    ]);
    let long = format!("{SECRET}{}", "x".repeat(1100));
    // Left out with a warning: the warning has no value either.
    let warned = [
        track(json!({"price": SECRET})),
        track(json!({"email": long})),
        track(json!({"email": {"v": SECRET}})),
        track(json!({"impression": SECRET})),
        track(json!({"impression": [long]})),
        track(json!({"recommendationId": long})),
        track(json!({"products": [{"product_id": "p"}, {"product_id": [SECRET]}]})),
    ];
    for text in &warned {
        let w = warnings(&c, text);
        assert_eq!(w.len(), 1, "{text}");
        assert!(!w[0].contains("jane"), "{}", w[0]);
    }
    let cases = [
        track(json!({"productId": [SECRET]})),
        with(base(), json!({"userId": long})),
        with(base(), json!({"timestamp": SECRET})),
        with(base(), json!({"type": SECRET})),
        with(base(), json!({"event": {"e": SECRET}})),
        format!(r#"{{"type":"track","userId":"{SECRET}","#),
        format!(r#"{{"type":"track","userId":{SECRET}}}"#),
        format!(r#""{SECRET}""#),
        json!({"type": "identify", "userId": "u", "traits": {"email": long.repeat(25)}})
            .to_string(),
    ];
    for text in &cases {
        let e = error(&c, text);
        assert!(!e.contains("jane"), "{e}");
    }
}

// ---------------------------------------------------------------------------------------------
// Batches

/// A track message for `session`/`user` with id `n`.
fn msg(session: &str, user: Option<&str>, n: usize) -> String {
    let mut m = json!({
        "type": "track",
        "event": "Product Viewed",
        "messageId": format!("m{n}"),
        "anonymousId": session,
        "timestamp": "2024-05-14T08:15:30Z",
        "properties": {"productId": format!("p{n}")}
    });
    if let Some(u) = user {
        m["userId"] = json!(u);
    }
    m.to_string()
}

#[test]
fn batches_group_by_session_in_tens_preserving_order() {
    let c = config(&[]);
    // 23 messages for (a, u1), 5 for (b, no user), 2 for (a, no user), interleaved.
    let who = |n: usize| match n {
        1 | 7 | 13 | 19 | 25 => ("b", None),
        27 | 29 => ("a", None),
        _ => ("a", Some("u1")),
    };
    let texts: Vec<String> = (0..30).map(|n| msg(who(n).0, who(n).1, n)).collect();
    let outcomes: Vec<_> = texts.iter().map(|t| c.map_str(t).unwrap()).collect();
    assert_eq!(count_put_events_calls(&outcomes), 3 + 1 + 1);
    assert_eq!(
        count_put_events_calls(&outcomes),
        put_events_calls([23, 5, 2])
    );

    let p = plan(&c, outcomes.into_iter().map(Ok));
    assert_eq!(p.put_events.len(), 5);
    assert_eq!(p.event_count(), 30);
    for call in &p.put_events {
        let n = call.request.event_list.len();
        assert!((1..=10).contains(&n));
        assert_eq!(call.messages.len(), n);
        assert!(
            call.messages.windows(2).all(|w| w[0] < w[1]),
            "message order kept"
        );
        // The events are those messages', in order, all of this session.
        for (e, &i) in call.request.event_list.iter().zip(&call.messages) {
            assert_eq!(e.event_id.as_deref(), Some(format!("m{i}").as_str()));
            assert_eq!(
                (
                    call.request.session_id.as_ref(),
                    call.request.user_id.as_deref()
                ),
                who(i)
            );
        }
    }
    // Sessions in order of first appearance; each session's chunks are full but the last.
    let keys: Vec<_> = p
        .put_events
        .iter()
        .map(|c| {
            (
                c.request.session_id.as_ref(),
                c.request.user_id.as_deref(),
                c.request.event_list.len(),
            )
        })
        .collect();
    assert_eq!(
        keys,
        [
            ("a", Some("u1"), 10),
            ("a", Some("u1"), 10),
            ("a", Some("u1"), 3),
            ("b", None, 5),
            ("a", None, 2),
        ]
    );
    assert_eq!(chunks(23), [10, 10, 3]);
}

fn chunks(n: usize) -> Vec<usize> {
    (0..n.div_ceil(10)).map(|i| (n - i * 10).min(10)).collect()
}

#[test]
fn a_message_that_fits_in_one_call_is_never_cut_in_two() {
    assert_eq!(call_sizes([]), Vec::<usize>::new());
    assert_eq!(call_sizes([1; 23]), [10, 10, 3]);
    assert_eq!(call_sizes([23]), [10, 10, 3]);
    assert_eq!(call_sizes([5, 5]), [10]);
    assert_eq!(
        call_sizes([8, 3]),
        [8, 3],
        "3 would straddle: it starts the next call"
    );
    assert_eq!(call_sizes([8, 3, 7, 1]), [8, 10, 1]);
    assert_eq!(call_sizes([10, 10]), [10, 10]);
    // More than a call holds: fills the current call and whole calls after it.
    assert_eq!(call_sizes([2, 23, 4]), [10, 10, 9]);
    assert_eq!(call_sizes([0, 3, 0]), [3]);

    // plan() cuts sessions the same way, and count_put_events_calls agrees.
    let c = config(&[]);
    let message = |id: usize, session: &str, n: usize| {
        let products: Vec<Json> = (0..n)
            .map(|i| json!({"product_id": format!("m{id}-p{i}")}))
            .collect();
        with(
            serde_json::from_str(&track(json!({"products": products}))).unwrap(),
            json!({"messageId": format!("m{id}"), "anonymousId": session}),
        )
    };
    let sizes = [8, 3, 1, 12, 4, 6, 2, 9, 9, 1, 25, 3];
    let texts: Vec<String> = sizes
        .iter()
        .enumerate()
        .map(|(i, &n)| message(i, ["s1", "s2"][i % 3 / 2], n))
        .collect();
    let outcomes: Vec<_> = texts.iter().map(|t| c.map_str(t).unwrap()).collect();
    let counted = count_put_events_calls(&outcomes);
    let p = plan(&c, outcomes.into_iter().map(Ok));
    assert_eq!(p.put_events.len(), counted);
    assert_eq!(p.event_count(), sizes.iter().sum::<usize>());
    for (m, &n) in sizes.iter().enumerate() {
        let calls = p
            .put_events
            .iter()
            .filter(|c| c.messages.contains(&m))
            .count();
        // Within one call when it fits; else as few calls as the open one allows.
        let fewest = n.div_ceil(10);
        let most = if n <= 10 { 1 } else { fewest + 1 };
        assert!(
            (fewest..=most).contains(&calls),
            "message {m} ({n} events) is in {calls} calls"
        );
    }
    for call in &p.put_events {
        assert!(call.request.event_list.len() <= 10);
        assert_eq!(call.origins.len(), call.request.event_list.len());
    }
}

#[test]
fn call_counts_are_ceil_of_tenths_per_session() {
    assert_eq!(put_events_calls([]), 0);
    assert_eq!(put_events_calls([1]), 1);
    assert_eq!(put_events_calls([10]), 1);
    assert_eq!(put_events_calls([11]), 2);
    assert_eq!(put_events_calls([10, 1, 25]), 1 + 1 + 3);
    assert_eq!(put_events_calls([0]), 0);
}

#[test]
fn one_message_with_many_products_spans_calls() {
    let c = config(&[]);
    let products: Vec<Json> = (0..23)
        .map(|i| json!({"product_id": format!("p{i}")}))
        .collect();
    let text = track(json!({"products": products}));
    let o = c.map_str(&text).unwrap();
    assert_eq!(count_put_events_calls(std::slice::from_ref(&o)), 3);
    let p = plan(&c, [Ok(o)]);
    let sizes: Vec<_> = p
        .put_events
        .iter()
        .map(|c| c.request.event_list.len())
        .collect();
    assert_eq!(sizes, [10, 10, 3]);
    assert!(p.put_events.iter().all(|c| c.messages == [0]));
    assert_eq!(
        p.put_events[2].request.event_list[2].event_id.as_deref(),
        Some("m-1-22")
    );
}

#[test]
fn plan_reports_invalid_and_ignored_by_index() {
    let c = file_config();
    let texts = [
        WORKSHOP,
        ALIAS,
        "{\"type\":\"track\"",
        IDENTIFY_SPEC,
        ORDER,
        GROUP,
    ];
    let p = plan(&c, texts.iter().map(|t| c.map_str(t)));
    let invalid: Vec<_> = p.invalid.iter().map(|(i, _)| *i).collect();
    assert_eq!(invalid, [2]);
    let ignored: Vec<_> = p.ignored.iter().map(|(i, _)| *i).collect();
    assert_eq!(ignored, [1, 5]);
    assert_eq!(p.put_events.len(), 2, "workshop session and order session");
    assert_eq!(p.put_users.len(), 1);
    assert_eq!(p.put_users[0].messages, [3]);
    assert_eq!(p.skipped_elements, 1);
}

#[test]
fn users_go_in_tens_and_the_last_identify_wins() {
    let c = config(&[(USERS_DATASET_ARN, ARN), (USER_TRAITS, "plan")]);
    let mut texts: Vec<String> = (0..12)
        .map(|n| {
            json!({"type": "identify", "userId": format!("u{n}"), "traits": {"plan": "free"}})
                .to_string()
        })
        .collect();
    texts.push(json!({"type": "identify", "userId": "u3", "traits": {"plan": "pro"}}).to_string());
    let p = plan(&c, texts.iter().map(|t| c.map_str(t)));
    let sizes: Vec<_> = p.put_users.iter().map(|c| c.request.users.len()).collect();
    assert_eq!(sizes, [10, 2]);
    let u3 = &p.put_users[0].request.users[3];
    assert_eq!(u3.user_id, "u3");
    assert_eq!(u3.properties.as_deref(), Some(r#"{"plan":"pro"}"#));
    assert_eq!(p.put_users[0].messages, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 12]);
    assert_eq!(p.put_users[1].messages, [10, 11]);
    // u3's identify that counts is message 12.
    assert_eq!(p.put_users[0].origins, [0, 1, 2, 12, 4, 5, 6, 7, 8, 9]);
    assert_eq!(p.put_users[1].origins, [10, 11]);
}

#[test]
fn a_call_splits_into_one_call_per_message_with_only_its_events() {
    let c = config(&[]);
    let order = |id: &str, n: usize| {
        let products: Vec<Json> = (0..n)
            .map(|i| json!({"product_id": format!("{id}-p{i}")}))
            .collect();
        with(
            serde_json::from_str(&track(json!({"products": products}))).unwrap(),
            json!({"messageId": id}),
        )
    };
    // Same session: 3 + 1 + 4 events in one call, then a 12-event message that fills it and
    // the next one.
    let texts = [order("a", 3), order("b", 1), order("c", 4), order("d", 12)];
    let p = plan(&c, texts.iter().map(|t| c.map_str(t)));
    assert_eq!(p.put_events.len(), 2);
    let first = &p.put_events[0];
    assert_eq!(first.messages, [0, 1, 2, 3]);
    assert_eq!(first.origins, [0, 0, 0, 1, 2, 2, 2, 2, 3, 3]);
    assert_eq!(p.put_events[1].origins, [3; 10]);

    let parts = first.split_by_message();
    let shape: Vec<(Vec<usize>, Vec<&str>)> = parts
        .iter()
        .map(|part| {
            let ids = part
                .request
                .event_list
                .iter()
                .map(|e| e.item_id.as_deref().unwrap())
                .collect();
            (part.messages.clone(), ids)
        })
        .collect();
    assert_eq!(
        shape,
        [
            (vec![0], vec!["a-p0", "a-p1", "a-p2"]),
            (vec![1], vec!["b-p0"]),
            (vec![2], vec!["c-p0", "c-p1", "c-p2", "c-p3"]),
            (vec![3], vec!["d-p0", "d-p1"]),
        ]
    );
    for part in &parts {
        assert_eq!(part.request.session_id, first.request.session_id);
        assert_eq!(part.request.user_id, first.request.user_id);
        assert_eq!(part.request.tracking_id, "tid");
        assert_eq!(part.origins.len(), part.request.event_list.len());
    }
}

#[test]
fn requests_serialise_as_the_api_json() {
    let c = file_config();
    let p = plan(&c, [c.map_str(VIEWED)]);
    let text = p.put_events[0].request.to_json();
    let v: Json = serde_json::from_str(&text).unwrap();
    let mut keys: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    assert_eq!(keys, ["eventList", "sessionId", "trackingId", "userId"]);
    let mut keys: Vec<_> = v["eventList"][0]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "eventId",
            "eventType",
            "eventValue",
            "impression",
            "itemId",
            "properties",
            "recommendationId",
            "sentAt"
        ]
    );
    assert!(v["eventList"][0]["properties"].is_string());
    assert!(v["eventList"][0]["sentAt"].is_f64());
    let owned: PutEventsRequest<'static> = p.put_events[0].request.clone().into_owned();
    assert_eq!(owned, p.put_events[0].request);
}

/// Whatever Segment (or anyone with the queue) sends, mapping answers with an outcome or an
/// error naming a field, never a panic: every truncation and single-byte damage of the
/// fixtures, and times at the edges of what RFC 3339 and the API allow.
#[test]
fn damaged_messages_never_panic() {
    let c = file_config();
    let check = |input: &[u8]| {
        let Ok(text) = std::str::from_utf8(input) else {
            return;
        };
        let p = plan(&c, [c.map_str(text)]);
        for call in &p.put_events {
            serde_json::from_str::<Json>(&call.request.to_json()).expect("request is JSON");
        }
        for call in &p.put_users {
            serde_json::from_str::<Json>(&call.request.to_json()).expect("request is JSON");
        }
    };
    for fixture in [ORDER, VIEWED, TRACK_SPEC, PAGE_SPEC, IDENTIFY_SPEC, SCREEN] {
        shared_core::damage::each_damaged_copy(
            fixture.as_bytes(),
            shared_core::damage::JSON_BREAKERS,
            check,
        );
    }
    for t in [
        "0000-01-01T00:00:00Z",
        "9999-12-31T23:59:59.999999999-23:59",
        "9999-12-31T23:59:59+23:59",
        "1970-01-01T00:00:00.000000001Z",
        "2024-02-30T00:00:00Z",
        "2024-05-14T08:15:30.250+99:00",
    ] {
        let text = with(
            serde_json::from_str(&track(json!({"productId": "p", "price": 1e308}))).unwrap(),
            json!({"timestamp": t}),
        );
        check(text.as_bytes());
    }
}

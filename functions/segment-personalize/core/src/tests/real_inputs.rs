//! Messages as the Segment libraries send them (events/segment/fixtures/: analytics.js,
//! analytics-node, analytics-ios, analytics-java, analytics-python, and a producer writing to the
//! queue itself), through the default configuration and the settings that change it (issue 12).

use super::*;

const LIST_VIEWED: &str =
    include_str!("../../../../../events/segment/fixtures/analytics_js_product_list_viewed.json");
const REFUNDED: &str =
    include_str!("../../../../../events/segment/fixtures/analytics_js_order_refunded.json");
const IOS_SCREEN: &str =
    include_str!("../../../../../events/segment/fixtures/analytics_ios_screen_home.json");
const PYTHON_IDENTIFY: &str =
    include_str!("../../../../../events/segment/fixtures/analytics_python_identify_anonymous.json");
const JAVA_VIEWED: &str = include_str!(
    "../../../../../events/segment/fixtures/analytics_java_product_viewed_optional_fields.json"
);
const NODE_NUMERIC: &str =
    include_str!("../../../../../events/segment/fixtures/analytics_node_numeric_ids.json");
const PYTHON_ORDER: &str = include_str!(
    "../../../../../events/segment/fixtures/analytics_python_order_completed_numeric_ids.json"
);
const LOCAL_TIME: &str =
    include_str!("../../../../../events/segment/fixtures/sqs_producer_local_timestamp.json");

fn event_types(c: &Config, text: &str) -> Vec<String> {
    interactions(c, text)
        .events
        .iter()
        .map(|e| e.event_type.to_string())
        .collect()
}

fn item_ids(c: &Config, text: &str) -> Vec<String> {
    interactions(c, text)
        .events
        .iter()
        .map(|e| e.item_id.as_deref().unwrap_or("").to_owned())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// 1. The default configuration does not poison the training data.

#[test]
fn by_default_only_the_e_commerce_interactions_with_a_product_are_sent() {
    let c = default_config();
    // Interactions with one product each.
    assert_eq!(event_types(&c, VIEWED), ["View"]);
    assert_eq!(event_types(&c, WORKSHOP), ["Click"]);
    assert_eq!(event_types(&c, ORDER), ["Purchase"; 3]);
    let added = with(
        serde_json::from_str(VIEWED).unwrap(),
        json!({"event": "Product Added"}),
    );
    assert_eq!(event_types(&c, &added), ["AddToCart"]);
    // Products merely displayed, refunded, removed: not interactions.
    assert_eq!(ignored(&c, LIST_VIEWED), map::IGNORED_NOT_IN_BUILTIN_MAP);
    assert_eq!(ignored(&c, REFUNDED), map::IGNORED_NOT_IN_BUILTIN_MAP);
    for event in [
        "Product Removed",
        "Cart Viewed",
        "Checkout Started",
        "Products Searched",
    ] {
        let text = with(
            serde_json::from_str(VIEWED).unwrap(),
            json!({"event": event}),
        );
        assert_eq!(
            ignored(&c, &text),
            map::IGNORED_NOT_IN_BUILTIN_MAP,
            "{event}"
        );
    }
    // Page and screen views are not in the built-in mapping.
    assert_eq!(ignored(&c, IOS_SCREEN), map::IGNORED_NOT_IN_BUILTIN_MAP);
    assert_eq!(ignored(&c, PAGE_SPEC), map::IGNORED_NOT_IN_BUILTIN_MAP);
    // A mapped interaction without a product is not sent either.
    let no_product = with(
        serde_json::from_str(VIEWED).unwrap(),
        json!({"properties": {"name": "Monopoly"}}),
    );
    assert_eq!(ignored(&c, &no_product), map::IGNORED_NO_ITEM);
    // The reasons name the setting, never the message's values.
    for reason in [
        map::IGNORED_NOT_IN_BUILTIN_MAP,
        map::IGNORED_NOT_MAPPED,
        map::IGNORED_NO_ITEM,
        map::IGNORED_LIST_VIEW,
    ] {
        assert!(reason.contains("EVENT_TYPE_MAP"), "{reason}");
    }
}

#[test]
fn a_batch_with_the_defaults_sends_interactions_and_reports_the_rest_as_ignored() {
    let c = default_config();
    let texts = [LIST_VIEWED, VIEWED, REFUNDED, IOS_SCREEN, ORDER];
    let p = plan(&c, texts.iter().map(|t| c.map_str(t)));
    assert!(p.invalid.is_empty(), "{:?}", p.invalid);
    let ignored: Vec<usize> = p.ignored.iter().map(|(i, _)| *i).collect();
    assert_eq!(ignored, [0, 2, 3]);
    let types: Vec<&str> = p
        .put_events
        .iter()
        .flat_map(|c| c.request.event_list.iter().map(|e| e.event_type.as_ref()))
        .collect();
    assert_eq!(types, ["View", "Purchase", "Purchase", "Purchase"]);
}

#[test]
fn page_and_screen_views_without_an_item_need_to_be_named() {
    // Through the catch-all: only with an item id.
    let c = config(&[(EVENT_TYPE_MAP, r#"{"Product Viewed":"View","*":"Other"}"#)]);
    assert_eq!(ignored(&c, IOS_SCREEN), map::IGNORED_NO_ITEM);
    assert_eq!(ignored(&c, PAGE_SPEC), map::IGNORED_NO_ITEM);
    assert_eq!(item_ids(&c, SCREEN), ["505bd76785ebb509fc183733"]);
    // Named: sent as asked, with or without an item.
    let c = config(&[(
        EVENT_TYPE_MAP,
        r#"{"Screen Viewed":"View","Page Viewed":"View"}"#,
    )]);
    let i = interactions(&c, IOS_SCREEN);
    assert_eq!(i.events[0].event_type, "View");
    assert_eq!(i.events[0].item_id, None);
    assert_eq!(event_types(&c, PAGE_SPEC), ["View"]);
}

#[test]
fn list_views_are_refused_at_start_up_and_left_out_by_the_catch_all() {
    for name in [
        "Product List Viewed",
        "Product List Filtered",
        "Cart Viewed",
    ] {
        let map = format!(r#"{{"{name}":"View"}}"#);
        let e =
            Config::from_source(&[(TRACKING_ID, "t"), (EVENT_TYPE_MAP, map.as_str())]).unwrap_err();
        assert_eq!(e.name, EVENT_TYPE_MAP);
        assert!(
            e.to_string().contains(&format!("{name:?} is a list view")),
            "{e}"
        );
    }
    let c = config(&[(EVENT_TYPE_MAP, r#"{"*":"Other"}"#)]);
    assert_eq!(ignored(&c, LIST_VIEWED), map::IGNORED_LIST_VIEW);
    // Mapped to null is fine (it says what happens anyway).
    let c = config(&[(
        EVENT_TYPE_MAP,
        r#"{"Product List Viewed":null,"*":"Other"}"#,
    )]);
    assert_eq!(ignored(&c, LIST_VIEWED), map::IGNORED_DROPPED_EVENT);
}

#[test]
fn more_than_ten_event_types_is_a_configuration_error_at_start_up() {
    let names = [
        "View",
        "Click",
        "AddToCart",
        "Purchase",
        "Share",
        "Like",
        "Rate",
        "Watch",
        "Save",
        "Follow",
        "Download",
    ];
    let map = |n: usize| {
        let entries: Vec<String> = names[..n]
            .iter()
            .enumerate()
            .map(|(i, t)| format!(r#""Event {i}":"{t}""#))
            .collect();
        format!("{{{}}}", entries.join(","))
    };
    let ten = map(10);
    assert!(Config::from_source(&[(TRACKING_ID, "t"), (EVENT_TYPE_MAP, ten.as_str())]).is_ok());
    let eleven = map(11);
    let e =
        Config::from_source(&[(TRACKING_ID, "t"), (EVENT_TYPE_MAP, eleven.as_str())]).unwrap_err();
    assert_eq!(e.name, EVENT_TYPE_MAP);
    assert!(
        e.to_string()
            .contains("11 distinct event types, at most 10"),
        "{e}"
    );
    // Event types and metadata columns count together (the built-in mapping has 6).
    let e =
        Config::from_source(&[(TRACKING_ID, "t"), (EVENT_PROPERTIES, "a,b,c,d,e")]).unwrap_err();
    assert_eq!(e.name, EVENT_TYPE_MAP);
    assert!(e.to_string().contains("at most 10 together"), "{e}");
    assert!(Config::from_source(&[(TRACKING_ID, "t"), (EVENT_PROPERTIES, "a,b,c,d")]).is_ok());
}

// ---------------------------------------------------------------------------------------------
// 2. An identify without userId is ignored, not invalid.

#[test]
fn an_anonymous_identify_from_analytics_python_is_ignored_with_its_reason() {
    let c = file_config();
    assert_eq!(
        c.map_str(PYTHON_IDENTIFY).unwrap(),
        Outcome::Ignored(Ignored {
            kind: MessageKind::Identify,
            reason: map::IGNORED_NO_USER_ID
        })
    );
    let p = plan(&c, [c.map_str(PYTHON_IDENTIFY)]);
    assert!(p.invalid.is_empty() && p.put_users.is_empty());
    assert_eq!(p.ignored.len(), 1);
    // From the Lambda destination's already parsed payload too.
    let v: Json = serde_json::from_str(PYTHON_IDENTIFY).unwrap();
    let m = Message::from_value(&v).unwrap();
    assert!(matches!(c.map(&m), Ok(Outcome::Ignored(_))));
}

// ---------------------------------------------------------------------------------------------
// 3. An optional field never drops an interaction.

#[test]
fn optional_fields_the_api_cannot_take_are_left_out_with_warnings() {
    let c = config(&[
        (EVENT_TYPE_MAP, "{}"),
        (EVENT_VALUE_PATH, "price"),
        (EVENT_PROPERTIES, "description,brand,category"),
    ]);
    let i = interactions(&c, JAVA_VIEWED);
    let e = &i.events[0];
    assert_eq!(e.event_type, "View");
    assert_eq!(e.item_id.as_deref(), Some("507f1f77bcf86cd799439011"));
    let ids: Vec<&str> = e
        .impression
        .as_ref()
        .unwrap()
        .iter()
        .map(|s| s.as_ref())
        .collect();
    assert_eq!(ids.len(), 25);
    assert_eq!((ids[0], ids[24]), ("p-01", "p-25"));
    assert_eq!(e.event_value, None, "\"$19.99\" is not a number");
    assert_eq!(
        e.properties.as_deref(),
        Some(r#"{"brand":"Hasbro","category":"Games"}"#)
    );
    assert_eq!(
        e.recommendation_id.as_deref(),
        Some("RID-3c1a9f2e-77b4-4d9a-a0b1-c2d3e4f5a6b7")
    );
    let warnings: Vec<String> = i.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        warnings,
        [
            "properties.impression: 30 items, at most 25: kept the first 25",
            "properties.price: not a number (eventValue is a Float): left out",
            "properties: 1066 UTF-16 code units, at most 1024: left out description",
        ]
    );
    // The plan carries them with the message's index, for the forwarder to log and count.
    let p = plan(&c, [c.map_str(WORKSHOP), c.map_str(JAVA_VIEWED)]);
    assert_eq!(p.event_count(), 2);
    let at: Vec<usize> = p.warnings.iter().map(|(i, _)| *i).collect();
    assert_eq!(at, [1, 1, 1]);
    // What is sent is within every limit of the API.
    let request = p.put_events[1].request.to_json();
    let v: Json = serde_json::from_str(&request).unwrap();
    let sent = &v["eventList"][0];
    assert!(sent["properties"].as_str().unwrap().encode_utf16().count() <= 1024);
    assert_eq!(sent["impression"].as_array().unwrap().len(), 25);
}

// ---------------------------------------------------------------------------------------------
// 4. Ids and times as the libraries send them.

#[test]
fn numeric_ids_become_strings_with_the_digits_sent() {
    let c = default_config();
    // analytics-node passes a numeric userId and product_id through.
    let i = interactions(&c, NODE_NUMERIC);
    assert_eq!(i.user_id.as_deref(), Some("8675309"));
    assert_eq!(i.session_id, derive_session_id("user-", "8675309"));
    assert_eq!(i.events[0].event_type, "AddToCart");
    assert_eq!(i.events[0].item_id.as_deref(), Some("90071992547409930"));
    // analytics-python writes ints of any size and floats with their fraction: an id keeps
    // them (serde_json would give 1.2345678901234568e22 and 1).
    assert_eq!(
        item_ids(&c, PYTHON_ORDER),
        ["12345678901234567890123", "1.0", "46493-32"]
    );
    // The Lambda destination's payload arrives parsed: integers keep their digits there too.
    let v: Json = serde_json::from_str(NODE_NUMERIC).unwrap();
    let m = Message::from_value(&v).unwrap();
    let Ok(Outcome::Interactions(i)) = c.map(&m) else {
        panic!("interactions expected")
    };
    assert_eq!(i.user_id.as_deref(), Some("8675309"));
    assert_eq!(i.events[0].item_id.as_deref(), Some("90071992547409930"));
}

#[test]
fn sku_stands_in_for_a_missing_product_id_per_product() {
    let c = default_config();
    let i = interactions(&c, PYTHON_ORDER);
    let ids: Vec<&str> = i
        .events
        .iter()
        .map(|e| e.item_id.as_deref().unwrap())
        .collect();
    // The third product has only a sku; the gift wrapping has neither and is skipped.
    assert_eq!(ids[2], "46493-32");
    assert_eq!(i.skipped_elements, 1);
    let eids: Vec<&str> = i
        .events
        .iter()
        .map(|e| e.event_id.as_deref().unwrap())
        .collect();
    assert_eq!(
        eids,
        [
            "9a4c2e6f-1b3d-4f5a-8c7e-0d2b4f6a8c9e-0",
            "9a4c2e6f-1b3d-4f5a-8c7e-0d2b4f6a8c9e-1",
            "9a4c2e6f-1b3d-4f5a-8c7e-0d2b4f6a8c9e-2"
        ]
    );
    // product_id still wins when both are there.
    assert_eq!(item_ids(&c, ORDER)[0], "507f1f77bcf86cd799439011");
}

#[test]
fn every_library_timestamp_format_keeps_its_fraction() {
    let c = default_config();
    let sent = |text: &str| interactions(&c, text).events[0].sent_at;
    // analytics.js: milliseconds, Z.
    assert_eq!(
        sent(VIEWED),
        SentAt {
            secs: 1_715_674_442,
            nanos: 125_000_000
        }
    );
    // analytics-java (java.time.Instant): microseconds, Z.
    assert_eq!(
        sent(JAVA_VIEWED),
        SentAt {
            secs: 1_715_674_530,
            nanos: 250_123_000
        }
    );
    // analytics-python (datetime.isoformat()): microseconds, +02:00.
    let t = sent(PYTHON_ORDER);
    assert_eq!(
        t,
        SentAt {
            secs: 1_715_674_530,
            nanos: 250_123_000
        }
    );
    // The request carries every digit (the SDK sends the same epoch-seconds text).
    let p = plan(&c, [c.map_str(PYTHON_ORDER)]);
    assert!(p.put_events[0]
        .request
        .to_json()
        .contains(r#""sentAt":1715674530.250123"#));
    // analytics-ios: milliseconds, Z (Segment's timestamp of a screen).
    let c = config(&[(EVENT_TYPE_MAP, r#"{"Screen Viewed":"View"}"#)]);
    assert_eq!(
        interactions(&c, IOS_SCREEN).events[0].sent_at,
        SentAt {
            secs: 1_715_674_530,
            nanos: 71_000_000
        }
    );
}

#[test]
fn a_timestamp_without_a_utc_offset_is_rejected_naming_the_field() {
    let c = default_config();
    assert_eq!(
        error(&c, LOCAL_TIME),
        "timestamp: no UTC offset (Z or +hh:mm): a local time is ambiguous (like 2024-05-14T10:15:30.250+02:00)"
    );
    // No silent fall back to another field: the one used is the one named.
    let text = with(
        serde_json::from_str(LOCAL_TIME).unwrap(),
        json!({"timestamp": null, "originalTimestamp": "2024-05-14T10:15:30.250123", "sentAt": "2024-05-14T08:15:31Z"}),
    );
    assert!(error(&c, &text).starts_with("originalTimestamp: no UTC offset"));
}

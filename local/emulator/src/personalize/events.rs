//! The Personalize Events API (restJson1, botocore `personalize-events/2018-03-22`):
//!
//! - `POST /events` (PutEvents): `{"trackingId", "userId"?, "sessionId", "eventList": [Event]}`
//! - `POST /users` (PutUsers): `{"datasetArn", "users": [{"userId", "properties"?}]}`
//! - `POST /items` (PutItems): `{"datasetArn", "items": [{"itemId", "properties"?}]}`
//!
//! Each answers 200 with an empty body. Model constraints (see [`super::validate`]):
//!
//! | member | constraint |
//! |---|---|
//! | `trackingId`, `sessionId`, `userId` | 1-256 characters; `trackingId`, `sessionId` required |
//! | `eventList` | required, 1-10 events |
//! | `Event.eventType`, `Event.sentAt` | required; `sentAt` a timestamp (epoch seconds, a JSON number) |
//! | `Event.eventId`, `Event.eventType`, `Event.itemId` | 1-256 characters |
//! | `Event.eventValue` | a number |
//! | `Event.properties` | 1-1024 characters of JSON text holding an object |
//! | `Event.recommendationId` | 1-40 characters |
//! | `Event.impression` | 1-25 item ids of 1-256 characters |
//! | `Event.metricAttribution.eventAttributionSource` | required in it, at most 1024 printable ASCII characters, not all spaces |
//! | `datasetArn` | required, at most 256 characters, `arn:([a-z\d-]+):personalize:.*:.*:.+` |
//! | `users`, `items` | required, 1-10 entries |
//! | `User.userId`, `Item.itemId` | required, 1-256 characters |
//! | `User.properties` / `Item.properties` | 1-24000 / 1-32000 characters of JSON text holding an object |
//!
//! IAM (with enforcement): PutEvents needs `personalize:PutEvents` on the event tracker ARN
//! ([`event_tracker_arn`]), PutUsers / PutItems `personalize:PutUsers` / `personalize:PutItems`
//! on the `datasetArn`; checked after validation, before the tracker or dataset must exist.
//!
//! Beyond the model: `properties` that is not a JSON object answers "Error parsing properties
//! json" (the service's own wording), and event properties may not use the keys the developer
//! guide reserves (`userId`, `sessionId`, `eventType`, `timestamp`, `recommendationId`,
//! `impression`, any case).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use serde_json::{Map, Value};

use crate::access::Access;

use super::error::ApiError;
use super::recommend::Interaction;
use super::validate::{parse_body, properties_object, Obj, Violations};
use super::{
    answer, now_rfc3339, DatasetRecord, Inner, Operation, PersonalizeService, RecordedEvents,
    Records, EVENTS_CAPACITY,
};

/// The IAM action of PutEvents.
pub const PUT_EVENTS_ACTION: &str = "personalize:PutEvents";

/// Keys event `properties` may not use (developer guide, PutEvents `properties`).
pub const RESERVED_EVENT_PROPERTIES: [&str; 6] = [
    "userId",
    "sessionId",
    "eventType",
    "timestamp",
    "recommendationId",
    "impression",
];

/// `POST /events`.
pub async fn put_events(
    State(service): State<PersonalizeService>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    answer(
        &service,
        Operation::PutEvents,
        &headers,
        &uri,
        |inner, access| {
            let request = parse_body(&body)?;
            let parsed = parse_put_events(&request)?;
            access.check(
                PUT_EVENTS_ACTION,
                &event_tracker_arn(access, &parsed.tracking_id),
            )?;
            if let Some(known) = &inner.config.tracking_ids {
                if !known.contains(&parsed.tracking_id) {
                    return Err(ApiError::not_found(format!(
                        "The event tracker with tracking ID {} does not exist.",
                        parsed.tracking_id
                    )));
                }
            }
            let interactions = parsed
                .events
                .into_iter()
                .filter(|(event_id, _)| match event_id {
                    Some(id) => inner.event_ids.insert(id.clone()),
                    None => true,
                })
                .map(|(_, interaction)| interaction)
                .collect();
            inner.events_received += 1;
            if inner.events.len() == EVENTS_CAPACITY {
                inner.events.pop_front();
            }
            inner.events.push_back(RecordedEvents {
                seq: inner.events_received,
                received_at: now_rfc3339(),
                request: Value::Object(request),
                interactions,
            });
            Ok(None)
        },
    )
}

/// `POST /users`.
pub async fn put_users(
    State(service): State<PersonalizeService>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    answer(
        &service,
        Operation::PutUsers,
        &headers,
        &uri,
        |inner, access| put_records(inner, access, &body, &USERS, |inner| &mut inner.users),
    )
}

/// `POST /items`.
pub async fn put_items(
    State(service): State<PersonalizeService>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    answer(
        &service,
        Operation::PutItems,
        &headers,
        &uri,
        |inner, access| put_records(inner, access, &body, &ITEMS, |inner| &mut inner.items),
    )
}

/// The event tracker ARN a PutEvents `trackingId` stands for, for IAM: the one the principals
/// file maps it to (`personalize.eventTrackers`), else
/// `arn:aws:personalize:{region}:{account}:event-tracker/{trackingId}` in the caller's region
/// and account.
pub(crate) fn event_tracker_arn(access: &Access, tracking_id: &str) -> String {
    access
        .principals()
        .and_then(|p| p.event_tracker_arn(tracking_id))
        .unwrap_or_else(|| {
            format!(
                "arn:aws:personalize:{}:{}:event-tracker/{tracking_id}",
                access.region(),
                access.account()
            )
        })
}

/// A validated PutEvents request: the tracking id and, per event, its id and what the model
/// keeps of it.
struct PutEvents {
    tracking_id: String,
    events: Vec<(Option<String>, Interaction)>,
}

fn parse_put_events(request: &Map<String, Value>) -> Result<PutEvents, ApiError> {
    let root = Obj::root(request);
    let mut v = Violations::default();
    let tracking_id = root.string(&mut v, "trackingId", true, 1, Some(256));
    let user_id = root.string(&mut v, "userId", false, 1, Some(256));
    let session_id = root.string(&mut v, "sessionId", true, 1, Some(256));
    let entries = root
        .list(&mut v, "eventList", true, 1, Some(10))
        .unwrap_or_default();

    struct Raw<'a> {
        path: String,
        event_id: Option<&'a str>,
        event_type: Option<&'a str>,
        event_value: Option<f64>,
        item_id: Option<&'a str>,
        properties: Option<&'a str>,
        sent_at: Option<f64>,
    }
    let mut raw = Vec::with_capacity(entries.len());
    for (path, value) in &entries {
        let Some(e) = Obj::at(&mut v, path, value) else {
            continue;
        };
        let event = Raw {
            path: e.path("properties"),
            event_id: e.string(&mut v, "eventId", false, 1, Some(256)),
            event_type: e.string(&mut v, "eventType", true, 1, Some(256)),
            event_value: e.number(&mut v, "eventValue", false),
            item_id: e.string(&mut v, "itemId", false, 1, Some(256)),
            properties: e.string(&mut v, "properties", false, 1, Some(1024)),
            sent_at: e.number(&mut v, "sentAt", true),
        };
        e.string(&mut v, "recommendationId", false, 1, Some(40));
        e.strings(&mut v, "impression", false, 1, Some(25), 1, Some(256));
        if let Some(attribution) = e.object(&mut v, "metricAttribution", false) {
            let key = "eventAttributionSource";
            if let Some(source) = attribution.string(&mut v, key, true, 0, Some(1024)) {
                if !is_attribution_source(source) {
                    v.constraint(
                        &attribution.path(key),
                        r"Member must satisfy regular expression pattern: ^[\x20-\x7E]*[\x21-\x7E]+[\x20-\x7E]*$",
                    );
                }
            }
        }
        raw.push(event);
    }
    v.into_result()?;

    let (Some(tracking_id), Some(session_id)) = (tracking_id, session_id) else {
        unreachable!("required members were checked");
    };
    let mut events = Vec::with_capacity(raw.len());
    for event in raw {
        let mut item_id = event.item_id.map(str::to_owned);
        if let Some(text) = event.properties {
            let properties = properties_object(&event.path, text)?;
            if let Some(reserved) = properties.keys().find(|k| {
                RESERVED_EVENT_PROPERTIES
                    .iter()
                    .any(|r| r.eq_ignore_ascii_case(k))
            }) {
                return Err(ApiError::invalid_input(format!(
                    "Invalid properties at '{}': {reserved} can't be used as a property key (userId, sessionId, eventType, timestamp, recommendationId and impression are reserved).",
                    event.path
                )));
            }
            if item_id.is_none() {
                item_id = properties
                    .get("itemId")
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned);
            }
        }
        let (Some(event_type), Some(sent_at)) = (event.event_type, event.sent_at) else {
            unreachable!("required members were checked");
        };
        events.push((
            event.event_id.map(str::to_owned),
            Interaction {
                user_id: user_id.map(str::to_owned),
                session_id: session_id.to_owned(),
                item_id,
                event_type: event_type.to_owned(),
                event_value: event.event_value,
                sent_at,
            },
        ));
    }
    Ok(PutEvents {
        tracking_id: tracking_id.to_owned(),
        events,
    })
}

/// `^[\x20-\x7E]*[\x21-\x7E]+[\x20-\x7E]*$`: printable ASCII with at least one non-space.
fn is_attribution_source(s: &str) -> bool {
    s.bytes().all(|b| (0x20..=0x7e).contains(&b)) && s.bytes().any(|b| b != b' ')
}

/// What differs between PutUsers and PutItems.
struct DatasetKind {
    /// The IAM action.
    action: &'static str,
    list: &'static str,
    id: &'static str,
    max_properties: usize,
}

const USERS: DatasetKind = DatasetKind {
    action: "personalize:PutUsers",
    list: "users",
    id: "userId",
    max_properties: 24_000,
};

const ITEMS: DatasetKind = DatasetKind {
    action: "personalize:PutItems",
    list: "items",
    id: "itemId",
    max_properties: 32_000,
};

fn put_records(
    inner: &mut Inner,
    access: &Access,
    body: &[u8],
    kind: &DatasetKind,
    records: impl FnOnce(&mut Inner) -> &mut Records,
) -> Result<Option<String>, ApiError> {
    let request = parse_body(body)?;
    let root = Obj::root(&request);
    let mut v = Violations::default();
    let dataset_arn = root.arn(&mut v, "datasetArn", true);
    let entries = root
        .list(&mut v, kind.list, true, 1, Some(10))
        .unwrap_or_default();
    let mut raw = Vec::with_capacity(entries.len());
    for (path, value) in &entries {
        let Some(entry) = Obj::at(&mut v, path, value) else {
            continue;
        };
        let id = entry.string(&mut v, kind.id, true, 1, Some(256));
        let properties = entry.string(&mut v, "properties", false, 1, Some(kind.max_properties));
        raw.push((entry.path("properties"), id, properties));
    }
    v.into_result()?;
    let Some(dataset_arn) = dataset_arn else {
        unreachable!("required members were checked");
    };
    let mut parsed = Vec::with_capacity(raw.len());
    for (path, id, properties) in raw {
        let properties = properties
            .map(|text| properties_object(&path, text))
            .transpose()?;
        let Some(id) = id else {
            unreachable!("required members were checked");
        };
        parsed.push((id.to_owned(), properties));
    }
    access.check(kind.action, dataset_arn)?;
    if let Some(known) = &inner.config.dataset_arns {
        if !known.contains(dataset_arn) {
            return Err(ApiError::not_found(format!(
                "Could not find resource: {dataset_arn}"
            )));
        }
    }
    let received_at = now_rfc3339();
    let records = records(inner);
    for (id, properties) in parsed {
        records.upsert(DatasetRecord {
            dataset_arn: dataset_arn.to_owned(),
            id,
            properties,
            received_at: received_at.clone(),
            puts: 0,
        });
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(body: Value) -> Result<PutEvents, ApiError> {
        parse_put_events(body.as_object().unwrap())
    }

    #[test]
    fn item_id_falls_back_to_properties() {
        let parsed = parse(json!({
            "trackingId": "t", "userId": "u", "sessionId": "s",
            "eventList": [
                {"eventType": "click", "sentAt": 1.5, "properties": "{\"itemId\": \"shirt\"}"},
                {"eventType": "click", "sentAt": 2, "itemId": "hat", "properties": "{\"itemId\": \"x\"}"}
            ]
        }))
        .unwrap();
        assert_eq!(parsed.events[0].1.item_id.as_deref(), Some("shirt"));
        assert_eq!(parsed.events[0].1.sent_at, 1.5);
        assert_eq!(parsed.events[1].1.item_id.as_deref(), Some("hat"));
    }

    #[test]
    fn constraints() {
        let message = |body: Value| parse(body).err().unwrap().message;
        let m = message(json!({"trackingId": "t", "sessionId": "s", "eventList": [
            {"eventType": "", "sentAt": "yesterday", "recommendationId": "r".repeat(41),
             "impression": [], "metricAttribution": {"eventAttributionSource": "   "}}
        ]}));
        assert!(m.starts_with("5 validation errors detected: "), "{m}");
        for needle in [
            "'eventList.1.member.eventType' failed to satisfy constraint: Member must have length greater than or equal to 1",
            "'eventList.1.member.sentAt' failed to satisfy constraint: Member must be a number",
            "'eventList.1.member.recommendationId' failed to satisfy constraint: Member must have length less than or equal to 40",
            "'eventList.1.member.impression' failed to satisfy constraint: Member must have length greater than or equal to 1",
            "'eventList.1.member.metricAttribution.eventAttributionSource' failed to satisfy constraint: Member must satisfy regular expression pattern",
        ] {
            assert!(m.contains(needle), "{needle} not in {m}");
        }
        let m = message(json!({"trackingId": "t", "sessionId": "s", "eventList": [
            {"eventType": "click", "sentAt": 1, "properties": "{\"Timestamp\": 1}"}
        ]}));
        assert!(m.contains("Timestamp can't be used"), "{m}");
    }
}

//! The Personalize Events API (restJson1, botocore `personalize-events/2018-03-22`):
//!
//! - `POST /events` (PutEvents): `{"trackingId", "userId"?, "sessionId", "eventList": [Event]}`
//! - `POST /users` (PutUsers): `{"datasetArn", "users": [{"userId", "properties"?}]}`
//! - `POST /items` (PutItems): `{"datasetArn", "items": [{"itemId", "properties"?}]}`
//!
//! Each answers 200 with an empty body. Bodies are first checked against botocore's model (see
//! [`super::model`]: required members, lengths such as 1-256 for ids, 1-10 events, users or
//! items, 1-25 impressions, 1-1024 / 24000 / 32000 characters of properties, the `Arn` and
//! `eventAttributionSource` patterns, `sentAt` a timestamp, i.e. epoch seconds as a JSON
//! number).
//!
//! IAM (with enforcement): PutEvents needs `personalize:PutEvents` on the event tracker ARN
//! (`event_tracker_arn`), PutUsers / PutItems `personalize:PutUsers` / `personalize:PutItems`
//! on the `datasetArn`; checked after validation, before the tracker or dataset must exist.
//!
//! Beyond the model: `properties` that is not a JSON object answers "Error parsing properties
//! json" (the service's own wording), and event properties may not use the keys the model's
//! documentation of `Event.properties` reserves ([`RESERVED_EVENT_PROPERTIES`], any case).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use serde_json::{Map, Value};

use crate::access::Access;

use super::error::ApiError;
use super::recommend::Interaction;
use super::validate::{entries, properties_object, text};
use super::{
    answer, now_rfc3339, DatasetRecord, Inner, Operation, PersonalizeService, RecordedEvents,
    Records, EVENTS_CAPACITY,
};

/// The IAM action of PutEvents.
pub const PUT_EVENTS_ACTION: &str = "personalize:PutEvents";

/// Keys event `properties` may not use (the model's documentation of `Event.properties`: "The
/// following can't be included as a keyword for properties (case insensitive)").
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
        &body,
        |inner, access, request| {
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
        &body,
        |inner, access, request| {
            put_records(inner, access, &request, &USERS, |inner| &mut inner.users)
        },
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
        &body,
        |inner, access, request| {
            put_records(inner, access, &request, &ITEMS, |inner| &mut inner.items)
        },
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

/// A PutEvents request (checked against the model): the tracking id and, per event, its id
/// and what the recommendation model keeps of it.
struct PutEvents {
    tracking_id: String,
    events: Vec<(Option<String>, Interaction)>,
}

/// Reads a PutEvents body the model accepted, applying the rules beyond the model. (Members the
/// model requires are there; read defensively anyway, so a model that relaxes them cannot make
/// the emulator panic.)
fn parse_put_events(request: &Map<String, Value>) -> Result<PutEvents, ApiError> {
    let user_id = text(request, "userId");
    let session_id = text(request, "sessionId").unwrap_or_default();
    let mut events = Vec::new();
    for (i, event) in entries(request, "eventList").iter().enumerate() {
        let Some(event) = event.as_object() else {
            continue;
        };
        let path = format!("eventList.{}.member.properties", i + 1);
        let mut item_id = text(event, "itemId").map(str::to_owned);
        if let Some(text) = text(event, "properties") {
            let properties = properties_object(&path, text)?;
            if let Some(reserved) = properties.keys().find(|k| {
                RESERVED_EVENT_PROPERTIES
                    .iter()
                    .any(|r| r.eq_ignore_ascii_case(k))
            }) {
                return Err(ApiError::invalid_input(format!(
                    "Invalid properties at '{path}': {reserved} can't be used as a property key (userId, sessionId, eventType, timestamp, recommendationId and impression are reserved).",
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
        events.push((
            text(event, "eventId").map(str::to_owned),
            Interaction {
                user_id: user_id.map(str::to_owned),
                session_id: session_id.to_owned(),
                item_id,
                event_type: text(event, "eventType").unwrap_or_default().to_owned(),
                event_value: event.get("eventValue").and_then(Value::as_f64),
                sent_at: event
                    .get("sentAt")
                    .and_then(Value::as_f64)
                    .unwrap_or_default(),
            },
        ));
    }
    Ok(PutEvents {
        tracking_id: text(request, "trackingId").unwrap_or_default().to_owned(),
        events,
    })
}

/// What differs between PutUsers and PutItems.
struct DatasetKind {
    /// The IAM action.
    action: &'static str,
    list: &'static str,
    id: &'static str,
}

const USERS: DatasetKind = DatasetKind {
    action: "personalize:PutUsers",
    list: "users",
    id: "userId",
};

const ITEMS: DatasetKind = DatasetKind {
    action: "personalize:PutItems",
    list: "items",
    id: "itemId",
};

fn put_records(
    inner: &mut Inner,
    access: &Access,
    request: &Map<String, Value>,
    kind: &DatasetKind,
    records: impl FnOnce(&mut Inner) -> &mut Records,
) -> Result<Option<String>, ApiError> {
    let dataset_arn = text(request, "datasetArn").unwrap_or_default();
    let mut parsed = Vec::new();
    for (i, entry) in entries(request, kind.list).iter().enumerate() {
        let Some(entry) = entry.as_object() else {
            continue;
        };
        let path = format!("{}.{}.member.properties", kind.list, i + 1);
        let properties = text(entry, "properties")
            .map(|text| properties_object(&path, text))
            .transpose()?;
        let id = text(entry, kind.id).unwrap_or_default();
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

    /// As the route reads a body: AWS's model first, then the rules beyond it.
    fn parse(body: Value) -> Result<PutEvents, ApiError> {
        let request = body.as_object().unwrap();
        super::super::test_models().check(Operation::PutEvents, request)?;
        parse_put_events(request)
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

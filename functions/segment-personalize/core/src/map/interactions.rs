//! `track`, `page` and `screen` messages -> the events of one session.

use std::borrow::Cow;

use crate::config::{Config, EventTypeLookup};
use crate::error::{check_len, service_len, MapError};
use crate::limits;
use crate::message::{id_field, Message, MessageKind};
use crate::path::{Element, Resolved};
use crate::request::Event;
use crate::time::SentAt;
use crate::value::Value;

use super::fields::{impression, item_id, number, recommendation_id, sent_at};
use super::properties::{check_properties, properties_string};
use super::{
    derive_session_id, Ignored, Interactions, Outcome, EMPTY_OBJECT, IGNORED_DROPPED_EVENT,
    PAGE_EVENT, SCREEN_EVENT,
};

/// The fields every event of a message shares.
struct Common<'a> {
    event_type: Cow<'a, str>,
    event_id: Option<Cow<'a, str>>,
    sent_at: SentAt,
    recommendation_id: Option<Cow<'a, str>>,
    impression: Option<Vec<Cow<'a, str>>>,
}

impl Config {
    pub(super) fn map_interaction<'a>(
        &'a self,
        kind: MessageKind,
        msg: &Message<'a>,
    ) -> Result<Outcome<'a>, MapError> {
        let name: Cow<'a, str> = match kind {
            MessageKind::Page => Cow::Borrowed(PAGE_EVENT),
            MessageKind::Screen => Cow::Borrowed(SCREEN_EVENT),
            _ => match &msg.event {
                None | Some(Value::Null) => return Err(MapError::missing("event")),
                Some(Value::Str(s)) => s.clone(),
                Some(other) => {
                    return Err(MapError::new(
                        "event",
                        format!("expected a string, found {}", other.kind()),
                    ))
                }
            },
        };
        let event_type = match self.event_types.lookup(&name) {
            EventTypeLookup::Mapped(t) => Cow::Borrowed(t),
            EventTypeLookup::PassThrough => {
                check_len(|| "event".to_owned(), &name, limits::EVENT_TYPE)?;
                name
            }
            EventTypeLookup::Dropped => {
                return Ok(Outcome::Ignored(Ignored {
                    kind,
                    reason: IGNORED_DROPPED_EVENT,
                }))
            }
        };

        let user_id = id_field(&msg.user_id, "userId")?;
        if let Some(u) = &user_id {
            check_len(|| "userId".to_owned(), u, limits::USER_ID)?;
        }
        let session_id = match id_field(&msg.anonymous_id, "anonymousId")? {
            Some(a) => {
                check_len(|| "anonymousId".to_owned(), &a, limits::SESSION_ID)?;
                a
            }
            None => match &user_id {
                Some(u) => Cow::Owned(derive_session_id(&self.session_id_prefix, u)),
                None => {
                    return Err(MapError::new(
                        "anonymousId",
                        "missing, and no userId to derive a session id from",
                    ))
                }
            },
        };
        let sent_at = sent_at(msg)?;
        let event_id = id_field(&msg.message_id, "messageId")?;
        if let Some(id) = &event_id {
            check_len(|| "messageId".to_owned(), id, limits::EVENT_ID)?;
        }

        let props = match &msg.properties {
            None | Some(Value::Null) => &EMPTY_OBJECT,
            Some(v @ Value::Object(_)) => v,
            Some(other) => {
                return Err(MapError::new(
                    "properties",
                    format!("expected an object, found {}", other.kind()),
                ))
            }
        };
        let common = Common {
            event_type,
            event_id,
            sent_at,
            recommendation_id: recommendation_id(props)?,
            impression: impression(props)?,
        };

        let mut events = Vec::new();
        let mut skipped_elements = 0;
        for path in &self.item_id_paths {
            if !path.is_each() {
                let Some(v) = path.get(props) else { continue };
                let Some(id) = item_id(v, || path.field("properties", None))? else {
                    continue;
                };
                events.push(self.event(&common, props, None, Some(id))?);
                break;
            }
            let items = path.array_of(props).map_err(|found| {
                MapError::new(
                    path.array_field("properties"),
                    format!("expected an array, found {found}"),
                )
            })?;
            let Some(items) = items else { continue };
            let array = path.array().expect("[] path");
            let mut skipped = 0;
            for (index, el) in items.iter().enumerate() {
                let id = match path.element_value(el) {
                    Some(v) => item_id(v, || path.field("properties", Some(index)))?,
                    None => None,
                };
                let Some(id) = id else {
                    skipped += 1;
                    continue;
                };
                let element = Element {
                    array,
                    index,
                    value: el,
                };
                events.push(self.event(&common, props, Some(&element), Some(id))?);
            }
            if !events.is_empty() {
                skipped_elements = skipped;
                break;
            }
        }
        if events.is_empty() {
            events.push(self.event(&common, props, None, None)?);
        }

        Ok(Outcome::Interactions(Interactions {
            session_id,
            user_id,
            events,
            skipped_elements,
        }))
    }

    fn event<'a>(
        &self,
        common: &Common<'a>,
        props: &Value<'a>,
        element: Option<&Element<'_, '_, 'a>>,
        item_id: Option<Cow<'a, str>>,
    ) -> Result<Event<'a>, MapError> {
        let event_id = match (&common.event_id, element) {
            (Some(id), Some(el)) => {
                // One event per element: distinct, deterministic ids (Personalize drops
                // events whose eventId it has seen).
                let id = format!("{id}-{}", el.index);
                if service_len(&id) > limits::EVENT_ID {
                    return Err(MapError::new(
                        "messageId",
                        format!(
                            "{} characters with the per-item suffix -{}, at most {}",
                            service_len(&id),
                            el.index,
                            limits::EVENT_ID
                        ),
                    ));
                }
                Some(Cow::Owned(id))
            }
            (id, _) => id.clone(),
        };
        Ok(Event {
            event_id,
            event_type: common.event_type.clone(),
            event_value: self.event_value(props, element)?,
            item_id,
            properties: properties_string(&self.event_properties, props, "properties", element)?
                .map(|p| check_properties(p, "properties", limits::EVENT_PROPERTIES))
                .transpose()?,
            sent_at: common.sent_at,
            recommendation_id: common.recommendation_id.clone(),
            impression: common.impression.clone(),
        })
    }

    fn event_value(
        &self,
        props: &Value<'_>,
        element: Option<&Element<'_, '_, '_>>,
    ) -> Result<Option<f32>, MapError> {
        for path in &self.event_value_paths {
            if let Resolved::One(Some(v), index) = path.resolve(props, element) {
                if let Some(x) = number(v, || path.field("properties", index))? {
                    return Ok(Some(x));
                }
            }
        }
        Ok(None)
    }
}

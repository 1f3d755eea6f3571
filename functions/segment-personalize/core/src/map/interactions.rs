//! `track`, `page` and `screen` messages -> the events of one session.

use std::borrow::Cow;

use crate::config::{Config, EventTypeLookup, ItemSource};
use crate::error::{char_len, check_len, warn, MapError, MapWarning};
use crate::limits;
use crate::message::{id_field, Message, MessageKind};
use crate::path::{Element, Resolved};
use crate::request::Event;
use crate::time::SentAt;
use crate::value::Value;

use super::fields::{impression, item_id, number, recommendation_id, sent_at};
use super::properties::{properties_string, Lenient};
use super::{
    derive_session_id, Ignored, Interactions, Outcome, EMPTY_OBJECT, IGNORED_DROPPED_EVENT,
    IGNORED_LIST_VIEW, IGNORED_NOT_IN_BUILTIN_MAP, IGNORED_NOT_MAPPED, IGNORED_NO_ITEM, PAGE_EVENT,
    SCREEN_EVENT,
};

/// The fields every event of a message shares.
struct Common<'a> {
    event_type: Cow<'a, str>,
    event_id: Option<Cow<'a, str>>,
    sent_at: SentAt,
    recommendation_id: Option<Cow<'a, str>>,
    impression: Option<Vec<Cow<'a, str>>>,
}

/// An item an event is made for: its id, and the array element it came from (`[]` paths).
struct Item<'v, 'a> {
    id: Cow<'a, str>,
    element: Option<Element<'a, 'v, 'a>>,
}

impl Config {
    pub(super) fn map_interaction<'a>(
        &'a self,
        kind: MessageKind,
        msg: &Message<'a>,
    ) -> Result<Outcome<'a>, MapError> {
        let ignored = |reason| Ok(Outcome::Ignored(Ignored { kind, reason }));
        let name: Cow<'a, str> = match kind {
            MessageKind::Page => Cow::Borrowed(PAGE_EVENT),
            MessageKind::Screen => Cow::Borrowed(SCREEN_EVENT),
            _ => match &msg.event {
                None | Some(Value::Null) => return Err(MapError::missing("event")),
                Some(Value::Str(s)) if s.is_empty() => {
                    return Err(MapError::new("event", "empty, at least 1 character"))
                }
                Some(Value::Str(s)) => s.clone(),
                Some(other) => {
                    return Err(MapError::new(
                        "event",
                        format!("expected a string, found {}", other.kind()),
                    ))
                }
            },
        };
        let (event_type, item_required) = match self.event_types.lookup(&name) {
            EventTypeLookup::Mapped {
                event_type,
                item_required,
            } => (event_type, item_required),
            EventTypeLookup::Dropped => return ignored(IGNORED_DROPPED_EVENT),
            EventTypeLookup::NotMapped if self.event_types.is_builtin() => {
                return ignored(IGNORED_NOT_IN_BUILTIN_MAP)
            }
            EventTypeLookup::NotMapped => return ignored(IGNORED_NOT_MAPPED),
            EventTypeLookup::ListView => return ignored(IGNORED_LIST_VIEW),
        };

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
        let mut warnings = Vec::new();
        let (items, skipped_elements) = self.items(props, &mut warnings)?;
        if items.is_empty() && item_required {
            return ignored(IGNORED_NO_ITEM);
        }

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
        let common = Common {
            event_type: Cow::Borrowed(event_type),
            event_id,
            sent_at,
            recommendation_id: recommendation_id(props, &mut warnings),
            impression: impression(props, &mut warnings),
        };

        let mut events = Vec::with_capacity(items.len().max(1));
        if items.is_empty() {
            events.push(self.event(&common, props, None, None, &mut warnings)?);
        }
        for item in items {
            let event = self.event(
                &common,
                props,
                item.element.as_ref(),
                Some(item.id),
                &mut warnings,
            )?;
            events.push(event);
        }
        Ok(Outcome::Interactions(Interactions {
            session_id,
            user_id,
            events,
            skipped_elements,
            warnings,
        }))
    }

    /// The items of a message, from the first item source that yields any, and the number of
    /// elements of that source's array without an id. In an array, an element whose id is
    /// unusable is skipped with a warning (its other products are still interactions); a plain
    /// path's unusable id rejects the message (the interaction would not be the one it was).
    fn items<'a, 'v>(
        &'a self,
        props: &'v Value<'a>,
        warnings: &mut Vec<MapWarning>,
    ) -> Result<(Vec<Item<'v, 'a>>, usize), MapError> {
        for source in &self.item_sources {
            let paths = match source {
                ItemSource::One(path) => {
                    let Some(v) = path.get(props) else { continue };
                    match item_id(v, || path.field("properties", None))? {
                        Some(id) => return Ok((vec![Item { id, element: None }], 0)),
                        None => continue,
                    }
                }
                ItemSource::Each(paths) => paths,
            };
            let first = &paths[0];
            let elements = first.array_of(props).map_err(|found| {
                MapError::new(
                    first.array_field("properties"),
                    format!("expected an array, found {found}"),
                )
            })?;
            let Some(elements) = elements else { continue };
            let array = first.array().expect("[] path");
            let mut items = Vec::new();
            let mut skipped = 0;
            for (index, value) in elements.iter().enumerate() {
                let id = paths.iter().find_map(|p| {
                    let v = p.element_value(value)?;
                    item_id(v, || p.field("properties", Some(index))).unwrap_or_else(|e| {
                        warn(warnings, MapWarning::left_out(e));
                        None
                    })
                });
                match id {
                    Some(id) => items.push(Item {
                        id,
                        element: Some(Element {
                            array,
                            index,
                            value,
                        }),
                    }),
                    None => skipped += 1,
                }
            }
            if !items.is_empty() {
                return Ok((items, skipped));
            }
        }
        Ok((Vec::new(), 0))
    }

    fn event<'a>(
        &self,
        common: &Common<'a>,
        props: &Value<'a>,
        element: Option<&Element<'_, '_, 'a>>,
        item_id: Option<Cow<'a, str>>,
        warnings: &mut Vec<MapWarning>,
    ) -> Result<Event<'a>, MapError> {
        let event_id = match (&common.event_id, element) {
            (Some(id), Some(el)) => {
                // One event per element: distinct, deterministic ids (Personalize drops
                // events whose eventId it has seen).
                let id = format!("{id}-{}", el.index);
                let len = char_len(&id);
                if len > limits::EVENT_ID {
                    return Err(MapError::new(
                        "messageId",
                        format!(
                            "{len} characters with the per-item suffix -{}, at most {}",
                            el.index,
                            limits::EVENT_ID
                        ),
                    ));
                }
                Some(Cow::Owned(id))
            }
            (id, _) => id.clone(),
        };
        let event_value = self.event_value(props, element, warnings);
        let lenient = Lenient {
            warnings,
            max: limits::EVENT_PROPERTIES,
        };
        Ok(Event {
            event_id,
            event_type: common.event_type.clone(),
            event_value,
            item_id,
            properties: properties_string(
                &self.event_properties,
                props,
                "properties",
                element,
                Some(lenient),
            )?,
            sent_at: common.sent_at,
            recommendation_id: common.recommendation_id.clone(),
            impression: common.impression.clone(),
        })
    }

    /// The first of `EVENT_VALUE_PATH` that holds a usable number; an unusable one is left
    /// out with a warning and the next path is tried.
    fn event_value(
        &self,
        props: &Value<'_>,
        element: Option<&Element<'_, '_, '_>>,
        warnings: &mut Vec<MapWarning>,
    ) -> Option<f32> {
        for path in &self.event_value_paths {
            if let Resolved::One(Some(v), index) = path.resolve(props, element) {
                match number(v, || path.field("properties", index)) {
                    Ok(Some(x)) => return Some(x),
                    Ok(None) => {}
                    Err(e) => warn(warnings, MapWarning::left_out(e)),
                }
            }
        }
        None
    }
}

//! Amazon Personalize Events requests, field for field as the PutEvents and PutUsers JSON API
//! (and `aws-sdk-personalizeevents`) take them.
//!
//! Strings are `Cow`s borrowing from the Segment message and the configuration where possible;
//! [`PutEventsRequest::into_owned`] detaches a request from both.

use std::borrow::Cow;

use serde::Serialize;

use super::time::SentAt;

/// `PutEvents` request body.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PutEventsRequest<'a> {
    pub tracking_id: Cow<'a, str>,
    pub session_id: Cow<'a, str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<Cow<'a, str>>,
    /// 1 to 10 events.
    pub event_list: Vec<Event<'a>>,
}

/// One interaction (`Event` in the API).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Event<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<Cow<'a, str>>,
    pub event_type: Cow<'a, str>,
    /// `Float` in the API model (`f32` in the SDK).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_value: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item_id: Option<Cow<'a, str>>,
    /// A JSON object *as a string*, at most 1024 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub properties: Option<String>,
    /// Seconds since the epoch (JSON number with the fraction).
    pub sent_at: SentAt,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recommendation_id: Option<Cow<'a, str>>,
    /// 1 to 25 item ids.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub impression: Option<Vec<Cow<'a, str>>>,
}

/// `PutUsers` request body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PutUsersRequest<'a> {
    pub dataset_arn: Cow<'a, str>,
    /// 1 to 10 users.
    pub users: Vec<User<'a>>,
}

/// One user (`User` in the API).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct User<'a> {
    pub user_id: Cow<'a, str>,
    /// A JSON object *as a string*, at most 24000 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub properties: Option<String>,
}

fn own(s: Cow<'_, str>) -> Cow<'static, str> {
    Cow::Owned(s.into_owned())
}

impl PutEventsRequest<'_> {
    /// The request body as compact JSON (what the CLI prints).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("request serialises")
    }

    pub fn into_owned(self) -> PutEventsRequest<'static> {
        PutEventsRequest {
            tracking_id: own(self.tracking_id),
            session_id: own(self.session_id),
            user_id: self.user_id.map(own),
            event_list: self.event_list.into_iter().map(Event::into_owned).collect(),
        }
    }
}

impl Event<'_> {
    pub fn into_owned(self) -> Event<'static> {
        Event {
            event_id: self.event_id.map(own),
            event_type: own(self.event_type),
            event_value: self.event_value,
            item_id: self.item_id.map(own),
            properties: self.properties,
            sent_at: self.sent_at,
            recommendation_id: self.recommendation_id.map(own),
            impression: self
                .impression
                .map(|ids| ids.into_iter().map(own).collect()),
        }
    }
}

impl PutUsersRequest<'_> {
    /// The request body as compact JSON (what the CLI prints).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("request serialises")
    }

    pub fn into_owned(self) -> PutUsersRequest<'static> {
        PutUsersRequest {
            dataset_arn: own(self.dataset_arn),
            users: self.users.into_iter().map(User::into_owned).collect(),
        }
    }
}

impl User<'_> {
    pub fn into_owned(self) -> User<'static> {
        User {
            user_id: own(self.user_id),
            properties: self.properties,
        }
    }
}

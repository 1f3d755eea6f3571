//! `identify` messages -> a user for PutUsers.

use crate::config::Config;
use crate::error::{check_len, utf16_len, MapError};
use crate::limits;
use crate::message::{id_field, Message, MessageKind};
use crate::request::User;
use crate::value::Value;

use super::properties::properties_string;
use super::{
    Ignored, Outcome, EMPTY_OBJECT, IGNORED_NO_TRAITS, IGNORED_NO_USERS_DATASET, IGNORED_NO_USER_ID,
};

impl Config {
    pub(super) fn map_identify<'a>(&'a self, msg: &Message<'a>) -> Result<Outcome<'a>, MapError> {
        if self.users_dataset_arn.is_none() {
            return Ok(Outcome::Ignored(Ignored {
                kind: MessageKind::Identify,
                reason: IGNORED_NO_USERS_DATASET,
            }));
        }
        // The Identify spec: "must have a User ID or an Anonymous ID". With only the anonymous
        // one (a visitor's traits before sign-up) there is no user to update.
        let Some(user_id) = id_field(&msg.user_id, "userId")? else {
            return Ok(Outcome::Ignored(Ignored {
                kind: MessageKind::Identify,
                reason: IGNORED_NO_USER_ID,
            }));
        };
        check_len(|| "userId".to_owned(), &user_id, limits::USER_ID)?;
        let traits = match &msg.traits {
            None | Some(Value::Null) => &EMPTY_OBJECT,
            Some(v @ Value::Object(_)) => v,
            Some(other) => {
                return Err(MapError::new(
                    "traits",
                    format!("expected an object, found {}", other.kind()),
                ))
            }
        };
        let Some(properties) = properties_string(&self.user_traits, traits, "traits", None, None)?
        else {
            return Ok(Outcome::Ignored(Ignored {
                kind: MessageKind::Identify,
                reason: IGNORED_NO_TRAITS,
            }));
        };
        let len = utf16_len(&properties);
        if len > limits::USER_PROPERTIES {
            return Err(MapError::new(
                "traits",
                format!(
                    "{len} characters as user properties, at most {}",
                    limits::USER_PROPERTIES
                ),
            ));
        }
        Ok(Outcome::User(User {
            user_id,
            properties: Some(properties),
        }))
    }
}

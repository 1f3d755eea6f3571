//! `identify` messages -> a user for PutUsers.

use crate::config::{Config, USERS_DATASET_ARN};
use crate::error::{check_len, service_len, MapError};
use crate::limits;
use crate::message::{id_field, Message, MessageKind};
use crate::request::User;
use crate::value::Value;

use super::properties::properties_string;
use super::{Ignored, Outcome, EMPTY_OBJECT, IGNORED_NO_TRAITS, IGNORED_NO_USERS_DATASET};

impl Config {
    pub(super) fn map_identify<'a>(&'a self, msg: &Message<'a>) -> Result<Outcome<'a>, MapError> {
        if self.users_dataset_arn.is_none() {
            return Ok(Outcome::Ignored(Ignored {
                kind: MessageKind::Identify,
                reason: IGNORED_NO_USERS_DATASET,
            }));
        }
        let user_id = id_field(&msg.user_id, "userId")?.ok_or_else(|| {
            MapError::new(
                "userId",
                format!("missing (identify updates the users dataset {USERS_DATASET_ARN}, which is keyed by userId)"),
            )
        })?;
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
        let Some(properties) = properties_string(&self.user_traits, traits, "traits", None)? else {
            return Ok(Outcome::Ignored(Ignored {
                kind: MessageKind::Identify,
                reason: IGNORED_NO_TRAITS,
            }));
        };
        let len = service_len(&properties);
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

//! The checks across settings, and the check of the users dataset ARN.

use std::collections::HashSet;

use shared_core::config::ConfigError;

use crate::limits;
use crate::path::Selector;

use super::{
    Config, DERIVED_SESSION_HASH_LEN, EVENT_PROPERTIES, EVENT_TYPE_MAP, EVENT_VALUE_PATH,
    ITEM_ID_PATHS, MAX_EVENT_PROPERTIES, MAX_EVENT_TYPES, RESERVED_EVENT_PROPERTY_KEYS,
    SESSION_ID_PREFIX, TRACKING_ID, USERS_DATASET_ARN, USER_TRAITS,
};

impl Config {
    /// Cross-setting checks.
    pub(super) fn check(&self) -> Result<(), ConfigError> {
        if self.tracking_id.trim().is_empty() {
            return Err(ConfigError::new(TRACKING_ID, "is not set"));
        }
        let max_prefix = limits::SESSION_ID - DERIVED_SESSION_HASH_LEN;
        if self.session_id_prefix.chars().count() > max_prefix {
            return Err(ConfigError::new(
                SESSION_ID_PREFIX,
                format!("longer than {max_prefix} characters"),
            ));
        }
        if self.item_id_paths.is_empty() {
            return Err(ConfigError::new(ITEM_ID_PATHS, "no property path"));
        }
        let arrays: Vec<&[String]> = self
            .item_id_paths
            .iter()
            .filter_map(|p| p.array())
            .collect();
        for p in &self.event_value_paths {
            if let Some(a) = p.array() {
                if !arrays.contains(&a) {
                    return Err(ConfigError::new(
                        EVENT_VALUE_PATH,
                        format!(
                            "{p}: an event value can only be read per element of an array that ITEM_ID_PATHS iterates"
                        ),
                    ));
                }
            }
        }
        check_keys(
            EVENT_PROPERTIES,
            &self.event_properties,
            &RESERVED_EVENT_PROPERTY_KEYS,
        )?;
        check_keys(USER_TRAITS, &self.user_traits, &[])?;
        self.check_interaction_columns()?;
        if self.users_dataset_arn.is_some() && self.user_traits.is_empty() {
            return Err(ConfigError::new(
                USER_TRAITS,
                format!("must name at least one trait when {USERS_DATASET_ARN} is set"),
            ));
        }
        Ok(())
    }
}

impl Config {
    /// Personalize's quotas on an Item interactions dataset: at most 5 optional metadata
    /// columns (each `EVENT_PROPERTIES` key is one), and at most 10 event types and metadata
    /// columns together.
    fn check_interaction_columns(&self) -> Result<(), ConfigError> {
        let columns = self.event_properties.len();
        if columns > MAX_EVENT_PROPERTIES {
            return Err(ConfigError::new(
                EVENT_PROPERTIES,
                format!("{columns} keys, at most {MAX_EVENT_PROPERTIES}: each is a metadata column of the Item interactions dataset, which Personalize limits to {MAX_EVENT_PROPERTIES}"),
            ));
        }
        let types = self.event_types.event_types().len();
        if types + columns > MAX_EVENT_TYPES {
            let which = if self.event_types.is_builtin() {
                " (unset: the built-in mapping)"
            } else {
                ""
            };
            return Err(ConfigError::new(
                EVENT_TYPE_MAP,
                format!("{types} event types{which} and {columns} {EVENT_PROPERTIES} keys, at most {MAX_EVENT_TYPES} together: Personalize counts event types and metadata columns of an Item interactions dataset together"),
            ));
        }
        Ok(())
    }
}

fn check_keys(name: &str, selectors: &[Selector], reserved: &[&str]) -> Result<(), ConfigError> {
    let mut seen = HashSet::new();
    for s in selectors {
        if let Some(r) = reserved.iter().find(|r| r.eq_ignore_ascii_case(&s.key)) {
            return Err(ConfigError::new(
                name,
                format!("key {:?}: Personalize does not accept {r:?} in properties (choose another key with key=path)", s.key),
            ));
        }
        if !seen.insert(s.key.as_str()) {
            return Err(ConfigError::new(
                name,
                format!(
                    "key {:?} appears twice (use key=path|path for alternatives)",
                    s.key
                ),
            ));
        }
    }
    Ok(())
}

/// `arn:<partition>:personalize:<region>:<account>:<resource>`, at most 256 characters (the
/// PutUsers `datasetArn` pattern `arn:([a-z\d-]+):personalize:.*:.*:.+`).
pub(super) fn check_dataset_arn(arn: &str) -> Result<(), String> {
    if arn.chars().count() > limits::DATASET_ARN {
        return Err(format!("longer than {} characters", limits::DATASET_ARN));
    }
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let ok = parts.len() == 6
        && parts[0] == "arn"
        && !parts[1].is_empty()
        && parts[1]
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && parts[2] == "personalize"
        && !parts[5].is_empty();
    if ok {
        Ok(())
    } else {
        Err("not a Personalize dataset ARN (arn:aws:personalize:<region>:<account>:dataset/<group>/USERS)".to_owned())
    }
}

//! Reading the settings: from a [`Source`] (the environment) or a JSON configuration file.

use std::collections::HashMap;

use shared_core::config::{optional, required, ConfigError, Source};

use crate::limits;
use crate::path::{PropertyPath, Selector};

use super::check::check_dataset_arn;
use super::{
    Config, EventTypeMap, EVENT_PROPERTIES, EVENT_TYPE_MAP, EVENT_VALUE_PATH, ITEM_ID_PATHS,
    SESSION_ID_PREFIX, SETTINGS, TRACKING_ID, USERS_DATASET_ARN, USER_TRAITS,
};

impl Config {
    /// Reads and checks every setting (see [`SETTINGS`]); errors name the variable.
    pub fn from_source(src: &impl Source) -> Result<Self, ConfigError> {
        let tracking_id = required(src, TRACKING_ID)?;
        if tracking_id.chars().count() > limits::TRACKING_ID {
            return Err(ConfigError::new(
                TRACKING_ID,
                format!("longer than {} characters", limits::TRACKING_ID),
            ));
        }
        let mut config = Self::defaults(tracking_id);

        if let Some(arn) = optional(src, USERS_DATASET_ARN) {
            check_dataset_arn(&arn).map_err(|r| ConfigError::new(USERS_DATASET_ARN, r))?;
            config.users_dataset_arn = Some(arn);
        }
        if let Some(raw) = optional(src, EVENT_TYPE_MAP) {
            config.event_types =
                EventTypeMap::parse(&raw).map_err(|r| ConfigError::new(EVENT_TYPE_MAP, r))?;
        }
        if let Some(raw) = optional(src, ITEM_ID_PATHS) {
            config.item_id_paths = parse_list(&raw, PropertyPath::parse)
                .map_err(|r| ConfigError::new(ITEM_ID_PATHS, r))?;
        }
        if let Some(raw) = optional(src, EVENT_VALUE_PATH) {
            config.event_value_paths = parse_list(&raw, PropertyPath::parse)
                .map_err(|r| ConfigError::new(EVENT_VALUE_PATH, r))?;
        }
        if let Some(raw) = optional(src, EVENT_PROPERTIES) {
            config.event_properties = parse_list(&raw, Selector::parse)
                .map_err(|r| ConfigError::new(EVENT_PROPERTIES, r))?;
        }
        if let Some(raw) = optional(src, USER_TRAITS) {
            config.user_traits =
                parse_list(&raw, Selector::parse).map_err(|r| ConfigError::new(USER_TRAITS, r))?;
        }
        if let Some(prefix) = optional(src, SESSION_ID_PREFIX) {
            config.session_id_prefix = prefix;
        }
        config.check()?;
        config.prepare();
        Ok(config)
    }

    /// Reads a JSON configuration file's text: an object whose keys are the variable names of
    /// [`SETTINGS`]. Values are strings as in the environment; list settings may also be JSON
    /// arrays of strings and `EVENT_TYPE_MAP` a JSON object. Unknown keys are errors (typos
    /// would otherwise be silently ignored).
    pub fn from_json(text: &str) -> Result<Self, ConfigError> {
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| ConfigError::new("config file", format!("not valid JSON: {e}")))?;
        let serde_json::Value::Object(entries) = value else {
            return Err(ConfigError::new(
                "config file",
                "expected a JSON object of setting name -> value",
            ));
        };
        let mut vars: HashMap<String, String> = HashMap::new();
        for (name, v) in entries {
            if !SETTINGS.contains(&name.as_str()) {
                return Err(ConfigError::new(
                    &name,
                    format!("unknown setting (expected one of {})", SETTINGS.join(", ")),
                ));
            }
            let text = match v {
                serde_json::Value::Null => continue,
                serde_json::Value::String(s) => s,
                serde_json::Value::Bool(b) => b.to_string(),
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::Array(items) => items
                    .into_iter()
                    .map(|item| match item {
                        serde_json::Value::String(s) => Ok(s),
                        _ => Err(ConfigError::new(&name, "expected an array of strings")),
                    })
                    .collect::<Result<Vec<_>, _>>()?
                    .join(","),
                obj @ serde_json::Value::Object(_) if name == EVENT_TYPE_MAP => obj.to_string(),
                serde_json::Value::Object(_) => {
                    return Err(ConfigError::new(
                        &name,
                        "expected a string or an array of strings",
                    ))
                }
            };
            vars.insert(name, text);
        }
        Self::from_source(&vars)
    }
}

pub(super) fn parse_list<T>(
    raw: &str,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<Vec<T>, String> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(parse)
        .collect()
}

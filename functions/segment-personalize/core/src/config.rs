//! Forwarder configuration: from environment variables (the Lambda function) or a JSON file
//! (`mlpipe segment map --config FILE`), parsed and checked once.
//!
//! The setting names, their defaults and the [`Config`] they make are here; `event_types` holds
//! the `EVENT_TYPE_MAP` lookup ([`EventTypeMap`]), `source` reads the settings from the
//! environment or a JSON file ([`Config::from_source`], [`Config::from_json`]) and `check` holds
//! the checks across settings.

mod check;
mod event_types;
mod items;
mod source;

use shared_core::config::ConfigError;

use super::path::{Keep, PropertyPath, Selector};

pub use event_types::{
    is_list_view, EventTypeLookup, EventTypeMap, BUILTIN_EVENT_TYPES, LIST_VIEW_EVENTS,
    MAX_EVENT_TYPES,
};
pub(crate) use items::ItemSource;
use source::parse_list;

/// Event tracker tracking id (required).
pub const TRACKING_ID: &str = "PERSONALIZE_TRACKING_ID";
/// ARN of the Users dataset; when set, `identify` messages become PutUsers requests.
pub const USERS_DATASET_ARN: &str = "PERSONALIZE_USERS_DATASET_ARN";
/// JSON object: Segment event name -> Personalize event type (or null to drop the event);
/// unset or `{}`: [`BUILTIN_EVENT_TYPES`].
pub const EVENT_TYPE_MAP: &str = "EVENT_TYPE_MAP";
/// Comma-separated property paths tried in order for `itemId`.
pub const ITEM_ID_PATHS: &str = "ITEM_ID_PATHS";
/// Comma-separated property paths tried in order for `eventValue`.
pub const EVENT_VALUE_PATH: &str = "EVENT_VALUE_PATH";
/// Comma-separated `key=path|path` selectors for the event `properties` string.
pub const EVENT_PROPERTIES: &str = "EVENT_PROPERTIES";
/// Comma-separated `key=path|path` selectors (relative to `traits`) for user `properties`.
pub const USER_TRAITS: &str = "USER_TRAITS";
/// Prefix of session ids derived from a user id (messages without `anonymousId`).
pub const SESSION_ID_PREFIX: &str = "SESSION_ID_PREFIX";

/// Every setting, in documentation order.
pub const SETTINGS: [&str; 8] = [
    TRACKING_ID,
    USERS_DATASET_ARN,
    EVENT_TYPE_MAP,
    ITEM_ID_PATHS,
    EVENT_VALUE_PATH,
    EVENT_PROPERTIES,
    USER_TRAITS,
    SESSION_ID_PREFIX,
];

/// `ITEM_ID_PATHS` when unset: Segment's own spelling first, then the e-commerce spec's, with
/// `sku` as each product's fallback for `product_id`.
pub const DEFAULT_ITEM_ID_PATHS: &str =
    "productId,product_id,sku,products[].product_id,products[].sku";
/// Optional metadata columns of an Item interactions dataset (Amazon Personalize quotas:
/// "Maximum number of metadata columns, excluding reserved fields, in an Item interactions
/// dataset: 5"); each `EVENT_PROPERTIES` key is one.
pub const MAX_EVENT_PROPERTIES: usize = 5;
/// `SESSION_ID_PREFIX` when unset.
pub const DEFAULT_SESSION_ID_PREFIX: &str = "user-";
/// Hex digits of the hash in a derived session id.
pub const DERIVED_SESSION_HASH_LEN: usize = 32;

/// Keys Personalize refuses in an event's `properties` (compared case-insensitively).
pub const RESERVED_EVENT_PROPERTY_KEYS: [&str; 6] = [
    "userId",
    "sessionId",
    "eventType",
    "timestamp",
    "recommendationId",
    "impression",
];

/// Everything the mapping needs, parsed once (paths compiled, limits checked). Built by
/// [`Config::from_source`] or [`Config::from_json`]; read-only afterwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `trackingId` of every PutEvents request.
    pub(crate) tracking_id: String,
    /// `datasetArn` of PutUsers requests; `None`: `identify` messages are ignored.
    pub(crate) users_dataset_arn: Option<String>,
    pub(crate) event_types: EventTypeMap,
    /// Tried in order; the first that yields an item id wins.
    pub(crate) item_id_paths: Vec<PropertyPath>,
    /// `item_id_paths` grouped as the mapping reads them.
    pub(crate) item_sources: Vec<ItemSource>,
    /// Tried in order; the first present wins. Empty: no `eventValue`.
    pub(crate) event_value_paths: Vec<PropertyPath>,
    /// Copied into the event `properties` string.
    pub(crate) event_properties: Vec<Selector>,
    /// Copied (from `traits`) into the user `properties` string.
    pub(crate) user_traits: Vec<Selector>,
    pub(crate) session_id_prefix: String,
    /// What of `properties` any path can reach, for the parser.
    pub(crate) keep_properties: Keep,
    /// What of `traits` any path can reach.
    pub(crate) keep_traits: Keep,
}

impl Config {
    /// A configuration with only a tracking id: default item id paths, no event value, no
    /// properties, no users dataset.
    pub fn new(tracking_id: impl Into<String>) -> Result<Self, ConfigError> {
        let mut config = Self::defaults(tracking_id.into());
        config.check()?;
        config.prepare();
        Ok(config)
    }

    fn defaults(tracking_id: String) -> Self {
        Self {
            tracking_id,
            users_dataset_arn: None,
            event_types: EventTypeMap::builtin(),
            item_id_paths: parse_list(DEFAULT_ITEM_ID_PATHS, PropertyPath::parse)
                .expect("default item id paths parse"),
            item_sources: Vec::new(),
            event_value_paths: Vec::new(),
            event_properties: Vec::new(),
            user_traits: Vec::new(),
            session_id_prefix: DEFAULT_SESSION_ID_PREFIX.to_owned(),
            keep_properties: Keep::default(),
            keep_traits: Keep::default(),
        }
    }

    /// The event tracker's tracking id.
    pub fn tracking_id(&self) -> &str {
        &self.tracking_id
    }

    /// The Users dataset ARN, when `identify` messages update users.
    pub fn users_dataset_arn(&self) -> Option<&str> {
        self.users_dataset_arn.as_deref()
    }

    pub fn event_types(&self) -> &EventTypeMap {
        &self.event_types
    }

    pub fn item_id_paths(&self) -> &[PropertyPath] {
        &self.item_id_paths
    }

    pub fn event_value_paths(&self) -> &[PropertyPath] {
        &self.event_value_paths
    }

    pub fn event_properties(&self) -> &[Selector] {
        &self.event_properties
    }

    pub fn user_traits(&self) -> &[Selector] {
        &self.user_traits
    }

    pub fn session_id_prefix(&self) -> &str {
        &self.session_id_prefix
    }

    /// Derived data: the item sources, and what of `properties` and `traits` the parser keeps.
    fn prepare(&mut self) {
        self.item_sources = items::item_sources(&self.item_id_paths);
        let mut props = Keep::default();
        props.add(&["recommendationId".to_owned()]);
        props.add(&["impression".to_owned()]);
        let selected = self.event_properties.iter().flat_map(|s| s.paths.iter());
        for p in self
            .item_id_paths
            .iter()
            .chain(&self.event_value_paths)
            .chain(selected)
        {
            props.add(p.segments());
        }
        self.keep_properties = props;
        let mut traits = Keep::default();
        for p in self.user_traits.iter().flat_map(|s| s.paths.iter()) {
            traits.add(p.segments());
        }
        self.keep_traits = traits;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TID: (&str, &str) = (TRACKING_ID, "tid-1");

    #[test]
    fn minimal_configuration_uses_defaults() {
        let c = Config::from_source(&[TID]).unwrap();
        assert_eq!(c.tracking_id, "tid-1");
        assert_eq!(c.users_dataset_arn, None);
        let paths: Vec<_> = c.item_id_paths.iter().map(|p| p.as_str()).collect();
        assert_eq!(
            paths,
            [
                "productId",
                "product_id",
                "sku",
                "products[].product_id",
                "products[].sku"
            ]
        );
        assert!(c.event_value_paths.is_empty());
        assert!(c.event_properties.is_empty());
        assert_eq!(c.session_id_prefix, "user-");
        assert!(c.event_types.is_builtin());
        assert_eq!(c.event_types.lookup("Anything"), EventTypeLookup::NotMapped);
        assert_eq!(
            c.event_types.lookup("Product Viewed"),
            EventTypeLookup::Mapped {
                event_type: "View",
                item_required: true
            }
        );
    }

    #[test]
    fn tracking_id_is_required_and_named() {
        let err = Config::from_source(&[("EVENT_TYPE_MAP", "{}")]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "configuration PERSONALIZE_TRACKING_ID: is not set"
        );
        let long = "t".repeat(257);
        let err = Config::from_source(&[(TRACKING_ID, long.as_str())]).unwrap_err();
        assert_eq!(err.name, TRACKING_ID);
    }

    #[test]
    fn every_setting_from_the_environment() {
        let c = Config::from_source(&[
            TID,
            (
                USERS_DATASET_ARN,
                "arn:aws:personalize:eu-west-1:123456789012:dataset/g/USERS",
            ),
            (
                EVENT_TYPE_MAP,
                r#"{"Product Viewed":"View","Signed In":null}"#,
            ),
            (ITEM_ID_PATHS, " sku , products[].sku "),
            (EVENT_VALUE_PATH, "price,products[].price"),
            (
                EVENT_PROPERTIES,
                "category=category|products[].category,discount_code",
            ),
            (USER_TRAITS, "plan,country=address.country"),
            (SESSION_ID_PREFIX, "seg-"),
        ])
        .unwrap();
        assert!(c.users_dataset_arn.is_some());
        assert_eq!(
            c.event_types.lookup("Product Viewed"),
            EventTypeLookup::Mapped {
                event_type: "View",
                item_required: false
            }
        );
        assert_eq!(c.event_types.lookup("Signed In"), EventTypeLookup::Dropped);
        assert_eq!(c.event_types.lookup("Other"), EventTypeLookup::NotMapped);
        assert_eq!(c.item_id_paths.len(), 2);
        assert_eq!(c.event_value_paths.len(), 2);
        let keys: Vec<_> = c.event_properties.iter().map(|s| s.key.as_str()).collect();
        assert_eq!(keys, ["category", "discountCode"]);
        let keys: Vec<_> = c.user_traits.iter().map(|s| s.key.as_str()).collect();
        assert_eq!(keys, ["plan", "country"]);
        assert_eq!(c.session_id_prefix, "seg-");
    }

    #[test]
    fn fallback_entry_of_the_event_type_map() {
        let m = EventTypeMap::parse(r#"{"Order Completed":"Purchase","*":null}"#).unwrap();
        assert_eq!(
            m.lookup("Order Completed"),
            EventTypeLookup::Mapped {
                event_type: "Purchase",
                item_required: false
            }
        );
        assert_eq!(m.lookup("Other"), EventTypeLookup::Dropped);
        let m = EventTypeMap::parse(r#"{"*":"Other"}"#).unwrap();
        assert_eq!(
            m.lookup("x"),
            EventTypeLookup::Mapped {
                event_type: "Other",
                item_required: true
            }
        );
    }

    #[test]
    fn invalid_settings_name_the_variable() {
        let cases: &[(&str, &str)] = &[
            (EVENT_TYPE_MAP, "[1]"),
            (EVENT_TYPE_MAP, "{not json"),
            (EVENT_TYPE_MAP, r#"{"a":""}"#),
            (EVENT_TYPE_MAP, r#"{"a":1}"#),
            (EVENT_TYPE_MAP, r#"{"Product List Viewed":"View"}"#),
            (EVENT_PROPERTIES, "a,b,c,d,e,f"),
            (ITEM_ID_PATHS, "a[].b[]"),
            (EVENT_VALUE_PATH, "lines[].price"),
            (EVENT_PROPERTIES, "userId"),
            (EVENT_PROPERTIES, "x=a,x=b"),
            (EVENT_PROPERTIES, "TIMESTAMP=ts"),
            (USERS_DATASET_ARN, "arn:aws:s3:::bucket"),
            (
                USERS_DATASET_ARN,
                "arn:aws:personalize:us-east-1:1:dataset/g/USERS",
            ),
            (SESSION_ID_PREFIX, "p".repeat(225).leak()),
        ];
        for (name, value) in cases {
            let mut vars = vec![TID, (*name, *value)];
            if *name == USERS_DATASET_ARN && value.contains("personalize") {
                // A valid ARN without USER_TRAITS.
                let err = Config::from_source(&vars.as_slice()).unwrap_err();
                assert_eq!(err.name, USER_TRAITS, "{value}");
                vars.push((USER_TRAITS, "plan"));
                assert!(Config::from_source(&vars.as_slice()).is_ok());
                continue;
            }
            let err = Config::from_source(&vars.as_slice()).unwrap_err();
            assert_eq!(err.name, *name, "{name}={value}: {err}");
        }
    }

    #[test]
    fn from_a_json_file() {
        let c = Config::from_json(include_str!("../../../../events/segment/config.json")).unwrap();
        assert_eq!(c.tracking_id, "00000000-0000-4000-8000-000000000001");
        assert_eq!(
            c.event_types.lookup("Order Completed"),
            EventTypeLookup::Mapped {
                event_type: "Purchase",
                item_required: false
            }
        );
        assert_eq!(c.item_id_paths.len(), 4);
        assert_eq!(c.user_traits.len(), 3);

        let err =
            Config::from_json(r#"{"PERSONALIZE_TRACKING_ID":"t","ITEM_ID_PATH":"x"}"#).unwrap_err();
        assert_eq!(err.name, "ITEM_ID_PATH");
        let err = Config::from_json(r#"{"EVENT_TYPE_MAP":{}}"#).unwrap_err();
        assert_eq!(err.name, TRACKING_ID);
        let err = Config::from_json("[]").unwrap_err();
        assert_eq!(err.name, "config file");
        let err =
            Config::from_json(r#"{"PERSONALIZE_TRACKING_ID":"t","USER_TRAITS":[1]}"#).unwrap_err();
        assert_eq!(err.name, USER_TRAITS);
    }
}

//! `EVENT_TYPE_MAP`: Segment event name -> Personalize event type, with its `"*"` catch-all,
//! and the built-in mapping of Segment's e-commerce spec that applies when it is unset.

use std::collections::{BTreeSet, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

use crate::limits;

/// The mapping when `EVENT_TYPE_MAP` is unset or `{}`: the interactions of Segment's V2
/// e-commerce spec that are about one product the user chose (and the spec's v1 names it
/// aliases). Six event types, in the names Personalize's ECOMMERCE domain uses for the two it
/// requires (`View`, `Purchase`). Everything else is not forwarded: product lists and the
/// cart (shown, not chosen), removals, refunds and cancellations (negative), searches,
/// promotions, checkout steps and coupons (no product).
pub const BUILTIN_EVENT_TYPES: [(&str, &str); 10] = [
    ("Product Viewed", "View"),
    ("Viewed Product", "View"),
    ("Product Clicked", "Click"),
    ("Clicked Product", "Click"),
    ("Product Added", "AddToCart"),
    ("Added Product", "AddToCart"),
    ("Wishlist Product Added to Cart", "AddToCart"),
    ("Product Added to Wishlist", "AddToWishlist"),
    ("Product Shared", "Share"),
    ("Order Completed", "Purchase"),
];

/// Segment e-commerce events whose `products` were displayed to the user, not chosen: a list
/// view is never an interaction with each of its products. Mapping one to an event type is a
/// configuration error; the `"*"` catch-all leaves them out. Compared ignoring case, spaces,
/// `_` and `-` (`product_list_viewed` is the same event).
pub const LIST_VIEW_EVENTS: [&str; 4] = [
    "Product List Viewed",
    "Viewed Product Category",
    "Product List Filtered",
    "Cart Viewed",
];

/// Distinct event types Personalize takes in one Item interactions dataset (Amazon Personalize
/// quotas: "Maximum number of distinct event types combined with total number of optional
/// metadata columns in an Item interactions dataset: 10").
pub const MAX_EVENT_TYPES: usize = 10;

/// FNV-1a (64-bit): the event type map is looked up once per message with short keys that come
/// from the configuration, where SipHash's flooding resistance buys nothing.
#[derive(Debug, Clone, Copy)]
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// Segment event name -> Personalize event type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventTypeMap {
    map: HashMap<String, Option<String>, BuildHasherDefault<Fnv>>,
    /// The `"*"` entry: what other names become (`None`: dropped).
    fallback: Option<Option<String>>,
    /// The built-in mapping ([`BUILTIN_EVENT_TYPES`]), not a configured one.
    builtin: bool,
}

/// What [`EventTypeMap::lookup`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventTypeLookup<'c> {
    /// Send with this event type. `item_required`: only when the event has an item id (the
    /// name came through the built-in mapping, whose events are all about a product, or
    /// through the `"*"` catch-all); otherwise (named by `EVENT_TYPE_MAP`) with or without one.
    Mapped {
        event_type: &'c str,
        item_required: bool,
    },
    /// Mapped to null: do not forward.
    Dropped,
    /// Not in the mapping, and no `"*"`: do not forward.
    NotMapped,
    /// A list view ([`LIST_VIEW_EVENTS`]) that only the `"*"` catch-all would map: do not
    /// forward.
    ListView,
}

impl Default for EventTypeMap {
    /// The built-in mapping.
    fn default() -> Self {
        Self::builtin()
    }
}

impl EventTypeMap {
    /// The built-in mapping ([`BUILTIN_EVENT_TYPES`]).
    pub fn builtin() -> Self {
        Self {
            map: BUILTIN_EVENT_TYPES
                .iter()
                .map(|(name, t)| ((*name).to_owned(), Some((*t).to_owned())))
                .collect(),
            fallback: None,
            builtin: true,
        }
    }

    /// Parses the JSON object form, e.g. `{"Product Viewed":"View","Signed In":null,"*":null}`.
    /// `{}` (or blank) is the built-in mapping. Errors say what is wrong with which entry (the
    /// names are configuration, not customer data).
    pub fn parse(json: &str) -> Result<Self, String> {
        if json.trim().is_empty() {
            return Ok(Self::builtin());
        }
        let value: serde_json::Value =
            serde_json::from_str(json).map_err(|e| format!("not valid JSON: {e}"))?;
        let serde_json::Value::Object(entries) = value else {
            return Err("expected a JSON object of event name -> event type".to_owned());
        };
        if entries.is_empty() {
            return Ok(Self::builtin());
        }
        let mut out = Self {
            map: HashMap::default(),
            fallback: None,
            builtin: false,
        };
        for (name, target) in entries {
            if name.is_empty() {
                return Err("empty event name".to_owned());
            }
            let target = match target {
                serde_json::Value::Null => None,
                serde_json::Value::String(t) => {
                    if t.is_empty() || t.chars().count() > limits::EVENT_TYPE {
                        return Err(format!(
                            "{name:?}: event type must be 1-{} characters",
                            limits::EVENT_TYPE
                        ));
                    }
                    if is_list_view(&name) {
                        return Err(format!(
                            "{name:?} is a list view (Segment e-commerce spec): its products were shown, not chosen, so it cannot be an interaction (map it to null or leave it out)"
                        ));
                    }
                    Some(t)
                }
                _ => return Err(format!("{name:?}: expected a string or null")),
            };
            if name == "*" {
                out.fallback = Some(target);
            } else {
                out.map.insert(name, target);
            }
        }
        let types = out.event_types();
        if types.len() > MAX_EVENT_TYPES {
            return Err(format!(
                "{} distinct event types, at most {MAX_EVENT_TYPES}: Personalize allows {MAX_EVENT_TYPES} event types per Item interactions dataset",
                types.len()
            ));
        }
        Ok(out)
    }

    pub fn lookup(&self, name: &str) -> EventTypeLookup<'_> {
        if let Some(entry) = self.map.get(name) {
            return match entry {
                Some(t) => EventTypeLookup::Mapped {
                    event_type: t,
                    item_required: self.builtin,
                },
                None => EventTypeLookup::Dropped,
            };
        }
        match &self.fallback {
            None => EventTypeLookup::NotMapped,
            Some(_) if is_list_view(name) => EventTypeLookup::ListView,
            Some(Some(t)) => EventTypeLookup::Mapped {
                event_type: t,
                item_required: true,
            },
            Some(None) => EventTypeLookup::Dropped,
        }
    }

    /// The distinct event types this mapping can send, sorted.
    pub fn event_types(&self) -> BTreeSet<&str> {
        self.map
            .values()
            .chain(self.fallback.iter())
            .flatten()
            .map(String::as_str)
            .collect()
    }

    /// Whether this is the built-in mapping (`EVENT_TYPE_MAP` unset or `{}`).
    pub fn is_builtin(&self) -> bool {
        self.builtin
    }
}

/// Whether `name` is one of [`LIST_VIEW_EVENTS`], ignoring case, spaces, `_` and `-`.
pub fn is_list_view(name: &str) -> bool {
    fn squash(s: &str) -> impl Iterator<Item = u8> + '_ {
        s.bytes()
            .filter(|b| !matches!(b, b' ' | b'_' | b'-'))
            .map(|b| b.to_ascii_lowercase())
    }
    name.len() <= 32 && LIST_VIEW_EVENTS.iter().any(|l| squash(l).eq(squash(name)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_mapping_has_six_event_types_of_one_product_each() {
        let m = EventTypeMap::builtin();
        assert!(m.is_builtin());
        assert_eq!(
            m.event_types().into_iter().collect::<Vec<_>>(),
            [
                "AddToCart",
                "AddToWishlist",
                "Click",
                "Purchase",
                "Share",
                "View"
            ]
        );
        assert_eq!(
            m.lookup("Order Completed"),
            EventTypeLookup::Mapped {
                event_type: "Purchase",
                item_required: true
            }
        );
        for other in [
            "Product Removed",
            "Order Refunded",
            "Order Cancelled",
            "Product List Viewed",
            "Cart Viewed",
            "Checkout Started",
            "Products Searched",
            "Page Viewed",
            "product viewed",
        ] {
            assert_eq!(m.lookup(other), EventTypeLookup::NotMapped, "{other}");
        }
        assert_eq!(EventTypeMap::parse("{}").unwrap(), m);
        assert_eq!(EventTypeMap::parse(" ").unwrap(), m);
    }

    #[test]
    fn list_views_cannot_be_mapped_and_the_catch_all_leaves_them_out() {
        for name in [
            "Product List Viewed",
            "product_list_viewed",
            "Cart Viewed",
            "Viewed Product Category",
        ] {
            let e = EventTypeMap::parse(&format!(r#"{{"{name}":"View"}}"#)).unwrap_err();
            assert!(e.contains("is a list view"), "{e}");
            assert!(e.contains(name), "names the event: {e}");
        }
        let m = EventTypeMap::parse(r#"{"Product List Viewed":null,"*":"Other"}"#).unwrap();
        assert_eq!(m.lookup("Product List Viewed"), EventTypeLookup::Dropped);
        assert_eq!(m.lookup("Product List Filtered"), EventTypeLookup::ListView);
        assert_eq!(
            m.lookup("Signed Up"),
            EventTypeLookup::Mapped {
                event_type: "Other",
                item_required: true
            }
        );
    }

    #[test]
    fn more_than_ten_event_types_is_refused() {
        let ten: Vec<String> = (0..10).map(|i| format!(r#""e{i}":"T{i}""#)).collect();
        assert!(EventTypeMap::parse(&format!("{{{}}}", ten.join(","))).is_ok());
        let e = EventTypeMap::parse(&format!(r#"{{{},"*":"Other"}}"#, ten.join(","))).unwrap_err();
        assert!(e.starts_with("11 distinct event types, at most 10"), "{e}");
        // Several names for one type count once.
        let same: Vec<String> = (0..20).map(|i| format!(r#""e{i}":"View""#)).collect();
        assert!(EventTypeMap::parse(&format!("{{{}}}", same.join(","))).is_ok());
    }
}

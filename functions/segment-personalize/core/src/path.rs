//! Property paths: where in `properties` (or `traits`) a value is read from.
//!
//! Syntax: member names separated by dots, relative to the message's `properties` object (or
//! `traits` for `USER_TRAITS`): `price`, `product.id`. One member may end in `[]` to mean *each
//! element* of the array it names: `products[].product_id` reads `product_id` from every element
//! of `properties.products`, and `tags[]` every element of `properties.tags`. At most one `[]`
//! per path; member names cannot contain `.`, `[`, `]`, `,`, `|` or `=`, and are matched exactly
//! (case-sensitive).
//!
//! How an `[]` path is read depends on where it is used (see the module docs of
//! [`crate`]): as an item id it makes one event per element; in an event being built
//! for one element of the same array it reads that element; elsewhere, as a property or trait,
//! it joins the values of all elements with `|` (Personalize's separator for multiple categorical
//! values).
//!
//! [`PropertyPath`] is here; `selector` holds the [`Selector`]s of `EVENT_PROPERTIES` and
//! `USER_TRAITS`, and `keep` the tree of what a set of paths can reach, which the parser keeps.

mod keep;
mod selector;

use std::fmt;

use super::value::Value;

pub(crate) use keep::Keep;
pub use selector::{camel_case, Selector};

/// A parsed property path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertyPath {
    text: String,
    segments: Vec<String>,
    /// Index of the segment that is an array iterated with `[]`.
    each: Option<usize>,
}

/// Where an event built for one array element comes from: the path of the array (segments up to
/// and including the `[]` one), the element's index and the element.
#[derive(Debug, Clone, Copy)]
pub struct Element<'p, 'v, 'a> {
    pub array: &'p [String],
    pub index: usize,
    pub value: &'v Value<'a>,
}

impl PropertyPath {
    /// Parses `text` (trimmed); the error says what is wrong without repeating the text.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("empty property path".to_owned());
        }
        let mut segments = Vec::new();
        let mut each = None;
        for (i, raw) in text.split('.').enumerate() {
            let (name, is_each) = match raw.strip_suffix("[]") {
                Some(name) => (name, true),
                None => (raw, false),
            };
            if name.is_empty() {
                return Err(format!("property path {text:?}: empty member name"));
            }
            if name.contains(['[', ']', ',', '|', '=']) || name.trim() != name {
                return Err(format!(
                    "property path {text:?}: member names cannot contain '[', ']', ',', '|', '=' or surrounding spaces (use name[] for each element of an array)"
                ));
            }
            if is_each {
                if each.is_some() {
                    return Err(format!(
                        "property path {text:?}: at most one [] (nested arrays are not supported)"
                    ));
                }
                each = Some(i);
            }
            segments.push(name.to_owned());
        }
        Ok(Self {
            text: text.to_owned(),
            segments,
            each,
        })
    }

    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The member names (`["products", "product_id"]` for `products[].product_id`).
    pub fn segments(&self) -> &[String] {
        &self.segments
    }

    /// The last member name (`product_id` for `products[].product_id`).
    pub fn leaf(&self) -> &str {
        self.segments.last().map(String::as_str).unwrap_or("")
    }

    /// Whether the path iterates an array (`[]`).
    pub fn is_each(&self) -> bool {
        self.each.is_some()
    }

    /// The segments naming the iterated array (`["products"]`), if any.
    pub fn array(&self) -> Option<&[String]> {
        self.each.map(|i| &self.segments[..=i])
    }

    /// The JSON path of the value for error messages: `properties.price`, or with an element
    /// index `properties.products[2].product_id`.
    pub fn field(&self, root: &str, index: Option<usize>) -> String {
        let mut out = String::with_capacity(root.len() + self.text.len() + 8);
        out.push_str(root);
        for (i, seg) in self.segments.iter().enumerate() {
            out.push('.');
            out.push_str(seg);
            if Some(i) == self.each {
                match index {
                    Some(n) => {
                        out.push('[');
                        out.push_str(&n.to_string());
                        out.push(']');
                    }
                    None => out.push_str("[]"),
                }
            }
        }
        out
    }

    /// The JSON path of the array itself (`properties.products`).
    pub fn array_field(&self, root: &str) -> String {
        let end = self.each.map_or(self.segments.len(), |i| i + 1);
        let mut out = root.to_owned();
        for seg in &self.segments[..end] {
            out.push('.');
            out.push_str(seg);
        }
        out
    }

    /// Reads a path without `[]`. `None` when a member is missing or null, or when an
    /// intermediate value is not an object.
    pub fn get<'v, 'a>(&self, root: &'v Value<'a>) -> Option<&'v Value<'a>> {
        debug_assert!(self.each.is_none());
        walk(root, &self.segments)
    }

    /// Resolves the path for an event: a plain path from the root; an `[]` path over the same
    /// array as `element` from that element. Returns [`Resolved::Each`] for an `[]` path over
    /// another array (or when there is no element), for the caller to decide.
    pub fn resolve<'v, 'a>(
        &self,
        root: &'v Value<'a>,
        element: Option<&Element<'_, 'v, 'a>>,
    ) -> Resolved<'v, 'a> {
        match self.each {
            None => Resolved::One(walk(root, &self.segments), None),
            Some(i) => match element {
                Some(el) if el.array == &self.segments[..=i] => {
                    Resolved::One(walk(el.value, &self.segments[i + 1..]), Some(el.index))
                }
                _ => Resolved::Each,
            },
        }
    }

    /// For an `[]` path: the array (`Ok(None)` when missing or null; an error message when it
    /// is not an array), to be iterated with [`PropertyPath::element_value`].
    pub fn array_of<'v, 'a>(
        &self,
        root: &'v Value<'a>,
    ) -> Result<Option<&'v [Value<'a>]>, &'static str> {
        let i = self.each.expect("array_of on a path without []");
        match walk(root, &self.segments[..=i]) {
            None => Ok(None),
            Some(Value::Array(items)) => Ok(Some(items)),
            Some(other) => Err(other.kind()),
        }
    }

    /// For an `[]` path: the value under one element of its array.
    pub fn element_value<'v, 'a>(&self, element: &'v Value<'a>) -> Option<&'v Value<'a>> {
        let i = self.each.expect("element_value on a path without []");
        walk(element, &self.segments[i + 1..])
    }
}

/// What [`PropertyPath::resolve`] found.
#[derive(Debug)]
pub enum Resolved<'v, 'a> {
    /// The value (or none), and the element index it was read from, if any.
    One(Option<&'v Value<'a>>, Option<usize>),
    /// An `[]` path not tied to the current element.
    Each,
}

impl fmt::Display for PropertyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// `a == b`, rejecting most mismatches on length and first byte without calling `memcmp`.
#[inline(always)]
pub(crate) fn same_key(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.as_bytes().first() == b.as_bytes().first() && a == b
}

#[inline]
fn walk<'v, 'a>(root: &'v Value<'a>, segments: &[String]) -> Option<&'v Value<'a>> {
    let mut v = root;
    for seg in segments {
        v = v.get(seg)?;
    }
    (!v.is_null()).then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(s: &str) -> Value<'_> {
        serde_json::from_str(s).unwrap()
    }

    #[test]
    fn parses_paths() {
        let p = PropertyPath::parse(" products[].product_id ").unwrap();
        assert_eq!(p.as_str(), "products[].product_id");
        assert_eq!(p.leaf(), "product_id");
        assert_eq!(p.array(), Some(&["products".to_owned()][..]));
        assert_eq!(
            p.field("properties", Some(2)),
            "properties.products[2].product_id"
        );
        assert_eq!(
            p.field("properties", None),
            "properties.products[].product_id"
        );
        assert_eq!(p.array_field("properties"), "properties.products");
        assert!(!PropertyPath::parse("a.b").unwrap().is_each());
        assert!(PropertyPath::parse("tags[]").unwrap().is_each());
        for bad in [
            "", "a..b", ".a", "a.", "a[].b[]", "a[0]", "a]", "[]", "a,b", "a|b",
        ] {
            assert!(PropertyPath::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn reads_plain_and_element_paths() {
        let v = json(r#"{"price":"3","a":{"b":null},"products":[{"id":1},{"x":2},{"id":"z"}]}"#);
        let price = PropertyPath::parse("price").unwrap();
        assert_eq!(price.get(&v).and_then(Value::as_str), Some("3"));
        assert!(
            PropertyPath::parse("a.b").unwrap().get(&v).is_none(),
            "null is absent"
        );
        assert!(PropertyPath::parse("price.x").unwrap().get(&v).is_none());

        let ids = PropertyPath::parse("products[].id").unwrap();
        let items = ids.array_of(&v).unwrap().unwrap();
        let got: Vec<_> = items
            .iter()
            .map(|e| ids.element_value(e).cloned())
            .collect();
        assert_eq!(
            got,
            vec![Some(Value::UInt(1)), None, Some(Value::Str("z".into()))]
        );
        assert_eq!(
            PropertyPath::parse("missing[].id").unwrap().array_of(&v),
            Ok(None)
        );
        assert_eq!(
            PropertyPath::parse("price[].id").unwrap().array_of(&v),
            Err("a string")
        );

        let other = PropertyPath::parse("products[].x").unwrap();
        let el = Element {
            array: ids.array().unwrap(),
            index: 1,
            value: &items[1],
        };
        assert!(matches!(
            other.resolve(&v, Some(&el)),
            Resolved::One(Some(Value::UInt(2)), Some(1))
        ));
        assert!(matches!(other.resolve(&v, None), Resolved::Each));
        assert!(matches!(
            price.resolve(&v, Some(&el)),
            Resolved::One(Some(_), None)
        ));
        let elsewhere = PropertyPath::parse("tags[]").unwrap();
        assert!(matches!(elsewhere.resolve(&v, Some(&el)), Resolved::Each));
    }

    #[test]
    fn keep_trees() {
        let mut keep = Keep::default();
        for p in [
            "products[].product_id",
            "products[].price",
            "price",
            "a.b",
            "a",
        ] {
            keep.add(PropertyPath::parse(p).unwrap().segments());
        }
        let products = keep.get("products").unwrap();
        assert!(!products.whole);
        assert_eq!(products.members.len(), 2);
        assert!(keep.get("price").unwrap().whole);
        assert!(keep.get("a").unwrap().whole, "a whole member wins over a.b");
        assert!(keep.get("other").is_none());
    }

    #[test]
    fn selectors_and_keys() {
        let s = Selector::parse("category=category|products[].category").unwrap();
        assert_eq!(s.key, "category");
        assert_eq!(s.paths.len(), 2);
        assert_eq!(
            Selector::parse("product_category").unwrap().key,
            "productCategory"
        );
        assert_eq!(Selector::parse("address.country").unwrap().key, "country");
        assert_eq!(Selector::parse("n = rating_count").unwrap().key, "n");
        assert!(Selector::parse("=x").is_err());
        assert!(Selector::parse("a\"b=x").is_err());
        assert_eq!(camel_case("Category"), "category");
        assert_eq!(camel_case("SKU"), "sku");
        assert_eq!(camel_case("numberOfRatings"), "numberOfRatings");
        assert_eq!(camel_case("number_of_ratings"), "numberOfRatings");
        assert_eq!(camel_case("image-URL"), "imageUrl");
        assert_eq!(camel_case("Page Title"), "pageTitle");
    }
}

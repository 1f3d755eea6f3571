//! Selectors: a `properties` key and the property paths its value is read from.

use super::PropertyPath;

/// A property to copy into a Personalize `properties` string: the key it gets there and the
/// paths tried in order (the first one present wins).
///
/// Written `key=path|path...` or just `path|path...`; without a key, the key is the first path's
/// last member name in camelCase (`product_category` -> `productCategory`, `Category` ->
/// `category`), because Personalize matches camelCase keys to schema fields
/// (`numberOfRatings` <-> `NUMBER_OF_RATINGS`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    pub key: String,
    pub paths: Vec<PropertyPath>,
}

impl Selector {
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (key, paths) = match text.split_once('=') {
            Some((k, p)) => (Some(k.trim()), p),
            None => (None, text),
        };
        let paths = paths
            .split('|')
            .map(PropertyPath::parse)
            .collect::<Result<Vec<_>, _>>()?;
        let key = match key {
            Some("") => return Err(format!("{text:?}: empty key before '='")),
            Some(k) => k.to_owned(),
            None => camel_case(paths[0].leaf()),
        };
        if key.contains(['"', '\\']) || key.chars().any(char::is_control) {
            return Err(format!(
                "{text:?}: key cannot contain quotes, backslashes or control characters"
            ));
        }
        Ok(Self { key, paths })
    }
}

/// `product_category` / `product-category` / `product category` -> `productCategory`;
/// `Category` -> `category`; `SKU` -> `sku`; `numberOfRatings` stays.
pub fn camel_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for (i, word) in name
        .split(['_', '-', ' '])
        .filter(|w| !w.is_empty())
        .enumerate()
    {
        let all_upper = word.chars().all(|c| !c.is_lowercase());
        let mut chars = word.chars();
        let first = chars.next().expect("non-empty word");
        if i == 0 {
            if all_upper {
                out.extend(word.chars().flat_map(char::to_lowercase));
                continue;
            }
            out.extend(first.to_lowercase());
        } else {
            out.extend(first.to_uppercase());
            if all_upper {
                out.extend(chars.flat_map(char::to_lowercase));
                continue;
            }
        }
        out.push_str(chars.as_str());
    }
    out
}

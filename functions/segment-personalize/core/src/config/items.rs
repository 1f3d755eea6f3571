//! `ITEM_ID_PATHS` as the mapping reads it: plain paths, and the `[]` paths of each array
//! grouped into per-element alternatives.

use crate::path::PropertyPath;

/// Where item ids are read from, in `ITEM_ID_PATHS` order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ItemSource {
    /// A plain path: one event with the id it yields.
    One(PropertyPath),
    /// The `[]` paths over one array (at the position of the first of them), tried in order
    /// for each element: one event per element that has an id under any of them
    /// (`products[].product_id,products[].sku`: the `sku` of a product without `product_id`).
    Each(Vec<PropertyPath>),
}

/// Groups `paths` into sources.
pub(crate) fn item_sources(paths: &[PropertyPath]) -> Vec<ItemSource> {
    let mut out: Vec<ItemSource> = Vec::new();
    for p in paths {
        let Some(array) = p.array() else {
            out.push(ItemSource::One(p.clone()));
            continue;
        };
        let same = out.iter_mut().find_map(|s| match s {
            ItemSource::Each(group) if group[0].array() == Some(array) => Some(group),
            _ => None,
        });
        match same {
            Some(group) => group.push(p.clone()),
            None => out.push(ItemSource::Each(vec![p.clone()])),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_over_one_array_become_alternatives_per_element() {
        let paths: Vec<PropertyPath> = [
            "productId",
            "products[].product_id",
            "sku",
            "items[].id",
            "products[].sku",
        ]
        .iter()
        .map(|p| PropertyPath::parse(p).unwrap())
        .collect();
        let sources = item_sources(&paths);
        let shape: Vec<Vec<&str>> = sources
            .iter()
            .map(|s| match s {
                ItemSource::One(p) => vec![p.as_str()],
                ItemSource::Each(g) => g.iter().map(PropertyPath::as_str).collect(),
            })
            .collect();
        assert_eq!(
            shape,
            [
                vec!["productId"],
                vec!["products[].product_id", "products[].sku"],
                vec!["sku"],
                vec!["items[].id"],
            ]
        );
    }
}

//! The stand-in model: recommendations computed from the events received, so they change as a
//! demo clicks around. Nothing here imitates a Personalize recipe beyond its inputs and outputs.
//!
//! - **Popularity** of an item: the sum over its events of the event type's weight (1 unless
//!   configured; see [`super::Config::event_type_weights`]). Events without an item id count
//!   for nothing. An event whose id was already seen is left out, as Personalize leaves repeated
//!   event ids out of training.
//! - **Baskets**: the events of one user; anonymous events (no `userId`) belong to the user seen
//!   in the same session if there is one (as Personalize attributes a session's anonymous events
//!   once the user logs in), else to a basket of their own session.
//! - **User recommendations** (`userId` only): every known item (from events, `PutItems` and the
//!   seed catalogue) the user has not interacted with, by popularity. Score
//!   `(popularity + 1) / (highest popularity among the candidates + 1)`: the first is 1, items
//!   without events get the smallest positive scores.
//! - **Related items** (`itemId`, with or without `userId`): the items sharing a basket with it,
//!   by the number of baskets shared, scored in (0.5, 1]; then the others by popularity, scored in
//!   (0, 0.5]. Never the item itself, nor (with a `userId`) the user's own items. With no
//!   related items at all, the popularity scores take the whole (0, 1] range.
//! - **Personalized ranking**: the input items with events by popularity (score
//!   `popularity / highest`), then those without events in input order, without a score (the
//!   service appends items it has no data on).
//!
//! Ties are broken by item id, so the same events always give the same answer.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde::Serialize;

/// What the model keeps of one event.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Interaction {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    pub session_id: String,
    /// `itemId`, or failing that a string `itemId` inside `properties` (older clients send it
    /// there).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item_id: Option<String>,
    pub event_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_value: Option<f64>,
    /// Epoch seconds.
    pub sent_at: f64,
}

/// One recommended item.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    pub item_id: String,
    pub score: Option<f64>,
}

/// Aggregates of the interactions, built per request.
#[derive(Debug, Default)]
pub struct Model {
    popularity: HashMap<String, f64>,
    /// Items of each basket.
    baskets: Vec<BTreeSet<String>>,
    /// Basket index of each user.
    user_basket: HashMap<String, usize>,
    /// Baskets each item is in.
    item_baskets: HashMap<String, Vec<usize>>,
}

impl Model {
    /// Aggregates `interactions` with the given event type weights.
    pub fn build<'a>(
        interactions: impl IntoIterator<Item = &'a Interaction>,
        weights: &BTreeMap<String, f64>,
    ) -> Self {
        let interactions: Vec<&Interaction> = interactions.into_iter().collect();
        let mut session_user: HashMap<&str, &str> = HashMap::new();
        for i in &interactions {
            if let Some(user) = &i.user_id {
                session_user.entry(&i.session_id).or_insert(user);
            }
        }
        let mut model = Model::default();
        let mut basket_index: HashMap<(bool, &str), usize> = HashMap::new();
        for i in &interactions {
            let Some(item) = &i.item_id else { continue };
            let weight = weights.get(&i.event_type).copied().unwrap_or(1.0).max(0.0);
            *model.popularity.entry(item.clone()).or_default() += weight;
            let key = match i
                .user_id
                .as_deref()
                .or_else(|| session_user.get(i.session_id.as_str()).copied())
            {
                Some(user) => (true, user),
                None => (false, i.session_id.as_str()),
            };
            let index = *basket_index.entry(key).or_insert_with(|| {
                model.baskets.push(BTreeSet::new());
                model.baskets.len() - 1
            });
            if key.0 {
                model.user_basket.insert(key.1.to_owned(), index);
            }
            if model.baskets[index].insert(item.clone()) {
                model
                    .item_baskets
                    .entry(item.clone())
                    .or_default()
                    .push(index);
            }
        }
        model
    }

    /// The popularity of `item` (0 without events).
    pub fn popularity(&self, item: &str) -> f64 {
        self.popularity.get(item).copied().unwrap_or(0.0)
    }

    /// Whether `item` has events.
    pub fn knows(&self, item: &str) -> bool {
        self.popularity.contains_key(item)
    }

    /// The items `user` interacted with (including anonymous events of their sessions).
    pub fn user_items(&self, user: &str) -> HashSet<&str> {
        self.user_basket
            .get(user)
            .map(|&b| self.baskets[b].iter().map(String::as_str).collect())
            .unwrap_or_default()
    }

    /// For every other item, the number of baskets it shares with `item`.
    pub fn cooccurrence(&self, item: &str) -> HashMap<&str, u32> {
        let mut counts: HashMap<&str, u32> = HashMap::new();
        for &b in self.item_baskets.get(item).into_iter().flatten() {
            for other in &self.baskets[b] {
                if other != item {
                    *counts.entry(other.as_str()).or_default() += 1;
                }
            }
        }
        counts
    }

    /// Every item with events.
    fn items(&self) -> impl Iterator<Item = &str> {
        self.popularity.keys().map(String::as_str)
    }
}

/// Up to `n` recommendations for `user` and/or `item` (at least one given), from the items with
/// events and the `catalogue`.
pub fn recommend(
    model: &Model,
    catalogue: &BTreeSet<String>,
    user: Option<&str>,
    item: Option<&str>,
    n: usize,
) -> Vec<Scored> {
    let mut exclude = user.map(|u| model.user_items(u)).unwrap_or_default();
    if let Some(item) = item {
        exclude.insert(item);
    }
    let universe: BTreeSet<&str> = model
        .items()
        .chain(catalogue.iter().map(String::as_str))
        .filter(|i| !exclude.contains(i))
        .collect();

    let mut scored: Vec<(f64, &str)> = Vec::new();
    let related: HashMap<&str, u32> = item
        .map(|item| model.cooccurrence(item))
        .unwrap_or_default()
        .into_iter()
        .filter(|(i, _)| !exclude.contains(i))
        .collect();
    let popular_range = if related.is_empty() {
        1.0
    } else {
        let top = f64::from(*related.values().max().unwrap_or(&1));
        for (&i, &count) in &related {
            scored.push((0.5 + 0.5 * f64::from(count) / top, i));
        }
        0.5
    };
    let rest: Vec<&str> = universe
        .into_iter()
        .filter(|i| !related.contains_key(i))
        .collect();
    let top = rest
        .iter()
        .map(|i| model.popularity(i))
        .fold(0.0_f64, f64::max);
    for i in rest {
        scored.push((popular_range * (model.popularity(i) + 1.0) / (top + 1.0), i));
    }
    sort_and_cut(scored, n)
}

/// `input` (duplicates dropped) ranked for a user: items with events by popularity, then the
/// others in input order without a score.
pub fn rank(model: &Model, input: &[&str]) -> Vec<Scored> {
    let mut seen = HashSet::new();
    let input: Vec<&str> = input.iter().copied().filter(|i| seen.insert(*i)).collect();
    let top = input
        .iter()
        .map(|i| model.popularity(i))
        .fold(0.0_f64, f64::max);
    let known: Vec<(f64, &str)> = input
        .iter()
        .filter(|i| model.knows(i))
        .map(|&i| {
            let p = model.popularity(i);
            (if top > 0.0 { p / top } else { 1.0 }, i)
        })
        .collect();
    let mut ranked = sort_and_cut(known, usize::MAX);
    ranked.extend(input.iter().filter(|i| !model.knows(i)).map(|&i| Scored {
        item_id: i.to_owned(),
        score: None,
    }));
    ranked
}

/// Score descending, then item id ascending; the first `n`.
fn sort_and_cut(mut scored: Vec<(f64, &str)>, n: usize) -> Vec<Scored> {
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    scored
        .into_iter()
        .take(n)
        .map(|(score, i)| Scored {
            item_id: i.to_owned(),
            score: Some(score),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(user: Option<&str>, session: &str, item: &str, event_type: &str) -> Interaction {
        Interaction {
            user_id: user.map(str::to_owned),
            session_id: session.to_owned(),
            item_id: Some(item.to_owned()),
            event_type: event_type.to_owned(),
            event_value: None,
            sent_at: 0.0,
        }
    }

    fn ids(scored: &[Scored]) -> Vec<&str> {
        scored.iter().map(|s| s.item_id.as_str()).collect()
    }

    #[test]
    fn popularity_excludes_the_users_items_and_is_deterministic() {
        let events = [
            ev(Some("u1"), "s1", "a", "click"),
            ev(Some("u2"), "s2", "a", "click"),
            ev(Some("u2"), "s2", "b", "click"),
            ev(Some("u3"), "s3", "c", "click"),
            ev(Some("u3"), "s3", "d", "click"),
        ];
        let model = Model::build(&events, &BTreeMap::new());
        let recs = recommend(&model, &BTreeSet::new(), Some("u1"), None, 10);
        assert_eq!(ids(&recs), ["b", "c", "d"]);
        assert!(recs.iter().all(|s| s.score == Some(1.0)));
        let recs = recommend(&model, &BTreeSet::new(), Some("new"), None, 2);
        assert_eq!(ids(&recs), ["a", "b"]);
        assert_eq!(recs[0].score, Some(1.0));
        assert_eq!(recs[1].score, Some(2.0 / 3.0));
    }

    #[test]
    fn weights_and_catalogue() {
        let events = [
            ev(Some("u1"), "s1", "a", "click"),
            ev(Some("u2"), "s2", "b", "purchase"),
        ];
        let weights = BTreeMap::from([("purchase".to_owned(), 5.0)]);
        let model = Model::build(&events, &weights);
        let catalogue = BTreeSet::from(["z".to_owned()]);
        let recs = recommend(&model, &catalogue, Some("u9"), None, 10);
        assert_eq!(ids(&recs), ["b", "a", "z"]);
        assert_eq!(recs[2].score, Some(1.0 / 6.0));
        let empty = Model::build(&[], &BTreeMap::new());
        assert!(recommend(&empty, &BTreeSet::new(), Some("u"), None, 5).is_empty());
        assert_eq!(
            ids(&recommend(&empty, &catalogue, Some("u"), None, 5)),
            ["z"]
        );
    }

    #[test]
    fn related_items_by_shared_baskets_then_popularity() {
        let events = [
            ev(Some("u1"), "s1", "shirt", "click"),
            ev(Some("u1"), "s1", "hat", "click"),
            ev(Some("u2"), "s2", "shirt", "click"),
            ev(Some("u2"), "s2", "hat", "click"),
            ev(Some("u2"), "s2", "socks", "click"),
            ev(None, "anon", "shirt", "click"),
            ev(None, "anon", "scarf", "click"),
            ev(Some("u3"), "s3", "boots", "click"),
            ev(Some("u3"), "s3", "boots", "click"),
        ];
        let model = Model::build(&events, &BTreeMap::new());
        let recs = recommend(&model, &BTreeSet::new(), None, Some("shirt"), 10);
        assert_eq!(ids(&recs), ["hat", "scarf", "socks", "boots"]);
        assert_eq!(recs[0].score, Some(1.0));
        assert_eq!(recs[1].score, Some(0.75));
        assert_eq!(recs[3].score, Some(0.5));
        // With a user, their own items are left out.
        let recs = recommend(&model, &BTreeSet::new(), Some("u1"), Some("shirt"), 10);
        assert_eq!(ids(&recs), ["scarf", "socks", "boots"]);
        // An item nobody touched: popularity over the whole range.
        let recs = recommend(&model, &BTreeSet::new(), None, Some("nothing"), 1);
        assert_eq!(ids(&recs), ["shirt"]);
        assert_eq!(recs[0].score, Some(1.0));
    }

    #[test]
    fn anonymous_events_join_the_sessions_user() {
        let events = [
            ev(None, "s1", "a", "click"),
            ev(Some("u1"), "s1", "b", "click"),
            ev(Some("u2"), "s2", "c", "click"),
        ];
        let model = Model::build(&events, &BTreeMap::new());
        assert_eq!(model.user_items("u1"), HashSet::from(["a", "b"]));
        let recs = recommend(&model, &BTreeSet::new(), Some("u1"), None, 10);
        assert_eq!(ids(&recs), ["c"]);
    }

    #[test]
    fn ranking_puts_unknown_items_last_in_input_order() {
        let events = [
            ev(Some("u1"), "s1", "a", "click"),
            ev(Some("u2"), "s2", "b", "click"),
            ev(Some("u3"), "s3", "b", "click"),
        ];
        let model = Model::build(&events, &BTreeMap::new());
        let ranked = rank(&model, &["y", "a", "x", "b", "a"]);
        assert_eq!(ids(&ranked), ["b", "a", "y", "x"]);
        assert_eq!(ranked[0].score, Some(1.0));
        assert_eq!(ranked[1].score, Some(0.5));
        assert_eq!(ranked[2].score, None);
    }
}

//! The Personalize Runtime API (restJson1, botocore `personalize-runtime/2018-05-22`):
//!
//! - `POST /recommendations` (GetRecommendations): `{"campaignArn"? | "recommenderArn"?,
//!   "userId"?, "itemId"?, "numResults"?, "context"?, "filterArn"?, "filterValues"?,
//!   "metadataColumns"?, "promotions"?}` → `{"itemList": [{"itemId", "score", "metadata"?}],
//!   "recommendationId"}`
//! - `POST /personalize-ranking` (GetPersonalizedRanking): `{"campaignArn", "inputList",
//!   "userId", "context"?, "filterArn"?, "filterValues"?, "metadataColumns"?}` →
//!   `{"personalizedRanking": [{"itemId", "score"?}], "recommendationId"}`
//!
//! Checked: botocore's model first (see [`super::model`]: the `Arn` pattern, lengths, map sizes
//! and key patterns of `context` / `filterValues`, `numResults` at least 0, at most one
//! promotion, ...), then what only the model's documentation (the API reference) states:
//! exactly one of `campaignArn` / `recommenderArn`; `numResults` at most 500, 50 when
//! `metadataColumns` is given (default 25); `inputList` at most 500 items, 50 with metadata; at
//! most 10 metadata columns, under the key `ITEMS`. The emulator cannot know a
//! campaign's recipe, so GetRecommendations takes a `userId` (USER_PERSONALIZATION), an `itemId`
//! (RELATED_ITEMS) or both, and refuses neither. `numResults: 0` answers an empty list.
//!
//! IAM (with enforcement): `personalize:GetRecommendations` / `personalize:GetPersonalizedRanking`
//! on the `campaignArn` (or `recommenderArn`), and on the `filterArn` too when there is one;
//! checked after validation, before the campaign or recommender must exist.
//!
//! `context`, `filterArn`, `filterValues` and `promotions` are checked and then ignored: no
//! filtering or promotion happens. `metadataColumns` returns, per item, the `PutItems`
//! properties whose key in SCREAMING_SNAKE_CASE (`numberOfRatings` → `NUMBER_OF_RATINGS`) is a
//! requested column, as strings.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use serde_json::{json, Map, Value};

use crate::access::Access;

use super::error::ApiError;
use super::recommend::{self, Model, Scored};
use super::validate::{entries, text};
use super::{answer, now_rfc3339, Inner, Operation, PersonalizeService, LOG_CAPACITY};

/// `numResults` when the request has none.
pub const DEFAULT_NUM_RESULTS: i64 = 25;
/// Largest `numResults` / `inputList` (the model's documentation: "Otherwise, the maximum is
/// 500").
pub const MAX_RESULTS: i64 = 500;
/// Largest `numResults` / `inputList` when metadata is requested ("If you are including
/// metadata in recommendations, the maximum is 50").
pub const MAX_RESULTS_WITH_METADATA: i64 = 50;
/// Most metadata columns per request ("The maximum number of columns you can provide is 10").
pub const MAX_METADATA_COLUMNS: usize = 10;
/// The only `metadataColumns` key ("The map key is ITEMS").
pub const METADATA_DATASET_TYPE: &str = "ITEMS";

/// `POST /recommendations`.
pub async fn get_recommendations(
    State(service): State<PersonalizeService>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    answer(
        &service,
        Operation::GetRecommendations,
        &headers,
        &uri,
        &body,
        |inner, access, request| {
            let columns = metadata_columns(&request)?;
            let campaign = text(&request, "campaignArn");
            let recommender = text(&request, "recommenderArn");
            let arn = match (campaign, recommender) {
                (Some(arn), None) | (None, Some(arn)) => arn,
                (Some(_), Some(_)) => {
                    return Err(ApiError::invalid_input(
                        "Provide either a campaignArn or a recommenderArn, not both.",
                    ))
                }
                (None, None) => {
                    return Err(ApiError::invalid_input(
                        "Provide a campaignArn or a recommenderArn.",
                    ))
                }
            };
            let max = max_results(&columns);
            let n = request
                .get("numResults")
                .and_then(Value::as_i64)
                .unwrap_or(DEFAULT_NUM_RESULTS);
            if n > max {
                return Err(ApiError::invalid_input(format!(
                    "numResults must be less than or equal to {max}{}.",
                    if columns.is_some() {
                        " when metadataColumns is given"
                    } else {
                        ""
                    }
                )));
            }
            authorize(access, Operation::GetRecommendations, arn, &request)?;
            check_solution(inner, arn)?;
            let user_id = text(&request, "userId").filter(|s| !s.is_empty());
            let item_id = text(&request, "itemId").filter(|s| !s.is_empty());
            if user_id.is_none() && item_id.is_none() {
                return Err(ApiError::invalid_input(
                "A userId (USER_PERSONALIZATION and most recommenders) or an itemId (RELATED_ITEMS) is required.",
            ));
            }

            let model = Model::build(inner.interactions(), &inner.config.event_type_weights);
            let catalogue = inner.catalogue();
            let n = usize::try_from(n).unwrap_or(0);
            let items = recommend::recommend(&model, &catalogue, user_id, item_id, n);
            let recommendation_id = inner.next_recommendation_id();
            remember(
                inner,
                json!({
                    "operation": Operation::GetRecommendations.name(),
                    "campaignArn": campaign,
                    "recommenderArn": recommender,
                    "userId": user_id,
                    "itemId": item_id,
                    "numResults": n,
                    "recommendationId": recommendation_id,
                    "itemIds": items.iter().map(|s| s.item_id.as_str()).collect::<Vec<_>>(),
                }),
            );
            Ok(Some(
                json!({
                    "itemList": predicted(inner, &items, columns.as_deref()),
                    "recommendationId": recommendation_id,
                })
                .to_string(),
            ))
        },
    )
}

/// `POST /personalize-ranking`.
pub async fn get_personalized_ranking(
    State(service): State<PersonalizeService>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    answer(
        &service,
        Operation::GetPersonalizedRanking,
        &headers,
        &uri,
        &body,
        |inner, access, request| {
            let columns = metadata_columns(&request)?;
            let campaign = text(&request, "campaignArn").unwrap_or_default();
            let user_id = text(&request, "userId").unwrap_or_default();
            let input: Vec<&str> = entries(&request, "inputList")
                .iter()
                .filter_map(Value::as_str)
                .collect();
            let max = max_results(&columns);
            if input.len() as i64 > max {
                return Err(ApiError::invalid_input(format!(
                    "inputList must hold at most {max} items{}.",
                    if columns.is_some() {
                        " when metadataColumns is given"
                    } else {
                        ""
                    }
                )));
            }
            authorize(
                access,
                Operation::GetPersonalizedRanking,
                campaign,
                &request,
            )?;
            check_solution(inner, campaign)?;

            let model = Model::build(inner.interactions(), &inner.config.event_type_weights);
            let ranked = recommend::rank(&model, &input);
            let recommendation_id = inner.next_recommendation_id();
            remember(
                inner,
                json!({
                    "operation": Operation::GetPersonalizedRanking.name(),
                    "campaignArn": campaign,
                    "userId": user_id,
                    "recommendationId": recommendation_id,
                    "itemIds": ranked.iter().map(|s| s.item_id.as_str()).collect::<Vec<_>>(),
                }),
            );
            Ok(Some(
                json!({
                    "personalizedRanking": predicted(inner, &ranked, columns.as_deref()),
                    "recommendationId": recommendation_id,
                })
                .to_string(),
            ))
        },
    )
}

/// The requested item metadata columns, if any, once the model has checked the shape of
/// `metadataColumns` (a map of at most one dataset type to at most 99 column names): only
/// [`METADATA_DATASET_TYPE`] exists, with at most [`MAX_METADATA_COLUMNS`] columns.
fn metadata_columns(request: &Map<String, Value>) -> Result<Option<Vec<String>>, ApiError> {
    let Some(map) = request.get("metadataColumns").and_then(Value::as_object) else {
        return Ok(None);
    };
    let mut columns = None;
    for (dataset_type, names) in map {
        if dataset_type != METADATA_DATASET_TYPE {
            return Err(ApiError::invalid_input(format!(
                "metadataColumns: {dataset_type} is not a dataset type that can return metadata; use {METADATA_DATASET_TYPE}."
            )));
        }
        let list: Vec<String> = names
            .as_array()
            .map(|names| {
                names
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        if list.len() > MAX_METADATA_COLUMNS {
            return Err(ApiError::invalid_input(format!(
                "metadataColumns: at most {MAX_METADATA_COLUMNS} columns can be requested."
            )));
        }
        columns = Some(list);
    }
    Ok(columns)
}

fn max_results(columns: &Option<Vec<String>>) -> i64 {
    if columns.is_some() {
        MAX_RESULTS_WITH_METADATA
    } else {
        MAX_RESULTS
    }
}

/// IAM: `personalize:<operation>` on the campaign or recommender, and on the `filterArn` when
/// the request has one (AWS checks both).
fn authorize(
    access: &Access,
    operation: Operation,
    solution_arn: &str,
    request: &Map<String, Value>,
) -> Result<(), ApiError> {
    let action = format!("personalize:{}", operation.name());
    access.check(&action, solution_arn)?;
    if let Some(filter) = text(request, "filterArn") {
        access.check(&action, filter)?;
    }
    Ok(())
}

/// 404 for a campaign/recommender the emulator was told does not exist.
fn check_solution(inner: &Inner, arn: &str) -> Result<(), ApiError> {
    match &inner.config.solution_arns {
        Some(known) if !known.contains(arn) => Err(ApiError::not_found(format!(
            "Could not find resource: {arn}"
        ))),
        _ => Ok(()),
    }
}

/// Keeps an answered request for `GET /_emulator/personalize/recommendations`.
fn remember(inner: &mut Inner, mut entry: Value) {
    if let Value::Object(map) = &mut entry {
        map.retain(|_, v| !v.is_null());
        map.insert("at".to_owned(), Value::String(now_rfc3339()));
    }
    if inner.recommendations.len() == LOG_CAPACITY {
        inner.recommendations.pop_front();
    }
    inner.recommendations.push_back(entry);
}

/// `PredictedItem`s, with metadata when columns were requested.
fn predicted(inner: &Inner, items: &[Scored], columns: Option<&[String]>) -> Vec<Value> {
    items
        .iter()
        .map(|s| {
            let mut item = Map::new();
            item.insert("itemId".to_owned(), json!(s.item_id));
            if let Some(score) = s.score {
                item.insert("score".to_owned(), json!(score));
            }
            if let Some(columns) = columns {
                item.insert(
                    "metadata".to_owned(),
                    Value::Object(metadata(inner, &s.item_id, columns)),
                );
            }
            Value::Object(item)
        })
        .collect()
}

/// The requested columns of an item's latest `PutItems` properties, as strings.
fn metadata(inner: &Inner, item_id: &str, columns: &[String]) -> Map<String, Value> {
    let mut out = Map::new();
    let Some(properties) = inner
        .items
        .entries
        .iter()
        .filter(|r| r.id == item_id)
        .max_by(|a, b| a.received_at.cmp(&b.received_at))
        .and_then(|r| r.properties.as_ref())
    else {
        return out;
    };
    for column in columns {
        let wanted = column.to_ascii_uppercase();
        if let Some(value) = properties
            .iter()
            .find(|(k, _)| screaming_snake(k) == wanted)
            .map(|(_, v)| v)
        {
            let text = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            out.insert(column.clone(), Value::String(text));
        }
    }
    out
}

/// `numberOfRatings` → `NUMBER_OF_RATINGS` (already-upper or snake keys stay as they are,
/// upper-cased).
fn screaming_snake(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 4);
    let mut previous_lower = false;
    for c in key.chars() {
        if c.is_ascii_uppercase() && previous_lower {
            out.push('_');
        }
        previous_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        out.push(c.to_ascii_uppercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_names() {
        assert_eq!(screaming_snake("numberOfRatings"), "NUMBER_OF_RATINGS");
        assert_eq!(screaming_snake("GENRES"), "GENRES");
        assert_eq!(screaming_snake("price"), "PRICE");
        assert_eq!(screaming_snake("creation_timestamp"), "CREATION_TIMESTAMP");
    }
}

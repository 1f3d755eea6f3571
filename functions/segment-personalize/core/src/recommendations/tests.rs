//! The recommendations request rules: ARNs, ids, parameters and cache keys. The handler's own
//! tests (functions/segment-personalize/recommendations) send the same cases over HTTP.

use std::collections::{BTreeMap, HashSet};

use super::*;

const CAMPAIGN: &str = "arn:aws:personalize:us-east-1:123456789012:campaign/user-personalization";
const RELATED_CAMPAIGN: &str = "arn:aws:personalize:us-east-1:123456789012:campaign/similar-items";
const FILTER: &str = "arn:aws:personalize:us-east-1:123456789012:filter/in-category";
const USER: &str = "user-42";

fn target() -> Target {
    Target {
        kind: TargetKind::Campaign,
        arn: CAMPAIGN.into(),
        variable: "CAMPAIGN_ARN",
    }
}

fn request(query: &[(&str, &str)]) -> Result<RecommendationRequest, InvalidRequest> {
    parse_request(
        RouteKind::User,
        USER.into(),
        query.iter().copied(),
        &target(),
        None,
    )
}

fn key_of(query: &[(&str, &str)]) -> String {
    request(query).unwrap().cache_key()
}

#[test]
fn personalize_arns_are_checked() {
    assert!(is_personalize_arn(CAMPAIGN, "campaign"));
    assert!(is_personalize_arn(FILTER, "filter"));
    assert!(is_personalize_arn(
        "arn:aws-cn:personalize:cn-north-1:123456789012:filter/f_1",
        "filter"
    ));
    for bad in [
        "",
        "filter/in-category",
        "arn:aws:personalize:us-east-1:123456789012:filter/",
        "arn:aws:personalize:us-east-1:123456789012:filter/-x",
        "arn:aws:personalize:us-east-1:123456789012:campaign/x",
        "arn:aws:s3:us-east-1:123456789012:filter/x",
        "arn:aws:personalize:us-east-1:1234:filter/x",
        "arn:aws:personalize::123456789012:filter/x",
        "arn:aws:personalize:us-east-1:123456789012:filter/x/y",
        "arn:gcp:personalize:us-east-1:123456789012:filter/x",
    ] {
        assert!(!is_personalize_arn(bad, "filter"), "{bad}");
    }
    let long = format!("{FILTER}{}", "x".repeat(MAX_ARN_CHARS));
    assert!(!is_personalize_arn(&long, "filter"));
}

#[test]
fn cache_keys_cover_everything_that_changes_the_answer() {
    let fv = |json: &'static str| [("filterArn", FILTER), ("filterValues", json)];
    let a = key_of(&fv(r#"{"CATEGORY":"\"shoes\"","BRAND":"\"acme\""}"#));
    let same_other_order = key_of(&fv(r#"{"BRAND":"\"acme\"","CATEGORY":"\"shoes\""}"#));
    let same_spaced = key_of(&fv(r#"{ "BRAND" : "\"acme\"", "CATEGORY" : "\"shoes\"" }"#));
    assert_eq!(a, same_other_order);
    assert_eq!(a, same_spaced);
    let different = [
        key_of(&fv(r#"{"CATEGORY":"\"boots\"","BRAND":"\"acme\""}"#)),
        key_of(&fv(r#"{"CATEGORY":"\"shoes\""}"#)),
        key_of(&fv(
            r#"{"CATEGORY":"\"shoes\"","BRAND":"\"acme\"","SIZE":"\"42\""}"#,
        )),
        key_of(&[("filterArn", FILTER)]),
        key_of(&[]),
        key_of(&[("numResults", "10")]),
        key_of(&[("context", r#"{"DEVICE":"mobile"}"#)]),
    ];
    let mut all = vec![a.clone()];
    all.extend(different.iter().cloned());
    let unique: HashSet<_> = all.iter().collect();
    assert_eq!(unique.len(), all.len(), "{all:?}");

    // The default numResults and an explicit 25 are the same answer, as are `{}` and nothing.
    assert_eq!(key_of(&[]), key_of(&[("numResults", "25")]));
    assert_eq!(key_of(&[]), key_of(&[("context", "{}")]));
    // Context entries in another order: the same key.
    assert_eq!(
        key_of(&[("context", r#"{"DEVICE":"mobile","LOCATION":"FR"}"#)]),
        key_of(&[("context", r#"{"LOCATION":"FR","DEVICE":"mobile"}"#)])
    );

    // Route, id and ARN are part of the key; field boundaries cannot be shifted.
    let base = request(&[]).unwrap();
    let mut related = base.clone();
    related.kind = RouteKind::Related;
    let mut other_id = base.clone();
    other_id.id = "user-43".into();
    let mut other_arn = base.clone();
    other_arn.target.arn = RELATED_CAMPAIGN.into();
    let mut tricky = base.clone();
    tricky.id = format!("{USER}\",\"{CAMPAIGN}");
    for other in [related, other_id, other_arn, tricky] {
        assert_ne!(base.cache_key(), other.cache_key(), "{other:?}");
    }
    assert_eq!(
        base.canonical(),
        format!(r#"["recommendations/v1","user","{USER}","{CAMPAIGN}",25,null,null,null]"#)
    );
    assert_eq!(base.cache_key().len(), 64);
    assert!(base.cache_key().chars().all(|c| c.is_ascii_hexdigit()));
}

#[test]
fn requests_take_the_parameters_and_the_default_filter() {
    let r = request(&[
        ("numResults", " 10 "),
        ("filterArn", FILTER),
        ("filterValues", r#"{"CATEGORY":"\"shoes\""}"#),
        ("context", ""),
    ])
    .unwrap();
    assert_eq!(
        r,
        RecommendationRequest {
            kind: RouteKind::User,
            id: USER.into(),
            target: target(),
            num_results: 10,
            filter_arn: Some(FILTER.into()),
            filter_values: BTreeMap::from([("CATEGORY".into(), "\"shoes\"".into())]),
            context: BTreeMap::new(),
        }
    );
    let other = "arn:aws:personalize:us-east-1:123456789012:filter/not-purchased";
    let query = [("filterValues", r#"{"A":"1"}"#)];
    let r = parse_request(
        RouteKind::Related,
        "i-1".into(),
        query,
        &target(),
        Some(other),
    )
    .unwrap();
    assert_eq!(r.filter_arn.as_deref(), Some(other));
    assert_eq!(r.num_results, DEFAULT_NUM_RESULTS);
    let err = request(&query).unwrap_err();
    assert_eq!(err.field, "filterValues");
    assert!(err.problem.contains("without filterArn"), "{err}");
}

#[test]
fn errors_name_the_field_and_the_limit_never_a_value() {
    let long_value = format!(r#"{{"K":"{}"}}"#, "secret".repeat(200));
    type Query<'a> = Vec<(&'a str, &'a str)>;
    let cases: Vec<(Query, &str, &str)> = vec![
        (vec![("numResults", "0")], "numResults", "1 to 500"),
        (vec![("numResults", "2.5")], "numResults", "not an integer"),
        (
            vec![("filterArn", CAMPAIGN)],
            "filterArn",
            "not a filter ARN",
        ),
        (vec![("context", "[1]")], "context", "not a JSON object"),
        (
            vec![("filterArn", FILTER), ("filterValues", &long_value)],
            "filterValues",
            "too long",
        ),
        // Alphabetical: the unknown `b` is reported before the repeated `numResults`.
        (
            vec![("numResults", "1"), ("numResults", "1"), ("b", "")],
            "b",
            "unknown parameter",
        ),
        (
            vec![("numResults", "1"), ("numResults", "2")],
            "numResults",
            "given 2 times",
        ),
    ];
    for (query, field, problem) in cases {
        let err = request(&query).unwrap_err();
        assert_eq!(err.field, field, "{query:?}: {err}");
        assert!(err.problem.contains(problem), "{query:?}: {err}");
        assert!(!err.to_string().contains("secret"), "{err}");
        let as_pipeline: shared_core::PipelineError = err.clone().into();
        assert_eq!(as_pipeline.kind, shared_core::ErrorKind::InvalidInput);
        assert_eq!(as_pipeline.message, err.to_string());
    }
    let long_name = "n".repeat(100);
    let err = request(&[(long_name.as_str(), "1")]).unwrap_err();
    assert_eq!(err.field, format!("{}…", "n".repeat(64)));
}

#[test]
fn ids_are_checked() {
    assert!(validate_id(RouteKind::User, &"u".repeat(MAX_ID_CHARS)).is_ok());
    assert!(validate_id(RouteKind::User, "élève").is_ok());
    let err = validate_id(RouteKind::Related, &"i".repeat(257)).unwrap_err();
    assert_eq!(err.to_string(), "itemId: 257 characters, must be 1 to 256");
    let err = validate_id(RouteKind::User, "").unwrap_err();
    assert_eq!(err.field, "userId");
    let err = validate_id(RouteKind::User, "a\nb").unwrap_err();
    assert!(err.problem.contains("control characters"), "{err}");
}

#[test]
fn malformed_escapes_are_found() {
    for ok in ["u1", "a%20b", "%C3%A9", "a+b", "%2f", ""] {
        assert!(escapes_well_formed(ok), "{ok}");
    }
    for bad in ["%", "a%2", "%zz", "%%41", "a%g1"] {
        assert!(!escapes_well_formed(bad), "{bad}");
    }
}

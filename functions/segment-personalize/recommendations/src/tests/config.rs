//! Settings from the environment.

use super::*;

#[test]
fn config_defaults_and_targets() {
    let c = config(&[]);
    assert_eq!(c.cache_table, TABLE);
    assert_eq!(
        c.user_target,
        Target {
            kind: TargetKind::Campaign,
            arn: CAMPAIGN.into(),
            variable: "CAMPAIGN_ARN"
        }
    );
    // The related route needs its own (related-items) campaign: the user campaign needs a userId.
    assert_eq!(c.related_target, None);
    assert_eq!(c.target(RouteKind::Related), None);
    assert_eq!(c.default_filter_arn, None);
    assert_eq!(c.cache_ttl_seconds, 300);
    assert_eq!(c.stale_ttl_seconds, 86_400);
    assert_eq!(c.personalize_timeout, Duration::from_millis(2000));
    assert_eq!(c.cache_timeout, Duration::from_millis(1000));

    let c = config(&[
        ("RELATED_CAMPAIGN_ARN", RELATED_CAMPAIGN),
        ("DEFAULT_FILTER_ARN", FILTER),
        ("CACHE_TTL_SECONDS", "60"),
        ("STALE_TTL_SECONDS", "0"),
        ("PERSONALIZE_TIMEOUT_MS", "500"),
        ("CACHE_TIMEOUT_MS", "200"),
    ]);
    let related = c.related_target.as_ref().unwrap();
    assert_eq!(related.arn, RELATED_CAMPAIGN);
    assert_eq!(related.variable, "RELATED_CAMPAIGN_ARN");
    assert_eq!(c.default_filter_arn.as_deref(), Some(FILTER));
    assert_eq!((c.cache_ttl_seconds, c.stale_ttl_seconds), (60, 0));
    assert_eq!(c.personalize_timeout, Duration::from_millis(500));
    assert_eq!(c.cache_timeout, Duration::from_millis(200));

    let vars = [("CACHE_TABLE", TABLE), ("RECOMMENDER_ARN", RECOMMENDER)];
    let c = Config::from_source(&vars).unwrap();
    assert_eq!(c.user_target.kind, TargetKind::Recommender);
    assert_eq!(c.user_target.variable, "RECOMMENDER_ARN");
    let more_like_x = "arn:aws:personalize:us-east-1:123456789012:recommender/more-like-x";
    let vars = [
        ("CACHE_TABLE", TABLE),
        ("RECOMMENDER_ARN", RECOMMENDER),
        ("RELATED_RECOMMENDER_ARN", more_like_x),
    ];
    let c = Config::from_source(&vars).unwrap();
    let related = c.related_target.unwrap();
    assert_eq!(related.kind, TargetKind::Recommender);
    assert_eq!(related.arn, more_like_x);
}

#[test]
fn config_errors_name_the_variable() {
    type Vars<'a> = Vec<(&'a str, &'a str)>;
    let cases: Vec<(Vars, &str, &str)> = vec![
        (
            vec![("CAMPAIGN_ARN", CAMPAIGN)],
            "CACHE_TABLE",
            "is not set",
        ),
        (
            vec![("CACHE_TABLE", TABLE)],
            "CAMPAIGN_ARN",
            "set CAMPAIGN_ARN or RECOMMENDER_ARN",
        ),
        (
            vec![("CACHE_TABLE", TABLE), ("CAMPAIGN_ARN", "  ")],
            "CAMPAIGN_ARN",
            "is not set",
        ),
        (
            vec![
                ("CACHE_TABLE", TABLE),
                ("CAMPAIGN_ARN", CAMPAIGN),
                ("RECOMMENDER_ARN", RECOMMENDER),
            ],
            "CAMPAIGN_ARN",
            "set exactly one",
        ),
        (
            vec![
                ("CACHE_TABLE", TABLE),
                ("CAMPAIGN_ARN", CAMPAIGN),
                ("RELATED_CAMPAIGN_ARN", RELATED_CAMPAIGN),
                ("RELATED_RECOMMENDER_ARN", RECOMMENDER),
            ],
            "RELATED_CAMPAIGN_ARN",
            "set exactly one",
        ),
        (
            // A recommender ARN in the campaign variable.
            vec![("CACHE_TABLE", TABLE), ("CAMPAIGN_ARN", RECOMMENDER)],
            "CAMPAIGN_ARN",
            "not a campaign ARN",
        ),
        (
            vec![
                ("CACHE_TABLE", TABLE),
                ("RECOMMENDER_ARN", "recommended-for-you"),
            ],
            "RECOMMENDER_ARN",
            "not a recommender ARN",
        ),
        (
            vec![
                ("CACHE_TABLE", TABLE),
                ("CAMPAIGN_ARN", CAMPAIGN),
                ("DEFAULT_FILTER_ARN", CAMPAIGN),
            ],
            "DEFAULT_FILTER_ARN",
            "not a filter ARN",
        ),
        (
            vec![
                ("CACHE_TABLE", TABLE),
                ("CAMPAIGN_ARN", CAMPAIGN),
                ("CACHE_TTL_SECONDS", "-5"),
            ],
            "CACHE_TTL_SECONDS",
            "invalid value",
        ),
        (
            vec![
                ("CACHE_TABLE", TABLE),
                ("CAMPAIGN_ARN", CAMPAIGN),
                ("STALE_TTL_SECONDS", "9999999"),
            ],
            "STALE_TTL_SECONDS",
            "must be from 0 to 2592000",
        ),
        (
            vec![
                ("CACHE_TABLE", TABLE),
                ("CAMPAIGN_ARN", CAMPAIGN),
                ("PERSONALIZE_TIMEOUT_MS", "10"),
            ],
            "PERSONALIZE_TIMEOUT_MS",
            "must be from 100 to 30000",
        ),
    ];
    for (vars, name, reason) in cases {
        let err = Config::from_source(&vars.as_slice()).unwrap_err();
        assert_eq!(err.name, name, "{vars:?}: {err}");
        assert!(err.reason.contains(reason), "{vars:?}: {err}");
    }
}

#[test]
fn bad_configuration_answers_500_misconfigured_naming_the_variable() {
    let err: PipelineError = Config::from_source(&[("CACHE_TABLE", TABLE)])
        .unwrap_err()
        .into();
    let response = misconfigured_response(&err);
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
    let body: Value = serde_json::from_slice(response.body().as_ref()).unwrap();
    let message = assert_error(&body, "Misconfigured");
    assert_eq!(
        message,
        "configuration CAMPAIGN_ARN: is not set (set CAMPAIGN_ARN or RECOMMENDER_ARN)"
    );
}

//! Personalize errors: one answer each.

use super::*;

#[tokio::test]
async fn each_personalize_error_has_its_status_and_type() {
    let cases = [
        (
            RecommendError::Invalid("numResults must be less than or equal to 500.".into()),
            StatusCode::BAD_REQUEST,
            "InvalidInput",
            "request: Personalize rejected it: numResults must be less than or equal to 500.",
        ),
        (
            RecommendError::NotFound(
                "ResourceNotFoundException: Campaign arn:aws:personalize:us-east-1:123456789012:campaign/user-personalization does not exist."
                    .into(),
            ),
            StatusCode::INTERNAL_SERVER_ERROR,
            "Misconfigured",
            "configuration CAMPAIGN_ARN: Personalize has no such campaign (ResourceNotFoundException); see the function's logs",
        ),
        (
            RecommendError::NotFound(
                "ResourceNotFoundException: Filter arn:aws:personalize:us-east-1:123456789012:filter/in-category does not exist."
                    .into(),
            ),
            StatusCode::BAD_REQUEST,
            "InvalidInput",
            "filterArn: Personalize has no such filter (ResourceNotFoundException)",
        ),
        (
            RecommendError::Misconfigured(
                "GetRecommendations: AccessDeniedException (HTTP 403): User: arn:aws:sts::123456789012:assumed-role/x is not authorized"
                    .into(),
            ),
            StatusCode::INTERNAL_SERVER_ERROR,
            "Misconfigured",
            "the function cannot use Personalize (permissions or credentials); see its logs",
        ),
    ];
    for (err, status, error_type, expected) in cases {
        let (h, clock) = handler(Ok(answer(&["i-1"])));
        // A stale entry exists: these errors are not outages and are not hidden by it.
        call(&h, user_fixture()).await;
        clock.advance(1000);
        set_answer(&h, Err(err.clone()));
        let (got, headers, body) = call(&h, user_fixture()).await;
        assert_eq!(got, status, "{err:?}: {body}");
        let message = assert_error(&body, error_type);
        assert_eq!(message, expected);
        assert!(headers.get(header::RETRY_AFTER).is_none());
        assert!(headers.get("x-cache").is_none());
    }
}

#[test]
fn each_error_answer_has_its_status_type_and_headers() {
    let invalid = InvalidRequest {
        field: "numResults".into(),
        problem: "0 is out of range".into(),
    };
    let cases = [
        (ApiError::NoSuchRoute, 404, "NotFound", None),
        (
            ApiError::MethodNotAllowed(Method::POST),
            405,
            "MethodNotAllowed",
            Some((header::ALLOW, "GET")),
        ),
        (
            ApiError::UndecodableId(RouteKind::Related),
            400,
            "InvalidInput",
            None,
        ),
        (ApiError::InvalidRequest(invalid), 400, "InvalidInput", None),
        (
            ApiError::RejectedByPersonalize("no".into()),
            400,
            "InvalidInput",
            None,
        ),
        (ApiError::NoSuchFilter, 400, "InvalidInput", None),
        (
            ApiError::NoSuchTarget {
                variable: "RECOMMENDER_ARN",
                resource: "recommender",
            },
            500,
            "Misconfigured",
            None,
        ),
        (ApiError::CannotUsePersonalize, 500, "Misconfigured", None),
        (
            ApiError::Unavailable,
            503,
            "Retryable",
            Some((header::RETRY_AFTER, "2")),
        ),
    ];
    for (err, status, error_type, extra) in cases {
        let message = err.to_string();
        let response = IntoResponse::into_response(err.clone());
        assert_eq!(response.status().as_u16(), status, "{err:?}");
        assert_eq!(err.error_type(), error_type);
        let headers = response.headers();
        assert_eq!(headers[header::CONTENT_TYPE], "application/json");
        assert_eq!(headers[header::CACHE_CONTROL], "no-store");
        let expected = 2 + usize::from(extra.is_some());
        assert_eq!(headers.len(), expected, "{err:?}: {headers:?}");
        if let Some((name, value)) = extra {
            assert_eq!(headers[name], value, "{err:?}");
        }
        assert!(message.starts_with(match &err {
            ApiError::UndecodableId(_) => "itemId: ",
            ApiError::InvalidRequest(_) => "numResults: ",
            ApiError::NoSuchTarget { .. } => "configuration RECOMMENDER_ARN: ",
            _ => "",
        }));
    }
}

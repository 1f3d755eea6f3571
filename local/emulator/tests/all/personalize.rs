//! The Personalize emulator over real HTTP, driven by the production AWS SDK clients
//! (`aws-sdk-personalizeevents`, `aws-sdk-personalizeruntime`) pointed at an in-process server.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_personalizeevents as events;
use aws_sdk_personalizeruntime as runtime;
use events::error::ProvideErrorMetadata as _;
use events::operation::put_events::PutEventsError;
use events::operation::put_items::PutItemsError;
use events::operation::put_users::PutUsersError;
use events::primitives::DateTime;
use events::types::{Event, Item, User};
use mlpipe_emulator::{Config, RunningEmulator};
use reqwest::{Client, Method, StatusCode};
use runtime::operation::get_personalized_ranking::GetPersonalizedRankingError;
use runtime::operation::get_recommendations::GetRecommendationsError;
use serde_json::{json, Value};

const TRACKING_ID: &str = "5b9e3b0a-demo-tracker";
const CAMPAIGN: &str = "arn:aws:personalize:us-east-1:123456789012:campaign/demo";
const RECOMMENDER: &str = "arn:aws:personalize:us-east-1:123456789012:recommender/top-picks";
const ITEMS_DATASET: &str = "arn:aws:personalize:us-east-1:123456789012:dataset/demo-group/ITEMS";
const USERS_DATASET: &str = "arn:aws:personalize:us-east-1:123456789012:dataset/demo-group/USERS";

struct Harness {
    emulator: RunningEmulator,
    http: Client,
    events: events::Client,
    runtime: runtime::Client,
}

/// Retries as a production client would (standard mode), but with millisecond backoff.
fn fast_retries(attempts: u32) -> events::config::retry::RetryConfig {
    events::config::retry::RetryConfig::standard()
        .with_max_attempts(attempts)
        .with_initial_backoff(Duration::from_millis(1))
        .with_max_backoff(Duration::from_millis(5))
}

impl Harness {
    async fn start() -> Self {
        let emulator = mlpipe_emulator::spawn(Config::default()).await.unwrap();
        let events = events_client(emulator.base_url(), fast_retries(3));
        let runtime = runtime_client(emulator.base_url(), fast_retries(3));
        Self {
            emulator,
            http: Client::builder().no_proxy().build().unwrap(),
            events,
            runtime,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.emulator.base_url())
    }

    async fn admin(&self, method: Method, path: &str) -> Value {
        let response = self
            .http
            .request(method, self.url(&format!("/_emulator/personalize{path}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        response.json().await.unwrap()
    }

    async fn put_config(&self, config: Value) {
        let response = self
            .http
            .put(self.url("/_emulator/personalize/config"))
            .json(&config)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }

    /// A raw POST, for bodies the SDK would not build.
    async fn raw(&self, path: &str, body: &Value) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap()
    }

    /// PutEvents of one `click` per item, for `user` in `session`.
    async fn clicks(&self, user: Option<&str>, session: &str, items: &[&str]) {
        let mut request = self
            .events
            .put_events()
            .tracking_id(TRACKING_ID)
            .session_id(session)
            .set_user_id(user.map(str::to_owned));
        for (i, item) in items.iter().enumerate() {
            request = request.event_list(
                Event::builder()
                    .event_type("click")
                    .item_id(*item)
                    .sent_at(DateTime::from_secs(1_700_000_000 + i as i64))
                    .build()
                    .unwrap(),
            );
        }
        request.send().await.unwrap();
    }

    async fn recommend_for_user(&self, user: &str, n: i32) -> Vec<(String, f64)> {
        let out = self
            .runtime
            .get_recommendations()
            .campaign_arn(CAMPAIGN)
            .user_id(user)
            .num_results(n)
            .send()
            .await
            .unwrap();
        scored(out.item_list())
    }

    async fn related_to(&self, item: &str) -> Vec<(String, f64)> {
        let out = self
            .runtime
            .get_recommendations()
            .campaign_arn(CAMPAIGN)
            .item_id(item)
            .send()
            .await
            .unwrap();
        scored(out.item_list())
    }
}

fn events_client(base_url: &str, retry: events::config::retry::RetryConfig) -> events::Client {
    let config = events::Config::builder()
        .behavior_version(events::config::BehaviorVersion::latest())
        .endpoint_url(base_url)
        .region(events::config::Region::new("us-east-1"))
        .credentials_provider(events::config::Credentials::new(
            "AKIDEMULATORTEST",
            "emulator-test-secret",
            None,
            None,
            "tests",
        ))
        .retry_config(retry)
        .build();
    events::Client::from_conf(config)
}

fn runtime_client(base_url: &str, retry: events::config::retry::RetryConfig) -> runtime::Client {
    let config = runtime::Config::builder()
        .behavior_version(runtime::config::BehaviorVersion::latest())
        .endpoint_url(base_url)
        .region(runtime::config::Region::new("us-east-1"))
        .credentials_provider(runtime::config::Credentials::new(
            "AKIDEMULATORTEST",
            "emulator-test-secret",
            None,
            None,
            "tests",
        ))
        .retry_config(retry)
        .build();
    runtime::Client::from_conf(config)
}

fn scored(items: &[runtime::types::PredictedItem]) -> Vec<(String, f64)> {
    items
        .iter()
        .map(|i| (i.item_id().unwrap().to_owned(), i.score().unwrap()))
        .collect()
}

fn ids(scored: &[(String, f64)]) -> Vec<&str> {
    scored.iter().map(|(id, _)| id.as_str()).collect()
}

fn event(event_type: &str, item: &str) -> Event {
    Event::builder()
        .event_type(event_type)
        .item_id(item)
        .sent_at(DateTime::from_secs(1_700_000_000))
        .build()
        .unwrap()
}

fn event_with_properties(properties: impl Into<String>) -> Event {
    Event::builder()
        .event_type("click")
        .properties(properties)
        .sent_at(DateTime::from_secs(1_700_000_000))
        .build()
        .unwrap()
}

/// Asserts a 400 `InvalidInputException` answer whose message holds every needle.
async fn assert_raw_invalid(response: reqwest::Response, needles: &[&str]) {
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        response.headers()["x-amzn-errortype"].to_str().unwrap(),
        "InvalidInputException"
    );
    assert!(response.headers().contains_key("x-amzn-requestid"));
    let body: Value = response.json().await.unwrap();
    let message = body["message"].as_str().unwrap();
    for needle in needles {
        assert!(message.contains(needle), "{needle:?} not in {message:?}");
    }
}

fn assert_message(message: Option<&str>, needles: &[&str]) {
    let message = message.expect("a message");
    for needle in needles {
        assert!(message.contains(needle), "{needle:?} not in {message:?}");
    }
}

#[tokio::test]
async fn put_events_users_and_items_are_recorded_for_the_admin_api() {
    let h = Harness::start().await;
    h.events
        .put_events()
        .tracking_id(TRACKING_ID)
        .user_id("2941404340")
        .session_id("2941404340-anon")
        .event_list(
            Event::builder()
                .event_id("test-message-33dlvn")
                .event_type("Product Clicked")
                .properties(r#"{"itemId": "ocean-blue-shirt"}"#)
                .sent_at(DateTime::from_secs(1_551_110_105))
                .build()
                .unwrap(),
        )
        .event_list(
            Event::builder()
                .event_type("Product Added")
                .item_id("yellow-wool-jumper")
                .event_value(2.5)
                .recommendation_id("RID-1")
                .impression("yellow-wool-jumper")
                .impression("zipped-jacket")
                .sent_at(DateTime::from_secs_f64(1_551_110_106.25))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();

    let recorded = h.admin(Method::GET, "/events").await;
    assert_eq!(recorded["count"], 1);
    let request = &recorded["events"][0];
    assert_eq!(request["trackingId"], TRACKING_ID);
    assert_eq!(request["userId"], "2941404340");
    assert_eq!(request["sessionId"], "2941404340-anon");
    assert_eq!(request["seq"], 1);
    assert!(request["receivedAt"].as_str().unwrap().ends_with('Z'));
    let list = request["eventList"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["eventId"], "test-message-33dlvn");
    assert_eq!(list[0]["properties"], r#"{"itemId": "ocean-blue-shirt"}"#);
    assert_eq!(list[0]["sentAt"], 1_551_110_105);
    assert_eq!(list[1]["sentAt"], 1_551_110_106.25);
    assert_eq!(list[1]["eventValue"], 2.5);
    assert_eq!(
        list[1]["impression"],
        json!(["yellow-wool-jumper", "zipped-jacket"])
    );
    let other = h.admin(Method::GET, "/events?trackingId=other").await;
    assert_eq!(other["count"], 0);

    // The item id inside properties (as older clients send it) counts for the model.
    let interactions = h.admin(Method::GET, "/interactions").await;
    let items: Vec<&str> = interactions["interactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["itemId"].as_str().unwrap())
        .collect();
    assert_eq!(items, ["ocean-blue-shirt", "yellow-wool-jumper"]);
    // A repeated event id is recorded but, as in Personalize, not used again.
    h.events
        .put_events()
        .tracking_id(TRACKING_ID)
        .session_id("another-session")
        .event_list(
            Event::builder()
                .event_id("test-message-33dlvn")
                .event_type("Product Clicked")
                .item_id("ocean-blue-shirt")
                .sent_at(DateTime::from_secs(1_551_110_200))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(h.admin(Method::GET, "/events").await["count"], 2);
    assert_eq!(h.admin(Method::GET, "/interactions").await["count"], 2);

    h.events
        .put_users()
        .dataset_arn(USERS_DATASET)
        .users(
            User::builder()
                .user_id("2941404340")
                .properties(r#"{"membership": "gold"}"#)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    for colour in ["blue", "red"] {
        h.events
            .put_items()
            .dataset_arn(ITEMS_DATASET)
            .items(
                Item::builder()
                    .item_id("ocean-blue-shirt")
                    .properties(json!({ "colour": colour }).to_string())
                    .build()
                    .unwrap(),
            )
            .items(Item::builder().item_id("zipped-jacket").build().unwrap())
            .send()
            .await
            .unwrap();
    }
    let users = h.admin(Method::GET, "/users").await;
    assert_eq!(users["users"][0]["userId"], "2941404340");
    assert_eq!(users["users"][0]["datasetArn"], USERS_DATASET);
    assert_eq!(
        users["users"][0]["properties"],
        json!({"membership": "gold"})
    );
    let items = h.admin(Method::GET, "/items").await;
    assert_eq!(items["count"], 2, "one entry per item, replaced");
    assert_eq!(items["items"][0]["properties"], json!({"colour": "red"}));
    assert_eq!(items["items"][0]["puts"], 2);

    let requests = h.admin(Method::GET, "/requests").await;
    assert_eq!(requests["operations"]["PutEvents"]["succeeded"], 2);
    assert_eq!(requests["operations"]["PutUsers"]["succeeded"], 1);
    assert_eq!(requests["operations"]["PutItems"]["succeeded"], 2);
    assert_eq!(requests["log"][0]["operation"], "PutEvents");
    assert_eq!(requests["log"][0]["status"], 200);
    assert!(
        !requests.to_string().contains("ocean-blue-shirt"),
        "no bodies in the request log"
    );
}

#[tokio::test]
async fn events_validation_surfaces_as_invalid_input_exception() {
    let h = Harness::start().await;
    let put = |events: Vec<Event>| {
        h.events
            .put_events()
            .tracking_id(TRACKING_ID)
            .user_id("u1")
            .session_id("s1")
            .set_event_list(Some(events))
            .send()
    };
    type PutEventsResult = Result<
        events::operation::put_events::PutEventsOutput,
        events::error::SdkError<PutEventsError, events::config::http::HttpResponse>,
    >;
    let invalid = |result: PutEventsResult| {
        let error = result.unwrap_err();
        assert_eq!(error.raw_response().unwrap().status().as_u16(), 400);
        match error.into_service_error() {
            PutEventsError::InvalidInputException(e) => e.message().unwrap().to_owned(),
            other => panic!("expected InvalidInputException, got {other:?}"),
        }
    };

    let eleven = (0..11)
        .map(|i| event("click", &format!("item-{i}")))
        .collect();
    let message = invalid(put(eleven).await);
    assert_message(
        Some(&message),
        &[
            "1 validation error detected",
            "'eventList'",
            "Member must have length less than or equal to 10",
        ],
    );
    // Ten is fine.
    put((0..10)
        .map(|i| event("click", &format!("item-{i}")))
        .collect())
    .await
    .unwrap();

    for (properties, needles) in [
        ("not json", vec!["Error parsing properties json"]),
        (
            "[1, 2]",
            vec!["Error parsing properties json", "JSON object"],
        ),
        (r#""a string""#, vec!["Error parsing properties json"]),
        (
            r#"{"userId": "u1"}"#,
            vec!["userId can't be used as a property key"],
        ),
    ] {
        let message = invalid(put(vec![event_with_properties(properties)]).await);
        assert_message(Some(&message), &needles);
    }
    let long = json!({ "note": "x".repeat(1020) }).to_string();
    assert_eq!(long.len(), 1031);
    let message = invalid(put(vec![event_with_properties(long)]).await);
    assert_message(
        Some(&message),
        &[
            "'eventList.1.member.properties'",
            "less than or equal to 1024",
        ],
    );
    let message = invalid(
        put(vec![
            event("click", "a"),
            Event::builder()
                .event_type("")
                .item_id("i".repeat(257))
                .recommendation_id("r".repeat(41))
                .sent_at(DateTime::from_secs(1))
                .build()
                .unwrap(),
        ])
        .await,
    );
    assert_message(
        Some(&message),
        &[
            "3 validation errors detected",
            "'eventList.2.member.eventType'",
            "'eventList.2.member.itemId'",
            "'eventList.2.member.recommendationId'",
        ],
    );

    // The SDK does not enforce required request members: the server does.
    let error = h
        .events
        .put_events()
        .tracking_id(TRACKING_ID)
        .event_list(event("click", "a"))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    let PutEventsError::InvalidInputException(e) = error else {
        panic!("{error:?}")
    };
    assert_message(e.message(), &["Value null at 'sessionId'"]);
    // Members the SDK builders insist on are checked too, for clients that skip them.
    let body = json!({
        "trackingId": TRACKING_ID,
        "eventList": [{"eventType": "click", "sentAt": 1}]
    });
    assert_raw_invalid(
        h.raw("/events", &body).await,
        &["Value null at 'sessionId' failed to satisfy constraint: Member must not be null"],
    )
    .await;
    let body = json!({
        "trackingId": TRACKING_ID, "sessionId": "s",
        "eventList": [{"itemId": "a"}]
    });
    assert_raw_invalid(
        h.raw("/events", &body).await,
        &[
            "2 validation errors detected",
            "Value null at 'eventList.1.member.eventType'",
            "Value null at 'eventList.1.member.sentAt'",
        ],
    )
    .await;
    assert_raw_invalid(
        h.raw(
            "/events",
            &json!({"trackingId": "t", "sessionId": "s", "eventList": []}),
        )
        .await,
        &["Member must have length greater than or equal to 1"],
    )
    .await;
    let not_json = h
        .http
        .post(h.url("/events"))
        .header("content-type", "application/json")
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_raw_invalid(not_json, &["not valid JSON"]).await;

    // PutUsers / PutItems.
    let users: Vec<User> = (0..11)
        .map(|i| User::builder().user_id(format!("u{i}")).build().unwrap())
        .collect();
    let error = h
        .events
        .put_users()
        .dataset_arn(USERS_DATASET)
        .set_users(Some(users))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    let PutUsersError::InvalidInputException(e) = error else {
        panic!("{error:?}")
    };
    assert_message(e.message(), &["'users'", "less than or equal to 10"]);
    let error = h
        .events
        .put_items()
        .dataset_arn("arn:aws:s3:::bucket")
        .items(
            Item::builder()
                .item_id("a")
                .properties("[]")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    let PutItemsError::InvalidInputException(e) = error else {
        panic!("{error:?}")
    };
    assert_message(e.message(), &["'datasetArn'", "regular expression pattern"]);
    let error = h
        .events
        .put_items()
        .dataset_arn(ITEMS_DATASET)
        .items(
            Item::builder()
                .item_id("a")
                .properties("[]")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    let PutItemsError::InvalidInputException(e) = error else {
        panic!("{error:?}")
    };
    assert_message(e.message(), &["Error parsing properties json"]);

    // Only the one good request was kept.
    assert_eq!(h.admin(Method::GET, "/events").await["count"], 1);
    let requests = h.admin(Method::GET, "/requests").await;
    assert_eq!(requests["operations"]["PutEvents"]["succeeded"], 1);
    assert_eq!(requests["operations"]["PutEvents"]["rejected"], 12);
    assert_eq!(
        requests["log"][0]["errorType"], "InvalidInputException",
        "{requests}"
    );
}

#[tokio::test]
async fn runtime_validation_surfaces_as_invalid_input_exception() {
    let h = Harness::start().await;
    let invalid = |error: GetRecommendationsError| match error {
        GetRecommendationsError::InvalidInputException(e) => e.message().unwrap().to_owned(),
        other => panic!("expected InvalidInputException, got {other:?}"),
    };
    let recs = || h.runtime.get_recommendations();

    let over = recs()
        .campaign_arn(CAMPAIGN)
        .user_id("u1")
        .num_results(501)
        .send()
        .await
        .unwrap_err();
    assert_eq!(over.raw_response().unwrap().status().as_u16(), 400);
    assert_message(
        Some(&invalid(over.into_service_error())),
        &["numResults", "500"],
    );
    recs()
        .campaign_arn(CAMPAIGN)
        .user_id("u1")
        .num_results(500)
        .send()
        .await
        .unwrap();

    for (request, needles) in [
        (
            recs().user_id("u1"),
            vec!["campaignArn or a recommenderArn"],
        ),
        (
            recs()
                .campaign_arn(CAMPAIGN)
                .recommender_arn(RECOMMENDER)
                .user_id("u1"),
            vec!["not both"],
        ),
        (recs().campaign_arn(CAMPAIGN), vec!["userId", "itemId"]),
        (
            recs().campaign_arn("campaign/demo").user_id("u1"),
            vec!["'campaignArn'", "regular expression pattern"],
        ),
        (
            recs().campaign_arn(CAMPAIGN).user_id("u1").num_results(-1),
            vec!["'numResults'", "greater than or equal to 0"],
        ),
        (
            recs()
                .campaign_arn(CAMPAIGN)
                .user_id("u1")
                .num_results(51)
                .metadata_columns("ITEMS", vec!["GENRES".to_owned()]),
            vec!["50"],
        ),
        (
            recs()
                .campaign_arn(CAMPAIGN)
                .user_id("u1")
                .context("device-type", "phone"),
            vec!["'context'", "[A-Za-z\\d_]+"],
        ),
        (
            recs().campaign_arn(CAMPAIGN).user_id("u".repeat(257)),
            vec!["'userId'", "less than or equal to 256"],
        ),
    ] {
        let message = invalid(request.send().await.unwrap_err().into_service_error());
        assert_message(Some(&message), &needles);
    }

    let error = h
        .runtime
        .get_personalized_ranking()
        .campaign_arn(CAMPAIGN)
        .user_id("u1")
        .set_input_list(Some((0..501).map(|i| format!("i{i}")).collect()))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    let GetPersonalizedRankingError::InvalidInputException(e) = error else {
        panic!("{error:?}")
    };
    assert_message(e.message(), &["inputList", "500"]);
    assert_raw_invalid(
        h.raw("/personalize-ranking", &json!({"campaignArn": CAMPAIGN}))
            .await,
        &[
            "2 validation errors detected",
            "Value null at 'inputList'",
            "Value null at 'userId'",
        ],
    )
    .await;
    assert_raw_invalid(
        h.raw(
            "/recommendations",
            &json!({"campaignArn": CAMPAIGN, "userId": "u", "numResults": "ten"}),
        )
        .await,
        &["'numResults'", "Member must be an integer"],
    )
    .await;
}

#[tokio::test]
async fn injected_throttling_reaches_the_sdk_and_retries_recover() {
    let h = Harness::start().await;
    let no_retry_events = events_client(
        h.emulator.base_url(),
        events::config::retry::RetryConfig::disabled(),
    );
    let no_retry_runtime = runtime_client(
        h.emulator.base_url(),
        events::config::retry::RetryConfig::disabled(),
    );

    let set = h
        .admin(Method::POST, "/throttle?count=2&scope=events")
        .await;
    assert_eq!(set, json!({"throttleRemaining": 2, "scope": "events"}));
    let put = |client: &events::Client| {
        client
            .put_events()
            .tracking_id(TRACKING_ID)
            .session_id("s1")
            .event_list(event("click", "a"))
            .send()
    };
    let error = put(&no_retry_events).await.unwrap_err();
    assert_eq!(error.raw_response().unwrap().status().as_u16(), 429);
    let service_error = error.into_service_error();
    assert_eq!(service_error.code(), Some("ThrottlingException"));
    assert_eq!(service_error.message(), Some("Rate exceeded"));
    // The Runtime is not in scope.
    h.recommend_for_user("u1", 5).await;
    // One throttle left: the retrying client sees it, backs off and succeeds.
    put(&h.events).await.unwrap();
    put(&no_retry_events).await.unwrap();

    let requests = h.admin(Method::GET, "/requests").await;
    assert_eq!(requests["operations"]["PutEvents"]["throttled"], 2);
    assert_eq!(requests["operations"]["PutEvents"]["succeeded"], 2);
    assert_eq!(requests["throttleRemaining"], 0);
    let statuses: Vec<u64> = requests["log"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["operation"] == "PutEvents")
        .map(|e| e["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [429, 429, 200, 200]);

    // Runtime throttling, then more throttles than the retrying client has attempts.
    h.admin(Method::POST, "/throttle?count=5&scope=runtime")
        .await;
    let error = no_retry_runtime
        .get_recommendations()
        .campaign_arn(CAMPAIGN)
        .user_id("u1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error.into_service_error().code(),
        Some("ThrottlingException")
    );
    let error = h
        .runtime
        .get_recommendations()
        .campaign_arn(CAMPAIGN)
        .user_id("u1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error.into_service_error().code(),
        Some("ThrottlingException")
    );
    let requests = h.admin(Method::GET, "/requests").await;
    assert_eq!(requests["operations"]["GetRecommendations"]["throttled"], 4);
    assert_eq!(requests["throttleRemaining"], 1);
    h.admin(Method::POST, "/throttle?count=0").await;
    h.recommend_for_user("u1", 5).await;
}

#[tokio::test]
async fn an_outage_answers_503_until_it_ends() {
    let h = Harness::start().await;
    h.clicks(Some("u1"), "s1", &["a"]).await;
    let no_retry_runtime = runtime_client(
        h.emulator.base_url(),
        events::config::retry::RetryConfig::disabled(),
    );
    let set = h
        .admin(Method::POST, "/unavailable?seconds=600&scope=runtime")
        .await;
    assert_eq!(set["unavailableForSeconds"], 600);
    let error = no_retry_runtime
        .get_recommendations()
        .campaign_arn(CAMPAIGN)
        .user_id("u2")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error.raw_response().unwrap().status().as_u16(), 503);
    assert_eq!(
        error.into_service_error().code(),
        Some("ServiceUnavailableException")
    );
    // The retrying client tries three times, then gives up.
    assert!(h
        .runtime
        .get_recommendations()
        .campaign_arn(CAMPAIGN)
        .user_id("u2")
        .send()
        .await
        .is_err());
    // Events still flow.
    h.clicks(Some("u2"), "s2", &["b"]).await;
    let requests = h.admin(Method::GET, "/requests").await;
    assert_eq!(
        requests["operations"]["GetRecommendations"]["unavailable"],
        4
    );
    assert!(requests["unavailableForSeconds"].as_f64().unwrap() > 500.0);

    h.admin(Method::POST, "/unavailable?seconds=0").await;
    assert_eq!(ids(&h.recommend_for_user("u2", 5).await), ["a"]);
    let requests = h.admin(Method::GET, "/requests").await;
    assert_eq!(requests["unavailableForSeconds"], Value::Null);
}

#[tokio::test]
async fn recommendations_follow_the_events() {
    let h = Harness::start().await;
    // Nothing known yet: an empty list, still with a recommendation id.
    let empty = h
        .runtime
        .get_recommendations()
        .recommender_arn(RECOMMENDER)
        .user_id("alice")
        .send()
        .await
        .unwrap();
    assert!(empty.item_list().is_empty());
    let first_id = empty.recommendation_id().unwrap().to_owned();
    assert!(
        first_id.starts_with("RID-") && first_id.len() == 40,
        "{first_id}"
    );

    h.clicks(Some("alice"), "s-alice", &["shirt", "hat"]).await;
    h.clicks(Some("bob"), "s-bob", &["shirt", "hat", "socks"])
        .await;
    h.clicks(Some("carol"), "s-carol", &["shirt", "boots"])
        .await;
    h.clicks(None, "s-anon", &["boots", "scarf"]).await;

    // Popularity: shirt 3, boots 2, hat 2, scarf 1, socks 1.
    let all = h.recommend_for_user("dave", 10).await;
    assert_eq!(ids(&all), ["shirt", "boots", "hat", "scarf", "socks"]);
    assert_eq!(all[0].1, 1.0);
    assert!(all.windows(2).all(|w| w[0].1 >= w[1].1));
    assert!(all.iter().all(|(_, s)| *s > 0.0 && *s <= 1.0));
    // Alice's own items are left out; numResults cuts.
    assert_eq!(
        ids(&h.recommend_for_user("alice", 10).await),
        ["boots", "scarf", "socks"]
    );
    assert_eq!(ids(&h.recommend_for_user("alice", 1).await), ["boots"]);

    // Related items: what shares a basket with hat (alice and bob) first, then the rest.
    let related = h.related_to("hat").await;
    assert_eq!(ids(&related), ["shirt", "socks", "boots", "scarf"]);
    assert!(related[1].1 > 0.5 && related[2].1 <= 0.5);
    assert_eq!(ids(&h.related_to("scarf").await)[0], "boots");

    // More events change the answer: socks becomes the favourite, and scarf's companion.
    h.clicks(Some("erin"), "s-erin", &["socks", "scarf"]).await;
    h.clicks(Some("frank"), "s-frank", &["socks", "scarf"])
        .await;
    h.clicks(Some("grace"), "s-grace", &["socks"]).await;
    assert_eq!(
        ids(&h.recommend_for_user("alice", 2).await),
        ["socks", "scarf"]
    );
    assert_eq!(ids(&h.related_to("scarf").await)[0], "socks");

    // Personalized ranking: known items by popularity, unknown ones last in input order.
    let ranked = h
        .runtime
        .get_personalized_ranking()
        .campaign_arn(CAMPAIGN)
        .user_id("alice")
        .input_list("new-1")
        .input_list("hat")
        .input_list("socks")
        .input_list("new-0")
        .send()
        .await
        .unwrap();
    let order: Vec<(&str, Option<f64>)> = ranked
        .personalized_ranking()
        .iter()
        .map(|i| (i.item_id().unwrap(), i.score()))
        .collect();
    assert_eq!(
        order,
        [
            ("socks", Some(1.0)),
            ("hat", Some(0.5)),
            ("new-1", None),
            ("new-0", None)
        ]
    );

    let log = h.admin(Method::GET, "/recommendations").await;
    let entries = log["recommendations"].as_array().unwrap();
    assert_eq!(entries[0]["recommenderArn"], RECOMMENDER);
    assert_eq!(entries[0]["recommendationId"], first_id.as_str());
    assert_eq!(
        entries.last().unwrap()["operation"],
        "GetPersonalizedRanking"
    );
    let ids_seen: std::collections::HashSet<&str> = entries
        .iter()
        .map(|e| e["recommendationId"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids_seen.len(),
        entries.len(),
        "recommendation ids are unique"
    );
}

#[tokio::test]
async fn recommendation_ids_are_deterministic_per_server() {
    let mut first = Vec::new();
    for _ in 0..2 {
        let h = Harness::start().await;
        let mut got = Vec::new();
        for _ in 0..3 {
            let out = h
                .runtime
                .get_recommendations()
                .campaign_arn(CAMPAIGN)
                .user_id("u")
                .send()
                .await
                .unwrap();
            got.push(out.recommendation_id().unwrap().to_owned());
        }
        if first.is_empty() {
            first = got;
        } else {
            assert_eq!(first, got);
        }
    }
    assert_ne!(first[0], first[1]);
}

#[tokio::test]
async fn catalogue_metadata_and_known_resources() {
    let h = Harness::start().await;
    h.put_config(json!({
        "trackingIds": [TRACKING_ID],
        "datasetArns": [ITEMS_DATASET],
        "solutionArns": [CAMPAIGN],
        "seedItems": ["seed-1"],
        "eventTypeWeights": {"purchase": 10.0}
    }))
    .await;
    assert_eq!(
        h.admin(Method::GET, "/config").await["seedItems"],
        json!(["seed-1"])
    );

    // Seed items and PutItems items are recommendable before any event.
    h.events
        .put_items()
        .dataset_arn(ITEMS_DATASET)
        .items(
            Item::builder()
                .item_id("lamp")
                .properties(r#"{"genres": "home|light", "numberOfRatings": 12}"#)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let out = h
        .runtime
        .get_recommendations()
        .campaign_arn(CAMPAIGN)
        .user_id("u1")
        .metadata_columns(
            "ITEMS",
            vec!["GENRES".to_owned(), "NUMBER_OF_RATINGS".to_owned()],
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        ids(&scored(out.item_list())),
        ["lamp", "seed-1"],
        "equal scores, by id"
    );
    let metadata = out.item_list()[0].metadata().unwrap();
    assert_eq!(
        metadata,
        &HashMap::from([
            ("GENRES".to_owned(), "home|light".to_owned()),
            ("NUMBER_OF_RATINGS".to_owned(), "12".to_owned()),
        ])
    );
    assert!(out.item_list()[1].metadata().unwrap().is_empty());

    // Event type weights: one purchase outweighs two clicks.
    h.clicks(Some("u2"), "s2", &["seed-1"]).await;
    h.clicks(Some("u3"), "s3", &["seed-1"]).await;
    h.events
        .put_events()
        .tracking_id(TRACKING_ID)
        .user_id("u4")
        .session_id("s4")
        .event_list(event("purchase", "lamp"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        ids(&h.recommend_for_user("u1", 5).await),
        ["lamp", "seed-1"]
    );

    // Unknown resources.
    let error = h
        .events
        .put_events()
        .tracking_id("unknown-tracker")
        .session_id("s")
        .event_list(event("click", "a"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error.raw_response().unwrap().status().as_u16(), 404);
    assert_eq!(
        error.into_service_error().code(),
        Some("ResourceNotFoundException")
    );
    let error = h
        .events
        .put_items()
        .dataset_arn(USERS_DATASET)
        .items(Item::builder().item_id("x").build().unwrap())
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(
        matches!(error, PutItemsError::ResourceNotFoundException(_)),
        "{error:?}"
    );
    let error = h
        .runtime
        .get_recommendations()
        .recommender_arn(RECOMMENDER)
        .user_id("u1")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(
        matches!(error, GetRecommendationsError::ResourceNotFoundException(_)),
        "{error:?}"
    );

    // Reset restores the start-up settings (accept anything) and forgets the data.
    h.admin(Method::POST, "/reset").await;
    assert_eq!(
        h.admin(Method::GET, "/config").await["trackingIds"],
        Value::Null
    );
    h.runtime
        .get_recommendations()
        .recommender_arn(RECOMMENDER)
        .user_id("u1")
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn reset_clears_everything() {
    let h = Harness::start().await;
    h.clicks(Some("u1"), "s1", &["a", "b"]).await;
    h.events
        .put_users()
        .dataset_arn(USERS_DATASET)
        .users(User::builder().user_id("u1").build().unwrap())
        .send()
        .await
        .unwrap();
    h.events
        .put_items()
        .dataset_arn(ITEMS_DATASET)
        .items(Item::builder().item_id("c").build().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(ids(&h.recommend_for_user("u2", 5).await), ["a", "b", "c"]);
    h.admin(Method::POST, "/throttle?count=3").await;
    h.admin(Method::POST, "/unavailable?seconds=60").await;

    assert_eq!(
        h.admin(Method::POST, "/reset").await,
        json!({"reset": true})
    );
    for (path, key) in [
        ("/events", "count"),
        ("/interactions", "count"),
        ("/users", "count"),
        ("/items", "count"),
        ("/recommendations", "count"),
    ] {
        assert_eq!(h.admin(Method::GET, path).await[key], 0, "{path}");
    }
    let requests = h.admin(Method::GET, "/requests").await;
    assert_eq!(requests["throttleRemaining"], 0);
    assert_eq!(requests["unavailableForSeconds"], Value::Null);
    assert_eq!(requests["log"], json!([]));
    assert_eq!(requests["operations"]["PutEvents"]["requests"], 0);
    assert!(h.recommend_for_user("u2", 5).await.is_empty());
}

#[tokio::test]
async fn admin_rejects_bad_parameters_and_routes_do_not_collide() {
    let h = Harness::start().await;
    for path in [
        "/_emulator/personalize/throttle?count=x",
        "/_emulator/personalize/throttle?count=1&scope=bedrock",
        "/_emulator/personalize/unavailable",
    ] {
        let response = h.http.post(h.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{path}");
    }
    let response = h
        .http
        .put(h.url("/_emulator/personalize/config"))
        .body(r#"{"trackingIdz": []}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    // Bedrock and Genesys still answer on the same listener.
    let token = h
        .http
        .post(h.url("/oauth/token"))
        .basic_auth("local-client-id", Some("local-client-secret"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), StatusCode::OK);
    let bedrock = h
        .http
        .get(h.url("/_emulator/bedrock/requests"))
        .send()
        .await
        .unwrap();
    assert_eq!(bedrock.status(), StatusCode::OK);
    let wrong_method = h.http.get(h.url("/events")).send().await.unwrap();
    assert_eq!(wrong_method.status(), StatusCode::METHOD_NOT_ALLOWED);
}

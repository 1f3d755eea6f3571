//! Requests as the production AWS SDK builds them (`aws-sdk-personalizeevents`,
//! `aws-sdk-personalizeruntime`), captured on their way to the emulator and judged twice: by
//! AWS's own model (botocore's `personalize-events` / `personalize-runtime`, through the
//! checker the emulator uses, here rejecting unknown members too) and by the emulator over
//! HTTP. Both verdicts must be the expected one, in the same words.

use std::path::Path;
use std::sync::{Arc, Mutex};

use aws_sdk_personalizeevents as events;
use aws_sdk_personalizeruntime as runtime;
use events::error::ProvideErrorMetadata;
use events::primitives::DateTime;
use events::types::{Event, Item, MetricAttribution, User};
use mlpipe_emulator::botocore::{self, Unknown};
use mlpipe_emulator::personalize::{Models, Operation};
use mlpipe_emulator::{Config, Options, RunningEmulator};
use runtime::types::Promotion;
use serde_json::{json, Value};

const TRACKING_ID: &str = "5b9e3b0a-demo-tracker";
const CAMPAIGN: &str = "arn:aws:personalize:us-east-1:123456789012:campaign/demo";
const FILTER: &str = "arn:aws:personalize:us-east-1:123456789012:filter/in-stock";
const USERS_DATASET: &str = "arn:aws:personalize:us-east-1:123456789012:dataset/demo-group/USERS";
const ITEMS_DATASET: &str = "arn:aws:personalize:us-east-1:123456789012:dataset/demo-group/ITEMS";

/// Keeps the body of every request a client sends.
#[derive(Debug, Clone, Default)]
struct Capture(Arc<Mutex<Vec<Vec<u8>>>>);

impl Capture {
    fn last(&self) -> Value {
        let bodies = self.0.lock().unwrap();
        serde_json::from_slice(bodies.last().expect("a request was sent")).unwrap()
    }
}

impl events::config::Intercept for Capture {
    fn name(&self) -> &'static str {
        "Capture"
    }

    fn read_before_transmit(
        &self,
        context: &events::config::interceptors::BeforeTransmitInterceptorContextRef<'_>,
        _: &events::config::RuntimeComponents,
        _: &mut events::config::ConfigBag,
    ) -> Result<(), events::error::BoxError> {
        let body = context
            .request()
            .body()
            .bytes()
            .unwrap_or_default()
            .to_vec();
        self.0.lock().unwrap().push(body);
        Ok(())
    }
}

struct Harness {
    emulator: RunningEmulator,
    models: Models,
    capture: Capture,
    events: events::Client,
    runtime: runtime::Client,
}

impl Harness {
    async fn start() -> Self {
        Self::with(Options::default()).await
    }

    async fn with(options: Options) -> Self {
        let models = Models::locate(options.botocore_data.as_deref()).unwrap();
        let emulator = mlpipe_emulator::spawn_with(Config::default(), options)
            .await
            .unwrap();
        let capture = Capture::default();
        let credentials = events::config::Credentials::new("test", "test", None, None, "tests");
        let events = events::Client::from_conf(
            events::Config::builder()
                .behavior_version(events::config::BehaviorVersion::latest())
                .endpoint_url(emulator.base_url())
                .region(events::config::Region::new("us-east-1"))
                .credentials_provider(credentials.clone())
                .retry_config(events::config::retry::RetryConfig::disabled())
                .interceptor(capture.clone())
                .build(),
        );
        let runtime = runtime::Client::from_conf(
            runtime::Config::builder()
                .behavior_version(runtime::config::BehaviorVersion::latest())
                .endpoint_url(emulator.base_url())
                .region(runtime::config::Region::new("us-east-1"))
                .credentials_provider(credentials)
                .retry_config(runtime::config::retry::RetryConfig::disabled())
                .interceptor(capture.clone())
                .build(),
        );
        Self {
            emulator,
            models,
            capture,
            events,
            runtime,
        }
    }

    /// The model's violations of the body just sent (unknown members rejected too).
    fn model_verdict(&self, op: Operation) -> Vec<String> {
        let body = self.capture.last();
        self.models
            .service(op)
            .check_input(op.name(), &body, Unknown::Reject)
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    /// Asserts the body just sent passed both the model and the emulator.
    fn accepted<T, E: ProvideErrorMetadata + std::fmt::Debug>(
        &self,
        op: Operation,
        case: &str,
        result: Result<T, events::error::SdkError<E, events::config::http::HttpResponse>>,
    ) {
        assert_eq!(self.model_verdict(op), Vec::<String>::new(), "{case}");
        if let Err(e) = result {
            panic!("{case}: the emulator refused it: {e:?}");
        }
    }

    /// Asserts the body just sent failed the model with a violation naming each of `members`,
    /// and that the emulator answered 400 InvalidInputException listing the model's words.
    fn rejected<T: std::fmt::Debug, E: ProvideErrorMetadata + std::fmt::Debug>(
        &self,
        op: Operation,
        case: &str,
        members: &[&str],
        result: Result<T, events::error::SdkError<E, events::config::http::HttpResponse>>,
    ) {
        let found = self.model_verdict(op);
        assert_eq!(found.len(), members.len(), "{case}: {found:#?}");
        for member in members {
            assert!(
                found
                    .iter()
                    .any(|v| v.contains(&format!(" at '{member}' "))),
                "{case}: nothing about {member} in {found:#?}"
            );
        }
        let error = result.expect_err(case);
        assert_eq!(
            error.raw_response().map(|r| r.status().as_u16()),
            Some(400),
            "{case}"
        );
        assert_eq!(error.code(), Some("InvalidInputException"), "{case}");
        let message = error.message().unwrap_or_default();
        for violation in &found {
            assert!(
                message.contains(violation.as_str()),
                "{case}: {violation} not in {message}"
            );
        }
    }
}

fn event(item: &str) -> Event {
    Event::builder()
        .event_type("click")
        .item_id(item)
        .sent_at(DateTime::from_secs_and_nanos(1_715_674_530, 123_456_789))
        .build()
        .unwrap()
}

#[tokio::test]
async fn put_events_as_the_sdk_builds_it() {
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
    let full = Event::builder()
        .event_id("e1")
        .event_type("Order Completed")
        .event_value(19.99)
        .item_id("😀".repeat(128)) // 128 characters, 256 UTF-16 code units: the most there is
        .properties(json!({"numberOfRatings": "12"}).to_string())
        .sent_at(DateTime::from_secs_and_nanos(1_715_674_530, 500_000_000))
        .recommendation_id("r".repeat(40))
        .set_impression(Some((0..25).map(|i| format!("i{i}")).collect()))
        .metric_attribution(
            MetricAttribution::builder()
                .event_attribution_source("segment")
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    h.accepted(
        Operation::PutEvents,
        "every member",
        put(vec![full; 10]).await,
    );
    // What the SDK sent is the model's JSON: sentAt in epoch seconds, fractions kept.
    let sent = h.capture.last();
    assert_eq!(sent["eventList"][0]["sentAt"], json!(1_715_674_530.5));

    let op = Operation::PutEvents;
    h.rejected(
        op,
        "11 events",
        &["eventList"],
        put(vec![event("a"); 11]).await,
    );
    let mut e = event("a");
    e.impression = Some((0..26).map(|i| format!("i{i}")).collect());
    h.rejected(
        op,
        "26 impressions",
        &["eventList.1.member.impression"],
        put(vec![e]).await,
    );
    let mut e = event("a");
    e.impression = Some(vec!["i".into(), String::new()]);
    h.rejected(
        op,
        "blank impression",
        &["eventList.1.member.impression.2.member"],
        put(vec![e]).await,
    );
    // 129 emoji: 129 characters, 258 UTF-16 code units; AWS counts the units.
    h.rejected(
        op,
        "long item id",
        &["eventList.2.member.itemId"],
        put(vec![event("a"), event(&"😀".repeat(129))]).await,
    );
    let mut e = event("a");
    e.recommendation_id = Some("r".repeat(41));
    e.properties = Some(format!("{{\"note\": \"{}\"}}", "x".repeat(1020)));
    h.rejected(
        op,
        "long recommendation id and properties",
        &[
            "eventList.1.member.recommendationId",
            "eventList.1.member.properties",
        ],
        put(vec![e]).await,
    );
    let mut e = event("a");
    e.metric_attribution = Some(
        MetricAttribution::builder()
            .event_attribution_source("   ")
            .build()
            .unwrap(),
    );
    h.rejected(
        op,
        "blank attribution source (pattern)",
        &["eventList.1.member.metricAttribution.eventAttributionSource"],
        put(vec![e]).await,
    );
    let long_user = h
        .events
        .put_events()
        .tracking_id("")
        .user_id("u".repeat(257))
        .session_id("s")
        .event_list(event("a"))
        .send()
        .await;
    h.rejected(
        op,
        "long user, blank tracking id",
        &["userId", "trackingId"],
        long_user,
    );
    // The SDK leaves required members to the server.
    let no_session = h
        .events
        .put_events()
        .tracking_id(TRACKING_ID)
        .event_list(event("a"))
        .send()
        .await;
    h.rejected(op, "no session id", &["sessionId"], no_session);
}

#[tokio::test]
async fn put_users_and_items_as_the_sdk_builds_them() {
    let h = Harness::start().await;
    let user = |id: &str, properties: Option<String>| {
        User::builder()
            .user_id(id)
            .set_properties(properties)
            .build()
            .unwrap()
    };
    let put_users = |arn: &str, users: Vec<User>| {
        h.events
            .put_users()
            .dataset_arn(arn)
            .set_users(Some(users))
            .send()
    };
    let op = Operation::PutUsers;
    let ten: Vec<User> = (0..10)
        .map(|i| user(&format!("u{i}"), Some(json!({"plan": "gold"}).to_string())))
        .collect();
    h.accepted(op, "ten users", put_users(USERS_DATASET, ten.clone()).await);
    let mut eleven = ten.clone();
    eleven.push(user("u10", None));
    h.rejected(
        op,
        "11 users",
        &["users"],
        put_users(USERS_DATASET, eleven).await,
    );
    h.rejected(
        op,
        "not a Personalize ARN",
        &["datasetArn"],
        put_users("arn:aws:s3:::bucket", vec![user("u", None)]).await,
    );
    let big = Some(json!({ "bio": "x".repeat(24_000) }).to_string());
    h.rejected(
        op,
        "blank id, large properties",
        &["users.1.member.userId", "users.2.member.properties"],
        put_users(USERS_DATASET, vec![user("", None), user("u", big)]).await,
    );

    let op = Operation::PutItems;
    let item = Item::builder()
        .item_id("i1")
        .properties(json!({"price": "19.99"}).to_string())
        .build()
        .unwrap();
    let put_items = |items: Vec<Item>| {
        h.events
            .put_items()
            .dataset_arn(ITEMS_DATASET)
            .set_items(Some(items))
            .send()
    };
    h.accepted(op, "one item", put_items(vec![item]).await);
    h.rejected(op, "no items", &["items"], put_items(Vec::new()).await);
}

#[tokio::test]
async fn get_recommendations_as_the_sdk_builds_it() {
    let h = Harness::start().await;
    let op = Operation::GetRecommendations;
    let recs = || {
        h.runtime
            .get_recommendations()
            .campaign_arn(CAMPAIGN)
            .user_id("u1")
    };
    let promotion = |name: &str, percent: i32| {
        Promotion::builder()
            .name(name)
            .percent_promoted_items(percent)
            .filter_arn(FILTER)
            .filter_values("STATUS", "\"IN_STOCK\"")
            .build()
    };
    let full = recs()
        .num_results(500)
        .context("DEVICE_TYPE", "phone")
        .filter_arn(FILTER)
        .filter_values("CATEGORY", "\"shoes\"")
        .promotions(promotion("promo-1", 10))
        .send()
        .await;
    h.accepted(op, "every member", full);
    let with_metadata = recs()
        .num_results(50)
        .metadata_columns("ITEMS", vec!["PRICE".to_owned()])
        .send()
        .await;
    h.accepted(op, "metadata", with_metadata);

    let long_user = h
        .runtime
        .get_recommendations()
        .campaign_arn(CAMPAIGN)
        .user_id("u".repeat(257))
        .send()
        .await;
    h.rejected(op, "long user id", &["userId"], long_user);
    h.rejected(
        op,
        "context key (pattern)",
        &["context"],
        recs().context("device-type", "phone").send().await,
    );
    let mut many = recs();
    for i in 0..26 {
        many = many.filter_values(format!("P{i}"), "x");
    }
    h.rejected(op, "26 filter values", &["filterValues"], many.send().await);
    h.rejected(
        op,
        "two promotions",
        &["promotions"],
        recs()
            .promotions(promotion("a", 10))
            .promotions(promotion("b", 10))
            .send()
            .await,
    );
    h.rejected(
        op,
        "promotion name and share",
        &[
            "promotions.1.member.name",
            "promotions.1.member.percentPromotedItems",
        ],
        recs().promotions(promotion("-a", 0)).send().await,
    );
    h.rejected(
        op,
        "negative count",
        &["numResults"],
        recs().num_results(-1).send().await,
    );

    // Beyond the model: its documentation caps numResults at 500; the model itself does not.
    let over = recs().num_results(501).send().await;
    assert_eq!(h.model_verdict(op), Vec::<String>::new());
    let error = over.unwrap_err().into_service_error();
    assert_eq!(error.code(), Some("InvalidInputException"));
    assert!(
        error.message().unwrap_or_default().contains("500"),
        "{error:?}"
    );
}

/// Copies botocore's Personalize models into a directory, edited.
fn edited_models(dir: &Path, edit: impl Fn(&str, &mut Value)) {
    let data = botocore::locate_data(None).unwrap();
    for service in ["personalize-events", "personalize-runtime"] {
        let (_, text) = botocore::read_service_json(&data, service).unwrap();
        let mut model: Value = serde_json::from_str(&text).unwrap();
        edit(service, &mut model);
        let version = model["metadata"]["apiVersion"].as_str().unwrap().to_owned();
        let path = dir.join(service).join(version);
        std::fs::create_dir_all(&path).unwrap();
        std::fs::write(path.join("service-2.json"), model.to_string()).unwrap();
    }
}

/// The emulator's verdicts are the model's: with a copy of the model that allows 11 events and
/// longer user ids, it accepts what it refused.
#[tokio::test]
async fn the_emulator_follows_the_model_it_is_given() {
    let dir = tempfile::tempdir().unwrap();
    edited_models(dir.path(), |service, model| {
        if service == "personalize-events" {
            model["shapes"]["EventList"]["max"] = json!(11);
            model["shapes"]["UserId"]["max"] = json!(300);
        }
    });
    let send = |h: &Harness| {
        h.events
            .put_events()
            .tracking_id(TRACKING_ID)
            .user_id("u".repeat(257))
            .session_id("s")
            .set_event_list(Some(vec![event("a"); 11]))
            .send()
    };
    let real = Harness::start().await;
    real.rejected(
        Operation::PutEvents,
        "real model",
        &["eventList", "userId"],
        send(&real).await,
    );

    let h = Harness::with(Options {
        botocore_data: Some(dir.path().to_path_buf()),
        ..Options::default()
    })
    .await;
    h.accepted(Operation::PutEvents, "edited model", send(&h).await);
    let models: Value = reqwest::get(format!(
        "{}/_emulator/personalize/models",
        h.emulator.base_url()
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let source = models["events"]["source"].as_str().unwrap();
    assert!(
        source.starts_with(&dir.path().display().to_string()),
        "{models}"
    );
    let real_models: Value = reqwest::get(format!(
        "{}/_emulator/personalize/models",
        real.emulator.base_url()
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert!(
        real_models["runtime"]["source"]
            .as_str()
            .unwrap()
            .contains("botocore/data/personalize-runtime/"),
        "{real_models}"
    );
}

#[tokio::test]
async fn without_the_models_the_emulator_does_not_start() {
    let empty = tempfile::tempdir().unwrap();
    let options = Options {
        botocore_data: Some(empty.path().to_path_buf()),
        ..Options::default()
    };
    let error = mlpipe_emulator::spawn_with(Config::default(), options)
        .await
        .unwrap_err();
    let text = format!("{error:#}");
    assert!(text.contains("Personalize service models"), "{text}");
    assert!(text.contains("no botocore service models"), "{text}");

    // The binary, told by the variable to look in an empty directory, says so and exits.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_mlpipe-emulator"))
        .args(["--listen", "127.0.0.1:0", "--log-format", "text"])
        .env(botocore::DATA_ENV, empty.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(botocore::DATA_ENV), "{stderr}");
}

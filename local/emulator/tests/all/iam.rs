//! IAM enforcement over real HTTP: the emulator started with a principals file, driven by the
//! production AWS SDK clients signing with each role session's access key.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_bedrockruntime as bedrock;
use aws_sdk_personalizeevents as events;
use aws_sdk_personalizeruntime as runtime;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use bedrock::error::ProvideErrorMetadata as _;
use events::primitives::DateTime;
use events::types::{Event, User};
use image::{GrayImage, ImageFormat, RgbImage};
use mlpipe_emulator::iam::Principals;
use mlpipe_emulator::{Config, Options, RunningEmulator};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tempfile::TempDir;

const ACCOUNT: &str = "123456789012";
const TRACKING_ID: &str = "b5a6c1f0-tracking";
const TRACKER: &str = "arn:aws:personalize:us-east-1:123456789012:event-tracker/segment-demo";
const USERS_DATASET: &str = "arn:aws:personalize:us-east-1:123456789012:dataset/demo/USERS";
const ITEMS_DATASET: &str = "arn:aws:personalize:us-east-1:123456789012:dataset/demo/ITEMS";
const CAMPAIGN: &str = "arn:aws:personalize:us-east-1:123456789012:campaign/demo";
const FILTER: &str = "arn:aws:personalize:us-east-1:123456789012:filter/not-bought";
const TITAN: &str = "amazon.titan-image-generator-v1";

/// Access keys of the role sessions in the principals file.
const FORWARDER: &str = "ASIAFORWARDER";
const NO_PERSONALIZE: &str = "ASIANOPERSONALIZE";
const DENIED: &str = "ASIADENIED";
const RECOMMENDER: &str = "ASIARECOMMENDER";
const IMAGES: &str = "ASIAIMAGES";
const STABILITY: &str = "ASIASTABILITY";
const STABILITY_NO_WEST: &str = "ASIASTABILITYNOWEST";
const INPAINT_PROFILE: &str = "us.stability.stable-image-inpaint-v1:0";
const INPAINT_MODEL: &str = "stability.stable-image-inpaint-v1:0";
/// The regions the US inference profiles route to.
const US_REGIONS: [&str; 3] = ["us-east-1", "us-east-2", "us-west-2"];
const ADMIN: &str = "AKIAADMIN";

fn session_arn(role: &str) -> String {
    format!("arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{role}-session")
}

fn policy(statements: Value) -> Value {
    json!({"Version": "2012-10-17", "Statement": statements})
}

/// `bedrock:InvokeModel` on the Inpaint profile (in us-east-1) and on its foundation model in
/// each of `regions`.
fn stability_policy(regions: &[&str]) -> Value {
    let mut resources = vec![format!(
        "arn:aws:bedrock:us-east-1:{ACCOUNT}:inference-profile/{INPAINT_PROFILE}"
    )];
    resources.extend(
        regions
            .iter()
            .map(|r| format!("arn:aws:bedrock:{r}::foundation-model/{INPAINT_MODEL}")),
    );
    policy(json!({"Effect": "Allow", "Action": "bedrock:InvokeModel", "Resource": resources}))
}

fn principals_document() -> Value {
    json!({
        "principals": [
            {"accessKeyId": FORWARDER, "arn": session_arn("forwarder-role"), "admin": false,
             "policies": [policy(json!([
                {"Sid": "PutEventsOnTheTracker", "Effect": "Allow",
                 "Action": "personalize:PutEvents", "Resource": TRACKER},
                {"Effect": "Allow", "Action": "personalize:PutUsers", "Resource": USERS_DATASET}
             ]))]},
            {"accessKeyId": NO_PERSONALIZE, "arn": session_arn("report-role"),
             "policies": [policy(json!({"Effect": "Allow", "Action": "s3:GetObject",
                                        "Resource": "arn:aws:s3:::bucket/*"}))]},
            {"accessKeyId": DENIED, "arn": session_arn("denied-role"),
             "policies": [
                policy(json!({"Effect": "Allow", "Action": "personalize:*", "Resource": "*"})),
                policy(json!({"Effect": "Deny", "Action": "personalize:PutEvents",
                              "Resource": "arn:aws:personalize:*:*:event-tracker/*"}))
             ]},
            {"accessKeyId": RECOMMENDER, "arn": session_arn("recommendations-role"),
             "policies": [policy(json!({"Effect": "Allow",
                "Action": ["personalize:GetRecommendations", "personalize:GetPersonalizedRanking"],
                "Resource": CAMPAIGN}))]},
            {"accessKeyId": IMAGES, "arn": session_arn("generate-background-role"),
             "policies": [policy(json!([
                {"Effect": "Allow", "Action": "bedrock:InvokeModel",
                 "Resource": format!("arn:aws:bedrock:us-east-1::foundation-model/{TITAN}")},
                {"Effect": "Allow", "Action": "bedrock:InvokeModel",
                 "Resource": "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-canvas-v1:0"},
                // A `us.` profile also needs the foundation model in each destination region.
                {"Effect": "Allow", "Action": "bedrock:InvokeModel",
                 "Resource": "arn:aws:bedrock:us-*::foundation-model/amazon.nova-canvas-v1:0"}
             ]))]},
            {"accessKeyId": STABILITY, "arn": session_arn("inpaint-role"),
             "policies": [stability_policy(&US_REGIONS)]},
            {"accessKeyId": STABILITY_NO_WEST, "arn": session_arn("inpaint-east-role"),
             "policies": [stability_policy(&US_REGIONS[..2])]},
            {"accessKeyId": ADMIN, "arn": format!("arn:aws:iam::{ACCOUNT}:user/localcloud"),
             "admin": true}
        ],
        "personalize": {"eventTrackers": {TRACKING_ID: TRACKER}}
    })
}

/// Writes `document` as the other process does: a temporary file renamed over the old one.
fn write_atomically(path: &Path, document: &Value) {
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(document).unwrap()).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

struct Harness {
    emulator: RunningEmulator,
    path: PathBuf,
    _dir: TempDir,
    http: reqwest::Client,
}

impl Harness {
    async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("principals.json");
        write_atomically(&path, &principals_document());
        let options = Options {
            iam: Some(Arc::new(Principals::open(&path).unwrap())),
            ..Options::default()
        };
        Self {
            emulator: mlpipe_emulator::spawn_with(Config::default(), options)
                .await
                .unwrap(),
            path,
            _dir: dir,
            http: reqwest::Client::builder().no_proxy().build().unwrap(),
        }
    }

    fn base(&self) -> &str {
        self.emulator.base_url()
    }

    fn events(&self, access_key_id: &str) -> events::Client {
        let config = events::Config::builder()
            .behavior_version(events::config::BehaviorVersion::latest())
            .endpoint_url(self.base())
            .region(events::config::Region::new("us-east-1"))
            .credentials_provider(events::config::Credentials::new(
                access_key_id,
                "secret",
                Some("session-token".to_owned()),
                None,
                "tests",
            ))
            .retry_config(events::config::retry::RetryConfig::disabled())
            .build();
        events::Client::from_conf(config)
    }

    fn runtime(&self, access_key_id: &str) -> runtime::Client {
        let config = runtime::Config::builder()
            .behavior_version(runtime::config::BehaviorVersion::latest())
            .endpoint_url(self.base())
            .region(runtime::config::Region::new("us-east-1"))
            .credentials_provider(runtime::config::Credentials::new(
                access_key_id,
                "secret",
                None,
                None,
                "tests",
            ))
            .retry_config(runtime::config::retry::RetryConfig::disabled())
            .build();
        runtime::Client::from_conf(config)
    }

    fn bedrock(&self, access_key_id: &str, region: &str) -> bedrock::Client {
        let config = bedrock::Config::builder()
            .behavior_version(bedrock::config::BehaviorVersion::latest())
            .endpoint_url(self.base())
            .region(bedrock::config::Region::new(region.to_owned()))
            .credentials_provider(bedrock::config::Credentials::new(
                access_key_id,
                "secret",
                None,
                None,
                "tests",
            ))
            .retry_config(bedrock::config::retry::RetryConfig::disabled())
            .build();
        bedrock::Client::from_conf(config)
    }

    async fn put_events(
        &self,
        access_key_id: &str,
        tracking_id: &str,
    ) -> Result<(), events::error::SdkError<events::operation::put_events::PutEventsError>> {
        self.events(access_key_id)
            .put_events()
            .tracking_id(tracking_id)
            .session_id("session-1")
            .user_id("user-1")
            .event_list(
                Event::builder()
                    .event_type("click")
                    .item_id("item-1")
                    .sent_at(DateTime::from_secs(1_700_000_000))
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .map(|_| ())
    }

    async fn admin(&self, path: &str) -> Value {
        let response = self
            .http
            .get(format!("{}{path}", self.base()))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        response.json().await.unwrap()
    }
}

fn denial(principal: &str, action: &str, resource: &str) -> String {
    format!(
        "User: {principal} is not authorized to perform: {action} on resource: {resource} because no identity-based policy allows the {action} action"
    )
}

#[tokio::test]
async fn put_events_is_allowed_only_to_roles_whose_policies_allow_it_on_the_tracker() {
    let h = Harness::start().await;

    // The forwarder's policy allows PutEvents on the tracker the tracking id maps to.
    h.put_events(FORWARDER, TRACKING_ID).await.unwrap();
    // An admin principal may do everything.
    h.put_events(ADMIN, TRACKING_ID).await.unwrap();

    // A role without personalize permissions: AccessDeniedException (not modelled by
    // Personalize Events, so an unhandled error carrying the code and message).
    let error = h.put_events(NO_PERSONALIZE, TRACKING_ID).await.unwrap_err();
    let service_error = error.as_service_error().expect("a service error");
    assert_eq!(service_error.code(), Some("AccessDeniedException"));
    assert_eq!(
        service_error.message(),
        Some(
            denial(
                &session_arn("report-role"),
                "personalize:PutEvents",
                TRACKER
            )
            .as_str()
        )
    );
    assert_eq!(error.raw_response().unwrap().status().as_u16(), 403);

    // A tracking id the file does not map: evaluated as event-tracker/{trackingId} in the
    // caller's region and account, which the forwarder's policy does not cover.
    let error = h.put_events(FORWARDER, "other-tracking").await.unwrap_err();
    assert_eq!(error.code(), Some("AccessDeniedException"));
    assert_eq!(
        error.message(),
        Some(
            denial(
                &session_arn("forwarder-role"),
                "personalize:PutEvents",
                "arn:aws:personalize:us-east-1:123456789012:event-tracker/other-tracking"
            )
            .as_str()
        )
    );

    // An explicit deny beats `personalize:*`.
    let error = h.put_events(DENIED, TRACKING_ID).await.unwrap_err();
    assert_eq!(error.code(), Some("AccessDeniedException"));
    assert_eq!(
        error.message(),
        Some(format!(
            "User: {} is not authorized to perform: personalize:PutEvents on resource: {TRACKER} with an explicit deny in an identity-based policy",
            session_arn("denied-role")
        ).as_str())
    );

    // A key nobody was given.
    let error = h.put_events("ASIAUNKNOWN", TRACKING_ID).await.unwrap_err();
    assert_eq!(error.code(), Some("UnrecognizedClientException"));
    assert_eq!(
        error.message(),
        Some("The security token included in the request is invalid.")
    );
    assert_eq!(error.raw_response().unwrap().status().as_u16(), 403);

    // An unsigned request.
    let response = h
        .http
        .post(format!("{}/events", h.base()))
        .header("content-type", "application/json")
        .body(
            json!({"trackingId": TRACKING_ID, "sessionId": "s",
                   "eventList": [{"eventType": "click", "sentAt": 1}]})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        response.headers()["x-amzn-errortype"],
        "MissingAuthenticationTokenException"
    );
    assert!(response.headers().contains_key("x-amzn-requestid"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({"message": "Missing Authentication Token"}));

    // The admin API needs no credentials, and only the two allowed requests were recorded.
    let events = h.admin("/_emulator/personalize/events").await;
    assert_eq!(events["count"], 2, "{events}");
    let requests = h.admin("/_emulator/personalize/requests").await;
    assert_eq!(requests["operations"]["PutEvents"]["succeeded"], 2);
    assert_eq!(requests["operations"]["PutEvents"]["rejected"], 5);
    let log = requests["log"].as_array().unwrap();
    assert!(log
        .iter()
        .any(|e| e["errorType"] == "AccessDeniedException"));
    assert!(log
        .iter()
        .any(|e| e["errorType"] == "UnrecognizedClientException"));
}

#[tokio::test]
async fn put_users_and_put_items_are_checked_on_the_dataset() {
    let h = Harness::start().await;
    let user = User::builder().user_id("user-1").build().unwrap();
    h.events(FORWARDER)
        .put_users()
        .dataset_arn(USERS_DATASET)
        .users(user.clone())
        .send()
        .await
        .unwrap();
    let error = h
        .events(FORWARDER)
        .put_users()
        .dataset_arn(ITEMS_DATASET)
        .users(user)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error.code(), Some("AccessDeniedException"));
    assert_eq!(
        error.message(),
        Some(
            denial(
                &session_arn("forwarder-role"),
                "personalize:PutUsers",
                ITEMS_DATASET
            )
            .as_str()
        )
    );
    let error = h
        .events(FORWARDER)
        .put_items()
        .dataset_arn(ITEMS_DATASET)
        .items(
            events::types::Item::builder()
                .item_id("item-1")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(error.code(), Some("AccessDeniedException"));
    assert!(error
        .message()
        .unwrap()
        .contains("perform: personalize:PutItems on resource: arn:aws:personalize:us-east-1:123456789012:dataset/demo/ITEMS"));

    // Validation comes first: an invalid request is an InvalidInputException for anyone.
    let error = h
        .events(NO_PERSONALIZE)
        .put_users()
        .dataset_arn("not-an-arn")
        .users(User::builder().user_id("u").build().unwrap())
        .send()
        .await
        .unwrap_err();
    assert!(error
        .as_service_error()
        .unwrap()
        .is_invalid_input_exception());
}

#[tokio::test]
async fn recommendations_are_checked_on_the_campaign_and_the_filter() {
    let h = Harness::start().await;
    let client = h.runtime(RECOMMENDER);
    client
        .get_recommendations()
        .campaign_arn(CAMPAIGN)
        .user_id("user-1")
        .send()
        .await
        .unwrap();
    client
        .get_personalized_ranking()
        .campaign_arn(CAMPAIGN)
        .user_id("user-1")
        .input_list("a")
        .send()
        .await
        .unwrap();

    // The policy does not cover the filter: AWS checks it too.
    let error = client
        .get_recommendations()
        .campaign_arn(CAMPAIGN)
        .user_id("user-1")
        .filter_arn(FILTER)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error.code(), Some("AccessDeniedException"));
    assert_eq!(
        error.message(),
        Some(
            denial(
                &session_arn("recommendations-role"),
                "personalize:GetRecommendations",
                FILTER
            )
            .as_str()
        )
    );
    let error = client
        .get_personalized_ranking()
        .campaign_arn(CAMPAIGN)
        .user_id("user-1")
        .input_list("a")
        .filter_arn(FILTER)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error.code(), Some("AccessDeniedException"));
    assert!(error
        .message()
        .unwrap()
        .contains("perform: personalize:GetPersonalizedRanking on resource: arn:aws:personalize:us-east-1:123456789012:filter/not-bought"));

    // Another campaign, and another role.
    let error = client
        .get_recommendations()
        .recommender_arn("arn:aws:personalize:us-east-1:123456789012:recommender/top")
        .user_id("user-1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error.code(), Some("AccessDeniedException"));
    let error = h
        .runtime(FORWARDER)
        .get_recommendations()
        .campaign_arn(CAMPAIGN)
        .user_id("user-1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error.code(), Some("AccessDeniedException"));
    let error = h
        .runtime("ASIAUNKNOWN")
        .get_recommendations()
        .campaign_arn(CAMPAIGN)
        .user_id("user-1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error.code(), Some("UnrecognizedClientException"));
}

#[tokio::test]
async fn a_role_assumed_after_start_is_known_once_the_file_is_rewritten() {
    let h = Harness::start().await;
    let late = "ASIALATECOMER";
    let error = h.put_events(late, TRACKING_ID).await.unwrap_err();
    assert_eq!(error.code(), Some("UnrecognizedClientException"));

    let mut document = principals_document();
    document["principals"].as_array_mut().unwrap().push(json!({
        "accessKeyId": late,
        "arn": session_arn("late-role"),
        "policies": [policy(json!({"Effect": "Allow", "Action": "personalize:PutEvents",
                                   "Resource": "arn:aws:personalize:us-east-1:123456789012:event-tracker/*"}))]
    }));
    write_atomically(&h.path, &document);
    h.put_events(late, TRACKING_ID).await.unwrap();
    // The other sessions are still known.
    h.put_events(FORWARDER, TRACKING_ID).await.unwrap();
}

fn titan_body() -> Vec<u8> {
    let png = |image: image::DynamicImage| {
        let mut bytes = std::io::Cursor::new(Vec::new());
        image.write_to(&mut bytes, ImageFormat::Png).unwrap();
        STANDARD.encode(bytes.into_inner())
    };
    let image = RgbImage::from_fn(512, 512, |x, _| image::Rgb([(x / 2) as u8, 120, 200]));
    let mask = GrayImage::from_fn(512, 512, |x, _| {
        image::Luma([if x < 256 { 0 } else { 255 }])
    });
    json!({
        "taskType": "OUTPAINTING",
        "outPaintingParams": {
            "image": png(image.into()),
            "maskImage": png(mask.into()),
            "text": "a sunny beach"
        },
        "imageGenerationConfig": {"numberOfImages": 1, "seed": 7}
    })
    .to_string()
    .into_bytes()
}

async fn invoke(
    client: &bedrock::Client,
    model_id: &str,
) -> Result<
    bedrock::operation::invoke_model::InvokeModelOutput,
    bedrock::error::SdkError<bedrock::operation::invoke_model::InvokeModelError>,
> {
    invoke_with(client, model_id, titan_body()).await
}

async fn invoke_with(
    client: &bedrock::Client,
    model_id: &str,
    body: Vec<u8>,
) -> Result<
    bedrock::operation::invoke_model::InvokeModelOutput,
    bedrock::error::SdkError<bedrock::operation::invoke_model::InvokeModelError>,
> {
    client
        .invoke_model()
        .model_id(model_id)
        .content_type("application/json")
        .accept("application/json")
        .body(bedrock::primitives::Blob::new(body))
        .send()
        .await
}

#[tokio::test]
async fn bedrock_invoke_model_is_checked_on_the_model_in_the_callers_region() {
    let h = Harness::start().await;

    let output = invoke(&h.bedrock(IMAGES, "us-east-1"), TITAN)
        .await
        .unwrap();
    let body: Value = serde_json::from_slice(output.body().as_ref()).unwrap();
    assert_eq!(body["images"].as_array().unwrap().len(), 1);
    invoke(&h.bedrock(ADMIN, "eu-west-1"), TITAN).await.unwrap();

    // Same role, another region: the foundation-model ARN of eu-west-1 is not in the policy.
    // AccessDeniedException is modelled for InvokeModel, so the SDK gives the typed variant.
    let error = invoke(&h.bedrock(IMAGES, "eu-west-1"), TITAN)
        .await
        .unwrap_err();
    let service_error = error.as_service_error().expect("a service error");
    assert!(
        service_error.is_access_denied_exception(),
        "{service_error:?}"
    );
    assert_eq!(service_error.code(), Some("AccessDeniedException"));
    assert_eq!(
        service_error.message(),
        Some(
            denial(
                &session_arn("generate-background-role"),
                "bedrock:InvokeModel",
                &format!("arn:aws:bedrock:eu-west-1::foundation-model/{TITAN}")
            )
            .as_str()
        )
    );

    // An inference profile id is evaluated as the profile's ARN in the caller's account.
    let profile = "us.amazon.nova-canvas-v1:0";
    let error = invoke(&h.bedrock(NO_PERSONALIZE, "us-east-1"), profile)
        .await
        .unwrap_err();
    assert!(error
        .as_service_error()
        .unwrap()
        .is_access_denied_exception());
    assert!(error.message().unwrap().contains(
        "on resource: arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-canvas-v1:0 "
    ));
    // Allowed on the profile: the request reaches the model.
    invoke(&h.bedrock(IMAGES, "us-east-1"), profile)
        .await
        .unwrap();

    // A model ARN is its own resource.
    let arn = format!("arn:aws:bedrock:us-east-1::foundation-model/{TITAN}");
    invoke(&h.bedrock(IMAGES, "us-east-1"), &arn).await.unwrap();
    let other = "arn:aws:bedrock:us-west-2::foundation-model/amazon.titan-image-generator-v1";
    let error = invoke(&h.bedrock(IMAGES, "us-east-1"), other)
        .await
        .unwrap_err();
    assert!(error
        .message()
        .unwrap()
        .contains(&format!("on resource: {other} ")));

    let error = invoke(&h.bedrock("ASIAUNKNOWN", "us-east-1"), TITAN)
        .await
        .unwrap_err();
    assert_eq!(error.code(), Some("UnrecognizedClientException"));
    assert_eq!(
        error.message(),
        Some("The security token included in the request is invalid.")
    );

    let log = h.admin("/_emulator/bedrock/requests").await;
    assert_eq!(log["succeeded"], 4, "{log}");
    assert_eq!(log["rejected"], 4, "{log}");
}

/// A Stable Image Inpaint body whose prompt makes the emulator answer without painting the
/// 4-megapixel image (a finish reason): enough to show the call reached the model.
fn inpaint_body() -> Vec<u8> {
    let mut bytes = std::io::Cursor::new(Vec::new());
    RgbImage::from_pixel(64, 64, image::Rgb([200, 20, 30]))
        .write_to(&mut bytes, ImageFormat::Png)
        .unwrap();
    json!({
        "image": STANDARD.encode(bytes.into_inner()),
        "prompt": "a beach [emulator finish reason: Inference error]"
    })
    .to_string()
    .into_bytes()
}

async fn invoke_inpaint(
    client: &bedrock::Client,
    model_id: &str,
) -> Result<
    bedrock::operation::invoke_model::InvokeModelOutput,
    bedrock::error::SdkError<bedrock::operation::invoke_model::InvokeModelError>,
> {
    invoke_with(client, model_id, inpaint_body()).await
}

#[tokio::test]
async fn a_us_inference_profile_needs_the_foundation_model_in_every_destination_region() {
    let h = Harness::start().await;

    // Allowed on the profile and on the foundation model in us-east-1, us-east-2, us-west-2.
    let output = invoke_inpaint(&h.bedrock(STABILITY, "us-east-1"), INPAINT_PROFILE)
        .await
        .unwrap();
    let body: Value = serde_json::from_slice(output.body().as_ref()).unwrap();
    assert_eq!(body, json!({"finish_reasons": ["Inference error"]}));
    // Its ARN is checked the same way.
    let profile_arn =
        format!("arn:aws:bedrock:us-east-1:{ACCOUNT}:inference-profile/{INPAINT_PROFILE}");
    invoke_inpaint(&h.bedrock(STABILITY, "us-east-1"), &profile_arn)
        .await
        .unwrap();

    // The same profile without the us-west-2 foundation model: denied, naming it.
    let error = invoke_inpaint(&h.bedrock(STABILITY_NO_WEST, "us-east-1"), INPAINT_PROFILE)
        .await
        .unwrap_err();
    let service_error = error.as_service_error().expect("a service error");
    assert!(
        service_error.is_access_denied_exception(),
        "{service_error:?}"
    );
    assert_eq!(
        service_error.message(),
        Some(
            denial(
                &session_arn("inpaint-east-role"),
                "bedrock:InvokeModel",
                &format!("arn:aws:bedrock:us-west-2::foundation-model/{INPAINT_MODEL}")
            )
            .as_str()
        )
    );
    // Without the profile itself: denied on the profile first.
    let error = invoke_inpaint(&h.bedrock(IMAGES, "us-east-1"), INPAINT_PROFILE)
        .await
        .unwrap_err();
    assert!(error.message().unwrap().contains(&format!(
        "on resource: arn:aws:bedrock:us-east-1:{ACCOUNT}:inference-profile/{INPAINT_PROFILE} "
    )));

    // The profile exists only in US regions: from eu-west-1 even an admin gets 400.
    let error = invoke_inpaint(&h.bedrock(ADMIN, "eu-west-1"), INPAINT_PROFILE)
        .await
        .unwrap_err();
    let service_error = error.as_service_error().unwrap();
    assert!(service_error.is_validation_exception(), "{service_error:?}");
    assert_eq!(
        service_error.message(),
        Some("The provided model identifier is invalid.")
    );

    let log = h.admin("/_emulator/bedrock/requests").await;
    assert_eq!(log["succeeded"], 2, "{log}");
    assert_eq!(log["withFinishReason"], 2, "{log}");
    assert_eq!(log["rejected"], 3, "{log}");
}

#[tokio::test]
async fn without_a_principals_file_nothing_is_checked() {
    let emulator = mlpipe_emulator::spawn(Config::default()).await.unwrap();
    let response = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
        .post(format!("{}/recommendations", emulator.base_url()))
        .header("content-type", "application/json")
        .body(json!({"campaignArn": CAMPAIGN, "userId": "u"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

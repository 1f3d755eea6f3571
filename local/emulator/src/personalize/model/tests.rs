//! The Personalize models as the emulator uses them: what they require, the limits the emulator
//! adds from their documentation, and verdicts that follow an edited model.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use super::{Models, EVENTS_SERVICE, RUNTIME_SERVICE};
use crate::botocore::{self, shapes::Kind};
use crate::personalize::events::RESERVED_EVENT_PROPERTIES;
use crate::personalize::runtime::{
    MAX_METADATA_COLUMNS, MAX_RESULTS, MAX_RESULTS_WITH_METADATA, METADATA_DATASET_TYPE,
};
use crate::personalize::{test_models, Operation};

fn verdict(models: &Models, op: Operation, body: &Value) -> Result<(), String> {
    models
        .check(op, body.as_object().unwrap())
        .map_err(|e| format!("{} {}", e.error_type, e.message))
}

fn event() -> Value {
    json!({"eventType": "click", "sentAt": 1_715_674_530.5, "itemId": "i"})
}

fn put_events(events: usize) -> Value {
    json!({"trackingId": "t", "sessionId": "s", "eventList": vec![event(); events]})
}

#[test]
fn the_models_describe_the_served_api() {
    let models = test_models();
    for op in Operation::ALL {
        let model = models.service(op);
        let found = model.operation(op.name()).unwrap();
        assert_eq!(
            (found.http_method.as_str(), found.request_uri.as_str()),
            ("POST", op.route())
        );
        // The only validation error the model declares for each of them.
        assert_eq!(model.validation_error(op.name()), "InvalidInputException");
    }
    let described = models.describe();
    assert!(described["events"]["source"]
        .as_str()
        .unwrap()
        .contains(EVENTS_SERVICE));
    assert!(described["runtime"]["source"]
        .as_str()
        .unwrap()
        .contains(RUNTIME_SERVICE));
}

/// `{}` is missing exactly the members each input structure requires, as the model lists them.
#[test]
fn every_operation_is_checked_for_the_members_its_model_requires() {
    let models = test_models();
    for op in Operation::ALL {
        let model = models.service(op);
        let input = model.operation(op.name()).unwrap().input.clone().unwrap();
        let Kind::Structure(s) = &model.shape(&input).unwrap().kind else {
            panic!("{input}")
        };
        let required: BTreeSet<String> = s.required.iter().cloned().collect();
        let missing: BTreeSet<String> = model
            .check_request(
                op.name(),
                &serde_json::Map::new(),
                botocore::Unknown::Ignore,
            )
            .unwrap()
            .into_iter()
            .inspect(|v| assert!(v.null, "{v}"))
            .map(|v| v.path)
            .collect();
        assert_eq!(missing, required, "{}", op.name());
        if op.api() == crate::personalize::Api::Events {
            assert!(!required.is_empty(), "{}", op.name());
        }
    }
}

/// The ARN pattern of both models, matched against whole values.
#[test]
fn arn_pattern() {
    let models = test_models();
    for model in [&models.events, &models.runtime] {
        let arn = model.shape("Arn").unwrap().pattern.as_ref().unwrap();
        assert_eq!(arn.source(), r"arn:([a-z\d-]+):personalize:.*:.*:.+");
        for ok in [
            "arn:aws:personalize:us-east-1:123456789012:dataset/group/ITEMS",
            "arn:aws-cn:personalize:cn-north-1:1:campaign/x",
            "arn:aws:personalize:::x",
        ] {
            assert!(arn.matches(ok), "{ok}");
        }
        for bad in [
            "",
            "campaign",
            "arn:aws:s3:us-east-1:1:bucket",
            "arn:AWS:personalize:us-east-1:1:campaign/x",
            "arn:aws:personalize:us-east-1:1:",
            "arn:aws:personalize:us-east-1",
            "arn::personalize:a:b:c",
            "xarn:aws:personalize:us-east-1:1:campaign/x",
        ] {
            assert!(!arn.matches(bad), "{bad}");
        }
    }
}

#[test]
fn violations_are_gathered_in_one_message() {
    let mut body = put_events(11);
    body["trackingId"] = json!("");
    body.as_object_mut().unwrap().remove("sessionId");
    let message = verdict(&test_models(), Operation::PutEvents, &body).unwrap_err();
    assert!(
        message.starts_with("InvalidInputException 3 validation errors detected: "),
        "{message}"
    );
    for part in [
        "Value at 'trackingId' failed to satisfy constraint: Member must have length greater than or equal to 1",
        "Value null at 'sessionId' failed to satisfy constraint: Member must not be null",
        "Value at 'eventList' failed to satisfy constraint: Member must have length less than or equal to 10",
    ] {
        assert!(message.contains(part), "{part} not in {message}");
    }
}

/// The documentation of a member, tags removed and spaces collapsed.
fn documentation(model: &botocore::ServiceModel, shape: &str, member: &str) -> String {
    let doc = &model.member(shape, member).unwrap().documentation;
    let mut text = String::new();
    let mut in_tag = false;
    for c in doc.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                text.push(' ');
            }
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The limits the emulator adds to the model are the ones the model's documentation (the API
/// reference's prose) states.
#[test]
fn limits_beyond_the_model_match_its_documentation() {
    let models = test_models();
    for (shape, member) in [
        ("GetRecommendationsRequest", "numResults"),
        ("GetPersonalizedRankingRequest", "inputList"),
    ] {
        let doc = documentation(&models.runtime, shape, member);
        for needle in [
            format!("If you are including metadata in recommendations, the maximum is {MAX_RESULTS_WITH_METADATA}."),
            format!("Otherwise, the maximum is {MAX_RESULTS}."),
        ] {
            assert!(doc.contains(&needle), "{shape}.{member}: {needle:?} not in {doc:?}");
        }
    }
    for shape in ["GetRecommendationsRequest", "GetPersonalizedRankingRequest"] {
        let doc = documentation(&models.runtime, shape, "metadataColumns");
        for needle in [
            format!("The map key is {METADATA_DATASET_TYPE}"),
            format!("The maximum number of columns you can provide is {MAX_METADATA_COLUMNS}."),
        ] {
            assert!(doc.contains(&needle), "{shape}: {needle:?} not in {doc:?}");
        }
    }
    let doc = documentation(&models.events, "Event", "properties");
    let (_, reserved) = doc
        .split_once("can't be included as a keyword for properties (case insensitive).")
        .unwrap_or_else(|| panic!("{doc}"));
    let listed: Vec<&str> = reserved.split_whitespace().collect();
    assert_eq!(listed, RESERVED_EVENT_PROPERTIES, "{doc}");
}

/// Where the emulator adds a limit, the model has none (or a looser one): if a model release
/// states it, the hand-written check should go.
#[test]
fn the_model_is_silent_where_the_emulator_adds_a_limit() {
    let runtime = &test_models().runtime;
    let num_results = runtime.shape("NumResults").unwrap();
    assert_eq!(num_results.min.as_ref().and_then(|n| n.as_i64()), Some(0));
    assert!(num_results.max.is_none());
    assert!(runtime.shape("InputList").unwrap().max.is_none());
    let columns = runtime.shape("ColumnNamesList").unwrap();
    assert!(columns.max.as_ref().and_then(|n| n.as_u64()) > Some(MAX_METADATA_COLUMNS as u64));
    assert!(runtime.shape("DatasetType").unwrap().enum_values.is_empty());
}

/// A copy of the real models with `edit` applied, loaded as the emulator loads them.
fn edited(edit: impl FnOnce(&mut Value, &mut Value)) -> (tempfile::TempDir, Models) {
    let data = botocore::locate_data(None).unwrap();
    let read = |service: &str| -> Value {
        serde_json::from_str(&botocore::read_service_json(&data, service).unwrap().1).unwrap()
    };
    let (mut events, mut runtime) = (read(EVENTS_SERVICE), read(RUNTIME_SERVICE));
    edit(&mut events, &mut runtime);
    let dir = tempfile::tempdir().unwrap();
    for (service, model) in [(EVENTS_SERVICE, &events), (RUNTIME_SERVICE, &runtime)] {
        let version = model["metadata"]["apiVersion"].as_str().unwrap();
        let path = dir.path().join(service).join(version);
        std::fs::create_dir_all(&path).unwrap();
        std::fs::write(path.join("service-2.json"), model.to_string()).unwrap();
    }
    let models = Models::load(dir.path()).unwrap();
    (dir, models)
}

/// The verdicts follow the model: each body the real model rejects passes once a copy of the
/// model says otherwise.
#[test]
fn a_changed_model_changes_the_verdict() {
    let mut eleven = put_events(11);
    eleven["eventList"][0]["impression"] = json!(vec!["i"; 26]);
    eleven["eventList"][1]["itemId"] = json!("i".repeat(257));
    eleven.as_object_mut().unwrap().remove("sessionId");
    let users = json!({"datasetArn": "arn:aws:s3:::bucket", "users": [{"userId": "u"}]});
    let recs = json!({"campaignArn": "arn:aws:personalize:us-east-1:1:campaign/c",
                      "userId": "u", "context": {"device-type": "phone"}});
    let real = test_models();
    let message = verdict(&real, Operation::PutEvents, &eleven).unwrap_err();
    assert!(message.contains("4 validation errors"), "{message}");
    assert!(verdict(&real, Operation::PutUsers, &users).is_err());
    assert!(verdict(&real, Operation::GetRecommendations, &recs).is_err());

    let (_dir, changed) = edited(|events, runtime| {
        let shapes = &mut events["shapes"];
        shapes["EventList"]["max"] = json!(11);
        shapes["Impression"]["max"] = json!(30);
        shapes["ItemId"]["max"] = json!(300);
        shapes["PutEventsRequest"]["required"] = json!(["trackingId", "eventList"]);
        shapes["Arn"]["pattern"] = json!("arn:.*");
        runtime["shapes"]["AttributeName"]["pattern"] = json!("[A-Za-z\\d_-]+");
    });
    assert_eq!(verdict(&changed, Operation::PutEvents, &eleven), Ok(()));
    assert_eq!(verdict(&changed, Operation::PutUsers, &users), Ok(()));
    assert_eq!(
        verdict(&changed, Operation::GetRecommendations, &recs),
        Ok(())
    );

    // And the other way: a tighter model rejects what the real one accepts.
    let one = put_events(1);
    assert_eq!(verdict(&real, Operation::PutEvents, &one), Ok(()));
    let (_dir, tighter) = edited(|events, _| {
        events["shapes"]["StringType"]["max"] = json!(0);
    });
    let message = verdict(&tighter, Operation::PutEvents, &one).unwrap_err();
    assert!(
        message.contains("'eventList.1.member.eventType'"),
        "{message}"
    );
    assert!(message.contains("less than or equal to 0"), "{message}");
}

/// A model that no longer describes what the emulator serves is refused at start.
#[test]
fn a_model_for_another_api_is_refused() {
    let data = botocore::locate_data(None).unwrap();
    let read = |service: &str| -> Value {
        serde_json::from_str(&botocore::read_service_json(&data, service).unwrap().1).unwrap()
    };
    let mut events = read(EVENTS_SERVICE);
    events["operations"]["PutEvents"]["http"]["requestUri"] = json!("/v2/events");
    let dir = tempfile::tempdir().unwrap();
    for (service, model) in [
        (EVENTS_SERVICE, events),
        (RUNTIME_SERVICE, read(RUNTIME_SERVICE)),
    ] {
        let path = dir.path().join(service).join("2099-01-01");
        std::fs::create_dir_all(&path).unwrap();
        std::fs::write(path.join("service-2.json"), model.to_string()).unwrap();
    }
    let error = Models::load(dir.path()).unwrap_err().to_string();
    assert!(error.contains("PutEvents is POST /v2/events"), "{error}");
}

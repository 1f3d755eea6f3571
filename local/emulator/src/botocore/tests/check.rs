use serde_json::{json, Value};

use super::{model, model_from, model_json};
use crate::botocore::check::message;
use crate::botocore::{ServiceModel, Unknown, Violation};

/// A valid body with `extra` members merged in.
fn body(extra: Value) -> Value {
    let mut body = json!({"name": "ab1", "items": [{"id": "x"}]});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

/// The violations, sorted (the order follows the model's member order).
fn violations_in(model: &ServiceModel, body: &Value, unknown: Unknown) -> Vec<String> {
    let mut found: Vec<String> = model
        .check_input("Put", body, unknown)
        .unwrap()
        .iter()
        .map(ToString::to_string)
        .collect();
    found.sort();
    found
}

fn violations(body: &Value) -> Vec<String> {
    violations_in(&model(), body, Unknown::Ignore)
}

/// The one violation `extra` causes, as `'<path>' ...: <constraint>`.
fn only(extra: Value) -> String {
    let found = violations(&body(extra.clone()));
    assert_eq!(found.len(), 1, "{extra}: {found:?}");
    found[0].clone()
}

fn ok(extra: Value) {
    let found = violations(&body(extra.clone()));
    assert!(found.is_empty(), "{extra}: {found:?}");
}

#[test]
fn a_valid_body_has_no_violation() {
    ok(json!({
        "pair": "ab", "count": 10, "big": 4_611_686_018_427_387_904_i64, "small": -128,
        "ratio": 1.5, "flag": false, "at": 1_715_674_530.123, "isoAt": "2024-05-14T08:15:30.5Z",
        "data": "YWJj", "sparseItems": [null, "a"], "tags": {"ab": "12345"}, "color": "GREEN",
        "choice": {"b": 0}, "doc": [1, {"any": "thing"}], "Renamed": "zz", "secret": "s"
    }));
}

#[test]
fn required_members_absent_or_null_are_missing() {
    assert_eq!(
        violations(&json!({})),
        [
            "Value null at 'items' failed to satisfy constraint: Member must not be null",
            "Value null at 'name' failed to satisfy constraint: Member must not be null",
        ]
    );
    assert_eq!(
        violations(&json!({"name": null, "items": [{"note": "a"}]})),
        [
            "Value null at 'items.1.member.id' failed to satisfy constraint: Member must not be null",
            "Value null at 'name' failed to satisfy constraint: Member must not be null",
        ]
    );
}

#[test]
fn members_bound_outside_the_body_are_not_looked_for() {
    // `Id` is required but travels in the URI, `Token` in a header.
    ok(json!({}));
    // A `locationName` renames the JSON key.
    assert_eq!(
        only(json!({"Renamed": "abcde"})),
        "Value at 'Renamed' failed to satisfy constraint: Member must have length less than or equal to 4"
    );
}

#[test]
fn unknown_members_are_ignored_or_rejected() {
    let body = body(json!({"nmae": "typo", "items": [{"id": "x", "extra": 1}], "renamed": "x"}));
    assert!(violations(&body).is_empty());
    assert_eq!(
        violations_in(&model(), &body, Unknown::Reject),
        [
            "Value at 'items.1.member.extra' failed to satisfy constraint: Member is not defined by the model",
            "Value at 'nmae' failed to satisfy constraint: Member is not defined by the model",
            "Value at 'renamed' failed to satisfy constraint: Member is not defined by the model",
        ]
    );
}

#[test]
fn each_type_takes_its_json_form() {
    let bad = [
        (
            json!({"name": 5}),
            "'name' failed to satisfy constraint: Member must be a string",
        ),
        (json!({"count": 3.5}), "Member must be an integer"),
        (json!({"count": "3"}), "Member must be an integer"),
        (json!({"small": 128}), "Member must fit in a 8-bit integer"),
        (json!({"small": -129}), "Member must fit in a 8-bit integer"),
        (
            json!({"big": 9_223_372_036_854_775_808_u64}),
            "Member must fit in a 64-bit integer",
        ),
        (json!({"ratio": "nan"}), "Member must be a number"),
        (json!({"ratio": true}), "Member must be a number"),
        (json!({"flag": "true"}), "Member must be a boolean"),
        (
            json!({"at": "2024-05-14T08:15:30Z"}),
            "'at' failed to satisfy constraint: Member must be a number",
        ),
        (
            json!({"isoAt": 1_715_674_530}),
            "Member must be an ISO 8601 timestamp",
        ),
        (
            json!({"isoAt": "2024-05-14 08:15"}),
            "Member must be an ISO 8601 timestamp",
        ),
        (json!({"data": "!!"}), "Member must be base64-encoded"),
        (json!({"data": 1}), "Member must be a base64-encoded string"),
        (
            json!({"items": {"id": "x"}}),
            "'items' failed to satisfy constraint: Member must be a list",
        ),
        (
            json!({"items": ["x"]}),
            "'items.1.member' failed to satisfy constraint: Member must be a structure",
        ),
        (json!({"tags": [["a", "b"]]}), "Member must be a map"),
        (json!({"choice": "a"}), "Member must be a structure"),
    ];
    for (extra, needle) in bad {
        let found = only(extra.clone());
        assert!(found.contains(needle), "{extra}: {found}");
    }
    for extra in [
        json!({"ratio": "NaN"}),
        json!({"ratio": "Infinity"}),
        json!({"ratio": "-Infinity"}),
        json!({"big": -9_223_372_036_854_775_808_i64}),
        json!({"small": 127}),
        json!({"at": 0}),
        json!({"doc": null}),
        json!({"doc": "text"}),
    ] {
        ok(extra);
    }
}

#[test]
fn string_lengths_take_the_stricter_count() {
    // max on UTF-16 code units: three emoji are 3 characters but 6 units (max 5).
    ok(json!({"pair": "😀😀"}));
    assert!(only(json!({"pair": "😀😀😀"}))
        .ends_with("Member must have length less than or equal to 5"));
    // min on Unicode scalar values: one emoji is 2 units but 1 character (min 2).
    assert!(
        only(json!({"pair": "😀"})).ends_with("Member must have length greater than or equal to 2")
    );
    ok(json!({"pair": "éé"}));
}

#[test]
fn list_map_and_blob_sizes() {
    assert_eq!(
        only(json!({"items": []})),
        "Value at 'items' failed to satisfy constraint: Member must have length greater than or equal to 1"
    );
    assert_eq!(
        only(json!({"items": [{"id": "a"}, {"id": "b"}, {"id": "c"}]})),
        "Value at 'items' failed to satisfy constraint: Member must have length less than or equal to 2"
    );
    assert_eq!(
        only(json!({"tags": {"a": "1", "b": "2", "c": "3"}})),
        "Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to 2"
    );
    // Blobs count decoded bytes: "YWJjZA==" is 4 bytes (max 3).
    assert!(only(json!({"data": "YWJjZA=="})).ends_with("less than or equal to 3"));
}

#[test]
fn number_ranges() {
    assert!(
        only(json!({"count": -1})).ends_with("Member must have value greater than or equal to 0")
    );
    assert!(only(json!({"count": 11})).ends_with("Member must have value less than or equal to 10"));
    assert!(
        only(json!({"ratio": 1.6})).ends_with("Member must have value less than or equal to 1.5")
    );
    ok(json!({"ratio": 0}));
}

#[test]
fn patterns_match_the_whole_value() {
    // "ab" inside "ab-" matches `[a-z\d]+`; the whole value does not.
    assert_eq!(
        only(json!({"name": "ab-"})),
        r"Value at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-z\d]+"
    );
    // Several constraints of one member are each reported.
    assert_eq!(violations(&body(json!({"name": "AB-CD"}))).len(), 2);
}

#[test]
fn enums() {
    assert_eq!(
        only(json!({"color": "BLUE"})),
        "Value at 'color' failed to satisfy constraint: Member must satisfy enum value set: [RED, GREEN]"
    );
}

#[test]
fn map_keys_and_values_are_said_of_the_map() {
    assert_eq!(
        only(json!({"tags": {"abcd": "x"}})),
        "Value at 'tags' failed to satisfy constraint: Map keys must satisfy constraint: [Member must have length less than or equal to 3]"
    );
    assert_eq!(
        only(json!({"tags": {"a1": "x"}})),
        "Value at 'tags' failed to satisfy constraint: Map keys must satisfy constraint: [Member must satisfy regular expression pattern: [A-Za-z]+]"
    );
    assert_eq!(
        only(json!({"tags": {"a": ""}})),
        "Value at 'tags' failed to satisfy constraint: Map value must satisfy constraint: [Member must have length greater than or equal to 1]"
    );
    assert_eq!(
        only(json!({"tags": {"a": null}})),
        "Value at 'tags' failed to satisfy constraint: Map value must satisfy constraint: [Member must not be null]"
    );
}

#[test]
fn null_entries_need_a_sparse_collection() {
    assert_eq!(
        only(json!({"items": [{"id": "a"}, null]})),
        "Value null at 'items.2.member' failed to satisfy constraint: Member must not be null"
    );
    ok(json!({"sparseItems": [null]}));
}

#[test]
fn a_union_has_exactly_one_member() {
    ok(json!({"choice": {"a": "x"}}));
    for choice in [json!({}), json!({"a": "x", "b": 1})] {
        assert_eq!(
            only(json!({ "choice": choice })),
            "Value at 'choice' failed to satisfy constraint: Union must have exactly one member set"
        );
    }
}

#[test]
fn values_are_never_echoed() {
    let found = violations(&body(json!({
        "name": "UNIQUENAME", "secret": "SECRETVALUE", "tags": {"KEYX": "VALUEVALUE"},
        "color": "CHARTREUSE"
    })))
    .join("; ");
    assert!(
        found.contains("'secret'") && found.contains("'name'"),
        "{found}"
    );
    for value in [
        "UNIQUENAME",
        "SECRETVALUE",
        "KEYX",
        "VALUEVALUE",
        "CHARTREUSE",
    ] {
        assert!(!found.contains(value), "{value} echoed: {found}");
    }
}

#[test]
fn messages_count_and_join_violations() {
    let one = Violation {
        path: "a".into(),
        constraint: "Member must not be null".into(),
        null: true,
    };
    let two = Violation {
        path: "b.1.member".into(),
        constraint: "Member must be a string".into(),
        null: false,
    };
    assert_eq!(
        message(std::slice::from_ref(&one)),
        "1 validation error detected: Value null at 'a' failed to satisfy constraint: Member must not be null"
    );
    assert_eq!(
        message(&[one, two]),
        "2 validation errors detected: Value null at 'a' failed to satisfy constraint: Member must not be null; \
         Value at 'b.1.member' failed to satisfy constraint: Member must be a string"
    );
}

#[test]
fn the_validation_error_is_the_one_the_operation_declares() {
    let model = model();
    assert_eq!(model.validation_error("Put"), "InvalidInputException");
    assert_eq!(model.validation_error("Strict"), "ValidationException");
    assert_eq!(model.validation_error("Bare"), "ValidationException");
    assert!(model
        .check_input("Nope", &json!({}), Unknown::Ignore)
        .is_none());
}

/// The verdict is the model's: the same body passes or fails as an edited model says.
#[test]
fn limits_come_from_the_model() {
    let long = body(json!({"name": "abcde", "count": 20, "color": "BLUE"}));
    assert_eq!(violations(&long).len(), 3);
    let mut edited = model_json();
    edited["shapes"]["Name"]["max"] = json!(5);
    edited["shapes"]["Count"]["max"] = json!(20);
    edited["shapes"]["Color"]["enum"] = json!(["RED", "GREEN", "BLUE"]);
    assert!(violations_in(&model_from(&edited), &long, Unknown::Ignore).is_empty());

    let mut edited = model_json();
    edited["shapes"]["PutRequest"]["required"] = json!(["name"]);
    edited["shapes"]["Name"]["pattern"] = json!("[A-Z]+");
    assert_eq!(
        violations_in(
            &model_from(&edited),
            &json!({"name": "ABC"}),
            Unknown::Ignore
        ),
        Vec::<String>::new()
    );
}

#[test]
fn a_model_naming_a_missing_shape_or_a_bad_pattern_is_refused() {
    let mut edited = model_json();
    edited["shapes"]["Items"]["member"]["shape"] = json!("Gone");
    let error = ServiceModel::from_json("m", &edited.to_string()).unwrap_err();
    assert!(error.to_string().contains("Gone"), "{error:#}");
    let mut edited = model_json();
    edited["shapes"]["Name"]["pattern"] = json!("(?=a)a");
    let error = ServiceModel::from_json("m", &edited.to_string()).unwrap_err();
    assert!(format!("{error:#}").contains("look-ahead"), "{error:#}");
}

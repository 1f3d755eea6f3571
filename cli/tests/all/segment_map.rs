//! `mlpipe segment map`, run as a process.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::{json, Value};

const SAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../events/segment");

fn sample(name: &str) -> String {
    Path::new(SAMPLES).join(name).to_str().unwrap().to_owned()
}

/// Runs `mlpipe segment map ARGS` with only `env` set (nothing leaks in from the test runner's
/// environment) and `stdin` on standard input.
fn map(args: &[&str], env: &[(&str, &str)], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mlpipe"))
        .args(["segment", "map"])
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run mlpipe");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

const TID: (&str, &str) = ("PERSONALIZE_TRACKING_ID", "tid-test");

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Every stdout line, parsed.
fn lines(o: &Output) -> Vec<Value> {
    String::from_utf8(o.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

#[test]
fn workshop_event_from_a_file_with_configuration_from_the_environment() {
    let o = map(
        &[&sample("segment_track_workshop_test_event.json")],
        &[TID],
        "",
    );
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    assert_eq!(
        lines(&o),
        [json!({
            "trackingId": "tid-test",
            "userId": "2941404340",
            "sessionId": "2941404340-anon",
            "eventList": [{
                "eventId": "test-message-33dlvn",
                // EVENT_TYPE_MAP unset: the built-in e-commerce mapping.
                "eventType": "Click",
                "itemId": "ocean-blue-shirt",
                "sentAt": 1551110105.905
            }]
        })]
    );
    assert_eq!(stderr(&o), "");
}

#[test]
fn environment_settings_apply() {
    let o = map(
        &[&sample("segment_track_product_viewed_recommended.json")],
        &[
            TID,
            ("EVENT_TYPE_MAP", r#"{"Product Viewed":"View"}"#),
            ("EVENT_VALUE_PATH", "price"),
            ("EVENT_PROPERTIES", "brand,currency"),
        ],
        "",
    );
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    let e = &lines(&o)[0]["eventList"][0];
    assert_eq!(e["eventType"], "View");
    assert_eq!(e["eventValue"], 18.99);
    assert_eq!(e["properties"], r#"{"brand":"Hasbro","currency":"USD"}"#);
    assert_eq!(e["recommendationId"], "RID-3c1a9f2e-77b4-4d");
    assert_eq!(e["impression"].as_array().unwrap().len(), 3);
}

#[test]
fn json_lines_print_the_valid_requests_and_report_the_rest() {
    let o = map(
        &[
            &sample("segment_batch.jsonl"),
            "--config",
            &sample("config.json"),
        ],
        &[],
        "",
    );
    assert_eq!(o.status.code(), Some(1), "some messages are invalid");
    let err = stderr(&o);
    let reports: Vec<&str> = err.lines().collect();
    assert_eq!(
        reports,
        [
            "message 1: warning: properties: 1530 UTF-16 code units, at most 1024: left out category",
            "message 2: ignored: alias messages are not interactions",
            "message 4: timestamp: missing (and no originalTimestamp, sentAt or receivedAt)",
            "1 of 6 messages invalid",
        ]
    );
    let out = lines(&o);
    assert_eq!(out.len(), 2, "one PutEvents and one PutUsers request");
    // Messages 0, 1 and 5 share a session: one request, in message order (message 1 without
    // the properties member that did not fit).
    assert_eq!(out[0]["trackingId"], "00000000-0000-4000-8000-000000000001");
    assert_eq!(out[0]["sessionId"], "anon-7");
    assert_eq!(out[0]["userId"], "user-7");
    let events = out[0]["eventList"].as_array().unwrap();
    assert_eq!(events.len(), 3);
    assert_eq!(events[0]["eventId"], "batch-0");
    assert_eq!(events[0]["eventType"], "Click");
    assert_eq!(events[0]["itemId"], "ocean-blue-shirt");
    assert_eq!(events[0]["properties"], r#"{"category":"Shirts"}"#);
    assert_eq!(events[0]["sentAt"], 1715673600.125);
    assert_eq!(events[1]["eventId"], "batch-1");
    assert_eq!(events[1]["itemId"], "p-1");
    assert!(events[1].get("properties").is_none());
    assert_eq!(events[2]["eventId"], "batch-5");
    assert_eq!(events[2]["eventType"], "View");
    assert_eq!(events[2]["sentAt"], 1715673605.5);
    assert_eq!(
        out[1],
        json!({
            "datasetArn": "arn:aws:personalize:us-east-1:123456789012:dataset/shop/USERS",
            "users": [{"userId": "user-7", "properties": "{\"plan\":\"pro\",\"logins\":\"12\",\"country\":\"FR\"}"}]
        })
    );
    // No property value reaches the report.
    assert!(!err.contains("xxxx") && !err.contains("example.com"));
}

#[test]
fn an_array_on_standard_input_is_one_batch() {
    let fixtures = [
        "segment_track_workshop_test_event.json",
        "segment_track_spec_full_example.json",
        "segment_page_spec_full_example.json",
        "segment_identify_spec_full_example.json",
        "segment_alias_example.json",
        "segment_group_example.json",
        "segment_track_order_completed.json",
        "segment_screen_example.json",
    ];
    let messages: Vec<Value> = fixtures
        .iter()
        .map(|f| serde_json::from_str(&std::fs::read_to_string(sample(f)).unwrap()).unwrap())
        .collect();
    let input = serde_json::to_string_pretty(&messages).unwrap();
    let o = map(&["-", "--config", &sample("config.json")], &[], &input);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    assert_eq!(
        stderr(&o).lines().collect::<Vec<_>>(),
        [
            "message 1: ignored: event type not in EVENT_TYPE_MAP",
            "message 4: ignored: alias messages are not interactions",
            "message 5: ignored: group messages are not interactions",
            "message 7: ignored: event type not in EVENT_TYPE_MAP",
        ]
    );
    let out = lines(&o);
    let put_events: Vec<&Value> = out
        .iter()
        .filter(|r| r.get("trackingId").is_some())
        .collect();
    let put_users: Vec<&Value> = out
        .iter()
        .filter(|r| r.get("datasetArn").is_some())
        .collect();
    assert_eq!(put_events.len() + put_users.len(), out.len());
    // Sessions: workshop, page spec (its own anonymousId/userId pair), order; the track spec's
    // "Course Clicked" and the screen are not in config.json's EVENT_TYPE_MAP.
    assert_eq!(put_events.len(), 3);
    assert_eq!(put_users.len(), 1);
    let order = put_events
        .iter()
        .find(|r| r["userId"] == "user-1234")
        .unwrap();
    let items: Vec<&str> = order["eventList"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["itemId"].as_str().unwrap())
        .collect();
    assert_eq!(
        items,
        ["507f1f77bcf86cd799439011", "505bd76785ebb509fc183733"]
    );
}

#[test]
fn a_message_with_many_products_needs_several_requests() {
    let products: Vec<Value> = (0..23)
        .map(|i| json!({"product_id": format!("p{i}"), "price": i}))
        .collect();
    let msg = json!({
        "type": "track", "event": "Order Completed", "messageId": "m", "anonymousId": "a",
        "timestamp": "2024-05-14T08:00:00Z", "properties": {"products": products}
    });
    let o = map(&["-"], &[TID], &msg.to_string());
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    let sizes: Vec<usize> = lines(&o)
        .iter()
        .map(|r| r["eventList"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, [10, 10, 3]);
}

#[test]
fn a_missing_tracking_id_is_named() {
    let o = map(
        &[&sample("segment_track_workshop_test_event.json")],
        &[],
        "",
    );
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("PERSONALIZE_TRACKING_ID"), "{err}");
    assert!(err.contains("--config"), "{err}");
    assert!(o.stdout.is_empty());

    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("c.json");
    std::fs::write(&conf, r#"{"EVENT_TYPE_MAP": {"a": "b"}}"#).unwrap();
    let o = map(
        &[
            &sample("segment_track_workshop_test_event.json"),
            "--config",
            conf.to_str().unwrap(),
        ],
        &[TID],
        "",
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "the file replaces the environment"
    );
    assert!(
        stderr(&o).contains("PERSONALIZE_TRACKING_ID"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn configuration_errors_name_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("c.json");
    std::fs::write(
        &conf,
        r#"{"PERSONALIZE_TRACKING_ID": "t", "ITEM_ID_PATH": "sku"}"#,
    )
    .unwrap();
    let o = map(
        &[
            &sample("segment_track_workshop_test_event.json"),
            "--config",
            conf.to_str().unwrap(),
        ],
        &[],
        "",
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("ITEM_ID_PATH: unknown setting"),
        "{}",
        stderr(&o)
    );

    let o = map(
        &[&sample("segment_track_workshop_test_event.json")],
        &[TID, ("EVENT_PROPERTIES", "userId")],
        "",
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("EVENT_PROPERTIES"), "{}", stderr(&o));
}

#[test]
fn unusable_input_fails() {
    let o = map(&["-"], &[TID], r#"[{"type":"track"} {"type":"page"}]"#);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("not well formed"), "{}", stderr(&o));

    let o = map(&["-"], &[TID], "  \n");
    assert_eq!(o.status.code(), Some(1));

    let o = map(&["/nonexistent/segment.json"], &[TID], "");
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("cannot read /nonexistent/segment.json"),
        "{}",
        stderr(&o)
    );

    let o = map(
        &["-"],
        &[TID],
        r#"{"type":"track","userId":"secret@example.com""#,
    );
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.starts_with("message 0: message: invalid JSON"), "{err}");
    assert!(!err.contains("secret"), "{err}");
}

#[test]
fn usage_errors_exit_2() {
    let o = map(&[], &[TID], "");
    assert_eq!(o.status.code(), Some(2));
}

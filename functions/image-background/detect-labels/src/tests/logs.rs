//! Logs: what the JSON lines carry, and what they never do.

use super::*;

#[tokio::test]
async fn logs_carry_the_key_length_not_the_key() {
    let h = handler(Ok(detection()));
    let mut ok = event(POST_EVENT);
    ok["requestContext"]["requestId"] = Value::from("log-test-ok");
    call(&h, request(&ok)).await;
    let mut bad = event(POST_EVENT);
    bad["requestContext"]["requestId"] = Value::from("log-test-bad");
    bad["body"] = Value::from(json!({"key": "private/payroll.png"}).to_string());
    call(&h, request(&bad)).await;

    let ok_lines = log_lines("log-test-ok");
    let bad_lines = log_lines("log-test-bad");
    for line in ok_lines.iter().chain(&bad_lines) {
        let text = line.to_string();
        assert!(!text.contains("product.png"), "{text}");
        assert!(!text.contains("payroll"), "{text}");
    }
    let detecting = ok_lines
        .iter()
        .find(|l| l["fields"]["message"] == "detecting labels")
        .unwrap_or_else(|| panic!("no detecting line in {ok_lines:?}"));
    assert_eq!(detecting["level"], "INFO");
    assert_eq!(detecting["fields"]["key_len"], KEY.len());
    assert_eq!(detecting["fields"]["max_labels"], 20);
    assert!(ok_lines
        .iter()
        .any(|l| l["fields"]["message"] == "labels detected" && l["fields"]["labels"] == 4));
    assert!(
        bad_lines
            .iter()
            .any(|l| l["level"] == "WARN" && l["fields"]["status"] == 400),
        "{bad_lines:?}"
    );
}

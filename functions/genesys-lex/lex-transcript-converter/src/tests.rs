//! Handler tests; `real_inputs` holds those built from the unusual documents of
//! `events/genesys/fixtures/`.

mod real_inputs;

use serde_json::{json, Value};
use shared::store::MemoryStore;
use shared::ErrorKind;

use super::*;

const RAW: &str = "mlpipe-genesys-raw";
const OUT: &str = "mlpipe-lex-transcripts";
const EVENT: &str = include_str!("../../../../events/s3/genesys-raw-object-created.json");
const ORDER: &str = include_str!("../../../../events/genesys/transcripts/01-order-status.json");
const SPANISH: &str =
    include_str!("../../../../events/genesys/transcripts/04-address-change-es-us.json");
const ORDER_KEY: &str =
    "genesys/e88b7591-31db-4e32-98dc-b35f94c662cd/5bd21b6a-ec89-47a6-8a0a-c984f71ab247.json";
const ORDER_OUT: &str =
    "lex-designer/e88b7591-31db-4e32-98dc-b35f94c662cd_analysis_2025-06-03T14:12:00Z.json";

fn config(extra: &[(&str, &str)]) -> Config {
    let mut vars = vec![("OUTPUT_BUCKET", OUT), ("RAW_BUCKET", RAW)];
    vars.extend_from_slice(extra);
    Config::from_source(&vars.as_slice()).unwrap()
}

fn converter() -> Converter<MemoryStore> {
    Converter::new(MemoryStore::new(), config(&[]))
}

/// The fixture event, pointing at `key` (given URL-encoded, as S3 sends it).
fn event(key: &str) -> Value {
    let mut e: Value = serde_json::from_str(EVENT).unwrap();
    e["Records"][0]["s3"]["object"]["key"] = json!(key);
    e
}

fn json_at(store: &MemoryStore, bucket: &str, key: &str) -> Value {
    let body = store
        .object(bucket, key)
        .unwrap_or_else(|| panic!("no s3://{bucket}/{key}; have {:?}", store.keys()));
    serde_json::from_slice(&body).unwrap()
}

#[tokio::test]
async fn converts_the_object_named_by_the_event() {
    let c = converter();
    c.store.insert(RAW, ORDER_KEY, ORDER);
    let out = c.handle(event(ORDER_KEY)).await.unwrap();
    assert_eq!(out["results"][0]["action"], "converted");
    assert_eq!(
        out["results"][0]["output"],
        format!("s3://{OUT}/{ORDER_OUT}")
    );
    let doc = json_at(&c.store, OUT, ORDER_OUT);
    assert_eq!(
        doc["CustomerMetadata"]["ContactId"],
        "e88b7591-31db-4e32-98dc-b35f94c662cd"
    );
    assert_eq!(doc["Version"], "1.1.0");
    assert_eq!(
        c.store.content_type(OUT, ORDER_OUT).as_deref(),
        Some("application/json")
    );
}

#[tokio::test]
async fn redelivery_rewrites_the_same_bytes() {
    let c = converter();
    c.store.insert(RAW, ORDER_KEY, ORDER);
    c.handle(event(ORDER_KEY)).await.unwrap();
    let first = c.store.object(OUT, ORDER_OUT).unwrap();
    c.handle(event(ORDER_KEY)).await.unwrap();
    assert_eq!(c.store.object(OUT, ORDER_OUT).unwrap(), first);
    assert_eq!(c.store.keys().iter().filter(|(b, _)| b == OUT).count(), 1);
}

#[tokio::test]
async fn communications_of_one_conversation_merge_into_one_file() {
    let c = converter();
    let doc = |comm: &str, text: &str, at: i64| {
        json!({"conversationId": "conv-9", "communicationId": comm, "conversationStartTime": 1_700_000_000_000_i64,
               "transcripts": [{"transcriptId": comm, "language": "en-US", "phrases": [
                   {"phraseIndex": 0, "participantPurpose": "external", "text": text, "startTimeMs": at}]}]})
        .to_string()
    };
    c.store.insert(
        RAW,
        "genesys/conv-9/b.json",
        doc("b", "after the transfer", 1_700_000_060_000),
    );
    c.store.insert(
        RAW,
        "genesys/conv-9/a.json",
        doc("a", "before the transfer", 1_700_000_001_000),
    );
    c.handle(event("genesys/conv-9/b.json")).await.unwrap();
    let out = json_at(
        &c.store,
        OUT,
        "lex-designer/conv-9_analysis_2023-11-14T22:13:20Z.json",
    );
    let texts: Vec<&str> = out["Transcript"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["Content"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["before the transfer", "after the transfer"]);
}

/// A store whose first write to the output bucket lands another document in the raw bucket
/// first: the second leg of a transfer arriving while the first leg's event is converted.
struct LegArrivesMidway {
    inner: MemoryStore,
    leg: std::sync::Mutex<Option<(String, String)>>,
}

impl ObjectStore for LegArrivesMidway {
    async fn get(&self, bucket: &str, key: &str) -> Result<Bytes, PipelineError> {
        self.inner.get(bucket, key).await
    }

    async fn put(
        &self,
        bucket: &str,
        key: &str,
        body: Bytes,
        content_type: &str,
    ) -> Result<(), PipelineError> {
        if bucket == OUT {
            if let Some((leg_key, leg)) = self.leg.lock().unwrap().take() {
                self.inner.insert(RAW, &leg_key, leg);
            }
        }
        self.inner.put(bucket, key, body, content_type).await
    }

    async fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<String>, PipelineError> {
        self.inner.list(bucket, prefix).await
    }
}

/// Two legs of a transferred call whose objects arrive at the same moment: the event of the
/// first leg, converting while the second lands, converts again, so the file has every turn
/// whichever invocation writes last; the second leg's event writes the same bytes.
#[tokio::test]
async fn legs_arriving_at_once_converge_to_one_file_with_every_turn() {
    let doc = |comm: &str, text: &str, at: i64| {
        json!({"conversationId": "conv-7", "communicationId": comm, "conversationStartTime": 1_700_000_000_000_i64,
               "transcripts": [{"transcriptId": comm, "language": "en-US", "phrases": [
                   {"phraseIndex": 0, "participantPurpose": "external", "text": text, "startTimeMs": at}]}]})
        .to_string()
    };
    let store = LegArrivesMidway {
        inner: MemoryStore::new(),
        leg: std::sync::Mutex::new(Some((
            "genesys/conv-7/b.json".into(),
            doc("b", "after the transfer", 1_700_000_060_000),
        ))),
    };
    store.inner.insert(
        RAW,
        "genesys/conv-7/a.json",
        doc("a", "before the transfer", 1_700_000_001_000),
    );
    let c = Converter::new(store, config(&[]));
    let output = "lex-designer/conv-7_analysis_2023-11-14T22:13:20Z.json";
    let texts = |c: &Converter<LegArrivesMidway>| -> Vec<String> {
        json_at(&c.store.inner, OUT, output)["Transcript"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["Content"].as_str().unwrap().to_owned())
            .collect()
    };
    let out = c.handle(event("genesys/conv-7/a.json")).await.unwrap();
    assert_eq!(out["results"][0]["action"], "converted", "{out}");
    assert_eq!(texts(&c), ["before the transfer", "after the transfer"]);
    let first = c.store.inner.object(OUT, output).unwrap();
    c.handle(event("genesys/conv-7/b.json")).await.unwrap();
    assert_eq!(
        c.store.inner.object(OUT, output).unwrap(),
        first,
        "the same bytes"
    );
}

#[tokio::test]
async fn malformed_documents_are_quarantined_with_the_field() {
    let c = converter();
    let key = "genesys/conv-x/comm-x.json";
    c.store
        .insert(RAW, key, r#"{"conversationId": 7, "transcripts": []}"#);
    let out = c.handle(event(key)).await.unwrap();
    assert_eq!(out["results"][0]["action"], "quarantined");
    assert!(c.store.object(RAW, key).is_some(), "the original stays");
    assert_eq!(
        c.store
            .object(RAW, "failed/genesys/conv-x/comm-x.json")
            .unwrap(),
        c.store.object(RAW, key).unwrap()
    );
    let reason = json_at(
        &c.store,
        RAW,
        "failed/genesys/conv-x/comm-x.json.error.json",
    );
    assert_eq!(reason["errorType"], "InvalidInput");
    assert_eq!(reason["field"], "conversationId");
    assert_eq!(reason["source"], format!("s3://{RAW}/{key}"));
    assert!(
        reason["error"]
            .as_str()
            .unwrap()
            .starts_with("conversationId: invalid type"),
        "{reason}"
    );
    assert!(c.store.keys().iter().all(|(b, _)| b != OUT));
}

#[tokio::test]
async fn non_english_conversations_are_skipped_with_a_reason_file() {
    let c = converter();
    let key = "genesys/e4039782-67e5-43c9-ae73-35a01662e2ce/x.json";
    c.store.insert(RAW, key, SPANISH);
    let out = c.handle(event(key)).await.unwrap();
    assert_eq!(out["results"][0]["action"], "skipped");
    let note = json_at(&c.store, RAW, &format!("skipped/{key}.reason.json"));
    assert!(note["reason"].as_str().unwrap().contains("es-US"));
    assert_eq!(
        note["conversationId"],
        "e4039782-67e5-43c9-ae73-35a01662e2ce"
    );
}

#[tokio::test]
async fn keys_are_url_decoded() {
    let c = converter();
    c.store.insert(RAW, "genesys/conv 1/a b.json", r#"{"conversationId":"c1","conversationStartTime":0,"transcripts":[{"phrases":[{"text":"hi","startTimeMs":0}]}]}"#);
    let out = c.handle(event("genesys/conv+1/a+b.json")).await.unwrap();
    assert_eq!(out["results"][0]["action"], "converted");
    assert_eq!(
        shared::store::decode_event_key("a%2Fb+c%C3%A9").unwrap(),
        "a/b cé"
    );
}

#[tokio::test]
async fn objects_outside_the_raw_prefix_are_ignored() {
    let c = converter();
    for key in ["failed/genesys/c/m.json", "genesys/c/m.txt"] {
        let out = c.handle(event(key)).await.unwrap();
        assert_eq!(out["results"][0]["action"], "ignored", "{key}");
    }
    assert_eq!(c.store.put_count(), 0);
}

#[tokio::test]
async fn storage_failures_are_retryable_and_a_missing_object_is_not() {
    let c = converter();
    let err = c.handle(event("genesys/c/gone.json")).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput);

    c.store.insert(RAW, ORDER_KEY, ORDER);
    c.store
        .fail_puts_with(PipelineError::retryable("writing: SlowDown"));
    let err = c.handle(event(ORDER_KEY)).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Retryable);
    assert_eq!(shared::runtime::diagnostic(err).error_type, "Retryable");
}

#[tokio::test]
async fn unknown_events_are_rejected_by_name() {
    let err = converter().handle(json!({"hello": 1})).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput);
    assert!(err.message.contains("Records"));
    let err = converter()
        .handle(json!({"Records": [{"s3": 1}]}))
        .await
        .unwrap_err();
    assert!(
        err.message.starts_with("event: not an S3 notification"),
        "{err}"
    );
}

#[tokio::test]
async fn log_lines_carry_the_object_and_the_conversation_in_spans() {
    let capture = shared::logging::capture::global_json();
    let c = converter();
    let key = "genesys/span-test/comm.json";
    c.store.insert(
        RAW,
        key,
        r#"{"conversationId":"span-test","conversationStartTime":0,"transcripts":[{"phrases":[{"text":"hi","startTimeMs":0}]}]}"#,
    );
    c.handle(event(key)).await.unwrap();
    let converted = capture
        .text()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("JSON log line"))
        .find(|l| {
            l["fields"]["message"] == "converted" && l["span"]["conversation_id"] == "span-test"
        })
        .unwrap_or_else(|| panic!("no converted line in {}", capture.text()));
    assert_eq!(converted["span"]["name"], "conversation");
    assert_eq!(converted["spans"][0]["name"], "object");
    assert_eq!(converted["spans"][0]["key"], key);
    assert_eq!(converted["spans"][0]["bucket"], RAW);
}

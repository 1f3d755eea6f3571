use std::sync::Mutex;
use std::time::Duration;

use base64::Engine as _;
use serde_json::{json, Value};
use shared::image::target_size;
use shared::store::MemoryStore;
use shared::ErrorKind;

use super::*;

const UPLOAD: &str = "mlpipe-uploads";
const OUT: &str = "mlpipe-generated";
const PRODUCT: &[u8] = include_bytes!("../../../events/images/product-640x480.png");
const PORTRAIT_JPEG: &[u8] = include_bytes!("../../../events/images/portrait-600x900.jpg");
const KEY: &str = "uploads/job-1/product.png";

/// What the fake model answers.
#[derive(Debug, Clone)]
enum Answer {
    /// `numberOfImages` copies of the request's (fitted, PNG) image.
    Echo,
    /// `{"images": [], "error": <message>}`.
    ModelError(String),
    /// One JPEG image.
    Jpeg,
    /// The call fails.
    Fail(PipelineError),
}

#[derive(Debug)]
struct FakeModel {
    answer: Mutex<Answer>,
    calls: Mutex<Vec<(String, Value)>>,
}

impl FakeModel {
    fn new(answer: Answer) -> Self {
        Self {
            answer: Mutex::new(answer),
            calls: Mutex::new(Vec::new()),
        }
    }
}

impl ImageModel for FakeModel {
    async fn invoke(&self, model_id: &str, body: Vec<u8>) -> Result<Vec<u8>, PipelineError> {
        let request: Value = serde_json::from_slice(&body).expect("the request is JSON");
        self.calls
            .lock()
            .unwrap()
            .push((model_id.to_owned(), request.clone()));
        let answer = self.answer.lock().unwrap().clone();
        let b64 = base64::engine::general_purpose::STANDARD;
        let response = match answer {
            Answer::Echo => {
                let n = request["imageGenerationConfig"]["numberOfImages"]
                    .as_u64()
                    .unwrap() as usize;
                let image = request["outPaintingParams"]["image"].clone();
                json!({"images": vec![image; n], "error": null})
            }
            Answer::ModelError(msg) => json!({"images": [], "error": msg}),
            Answer::Jpeg => json!({"images": [b64.encode(PORTRAIT_JPEG)], "error": null}),
            Answer::Fail(err) => return Err(err),
        };
        Ok(serde_json::to_vec(&response).unwrap())
    }
}

fn config(extra: &[(&str, &str)]) -> Config {
    let mut vars = vec![("UPLOAD_BUCKET", UPLOAD), ("GENERATED_BUCKET", OUT)];
    vars.extend_from_slice(extra);
    Config::from_source(&vars.as_slice()).unwrap()
}

fn generator(answer: Answer) -> Generator<MemoryStore, FakeModel> {
    let g = Generator::new(MemoryStore::new(), FakeModel::new(answer), config(&[]));
    g.store.insert(UPLOAD, KEY, PRODUCT);
    g
}

fn event() -> Value {
    json!({
        "job": {
            "jobId": "job-1",
            "prompt": "a product on a marble kitchen counter, soft morning light",
            "negativePrompt": "people, text",
            "mode": "PRECISE",
            "numberOfImages": 3,
            "seed": 42
        },
        "image": {"key": KEY, "labels": ["Laptop", "Computer"]}
    })
}

fn is_png(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\x89PNG\r\n\x1a\n")
}

/// Width and height from a PNG's IHDR chunk.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert!(is_png(bytes));
    let w = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    (w, h)
}

async fn err_of(g: &Generator<MemoryStore, FakeModel>, event: Value) -> PipelineError {
    g.handle(event).await.unwrap_err()
}

#[test]
fn config_defaults_and_names_variables() {
    let c = config(&[]);
    assert_eq!(c.output_prefix, "generated/");
    assert_eq!(c.model_id, DEFAULT_MODEL_ID);
    assert_eq!(c.bedrock_max_attempts, 6);
    let err = Config::from_source(&[("GENERATED_BUCKET", "o")]).unwrap_err();
    assert_eq!(err.name, "UPLOAD_BUCKET");
    let err = Config::from_source(&[("UPLOAD_BUCKET", "u")]).unwrap_err();
    assert_eq!(err.name, "GENERATED_BUCKET");
    let err = Config::from_source(&[
        ("UPLOAD_BUCKET", "u"),
        ("GENERATED_BUCKET", "o"),
        ("MODEL_ID", "anthropic.claude-v2"),
    ])
    .unwrap_err();
    assert_eq!(err.name, "MODEL_ID");
    let err = Config::from_source(&[
        ("UPLOAD_BUCKET", "u"),
        ("GENERATED_BUCKET", "o"),
        ("BEDROCK_MAX_ATTEMPTS", "many"),
    ])
    .unwrap_err();
    assert_eq!(err.name, "BEDROCK_MAX_ATTEMPTS");
    let c = config(&[("GENERATED_PREFIX", "/out"), ("BEDROCK_MAX_ATTEMPTS", "3")]);
    assert_eq!(c.output_prefix, "out/");
    assert_eq!(c.bedrock_max_attempts, 3);
}

#[test]
fn output_keys_drop_the_extension_and_keep_folders() {
    assert_eq!(
        output_key("generated/", "j", "a/b/c.png", 0),
        "generated/j/a/b/c/0.png"
    );
    assert_eq!(output_key("", "j", "c.v2.jpg", 2), "j/c.v2/2.png");
    assert_eq!(output_key("g/", "j", "a.d/noext", 1), "g/j/a.d/noext/1.png");
    assert_eq!(
        output_key("g/", "j", "/x/.hidden", 0),
        "g/j/x/.hidden/0.png"
    );
}

#[tokio::test]
async fn saves_every_image_as_png_and_returns_a_small_payload() {
    let g = generator(Answer::Echo);
    let out = g.handle(event()).await.unwrap();
    let (w, h) = target_size(Model::TitanV2, 640, 480);
    assert_eq!((out.width, out.height), (w, h));
    assert_eq!(out.job_id, "job-1");
    assert_eq!(out.image_key, KEY);
    assert_eq!(out.model, DEFAULT_MODEL_ID);
    let keys: Vec<_> = out.outputs.iter().map(|o| o.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "generated/job-1/uploads/job-1/product/0.png",
            "generated/job-1/uploads/job-1/product/1.png",
            "generated/job-1/uploads/job-1/product/2.png",
        ]
    );
    for o in &out.outputs {
        assert_eq!(o.bucket, OUT);
        let body = g.store.object(OUT, &o.key).unwrap();
        assert_eq!(png_size(&body), (w, h));
        assert_eq!(
            g.store.content_type(OUT, &o.key).as_deref(),
            Some("image/png")
        );
    }
    let payload = serde_json::to_vec(&out).unwrap();
    assert!(payload.len() < 1024, "{} bytes", payload.len());
    let v: Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(v["outputs"][0]["bucket"], OUT);
    assert_eq!(v["jobId"], "job-1");
    assert_eq!(v["imageKey"], KEY);

    // The request sent: labels as maskPrompt, options from the event.
    let calls = g.model.calls.lock().unwrap();
    let (model_id, req) = &calls[0];
    assert_eq!(model_id, DEFAULT_MODEL_ID);
    assert_eq!(req["taskType"], "OUTPAINTING");
    assert_eq!(req["outPaintingParams"]["maskPrompt"], "Laptop, Computer");
    assert_eq!(req["outPaintingParams"]["outPaintingMode"], "PRECISE");
    assert_eq!(req["outPaintingParams"]["negativeText"], "people, text");
    assert_eq!(req["imageGenerationConfig"]["seed"], 42);
    assert_eq!(req["imageGenerationConfig"]["numberOfImages"], 3);
}

#[tokio::test]
async fn mask_boxes_become_a_mask_image_and_the_event_model_overrides() {
    let g = generator(Answer::Echo);
    let mut e = event();
    e["image"] =
        json!({"key": KEY, "maskBoxes": [{"left": 0.25, "top": 0.2, "width": 0.5, "height": 0.6}]});
    e["job"]["model"] = json!("amazon.nova-canvas-v1:0");
    e["job"]["numberOfImages"] = json!(1);
    let out = g.handle(e).await.unwrap();
    assert_eq!(out.model, "amazon.nova-canvas-v1:0");
    assert_eq!(out.outputs.len(), 1);
    let calls = g.model.calls.lock().unwrap();
    let req = &calls[0].1;
    assert_eq!(calls[0].0, "amazon.nova-canvas-v1:0");
    assert!(req["outPaintingParams"]["maskImage"].is_string());
    assert!(req["outPaintingParams"].get("maskPrompt").is_none());
}

#[tokio::test]
async fn jpeg_answers_are_saved_as_png() {
    let g = generator(Answer::Jpeg);
    let out = g.handle(event()).await.unwrap();
    assert_eq!(out.outputs.len(), 1);
    let body = g.store.object(OUT, &out.outputs[0].key).unwrap();
    assert_eq!(png_size(&body), (600, 900));
}

#[tokio::test]
async fn a_model_error_fails_the_image() {
    let g = generator(Answer::ModelError(
        "This request has been blocked by our content filters.".into(),
    ));
    let err = err_of(&g, event()).await;
    assert_eq!(err.kind, ErrorKind::InvalidInput);
    assert!(err.message.contains("content filters"), "{}", err.message);
    assert!(err.message.contains(DEFAULT_MODEL_ID), "{}", err.message);
    assert!(g.store.keys().iter().all(|(b, _)| b != OUT));
}

#[tokio::test]
async fn model_failures_keep_their_kind() {
    for kind in [
        ErrorKind::Retryable,
        ErrorKind::Misconfigured,
        ErrorKind::InvalidInput,
    ] {
        let g = generator(Answer::Fail(PipelineError::new(kind, "invoking: nope")));
        let err = err_of(&g, event()).await;
        assert_eq!(err.kind, kind);
        assert!(err.message.contains(KEY), "{}", err.message);
    }
}

#[tokio::test]
async fn a_missing_image_is_invalid_input() {
    let g = generator(Answer::Echo);
    let mut e = event();
    e["image"]["key"] = json!("uploads/job-1/missing.png");
    let err = err_of(&g, e).await;
    assert_eq!(err.kind, ErrorKind::InvalidInput);
    assert!(err.message.contains("missing.png"), "{}", err.message);
    assert!(g.model.calls.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_file_that_is_not_an_image_is_invalid_input() {
    let g = generator(Answer::Echo);
    g.store.insert(UPLOAD, "uploads/notes.txt", "hello");
    let mut e = event();
    e["image"]["key"] = json!("uploads/notes.txt");
    let err = err_of(&g, e).await;
    assert_eq!(err.kind, ErrorKind::InvalidInput);
    assert!(err.message.contains("uploads/notes.txt"), "{}", err.message);
}

#[tokio::test]
async fn bad_event_fields_are_named() {
    let g = generator(Answer::Echo);
    let cases: Vec<(Value, &[&str])> = vec![
        (
            {
                let mut e = event();
                e["job"].as_object_mut().unwrap().remove("prompt");
                e
            },
            &["job", "prompt"],
        ),
        (
            {
                let mut e = event();
                e["job"]["prompt"] = json!("   ");
                e
            },
            &["job.prompt"],
        ),
        (
            {
                let mut e = event();
                e["job"]["prompt"] = json!(7);
                e
            },
            &["job.prompt"],
        ),
        (
            {
                let mut e = event();
                e["image"]["maskBoxes"] =
                    json!([{"left": 0.1, "top": 0.1, "width": 0.5, "height": 0.5}]);
                e
            },
            &["image.labels", "image.maskBoxes"],
        ),
        (
            {
                let mut e = event();
                e["image"].as_object_mut().unwrap().remove("labels");
                e
            },
            &["image.labels", "image.maskBoxes"],
        ),
        (
            {
                let mut e = event();
                e["job"]["jobId"] = json!("job/../1");
                e
            },
            &["job.jobId"],
        ),
        (
            {
                let mut e = event();
                e["job"]["jobId"] = json!("x".repeat(81));
                e
            },
            &["job.jobId"],
        ),
        (
            {
                let mut e = event();
                e["job"]["mode"] = json!("FAST");
                e
            },
            &["job.mode"],
        ),
        (
            {
                let mut e = event();
                e["job"]["model"] = json!("anthropic.claude-v2");
                e
            },
            &["job.model"],
        ),
        (
            {
                let mut e = event();
                e["image"]["maskBoxes"] =
                    json!([{"left": 0.8, "top": 0.1, "width": 0.5, "height": 0.5}]);
                e["image"].as_object_mut().unwrap().remove("labels");
                e
            },
            &["image.maskBoxes[0]"],
        ),
        (
            {
                let mut e = event();
                e["job"]["numberOfImages"] = json!(6);
                e
            },
            &["numberOfImages"],
        ),
        (
            {
                let mut e = event();
                e["job"]["promt"] = json!("typo");
                e
            },
            &["promt"],
        ),
        (json!([]), &["event"]),
    ];
    for (e, needles) in cases {
        let err = err_of(&g, e.clone()).await;
        assert_eq!(err.kind, ErrorKind::InvalidInput, "{e}: {}", err.message);
        for n in needles {
            assert!(err.message.contains(n), "{n:?} not in {:?}", err.message);
        }
        assert!(
            !err.message.contains("marble"),
            "the prompt leaked: {}",
            err.message
        );
    }
    assert!(g.model.calls.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_retry_overwrites_the_same_keys() {
    let g = generator(Answer::Echo);
    let first = g.handle(event()).await.unwrap();
    let before = g.store.keys();
    let bytes: Vec<_> = first
        .outputs
        .iter()
        .map(|o| g.store.object(OUT, &o.key).unwrap())
        .collect();
    let second = g.handle(event()).await.unwrap();
    assert_eq!(first, second);
    assert_eq!(g.store.keys(), before);
    assert_eq!(g.store.put_count(), 6);
    for (o, b) in second.outputs.iter().zip(bytes) {
        assert_eq!(g.store.object(OUT, &o.key).unwrap(), b);
    }
}

// ---- the real Bedrock Runtime client against the in-process emulator ----

fn bedrock_client(base_url: &str) -> aws_sdk_bedrockruntime::Client {
    use aws_sdk_bedrockruntime::config::retry::RetryConfig;
    use aws_sdk_bedrockruntime::config::{Credentials, Region};
    let conf = aws_sdk_bedrockruntime::config::Builder::new()
        .behavior_version_latest()
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .endpoint_url(base_url)
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(4)
                .with_initial_backoff(Duration::from_millis(10)),
        )
        .build();
    aws_sdk_bedrockruntime::Client::from_conf(conf)
}

async fn emulated() -> (
    mlpipe_emulator::RunningEmulator,
    Generator<MemoryStore, aws_sdk_bedrockruntime::Client>,
) {
    let emulator = mlpipe_emulator::spawn(mlpipe_emulator::Config::default())
        .await
        .unwrap();
    let g = Generator::new(
        MemoryStore::new(),
        bedrock_client(emulator.base_url()),
        config(&[]),
    );
    g.store.insert(UPLOAD, KEY, PRODUCT);
    (emulator, g)
}

async fn check_outputs(
    g: &Generator<MemoryStore, aws_sdk_bedrockruntime::Client>,
    out: &Generated,
) {
    let (w, h) = target_size(Model::TitanV2, 640, 480);
    assert_eq!((out.width, out.height), (w, h));
    assert_eq!(out.outputs.len(), 3);
    for o in &out.outputs {
        let body = g.store.object(OUT, &o.key).unwrap();
        assert_eq!(png_size(&body), (w, h));
    }
}

#[tokio::test]
async fn emulator_generates_pngs_of_the_fitted_size() {
    let (emulator, g) = emulated().await;
    let out = g.handle(event()).await.unwrap();
    check_outputs(&g, &out).await;
    emulator.shutdown().await.unwrap();
}

#[tokio::test]
async fn emulator_throttling_is_retried_by_the_sdk() {
    let (emulator, g) = emulated().await;
    let http = reqwest::Client::new();
    let resp = http
        .post(format!(
            "{}/_emulator/bedrock/throttle?count=2",
            emulator.base_url()
        ))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
    let out = g.handle(event()).await.unwrap();
    check_outputs(&g, &out).await;
    let log: Value = http
        .get(format!(
            "{}/_emulator/bedrock/requests",
            emulator.base_url()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(log["throttled"], 2, "{log}");
    assert_eq!(log["succeeded"], 1, "{log}");
    emulator.shutdown().await.unwrap();
}

#[tokio::test]
async fn emulator_throttling_beyond_the_attempts_is_retryable() {
    let (emulator, g) = emulated().await;
    reqwest::Client::new()
        .post(format!(
            "{}/_emulator/bedrock/throttle?count=10",
            emulator.base_url()
        ))
        .send()
        .await
        .unwrap();
    let err = g.handle(event()).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Retryable, "{}", err.message);
    assert!(
        err.message.contains("ThrottlingException"),
        "{}",
        err.message
    );
    emulator.shutdown().await.unwrap();
}

#[tokio::test]
async fn emulator_validation_errors_are_invalid_input() {
    // The builder never produces a request the emulator rejects, so send one by hand through
    // the same client and trait: a text over Titan's 512 characters.
    let (emulator, g) = emulated().await;
    let built = build_request(
        Model::TitanV2,
        PRODUCT,
        &Event::parse(event()).unwrap().outpainting_job(),
    )
    .unwrap();
    let mut body: Value = serde_json::from_str(&built.to_json()).unwrap();
    body["outPaintingParams"]["text"] = json!("x".repeat(513));
    let err = g
        .model
        .invoke(DEFAULT_MODEL_ID, serde_json::to_vec(&body).unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput, "{}", err.message);
    assert!(
        err.message.contains("ValidationException"),
        "{}",
        err.message
    );
    assert!(err.message.contains("512"), "{}", err.message);
    emulator.shutdown().await.unwrap();
}

use std::sync::Mutex;
use std::time::Duration;

use base64::Engine as _;
use image_background_core::{BoundingBox, DetectedInstance, DetectedLabel};
use serde_json::{json, Value};
use shared::store::MemoryStore;
use shared::ErrorKind;

use super::*;

const UPLOAD: &str = "mlpipe-uploads";
const OUT: &str = "mlpipe-generated";
const PRODUCT: &[u8] = include_bytes!("../../../../events/images/product-640x480.png");
const PORTRAIT_JPEG: &[u8] = include_bytes!("../../../../events/images/portrait-600x900.jpg");
const KEY: &str = "uploads/job-1/product.png";
const TITAN: &str = "amazon.titan-image-generator-v2:0";

/// What the fake model answers.
#[derive(Debug, Clone)]
enum Answer {
    /// The request's (fitted, PNG) image: `numberOfImages` copies (legacy) or one (Stability,
    /// with the seed and a null finish reason). Remove Background answers the image with the
    /// left half opaque and the right half transparent.
    Echo,
    /// Stability: `{"finish_reasons": [reason]}`.
    Finish(String),
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

    fn calls(&self) -> Vec<(String, Value)> {
        self.calls.lock().unwrap().clone()
    }
}

fn half_cut_out(image_b64: &str) -> String {
    let b64 = base64::engine::general_purpose::STANDARD;
    let img = image::load_from_memory(&b64.decode(image_b64).unwrap())
        .unwrap()
        .to_rgba8();
    let w = img.width();
    let cut = image::RgbaImage::from_fn(w, img.height(), |x, y| {
        let mut p = *img.get_pixel(x, y);
        p.0[3] = if x < w / 2 { 255 } else { 0 };
        p
    });
    let mut png = Vec::new();
    cut.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    b64.encode(png)
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
        let stability = request.get("taskType").is_none();
        let response = match answer {
            Answer::Echo if model_id.contains("remove-background") => {
                json!({"seeds": [1], "finish_reasons": [null], "images": [half_cut_out(request["image"].as_str().unwrap())]})
            }
            Answer::Echo if stability => {
                json!({"seeds": [request["seed"]], "finish_reasons": [null], "images": [request["image"]]})
            }
            Answer::Echo => {
                let n = request["imageGenerationConfig"]["numberOfImages"]
                    .as_u64()
                    .unwrap() as usize;
                let image = request["outPaintingParams"]["image"].clone();
                json!({"images": vec![image; n], "error": null})
            }
            Answer::Finish(reason) => json!({"finish_reasons": [reason]}),
            Answer::ModelError(msg) => json!({"images": [], "error": msg}),
            Answer::Jpeg if stability => {
                json!({"seeds": [0], "finish_reasons": [null], "images": [b64.encode(PORTRAIT_JPEG)]})
            }
            Answer::Jpeg => json!({"images": [b64.encode(PORTRAIT_JPEG)], "error": null}),
            Answer::Fail(err) => return Err(err),
        };
        Ok(serde_json::to_vec(&response).unwrap())
    }
}

/// Labels the fake Rekognition finds.
#[derive(Debug, Default)]
struct FakeLabels {
    found: Vec<DetectedLabel>,
    calls: Mutex<Vec<(String, String)>>,
}

impl LabelFinder for FakeLabels {
    async fn labels(&self, bucket: &str, key: &str) -> Result<Vec<DetectedLabel>, PipelineError> {
        self.calls
            .lock()
            .unwrap()
            .push((bucket.to_owned(), key.to_owned()));
        Ok(self.found.clone())
    }
}

fn laptop_found() -> FakeLabels {
    FakeLabels {
        found: vec![DetectedLabel {
            name: "Laptop".into(),
            parents: vec!["Computer".into(), "Electronics".into()],
            instances: vec![DetectedInstance {
                confidence: 97.0,
                bounding_box: BoundingBox {
                    left: 0.25,
                    top: 0.25,
                    width: 0.5,
                    height: 0.5,
                },
            }],
        }],
        calls: Mutex::default(),
    }
}

type Fake = Generator<MemoryStore, FakeModel, FakeLabels>;

fn config(extra: &[(&str, &str)]) -> Config {
    let mut vars = vec![("UPLOAD_BUCKET", UPLOAD), ("GENERATED_BUCKET", OUT)];
    vars.extend_from_slice(extra);
    Config::from_source(&vars.as_slice()).unwrap()
}

fn generator_with(answer: Answer, extra: &[(&str, &str)]) -> Fake {
    let g = Generator::new(
        MemoryStore::new(),
        FakeModel::new(answer),
        laptop_found(),
        config(extra),
    );
    g.store.insert(UPLOAD, KEY, PRODUCT);
    g
}

fn generator(answer: Answer) -> Fake {
    generator_with(answer, &[])
}

fn titan(answer: Answer) -> Fake {
    generator_with(answer, &[("MODEL_ID", TITAN)])
}

fn event() -> Value {
    json!({
        "job": {
            "jobId": "job-1",
            "prompt": "a product on a marble kitchen counter, soft morning light",
            "negativePrompt": "people, text",
            "numberOfImages": 3,
            "seed": 42
        },
        "image": {"key": KEY, "labels": ["Laptop", "Computer"]}
    })
}

fn legacy_event() -> Value {
    let mut e = event();
    e["job"]["mode"] = json!("PRECISE");
    e
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

async fn err_of(g: &Fake, event: Value) -> PipelineError {
    g.handle(event).await.unwrap_err()
}

#[test]
fn config_defaults_and_names_variables() {
    let c = config(&[]);
    assert_eq!(c.output_prefix, "generated/");
    assert_eq!(c.model_id, "us.stability.stable-image-inpaint-v1:0");
    assert_eq!(c.model, Model::StabilityInpaint);
    assert_eq!(
        c.remove_background_model_id(),
        "us.stability.stable-image-remove-background-v1:0"
    );
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

#[tokio::test]
async fn stability_labels_become_rekognition_boxes_one_call_per_image() {
    let g = generator(Answer::Echo);
    let out = g.handle(event()).await.unwrap();
    // saved at the source's size, PNG
    assert_eq!((out.width, out.height), (640, 480));
    assert_eq!(out.model, DEFAULT_MODEL_ID);
    let keys: Vec<_> = out.outputs.iter().map(|o| o.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "generated/job-1/uploads/job-1/product.png/0.png",
            "generated/job-1/uploads/job-1/product.png/1.png",
            "generated/job-1/uploads/job-1/product.png/2.png",
        ]
    );
    for o in &out.outputs {
        assert_eq!(o.bucket, OUT);
        let body = g.store.object(OUT, &o.key).unwrap();
        assert_eq!(png_size(&body), (640, 480));
        assert_eq!(
            g.store.content_type(OUT, &o.key).as_deref(),
            Some("image/png")
        );
    }
    let payload = serde_json::to_vec(&out).unwrap();
    assert!(payload.len() < 1024, "{} bytes", payload.len());
    // Rekognition was asked about the uploaded object
    assert_eq!(
        *g.labels.calls.lock().unwrap(),
        [(UPLOAD.to_owned(), KEY.to_owned())]
    );
    // three calls, seeds 42, 43, 44, the flat Stability body with a grayscale mask
    let calls = g.model.calls();
    assert_eq!(calls.len(), 3);
    let seeds: Vec<_> = calls
        .iter()
        .map(|(_, r)| r["seed"].as_u64().unwrap())
        .collect();
    assert_eq!(seeds, [42, 43, 44]);
    let (model_id, req) = &calls[0];
    assert_eq!(model_id, DEFAULT_MODEL_ID);
    assert_eq!(req["negative_prompt"], "people, text");
    assert_eq!(req["output_format"], "png");
    let b64 = base64::engine::general_purpose::STANDARD;
    let mask = image::load_from_memory(&b64.decode(req["mask"].as_str().unwrap()).unwrap())
        .unwrap()
        .to_luma8();
    assert_eq!(mask.dimensions(), (640, 480));
    assert_eq!(mask.get_pixel(320, 240).0[0], 0, "the laptop's box is kept");
    assert_eq!(mask.get_pixel(5, 5).0[0], 255, "the rest is repainted");
}

#[tokio::test]
async fn no_mask_keeps_the_subject_found_by_remove_background() {
    let g = generator(Answer::Echo);
    let mut e = event();
    e["image"] = json!({"key": KEY});
    e["job"]["numberOfImages"] = json!(1);
    let out = g.handle(e.clone()).await.unwrap();
    assert_eq!(out.outputs.len(), 1);
    let calls = g.model.calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(
        calls[0].0,
        "us.stability.stable-image-remove-background-v1:0"
    );
    assert_eq!(calls[0].1["output_format"], "png");
    let b64 = base64::engine::general_purpose::STANDARD;
    let mask = image::load_from_memory(&b64.decode(calls[1].1["mask"].as_str().unwrap()).unwrap())
        .unwrap()
        .to_luma8();
    assert_eq!(mask.get_pixel(10, 240).0[0], 0);
    assert_eq!(mask.get_pixel(630, 240).0[0], 255);
    assert!(g.labels.calls.lock().unwrap().is_empty());
    // the explicit form is the same
    e["image"]["mask"] = json!("subject");
    assert!(g.handle(e).await.is_ok());
}

#[tokio::test]
async fn a_finish_reason_fails_the_image_and_saves_nothing() {
    let g = generator(Answer::Finish("Filter reason: output image".into()));
    let err = err_of(&g, event()).await;
    assert_eq!(err.kind, ErrorKind::InvalidInput);
    assert!(
        err.message.contains("Filter reason: output image"),
        "{}",
        err.message
    );
    assert!(g.store.keys().iter().all(|(b, _)| b != OUT));
    let g = generator(Answer::Finish("Inference error".into()));
    assert_eq!(err_of(&g, event()).await.kind, ErrorKind::Retryable);
}

#[tokio::test]
async fn labels_rekognition_cannot_find_are_named() {
    let g = generator(Answer::Echo);
    let mut e = event();
    e["image"]["labels"] = json!(["Bicycle"]);
    let err = err_of(&g, e).await;
    assert_eq!(err.kind, ErrorKind::InvalidInput);
    assert!(
        err.message
            .contains("image.labels: Rekognition found no instance of Bicycle"),
        "{}",
        err.message
    );
    assert!(err.message.contains("Laptop"), "{}", err.message);
    assert!(g.model.calls().is_empty());
}

#[tokio::test]
async fn a_job_naming_another_model_is_refused() {
    let g = generator(Answer::Echo);
    let mut e = event();
    e["job"]["model"] = json!(TITAN);
    let err = err_of(&g, e.clone()).await;
    assert_eq!(err.kind, ErrorKind::InvalidInput);
    assert!(
        err.message.starts_with("job.model: \"amazon.titan-image-generator-v2:0\" is not the deployed model us.stability.stable-image-inpaint-v1:0"),
        "{}",
        err.message
    );
    // the same model under another name is fine
    e["job"]["model"] = json!("stability.stable-image-inpaint-v1:0");
    assert!(g.handle(e).await.is_ok());
}

#[tokio::test]
async fn a_phone_photo_is_saved_upright_at_its_size() {
    // A portrait JPEG (600x900) comes back 600x900, whatever size the model answered.
    let g = generator(Answer::Echo);
    g.store
        .insert(UPLOAD, "uploads/portrait.jpg", PORTRAIT_JPEG);
    let mut e = event();
    e["image"] = json!({"key": "uploads/portrait.jpg", "maskBoxes": [{"left": 0.2, "top": 0.2, "width": 0.6, "height": 0.6}]});
    e["job"]["numberOfImages"] = json!(1);
    let out = g.handle(e).await.unwrap();
    assert_eq!((out.width, out.height), (600, 900));
    let body = g.store.object(OUT, &out.outputs[0].key).unwrap();
    assert_eq!(png_size(&body), (600, 900));
}

#[tokio::test]
async fn legacy_labels_become_a_mask_prompt() {
    let g = titan(Answer::Echo);
    let out = g.handle(legacy_event()).await.unwrap();
    assert_eq!((out.width, out.height), (640, 480));
    assert_eq!(out.outputs.len(), 3);
    for o in &out.outputs {
        assert_eq!(png_size(&g.store.object(OUT, &o.key).unwrap()), (640, 480));
    }
    let calls = g.model.calls();
    assert_eq!(calls.len(), 1);
    let (model_id, req) = &calls[0];
    assert_eq!(model_id, TITAN);
    assert_eq!(req["taskType"], "OUTPAINTING");
    assert_eq!(req["outPaintingParams"]["maskPrompt"], "Laptop, Computer");
    assert_eq!(req["outPaintingParams"]["outPaintingMode"], "PRECISE");
    assert_eq!(req["imageGenerationConfig"]["seed"], 42);
    assert_eq!(req["imageGenerationConfig"]["numberOfImages"], 3);
    assert_eq!(req["imageGenerationConfig"]["cfgScale"], 8.0);
    assert!(g.labels.calls.lock().unwrap().is_empty());
}

#[tokio::test]
async fn legacy_mask_boxes_become_a_mask_image() {
    let g = generator_with(Answer::Echo, &[("MODEL_ID", "amazon.nova-canvas-v1:0")]);
    let mut e = legacy_event();
    e["image"] =
        json!({"key": KEY, "maskBoxes": [{"left": 0.25, "top": 0.2, "width": 0.5, "height": 0.6}]});
    e["job"]["numberOfImages"] = json!(1);
    let out = g.handle(e).await.unwrap();
    assert_eq!(out.model, "amazon.nova-canvas-v1:0");
    assert_eq!(out.outputs.len(), 1);
    let calls = g.model.calls();
    let req = &calls[0].1;
    assert!(req["outPaintingParams"]["maskImage"].is_string());
    assert!(req["outPaintingParams"].get("maskPrompt").is_none());
    // Nova Canvas' own default
    assert_eq!(req["imageGenerationConfig"]["cfgScale"], 6.5);
}

#[tokio::test]
async fn jpeg_answers_are_saved_as_png_at_the_source_size() {
    let g = generator(Answer::Jpeg);
    let mut e = event();
    e["job"]["numberOfImages"] = json!(1);
    let out = g.handle(e).await.unwrap();
    assert_eq!(out.outputs.len(), 1);
    let body = g.store.object(OUT, &out.outputs[0].key).unwrap();
    assert_eq!(png_size(&body), (640, 480));
}

#[tokio::test]
async fn a_legacy_model_error_fails_the_image() {
    let g = titan(Answer::ModelError(
        "This request has been blocked by our content filters.".into(),
    ));
    let err = err_of(&g, legacy_event()).await;
    assert_eq!(err.kind, ErrorKind::InvalidInput);
    assert!(err.message.contains("content filters"), "{}", err.message);
    assert!(err.message.contains(TITAN), "{}", err.message);
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
async fn a_mistyped_key_is_reported_as_not_found() {
    let g = generator(Answer::Echo);
    let mut e = event();
    e["image"]["key"] = json!("uploads/job-1/missing.png");
    let err = err_of(&g, e).await;
    assert_eq!(err.kind, ErrorKind::InvalidInput);
    assert!(err.message.contains("missing.png"), "{}", err.message);
    assert!(err.message.contains("not found"), "{}", err.message);
    assert!(g.model.calls().is_empty());
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
                e["image"]["mask"] = json!("background");
                e["image"].as_object_mut().unwrap().remove("labels");
                e
            },
            &["image.mask"],
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
                e["job"]["cfgScale"] = json!(7);
                e
            },
            &["cfgScale", "not used by"],
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
    assert!(g.model.calls().is_empty());
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

type Emulated = Generator<MemoryStore, aws_sdk_bedrockruntime::Client, FakeLabels>;

async fn emulated() -> (mlpipe_emulator::RunningEmulator, Emulated) {
    let emulator = mlpipe_emulator::spawn(mlpipe_emulator::Config::default())
        .await
        .unwrap();
    let g = Generator::new(
        MemoryStore::new(),
        bedrock_client(emulator.base_url()),
        laptop_found(),
        config(&[]),
    );
    g.store.insert(UPLOAD, KEY, PRODUCT);
    (emulator, g)
}

fn one_image() -> Value {
    let mut e = event();
    e["job"]["numberOfImages"] = json!(1);
    e
}

async fn admin(emulator: &mlpipe_emulator::RunningEmulator, path: &str) -> Value {
    let resp = reqwest::Client::new()
        .post(format!("{}/_emulator/bedrock/{path}", emulator.base_url()))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{path}: {}", resp.status());
    resp.json().await.unwrap()
}

async fn requests(emulator: &mlpipe_emulator::RunningEmulator) -> Value {
    reqwest::Client::new()
        .get(format!(
            "{}/_emulator/bedrock/requests",
            emulator.base_url()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn emulator_results_are_saved_at_the_source_size_with_the_kept_box_intact() {
    let (emulator, g) = emulated().await;
    let out = g.handle(event()).await.unwrap();
    assert_eq!(out.outputs.len(), 3);
    let source = image::load_from_memory(PRODUCT).unwrap().to_rgb8();
    for o in &out.outputs {
        let body = g.store.object(OUT, &o.key).unwrap();
        assert_eq!(png_size(&body), (640, 480));
        let saved = image::load_from_memory(&body).unwrap().to_rgb8();
        // Inside the kept box (0.25..0.75 of each side, a margin for resampling at its edge)
        // the pixels are the source's; outside they were repainted.
        let (mut diff, mut n) = (0u64, 0u64);
        for y in 140..340 {
            for x in 180..460 {
                let (a, b) = (source.get_pixel(x, y).0, saved.get_pixel(x, y).0);
                diff += (0..3).map(|c| u64::from(a[c].abs_diff(b[c]))).sum::<u64>();
                n += 3;
            }
        }
        let mean = diff as f64 / n as f64;
        assert!(mean < 4.0, "kept pixels changed by {mean:.2} on average");
    }
    let log = requests(&emulator).await;
    assert_eq!(log["succeeded"], 3, "{log}");
    emulator.shutdown().await.unwrap();
}

#[tokio::test]
async fn emulator_subject_mode_calls_remove_background_first() {
    let (emulator, g) = emulated().await;
    let mut e = one_image();
    e["image"] = json!({"key": KEY});
    let out = g.handle(e).await.unwrap();
    assert_eq!(out.outputs.len(), 1);
    let log = requests(&emulator).await;
    let models: Vec<_> = log["log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["modelId"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        models,
        [
            "us.stability.stable-image-remove-background-v1:0",
            "us.stability.stable-image-inpaint-v1:0"
        ],
        "{log}"
    );
    emulator.shutdown().await.unwrap();
}

#[tokio::test]
async fn emulator_finish_reasons_fail_the_image() {
    let (emulator, g) = emulated().await;
    admin(
        &emulator,
        "finish-reason?reason=Filter%20reason%3A%20output%20image&count=1",
    )
    .await;
    let err = g.handle(one_image()).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput, "{}", err.message);
    assert!(
        err.message.contains("Filter reason: output image"),
        "{}",
        err.message
    );
    assert!(g.store.keys().iter().all(|(b, _)| b != OUT));
    // the prompt marker does the same for one job
    let mut e = one_image();
    e["job"]["prompt"] = json!("a beach [emulator finish reason: Filter reason: prompt]");
    let err = g.handle(e).await.unwrap_err();
    assert!(
        err.message.contains("Filter reason: prompt"),
        "{}",
        err.message
    );
    // and without either, the image is made
    assert!(g.handle(one_image()).await.is_ok());
    emulator.shutdown().await.unwrap();
}

#[tokio::test]
async fn emulator_throttling_is_retried_by_the_sdk() {
    let (emulator, g) = emulated().await;
    admin(&emulator, "throttle?count=2").await;
    let out = g.handle(one_image()).await.unwrap();
    assert_eq!(out.outputs.len(), 1);
    let log = requests(&emulator).await;
    assert_eq!(log["throttled"], 2, "{log}");
    assert_eq!(log["succeeded"], 1, "{log}");
    emulator.shutdown().await.unwrap();
}

#[tokio::test]
async fn emulator_throttling_beyond_the_attempts_is_retryable() {
    let (emulator, g) = emulated().await;
    admin(&emulator, "throttle?count=10").await;
    let err = g.handle(one_image()).await.unwrap_err();
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
    // the same client and trait: a prompt over Stability's 10,000 characters.
    let (emulator, g) = emulated().await;
    let body = json!({
        "image": base64::engine::general_purpose::STANDARD.encode(PRODUCT),
        "prompt": "x".repeat(10_001),
        "output_format": "png",
    });
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
    assert!(
        err.message.contains("10000") || err.message.contains("10,000"),
        "{}",
        err.message
    );
    emulator.shutdown().await.unwrap();
}

//! The Bedrock Runtime emulator over real HTTP, started in-process on an ephemeral port.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use image::{GrayImage, ImageFormat, RgbImage};
use mlpipe_emulator::{Config, RunningEmulator};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

const TITAN_V1: &str = "amazon.titan-image-generator-v1";
const TITAN_V2_ENCODED: &str = "amazon.titan-image-generator-v2%3A0";
const NOVA_PROFILE_ENCODED: &str = "us.amazon.nova-canvas-v1%3A0";

struct Harness {
    emulator: RunningEmulator,
    http: Client,
}

impl Harness {
    async fn start() -> Self {
        Self {
            emulator: mlpipe_emulator::spawn(Config::default()).await.unwrap(),
            http: Client::builder().no_proxy().build().unwrap(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.emulator.base_url())
    }

    async fn invoke(&self, model: &str, body: &Value) -> reqwest::Response {
        self.http
            .post(self.url(&format!("/model/{model}/invoke")))
            .header("content-type", "application/json")
            .header("accept", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap()
    }

    async fn admin(&self, method: reqwest::Method, path: &str) -> Value {
        let response = self
            .http
            .request(method, self.url(&format!("/_emulator/bedrock{path}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }
}

/// A subject (red square, 192..320 on both axes) on a light grey background.
fn subject_image(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        let (cx, cy) = (w / 2, h / 2);
        if x + 64 >= cx && x < cx + 64 && y + 64 >= cy && y < cy + 64 {
            image::Rgb([200, 20, 30])
        } else {
            image::Rgb([230, 230, 225])
        }
    })
}

/// Black (keep) on the left half, white (repaint) elsewhere.
fn left_half_mask(w: u32, h: u32) -> GrayImage {
    GrayImage::from_fn(w, h, |x, _| image::Luma([if x < w / 2 { 0 } else { 255 }]))
}

fn encode(image: impl Into<image::DynamicImage>, format: ImageFormat) -> String {
    let mut bytes = std::io::Cursor::new(Vec::new());
    image.into().write_to(&mut bytes, format).unwrap();
    STANDARD.encode(bytes.into_inner())
}

fn png_b64(image: impl Into<image::DynamicImage>) -> String {
    encode(image, ImageFormat::Png)
}

fn request(image: &str, seed: u64, n: u32) -> Value {
    json!({
        "taskType": "OUTPAINTING",
        "outPaintingParams": {
            "image": image,
            "text": "a sunny beach",
            "negativeText": "people",
            "maskImage": png_b64(left_half_mask(512, 512)),
            "outPaintingMode": "PRECISE"
        },
        "imageGenerationConfig": {
            "numberOfImages": n,
            "quality": "premium",
            "width": 512,
            "height": 512,
            "cfgScale": 8.0,
            "seed": seed
        }
    })
}

async fn images_of(response: reqwest::Response) -> Vec<Vec<u8>> {
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "application/json"
    );
    assert!(response.headers().contains_key("x-amzn-requestid"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], Value::Null, "{body}");
    body["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| STANDARD.decode(b.as_str().unwrap()).unwrap())
        .collect()
}

/// Asserts a 400 ValidationException whose message contains every one of `needles`.
async fn assert_validation(response: reqwest::Response, needles: &[&str]) {
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        response.headers()["x-amzn-errortype"].to_str().unwrap(),
        "ValidationException"
    );
    let body: Value = response.json().await.unwrap();
    let message = body["message"].as_str().unwrap();
    for needle in needles {
        assert!(message.contains(needle), "{needle:?} not in {message:?}");
    }
}

#[tokio::test]
async fn titan_v1_outpaints_with_a_mask_image_deterministically() {
    let h = Harness::start().await;
    let input = subject_image(512, 512);
    let input_b64 = png_b64(input.clone());

    let first = images_of(h.invoke(TITAN_V1, &request(&input_b64, 7, 3)).await).await;
    assert_eq!(first.len(), 3);
    for png in &first {
        assert_eq!(image::guess_format(png).unwrap(), ImageFormat::Png);
        let decoded = image::load_from_memory(png).unwrap().to_rgb8();
        assert_eq!(decoded.dimensions(), (512, 512));
        // Black mask pixels (left half) keep the original exactly.
        for (x, y) in [(0, 0), (100, 300), (200, 256), (255, 511)] {
            assert_eq!(decoded.get_pixel(x, y), input.get_pixel(x, y), "({x},{y})");
        }
    }
    // White mask pixels are repainted, differently per image.
    let right = |png: &Vec<u8>| {
        *image::load_from_memory(png)
            .unwrap()
            .to_rgb8()
            .get_pixel(400, 50)
    };
    assert_ne!(right(&first[0]), *input.get_pixel(400, 50));
    assert_ne!(first[0], first[1]);

    let again = images_of(h.invoke(TITAN_V1, &request(&input_b64, 7, 3)).await).await;
    assert_eq!(first, again, "same seed, same bytes");
    let other = images_of(h.invoke(TITAN_V1, &request(&input_b64, 8, 3)).await).await;
    assert_ne!(first[0], other[0], "another seed, other images");

    let log = h.admin(reqwest::Method::GET, "/requests").await;
    assert_eq!(log["succeeded"], 3);
    assert_eq!(log["log"][0]["model"], TITAN_V1);
    assert_eq!(log["log"][0]["images"], 3);
    assert_eq!(log["log"][0]["width"], 512);
    assert!(
        !log.to_string().contains(&input_b64[..40]),
        "no image bytes in the log"
    );
}

#[tokio::test]
async fn titan_v2_with_a_mask_prompt_keeps_the_subject_and_accepts_jpeg() {
    let h = Harness::start().await;
    let input = subject_image(768, 768);
    let body = json!({
        "taskType": "OUTPAINTING",
        "outPaintingParams": {
            "image": encode(input.clone(), ImageFormat::Jpeg),
            "text": "a forest",
            "maskPrompt": "Box"
        },
        "imageGenerationConfig": {"numberOfImages": 1, "seed": 0}
    });
    let images = images_of(h.invoke(TITAN_V2_ENCODED, &body).await).await;
    let out = image::load_from_memory(&images[0]).unwrap().to_rgb8();
    assert_eq!(out.dimensions(), (768, 768));
    // The subject stays (as decoded from the JPEG: close to the original red).
    let centre = out.get_pixel(384, 384).0;
    assert!(centre[0] > 150 && centre[1] < 80, "{centre:?}");
    // The background is repainted.
    assert_ne!(out.get_pixel(5, 5).0, [230, 230, 225]);
}

#[tokio::test]
async fn titan_rejects_what_the_service_rejects() {
    let h = Harness::start().await;
    let good_image = png_b64(subject_image(512, 512));
    let base = request(&good_image, 1, 1);
    let with = |pointer: &str, value: Value| {
        let mut body = base.clone();
        *body.pointer_mut(pointer).unwrap() = value;
        body
    };
    let without = |section: &str, key: &str| {
        let mut body = base.clone();
        body[section].as_object_mut().unwrap().remove(key);
        body
    };
    let gif = STANDARD.encode(b"GIF89a\x01\x00\x01\x00\x00\x00\x00;");
    let mut both_masks = base.clone();
    both_masks["outPaintingParams"]["maskPrompt"] = json!("cat");
    let mut extra = base.clone();
    extra["outPaintingParams"]["maskColour"] = json!("red");

    let cases: Vec<(Value, Vec<&str>)> = vec![
        (
            with("/outPaintingParams/text", json!("x".repeat(513))),
            vec!["#/outPaintingParams/text", "maxLength: 512", "513"],
        ),
        (
            with("/outPaintingParams/text", json!("")),
            vec!["text", "minLength: 1"],
        ),
        (
            with("/outPaintingParams/negativeText", json!("n".repeat(600))),
            vec!["negativeText", "512"],
        ),
        (both_masks, vec!["maskPrompt", "maskImage", "exactly one"]),
        (
            without("outPaintingParams", "maskImage"),
            vec!["maskPrompt", "maskImage", "exactly one"],
        ),
        (
            with("/imageGenerationConfig/numberOfImages", json!(6)),
            vec!["numberOfImages", "less or equal to 5"],
        ),
        (
            with("/imageGenerationConfig/numberOfImages", json!(0)),
            vec!["numberOfImages", "greater or equal to 1"],
        ),
        (
            with("/imageGenerationConfig/numberOfImages", json!("2")),
            vec!["numberOfImages", "Integer"],
        ),
        (
            with("/imageGenerationConfig/cfgScale", json!(10.5)),
            vec!["cfgScale", "10"],
        ),
        (
            with("/imageGenerationConfig/cfgScale", json!(1.0)),
            vec!["cfgScale", "1.1"],
        ),
        (
            with("/imageGenerationConfig/seed", json!(2_147_483_647_u64)),
            vec!["seed", "2147483646"],
        ),
        (
            with("/imageGenerationConfig/seed", json!(-1)),
            vec!["seed", "greater or equal to 0"],
        ),
        (
            with("/imageGenerationConfig/quality", json!("ultra")),
            vec!["quality", "standard, premium"],
        ),
        (
            with("/outPaintingParams/outPaintingMode", json!("FAST")),
            vec!["outPaintingMode", "DEFAULT, PRECISE"],
        ),
        (
            with("/imageGenerationConfig/width", json!(500)),
            vec!["imageGenerationConfig", "500x512", "1024x1024"],
        ),
        (
            without("imageGenerationConfig", "height"),
            vec!["width given without height"],
        ),
        (
            with("/outPaintingParams/image", json!("not base64!")),
            vec!["#/outPaintingParams/image", "base64"],
        ),
        (
            with("/outPaintingParams/image", json!(gif)),
            vec!["#/outPaintingParams/image", "PNG or JPEG"],
        ),
        (
            with(
                "/outPaintingParams/image",
                json!(png_b64(subject_image(500, 500))),
            ),
            vec!["#/outPaintingParams/image", "500x500"],
        ),
        (
            with(
                "/outPaintingParams/maskImage",
                json!(png_b64(left_half_mask(768, 768))),
            ),
            vec!["#/outPaintingParams/maskImage", "768x768", "512x512"],
        ),
        (
            without("outPaintingParams", "image"),
            vec!["required key [image]"],
        ),
        (extra, vec!["extraneous key [maskColour]"]),
        (
            with("/taskType", json!("TEXT_IMAGE")),
            vec!["only the OUTPAINTING task", "TEXT_IMAGE"],
        ),
        (
            with("/taskType", json!("PAINT")),
            vec!["#/taskType", "PAINT is not a valid enum value"],
        ),
    ];
    for (body, needles) in cases {
        assert_validation(h.invoke(TITAN_V1, &body).await, &needles).await;
    }

    let raw = h
        .http
        .post(h.url(&format!("/model/{TITAN_V1}/invoke")))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_validation(raw, &["Malformed input request"]).await;

    assert_validation(
        h.invoke("amazon.titan-image-generator-v9", &base).await,
        &["model identifier is invalid"],
    )
    .await;

    let log = h.admin(reqwest::Method::GET, "/requests").await;
    assert_eq!(log["succeeded"], 0);
    assert_eq!(log["log"][0]["status"], 400);
    assert_eq!(log["log"][0]["errorType"], "ValidationException");
}

#[tokio::test]
async fn nova_canvas_sizes_and_limits() {
    let h = Harness::start().await;
    let body = |w: u32, hh: u32, text: &str, seed: u64| {
        json!({
            "taskType": "OUTPAINTING",
            "outPaintingParams": {
                "image": png_b64(subject_image(w, hh)),
                "text": text,
                "maskImage": png_b64(left_half_mask(w, hh)),
            },
            "imageGenerationConfig": {"numberOfImages": 2, "seed": seed, "cfgScale": 6.5}
        })
    };
    let long_prompt = "p".repeat(1000);
    let images = images_of(
        h.invoke(
            NOVA_PROFILE_ENCODED,
            &body(640, 480, &long_prompt, 858_993_459),
        )
        .await,
    )
    .await;
    assert_eq!(images.len(), 2);
    let out = image::load_from_memory(&images[0]).unwrap();
    assert_eq!((out.width(), out.height()), (640, 480));

    assert_validation(
        h.invoke(NOVA_PROFILE_ENCODED, &body(650, 480, "x", 1))
            .await,
        &["#/outPaintingParams/image", "650x480", "divisible by 16"],
    )
    .await;
    assert_validation(
        h.invoke(NOVA_PROFILE_ENCODED, &body(640, 480, "x", 858_993_460))
            .await,
        &["seed", "858993459"],
    )
    .await;
    assert_validation(
        h.invoke(NOVA_PROFILE_ENCODED, &body(640, 480, &"p".repeat(1025), 1))
            .await,
        &["text", "1024"],
    )
    .await;
    // A 1000-character prompt is fine for Nova, too long for Titan.
    let mut titan = request(&png_b64(subject_image(512, 512)), 1, 1);
    titan["outPaintingParams"]["text"] = json!(long_prompt);
    assert_validation(h.invoke(TITAN_V1, &titan).await, &["text", "512"]).await;
    // Nova masks must be pure black and white.
    let mut grey = body(640, 480, "x", 1);
    grey["outPaintingParams"]["maskImage"] =
        json!(png_b64(GrayImage::from_pixel(640, 480, image::Luma([128]))));
    assert_validation(
        h.invoke(NOVA_PROFILE_ENCODED, &grey).await,
        &["maskImage", "pure black"],
    )
    .await;
}

#[tokio::test]
async fn throttling_answers_429_then_recovers_and_reset_clears() {
    let h = Harness::start().await;
    let body = request(&png_b64(subject_image(512, 512)), 3, 1);
    let set = h.admin(reqwest::Method::POST, "/throttle?count=2").await;
    assert_eq!(set["throttleRemaining"], 2);
    for _ in 0..2 {
        let response = h.invoke(TITAN_V1, &body).await;
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(
            response.headers()["x-amzn-errortype"].to_str().unwrap(),
            "ThrottlingException"
        );
        let error: Value = response.json().await.unwrap();
        assert_eq!(
            error,
            json!({"message": "Too many requests, please wait before trying again."})
        );
    }
    assert_eq!(images_of(h.invoke(TITAN_V1, &body).await).await.len(), 1);

    let log = h.admin(reqwest::Method::GET, "/requests").await;
    let statuses: Vec<u64> = log["log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [429, 429, 200]);
    assert_eq!(log["throttled"], 2);

    h.admin(reqwest::Method::POST, "/throttle?count=5").await;
    h.admin(reqwest::Method::POST, "/reset").await;
    let log = h.admin(reqwest::Method::GET, "/requests").await;
    assert_eq!(log["invocations"], 0);
    assert_eq!(log["throttleRemaining"], 0);
    assert_eq!(h.invoke(TITAN_V1, &body).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn bedrock_and_genesys_share_the_listener() {
    let h = Harness::start().await;
    let token = h
        .http
        .post(h.url("/oauth/token"))
        .basic_auth("local-client-id", Some("local-client-secret"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), StatusCode::OK);
    let missing = h
        .http
        .get(h.url("/model/amazon.titan-image-generator-v1/invoke"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::METHOD_NOT_ALLOWED);
}

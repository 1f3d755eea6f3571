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

// ---------------------------------------------------------------------------------------------
// Stability AI Image Services: Stable Image Inpaint and Stable Image Remove Background.

const INPAINT: &str = "us.stability.stable-image-inpaint-v1%3A0";
const REMOVE_BACKGROUND: &str = "us.stability.stable-image-remove-background-v1%3A0";
/// A prompt marker that makes an Inpaint call that passes validation end without painting:
/// the cheap way to show a request at a limit is accepted.
const ACCEPTED_MARKER: &str = "[emulator finish reason: Inference error]";

/// A textured object (a gradient square, so "exactly the resized input" means something) in
/// the middle of a plain background: the object spans the middle half of each side.
fn object_image(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        if x >= w / 4 && x < 3 * w / 4 && y >= h / 4 && y < 3 * h / 4 {
            image::Rgb([(x * 5 % 256) as u8, (y * 7 % 256) as u8, 90])
        } else {
            image::Rgb([235, 235, 230])
        }
    })
}

/// Black (keep) over the object of [`object_image`], white (repaint) elsewhere.
fn object_mask(w: u32, h: u32) -> GrayImage {
    GrayImage::from_fn(w, h, |x, y| {
        let object = x >= w / 4 && x < 3 * w / 4 && y >= h / 4 && y < 3 * h / 4;
        image::Luma([if object { 0 } else { 255 }])
    })
}

/// A 200 Stability answer with one image: its seed and the decoded image bytes.
async fn stability_image(response: reqwest::Response) -> (u64, Vec<u8>) {
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "application/json"
    );
    assert!(response.headers().contains_key("x-amzn-requestid"));
    let body: Value = response.json().await.unwrap();
    let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["finish_reasons", "images", "seeds"], "{keys:?}");
    assert_eq!(body["finish_reasons"], json!([null]));
    let images = body["images"].as_array().unwrap();
    assert_eq!(images.len(), 1, "exactly one image per call");
    let seeds = body["seeds"].as_array().unwrap();
    assert_eq!(seeds.len(), 1);
    (
        seeds[0].as_u64().unwrap(),
        STANDARD.decode(images[0].as_str().unwrap()).unwrap(),
    )
}

/// A 200 Stability answer that ended with `reason`: exactly `{"finish_reasons": [reason]}`.
async fn assert_finished(response: reqwest::Response, reason: &str) {
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({ "finish_reasons": [reason] }));
}

#[tokio::test]
async fn inpaint_keeps_the_black_mask_area_exactly_and_repaints_the_rest_at_about_4_mp() {
    let h = Harness::start().await;
    let input = object_image(96, 64);
    let body = json!({
        "image": png_b64(input.clone()),
        "mask": png_b64(object_mask(96, 64)),
        "prompt": "a product on a marble table",
        "negative_prompt": "text",
        "seed": 42,
        "grow_mask": 3,
        "style_preset": "photographic",
        "output_format": "png"
    });
    let (seed, png) = stability_image(h.invoke(INPAINT, &body).await).await;
    assert_eq!(seed, 42, "the seed is echoed");
    assert_eq!(image::guess_format(&png).unwrap(), ImageFormat::Png);
    let out = image::load_from_memory(&png).unwrap().to_rgb8();
    // About 4 MP with the input's 3:2 aspect ratio: sides rounded to multiples of 64.
    assert_eq!(out.dimensions(), (2496, 1664));

    // Inside the kept object (away from the mask edge by more than grow_mask and the bilinear
    // blend), every pixel is the resized input's, exactly.
    let resized = mlpipe_emulator::bedrock::paint::resize(input.as_raw(), 96, 64, 3, 2496, 1664);
    let resized = RgbImage::from_raw(2496, 1664, resized).unwrap();
    let (x0, x1, y0, y1) = (624 + 40, 1872 - 40, 416 + 40, 1248 - 40);
    for y in (y0..y1).step_by(7) {
        for x in (x0..x1).step_by(5) {
            assert_eq!(out.get_pixel(x, y), resized.get_pixel(x, y), "({x},{y})");
        }
    }
    // Scaled back down to the input's size, the object's interior is the input's.
    let down = image::imageops::resize(&out, 96, 64, image::imageops::FilterType::Triangle);
    for (x, y) in [(30, 20), (48, 32), (60, 40), (70, 44)] {
        let (a, b) = (down.get_pixel(x, y).0, input.get_pixel(x, y).0);
        let close = a.iter().zip(b).all(|(p, q)| p.abs_diff(q) <= 6);
        assert!(close, "({x},{y}): {a:?} vs {b:?}");
    }
    // Outside the mask: repainted, not the input's background.
    let corner = out.get_pixel(10, 10).0;
    assert_ne!(corner, [235, 235, 230]);

    let log = h.admin(reqwest::Method::GET, "/requests").await;
    let entry = &log["log"][0];
    assert_eq!(entry["model"], "stability.stable-image-inpaint-v1:0");
    assert_eq!(entry["modelId"], "us.stability.stable-image-inpaint-v1:0");
    assert_eq!(entry["images"], 1);
    assert_eq!(
        (entry["width"].as_u64(), entry["height"].as_u64()),
        (Some(2496), Some(1664))
    );
    assert_eq!(entry["finishReason"], Value::Null);
}

#[tokio::test]
async fn inpaint_without_a_mask_repaints_the_transparent_part_with_a_random_seed() {
    let h = Harness::start().await;
    // Opaque red on the left half, fully transparent on the right.
    let input = image::RgbaImage::from_fn(64, 64, |x, _| {
        if x < 32 {
            image::Rgba([200, 20, 30, 255])
        } else {
            image::Rgba([200, 20, 30, 0])
        }
    });
    let body = json!({
        "image": png_b64(input),
        "prompt": "a beach",
        "seed": 0,
        "output_format": "webp"
    });
    let (seed, webp) = stability_image(h.invoke(INPAINT, &body).await).await;
    assert!((1..=4_294_967_294).contains(&seed), "{seed}");
    assert_eq!(image::guess_format(&webp).unwrap(), ImageFormat::WebP);
    let out = image::load_from_memory(&webp).unwrap().to_rgb8();
    assert_eq!(out.dimensions(), (2048, 2048));
    // The kept half (less the default grow_mask of 5 output pixels) is the input, exactly.
    for (x, y) in [(0, 0), (500, 1000), (1018, 2047)] {
        assert_eq!(out.get_pixel(x, y).0, [200, 20, 30], "({x},{y})");
    }
    // The transparent half is repainted.
    let repainted = (1030..2048)
        .step_by(97)
        .filter(|&x| out.get_pixel(x, 700).0 != [200, 20, 30])
        .count();
    assert!(repainted > 5, "{repainted}");
}

#[tokio::test]
async fn inpaint_answers_jpeg_when_asked_and_base_ids_and_arns_work() {
    let h = Harness::start().await;
    let body = json!({
        "image": encode(subject_image(64, 64), ImageFormat::Jpeg),
        "mask": png_b64(left_half_mask(64, 64)),
        "prompt": "a forest",
        "seed": 7,
        "output_format": "jpeg"
    });
    let (seed, jpeg) = stability_image(h.invoke(INPAINT, &body).await).await;
    assert_eq!(seed, 7);
    assert_eq!(image::guess_format(&jpeg).unwrap(), ImageFormat::Jpeg);
    assert_eq!(image::load_from_memory(&jpeg).unwrap().width(), 2048);

    // The base id and the ARNs resolve to the same model (finish marker: no painting needed).
    let mut cheap = body.clone();
    cheap["prompt"] = json!(format!("a forest {ACCEPTED_MARKER}"));
    for id in [
        "stability.stable-image-inpaint-v1%3A0",
        "arn%3Aaws%3Abedrock%3Aus-west-2%3A%3Afoundation-model%2Fstability.stable-image-inpaint-v1%3A0",
        "arn%3Aaws%3Abedrock%3Aus-west-2%3A123456789012%3Ainference-profile%2Fus.stability.stable-image-inpaint-v1%3A0",
    ] {
        assert_finished(h.invoke(id, &cheap).await, "Inference error").await;
    }
}

#[tokio::test]
async fn inpaint_validation_boundaries() {
    let h = Harness::start().await;
    let small = png_b64(object_image(64, 64));
    let base = json!({"image": small, "prompt": format!("a beach {ACCEPTED_MARKER}")});
    let with = |key: &str, value: Value| {
        let mut body = base.clone();
        body[key] = value;
        body
    };
    let without = |key: &str| {
        let mut body = base.clone();
        body.as_object_mut().unwrap().remove(key);
        body
    };
    let sized = |w: u32, hh: u32| with("image", json!(png_b64(GrayImage::new(w, hh))));
    // A prompt of exactly `n` characters that carries the marker.
    let prompt_of = |n: usize| {
        let pad = n - ACCEPTED_MARKER.len();
        with(
            "prompt",
            json!(format!("{}{ACCEPTED_MARKER}", "p".repeat(pad))),
        )
    };
    let gif = STANDARD.encode(b"GIF89a\x01\x00\x01\x00\x00\x00\x00;");

    let accepted = vec![
        base.clone(),
        sized(64, 64),
        sized(160, 64),
        sized(64, 160),
        prompt_of(10_000),
        with("negative_prompt", json!("n".repeat(10_000))),
        with("seed", json!(4_294_967_294_u64)),
        with("seed", json!(0)),
        with("grow_mask", json!(20)),
        with("grow_mask", json!(0)),
        with("output_format", json!("webp")),
        with("style_preset", json!("pixel-art")),
        with("style_preset", json!("3d-model")),
        with("mask", json!(png_b64(object_mask(64, 64)))),
        with(
            "image",
            json!(encode(object_image(64, 64), ImageFormat::WebP)),
        ),
    ];
    for body in &accepted {
        assert_finished(h.invoke(INPAINT, body).await, "Inference error").await;
    }

    let rejected: Vec<(Value, Vec<&str>)> = vec![
        (sized(63, 64), vec!["#/image", "63x64", "at least 64"]),
        (sized(64, 63), vec!["#/image", "64x63", "at least 64"]),
        (sized(161, 64), vec!["#/image", "161x64", "2.5:1"]),
        (sized(64, 161), vec!["#/image", "64x161", "1:2.5"]),
        (
            prompt_of(10_001),
            vec!["#/prompt", "maxLength: 10000", "10001"],
        ),
        (with("prompt", json!("")), vec!["#/prompt", "minLength: 1"]),
        (without("prompt"), vec!["required key [prompt]"]),
        (without("image"), vec!["required key [image]"]),
        (
            with("negative_prompt", json!("n".repeat(10_001))),
            vec!["#/negative_prompt", "maxLength: 10000"],
        ),
        (
            with("seed", json!(4_294_967_295_u64)),
            vec!["#/seed", "less or equal to 4294967294"],
        ),
        (
            with("seed", json!(-1)),
            vec!["#/seed", "greater or equal to 0"],
        ),
        (
            with("grow_mask", json!(21)),
            vec!["#/grow_mask", "less or equal to 20"],
        ),
        (
            with("grow_mask", json!(-1)),
            vec!["#/grow_mask", "greater or equal to 0"],
        ),
        (
            with("output_format", json!("gif")),
            vec!["#/output_format", "png, jpeg, webp"],
        ),
        (
            with("style_preset", json!("watercolor")),
            vec!["#/style_preset", "watercolor", "photographic"],
        ),
        (
            with("samples", json!(2)),
            vec!["extraneous key [samples] is not permitted"],
        ),
        (
            with("mask", json!(png_b64(object_mask(64, 65)))),
            vec!["#/mask", "64x65", "64x64", "same size"],
        ),
        (
            with("image", json!(gif)),
            vec!["#/image", "PNG, JPEG or WebP"],
        ),
        (
            with("image", json!("not base64!")),
            vec!["#/image", "base64"],
        ),
        (
            with(
                "prompt",
                json!("[emulator finish reason: Filter reason: everything]"),
            ),
            vec!["#/prompt", "Filter reason: everything", "Inference error"],
        ),
    ];
    for (body, needles) in rejected {
        assert_validation(h.invoke(INPAINT, &body).await, &needles).await;
    }

    // The pixel limit: 3072 x 3072 = 9,437,184 passes, one row more does not (no image of
    // exactly 9,437,185 pixels passes the side and aspect checks; the unit tests cover that
    // count). Grey PNGs keep these big inputs cheap.
    assert_finished(
        h.invoke(INPAINT, &sized(3072, 3072)).await,
        "Inference error",
    )
    .await;
    assert_validation(
        h.invoke(INPAINT, &sized(3072, 3073)).await,
        &["#/image", "9440256 pixels", "maximum is 9437184"],
    )
    .await;

    let log = h.admin(reqwest::Method::GET, "/requests").await;
    assert_eq!(log["withFinishReason"], accepted.len() as u64 + 1);
}

#[tokio::test]
async fn finish_reasons_from_the_admin_route_count_down_and_prompt_markers_apply_once() {
    let h = Harness::start().await;
    let inpaint = json!({"image": png_b64(object_image(64, 64)), "prompt": "a beach"});
    let remove = json!({"image": png_b64(object_image(64, 64))});

    let set = h
        .admin(
            reqwest::Method::POST,
            "/finish-reason?reason=Filter%20reason%3A%20prompt&count=2",
        )
        .await;
    assert_eq!(
        set,
        json!({"finishReason": "Filter reason: prompt", "finishReasonRemaining": 2})
    );
    // Invocations that fail validation, and legacy models, do not use the injection up.
    assert_validation(h.invoke(INPAINT, &json!({"image": "x"})).await, &["prompt"]).await;
    let titan = request(&png_b64(subject_image(512, 512)), 1, 1);
    assert_eq!(images_of(h.invoke(TITAN_V1, &titan).await).await.len(), 1);
    assert_finished(h.invoke(INPAINT, &inpaint).await, "Filter reason: prompt").await;
    assert_finished(
        h.invoke(REMOVE_BACKGROUND, &remove).await,
        "Filter reason: prompt",
    )
    .await;
    // Used up: the next one answers an image.
    stability_image(h.invoke(REMOVE_BACKGROUND, &remove).await).await;

    // count=0 cancels; `+` encodes spaces too.
    h.admin(
        reqwest::Method::POST,
        "/finish-reason?reason=Inference+error&count=3",
    )
    .await;
    let cancelled = h
        .admin(reqwest::Method::POST, "/finish-reason?count=0")
        .await;
    assert_eq!(cancelled["finishReasonRemaining"], 0);
    stability_image(h.invoke(REMOVE_BACKGROUND, &remove).await).await;

    // A prompt marker ends that invocation only; a pending injection wins over it.
    let marked = |reason: &str| {
        let mut body = inpaint.clone();
        body["prompt"] = json!(format!("a beach [emulator finish reason: {reason}]"));
        body
    };
    assert_finished(
        h.invoke(INPAINT, &marked("Filter reason: output image"))
            .await,
        "Filter reason: output image",
    )
    .await;
    h.admin(
        reqwest::Method::POST,
        "/finish-reason?reason=Filter%20reason%3A%20input%20image&count=1",
    )
    .await;
    assert_finished(
        h.invoke(INPAINT, &marked("Inference error")).await,
        "Filter reason: input image",
    )
    .await;
    assert_finished(
        h.invoke(INPAINT, &marked("Inference error")).await,
        "Inference error",
    )
    .await;

    let log = h.admin(reqwest::Method::GET, "/requests").await;
    let reasons: Vec<&Value> = log["log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["finishReason"])
        .collect();
    assert_eq!(
        reasons,
        [
            &Value::Null,
            &Value::Null,
            &json!("Filter reason: prompt"),
            &json!("Filter reason: prompt"),
            &Value::Null,
            &Value::Null,
            &json!("Filter reason: output image"),
            &json!("Filter reason: input image"),
            &json!("Inference error"),
        ]
    );
    let finished = &log["log"][2];
    assert_eq!(finished["status"], 200);
    assert_eq!(finished["images"], 0);
    assert_eq!(log["withFinishReason"], 5);
    assert_eq!(log["finishReasonRemaining"], 0);

    // Bad admin requests are refused; reset clears a pending injection.
    for query in [
        "?reason=Filter%20reason%3A%20everything&count=1",
        "?count=1",
        "?reason=Inference%20error",
        "?reason=Inference%20error&count=1&extra=1",
    ] {
        let response = h
            .http
            .post(h.url(&format!("/_emulator/bedrock/finish-reason{query}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query}");
        let body: Value = response.json().await.unwrap();
        assert!(body["error"].is_string(), "{body}");
    }
    h.admin(
        reqwest::Method::POST,
        "/finish-reason?reason=Inference%20error&count=4",
    )
    .await;
    h.admin(reqwest::Method::POST, "/reset").await;
    let log = h.admin(reqwest::Method::GET, "/requests").await;
    assert_eq!(log["finishReasonRemaining"], 0);
    assert_eq!(log["finishReason"], Value::Null);
    stability_image(h.invoke(REMOVE_BACKGROUND, &remove).await).await;
}

/// A green square (32..64 x 16..48) on a light background with a little noise.
fn square_on_plain_background() -> RgbImage {
    RgbImage::from_fn(96, 64, |x, y| {
        if (32..64).contains(&x) && (16..48).contains(&y) {
            image::Rgb([30, 170, 60])
        } else if (x * 3 + y) % 5 == 0 {
            image::Rgb([222, 226, 218])
        } else {
            image::Rgb([230, 230, 225])
        }
    })
}

#[tokio::test]
async fn remove_background_makes_the_background_transparent() {
    let h = Harness::start().await;
    let input = square_on_plain_background();
    for (format, body) in [
        (ImageFormat::Png, json!({"image": png_b64(input.clone())})),
        (
            ImageFormat::WebP,
            json!({"image": png_b64(input.clone()), "output_format": "webp"}),
        ),
        (
            ImageFormat::Png,
            json!({"image": encode(input.clone(), ImageFormat::WebP), "output_format": "png"}),
        ),
    ] {
        let (_, bytes) = stability_image(h.invoke(REMOVE_BACKGROUND, &body).await).await;
        assert_eq!(image::guess_format(&bytes).unwrap(), format);
        let decoded = image::load_from_memory(&bytes).unwrap();
        assert!(decoded.color().has_alpha());
        let out = decoded.to_rgba8();
        assert_eq!(out.dimensions(), (96, 64), "the input's size");
        for (x, y, p) in out.enumerate_pixels() {
            let subject = (32..64).contains(&x) && (16..48).contains(&y);
            let expected = if subject {
                [30, 170, 60, 255]
            } else {
                [0, 0, 0, 0]
            };
            assert_eq!(p.0, expected, "({x},{y})");
        }
    }

    let image = png_b64(input);
    let rejected: Vec<(Value, Vec<&str>)> = vec![
        (
            json!({"image": image, "output_format": "jpeg"}),
            vec!["#/output_format", "jpeg", "alpha"],
        ),
        (
            json!({"image": image, "prompt": "x"}),
            vec!["extraneous key [prompt]"],
        ),
        (json!({}), vec!["required key [image]"]),
        (
            json!({"image": png_b64(GrayImage::new(63, 64))}),
            vec!["#/image", "at least 64"],
        ),
        (
            json!({"image": png_b64(GrayImage::new(161, 64))}),
            vec!["#/image", "2.5:1"],
        ),
    ];
    for (body, needles) in rejected {
        assert_validation(h.invoke(REMOVE_BACKGROUND, &body).await, &needles).await;
    }
}

/// An `Authorization` header naming `region` in its SigV4 credential scope (not verified
/// without IAM enforcement, but read for the region).
fn signed_in(region: &str) -> String {
    format!(
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250101/{region}/bedrock/aws4_request, \
         SignedHeaders=host;x-amz-date, Signature=0123"
    )
}

#[tokio::test]
async fn us_profiles_are_invalid_outside_their_source_regions() {
    let h = Harness::start().await;
    let body = json!({"image": png_b64(object_image(64, 64))});
    let invoke_in = |model: &'static str, region: &'static str| {
        h.http
            .post(h.url(&format!("/model/{model}/invoke")))
            .header("content-type", "application/json")
            .header("authorization", signed_in(region))
            .body(body.to_string())
            .send()
    };
    assert_validation(
        invoke_in(REMOVE_BACKGROUND, "eu-west-1").await.unwrap(),
        &["The provided model identifier is invalid."],
    )
    .await;
    for region in ["us-east-1", "us-east-2", "us-west-2"] {
        stability_image(invoke_in(REMOVE_BACKGROUND, region).await.unwrap()).await;
    }
    // A base id is not a profile: callable from anywhere (unsigned requests, above, too).
    stability_image(
        invoke_in(
            "stability.stable-image-remove-background-v1%3A0",
            "eu-west-1",
        )
        .await
        .unwrap(),
    )
    .await;
}

//! `mlpipe images build-request`, run as a process.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use base64::Engine as _;

const SAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../events/images");

fn sample(name: &str) -> String {
    Path::new(SAMPLES).join(name).to_str().unwrap().to_owned()
}

fn mlpipe(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mlpipe"))
        .args(args)
        .env_remove("MLPIPE_LOG")
        .env_remove("MLPIPE_IMAGE_MODEL_ID")
        .output()
        .expect("run mlpipe")
}

fn build(extra: &[&str]) -> Output {
    let mut args = vec!["images", "build-request"];
    args.extend_from_slice(extra);
    mlpipe(&args)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(o: &Output) -> serde_json::Value {
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(o));
    serde_json::from_slice(&o.stdout).expect("stdout is JSON")
}

fn decode_png(b64: &serde_json::Value) -> image::RgbImage {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64.as_str().unwrap())
        .unwrap();
    assert!(bytes.starts_with(b"\x89PNG"));
    image::load_from_memory(&bytes).unwrap().to_rgb8()
}

fn decode_gray(b64: &serde_json::Value) -> image::DynamicImage {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64.as_str().unwrap())
        .unwrap();
    assert!(bytes.starts_with(b"\x89PNG"));
    image::load_from_memory(&bytes).unwrap()
}

fn keys(v: &serde_json::Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    k.sort();
    k
}

#[test]
fn labels_give_a_mask_prompt_request_in_the_fixture_shape() {
    let o = build(&[
        &sample("product-640x480.png"),
        "--prompt",
        "a mug on a wooden table by a window",
        "--negative",
        "people",
        "--labels",
        "Cup,Mug",
        "--mode",
        "PRECISE",
        "--model",
        "amazon.titan-image-generator-v1",
        "--images",
        "3",
        "--seed",
        "12345",
        "--quality",
        "premium",
        "--cfg-scale",
        "7.5",
    ]);
    let v = json(&o);
    let fixture: serde_json::Value = serde_json::from_str(include_str!(
        "../../../events/bedrock/titan_outpainting_request_from_sample.json"
    ))
    .unwrap();
    assert_eq!(keys(&v), keys(&fixture));
    assert_eq!(
        keys(&v["outPaintingParams"]),
        keys(&fixture["outPaintingParams"])
    );
    assert_eq!(
        keys(&v["imageGenerationConfig"]),
        keys(&fixture["imageGenerationConfig"])
    );
    assert_eq!(v["taskType"], "OUTPAINTING");
    let p = &v["outPaintingParams"];
    assert_eq!(p["maskPrompt"], "Cup, Mug");
    assert_eq!(p["outPaintingMode"], "PRECISE");
    assert_eq!(p["negativeText"], "people");
    let c = &v["imageGenerationConfig"];
    // 640x480 (4:3) -> the closest Titan shape that holds it: 1152x896 (9:7)
    assert_eq!(
        (c["width"].as_u64(), c["height"].as_u64()),
        (Some(1152), Some(896))
    );
    assert_eq!(c["numberOfImages"], 3);
    assert_eq!(c["seed"], 12345);
    assert_eq!(c["quality"], "premium");
    assert_eq!(c["cfgScale"], 7.5);
    assert_eq!(decode_png(&p["image"]).dimensions(), (1152, 896));
}

#[test]
fn mask_boxes_give_a_mask_image_of_the_fitted_size() {
    let o = build(&[
        &sample("portrait-600x900.jpg"),
        "--prompt",
        "a studio backdrop",
        "--model",
        "amazon.titan-image-generator-v1",
        "--mask-box",
        "0.25,0.2,0.5,0.7",
        "--mask-box",
        "0,0,0.1,0.1",
    ]);
    let v = json(&o);
    let p = &v["outPaintingParams"];
    assert!(p.get("maskPrompt").is_none());
    assert!(p.get("negativeText").is_none());
    assert_eq!(p["outPaintingMode"], "DEFAULT");
    let img = decode_png(&p["image"]);
    let mask = decode_png(&p["maskImage"]);
    assert_eq!(img.dimensions(), mask.dimensions());
    // 600x900 (2:3) -> 768x1152 (Titan)
    assert_eq!(mask.dimensions(), (768, 1152));
    assert_eq!(
        mask.get_pixel(384, 600).0,
        [0, 0, 0],
        "inside the box is kept (black)"
    );
    assert_eq!(
        mask.get_pixel(10, 600).0,
        [255, 255, 255],
        "outside is repainted (white)"
    );
    assert_eq!(mask.get_pixel(5, 5).0, [0, 0, 0]);
    // no --mode, --quality or --cfg-scale: the model's defaults
    let c = &v["imageGenerationConfig"];
    assert_eq!(c["numberOfImages"], 1);
    assert_eq!(c["quality"], "standard");
    assert_eq!(c["cfgScale"], 8.0);
    assert_eq!(c["seed"], 0);
}

#[test]
fn nova_canvas_gets_a_free_size() {
    let o = build(&[
        &sample("panorama-1200x300.png"),
        "--prompt",
        "mountains at dusk",
        "--labels",
        "Boat",
        "--model",
        "us.amazon.nova-canvas-v1:0",
        "--seed",
        "858993459",
    ]);
    let v = json(&o);
    let c = &v["imageGenerationConfig"];
    let (w, h) = (c["width"].as_u64().unwrap(), c["height"].as_u64().unwrap());
    // 1200x300 is 4:1 (the widest Nova allows) with a short side under 320: scaled up to 1280x320
    assert_eq!((w, h), (1280, 320));
    assert_eq!(v["outPaintingParams"]["maskPrompt"], "Boat");
    // Nova Canvas's own default cfgScale
    assert_eq!(c["cfgScale"], 6.5);
}

#[test]
fn the_model_can_come_from_the_environment() {
    let o = Command::new(env!("CARGO_BIN_EXE_mlpipe"))
        .args([
            "images",
            "build-request",
            &sample("product-640x480.png"),
            "--prompt",
            "p",
            "--labels",
            "Cup",
        ])
        .env_remove("MLPIPE_LOG")
        .env("MLPIPE_IMAGE_MODEL_ID", "amazon.titan-image-generator-v2:0")
        .output()
        .expect("run mlpipe");
    let v = json(&o);
    assert_eq!(v["taskType"], "OUTPAINTING");
    assert_eq!(v["outPaintingParams"]["maskPrompt"], "Cup");
}

fn stability(extra: &[&str]) -> serde_json::Value {
    let png = sample("product-640x480.png");
    let mut args = vec![png.as_str(), "--prompt", "a sunny beach"];
    args.extend_from_slice(extra);
    json(&build(&args))
}

#[test]
fn the_default_model_gets_a_flat_stability_body_with_a_grayscale_mask() {
    let v = stability(&["--mask-box", "0.25,0.25,0.5,0.5"]);
    assert_eq!(
        keys(&v),
        ["image", "mask", "output_format", "prompt", "seed"]
    );
    assert_eq!(v["prompt"], "a sunny beach");
    assert_eq!(v["output_format"], "png");
    assert_eq!(v["seed"], 0);
    let image = decode_gray(&v["image"]);
    let mask = decode_gray(&v["mask"]);
    // 640x480 is within Stability's limits: sent at its own size
    assert_eq!((image.width(), image.height()), (640, 480));
    assert_eq!(mask.color(), image::ColorType::L8, "a grayscale mask");
    let m = mask.to_luma8();
    assert_eq!(m.dimensions(), (640, 480), "the mask has the image's size");
    assert_eq!(
        m.get_pixel(320, 240).0,
        [0],
        "inside the box is kept (black)"
    );
    assert_eq!(m.get_pixel(10, 10).0, [255], "outside is repainted (white)");
    assert_eq!(m.get_pixel(630, 470).0, [255]);

    let v = stability(&[
        "--mask-box",
        "0.25,0.25,0.5,0.5",
        "--negative",
        "people",
        "--grow-mask",
        "3",
        "--style-preset",
        "photographic",
        "--seed",
        "7",
    ]);
    assert_eq!(
        keys(&v),
        [
            "grow_mask",
            "image",
            "mask",
            "negative_prompt",
            "output_format",
            "prompt",
            "seed",
            "style_preset"
        ]
    );
    assert_eq!(v["negative_prompt"], "people");
    assert_eq!(v["grow_mask"], 3);
    assert_eq!(v["style_preset"], "photographic");
    assert_eq!(v["seed"], 7);
    // the full profile id or the base id: the same body
    let base = stability(&[
        "--mask-box",
        "0.25,0.25,0.5,0.5",
        "--model",
        "stability.stable-image-inpaint-v1:0",
    ]);
    assert_eq!(
        keys(&base),
        ["image", "mask", "output_format", "prompt", "seed"]
    );
}

#[test]
fn stability_images_are_calls_with_consecutive_seeds() {
    let seed = |call: &str| {
        stability(&[
            "--mask-box",
            "0.25,0.25,0.5,0.5",
            "--images",
            "3",
            "--seed",
            "42",
            "--call",
            call,
        ])["seed"]
            .clone()
    };
    assert_eq!(seed("0"), 42);
    assert_eq!(seed("1"), 43);
    assert_eq!(seed("2"), 44);
    let v = stability(&["--mask-box", "0,0,1,1", "--images", "3"]);
    assert_eq!(v["seed"], 0, "seed 0: random in every call");
    let top = stability(&[
        "--mask-box",
        "0,0,1,1",
        "--images",
        "2",
        "--seed",
        "4294967294",
        "--call",
        "1",
    ]);
    assert_eq!(top["seed"], 0, "wraps within 0-4,294,967,294");
    let png = sample("product-640x480.png");
    fails(
        &[
            &png,
            "--prompt",
            "p",
            "--mask-box",
            "0,0,1,1",
            "--images",
            "3",
            "--call",
            "3",
        ],
        1,
        "--call: 3, must be 0 to 2",
    );
    fails(
        &[
            &png,
            "--prompt",
            "p",
            "--labels",
            "Cup",
            "--model",
            "amazon.titan-image-generator-v1",
            "--images",
            "3",
            "--call",
            "1",
        ],
        1,
        "--call: 1, must be 0 to 0",
    );
}

#[test]
fn stability_build_request_needs_mask_boxes() {
    let png = sample("product-640x480.png");
    fails(
        &[&png, "--prompt", "p", "--labels", "Cup"],
        1,
        "mask: build-request needs --mask-box",
    );
    fails(
        &[&png, "--prompt", "p", "--labels", "Cup"],
        1,
        "Rekognition DetectLabels",
    );
    for subject in [&[][..], &["--subject"][..]] {
        let mut args = vec![png.as_str(), "--prompt", "p"];
        args.extend_from_slice(subject);
        fails(&args, 1, "mask: build-request needs --mask-box");
        fails(&args, 1, "Stable Image Remove Background");
    }
    // the legacy models cannot find the subject at all
    fails(
        &[
            &png,
            "--prompt",
            "p",
            "--model",
            "amazon.titan-image-generator-v1",
        ],
        1,
        "mask: keeping the main subject",
    );
}

#[test]
fn options_the_model_does_not_take_exit_1() {
    let png = sample("product-640x480.png");
    let with = |extra: &[&str]| {
        let mut args = vec![png.as_str(), "--prompt", "p", "--mask-box", "0,0,1,1"];
        args.extend_from_slice(extra);
        args.into_iter().map(str::to_owned).collect::<Vec<_>>()
    };
    let check = |extra: &[&str], needle: &str| {
        let args = with(extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        fails(&args, 1, needle);
    };
    check(&["--cfg-scale", "7"], "cfgScale: not used by");
    check(&["--quality", "premium"], "quality: not used by");
    check(&["--mode", "PRECISE"], "mode: not used by");
    check(&["--grow-mask", "21"], "growMask: 21, must be 0 to 20");
    check(
        &["--style-preset", "oil"],
        "stylePreset: \"oil\" is not one of",
    );
    check(
        &["--seed", "4294967295"],
        "seed: 4294967295, must be 0 to 4294967294",
    );
    check(
        &[
            "--model",
            "amazon.titan-image-generator-v1",
            "--grow-mask",
            "2",
        ],
        "growMask: not used by",
    );
    check(
        &[
            "--model",
            "us.amazon.nova-canvas-v1:0",
            "--style-preset",
            "anime",
        ],
        "stylePreset: not used by",
    );
}

#[test]
fn stability_prompts_are_checked_at_the_boundary() {
    let png = sample("product-640x480.png");
    let ok = "p".repeat(10_000);
    let v = json(&build(&[&png, "--prompt", &ok, "--mask-box", "0,0,1,1"]));
    assert_eq!(v["prompt"].as_str().unwrap().len(), 10_000);
    let long = "p".repeat(10_001);
    fails(
        &[&png, "--prompt", &long, "--mask-box", "0,0,1,1"],
        1,
        "prompt: 10001 characters, the limit is 10000",
    );
}

fn fails(extra: &[&str], code: i32, needle: &str) {
    let o = build(extra);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(code), "stderr: {err}");
    assert!(o.stdout.is_empty());
    assert!(err.contains(needle), "{needle:?} not in {err}");
}

#[test]
fn invalid_input_exits_1_with_the_field_and_the_limit() {
    let png = sample("product-640x480.png");
    let titan = |extra: &[&str]| {
        let mut args = vec![
            png.as_str(),
            "--model",
            "amazon.titan-image-generator-v1",
            "--labels",
            "Cup",
        ];
        args.extend_from_slice(extra);
        args.into_iter().map(str::to_owned).collect::<Vec<_>>()
    };
    let check = |extra: &[&str], needle: &str| {
        let args = titan(extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        fails(&args, 1, needle);
    };
    check(
        &["--prompt", &"x".repeat(513)],
        "text: 513 characters, the limit is 512",
    );
    check(
        &["--prompt", "p", "--images", "6"],
        "numberOfImages: 6, must be 1 to 5",
    );
    check(
        &["--prompt", "p", "--cfg-scale", "1.0"],
        "cfgScale: 1, must be 1.1 to 10",
    );
    check(
        &["--prompt", "p", "--seed", "2147483647"],
        "seed: 2147483647, must be 0 to 2147483646",
    );
    fails(
        &[&png, "--prompt", "p", "--mask-box", "0.5,0.5,0.9,0.2"],
        1,
        "extends past the image",
    );
    fails(
        &[
            &png,
            "--prompt",
            "p",
            "--labels",
            "Cup",
            "--model",
            "stability.sd3",
        ],
        1,
        "model: \"stability.sd3\" is not a supported image model",
    );
}

#[test]
fn unreadable_or_non_image_files_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let fake: PathBuf = dir.path().join("photo.png");
    std::fs::write(&fake, b"this is not a picture").unwrap();
    fails(
        &[
            fake.to_str().unwrap(),
            "--prompt",
            "p",
            "--mask-box",
            "0,0,1,1",
        ],
        1,
        "image: not a PNG or JPEG",
    );
    let missing = dir.path().join("missing.jpg");
    fails(
        &[
            missing.to_str().unwrap(),
            "--prompt",
            "p",
            "--mask-box",
            "0,0,1,1",
        ],
        1,
        "cannot read image",
    );
    // a JPEG named .png is read as what it is
    let renamed = dir.path().join("really-a-jpeg.png");
    std::fs::copy(sample("portrait-600x900.jpg"), &renamed).unwrap();
    let o = build(&[
        renamed.to_str().unwrap(),
        "--prompt",
        "p",
        "--mask-box",
        "0.2,0.2,0.6,0.6",
    ]);
    json(&o);
}

#[test]
fn usage_errors_exit_2() {
    let png = sample("product-640x480.png");
    // two kinds of mask
    fails(
        &[
            &png,
            "--prompt",
            "p",
            "--labels",
            "Cup",
            "--mask-box",
            "0,0,1,1",
        ],
        2,
        "cannot be used with",
    );
    fails(
        &[&png, "--prompt", "p", "--subject", "--labels", "Cup"],
        2,
        "cannot be used with",
    );
    fails(
        &[&png, "--prompt", "p", "--subject", "--mask-box", "0,0,1,1"],
        2,
        "cannot be used with",
    );
    fails(&[&png, "--labels", "Cup"], 2, "--prompt");
    fails(
        &[
            &png,
            "--prompt",
            "p",
            "--mask-box",
            "0,0,1,1",
            "--call",
            "x",
        ],
        2,
        "invalid value",
    );
    fails(
        &[&png, "--prompt", "p", "--labels", "Cup", "--mode", "FAST"],
        2,
        "invalid value",
    );
}

/// Regenerates the synthetic samples in events/images (run with `--ignored` when changing them).
#[test]
#[ignore]
fn regenerate_samples() {
    use image::{Rgb, RgbImage};
    let disc = |w: u32, h: u32, cx: f32, cy: f32, r: f32, fg: [u8; 3]| {
        RgbImage::from_fn(w, h, move |x, y| {
            let (fx, fy) = (x as f32, y as f32);
            if (fx - cx).powi(2) + (fy - cy).powi(2) < r * r {
                Rgb(fg)
            } else {
                let t = fy / h as f32;
                Rgb([
                    (90.0 + 100.0 * t) as u8,
                    (130.0 + 60.0 * t) as u8,
                    (200.0 - 80.0 * t) as u8,
                ])
            }
        })
    };
    let dir = Path::new(SAMPLES);
    disc(640, 480, 320.0, 270.0, 120.0, [200, 40, 30])
        .save(dir.join("product-640x480.png"))
        .unwrap();
    disc(1200, 300, 900.0, 200.0, 60.0, [240, 240, 240])
        .save(dir.join("panorama-1200x300.png"))
        .unwrap();
    let portrait = disc(600, 900, 300.0, 500.0, 200.0, [230, 180, 140]);
    let mut out = std::fs::File::create(dir.join("portrait-600x900.jpg")).unwrap();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
        .encode_image(&portrait)
        .unwrap();
}

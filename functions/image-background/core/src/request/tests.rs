use base64::Engine as _;
use image::{ExtendedColorType, ImageEncoder as _, RgbImage};

use super::*;
use crate::mask::{BoundingBox, MASK_KEEP, MASK_REPAINT};
use image::Rgb;
use shared_core::ErrorKind;

const FIXTURE: &str =
    include_str!("../../../../../events/bedrock/titan_outpainting_request_from_sample.json");

fn png(w: u32, h: u32) -> Vec<u8> {
    encode_png(&RgbImage::from_fn(w, h, |x, y| {
        Rgb([x as u8, y as u8, 128])
    }))
    .unwrap()
}

fn jpeg(w: u32, h: u32) -> Vec<u8> {
    let img = RgbImage::from_fn(w, h, |x, y| Rgb([x as u8, y as u8, 60]));
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
        .encode_image(&img)
        .unwrap();
    out
}

fn job(mask: Mask) -> EditJob {
    EditJob {
        prompt: "a sunny beach".into(),
        negative: Some("people".into()),
        mask,
        mode: OutPaintingMode::Precise,
        options: GenerationOptions {
            number_of_images: 2,
            quality: Some(Quality::Premium),
            cfg_scale: Some(7.5),
            seed: 42,
            ..GenerationOptions::default()
        },
    }
}

fn stability_job(mask: Mask) -> EditJob {
    EditJob {
        prompt: "a sunny beach".into(),
        negative: Some("people".into()),
        mask,
        mode: OutPaintingMode::Default,
        options: GenerationOptions {
            number_of_images: 3,
            seed: 42,
            ..GenerationOptions::default()
        },
    }
}

fn legacy(b: &BuiltRequest) -> &OutpaintingRequest {
    match &b.request {
        ModelRequest::Outpainting(r) => r,
        ModelRequest::Inpaint(_) => panic!("not a legacy request"),
    }
}

fn labels() -> Mask {
    Mask::Labels(vec!["Laptop".into(), "Computer".into()])
}

fn keys(v: &serde_json::Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    k.sort();
    k
}

#[test]
fn request_has_the_fixture_shape() {
    let built = build_request(Model::TitanV1, &png(1024, 1024), &job(labels())).unwrap();
    let ours: serde_json::Value = serde_json::from_str(&built.to_json()).unwrap();
    let fixture: serde_json::Value = serde_json::from_str(FIXTURE).unwrap();
    assert_eq!(keys(&ours), keys(&fixture));
    assert_eq!(
        keys(&ours["outPaintingParams"]),
        keys(&fixture["outPaintingParams"])
    );
    assert_eq!(
        keys(&ours["imageGenerationConfig"]),
        keys(&fixture["imageGenerationConfig"])
    );
    assert_eq!(ours["taskType"], "OUTPAINTING");
    let p = &ours["outPaintingParams"];
    assert_eq!(p["text"], "a sunny beach");
    assert_eq!(p["negativeText"], "people");
    assert_eq!(p["maskPrompt"], "Laptop, Computer");
    assert_eq!(p["outPaintingMode"], "PRECISE");
    let c = &ours["imageGenerationConfig"];
    assert_eq!(c["numberOfImages"], 2);
    assert_eq!(c["quality"], "premium");
    assert_eq!(c["width"], 1024);
    assert_eq!(c["height"], 1024);
    assert_eq!(c["cfgScale"], 7.5);
    assert_eq!(c["seed"], 42);
    // the image is a base64 PNG of the fitted size
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(p["image"].as_str().unwrap())
        .unwrap();
    let img = image::load_from_memory(&bytes).unwrap();
    assert_eq!((img.width(), img.height()), (1024, 1024));
    assert_eq!(built.source_format, ImageFormat::Png);
    // the typed request round-trips
    let back: OutpaintingRequest = serde_json::from_str(&built.to_json()).unwrap();
    assert_eq!(ModelRequest::Outpainting(back), built.request);
}

#[test]
fn no_negative_text_means_the_key_is_omitted() {
    let mut j = job(labels());
    j.negative = Some("  ".into());
    let built = build_request(Model::TitanV2, &png(64, 64), &j).unwrap();
    let v: serde_json::Value = serde_json::from_str(&built.to_json()).unwrap();
    assert!(v["outPaintingParams"].get("negativeText").is_none());
    j.negative = None;
    let built = build_request(Model::TitanV2, &png(64, 64), &j).unwrap();
    assert!(legacy(&built).out_painting_params.negative_text.is_none());
}

#[test]
fn jpeg_inputs_are_fitted_and_sent_as_png() {
    let built = build_request(Model::TitanV1, &jpeg(3000, 2000), &job(labels())).unwrap();
    assert_eq!(built.source_format, ImageFormat::Jpeg);
    let c = &legacy(&built).image_generation_config;
    assert_eq!((c.width, c.height), (1152, 768));
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(&legacy(&built).out_painting_params.image)
        .unwrap();
    assert!(bytes.starts_with(b"\x89PNG"));
    let nova = build_request(Model::NovaCanvas, &jpeg(1000, 500), &job(labels())).unwrap();
    let c = &legacy(&nova).image_generation_config;
    assert_eq!((c.width, c.height), (1008, 496));
}

#[test]
fn mask_image_is_sent_instead_of_mask_prompt() {
    let b = BoundingBox {
        left: 0.5,
        top: 0.0,
        width: 0.5,
        height: 1.0,
    };
    let built = build_request(Model::TitanV1, &png(600, 400), &job(Mask::Boxes(vec![b]))).unwrap();
    let ModelRequest::Outpainting(r) = &built.request else {
        panic!()
    };
    let p = &r.out_painting_params;
    assert!(p.mask_prompt.is_none());
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(p.mask_image.as_ref().unwrap())
        .unwrap();
    let m = image::load_from_memory(&bytes).unwrap().to_rgb8();
    // 600x400 -> 1152x768 (the smallest 3:2 size that holds it)
    assert_eq!(m.dimensions(), (1152, 768));
    assert_eq!(*m.get_pixel(575, 100), MASK_REPAINT);
    assert_eq!(*m.get_pixel(576, 100), MASK_KEEP);
    let v: serde_json::Value = serde_json::from_str(&built.to_json()).unwrap();
    assert!(v["outPaintingParams"].get("maskPrompt").is_none());
    assert!(v["outPaintingParams"]["maskImage"].is_string());
}

fn err(model: Model, j: &EditJob) -> String {
    let e = build_request(model, &png(32, 32), j).unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidInput);
    e.message
}

#[test]
fn text_limits_are_checked_at_the_boundary() {
    let mut j = job(labels());
    j.prompt = "p".repeat(512);
    assert!(build_request(Model::TitanV1, &png(32, 32), &j).is_ok());
    j.prompt = "p".repeat(513);
    assert_eq!(
        err(Model::TitanV1, &j),
        "text: 513 characters, the limit is 512 for amazon.titan-image-generator-v1"
    );
    // characters, not bytes
    j.prompt = "é".repeat(512);
    assert!(build_request(Model::TitanV1, &png(32, 32), &j).is_ok());
    j.prompt = "p".repeat(1024);
    assert!(build_request(Model::NovaCanvas, &png(32, 32), &j).is_ok());
    j.prompt = "p".repeat(1025);
    assert!(err(Model::NovaCanvas, &j).starts_with("text: 1025 characters"));
    j.prompt = " ".into();
    assert!(err(Model::TitanV1, &j).starts_with("text: empty"));
    j.prompt = "ok".into();
    j.negative = Some("n".repeat(513));
    assert!(err(Model::TitanV1, &j).starts_with("negativeText: 513 characters, the limit is 512"));
    j.negative = Some("n".repeat(512));
    assert!(build_request(Model::TitanV1, &png(32, 32), &j).is_ok());
}

#[test]
fn generation_options_are_checked_at_the_boundary() {
    let ok = |o: &GenerationOptions, m: Model| o.validate(m).is_ok();
    let base = GenerationOptions::one();
    for m in Model::ALL {
        assert!(ok(&base, m));
        for (n, fine) in [(0, false), (1, true), (5, true), (6, false)] {
            let o = GenerationOptions {
                number_of_images: n,
                ..base.clone()
            };
            assert_eq!(ok(&o, m), fine, "{m} {n}");
        }
        let max = u64::from(m.limits().max_seed);
        assert!(ok(
            &GenerationOptions {
                seed: max,
                ..base.clone()
            },
            m
        ));
        assert!(!ok(
            &GenerationOptions {
                seed: max + 1,
                ..base.clone()
            },
            m
        ));
    }
    for m in [Model::TitanV1, Model::TitanV2, Model::NovaCanvas] {
        for (c, fine) in [
            (1.1, true),
            (10.0, true),
            (1.0, false),
            (10.01, false),
            (f64::NAN, false),
        ] {
            let o = GenerationOptions {
                cfg_scale: Some(c),
                ..base.clone()
            };
            assert_eq!(ok(&o, m), fine, "{m} {c}");
        }
        let e = GenerationOptions {
            grow_mask: Some(5),
            ..base.clone()
        }
        .validate(m)
        .unwrap_err();
        assert!(
            e.message.starts_with("growMask: not used by"),
            "{}",
            e.message
        );
    }
    let s = Model::StabilityInpaint;
    assert!(ok(
        &GenerationOptions {
            grow_mask: Some(20),
            ..base.clone()
        },
        s
    ));
    let e = GenerationOptions {
        grow_mask: Some(21),
        ..base.clone()
    }
    .validate(s)
    .unwrap_err();
    assert_eq!(e.message, "growMask: 21, must be 0 to 20");
    assert!(ok(
        &GenerationOptions {
            style_preset: Some("photographic".into()),
            ..base.clone()
        },
        s
    ));
    let e = GenerationOptions {
        style_preset: Some("oil".into()),
        ..base.clone()
    }
    .validate(s)
    .unwrap_err();
    assert!(e
        .message
        .starts_with("stylePreset: \"oil\" is not one of 3d-model"));
    let e = GenerationOptions {
        cfg_scale: Some(7.0),
        ..base.clone()
    }
    .validate(s)
    .unwrap_err();
    assert_eq!(
        e.message,
        "cfgScale: not used by stability.stable-image-inpaint-v1:0 (only by the legacy Titan and Nova Canvas models); remove it"
    );
    assert!(GenerationOptions {
        quality: Some(Quality::Premium),
        ..base.clone()
    }
    .validate(s)
    .is_err());
    let e = GenerationOptions {
        number_of_images: 6,
        ..base.clone()
    }
    .validate(Model::TitanV1)
    .unwrap_err();
    assert_eq!(e.message, "numberOfImages: 6, must be 1 to 5");
    let e = GenerationOptions {
        cfg_scale: Some(11.0),
        ..base.clone()
    }
    .validate(Model::TitanV1)
    .unwrap_err();
    assert_eq!(e.message, "cfgScale: 11, must be 1.1 to 10");
    let e = GenerationOptions {
        seed: 858_993_460,
        ..base.clone()
    }
    .validate(Model::NovaCanvas)
    .unwrap_err();
    assert_eq!(
        e.message,
        "seed: 858993460, must be 0 to 858993459 for amazon.nova-canvas-v1:0"
    );
    let q: Quality = serde_json::from_str("\"standard\"").unwrap();
    assert_eq!(q, Quality::Standard);
    assert_eq!(
        serde_json::to_string(&OutPaintingMode::Default).unwrap(),
        "\"DEFAULT\""
    );
}

#[test]
fn model_defaults_apply_when_the_job_gives_none() {
    let mut j = job(labels());
    j.options.cfg_scale = None;
    j.options.quality = None;
    let nova = build_request(Model::NovaCanvas, &png(64, 64), &j).unwrap();
    let titan = build_request(Model::TitanV2, &png(64, 64), &j).unwrap();
    let cfg = |b: &BuiltRequest| match &b.request {
        ModelRequest::Outpainting(r) => (
            r.image_generation_config.cfg_scale,
            r.image_generation_config.quality,
        ),
        ModelRequest::Inpaint(_) => unreachable!(),
    };
    assert_eq!(cfg(&nova), (6.5, Quality::Standard));
    assert_eq!(cfg(&titan), (8.0, Quality::Standard));
}

fn boxes() -> Mask {
    Mask::Boxes(vec![BoundingBox {
        left: 0.25,
        top: 0.25,
        width: 0.5,
        height: 0.5,
    }])
}

#[test]
fn stability_requests_are_flat_snake_case_with_a_grayscale_mask() {
    let mut j = stability_job(boxes());
    j.options.grow_mask = Some(3);
    j.options.style_preset = Some("photographic".into());
    let built = build_request(Model::StabilityInpaint, &png(600, 400), &j).unwrap();
    assert_eq!(built.calls(), 3);
    let v: serde_json::Value = serde_json::from_str(&built.to_json()).unwrap();
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
    assert_eq!(v["prompt"], "a sunny beach");
    assert_eq!(v["negative_prompt"], "people");
    assert_eq!(v["output_format"], "png");
    assert_eq!(v["seed"], 42);
    // one call per image, seeds differ
    let seeds: Vec<u64> = (0..built.calls())
        .map(|i| {
            serde_json::from_str::<serde_json::Value>(&built.body(i)).unwrap()["seed"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(seeds, [42, 43, 44]);
    let b64 = base64::engine::general_purpose::STANDARD;
    let image =
        image::load_from_memory(&b64.decode(v["image"].as_str().unwrap()).unwrap()).unwrap();
    let mask = image::load_from_memory(&b64.decode(v["mask"].as_str().unwrap()).unwrap()).unwrap();
    // a small source is sent at its own size (>= 64 px a side, <= 2.5:1)
    assert_eq!((image.width(), image.height()), (600, 400));
    assert_eq!(mask.color(), image::ColorType::L8);
    let m = mask.to_luma8();
    assert_eq!(m.dimensions(), (600, 400));
    assert_eq!(m.get_pixel(300, 200).0[0], MASK_KEEP.0[0]);
    assert_eq!(m.get_pixel(10, 10).0[0], MASK_REPAINT.0[0]);
    // seed 0 (random) stays 0 in every call
    j.options.seed = 0;
    let built = build_request(Model::StabilityInpaint, &png(64, 64), &j).unwrap();
    assert!((0..3).all(|i| built.body(i).contains("\"seed\":0")));
}

#[test]
fn stability_sizes_are_fitted_within_its_limits() {
    let j = stability_job(boxes());
    // 12 MP phone photo: scaled to about 4 MP, aspect kept
    let built = build_request(Model::StabilityInpaint, &jpeg(4032, 3024), &j).unwrap();
    let t = built.transform;
    assert_eq!((t.source_width, t.source_height), (4032, 3024));
    assert!(u64::from(t.width) * u64::from(t.height) <= 4_194_304);
    assert!(u64::from(t.width) * u64::from(t.height) > 4_000_000);
    assert_eq!((t.offset_x, t.offset_y), (0, 0));
    // tiny: scaled up to 64 px a side
    let t = build_request(Model::StabilityInpaint, &png(20, 30), &j)
        .unwrap()
        .transform;
    assert!(t.width >= 64 && t.height >= 64, "{t:?}");
    // a 4:1 panorama is padded to 2.5:1, the bands repainted
    let built = build_request(Model::StabilityInpaint, &png(800, 200), &j).unwrap();
    let t = built.transform;
    let ratio = f64::from(t.width) / f64::from(t.height);
    assert!(ratio <= 2.5 + 1e-9, "{t:?}");
    assert!(t.offset_y > 0);
}

#[test]
fn masks_the_family_cannot_take_are_refused_early() {
    let e = build_request(
        Model::StabilityInpaint,
        b"not an image",
        &stability_job(labels()),
    )
    .unwrap_err();
    assert!(
        e.message
            .starts_with("mask: stability.stable-image-inpaint-v1:0 takes no label prompt"),
        "{}",
        e.message
    );
    let e = build_request(Model::TitanV2, b"not an image", &job(Mask::Subject)).unwrap_err();
    assert!(
        e.message
            .starts_with("mask: \"subject\" needs Stable Image Remove Background"),
        "{}",
        e.message
    );
    // subject without the removal's answer
    let e = build_request(
        Model::StabilityInpaint,
        &png(64, 64),
        &stability_job(Mask::Subject),
    )
    .unwrap_err();
    assert!(e.message.contains("needs the background removal's image"));
}

#[test]
fn the_subject_mask_comes_from_the_removal_alpha() {
    let j = stability_job(Mask::Subject);
    let prepared = prepare(Model::StabilityInpaint, &png(200, 100), &j).unwrap();
    let body: serde_json::Value = serde_json::from_str(&remove_background_body(&prepared)).unwrap();
    assert_eq!(keys(&body), ["image", "output_format"]);
    // the removal answers: left half opaque (subject), right half transparent
    let cut = image::RgbaImage::from_fn(200, 100, |x, _| {
        image::Rgba([9, 9, 9, if x < 100 { 255 } else { 0 }])
    });
    let mut answer = Vec::new();
    image::codecs::png::PngEncoder::new(&mut answer)
        .write_image(cut.as_raw(), 200, 100, ExtendedColorType::Rgba8)
        .unwrap();
    let built = prepared.finish(&j, Some(&answer)).unwrap();
    let ModelRequest::Inpaint(r) = &built.request else {
        panic!()
    };
    let b64 = base64::engine::general_purpose::STANDARD;
    let m = image::load_from_memory(&b64.decode(&r.mask).unwrap())
        .unwrap()
        .to_luma8();
    assert_eq!(m.get_pixel(50, 50).0[0], 0);
    assert_eq!(m.get_pixel(150, 50).0[0], 255);
    // nothing opaque: no subject, a clear error
    let clear = image::RgbaImage::from_pixel(200, 100, image::Rgba([0, 0, 0, 0]));
    let mut answer = Vec::new();
    image::codecs::png::PngEncoder::new(&mut answer)
        .write_image(clear.as_raw(), 200, 100, ExtendedColorType::Rgba8)
        .unwrap();
    let prepared = prepare(Model::StabilityInpaint, &png(200, 100), &j).unwrap();
    let e = prepared.finish(&j, Some(&answer)).unwrap_err();
    assert!(e
        .message
        .starts_with("mask: the background removal found no subject"));
}

#[test]
fn stability_prompt_limits_are_checked_at_the_boundary() {
    let mut j = stability_job(boxes());
    j.prompt = "p".repeat(10_000);
    assert!(build_request(Model::StabilityInpaint, &png(64, 64), &j).is_ok());
    j.prompt = "p".repeat(10_001);
    let e = build_request(Model::StabilityInpaint, &png(64, 64), &j).unwrap_err();
    assert_eq!(
        e.message,
        "prompt: 10001 characters, the limit is 10000 for stability.stable-image-inpaint-v1:0"
    );
}

#[test]
fn bad_images_are_rejected_after_field_checks() {
    let e = build_request(Model::TitanV1, b"not an image", &job(labels())).unwrap_err();
    assert!(
        e.message.starts_with("image: not a PNG or JPEG"),
        "{}",
        e.message
    );
    let mut j = job(labels());
    j.options.number_of_images = 9;
    let e = build_request(Model::TitanV1, b"not an image", &j).unwrap_err();
    assert!(e.message.starts_with("numberOfImages"));
    let e = build_request(Model::TitanV1, &png(8, 8), &job(Mask::Boxes(vec![]))).unwrap_err();
    assert!(e.message.starts_with("maskBoxes: no boxes"));
}

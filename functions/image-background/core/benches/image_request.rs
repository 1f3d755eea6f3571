//! Time to build one Bedrock image-editing request from image bytes, and to bring a model's
//! answer back to the source's size.
//!
//! Every `build_request` case is the whole path the request builder runs: sniff the format,
//! decode (with the EXIF orientation applied), fit to a size the model accepts, encode the
//! fitted image as PNG (fast compression), draw/encode the mask, base64, JSON (`to_json`).
//!
//! Inputs are generated deterministically: smooth gradients with a subject-like disc and
//! per-pixel noise (a xorshift generator), so PNG and JPEG sizes are close to photographs'
//! rather than to flat test cards. JPEGs are quality 90.
//!
//! Legacy OUTPAINTING models (Titan Image Generator G1, Nova Canvas), `maskPrompt` from labels
//! unless said otherwise:
//!
//! * `titan/png_1024x1024` and `titan/jpeg_1024x1024`: already an accepted size (no resize).
//! * `titan/jpeg_3000x2000`: fitted down to 1152x768 (Titan v2).
//! * `titan/png_1024x1024_mask_boxes`: with an RGB `maskImage` drawn from a box.
//! * `nova/jpeg_3000x2000`: fitted to Nova Canvas rules (about 2512x1680).
//!
//! Stable Image Inpaint (the default model), a grayscale `mask` PNG drawn from a box:
//!
//! * `stability/jpeg_4032x3024_phone`: a 12 MP phone photo stored 4032x3024 with an EXIF APP1
//!   segment carrying Orientation = 6 (rotate 90° CW), so it is decoded as 3024x4032 portrait
//!   and scaled to at most 4,194,304 px (checked once, outside the timed loop).
//! * `stability/png_1024x1024`: sent at its own size (no resize).
//! * `stability/jpeg_3000x2000`: the same input as `titan/jpeg_3000x2000`, scaled to about
//!   4 MP instead of 1152x768.
//!
//! Returning a result:
//!
//! * `restore/4mp_to_4032x3024`: `restore` of a 2368x1776 PNG answer (about 4 MP, what
//!   Stability returns) to the 4032x3024 source of a fitted phone photo: decode, scale up.
//! * `restore/encode_png_4032x3024`: encoding that 4032x3024 result as PNG (fast compression),
//!   the image saved for the user.
//!
//! Input sizes and the request body sizes (bytes of `to_json()`) are printed once to stderr.
//! `MLPIPE_BENCH_PARTS=1` also prints a one-shot breakdown (decode / fit / encode) of the
//! 3000x2000 JPEG case.
//!
//! ```text
//! cargo bench -p image-background-core --bench image_request -- --warm-up-time 1 --measurement-time 3
//! ```

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use image::{Rgb, RgbImage};
use image_background_core::{
    build_request, encode_png, fit, restore, BoundingBox, EditJob, GenerationOptions, Mask, Model,
    OutPaintingMode, Quality,
};

fn photo_like(w: u32, h: u32, seed: u64) -> RgbImage {
    let mut s = seed | 1;
    let (cx, cy, r) = (w as f32 * 0.5, h as f32 * 0.55, w.min(h) as f32 * 0.3);
    RgbImage::from_fn(w, h, |x, y| {
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        let n = (s.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 59) as i32 - 16;
        let (fx, fy) = (x as f32, y as f32);
        let inside = (fx - cx).powi(2) + (fy - cy).powi(2) < r * r;
        let base = if inside {
            [200.0 - fy * 0.05, 80.0 + fx * 0.02, 40.0]
        } else {
            [
                fx / w as f32 * 120.0 + 60.0,
                fy / h as f32 * 150.0 + 40.0,
                180.0,
            ]
        };
        let c = |v: f32| (v as i32 + n).clamp(0, 255) as u8;
        Rgb([c(base[0]), c(base[1]), c(base[2])])
    })
}

fn jpeg(img: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .encode_image(img)
        .unwrap();
    out
}

/// The JPEG with an EXIF APP1 segment right after SOI: a big-endian TIFF header and one IFD
/// entry, Orientation (0x0112) SHORT x 1 = `orientation`.
fn with_exif_orientation(jpeg: &[u8], orientation: u16) -> Vec<u8> {
    assert_eq!(&jpeg[..2], [0xFF, 0xD8], "not a JPEG (no SOI)");
    let mut tiff = Vec::new();
    tiff.extend_from_slice(b"MM\x00\x2A"); // big-endian, TIFF magic 42
    tiff.extend_from_slice(&8u32.to_be_bytes()); // IFD0 right after the header
    tiff.extend_from_slice(&1u16.to_be_bytes()); // one entry
    tiff.extend_from_slice(&0x0112u16.to_be_bytes()); // Orientation
    tiff.extend_from_slice(&3u16.to_be_bytes()); // SHORT
    tiff.extend_from_slice(&1u32.to_be_bytes()); // one value
    tiff.extend_from_slice(&orientation.to_be_bytes()); // the value, left-justified
    tiff.extend_from_slice(&[0, 0]);
    tiff.extend_from_slice(&0u32.to_be_bytes()); // no next IFD
    let payload_len = 6 + tiff.len();
    let mut out = Vec::with_capacity(jpeg.len() + payload_len + 4);
    out.extend_from_slice(&jpeg[..2]);
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&u16::try_from(payload_len + 2).unwrap().to_be_bytes());
    out.extend_from_slice(b"Exif\x00\x00");
    out.extend_from_slice(&tiff);
    out.extend_from_slice(&jpeg[2..]);
    out
}

const PROMPT: &str = "a product photo on a marble kitchen counter, soft morning light";

/// A legacy (Titan/Nova) job, as the bench has always measured it.
fn legacy_job(mask: Mask) -> EditJob {
    EditJob {
        prompt: PROMPT.into(),
        negative: Some("people, text, watermark".into()),
        mask,
        mode: OutPaintingMode::Default,
        options: GenerationOptions {
            quality: Some(Quality::Premium),
            cfg_scale: Some(8.0),
            seed: 12345,
            ..GenerationOptions::one()
        },
    }
}

/// A Stable Image Inpaint job: no quality / cfgScale, the model's default grow_mask.
fn stability_job(mask: Mask) -> EditJob {
    EditJob {
        prompt: PROMPT.into(),
        negative: Some("people, text, watermark".into()),
        mask,
        mode: OutPaintingMode::Default,
        options: GenerationOptions {
            seed: 12345,
            ..GenerationOptions::one()
        },
    }
}

fn bench(c: &mut Criterion) {
    let png_1024 = encode_png(&photo_like(1024, 1024, 1)).unwrap();
    let jpeg_1024 = jpeg(&photo_like(1024, 1024, 2));
    let jpeg_3000 = jpeg(&photo_like(3000, 2000, 3));
    // Stored landscape like a phone's sensor, displayed portrait through EXIF Orientation 6.
    let phone_pixels = photo_like(4032, 3024, 4);
    let phone = with_exif_orientation(&jpeg(&phone_pixels), 6);
    eprintln!(
        "inputs: png 1024x1024 {} KB, jpeg 1024x1024 {} KB, jpeg 3000x2000 {} KB, phone jpeg 4032x3024 (EXIF orientation 6) {} KB",
        png_1024.len() / 1024,
        jpeg_1024.len() / 1024,
        jpeg_3000.len() / 1024,
        phone.len() / 1024
    );
    if std::env::var_os("MLPIPE_BENCH_PARTS").is_some() {
        use image_background_core::{decode, sniff_format};
        let t = std::time::Instant::now();
        let d = decode(&jpeg_3000, sniff_format(&jpeg_3000).unwrap()).unwrap();
        eprintln!("decode {:?}", t.elapsed());
        let t = std::time::Instant::now();
        let f = fit(&d, Model::TitanV1);
        eprintln!("fit {:?}", t.elapsed());
        let t = std::time::Instant::now();
        let p = encode_png(&f.image).unwrap();
        eprintln!("encode {:?} {}", t.elapsed(), p.len());
        let t = std::time::Instant::now();
        let f = fit(&d, Model::NovaCanvas);
        eprintln!("fit nova {:?}", t.elapsed());
        let t = std::time::Instant::now();
        let p = encode_png(&f.image).unwrap();
        eprintln!("encode nova {:?} {}", t.elapsed(), p.len());
        let t = std::time::Instant::now();
        let f = fit(&d, Model::StabilityInpaint);
        eprintln!("fit stability {:?}", t.elapsed());
        let t = std::time::Instant::now();
        let p = encode_png(&f.image).unwrap();
        eprintln!("encode stability {:?} {}", t.elapsed(), p.len());
    }
    let keep_box = || {
        Mask::Boxes(vec![BoundingBox {
            left: 0.2,
            top: 0.25,
            width: 0.6,
            height: 0.6,
        }])
    };
    let labels = legacy_job(Mask::Labels(vec!["Bottle".into(), "Cup".into()]));
    let boxes = legacy_job(keep_box());
    let inpaint = stability_job(keep_box());

    // One-off checks and sizes, outside the timed loops.
    let built = build_request(Model::StabilityInpaint, &phone, &inpaint).unwrap();
    let t = built.transform;
    assert!(
        t.source_width == 3024 && t.source_height == 4032,
        "EXIF orientation 6 not applied: {t:?}"
    );
    assert!(
        u64::from(t.width) * u64::from(t.height) <= 4_194_304,
        "{t:?}"
    );
    let body_phone = built.to_json().len();
    let body_stability_1024 = build_request(Model::StabilityInpaint, &png_1024, &inpaint)
        .unwrap()
        .to_json()
        .len();
    let body_stability_3000 = build_request(Model::StabilityInpaint, &jpeg_3000, &inpaint)
        .unwrap()
        .to_json()
        .len();
    let body_titan_1024 = build_request(Model::TitanV1, &png_1024, &labels)
        .unwrap()
        .to_json()
        .len();
    let body_titan_1024_boxes = build_request(Model::TitanV1, &png_1024, &boxes)
        .unwrap()
        .to_json()
        .len();
    eprintln!(
        "stability phone: source {}x{} -> request {}x{}",
        t.source_width, t.source_height, t.width, t.height
    );
    eprintln!(
        "request bodies (to_json bytes): stability jpeg_4032x3024_phone {body_phone}, stability png_1024x1024 {body_stability_1024}, stability jpeg_3000x2000 {body_stability_3000}, titan png_1024x1024 {body_titan_1024}, titan png_1024x1024_mask_boxes {body_titan_1024_boxes}"
    );

    // A ~4 MP answer for a 4032x3024 (landscape) source.
    let landscape = fit(&phone_pixels, Model::StabilityInpaint).transform;
    assert_eq!(
        (landscape.source_width, landscape.source_height),
        (4032, 3024)
    );
    drop(phone_pixels);
    let answer = encode_png(&photo_like(2368, 1776, 5)).unwrap();
    let restored = restore(&answer, &landscape).unwrap();
    assert_eq!(restored.dimensions(), (4032, 3024));
    eprintln!(
        "restore: answer 2368x1776 PNG {} KB -> 4032x3024 (fitted frame {}x{}), result PNG {} KB",
        answer.len() / 1024,
        landscape.width,
        landscape.height,
        encode_png(&restored).unwrap().len() / 1024
    );

    // (group, case, model, input, job): every case builds the whole request body.
    let cases: [(&str, &str, Model, &[u8], &EditJob); 8] = [
        ("titan", "png_1024x1024", Model::TitanV1, &png_1024, &labels),
        (
            "titan",
            "jpeg_1024x1024",
            Model::TitanV1,
            &jpeg_1024,
            &labels,
        ),
        (
            "titan",
            "jpeg_3000x2000",
            Model::TitanV2,
            &jpeg_3000,
            &labels,
        ),
        (
            "titan",
            "png_1024x1024_mask_boxes",
            Model::TitanV1,
            &png_1024,
            &boxes,
        ),
        (
            "nova",
            "jpeg_3000x2000",
            Model::NovaCanvas,
            &jpeg_3000,
            &labels,
        ),
        (
            "stability",
            "jpeg_4032x3024_phone",
            Model::StabilityInpaint,
            &phone,
            &inpaint,
        ),
        (
            "stability",
            "png_1024x1024",
            Model::StabilityInpaint,
            &png_1024,
            &inpaint,
        ),
        (
            "stability",
            "jpeg_3000x2000",
            Model::StabilityInpaint,
            &jpeg_3000,
            &inpaint,
        ),
    ];
    for group in ["titan", "nova", "stability"] {
        let mut g = c.benchmark_group(group);
        if group == "stability" {
            // Each iteration takes hundreds of milliseconds: criterion's minimum of 10 samples.
            g.sample_size(10);
        }
        for (_, case, model, input, job) in cases.iter().filter(|c| c.0 == group) {
            g.bench_function(*case, |b| {
                b.iter(|| {
                    build_request(*model, black_box(input), job)
                        .unwrap()
                        .to_json()
                })
            });
        }
        g.finish();
    }

    let mut g = c.benchmark_group("restore");
    g.sample_size(10);
    g.bench_function("4mp_to_4032x3024", |b| {
        b.iter(|| restore(black_box(&answer), &landscape).unwrap())
    });
    g.bench_function("encode_png_4032x3024", |b| {
        b.iter(|| encode_png(black_box(&restored)).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

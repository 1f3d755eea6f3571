//! Time to build one Bedrock OUTPAINTING request from image bytes: sniff, decode, fit to an
//! accepted size, encode PNG (fast compression), base64, draw/encode the mask, JSON.
//!
//! Inputs are generated deterministically: smooth gradients with a subject-like disc and
//! per-pixel noise (a xorshift generator), so PNG and JPEG sizes are close to photographs'
//! rather than to flat test cards.
//!
//! * `titan/png_1024x1024` and `titan/jpeg_1024x1024`: already an accepted size (no resize).
//! * `titan/jpeg_3000x2000`: fitted down to 1152x768.
//! * `titan/png_1024x1024_mask_boxes`: with a `maskImage` drawn from a box.
//! * `nova/jpeg_3000x2000`: fitted to Nova Canvas rules (about 2512x1680).
//!
//! `MLPIPE_BENCH_PARTS=1` also prints a one-shot breakdown (decode / fit / encode) of the
//! 3000x2000 JPEG case.
//!
//! ```text
//! cargo bench -p mlpipe-shared --features images --bench image_request -- --warm-up-time 1 --measurement-time 3
//! ```

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use image::{Rgb, RgbImage};
use shared::image::{
    build_request, encode_png, BoundingBox, GenerationOptions, Mask, Model, OutPaintingMode,
    OutpaintingJob, Quality,
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

fn job(mask: Mask) -> OutpaintingJob {
    OutpaintingJob {
        prompt: "a product photo on a marble kitchen counter, soft morning light".into(),
        negative: Some("people, text, watermark".into()),
        mask,
        mode: OutPaintingMode::Default,
        options: GenerationOptions {
            number_of_images: 1,
            quality: Quality::Premium,
            cfg_scale: 8.0,
            seed: 12345,
        },
    }
}

fn bench(c: &mut Criterion) {
    let png_1024 = encode_png(&photo_like(1024, 1024, 1)).unwrap();
    let jpeg_1024 = jpeg(&photo_like(1024, 1024, 2));
    let jpeg_3000 = jpeg(&photo_like(3000, 2000, 3));
    eprintln!(
        "inputs: png 1024x1024 {} KB, jpeg 1024x1024 {} KB, jpeg 3000x2000 {} KB",
        png_1024.len() / 1024,
        jpeg_1024.len() / 1024,
        jpeg_3000.len() / 1024
    );
    if std::env::var_os("MLPIPE_BENCH_PARTS").is_some() {
        use shared::image::{decode, fit, sniff_format};
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
    }
    let labels = job(Mask::Labels(vec!["Bottle".into(), "Cup".into()]));
    let boxes = job(Mask::Boxes(vec![BoundingBox {
        left: 0.2,
        top: 0.25,
        width: 0.6,
        height: 0.6,
    }]));

    let mut g = c.benchmark_group("titan");
    g.bench_function("png_1024x1024", |b| {
        b.iter(|| {
            build_request(Model::TitanV1, black_box(&png_1024), &labels)
                .unwrap()
                .to_json()
        })
    });
    g.bench_function("jpeg_1024x1024", |b| {
        b.iter(|| {
            build_request(Model::TitanV1, black_box(&jpeg_1024), &labels)
                .unwrap()
                .to_json()
        })
    });
    g.bench_function("jpeg_3000x2000", |b| {
        b.iter(|| {
            build_request(Model::TitanV2, black_box(&jpeg_3000), &labels)
                .unwrap()
                .to_json()
        })
    });
    g.bench_function("png_1024x1024_mask_boxes", |b| {
        b.iter(|| {
            build_request(Model::TitanV1, black_box(&png_1024), &boxes)
                .unwrap()
                .to_json()
        })
    });
    g.finish();

    let mut g = c.benchmark_group("nova");
    g.bench_function("jpeg_3000x2000", |b| {
        b.iter(|| {
            build_request(Model::NovaCanvas, black_box(&jpeg_3000), &labels)
                .unwrap()
                .to_json()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

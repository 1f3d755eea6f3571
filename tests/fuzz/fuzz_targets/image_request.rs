//! Uploaded images -> the Bedrock request, as `generate-background` builds it: the first byte
//! picks the model (its two low bits: Stable Image Inpaint, Titan v1, Titan v2, Nova Canvas)
//! and the mask (bit 2: boxes, or the family's other mask: the labels' `maskPrompt` for the
//! legacy models, "subject" for Stability, whose background-removal answer is played by the
//! same bytes); the rest is the uploaded file. `prepare` checks, decodes as displayed (EXIF
//! orientation, transparency, header limits) and fits; `finish` draws the mask and writes the
//! body; `restore` brings an answer of the fitted size back to the upload's size.
//!
//! Fails on a panic, an allocation over the function's memory (`-rss_limit_mb` 2048, the
//! memory of GenerateBackground), and on an answer that breaks a promise: an error that is not
//! `InvalidInput` about the image or the mask, a fitted size the model does not take, a fitted
//! image over the model's byte limit, a source over the decoding limits, a body that is not
//! JSON or over InvokeModel's 25,000,000 bytes, an answer not restored to the upload's size.

#![no_main]

use image_background_core::input::{MAX_DECODED_SIDE, MAX_SOURCE_PIXELS};
use image_background_core::{
    prepare, restore, BoundingBox, EditJob, Family, GenerationOptions, Mask, Model,
    OutPaintingMode, SizeRule, MAX_BODY_BYTES,
};
use libfuzzer_sys::fuzz_target;
use shared_core::{ErrorKind, PipelineError};

fuzz_target!(|data: &[u8]| {
    let Some((&select, image)) = data.split_first() else {
        return;
    };
    let model = Model::ALL[usize::from(select & 3)];
    let mask = match (model.family(), select & 4 != 0) {
        (_, false) => Mask::Boxes(vec![
            BoundingBox {
                left: 0.2,
                top: 0.15,
                width: 0.6,
                height: 0.75,
            },
            // Rekognition's boxes a hair past the edges are clipped, not refused.
            BoundingBox {
                left: -0.004,
                top: 0.5,
                width: 0.3,
                height: 0.505,
            },
        ]),
        (Family::Outpainting, true) => Mask::Labels(vec!["Bottle".into(), "Person".into()]),
        (Family::Stability, true) => Mask::Subject,
    };
    let job = EditJob {
        prompt: "a sunlit marble kitchen counter, soft morning light".to_owned(),
        negative: Some("people, text".to_owned()),
        mask,
        mode: OutPaintingMode::Default,
        options: GenerationOptions {
            seed: u64::from(select >> 3),
            ..GenerationOptions::one()
        },
    };
    let prepared = match prepare(model, image, &job) {
        Ok(p) => p,
        Err(e) => return refused(&e),
    };
    let t = prepared.transform;
    let source = u64::from(t.source_width) * u64::from(t.source_height);
    assert!(t.source_width <= MAX_DECODED_SIDE && t.source_height <= MAX_DECODED_SIDE);
    assert!(source > 0 && source <= MAX_SOURCE_PIXELS, "{t:?}");
    assert!(prepared.png.len() <= model.limits().max_input_bytes);
    assert!(
        takes(model, t.width, t.height),
        "{model} does not take {}x{}",
        t.width,
        t.height
    );
    assert!(t.offset_x + t.scaled_width <= t.width && t.offset_y + t.scaled_height <= t.height);

    let subject = (job.mask == Mask::Subject).then_some(image);
    match prepared.clone().finish(&job, subject) {
        Ok(built) => {
            assert!(built.calls() >= 1);
            for call in 0..built.calls() {
                let text = built.body(call);
                // InvokeModel's `body` (botocore bedrock-runtime: `Body`, max 25,000,000).
                assert!(
                    text.len() <= MAX_BODY_BYTES,
                    "a body of {} bytes",
                    text.len()
                );
                let body: serde_json::Value =
                    serde_json::from_str(&text).expect("the request body is JSON");
                assert!(body.is_object());
            }
        }
        Err(e) => refused(&e),
    }

    // The model answers at the fitted size; the upload's size comes back.
    let restored = restore(&prepared.png, &t).expect("the fitted image restores");
    assert_eq!(restored.dimensions(), (t.source_width, t.source_height));
});

fn refused(e: &PipelineError) {
    assert_eq!(e.kind, ErrorKind::InvalidInput, "{}", e.message);
    assert!(
        e.message.starts_with("image") || e.message.starts_with("mask"),
        "an error that does not name the image or the mask: {}",
        e.message
    );
}

/// Whether `model` takes a `width` x `height` image (its [`SizeRule`]).
fn takes(model: Model, width: u32, height: u32) -> bool {
    match model.limits().sizes {
        SizeRule::Fixed(sizes) => sizes.contains(&(width, height)),
        SizeRule::Free {
            min_side,
            max_side,
            multiple,
            max_pixels,
            max_aspect,
        } => {
            let (long, short) = (width.max(height), width.min(height));
            short >= min_side
                && long <= max_side
                && width.is_multiple_of(multiple)
                && height.is_multiple_of(multiple)
                && u64::from(width) * u64::from(height) <= max_pixels
                && f64::from(long) / f64::from(short) <= max_aspect + 1e-9
        }
    }
}

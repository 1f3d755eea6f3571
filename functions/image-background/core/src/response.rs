//! The model's answer: its images, or why there are none; each image returned at the input's
//! size and aspect.
//!
//! * Titan/Nova Canvas: `{"images": [...], "error": null}`; a non-empty `error` means no image.
//! * Stability AI Image Services: `{"seeds": [...], "finish_reasons": [...], "images": [...]}`
//!   (Bedrock user guide, Stability AI Image Services). A non-null finish reason ("Filter
//!   reason: prompt", "Filter reason: input image", "Filter reason: output image", "Inference
//!   error") means that image is not usable: it is never saved.

use base64::Engine as _;
use image::RgbImage;
use serde::Deserialize;

use super::fit::{scale, Transform};
use super::input::{decode, sniff_format};
use super::Family;
use shared_core::PipelineError;

#[derive(Debug, Deserialize)]
struct Answer {
    #[serde(default)]
    images: Vec<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    finish_reasons: Vec<Option<String>>,
}

/// The finish reason Stability gives for an error on its side (worth retrying).
pub const INFERENCE_ERROR: &str = "Inference error";

/// The images of an answer, decoded from base64 (PNG or JPEG bytes, checked by content).
///
/// Errors: `InvalidInput` for a Titan/Nova `error`, a Stability content-filter finish reason
/// (the reason is in the message) or no image; `Retryable` for "Inference error" and an
/// unreadable answer.
pub fn parse_response(
    family: Family,
    model_id: &str,
    body: &[u8],
) -> Result<Vec<Vec<u8>>, PipelineError> {
    let answer: Answer = serde_json::from_slice(body)
        .map_err(|e| PipelineError::retryable(format!("{model_id}: unreadable response: {e}")))?;
    if let Some(err) = answer.error.filter(|e| !e.trim().is_empty()) {
        return Err(PipelineError::invalid_input(format!(
            "{model_id} returned an error: {err}"
        )));
    }
    if family == Family::Stability {
        if let Some(reason) = answer.finish_reasons.iter().flatten().next() {
            let message = format!("{model_id} returned no usable image: finish reason {reason:?}");
            return Err(if reason == INFERENCE_ERROR {
                PipelineError::retryable(message)
            } else {
                PipelineError::invalid_input(format!(
                    "{message} (the model's content filter refused the request or the result; nothing was saved)"
                ))
            });
        }
    }
    if answer.images.is_empty() {
        return Err(PipelineError::invalid_input(format!(
            "{model_id} returned no images"
        )));
    }
    let b64 = base64::engine::general_purpose::STANDARD;
    answer
        .images
        .iter()
        .enumerate()
        .map(|(i, data)| {
            let bytes = b64.decode(data.trim()).map_err(|e| {
                PipelineError::retryable(format!("{model_id}: images[{i}] is not base64: {e}"))
            })?;
            sniff_format(&bytes).map_err(|e| {
                PipelineError::retryable(format!("{model_id}: images[{i}]: {}", e.message))
            })?;
            Ok(bytes)
        })
        .collect()
}

/// A generated image (PNG or JPEG bytes, of any size: Stability answers about 4 MP whatever
/// was sent) brought back to the source's size and aspect: the part that covers the source in
/// the fitted frame is cut out (padding bands dropped) and scaled to the source's width and
/// height (as displayed, after its EXIF orientation).
pub fn restore(bytes: &[u8], transform: &Transform) -> Result<RgbImage, PipelineError> {
    let format = sniff_format(bytes)?;
    let generated = decode(bytes, format)?;
    let (gw, gh) = generated.dimensions();
    let t = transform;
    // The fitted frame scaled onto the generated image.
    let sx = f64::from(gw) / f64::from(t.width);
    let sy = f64::from(gh) / f64::from(t.height);
    let x0 = ((f64::from(t.offset_x) * sx).round() as u32).min(gw - 1);
    let y0 = ((f64::from(t.offset_y) * sy).round() as u32).min(gh - 1);
    let cw = ((f64::from(t.scaled_width) * sx).round() as u32).clamp(1, gw - x0);
    let ch = ((f64::from(t.scaled_height) * sy).round() as u32).clamp(1, gh - y0);
    let cropped = if (x0, y0, cw, ch) == (0, 0, gw, gh) {
        generated
    } else {
        image::imageops::crop_imm(&generated, x0, y0, cw, ch).to_image()
    };
    if cropped.dimensions() == (t.source_width, t.source_height) {
        return Ok(cropped);
    }
    Ok(scale(&cropped, t.source_width, t.source_height))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fit::fit_to;
    use crate::request::encode_png;
    use image::Rgb;
    use shared_core::ErrorKind;

    fn b64(bytes: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    fn png(w: u32, h: u32, c: [u8; 3]) -> Vec<u8> {
        encode_png(&RgbImage::from_pixel(w, h, Rgb(c))).unwrap()
    }

    #[test]
    fn stability_answers_give_their_image() {
        let body = format!(
            r#"{{"seeds":[7],"finish_reasons":[null],"images":["{}"]}}"#,
            b64(&png(8, 8, [1, 2, 3]))
        );
        let images = parse_response(Family::Stability, "m", body.as_bytes()).unwrap();
        assert_eq!(images.len(), 1);
        assert!(images[0].starts_with(b"\x89PNG"));
    }

    #[test]
    fn a_finish_reason_fails_the_image_with_the_reason() {
        for reason in [
            "Filter reason: prompt",
            "Filter reason: input image",
            "Filter reason: output image",
        ] {
            // AWS documents the filtered answer without images; one with an image is refused too.
            for body in [
                format!(r#"{{"finish_reasons":["{reason}"]}}"#),
                format!(
                    r#"{{"seeds":[1],"finish_reasons":["{reason}"],"images":["{}"]}}"#,
                    b64(&png(8, 8, [0, 0, 0]))
                ),
            ] {
                let e = parse_response(Family::Stability, "us.stability.x", body.as_bytes())
                    .unwrap_err();
                assert_eq!(e.kind, ErrorKind::InvalidInput);
                assert!(e.message.contains(reason), "{}", e.message);
                assert!(e
                    .message
                    .starts_with("us.stability.x returned no usable image"));
            }
        }
        let e = parse_response(
            Family::Stability,
            "m",
            br#"{"finish_reasons":["Inference error"]}"#,
        )
        .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Retryable);
    }

    #[test]
    fn legacy_errors_and_empty_answers_fail() {
        let e = parse_response(
            Family::Outpainting,
            "amazon.nova-canvas-v1:0",
            br#"{"images":[],"error":"blocked by content filters"}"#,
        )
        .unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidInput);
        assert!(e.message.contains("blocked by content filters"));
        let e = parse_response(Family::Outpainting, "m", br#"{"images":[]}"#).unwrap_err();
        assert!(e.message.ends_with("returned no images"));
        let e = parse_response(Family::Stability, "m", b"<html>").unwrap_err();
        assert_eq!(e.kind, ErrorKind::Retryable);
        let e = parse_response(Family::Stability, "m", br#"{"images":["%%%"]}"#).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Retryable);
    }

    #[test]
    fn restored_images_have_the_source_size_without_the_bands() {
        // A 300x100 source in a 400x400 frame: bands above and below.
        let source = RgbImage::from_pixel(300, 100, Rgb([200, 10, 10]));
        let fitted = fit_to(&source, 400, 400);
        let t = fitted.transform;
        assert!(t.offset_y > 0);
        // The model answers at twice the frame, bands painted blue, the source area kept red.
        let mut answer = RgbImage::from_pixel(800, 800, Rgb([0, 0, 255]));
        for y in (2 * t.offset_y)..(2 * (t.offset_y + t.scaled_height)) {
            for x in (2 * t.offset_x)..(2 * (t.offset_x + t.scaled_width)) {
                answer.put_pixel(x, y, Rgb([200, 10, 10]));
            }
        }
        let restored = restore(&encode_png(&answer).unwrap(), &t).unwrap();
        assert_eq!(restored.dimensions(), (300, 100));
        // no blue band left at the edges
        for (x, y) in [(0, 0), (299, 0), (0, 99), (150, 50), (299, 99)] {
            let p = restored.get_pixel(x, y).0;
            assert!(p[2] < 40 && p[0] > 160, "{x},{y}: {p:?}");
        }
    }

    #[test]
    fn a_same_size_answer_is_returned_as_is() {
        let source = RgbImage::from_fn(64, 48, |x, y| Rgb([x as u8, y as u8, 9]));
        let fitted = fit_to(&source, 64, 48);
        let restored = restore(&encode_png(&source).unwrap(), &fitted.transform).unwrap();
        assert_eq!(restored, source);
    }
}

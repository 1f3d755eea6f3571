//! The mask: `maskPrompt` from labels, or a `maskImage` drawn from bounding boxes.
//!
//! Colour convention (Bedrock Titan Image Generator user guide, `maskImage`; Nova Canvas
//! follows it; the crate's "Masks" section says how it was verified): a pixel of 0 (black) is
//! inside the mask, 255 (white) is outside. For
//! OUTPAINTING the inside of the mask is kept and the outside is repainted, so we draw the
//! boxes of the subjects to keep in black ([`MASK_KEEP`]) on a white ([`MASK_REPAINT`])
//! canvas of exactly the fitted image's size.

use std::str::FromStr;

use image::{GrayImage, Rgb, RgbImage};

use super::fit::Transform;
use super::Model;
use shared_core::PipelineError;

/// Mask colour of the pixels the model keeps (inside the mask).
pub const MASK_KEEP: Rgb<u8> = Rgb([0, 0, 0]);
/// Mask colour of the pixels the model repaints (outside the mask).
pub const MASK_REPAINT: Rgb<u8> = Rgb([255, 255, 255]);

/// A box as fractions of the original image, as Rekognition `BoundingBox` returns it.
#[derive(Debug, Clone, Copy, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BoundingBox {
    pub left: f64,
    pub top: f64,
    pub width: f64,
    pub height: f64,
}

/// Tolerance for boxes that overshoot an edge by rounding: Rekognition returns boxes a hair past
/// the right and bottom edges, and small negative `Left`/`Top`. Drawing clips them to the image.
const EDGE_SLACK: f64 = 0.01;

impl BoundingBox {
    /// Checks the fractions; `what` names the box in messages (`mask box 2`).
    pub fn validate(&self, what: &str) -> Result<(), PipelineError> {
        let fields = [
            ("left", self.left),
            ("top", self.top),
            ("width", self.width),
            ("height", self.height),
        ];
        for (name, v) in fields {
            if !v.is_finite() || !(-EDGE_SLACK..=1.0 + EDGE_SLACK).contains(&v) {
                return Err(PipelineError::invalid_input(format!(
                    "{what}: {name} {v} is not a fraction of the image (0 to 1)"
                )));
            }
        }
        if self.width <= 0.0 || self.height <= 0.0 {
            return Err(PipelineError::invalid_input(format!(
                "{what}: width and height must be greater than 0"
            )));
        }
        if self.left + self.width > 1.0 + EDGE_SLACK || self.top + self.height > 1.0 + EDGE_SLACK {
            return Err(PipelineError::invalid_input(format!(
                "{what}: extends past the image (left + width and top + height must be at most 1)"
            )));
        }
        Ok(())
    }
}

impl FromStr for BoundingBox {
    type Err = PipelineError;

    /// `left,top,width,height`, fractions of the image.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = s.split(',').map(str::trim).collect();
        let bad = || {
            PipelineError::invalid_input(format!(
                "mask box {s:?}: expected left,top,width,height as fractions of the image, e.g. 0.25,0.1,0.5,0.8"
            ))
        };
        if parts.len() != 4 {
            return Err(bad());
        }
        let mut v = [0.0f64; 4];
        for (slot, p) in v.iter_mut().zip(&parts) {
            *slot = p.parse().map_err(|_| bad())?;
        }
        let b = BoundingBox {
            left: v[0],
            top: v[1],
            width: v[2],
            height: v[3],
        };
        b.validate(&format!("mask box {s:?}"))?;
        Ok(b)
    }
}

/// How the part to keep is told to the model.
#[derive(Debug, Clone, PartialEq)]
pub enum Mask {
    /// The labels to keep: a `maskPrompt` for the legacy models; for Stability, resolved to
    /// instance boxes with Rekognition DetectLabels before the request is built.
    Labels(Vec<String>),
    /// Boxes to keep, fractions of the original image: a drawn mask image.
    Boxes(Vec<BoundingBox>),
    /// Keep the main subject: the alpha channel of Stable Image Remove Background's answer.
    Subject,
}

/// Alpha at or above this keeps the pixel in a subject mask (half-transparent edges are kept).
pub const SUBJECT_ALPHA_THRESHOLD: u8 = 128;

/// The mask from Stable Image Remove Background's answer for the fitted image: the subject
/// (alpha >= [`SUBJECT_ALPHA_THRESHOLD`]) black (kept), the background and the padding bands
/// white (repainted), at the fitted size (an answer of another size is scaled to it).
pub fn subject_mask(answer: &[u8], transform: &Transform) -> Result<GrayImage, PipelineError> {
    let bad = |what: String| {
        PipelineError::invalid_input(format!("mask: the background removal's image {what}"))
    };
    let mut reader = image::ImageReader::new(std::io::Cursor::new(answer))
        .with_guessed_format()
        .map_err(|e| bad(format!("is unreadable: {e}")))?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(super::input::MAX_DECODED_SIDE);
    limits.max_image_height = Some(super::input::MAX_DECODED_SIDE);
    limits.max_alloc = Some(super::input::MAX_DECODED_BYTES);
    reader.limits(limits);
    let decoded = reader
        .decode()
        .map_err(|e| bad(format!("cannot be decoded: {e}")))?;
    if !decoded.color().has_alpha() {
        return Err(bad(
            "has no alpha channel (ask for output_format png)".into()
        ));
    }
    let alpha = {
        let rgba = decoded.to_rgba8();
        GrayImage::from_fn(rgba.width(), rgba.height(), |x, y| {
            image::Luma([rgba.get_pixel(x, y).0[3]])
        })
    };
    let alpha = if alpha.dimensions() == (transform.width, transform.height) {
        alpha
    } else {
        image::imageops::resize(
            &alpha,
            transform.width,
            transform.height,
            image::imageops::FilterType::Triangle,
        )
    };
    let (x0, y0) = (transform.offset_x, transform.offset_y);
    let (x1, y1) = (x0 + transform.scaled_width, y0 + transform.scaled_height);
    let mut kept = 0u64;
    let mask = GrayImage::from_fn(transform.width, transform.height, |x, y| {
        let inside = x >= x0 && x < x1 && y >= y0 && y < y1;
        if inside && alpha.get_pixel(x, y).0[0] >= SUBJECT_ALPHA_THRESHOLD {
            kept += 1;
            image::Luma([MASK_KEEP.0[0]])
        } else {
            image::Luma([MASK_REPAINT.0[0]])
        }
    });
    if kept == 0 {
        return Err(PipelineError::invalid_input(
            "mask: the background removal found no subject to keep in the image (give labels or maskBoxes instead)",
        ));
    }
    Ok(mask)
}

/// Joins labels into a `maskPrompt` (`"Laptop, Computer"`), checking the model's limit.
pub fn mask_prompt(labels: &[String], model: Model) -> Result<String, PipelineError> {
    // Each label once (ASCII case ignored), in order; a set keeps this linear.
    let mut seen: Vec<&str> = Vec::new();
    let mut folded = std::collections::HashSet::new();
    for l in labels {
        let l = l.trim();
        if !l.is_empty() && folded.insert(l.to_ascii_lowercase()) {
            seen.push(l);
        }
    }
    if seen.is_empty() {
        return Err(PipelineError::invalid_input(
            "maskPrompt: no labels given (at least one label to keep is required)",
        ));
    }
    let prompt = seen.join(", ");
    let n = prompt.chars().count();
    let limit = model.limits().max_mask_prompt_chars;
    if n > limit {
        return Err(PipelineError::invalid_input(format!(
            "maskPrompt: {n} characters, the limit is {limit} for {}",
            model.id()
        )));
    }
    Ok(prompt)
}

/// Draws the `maskImage`: white everywhere, the boxes (mapped through `transform`) black.
pub fn draw_mask(boxes: &[BoundingBox], transform: &Transform) -> Result<RgbImage, PipelineError> {
    if boxes.is_empty() {
        return Err(PipelineError::invalid_input(
            "maskImage: no boxes given (at least one box to keep is required)",
        ));
    }
    for (i, b) in boxes.iter().enumerate() {
        b.validate(&format!("mask box {}", i + 1))?;
    }
    let mut mask = RgbImage::from_pixel(transform.width, transform.height, MASK_REPAINT);
    for b in boxes {
        let (x0, y0, x1, y1) = transform.map_fractions(b.left, b.top, b.width, b.height);
        for y in y0..y1 {
            for x in x0..x1 {
                mask.put_pixel(x, y, MASK_KEEP);
            }
        }
    }
    Ok(mask)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fit::fit;

    #[test]
    fn boxes_parse_and_validate() {
        let b: BoundingBox = "0.25, 0.1,0.5,0.8".parse().unwrap();
        assert_eq!(
            b,
            BoundingBox {
                left: 0.25,
                top: 0.1,
                width: 0.5,
                height: 0.8
            }
        );
        for bad in [
            "0.1,0.2,0.3",
            "a,b,c,d",
            "0.1,0.2,0.3,0.4,0.5",
            "-0.1,0,0.5,0.5",
            "0,0,1.5,0.5",
            "0,0,0,0.5",
            "0.8,0,0.5,0.5",
            "NaN,0,0.5,0.5",
        ] {
            let e = bad.parse::<BoundingBox>().unwrap_err();
            assert!(e.message.starts_with("mask box"), "{bad}: {}", e.message);
        }
        // a Rekognition box overshooting by rounding is accepted
        assert!("0.5,0.5,0.505,0.5".parse::<BoundingBox>().is_ok());
        let json: BoundingBox =
            serde_json::from_str(r#"{"Width":0.5,"Height":0.4,"Left":0.1,"Top":0.2}"#).unwrap();
        assert_eq!(json.left, 0.1);
        assert_eq!(json.height, 0.4);
    }

    #[test]
    fn labels_become_a_mask_prompt() {
        let l = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            mask_prompt(&l(&["Laptop", " Computer ", "laptop", ""]), Model::TitanV1).unwrap(),
            "Laptop, Computer"
        );
        let e = mask_prompt(&l(&["", "  "]), Model::TitanV1).unwrap_err();
        assert!(e.message.starts_with("maskPrompt: no labels"));
        // boundary: 512 characters pass for Titan, 513 do not; Nova takes 1024
        let exact = "x".repeat(512);
        assert_eq!(
            mask_prompt(&l(&[&exact]), Model::TitanV2).unwrap().len(),
            512
        );
        let over = "x".repeat(513);
        let e = mask_prompt(&l(&[&over]), Model::TitanV2).unwrap_err();
        assert_eq!(
            e.message,
            "maskPrompt: 513 characters, the limit is 512 for amazon.titan-image-generator-v2:0"
        );
        assert!(mask_prompt(&l(&[&"y".repeat(1024)]), Model::NovaCanvas).is_ok());
        assert!(mask_prompt(&l(&[&"y".repeat(1025)]), Model::NovaCanvas).is_err());
    }

    #[test]
    fn mask_boxes_are_black_on_white_in_the_fitted_frame() {
        // 400x400 -> Titan 512x512, scale 1.28, no padding
        let img = RgbImage::new(400, 400);
        let f = fit(&img, Model::TitanV1);
        assert_eq!(f.image.dimensions(), (512, 512));
        let b = BoundingBox {
            left: 0.25,
            top: 0.5,
            width: 0.5,
            height: 0.25,
        };
        let m = draw_mask(&[b], &f.transform).unwrap();
        assert_eq!(m.dimensions(), (512, 512));
        assert_eq!(*m.get_pixel(127, 300), MASK_REPAINT);
        assert_eq!(*m.get_pixel(128, 256), MASK_KEEP);
        assert_eq!(*m.get_pixel(383, 383), MASK_KEEP);
        assert_eq!(*m.get_pixel(384, 300), MASK_REPAINT);
        assert_eq!(*m.get_pixel(200, 384), MASK_REPAINT);
        assert_eq!(*m.get_pixel(0, 0), MASK_REPAINT);
    }

    #[test]
    fn boxes_a_hair_past_an_edge_are_clipped_not_refused() {
        // Rekognition: Left -0.004, Top -0.002, right edge at 1.003.
        let b = BoundingBox {
            left: -0.004,
            top: -0.002,
            width: 1.007,
            height: 0.5,
        };
        b.validate("mask box 1").unwrap();
        let t = fit(&RgbImage::new(1024, 1024), Model::TitanV1).transform;
        assert_eq!(
            (t.offset_x, t.offset_y),
            (0, 0),
            "a size Titan takes as it is"
        );
        let mask = draw_mask(&[b], &t).unwrap();
        assert_eq!(*mask.get_pixel(0, 0), MASK_KEEP);
        assert_eq!(*mask.get_pixel(t.width - 1, 0), MASK_KEEP);
        assert_eq!(*mask.get_pixel(0, t.height - 1), MASK_REPAINT);
        // More than rounding is still refused, naming the field.
        let far = BoundingBox { left: -0.2, ..b };
        let e = far.validate("mask box 2").unwrap_err();
        assert!(
            e.message.starts_with("mask box 2: left -0.2"),
            "{}",
            e.message
        );
    }

    #[test]
    fn mask_boxes_follow_padding_offsets() {
        // a 4000x400 panorama lands in 1408x640 with bands at top and bottom
        let img = RgbImage::new(4000, 400);
        let f = fit(&img, Model::TitanV1);
        let t = f.transform;
        assert!(t.offset_y > 0);
        let whole = BoundingBox {
            left: 0.0,
            top: 0.0,
            width: 1.0,
            height: 1.0,
        };
        let m = draw_mask(&[whole], &t).unwrap();
        // the padding band is repainted, the original area kept
        assert_eq!(*m.get_pixel(0, t.offset_y - 1), MASK_REPAINT);
        assert_eq!(*m.get_pixel(0, t.offset_y), MASK_KEEP);
        assert_eq!(
            *m.get_pixel(1407, t.offset_y + t.scaled_height - 1),
            MASK_KEEP
        );
        assert_eq!(
            *m.get_pixel(1407, t.offset_y + t.scaled_height),
            MASK_REPAINT
        );
        let e = draw_mask(&[], &t).unwrap_err();
        assert!(e.message.starts_with("maskImage"));
        let bad = BoundingBox { left: 2.0, ..whole };
        let e = draw_mask(&[whole, bad], &t).unwrap_err();
        assert!(e.message.starts_with("mask box 2: left 2"), "{}", e.message);
    }
}

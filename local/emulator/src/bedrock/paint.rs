//! The emulator's stand-in for the model: keeps the masked subject and paints a deterministic
//! background derived from the prompt, the seed and the image's index.
//!
//! - `maskImage`: a pixel darker than mid-grey (black) keeps the input pixel; lighter (white) is
//!   repainted, as in the Titan/Nova outpainting guides.
//! - `maskPrompt`: no segmentation model here. The subject is approximated as the pixels that
//!   differ clearly from the image's border colour (the mean colour of the outermost pixel ring,
//!   taken as the background); if that finds almost nothing or almost everything, the central
//!   ellipse spanning the middle half of each side is kept instead.
//! - Background: a diagonal two-colour gradient with soft stripes; colours, direction and stripe
//!   width come from SHA-256 of (text, negativeText, seed, image index), so the same request
//!   always gives the same bytes and another seed gives other images.
//!
//! Stability AI Image Services:
//!
//! - Stable Image Inpaint ([`inpaint`]): the input is resized (bilinear, see [`resize`]) to
//!   [`models::inpaint_output_size`] (about 4 MP, the input's aspect ratio). The repaint mask
//!   (white in `mask`, else transparent in the image's alpha, else everything) is resized the
//!   same way and thresholded at 128; `grow_mask` then dilates the repaint area by that many
//!   OUTPUT pixels (a square, Chebyshev-distance dilation, no blur: Stability grows and blurs
//!   the mask, the emulator only grows it so kept pixels stay predictable). Every pixel outside
//!   the grown repaint area is the resized input's pixel, unchanged; the repaint area gets the
//!   same kind of gradient background as above, from SHA-256 of (prompt, negative_prompt,
//!   style_preset, seed).
//! - Stable Image Remove Background ([`remove_background`]): no segmentation model here. The
//!   background colours are the per-channel median of the image's outermost pixel ring and the
//!   border pixels of the pixel's own row and column (graded backdrops); a pixel within
//!   [`REMOVE_BACKGROUND_THRESHOLD`] of one of them on every channel (or fully transparent in
//!   the input) is background and becomes transparent black `(0, 0, 0, 0)`; every other pixel
//!   is subject and keeps its colour with alpha 255. The answer has the input's size.

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::codecs::webp::WebPEncoder;
use image::{ExtendedColorType, GrayImage, ImageEncoder as _, RgbImage, RgbaImage};
use sha2::{Digest as _, Sha256};

use super::models;
use super::validate::{InpaintJob, MaskSource, OutpaintJob, OutputFormat};

/// Remove Background: a pixel is background when no channel differs from the border's median
/// colour by more than this.
pub const REMOVE_BACKGROUND_THRESHOLD: u8 = 24;

/// JPEG quality of Stability answers asked for as `jpeg`.
pub const JPEG_QUALITY: u8 = 90;

/// Which pixels of `job.image` to keep, row-major.
pub fn keep_mask(job: &OutpaintJob) -> Vec<bool> {
    match &job.mask {
        MaskSource::Image(mask) => mask.pixels().map(|p| p.0[0] < 128).collect(),
        MaskSource::Prompt(_) => subject_mask(&job.image),
    }
}

/// The `maskPrompt` heuristic described in the module documentation.
pub fn subject_mask(image: &RgbImage) -> Vec<bool> {
    let (w, h) = image.dimensions();
    let mut sum = [0u64; 3];
    let mut count = 0u64;
    for (x, y, p) in image.enumerate_pixels() {
        if x == 0 || y == 0 || x == w - 1 || y == h - 1 {
            for (total, channel) in sum.iter_mut().zip(p.0) {
                *total += u64::from(channel);
            }
            count += 1;
        }
    }
    let border = sum.map(|s| (s / count.max(1)) as i32);
    let mask: Vec<bool> = image
        .pixels()
        .map(|p| {
            let d: i32 = (0..3).map(|c| (i32::from(p.0[c]) - border[c]).abs()).sum();
            d > 60
        })
        .collect();
    let kept = mask.iter().filter(|k| **k).count() as u64;
    let total = u64::from(w) * u64::from(h);
    if kept * 100 >= total && kept * 100 <= total * 95 {
        return mask;
    }
    let (cx, cy) = (f64::from(w) / 2.0, f64::from(h) / 2.0);
    let (rx, ry) = (f64::from(w) / 4.0, f64::from(h) / 4.0);
    (0..h)
        .flat_map(|y| (0..w).map(move |x| (x, y)))
        .map(|(x, y)| {
            let dx = (f64::from(x) + 0.5 - cx) / rx;
            let dy = (f64::from(y) + 0.5 - cy) / ry;
            dx * dx + dy * dy <= 1.0
        })
        .collect()
}

/// Image `index` of the job (0-based), as PNG bytes of the input image's size.
pub fn render(job: &OutpaintJob, keep: &[bool], index: u32) -> Vec<u8> {
    let mut hasher = Sha256::new();
    for part in [
        job.text.as_deref().unwrap_or(""),
        job.negative_text.as_deref().unwrap_or(""),
    ] {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    hasher.update(job.seed.to_le_bytes());
    hasher.update(index.to_le_bytes());
    let (w, h) = job.image.dimensions();
    let background = Background::new(&hasher.finalize(), w, h);
    let mut out = RgbImage::new(w, h);
    for (x, y, px) in out.enumerate_pixels_mut() {
        let i = (y as usize) * (w as usize) + x as usize;
        px.0 = if keep[i] {
            job.image.get_pixel(x, y).0
        } else {
            background.at(x, y)
        };
    }
    encode_png(&out)
}

/// The painted background: a diagonal two-colour gradient with soft stripes, all from a digest.
struct Background {
    from: [i32; 3],
    to: [i32; 3],
    ax: i64,
    ay: i64,
    stripe: u32,
    span: i64,
}

impl Background {
    /// The background of a `w` x `h` image from the first 9 bytes of `digest`.
    fn new(digest: &[u8], w: u32, h: u32) -> Self {
        let d = digest;
        let ax = i64::from(d[6]) + 1;
        let ay = i64::from(d[7]) + 1;
        Self {
            from: [d[0], d[1], d[2]].map(i32::from),
            to: [d[3], d[4], d[5]].map(i32::from),
            ax,
            ay,
            stripe: 8 + u32::from(d[8] % 40),
            span: (ax * i64::from(w) + ay * i64::from(h)).max(1),
        }
    }

    /// The colour at (`x`, `y`).
    fn at(&self, x: u32, y: u32) -> [u8; 3] {
        let t = ((self.ax * i64::from(x) + self.ay * i64::from(y)) * 256 / self.span) as i32;
        let shade = if ((x + y) / self.stripe).is_multiple_of(2) {
            0
        } else {
            18
        };
        [0, 1, 2].map(|c| {
            (self.from[c] + (self.to[c] - self.from[c]) * t / 256 - shade).clamp(0, 255) as u8
        })
    }
}

/// Bilinear resize of `channels`-channel 8-bit pixels (`src` is `sw` x `sh`, row-major) to
/// `dw` x `dh`, sampling at pixel centres with edge clamping and 8-bit fixed-point weights, so
/// the result is exact and deterministic (no floating point per pixel).
pub fn resize(src: &[u8], sw: u32, sh: u32, channels: usize, dw: u32, dh: u32) -> Vec<u8> {
    /// For each destination coordinate: the two source coordinates and the second's weight
    /// (0..=256).
    fn taps(src: u32, dst: u32) -> Vec<(usize, usize, u32)> {
        let scale = f64::from(src) / f64::from(dst);
        (0..dst)
            .map(|d| {
                let pos = ((f64::from(d) + 0.5) * scale - 0.5).clamp(0.0, f64::from(src - 1));
                let lo = pos.floor();
                let weight = ((pos - lo) * 256.0).round() as u32;
                let lo = lo as usize;
                (lo, (lo + 1).min(src as usize - 1), weight)
            })
            .collect()
    }
    let (xs, ys) = (taps(sw, dw), taps(sh, dh));
    let row = sw as usize * channels;
    let mut out = vec![0u8; dw as usize * dh as usize * channels];
    let mut i = 0;
    for &(y0, y1, fy) in &ys {
        let (r0, r1) = (&src[y0 * row..][..row], &src[y1 * row..][..row]);
        for &(x0, x1, fx) in &xs {
            for c in 0..channels {
                let (a, b) = (
                    u32::from(r0[x0 * channels + c]),
                    u32::from(r0[x1 * channels + c]),
                );
                let (p, q) = (
                    u32::from(r1[x0 * channels + c]),
                    u32::from(r1[x1 * channels + c]),
                );
                let top = a * (256 - fx) + b * fx;
                let bottom = p * (256 - fx) + q * fx;
                out[i] = ((top * (256 - fy) + bottom * fy + 32_768) >> 16) as u8;
                i += 1;
            }
        }
    }
    out
}

/// The input image of `job` at the Inpaint output size.
pub fn inpaint_base(job: &InpaintJob) -> RgbImage {
    let (w, h) = job.image.dimensions();
    let (ow, oh) = models::inpaint_output_size(w, h);
    let raw = resize(job.image.as_raw(), w, h, 3, ow, oh);
    RgbImage::from_raw(ow, oh, raw).expect("the resized buffer has the output's size")
}

/// Which output pixels Inpaint repaints (row-major, `ow` x `oh`): the repaint mask resized and
/// thresholded at 128, then dilated by `grow` pixels (square neighbourhood).
pub fn repaint_area(repaint: &GrayImage, ow: u32, oh: u32, grow: u32) -> Vec<bool> {
    let (w, h) = repaint.dimensions();
    let area: Vec<bool> = resize(repaint.as_raw(), w, h, 1, ow, oh)
        .into_iter()
        .map(|v| v >= 128)
        .collect();
    let (ow, oh, g) = (ow as usize, oh as usize, grow as usize);
    if g == 0 {
        return area;
    }
    // Separable running-window maximum: rows, then columns.
    let dilate_line =
        |get: &dyn Fn(usize) -> bool, len: usize, out: &mut dyn FnMut(usize, bool)| {
            let mut count = (0..g.min(len)).filter(|&i| get(i)).count();
            for i in 0..len {
                if i + g < len && get(i + g) {
                    count += 1;
                }
                out(i, count > 0);
                if i >= g && get(i - g) {
                    count -= 1;
                }
            }
        };
    let mut rows = vec![false; ow * oh];
    for y in 0..oh {
        let line = &area[y * ow..][..ow];
        let target = &mut rows[y * ow..][..ow];
        dilate_line(&|i| line[i], ow, &mut |i, v| target[i] = v);
    }
    let mut grown = vec![false; ow * oh];
    for x in 0..ow {
        dilate_line(&|i| rows[i * ow + x], oh, &mut |i, v| grown[i * ow + x] = v);
    }
    grown
}

/// Stable Image Inpaint's image for `job` with `seed` (the seed used, never 0): the encoded
/// bytes and their size.
pub fn inpaint(job: &InpaintJob, seed: u64) -> (Vec<u8>, u32, u32) {
    let mut out = inpaint_base(job);
    let (ow, oh) = out.dimensions();
    let repaint = repaint_area(&job.repaint, ow, oh, job.grow_mask);
    let mut hasher = Sha256::new();
    hasher.update(b"stability-inpaint");
    for part in [
        job.prompt.as_str(),
        job.negative_prompt.as_deref().unwrap_or(""),
        job.style_preset.as_deref().unwrap_or(""),
    ] {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    hasher.update(seed.to_le_bytes());
    let background = Background::new(&hasher.finalize(), ow, oh);
    for (i, (x, y, px)) in out.enumerate_pixels_mut().enumerate() {
        if repaint[i] {
            px.0 = background.at(x, y);
        }
    }
    (encode_rgb(&out, job.output_format), ow, oh)
}

/// Remove Background's answer for `image`, before encoding (see the module documentation).
pub fn remove_background(image: &RgbaImage) -> RgbaImage {
    let (w, h) = image.dimensions();
    let mut border: [Vec<u8>; 3] = Default::default();
    for (x, y, p) in image.enumerate_pixels() {
        if x == 0 || y == 0 || x == w - 1 || y == h - 1 {
            for (channel, values) in border.iter_mut().enumerate() {
                values.push(p.0[channel]);
            }
        }
    }
    let median = border.map(|mut values| {
        values.sort_unstable();
        values.get(values.len() / 2).copied().unwrap_or(0)
    });
    let near = |p: [u8; 3], c: [u8; 3]| {
        p.iter()
            .zip(c)
            .all(|(&v, m)| v.abs_diff(m) <= REMOVE_BACKGROUND_THRESHOLD)
    };
    let rgb = |x: u32, y: u32| {
        let p = image.get_pixel(x, y).0;
        [p[0], p[1], p[2]]
    };
    let mut out = RgbaImage::new(w, h);
    for (x, y, src) in image.enumerate_pixels() {
        let [r, g, b, a] = src.0;
        let p = [r, g, b];
        // Studio backdrops are often graded top to bottom or left to right: the border pixels
        // of the same row and column count as background colours too.
        let background = a == 0
            || near(p, median)
            || near(p, rgb(0, y))
            || near(p, rgb(w - 1, y))
            || near(p, rgb(x, 0))
            || near(p, rgb(x, h - 1));
        let dst = out.get_pixel_mut(x, y);
        dst.0 = if background {
            [0, 0, 0, 0]
        } else {
            [r, g, b, 255]
        };
    }
    out
}

/// PNG with fast compression (the emulator's output is throwaway).
pub fn encode_png(image: &RgbImage) -> Vec<u8> {
    encode(
        image.as_raw(),
        image.width(),
        image.height(),
        ExtendedColorType::Rgb8,
        OutputFormat::Png,
    )
}

/// An RGB image as `format` (JPEG at [`JPEG_QUALITY`], WebP lossless).
pub fn encode_rgb(image: &RgbImage, format: OutputFormat) -> Vec<u8> {
    let (w, h) = image.dimensions();
    encode(image.as_raw(), w, h, ExtendedColorType::Rgb8, format)
}

/// An RGBA image as PNG or lossless WebP.
pub fn encode_rgba(image: &RgbaImage, format: OutputFormat) -> Vec<u8> {
    let (w, h) = image.dimensions();
    encode(image.as_raw(), w, h, ExtendedColorType::Rgba8, format)
}

fn encode(raw: &[u8], w: u32, h: u32, color: ExtendedColorType, format: OutputFormat) -> Vec<u8> {
    let mut bytes = Vec::new();
    let result = match format {
        OutputFormat::Png => {
            PngEncoder::new_with_quality(&mut bytes, CompressionType::Fast, FilterType::Sub)
                .write_image(raw, w, h, color)
        }
        OutputFormat::Jpeg => {
            JpegEncoder::new_with_quality(&mut bytes, JPEG_QUALITY).write_image(raw, w, h, color)
        }
        OutputFormat::Webp => WebPEncoder::new_lossless(&mut bytes).write_image(raw, w, h, color),
    };
    result.expect("encoding an 8-bit image into memory cannot fail");
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::GrayImage;

    /// A mask image of `keep` (black = keep).
    fn mask_image(w: u32, h: u32, keep: impl Fn(u32, u32) -> bool) -> GrayImage {
        GrayImage::from_fn(w, h, |x, y| image::Luma([if keep(x, y) { 0 } else { 255 }]))
    }

    fn job(mask: MaskSource, seed: i64) -> OutpaintJob {
        let image = RgbImage::from_fn(64, 48, |x, y| {
            if (16..48).contains(&x) && (12..36).contains(&y) {
                image::Rgb([200, 30, 30])
            } else {
                image::Rgb([240, 240, 240])
            }
        });
        OutpaintJob {
            text: Some("a beach".into()),
            negative_text: None,
            image,
            mask,
            number_of_images: 1,
            seed,
        }
    }

    #[test]
    fn mask_prompt_finds_the_subject_against_a_plain_background() {
        let j = job(MaskSource::Prompt("box".into()), 1);
        let keep = keep_mask(&j);
        assert!(keep[20 * 64 + 30]);
        assert!(!keep[2 * 64 + 2]);
    }

    #[test]
    fn mask_prompt_falls_back_to_the_centre_on_a_flat_image() {
        let mut j = job(MaskSource::Prompt("x".into()), 1);
        j.image = RgbImage::from_pixel(64, 48, image::Rgb([10, 10, 10]));
        let keep = keep_mask(&j);
        assert!(keep[24 * 64 + 32]);
        assert!(!keep[0]);
    }

    #[test]
    fn resize_is_exact_on_flat_areas_and_an_identity_at_the_same_size() {
        let src: Vec<u8> = (0..12 * 8 * 3).map(|i| (i * 7 % 251) as u8).collect();
        assert_eq!(resize(&src, 12, 8, 3, 12, 8), src);
        let flat = [10u8, 200, 30].repeat(64 * 48);
        assert_eq!(
            resize(&flat, 64, 48, 3, 2496, 1664),
            [10u8, 200, 30].repeat(2496 * 1664)
        );
        // A 2x upscale of a two-column image: the middle blends, the edges are clamped.
        let out = resize(&[0, 255], 2, 1, 1, 4, 1);
        assert_eq!(out[0], 0);
        assert_eq!(out[3], 255);
        assert!(out[1] > 0 && out[1] < out[2] && out[2] < 255, "{out:?}");
    }

    #[test]
    fn repaint_area_is_thresholded_and_grown_by_whole_pixels() {
        // Repaint only the pixel (4, 4) of a 9 x 9 mask, kept at the same size.
        let mask = GrayImage::from_fn(9, 9, |x, y| {
            image::Luma([if (x, y) == (4, 4) { 255 } else { 0 }])
        });
        let count = |area: &[bool]| area.iter().filter(|r| **r).count();
        assert_eq!(count(&repaint_area(&mask, 9, 9, 0)), 1);
        let grown = repaint_area(&mask, 9, 9, 2);
        assert_eq!(count(&grown), 25, "a 5 x 5 square");
        assert!(grown[2 * 9 + 2] && grown[6 * 9 + 6] && !grown[9 + 4] && !grown[4 * 9 + 7]);
        // Grown past the edges: everything, without panicking.
        assert_eq!(count(&repaint_area(&mask, 9, 9, 20)), 81);
        // Grey below 128 keeps, from 128 repaints.
        let grey = GrayImage::from_fn(2, 1, |x, _| image::Luma([if x == 0 { 127 } else { 128 }]));
        assert_eq!(repaint_area(&grey, 2, 1, 0), [false, true]);
    }

    fn inpaint_job(repaint: GrayImage, grow_mask: u32) -> InpaintJob {
        let image = RgbImage::from_fn(64, 64, |x, _| {
            if x < 32 {
                image::Rgb([200, 30, 30])
            } else {
                image::Rgb([30, 30, 200])
            }
        });
        InpaintJob {
            prompt: "a beach".into(),
            negative_prompt: None,
            style_preset: None,
            image,
            repaint,
            seed: 1,
            grow_mask,
            output_format: OutputFormat::Png,
            finish_marker: None,
        }
    }

    #[test]
    fn inpaint_keeps_the_resized_input_outside_the_grown_repaint_area() {
        // Keep the left half, repaint the right half.
        let mask = GrayImage::from_fn(64, 64, |x, _| image::Luma([if x < 32 { 0 } else { 255 }]));
        let job = inpaint_job(mask, 5);
        let (png, w, h) = inpaint(&job, 9);
        assert_eq!((w, h), (2048, 2048));
        let out = image::load_from_memory(&png).unwrap().to_rgb8();
        let base = inpaint_base(&job);
        let repaint = repaint_area(&job.repaint, w, h, 5);
        let mut kept = 0;
        for (i, (p, q)) in out.pixels().zip(base.pixels()).enumerate() {
            if !repaint[i] {
                assert_eq!(p, q);
                kept += 1;
            }
        }
        // The left half, less the 5 pixels grown into it (the boundary is at x = 1024).
        assert_eq!(kept, (1024 - 5) * 2048);
        assert_eq!(out.get_pixel(10, 10).0, [200, 30, 30]);
        assert_ne!(out.get_pixel(2000, 10).0, [30, 30, 200]);
        assert_eq!(inpaint(&job, 9).0, png, "deterministic");
        assert_ne!(inpaint(&job, 10).0, png, "another seed, another image");
    }

    #[test]
    fn remove_background_keeps_the_subject_opaque_and_clears_the_rest() {
        let image = RgbaImage::from_fn(80, 64, |x, y| {
            if (20..60).contains(&x) && (16..48).contains(&y) {
                image::Rgba([20, 160, 40, 255])
            } else if (x + y) % 2 == 0 {
                // A slightly noisy background: within the threshold.
                image::Rgba([230, 230, 225, 255])
            } else {
                image::Rgba([250, 240, 210, 255])
            }
        });
        let out = remove_background(&image);
        assert_eq!(out.dimensions(), (80, 64));
        for (x, y, p) in out.enumerate_pixels() {
            let subject = (20..60).contains(&x) && (16..48).contains(&y);
            if subject {
                assert_eq!(p.0, [20, 160, 40, 255], "({x},{y})");
            } else {
                assert_eq!(p.0, [0, 0, 0, 0], "({x},{y})");
            }
        }
    }

    #[test]
    fn encodes_each_output_format() {
        let rgb = RgbImage::from_pixel(8, 8, image::Rgb([1, 2, 3]));
        let rgba = RgbaImage::from_pixel(8, 8, image::Rgba([1, 2, 3, 0]));
        let guess = |b: Vec<u8>| image::guess_format(&b).unwrap();
        assert_eq!(
            guess(encode_rgb(&rgb, OutputFormat::Png)),
            image::ImageFormat::Png
        );
        assert_eq!(
            guess(encode_rgb(&rgb, OutputFormat::Jpeg)),
            image::ImageFormat::Jpeg
        );
        assert_eq!(
            guess(encode_rgb(&rgb, OutputFormat::Webp)),
            image::ImageFormat::WebP
        );
        let webp = encode_rgba(&rgba, OutputFormat::Webp);
        let decoded = image::load_from_memory(&webp).unwrap().to_rgba8();
        assert_eq!(decoded.get_pixel(3, 3).0[3], 0, "lossless WebP keeps alpha");
    }

    #[test]
    fn renders_deterministically_and_keeps_masked_pixels() {
        let j = job(MaskSource::Image(mask_image(64, 48, |x, _| x < 10)), 7);
        let keep = keep_mask(&j);
        let a = render(&j, &keep, 0);
        assert_eq!(a, render(&j, &keep, 0));
        assert_ne!(a, render(&j, &keep, 1));
        let decoded = image::load_from_memory(&a).unwrap().to_rgb8();
        assert_eq!(decoded.get_pixel(3, 3), j.image.get_pixel(3, 3));
    }
}

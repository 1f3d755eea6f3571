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

use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{ImageEncoder as _, RgbImage};
use sha2::{Digest as _, Sha256};

use super::validate::{MaskSource, OutpaintJob};

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
    let d = hasher.finalize();
    let from = [d[0], d[1], d[2]].map(i32::from);
    let to = [d[3], d[4], d[5]].map(i32::from);
    let ax = i64::from(d[6]) + 1;
    let ay = i64::from(d[7]) + 1;
    let stripe = 8 + u32::from(d[8] % 40);

    let (w, h) = job.image.dimensions();
    let span = (ax * i64::from(w) + ay * i64::from(h)).max(1);
    let mut out = RgbImage::new(w, h);
    for (x, y, px) in out.enumerate_pixels_mut() {
        let i = (y as usize) * (w as usize) + x as usize;
        if keep[i] {
            *px = *job.image.get_pixel(x, y);
            continue;
        }
        let t = ((ax * i64::from(x) + ay * i64::from(y)) * 256 / span) as i32;
        let shade = if ((x + y) / stripe) % 2 == 0 { 0 } else { 18 };
        px.0 =
            [0, 1, 2].map(|c| (from[c] + (to[c] - from[c]) * t / 256 - shade).clamp(0, 255) as u8);
    }
    encode_png(&out)
}

/// PNG with fast compression (the emulator's output is throwaway).
pub fn encode_png(image: &RgbImage) -> Vec<u8> {
    let mut bytes = Vec::new();
    PngEncoder::new_with_quality(&mut bytes, CompressionType::Fast, FilterType::Sub)
        .write_image(
            image.as_raw(),
            image.width(),
            image.height(),
            image::ExtendedColorType::Rgb8,
        )
        .expect("encoding a PNG into memory cannot fail");
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

//! Fitting an image to a size the model accepts.
//!
//! The image is never cropped: it is scaled to fit inside the target ("contain") and centred,
//! and the bands left over are filled with [`PAD_COLOUR`]. Outpainting repaints everything
//! outside the kept subject anyway, so padding only gives the model more background to paint,
//! while cropping could cut the subject off.
//!
//! Choosing the target:
//! * Titan (fixed list): the accepted resolutions whose aspect ratio is closest to the input's
//!   (within 1% of the best, as `|ln(ratio_in / ratio_candidate)|`) are the candidates. Among
//!   them, take the smallest that holds the input without shrinking it (so an image is never
//!   upscaled more than needed: 1000x1000 -> 1024x1024, 300x300 -> 512x512); if none is that
//!   large, take the largest (3000x2000 -> 1152x768).
//! * Nova Canvas (free sizes): keep the input's pixel count when allowed, else the largest
//!   allowed; the aspect ratio is clamped to 1:4..4:1; sides are rounded to multiples of 16
//!   within 320-4096 and shrunk by 16 px steps until the pixel count is allowed.

use image::imageops;
use image::{Rgb, RgbImage};

use super::{Model, SizeRule};

/// Colour of the padding bands.
pub const PAD_COLOUR: Rgb<u8> = Rgb([128, 128, 128]);

/// Where the original image ended up in the fitted one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Transform {
    /// Original size.
    pub source_width: u32,
    pub source_height: u32,
    /// Fitted (request) size.
    pub width: u32,
    pub height: u32,
    /// Scale factor applied to the original.
    pub scale: f64,
    /// Size of the scaled original inside the fitted image.
    pub scaled_width: u32,
    pub scaled_height: u32,
    /// Top-left corner of the scaled original inside the fitted image.
    pub offset_x: u32,
    pub offset_y: u32,
}

impl Transform {
    /// Maps a box given as fractions of the original image (left, top, width, height, as
    /// Rekognition returns them) to pixels of the fitted image: `(x0, y0, x1, y1)`, end
    /// exclusive, clamped to the scaled original. Partly covered pixels are included.
    pub fn map_fractions(
        &self,
        left: f64,
        top: f64,
        width: f64,
        height: f64,
    ) -> (u32, u32, u32, u32) {
        let sw = f64::from(self.scaled_width);
        let sh = f64::from(self.scaled_height);
        let clamp = |v: f64, max: f64| v.clamp(0.0, max);
        let x0 = clamp((left * sw).floor(), sw) as u32;
        let y0 = clamp((top * sh).floor(), sh) as u32;
        let x1 = clamp(((left + width) * sw).ceil(), sw) as u32;
        let y1 = clamp(((top + height) * sh).ceil(), sh) as u32;
        (
            self.offset_x + x0,
            self.offset_y + y0,
            self.offset_x + x1,
            self.offset_y + y1,
        )
    }
}

/// A fitted image and how it was made.
#[derive(Debug, Clone)]
pub struct Fitted {
    pub image: RgbImage,
    pub transform: Transform,
}

/// The width x height the model should get for an input of `width` x `height`.
pub fn target_size(model: Model, width: u32, height: u32) -> (u32, u32) {
    match model.limits().sizes {
        SizeRule::Fixed(list) => titan_size(list, width, height),
        SizeRule::Free {
            min_side,
            max_side,
            multiple,
            max_pixels,
            max_aspect,
        } => free_size(
            width, height, min_side, max_side, multiple, max_pixels, max_aspect,
        ),
    }
}

fn titan_size(list: &[(u32, u32)], width: u32, height: u32) -> (u32, u32) {
    let ratio = (f64::from(width.max(1)) / f64::from(height.max(1))).ln();
    let distance = |&(w, h): &(u32, u32)| (ratio - (f64::from(w) / f64::from(h)).ln()).abs();
    let best = list.iter().map(distance).fold(f64::INFINITY, f64::min);
    let mut candidates: Vec<(u32, u32)> = list
        .iter()
        .copied()
        .filter(|c| distance(c) <= best + 0.01)
        .collect();
    // Smallest first; ties keep list order (stable sort).
    candidates.sort_by_key(|&(w, h)| u64::from(w) * u64::from(h));
    candidates
        .iter()
        .copied()
        .find(|&(w, h)| w >= width && h >= height)
        .or_else(|| candidates.last().copied())
        .unwrap_or((1024, 1024))
}

#[allow(clippy::too_many_arguments)]
fn free_size(
    width: u32,
    height: u32,
    min_side: u32,
    max_side: u32,
    multiple: u32,
    max_pixels: u64,
    max_aspect: f64,
) -> (u32, u32) {
    let ratio =
        (f64::from(width.max(1)) / f64::from(height.max(1))).clamp(1.0 / max_aspect, max_aspect);
    let area = (f64::from(width) * f64::from(height)).min(max_pixels as f64);
    let mut w = (area * ratio).sqrt();
    let mut h = (area / ratio).sqrt();
    let small = w.min(h);
    if small < f64::from(min_side) {
        let k = f64::from(min_side) / small;
        w *= k;
        h *= k;
    }
    let large = w.max(h);
    if large > f64::from(max_side) {
        let k = f64::from(max_side) / large;
        w *= k;
        h *= k;
    }
    let m = f64::from(multiple);
    let round =
        |v: f64| ((v / m).round() * m).clamp(f64::from(min_side), f64::from(max_side)) as u32;
    let (mut w, mut h) = (round(w), round(h));
    while u64::from(w) * u64::from(h) > max_pixels {
        if w >= h {
            w -= multiple;
        } else {
            h -= multiple;
        }
    }
    while f64::from(w) > f64::from(h) * max_aspect {
        w -= multiple;
    }
    while f64::from(h) > f64::from(w) * max_aspect {
        h -= multiple;
    }
    (w, h)
}

/// Scales `image` into the model's accepted size (see the module docs), padding the rest.
pub fn fit(image: &RgbImage, model: Model) -> Fitted {
    let (sw, sh) = image.dimensions();
    let (tw, th) = target_size(model, sw, sh);
    fit_to(image, tw, th)
}

/// Scales `image` to fit inside `tw` x `th`, centred, padded with [`PAD_COLOUR`].
pub fn fit_to(image: &RgbImage, tw: u32, th: u32) -> Fitted {
    let (w, h) = image.dimensions();
    let scale = (f64::from(tw) / f64::from(w)).min(f64::from(th) / f64::from(h));
    let scaled_w = ((f64::from(w) * scale).round() as u32).clamp(1, tw);
    let scaled_h = ((f64::from(h) * scale).round() as u32).clamp(1, th);
    let scaled = if (scaled_w, scaled_h) == (w, h) {
        None
    } else if scaled_w <= w && scaled_h <= h {
        Some(downscale(image, scaled_w, scaled_h))
    } else {
        Some(resample(image, scaled_w, scaled_h))
    };
    let offset_x = (tw - scaled_w) / 2;
    let offset_y = (th - scaled_h) / 2;
    let transform = Transform {
        source_width: w,
        source_height: h,
        width: tw,
        height: th,
        scale,
        scaled_width: scaled_w,
        scaled_height: scaled_h,
        offset_x,
        offset_y,
    };
    let out = if (scaled_w, scaled_h) == (tw, th) {
        scaled.unwrap_or_else(|| image.clone())
    } else {
        let mut canvas = RgbImage::from_pixel(tw, th, PAD_COLOUR);
        let src = scaled.as_ref().unwrap_or(image);
        imageops::replace(&mut canvas, src, i64::from(offset_x), i64::from(offset_y));
        canvas
    };
    Fitted {
        image: out,
        transform,
    }
}

/// Scales to `tw` x `th` (either direction), the same image when the size already matches.
pub fn scale(image: &RgbImage, tw: u32, th: u32) -> RgbImage {
    let (w, h) = image.dimensions();
    if (w, h) == (tw, th) {
        image.clone()
    } else if tw <= w && th <= h {
        downscale(image, tw, th)
    } else {
        resample(image, tw, th)
    }
}

/// Downscaling: exact 2x2 box averaging while the image is at least twice the target (cheap,
/// alias-free), then a triangle filter for the remaining factor (< 2).
fn downscale(image: &RgbImage, tw: u32, th: u32) -> RgbImage {
    let mut halved: Option<RgbImage> = None;
    loop {
        let cur = halved.as_ref().unwrap_or(image);
        if cur.width() >= 2 * tw && cur.height() >= 2 * th {
            halved = Some(halve(cur));
        } else {
            break;
        }
    }
    let cur = halved.as_ref().unwrap_or(image);
    if cur.dimensions() == (tw, th) {
        return halved.unwrap_or_else(|| image.clone());
    }
    resample(cur, tw, th)
}

/// Per output pixel: first input index and fixed-point weights (sum = 1 << [`FRAC`]).
struct Taps {
    start: Vec<usize>,
    len: usize,
    weights: Vec<i32>,
}

const FRAC: u32 = 14;

/// Triangle (linear) filter weights, widened by the scale factor when shrinking.
fn taps(src: u32, dst: u32) -> Taps {
    let scale = f64::from(dst) / f64::from(src);
    let support = if scale < 1.0 { 1.0 / scale } else { 1.0 };
    let len = (2.0 * support).ceil() as usize + 1;
    let mut start = Vec::with_capacity(dst as usize);
    let mut weights = vec![0i32; dst as usize * len];
    let mut tmp = vec![0f64; len];
    for o in 0..dst as usize {
        let centre = (o as f64 + 0.5) / scale;
        let lo = ((centre - support).floor().max(0.0) as usize).min(src as usize - 1);
        let mut total = 0.0;
        for (k, t) in tmp.iter_mut().enumerate() {
            let i = lo + k;
            *t = if i < src as usize {
                (1.0 - ((i as f64 + 0.5 - centre).abs() / support)).max(0.0)
            } else {
                0.0
            };
            total += *t;
        }
        if total <= 0.0 {
            tmp.iter_mut().for_each(|t| *t = 0.0);
            tmp[0] = 1.0;
            total = 1.0;
        }
        let row = &mut weights[o * len..(o + 1) * len];
        let mut sum = 0;
        for (w, t) in row.iter_mut().zip(&tmp) {
            *w = (t / total * f64::from(1 << FRAC)).round() as i32;
            sum += *w;
        }
        // put the rounding error on the heaviest tap so the weights sum to exactly 1.0
        let (heaviest, _) = row
            .iter()
            .enumerate()
            .max_by_key(|(_, w)| **w)
            .unwrap_or((0, &0));
        row[heaviest] += (1 << FRAC) - sum;
        start.push(lo);
    }
    Taps {
        start,
        len,
        weights,
    }
}

#[inline]
fn clamp_u8(acc: i32) -> u8 {
    ((acc + (1 << (FRAC - 1))) >> FRAC).clamp(0, 255) as u8
}

/// Separable triangle-filter resize in fixed point (horizontal, then vertical).
fn resample(image: &RgbImage, tw: u32, th: u32) -> RgbImage {
    let (sw, sh) = image.dimensions();
    let src = image.as_raw();
    let hx = taps(sw, tw);
    let sstride = sw as usize * 3;
    let tstride = tw as usize * 3;
    let mut mid = vec![0u8; tstride * sh as usize];
    for (srow, mrow) in src.chunks_exact(sstride).zip(mid.chunks_exact_mut(tstride)) {
        for (o, px) in mrow.chunks_exact_mut(3).enumerate() {
            let lo = hx.start[o];
            let ws = &hx.weights[o * hx.len..(o + 1) * hx.len];
            let (mut r, mut g, mut b) = (0i32, 0i32, 0i32);
            for (k, &w) in ws.iter().enumerate() {
                if w == 0 {
                    continue;
                }
                let i = (lo + k) * 3;
                r += w * i32::from(srow[i]);
                g += w * i32::from(srow[i + 1]);
                b += w * i32::from(srow[i + 2]);
            }
            px[0] = clamp_u8(r);
            px[1] = clamp_u8(g);
            px[2] = clamp_u8(b);
        }
    }
    let vy = taps(sh, th);
    let mut out = vec![0u8; tstride * th as usize];
    let mut acc = vec![0i32; tstride];
    for (o, orow) in out.chunks_exact_mut(tstride).enumerate() {
        acc.iter_mut().for_each(|a| *a = 0);
        let lo = vy.start[o];
        let ws = &vy.weights[o * vy.len..(o + 1) * vy.len];
        for (k, &w) in ws.iter().enumerate() {
            if w == 0 {
                continue;
            }
            let row = &mid[(lo + k) * tstride..(lo + k + 1) * tstride];
            for (a, &v) in acc.iter_mut().zip(row) {
                *a += w * i32::from(v);
            }
        }
        for (d, &a) in orow.iter_mut().zip(&acc) {
            *d = clamp_u8(a);
        }
    }
    RgbImage::from_raw(tw, th, out).expect("buffer size matches")
}

/// Averages 2x2 blocks (an odd last row/column is dropped).
fn halve(image: &RgbImage) -> RgbImage {
    let (w, h) = (image.width() / 2, image.height() / 2);
    let src = image.as_raw();
    let stride = image.width() as usize * 3;
    let mut out = vec![0u8; w as usize * h as usize * 3];
    for (y, row) in out.chunks_exact_mut(w as usize * 3).enumerate() {
        let r0 = &src[2 * y * stride..2 * y * stride + stride];
        let r1 = &src[(2 * y + 1) * stride..(2 * y + 1) * stride + stride];
        for (x, px) in row.chunks_exact_mut(3).enumerate() {
            let i = x * 6;
            for c in 0..3 {
                let sum = u16::from(r0[i + c])
                    + u16::from(r0[i + 3 + c])
                    + u16::from(r1[i + c])
                    + u16::from(r1[i + 3 + c]);
                px[c] = ((sum + 2) / 4) as u8;
            }
        }
    }
    RgbImage::from_raw(w, h, out).expect("buffer size matches")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TITAN_RESOLUTIONS;

    fn nova_ok(w: u32, h: u32) {
        assert!(
            (320..=4096).contains(&w) && (320..=4096).contains(&h),
            "{w}x{h}"
        );
        assert_eq!(w % 16, 0, "{w}x{h}");
        assert_eq!(h % 16, 0, "{w}x{h}");
        assert!(u64::from(w) * u64::from(h) <= 4_194_304, "{w}x{h}");
        assert!(w <= 4 * h && h <= 4 * w, "{w}x{h}");
    }

    #[test]
    fn titan_picks_the_closest_aspect_without_needless_upscaling() {
        let t = |w, h| target_size(Model::TitanV1, w, h);
        assert_eq!(t(1024, 1024), (1024, 1024));
        assert_eq!(t(1000, 1000), (1024, 1024));
        assert_eq!(t(700, 700), (768, 768));
        assert_eq!(t(300, 300), (512, 512));
        assert_eq!(t(5000, 5000), (1024, 1024));
        assert_eq!(t(3000, 2000), (1152, 768));
        assert_eq!(t(500, 333), (576, 384));
        assert_eq!(t(2000, 3000), (768, 1152));
        assert_eq!(t(1920, 1080), (1152, 640)); // 9:5 is closer to 16:9 than 11:6
        assert_eq!(t(1280, 768), (1280, 768));
        // extreme panoramas get the widest/tallest shapes
        assert_eq!(t(10_000, 1000), (1408, 640));
        assert_eq!(t(100, 1000), (640, 1408));
        assert_eq!(t(1, 1), (512, 512));
        assert_eq!(t(3, 1), (704, 320));
        // the v2 list is the same
        assert_eq!(target_size(Model::TitanV2, 3000, 2000), (1152, 768));
    }

    #[test]
    fn titan_targets_are_always_in_the_list() {
        for w in (1..6000).step_by(397) {
            for h in (1..6000).step_by(411) {
                assert!(TITAN_RESOLUTIONS.contains(&target_size(Model::TitanV1, w, h)));
            }
        }
    }

    #[test]
    fn nova_sizes_follow_the_rules() {
        let t = |w, h| target_size(Model::NovaCanvas, w, h);
        assert_eq!(t(1024, 1024), (1024, 1024));
        assert_eq!(t(1000, 1000), (1008, 1008));
        assert_eq!(t(100, 100), (320, 320));
        assert_eq!(t(1920, 1080), (1920, 1088));
        let (w, h) = t(6000, 4000);
        assert!(w * h <= 4_194_304 && w * h > 4_000_000, "{w}x{h}");
        assert!(
            ((f64::from(w) / f64::from(h)) - 1.5).abs() < 0.02,
            "{w}x{h}"
        );
        let (w, h) = t(10_000, 500);
        assert_eq!(w, 4 * h, "{w}x{h}");
        for (w, h) in [
            (1, 1),
            (1, 10_000),
            (10_000, 1),
            (16_000, 16_000),
            (4097, 4095),
            (321, 319),
            (3000, 750),
            (3001, 749),
            (640, 2560),
            (12_345, 6_789),
        ] {
            let (tw, th) = t(w, h);
            nova_ok(tw, th);
        }
    }

    #[test]
    fn fitting_pads_and_centres() {
        let img = RgbImage::from_pixel(300, 200, Rgb([10, 20, 30]));
        let f = fit(&img, Model::TitanV1);
        assert_eq!(f.image.dimensions(), (576, 384));
        assert_eq!(f.transform.scaled_width, 576);
        assert_eq!(f.transform.scaled_height, 384);
        assert_eq!((f.transform.offset_x, f.transform.offset_y), (0, 0));
        assert_eq!(*f.image.get_pixel(300, 200), Rgb([10, 20, 30]));

        // 1920x1080 into 1152x640: 16:9 is a bit narrower than 9:5, pad left and right
        let img = RgbImage::from_pixel(1920, 1080, Rgb([200, 0, 0]));
        let f = fit(&img, Model::TitanV2);
        let t = f.transform;
        assert_eq!((t.width, t.height), (1152, 640));
        assert_eq!((t.scaled_width, t.scaled_height), (1138, 640));
        assert_eq!((t.offset_x, t.offset_y), (7, 0));
        assert_eq!(*f.image.get_pixel(0, 0), PAD_COLOUR);
        assert_eq!(*f.image.get_pixel(1151, 639), PAD_COLOUR);
        assert_eq!(*f.image.get_pixel(7, 0), Rgb([200, 0, 0]));
        assert_eq!(*f.image.get_pixel(576, 320), Rgb([200, 0, 0]));

        // a panorama in Titan: wide padding bands at top and bottom
        let img = RgbImage::from_pixel(4000, 400, Rgb([0, 0, 255]));
        let f = fit(&img, Model::TitanV1);
        let t = f.transform;
        assert_eq!((t.width, t.height), (1408, 640));
        assert_eq!((t.scaled_width, t.scaled_height), (1408, 141));
        assert_eq!(t.offset_y, (640 - 141) / 2);
        assert_eq!(*f.image.get_pixel(10, 10), PAD_COLOUR);
        assert_eq!(*f.image.get_pixel(10, 320), Rgb([0, 0, 255]));
    }

    #[test]
    fn tiny_inputs_are_upscaled_and_exact_sizes_untouched() {
        let img = RgbImage::from_pixel(1, 1, Rgb([1, 2, 3]));
        let f = fit(&img, Model::TitanV1);
        assert_eq!(f.image.dimensions(), (512, 512));
        assert_eq!(*f.image.get_pixel(256, 256), Rgb([1, 2, 3]));
        let f = fit(&img, Model::NovaCanvas);
        assert_eq!(f.image.dimensions(), (320, 320));

        let img = RgbImage::from_fn(1024, 1024, |x, y| Rgb([x as u8, y as u8, 0]));
        let f = fit(&img, Model::TitanV1);
        assert_eq!(f.transform.scale, 1.0);
        assert_eq!(f.image, img);
    }

    #[test]
    fn huge_inputs_are_scaled_down() {
        let img = RgbImage::from_pixel(8000, 6000, Rgb([9, 9, 9]));
        let f = fit(&img, Model::NovaCanvas);
        let (w, h) = f.image.dimensions();
        nova_ok(w, h);
        assert!(f.transform.scale < 0.3);
    }

    #[test]
    fn halving_averages_blocks() {
        let img = RgbImage::from_fn(5, 4, |x, y| Rgb([(x * 10) as u8, (y * 10) as u8, 7]));
        let h = halve(&img);
        assert_eq!(h.dimensions(), (2, 2));
        assert_eq!(*h.get_pixel(0, 0), Rgb([5, 5, 7]));
        assert_eq!(*h.get_pixel(1, 1), Rgb([25, 25, 7]));
        let d = downscale(
            &RgbImage::from_pixel(3000, 2000, Rgb([50, 60, 70])),
            1152,
            768,
        );
        assert_eq!(d.dimensions(), (1152, 768));
        assert_eq!(*d.get_pixel(600, 400), Rgb([50, 60, 70]));
        // resampling keeps flat colours exact, including at the edges, both ways
        for (w, h) in [(1, 1), (7, 3), (1000, 999), (2512, 1680)] {
            let r = resample(&RgbImage::from_pixel(1234, 777, Rgb([1, 128, 255])), w, h);
            assert_eq!(r.dimensions(), (w, h));
            assert!(r.pixels().all(|p| *p == Rgb([1, 128, 255])), "{w}x{h}");
        }
        let up = resample(
            &RgbImage::from_fn(2, 1, |x, _| Rgb([x as u8 * 200, 0, 0])),
            8,
            1,
        );
        let reds: Vec<u8> = up.pixels().map(|p| p[0]).collect();
        assert!(reds.windows(2).all(|w| w[0] <= w[1]), "{reds:?}");
        assert_eq!((reds[0], reds[7]), (0, 200));
    }

    #[test]
    fn boxes_map_through_scale_and_offset() {
        let t = Transform {
            source_width: 200,
            source_height: 100,
            width: 512,
            height: 512,
            scale: 2.56,
            scaled_width: 512,
            scaled_height: 256,
            offset_x: 0,
            offset_y: 128,
        };
        assert_eq!(t.map_fractions(0.0, 0.0, 1.0, 1.0), (0, 128, 512, 384));
        assert_eq!(t.map_fractions(0.25, 0.5, 0.5, 0.25), (128, 256, 384, 320));
        // out of range values are clamped to the image
        assert_eq!(t.map_fractions(0.9, 0.9, 0.5, 0.5), (460, 358, 512, 384));
    }
}

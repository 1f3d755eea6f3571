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
mod tests;

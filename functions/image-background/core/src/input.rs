//! Input checks: format by magic bytes, size limit, decoding with allocation limits.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder as _, ImageReader, RgbImage};

use super::Model;
use crate::limits::human_bytes;
use shared_core::PipelineError;

/// The input formats Bedrock image models accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    Png,
    Jpeg,
}

impl ImageFormat {
    fn to_image(self) -> image::ImageFormat {
        match self {
            ImageFormat::Png => image::ImageFormat::Png,
            ImageFormat::Jpeg => image::ImageFormat::Jpeg,
        }
    }
}

/// Largest decoded side we accept before fitting (guards against decompression bombs).
pub const MAX_DECODED_SIDE: u32 = 16_384;
/// The most pixels a source image may have, read from its header before anything is decoded:
/// 50 megapixels, so a 48 MP phone photo (8064x6048) fits and a small file claiming a huge
/// image (a decompression bomb) costs nothing.
pub const MAX_SOURCE_PIXELS: u64 = 50_000_000;
/// The most memory decoding may take: the decoded pixels, their rotated copy (EXIF
/// orientation) and the conversion to 8-bit RGB together, computed from the header first.
pub const MAX_DECODED_BYTES: u64 = 512 * 1024 * 1024;

const PNG_MAGIC: &[u8] = b"\x89PNG\r\n\x1a\n";
const JPEG_MAGIC: &[u8] = &[0xFF, 0xD8, 0xFF];

/// The format from the first bytes, never from a file name.
pub fn sniff_format(bytes: &[u8]) -> Result<ImageFormat, PipelineError> {
    if bytes.starts_with(PNG_MAGIC) {
        Ok(ImageFormat::Png)
    } else if bytes.starts_with(JPEG_MAGIC) {
        Ok(ImageFormat::Jpeg)
    } else if bytes.is_empty() {
        Err(PipelineError::invalid_input("image: empty file"))
    } else {
        Err(PipelineError::invalid_input(
            "image: not a PNG or JPEG file (the models accept only PNG and JPEG)",
        ))
    }
}

/// Checks the format and, for a model that limits the source file itself, its size. The other
/// limits apply to the request actually sent (see [`super::prepare`]).
pub fn check_input(bytes: &[u8], model: Model) -> Result<ImageFormat, PipelineError> {
    let format = sniff_format(bytes)?;
    if let Some(limit) = model.limits().max_source_bytes {
        if bytes.len() > limit {
            return Err(PipelineError::invalid_input(format!(
                "image: {}, the limit is {} for {}",
                human_bytes(bytes.len()),
                human_bytes(limit),
                model.id()
            )));
        }
    }
    Ok(format)
}

/// Decodes a PNG or JPEG into 8-bit RGB as it is displayed: the EXIF orientation (phone
/// photos: JPEG APP1, PNG eXIf) applied first, transparent pixels composited onto white (a
/// cut-out PNG's hidden colour is never sent), grey expanded.
pub fn decode(bytes: &[u8], format: ImageFormat) -> Result<RgbImage, PipelineError> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format.to_image());
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_DECODED_SIDE);
    limits.max_image_height = Some(MAX_DECODED_SIDE);
    limits.max_alloc = Some(MAX_DECODED_BYTES);
    reader.limits(limits);
    let what = match format {
        ImageFormat::Png => "PNG",
        ImageFormat::Jpeg => "JPEG",
    };
    let mut budget_error = None;
    let decoded = reader.into_decoder().and_then(|mut decoder| {
        // An unreadable EXIF block costs the orientation, not the image.
        let orientation = decoder
            .orientation()
            .unwrap_or(image::metadata::Orientation::NoTransforms);
        if let Err(e) = check_budget(&decoder, orientation, what) {
            budget_error = Some(e);
            return Err(image::ImageError::Limits(
                image::error::LimitError::from_kind(
                    image::error::LimitErrorKind::InsufficientMemory,
                ),
            ));
        }
        let mut img = DynamicImage::from_decoder(decoder)?;
        img.apply_orientation(orientation);
        Ok(img)
    });
    if let Some(e) = budget_error {
        return Err(e);
    }
    let img = decoded.map_err(|e| match e {
        image::ImageError::Limits(_) => PipelineError::invalid_input(format!(
            "image: the {what} is too large to decode (the limit is {MAX_DECODED_SIDE} px a side)"
        )),
        other => PipelineError::invalid_input(format!("image: cannot decode the {what}: {other}")),
    })?;
    if img.width() == 0 || img.height() == 0 {
        return Err(PipelineError::invalid_input("image: has no pixels"));
    }
    Ok(match img {
        DynamicImage::ImageRgb8(rgb) => rgb,
        other if other.color().has_alpha() => onto_white(&other.to_rgba8()),
        other => other.to_rgb8(),
    })
}

/// Refuses, from the header alone, an image with more than [`MAX_SOURCE_PIXELS`] or whose
/// decoding and conversion would take more than [`MAX_DECODED_BYTES`].
fn check_budget(
    decoder: &impl image::ImageDecoder,
    orientation: image::metadata::Orientation,
    what: &str,
) -> Result<(), PipelineError> {
    let (w, h) = decoder.dimensions();
    let pixels = u64::from(w) * u64::from(h);
    if pixels > MAX_SOURCE_PIXELS {
        return Err(PipelineError::invalid_input(format!(
            "image: the {what} is {w}x{h} pixels ({:.1} megapixels), the limit is {} megapixels",
            pixels as f64 / 1e6,
            MAX_SOURCE_PIXELS / 1_000_000
        )));
    }
    let color = decoder.color_type();
    let decoded = decoder.total_bytes();
    let rotated = if orientation == image::metadata::Orientation::NoTransforms {
        0
    } else {
        decoded
    };
    let converted = match color {
        image::ColorType::Rgb8 => 0,
        c if c.has_alpha() => pixels * 4 + pixels * 3,
        _ => pixels * 3,
    };
    let total = decoded.saturating_add(rotated).saturating_add(converted);
    if total > MAX_DECODED_BYTES {
        return Err(PipelineError::invalid_input(format!(
            "image: decoding the {what} ({w}x{h}, {color:?}) would take {}, the limit is {}",
            human_bytes(usize::try_from(total).unwrap_or(usize::MAX)),
            human_bytes(MAX_DECODED_BYTES as usize)
        )));
    }
    Ok(())
}

/// Composites an image with transparency onto white.
fn onto_white(rgba: &image::RgbaImage) -> RgbImage {
    RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let [r, g, b, a] = rgba.get_pixel(x, y).0;
        let over =
            |c: u8| ((u16::from(c) * u16::from(a) + 255 * (255 - u16::from(a)) + 127) / 255) as u8;
        image::Rgb([over(r), over(g), over(b)])
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::encode_png;
    use shared_core::ErrorKind;

    fn jpeg(w: u32, h: u32) -> Vec<u8> {
        let img = RgbImage::from_fn(w, h, |x, y| image::Rgb([x as u8, y as u8, 90]));
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
            .encode_image(&img)
            .unwrap();
        out
    }

    #[test]
    fn png_and_jpeg_are_recognised_by_content() {
        let png = encode_png(&RgbImage::new(4, 3)).unwrap();
        assert_eq!(sniff_format(&png).unwrap(), ImageFormat::Png);
        assert_eq!(sniff_format(&jpeg(4, 3)).unwrap(), ImageFormat::Jpeg);
        let img = decode(&png, ImageFormat::Png).unwrap();
        assert_eq!(img.dimensions(), (4, 3));
        let img = decode(&jpeg(17, 9), ImageFormat::Jpeg).unwrap();
        assert_eq!(img.dimensions(), (17, 9));
    }

    /// A JPEG as a phone writes it: the sensor's landscape pixels and an EXIF orientation.
    fn with_exif_orientation(jpeg: &[u8], orientation: u8) -> Vec<u8> {
        let mut tiff = b"II*\0\x08\0\0\0\x01\0".to_vec();
        tiff.extend_from_slice(&[
            0x12,
            0x01,
            3,
            0,
            1,
            0,
            0,
            0,
            orientation,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
        ]);
        let mut app1 = b"Exif\0\0".to_vec();
        app1.extend_from_slice(&tiff);
        let mut out = jpeg[..2].to_vec();
        out.extend_from_slice(&[0xFF, 0xE1]);
        out.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
        out.extend_from_slice(&app1);
        out.extend_from_slice(&jpeg[2..]);
        out
    }

    #[test]
    fn exif_orientation_is_applied_first() {
        // 40x20, a white block at the top left; orientation 6: shown rotated 90 degrees clockwise.
        let img = RgbImage::from_fn(40, 20, |x, y| {
            let v = if x < 10 && y < 10 { 255 } else { 0 };
            image::Rgb([v, v, v])
        });
        let mut plain = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut plain, 95)
            .encode_image(&img)
            .unwrap();
        let shown = decode(&with_exif_orientation(&plain, 6), ImageFormat::Jpeg).unwrap();
        assert_eq!(shown.dimensions(), (20, 40), "portrait, as displayed");
        assert!(
            shown.get_pixel(15, 4).0[0] > 200,
            "the block is at the top right"
        );
        assert!(shown.get_pixel(4, 4).0[0] < 60);
        // Without the tag, or with orientation 1, nothing turns.
        assert_eq!(
            decode(&plain, ImageFormat::Jpeg).unwrap().dimensions(),
            (40, 20)
        );
        let upright = with_exif_orientation(&plain, 1);
        assert_eq!(
            decode(&upright, ImageFormat::Jpeg).unwrap().dimensions(),
            (40, 20)
        );
    }

    #[test]
    fn transparent_pixels_become_white_not_their_hidden_colour() {
        let rgba = image::RgbaImage::from_fn(3, 1, |x, _| match x {
            0 => image::Rgba([255, 0, 0, 0]),    // invisible red
            1 => image::Rgba([0, 0, 0, 128]),    // half-transparent black
            _ => image::Rgba([10, 20, 30, 255]), // opaque
        });
        let mut png = Vec::new();
        DynamicImage::ImageRgba8(rgba)
            .write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        let rgb = decode(&png, ImageFormat::Png).unwrap();
        assert_eq!(rgb.get_pixel(0, 0).0, [255, 255, 255]);
        assert_eq!(rgb.get_pixel(1, 0).0, [127, 127, 127]);
        assert_eq!(rgb.get_pixel(2, 0).0, [10, 20, 30]);
    }

    #[test]
    fn other_bytes_are_rejected() {
        for bad in [
            &b""[..],
            b"GIF89a....",
            b"hello world",
            b"<svg xmlns=...>",
            b"\x89PNX",
        ] {
            let e = sniff_format(bad).unwrap_err();
            assert_eq!(e.kind, ErrorKind::InvalidInput);
            assert!(e.message.starts_with("image:"), "{}", e.message);
        }
    }

    #[test]
    fn truncated_images_are_rejected_when_decoding() {
        let png = encode_png(&RgbImage::new(64, 64)).unwrap();
        let e = decode(&png[..png.len() / 2], ImageFormat::Png).unwrap_err();
        assert!(e.message.contains("cannot decode the PNG"), "{}", e.message);
        let j = jpeg(64, 64);
        let mut broken = j[..20].to_vec();
        broken.extend_from_slice(&[0u8; 10]);
        assert!(decode(&broken, ImageFormat::Jpeg).is_err());
    }

    /// A PNG whose header claims `w`x`h` pixels of `bit_depth` and `color_type`, with an IDAT
    /// chunk that is not real image data: enough for the header checks, which run first.
    fn png_header(w: u32, h: u32, bit_depth: u8, color_type: u8) -> Vec<u8> {
        fn crc32(bytes: &[u8]) -> u32 {
            let mut crc = !0u32;
            for &b in bytes {
                crc ^= u32::from(b);
                for _ in 0..8 {
                    crc = if crc & 1 == 1 {
                        (crc >> 1) ^ 0xEDB8_8320
                    } else {
                        crc >> 1
                    };
                }
            }
            !crc
        }
        fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
            out.extend_from_slice(&(data.len() as u32).to_be_bytes());
            let start = out.len();
            out.extend_from_slice(kind);
            out.extend_from_slice(data);
            let crc = crc32(&out[start..]);
            out.extend_from_slice(&crc.to_be_bytes());
        }
        let mut png = PNG_MAGIC.to_vec();
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(&w.to_be_bytes());
        ihdr.extend_from_slice(&h.to_be_bytes());
        ihdr.extend_from_slice(&[bit_depth, color_type, 0, 0, 0]);
        chunk(&mut png, b"IHDR", &ihdr);
        chunk(&mut png, b"IDAT", &[0x78, 0x01, 0x00]);
        chunk(&mut png, b"IEND", &[]);
        png
    }

    /// Fuzzing found (issue 14): a 32.7 KB all-zero 1-bit PNG of 16384x16384 passed every check
    /// and took 1 GB converting to RGB. The header's pixel count is checked before any decoding.
    #[test]
    fn decompression_bombs_are_refused_from_the_header() {
        for (depth, color, name) in [(1, 0, "1-bit grey"), (16, 0, "16-bit grey"), (8, 6, "RGBA")] {
            let e =
                decode(&png_header(16_384, 16_384, depth, color), ImageFormat::Png).unwrap_err();
            assert_eq!(e.kind, ErrorKind::InvalidInput);
            assert_eq!(
                e.message,
                "image: the PNG is 16384x16384 pixels (268.4 megapixels), the limit is 50 megapixels",
                "{name}"
            );
        }
    }

    /// A 48 MP phone photo (8064x6048) is within both limits: its header passes, and this one
    /// then fails only because its pixel data is not real.
    #[test]
    fn a_48_megapixel_photo_passes_the_limits() {
        let e = decode(&png_header(8064, 6048, 8, 2), ImageFormat::Png).unwrap_err();
        assert!(
            e.message.starts_with("image: cannot decode the PNG"),
            "{}",
            e.message
        );
        // Within the pixel limit but too much memory: 16-bit RGBA with a conversion to RGB.
        let e = decode(&png_header(7000, 7000, 16, 6), ImageFormat::Png).unwrap_err();
        assert!(
            e.message
                .starts_with("image: decoding the PNG (7000x7000, Rgba16) would take"),
            "{}",
            e.message
        );
        assert!(e.message.ends_with("the limit is 512 MB"), "{}", e.message);
    }

    #[test]
    fn a_large_source_file_is_not_refused_for_its_size() {
        // The limits apply to the request sent, after fitting: a 12-48 MP phone JPEG is scaled.
        let mut big = PNG_MAGIC.to_vec();
        big.resize(12 * 1024 * 1024, 0);
        for model in Model::ALL {
            assert_eq!(check_input(&big, model).unwrap(), ImageFormat::Png);
        }
    }

    /// A damaged upload is an InvalidInput naming the image, never a panic: every truncation
    /// and single-byte damage of a small PNG and JPEG.
    #[test]
    fn damaged_images_are_refused_never_panic() {
        let img = RgbImage::from_fn(24, 16, |x, y| image::Rgb([x as u8 * 9, y as u8 * 13, 90]));
        for original in [encode_png(&img).unwrap(), jpeg(24, 16)] {
            let check = |bytes: &[u8]| {
                let Ok(format) = sniff_format(bytes) else {
                    return;
                };
                if let Err(e) = decode(bytes, format) {
                    assert_eq!(e.kind, ErrorKind::InvalidInput);
                    assert!(e.message.starts_with("image: "), "{}", e.message);
                }
            };
            shared_core::damage::each_damaged_copy(&original, &[0x00, 0xff, 0x7f], check);
        }
    }
}

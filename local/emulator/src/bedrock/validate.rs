//! Request validation: an InvokeModel body for an image model becomes an [`OutpaintJob`] (Titan,
//! Nova Canvas), an [`InpaintJob`] or a [`RemoveBackgroundJob`] (Stability AI Image Services),
//! or the message of the `ValidationException` the real service answers.
//!
//! Bedrock validates model bodies against a JSON schema and reports the violation as
//! `Malformed input request: #/<path>: <detail>, please reformat your input and try again.`
//! (everit-style details such as `expected maxLength: 512, actual: 600`). The emulator reports
//! the first violation it finds in that style, so messages name the field and the limit; checks
//! the schema cannot express (image format, sizes, mask size) use the same prefix with a plain
//! sentence. Where the service would list several violations, we list only the first. The
//! Stability bodies are flat, so their paths are `#/prompt`, `#/image`, ... in the same style
//! (the wording of the real Stability messages was not available; they name the field and the
//! limit as these do).

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use image::{DynamicImage, GrayImage, ImageFormat, RgbImage, RgbaImage};
use serde_json::{Map, Value};

use super::models::{self, Family, Limits};

/// A validated OUTPAINTING request.
pub struct OutpaintJob {
    /// `text` (the prompt for the new background), if any.
    pub text: Option<String>,
    /// `negativeText`, if any.
    pub negative_text: Option<String>,
    /// The decoded input image.
    pub image: RgbImage,
    /// What to keep.
    pub mask: MaskSource,
    /// `numberOfImages`.
    pub number_of_images: u32,
    /// `seed` (or the model's default).
    pub seed: i64,
}

/// How the request says which pixels to keep.
pub enum MaskSource {
    /// `maskPrompt`: the emulator estimates the subject (see `paint::subject_mask`).
    Prompt(String),
    /// `maskImage`, decoded to luminance: black keeps the input pixel, white is repainted.
    Image(GrayImage),
}

/// A request the real service would reject: the message of its `ValidationException`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid(pub String);

impl Invalid {
    fn at(path: &str, detail: impl std::fmt::Display) -> Self {
        Self(format!(
            "Malformed input request: {path}: {detail}, please reformat your input and try again."
        ))
    }
}

/// Task types the real models know; only OUTPAINTING is emulated.
const KNOWN_TASKS: [&str; 7] = [
    "TEXT_IMAGE",
    "INPAINTING",
    "OUTPAINTING",
    "IMAGE_VARIATION",
    "COLOR_GUIDED_GENERATION",
    "BACKGROUND_REMOVAL",
    "VIRTUAL_TRY_ON",
];

const TOP_KEYS: [&str; 3] = ["taskType", "outPaintingParams", "imageGenerationConfig"];
const OUTPAINT_KEYS: [&str; 6] = [
    "image",
    "text",
    "negativeText",
    "maskPrompt",
    "maskImage",
    "outPaintingMode",
];
const CONFIG_KEYS: [&str; 6] = [
    "numberOfImages",
    "quality",
    "height",
    "width",
    "cfgScale",
    "seed",
];

/// Validates an InvokeModel body for the legacy model `model_id` of `family`.
pub fn outpaint_job(model_id: &str, family: Family, body: &[u8]) -> Result<OutpaintJob, Invalid> {
    let limits = family.limits();
    let root = parse(body)?;
    let top = object(&root, "#")?;
    let task = match top.get("taskType") {
        None => return Err(Invalid::at("#", "required key [taskType] not found")),
        Some(Value::String(task)) => task.as_str(),
        Some(other) => return Err(type_error("#/taskType", "String", other)),
    };
    if !KNOWN_TASKS.contains(&task) {
        return Err(Invalid::at(
            "#/taskType",
            format!("{task} is not a valid enum value"),
        ));
    }
    if task != "OUTPAINTING" {
        return Err(Invalid(format!(
            "The mlpipe emulator implements only the OUTPAINTING task of {}; taskType {task} is \
             valid for the real service but not emulated.",
            model_id
        )));
    }
    extraneous(top, "#", &TOP_KEYS)?;

    let params = match top.get("outPaintingParams") {
        Some(v) => object(v, "#/outPaintingParams")?,
        None => {
            return Err(Invalid::at(
                "#",
                "required key [outPaintingParams] not found",
            ))
        }
    };
    let p = "#/outPaintingParams";
    extraneous(params, p, &OUTPAINT_KEYS)?;
    // `text` is optional in the schema (the model then fills the background unguided), but when
    // present it must be 1..=max characters; the same for negativeText.
    let text = opt_string(params, p, "text", 1, limits.text_max_chars)?;
    let negative_text = opt_string(params, p, "negativeText", 1, limits.text_max_chars)?;
    let mask_prompt = opt_string(params, p, "maskPrompt", 1, limits.mask_prompt_max_chars)?;
    opt_enum(params, p, "outPaintingMode", &["DEFAULT", "PRECISE"])?;
    let image_b64 = match params.get("image") {
        Some(Value::String(s)) => s,
        Some(other) => return Err(type_error(&format!("{p}/image"), "String", other)),
        None => return Err(Invalid::at(p, "required key [image] not found")),
    };
    let mask_b64 = match params.get("maskImage") {
        None => None,
        Some(Value::String(s)) => Some(s),
        Some(other) => return Err(type_error(&format!("{p}/maskImage"), "String", other)),
    };
    if mask_prompt.is_some() == mask_b64.is_some() {
        return Err(Invalid::at(
            p,
            "exactly one of maskPrompt and maskImage is required for OUTPAINTING (found both or neither)",
        ));
    }

    let config = match top.get("imageGenerationConfig") {
        Some(v) => Some(object(v, "#/imageGenerationConfig")?),
        None => None,
    };
    let empty = Map::new();
    let c = "#/imageGenerationConfig";
    let config = config.unwrap_or(&empty);
    extraneous(config, c, &CONFIG_KEYS)?;
    let (min_n, max_n) = limits.number_of_images;
    let number_of_images = opt_int(config, c, "numberOfImages", min_n, max_n)?.unwrap_or(1);
    opt_enum(config, c, "quality", &["standard", "premium"])?;
    opt_number(config, c, "cfgScale", limits.cfg_scale)?;
    let seed = opt_int(config, c, "seed", 0, limits.seed_max)?.unwrap_or(limits.default_seed);
    let width = opt_int(config, c, "width", 1, i64::from(u32::MAX))?;
    let height = opt_int(config, c, "height", 1, i64::from(u32::MAX))?;
    // Titan and Nova take width and height together; for OUTPAINTING the output has the input
    // image's size, but a requested size must still be one the model accepts.
    match (width, height) {
        (Some(w), Some(h)) => {
            if let Some(problem) = family.size_problem(w as u32, h as u32) {
                return Err(Invalid::at(c, format!("width and height {problem}")));
            }
        }
        (None, None) => {}
        (Some(_), None) => return Err(Invalid::at(c, "width given without height")),
        (None, Some(_)) => return Err(Invalid::at(c, "height given without width")),
    }

    let image = decode(image_b64, &format!("{p}/image"), &limits)?;
    let image_path = format!("{p}/image");
    if let Some(problem) = family.size_problem(image.width(), image.height()) {
        // Titan: editing tasks work at the input image's size, so it must be one of the listed
        // sizes (the project brief: "images of sizes Titan rejects are sent as-is" is a defect).
        // Nova: input images follow the output-resolution rules.
        return Err(Invalid::at(
            &image_path,
            format!("the input image size {problem}"),
        ));
    }
    let image = image.to_rgb8();
    let mask = match (mask_prompt, mask_b64) {
        (Some(prompt), _) => MaskSource::Prompt(prompt.to_owned()),
        (None, Some(b64)) => {
            let mask_path = format!("{p}/maskImage");
            let mask = decode(b64, &mask_path, &limits)?;
            if (mask.width(), mask.height()) != (image.width(), image.height()) {
                return Err(Invalid::at(
                    &mask_path,
                    format!(
                        "the mask image is {}x{} but the input image is {}x{}; they must have the same size",
                        mask.width(),
                        mask.height(),
                        image.width(),
                        image.height()
                    ),
                ));
            }
            let gray = mask.to_rgb8();
            // Nova's guide requires a mask of pure black (0,0,0) and pure white (255,255,255)
            // pixels only; Titan's guide only says black is inside the mask, white outside, so
            // Titan masks are thresholded at mid-grey.
            if family == Family::NovaCanvas
                && gray
                    .pixels()
                    .any(|px| px.0 != [0, 0, 0] && px.0 != [255, 255, 255])
            {
                return Err(Invalid::at(
                    &mask_path,
                    "the mask image must contain only pure black (0,0,0) and pure white (255,255,255) pixels",
                ));
            }
            MaskSource::Image(DynamicImage::ImageRgb8(gray).to_luma8())
        }
        (None, None) => unreachable!("checked above"),
    };
    Ok(OutpaintJob {
        text: text.map(str::to_owned),
        negative_text: negative_text.map(str::to_owned),
        image,
        mask,
        number_of_images: number_of_images as u32,
        seed,
    })
}

/// The image format of a Stability answer (`output_format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    Png,
    Jpeg,
    Webp,
}

impl OutputFormat {
    /// The `output_format` value.
    pub fn as_str(self) -> &'static str {
        match self {
            OutputFormat::Png => "png",
            OutputFormat::Jpeg => "jpeg",
            OutputFormat::Webp => "webp",
        }
    }
}

/// A validated Stable Image Inpaint request.
pub struct InpaintJob {
    /// `prompt`.
    pub prompt: String,
    /// `negative_prompt`, if any.
    pub negative_prompt: Option<String>,
    /// `style_preset`, if any.
    pub style_preset: Option<String>,
    /// The decoded input image (any alpha dropped: it is only a mask source).
    pub image: RgbImage,
    /// What to repaint, at the input's size: 255 repaint, 0 keep (grey values are thresholded
    /// at 128 after resizing). From `mask`, else from the image's alpha channel (255 - alpha:
    /// transparent is repainted), else all 255 (an opaque image without a mask is repainted
    /// whole).
    pub repaint: GrayImage,
    /// `seed` as given: 0 asks for a random seed.
    pub seed: u64,
    /// `grow_mask`, in output pixels.
    pub grow_mask: u32,
    /// `output_format`.
    pub output_format: OutputFormat,
    /// The finish reason a `[emulator finish reason: ...]` marker in the prompt asks for.
    pub finish_marker: Option<&'static str>,
}

/// A validated Stable Image Remove Background request.
pub struct RemoveBackgroundJob {
    /// The decoded input image.
    pub image: RgbaImage,
    /// `output_format` (PNG or WebP: JPEG has no alpha channel).
    pub output_format: OutputFormat,
}

const INPAINT_KEYS: [&str; 8] = [
    "image",
    "prompt",
    "mask",
    "negative_prompt",
    "seed",
    "grow_mask",
    "output_format",
    "style_preset",
];
const REMOVE_BACKGROUND_KEYS: [&str; 2] = ["image", "output_format"];

/// What opens a finish-reason marker in a Stability prompt (see [`finish_marker`]).
pub const FINISH_MARKER_OPEN: &str = "[emulator finish reason:";

/// The finish reason a Stability prompt asks the emulator for: the text between
/// `[emulator finish reason:` and the next `]`, trimmed, which must be one of
/// [`models::FINISH_REASONS`] (anything else is refused, so a typo does not pass silently).
pub fn finish_marker(prompt: &str) -> Result<Option<&'static str>, Invalid> {
    let Some(start) = prompt.find(FINISH_MARKER_OPEN) else {
        return Ok(None);
    };
    let rest = &prompt[start + FINISH_MARKER_OPEN.len()..];
    let value = rest.split(']').next().unwrap_or("").trim();
    match models::finish_reason(value) {
        Some(reason) if rest.contains(']') => Ok(Some(reason)),
        _ => Err(Invalid::at(
            "#/prompt",
            format!(
                "the emulator's finish-reason marker names {value:?}; it must be \
                 `[emulator finish reason: <value>]` with one of: {}",
                models::FINISH_REASONS.join(", ")
            ),
        )),
    }
}

/// Validates a Stable Image Inpaint body.
pub fn inpaint_job(body: &[u8]) -> Result<InpaintJob, Invalid> {
    let root = parse(body)?;
    let top = object(&root, "#")?;
    extraneous(top, "#", &INPAINT_KEYS)?;
    let max = models::STABILITY_PROMPT_MAX_CHARS;
    let prompt = required_string(top, "prompt")?;
    check_length(prompt, "#/prompt", 1, max)?;
    let negative_prompt = opt_string(top, "#", "negative_prompt", 0, max)?;
    let seed = opt_int(top, "#", "seed", 0, models::STABILITY_SEED_MAX)?.unwrap_or(0);
    let grow_mask = opt_int(top, "#", "grow_mask", 0, models::STABILITY_GROW_MASK_MAX)?
        .map_or(models::STABILITY_GROW_MASK_DEFAULT, |g| g as u32);
    let output_format = output_format(top, &["png", "jpeg", "webp"])?;
    opt_enum(top, "#", "style_preset", &models::STYLE_PRESETS)?;
    let style_preset = top
        .get("style_preset")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let image_b64 = required_string(top, "image")?;
    let mask_b64 = match top.get("mask") {
        None => None,
        Some(Value::String(s)) => Some(s.as_str()),
        Some(other) => return Err(type_error("#/mask", "String", other)),
    };
    let finish_marker = finish_marker(prompt)?;

    let image = decode_stability(image_b64, "#/image")?;
    let (width, height) = (image.width(), image.height());
    if let Some(problem) = models::stability_size_problem(width, height) {
        return Err(Invalid::at("#/image", problem));
    }
    let repaint = match mask_b64 {
        Some(b64) => {
            let mask = decode_stability(b64, "#/mask")?;
            if (mask.width(), mask.height()) != (width, height) {
                return Err(Invalid::at(
                    "#/mask",
                    format!(
                        "the mask is {}x{} but the image is {width}x{height}; they must have the same size",
                        mask.width(),
                        mask.height()
                    ),
                ));
            }
            DynamicImage::ImageRgb8(mask.to_rgb8()).to_luma8()
        }
        None if image.color().has_alpha() => {
            let rgba = image.to_rgba8();
            GrayImage::from_fn(width, height, |x, y| {
                image::Luma([255 - rgba.get_pixel(x, y).0[3]])
            })
        }
        None => GrayImage::from_pixel(width, height, image::Luma([255])),
    };
    Ok(InpaintJob {
        prompt: prompt.to_owned(),
        negative_prompt: negative_prompt.map(str::to_owned),
        style_preset,
        image: image.to_rgb8(),
        repaint,
        seed: seed as u64,
        grow_mask,
        output_format,
        finish_marker,
    })
}

/// Validates a Stable Image Remove Background body.
pub fn remove_background_job(body: &[u8]) -> Result<RemoveBackgroundJob, Invalid> {
    let root = parse(body)?;
    let top = object(&root, "#")?;
    extraneous(top, "#", &REMOVE_BACKGROUND_KEYS)?;
    if top.get("output_format").and_then(Value::as_str) == Some("jpeg") {
        return Err(Invalid::at(
            "#/output_format",
            "jpeg is not supported by Remove Background (JPEG has no alpha channel); use png or webp",
        ));
    }
    let output_format = output_format(top, &["png", "webp"])?;
    let image_b64 = required_string(top, "image")?;
    let image = decode_stability(image_b64, "#/image")?;
    if let Some(problem) = models::stability_size_problem(image.width(), image.height()) {
        return Err(Invalid::at("#/image", problem));
    }
    Ok(RemoveBackgroundJob {
        image: image.to_rgba8(),
        output_format,
    })
}

/// `output_format` among `allowed` (default `png`).
fn output_format(top: &Map<String, Value>, allowed: &[&str]) -> Result<OutputFormat, Invalid> {
    opt_enum(top, "#", "output_format", allowed)?;
    Ok(match top.get("output_format").and_then(Value::as_str) {
        Some("jpeg") => OutputFormat::Jpeg,
        Some("webp") => OutputFormat::Webp,
        _ => OutputFormat::Png,
    })
}

/// A required top-level string of a Stability body.
fn required_string<'a>(top: &'a Map<String, Value>, key: &str) -> Result<&'a str, Invalid> {
    match top.get(key) {
        Some(Value::String(s)) => Ok(s),
        Some(other) => Err(type_error(&format!("#/{key}"), "String", other)),
        None => Err(Invalid::at("#", format!("required key [{key}] not found"))),
    }
}

/// Base64 of a PNG, JPEG or WebP (the formats the Stability services take), decoded.
fn decode_stability(b64: &str, path: &str) -> Result<DynamicImage, Invalid> {
    let bytes = base64_bytes(b64, path)?;
    let format = match image::guess_format(&bytes) {
        Ok(f @ (ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::WebP)) => f,
        _ => {
            return Err(Invalid::at(
                path,
                "the image must be a PNG, JPEG or WebP file, base64-encoded",
            ))
        }
    };
    image::load_from_memory_with_format(&bytes, format).map_err(|e| {
        Invalid::at(
            path,
            format!("the {format:?} image could not be decoded ({e})"),
        )
    })
}

/// The body as JSON, or the service's answer to a body that is not.
fn parse(body: &[u8]) -> Result<Value, Invalid> {
    serde_json::from_slice(body).map_err(|_| {
        Invalid("Malformed input request, please reformat your input and try again.".to_owned())
    })
}

/// Base64 (standard alphabet, padded) of a PNG or JPEG, decoded.
fn decode(b64: &str, path: &str, limits: &Limits) -> Result<DynamicImage, Invalid> {
    let bytes = base64_bytes(b64, path)?;
    if let Some(max) = limits.max_image_bytes {
        if bytes.len() > max {
            return Err(Invalid::at(
                path,
                format!(
                    "the image is {} bytes; the maximum is {max} bytes (5 MB)",
                    bytes.len()
                ),
            ));
        }
    }
    let format = match image::guess_format(&bytes) {
        Ok(f @ (ImageFormat::Png | ImageFormat::Jpeg)) => f,
        _ => {
            return Err(Invalid::at(
                path,
                "the image must be a PNG or JPEG file, base64-encoded",
            ))
        }
    };
    image::load_from_memory_with_format(&bytes, format).map_err(|e| {
        Invalid::at(
            path,
            format!("the {format:?} image could not be decoded ({e})"),
        )
    })
}

/// The bytes of a base64 (standard alphabet, padded) field.
fn base64_bytes(b64: &str, path: &str) -> Result<Vec<u8>, Invalid> {
    STANDARD
        .decode(b64)
        .map_err(|e| Invalid::at(path, format!("the value is not valid base64 ({e})")))
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "Null",
        Value::Bool(_) => "Boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "Integer",
        Value::Number(_) => "BigDecimal",
        Value::String(_) => "String",
        Value::Array(_) => "JSONArray",
        Value::Object(_) => "JSONObject",
    }
}

fn type_error(path: &str, expected: &str, found: &Value) -> Invalid {
    Invalid::at(
        path,
        format!("expected type: {expected}, found: {}", type_name(found)),
    )
}

fn object<'a>(value: &'a Value, path: &str) -> Result<&'a Map<String, Value>, Invalid> {
    value
        .as_object()
        .ok_or_else(|| type_error(path, "JSONObject", value))
}

fn extraneous(map: &Map<String, Value>, path: &str, allowed: &[&str]) -> Result<(), Invalid> {
    match map.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(key) => Err(Invalid::at(
            path,
            format!("extraneous key [{key}] is not permitted"),
        )),
        None => Ok(()),
    }
}

fn opt_string<'a>(
    map: &'a Map<String, Value>,
    path: &str,
    key: &str,
    min: usize,
    max: usize,
) -> Result<Option<&'a str>, Invalid> {
    let path = format!("{path}/{key}");
    match map.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => check_length(s, &path, min, max).map(|()| Some(s.as_str())),
        Some(other) => Err(type_error(&path, "String", other)),
    }
}

/// `Ok` if `s` has `min..=max` characters, else the schema violation at `path`.
fn check_length(s: &str, path: &str, min: usize, max: usize) -> Result<(), Invalid> {
    let len = s.chars().count();
    if len < min {
        Err(Invalid::at(
            path,
            format!("expected minLength: {min}, actual: {len}"),
        ))
    } else if len > max {
        Err(Invalid::at(
            path,
            format!("expected maxLength: {max}, actual: {len}"),
        ))
    } else {
        Ok(())
    }
}

fn opt_enum(
    map: &Map<String, Value>,
    path: &str,
    key: &str,
    allowed: &[&str],
) -> Result<(), Invalid> {
    let path = format!("{path}/{key}");
    match map.get(key) {
        None => Ok(()),
        Some(Value::String(s)) if allowed.contains(&s.as_str()) => Ok(()),
        Some(Value::String(s)) => Err(Invalid::at(
            &path,
            format!(
                "{s} is not a valid enum value (expected one of {})",
                allowed.join(", ")
            ),
        )),
        Some(other) => Err(type_error(&path, "String", other)),
    }
}

fn opt_int(
    map: &Map<String, Value>,
    path: &str,
    key: &str,
    min: i64,
    max: i64,
) -> Result<Option<i64>, Invalid> {
    let path = format!("{path}/{key}");
    match map.get(key) {
        None => Ok(None),
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => {
            // Beyond i64: certainly above any maximum.
            let v = n.as_i64().unwrap_or(i64::MAX);
            if v < min {
                Err(Invalid::at(
                    &path,
                    format!("{n} is not greater or equal to {min}"),
                ))
            } else if v > max {
                Err(Invalid::at(
                    &path,
                    format!("{n} is not less or equal to {max}"),
                ))
            } else {
                Ok(Some(v))
            }
        }
        Some(other) => Err(type_error(&path, "Integer", other)),
    }
}

fn opt_number(
    map: &Map<String, Value>,
    path: &str,
    key: &str,
    (min, max): (f64, f64),
) -> Result<Option<f64>, Invalid> {
    let path = format!("{path}/{key}");
    match map.get(key) {
        None => Ok(None),
        Some(Value::Number(n)) => {
            let v = n.as_f64().unwrap_or(f64::NAN);
            if v.is_nan() || v < min {
                Err(Invalid::at(
                    &path,
                    format!("{n} is not greater or equal to {min}"),
                ))
            } else if v > max {
                Err(Invalid::at(
                    &path,
                    format!("{n} is not less or equal to {max}"),
                ))
            } else {
                Ok(Some(v))
            }
        }
        Some(other) => Err(type_error(&path, "Number", other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn png(image: impl Into<DynamicImage>) -> String {
        let mut bytes = std::io::Cursor::new(Vec::new());
        image.into().write_to(&mut bytes, ImageFormat::Png).unwrap();
        STANDARD.encode(bytes.into_inner())
    }

    fn body(value: Value) -> Vec<u8> {
        value.to_string().into_bytes()
    }

    #[test]
    fn finish_markers() {
        assert_eq!(finish_marker("a beach"), Ok(None));
        assert_eq!(
            finish_marker("a beach [emulator finish reason: Filter reason: output image] at dusk"),
            Ok(Some("Filter reason: output image"))
        );
        assert_eq!(
            finish_marker("[emulator finish reason:Inference error]"),
            Ok(Some("Inference error"))
        );
        let typo = finish_marker("[emulator finish reason: Filter reason: prompts]").unwrap_err();
        assert!(typo.0.contains("Filter reason: prompts") && typo.0.contains("Inference error"));
        assert!(finish_marker("[emulator finish reason: Inference error").is_err());
    }

    #[test]
    fn the_mask_comes_from_the_mask_else_the_alpha_else_everything() {
        let rgba = RgbaImage::from_fn(64, 64, |x, _| {
            image::Rgba([9, 9, 9, if x < 32 { 255 } else { 0 }])
        });
        let job = inpaint_job(&body(json!({"image": png(rgba.clone()), "prompt": "p"}))).unwrap();
        assert_eq!(job.repaint.get_pixel(0, 0).0, [0], "opaque: kept");
        assert_eq!(
            job.repaint.get_pixel(63, 0).0,
            [255],
            "transparent: repainted"
        );
        assert_eq!((job.seed, job.grow_mask), (0, 5));
        assert_eq!(job.output_format, OutputFormat::Png);

        let rgb = RgbImage::from_pixel(64, 64, image::Rgb([9, 9, 9]));
        let job = inpaint_job(&body(json!({"image": png(rgb.clone()), "prompt": "p"}))).unwrap();
        assert!(job.repaint.pixels().all(|p| p.0 == [255]));

        let mask = GrayImage::from_fn(64, 64, |_, y| image::Luma([if y < 10 { 255 } else { 0 }]));
        let job = inpaint_job(&body(json!({
            "image": png(rgba), "prompt": "p", "mask": png(mask), "grow_mask": 0,
            "seed": 4_294_967_294_u64, "output_format": "webp", "style_preset": "origami",
            "negative_prompt": ""
        })))
        .unwrap();
        assert_eq!(job.repaint.get_pixel(63, 5).0, [255]);
        assert_eq!(
            job.repaint.get_pixel(63, 50).0,
            [0],
            "the mask wins over the alpha"
        );
        assert_eq!((job.seed, job.grow_mask), (4_294_967_294, 0));
        assert_eq!(job.output_format, OutputFormat::Webp);
        assert_eq!(job.style_preset.as_deref(), Some("origami"));
    }

    #[test]
    fn required_keys_and_types() {
        let image = png(RgbImage::new(64, 64));
        let err = |v: Value| inpaint_job(&body(v)).err().unwrap().0;
        assert!(err(json!({"image": image})).contains("required key [prompt]"));
        assert!(err(json!({"prompt": "p"})).contains("required key [image]"));
        assert!(
            err(json!({"image": image, "prompt": 3})).contains("#/prompt: expected type: String")
        );
        assert!(err(json!({"image": image, "prompt": "p", "seed": 1.5})).contains("#/seed"));
        assert!(err(json!({"image": image, "prompt": "p", "mask": false})).contains("#/mask"));
        assert!(err(json!([])).contains("JSONObject"));
        let err = |v: Value| remove_background_job(&body(v)).err().unwrap().0;
        assert!(err(json!({"image": image, "output_format": "jpeg"})).contains("alpha"));
        assert!(err(json!({"image": image, "output_format": "gif"})).contains("png, webp"));
        assert!(err(json!({"image": image, "prompt": "p"})).contains("extraneous key [prompt]"));
    }
}

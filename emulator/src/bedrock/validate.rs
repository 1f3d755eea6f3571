//! Request validation: an InvokeModel body for an image model becomes an [`OutpaintJob`], or the
//! message of the `ValidationException` the real service answers.
//!
//! Bedrock validates model bodies against a JSON schema and reports the violation as
//! `Malformed input request: #/<path>: <detail>, please reformat your input and try again.`
//! (everit-style details such as `expected maxLength: 512, actual: 600`). The emulator reports
//! the first violation it finds in that style, so messages name the field and the limit; checks
//! the schema cannot express (image format, sizes, mask size) use the same prefix with a plain
//! sentence. Where the service would list several violations, we list only the first.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use image::{GrayImage, ImageFormat, RgbImage};
use serde_json::{Map, Value};

use super::models::{Family, Limits, Model};

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

/// Validates an InvokeModel body for `model`.
pub fn outpaint_job(model: Model, body: &[u8]) -> Result<OutpaintJob, Invalid> {
    let limits = model.family.limits();
    let root: Value = serde_json::from_slice(body).map_err(|_| {
        Invalid("Malformed input request, please reformat your input and try again.".to_owned())
    })?;
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
            model.id
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
            if let Some(problem) = model.family.size_problem(w as u32, h as u32) {
                return Err(Invalid::at(c, format!("width and height {problem}")));
            }
        }
        (None, None) => {}
        (Some(_), None) => return Err(Invalid::at(c, "width given without height")),
        (None, Some(_)) => return Err(Invalid::at(c, "height given without width")),
    }

    let image = decode(image_b64, &format!("{p}/image"), &limits)?;
    let image_path = format!("{p}/image");
    if let Some(problem) = model.family.size_problem(image.width(), image.height()) {
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
            if model.family == Family::NovaCanvas
                && gray
                    .pixels()
                    .any(|px| px.0 != [0, 0, 0] && px.0 != [255, 255, 255])
            {
                return Err(Invalid::at(
                    &mask_path,
                    "the mask image must contain only pure black (0,0,0) and pure white (255,255,255) pixels",
                ));
            }
            MaskSource::Image(image::DynamicImage::ImageRgb8(gray).to_luma8())
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

/// Base64 (standard alphabet, padded) of a PNG or JPEG, decoded.
fn decode(b64: &str, path: &str, limits: &Limits) -> Result<image::DynamicImage, Invalid> {
    let bytes = STANDARD
        .decode(b64)
        .map_err(|e| Invalid::at(path, format!("the value is not valid base64 ({e})")))?;
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
        Some(Value::String(s)) => {
            let len = s.chars().count();
            if len < min {
                Err(Invalid::at(
                    &path,
                    format!("expected minLength: {min}, actual: {len}"),
                ))
            } else if len > max {
                Err(Invalid::at(
                    &path,
                    format!("expected maxLength: {max}, actual: {len}"),
                ))
            } else {
                Ok(Some(s))
            }
        }
        Some(other) => Err(type_error(&path, "String", other)),
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

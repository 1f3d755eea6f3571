//! Building a request: checking the fields, fitting the image, drawing the mask, writing the
//! body.

use base64::Engine as _;
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{ExtendedColorType, GrayImage, ImageEncoder, RgbImage};

use super::{
    BuiltRequest, EditJob, ImageGenerationConfig, InpaintRequest, ModelRequest, OutPaintingParams,
    OutpaintingRequest,
};
use crate::fit::{fit, Transform};
use crate::input::{check_input, decode, ImageFormat};
use crate::limits::human_bytes;
use crate::mask::{draw_mask, mask_prompt, subject_mask, Mask};
use crate::{Family, Model, MAX_BODY_BYTES};
use shared_core::PipelineError;

/// Encodes as PNG with fast compression (default compression is tens of times slower).
pub fn encode_png(img: &RgbImage) -> Result<Vec<u8>, PipelineError> {
    encode(
        img.as_raw(),
        img.width(),
        img.height(),
        ExtendedColorType::Rgb8,
    )
}

/// Encodes a grayscale PNG (Stability masks).
pub fn encode_png_gray(img: &GrayImage) -> Result<Vec<u8>, PipelineError> {
    encode(
        img.as_raw(),
        img.width(),
        img.height(),
        ExtendedColorType::L8,
    )
}

fn encode(
    raw: &[u8],
    width: u32,
    height: u32,
    colour: ExtendedColorType,
) -> Result<Vec<u8>, PipelineError> {
    let mut out = Vec::with_capacity(raw.len() / 2 + 1024);
    PngEncoder::new_with_quality(&mut out, CompressionType::Fast, FilterType::Adaptive)
        .write_image(raw, width, height, colour)
        .map_err(|e| PipelineError::invalid_input(format!("image: cannot encode PNG: {e}")))?;
    Ok(out)
}

fn check_text(field: &str, text: &str, limit: usize, model: Model) -> Result<(), PipelineError> {
    let n = text.chars().count();
    if n == 0 || text.trim().is_empty() {
        return Err(PipelineError::invalid_input(format!(
            "{field}: empty, 1 to {limit} characters are required"
        )));
    }
    if n > limit {
        return Err(PipelineError::invalid_input(format!(
            "{field}: {n} characters, the limit is {limit} for {}",
            model.id()
        )));
    }
    Ok(())
}

/// The field names of a family, for messages.
fn names(model: Model) -> (&'static str, &'static str) {
    match model.family() {
        Family::Stability => ("prompt", "negative_prompt"),
        Family::Outpainting => ("text", "negativeText"),
    }
}

/// The image, checked and fitted: what [`Prepared::finish`] turns into a request.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub model: Model,
    pub source_format: ImageFormat,
    pub transform: Transform,
    /// The fitted image, PNG.
    pub png: Vec<u8>,
}

/// Checks every field (before the costly image work), decodes the image as displayed and fits
/// it to the model. The size limits apply to the fitted image, never to the source file: a
/// 48 MP phone photo is scaled down, not refused.
pub fn prepare(model: Model, image_bytes: &[u8], job: &EditJob) -> Result<Prepared, PipelineError> {
    let limits = model.limits();
    let (text_field, negative_field) = names(model);
    check_text(text_field, &job.prompt, limits.max_text_chars, model)?;
    if let Some(n) = job.negative.as_deref().filter(|n| !n.trim().is_empty()) {
        check_text(negative_field, n, limits.max_negative_chars, model)?;
    }
    job.options.validate(model)?;
    match (&job.mask, model.family()) {
        (Mask::Labels(labels), Family::Outpainting) => {
            mask_prompt(labels, model)?;
        }
        (Mask::Labels(_), Family::Stability) => {
            return Err(PipelineError::invalid_input(format!(
                "mask: {} takes no label prompt; resolve the labels to boxes first (Rekognition DetectLabels)",
                model.id()
            )))
        }
        (Mask::Boxes(boxes), _) => {
            if boxes.is_empty() {
                return Err(PipelineError::invalid_input(
                    "maskBoxes: no boxes given (at least one box to keep is required)",
                ));
            }
            for (i, b) in boxes.iter().enumerate() {
                b.validate(&format!("mask box {}", i + 1))?;
            }
        }
        (Mask::Subject, Family::Stability) => {}
        (Mask::Subject, Family::Outpainting) => {
            return Err(PipelineError::invalid_input(format!(
                "mask: \"subject\" needs Stable Image Remove Background, which comes with {}; {} takes labels or maskBoxes",
                crate::DEFAULT_MODEL_ID,
                model.id()
            )))
        }
    }

    let format = check_input(image_bytes, model)?;
    let decoded = decode(image_bytes, format)?;
    let fitted = fit(&decoded, model);
    drop(decoded);
    let png = encode_png(&fitted.image)?;
    if png.len() > limits.max_input_bytes {
        return Err(PipelineError::invalid_input(format!(
            "image: {} after fitting to {}x{}, the limit is {} for {}",
            human_bytes(png.len()),
            fitted.transform.width,
            fitted.transform.height,
            human_bytes(limits.max_input_bytes),
            model.id()
        )));
    }
    Ok(Prepared {
        model,
        source_format: format,
        transform: fitted.transform,
        png,
    })
}

/// The Stable Image Remove Background body for the prepared image: `{image, output_format}`.
pub fn remove_background_body(prepared: &Prepared) -> String {
    serde_json::json!({
        "image": base64::engine::general_purpose::STANDARD.encode(&prepared.png),
        "output_format": "png",
    })
    .to_string()
}

impl Prepared {
    /// Draws the mask and writes the body. `subject` is Stable Image Remove Background's
    /// answer for [`remove_background_body`] (required for [`Mask::Subject`], ignored otherwise).
    pub fn finish(
        self,
        job: &EditJob,
        subject: Option<&[u8]>,
    ) -> Result<BuiltRequest, PipelineError> {
        let b64 = base64::engine::general_purpose::STANDARD;
        let model = self.model;
        let t = self.transform;
        let negative = job
            .negative
            .as_deref()
            .filter(|n| !n.trim().is_empty())
            .map(str::to_owned);
        let request = match model.family() {
            Family::Stability => {
                let mask = match &job.mask {
                    Mask::Boxes(boxes) => to_gray(&draw_mask(boxes, &t)?),
                    Mask::Subject => {
                        let answer = subject.ok_or_else(|| {
                            PipelineError::invalid_input(
                                "mask: \"subject\" needs the background removal's image",
                            )
                        })?;
                        subject_mask(answer, &t)?
                    }
                    Mask::Labels(_) => {
                        return Err(PipelineError::invalid_input(
                            "mask: labels must be resolved to boxes first",
                        ))
                    }
                };
                ModelRequest::Inpaint(InpaintRequest {
                    image: b64.encode(&self.png),
                    prompt: job.prompt.clone(),
                    mask: b64.encode(encode_png_gray(&mask)?),
                    negative_prompt: negative,
                    seed: job.options.seed,
                    grow_mask: job.options.grow_mask,
                    style_preset: job.options.style_preset.clone(),
                    output_format: "png".to_owned(),
                })
            }
            Family::Outpainting => {
                let (mask_prompt_text, mask_image) = match &job.mask {
                    Mask::Labels(labels) => (Some(mask_prompt(labels, model)?), None),
                    Mask::Boxes(boxes) => {
                        (None, Some(b64.encode(encode_png(&draw_mask(boxes, &t)?)?)))
                    }
                    Mask::Subject => {
                        return Err(PipelineError::invalid_input(format!(
                            "mask: \"subject\" is not available with {}",
                            model.id()
                        )))
                    }
                };
                ModelRequest::Outpainting(OutpaintingRequest {
                    task_type: "OUTPAINTING".to_owned(),
                    out_painting_params: OutPaintingParams {
                        image: b64.encode(&self.png),
                        text: job.prompt.clone(),
                        negative_text: negative,
                        mask_prompt: mask_prompt_text,
                        mask_image,
                        out_painting_mode: job.mode,
                    },
                    image_generation_config: ImageGenerationConfig {
                        number_of_images: job.options.number_of_images,
                        quality: job.options.quality.unwrap_or_default(),
                        height: t.height,
                        width: t.width,
                        cfg_scale: job
                            .options
                            .cfg_scale
                            .or(model.default_cfg_scale())
                            .unwrap_or(8.0),
                        seed: job.options.seed,
                    },
                })
            }
        };
        let built = BuiltRequest {
            model,
            request,
            source_format: self.source_format,
            transform: t,
            number_of_images: job.options.number_of_images,
        };
        // An upper bound of the body: the base64 fields plus every text field fully escaped.
        let size = built.base64_len()
            + 6 * (job.prompt.len() + job.negative.as_ref().map_or(0, String::len))
            + 1024;
        if size > MAX_BODY_BYTES {
            return Err(PipelineError::invalid_input(format!(
                "image: the request is {} after fitting to {}x{}, InvokeModel takes at most {}",
                human_bytes(size),
                t.width,
                t.height,
                human_bytes(MAX_BODY_BYTES)
            )));
        }
        Ok(built)
    }
}

fn to_gray(mask: &RgbImage) -> GrayImage {
    GrayImage::from_fn(mask.width(), mask.height(), |x, y| {
        image::Luma([mask.get_pixel(x, y).0[0]])
    })
}

/// Checks the image, fits it to the model, draws or writes the mask and builds the request,
/// for every mask that needs no other model call (labels for the legacy models, boxes).
pub fn build_request(
    model: Model,
    image_bytes: &[u8],
    job: &EditJob,
) -> Result<BuiltRequest, PipelineError> {
    prepare(model, image_bytes, job)?.finish(job, None)
}

//! The request JSON of each model family, and building it from image bytes.
//!
//! Two steps, so that a mask that needs a model call of its own (Stable Image Remove
//! Background) fits in between: [`prepare`] checks every field, decodes the image as displayed
//! and fits it to the model; [`Prepared::finish`] draws the mask and writes the body.
//! [`build_request`] does both when the mask needs nothing more.

use base64::Engine as _;
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{ExtendedColorType, GrayImage, ImageEncoder, RgbImage};
use serde::{Deserialize, Serialize};

use super::fit::{fit, Transform};
use super::input::{check_input, decode, ImageFormat};
use super::mask::{draw_mask, mask_prompt, subject_mask, Mask};
use super::{human_bytes, Family, Model, MAX_BODY_BYTES};
use shared_core::PipelineError;

/// `imageGenerationConfig.quality` (legacy models).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Quality {
    #[default]
    Standard,
    Premium,
}

/// `outPaintingParams.outPaintingMode` (legacy models).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum OutPaintingMode {
    /// Blends the kept area with the new background.
    #[default]
    Default,
    /// Keeps the masked area exactly.
    Precise,
}

/// Stable Image services' `style_preset` values (Stability API reference).
pub const STYLE_PRESETS: &[&str] = &[
    "3d-model",
    "analog-film",
    "anime",
    "cinematic",
    "comic-book",
    "digital-art",
    "enhance",
    "fantasy-art",
    "isometric",
    "line-art",
    "low-poly",
    "modeling-compound",
    "neon-punk",
    "origami",
    "photographic",
    "pixel-art",
    "tile-texture",
];

/// Legacy `cfgScale` range (Titan and Nova Canvas).
pub const CFG_SCALE_RANGE: (f64, f64) = (1.1, 10.0);
/// Stability `grow_mask` range, in pixels.
pub const MAX_GROW_MASK: u32 = 20;

/// What the caller chooses beyond the prompt and the mask. `None` takes the model's default;
/// a field the model does not take is refused, never silently dropped.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GenerationOptions {
    /// Images per job image: one call for the legacy models, that many calls for Stability.
    pub number_of_images: u32,
    /// Legacy only.
    pub quality: Option<Quality>,
    /// Legacy only; default [`Model::default_cfg_scale`].
    pub cfg_scale: Option<f64>,
    /// 0: Titan/Nova use 0, Stability picks a random seed.
    pub seed: u64,
    /// Stability only: pixels the repainted area grows into the kept one, blurred.
    pub grow_mask: Option<u32>,
    /// Stability only: one of [`STYLE_PRESETS`].
    pub style_preset: Option<String>,
}

impl GenerationOptions {
    /// One image, every other field the model's default.
    pub fn one() -> Self {
        Self {
            number_of_images: 1,
            ..Self::default()
        }
    }

    /// Checks every field against the model; messages name the manifest field.
    pub fn validate(&self, model: Model) -> Result<(), PipelineError> {
        let l = model.limits();
        let max_images = u32::from(l.max_images);
        if !(1..=max_images).contains(&self.number_of_images) {
            return Err(PipelineError::invalid_input(format!(
                "numberOfImages: {}, must be 1 to {max_images}",
                self.number_of_images
            )));
        }
        if self.seed > u64::from(l.max_seed) {
            return Err(PipelineError::invalid_input(format!(
                "seed: {}, must be 0 to {} for {}",
                self.seed,
                l.max_seed,
                model.id()
            )));
        }
        let not_used = |field: &str, by: &str| {
            PipelineError::invalid_input(format!(
                "{field}: not used by {} (only by {by}); remove it",
                model.id()
            ))
        };
        match model.family() {
            Family::Stability => {
                if self.quality.is_some() {
                    return Err(not_used(
                        "quality",
                        "the legacy Titan and Nova Canvas models",
                    ));
                }
                if self.cfg_scale.is_some() {
                    return Err(not_used(
                        "cfgScale",
                        "the legacy Titan and Nova Canvas models",
                    ));
                }
                if let Some(g) = self.grow_mask {
                    if g > MAX_GROW_MASK {
                        return Err(PipelineError::invalid_input(format!(
                            "growMask: {g}, must be 0 to {MAX_GROW_MASK}"
                        )));
                    }
                }
                if let Some(p) = &self.style_preset {
                    if !STYLE_PRESETS.contains(&p.as_str()) {
                        return Err(PipelineError::invalid_input(format!(
                            "stylePreset: {p:?} is not one of {}",
                            STYLE_PRESETS.join(", ")
                        )));
                    }
                }
            }
            Family::Outpainting => {
                if self.grow_mask.is_some() {
                    return Err(not_used("growMask", DEFAULT_STABILITY));
                }
                if self.style_preset.is_some() {
                    return Err(not_used("stylePreset", DEFAULT_STABILITY));
                }
                if let Some(c) = self.cfg_scale {
                    let (lo, hi) = CFG_SCALE_RANGE;
                    if !c.is_finite() || !(lo..=hi).contains(&c) {
                        return Err(PipelineError::invalid_input(format!(
                            "cfgScale: {c}, must be {lo} to {hi}"
                        )));
                    }
                }
            }
        }
        Ok(())
    }
}

const DEFAULT_STABILITY: &str = "stability.stable-image-inpaint-v1:0";

/// `imageGenerationConfig`, keys in the order of the reference fixture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageGenerationConfig {
    pub number_of_images: u32,
    pub quality: Quality,
    pub height: u32,
    pub width: u32,
    pub cfg_scale: f64,
    pub seed: u64,
}

/// `outPaintingParams`: exactly one of `maskPrompt` / `maskImage`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutPaintingParams {
    /// Base64 PNG of the fitted image.
    pub image: String,
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub negative_text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub mask_prompt: Option<String>,
    /// Base64 PNG, same size as `image`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub mask_image: Option<String>,
    pub out_painting_mode: OutPaintingMode,
}

/// The legacy InvokeModel body (Titan, Nova Canvas).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutpaintingRequest {
    /// Always `OUTPAINTING`.
    pub task_type: String,
    pub out_painting_params: OutPaintingParams,
    pub image_generation_config: ImageGenerationConfig,
}

/// The Stable Image Inpaint InvokeModel body: flat, snake_case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InpaintRequest {
    /// Base64 PNG of the fitted image.
    pub image: String,
    pub prompt: String,
    /// Base64 grayscale PNG, same size as `image`: white repaints, black keeps.
    pub mask: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub negative_prompt: Option<String>,
    pub seed: u64,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub grow_mask: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub style_preset: Option<String>,
    /// Always `png`: lossless, and the result is returned as PNG.
    pub output_format: String,
}

/// The body of either family.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelRequest {
    Outpainting(OutpaintingRequest),
    Inpaint(InpaintRequest),
}

/// What to ask for, apart from the image.
#[derive(Debug, Clone, PartialEq)]
pub struct EditJob {
    pub prompt: String,
    /// Empty or blank means none (the field is omitted).
    pub negative: Option<String>,
    pub mask: Mask,
    /// Legacy only.
    pub mode: OutPaintingMode,
    pub options: GenerationOptions,
}

/// A request and what was done to the image.
#[derive(Debug, Clone)]
pub struct BuiltRequest {
    pub model: Model,
    pub request: ModelRequest,
    pub source_format: ImageFormat,
    pub transform: Transform,
    /// Images asked for (calls for Stability, `numberOfImages` for the legacy models).
    pub number_of_images: u32,
}

impl BuiltRequest {
    /// InvokeModel calls to make: one per image for Stability, one in all for the legacy models.
    pub fn calls(&self) -> u32 {
        match self.request {
            ModelRequest::Outpainting(_) => 1,
            ModelRequest::Inpaint(_) => self.number_of_images,
        }
    }

    /// The body of call `index` (0-based): Stability calls differ by seed (`seed + index`,
    /// wrapping within the model's range; seed 0 stays 0, a random seed per call).
    pub fn body(&self, index: u32) -> String {
        match &self.request {
            ModelRequest::Outpainting(r) => serde_json::to_string(r),
            ModelRequest::Inpaint(r) if index == 0 || r.seed == 0 => serde_json::to_string(r),
            ModelRequest::Inpaint(r) => {
                let range = u64::from(self.model.limits().max_seed) + 1;
                let seed = (r.seed + u64::from(index)) % range;
                serde_json::to_string(&InpaintRequest { seed, ..r.clone() })
            }
        }
        .expect("the request serialises")
    }

    /// Length of the base64 fields (image and mask).
    fn base64_len(&self) -> usize {
        match &self.request {
            ModelRequest::Outpainting(r) => {
                let p = &r.out_painting_params;
                p.image.len() + p.mask_image.as_ref().map_or(0, String::len)
            }
            ModelRequest::Inpaint(r) => r.image.len() + r.mask.len(),
        }
    }

    /// The body of the first call.
    pub fn to_json(&self) -> String {
        self.body(0)
    }
}

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
                super::DEFAULT_MODEL_ID,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mask::{BoundingBox, MASK_KEEP, MASK_REPAINT};
    use image::Rgb;
    use shared_core::ErrorKind;

    const FIXTURE: &str =
        include_str!("../../../../events/bedrock/titan_outpainting_request_from_sample.json");

    fn png(w: u32, h: u32) -> Vec<u8> {
        encode_png(&RgbImage::from_fn(w, h, |x, y| {
            Rgb([x as u8, y as u8, 128])
        }))
        .unwrap()
    }

    fn jpeg(w: u32, h: u32) -> Vec<u8> {
        let img = RgbImage::from_fn(w, h, |x, y| Rgb([x as u8, y as u8, 60]));
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
            .encode_image(&img)
            .unwrap();
        out
    }

    fn job(mask: Mask) -> EditJob {
        EditJob {
            prompt: "a sunny beach".into(),
            negative: Some("people".into()),
            mask,
            mode: OutPaintingMode::Precise,
            options: GenerationOptions {
                number_of_images: 2,
                quality: Some(Quality::Premium),
                cfg_scale: Some(7.5),
                seed: 42,
                ..GenerationOptions::default()
            },
        }
    }

    fn stability_job(mask: Mask) -> EditJob {
        EditJob {
            prompt: "a sunny beach".into(),
            negative: Some("people".into()),
            mask,
            mode: OutPaintingMode::Default,
            options: GenerationOptions {
                number_of_images: 3,
                seed: 42,
                ..GenerationOptions::default()
            },
        }
    }

    fn legacy(b: &BuiltRequest) -> &OutpaintingRequest {
        match &b.request {
            ModelRequest::Outpainting(r) => r,
            ModelRequest::Inpaint(_) => panic!("not a legacy request"),
        }
    }

    fn labels() -> Mask {
        Mask::Labels(vec!["Laptop".into(), "Computer".into()])
    }

    fn keys(v: &serde_json::Value) -> Vec<String> {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    }

    #[test]
    fn request_has_the_fixture_shape() {
        let built = build_request(Model::TitanV1, &png(1024, 1024), &job(labels())).unwrap();
        let ours: serde_json::Value = serde_json::from_str(&built.to_json()).unwrap();
        let fixture: serde_json::Value = serde_json::from_str(FIXTURE).unwrap();
        assert_eq!(keys(&ours), keys(&fixture));
        assert_eq!(
            keys(&ours["outPaintingParams"]),
            keys(&fixture["outPaintingParams"])
        );
        assert_eq!(
            keys(&ours["imageGenerationConfig"]),
            keys(&fixture["imageGenerationConfig"])
        );
        assert_eq!(ours["taskType"], "OUTPAINTING");
        let p = &ours["outPaintingParams"];
        assert_eq!(p["text"], "a sunny beach");
        assert_eq!(p["negativeText"], "people");
        assert_eq!(p["maskPrompt"], "Laptop, Computer");
        assert_eq!(p["outPaintingMode"], "PRECISE");
        let c = &ours["imageGenerationConfig"];
        assert_eq!(c["numberOfImages"], 2);
        assert_eq!(c["quality"], "premium");
        assert_eq!(c["width"], 1024);
        assert_eq!(c["height"], 1024);
        assert_eq!(c["cfgScale"], 7.5);
        assert_eq!(c["seed"], 42);
        // the image is a base64 PNG of the fitted size
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(p["image"].as_str().unwrap())
            .unwrap();
        let img = image::load_from_memory(&bytes).unwrap();
        assert_eq!((img.width(), img.height()), (1024, 1024));
        assert_eq!(built.source_format, ImageFormat::Png);
        // the typed request round-trips
        let back: OutpaintingRequest = serde_json::from_str(&built.to_json()).unwrap();
        assert_eq!(ModelRequest::Outpainting(back), built.request);
    }

    #[test]
    fn no_negative_text_means_the_key_is_omitted() {
        let mut j = job(labels());
        j.negative = Some("  ".into());
        let built = build_request(Model::TitanV2, &png(64, 64), &j).unwrap();
        let v: serde_json::Value = serde_json::from_str(&built.to_json()).unwrap();
        assert!(v["outPaintingParams"].get("negativeText").is_none());
        j.negative = None;
        let built = build_request(Model::TitanV2, &png(64, 64), &j).unwrap();
        assert!(legacy(&built).out_painting_params.negative_text.is_none());
    }

    #[test]
    fn jpeg_inputs_are_fitted_and_sent_as_png() {
        let built = build_request(Model::TitanV1, &jpeg(3000, 2000), &job(labels())).unwrap();
        assert_eq!(built.source_format, ImageFormat::Jpeg);
        let c = &legacy(&built).image_generation_config;
        assert_eq!((c.width, c.height), (1152, 768));
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&legacy(&built).out_painting_params.image)
            .unwrap();
        assert!(bytes.starts_with(b"\x89PNG"));
        let nova = build_request(Model::NovaCanvas, &jpeg(1000, 500), &job(labels())).unwrap();
        let c = &legacy(&nova).image_generation_config;
        assert_eq!((c.width, c.height), (1008, 496));
    }

    #[test]
    fn mask_image_is_sent_instead_of_mask_prompt() {
        let b = BoundingBox {
            left: 0.5,
            top: 0.0,
            width: 0.5,
            height: 1.0,
        };
        let built =
            build_request(Model::TitanV1, &png(600, 400), &job(Mask::Boxes(vec![b]))).unwrap();
        let ModelRequest::Outpainting(r) = &built.request else {
            panic!()
        };
        let p = &r.out_painting_params;
        assert!(p.mask_prompt.is_none());
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(p.mask_image.as_ref().unwrap())
            .unwrap();
        let m = image::load_from_memory(&bytes).unwrap().to_rgb8();
        // 600x400 -> 1152x768 (the smallest 3:2 size that holds it)
        assert_eq!(m.dimensions(), (1152, 768));
        assert_eq!(*m.get_pixel(575, 100), MASK_REPAINT);
        assert_eq!(*m.get_pixel(576, 100), MASK_KEEP);
        let v: serde_json::Value = serde_json::from_str(&built.to_json()).unwrap();
        assert!(v["outPaintingParams"].get("maskPrompt").is_none());
        assert!(v["outPaintingParams"]["maskImage"].is_string());
    }

    fn err(model: Model, j: &EditJob) -> String {
        let e = build_request(model, &png(32, 32), j).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidInput);
        e.message
    }

    #[test]
    fn text_limits_are_checked_at_the_boundary() {
        let mut j = job(labels());
        j.prompt = "p".repeat(512);
        assert!(build_request(Model::TitanV1, &png(32, 32), &j).is_ok());
        j.prompt = "p".repeat(513);
        assert_eq!(
            err(Model::TitanV1, &j),
            "text: 513 characters, the limit is 512 for amazon.titan-image-generator-v1"
        );
        // characters, not bytes
        j.prompt = "é".repeat(512);
        assert!(build_request(Model::TitanV1, &png(32, 32), &j).is_ok());
        j.prompt = "p".repeat(1024);
        assert!(build_request(Model::NovaCanvas, &png(32, 32), &j).is_ok());
        j.prompt = "p".repeat(1025);
        assert!(err(Model::NovaCanvas, &j).starts_with("text: 1025 characters"));
        j.prompt = " ".into();
        assert!(err(Model::TitanV1, &j).starts_with("text: empty"));
        j.prompt = "ok".into();
        j.negative = Some("n".repeat(513));
        assert!(
            err(Model::TitanV1, &j).starts_with("negativeText: 513 characters, the limit is 512")
        );
        j.negative = Some("n".repeat(512));
        assert!(build_request(Model::TitanV1, &png(32, 32), &j).is_ok());
    }

    #[test]
    fn generation_options_are_checked_at_the_boundary() {
        let ok = |o: &GenerationOptions, m: Model| o.validate(m).is_ok();
        let base = GenerationOptions::one();
        for m in Model::ALL {
            assert!(ok(&base, m));
            for (n, fine) in [(0, false), (1, true), (5, true), (6, false)] {
                let o = GenerationOptions {
                    number_of_images: n,
                    ..base.clone()
                };
                assert_eq!(ok(&o, m), fine, "{m} {n}");
            }
            let max = u64::from(m.limits().max_seed);
            assert!(ok(
                &GenerationOptions {
                    seed: max,
                    ..base.clone()
                },
                m
            ));
            assert!(!ok(
                &GenerationOptions {
                    seed: max + 1,
                    ..base.clone()
                },
                m
            ));
        }
        for m in [Model::TitanV1, Model::TitanV2, Model::NovaCanvas] {
            for (c, fine) in [
                (1.1, true),
                (10.0, true),
                (1.0, false),
                (10.01, false),
                (f64::NAN, false),
            ] {
                let o = GenerationOptions {
                    cfg_scale: Some(c),
                    ..base.clone()
                };
                assert_eq!(ok(&o, m), fine, "{m} {c}");
            }
            let e = GenerationOptions {
                grow_mask: Some(5),
                ..base.clone()
            }
            .validate(m)
            .unwrap_err();
            assert!(
                e.message.starts_with("growMask: not used by"),
                "{}",
                e.message
            );
        }
        let s = Model::StabilityInpaint;
        assert!(ok(
            &GenerationOptions {
                grow_mask: Some(20),
                ..base.clone()
            },
            s
        ));
        let e = GenerationOptions {
            grow_mask: Some(21),
            ..base.clone()
        }
        .validate(s)
        .unwrap_err();
        assert_eq!(e.message, "growMask: 21, must be 0 to 20");
        assert!(ok(
            &GenerationOptions {
                style_preset: Some("photographic".into()),
                ..base.clone()
            },
            s
        ));
        let e = GenerationOptions {
            style_preset: Some("oil".into()),
            ..base.clone()
        }
        .validate(s)
        .unwrap_err();
        assert!(e
            .message
            .starts_with("stylePreset: \"oil\" is not one of 3d-model"));
        let e = GenerationOptions {
            cfg_scale: Some(7.0),
            ..base.clone()
        }
        .validate(s)
        .unwrap_err();
        assert_eq!(
            e.message,
            "cfgScale: not used by stability.stable-image-inpaint-v1:0 (only by the legacy Titan and Nova Canvas models); remove it"
        );
        assert!(GenerationOptions {
            quality: Some(Quality::Premium),
            ..base.clone()
        }
        .validate(s)
        .is_err());
        let e = GenerationOptions {
            number_of_images: 6,
            ..base.clone()
        }
        .validate(Model::TitanV1)
        .unwrap_err();
        assert_eq!(e.message, "numberOfImages: 6, must be 1 to 5");
        let e = GenerationOptions {
            cfg_scale: Some(11.0),
            ..base.clone()
        }
        .validate(Model::TitanV1)
        .unwrap_err();
        assert_eq!(e.message, "cfgScale: 11, must be 1.1 to 10");
        let e = GenerationOptions {
            seed: 858_993_460,
            ..base.clone()
        }
        .validate(Model::NovaCanvas)
        .unwrap_err();
        assert_eq!(
            e.message,
            "seed: 858993460, must be 0 to 858993459 for amazon.nova-canvas-v1:0"
        );
        let q: Quality = serde_json::from_str("\"standard\"").unwrap();
        assert_eq!(q, Quality::Standard);
        assert_eq!(
            serde_json::to_string(&OutPaintingMode::Default).unwrap(),
            "\"DEFAULT\""
        );
    }

    #[test]
    fn model_defaults_apply_when_the_job_gives_none() {
        let mut j = job(labels());
        j.options.cfg_scale = None;
        j.options.quality = None;
        let nova = build_request(Model::NovaCanvas, &png(64, 64), &j).unwrap();
        let titan = build_request(Model::TitanV2, &png(64, 64), &j).unwrap();
        let cfg = |b: &BuiltRequest| match &b.request {
            ModelRequest::Outpainting(r) => (
                r.image_generation_config.cfg_scale,
                r.image_generation_config.quality,
            ),
            ModelRequest::Inpaint(_) => unreachable!(),
        };
        assert_eq!(cfg(&nova), (6.5, Quality::Standard));
        assert_eq!(cfg(&titan), (8.0, Quality::Standard));
    }

    fn boxes() -> Mask {
        Mask::Boxes(vec![BoundingBox {
            left: 0.25,
            top: 0.25,
            width: 0.5,
            height: 0.5,
        }])
    }

    #[test]
    fn stability_requests_are_flat_snake_case_with_a_grayscale_mask() {
        let mut j = stability_job(boxes());
        j.options.grow_mask = Some(3);
        j.options.style_preset = Some("photographic".into());
        let built = build_request(Model::StabilityInpaint, &png(600, 400), &j).unwrap();
        assert_eq!(built.calls(), 3);
        let v: serde_json::Value = serde_json::from_str(&built.to_json()).unwrap();
        assert_eq!(
            keys(&v),
            [
                "grow_mask",
                "image",
                "mask",
                "negative_prompt",
                "output_format",
                "prompt",
                "seed",
                "style_preset"
            ]
        );
        assert_eq!(v["prompt"], "a sunny beach");
        assert_eq!(v["negative_prompt"], "people");
        assert_eq!(v["output_format"], "png");
        assert_eq!(v["seed"], 42);
        // one call per image, seeds differ
        let seeds: Vec<u64> = (0..built.calls())
            .map(|i| {
                serde_json::from_str::<serde_json::Value>(&built.body(i)).unwrap()["seed"]
                    .as_u64()
                    .unwrap()
            })
            .collect();
        assert_eq!(seeds, [42, 43, 44]);
        let b64 = base64::engine::general_purpose::STANDARD;
        let image =
            image::load_from_memory(&b64.decode(v["image"].as_str().unwrap()).unwrap()).unwrap();
        let mask =
            image::load_from_memory(&b64.decode(v["mask"].as_str().unwrap()).unwrap()).unwrap();
        // a small source is sent at its own size (>= 64 px a side, <= 2.5:1)
        assert_eq!((image.width(), image.height()), (600, 400));
        assert_eq!(mask.color(), image::ColorType::L8);
        let m = mask.to_luma8();
        assert_eq!(m.dimensions(), (600, 400));
        assert_eq!(m.get_pixel(300, 200).0[0], MASK_KEEP.0[0]);
        assert_eq!(m.get_pixel(10, 10).0[0], MASK_REPAINT.0[0]);
        // seed 0 (random) stays 0 in every call
        j.options.seed = 0;
        let built = build_request(Model::StabilityInpaint, &png(64, 64), &j).unwrap();
        assert!((0..3).all(|i| built.body(i).contains("\"seed\":0")));
    }

    #[test]
    fn stability_sizes_are_fitted_within_its_limits() {
        let j = stability_job(boxes());
        // 12 MP phone photo: scaled to about 4 MP, aspect kept
        let built = build_request(Model::StabilityInpaint, &jpeg(4032, 3024), &j).unwrap();
        let t = built.transform;
        assert_eq!((t.source_width, t.source_height), (4032, 3024));
        assert!(u64::from(t.width) * u64::from(t.height) <= 4_194_304);
        assert!(u64::from(t.width) * u64::from(t.height) > 4_000_000);
        assert_eq!((t.offset_x, t.offset_y), (0, 0));
        // tiny: scaled up to 64 px a side
        let t = build_request(Model::StabilityInpaint, &png(20, 30), &j)
            .unwrap()
            .transform;
        assert!(t.width >= 64 && t.height >= 64, "{t:?}");
        // a 4:1 panorama is padded to 2.5:1, the bands repainted
        let built = build_request(Model::StabilityInpaint, &png(800, 200), &j).unwrap();
        let t = built.transform;
        let ratio = f64::from(t.width) / f64::from(t.height);
        assert!(ratio <= 2.5 + 1e-9, "{t:?}");
        assert!(t.offset_y > 0);
    }

    #[test]
    fn masks_the_family_cannot_take_are_refused_early() {
        let e = build_request(
            Model::StabilityInpaint,
            b"not an image",
            &stability_job(labels()),
        )
        .unwrap_err();
        assert!(
            e.message
                .starts_with("mask: stability.stable-image-inpaint-v1:0 takes no label prompt"),
            "{}",
            e.message
        );
        let e = build_request(Model::TitanV2, b"not an image", &job(Mask::Subject)).unwrap_err();
        assert!(
            e.message
                .starts_with("mask: \"subject\" needs Stable Image Remove Background"),
            "{}",
            e.message
        );
        // subject without the removal's answer
        let e = build_request(
            Model::StabilityInpaint,
            &png(64, 64),
            &stability_job(Mask::Subject),
        )
        .unwrap_err();
        assert!(e.message.contains("needs the background removal's image"));
    }

    #[test]
    fn the_subject_mask_comes_from_the_removal_alpha() {
        let j = stability_job(Mask::Subject);
        let prepared = prepare(Model::StabilityInpaint, &png(200, 100), &j).unwrap();
        let body: serde_json::Value =
            serde_json::from_str(&remove_background_body(&prepared)).unwrap();
        assert_eq!(keys(&body), ["image", "output_format"]);
        // the removal answers: left half opaque (subject), right half transparent
        let cut = image::RgbaImage::from_fn(200, 100, |x, _| {
            image::Rgba([9, 9, 9, if x < 100 { 255 } else { 0 }])
        });
        let mut answer = Vec::new();
        image::codecs::png::PngEncoder::new(&mut answer)
            .write_image(cut.as_raw(), 200, 100, ExtendedColorType::Rgba8)
            .unwrap();
        let built = prepared.finish(&j, Some(&answer)).unwrap();
        let ModelRequest::Inpaint(r) = &built.request else {
            panic!()
        };
        let b64 = base64::engine::general_purpose::STANDARD;
        let m = image::load_from_memory(&b64.decode(&r.mask).unwrap())
            .unwrap()
            .to_luma8();
        assert_eq!(m.get_pixel(50, 50).0[0], 0);
        assert_eq!(m.get_pixel(150, 50).0[0], 255);
        // nothing opaque: no subject, a clear error
        let clear = image::RgbaImage::from_pixel(200, 100, image::Rgba([0, 0, 0, 0]));
        let mut answer = Vec::new();
        image::codecs::png::PngEncoder::new(&mut answer)
            .write_image(clear.as_raw(), 200, 100, ExtendedColorType::Rgba8)
            .unwrap();
        let prepared = prepare(Model::StabilityInpaint, &png(200, 100), &j).unwrap();
        let e = prepared.finish(&j, Some(&answer)).unwrap_err();
        assert!(e
            .message
            .starts_with("mask: the background removal found no subject"));
    }

    #[test]
    fn stability_prompt_limits_are_checked_at_the_boundary() {
        let mut j = stability_job(boxes());
        j.prompt = "p".repeat(10_000);
        assert!(build_request(Model::StabilityInpaint, &png(64, 64), &j).is_ok());
        j.prompt = "p".repeat(10_001);
        let e = build_request(Model::StabilityInpaint, &png(64, 64), &j).unwrap_err();
        assert_eq!(
            e.message,
            "prompt: 10001 characters, the limit is 10000 for stability.stable-image-inpaint-v1:0"
        );
    }

    #[test]
    fn bad_images_are_rejected_after_field_checks() {
        let e = build_request(Model::TitanV1, b"not an image", &job(labels())).unwrap_err();
        assert!(
            e.message.starts_with("image: not a PNG or JPEG"),
            "{}",
            e.message
        );
        let mut j = job(labels());
        j.options.number_of_images = 9;
        let e = build_request(Model::TitanV1, b"not an image", &j).unwrap_err();
        assert!(e.message.starts_with("numberOfImages"));
        let e = build_request(Model::TitanV1, &png(8, 8), &job(Mask::Boxes(vec![]))).unwrap_err();
        assert!(e.message.starts_with("maskBoxes: no boxes"));
    }
}

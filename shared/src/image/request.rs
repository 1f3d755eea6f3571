//! `imageGenerationConfig`, the OUTPAINTING request JSON, and building it from image bytes.

use base64::Engine as _;
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{ExtendedColorType, ImageEncoder, RgbImage};
use serde::{Deserialize, Serialize};

use super::fit::{fit, Transform};
use super::input::{check_input, decode, ImageFormat};
use super::mask::{draw_mask, mask_prompt, Mask};
use super::{human_bytes, Model};
use crate::PipelineError;

/// `imageGenerationConfig.quality`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Quality {
    #[default]
    Standard,
    Premium,
}

/// `outPaintingParams.outPaintingMode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum OutPaintingMode {
    /// Blends the kept area with the new background.
    #[default]
    Default,
    /// Keeps the masked area exactly.
    Precise,
}

/// What the caller chooses for `imageGenerationConfig` (the size comes from fitting).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GenerationOptions {
    pub number_of_images: u32,
    pub quality: Quality,
    pub cfg_scale: f64,
    pub seed: u64,
}

impl Default for GenerationOptions {
    /// One standard image, cfgScale 8.0 (the models' default), seed 0 (deterministic).
    fn default() -> Self {
        Self {
            number_of_images: 1,
            quality: Quality::Standard,
            cfg_scale: 8.0,
            seed: 0,
        }
    }
}

impl GenerationOptions {
    /// Checks every field against the model's limits.
    pub fn validate(&self, model: Model) -> Result<(), PipelineError> {
        let l = model.limits();
        let max_images = u32::from(l.max_images);
        if !(1..=max_images).contains(&self.number_of_images) {
            return Err(PipelineError::invalid_input(format!(
                "imageGenerationConfig.numberOfImages: {}, must be 1 to {max_images}",
                self.number_of_images
            )));
        }
        if !self.cfg_scale.is_finite()
            || self.cfg_scale < l.min_cfg_scale
            || self.cfg_scale > l.max_cfg_scale
        {
            return Err(PipelineError::invalid_input(format!(
                "imageGenerationConfig.cfgScale: {}, must be {} to {}",
                self.cfg_scale, l.min_cfg_scale, l.max_cfg_scale
            )));
        }
        if self.seed > u64::from(l.max_seed) {
            return Err(PipelineError::invalid_input(format!(
                "imageGenerationConfig.seed: {}, must be 0 to {} for {}",
                self.seed,
                l.max_seed,
                model.id()
            )));
        }
        Ok(())
    }
}

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

/// The InvokeModel body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutpaintingRequest {
    /// Always `OUTPAINTING`.
    pub task_type: String,
    pub out_painting_params: OutPaintingParams,
    pub image_generation_config: ImageGenerationConfig,
}

/// What to ask for, apart from the image.
#[derive(Debug, Clone, PartialEq)]
pub struct OutpaintingJob {
    pub prompt: String,
    /// Empty or blank means none (the field is omitted).
    pub negative: Option<String>,
    pub mask: Mask,
    pub mode: OutPaintingMode,
    pub options: GenerationOptions,
}

/// A request and what was done to the image.
#[derive(Debug, Clone)]
pub struct BuiltRequest {
    pub model: Model,
    pub request: OutpaintingRequest,
    pub source_format: ImageFormat,
    pub transform: Transform,
}

impl BuiltRequest {
    /// The InvokeModel body.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.request).expect("the request serialises")
    }
}

/// Encodes as PNG with fast compression (default compression is tens of times slower).
pub fn encode_png(img: &RgbImage) -> Result<Vec<u8>, PipelineError> {
    let mut out = Vec::with_capacity(img.as_raw().len() / 2 + 1024);
    PngEncoder::new_with_quality(&mut out, CompressionType::Fast, FilterType::Adaptive)
        .write_image(
            img.as_raw(),
            img.width(),
            img.height(),
            ExtendedColorType::Rgb8,
        )
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

/// Checks the image, fits it to the model, draws or writes the mask and builds the request.
/// Every field is validated before the (costly) image work starts.
pub fn build_request(
    model: Model,
    image_bytes: &[u8],
    job: &OutpaintingJob,
) -> Result<BuiltRequest, PipelineError> {
    let limits = model.limits();
    check_text("text", &job.prompt, limits.max_text_chars, model)?;
    let negative = job
        .negative
        .as_deref()
        .filter(|n| !n.trim().is_empty())
        .map(str::to_owned);
    if let Some(n) = &negative {
        check_text("negativeText", n, limits.max_negative_chars, model)?;
    }
    job.options.validate(model)?;
    let prompt_mask = match &job.mask {
        Mask::Labels(labels) => Some(mask_prompt(labels, model)?),
        Mask::Boxes(boxes) => {
            if boxes.is_empty() {
                return Err(PipelineError::invalid_input(
                    "maskImage: no boxes given (at least one box to keep is required)",
                ));
            }
            for (i, b) in boxes.iter().enumerate() {
                b.validate(&format!("mask box {}", i + 1))?;
            }
            None
        }
    };

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
    let b64 = base64::engine::general_purpose::STANDARD;
    let mask_image = match &job.mask {
        Mask::Boxes(boxes) => Some(b64.encode(encode_png(&draw_mask(boxes, &fitted.transform)?)?)),
        Mask::Labels(_) => None,
    };
    let t = fitted.transform;
    let request = OutpaintingRequest {
        task_type: "OUTPAINTING".to_owned(),
        out_painting_params: OutPaintingParams {
            image: b64.encode(&png),
            text: job.prompt.clone(),
            negative_text: negative,
            mask_prompt: prompt_mask,
            mask_image,
            out_painting_mode: job.mode,
        },
        image_generation_config: ImageGenerationConfig {
            number_of_images: job.options.number_of_images,
            quality: job.options.quality,
            height: t.height,
            width: t.width,
            cfg_scale: job.options.cfg_scale,
            seed: job.options.seed,
        },
    };
    Ok(BuiltRequest {
        model,
        request,
        source_format: format,
        transform: t,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::mask::{BoundingBox, MASK_KEEP, MASK_REPAINT};
    use crate::ErrorKind;
    use image::Rgb;

    const FIXTURE: &str =
        include_str!("../../../events/bedrock/titan_outpainting_request_from_sample.json");

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

    fn job(mask: Mask) -> OutpaintingJob {
        OutpaintingJob {
            prompt: "a sunny beach".into(),
            negative: Some("people".into()),
            mask,
            mode: OutPaintingMode::Precise,
            options: GenerationOptions {
                number_of_images: 2,
                quality: Quality::Premium,
                cfg_scale: 7.5,
                seed: 42,
            },
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
        assert_eq!(back, built.request);
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
        assert!(built.request.out_painting_params.negative_text.is_none());
    }

    #[test]
    fn jpeg_inputs_are_fitted_and_sent_as_png() {
        let built = build_request(Model::TitanV1, &jpeg(3000, 2000), &job(labels())).unwrap();
        assert_eq!(built.source_format, ImageFormat::Jpeg);
        let c = &built.request.image_generation_config;
        assert_eq!((c.width, c.height), (1152, 768));
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&built.request.out_painting_params.image)
            .unwrap();
        assert!(bytes.starts_with(b"\x89PNG"));
        let nova = build_request(Model::NovaCanvas, &jpeg(1000, 500), &job(labels())).unwrap();
        let c = &nova.request.image_generation_config;
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
        let p = &built.request.out_painting_params;
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

    fn err(model: Model, j: &OutpaintingJob) -> String {
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
        let ok = |o: GenerationOptions, m: Model| o.validate(m).is_ok();
        let base = GenerationOptions::default();
        for m in Model::ALL {
            assert!(ok(base, m));
            assert!(ok(
                GenerationOptions {
                    number_of_images: 1,
                    ..base
                },
                m
            ));
            assert!(ok(
                GenerationOptions {
                    number_of_images: 5,
                    ..base
                },
                m
            ));
            assert!(!ok(
                GenerationOptions {
                    number_of_images: 0,
                    ..base
                },
                m
            ));
            assert!(!ok(
                GenerationOptions {
                    number_of_images: 6,
                    ..base
                },
                m
            ));
            assert!(ok(
                GenerationOptions {
                    cfg_scale: 1.1,
                    ..base
                },
                m
            ));
            assert!(ok(
                GenerationOptions {
                    cfg_scale: 10.0,
                    ..base
                },
                m
            ));
            assert!(!ok(
                GenerationOptions {
                    cfg_scale: 1.0,
                    ..base
                },
                m
            ));
            assert!(!ok(
                GenerationOptions {
                    cfg_scale: 10.01,
                    ..base
                },
                m
            ));
            assert!(!ok(
                GenerationOptions {
                    cfg_scale: f64::NAN,
                    ..base
                },
                m
            ));
            assert!(ok(GenerationOptions { seed: 0, ..base }, m));
        }
        assert!(ok(
            GenerationOptions {
                seed: 2_147_483_646,
                ..base
            },
            Model::TitanV1
        ));
        assert!(!ok(
            GenerationOptions {
                seed: 2_147_483_647,
                ..base
            },
            Model::TitanV2
        ));
        assert!(ok(
            GenerationOptions {
                seed: 858_993_459,
                ..base
            },
            Model::NovaCanvas
        ));
        assert!(!ok(
            GenerationOptions {
                seed: 858_993_460,
                ..base
            },
            Model::NovaCanvas
        ));
        let e = GenerationOptions {
            number_of_images: 6,
            ..base
        }
        .validate(Model::TitanV1)
        .unwrap_err();
        assert_eq!(
            e.message,
            "imageGenerationConfig.numberOfImages: 6, must be 1 to 5"
        );
        let e = GenerationOptions {
            cfg_scale: 11.0,
            ..base
        }
        .validate(Model::TitanV1)
        .unwrap_err();
        assert_eq!(
            e.message,
            "imageGenerationConfig.cfgScale: 11, must be 1.1 to 10"
        );
        let e = GenerationOptions {
            seed: 858_993_460,
            ..base
        }
        .validate(Model::NovaCanvas)
        .unwrap_err();
        assert_eq!(
            e.message,
            "imageGenerationConfig.seed: 858993460, must be 0 to 858993459 for amazon.nova-canvas-v1:0"
        );
        let q: Quality = serde_json::from_str("\"standard\"").unwrap();
        assert_eq!(q, Quality::Standard);
        assert_eq!(
            serde_json::to_string(&OutPaintingMode::Default).unwrap(),
            "\"DEFAULT\""
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
        assert!(e
            .message
            .starts_with("imageGenerationConfig.numberOfImages"));
        let e = build_request(Model::TitanV1, &png(8, 8), &job(Mask::Boxes(vec![]))).unwrap_err();
        assert!(e.message.starts_with("maskImage: no boxes"));
    }
}

//! The generation options `build-request` and `run` share.

use clap::{ArgGroup, Args, ValueEnum};
use image_background_core::{
    BoundingBox, EditJob, Family, GenerationOptions, Mask, Model, OutPaintingMode, Quality,
    DEFAULT_MODEL_ID,
};
use serde_json::{json, Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    #[value(name = "DEFAULT", alias = "default")]
    Default,
    #[value(name = "PRECISE", alias = "precise")]
    Precise,
}

impl From<ModeArg> for OutPaintingMode {
    fn from(m: ModeArg) -> Self {
        match m {
            ModeArg::Default => OutPaintingMode::Default,
            ModeArg::Precise => OutPaintingMode::Precise,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum QualityArg {
    Standard,
    Premium,
}

impl From<QualityArg> for Quality {
    fn from(q: QualityArg) -> Self {
        match q {
            QualityArg::Standard => Quality::Standard,
            QualityArg::Premium => Quality::Premium,
        }
    }
}

#[derive(Debug, Clone, Args)]
#[command(group(
    ArgGroup::new("mask")
        .args(["labels", "mask_box", "subject"])
        .multiple(false)
))]
pub struct GenerationArgs {
    /// What to paint around the kept subject (Stability `prompt`, 1-10,000 characters; legacy
    /// `text`, 1-512 for Titan, 1-1024 for Nova Canvas)
    #[arg(long, value_name = "TEXT")]
    pub prompt: String,

    /// What not to paint (Stability `negative_prompt`; legacy `negativeText`)
    #[arg(long, value_name = "TEXT")]
    pub negative: Option<String>,

    /// Labels of the subjects to keep, comma separated. Stability: resolved to boxes with
    /// Rekognition DetectLabels when the job runs; legacy models: sent as `maskPrompt`
    #[arg(long, value_name = "LABELS", value_delimiter = ',', num_args = 1..)]
    pub labels: Vec<String>,

    /// Box to keep as fractions of the image: left,top,width,height (drawn into the mask
    /// image: black keeps, white repaints); repeat for several boxes
    #[arg(
        long = "mask-box",
        value_name = "LEFT,TOP,WIDTH,HEIGHT",
        allow_hyphen_values = true
    )]
    pub mask_box: Vec<String>,

    /// Keep the main subject, found by Stable Image Remove Background when the job runs
    /// (Stability only). The default when neither --labels nor --mask-box is given
    #[arg(long)]
    pub subject: bool,

    /// Outpainting mode (legacy models only) [default: DEFAULT]
    #[arg(long, value_enum, ignore_case = true)]
    pub mode: Option<ModeArg>,

    /// Bedrock model id, inference profile id or ARN: Stable Image Inpaint, or the legacy
    /// amazon.titan-image-generator-v1, amazon.titan-image-generator-v2:0 and
    /// amazon.nova-canvas-v1:0 [default: us.stability.stable-image-inpaint-v1:0]
    #[arg(long, value_name = "ID", env = "MLPIPE_IMAGE_MODEL_ID")]
    pub model: Option<String>,

    /// Images to generate per input image (`numberOfImages`, 1-5; Stability makes one call
    /// per image)
    #[arg(long = "images", value_name = "N", default_value_t = 1)]
    pub images: u32,

    /// Seed: Stability 0-4,294,967,294 (0 = random), Titan 0-2,147,483,646, Nova Canvas
    /// 0-858,993,459
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub seed: u64,

    /// Quality (legacy models only) [default: standard]
    #[arg(long, value_enum, ignore_case = true)]
    pub quality: Option<QualityArg>,

    /// How strictly to follow the prompt (`cfgScale`, 1.1-10; legacy models only)
    /// [default: 8.0 for Titan, 6.5 for Nova Canvas]
    #[arg(long = "cfg-scale", value_name = "X")]
    pub cfg_scale: Option<f64>,

    /// Pixels the repainted area grows into the kept one, blurred (`grow_mask`, 0-20;
    /// Stability only) [default: the model's, 5]
    #[arg(long = "grow-mask", value_name = "N")]
    pub grow_mask: Option<u32>,

    /// Style preset (`style_preset`, Stability only): 3d-model, analog-film, anime, cinematic,
    /// comic-book, digital-art, enhance, fantasy-art, isometric, line-art, low-poly,
    /// modeling-compound, neon-punk, origami, photographic, pixel-art or tile-texture
    #[arg(long = "style-preset", value_name = "NAME")]
    pub style_preset: Option<String>,
}

impl GenerationArgs {
    /// The model id: `--model` (or `MLPIPE_IMAGE_MODEL_ID`), else [`DEFAULT_MODEL_ID`].
    pub fn model_id(&self) -> &str {
        self.model.as_deref().unwrap_or(DEFAULT_MODEL_ID)
    }

    /// Whether the model was given (`--model` or `MLPIPE_IMAGE_MODEL_ID`), not defaulted.
    pub fn model_given(&self) -> bool {
        self.model.is_some()
    }

    /// The model, checked.
    pub fn model(&self) -> anyhow::Result<Model> {
        Model::from_id(self.model_id()).map_err(|e| anyhow::anyhow!(e.message))
    }

    /// The `--mask-box` boxes, parsed (empty without `--mask-box`).
    pub fn boxes(&self) -> anyhow::Result<Vec<BoundingBox>> {
        self.mask_box
            .iter()
            .map(|s| s.parse::<BoundingBox>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| anyhow::anyhow!(e.message))
    }

    /// What to keep: `--mask-box`, `--labels`, else the main subject.
    pub fn mask(&self) -> anyhow::Result<Mask> {
        let boxes = self.boxes()?;
        Ok(if !boxes.is_empty() {
            Mask::Boxes(boxes)
        } else if !self.labels.is_empty() {
            Mask::Labels(self.labels.clone())
        } else {
            Mask::Subject
        })
    }

    fn options(&self) -> GenerationOptions {
        GenerationOptions {
            number_of_images: self.images,
            quality: self.quality.map(Quality::from),
            cfg_scale: self.cfg_scale,
            seed: self.seed,
            grow_mask: self.grow_mask,
            style_preset: self.style_preset.clone(),
        }
    }

    /// The request builder's job description; options not given take the model's defaults.
    pub fn edit_job(&self) -> anyhow::Result<EditJob> {
        Ok(EditJob {
            prompt: self.prompt.clone(),
            negative: self.negative.clone(),
            mask: self.mask()?,
            mode: self.mode.map(OutPaintingMode::from).unwrap_or_default(),
            options: self.options(),
        })
    }

    /// What can be checked against `model` without the image: every option is one the model
    /// takes and within its range, and the mask is one the model can use. Messages name the
    /// manifest field.
    pub fn check(&self, model: Model) -> anyhow::Result<()> {
        if self.mode.is_some() && model.family() == Family::Stability {
            anyhow::bail!(
                "mode: not used by {} (only by the legacy OUTPAINTING models); remove it",
                model.id()
            );
        }
        self.options()
            .validate(model)
            .map_err(|e| anyhow::anyhow!(e.message))?;
        if model.family() == Family::Outpainting && matches!(self.mask()?, Mask::Subject) {
            anyhow::bail!(
                "mask: keeping the main subject (--subject, the default without --labels or --mask-box) needs Stable Image Remove Background, which comes with {DEFAULT_MODEL_ID}; {} takes --labels or --mask-box",
                model.id()
            );
        }
        Ok(())
    }

    /// A job manifest (`jobs/<job-id>.json`) for images at `keys`, every image with the same
    /// labels or boxes to keep (none: the main subject). Only the options given are written,
    /// so the stack's defaults apply to the others; `model` only when given, since the stack
    /// refuses any model but the one it was deployed with.
    pub fn manifest(&self, keys: &[String]) -> anyhow::Result<Value> {
        let mask = self.mask()?;
        let mut m = Map::new();
        m.insert("prompt".into(), json!(self.prompt));
        if let Some(n) = &self.negative {
            m.insert("negativePrompt".into(), json!(n));
        }
        if let Some(mode) = self.mode {
            m.insert("mode".into(), json!(OutPaintingMode::from(mode)));
        }
        if let Some(model) = &self.model {
            m.insert("model".into(), json!(model));
        }
        m.insert("numberOfImages".into(), json!(self.images));
        if let Some(q) = self.quality {
            m.insert("quality".into(), json!(Quality::from(q)));
        }
        if let Some(c) = self.cfg_scale {
            m.insert("cfgScale".into(), json!(c));
        }
        m.insert("seed".into(), json!(self.seed));
        if let Some(g) = self.grow_mask {
            m.insert("growMask".into(), json!(g));
        }
        if let Some(p) = &self.style_preset {
            m.insert("stylePreset".into(), json!(p));
        }
        let images: Vec<Value> = keys
            .iter()
            .map(|key| match &mask {
                Mask::Labels(labels) => json!({"key": key, "labels": labels}),
                Mask::Boxes(boxes) => {
                    let b: Vec<Value> = boxes
                        .iter()
                        .map(|b| {
                            json!({"left": b.left, "top": b.top, "width": b.width, "height": b.height})
                        })
                        .collect();
                    json!({"key": key, "maskBoxes": b})
                }
                Mask::Subject => json!({"key": key}),
            })
            .collect();
        m.insert("images".into(), Value::Array(images));
        Ok(Value::Object(m))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, Parser};

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        g: GenerationArgs,
    }

    fn parse(args: &[&str]) -> GenerationArgs {
        let mut all = vec!["t", "--prompt", "p"];
        all.extend_from_slice(args);
        Cli::try_parse_from(all).expect("parses").g
    }

    fn manifest(args: &[&str]) -> Value {
        parse(args).manifest(&["uploads/j/a.png".into()]).unwrap()
    }

    fn keys(v: &Value) -> Vec<&str> {
        let mut k: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        k.sort_unstable();
        k
    }

    #[test]
    fn the_help_names_the_default_model() {
        let help = Cli::command().render_long_help().to_string();
        assert!(help.contains(DEFAULT_MODEL_ID), "{help}");
    }

    #[test]
    fn defaults_are_the_stability_model_and_the_main_subject() {
        let g = parse(&[]);
        assert!(!g.model_given());
        assert_eq!(g.model().unwrap(), Model::StabilityInpaint);
        assert_eq!(g.mask().unwrap(), Mask::Subject);
        assert_eq!(parse(&["--subject"]).mask().unwrap(), Mask::Subject);
        let job = g.edit_job().unwrap();
        assert_eq!(job.options, GenerationOptions::one());
        assert_eq!(job.mode, OutPaintingMode::Default);
        g.check(Model::StabilityInpaint).unwrap();
    }

    #[test]
    fn the_manifest_has_only_the_fields_given() {
        let v = manifest(&[]);
        assert_eq!(keys(&v), ["images", "numberOfImages", "prompt", "seed"]);
        assert_eq!(v["images"], json!([{"key": "uploads/j/a.png"}]));

        let v = manifest(&[
            "--negative",
            "people",
            "--labels",
            "Cup,Mug",
            "--grow-mask",
            "3",
            "--style-preset",
            "photographic",
            "--images",
            "2",
            "--seed",
            "42",
        ]);
        assert_eq!(
            keys(&v),
            [
                "growMask",
                "images",
                "negativePrompt",
                "numberOfImages",
                "prompt",
                "seed",
                "stylePreset"
            ]
        );
        assert_eq!(v["growMask"], 3);
        assert_eq!(v["stylePreset"], "photographic");
        assert_eq!(v["numberOfImages"], 2);
        assert_eq!(v["seed"], 42);
        assert_eq!(
            v["images"],
            json!([{"key": "uploads/j/a.png", "labels": ["Cup", "Mug"]}])
        );

        let v = manifest(&[
            "--model",
            "amazon.titan-image-generator-v1",
            "--mode",
            "precise",
            "--quality",
            "premium",
            "--cfg-scale",
            "7.5",
            "--mask-box",
            "0.25,0.5,0.5,0.5",
        ]);
        assert_eq!(v["model"], "amazon.titan-image-generator-v1");
        assert_eq!(v["mode"], "PRECISE");
        assert_eq!(v["quality"], "premium");
        assert_eq!(v["cfgScale"], 7.5);
        assert_eq!(
            v["images"][0]["maskBoxes"],
            json!([{"left": 0.25, "top": 0.5, "width": 0.5, "height": 0.5}])
        );
    }

    #[test]
    fn options_the_model_does_not_take_are_refused() {
        let err = |args: &[&str], model: Model| parse(args).check(model).unwrap_err().to_string();
        let s = Model::StabilityInpaint;
        assert!(err(&["--mode", "PRECISE"], s).starts_with("mode: not used by"));
        assert!(err(&["--cfg-scale", "7"], s).starts_with("cfgScale: not used by"));
        assert!(err(&["--quality", "premium"], s).starts_with("quality: not used by"));
        assert!(err(&["--grow-mask", "21"], s).starts_with("growMask: 21"));
        let t = Model::TitanV1;
        assert!(err(&["--labels", "a", "--grow-mask", "2"], t).starts_with("growMask: not used by"));
        assert!(err(&[], t).starts_with("mask: keeping the main subject"));
        parse(&["--labels", "a", "--mode", "PRECISE", "--cfg-scale", "7"])
            .check(t)
            .unwrap();
    }

    #[test]
    fn only_one_mask_kind_is_accepted() {
        let cases: [&[&str]; 3] = [
            &["--labels", "a", "--mask-box", "0,0,1,1"],
            &["--labels", "a", "--subject", "--seed", "1"],
            &["--subject", "--mask-box", "0,0,1,1"],
        ];
        for args in cases {
            let mut all = vec!["t", "--prompt", "p"];
            all.extend_from_slice(args);
            let e = Cli::try_parse_from(all).unwrap_err();
            assert_eq!(
                e.kind(),
                clap::error::ErrorKind::ArgumentConflict,
                "{args:?}"
            );
        }
    }
}

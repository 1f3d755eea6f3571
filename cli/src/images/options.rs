//! The generation options `build-request` and `run` share.

use clap::{ArgGroup, Args, ValueEnum};
use serde_json::{json, Map, Value};
use shared::image::{
    BoundingBox, GenerationOptions, Mask, Model, OutPaintingMode, OutpaintingJob, Quality,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    #[value(name = "DEFAULT", alias = "default")]
    Default,
    #[value(name = "PRECISE", alias = "precise")]
    Precise,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum QualityArg {
    Standard,
    Premium,
}

#[derive(Debug, Clone, Args)]
#[command(group(ArgGroup::new("mask").required(true).args(["labels", "mask_box"])))]
pub struct GenerationArgs {
    /// What to paint around the kept subject (`text`)
    #[arg(long, value_name = "TEXT")]
    pub prompt: String,

    /// What not to paint (`negativeText`)
    #[arg(long, value_name = "TEXT")]
    pub negative: Option<String>,

    /// Labels of the subjects to keep, comma separated (sent as `maskPrompt`)
    #[arg(long, value_name = "LABELS", value_delimiter = ',', num_args = 1..)]
    pub labels: Vec<String>,

    /// Box to keep as fractions of the image: left,top,width,height (sent as a `maskImage`);
    /// repeat for several boxes
    #[arg(
        long = "mask-box",
        value_name = "LEFT,TOP,WIDTH,HEIGHT",
        allow_hyphen_values = true
    )]
    pub mask_box: Vec<String>,

    /// Outpainting mode
    #[arg(long, value_enum, default_value = "DEFAULT", ignore_case = true)]
    pub mode: ModeArg,

    /// Bedrock model id or inference profile id (Titan Image Generator v1/v2, Nova Canvas)
    #[arg(
        long,
        value_name = "ID",
        env = "MLPIPE_IMAGE_MODEL_ID",
        default_value = "amazon.titan-image-generator-v2:0"
    )]
    pub model: String,

    /// Number of images to generate (`numberOfImages`, 1-5)
    #[arg(long = "images", value_name = "N", default_value_t = 1)]
    pub images: u32,

    /// Seed (`seed`; 0-2147483646 for Titan, 0-858993459 for Nova Canvas)
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub seed: u64,

    /// Quality
    #[arg(long, value_enum, default_value = "standard", ignore_case = true)]
    pub quality: QualityArg,

    /// How strictly to follow the prompt (`cfgScale`, 1.1-10)
    #[arg(long = "cfg-scale", value_name = "X", default_value_t = 8.0)]
    pub cfg_scale: f64,
}

impl GenerationArgs {
    /// The model, checked.
    pub fn model(&self) -> anyhow::Result<Model> {
        Model::from_id(&self.model).map_err(|e| anyhow::anyhow!(e.message))
    }

    /// The `--mask-box` boxes, parsed (empty with `--labels`).
    pub fn boxes(&self) -> anyhow::Result<Vec<BoundingBox>> {
        self.mask_box
            .iter()
            .map(|s| s.parse::<BoundingBox>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| anyhow::anyhow!(e.message))
    }

    fn mode(&self) -> OutPaintingMode {
        match self.mode {
            ModeArg::Default => OutPaintingMode::Default,
            ModeArg::Precise => OutPaintingMode::Precise,
        }
    }

    fn quality(&self) -> Quality {
        match self.quality {
            QualityArg::Standard => Quality::Standard,
            QualityArg::Premium => Quality::Premium,
        }
    }

    /// The request builder's job description.
    pub fn outpainting_job(&self) -> anyhow::Result<OutpaintingJob> {
        let boxes = self.boxes()?;
        let mask = if boxes.is_empty() {
            Mask::Labels(self.labels.clone())
        } else {
            Mask::Boxes(boxes)
        };
        Ok(OutpaintingJob {
            prompt: self.prompt.clone(),
            negative: self.negative.clone(),
            mask,
            mode: self.mode(),
            options: GenerationOptions {
                number_of_images: self.images,
                quality: self.quality(),
                cfg_scale: self.cfg_scale,
                seed: self.seed,
            },
        })
    }

    /// A job manifest (`jobs/<job-id>.json`) for images at `keys`, every image with the same
    /// labels or boxes to keep.
    pub fn manifest(&self, keys: &[String]) -> anyhow::Result<Value> {
        let boxes = self.boxes()?;
        let mut m = Map::new();
        m.insert("prompt".into(), json!(self.prompt));
        if let Some(n) = &self.negative {
            m.insert("negativePrompt".into(), json!(n));
        }
        let mode = match self.mode() {
            OutPaintingMode::Default => "DEFAULT",
            OutPaintingMode::Precise => "PRECISE",
        };
        let quality = match self.quality() {
            Quality::Standard => "standard",
            Quality::Premium => "premium",
        };
        m.insert("mode".into(), json!(mode));
        m.insert("model".into(), json!(self.model));
        m.insert("numberOfImages".into(), json!(self.images));
        m.insert("quality".into(), json!(quality));
        m.insert("cfgScale".into(), json!(self.cfg_scale));
        m.insert("seed".into(), json!(self.seed));
        let images: Vec<Value> = keys
            .iter()
            .map(|key| {
                if boxes.is_empty() {
                    json!({"key": key, "labels": self.labels})
                } else {
                    let b: Vec<Value> = boxes
                        .iter()
                        .map(|b| {
                            json!({"left": b.left, "top": b.top, "width": b.width, "height": b.height})
                        })
                        .collect();
                    json!({"key": key, "maskBoxes": b})
                }
            })
            .collect();
        m.insert("images".into(), Value::Array(images));
        Ok(Value::Object(m))
    }
}

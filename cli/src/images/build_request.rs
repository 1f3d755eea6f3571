//! `mlpipe images build-request`.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{ArgGroup, Args, ValueEnum};
use shared::image::{
    build_request, BoundingBox, GenerationOptions, Mask, Model, OutPaintingMode, OutpaintingJob,
    Quality,
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

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("mask").required(true).args(["labels", "mask_box"])))]
pub struct BuildRequestArgs {
    /// PNG or JPEG image (the format is read from the content, not the name)
    #[arg(value_name = "IMAGE")]
    image: PathBuf,

    /// What to paint around the kept subject (`text`)
    #[arg(long, value_name = "TEXT")]
    prompt: String,

    /// What not to paint (`negativeText`)
    #[arg(long, value_name = "TEXT")]
    negative: Option<String>,

    /// Labels of the subjects to keep, comma separated (sent as `maskPrompt`)
    #[arg(long, value_name = "LABELS", value_delimiter = ',', num_args = 1..)]
    labels: Vec<String>,

    /// Box to keep as fractions of the image: left,top,width,height (sent as a `maskImage`);
    /// repeat for several boxes
    #[arg(
        long = "mask-box",
        value_name = "LEFT,TOP,WIDTH,HEIGHT",
        allow_hyphen_values = true
    )]
    mask_box: Vec<String>,

    /// Outpainting mode
    #[arg(long, value_enum, default_value = "DEFAULT", ignore_case = true)]
    mode: ModeArg,

    /// Bedrock model id or inference profile id (Titan Image Generator v1/v2, Nova Canvas)
    #[arg(
        long,
        value_name = "ID",
        env = "MLPIPE_IMAGE_MODEL_ID",
        default_value = "amazon.titan-image-generator-v2:0"
    )]
    model: String,

    /// Number of images to generate (`numberOfImages`, 1-5)
    #[arg(long = "images", value_name = "N", default_value_t = 1)]
    images: u32,

    /// Seed (`seed`; 0-2147483646 for Titan, 0-858993459 for Nova Canvas)
    #[arg(long, value_name = "N", default_value_t = 0)]
    seed: u64,

    /// Quality
    #[arg(long, value_enum, default_value = "standard", ignore_case = true)]
    quality: QualityArg,

    /// How strictly to follow the prompt (`cfgScale`, 1.1-10)
    #[arg(long = "cfg-scale", value_name = "X", default_value_t = 8.0)]
    cfg_scale: f64,
}

pub fn run(args: BuildRequestArgs) -> anyhow::Result<ExitCode> {
    let model = Model::from_id(&args.model).map_err(|e| anyhow::anyhow!(e.message))?;
    let mask = if args.mask_box.is_empty() {
        Mask::Labels(args.labels)
    } else {
        let boxes = args
            .mask_box
            .iter()
            .map(|s| s.parse::<BoundingBox>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| anyhow::anyhow!(e.message))?;
        Mask::Boxes(boxes)
    };
    let job = OutpaintingJob {
        prompt: args.prompt,
        negative: args.negative,
        mask,
        mode: match args.mode {
            ModeArg::Default => OutPaintingMode::Default,
            ModeArg::Precise => OutPaintingMode::Precise,
        },
        options: GenerationOptions {
            number_of_images: args.images,
            quality: match args.quality {
                QualityArg::Standard => Quality::Standard,
                QualityArg::Premium => Quality::Premium,
            },
            cfg_scale: args.cfg_scale,
            seed: args.seed,
        },
    };
    let bytes = std::fs::read(&args.image)
        .with_context(|| format!("cannot read image {}", args.image.display()))?;
    let built = build_request(model, &bytes, &job).map_err(|e| {
        // Name the file for problems with the image; the other messages name their option's field.
        if e.message.starts_with("image:") {
            anyhow::anyhow!("{}: {}", args.image.display(), e.message)
        } else {
            anyhow::anyhow!(e.message)
        }
    })?;
    let t = built.transform;
    tracing::info!(
        model = model.id(),
        source_width = t.source_width,
        source_height = t.source_height,
        width = t.width,
        height = t.height,
        "request built"
    );
    let mut out = std::io::stdout().lock();
    out.write_all(built.to_json().as_bytes())?;
    out.write_all(b"\n")?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

//! `mlpipe images build-request`.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;
use image_background_core::{build_request, Family, Mask};

use super::options::GenerationArgs;

#[derive(Debug, Args)]
pub struct BuildRequestArgs {
    /// PNG or JPEG image (the format is read from the content, not the name)
    #[arg(value_name = "IMAGE")]
    image: PathBuf,

    #[command(flatten)]
    generation: GenerationArgs,

    /// Stability: which call's body to print, 0-based (--images N is N calls, call K with seed
    /// seed+K; seed 0 stays 0, a random seed per call). The legacy models make one call
    #[arg(long, value_name = "K", default_value_t = 0)]
    call: u32,
}

pub fn run(args: BuildRequestArgs) -> anyhow::Result<ExitCode> {
    let g = &args.generation;
    let model = g.model()?;
    let job = g.edit_job()?;
    g.check(model)?;
    if model.family() == Family::Stability {
        let needs = match job.mask {
            Mask::Boxes(_) => None,
            Mask::Labels(_) => Some(
                "--labels are resolved to boxes by Rekognition DetectLabels when the job runs",
            ),
            Mask::Subject => Some(
                "the main subject (--subject, the default without --labels or --mask-box) is found by a Stable Image Remove Background call when the job runs",
            ),
        };
        if let Some(why) = needs {
            anyhow::bail!(
                "mask: build-request needs --mask-box with {} (it makes no AWS call): {why}; `mlpipe images run` does that. Pass --mask-box LEFT,TOP,WIDTH,HEIGHT, or a legacy --model for --labels",
                model.id()
            );
        }
    }
    let calls = match model.family() {
        Family::Stability => g.images,
        Family::Outpainting => 1,
    };
    if args.call >= calls {
        anyhow::bail!(
            "--call: {}, must be 0 to {} ({calls} InvokeModel call(s) with --images {} and {})",
            args.call,
            calls - 1,
            g.images,
            model.id()
        );
    }
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
        calls = built.calls(),
        call = args.call,
        "request built"
    );
    let mut out = std::io::stdout().lock();
    out.write_all(built.body(args.call).as_bytes())?;
    out.write_all(b"\n")?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

//! `mlpipe images build-request`.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;
use shared::image::build_request;

use super::options::GenerationArgs;

#[derive(Debug, Args)]
pub struct BuildRequestArgs {
    /// PNG or JPEG image (the format is read from the content, not the name)
    #[arg(value_name = "IMAGE")]
    image: PathBuf,

    #[command(flatten)]
    generation: GenerationArgs,
}

pub fn run(args: BuildRequestArgs) -> anyhow::Result<ExitCode> {
    let model = args.generation.model()?;
    let job = args.generation.outpainting_job()?;
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

//! `mlpipe images ...`: Bedrock image background replacement (Stable Image Inpaint, or the
//! legacy Titan / Nova Canvas OUTPAINTING models).

mod build_request;
mod options;
mod run;

use std::process::ExitCode;

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the Bedrock InvokeModel request body the pipeline would send for IMAGE
    ///
    /// Checks that IMAGE is a PNG or JPEG, decodes it as displayed, fits it to a size the model
    /// accepts and prints the InvokeModel body as JSON on stdout. Makes no AWS call.
    ///
    /// Stable Image Inpaint (the default model): a flat snake_case body (image, prompt, mask,
    /// seed, output_format, and negative_prompt, grow_mask, style_preset when given) with a
    /// grayscale mask drawn from the --mask-box boxes (black = keep, white = repaint). Each
    /// call makes one image: --images N is N calls whose bodies differ only by seed
    /// (seed, seed+1, ..., seed+N-1; seed 0 = random in every call); --call K prints body K.
    /// --labels and --subject need AWS calls (Rekognition DetectLabels, Stable Image Remove
    /// Background) made when the job runs (`mlpipe images run`), so build-request needs
    /// --mask-box for this model.
    ///
    /// Legacy models (--model amazon.titan-image-generator-v1, amazon.titan-image-generator-v2:0,
    /// amazon.nova-canvas-v1:0): the OUTPAINTING body, sized to Titan's fixed list or Nova
    /// Canvas's rules, with either a maskPrompt (--labels) or a maskImage drawn from --mask-box.
    ///
    /// Exit status: 0 on success, 1 on invalid input (the message names the field) or an
    /// unreadable image, 2 on a usage error.
    BuildRequest(Box<build_request::BuildRequestArgs>),

    /// Run a whole job through the pipeline: upload DIR's images and a manifest, wait for the
    /// job, download the generated images and the report
    ///
    /// Uploads every *.png, *.jpg and *.jpeg of DIR to uploads/<job-id>/ in the upload bucket,
    /// writes the manifest jobs/<job-id>.json (which starts the job), follows the execution
    /// named by the job id, then writes the generated images (<image name>/<n>.png) and
    /// report.json, report.csv and report.html to --out. Every image keeps the same --labels or
    /// --mask-box boxes, or (the default) its main subject. The manifest names the model only
    /// when --model (or MLPIPE_IMAGE_MODEL_ID) is given, which must then be the stack's
    /// deployed model; otherwise the stack's model is used, and only the options given are
    /// written (the others take that model's defaults); with --model the options are checked
    /// against it before anything is uploaded. The buckets and the state machine
    /// default to the local cloud's (`source <(scripts/localcloud.sh env)` first); for a
    /// deployed stack pass its outputs. Exit status: 0 when every image succeeded, 1 when the
    /// manifest was rejected (reasons printed), an image failed or the job did not finish.
    Run(Box<run::RunArgs>),
}

pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::BuildRequest(args) => build_request::run(*args),
        Command::Run(args) => run::run(*args),
    }
}

//! `mlpipe images ...`: Bedrock image background replacement (outpainting).

mod build_request;
mod options;
mod run;

use std::process::ExitCode;

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the Bedrock OUTPAINTING request the pipeline would send for IMAGE
    ///
    /// Checks that IMAGE is a PNG or JPEG within the model's input limit, fits it to a size the
    /// model accepts (Titan's fixed list, or Nova Canvas's rules), and prints the InvokeModel
    /// body as JSON on stdout: the fitted image as base64 PNG, the prompt, and either a
    /// maskPrompt (--labels) or a maskImage drawn from --mask-box boxes (black = keep,
    /// white = repaint). Exit status: 0 on success, 1 on invalid input or an unreadable image,
    /// 2 on a usage error.
    BuildRequest(build_request::BuildRequestArgs),

    /// Run a whole job through the pipeline: upload DIR's images and a manifest, wait for the
    /// job, download the generated images and the report
    ///
    /// Uploads every *.png, *.jpg and *.jpeg of DIR to uploads/<job-id>/ in the upload bucket,
    /// writes the manifest jobs/<job-id>.json (which starts the job), follows the execution
    /// named by the job id, then writes the generated images (<image name>/<n>.png) and
    /// report.json, report.csv and report.html to --out. The buckets and the state machine
    /// default to the local cloud's (`source <(scripts/localcloud.sh env)` first); for a
    /// deployed stack pass its outputs. Exit status: 0 when every image succeeded, 1 when the
    /// manifest was rejected (reasons printed), an image failed or the job did not finish.
    Run(run::RunArgs),
}

pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::BuildRequest(args) => build_request::run(args),
        Command::Run(args) => run::run(args),
    }
}

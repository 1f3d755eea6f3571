//! `mlpipe images ...`: Bedrock image background replacement (outpainting).

mod build_request;

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
}

pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::BuildRequest(args) => build_request::run(args),
    }
}

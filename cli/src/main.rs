//! `mlpipe`: command-line tool for the mlpipe pipelines.

mod images;
mod location;
mod par;
mod segment;
mod transcripts;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "mlpipe",
    version,
    about = "Command-line tool for the mlpipe pipelines"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Genesys Cloud transcripts
    #[command(subcommand)]
    Transcripts(transcripts::Command),
    /// Bedrock image background replacement (Stable Image Inpaint; legacy Titan/Nova outpainting)
    #[command(subcommand)]
    Images(images::Command),
    /// Segment -> Amazon Personalize event forwarding
    #[command(subcommand)]
    Segment(segment::Command),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    shared::logging::init_cli("warn");
    let result = match cli.command {
        Command::Transcripts(command) => transcripts::run(command),
        Command::Images(command) => images::run(command),
        Command::Segment(command) => segment::run(command),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }
}

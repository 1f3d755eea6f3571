//! `mlpipe transcripts ...`: Genesys Cloud transcripts.

mod convert;
mod files;

use std::process::ExitCode;

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Convert Genesys Cloud transcript documents to Lex V2 automated chatbot designer files
    ///
    /// Reads every *.json document under INPUT (a directory, a single file, or
    /// s3://bucket/prefix), merges the documents of each conversation, and writes one
    /// <conversationId>_analysis_<YYYY-MM-DDTHH:MM:SSZ>.json file per conversation to OUTPUT.
    /// Conversations the designer cannot use (not en-US, no text) are skipped; documents that
    /// cannot be read are reported and the rest is still converted. Exit status: 0 when nothing
    /// failed, 1 otherwise.
    Convert(convert::ConvertArgs),
}

pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Convert(args) => convert::run(args),
    }
}

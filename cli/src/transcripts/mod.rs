//! `mlpipe transcripts ...`: Genesys Cloud transcripts.

mod backfill;
mod convert;
mod files;
mod redrive;

use std::process::ExitCode;

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Convert Genesys Cloud transcript documents to Lex V2 automated chatbot designer files
    ///
    /// Reads every *.json document under INPUT (a directory, a single file, or
    /// s3://bucket/prefix), merges the documents of each conversation, and writes one
    /// <conversationId>_analysis_<YYYY-MM-DDTHH:MM:SSZ>.json file per conversation to OUTPUT.
    /// Conversations the designer cannot use (no transcript in --designer-languages, no text,
    /// no transcripts) are skipped; transcripts in other languages are left out and listed per
    /// conversation; documents that cannot be read are reported and the rest is still converted.
    /// Exit status: 0 when nothing failed, 1 otherwise.
    Convert(convert::ConvertArgs),
    /// Replay parked transcript events once the cause is fixed
    ///
    /// Moves the events parked in --from (GenesysFetcherFailureQueueUrl: transcripts that never
    /// became available within GenesysTranscriptWaitMinutes, permanent failures; or
    /// GenesysEventsDLQUrl) onto the fetcher's wait queue --to (GenesysTranscriptWaitQueueUrl)
    /// with a new waiting window. Messages without an event stay in place (exit status 1).
    Redrive(redrive::RedriveArgs),
    /// Convert the raw transcripts already in the raw bucket, at any size, on AWS
    ///
    /// Starts the transcript backfill state machine (--state-machine-arn, the stack output
    /// GenesysBackfillStateMachineArn): it lists the prefix, converts the conversations in
    /// batches in a Distributed Map, and writes a report (JSON and CSV) under
    /// backfills/<run id>/ in the raw bucket, published to GenesysBackfillTopicArn. Waits for
    /// it and prints the counts. Exit status: 0 when the run finished with nothing failed, 1
    /// otherwise. For transcripts on this machine, use `convert`.
    Backfill(backfill::BackfillArgs),
}

pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Convert(args) => convert::run(args),
        Command::Redrive(args) => redrive::run(args),
        Command::Backfill(args) => backfill::run(args),
    }
}

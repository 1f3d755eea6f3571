//! `mlpipe segment ...`: Segment -> Amazon Personalize.

mod map;

use std::process::ExitCode;

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the Personalize PutEvents / PutUsers requests the forwarder would send
    ///
    /// Reads Segment messages from FILE (or standard input with -): one message, a JSON array
    /// of messages, or JSON lines (one message per line); the layout is detected. Maps them as
    /// the forwarder does, with the same configuration (the environment variables
    /// PERSONALIZE_TRACKING_ID, PERSONALIZE_USERS_DATASET_ARN, EVENT_TYPE_MAP, ITEM_ID_PATHS,
    /// EVENT_VALUE_PATH, EVENT_PROPERTIES, USER_TRAITS, SESSION_ID_PREFIX, or --config FILE),
    /// groups them as one batch (by session, at most 10 events or 10 users per request), and
    /// prints each request body as one line of JSON on stdout: PutEvents requests first (they
    /// have "trackingId"), then PutUsers requests (they have "datasetArn"). Each body is valid
    /// input for `aws personalize-events put-events --cli-input-json` (or put-users).
    ///
    /// Without EVENT_TYPE_MAP, the built-in mapping of Segment's e-commerce events applies
    /// (Product Viewed -> View, Product Clicked -> Click, Product Added -> AddToCart, Order
    /// Completed -> Purchase, ...): other events are ignored.
    ///
    /// Messages that cannot be sent are reported on stderr as `message N: field: reason` (N is
    /// the 0-based index of the message in the input), messages deliberately not forwarded as
    /// `message N: ignored: reason`, and optional fields left out of a request that is printed
    /// as `message N: warning: field: reason`; the valid ones are still printed. Exit status: 0
    /// when every message was valid (warnings included), 1 when any was invalid or the input or
    /// configuration is unusable, 2 on a usage error.
    Map(map::MapArgs),
}

pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Map(args) => map::run(args),
    }
}

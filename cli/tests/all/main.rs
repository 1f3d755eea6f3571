//! The crate's integration tests, one binary (each file a module): linking a test binary
//! against the AWS SDK costs seconds each on a small machine.

mod images_build_request;
mod images_run;
mod segment_map;
mod transcripts_convert;

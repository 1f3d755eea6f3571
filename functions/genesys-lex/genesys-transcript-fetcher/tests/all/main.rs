//! The crate's integration tests, one binary (each file a module): linking a test binary
//! against the AWS SDK costs seconds each on a small machine.

mod emulator;
mod handler;
mod scripted;
mod waiting;

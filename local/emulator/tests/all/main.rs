//! The crate's integration tests, one binary (each file a module): linking a test binary
//! against the AWS SDK costs seconds each on a small machine.

mod bedrock;
mod genesys;
mod iam;
mod personalize;
mod personalize_model;
mod sample_documents;

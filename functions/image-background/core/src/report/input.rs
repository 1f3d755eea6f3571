//! The report step's input, from the state machine: `{"jobId", "bucket", "itemsKey"}` (other
//! fields ignored; `bucket` and `itemsKey` go together and may both be left out: the old input
//! `{"jobId"}` builds the report from the status rows alone). Errors are `InvalidInput` naming
//! the field.

use serde_json::Value;
use shared_core::PipelineError;

use crate::job_id::{JobId, MAX_JOB_ID_CHARS};

/// Longest object key (S3's limit, in bytes).
pub const MAX_KEY_BYTES: usize = 1024;

/// The validated input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    pub job_id: JobId,
    /// The items file, `None` with the old input (`{"jobId"}` only).
    pub items: Option<ItemsFile>,
}

/// Where the job's items file is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemsFile {
    pub bucket: String,
    pub key: String,
}

/// The validated input: `jobId`, and `bucket` with `itemsKey` (both or neither).
pub fn parse_input(event: &Value) -> Result<Input, PipelineError> {
    let job_id = job_id(event)?;
    let bucket = optional_string(event, "bucket")?;
    let key = optional_string(event, "itemsKey")?;
    let items = match (bucket, key) {
        (None, None) => None,
        (Some(_), None) => {
            return Err(PipelineError::invalid_input(
                "itemsKey: missing (bucket is given; pass both or neither)",
            ))
        }
        (None, Some(_)) => {
            return Err(PipelineError::invalid_input(
                "bucket: missing (itemsKey is given; pass both or neither)",
            ))
        }
        (Some(bucket), Some(key)) => {
            validate_bucket(&bucket)?;
            validate_items_key(&key)?;
            Some(ItemsFile { bucket, key })
        }
    };
    Ok(Input { job_id, items })
}

fn optional_string(event: &Value, field: &str) -> Result<Option<String>, PipelineError> {
    match event.get(field) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(PipelineError::invalid_input(format!(
            "{field}: must be a string"
        ))),
    }
}

/// An S3 bucket name: 3-63 lower-case letters, digits, `.` and `-`, starting and ending with a
/// letter or digit.
fn validate_bucket(bucket: &str) -> Result<(), PipelineError> {
    let b = bucket.as_bytes();
    let ok = (3..=63).contains(&b.len())
        && b.iter()
            .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'.' || c == b'-')
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric();
    if ok {
        Ok(())
    } else {
        let shown: String = bucket.chars().take(64).collect();
        Err(PipelineError::invalid_input(format!(
            "bucket: {shown:?} is not an S3 bucket name (3-63 lower-case letters, digits, '.' or '-')"
        )))
    }
}

/// An object key: 1-1024 bytes, no control characters, not a folder.
fn validate_items_key(key: &str) -> Result<(), PipelineError> {
    let problem = if key.trim().is_empty() {
        Some("empty")
    } else if key.len() > MAX_KEY_BYTES {
        Some("longer than 1024 bytes")
    } else if key.chars().any(char::is_control) {
        Some("has control characters")
    } else if key.ends_with('/') {
        Some("is a folder, not an object")
    } else {
        None
    };
    match problem {
        None => Ok(()),
        Some(p) => {
            let shown: String = key.chars().take(100).collect();
            Err(PipelineError::invalid_input(format!(
                "itemsKey: {shown:?} {p}"
            )))
        }
    }
}

/// The validated `jobId` of the event.
pub fn job_id(event: &Value) -> Result<JobId, PipelineError> {
    let id = match event.get("jobId") {
        Some(Value::String(s)) => s,
        Some(_) => return Err(PipelineError::invalid_input("jobId: must be a string")),
        None => return Err(PipelineError::invalid_input("jobId: missing")),
    };
    JobId::parse(id.as_str()).map_err(|e| {
        let shown: String = id.chars().take(MAX_JOB_ID_CHARS + 1).collect();
        PipelineError::invalid_input(format!("jobId: {shown:?}: {e}"))
    })
}

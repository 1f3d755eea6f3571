//! The job id: letters, digits, `-` and `_`, 1 to [`MAX_JOB_ID_CHARS`] characters. It names the
//! manifest (`jobs/<id>.json`), the items file, the Step Functions execution (whose name limit
//! is 80), the status rows, the generated images' folder and the report's.
//!
//! Parsed once, at the edge ([`JobId::parse`], or deserialising a [`JobId`] field, which
//! validates): everything past that holds a valid id. Errors say what is wrong without naming
//! the field; callers prefix it (`job.jobId: ...`, `jobId: ...`, `--job-id: ...`).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The longest job id (the Step Functions execution name limit).
pub const MAX_JOB_ID_CHARS: usize = 80;

/// A valid job id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct JobId(String);

/// Why a string is not a job id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JobIdError {
    /// Empty or longer than [`MAX_JOB_ID_CHARS`]; the number of characters given.
    #[error("{0} characters, must be 1 to {MAX_JOB_ID_CHARS}")]
    Length(usize),
    /// A character other than a letter, a digit, `-` or `_`.
    #[error("only letters, digits, '-' and '_' are allowed")]
    Characters,
}

impl JobId {
    /// Checks `id`: 1 to 80 characters, each an ASCII letter or digit, `-` or `_`.
    pub fn parse(id: impl Into<String>) -> Result<JobId, JobIdError> {
        let id = id.into();
        let n = id.chars().count();
        if n == 0 || n > MAX_JOB_ID_CHARS {
            return Err(JobIdError::Length(n));
        }
        if !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(JobIdError::Characters);
        }
        Ok(JobId(id))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl AsRef<str> for JobId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for JobId {
    type Err = JobIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        JobId::parse(s)
    }
}

impl TryFrom<String> for JobId {
    type Error = JobIdError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        JobId::parse(s)
    }
}

impl From<JobId> for String {
    fn from(id: JobId) -> String {
        id.0
    }
}

impl PartialEq<str> for JobId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for JobId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<String> for JobId {
    fn eq(&self, other: &String) -> bool {
        &self.0 == other
    }
}

impl Serialize for JobId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// Deserialising validates: a bad id is an error of the field that holds it
/// (`job.jobId: 81 characters, must be 1 to 80`).
impl<'de> Deserialize<'de> for JobId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        JobId::parse(s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_ids_are_letters_digits_dashes_and_underscores() {
        for ok in ["a", "shoes-2026_11", "A9", &"x".repeat(80)] {
            let id = JobId::parse(ok).unwrap();
            assert_eq!(id.as_str(), ok);
            assert_eq!(id.to_string(), ok);
            assert_eq!(id, ok);
        }
        assert_eq!(JobId::parse(""), Err(JobIdError::Length(0)));
        assert_eq!(JobId::parse("x".repeat(81)), Err(JobIdError::Length(81)));
        for bad in ["a b", "../etc", "job/1", "bad.id!", "é", "a+b"] {
            assert_eq!(JobId::parse(bad), Err(JobIdError::Characters), "{bad}");
        }
        assert_eq!(
            JobIdError::Length(81).to_string(),
            "81 characters, must be 1 to 80"
        );
        assert_eq!(
            JobIdError::Characters.to_string(),
            "only letters, digits, '-' and '_' are allowed"
        );
    }

    #[test]
    fn serde_validates_and_writes_the_plain_string() {
        let id: JobId = serde_json::from_value(serde_json::json!("job-1")).unwrap();
        assert_eq!(serde_json::to_value(&id).unwrap(), "job-1");
        let err = serde_json::from_value::<JobId>(serde_json::json!("a b")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "only letters, digits, '-' and '_' are allowed"
        );
        assert!(serde_json::from_value::<JobId>(serde_json::json!(7)).is_err());
    }
}

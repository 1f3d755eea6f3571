//! The Genesys OAuth client credentials, kept in AWS Secrets Manager as
//! `{"clientId": "...", "clientSecret": "..."}`.
//!
//! Neither the secret string nor the client secret ever appears in an error, a log line or a
//! `Debug` output.

use std::fmt;

use serde::Deserialize;
use shared_core::PipelineError;

/// OAuth client-credentials pair.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Credentials {
    pub client_id: String,
    pub client_secret: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .finish()
    }
}

impl Credentials {
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
        }
    }

    /// Parses the secret JSON. Errors are `Misconfigured`, name the secret and the missing key,
    /// and never quote the content.
    pub fn from_secret_json(secret_id: &str, json: &str) -> Result<Self, PipelineError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Raw {
            client_id: Option<serde_json::Value>,
            client_secret: Option<serde_json::Value>,
        }
        let raw: Raw = serde_json::from_str(json).map_err(|_| {
            PipelineError::misconfigured(format!(
                "secret {secret_id}: expected a JSON object {{\"clientId\": ..., \"clientSecret\": ...}}"
            ))
        })?;
        let field = |value: Option<serde_json::Value>, key: &str| match value {
            Some(serde_json::Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
            Some(serde_json::Value::String(_)) | None | Some(serde_json::Value::Null) => {
                Err(PipelineError::misconfigured(format!(
                    "secret {secret_id}: key {key} is missing or empty"
                )))
            }
            Some(_) => Err(PipelineError::misconfigured(format!(
                "secret {secret_id}: key {key} must be a string"
            ))),
        };
        Ok(Self {
            client_id: field(raw.client_id, "clientId")?,
            client_secret: field(raw.client_secret, "clientSecret")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use shared_core::ErrorKind;

    use super::*;

    #[test]
    fn parses_and_redacts() {
        let c =
            Credentials::from_secret_json("s", r#"{"clientId":"id","clientSecret":"top-secret"}"#)
                .unwrap();
        assert_eq!(c, Credentials::new("id", "top-secret"));
        assert!(!format!("{c:?}").contains("top-secret"));
    }

    #[test]
    fn errors_name_the_key_and_hide_the_content() {
        let err = Credentials::from_secret_json("s", r#"{"clientId":"id","clientSecret":""}"#)
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Misconfigured);
        assert!(err.message.contains("clientSecret"), "{err}");
        let err = Credentials::from_secret_json("s", r#"{"clientSecret":"hunter2"}"#).unwrap_err();
        assert!(err.message.contains("clientId"), "{err}");
        assert!(!err.message.contains("hunter2"));
        let err = Credentials::from_secret_json("s", "hunter2").unwrap_err();
        assert_eq!(err.kind, ErrorKind::Misconfigured);
        assert!(!err.message.contains("hunter2"));
        let err =
            Credentials::from_secret_json("s", r#"{"clientId":1,"clientSecret":"x"}"#).unwrap_err();
        assert!(err.message.contains("clientId must be a string"), "{err}");
    }
}

//! The transcript documents the emulator serves, keyed by conversation and communication id.
//!
//! A document is kept byte for byte as it was loaded or registered, so clients download exactly
//! what a fixture file holds.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use axum::body::Bytes;
use serde_json::Value;

/// Organization id used when a document does not name one.
pub const DEFAULT_ORGANIZATION_ID: &str = "00000000-0000-0000-0000-000000000000";

/// Identifies one transcript: a communication within a conversation.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DocKey {
    pub conversation_id: String,
    pub communication_id: String,
}

impl DocKey {
    pub fn new(conversation_id: impl Into<String>, communication_id: impl Into<String>) -> Self {
        Self {
            conversation_id: conversation_id.into(),
            communication_id: communication_id.into(),
        }
    }
}

impl fmt::Display for DocKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.conversation_id, self.communication_id)
    }
}

/// Where a served document came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Loaded from this fixture file at start.
    Fixture(PathBuf),
    /// Registered through the admin API.
    Admin,
}

/// A transcript document and how the API answers for it.
#[derive(Debug, Clone)]
pub struct Document {
    /// `organizationId` of the document (part of the download path).
    pub organization_id: String,
    /// The document, exactly as loaded or registered.
    pub body: Bytes,
    /// How many more `transcripturl` calls answer 404 before the transcript is ready.
    pub not_ready_remaining: u32,
    /// The transcript will never be available (an archived or deleted recording).
    pub gone: bool,
    pub origin: Origin,
}

/// The ids a document declares about itself.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct DeclaredIds {
    pub organization_id: Option<String>,
    pub conversation_id: Option<String>,
    pub communication_id: Option<String>,
}

/// The UTF-8 byte-order mark Windows tools write before a document. Genesys clients and the
/// converter ignore it, so the emulator reads past it too (and still serves the bytes as
/// they are).
const BYTE_ORDER_MARK: &[u8] = b"\xEF\xBB\xBF";

/// Parses `body` as JSON (after a byte-order mark, if any) and reads its top-level
/// `organizationId`, `conversationId` and `communicationId` strings (each optional).
pub fn declared_ids(body: &[u8]) -> Result<DeclaredIds, String> {
    let body = body.strip_prefix(BYTE_ORDER_MARK).unwrap_or(body);
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("the document is not valid JSON: {e}"))?;
    let Some(object) = value.as_object() else {
        return Ok(DeclaredIds::default());
    };
    let field = |name: &str| -> Result<Option<String>, String> {
        match object.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
            Some(_) => Err(format!("`{name}` must be a non-empty string")),
        }
    };
    Ok(DeclaredIds {
        organization_id: field("organizationId")?,
        conversation_id: field("conversationId")?,
        communication_id: field("communicationId")?,
    })
}

/// Loads every `*.json` file directly in `dir` (sorted by name). Each must be a transcript
/// document naming its own `conversationId` and `communicationId`; two files for the same pair
/// are an error.
pub fn load_fixtures(dir: &Path) -> anyhow::Result<BTreeMap<DocKey, Document>> {
    let entries = std::fs::read_dir(dir)
        .with_context(|| format!("reading the fixtures directory {}", dir.display()))?;
    let mut paths = Vec::new();
    for entry in entries {
        let path = entry
            .with_context(|| format!("listing {}", dir.display()))?
            .path();
        if path.extension().is_some_and(|ext| ext == "json") && path.is_file() {
            paths.push(path);
        }
    }
    paths.sort();

    let mut documents = BTreeMap::new();
    for path in paths {
        let (key, document) = load_fixture(&path)?;
        if let Some(Document {
            origin: Origin::Fixture(previous_path),
            ..
        }) = documents.get(&key)
        {
            bail!(
                "{} and {} are both for conversation/communication {key}",
                previous_path.display(),
                path.display()
            );
        }
        documents.insert(key, document);
    }
    Ok(documents)
}

fn load_fixture(path: &Path) -> anyhow::Result<(DocKey, Document)> {
    let body = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let ids = declared_ids(&body).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let (Some(conversation_id), Some(communication_id)) =
        (ids.conversation_id, ids.communication_id)
    else {
        bail!(
            "{}: a fixture must name its `conversationId` and `communicationId`",
            path.display()
        );
    };
    let document = Document {
        organization_id: ids
            .organization_id
            .unwrap_or_else(|| DEFAULT_ORGANIZATION_ID.to_owned()),
        body: Bytes::from(body),
        not_ready_remaining: 0,
        gone: false,
        origin: Origin::Fixture(path.to_owned()),
    };
    Ok((DocKey::new(conversation_id, communication_id), document))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_declared_ids() {
        let ids = declared_ids(
            br#"{"organizationId":"o","conversationId":"c","communicationId":"m","x":1}"#,
        )
        .unwrap();
        assert_eq!(ids.organization_id.as_deref(), Some("o"));
        assert_eq!(ids.conversation_id.as_deref(), Some("c"));
        assert_eq!(ids.communication_id.as_deref(), Some("m"));
    }

    #[test]
    fn ids_are_optional_but_must_be_strings() {
        assert_eq!(declared_ids(b"[1,2]").unwrap(), DeclaredIds::default());
        assert!(declared_ids(br#"{"conversationId":5}"#).is_err());
        assert!(declared_ids(b"not json").is_err());
    }

    #[test]
    fn a_byte_order_mark_is_read_past_and_kept() {
        let fixture = std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../events/genesys/fixtures/transcript_windows_export_bom.json"),
        )
        .unwrap();
        assert!(fixture.starts_with(BYTE_ORDER_MARK));
        assert_eq!(
            declared_ids(&fixture).unwrap(),
            declared_ids(&fixture[BYTE_ORDER_MARK.len()..]).unwrap()
        );
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("export.json"), &fixture).unwrap();
        let docs = load_fixtures(dir.path()).unwrap();
        let key = DocKey::new(
            "0b7c2e91-4d3a-4f6e-8a15-c93d7e2f1a08",
            "a41e9d7c-2b58-4c3f-9e06-7d1b5f8c2e93",
        );
        assert_eq!(
            docs[&key].organization_id,
            "6d1f3c2a-8b4e-4f0a-9c7d-2e5b8a1f3c64"
        );
        // Served as stored, mark included.
        assert_eq!(docs[&key].body, fixture);
        // Only at the start.
        let mut late = b" ".to_vec();
        late.extend_from_slice(&fixture);
        assert!(declared_ids(&late).is_err());
    }

    #[test]
    fn duplicate_fixtures_are_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let doc = r#"{"conversationId":"c","communicationId":"m"}"#;
        std::fs::write(dir.path().join("a.json"), doc).unwrap();
        std::fs::write(dir.path().join("b.json"), doc).unwrap();
        let err = load_fixtures(dir.path()).unwrap_err().to_string();
        assert!(err.contains("a.json") && err.contains("b.json"), "{err}");
    }

    #[test]
    fn fixture_without_ids_is_rejected_by_name() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("bad.json"), r#"{"conversationId":"c"}"#).unwrap();
        let err = load_fixtures(dir.path()).unwrap_err().to_string();
        assert!(err.contains("bad.json"), "{err}");
    }

    #[test]
    fn only_json_files_are_loaded() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("one.json"),
            r#"{"organizationId":"org","conversationId":"c","communicationId":"m"}"#,
        )
        .unwrap();
        std::fs::write(dir.path().join("README.md"), "not a fixture").unwrap();
        let docs = load_fixtures(dir.path()).unwrap();
        assert_eq!(docs.len(), 1);
        assert_eq!(docs[&DocKey::new("c", "m")].organization_id, "org");
    }
}

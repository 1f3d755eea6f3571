//! The S3 key layout of the pipeline, in one place.
//!
//! | object | bucket | key |
//! |---|---|---|
//! | raw transcript (fetcher output) | raw | `<RAW_PREFIX><conversationId>/<communicationId>.json` |
//! | designer file (converter output) | transformed | `<OUTPUT_PREFIX>/<conversationId>_analysis_<YYYY-MM-DDTHH:MM:SSZ>.json` |
//! | copy of a malformed raw document | raw | `<FAILED_PREFIX><raw key>` |
//! | why it is malformed | raw | `<FAILED_PREFIX><raw key>.error.json` |
//! | why a conversation was skipped | raw | `<SKIPPED_PREFIX><raw key>.reason.json` |
//!
//! Prefixes given as `RAW_PREFIX`, `FAILED_PREFIX` and `SKIPPED_PREFIX` are empty or end in `/`
//! (the settings normalise them); `OUTPUT_PREFIX` is joined with one `/`, see [`output_key`].

/// The key of a communication's raw transcript document. It depends only on the two ids, so a
/// redelivered event overwrites the same object instead of duplicating it.
pub fn raw_key(raw_prefix: &str, conversation_id: &str, communication_id: &str) -> String {
    format!("{raw_prefix}{conversation_id}/{communication_id}.json")
}

/// Whether `key` is a raw document the converter converts: a `.json` key under `raw_prefix`.
pub fn is_raw_document(raw_prefix: &str, key: &str) -> bool {
    key.starts_with(raw_prefix) && key.ends_with(".json")
}

/// The conversation folder `<raw_prefix><conversationId>/` a raw document key lies in, if its
/// first segment below `raw_prefix` is a non-empty folder name. A key directly under the prefix
/// (a loose file) has none.
pub fn conversation_folder(raw_prefix: &str, key: &str) -> Option<String> {
    let rest = key.strip_prefix(raw_prefix)?;
    match rest.split_once('/') {
        Some((conversation, _)) if !conversation.is_empty() => {
            Some(format!("{raw_prefix}{conversation}/"))
        }
        _ => None,
    }
}

/// The `.json` documents directly in a conversation folder (not in subfolders), from a listing
/// of it, in listing order.
pub fn folder_members(folder: &str, listed: impl IntoIterator<Item = String>) -> Vec<String> {
    listed
        .into_iter()
        .filter(|k| {
            k.ends_with(".json")
                && k.strip_prefix(folder)
                    .is_some_and(|member| !member.is_empty() && !member.contains('/'))
        })
        .collect()
}

/// The raw documents of one conversation folder ([`folder_members`]), plus `trigger` (the key
/// an event names) when the listing does not have it yet (or no longer has it). In key order.
pub fn folder_documents(
    folder: &str,
    listed: impl IntoIterator<Item = String>,
    trigger: &str,
) -> Vec<String> {
    let mut keys = folder_members(folder, listed);
    if !keys.iter().any(|k| k == trigger) {
        keys.push(trigger.to_owned());
        keys.sort();
    }
    keys
}

/// What a raw document is converted with: its conversation folder
/// `<raw_prefix><conversationId>/` when the key lies directly in one, else the key itself (a loose
/// document, or one deeper than a folder).
pub fn source_of(raw_prefix: &str, key: &str) -> String {
    conversation_folder(raw_prefix, key)
        .filter(|folder| !key[folder.len()..].contains('/'))
        .unwrap_or_else(|| key.to_owned())
}

/// Joins an output prefix (with or without a trailing `/`) and a file name.
pub fn output_key(prefix: &str, file_name: &str) -> String {
    let prefix = prefix.trim_matches('/');
    if prefix.is_empty() {
        file_name.to_owned()
    } else {
        format!("{prefix}/{file_name}")
    }
}

/// Where a copy of the malformed raw document `key` is kept.
pub fn failed_copy_key(failed_prefix: &str, key: &str) -> String {
    format!("{failed_prefix}{key}")
}

/// The reason file next to [`failed_copy_key`]: `{"source", "errorType", "field", "error"}`.
pub fn failed_reason_key(failed_prefix: &str, key: &str) -> String {
    format!("{}.error.json", failed_copy_key(failed_prefix, key))
}

/// The reason file of a raw document whose conversation was skipped:
/// `{"source", "conversationId", "reason"}`.
pub fn skipped_reason_key(skipped_prefix: &str, key: &str) -> String {
    format!("{skipped_prefix}{key}.reason.json")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(keys: &[&str]) -> Vec<String> {
        keys.iter().map(|k| (*k).to_owned()).collect()
    }

    #[test]
    fn raw_keys_depend_only_on_the_ids() {
        assert_eq!(raw_key("genesys/", "c-1", "m-1"), "genesys/c-1/m-1.json");
        assert_eq!(raw_key("", "c", "m"), "c/m.json");
        assert!(is_raw_document("genesys/", "genesys/c/m.json"));
        assert!(!is_raw_document("genesys/", "genesys/c/m.txt"));
        assert!(!is_raw_document("genesys/", "failed/genesys/c/m.json"));
    }

    #[test]
    fn folders_are_the_first_segment_below_the_prefix() {
        assert_eq!(
            conversation_folder("genesys/", "genesys/conv-9/b.json").as_deref(),
            Some("genesys/conv-9/")
        );
        assert_eq!(
            conversation_folder("genesys/", "genesys/conv-9/sub/b.json").as_deref(),
            Some("genesys/conv-9/")
        );
        assert_eq!(conversation_folder("genesys/", "genesys/loose.json"), None);
        assert_eq!(conversation_folder("genesys/", "genesys//x.json"), None);
        assert_eq!(conversation_folder("genesys/", "other/c/x.json"), None);
    }

    #[test]
    fn folder_documents_are_direct_json_members_and_the_trigger() {
        let listed = strings(&[
            "genesys/c/a.json",
            "genesys/c/b.txt",
            "genesys/c/sub/x.json",
            "genesys/c/c.json",
        ]);
        assert_eq!(
            folder_documents("genesys/c/", listed.clone(), "genesys/c/c.json"),
            strings(&["genesys/c/a.json", "genesys/c/c.json"])
        );
        // Not listed yet: added, in key order.
        assert_eq!(
            folder_documents("genesys/c/", listed, "genesys/c/b.json"),
            strings(&["genesys/c/a.json", "genesys/c/b.json", "genesys/c/c.json"])
        );
        assert_eq!(
            folder_documents("genesys/c/", Vec::new(), "genesys/c/gone.json"),
            strings(&["genesys/c/gone.json"])
        );
    }

    #[test]
    fn documents_belong_to_their_conversation_folder_and_loose_files_stand_alone() {
        for (key, source) in [
            ("genesys/b/2.json", "genesys/b/"),
            ("genesys/loose.json", "genesys/loose.json"),
            ("genesys/a/deep/x.json", "genesys/a/deep/x.json"),
            ("genesys//x.json", "genesys//x.json"),
        ] {
            assert_eq!(source_of("genesys/", key), source, "{key}");
        }
    }

    #[test]
    fn output_keys_join_prefixes() {
        assert_eq!(output_key("lex-designer", "a.json"), "lex-designer/a.json");
        assert_eq!(output_key("/lex/", "a.json"), "lex/a.json");
        assert_eq!(output_key("", "a.json"), "a.json");
    }

    #[test]
    fn parked_objects_sit_beside_their_source_key() {
        let key = "genesys/conv-x/comm-x.json";
        assert_eq!(
            failed_copy_key("failed/", key),
            "failed/genesys/conv-x/comm-x.json"
        );
        assert_eq!(
            failed_reason_key("failed/", key),
            "failed/genesys/conv-x/comm-x.json.error.json"
        );
        assert_eq!(
            skipped_reason_key("skipped/", key),
            "skipped/genesys/conv-x/comm-x.json.reason.json"
        );
    }
}

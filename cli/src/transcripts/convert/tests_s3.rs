//! `mlpipe transcripts convert` from S3, in process, on a store of our own: conversations
//! grouped by the raw key layout without a request, loose keys by the scanner, documents filed
//! in another conversation's folder converted with their own conversation, and the same
//! outputs and summary as from a local directory with the same files.

use std::collections::BTreeMap;
use std::fs;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use clap::Parser;
use serde_json::json;
use shared::store::{not_found_error, ObjectStore};
use shared::PipelineError;

use super::{convert_with, ConvertArgs};
use crate::location::Location;
use crate::transcripts::files::{Remote, Store};

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: ConvertArgs,
}

fn args(input: &str, out: &str) -> ConvertArgs {
    Cli::try_parse_from(["convert", input, "--out", out])
        .unwrap()
        .args
}

/// An in-memory bucket that counts the reads of each key (a read of an object's start counts
/// as `<key>#head`).
#[derive(Clone, Default)]
struct Bucket {
    objects: Arc<Mutex<BTreeMap<String, Bytes>>>,
    gets: Arc<Mutex<BTreeMap<String, usize>>>,
}

impl Bucket {
    fn keys(&self, prefix: &str) -> Vec<(String, Bytes)> {
        let objects = self.objects.lock().unwrap();
        let under = objects.iter().filter(|(k, _)| k.starts_with(prefix));
        under
            .map(|(k, v)| (k[prefix.len()..].to_owned(), v.clone()))
            .collect()
    }
}

impl ObjectStore for Bucket {
    async fn get(&self, bucket: &str, key: &str) -> Result<Bytes, PipelineError> {
        *self.gets.lock().unwrap().entry(key.to_owned()).or_default() += 1;
        let objects = self.objects.lock().unwrap();
        objects
            .get(key)
            .cloned()
            .ok_or_else(|| not_found_error(bucket, key))
    }

    async fn put(&self, _: &str, key: &str, body: Bytes, _: &str) -> Result<(), PipelineError> {
        self.objects.lock().unwrap().insert(key.to_owned(), body);
        Ok(())
    }

    async fn list(&self, _: &str, prefix: &str) -> Result<Vec<String>, PipelineError> {
        let objects = self.objects.lock().unwrap();
        Ok(objects
            .keys()
            .filter(|k| k.starts_with(prefix))
            .cloned()
            .collect())
    }
}

impl Store for Bucket {
    async fn delete(&self, _: &str, key: &str) -> Result<(), String> {
        self.objects.lock().unwrap().remove(key);
        Ok(())
    }

    async fn get_head(&self, bucket: &str, key: &str, len: usize) -> Result<Bytes, PipelineError> {
        *self
            .gets
            .lock()
            .unwrap()
            .entry(format!("{key}#head"))
            .or_default() += 1;
        let objects = self.objects.lock().unwrap();
        let body = objects
            .get(key)
            .ok_or_else(|| not_found_error(bucket, key))?;
        Ok(body.slice(..len.min(body.len())))
    }
}

/// A raw document in the published shape: one transcript, one phrase at `start` + 1 s.
fn doc(conversation: &str, communication: &str, start: i64, text: &str) -> Vec<u8> {
    serde_json::to_vec_pretty(&json!({
        "organizationId": "00000000-0000-0000-0000-000000000001",
        "conversationId": conversation,
        "communicationId": communication,
        "mediaType": "call",
        "conversationStartTime": start,
        "startTime": start,
        "participants": [{"participantPurpose": "customer"}],
        "transcripts": [{
            "transcriptId": format!("t-{communication}"),
            "language": "en-US",
            "phrases": [{
                "phraseIndex": 0,
                "participantPurpose": "external",
                "text": text,
                "startTimeMs": start + 1000,
                "words": [{"word": "x", "confidence": 0.9}]
            }]
        }]
    }))
    .unwrap()
}

/// Converts `files` (key below the prefix, bytes) from S3 and from a local directory with the
/// same layout; returns both summaries (locations replaced by `IN`/`OUT`), both outputs, and
/// the number of reads of each S3 key.
#[allow(clippy::type_complexity)]
fn both(
    files: &[(&str, Vec<u8>)],
) -> (
    [String; 2],
    [Vec<(String, Bytes)>; 2],
    BTreeMap<String, usize>,
) {
    let bucket = Bucket::default();
    for (key, body) in files {
        let body = Bytes::from(body.clone());
        bucket
            .objects
            .lock()
            .unwrap()
            .insert(format!("raw/{key}"), body);
    }
    let remote = Remote {
        rt: tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap(),
        store: bucket.clone(),
    };
    let s3 = convert_with(&args("s3://b/raw/", "s3://b/designer"), Some(remote)).unwrap();
    let s3_text = s3
        .render(&Location::parse("s3://b/designer").unwrap())
        .replace("s3://b/raw/", "IN/")
        .replace("s3://b/designer", "OUT");

    let dir = tempfile::tempdir().unwrap();
    let (input, out) = (dir.path().join("in"), dir.path().join("out"));
    for (key, body) in files {
        let path = input.join(key);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, body).unwrap();
    }
    let local = args(input.to_str().unwrap(), out.to_str().unwrap());
    let local = convert_with::<Bucket>(&local, None).unwrap();
    let local_text = local
        .render(&Location::Local(out.clone()))
        .replace(&format!("{}/", input.display()), "IN/")
        .replace(out.to_str().unwrap(), "OUT");
    let mut written: Vec<(String, Bytes)> = fs::read_dir(&out)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy().into_owned();
            (name, Bytes::from(fs::read(e.path()).unwrap()))
        })
        .collect();
    written.sort();
    let gets = bucket.gets.lock().unwrap().clone();
    (
        [s3_text, local_text],
        [bucket.keys("designer/"), written],
        gets,
    )
}

#[test]
fn raw_folders_are_grouped_without_a_request_and_loose_keys_by_their_id() {
    let files = [
        ("c-1/m-1.json", doc("c-1", "m-1", 1_750_000_000_000, "one")),
        ("c-1/m-2.json", doc("c-1", "m-2", 1_750_000_000_000, "two")),
        // The same conversation as a loose key and one deeper: found by the scanner.
        (
            "loose-c-1.json",
            doc("c-1", "m-3", 1_750_000_000_000, "three"),
        ),
        (
            "2025/06/c-1.json",
            doc("c-1", "m-4", 1_750_000_000_000, "four"),
        ),
        (
            "c-2/m-1.json",
            doc("c-2", "m-1", 1_750_000_100_000, "other"),
        ),
        (
            "c-3/broken.json",
            b"{\"conversationId\": \"c-3\", ".to_vec(),
        ),
    ];
    let ([s3, local], [s3_out, local_out], gets) = both(&files);
    assert_eq!(s3, local);
    assert_eq!(s3_out, local_out);
    assert!(
        s3.starts_with("converted: 2  skipped: 0  failed: 1  (6 input documents)\n"),
        "{s3}"
    );
    assert_eq!(s3_out.len(), 2);
    let c1: serde_json::Value = serde_json::from_slice(&s3_out[0].1).unwrap();
    assert_eq!(c1["Transcript"].as_array().unwrap().len(), 4, "{c1}");
    // Keys in the raw layout are read once; the others' starts first (the id), then whole (the
    // conversion).
    let reads: Vec<(&str, usize)> = gets.iter().map(|(k, n)| (k.as_str(), *n)).collect();
    assert_eq!(
        reads,
        [
            ("raw/2025/06/c-1.json", 1),
            ("raw/2025/06/c-1.json#head", 1),
            ("raw/c-1/m-1.json", 1),
            ("raw/c-1/m-2.json", 1),
            ("raw/c-2/m-1.json", 1),
            ("raw/c-3/broken.json", 1),
            ("raw/loose-c-1.json", 1),
            ("raw/loose-c-1.json#head", 1),
        ]
    );
}

#[test]
fn a_loose_key_is_read_whole_for_its_id_only_when_its_start_does_not_hold_it() {
    // The id after 20 KB of transcripts (beyond the 16 KB head), and a loose key shorter than
    // the head whose document breaks off before any id.
    let mut late = serde_json::from_slice::<serde_json::Value>(&doc(
        "c-7",
        "m-7",
        1_750_000_000_000,
        &"x".repeat(20_000),
    ))
    .unwrap();
    late.as_object_mut().unwrap().remove("conversationId");
    let mut late = serde_json::to_vec(&late).unwrap();
    late.pop(); // the closing brace
    late.extend_from_slice(b",\"conversationId\":\"c-7\"}");
    assert!(late.len() > super::plan::HEAD + 4_000);
    let files = [
        ("late.json", late),
        ("short.json", b"{\"transcripts\": [".to_vec()),
    ];
    let ([s3, local], [s3_out, local_out], gets) = both(&files);
    assert_eq!(s3, local);
    assert_eq!(s3_out, local_out);
    assert!(
        s3.starts_with("converted: 1  skipped: 0  failed: 1  (2 input documents)\n"),
        "{s3}"
    );
    let reads: Vec<(&str, usize)> = gets.iter().map(|(k, n)| (k.as_str(), *n)).collect();
    assert_eq!(
        reads,
        [
            ("raw/late.json", 2),
            ("raw/late.json#head", 1),
            ("raw/short.json", 1),
            ("raw/short.json#head", 1),
        ]
    );
}

#[test]
fn a_document_in_another_conversations_folder_is_converted_with_its_own() {
    // `c-9/stranger.json` belongs to c-1 and starts it a minute earlier: c-1's file, already
    // written when c-9's folder is read, is written again under its earlier name and the first
    // one removed. `odd/x.json` (a folder named after no conversation) is c-5's only document.
    let files = [
        ("c-1/m-1.json", doc("c-1", "m-1", 1_750_000_060_000, "home")),
        ("c-9/m-9.json", doc("c-9", "m-9", 1_750_000_000_000, "host")),
        (
            "c-9/stranger.json",
            doc("c-1", "m-0", 1_750_000_000_000, "away"),
        ),
        ("odd/x.json", doc("c-5", "m-5", 1_750_000_000_000, "alone")),
    ];
    let ([s3, local], [s3_out, local_out], _) = both(&files);
    assert_eq!(s3, local);
    assert_eq!(s3_out, local_out);
    assert!(
        s3.starts_with("converted: 3  skipped: 0  failed: 0  (4 input documents)\n"),
        "{s3}"
    );
    let names: Vec<&str> = s3_out.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "c-1_analysis_2025-06-15T15:06:40Z.json",
            "c-5_analysis_2025-06-15T15:06:40Z.json",
            "c-9_analysis_2025-06-15T15:06:40Z.json",
        ]
    );
    let c1: serde_json::Value = serde_json::from_slice(&s3_out[0].1).unwrap();
    let texts: Vec<&str> = c1["Transcript"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["Content"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["away", "home"]);
}

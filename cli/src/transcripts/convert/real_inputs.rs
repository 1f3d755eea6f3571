//! `mlpipe transcripts convert` on the unusual documents of `events/genesys/fixtures/`, in
//! process (the summary, not the printed text).

use std::fs;
use std::path::Path;

use clap::Parser;

use super::{convert_all, ConvertArgs, Summary};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../events/genesys/fixtures");

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: ConvertArgs,
}

fn args(list: &[&str]) -> Result<ConvertArgs, clap::Error> {
    Cli::try_parse_from(std::iter::once("convert").chain(list.iter().copied())).map(|c| c.args)
}

fn fixture(name: &str) -> Vec<u8> {
    fs::read(Path::new(FIXTURES).join(name)).unwrap()
}

/// Converts `files` (name, bytes) from a fresh input directory; returns the summary and the
/// output directory's files (name, bytes), sorted.
fn run(files: &[(&str, &[u8])], extra: &[&str]) -> (Summary, Vec<(String, Vec<u8>)>) {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    let out = dir.path().join("out");
    fs::create_dir(&input).unwrap();
    for (name, bytes) in files {
        fs::write(input.join(name), bytes).unwrap();
    }
    let mut list = vec![input.to_str().unwrap(), "--out", out.to_str().unwrap()];
    list.extend_from_slice(extra);
    let summary = convert_all(&args(&list).unwrap()).unwrap();
    let mut outputs: Vec<(String, Vec<u8>)> = fs::read_dir(&out)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    outputs.sort();
    (summary, outputs)
}

#[test]
fn a_byte_order_mark_gives_byte_equal_outputs() {
    let with_mark = fixture("transcript_windows_export_bom.json");
    assert!(with_mark.starts_with(b"\xEF\xBB\xBF"));
    let (summary, marked) = run(&[("export.json", &with_mark)], &[]);
    assert!(summary.failed.is_empty(), "{:?}", summary.failed);
    assert_eq!(summary.converted, 1);
    let (_, plain) = run(&[("export.json", &with_mark[3..])], &[]);
    assert_eq!(marked, plain);
    assert_eq!(
        marked[0].0,
        "0b7c2e91-4d3a-4f6e-8a15-c93d7e2f1a08_analysis_2025-07-01T10:00:00Z.json"
    );
}

#[test]
fn a_document_without_transcripts_is_skipped_not_failed() {
    let (summary, outputs) = run(
        &[(
            "hangup.json",
            &fixture("transcript_ivr_hangup_no_transcripts.json"),
        )],
        &[],
    );
    assert!(summary.failed.is_empty(), "{:?}", summary.failed);
    assert_eq!(
        summary.skipped,
        [(
            "3e9a5c17-8f2d-4b6a-a1e4-7c0d9b2f5e81".to_owned(),
            "no transcripts".to_owned()
        )]
    );
    assert!(outputs.is_empty());
}

#[test]
fn languages_left_out_are_in_the_summary() {
    let (summary, outputs) = run(
        &[(
            "switch.json",
            &fixture("transcript_language_switch_en_es.json"),
        )],
        &[],
    );
    assert!(summary.failed.is_empty(), "{:?}", summary.failed);
    assert_eq!(summary.converted, 1);
    assert_eq!(
        summary.left_out,
        [(
            "9c4e2a7b-1f5d-4c8e-b3a6-0d7f2e9c1b58".to_owned(),
            vec!["es-US".to_owned()]
        )]
    );
    assert_eq!(outputs.len(), 1);
    let text = summary.render(&crate::location::Location::Local("out".into()));
    assert!(
        text.contains("(left out):\n  9c4e2a7b-1f5d-4c8e-b3a6-0d7f2e9c1b58: es-US\n"),
        "{text}"
    );
}

#[test]
fn designer_languages_flag_opts_in_to_english_variants() {
    let en_gb = fixture("transcript_en_gb.json");
    let (summary, outputs) = run(&[("uk.json", &en_gb)], &[]);
    assert_eq!(summary.converted, 0);
    assert!(summary.skipped[0].1.contains("en-GB is not supported"));
    assert!(outputs.is_empty());

    let (summary, outputs) = run(
        &[("uk.json", &en_gb)],
        &["--designer-languages", "en-US,en-GB"],
    );
    assert_eq!(summary.converted, 1);
    assert!(summary.left_out.is_empty());
    assert_eq!(outputs.len(), 1);

    for (value, want) in [
        ("en-US,es-US", "is not English"),
        ("en-US,,en-GB", "entry 2 is empty"),
    ] {
        let err = args(&["in", "--out", "out", "--designer-languages", value])
            .err()
            .unwrap_or_else(|| panic!("{value} accepted"));
        let text = err.to_string();
        assert!(
            text.contains("--designer-languages") && text.contains(want),
            "{value}: {text}"
        );
    }
}

#[test]
fn spoken_personal_data_is_redacted() {
    let (_, outputs) = run(
        &[("pii.json", &fixture("transcript_spoken_pii.json"))],
        &["--redact-pii"],
    );
    let text = String::from_utf8(outputs[0].1.clone()).unwrap();
    assert!(text.contains("My number is [PII]."), "{text}");
    assert!(text.contains("Email [PII]."), "{text}");
    assert!(!text.contains("5 5 5"));
    assert!(text.contains("March 3 2024 at 10 30"));
}

//! `mlpipe transcripts convert` on local directories, run as a process.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const SAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../events/genesys/transcripts");

fn mlpipe(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mlpipe"))
        .args(args)
        .env_remove("MLPIPE_LOG")
        .output()
        .expect("run mlpipe")
}

fn convert(input: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "transcripts",
        "convert",
        input.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    mlpipe(&args)
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `(file name, bytes)` of every file in `dir`, sorted.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

/// `<id>_analysis_<YYYY-MM-DDTHH:MM:SSZ>.json`.
fn is_output_name(name: &str) -> bool {
    let Some((id, rest)) = name.split_once("_analysis_") else {
        return false;
    };
    let Some(stamp) = rest.strip_suffix(".json") else {
        return false;
    };
    let b = stamp.as_bytes();
    !id.is_empty()
        && b.len() == 20
        && b.iter().enumerate().all(|(i, &c)| match i {
            4 | 7 => c == b'-',
            10 => c == b'T',
            13 | 16 => c == b':',
            19 => c == b'Z',
            _ => c.is_ascii_digit(),
        })
}

fn sample_ids() -> Vec<(PathBuf, String, String)> {
    let mut out = Vec::new();
    for e in fs::read_dir(SAMPLES).unwrap() {
        let path = e.unwrap().path();
        let doc: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        let id = doc["conversationId"].as_str().unwrap().to_owned();
        let lang = doc["transcripts"][0]["language"]
            .as_str()
            .unwrap()
            .to_owned();
        out.push((path, id, lang));
    }
    out.sort();
    out
}

#[test]
fn converts_the_samples() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("designer");
    let run = convert(Path::new(SAMPLES), &out, &[]);
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}{}",
        stdout(&run),
        stderr(&run)
    );
    let summary = stdout(&run);
    assert!(
        summary.starts_with("converted: 3  skipped: 1  failed: 0  (4 input documents)\n"),
        "{summary}"
    );
    assert!(
        summary.contains(&format!("output: 3 files in {}", out.display())),
        "{summary}"
    );

    let written = files(&out);
    assert_eq!(
        written.len(),
        3,
        "{:?}",
        written.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    for (path, id, lang) in sample_ids() {
        let mine: Vec<_> = written
            .iter()
            .filter(|(n, _)| n.starts_with(&format!("{id}_")))
            .collect();
        if lang == "es-US" {
            assert!(mine.is_empty(), "{} should be skipped", path.display());
            assert!(
                summary.contains(&format!("  {id}: language es-US is not supported")),
                "{summary}"
            );
            continue;
        }
        assert_eq!(mine.len(), 1, "one output for {}", path.display());
        let (name, body) = mine[0];
        assert!(is_output_name(name), "{name}");
        let json: serde_json::Value = serde_json::from_slice(body).unwrap();
        assert_eq!(json["CustomerMetadata"]["ContactId"], id.as_str());
        assert_eq!(json["ContentMetadata"]["Output"], "Raw");
        assert!(!json["Transcript"].as_array().unwrap().is_empty());
    }
    // Progress bars only on a terminal; logs quiet by default.
    assert!(stderr(&run).is_empty(), "{}", stderr(&run));
}

#[test]
fn second_run_gives_identical_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let first = convert(Path::new(SAMPLES), &a, &[]);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let second = convert(Path::new(SAMPLES), &b, &["--jobs", "1"]);
    assert_eq!(second.status.code(), Some(0), "{}", stderr(&second));
    assert_eq!(files(&a), files(&b));
    assert_eq!(
        stdout(&first).replace(a.to_str().unwrap(), "OUT"),
        stdout(&second).replace(b.to_str().unwrap(), "OUT")
    );

    // Over the same output directory again: same files, nothing left behind.
    let before = files(&a);
    let again = convert(Path::new(SAMPLES), &a, &["--jobs", "3"]);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert_eq!(files(&a), before);
}

#[test]
fn bad_documents_are_reported_and_the_rest_converted() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    fs::create_dir_all(input.join("nested")).unwrap();
    for name in ["01-order-status.json", "03-appointment-booking.json"] {
        fs::copy(
            Path::new(SAMPLES).join(name),
            input.join("nested").join(name),
        )
        .unwrap();
    }
    fs::write(input.join("bad-id.json"), r#"{"conversationId": 5}"#).unwrap();
    fs::write(input.join("not-json.json"), "this is not JSON").unwrap();
    fs::write(input.join("notes.txt"), "ignored: not a .json file").unwrap();
    // The output directory inside the input directory is not read back as input.
    let out = input.join("out");

    for _ in 0..2 {
        let run = convert(&input, &out, &[]);
        assert_eq!(
            run.status.code(),
            Some(1),
            "{}{}",
            stdout(&run),
            stderr(&run)
        );
        let summary = stdout(&run);
        assert!(
            summary.starts_with("converted: 2  skipped: 0  failed: 2  (4 input documents)\n"),
            "{summary}"
        );
        let bad_line = summary
            .lines()
            .find(|l| l.contains("bad-id.json"))
            .unwrap_or_else(|| panic!("bad-id.json not named:\n{summary}"));
        assert!(
            bad_line.contains(&input.join("bad-id.json").display().to_string()),
            "{bad_line}"
        );
        assert!(bad_line.contains("conversationId"), "{bad_line}");
        assert!(
            summary.lines().any(|l| l.contains("not-json.json")),
            "{summary}"
        );
        assert_eq!(files(&out).len(), 2);
    }
}

#[test]
fn redaction_marks_the_output() {
    let tmp = tempfile::tempdir().unwrap();
    let input = Path::new(SAMPLES).join("02-card-replacement-pii.json");
    let run = convert(&input, tmp.path(), &["--redact-pii"]);
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}{}",
        stdout(&run),
        stderr(&run)
    );
    let written = files(tmp.path());
    assert_eq!(written.len(), 1);
    let body: serde_json::Value = serde_json::from_slice(&written[0].1).unwrap();
    assert_eq!(body["ContentMetadata"]["Output"], "Redacted", "{body}");
    assert!(body.to_string().contains("[PII]"), "{body}");

    let raw = tempfile::tempdir().unwrap();
    let run = convert(&input, raw.path(), &[]);
    assert_eq!(run.status.code(), Some(0));
    let body: serde_json::Value = serde_json::from_slice(&files(raw.path())[0].1).unwrap();
    assert_eq!(body["ContentMetadata"]["Output"], "Raw", "{body}");
    assert!(!body.to_string().contains("[PII]"), "{body}");
}

#[test]
fn unusable_arguments_fail_clearly() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("missing");
    let out = tmp.path().join("out");
    let run = convert(&missing, &out, &[]);
    assert_eq!(run.status.code(), Some(1));
    assert!(
        stderr(&run).contains("cannot read input"),
        "{}",
        stderr(&run)
    );
    assert!(!out.exists(), "no output directory for a failed run");

    let empty = tmp.path().join("empty");
    fs::create_dir(&empty).unwrap();
    let run = convert(&empty, &out, &[]);
    assert_eq!(run.status.code(), Some(1));
    assert!(
        stderr(&run).contains("no .json documents"),
        "{}",
        stderr(&run)
    );

    let file = tmp.path().join("file");
    fs::write(&file, "x").unwrap();
    let run = convert(Path::new(SAMPLES), &file, &[]);
    assert_eq!(run.status.code(), Some(1));
    assert!(stderr(&run).contains("not a directory"), "{}", stderr(&run));

    // Usage errors are clap's: exit 2.
    let run = mlpipe(&["transcripts", "convert", SAMPLES]);
    assert_eq!(run.status.code(), Some(2));
    let run = mlpipe(&["transcripts", "convert", "s3://", "--out", "x"]);
    assert_eq!(run.status.code(), Some(2));
    assert!(stderr(&run).contains("bucket"), "{}", stderr(&run));
    let run = mlpipe(&[
        "transcripts",
        "convert",
        SAMPLES,
        "--out",
        "x",
        "--jobs",
        "0",
    ]);
    assert_eq!(run.status.code(), Some(2));
}

#[test]
fn documents_of_one_conversation_are_merged() {
    // Split the two-transcript sample into one document per transcript (as Genesys does per
    // communication): the merged output must equal the output of the whole document.
    let tmp = tempfile::tempdir().unwrap();
    let whole_path = Path::new(SAMPLES).join("01-order-status.json");
    let whole: serde_json::Value = serde_json::from_slice(&fs::read(&whole_path).unwrap()).unwrap();
    let transcripts = whole["transcripts"].as_array().unwrap();
    assert_eq!(transcripts.len(), 2);
    let input = tmp.path().join("split");
    fs::create_dir(&input).unwrap();
    for (i, t) in transcripts.iter().enumerate() {
        let mut part = whole.clone();
        part["communicationId"] = format!("comm-{i}").into();
        part["transcripts"] = serde_json::Value::Array(vec![t.clone()]);
        fs::write(
            input.join(format!("part-{i}.json")),
            serde_json::to_vec(&part).unwrap(),
        )
        .unwrap();
    }

    let (merged, single) = (tmp.path().join("merged"), tmp.path().join("single"));
    let run = convert(&input, &merged, &[]);
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}{}",
        stdout(&run),
        stderr(&run)
    );
    assert!(stdout(&run).starts_with("converted: 1  skipped: 0  failed: 0  (2 input documents)\n"));
    let run = convert(&whole_path, &single, &[]);
    assert_eq!(run.status.code(), Some(0));
    let (merged, single) = (files(&merged), files(&single));
    assert_eq!(merged.len(), 1);
    assert_eq!(merged, single);
}

#[test]
fn errors_point_into_the_original_document() {
    // Word-level detail is dropped before parsing; a bad field after it must still be reported
    // with its line in the file as it is.
    let tmp = tempfile::tempdir().unwrap();
    let text = fs::read_to_string(Path::new(SAMPLES).join("01-order-status.json")).unwrap();
    // The last phrase's own start time (just before its words): after all other words arrays.
    let last_words = text.rfind("\"words\"").unwrap();
    let at = text[..last_words].rfind("\"startTimeMs\": 17").unwrap();
    assert!(text[..at].contains("\"words\""));
    let end = at + text[at..].find(',').unwrap();
    let broken = format!("{}\"startTimeMs\": \"soon\"{}", &text[..at], &text[end..]);
    let line = broken[..at].matches('\n').count() + 1;
    let input = tmp.path().join("broken.json");
    fs::write(&input, &broken).unwrap();
    let run = convert(&input, &tmp.path().join("out"), &[]);
    assert_eq!(run.status.code(), Some(1));
    let summary = stdout(&run);
    let failed = summary.lines().find(|l| l.contains("broken.json")).unwrap();
    assert!(failed.contains("startTimeMs"), "{failed}");
    assert!(
        failed.contains(&format!("line {line} ")),
        "line {line}: {failed}"
    );
}

/// A document of the published shape: one transcript (`language`, one phrase with `text`), a
/// start time unless `start` is `None` (then the phrase has only an offset).
fn transcript_doc(
    conversation: &str,
    communication: &str,
    language: &str,
    start: Option<i64>,
) -> String {
    let phrase = match start {
        Some(t) => serde_json::json!({"phraseIndex": 0, "participantPurpose": "external",
            "text": format!("hello from {communication}"), "startTimeMs": t + 1000}),
        None => serde_json::json!({"phraseIndex": 0, "participantPurpose": "external",
            "text": "no time", "offset": {"milliseconds": 5}}),
    };
    serde_json::json!({
        "conversationId": conversation,
        "communicationId": communication,
        "conversationStartTime": start,
        "transcripts": [{"transcriptId": format!("t-{communication}"), "language": language,
            "phrases": [phrase]}]
    })
    .to_string()
}

#[test]
fn summary_order_follows_the_documents_that_parse() {
    // Input order (paths): a document that does not parse names a conversation before its
    // good documents do; conversations come in the order of their first document that parses,
    // failures in input order, then conversion failures conversation by conversation.
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    let t = Some(1_750_000_000_000_i64);
    let files: [(&str, String); 10] = [
        (
            "a-broken.json",
            r#"{"conversationId": "conv-s2", "transcripts": ["#.to_owned(),
        ),
        ("b/1.json", transcript_doc("conv-c", "c1", "en-US", t)),
        (
            "b/s1.json",
            serde_json::json!({"conversationId": "conv-s1"}).to_string(),
        ),
        (
            "c.json",
            serde_json::json!({"conversationId": "conv-s2", "transcripts": []}).to_string(),
        ),
        (
            "d-nostart-1.json",
            transcript_doc("conv-x", "x1", "en-US", None),
        ),
        ("e-bad-id.json", r#"{"conversationId": 5}"#.to_owned()),
        ("f/2.json", transcript_doc("conv-x", "x2", "en-US", None)),
        ("g.json", transcript_doc("conv-c", "c2", "es-US", t)),
        (
            "h/i/nostart.json",
            transcript_doc("conv-y", "y1", "en-US", None),
        ),
        ("j.json", transcript_doc("conv-b", "b1", "en-US", t)),
    ];
    for (name, body) in &files {
        let path = input.join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, body).unwrap();
    }
    let out = tmp.path().join("out");
    let (i, o) = (input.display().to_string(), out.display().to_string());
    let no_start = "conversationStartTime: missing, and no startTime or phrase time to use";
    let want = format!(
        "converted: 2  skipped: 2  failed: 5  (10 input documents)\n\
         skipped conversations:\n  conv-s1: no transcripts\n  conv-s2: no transcripts\n\
         converted without transcripts in other languages (left out):\n  conv-c: es-US\n\
         failed:\n\
         \x20 {i}/a-broken.json: transcripts: EOF while parsing a list at line 1 column 46\n\
         \x20 {i}/e-bad-id.json: conversationId: invalid type: integer `5`, expected a string at line 1 column 20\n\
         \x20 {i}/d-nostart-1.json: {no_start}\n\
         \x20 {i}/f/2.json: {no_start}\n\
         \x20 {i}/h/i/nostart.json: {no_start}\n\
         output: 2 files in {o}\n"
    );
    for jobs in ["1", "2", "5"] {
        let run = convert(&input, &out, &["--jobs", jobs]);
        assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
        assert_eq!(stdout(&run), want, "--jobs {jobs}");
    }
    let names: Vec<String> = files_names(&out);
    assert_eq!(
        names,
        [
            "conv-b_analysis_2025-06-15T15:06:40Z.json",
            "conv-c_analysis_2025-06-15T15:06:40Z.json"
        ]
    );
}

fn files_names(dir: &Path) -> Vec<String> {
    files(dir).into_iter().map(|(n, _)| n).collect()
}

#[test]
fn a_conversation_spread_over_folders_and_loose_files_is_one_file() {
    // The two transcripts of a sample as three documents: one in the conversation's folder,
    // one loose, and one deeper with its conversationId after 100 KB of participants (beyond
    // the head the first pass reads) and an escaped member name; an unrelated document in the
    // conversation's folder stays its own conversation.
    let tmp = tempfile::tempdir().unwrap();
    let whole_path = Path::new(SAMPLES).join("01-order-status.json");
    let whole: serde_json::Value = serde_json::from_slice(&fs::read(&whole_path).unwrap()).unwrap();
    let id = whole["conversationId"].as_str().unwrap().to_owned();
    let input = tmp.path().join("in");
    let mut parts = Vec::new();
    for (i, t) in whole["transcripts"].as_array().unwrap().iter().enumerate() {
        let mut part = whole.clone();
        part["communicationId"] = format!("comm-{i}").into();
        part["transcripts"] = serde_json::Value::Array(vec![t.clone()]);
        parts.push(part);
    }
    fs::create_dir_all(input.join(&id)).unwrap();
    fs::create_dir_all(input.join("2025/06")).unwrap();
    fs::write(input.join(&id).join("comm-0.json"), parts[0].to_string()).unwrap();
    fs::write(input.join("loose.json"), parts[1].to_string()).unwrap();
    let padding = format!(
        "[{}{{}}]",
        r#"{"participantPurpose": "agent", "userId": "u"}, "#.repeat(2000)
    );
    assert!(padding.len() > 90_000);
    let late = format!(
        r#"{{"participants": {padding}, "transcripts": [], "conversation\u0049d": "{id}", "conversationStartTime": {}}}"#,
        whole["conversationStartTime"]
    );
    fs::write(input.join("2025/06/late.json"), late).unwrap();
    fs::write(
        input.join(&id).join("stranger.json"),
        transcript_doc("conv-other", "o1", "en-US", Some(1_750_000_000_000)),
    )
    .unwrap();

    let (merged, single) = (tmp.path().join("merged"), tmp.path().join("single"));
    let run = convert(&input, &merged, &[]);
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}{}",
        stdout(&run),
        stderr(&run)
    );
    assert!(
        stdout(&run).starts_with("converted: 2  skipped: 0  failed: 0  (4 input documents)\n"),
        "{}",
        stdout(&run)
    );
    let run = convert(&whole_path, &single, &[]);
    assert_eq!(run.status.code(), Some(0));
    let merged = files(&merged);
    assert_eq!(merged.len(), 2);
    assert!(merged[0].0.starts_with("conv-other_"), "{}", merged[0].0);
    assert_eq!(merged[1..], files(&single)[..]);
}

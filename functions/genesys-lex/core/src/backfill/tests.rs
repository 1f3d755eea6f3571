use super::*;

fn listed(keys: &[(&str, Option<i64>)]) -> Vec<(String, Option<i64>)> {
    keys.iter().map(|(k, t)| ((*k).to_owned(), *t)).collect()
}

fn plan(run_id: &str, conversations: usize, batches: usize) -> Plan {
    Plan {
        run: Run {
            run_id: run_id.into(),
            bucket: "raw".into(),
            prefix: "genesys/".into(),
            since: None,
            retry_failed_of: None,
        },
        batch_size: 2,
        conversations,
        batches,
        items_key: items_key(run_id),
    }
}

fn row(source: &str, id: Option<&str>, status: Status, reason: Option<&str>) -> Row {
    Row {
        source: source.into(),
        conversation_id: id.map(str::to_owned),
        status,
        output: (status == Status::Converted).then(|| format!("s3://out/lex/{}.json", id.unwrap())),
        reason: reason.map(str::to_owned),
        left_out_languages: Vec::new(),
    }
}

#[test]
fn sources_are_conversation_folders_and_loose_documents_in_key_order() {
    let got = sources(
        "genesys/",
        listed(&[
            ("genesys/c2/b.json", None),
            ("genesys/c1/a.json", None),
            ("genesys/c1/b.json", None),
            ("genesys/loose.json", None),
            ("genesys/c3/deeper/x.json", None),
            ("genesys/c4/notes.txt", None),
        ]),
        None,
    );
    assert_eq!(
        got,
        vec![
            "genesys/c1/",
            "genesys/c2/",
            "genesys/c3/deeper/x.json",
            "genesys/loose.json"
        ]
    );
}

#[test]
fn since_keeps_conversations_with_a_document_written_at_or_after_it() {
    let since = parse_since("2026-03-01").unwrap();
    let got = sources(
        "genesys/",
        listed(&[
            ("genesys/old/a.json", Some(since - 1)),
            ("genesys/mixed/a.json", Some(since - 86_400)),
            ("genesys/mixed/b.json", Some(since)),
            ("genesys/unknown/a.json", None),
        ]),
        Some(since),
    );
    assert_eq!(got, vec!["genesys/mixed/", "genesys/unknown/"]);
}

#[test]
fn since_takes_a_date_or_an_rfc_3339_time_with_offset() {
    assert_eq!(parse_since("1970-01-02").unwrap(), 86_400);
    assert_eq!(parse_since("1970-01-01T01:00:00+01:00").unwrap(), 0);
    assert_eq!(parse_since("2026-03-01T00:00:00Z").unwrap(), 1_772_323_200);
    for bad in [
        "",
        "2026-13-01",
        "yesterday",
        "2026-03-01T00:00:00",
        "03/01/2026",
    ] {
        let err = parse_since(bad).unwrap_err();
        assert!(err.starts_with("since: must be a date"), "{bad}: {err}");
    }
}

#[test]
fn batches_split_the_sources_in_order() {
    let items = batches(
        "run-1",
        "raw",
        vec!["a/".into(), "b/".into(), "c/".into()],
        2,
    );
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].batch, 0);
    assert_eq!(items[0].sources, vec!["a/", "b/"]);
    assert_eq!(items[1].batch, 1);
    assert_eq!(items[1].sources, vec!["c/"]);
    assert!(batches("run-1", "raw", Vec::new(), 2).is_empty());
    // The items file is a JSON array the Distributed Map reads.
    let json = serde_json::to_value(&items).unwrap();
    assert_eq!(
        json[1],
        serde_json::json!({"runId": "run-1", "bucket": "raw", "batch": 1, "sources": ["c/"]})
    );
}

#[test]
fn request_members_are_checked_by_name() {
    let r: Request = serde_json::from_str("{}").unwrap();
    assert_eq!(batch_size(&r), Ok(DEFAULT_BATCH_SIZE));
    let err = serde_json::from_str::<Request>(r#"{"prefx": "genesys/"}"#).unwrap_err();
    assert!(err.to_string().contains("unknown field `prefx`"), "{err}");
    for (n, ok) in [
        (0, false),
        (1, true),
        (MAX_BATCH_SIZE, true),
        (MAX_BATCH_SIZE + 1, false),
    ] {
        let r = Request {
            batch_size: Some(n),
            ..Request::default()
        };
        assert_eq!(batch_size(&r).is_ok(), ok, "{n}");
    }
    assert_eq!(
        batch_size(&Request {
            batch_size: Some(0),
            ..Request::default()
        })
        .unwrap_err(),
        "batchSize: must be 1 to 100"
    );
}

#[test]
fn run_ids_must_fit_in_a_key() {
    assert!(check_run_id("runId", "backfill-20261203T101500Z-1a2b").is_ok());
    for bad in ["", ".hidden", "a/b", "with space", &"x".repeat(81)] {
        let err = check_run_id("runId", bad).unwrap_err();
        assert!(err.starts_with("runId: must be 1 to 80"), "{bad:?}: {err}");
    }
    assert_eq!(batch_key("r", 42), "backfills/r/batches/000042.json");
    assert_eq!(report_csv_key("r"), "backfills/r/report.csv");
}

#[test]
fn the_report_counts_every_row_and_lists_what_was_not_converted() {
    let items = batches(
        "run-1",
        "raw",
        vec![
            "genesys/c1/".into(),
            "genesys/c2/".into(),
            "genesys/c3/".into(),
            "genesys/c4/".into(),
            "genesys/c5/".into(),
        ],
        2,
    );
    let mut converted = row("genesys/c1/", Some("c1"), Status::Converted, None);
    converted.left_out_languages = vec!["es-US".into()];
    let results = [
        Some(BatchResult {
            run_id: "run-1".into(),
            batch: 0,
            rows: vec![
                converted,
                row(
                    "genesys/c2/x.json",
                    None,
                    Status::Failed,
                    Some("transcripts[0]: invalid type, \"quoted\""),
                ),
                row("genesys/c2/", Some("c2"), Status::Skipped, Some("no text")),
            ],
        }),
        Some(BatchResult::failed(&items[1], "Retryable: S3 throttled")),
        None,
    ];
    let (report, csv) = build_report(
        &plan("run-1", 5, 3),
        &items,
        |b| results[b].clone(),
        Some("States.ExceedToleratedFailureThreshold".into()),
    );
    assert_eq!((report.converted, report.skipped, report.failed), (1, 1, 4));
    assert_eq!(report.batches_not_run, 1);
    assert_eq!(report.not_converted.len(), 5);
    assert_eq!(report.not_converted[4].reason.as_deref(), Some(NOT_RUN));
    assert_eq!(report.left_out[0].languages, vec!["es-US"]);
    let lines: Vec<&str> = csv.split("\r\n").collect();
    assert_eq!(
        lines[0],
        "source,conversationId,status,output,reason,leftOutLanguages"
    );
    assert_eq!(
        lines[1],
        "genesys/c1/,c1,converted,s3://out/lex/c1.json,,es-US"
    );
    assert_eq!(
        lines[2],
        "genesys/c2/x.json,,failed,,\"transcripts[0]: invalid type, \"\"quoted\"\"\","
    );
    assert_eq!(lines.len(), 8, "{csv}");
    // The same inputs give the same bytes.
    let (again, csv_again) = build_report(
        &plan("run-1", 5, 3),
        &items,
        |b| results[b].clone(),
        Some("States.ExceedToleratedFailureThreshold".into()),
    );
    assert_eq!(again.to_json(), report.to_json());
    assert_eq!(csv_again, csv);
    // Round trip: the retry step reads it back.
    let read: Report = serde_json::from_slice(&report.to_json()).unwrap();
    assert_eq!(read, report);
    assert_eq!(
        retry_sources("genesys/", &read),
        vec!["genesys/c2/", "genesys/c3/", "genesys/c4/", "genesys/c5/"]
    );
}

#[test]
fn the_notification_names_the_counts_the_failures_and_the_report() {
    let items = batches("run-9", "raw", vec!["genesys/c1/".into()], 20);
    let (report, _) = build_report(
        &plan("run-9", 1, 1),
        &items,
        |_| Some(BatchResult::failed(&items[0], "InvalidInput: boom")),
        None,
    );
    let (subject, body) = notification(&report);
    assert_eq!(
        subject,
        "mlpipe transcript backfill finished with failures: 0 converted, 1 failed"
    );
    assert!(subject.is_ascii() && subject.len() < 100);
    assert!(body.contains("genesys/c1/: InvalidInput: boom"), "{body}");
    assert!(
        body.contains("s3://raw/backfills/run-9/report.json"),
        "{body}"
    );
    assert!(body.contains("--retry-failed-of run-9"), "{body}");
}

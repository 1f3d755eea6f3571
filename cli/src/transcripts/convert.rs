//! `mlpipe transcripts convert INPUT --out OUTPUT`: Genesys Cloud transcript documents -> Lex V2
//! automated chatbot designer files, from and to a directory or S3.
//!
//! Phases: list the inputs, read them (threads, or concurrent S3 requests), drop their
//! word-level detail and parse them (threads), group the documents by conversation (input
//! order, `genesys_lex_core::group`, as the Lambda converter does), convert each conversation
//! (threads), write the outputs. Every phase keeps input order, so the summary and the output
//! bytes are the same whatever the number of threads.

use std::fmt::Write as _;
use std::fs;
use std::io::{self, IsTerminal, Write};
use std::num::NonZeroUsize;
use std::process::ExitCode;

use anyhow::{bail, Context};
use bytes::Bytes;
use clap::Args;
use genesys_lex_core::{self as transcript, genesys::Document, Languages, Options, Outcome};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use shared::store::{ObjectStore, S3Store};

use super::files::{list_inputs, prepare_output_dir, write_atomically, Remote, Source};
use crate::location::Location;
use crate::par;

/// S3 requests in flight at once.
const S3_CONCURRENCY: usize = 16;

#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// Genesys transcript documents: a directory (every *.json below it), a file, or
    /// s3://bucket/prefix (every .json key under it)
    #[arg(value_name = "INPUT", value_parser = Location::parse)]
    input: Location,

    /// Where to write the designer files: a directory (created if missing) or s3://bucket/prefix
    #[arg(long, short, value_name = "OUTPUT", value_parser = Location::parse)]
    out: Location,

    /// Replace personal data (e-mail addresses, card, social security and phone numbers, also
    /// as speech-to-text writes them: digit by digit, "jane dot doe at example dot com") with
    /// [PII] and mark the files "Redacted"
    #[arg(long)]
    redact_pii: bool,

    /// Transcript languages to keep, comma-separated English tags (the designer is documented
    /// for en-US only; en-GB, en-AU, en-IN... at your own risk); transcripts in other languages
    /// are left out and listed
    #[arg(
        long,
        value_name = "TAGS",
        default_value = "en-US",
        value_parser = Languages::parse
    )]
    designer_languages: Languages,

    /// Threads for parsing and conversion [default: the number of cores]
    #[arg(long, short, value_name = "N")]
    jobs: Option<NonZeroUsize>,
}

/// What happened, for the summary.
#[derive(Default)]
struct Summary {
    documents: usize,
    converted: usize,
    /// `(conversation id, reason)`.
    skipped: Vec<(String, String)>,
    /// `(conversation id, languages)` of converted conversations with transcripts left out.
    left_out: Vec<(String, Vec<String>)>,
    /// `(file or object, reason)`.
    failed: Vec<(String, String)>,
}

pub fn run(args: ConvertArgs) -> anyhow::Result<ExitCode> {
    let summary = convert_all(&args)?;
    print!("{}", summary.render(&args.out));
    io::stdout().flush().ok();
    Ok(if summary.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Converts everything and writes the outputs; the summary says what happened.
fn convert_all(args: &ConvertArgs) -> anyhow::Result<Summary> {
    let jobs = args.jobs.map_or_else(par::default_jobs, NonZeroUsize::get);
    let options = Options {
        redact_pii: args.redact_pii,
        languages: args.designer_languages,
    };
    let remote = if args.input.is_s3() || args.out.is_s3() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("starting the async runtime")?;
        let config = rt.block_on(shared::aws::sdk_config());
        let store = S3Store::new(shared::aws::s3_client(&config));
        Some(Remote { rt, store })
    } else {
        None
    };

    let mut summary = Summary::default();
    let sources = list_inputs(&args.input, &args.out, remote.as_ref(), &mut summary.failed)?;
    if sources.is_empty() {
        bail!("no .json documents found in {}", args.input);
    }
    summary.documents = sources.len();
    if let Location::Local(dir) = &args.out {
        prepare_output_dir(dir)?;
    }

    let bar = progress_bar(sources.len() as u64);

    // Read.
    bar.set_message("reading");
    let inputs: Vec<Result<Bytes, String>> = match &remote {
        Some(remote) if args.input.is_s3() => {
            let requests = sources.iter().map(|s| match s {
                Source::Object { bucket, key } => (bucket.clone(), key.clone()),
                Source::File(_) => unreachable!("S3 input lists objects"),
            });
            remote.rt.block_on(par::map_async(
                requests.collect(),
                S3_CONCURRENCY,
                |(bucket, key)| {
                    let store = remote.store.clone();
                    let bar = bar.clone();
                    async move {
                        let got = store.get(&bucket, &key).await.map_err(|e| e.message);
                        bar.inc(1);
                        got
                    }
                },
            ))
        }
        _ => par::map(sources.iter().collect(), jobs, |_, source| {
            let got = match source {
                Source::File(path) => fs::read(path).map(Bytes::from).map_err(|e| e.to_string()),
                Source::Object { .. } => unreachable!("local input lists files"),
            };
            bar.inc(1);
            got
        }),
    };

    // Parse, word-level detail removed first (as the Lambda function does): the conversion
    // does not use it and it is most of the bytes. The documents borrow from `skimmed`. A
    // byte-order mark is ignored; untimed phrases matter only where `options` uses them.
    bar.set_position(0);
    bar.set_message("parsing");
    let skimmed: Vec<Option<Bytes>> = par::map(inputs.iter().collect(), jobs, |_, input| {
        input
            .as_ref()
            .ok()
            .map(|b| transcript::skim::strip_unused_bytes(b.clone()))
    });
    let parsed: Vec<Result<Document<'_>, String>> =
        par::map(inputs.iter().zip(&skimmed).collect(), jobs, |_, pair| {
            let doc = match pair {
                (Ok(original), Some(skimmed)) => {
                    transcript::parse_with(skimmed, options).map_err(|e| {
                        // Report the line and column of the original, not of the skimmed copy.
                        let e = if skimmed.as_ptr() != original.as_ptr() {
                            transcript::parse_with(original, options).err().unwrap_or(e)
                        } else {
                            e
                        };
                        e.to_string()
                    })
                }
                (Err(e), _) => Err(e.clone()),
                (Ok(_), None) => unreachable!("every input read is skimmed"),
            };
            bar.inc(1);
            doc
        });
    drop(inputs);

    // Group by conversation, in input order (members are indices into `sources`).
    let mut documents = Vec::with_capacity(parsed.len());
    for (i, doc) in parsed.into_iter().enumerate() {
        match doc {
            Ok(doc) => documents.push((i, doc)),
            Err(reason) => summary.failed.push((sources[i].name(), reason)),
        }
    }
    let groups = transcript::group::by_conversation(documents);

    // Convert.
    bar.set_position(0);
    bar.set_message("converting");
    let converted = par::map(groups, jobs, |_, group| {
        let outcome = transcript::convert_documents(&group.documents, options);
        bar.inc(group.members.len() as u64);
        (group.members, outcome)
    });
    let mut outputs: Vec<(Vec<usize>, transcript::Converted)> = Vec::new();
    for (members, outcome) in converted {
        match outcome {
            Ok(Outcome::Converted(c)) => {
                if !c.skipped_languages.is_empty() {
                    tracing::info!(
                        conversation_id = %c.conversation_id,
                        languages = %c.skipped_languages.join(", "),
                        "left out transcripts in unsupported languages"
                    );
                }
                outputs.push((members, c));
            }
            Ok(Outcome::Skipped {
                conversation_id,
                reason,
                ..
            }) => summary.skipped.push((conversation_id, reason)),
            Err(e) => {
                for i in members {
                    summary.failed.push((sources[i].name(), e.to_string()));
                }
            }
        }
    }

    // Write.
    bar.set_position(0);
    bar.set_length(outputs.len() as u64);
    bar.set_message("writing");
    let written: Vec<Result<(), String>> = match (&args.out, &remote) {
        (Location::S3 { bucket, prefix }, Some(remote)) => {
            let puts = outputs
                .iter_mut()
                .map(|(_, c)| {
                    let key = transcript::output_key(prefix, &c.file_name);
                    (key, Bytes::from(std::mem::take(&mut c.body)))
                })
                .collect();
            remote
                .rt
                .block_on(par::map_async(puts, S3_CONCURRENCY, |(key, body)| {
                    let store = remote.store.clone();
                    let bucket = bucket.clone();
                    let bar = bar.clone();
                    async move {
                        let put = store.put(&bucket, &key, body, "application/json").await;
                        bar.inc(1);
                        put.map_err(|e| e.message)
                    }
                }))
        }
        (Location::Local(dir), _) => par::map(outputs.iter().collect(), jobs, |_, (_, c)| {
            let put = write_atomically(dir, &c.file_name, &c.body)
                .map_err(|e| format!("writing {}: {e}", dir.join(&c.file_name).display()));
            bar.inc(1);
            put
        }),
        (Location::S3 { .. }, None) => unreachable!("S3 output sets up the S3 client"),
    };
    bar.finish_and_clear();
    for ((members, c), put) in outputs.iter().zip(written) {
        match put {
            Ok(()) => {
                summary.converted += 1;
                if !c.skipped_languages.is_empty() {
                    summary
                        .left_out
                        .push((c.conversation_id.clone(), c.skipped_languages.clone()));
                }
            }
            Err(reason) => {
                tracing::debug!(conversation_id = %c.conversation_id, "write failed");
                let names: Vec<String> = members.iter().map(|&i| sources[i].name()).collect();
                summary.failed.push((names.join(", "), reason));
            }
        }
    }

    Ok(summary)
}

impl Summary {
    fn render(&self, out: &Location) -> String {
        let mut s = String::new();
        let documents = if self.documents == 1 {
            "document"
        } else {
            "documents"
        };
        let _ = writeln!(
            s,
            "converted: {}  skipped: {}  failed: {}  ({} input {documents})",
            self.converted,
            self.skipped.len(),
            self.failed.len(),
            self.documents
        );
        if !self.skipped.is_empty() {
            let _ = writeln!(s, "skipped conversations:");
            for (id, reason) in &self.skipped {
                let _ = writeln!(s, "  {id}: {reason}");
            }
        }
        if !self.left_out.is_empty() {
            let _ = writeln!(
                s,
                "converted without transcripts in other languages (left out):"
            );
            for (id, languages) in &self.left_out {
                let _ = writeln!(s, "  {id}: {}", languages.join(", "));
            }
        }
        if !self.failed.is_empty() {
            let _ = writeln!(s, "failed:");
            for (what, reason) in &self.failed {
                let _ = writeln!(s, "  {what}: {reason}");
            }
        }
        let files = if self.converted == 1 { "file" } else { "files" };
        let _ = writeln!(s, "output: {} {files} in {out}", self.converted);
        s
    }
}

fn progress_bar(len: u64) -> ProgressBar {
    if !io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    if let Ok(style) =
        ProgressStyle::with_template("{msg:>10} [{bar:40.cyan/blue}] {pos}/{len} {elapsed}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

#[cfg(test)]
mod real_inputs;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_lists_skips_and_failures() {
        let summary = Summary {
            documents: 3,
            converted: 1,
            skipped: vec![("c-1".into(), "language es-US is not supported".into())],
            left_out: Vec::new(),
            failed: vec![("in/bad.json".into(), "conversationId: invalid type".into())],
        };
        let text = summary.render(&Location::Local("out".into()));
        assert_eq!(
            text,
            "converted: 1  skipped: 1  failed: 1  (3 input documents)\n\
             skipped conversations:\n  c-1: language es-US is not supported\n\
             failed:\n  in/bad.json: conversationId: invalid type\n\
             output: 1 file in out\n"
        );
    }

    #[test]
    fn summary_names_the_languages_left_out_per_conversation() {
        let summary = Summary {
            documents: 2,
            converted: 2,
            left_out: vec![
                ("c-2".into(), vec!["es-US".into(), "fr-CA".into()]),
                ("c-3".into(), vec!["es-US".into()]),
            ],
            ..Summary::default()
        };
        assert_eq!(
            summary.render(&Location::Local("out".into())),
            "converted: 2  skipped: 0  failed: 0  (2 input documents)\n\
             converted without transcripts in other languages (left out):\n\
             \x20 c-2: es-US, fr-CA\n  c-3: es-US\n\
             output: 2 files in out\n"
        );
    }
}

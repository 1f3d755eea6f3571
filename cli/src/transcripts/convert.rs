//! `mlpipe transcripts convert INPUT --out OUTPUT`: Genesys Cloud transcript documents -> Lex V2
//! automated chatbot designer files, from and to a directory or S3.
//!
//! Memory does not grow with the corpus: a first pass finds each input's conversation id
//! without parsing it ([`plan`]: the head of a local file, the folder of a raw S3 key), then
//! conversations are converted one by one on threads, or at most [`S3_CONCURRENCY`] at a
//! time when S3 is involved ([`work`]: read the conversation's documents, drop their word-level
//! detail, parse, convert, write, let go). Peak memory depends on the largest conversation and
//! the number of threads or requests in flight. Documents are grouped and ordered as the Lambda
//! converter groups them (`genesys_lex_core::group`: by `conversationId`, input order), so the
//! outputs and the summary ([`tally`]) are the same whatever the number of threads.

use std::fmt::Write as _;
use std::io::{self, IsTerminal, Write};
use std::num::NonZeroUsize;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use anyhow::{bail, Context};
use clap::Args;
use genesys_lex_core::{Languages, Options};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use shared::store::S3Store;

use super::files::{list_inputs, prepare_output_dir, Remote, Store};
use crate::location::Location;
use crate::par;

mod plan;
mod tally;
mod work;

/// S3 requests (and conversations) in flight at once.
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
    convert_with(args, remote)
}

/// [`convert_all`] with the S3 side given (tests give a store of their own).
fn convert_with<S: Store>(
    args: &ConvertArgs,
    remote: Option<Remote<S>>,
) -> anyhow::Result<Summary> {
    let threads = args.jobs.map_or_else(par::default_jobs, NonZeroUsize::get);
    let options = Options {
        redact_pii: args.redact_pii,
        languages: args.designer_languages,
    };
    let mut listing = Vec::new();
    let sources = list_inputs(&args.input, &args.out, remote.as_ref(), &mut listing)?;
    if sources.is_empty() {
        bail!("no .json documents found in {}", args.input);
    }
    if let Location::Local(dir) = &args.out {
        prepare_output_dir(dir)?;
    }
    let (rt, store) = match remote {
        Some(Remote { rt, store }) => (Some(rt), Some(store)),
        None => (None, None),
    };
    let bar = progress_bar(sources.len() as u64);
    bar.set_message("scanning");
    let ctx = Arc::new(work::Ctx {
        sources,
        out: args.out.clone(),
        options,
        store,
        bar: bar.clone(),
    });
    let input_prefix = match &args.input {
        Location::S3 { prefix, .. } => prefix.as_str(),
        Location::Local(_) => "",
    };

    // Which conversation each input belongs to; then the conversations, one by one.
    let mut plan = plan::plan(&ctx, rt.as_ref(), input_prefix, threads);
    let unread = std::mem::take(&mut plan.failed);
    let tally = Mutex::new(tally::Tally::new(unread, plan.groups()));
    bar.set_position(0);
    bar.set_message("converting");
    let jobs = (0..plan.groups()).map(|g| plan.job(g));
    run_jobs(&ctx, rt.as_ref(), jobs, threads, &tally);
    // Documents filed under another conversation, with the conversation they belong to.
    let last = lock(&tally).last_pass(&plan);
    if !last.is_empty() {
        bar.set_position(0);
        bar.set_length(last.iter().map(|j| j.members.len() as u64).sum());
        run_jobs(&ctx, rt.as_ref(), last.into_iter(), threads, &tally);
    }
    bar.finish_and_clear();
    let tally = tally.into_inner().unwrap_or_else(|e| e.into_inner());
    Ok(tally.summary(&ctx.sources, listing))
}

/// Runs the jobs on threads (local input and output) or as tasks (S3), each result into the
/// tally as it comes; nothing else is kept.
fn run_jobs<S: Store>(
    ctx: &Arc<work::Ctx<S>>,
    rt: Option<&tokio::runtime::Runtime>,
    jobs: impl ExactSizeIterator<Item = work::Job> + Send,
    threads: usize,
    tally: &Mutex<tally::Tally>,
) {
    match rt {
        Some(rt) => rt.block_on(par::each_async(
            jobs,
            S3_CONCURRENCY,
            |job| work::run_async(Arc::clone(ctx), job),
            |done| lock(tally).add(done),
        )),
        None => {
            let n = jobs.len();
            let jobs = Mutex::new(jobs);
            par::for_each(n, threads, |_| {
                let Some(job) = lock(&jobs).next() else {
                    return;
                };
                let done = work::run_local(ctx, &job);
                lock(tally).add(done);
            });
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
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
mod tests_s3;

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

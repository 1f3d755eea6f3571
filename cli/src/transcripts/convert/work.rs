//! The second pass, one conversation at a time: read its documents, drop their word-level
//! detail, parse, convert, write, and let go of the bytes. On threads for local inputs and
//! outputs, on tokio tasks (conversion on the blocking pool) when S3 is involved.

use std::borrow::Cow;
use std::cell::Cell;
use std::fs;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use genesys_lex_core::{self as transcript, Options, Outcome};
use indicatif::ProgressBar;

use crate::location::Location;
use crate::transcripts::files::{write_atomically, Source, Sources, Store};

/// What every conversion needs, shared by the threads or tasks.
pub(super) struct Ctx<S> {
    pub(super) sources: Sources,
    pub(super) out: Location,
    pub(super) options: Options,
    /// Set when INPUT or OUTPUT is on S3.
    pub(super) store: Option<S>,
    pub(super) bar: ProgressBar,
}

/// One conversation to convert.
pub(super) struct Job {
    /// The conversation's group ([`super::plan::Plan`]; the last pass may add groups).
    pub(super) group: usize,
    /// Its conversation id (presumptive on S3); `None` for an input without one.
    pub(super) key: Option<String>,
    /// Input indices, ascending.
    pub(super) members: Vec<usize>,
    /// Set in the last pass: the conversation gained documents set aside elsewhere.
    pub(super) last_pass: Option<LastPass>,
}

pub(super) struct LastPass {
    /// The members of the earlier conversion of this conversation when its file was written:
    /// that file is removed if the new one is named differently (or not written).
    pub(super) written_before: Option<Vec<usize>>,
}

impl Job {
    pub(super) fn new(group: usize, key: Option<String>, members: Vec<usize>) -> Self {
        Self {
            group,
            key,
            members,
            last_pass: None,
        }
    }
}

/// What became of one job's inputs.
pub(super) struct Done {
    pub(super) group: usize,
    /// `(input index, reason)`: not read, or not parsed.
    pub(super) failed: Vec<(usize, String)>,
    /// `(input index, conversationId)`: parsed, but of another conversation than the key.
    pub(super) misfits: Vec<(usize, String)>,
    /// The conversion of the inputs that belong to the key, if any parsed.
    pub(super) record: Option<Record>,
    /// `(file or object, reason)`: an earlier output that could not be removed.
    pub(super) stale_failed: Option<(String, String)>,
}

/// One conversation's conversion, for the summary.
pub(super) struct Record {
    pub(super) conversation_id: String,
    /// The parsed documents of the conversation: input indices, ascending.
    pub(super) members: Vec<usize>,
    pub(super) result: Conversion,
}

pub(super) enum Conversion {
    /// Converted and written; the languages left out.
    Written(Vec<String>),
    WriteFailed(String),
    Skipped(String),
    Failed(String),
}

/// What the conversion leaves to write: a designer file, and an earlier file of the
/// conversation to remove (after the new one is written, or at once when there is none).
#[derive(Default)]
struct Output {
    file: Option<(String, Vec<u8>)>,
    stale: Option<String>,
}

/// The job on this thread: local input and output.
pub(super) fn run_local<S>(ctx: &Ctx<S>, job: &Job) -> Done {
    let Location::Local(dir) = &ctx.out else {
        unreachable!("S3 output runs on tasks");
    };
    // One document at a time: read into the thread's buffer (reused from document to document,
    // so the largest document sets its size instead of every size passing through the
    // allocator), keep only the skimmed copy.
    let mut buffer = READ_BUFFER.take();
    let inputs: Vec<Result<Skimmed, String>> = job
        .members
        .iter()
        .map(|&i| match ctx.sources.get(i) {
            Source::File(path) => read_into(&path, &mut buffer).map(|()| Skimmed::copy(&buffer)),
            Source::Object { .. } => unreachable!("S3 input runs on tasks"),
        })
        .collect();
    READ_BUFFER.set(buffer);
    let reread = |i| match ctx.sources.get(i) {
        Source::File(path) => read_file(&path).ok(),
        Source::Object { .. } => None,
    };
    let (mut done, output) = convert(ctx, job, inputs, reread);
    let put = output
        .file
        .map(|(name, body)| write_file(dir, &name, &body));
    let removed = match (&put, output.stale) {
        (None | Some(Ok(())), Some(stale)) => delete_file(dir, &stale),
        _ => Ok(()),
    };
    finish(&mut done, put, removed);
    done
}

/// The job as a task: S3 input or output.
pub(super) async fn run_async<S: Store>(ctx: Arc<Ctx<S>>, job: Job) -> Done {
    let store = ctx.store.clone().expect("S3 work has a store");
    let mut inputs = Vec::with_capacity(job.members.len());
    for &i in &job.members {
        inputs.push(match ctx.sources.get(i) {
            Source::Object { bucket, key } => store.get(bucket, key).await.map_err(|e| e.message),
            Source::File(path) => blocking(move || read_file(&path)).await,
        });
    }
    let task = Arc::clone(&ctx);
    let (mut done, output) = blocking(move || {
        let inputs = inputs
            .into_iter()
            .map(|r| r.map(|raw| Skimmed::new(raw, true)));
        convert(&task, &job, inputs.collect(), |_| None)
    })
    .await;
    let put = match (output.file, &ctx.out) {
        (None, _) => None,
        (Some((name, body)), Location::S3 { bucket, prefix }) => {
            let key = transcript::output_key(prefix, &name);
            let put = store.put(bucket, &key, Bytes::from(body), "application/json");
            Some(put.await.map_err(|e| e.message))
        }
        (Some((name, body)), Location::Local(dir)) => {
            let dir = dir.clone();
            Some(blocking(move || write_file(&dir, &name, &body)).await)
        }
    };
    let removed = match (&put, output.stale, &ctx.out) {
        (None | Some(Ok(())), Some(stale), Location::S3 { bucket, prefix }) => {
            let key = transcript::output_key(prefix, &stale);
            let deleted = store.delete(bucket, &key).await;
            deleted.map_err(|e| (shared::store::s3_uri(bucket, &key), e))
        }
        (None | Some(Ok(())), Some(stale), Location::Local(dir)) => {
            let dir = dir.clone();
            blocking(move || delete_file(&dir, &stale)).await
        }
        _ => Ok(()),
    };
    finish(&mut done, put, removed);
    done
}

async fn blocking<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

/// Records the write (if there was one) and the removal of a stale file.
fn finish(done: &mut Done, put: Option<Result<(), String>>, removed: Result<(), (String, String)>) {
    if let (Some(Err(reason)), Some(record)) = (put, done.record.as_mut()) {
        tracing::debug!(conversation_id = %record.conversation_id, "write failed");
        record.result = Conversion::WriteFailed(reason);
    }
    done.stale_failed = removed.err();
}

/// A document read, without its word-level detail (as the Lambda function does): the
/// conversion does not use it and it is most of the bytes.
struct Skimmed {
    bytes: Bytes,
    /// Whether `bytes` differ from the document as read.
    differs: bool,
    /// The document as read, when it differs and is kept (S3); otherwise read again only to
    /// place a parse error (the line and column of the document as it is).
    original: Option<Bytes>,
}

impl Skimmed {
    /// From a buffer about to be reused: the skimmed copy, or the whole document copied.
    fn copy(raw: &[u8]) -> Self {
        match transcript::skim::strip_unused(raw) {
            Cow::Owned(skimmed) => Self {
                bytes: Bytes::from(skimmed),
                differs: true,
                original: None,
            },
            Cow::Borrowed(_) => Self {
                bytes: Bytes::copy_from_slice(raw),
                differs: false,
                original: None,
            },
        }
    }

    fn new(raw: Bytes, keep: bool) -> Self {
        let (at, len) = (raw.as_ptr(), raw.len());
        let original = keep.then(|| raw.clone());
        let bytes = transcript::skim::strip_unused_bytes(raw);
        let differs = bytes.as_ptr() != at || bytes.len() != len;
        Self {
            bytes,
            differs,
            original: original.filter(|_| differs),
        }
    }
}

/// Parses and converts the job's inputs (parallel to `job.members`); `reread` reads an input
/// again when a parse error is to be placed in a document not kept.
fn convert<S>(
    ctx: &Ctx<S>,
    job: &Job,
    inputs: Vec<Result<Skimmed, String>>,
    reread: impl Fn(usize) -> Option<Bytes>,
) -> (Done, Output) {
    let options = ctx.options;
    let mut done = Done {
        group: job.group,
        failed: Vec::new(),
        misfits: Vec::new(),
        record: None,
        stale_failed: None,
    };
    let mut output = Output::default();
    // The documents borrow from `read`.
    let mut read = Vec::with_capacity(inputs.len());
    for (&i, input) in job.members.iter().zip(inputs) {
        match input {
            Ok(skimmed) => read.push((i, skimmed)),
            Err(reason) => done.failed.push((i, reason)),
        }
    }
    let mut members = Vec::with_capacity(read.len());
    let mut documents = Vec::with_capacity(read.len());
    for (i, skimmed) in &read {
        let doc = match transcript::parse_with(&skimmed.bytes, options) {
            Ok(doc) => doc,
            Err(e) => {
                // Report the line and column of the original, not of the skimmed copy.
                let original = match skimmed.differs {
                    true => skimmed.original.clone().or_else(|| reread(*i)),
                    false => None,
                };
                let e = match original {
                    Some(original) => transcript::parse_with(&original, options)
                        .err()
                        .unwrap_or(e),
                    None => e,
                };
                done.failed.push((*i, e.to_string()));
                continue;
            }
        };
        let id = doc.conversation_id.as_deref().unwrap_or_default();
        if job.key.as_deref() == Some(id) {
            members.push(*i);
            documents.push(doc);
        } else if job.last_pass.is_some() {
            // Only when the file changed between the passes: not chased any further.
            let reason = "conversationId: changed while the conversion ran; run it again";
            done.failed.push((*i, reason.to_owned()));
        } else {
            done.misfits.push((*i, id.to_owned()));
        }
    }
    ctx.bar.inc(job.members.len() as u64);
    let Some(conversation_id) = job.key.clone().filter(|_| !documents.is_empty()) else {
        return (done, output);
    };
    // The file the earlier conversion of this conversation wrote, if any.
    let mut before = job
        .last_pass
        .as_ref()
        .and_then(|l| l.written_before.as_ref())
        .and_then(|earlier| {
            let docs: Vec<_> = read
                .iter()
                .filter(|(i, _)| earlier.contains(i))
                .filter_map(|(_, skimmed)| transcript::parse_with(&skimmed.bytes, options).ok())
                .collect();
            match transcript::convert_documents(&docs, options) {
                Ok(Outcome::Converted(c)) => Some(c.file_name),
                _ => None,
            }
        });
    let result = match transcript::convert_documents(&documents, options) {
        Ok(Outcome::Converted(c)) => {
            if !c.skipped_languages.is_empty() {
                tracing::info!(
                    conversation_id = %c.conversation_id,
                    languages = %c.skipped_languages.join(", "),
                    "left out transcripts in unsupported languages"
                );
            }
            output.stale = before.take().filter(|b| *b != c.file_name);
            output.file = Some((c.file_name, c.body));
            Conversion::Written(c.skipped_languages)
        }
        Ok(Outcome::Skipped { reason, .. }) => Conversion::Skipped(reason),
        Err(e) => Conversion::Failed(e.to_string()),
    };
    if output.file.is_none() {
        output.stale = before; // nothing replaces it
    }
    done.record = Some(Record {
        conversation_id,
        members,
        result,
    });
    (done, output)
}

thread_local! {
    /// Each thread's read buffer (local inputs).
    static READ_BUFFER: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// Reads a file into `buf` (emptied first); the error as `fs::read` gives it.
fn read_into(path: &Path, buf: &mut Vec<u8>) -> Result<(), String> {
    buf.clear();
    fs::File::open(path)
        .and_then(|mut f| f.read_to_end(buf))
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn read_file(path: &Path) -> Result<Bytes, String> {
    fs::read(path).map(Bytes::from).map_err(|e| e.to_string())
}

fn write_file(dir: &Path, name: &str, body: &[u8]) -> Result<(), String> {
    write_atomically(dir, name, body)
        .map_err(|e| format!("writing {}: {e}", dir.join(name).display()))
}

fn delete_file(dir: &Path, name: &str) -> Result<(), (String, String)> {
    let path = dir.join(name);
    match fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err((path.display().to_string(), format!("cannot remove: {e}"))),
    }
}

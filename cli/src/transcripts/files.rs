//! The files and objects of `mlpipe transcripts convert`: listing the inputs (a directory tree,
//! a file or an S3 prefix, leaving out the output when it lies inside the input), preparing the
//! output directory, writing files atomically, and removing an output that a later conversion
//! of the same conversation replaced under another name.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::future::Future;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use bytes::Bytes;
use shared::store::{s3_uri, ObjectStore, S3Store};
use shared::PipelineError;

use crate::location::{key_under_prefix, Location};

/// The input documents, in path (or key) order, kept for the whole run: every name one after
/// the other in one string (local paths relative to the input directory), so an input costs
/// its name and an offset.
pub(super) struct Sources {
    base: Base,
    names: String,
    ends: Vec<u32>,
    /// Local paths that are not UTF-8 (by index; nothing in `names` for them).
    other: Vec<(usize, PathBuf)>,
}

enum Base {
    /// The input file itself (one input).
    File(PathBuf),
    /// The input directory: names are relative to it.
    Dir(PathBuf),
    /// Names are keys in this bucket.
    Bucket(String),
}

/// Room reserved up front for a list that grows with the corpus, in bytes. A block this large
/// is mapped on its own and its untouched part costs no memory, so a small corpus pays nothing
/// and a large one grows it in place, without leaving outgrown copies behind in the heap.
pub(super) const RESERVE: usize = 1 << 20;

/// One input document.
pub(super) enum Source<'a> {
    File(PathBuf),
    Object { bucket: &'a str, key: &'a str },
}

impl Sources {
    fn new(base: Base) -> Self {
        let (names, ends) = match base {
            Base::File(_) => (String::new(), Vec::new()),
            _ => (
                String::with_capacity(RESERVE),
                Vec::with_capacity(RESERVE / 4),
            ),
        };
        Self {
            base,
            names,
            ends,
            other: Vec::new(),
        }
    }

    pub(super) fn len(&self) -> usize {
        self.ends.len()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    pub(super) fn get(&self, i: usize) -> Source<'_> {
        let start = i.checked_sub(1).map_or(0, |j| self.ends[j] as usize);
        let name = &self.names[start..self.ends[i] as usize];
        match &self.base {
            Base::File(path) => Source::File(path.clone()),
            Base::Dir(root) => match self.other.binary_search_by_key(&i, |(j, _)| *j) {
                Ok(k) => Source::File(root.join(&self.other[k].1)),
                Err(_) => Source::File(root.join(name)),
            },
            Base::Bucket(bucket) => Source::Object { bucket, key: name },
        }
    }

    /// The file or object, as the summary names it.
    pub(super) fn name(&self, i: usize) -> String {
        match self.get(i) {
            Source::File(path) => path.display().to_string(),
            Source::Object { bucket, key } => s3_uri(bucket, key),
        }
    }

    fn push(&mut self, name: &str) {
        self.names.push_str(name);
        let end = u32::try_from(self.names.len()).expect("input names under 4 GB");
        self.ends.push(end);
    }

    fn push_path(&mut self, rel: &Path) {
        match rel.to_str() {
            Some(name) => self.push(name),
            None => {
                self.other.push((self.len(), rel.to_owned()));
                self.push("");
            }
        }
    }
}

/// The S3 side, only set up when INPUT or OUTPUT is on S3 (tests give a store of their own).
pub(super) struct Remote<S = S3Store> {
    pub(super) rt: tokio::runtime::Runtime,
    pub(super) store: S,
}

/// The object operations of the conversion: [`ObjectStore`]'s, reading the start of an object,
/// and removing an object.
pub(super) trait Store: ObjectStore + Clone + 'static {
    /// Deletes an object (a missing one is not an error); the error says what failed.
    fn delete(&self, bucket: &str, key: &str) -> impl Future<Output = Result<(), String>> + Send;

    /// The object's first `len` bytes (all of it when shorter). By default the whole object:
    /// callers take a longer answer as the whole object.
    fn get_head(
        &self,
        bucket: &str,
        key: &str,
        len: usize,
    ) -> impl Future<Output = Result<Bytes, PipelineError>> + Send {
        let _ = len;
        self.get(bucket, key)
    }
}

impl Store for S3Store {
    /// A ranged GET ([`S3Store::get_head`]).
    async fn get_head(&self, bucket: &str, key: &str, len: usize) -> Result<Bytes, PipelineError> {
        S3Store::get_head(self, bucket, key, len).await
    }

    async fn delete(&self, bucket: &str, key: &str) -> Result<(), String> {
        self.client()
            .delete_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                shared::error::from_sdk(format!("deleting {}", s3_uri(bucket, key)), &e).message
            })
    }
}

/// The input documents, in path (or key) order. Fails when INPUT cannot be used at all; a
/// subdirectory that cannot be read is recorded in `failed` (`(directory, reason)`) and the rest
/// is still listed.
pub(super) fn list_inputs<S: ObjectStore>(
    input: &Location,
    out: &Location,
    remote: Option<&Remote<S>>,
    failed: &mut Vec<(String, String)>,
) -> anyhow::Result<Sources> {
    match input {
        Location::Local(path) => {
            let meta = fs::metadata(path)
                .with_context(|| format!("cannot read input {}", path.display()))?;
            if meta.is_file() {
                let mut sources = Sources::new(Base::File(path.clone()));
                sources.push("");
                return Ok(sources);
            }
            if !meta.is_dir() {
                bail!("input {} is neither a file nor a directory", path.display());
            }
            let root = fs::canonicalize(path)
                .with_context(|| format!("cannot read input {}", path.display()))?;
            // Leave out the output directory when it lies inside the input directory, so a
            // second run does not read the first run's outputs.
            let skip = match out {
                Location::Local(dir) if dir.exists() => {
                    let dir = fs::canonicalize(dir)
                        .with_context(|| format!("cannot use output {}", dir.display()))?;
                    if dir == root {
                        bail!("the output directory must not be the input directory");
                    }
                    dir.starts_with(&root).then_some(dir)
                }
                _ => None,
            };
            fs::read_dir(path)
                .with_context(|| format!("cannot read input directory {}", path.display()))?;
            let mut sources = Sources::new(Base::Dir(path.clone()));
            walk(path, skip.as_deref(), &mut sources, failed);
            Ok(sources)
        }
        Location::S3 { bucket, prefix } => {
            let remote = remote.expect("S3 input sets up the S3 client");
            let exclude = match out {
                Location::S3 {
                    bucket: out_bucket,
                    prefix: out_prefix,
                } if out_bucket == bucket => {
                    let (i, o) = (
                        prefix.trim_end_matches('/'),
                        out_prefix.trim_end_matches('/'),
                    );
                    if i == o {
                        bail!("the output prefix must not be the input prefix");
                    }
                    (!o.is_empty() && key_under_prefix(o, i)).then(|| o.to_owned())
                }
                _ => None,
            };
            let keys = remote
                .rt
                .block_on(remote.store.list(bucket, prefix))
                .map_err(|e| anyhow::anyhow!("{}", e.message))?;
            let mut sources = Sources::new(Base::Bucket(bucket.clone()));
            for key in keys
                .iter()
                .filter(|k| k.ends_with(".json") && key_under_prefix(k, prefix))
                .filter(|k| exclude.as_deref().is_none_or(|o| !key_under_prefix(k, o)))
            {
                sources.push(key);
            }
            Ok(sources)
        }
    }
}

pub(super) fn prepare_output_dir(dir: &Path) -> anyhow::Result<()> {
    if dir.exists() && !dir.is_dir() {
        bail!("output {} exists and is not a directory", dir.display());
    }
    fs::create_dir_all(dir)
        .with_context(|| format!("cannot create output directory {}", dir.display()))
}

/// Collects the `*.json` files below `root` in path order, without sorting them all: each
/// directory's entries are visited in name order, which is the order of the whole paths.
/// Symbolic links to files are followed, links to directories are not (no cycles). Directories
/// that cannot be read go to `failed` in the order a walk in the file system's own order meets
/// them (each failure is ranked by the positions of its directories in their listings).
fn walk(
    root: &Path,
    skip: Option<&Path>,
    sources: &mut Sources,
    failed: &mut Vec<(String, String)>,
) {
    let mut failures = Vec::new();
    let mut scratch = Vec::new();
    let mut rank = Vec::new();
    let mut at = Walk {
        rank: &mut rank,
        scratch: &mut scratch,
        skip,
        sources,
        failures: &mut failures,
    };
    visit(root, Path::new(""), &mut at);
    failures.sort_by(|a: &(Vec<usize>, _), b| a.0.cmp(&b.0));
    failed.extend(failures.into_iter().map(|(_, f)| f));
}

type Failure = (Vec<usize>, (String, String));

/// A directory's entries to visit: their names one after the other, and (name start, name end,
/// position in the listing, is a directory).
type Entries = (String, Vec<(u32, u32, u32, bool)>);

/// What the walk carries down.
struct Walk<'w> {
    /// Positions of the directories being visited in their parents' listings.
    rank: &'w mut Vec<usize>,
    /// The entry lists, one per depth, reused from directory to directory.
    scratch: &'w mut Vec<Entries>,
    skip: Option<&'w Path>,
    sources: &'w mut Sources,
    failures: &'w mut Vec<Failure>,
}

fn visit(dir: &Path, rel: &Path, at: &mut Walk<'_>) {
    let unreadable = |e: io::Error| {
        (
            dir.display().to_string(),
            format!("cannot read directory: {e}"),
        )
    };
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            at.failures.push((at.rank.clone(), unreadable(e)));
            return;
        }
    };
    // This depth's lists (a directory may hold a whole corpus); names that are not UTF-8
    // (rare) on the side.
    let depth = at.rank.len();
    let (mut names, mut found) = match at.scratch.get_mut(depth) {
        Some(lists) => std::mem::take(lists),
        None => Entries::default(),
    };
    let mut odd: Vec<(OsString, usize, bool)> = Vec::new();
    for (k, entry) in entries.enumerate() {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                let mut rank = at.rank.clone();
                rank.push(k);
                at.failures.push((rank, unreadable(e)));
                continue;
            }
        };
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        let is_dir = if kind.is_dir() {
            let skip = at.skip;
            if skip.is_some_and(|s| fs::canonicalize(&path).is_ok_and(|p| p == s)) {
                continue;
            }
            true
        } else if is_json(&path) && (kind.is_file() || path.is_file()) {
            false
        } else {
            continue;
        };
        let name = entry.file_name();
        match (name.to_str(), u32::try_from(k)) {
            (Some(text), Ok(k)) if names.len() + text.len() <= u32::MAX as usize => {
                let start = names.len() as u32;
                names.push_str(text);
                found.push((start, names.len() as u32, k, is_dir));
            }
            _ => odd.push((name, k, is_dir)),
        }
    }
    let mut enter = |name: &OsStr, k: usize, is_dir: bool| {
        let rel = rel.join(name);
        if is_dir {
            at.rank.push(k);
            visit(&dir.join(name), &rel, at);
            at.rank.pop();
        } else {
            at.sources.push_path(&rel);
        }
    };
    let text = |&(start, end, ..): &(u32, u32, u32, bool)| &names[start as usize..end as usize];
    if odd.is_empty() {
        found.sort_unstable_by(|a, b| text(a).cmp(text(b)));
        for entry in &found {
            enter(OsStr::new(text(entry)), entry.2 as usize, entry.3);
        }
    } else {
        odd.extend(
            found
                .iter()
                .map(|e| (OsString::from(text(e)), e.2 as usize, e.3)),
        );
        odd.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        for (name, k, is_dir) in &odd {
            enter(name, *k, *is_dir);
        }
    }
    // Back for the next directory at this depth.
    names.clear();
    found.clear();
    if at.scratch.len() <= depth {
        at.scratch.resize_with(depth + 1, Entries::default);
    }
    at.scratch[depth] = (names, found);
}

fn is_json(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
}

/// Writes `dir/name` through a temporary file and a rename, so readers never see half a file.
pub(super) fn write_atomically(dir: &Path, name: &str, body: &[u8]) -> io::Result<()> {
    let target = dir.join(name);
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = fs::File::create(&tmp)
        .and_then(|mut f| f.write_all(body))
        .and_then(|()| fs::rename(&tmp, &target));
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        write_atomically(dir.path(), "a.json", b"one").unwrap();
        write_atomically(dir.path(), "a.json", b"two").unwrap();
        assert_eq!(fs::read(dir.path().join("a.json")).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![OsString::from("a.json")]);
    }

    #[test]
    fn walk_finds_json_below_sorted_and_skips_output() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("b/c")).unwrap();
        fs::create_dir_all(root.join("out")).unwrap();
        fs::create_dir_all(root.join("a")).unwrap();
        for f in [
            "z.json",
            "a.txt",
            "b/c/x.json",
            "b/y.JSON",
            "out/o.json",
            "a.json",
            "a/a.json",
            "b.json",
            "b-c.json",
        ] {
            fs::write(root.join(f), "{}").unwrap();
        }
        let mut sources = Sources::new(Base::Dir(root.to_owned()));
        let mut failed = Vec::new();
        let skip = fs::canonicalize(root.join("out")).unwrap();
        walk(root, Some(&skip), &mut sources, &mut failed);
        let paths: Vec<PathBuf> = (0..sources.len())
            .map(|i| match sources.get(i) {
                Source::File(p) => p,
                Source::Object { .. } => unreachable!(),
            })
            .collect();
        // The order of a sort of the whole paths, as before.
        let mut sorted = paths.clone();
        sorted.sort();
        assert_eq!(paths, sorted);
        let rel: Vec<_> = paths
            .iter()
            .map(|p| p.strip_prefix(root).unwrap().to_owned())
            .collect();
        assert_eq!(
            rel,
            [
                "a/a.json",
                "a.json",
                "b/c/x.json",
                "b/y.JSON",
                "b-c.json",
                "b.json",
                "z.json"
            ]
            .map(PathBuf::from)
        );
        assert_eq!(
            sources.name(2),
            root.join("b/c/x.json").display().to_string()
        );
        assert!(failed.is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn names_that_are_not_utf8_are_listed_in_order() {
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let odd = OsStr::from_bytes(b"b\xff.json");
        fs::create_dir_all(root.join(odd).with_extension("d")).unwrap();
        for name in [OsStr::new("a.json"), odd, OsStr::new("c.json")] {
            fs::write(root.join(name), "{}").unwrap();
        }
        fs::write(root.join(odd).with_extension("d").join("x.json"), "{}").unwrap();
        let mut sources = Sources::new(Base::Dir(root.to_owned()));
        walk(root, None, &mut sources, &mut Vec::new());
        let paths: Vec<PathBuf> = (0..sources.len())
            .map(|i| match sources.get(i) {
                Source::File(p) => p,
                Source::Object { .. } => unreachable!(),
            })
            .collect();
        let mut sorted = paths.clone();
        sorted.sort();
        assert_eq!(paths, sorted);
        assert_eq!(paths.len(), 4);
        assert!(paths.iter().all(|p| fs::read(p).unwrap() == b"{}"));
    }

    #[test]
    fn sources_keep_names_and_buckets() {
        let mut s3 = Sources::new(Base::Bucket("raw".into()));
        s3.push("genesys/c/m.json");
        s3.push("genesys/x.json");
        assert_eq!(s3.len(), 2);
        assert_eq!(s3.name(1), "s3://raw/genesys/x.json");
        assert!(matches!(
            s3.get(0),
            Source::Object {
                bucket: "raw",
                key: "genesys/c/m.json"
            }
        ));
        let mut file = Sources::new(Base::File("in/one.json".into()));
        file.push("");
        assert_eq!(file.name(0), "in/one.json");
    }
}

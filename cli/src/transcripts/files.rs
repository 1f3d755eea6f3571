//! The files and objects of `mlpipe transcripts convert`: listing the inputs (a directory tree,
//! a file or an S3 prefix, leaving out the output when it lies inside the input), preparing the
//! output directory, and writing files atomically.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use shared::store::{s3_uri, ObjectStore, S3Store};

use crate::location::{key_under_prefix, Location};

/// One input document.
pub(super) enum Source {
    File(PathBuf),
    Object { bucket: String, key: String },
}

impl Source {
    pub(super) fn name(&self) -> String {
        match self {
            Source::File(p) => p.display().to_string(),
            Source::Object { bucket, key } => s3_uri(bucket, key),
        }
    }
}

/// The S3 side, only set up when INPUT or OUTPUT is on S3.
pub(super) struct Remote {
    pub(super) rt: tokio::runtime::Runtime,
    pub(super) store: S3Store,
}

/// The input documents, in path (or key) order. Fails when INPUT cannot be used at all; a
/// subdirectory that cannot be read is recorded in `failed` (`(directory, reason)`) and the rest
/// is still listed.
pub(super) fn list_inputs(
    input: &Location,
    out: &Location,
    remote: Option<&Remote>,
    failed: &mut Vec<(String, String)>,
) -> anyhow::Result<Vec<Source>> {
    match input {
        Location::Local(path) => {
            let meta = fs::metadata(path)
                .with_context(|| format!("cannot read input {}", path.display()))?;
            if meta.is_file() {
                return Ok(vec![Source::File(path.clone())]);
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
            let mut files = Vec::new();
            walk(path, skip.as_deref(), &mut files, failed);
            files.sort();
            Ok(files.into_iter().map(Source::File).collect())
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
            Ok(keys
                .into_iter()
                .filter(|k| k.ends_with(".json") && key_under_prefix(k, prefix))
                .filter(|k| exclude.as_deref().is_none_or(|o| !key_under_prefix(k, o)))
                .map(|key| Source::Object {
                    bucket: bucket.clone(),
                    key,
                })
                .collect())
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

/// Collects the `*.json` files below `dir`. Symbolic links to files are followed, links to
/// directories are not (no cycles).
fn walk(
    dir: &Path,
    skip: Option<&Path>,
    files: &mut Vec<PathBuf>,
    failed: &mut Vec<(String, String)>,
) {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            failed.push((
                dir.display().to_string(),
                format!("cannot read directory: {e}"),
            ));
            return;
        }
    };
    for entry in entries {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                failed.push((
                    dir.display().to_string(),
                    format!("cannot read directory: {e}"),
                ));
                continue;
            }
        };
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            let skipped = skip.is_some_and(|s| fs::canonicalize(&path).is_ok_and(|p| p == s));
            if !skipped {
                walk(&path, skip, files, failed);
            }
        } else if is_json(&path) && (kind.is_file() || path.is_file()) {
            files.push(path);
        }
    }
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
        assert_eq!(names, vec![std::ffi::OsString::from("a.json")]);
    }

    #[test]
    fn walk_finds_json_below_sorted_and_skips_output() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("b/c")).unwrap();
        fs::create_dir_all(root.join("out")).unwrap();
        for f in ["z.json", "a.txt", "b/c/x.json", "b/y.JSON", "out/o.json"] {
            fs::write(root.join(f), "{}").unwrap();
        }
        let mut files = Vec::new();
        let mut failed = Vec::new();
        let skip = fs::canonicalize(root.join("out")).unwrap();
        walk(root, Some(&skip), &mut files, &mut failed);
        files.sort();
        let rel: Vec<_> = files
            .iter()
            .map(|p| p.strip_prefix(root).unwrap().to_owned())
            .collect();
        assert_eq!(
            rel,
            vec![
                PathBuf::from("b/c/x.json"),
                PathBuf::from("b/y.JSON"),
                PathBuf::from("z.json")
            ]
        );
        assert!(failed.is_empty());
    }
}

//! AWS's own service models, as botocore ships them, and a checker of request bodies against
//! them.
//!
//! botocore (the pinned one in the project's `.venv`, installed by `scripts/setup.sh`) carries
//! every AWS service's model as `botocore/data/<service>/<api version>/service-2.json.gz`:
//! the operations, the shapes of their inputs and the constraints the service enforces on them
//! (required members, types, lengths, list sizes, ranges, patterns, enums). The emulators check
//! requests against these files rather than against limits copied by hand, so a request that
//! passes here passes AWS's model, and a model update reaches the checks without an edit.
//!
//! Where the data directory is found ([`locate_data`]), in order:
//!
//! 1. a directory given explicitly (the emulator's `--botocore-data`);
//! 2. the environment variable [`DATA_ENV`] (`MLPIPE_BOTOCORE_DATA`);
//! 3. `.venv/lib/python3.*/site-packages/botocore/data` in the project: the first directory
//!    holding a `.venv`, looking up from the current directory, from the executable, and from
//!    this crate's source directory (where it was built);
//!
//! else an error that says to run `scripts/setup.sh`. The explicit directory and the variable
//! may name botocore's `data` directory, the `botocore` package, or a directory holding
//! `<service>/<version>/service-2.json[.gz]` (e.g. a test's edited copy). The newest API version
//! of a service is used.

pub mod check;
pub mod java_regex;
pub mod shapes;
#[cfg(test)]
mod tests;

use std::ffi::OsString;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};

pub use check::{Unknown, Violation};
pub use shapes::ServiceModel;

/// The environment variable naming botocore's data directory.
pub const DATA_ENV: &str = "MLPIPE_BOTOCORE_DATA";

/// Where botocore's data directory is, or an error saying how to get one (see the module
/// documentation for the order).
pub fn locate_data(explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    locate_data_from(explicit, std::env::var_os(DATA_ENV), &search_starts())
}

/// [`locate_data`] with the variable's value and the directories to look up from given.
fn locate_data_from(
    explicit: Option<&Path>,
    env: Option<OsString>,
    starts: &[PathBuf],
) -> anyhow::Result<PathBuf> {
    if let Some(dir) = explicit {
        return data_dir_in(dir).with_context(|| {
            format!(
                "no botocore service models in {} (the directory given explicitly: \
                 --botocore-data or {DATA_ENV})",
                dir.display()
            )
        });
    }
    if let Some(dir) = env.filter(|v| !v.is_empty()) {
        let dir = PathBuf::from(dir);
        return data_dir_in(&dir).with_context(|| {
            format!(
                "{DATA_ENV}={}: no botocore service models there",
                dir.display()
            )
        });
    }
    let mut looked = Vec::new();
    for start in starts {
        for root in start.ancestors() {
            let venv = root.join(".venv");
            if !venv.is_dir() {
                continue;
            }
            if let Some(data) = venv_data(&venv) {
                return Ok(data);
            }
            looked.push(venv);
            break;
        }
    }
    looked.dedup();
    let looked = if looked.is_empty() {
        "no .venv found above the current directory, the executable or the emulator's sources"
            .to_owned()
    } else {
        format!(
            "looked in {}",
            looked
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    bail!(
        "AWS's service models (botocore's data directory) were not found: run scripts/setup.sh \
         (it installs the pinned botocore into .venv), or set {DATA_ENV} to a botocore data \
         directory ({looked})"
    )
}

fn search_starts() -> Vec<PathBuf> {
    let mut starts = Vec::new();
    if let Ok(dir) = std::env::current_dir() {
        starts.push(dir);
    }
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
    {
        starts.push(dir);
    }
    starts.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    starts
}

/// `botocore/data` inside a virtualenv (`lib/python3.*/site-packages`, or `Lib/site-packages`
/// on Windows), newest Python first.
fn venv_data(venv: &Path) -> Option<PathBuf> {
    let mut candidates = vec![venv.join("Lib/site-packages/botocore/data")];
    if let Ok(entries) = std::fs::read_dir(venv.join("lib")) {
        let mut pythons: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("python3"))
            })
            .collect();
        pythons.sort();
        pythons.reverse();
        candidates.extend(
            pythons
                .into_iter()
                .map(|p| p.join("site-packages/botocore/data")),
        );
    }
    candidates.into_iter().find(|p| p.is_dir())
}

/// The data directory `dir` is or holds (`dir`, `dir/data`, `dir/botocore/data`): a directory
/// with `<service>/<version>/service-2.json[.gz]` in it.
fn data_dir_in(dir: &Path) -> anyhow::Result<PathBuf> {
    let is_data = |d: &Path| {
        !versions(&d.join("personalize-events")).is_empty()
            || std::fs::read_dir(d)
                .map(|entries| entries.flatten().any(|e| !versions(&e.path()).is_empty()))
                .unwrap_or(false)
    };
    [
        dir.to_path_buf(),
        dir.join("data"),
        dir.join("botocore/data"),
    ]
    .into_iter()
    .find(|d| is_data(d))
    .ok_or_else(|| {
        anyhow::anyhow!(
            "not a botocore data directory (no <service>/<version>/service-2.json[.gz] in it)"
        )
    })
}

/// The API version directories of a service that hold a model, oldest first.
fn versions(service_dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(service_dir) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("service-2.json.gz").is_file() || p.join("service-2.json").is_file())
        .collect();
    found.sort();
    found
}

/// Reads the newest model of `service` (e.g. `personalize-events`) under `data`.
pub fn load_service(data: &Path, service: &str) -> anyhow::Result<ServiceModel> {
    let (path, text) = read_service_json(data, service)?;
    ServiceModel::from_json(&path.display().to_string(), &text)
}

/// The file and JSON text of the newest model of `service` under `data` (`service-2.json.gz`,
/// or `service-2.json`).
pub fn read_service_json(data: &Path, service: &str) -> anyhow::Result<(PathBuf, String)> {
    let Some(version) = versions(&data.join(service)).pop() else {
        bail!(
            "{}: no model of {service} (expected {service}/<version>/service-2.json.gz)",
            data.display()
        );
    };
    let gz = version.join("service-2.json.gz");
    if gz.is_file() {
        let file = std::fs::File::open(&gz).with_context(|| format!("opening {}", gz.display()))?;
        let mut text = String::new();
        flate2::read::GzDecoder::new(file)
            .read_to_string(&mut text)
            .with_context(|| format!("reading {}", gz.display()))?;
        Ok((gz, text))
    } else {
        let plain = version.join("service-2.json");
        let text = std::fs::read_to_string(&plain)
            .with_context(|| format!("reading {}", plain.display()))?;
        Ok((plain, text))
    }
}

use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde_json::json;

use super::model_json;
use crate::botocore::{load_service, locate_data, locate_data_from, DATA_ENV};

/// Writes `<dir>/<service>/<version>/service-2.json[.gz]`.
fn write_model(dir: &Path, service: &str, version: &str, text: &str, gz: bool) {
    let dir = dir.join(service).join(version);
    std::fs::create_dir_all(&dir).unwrap();
    if gz {
        let file = std::fs::File::create(dir.join("service-2.json.gz")).unwrap();
        let mut encoder = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
        encoder.write_all(text.as_bytes()).unwrap();
        encoder.finish().unwrap();
    } else {
        std::fs::write(dir.join("service-2.json"), text).unwrap();
    }
}

/// A project with `.venv/lib/python3.11/site-packages/botocore/data` holding one model.
fn project() -> (tempfile::TempDir, PathBuf) {
    let root = tempfile::tempdir().unwrap();
    let data = root
        .path()
        .join(".venv/lib/python3.11/site-packages/botocore/data");
    write_model(
        &data,
        "personalize-events",
        "2018-03-22",
        &model_json().to_string(),
        true,
    );
    std::fs::create_dir_all(root.path().join("local/emulator")).unwrap();
    (root, data)
}

#[test]
fn the_project_venv_is_found_from_below_it() {
    let (root, data) = project();
    let start = root.path().join("local/emulator");
    assert_eq!(
        locate_data_from(None, None, std::slice::from_ref(&start)).unwrap(),
        data
    );
    // An empty variable counts as unset.
    assert_eq!(
        locate_data_from(None, Some("".into()), &[start]).unwrap(),
        data
    );
}

#[test]
fn an_explicit_directory_or_the_variable_comes_first() {
    let (root, data) = project();
    let copies = tempfile::tempdir().unwrap();
    write_model(
        copies.path(),
        "personalize-runtime",
        "2018-05-22",
        "{}",
        false,
    );
    let start = [root.path().to_path_buf()];
    // botocore's data directory, the botocore package, or a folder of copies.
    let package = data.parent().unwrap();
    assert_eq!(locate_data_from(Some(package), None, &start).unwrap(), data);
    assert_eq!(
        locate_data_from(Some(copies.path()), None, &start).unwrap(),
        copies.path()
    );
    assert_eq!(
        locate_data_from(None, Some(copies.path().into()), &start).unwrap(),
        copies.path()
    );
    let empty = tempfile::tempdir().unwrap();
    let error = locate_data_from(None, Some(empty.path().into()), &start).unwrap_err();
    assert!(format!("{error:#}").contains(DATA_ENV), "{error:#}");
    let error = locate_data_from(Some(empty.path()), None, &start).unwrap_err();
    assert!(
        format!("{error:#}").contains("no botocore service models"),
        "{error:#}"
    );
}

#[test]
fn without_models_the_error_says_to_run_setup() {
    let nowhere = tempfile::tempdir().unwrap();
    let error = locate_data_from(None, None, &[nowhere.path().to_path_buf()]).unwrap_err();
    let text = error.to_string();
    assert!(text.contains("scripts/setup.sh"), "{text}");
    assert!(text.contains(DATA_ENV), "{text}");
    // A .venv without botocore is named.
    std::fs::create_dir_all(nowhere.path().join(".venv/lib/python3.11/site-packages")).unwrap();
    let error = locate_data_from(None, None, &[nowhere.path().to_path_buf()]).unwrap_err();
    assert!(error.to_string().contains(".venv"), "{error}");
}

#[test]
fn the_newest_version_is_read_compressed_or_not() {
    let dir = tempfile::tempdir().unwrap();
    let mut old = model_json();
    old["metadata"]["apiVersion"] = json!("2019-01-01");
    write_model(dir.path(), "svc", "2019-01-01", &old.to_string(), true);
    write_model(
        dir.path(),
        "svc",
        "2024-01-01",
        &model_json().to_string(),
        false,
    );
    let model = load_service(dir.path(), "svc").unwrap();
    assert_eq!(model.api_version, "2024-01-01");
    assert!(
        model.source.ends_with("2024-01-01/service-2.json"),
        "{}",
        model.source
    );
    let error = load_service(dir.path(), "other").unwrap_err();
    assert!(error.to_string().contains("no model of other"), "{error}");
}

/// The project's own `.venv` (created by scripts/setup.sh) is where the tests find the models.
#[test]
fn this_checkout_has_the_models() {
    let data = locate_data(None).unwrap();
    for service in ["personalize-events", "personalize-runtime"] {
        let model = load_service(&data, service).unwrap();
        assert_eq!(model.protocol, "rest-json", "{model}");
    }
}

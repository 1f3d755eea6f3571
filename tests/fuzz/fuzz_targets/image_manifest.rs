//! Image job manifests (`jobs/<jobId>.json`), validated as `start-image-job` does
//! (`manifest::validate`) against each model the stack can be deployed with, with a valid job
//! id from the key and with one that is not.
//!
//! Fails on a panic, and when the answer breaks what validation promises: a refused manifest
//! must come with at most 100 problems (and a note when more were found), each naming its field
//! (`<field>: <problem>`); an accepted one must have 1 to `MAX_IMAGES` images with distinct keys
//! and an items file that is a JSON array of one `{"job", "image"}` per image.

#![no_main]

use std::collections::HashSet;

use image_background_core::manifest::{validate, MAX_REPORTED_ERRORS};
use image_background_core::{JobId, Model};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// start-image-job's `MAX_IMAGES` default (its config.rs).
const MAX_IMAGES: usize = 10_000;

fuzz_target!(|data: &[u8]| {
    let job_id = JobId::parse("fuzz-job_1").expect("a valid job id");
    for model in Model::ALL {
        match validate(Ok(job_id.clone()), data, model, MAX_IMAGES) {
            Ok(valid) => {
                assert_eq!(valid.job.job_id, job_id);
                assert!((1..=MAX_IMAGES).contains(&valid.images.len()));
                let keys: HashSet<&str> = valid.images.iter().map(|i| i.key.as_str()).collect();
                assert_eq!(keys.len(), valid.images.len(), "duplicate keys accepted");
                let items: Vec<Value> =
                    serde_json::from_slice(&valid.items_json()).expect("the items file is JSON");
                assert_eq!(items.len(), valid.images.len());
                for item in &items {
                    assert_eq!(item["job"]["jobId"], job_id.as_str());
                    assert!(item["image"]["key"].is_string());
                }
            }
            Err(errors) => check_errors(&errors),
        }
    }
    // A key that is not a job id: refused, with the reason among the problems.
    let errors = validate(
        Err("jobId: not a job id".to_owned()),
        data,
        Model::StabilityInpaint,
        MAX_IMAGES,
    )
    .expect_err("a manifest without a job id is refused");
    assert_eq!(errors[0], "jobId: not a job id");
    check_errors(&errors);
});

fn check_errors(errors: &[String]) {
    assert!(!errors.is_empty(), "refused without a reason");
    assert!(
        errors.len() <= MAX_REPORTED_ERRORS + 1,
        "{} problems",
        errors.len()
    );
    if errors.len() == MAX_REPORTED_ERRORS + 1 {
        assert!(errors[MAX_REPORTED_ERRORS].starts_with("(more problems"));
    }
    for e in errors.iter().take(MAX_REPORTED_ERRORS) {
        // The field is a path (`images[3].labels`), `manifest`, or an unknown member's name.
        let field = e.split(": ").next().unwrap_or_default();
        assert!(
            e.contains(": ") && !field.trim().is_empty(),
            "a problem that names no field: {e:?}"
        );
    }
}

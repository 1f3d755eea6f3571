//! Differential: a manifest `start-image-job` accepts (`manifest::validate`) against what
//! `generate-background` then applies to each of its items, for every model.
//!
//! Every item of the items file must be read by `ImageTask::parse`, name no model other than
//! the deployed one, and pass every check `request::prepare` makes before it needs pixels
//! (prompt and negative prompt limits, the options, the mask: the `maskPrompt` labels become,
//! boxes, "subject" for the model). The labels of a Stability job are resolved to boxes by
//! Rekognition first, so here they become one box. The image given is empty, so `prepare` must
//! stop at the image, with exactly the empty-file error: any other error is an image that
//! `start-image-job` accepted and `generate-background` would fail for every retry.

#![no_main]

use image_background_core::manifest::validate;
use image_background_core::{BoundingBox, Family, ImageTask, JobId, Mask, Model};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// start-image-job's `MAX_IMAGES` default (its config.rs).
const MAX_IMAGES: usize = 10_000;

/// What `prepare` answers when every check before the image passed and the image is empty.
const IMAGE_REACHED: &str = "image: empty file";

fuzz_target!(|data: &[u8]| {
    let job_id = JobId::parse("fuzz-job").expect("a valid job id");
    for model in Model::ALL {
        let Ok(valid) = validate(Ok(job_id.clone()), data, model, MAX_IMAGES) else {
            continue;
        };
        let items: Vec<Value> =
            serde_json::from_slice(&valid.items_json()).expect("the items file is JSON");
        for item in items {
            let task = ImageTask::parse(item).unwrap_or_else(|e| {
                panic!("{model}: generate-background refuses an accepted item: {e}")
            });
            if let Some(asked) = task.job.model.as_deref().map(str::trim) {
                if !asked.is_empty() {
                    assert_eq!(
                        Model::from_id(asked).ok(),
                        Some(model),
                        "{model}: the item names another model"
                    );
                }
            }
            let mut job = task.edit_job();
            if let (Mask::Labels(_), Family::Stability) = (&job.mask, model.family()) {
                job.mask = Mask::Boxes(vec![BoundingBox {
                    left: 0.25,
                    top: 0.25,
                    width: 0.5,
                    height: 0.5,
                }]);
            }
            let e = image_background_core::prepare(model, b"", &job)
                .expect_err("an empty image is refused");
            assert_eq!(
                e.message, IMAGE_REACHED,
                "{model}: an accepted item fails generate-background's checks"
            );
        }
    }
});

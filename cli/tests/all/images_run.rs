//! `mlpipe images run`: what it checks before touching any AWS endpoint (the whole run is
//! exercised against the local cloud by scripts/demo.sh).

use std::process::{Command, Output};

const SAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../events/images");

/// Runs `mlpipe images run` against an endpoint nothing listens on: every case below must
/// fail before the first request.
fn run(extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mlpipe"))
        .args(["images", "run"])
        .args(extra)
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env_remove("MLPIPE_IMAGE_MODEL_ID")
        // The stack's outputs, as `scripts/localcloud.sh env` exports them.
        .env("MLPIPE_UPLOAD_BUCKET", "uploads")
        .env("MLPIPE_OUTPUT_BUCKET", "outputs")
        .env(
            "MLPIPE_STATE_MACHINE_ARN",
            "arn:aws:states:us-east-1:123456789012:stateMachine:sm",
        )
        .output()
        .expect("run mlpipe")
}

fn fails_with(o: &Output, needle: &str) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "stderr: {err}");
    assert!(err.contains(needle), "expected {needle:?} in: {err}");
}

#[test]
fn a_folder_without_images_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), b"x").unwrap();
    let o = run(&[
        dir.path().to_str().unwrap(),
        "--prompt",
        "p",
        "--labels",
        "a",
    ]);
    fails_with(&o, "no *.png, *.jpg or *.jpeg images");
}

#[test]
fn a_missing_folder_is_named() {
    let o = run(&["/nonexistent/folder", "--prompt", "p", "--labels", "a"]);
    fails_with(&o, "/nonexistent/folder");
}

#[test]
fn bad_job_ids_models_and_boxes_are_refused_before_uploading() {
    let o = run(&[
        SAMPLES,
        "--prompt",
        "p",
        "--labels",
        "a",
        "--job-id",
        "has space",
    ]);
    fails_with(&o, "--job-id");
    let o = run(&[
        SAMPLES,
        "--prompt",
        "p",
        "--labels",
        "a",
        "--model",
        "stability.sd3",
    ]);
    fails_with(&o, "model");
    let o = run(&[SAMPLES, "--prompt", "p", "--mask-box", "0.5,0.5,0.9,0.2"]);
    fails_with(&o, "mask");
    let o = run(&[
        SAMPLES,
        "--prompt",
        "p",
        "--labels",
        "a",
        "--state-machine-arn",
        "arn:aws:lambda:us-east-1:1:function:f",
    ]);
    fails_with(&o, "--state-machine-arn");
}

#[test]
fn the_stack_outputs_are_required() {
    let o = Command::new(env!("CARGO_BIN_EXE_mlpipe"))
        .args(["images", "run", SAMPLES, "--prompt", "p", "--labels", "a"])
        .env_remove("MLPIPE_UPLOAD_BUCKET")
        .env_remove("MLPIPE_OUTPUT_BUCKET")
        .env_remove("MLPIPE_STATE_MACHINE_ARN")
        .output()
        .expect("run mlpipe");
    assert_eq!(o.status.code(), Some(2), "a usage error");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("--upload-bucket"), "{err}");
}

#[test]
fn labels_and_mask_boxes_together_are_a_usage_error() {
    // No mask option means "keep the main subject"; two of them cannot be combined.
    let o = run(&[
        SAMPLES,
        "--prompt",
        "p",
        "--labels",
        "a",
        "--mask-box",
        "0,0,1,1",
    ]);
    assert_eq!(o.status.code(), Some(2), "a usage error");
}

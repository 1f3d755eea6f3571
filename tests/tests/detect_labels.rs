//! `detect-labels` through the Lambda Invoke API of the local cloud, with an API Gateway HTTP
//! API (payload 2.0) event, against moto's Rekognition (canned labels).

use anyhow::{ensure, Context, Result};
use integration_tests::images::{ImagePipeline, SAMPLE_IMAGES};
use integration_tests::repo_root;
use serde_json::{json, Value};

/// Invokes the function with the fixture event carrying `body`; returns the HTTP response
/// (statusCode, headers, body parsed as JSON).
async fn invoke(p: &ImagePipeline, body: Value) -> Result<(u64, Value)> {
    let fixture = repo_root().join("events/apigw/detect-labels-post.json");
    let mut event: Value = serde_json::from_slice(&std::fs::read(&fixture)?)?;
    event["body"] = Value::String(body.to_string());
    let function = integration_tests::stack().physical_id("DetectLabels");
    let invoked = integration_tests::lambda::invoke(&p.cloud, function, &event).await?;
    ensure!(
        invoked.status == 200 && invoked.function_error.is_none(),
        "Invoke {function}: HTTP {} {:?}: {}",
        invoked.status,
        invoked.function_error,
        invoked.payload
    );
    let response = invoked.payload;
    let status = response["statusCode"].as_u64().context("statusCode")?;
    let body: Value = serde_json::from_str(response["body"].as_str().context("body")?)?;
    Ok((status, body))
}

#[tokio::test]
async fn labels_come_with_boxes_a_manifest_accepts() -> Result<()> {
    let p = ImagePipeline::connect().await?;
    let job = ImagePipeline::new_job_id("labels");
    let key = p.upload_sample(&job, SAMPLE_IMAGES[0]).await?;
    let (status, body) = invoke(&p, json!({"key": key, "maxLabels": 5})).await?;
    ensure!(status == 200, "{status} {body}");
    ensure!(body["key"] == key.as_str(), "{body}");
    let labels = body["labels"].as_array().context("labels")?;
    ensure!(!labels.is_empty(), "{body}");
    let boxes: Vec<Value> = labels
        .iter()
        .flat_map(|l| l["instances"].as_array().cloned().unwrap_or_default())
        .map(|i| i["boundingBox"].clone())
        .collect();
    ensure!(!boxes.is_empty(), "instances with boxes: {body}");
    // The boxes go straight into a job manifest's maskBoxes (strict: unknown keys rejected).
    let task = json!({
        "job": {"jobId": job, "prompt": "p"},
        "image": {"key": key, "maskBoxes": boxes},
    });
    image_background_core::ImageTask::parse(task).map_err(|e| anyhow::anyhow!(e.message))?;
    Ok(())
}

#[tokio::test]
async fn keys_outside_the_upload_prefix_are_refused() -> Result<()> {
    let p = ImagePipeline::connect().await?;
    let (status, body) = invoke(&p, json!({"key": "items/secret.json"})).await?;
    ensure!(status == 400, "{status} {body}");
    ensure!(body["error"] == "InvalidInput", "{body}");
    ensure!(
        body["message"].as_str().unwrap_or("").starts_with("key"),
        "{body}"
    );
    let (status, body) = invoke(&p, json!({"key": "uploads/a.png", "maxLabels": 0})).await?;
    ensure!(status == 400, "{status} {body}");
    ensure!(
        body["message"].as_str().unwrap_or("").contains("1000"),
        "the limit is named: {body}"
    );
    Ok(())
}

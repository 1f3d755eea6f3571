//! The SDK adapters of the ports: [`ImageModel`] on Bedrock Runtime InvokeModel, and
//! [`LabelFinder`] on Rekognition DetectLabels through `detect-labels`' own adapter.

use image_background_core::{BoundingBox, DetectedInstance, DetectedLabel};
use shared::store::s3_uri;
use shared::PipelineError;

use crate::{ImageModel, LabelFinder};

/// Labels asked of Rekognition when resolving a job's labels to boxes.
pub const DETECT_MAX_LABELS: u32 = 100;
/// Lowest confidence of those labels.
pub const DETECT_MIN_CONFIDENCE: f32 = 50.0;

impl ImageModel for aws_sdk_bedrockruntime::Client {
    async fn invoke(&self, model_id: &str, body: Vec<u8>) -> Result<Vec<u8>, PipelineError> {
        let out = self
            .invoke_model()
            .model_id(model_id)
            .content_type("application/json")
            .accept("application/json")
            .body(aws_sdk_bedrockruntime::primitives::Blob::new(body))
            .send()
            .await
            .map_err(|e| shared::error::from_sdk(format!("invoking {model_id}"), &e))?;
        Ok(out.body.into_inner())
    }
}

/// [`LabelFinder`] over Rekognition DetectLabels, with the `detect-labels` API's own adapter
/// (boxes clipped to the image, instances without a box dropped).
impl LabelFinder for detect_labels::RekognitionDetector {
    async fn labels(&self, bucket: &str, key: &str) -> Result<Vec<DetectedLabel>, PipelineError> {
        use detect_labels::LabelDetector as _;
        let found = self
            .detect(bucket, key, DETECT_MAX_LABELS, DETECT_MIN_CONFIDENCE)
            .await
            .map_err(|e| {
                PipelineError::new(
                    e.kind(),
                    format!("finding labels in {}: {}", s3_uri(bucket, key), e.detail()),
                )
            })?;
        Ok(found
            .labels
            .into_iter()
            .map(|l| DetectedLabel {
                name: l.name,
                parents: l.parents,
                instances: l
                    .instances
                    .into_iter()
                    .map(|i| DetectedInstance {
                        confidence: i.confidence,
                        bounding_box: BoundingBox {
                            left: i.bounding_box.left,
                            top: i.bounding_box.top,
                            width: i.bounding_box.width,
                            height: i.bounding_box.height,
                        },
                    })
                    .collect(),
            })
            .collect())
    }
}

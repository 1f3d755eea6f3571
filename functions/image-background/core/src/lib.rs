//! The image background pipeline, the pure part: Bedrock image-editing requests for Stability
//! AI Stable Image Inpaint (the default) and the legacy OUTPAINTING models (Titan Image
//! Generator G1 v1/v2, Nova Canvas), the job's manifest, tasks, S3 keys and report.
//!
//! Pure functions, no network, no clock (times are arguments): the functions
//! (`start-image-job`, `generate-background`, `image-job-report`), the `mlpipe images` commands
//! and the benchmarks all go through this crate.
//!
//! * [`job_id`]: the job id ([`JobId`]), parsed once.
//! * [`manifest`]: the uploaded manifest, validated against the deployed model, and the items.
//! * [`task`]: one image of a job, the Distributed Map item `generate-background` receives.
//! * [`keys`]: the S3 key layout (manifests, items, reasons, generated images, reports).
//! * [`report`]: the job report (rows, counts, JSON/CSV/HTML), the items file's image keys, and
//!   the notification's subject and message.
//!
//! * [`model`]: which [`Model`] an id names, its request [`Family`], which are legacy.
//! * [`limits`]: what each model accepts ([`Limits`], sizes, the request body limit).
//! * [`input`]: PNG/JPEG check by magic bytes, decoding as displayed (EXIF orientation,
//!   transparency composited) with allocation limits.
//! * [`fit`](mod@fit): choosing a size the model accepts and resizing/padding to it, with the
//!   [`Transform`] that maps original-image coordinates onto the fitted image and back.
//! * [`mask`]: `maskPrompt` from labels, or a mask image drawn from bounding boxes or taken from
//!   a background-removal alpha channel.
//! * [`request`]: the request JSON of each model family.
//! * [`response`]: reading the model's answer (Titan/Nova `error`, Stability `finish_reasons`)
//!   and returning each image at the input's size.
//! * [`labels`]: labels resolved to instance boxes from Rekognition DetectLabels.
//!
//! Limits and their sources:
//!
//! | limit            | Stable Image Inpaint                      | Titan G1 v1 / v2 (legacy)   | Nova Canvas (legacy)        |
//! |------------------|-------------------------------------------|-----------------------------|-----------------------------|
//! | prompt           | 1-10,000 characters (AWS, verified)       | 1-512 characters            | 1-1024 characters           |
//! | negative prompt  | up to 10,000 characters                   | 1-512 characters            | 1-1024 characters           |
//! | size             | sides >= 64, <= 9,437,184 px, aspect 1:2.5..2.5:1 (assumed) | fixed list ([`TITAN_RESOLUTIONS`]) | sides 320-4096, multiples of 16, aspect 1:4..4:1, <= 4,194,304 px |
//! | images per call  | 1 (`numberOfImages` N = N calls)          | 1-5                         | 1-5                         |
//! | seed             | 0-4,294,967,294 (0 = random)              | 0-2,147,483,646             | 0-858,993,459               |
//! | cfgScale         | not used                                  | 1.1-10.0, default 8.0       | 1.1-10.0, default 6.5       |
//! | grow_mask        | 0-20 px, default 5 (assumed)              | not used                    | not used                    |
//! | request body     | <= 25,000,000 bytes (botocore `Body` shape, verified) for every model |  |  |
//!
//! "Verified" means read from what AWS publishes (the Bedrock user guide's Stability AI Image
//! Services page: the response `{seeds, finish_reasons, images}`, the finish reasons, the prompt
//! limit; botocore's bedrock-runtime service model: the body limit). The Stability size limits
//! and `grow_mask` range come from Stability's own API documentation and third parties: they are
//! assumptions to re-check.
//!
//! Masks: every model takes black (0) as *keep* and white (255) as *repaint* (Stability: "white
//! pixels are inpainted, black pixels are preserved"; Titan/Nova `maskImage`: 0 is inside the
//! mask, which OUTPAINTING keeps).

pub mod fit;
pub mod input;
pub mod job_id;
pub mod keys;
pub mod labels;
pub mod limits;
pub mod manifest;
pub mod mask;
pub mod model;
pub mod report;
pub mod request;
pub mod response;
pub mod task;

pub use fit::{fit, target_size, Fitted, Transform};
pub use input::{check_input, decode, sniff_format, ImageFormat};
pub use job_id::{JobId, JobIdError, MAX_JOB_ID_CHARS};
pub use labels::{boxes_for_labels, DetectedInstance, DetectedLabel};
pub use limits::{Limits, SizeRule, MAX_BODY_BYTES, MB, TITAN_RESOLUTIONS};
pub use manifest::{Manifest, ValidJob};
pub use mask::{draw_mask, mask_prompt, subject_mask, BoundingBox, Mask, MASK_KEEP, MASK_REPAINT};
pub use model::{
    remove_background_model_id, Family, Model, DEFAULT_MODEL_ID, REMOVE_BACKGROUND_BASE_ID,
};
pub use request::{
    build_request, encode_png, prepare, remove_background_body, BuiltRequest, EditJob,
    GenerationOptions, ImageGenerationConfig, InpaintRequest, ModelRequest, OutPaintingMode,
    OutPaintingParams, OutpaintingRequest, Prepared, Quality, STYLE_PRESETS,
};
pub use response::{parse_response, restore};
pub use task::{ImageItem, ImageTask, Job, MaskBox, MaskSource};

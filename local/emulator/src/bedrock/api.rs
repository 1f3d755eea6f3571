//! `POST /model/{modelId}/invoke`: the InvokeModel operation of Bedrock Runtime (REST-JSON).
//!
//! Wire details (Bedrock Runtime API reference, InvokeModel):
//! - `modelId` is a path segment, URL-encoded by clients (`amazon.titan-image-generator-v2%3A0`,
//!   ARNs with `%2F`); it may be a base model id, a foundation-model ARN or an inference
//!   profile id (`us.amazon.nova-canvas-v1:0`).
//! - The request body is the model's JSON; `Content-Type` and `Accept` are
//!   `application/json` for these models. The answer is the model's JSON with
//!   `Content-Type: application/json` and an `x-amzn-RequestId` header.
//! - Errors: `x-amzn-ErrorType: <Exception>` and `{"message": "..."}`; ValidationException
//!   400, ThrottlingException 429, ResourceNotFoundException 404, ModelNotReadyException 429,
//!   AccessDeniedException 403 (all modelled for InvokeModel). An unknown model id answers 400 ValidationException "The provided model identifier is
//!   invalid." (what the service answers for ids it cannot resolve; ResourceNotFoundException
//!   is reserved for resources such as custom models or profiles that do not exist in the
//!   account).
//! - A `us.` inference profile (as an id or an ARN) called from a region outside
//!   [`models::US_PROFILE_REGIONS`] answers 400 ValidationException "The provided model
//!   identifier is invalid." too (profiles exist only in their source regions). The region is
//!   the SigV4 credential scope's; an unsigned request (or a SigV4a scope without a region) is
//!   not refused.
//! - Legacy models (Titan, Nova Canvas) answer `{"images": [...], "error": null}`. The
//!   Stability AI Image Services answer `{"seeds": [<seed>], "finish_reasons": [null],
//!   "images": ["<base64>"]}` (one image per call), or, when the invocation ends with a finish
//!   reason (see [`super::admin`] and [`super::validate::finish_marker`] for how tests ask for
//!   one), `{"finish_reasons": ["<reason>"]}` exactly as the Bedrock user guide shows it: 200,
//!   no seeds, no images.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::access::Access;

use super::models::{self, Api, Family, Model, StabilityService};
use super::validate::{self, Invalid};
use super::{paint, BedrockService, Invocation};

/// The IAM action of InvokeModel.
pub const INVOKE_MODEL_ACTION: &str = "bedrock:InvokeModel";

/// The geographic prefixes of cross-region (system-defined) inference profile ids.
pub const INFERENCE_PROFILE_PREFIXES: [&str; 7] =
    ["us", "us-gov", "eu", "apac", "jp", "au", "global"];

/// The message Bedrock sends with an injected (or real) ThrottlingException.
pub const THROTTLING_MESSAGE: &str = "Too many requests, please wait before trying again.";

/// An error answer in the Bedrock REST-JSON shape.
pub use crate::rest_json::ApiError;

impl ApiError {
    fn validation(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            error_type: "ValidationException",
            message: message.into(),
        }
    }
}

impl From<Invalid> for ApiError {
    fn from(invalid: Invalid) -> Self {
        Self::validation(invalid.0)
    }
}

/// A 200 answer: its JSON body and what the log says of it.
struct Generated {
    body: Value,
    images: u32,
    /// Size of the returned images (`None` when there are none).
    size: Option<(u32, u32)>,
    /// The non-null finish reason of a Stability answer without an image.
    finish_reason: Option<&'static str>,
}

/// `POST /model/{modelId}/invoke`.
///
/// Order of the checks: the caller (with IAM enforcement), an injected throttling error, the
/// caller's permission (`bedrock:InvokeModel` on each of [`model_resource_arns`]), then the model
/// id (and, for a `us.` profile, the caller's region) and the request itself; for the
/// Stability services, an injected or requested finish reason last.
pub async fn invoke_model(
    State(service): State<BedrockService>,
    Path(model_id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let request_id = crate::ids::uuid_v4();
    let request_bytes = body.as_ref().map_or(0, Bytes::len);
    let model = models::resolve(&model_id);
    let access = Access::of_request(service.iam(), &headers, &uri);
    let scope_region = crate::iam::credential(&headers, uri.query()).and_then(|c| c.region);

    let throttled = access.is_ok() && {
        let mut inner = service.lock();
        if inner.throttle_remaining > 0 {
            inner.throttle_remaining -= 1;
            true
        } else {
            false
        }
    };
    let outcome = match access {
        Err(error) => Err(ApiError::from(error)),
        Ok(_) if throttled => Err(ApiError {
            status: StatusCode::TOO_MANY_REQUESTS,
            error_type: "ThrottlingException",
            message: THROTTLING_MESSAGE.to_owned(),
        }),
        Ok(access) => {
            let resources = model_resource_arns(
                &model_id,
                model.is_some(),
                access.region(),
                access.account(),
            );
            match resources
                .iter()
                .try_for_each(|resource| access.check(INVOKE_MODEL_ACTION, resource))
            {
                Err(denied) => Err(ApiError::from(denied)),
                Ok(()) => {
                    let model =
                        model.filter(|_| profile_available(&model_id, scope_region.as_deref()));
                    invoke(&service, model, body, &headers).await
                }
            }
        }
    };

    let at = OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_default();
    let mut entry = Invocation {
        seq: 0,
        model_id,
        model: model.map(|m| m.id),
        status: 200,
        error_type: None,
        message: None,
        images: 0,
        width: None,
        height: None,
        finish_reason: None,
        request_bytes,
        request_id: request_id.clone(),
        at,
    };
    let response = match outcome {
        Ok(generated) => {
            entry.images = generated.images;
            entry.width = generated.size.map(|(w, _)| w);
            entry.height = generated.size.map(|(_, h)| h);
            entry.finish_reason = generated.finish_reason;
            let body = generated.body.to_string();
            let mut response = (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                body,
            )
                .into_response();
            if let Ok(id) = HeaderValue::from_str(&request_id) {
                response.headers_mut().insert("x-amzn-RequestId", id);
            }
            response
        }
        Err(error) => {
            entry.status = error.status.as_u16();
            entry.error_type = Some(error.error_type);
            entry.message = Some(error.message.clone());
            error.to_response(&request_id)
        }
    };
    service.lock().record(entry);
    response
}

/// The invocation proper, once the caller may make it.
async fn invoke(
    service: &BedrockService,
    model: Option<Model>,
    body: Result<Bytes, BytesRejection>,
    headers: &HeaderMap,
) -> Result<Generated, ApiError> {
    let model =
        model.ok_or_else(|| ApiError::validation("The provided model identifier is invalid."))?;
    let body = body.map_err(|rejection| {
        ApiError::validation(format!(
            "The request body could not be read ({}); InvokeModel bodies are limited to {} bytes.",
            rejection.body_text(),
            super::MAX_BODY_BYTES
        ))
    })?;
    check_content_type(headers)?;
    let service = service.clone();
    tokio::task::spawn_blocking(move || generate(&service, model, &body))
        .await
        .unwrap_or_else(|e| {
            Err(ApiError {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                error_type: "InternalServerException",
                message: format!("the emulator failed: {e}"),
            })
        })
}

/// The IAM resource `InvokeModel` on `model_id` (as the client sent it, decoded) is evaluated
/// against, for a caller in `region` and `account`:
///
/// - an ARN (foundation model, inference profile, provisioned or custom model): itself;
/// - a cross-region inference profile id (`us.`, `us-gov.`, `eu.`, `apac.`, `jp.`, `au.`,
///   `global.` + base model id): `arn:aws:bedrock:{region}:{account}:inference-profile/{id}`;
/// - a base model id: `arn:aws:bedrock:{region}::foundation-model/{id}`.
///
/// AWS also checks, for an inference profile, `bedrock:InvokeModel` on the foundation model in
/// each region the profile routes to: see [`model_resource_arns`].
pub fn model_resource_arn(model_id: &str, region: &str, account: &str) -> String {
    if model_id.starts_with("arn:") {
        return model_id.to_owned();
    }
    let is_profile = model_id
        .split_once('.')
        .is_some_and(|(prefix, _)| INFERENCE_PROFILE_PREFIXES.contains(&prefix));
    if is_profile {
        format!("arn:aws:bedrock:{region}:{account}:inference-profile/{model_id}")
    } else {
        format!("arn:aws:bedrock:{region}::foundation-model/{model_id}")
    }
}

/// Every resource `InvokeModel` on `model_id` needs `bedrock:InvokeModel` on, in the order they
/// are checked (the first one not allowed is named in the AccessDeniedException):
///
/// 1. [`model_resource_arn`];
/// 2. for a `us.` cross-region inference profile (its id or its ARN) of a model the emulator
///    serves (`known_model`), called from one of [`models::US_PROFILE_REGIONS`]:
///    `arn:aws:bedrock:{r}::foundation-model/{base id}` for each `r` of those regions, the
///    profile's destinations, as AWS requires.
///
/// Other geographies (`eu.`, `apac.`, `jp.`, `au.`, `us-gov.`, `global.`): the profile only;
/// the emulator does not know their destination regions. A `us.` profile called from another
/// region is refused as an invalid model id after the profile check ([`invoke_model`]).
pub fn model_resource_arns(
    model_id: &str,
    known_model: bool,
    region: &str,
    account: &str,
) -> Vec<String> {
    let mut resources = vec![model_resource_arn(model_id, region, account)];
    if let Some(base) = us_profile_base(model_id) {
        if known_model && models::US_PROFILE_REGIONS.contains(&region) {
            resources.extend(
                models::US_PROFILE_REGIONS
                    .iter()
                    .map(|r| format!("arn:aws:bedrock:{r}::foundation-model/{base}")),
            );
        }
    }
    resources
}

/// The base model id of a `us.` cross-region inference profile, given as its id
/// (`us.stability.stable-image-inpaint-v1:0`) or its ARN (`...:inference-profile/us....`).
pub fn us_profile_base(model_id: &str) -> Option<&str> {
    let profile = if model_id.starts_with("arn:") {
        model_id.split_once(":inference-profile/")?.1
    } else {
        model_id
    };
    profile.strip_prefix("us.")
}

/// Whether `model_id` may be called from `region` (the credential scope's, if known): a `us.`
/// profile only from [`models::US_PROFILE_REGIONS`]; anything else from anywhere.
fn profile_available(model_id: &str, region: Option<&str>) -> bool {
    match (us_profile_base(model_id), region) {
        (Some(_), Some(region)) => models::US_PROFILE_REGIONS.contains(&region),
        _ => true,
    }
}

/// The image models take JSON; a body declared as anything else is refused as the service does.
/// A missing `Content-Type` is tolerated (the SDKs always send one).
fn check_content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let mime = value
        .to_str()
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if mime == "application/json" || mime.is_empty() {
        Ok(())
    } else {
        Err(ApiError::validation(format!(
            "Content-Type {mime} is not supported by this model; use application/json."
        )))
    }
}

/// Validates the request and paints its images (CPU-bound: runs on the blocking pool).
fn generate(service: &BedrockService, model: Model, body: &[u8]) -> Result<Generated, ApiError> {
    match model.api {
        Api::Legacy(family) => generate_legacy(model.id, family, body),
        Api::Stability(StabilityService::Inpaint) => {
            let job = validate::inpaint_job(body)?;
            let seed = if job.seed == 0 {
                random_seed()
            } else {
                job.seed
            };
            if let Some(reason) = service.take_finish_reason().or(job.finish_marker) {
                return Ok(finished(reason));
            }
            let (bytes, w, h) = paint::inpaint(&job, seed);
            Ok(stability_image(seed, &bytes, w, h))
        }
        Api::Stability(StabilityService::RemoveBackground) => {
            let job = validate::remove_background_job(body)?;
            if let Some(reason) = service.take_finish_reason() {
                return Ok(finished(reason));
            }
            let out = paint::remove_background(&job.image);
            let bytes = paint::encode_rgba(&out, job.output_format);
            Ok(stability_image(
                random_seed(),
                &bytes,
                out.width(),
                out.height(),
            ))
        }
    }
}

/// Titan / Nova Canvas OUTPAINTING.
fn generate_legacy(model_id: &str, family: Family, body: &[u8]) -> Result<Generated, ApiError> {
    let job = validate::outpaint_job(model_id, family, body)?;
    let keep = paint::keep_mask(&job);
    let images: Vec<String> = (0..job.number_of_images)
        .map(|i| STANDARD.encode(paint::render(&job, &keep, i)))
        .collect();
    Ok(Generated {
        images: images.len() as u32,
        body: json!({ "images": images, "error": null }),
        size: Some((job.image.width(), job.image.height())),
        finish_reason: None,
    })
}

/// A Stability answer with one image.
fn stability_image(seed: u64, bytes: &[u8], width: u32, height: u32) -> Generated {
    Generated {
        body: json!({
            "seeds": [seed],
            "finish_reasons": [null],
            "images": [STANDARD.encode(bytes)],
        }),
        images: 1,
        size: Some((width, height)),
        finish_reason: None,
    }
}

/// A Stability answer that ended with `reason`: no image.
fn finished(reason: &'static str) -> Generated {
    Generated {
        body: json!({ "finish_reasons": [reason] }),
        images: 0,
        size: None,
        finish_reason: Some(reason),
    }
}

/// A seed for a request that asked for a random one: 1..=[`models::STABILITY_SEED_MAX`].
fn random_seed() -> u64 {
    let value = u64::from(u32::from_le_bytes(crate::ids::random_bytes::<4>()));
    value % models::STABILITY_SEED_MAX as u64 + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_resources() {
        let arn = |id| model_resource_arn(id, "eu-west-1", "210987654321");
        assert_eq!(
            arn("amazon.titan-image-generator-v2:0"),
            "arn:aws:bedrock:eu-west-1::foundation-model/amazon.titan-image-generator-v2:0"
        );
        for profile in [
            "us.amazon.nova-canvas-v1:0",
            "global.amazon.nova-canvas-v1:0",
        ] {
            assert_eq!(
                arn(profile),
                format!("arn:aws:bedrock:eu-west-1:210987654321:inference-profile/{profile}")
            );
        }
        let given = "arn:aws:bedrock:us-west-2::foundation-model/amazon.nova-canvas-v1:0";
        assert_eq!(arn(given), given);
    }

    #[test]
    fn us_profiles_also_need_the_foundation_model_in_each_destination_region() {
        let id = "us.stability.stable-image-inpaint-v1:0";
        let fm = |r: &str| {
            format!("arn:aws:bedrock:{r}::foundation-model/stability.stable-image-inpaint-v1:0")
        };
        let profile = format!("arn:aws:bedrock:us-east-2:210987654321:inference-profile/{id}");
        assert_eq!(
            model_resource_arns(id, true, "us-east-2", "210987654321"),
            [
                profile.clone(),
                fm("us-east-1"),
                fm("us-east-2"),
                fm("us-west-2")
            ]
        );
        // Given as its ARN: the same foundation models.
        assert_eq!(
            model_resource_arns(&profile, true, "us-east-2", "210987654321"),
            [
                profile.clone(),
                fm("us-east-1"),
                fm("us-east-2"),
                fm("us-west-2")
            ]
        );
        // Other geographies, unknown models, profiles called from outside the US: the profile.
        let eu = "eu.stability.stable-image-inpaint-v1:0";
        assert_eq!(model_resource_arns(eu, true, "eu-west-1", "1").len(), 1);
        assert_eq!(
            model_resource_arns("us.stability.nothing-v1:0", false, "us-east-1", "1").len(),
            1
        );
        assert_eq!(model_resource_arns(id, true, "eu-west-1", "1").len(), 1);
        // A base id or a foundation-model ARN: itself.
        assert_eq!(
            model_resource_arns(
                "stability.stable-image-inpaint-v1:0",
                true,
                "us-west-2",
                "1"
            ),
            [fm("us-west-2")]
        );
        assert_eq!(
            model_resource_arns(&fm("us-west-2"), true, "us-east-1", "1"),
            [fm("us-west-2")]
        );
    }

    #[test]
    fn us_profiles_exist_only_in_us_regions() {
        let id = "us.stability.stable-image-remove-background-v1:0";
        assert!(profile_available(id, Some("us-west-2")));
        assert!(!profile_available(id, Some("eu-west-1")));
        assert!(profile_available(id, None), "unknown region: not refused");
        assert!(profile_available(
            "stability.stable-image-remove-background-v1:0",
            Some("eu-west-1")
        ));
        assert!(!profile_available(
            "arn:aws:bedrock:ap-south-1:1:inference-profile/us.amazon.nova-canvas-v1:0",
            Some("ap-south-1")
        ));
        assert!(profile_available("us-gov.x", Some("us-gov-west-1")));
    }

    #[test]
    fn random_seeds_are_in_range() {
        for _ in 0..100 {
            let seed = random_seed();
            assert!((1..=4_294_967_294).contains(&seed));
        }
    }
}

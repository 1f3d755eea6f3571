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

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::json;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::access::Access;

use super::models::{self, Model};
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

/// A successful invocation: the PNGs, base64-encoded.
struct Generated {
    images: Vec<String>,
    width: u32,
    height: u32,
}

/// `POST /model/{modelId}/invoke`.
///
/// Order of the checks: the caller (with IAM enforcement), an injected throttling error, the
/// caller's permission (`bedrock:InvokeModel` on [`model_resource_arn`]), then the model id and
/// the request itself.
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
            let resource = model_resource_arn(&model_id, access.region(), access.account());
            match access.check(INVOKE_MODEL_ACTION, &resource) {
                Err(denied) => Err(ApiError::from(denied)),
                Ok(()) => invoke(model, body, &headers).await,
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
        request_bytes,
        request_id: request_id.clone(),
        at,
    };
    let response = match outcome {
        Ok(generated) => {
            entry.images = generated.images.len() as u32;
            entry.width = Some(generated.width);
            entry.height = Some(generated.height);
            let body = json!({ "images": generated.images, "error": null }).to_string();
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
    tokio::task::spawn_blocking(move || generate(model, &body))
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
/// each region the profile routes to; the emulator checks the profile only.
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
fn generate(model: Model, body: &[u8]) -> Result<Generated, ApiError> {
    let job = validate::outpaint_job(model, body)?;
    let keep = paint::keep_mask(&job);
    let images = (0..job.number_of_images)
        .map(|i| STANDARD.encode(paint::render(&job, &keep, i)))
        .collect();
    Ok(Generated {
        images,
        width: job.image.width(),
        height: job.image.height(),
    })
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
}

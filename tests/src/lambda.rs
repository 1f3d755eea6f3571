//! The Lambda Invoke API of the local cloud, SigV4-signed with the caller's credentials (the
//! local administrator's, from `scripts/localcloud.sh env`), as an SDK would call it: the
//! front door checks `lambda:InvokeFunction` like AWS.

use std::time::SystemTime;

use anyhow::{Context, Result};
use aws_credential_types::provider::ProvideCredentials as _;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use serde_json::Value;

use crate::LocalCloud;

/// An Invoke answer: HTTP status, the function error (`X-Amz-Function-Error`) and the payload.
#[derive(Debug, Clone)]
pub struct Invoked {
    pub status: u16,
    pub function_error: Option<String>,
    pub payload: Value,
}

/// `RequestResponse` invocation of `function` (name or ARN) with `payload`.
pub async fn invoke(cloud: &LocalCloud, function: &str, payload: &Value) -> Result<Invoked> {
    let url = format!(
        "{}/2015-03-31/functions/{}/invocations",
        cloud.endpoint,
        urlencoding::encode(function)
    );
    let body = serde_json::to_vec(payload)?;
    let credentials = cloud
        .config
        .credentials_provider()
        .context("no credentials: source <(scripts/localcloud.sh env)")?
        .provide_credentials()
        .await
        .context("resolving credentials")?;
    let identity = credentials.into();
    let region = cloud
        .config
        .region()
        .map(|r| r.to_string())
        .unwrap_or_else(|| crate::REGION.to_owned());
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(&region)
        .name("lambda")
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()?
        .into();
    let host = url
        .split("://")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .unwrap_or_default()
        .to_owned();
    let headers = [
        ("host", host.as_str()),
        ("content-type", "application/json"),
    ];
    let signable = SignableRequest::new(
        "POST",
        &url,
        headers.iter().copied(),
        SignableBody::Bytes(&body),
    )?;
    let (instructions, _) = sign(signable, &params)?.into_parts();
    let mut request = cloud
        .http
        .post(&url)
        .timeout(crate::pipeline_timeout())
        .header("content-type", "application/json")
        .body(body);
    for (name, value) in instructions.headers() {
        request = request.header(name, value);
    }
    let response = request
        .send()
        .await
        .with_context(|| format!("invoking {function}"))?;
    let status = response.status().as_u16();
    let function_error = response
        .headers()
        .get("x-amz-function-error")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let text = response.text().await?;
    let payload = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Ok(Invoked {
        status,
        function_error,
        payload,
    })
}

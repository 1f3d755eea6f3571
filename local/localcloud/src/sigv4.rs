//! SigV4 signing of raw HTTP requests (aws-sigv4, the SDK's own signer): the front door signs
//! the Step Functions interpreter's calls again with the state machine role's credentials, and
//! [`crate::iam_query`] signs IAM and STS calls.

use std::time::SystemTime;

use anyhow::Context as _;
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign, PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
    UriPathNormalizationMode,
};
use aws_sigv4::sign::v4;

/// Access key, secret and (for assumed roles) session token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

/// The headers to set on the request (`authorization`, `x-amz-date`, `x-amz-security-token`,
/// ...), replacing any earlier signature. `headers` are the request's headers as they will be
/// sent (`host` included).
pub fn signature_headers<'a>(
    method: &'a str,
    url: &'a str,
    headers: impl Iterator<Item = (&'a str, &'a str)>,
    body: &'a [u8],
    keys: &Keys,
    region: &str,
    service: &str,
) -> anyhow::Result<Vec<(String, String)>> {
    signature_headers_at(
        method,
        url,
        headers,
        body,
        keys,
        region,
        service,
        SystemTime::now(),
    )
}

/// [`signature_headers`] at a given time.
#[allow(clippy::too_many_arguments)]
pub fn signature_headers_at<'a>(
    method: &'a str,
    url: &'a str,
    headers: impl Iterator<Item = (&'a str, &'a str)>,
    body: &'a [u8],
    keys: &Keys,
    region: &str,
    service: &str,
    time: SystemTime,
) -> anyhow::Result<Vec<(String, String)>> {
    let identity = Credentials::new(
        &keys.access_key_id,
        &keys.secret_access_key,
        keys.session_token.clone(),
        None,
        "localcloud",
    )
    .into();
    let mut settings = SigningSettings::default();
    if service == "s3" {
        // S3 signs the path as sent (no normalisation, no second encoding) and the payload
        // hash in x-amz-content-sha256, as the SDKs' S3 signers do.
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    }
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(time)
        .settings(settings)
        .build()
        .context("signing parameters")?
        .into();
    let request = SignableRequest::new(method, url, headers, SignableBody::Bytes(body))
        .context("a request to sign")?;
    let (instructions, _) = sign(request, &params).context("signing")?.into_parts();
    Ok(instructions
        .headers()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect())
}

/// `(access key id, region, service)` of a SigV4 `Authorization` header.
pub fn credential_scope(authorization: &str) -> Option<(String, String, String)> {
    let credential = authorization.split("Credential=").nth(1)?;
    let credential = credential.split([',', ' ']).next()?;
    let mut parts = credential.split('/');
    let key = parts.next()?.to_owned();
    let _date = parts.next()?;
    let region = parts.next()?.to_owned();
    let service = parts.next()?.to_owned();
    Some((key, region, service))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The signature botocore's S3SigV4Auth (what moto checks with) gives the same request.
    #[test]
    fn s3_signatures_match_botocore() {
        let keys = Keys {
            access_key_id: "AK".into(),
            secret_access_key: "SK".into(),
            session_token: Some("tok".into()),
        };
        let body = b"{\"a\": 1}\n";
        let time = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_796_285_151);
        let headers = signature_headers_at(
            "PUT",
            "http://localhost:4566/bkt/map-results/x/manifest.json",
            [
                ("host", "localhost:4566"),
                ("accept-encoding", "identity"),
                ("content-length", "9"),
                ("x-amz-checksum-crc32", "Y2YXCQ=="),
            ]
            .into_iter(),
            body,
            &keys,
            "us-east-1",
            "s3",
            time,
        )
        .unwrap();
        let get = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("x-amz-date"), Some("20261203T080551Z"));
        let auth = get("authorization").unwrap();
        assert!(
            auth.ends_with(
                "Signature=b9cac4dd6d94ddfacd9e204d21a62965831cfe8edadb9842add9d19c35f7e09b"
            ),
            "{auth}"
        );
    }

    #[test]
    fn signs_and_reads_the_scope() {
        let keys = Keys {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "secret".into(),
            session_token: Some("token".into()),
        };
        let headers = signature_headers(
            "POST",
            "http://127.0.0.1:4566/",
            [
                ("host", "127.0.0.1:4566"),
                ("content-type", "application/x-amz-json-1.0"),
            ]
            .into_iter(),
            b"{}",
            &keys,
            "us-east-1",
            "dynamodb",
        )
        .unwrap();
        let auth = &headers
            .iter()
            .find(|(k, _)| k == "authorization")
            .unwrap()
            .1;
        assert_eq!(
            credential_scope(auth),
            Some(("AKIDEXAMPLE".into(), "us-east-1".into(), "dynamodb".into()))
        );
        assert!(headers
            .iter()
            .any(|(k, v)| k == "x-amz-security-token" && v == "token"));
    }
}

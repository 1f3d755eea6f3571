//! Transcript links: what `transcripturl` hands out and what serves them.
//!
//! Real links are S3 presigned GET URLs of the form
//! `https://{bucket}.s3.amazonaws.com/transcriptsCache/{orgId}/{conversationId}/{communicationId}-transcripts?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=...&X-Amz-SignedHeaders=host&X-Amz-Expires=600&X-Amz-Credential=...&X-Amz-Signature=...`.
//! Ours have the same path and query parameters on this server; the signature is an HMAC-SHA256
//! over the method, path, date, lifetime and credential with a per-process key, so a link cannot
//! be forged or extended. Like S3, an expired link answers 403 `AccessDenied` "Request has
//! expired", a tampered one 403 `SignatureDoesNotMatch`, both with an S3 XML error body.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{header, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

use super::activity::{CallKind, CallTarget};
use super::store::DocKey;
use super::GenesysService;

/// Signing algorithm named in the links, as in SigV4 presigned URLs.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// Path prefix of transcript links, as on the real transcript bucket.
pub const PATH_PREFIX: &str = "/transcriptsCache";
/// Suffix of the last path segment, after the communication id.
pub const OBJECT_SUFFIX: &str = "-transcripts";
/// The access key id the links claim to be signed with.
const ACCESS_KEY_ID: &str = "EMULATORTRANSCRIPTS";
const REGION: &str = "us-east-1";

const AMZ_DATE: &[time::format_description::BorrowedFormatItem<'static>] =
    format_description!("[year][month][day]T[hour][minute][second]Z");
const AMZ_DAY: &[time::format_description::BorrowedFormatItem<'static>] =
    format_description!("[year][month][day]");

/// The path of the transcript object for `key` in organization `organization_id`.
pub fn object_path(organization_id: &str, key: &DocKey) -> String {
    format!(
        "{PATH_PREFIX}/{}/{}/{}{OBJECT_SUFFIX}",
        urlencoding::encode(organization_id),
        urlencoding::encode(&key.conversation_id),
        urlencoding::encode(&key.communication_id),
    )
}

/// A link to the transcript of `key`, valid for `expires_secs` from `now`.
pub fn presign(
    signing_key: &[u8],
    public_url: &str,
    organization_id: &str,
    key: &DocKey,
    now: OffsetDateTime,
    expires_secs: u64,
) -> String {
    let path = object_path(organization_id, key);
    let amz_date = now.format(AMZ_DATE).expect("formatting a UTC date");
    let day = now.format(AMZ_DAY).expect("formatting a UTC date");
    let credential = format!("{ACCESS_KEY_ID}/{day}/{REGION}/s3/aws4_request");
    let signature = sign(
        signing_key,
        &path,
        &amz_date,
        &expires_secs.to_string(),
        &credential,
    );
    format!(
        "{public_url}{path}?X-Amz-Algorithm={ALGORITHM}&X-Amz-Date={amz_date}&X-Amz-SignedHeaders=host&X-Amz-Expires={expires_secs}&X-Amz-Credential={}&X-Amz-Signature={signature}",
        urlencoding::encode(&credential),
    )
}

/// Hex HMAC-SHA256 over everything a link's validity depends on.
fn sign(signing_key: &[u8], path: &str, amz_date: &str, expires: &str, credential: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(signing_key).expect("HMAC accepts keys of any length");
    let canonical = format!("{ALGORITHM}\nGET\n{path}\n{amz_date}\n{expires}\n{credential}");
    mac.update(canonical.as_bytes());
    crate::ids::hex(&mac.finalize().into_bytes())
}

/// `GET /transcriptsCache/{orgId}/{conversationId}/{communicationId}-transcripts?X-Amz-...`
///
/// Serves the transcript document (`application/json`) while the link is valid, like a presigned
/// S3 GET. Checks in S3's order: query parameters present and well-formed (400
/// `AuthorizationQueryParametersError`, or 403 `AccessDenied` when there is no signature at all),
/// not expired (403 `AccessDenied` "Request has expired"), signature (403
/// `SignatureDoesNotMatch`), then the object (404 `NoSuchKey`). `HEAD` is answered like `GET`
/// without a body.
pub async fn download(
    State(service): State<GenesysService>,
    method: Method,
    uri: Uri,
    Path((organization_id, conversation_id, object)): Path<(String, String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let communication_id = object.strip_suffix(OBJECT_SUFFIX);
    let mut inner = service.lock();
    let now = inner.clock.now_utc();

    let response = match check_link(service.signing_key(), uri.path(), &query, now) {
        Err(refusal) => refusal.into_response(),
        Ok(()) => {
            let document = communication_id
                .map(|m| DocKey::new(conversation_id.as_str(), m))
                .and_then(|key| inner.documents.get(&key))
                .filter(|doc| doc.organization_id == organization_id);
            match document {
                Some(doc) => (
                    [(header::CONTENT_TYPE, "application/json")],
                    doc.body.clone(),
                )
                    .into_response(),
                None => s3_error(
                    StatusCode::NOT_FOUND,
                    "NoSuchKey",
                    "The specified key does not exist.",
                    &[],
                ),
            }
        }
    };

    let call = CallTarget {
        kind: CallKind::Download,
        method: method.as_str(),
        path: uri.path(),
        conversation_id: Some(&conversation_id),
        communication_id,
    };
    inner.record(&call, response.status());
    response
}

/// Why S3 refuses a presigned request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LinkRefusal {
    /// No signature at all: an anonymous request to a private bucket.
    Unsigned,
    /// A presigned query that is incomplete or malformed.
    BadQuery(&'static str),
    /// Past `X-Amz-Date` + `X-Amz-Expires`.
    Expired {
        expires: String,
        expires_at: OffsetDateTime,
        now: OffsetDateTime,
    },
    /// The signature is not ours for this path and query.
    SignatureMismatch,
}

impl IntoResponse for LinkRefusal {
    fn into_response(self) -> Response {
        match self {
            Self::Unsigned => s3_error(StatusCode::FORBIDDEN, "AccessDenied", "Access Denied", &[]),
            Self::BadQuery(message) => s3_error(
                StatusCode::BAD_REQUEST,
                "AuthorizationQueryParametersError",
                message,
                &[],
            ),
            Self::Expired {
                expires,
                expires_at,
                now,
            } => {
                let fmt = |t: OffsetDateTime| t.format(&Rfc3339).unwrap_or_default();
                s3_error(
                    StatusCode::FORBIDDEN,
                    "AccessDenied",
                    "Request has expired",
                    &[
                        ("X-Amz-Expires", expires),
                        ("Expires", fmt(expires_at)),
                        ("ServerTime", fmt(now)),
                    ],
                )
            }
            Self::SignatureMismatch => s3_error(
                StatusCode::FORBIDDEN,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
                &[],
            ),
        }
    }
}

/// Validates the presigned query of a request for `path` at time `now`.
fn check_link(
    signing_key: &[u8],
    path: &str,
    query: &HashMap<String, String>,
    now: OffsetDateTime,
) -> Result<(), LinkRefusal> {
    let param = |name: &str| query.get(name).map(String::as_str);
    let signature = param("X-Amz-Signature").ok_or(LinkRefusal::Unsigned)?;
    if param("X-Amz-Algorithm") != Some(ALGORITHM) {
        return Err(LinkRefusal::BadQuery(
            "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"",
        ));
    }
    let (Some(amz_date), Some(expires), Some(credential)) = (
        param("X-Amz-Date"),
        param("X-Amz-Expires"),
        param("X-Amz-Credential"),
    ) else {
        return Err(LinkRefusal::BadQuery(
            "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.",
        ));
    };
    let signed_at = PrimitiveDateTime::parse(amz_date, AMZ_DATE)
        .map_err(|_| {
            LinkRefusal::BadQuery(
                "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"",
            )
        })?
        .assume_utc();
    let expires_secs: u32 = expires
        .parse()
        .map_err(|_| LinkRefusal::BadQuery("X-Amz-Expires should be a number"))?;
    let expires_at = signed_at + time::Duration::seconds(i64::from(expires_secs));
    if now > expires_at {
        return Err(LinkRefusal::Expired {
            expires: expires.to_owned(),
            expires_at,
            now,
        });
    }
    let expected = sign(signing_key, path, amz_date, expires, credential);
    if !signature.eq_ignore_ascii_case(&expected) {
        return Err(LinkRefusal::SignatureMismatch);
    }
    Ok(())
}

/// An S3 REST error: `application/xml` body `<Error><Code/><Message/>...<RequestId/></Error>`.
fn s3_error(status: StatusCode, code: &str, message: &str, extra: &[(&str, String)]) -> Response {
    let request_id = crate::ids::hex(&crate::ids::random_bytes::<8>()).to_uppercase();
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>");
    let mut element = |name: &str, value: &str| {
        xml.push_str(&format!("<{name}>{}</{name}>", xml_escape(value)));
    };
    element("Code", code);
    element("Message", message);
    for (name, value) in extra {
        element(name, value);
    }
    element("RequestId", &request_id);
    xml.push_str("</Error>");
    (
        status,
        [
            (header::CONTENT_TYPE, "application/xml".to_owned()),
            (
                header::HeaderName::from_static("x-amz-request-id"),
                request_id,
            ),
        ],
        xml,
    )
        .into_response()
}

fn xml_escape(value: &str) -> String {
    value
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"test-key";

    fn query_of(url: &str) -> (String, HashMap<String, String>) {
        let rest = url.strip_prefix("http://emulator").unwrap();
        let (path, query) = rest.split_once('?').unwrap();
        let params = query
            .split('&')
            .map(|pair| {
                let (k, v) = pair.split_once('=').unwrap();
                (k.to_owned(), urlencoding::decode(v).unwrap().into_owned())
            })
            .collect();
        (path.to_owned(), params)
    }

    fn link(now: OffsetDateTime) -> (String, HashMap<String, String>) {
        let key = DocKey::new("conv-1", "comm-1");
        query_of(&presign(KEY, "http://emulator", "org", &key, now, 600))
    }

    #[test]
    fn link_has_s3_shape() {
        let now = time::macros::datetime!(2020-11-06 13:57:43 UTC);
        let (path, q) = link(now);
        assert_eq!(path, "/transcriptsCache/org/conv-1/comm-1-transcripts");
        assert_eq!(q["X-Amz-Date"], "20201106T135743Z");
        assert_eq!(q["X-Amz-Expires"], "600");
        assert_eq!(q["X-Amz-SignedHeaders"], "host");
        assert_eq!(
            q["X-Amz-Credential"],
            "EMULATORTRANSCRIPTS/20201106/us-east-1/s3/aws4_request"
        );
        assert_eq!(q["X-Amz-Signature"].len(), 64);
    }

    #[test]
    fn valid_until_expiry() {
        let signed = time::macros::datetime!(2020-11-06 13:57:43 UTC);
        let (path, q) = link(signed);
        assert!(check_link(KEY, &path, &q, signed).is_ok());
        assert!(check_link(KEY, &path, &q, signed + time::Duration::seconds(600)).is_ok());
        let late = check_link(KEY, &path, &q, signed + time::Duration::seconds(601));
        assert!(matches!(late, Err(LinkRefusal::Expired { .. })), "{late:?}");
    }

    #[test]
    fn tampering_is_detected() {
        let now = OffsetDateTime::now_utc();
        let (path, mut q) = link(now);
        q.insert("X-Amz-Expires".into(), "604800".into());
        assert_eq!(
            check_link(KEY, &path, &q, now),
            Err(LinkRefusal::SignatureMismatch)
        );

        let (_, q) = link(now);
        let other_path = "/transcriptsCache/org/conv-2/comm-1-transcripts";
        assert_eq!(
            check_link(KEY, other_path, &q, now),
            Err(LinkRefusal::SignatureMismatch)
        );
        assert_eq!(
            check_link(b"other-key", &path, &q, now),
            Err(LinkRefusal::SignatureMismatch)
        );
    }

    #[test]
    fn malformed_query_is_a_bad_request() {
        let now = OffsetDateTime::now_utc();
        let (path, mut q) = link(now);
        q.insert("X-Amz-Date".into(), "yesterday".into());
        assert!(matches!(
            check_link(KEY, &path, &q, now),
            Err(LinkRefusal::BadQuery(_))
        ));
        assert_eq!(
            check_link(KEY, &path, &HashMap::new(), now),
            Err(LinkRefusal::Unsigned)
        );
        let response = LinkRefusal::BadQuery("x").into_response();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn ids_are_percent_encoded_in_the_path() {
        let key = DocKey::new("a b", "c/d");
        assert_eq!(
            object_path("org", &key),
            "/transcriptsCache/org/a%20b/c%2Fd-transcripts"
        );
    }
}

//! HTTP plumbing of the Genesys client: base URLs and paths, failure details, transport errors.
//! Messages never quote tokens, presigned query strings or free text from an answer.

use genesys_lex_core::api::{is_code, CORRELATION_HEADER};
use reqwest::Url;
use shared::PipelineError;

/// `HTTP 404 not.found, correlation id ...`, from the status, the JSON body's `code_field` and
/// the correlation header. Reads at most the error body, never quotes free text.
pub(super) async fn failure_detail(response: reqwest::Response, code_field: &str) -> String {
    let status = response.status().as_u16();
    let mut detail = format!("HTTP {status}");
    let correlation = response
        .headers()
        .get(CORRELATION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if !code_field.is_empty() {
        if let Ok(body) = response.bytes().await {
            let code = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v.get(code_field)?.as_str().map(str::to_owned));
            if let Some(code) = code.filter(|c| is_code(c)) {
                detail.push(' ');
                detail.push_str(&code);
            }
        }
    }
    if let Some(id) = correlation.filter(|c| is_code(c)) {
        detail.push_str(&format!(", correlation id {id}"));
    }
    if let Some(secs) = retry_after.filter(|c| is_code(c)) {
        detail.push_str(&format!(", retry after {secs} s"));
    }
    detail
}

/// Classifies a transport failure; the URL (which may carry a presigned query) is dropped.
pub(super) fn transport(what: &str, err: reqwest::Error) -> PipelineError {
    let err = err.without_url();
    if err.is_builder() {
        return PipelineError::misconfigured(format!("{what}: {}", error_chain(&err)));
    }
    let detail = if err.is_timeout() {
        "timed out".to_owned()
    } else {
        error_chain(&err)
    };
    PipelineError::retryable(format!("{what}: {detail}"))
}

pub(super) fn error_chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        out.push_str(": ");
        out.push_str(&e.to_string());
        source = e.source();
    }
    out
}

pub(super) fn parse_base(base: &str) -> Result<Url, PipelineError> {
    Url::parse(base)
        .ok()
        .filter(|u| matches!(u.scheme(), "https" | "http") && !u.cannot_be_a_base())
        .ok_or_else(|| PipelineError::misconfigured(format!("invalid Genesys base URL {base:?}")))
}

/// `base` with `segments` appended, each percent-encoded as one path segment.
pub(super) fn join(base: &str, segments: &[&str]) -> Result<Url, PipelineError> {
    let mut url = parse_base(base)?;
    url.path_segments_mut()
        .map_err(|()| PipelineError::misconfigured(format!("invalid Genesys base URL {base:?}")))?
        .pop_if_empty()
        .extend(segments);
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_join_with_encoded_segments() {
        let u = join("https://api.mypurecloud.com/", &["api", "v2", "a b/c"]).unwrap();
        assert_eq!(u.as_str(), "https://api.mypurecloud.com/api/v2/a%20b%2Fc");
        let u = join("http://127.0.0.1:4568/prefix", &["oauth", "token"]).unwrap();
        assert_eq!(u.as_str(), "http://127.0.0.1:4568/prefix/oauth/token");
        assert!(join("ftp://x", &["a"]).is_err());
        assert!(join("not a url", &["a"]).is_err());
    }
}

//! The few IAM and STS calls the local cloud makes, in the AWS query protocol (form POST, XML
//! answer), signed with [`crate::sigv4`]. A client of its own spares the build the whole IAM
//! SDK crate for nine operations.

use anyhow::{bail, Context as _};

use crate::sigv4::{self, Keys};

/// An IAM or STS endpoint with the caller's keys.
#[derive(Clone)]
pub struct QueryClient {
    http: reqwest::Client,
    endpoint: String,
    region: String,
    keys: Keys,
}

/// An error answer: its `Code` (e.g. `EntityAlreadyExists`) and the whole body.
#[derive(Debug)]
pub struct QueryError {
    pub status: u16,
    pub code: String,
    pub body: String,
}

impl std::fmt::Display for QueryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "HTTP {} {}: {}",
            self.status,
            self.code,
            self.body.chars().take(300).collect::<String>()
        )
    }
}

impl std::error::Error for QueryError {}

impl QueryClient {
    pub fn new(endpoint: &str, region: &str, keys: Keys) -> anyhow::Result<Self> {
        Ok(Self {
            http: reqwest::Client::builder().no_proxy().build()?,
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            region: region.to_owned(),
            keys,
        })
    }

    /// Calls `action` of `service` (`iam`, version 2010-05-08, or `sts`, 2011-06-15).
    pub async fn call(
        &self,
        service: &str,
        action: &str,
        params: &[(&str, &str)],
    ) -> anyhow::Result<String> {
        let version = match service {
            "iam" => "2010-05-08",
            "sts" => "2011-06-15",
            other => bail!("no query API version known for {other}"),
        };
        // Percent-encoded as the AWS SDKs do (space = %20): moto checks the signature over the
        // form as it re-encodes it.
        let body = [("Action", action), ("Version", version)]
            .iter()
            .chain(params.iter())
            .map(|(k, v)| format!("{}={}", urlencoding::encode(k), urlencoding::encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let url = format!("{}/", self.endpoint);
        let host = url
            .split("://")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .unwrap_or_default()
            .to_owned();
        let content_type = "application/x-www-form-urlencoded; charset=utf-8";
        let headers = [("host", host.as_str()), ("content-type", content_type)];
        let signature = sigv4::signature_headers(
            "POST",
            &url,
            headers.iter().copied(),
            body.as_bytes(),
            &self.keys,
            &self.region,
            service,
        )?;
        let mut request = self
            .http
            .post(&url)
            .header("content-type", content_type)
            .body(body);
        for (k, v) in signature {
            request = request.header(k, v);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("{service}:{action}"))?;
        let status = response.status();
        let text = response.text().await?;
        if !status.is_success() {
            return Err(QueryError {
                status: status.as_u16(),
                code: tag(&text, "Code").unwrap_or_default(),
                body: text,
            }
            .into());
        }
        Ok(text)
    }
}

/// The text of the first `<name>...</name>` element (XML entities decoded).
pub fn tag(xml: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].find(&close)?;
    Some(
        xml[start..end]
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

/// Whether an error is a query-protocol error with this code.
pub fn is_code(error: &anyhow::Error, code: &str) -> bool {
    error
        .downcast_ref::<QueryError>()
        .is_some_and(|e| e.code == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags() {
        let xml = "<R><AccessKeyId>AK</AccessKeyId><Document>%7B%22a%22%7D &amp; x</Document></R>";
        assert_eq!(tag(xml, "AccessKeyId").as_deref(), Some("AK"));
        assert_eq!(tag(xml, "Document").as_deref(), Some("%7B%22a%22%7D & x"));
        assert_eq!(tag(xml, "Missing"), None);
    }
}
